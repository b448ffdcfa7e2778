//! Firewalls in front of a real server: xrdp in a network namespace behind iptables rules,
//! rdpdoctor in another namespace. Each rule gives its own TCP outcome, evidence and finding,
//! and rdpdoctor ends within its deadline (the path measurement stays off: a connect that
//! fails outright leaves nothing to measure).
#![cfg(target_os = "linux")]

mod common;
mod path_support;

use common::*;
use path_support::Lab;
use std::time::Duration;

/// `--timeout 2`: the connect deadline. The whole run must end well before twice that.
const TIMEOUT: &str = "2";
const LIMIT: Duration = Duration::from_secs(4);

fn firewalled(rule: &str) -> Option<(Run, serde_json::Value)> {
    let lab = Lab::start()?;
    lab.pair
        .server
        .iptables(&format!("-A INPUT -p tcp --dport 3389 {rule}"));
    Some(lab.check(&["--timeout", TIMEOUT]))
}

fn assert_outcome(run: &Run, v: &serde_json::Value, kind: &str, cause: &str) {
    let tcp = &v["evidence"]["tcp"];
    assert_eq!(tcp["status"], "failed", "{tcp}");
    assert_eq!(tcp["error"]["kind"], kind, "{tcp}");
    assert_eq!(causes(v)[0], cause, "{:?}", causes(v));
    let f = finding(v, cause);
    assert_eq!(f["severity"], "blocker", "{f}");
    assert_eq!(
        v["evidence"]["quality"]["status"], "skipped",
        "no path measurement after a failed connect"
    );
    assert_eq!(run.code, 1, "problems found: {}", run.stderr);
    assert!(
        run.elapsed < LIMIT,
        "{cause}: {:?} is over the deadline",
        run.elapsed
    );
    eprintln!("{cause}: tcp {kind} after {:?}", run.elapsed);
}

#[test]
fn a_drop_rule_is_port_filtered_after_the_connect_deadline() {
    let Some((run, v)) = firewalled("-j DROP") else {
        return;
    };
    assert_outcome(&run, &v, "timeout", "port-filtered");
    // A DROP costs the whole connect deadline, not less.
    let elapsed = v["evidence"]["tcp"]["error"]["elapsed_ms"]
        .as_f64()
        .unwrap();
    assert!(elapsed >= 1900.0, "{elapsed} ms");
}

#[test]
fn a_reject_with_tcp_reset_is_port_closed_at_once() {
    let Some((run, v)) = firewalled("-j REJECT --reject-with tcp-reset") else {
        return;
    };
    assert_outcome(&run, &v, "refused", "port-closed");
    let elapsed = v["evidence"]["tcp"]["error"]["elapsed_ms"]
        .as_f64()
        .unwrap();
    assert!(elapsed < 1000.0, "{elapsed} ms");
}

#[test]
fn an_icmp_host_unreachable_is_host_unreachable() {
    let Some((run, v)) = firewalled("-j REJECT --reject-with icmp-host-unreachable") else {
        return;
    };
    assert_outcome(&run, &v, "unreachable", "host-unreachable");
}
