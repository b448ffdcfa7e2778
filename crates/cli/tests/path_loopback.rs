//! The path measurement on loopback against the lab (whose Windows-like scenarios answer
//! MS-RDPEUDP on their port): the UDP probe answered and silent, and a healthy path that must
//! never produce a network finding.

mod common;

use common::*;
use rdpdoctor_core::Target;
use rdpdoctor_core::diagnose::{DiagnoseOptions, diagnose};
use rdpdoctor_core::evidence::Stage;
use rdpdoctor_core::probe::path::{self, PathMode, PathOptions};
use rdpdoctor_core::probe::tls::TrustAnchors;
use rdpdoctor_core::probe::{ProbeOptions, Prober};
use rdpdoctor_lab::{Lab, LabConfig, LabUdp, Scenario};
use std::time::{Duration, Instant};

fn healthy_lab(udp: LabUdp) -> (Lab, String) {
    let lab = Lab::start(
        &[Scenario::Healthy],
        LabConfig {
            udp,
            ..LabConfig::default()
        },
    )
    .expect("lab");
    let e = lab.endpoint("healthy").expect("healthy endpoint").clone();
    assert_eq!(e.udp, Some(e.addr), "UDP beside TCP");
    (lab, e.addr.to_string())
}

#[test]
fn the_udp_probe_against_the_lab_responder_reports_version_and_mtu() {
    let (_lab, target) = healthy_lab(LabUdp::Answer);
    let (run, v) = check_json(&target, &["--path", "--samples", "20"]);
    let udp = &v["evidence"]["udp"];
    assert_eq!(udp["status"], "ok", "{udp}");
    assert_eq!(udp["answered"], true, "{udp}");
    assert_eq!(udp["outcome"], "answered");
    assert_eq!(udp["version"], 2, "negotiated down from what we offered");
    assert_eq!(udp["version_name"], "RDPUDP_PROTOCOL_VERSION_2");
    assert_eq!(udp["up_mtu"], 1232);
    assert_eq!(udp["down_mtu"], 1232);
    assert_eq!(udp["flags"], 0x1005);
    assert_eq!(udp["datagram_len"], 1232);
    assert_eq!(udp["loss"]["sent"], 20);
    assert_eq!(udp["loss"]["loss_pct"], 0.0);
    let q = &v["evidence"]["quality"];
    assert_eq!(q["samples"], 20);
    assert_eq!(q["loss_pct"], 0.0);
    assert!(q["rtt_ms"]["median"].as_f64().unwrap() < 50.0, "{q}");
    for dir in ["client_to_server", "server_to_client"] {
        assert_eq!(q["mtu"][dir]["verdict"], "clear", "{dir}: {}", q["mtu"]);
    }
    let causes = causes(&v);
    for c in ["udp-unavailable", "network-loss", "mtu-blackhole"] {
        assert!(!causes.contains(&c.to_string()), "{c} in {causes:?}");
    }
    assert!(run.elapsed < Duration::from_secs(15), "{:?}", run.elapsed);
}

#[test]
fn a_silent_udp_port_is_no_answer_and_udp_unavailable_at_low_confidence() {
    let (_lab, target) = healthy_lab(LabUdp::Silent);
    let (run, v) = check_json(&target, &["--path", "--samples", "10"]);
    let udp = &v["evidence"]["udp"];
    assert_eq!(udp["answered"], false, "{udp}");
    assert_eq!(udp["outcome"], "no_answer");
    assert_eq!(udp["syns_sent"], 3);
    assert!(
        udp["note"]
            .as_str()
            .unwrap()
            .contains("not proof of a block"),
        "{udp}"
    );
    let f = finding(&v, "udp-unavailable");
    assert!(
        f["confidence"] == "low" || f["confidence"] == "medium",
        "{f}"
    );
    assert_eq!(f["severity"], "info");
    assert!(
        f["summary"]
            .as_str()
            .unwrap()
            .contains("not proof of a block")
    );
    // Three SYNs over 0.5 + 1 + 2 s, beside the handshakes: the run stays short.
    assert!(run.elapsed < Duration::from_secs(15), "{:?}", run.elapsed);
}

/// Fifty measurements of a healthy loopback path: no `network-loss`, `mtu-blackhole` or
/// `udp-unavailable`. Each measurement is the full path stage at its default sample count
/// (100 handshakes, each waiting for its X.224 answer, 20 UDP handshakes, both MTU
/// directions); only the pacing is shortened, which loopback allows.
#[test]
fn a_healthy_loopback_path_reports_no_network_findings_over_50_runs() {
    let (_lab, target) = healthy_lab(LabUdp::Answer);
    let target = Target::parse(&target).unwrap();
    let mut path = PathOptions {
        mode: PathMode::On,
        ..Default::default()
    };
    path.quality.interval = Duration::from_millis(2);
    path.mtu.stagger = Duration::ZERO;
    path.udp.loss_interval = Duration::from_millis(1);
    let options = ProbeOptions {
        path: PathOptions {
            mode: PathMode::Off,
            ..path.clone()
        },
        ..Default::default()
    };
    let rt = tokio::runtime::Runtime::new().unwrap();
    let prober = Prober::new(options.clone(), TrustAnchors::platform());
    let base = rt.block_on(prober.check(&target));
    let address = base.evidence.tcp.value().and_then(|t| t.address).unwrap();
    let nopts = rdpdoctor_core::probe::negotiate::NegotiateOptions {
        cookie: None,
        deadline: options.timeouts.negotiate,
        connect_deadline: options.timeouts.connect,
        extended: false,
        connect_gate: None,
    };
    let started = Instant::now();
    let (mut worst_loss, mut worst_p95, mut lost) = (0.0f64, 0.0f64, 0u32);
    for run in 0..50 {
        let mut ev = base.evidence.clone();
        rt.block_on(path::measure(&mut ev, &target, address, &nopts, &path));
        let Stage::Ok { value: q, .. } = &ev.quality else {
            panic!("run {run}: {:?}", ev.quality)
        };
        assert_eq!(q.samples, 100);
        assert!(q.mtu.is_some(), "run {run}: MTU not probed");
        assert_eq!(ev.udp.value().map(|u| u.answered), Some(true), "run {run}");
        worst_loss = worst_loss.max(q.loss_pct);
        worst_p95 = worst_p95.max(q.rtt_ms.p95);
        lost += q.lost;
        let d = diagnose(&target, &ev, &DiagnoseOptions::at(chrono::Utc::now()));
        for f in &d.findings {
            assert!(
                !["network-loss", "mtu-blackhole", "udp-unavailable"].contains(&f.cause.as_str()),
                "run {run}: false {} finding: {}\n{:?}",
                f.cause,
                f.summary,
                ev.quality
            );
        }
    }
    eprintln!(
        "50 healthy runs in {:.1} s: {lost} SYN round trips lost in total, worst loss {worst_loss} %, worst p95 RTT {worst_p95} ms",
        started.elapsed().as_secs_f64()
    );
}
