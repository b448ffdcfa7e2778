//! `rdpdoctor scan` over the embedded lab spread across a fleet: every lab scenario (except
//! those only an authenticated check can see) on ten 127.61.x.y addresses each, trusted
//! through the lab CA as an enterprise trusts its own. Every endpoint must appear exactly once,
//! diagnosed as its scenario intends; a fleet of healthy lab servers exits 0.

mod scan_support;

use rdpdoctor_lab::{Lab, LabConfig, Scenario};
use scan_support::*;
use serde_json::Value;
use std::collections::BTreeMap;
use std::net::SocketAddr;

/// Addresses per scenario.
const COPIES: u8 = 10;

/// Scenarios whose cause only an authenticated check (`--user`) can see.
fn needs_login(s: &Scenario) -> bool {
    matches!(
        s,
        Scenario::DenyLogin { .. }
            | Scenario::LogonError { .. }
            | Scenario::LicensingError { .. }
            | Scenario::Redirect { .. }
    )
}

/// What `rdpdoctor demo` counts as diagnosed as intended: the scenario's cause among the
/// findings (or folded into one), or a healthy verdict / info-only findings when the scenario
/// breaks nothing.
fn as_intended(scenario: &Scenario, r: &Value) -> bool {
    let findings = r["findings"].as_array().cloned().unwrap_or_default();
    match scenario.expected_cause() {
        None => r["verdict"] == "healthy" || findings.iter().all(|f| f["severity"] == "info"),
        Some(cause) => findings.iter().any(|f| {
            f["cause"] == cause
                || f["related"]
                    .as_array()
                    .is_some_and(|rel| rel.iter().any(|x| x["cause"] == cause))
        }),
    }
}

fn start(scenarios: &[Scenario]) -> Lab {
    let placements = scenarios.iter().enumerate().flat_map(|(i, s)| {
        (1..=COPIES).map(move |c| (s.clone(), SocketAddr::new(ip(61, i as u8, c), 0)))
    });
    Lab::start_at(placements, LabConfig::default()).expect("lab")
}

#[test]
fn every_lab_scenario_across_a_fleet_is_reported_once_as_intended() {
    let scenarios: Vec<Scenario> = Scenario::catalog()
        .into_iter()
        .filter(|s| !needs_login(s))
        .collect();
    let lab = start(&scenarios);
    let dir = scratch();
    let ca = write(dir.path(), "lab-ca.pem", lab.ca_certificate_pem());
    let list: String = lab
        .endpoints()
        .iter()
        .map(|e| format!("{}\n", e.addr))
        .collect();
    let list = write(dir.path(), "lab.txt", &list);
    let out = dir.path().join("r.jsonl");
    let run = scan(&[
        &path_str(&list),
        "--ca-file",
        &path_str(&ca),
        "--timeout",
        "2",
        "--out",
        &path_str(&out),
        "--format",
        "json",
    ]);
    let stderr = text(&run.stderr);
    assert_eq!(run.status.code(), Some(1), "{stderr}");

    let by_addr: BTreeMap<String, &Scenario> = lab
        .endpoints()
        .iter()
        .map(|e| (e.addr.to_string(), &e.scenario))
        .collect();
    let rs = results(&out);
    assert_eq!(rs.len(), by_addr.len(), "{} endpoints", by_addr.len());
    assert!(rs.len() >= 150, "a fleet of a few hundred: {}", rs.len());
    let seen = occurrences(&rs);
    assert!(seen.values().all(|n| *n == 1));
    let wrong: Vec<String> = rs
        .iter()
        .filter_map(|r| {
            let scenario = by_addr
                .get(&key(r))
                .unwrap_or_else(|| panic!("unknown target {}", key(r)));
            (!as_intended(scenario, r)).then(|| {
                format!(
                    "{} ({}): expected {:?}, found {:?}",
                    key(r),
                    scenario.name(),
                    scenario.expected_cause(),
                    causes(r)
                )
            })
        })
        .collect();
    assert!(
        wrong.is_empty(),
        "not diagnosed as intended:\n{}",
        wrong.join("\n")
    );

    // The summary counts each scenario's cause once per copy.
    let summary: Value = serde_json::from_slice(&run.stdout).unwrap();
    let count = |cause: &str| {
        summary["causes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["cause"] == cause)
            .map(|c| c["count"].as_u64().unwrap())
    };
    assert_eq!(count("cert-expired"), Some(u64::from(COPIES)));
    assert_eq!(summary["certificates"]["expired"], u64::from(COPIES));
    assert_eq!(summary["targets"], rs.len());
}

#[test]
fn a_fleet_of_healthy_servers_exits_0() {
    let lab = start(&[Scenario::Healthy]);
    let dir = scratch();
    let ca = write(dir.path(), "lab-ca.pem", lab.ca_certificate_pem());
    let mut args: Vec<String> = lab.endpoints().iter().map(|e| e.addr.to_string()).collect();
    args.extend(["--ca-file".to_string(), path_str(&ca)]);
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let run = scan(&argv);
    let stdout = text(&run.stdout);
    assert_eq!(
        run.status.code(),
        Some(0),
        "{stdout}\n{}",
        text(&run.stderr)
    );
    assert!(
        stdout.contains(&format!("{COPIES} servers: {COPIES} healthy")),
        "{stdout}"
    );
}
