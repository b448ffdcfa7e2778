//! `rdpdoctor scan` over a fleet of a few hundred loopback targets: seven real xrdp servers on
//! their own 127.30.0.x addresses (valid, expired, not-yet-valid, soon-expiring and missing
//! certificates, TLS-only, standard-security-only), a FreeRDP shadow server that requires NLA,
//! a /24 of closed ports, and listeners that never answer, that hang up, and that speak HTTP.
//! The scan is killed with SIGKILL halfway, resumed, and every target must then appear exactly
//! once with the cause its server was built to show; the fleet report is rebuilt with `--from`
//! and opened in headless Chromium.

mod scan_support;

use rdpdoctor_testkit::certs::CertSpec;
use rdpdoctor_testkit::require;
use rdpdoctor_testkit::servers::{self, Server, ShadowConfig, XrdpConfig};
use scan_support::*;
use serde_json::Value;
use std::collections::BTreeMap;
use std::time::Duration;

/// An xrdp server on its own address, serving a certificate that names that address (so the
/// only certificate problems are the ones the scenario asks for).
fn xrdp_at(last: u8, layer: &'static str, cert: Option<CertSpec>) -> Server {
    let bind = ip(30, 0, last);
    let mut config = XrdpConfig::new(layer);
    config.bind = bind;
    match cert {
        Some(mut spec) => {
            spec.ips = vec![bind];
            config = config.cert(spec);
        }
        None => config = config.missing_cert(),
    }
    servers::xrdp(config)
}

fn valid() -> Option<CertSpec> {
    Some(CertSpec::valid("localhost"))
}

