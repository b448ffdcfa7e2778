//! The path measurement against xrdp in a network namespace, with faults injected by the test:
//! random loss (iptables statistic), added delay (an NFQUEUE delayer), and size-based black
//! holes in each direction (iptables length). Each is detected and sized within the tolerance
//! its test states; each test prints injected versus measured.
#![cfg(target_os = "linux")]

mod common;
mod path_support;

use common::*;
use path_support::Lab;
use rdpdoctor_testkit::netns::delay::Delayer;
use serde_json::Value;
use std::time::Duration;

fn f64_at(v: &Value, path: &str) -> f64 {
    path.split('.')
        .fold(v, |v, k| &v[k])
        .as_f64()
        .unwrap_or_else(|| panic!("{path} is not a number in {v}"))
}

/// 20 % of the packets to the server's port dropped at random. At the default 100 handshakes
/// (about 125 SYN transmissions), the measured loss falls within 10–30 % with probability
/// above 99 % (binomial, ±2.8 standard deviations).
#[test]
fn injected_loss_of_20_percent_is_measured_between_10_and_30_percent() {
    let Some(lab) = Lab::start() else { return };
    lab.pair.server.iptables(
        "-A INPUT -p tcp --dport 3389 -m statistic --mode random --probability 0.2 -j DROP",
    );
    let (run, v) = lab.check(&["--path"]);
    let q = &v["evidence"]["quality"];
    let loss = f64_at(q, "loss_pct");
    eprintln!(
        "loss: injected 20 %, measured {loss} % (95 % interval {}–{} %), {} of {} SYNs lost over {} handshakes, retransmissions from {}, {:.1} s",
        q["loss_interval_pct"]["low"],
        q["loss_interval_pct"]["high"],
        q["lost"],
        q["transmissions"],
        q["samples"],
        q["retransmit_source"],
        run.elapsed.as_secs_f64()
    );
    assert_eq!(q["samples"], 100, "the default sample count");
    assert!((10.0..=30.0).contains(&loss), "{loss} %: {q}");
    assert_eq!(q["retransmit_source"], "tcp_info");
    let f = finding(&v, "network-loss");
    assert!(f["summary"].as_str().unwrap().contains("lost"), "{f}");
    assert_ne!(f["confidence"], "low", "{f}");
    assert!(
        !causes(&v).contains(&"mtu-blackhole".to_string()),
        "{:?}",
        causes(&v)
    );
}

/// 60 ms added to every packet the server sends: the handshake RTT median is 60 ms plus the
/// path's own (sub-millisecond) RTT and the delayer's 0.3 ms tick; the tolerance is 58–90 ms
/// for a loaded test machine. No loss is created, and 60 ms alone is no finding.
#[test]
fn added_delay_of_60_ms_is_measured() {
    let Some(lab) = Lab::start() else { return };
    let delayer = Delayer::start(
        &lab.pair.server,
        0,
        Duration::from_millis(60),
        Duration::ZERO,
    );
    let (run, v) = lab.check(&["--path", "--samples", "50"]);
    let q = &v["evidence"]["quality"];
    let median = f64_at(q, "rtt_ms.median");
    eprintln!(
        "delay: injected 60 ms, measured median {median} ms, p95 {} ms, jitter {} ms, loss {} %; {} packets delayed; {:.1} s",
        q["rtt_ms"]["p95"],
        q["rtt_ms"]["jitter"],
        q["loss_pct"],
        delayer.packets(),
        run.elapsed.as_secs_f64()
    );
    assert!((58.0..=90.0).contains(&median), "{median} ms: {q}");
    assert!(f64_at(q, "rtt_ms.min") >= 59.0, "{q}");
    assert_eq!(q["lost"], 0, "{q}");
    assert!(
        !causes(&v).contains(&"network-loss".to_string()),
        "{:?}",
        causes(&v)
    );
    drop(delayer);
}

/// 250 ms plus 0–40 ms uniform jitter: median 250–320 ms, jitter (mean difference between
/// consecutive samples, 13.3 ms expected for a uniform 0–40 ms spread) 5–25 ms, and the
/// latency is a network-loss finding.
#[test]
fn high_latency_with_jitter_is_measured_and_a_finding() {
    let Some(lab) = Lab::start() else { return };
    let _delayer = Delayer::start(
        &lab.pair.server,
        0,
        Duration::from_millis(250),
        Duration::from_millis(40),
    );
    let (run, v) = lab.check(&["--path", "--samples", "50"]);
    let q = &v["evidence"]["quality"];
    let (median, jitter) = (f64_at(q, "rtt_ms.median"), f64_at(q, "rtt_ms.jitter"));
    eprintln!(
        "delay: injected 250 ms + 0..40 ms, measured median {median} ms, jitter {jitter} ms, p95 {} ms; {:.1} s",
        q["rtt_ms"]["p95"],
        run.elapsed.as_secs_f64()
    );
    assert!((250.0..=320.0).contains(&median), "{median}: {q}");
    assert!((5.0..=25.0).contains(&jitter), "{jitter}: {q}");
    let f = finding(&v, "network-loss");
    assert!(
        f["summary"].as_str().unwrap().contains("median round trip"),
        "{f}"
    );
}

