//! Hostile servers: truncated and oversized TPKT lengths, wrong X.224 codes, garbage after the
//! Connection Confirm, TLS alerts, a multi-megabyte certificate chain, malformed DER, NTLM
//! offsets pointing outside the message, a TSRequest nested 10,000 deep, resets mid-handshake.
//! For each: rdpdoctor ends within its deadline, exits 2 or reports a finding, never panics,
//! stops at the stage the responder attacks, and keeps what the earlier stages found.

mod common;
use common::*;
use rdpdoctor_lab::{Hostile, Lab, LabConfig, Scenario};
use std::time::Duration;

const TIMEOUT_SECONDS: u64 = 2;

/// Stage order, to check that everything before the failing stage completed.
const STAGES: [&str; 3] = ["negotiation", "tls", "credssp"];

#[test]
fn hostile_servers_never_win() {
    let lab = Lab::start(&Hostile::ALL.map(Scenario::Hostile), LabConfig::default()).expect("lab");
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("lab-ca.pem");
    std::fs::write(&ca, lab.ca_certificate_pem()).unwrap();
    let ca = ca.display().to_string();
    let timeout = TIMEOUT_SECONDS.to_string();
    for endpoint in lab.endpoints() {
        let Scenario::Hostile(h) = &endpoint.scenario else {
            unreachable!()
        };
        let expected = h.expected();
        let run = rdpdoctor(&[
            "check",
            &endpoint.addr.to_string(),
            "--format",
            "json",
            "--timeout",
            &timeout,
            "--ca-file",
            &ca,
        ]);
        let name = h.name();
        assert!(
            !run.stderr.contains("panicked"),
            "{name}: panic\n{}",
            run.stderr
        );
        assert!(
            matches!(run.code, 1 | 2),
            "{name}: exit {} (expected 1 with a finding or 2)\n{}",
            run.code,
            run.stdout
        );
        // Every stage has its own deadline; a hostile server cannot stretch the whole check
        // beyond the stages it can stall (with the legacy-TLS retry), plus start-up slack.
        let bound = Duration::from_secs(TIMEOUT_SECONDS * 4 + 2);
        assert!(run.elapsed < bound, "{name}: took {:?}", run.elapsed);
        let r = run.json();
        let ev = &r["evidence"];
        if run.code == 1 {
            assert!(!causes(&r).is_empty(), "{name}: exit 1 without a finding");
        } else {
            assert_eq!(r["verdict"], "could_not_check", "{name}");
        }
        assert_eq!(
            ev["tcp"]["status"], "ok",
            "{name}: the TCP connection is kept"
        );
        let stage = ev[expected.stage].clone();
        assert_eq!(
            stage["status"],
            "failed",
            "{name}: expected a failure at {}: {}",
            expected.stage,
            serde_json::to_string_pretty(ev).unwrap_or_default()
        );
        let kind = stage["error"]["kind"].as_str().unwrap_or_default();
        // The hand-made TLS flight with broken certificate DER makes the TLS stack give up as
        // soon as the flight stops making sense; which error that is depends on the stack.
        let accepted: &[&str] = if name == "malformed-cert" {
            &["tls", "protocol", "closed"]
        } else {
            &[expected.kind]
        };
        assert!(
            accepted.contains(&kind),
            "{name}: kind {kind}, expected {accepted:?} ({})",
            stage["error"]["message"]
        );
        assert!(
            !stage["error"]["message"]
                .as_str()
                .unwrap_or_default()
                .is_empty(),
            "{name}: a clear error"
        );
        for earlier in STAGES.iter().take_while(|s| **s != expected.stage) {
            assert_eq!(
                ev[*earlier]["status"], "ok",
                "{name}: {earlier} must keep its result"
            );
        }
    }
}