#[test]
fn a_fleet_scan_killed_halfway_and_resumed_reports_every_server_once_with_its_cause() {
    if !require("xrdp", "xrdp")
        || !require("freerdp-shadow-cli", "freerdp2-shadow-x11")
        || !require("Xvfb", "xvfb")
        || !require("winpr-hash", "winpr-utils")
    {
        return;
    }
    let shadow = servers::freerdp_shadow(ShadowConfig::nla("labuser", "LabPass123!"));
    let mut soon = CertSpec::valid("localhost");
    // Valid since 30 days ago; expires in 20 days.
    soon.not_after = soon.not_before + Duration::from_secs(50 * 86_400);
    let xrdp: Vec<(Server, &str)> = vec![
        (xrdp_at(1, "tls", valid()), "cert-untrusted"),
        (
            xrdp_at(2, "tls", Some(CertSpec::expired("localhost"))),
            "cert-expired",
        ),
        (xrdp_at(3, "rdp", valid()), "tls-not-allowed"),
        (xrdp_at(4, "negotiate", valid()), "cert-untrusted"),
        (
            xrdp_at(5, "tls", Some(CertSpec::not_yet_valid("localhost"))),
            "cert-not-yet-valid",
        ),
        (xrdp_at(6, "tls", None), "cert-not-on-server"),
        (xrdp_at(7, "tls", Some(soon)), "cert-expiring-soon"),
    ];
    let port = closed_port();
    let silent = Endpoints::start(
        Behaviour::Silent,
        &(1..=8).map(|i| ip(32, 0, i)).collect::<Vec<_>>(),
        0,
    );
    let hangup = Endpoints::start(
        Behaviour::Hangup,
        &(1..=8).map(|i| ip(33, 0, i)).collect::<Vec<_>>(),
        0,
    );
    let http = Endpoints::start(
        Behaviour::Http,
        &(1..=4).map(|i| ip(34, 0, i)).collect::<Vec<_>>(),
        0,
    );

    let mut expected: BTreeMap<String, &str> = BTreeMap::new();
    for (s, cause) in &xrdp {
        expected.insert(s.target(), cause);
    }
    expected.insert(shadow.target(), "nla-required");
    for i in 0..=255u8 {
        expected.insert(format!("127.31.0.{i}:{port}"), "port-closed");
    }
    for t in silent.targets().into_iter().chain(hangup.targets()) {
        expected.insert(t, "dropped-after-accept");
    }
    for t in http.targets() {
        expected.insert(t, "not-rdp");
    }

    // The inputs: a file (comments, the xrdp servers, the closed /24 and a duplicate), the
    // listeners on the command line.
    let dir = scratch();
    let mut list = String::from("# loopback fleet\n\n");
    for s in xrdp.iter().map(|(s, _)| s).chain([&shadow]) {
        list.push_str(&format!("{}   # {}\n", s.target(), s.name));
    }
    list.push_str(&format!("127.31.0.0/24:{port}\n127.31.0.17:{port}\n"));
    let list = write(dir.path(), "fleet.txt", &list);
    let out = dir.path().join("results.jsonl");
    let mut args = vec![
        path_str(&list),
        "--out".into(),
        path_str(&out),
        "--timeout".into(),
        "2".into(),
        "--rate".into(),
        "60".into(),
        "--progress".into(),
        "plain".into(),
    ];
    args.extend(silent.targets());
    args.extend(hangup.targets());
    args.extend(http.targets());
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();

    // Killed with SIGKILL after about a third.
    let mut child = spawn_scan(&argv);
    wait_for_lines(&out, 90, Duration::from_secs(60), &mut child);
    child.kill().unwrap();
    child.wait().unwrap();
    let before = results(&out).len();
    assert!(before < expected.len(), "killed halfway: {before} lines");

    // Resumed without the rate limit.
    let mut resumed: Vec<&str> = argv
        .iter()
        .map(|a| if *a == "60" { "0" } else { a })
        .collect();
    resumed.push("--resume");
    let run = scan(&resumed);
    let stderr = text(&run.stderr);
    assert_eq!(run.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!("{} already done", before)),
        "{stderr}"
    );

    let rs = results(&out);
    let seen = occurrences(&rs);
    let missing: Vec<&String> = expected.keys().filter(|k| !seen.contains_key(*k)).collect();
    let extra: Vec<&String> = seen.keys().filter(|k| !expected.contains_key(*k)).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "missing {missing:?}, extra {extra:?}"
    );
    let twice: Vec<(&String, &usize)> = seen.iter().filter(|(_, n)| **n != 1).collect();
    assert!(twice.is_empty(), "not exactly once: {twice:?}");
    assert_eq!(rs.len(), 8 + 256 + 20);

    for r in &rs {
        let want = expected[&key(r)];
        let got = causes(r);
        if want == "cert-untrusted" || want == "nla-required" {
            assert!(got.contains(&want.to_string()), "{}: {got:?}", key(r));
        } else {
            assert_eq!(top_cause(r), want, "{}: {got:?}\n{}", key(r), r["evidence"]);
        }
    }
    let xrdp_tls = rs.iter().find(|r| key(r) == xrdp[0].0.target()).unwrap();
    assert_eq!(xrdp_tls["evidence"]["negotiation"]["selected"], "ssl");
    assert_eq!(xrdp_tls["evidence"]["tls"]["status"], "ok");

    // The summary covers the whole fleet.
    let stdout = text(&run.stdout);
    assert!(stdout.contains("284 servers:"), "{stdout}");

    // Rebuild the reports from the file alone.
    let html = dir.path().join("fleet.html");
    let run = scan(&[
        "--from",
        &path_str(&out),
        "--format",
        "json",
        "--report",
        &path_str(&html),
    ]);
    assert_eq!(run.status.code(), Some(1), "{}", text(&run.stderr));
    let summary: Value = serde_json::from_slice(&run.stdout).unwrap();
    assert_eq!(summary["targets"], 284);
    assert_eq!(summary["outcomes"]["unreachable"], 256);
    let certs = &summary["certificates"];
    assert_eq!(certs["expired"], 1);
    assert_eq!(certs["within_30_days"], 1, "the one expiring in 20 days");
    assert_eq!(
        certs["soonest"][0]["not_after"], "2021-01-01T00:00:00Z",
        "expired first"
    );
    assert_eq!(
        summary["protocols"]["accepting"]["ssl"], 5,
        "{}",
        summary["protocols"]
    );
    let cause_count = |c: &str| {
        summary["causes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["cause"] == c)
            .map(|x| x["count"].as_u64().unwrap())
            .unwrap_or(0)
    };
    assert_eq!(cause_count("port-closed"), 256);
    assert_eq!(cause_count("dropped-after-accept"), 16);
    assert_eq!(cause_count("not-rdp"), 4);

    // RDPDOCTOR_KEEP_REPORT=DIR keeps the report and results for a look at them.
    if let Some(keep) = std::env::var_os("RDPDOCTOR_KEEP_REPORT") {
        let keep = std::path::PathBuf::from(keep);
        std::fs::create_dir_all(&keep).unwrap();
        std::fs::copy(&html, keep.join("fleet.html")).unwrap();
        std::fs::copy(&out, keep.join("results.jsonl")).unwrap();
    }
    let Some((dom, log)) = chromium(&html, "#sort=days") else {
        return;
    };
    assert_page_scripts_ok(&dom, &log);
    assert!(dom.contains("<svg id=\"expiry-chart\""));
    let rows = table_rows(&dom);
    assert_eq!(rows.len(), 284);
    // Sorted by days left on load: the expired certificate first, then the one due in 20 days.
    assert_eq!(rows[0].0, xrdp[1].0.target(), "{:?}", &rows[..3]);
    assert_eq!(rows[0].2, "cert-expired");
    assert_eq!(rows[1].0, xrdp[6].0.target());
}