/// Server → client packets above 1000 bytes dropped (a tunnel with a 1000-byte MTU whose ICMP
/// is filtered): X.224 works, TLS stalls, the path is measured without --path, and the search
/// finds the boundary within its 8-byte resolution: largest passing packet 992–1000 bytes,
/// smallest vanishing one 1001–1008.
#[test]
fn a_server_to_client_black_hole_is_found_and_sized() {
    let Some(lab) = Lab::start() else { return };
    lab.pair
        .server
        .iptables("-A OUTPUT -p tcp --sport 3389 -m length --length 1001:65535 -j DROP");
    let (run, v) = lab.check(&["--timeout", "3"]);
    let ev = &v["evidence"];
    assert_eq!(ev["negotiation"]["status"], "ok", "{}", ev["negotiation"]);
    assert_eq!(ev["tls"]["error"]["kind"], "timeout", "{}", ev["tls"]);
    let q = &ev["quality"];
    assert!(
        strings(&q["notes"])
            .iter()
            .any(|n| n.contains("measured automatically")),
        "{q}"
    );
    let sc = &q["mtu"]["server_to_client"];
    let (ok, bad) = (f64_at(sc, "largest_ok"), f64_at(sc, "smallest_failed"));
    eprintln!(
        "black hole server → client: injected > 1000 bytes dropped, found largest passing {ok}, smallest vanishing {bad} ({} probes); client → server {}; {:.1} s",
        sc["steps"].as_array().map_or(0, Vec::len),
        q["mtu"]["client_to_server"]["verdict"],
        run.elapsed.as_secs_f64()
    );
    assert_eq!(sc["verdict"], "black_hole", "{sc}");
    assert!((992.0..=1000.0).contains(&ok), "{sc}");
    assert!((1001.0..=1008.0).contains(&bad), "{sc}");
    assert_eq!(
        q["mtu"]["client_to_server"]["verdict"], "clear",
        "{}",
        q["mtu"]["client_to_server"]
    );
    let f = finding(&v, "mtu-blackhole");
    assert_eq!(f["severity"], "blocker");
    assert_eq!(f["confidence"], "high");
    assert!(
        f["summary"].as_str().unwrap().contains("server → client"),
        "{f}"
    );
    assert_eq!(causes(&v)[0], "mtu-blackhole", "the answer comes first");
    assert!(!causes(&v).contains(&"network-loss".to_string()));
}

/// Client → server packets above 1000 bytes dropped: the (small) TLS handshake still works, so
/// only --path finds it: padded ClientHellos, acknowledged or not, size it within 8 bytes.
#[test]
fn a_client_to_server_black_hole_is_found_and_sized() {
    let Some(lab) = Lab::start() else { return };
    lab.pair
        .server
        .iptables("-A INPUT -p tcp --dport 3389 -m length --length 1001:65535 -j DROP");
    let (run, v) = lab.check(&["--path"]);
    let ev = &v["evidence"];
    assert_eq!(ev["tls"]["status"], "ok", "{}", ev["tls"]);
    let q = &ev["quality"];
    let cs = &q["mtu"]["client_to_server"];
    let (ok, bad) = (f64_at(cs, "largest_ok"), f64_at(cs, "smallest_failed"));
    eprintln!(
        "black hole client → server: injected > 1000 bytes dropped, found largest passing {ok}, smallest vanishing {bad} ({} probes, signal {}); server → client {}; {:.1} s",
        cs["steps"].as_array().map_or(0, Vec::len),
        cs["signal"],
        q["mtu"]["server_to_client"]["verdict"],
        run.elapsed.as_secs_f64()
    );
    assert_eq!(cs["verdict"], "black_hole", "{cs}");
    assert!((992.0..=1000.0).contains(&ok), "{cs}");
    assert!((1001.0..=1008.0).contains(&bad), "{cs}");
    assert_eq!(q["mtu"]["server_to_client"]["verdict"], "clear", "{q}");
    let f = finding(&v, "mtu-blackhole");
    assert_eq!(f["severity"], "risk", "TLS still works: {f}");
    assert!(
        f["summary"].as_str().unwrap().contains("client → server"),
        "{f}"
    );
}
