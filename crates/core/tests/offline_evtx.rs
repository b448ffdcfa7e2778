//! Real event logs (shared/data/evtx) read end to end: the aggregates, the timeline and the
//! diagnosis they lead to. Each test skips when the shared fixtures are absent.

use chrono::{DateTime, TimeZone, Utc};
use rdpdoctor_core::Target;
use rdpdoctor_core::diagnose::{DiagnoseOptions, Diagnosis, diagnose};
use rdpdoctor_core::evidence::{DisconnectLog, EventSource, HostEvidence, Mark};
use rdpdoctor_core::offline::{
    AnalyzeOptions, OfflineEvidence, TimelineView, analyze_paths, render_timeline,
};
use rdpdoctor_testkit::shared_file;
use std::path::PathBuf;

fn analyze(files: &[PathBuf]) -> OfflineEvidence {
    let mut opts = AnalyzeOptions::at(Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap());
    opts.threads = 1;
    analyze_paths(files, &opts)
}

fn fixtures(names: &[&str]) -> Option<Vec<PathBuf>> {
    names.iter().map(|n| shared_file(n)).collect()
}

fn host<'a>(ev: &'a OfflineEvidence, name: &str) -> &'a HostEvidence {
    ev.host_for(name)
        .unwrap_or_else(|| panic!("no host {name}; have {:?}", names(ev)))
}

fn names(ev: &OfflineEvidence) -> Vec<Option<String>> {
    ev.hosts.iter().map(|h| h.name.clone()).collect()
}

/// Diagnose one host's offline evidence at a fixed time.
fn diagnose_host(ev: &OfflineEvidence, name: &str, at: DateTime<Utc>) -> Diagnosis {
    let h = host(ev, name);
    let evidence = ev.to_evidence(Some(h), at);
    diagnose(
        &Target::parse(name).unwrap(),
        &evidence,
        &DiagnoseOptions::at(at),
    )
}

fn causes(d: &Diagnosis) -> Vec<String> {
    let mut v: Vec<String> = d.findings.iter().map(|f| f.cause.clone()).collect();
    for f in &d.findings {
        v.extend(f.related.iter().map(|r| r.cause.clone()));
    }
    v
}

fn at(y: i32, m: u32, d: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, 0, 0, 0).unwrap()
}

#[test]
fn credssp_6041_failures_on_the_client_are_credssp_oracle() {
    let Some(files) = fixtures(&["evtx/omerbenamram-evtx/System_2-vss_7.evtx"]) else {
        return;
    };
    let ev = analyze(&files);
    let h = host(&ev, "DESKTOP-1N4R894");
    assert_eq!(h.events_read, 1160);
    let total: u64 = h.credssp_refusals.iter().map(|r| r.count).sum();
    assert_eq!(total, 8, "{:?}", h.credssp_refusals);
    let mut versions: Vec<u32> = h
        .credssp_refusals
        .iter()
        .filter_map(|r| r.offered_version)
        .collect();
    versions.sort();
    versions.dedup();
    assert_eq!(versions, [2, 4]);
    assert!(
        h.credssp_refusals
            .iter()
            .any(|r| r.target == "TERMSRV/74.118.139.108")
    );
    // The self-signed certificate generation (1056) and its thumbprint.
    let generated = h
        .certificate_events
        .iter()
        .find(|e| e.event_id == 1056)
        .unwrap();
    assert_eq!(
        generated.last_thumbprint.as_deref(),
        Some("59EFF2E3B509C83137E81085E02A1AC63A7E61AA")
    );

    let d = diagnose_host(&ev, "DESKTOP-1N4R894", at(2018, 8, 9));
    let f = d
        .findings
        .iter()
        .find(|f| f.cause == "credssp-oracle")
        .expect("credssp-oracle");
    assert!(
        f.evidence
            .iter()
            .any(|l| l.contains("offered version 4 ×7"))
    );
    assert!(
        f.evidence
            .iter()
            .any(|l| l.contains("offered version 2 ×1"))
    );
    // The 1056 success is not a MachineKeys problem.
    assert!(!causes(&d).contains(&"machinekeys-broken".to_string()));
}

#[test]
fn bad_password_4625_type_10_is_credentials_rejected() {
    let Some(files) = fixtures(&["evtx/omerbenamram-evtx/Security_short_selected.evtx"]) else {
        return;
    };
    let ev = analyze(&files);
    let h = host(&ev, "temporal");
    assert_eq!(h.logons.failed_remote_interactive, 1);
    let s = &h.logons.by_status[0];
    assert_eq!(s.status, "0xC000006A");
    assert_eq!(s.outer_status.as_deref(), Some("0xC000006D"));
    assert_eq!(s.last_source_ip.as_deref(), Some("23.94.153.202"));
    assert_eq!(s.last_user.as_deref(), Some("TEMPORAL\\Administrator"));

    let d = diagnose_host(&ev, "temporal", at(2016, 6, 30));
    let f = d
        .findings
        .iter()
        .find(|f| f.cause == "credentials-rejected")
        .expect("credentials-rejected");
    assert!(f.evidence[0].contains("0xC000006A"), "{:?}", f.evidence);
    assert!(!causes(&d).contains(&"brute-force".to_string()));
}

#[test]
fn account_restriction_4625_is_account_restricted() {
    let Some(files) = fixtures(&[
        "evtx/mdecrevoisier-EVTX-to-MITRE-Attack/ID4625-failed-login-denied-access-account-restriction.evtx",
    ]) else {
        return;
    };
    let ev = analyze(&files);
    let h = host(&ev, "FS03.offsec.lan");
    assert_eq!(h.logons.failed, 2);
    assert_eq!(h.logons.by_status[0].status, "0xC000006E");
    assert_eq!(h.logons.by_source_ip[0].key, "10.23.23.9");
    let d = diagnose_host(&ev, "fs03.offsec.lan", at(2021, 10, 24));
    let c = causes(&d);
    assert!(c.contains(&"account-restricted".to_string()), "{c:?}");
    assert!(!c.contains(&"credentials-rejected".to_string()), "{c:?}");
}

#[test]
fn event_4825_is_logon_right_missing() {
    let Some(files) = fixtures(&[
        "evtx/mdecrevoisier-EVTX-to-MITRE-Attack/ID4825-denied-RDP-connection-valid-credentials.evtx",
    ]) else {
        return;
    };
    let ev = analyze(&files);
    let h = host(&ev, "fs02");
    assert_eq!(h.logons.denied_remote_desktop, 2);
    assert_eq!(h.logons.denied_users[0].key, "OFFSEC\\svc6test1");
    let d = diagnose_host(&ev, "fs02.offsec.lan", at(2020, 7, 13));
    let f = d
        .findings
        .iter()
        .find(|f| f.cause == "logon-right-missing")
        .expect("logon-right-missing");
    assert!(f.evidence[0].contains("Security 4825"));
}

#[test]
fn session_manager_reasons_and_rdp_logons_are_found() {
    let Some(files) = fixtures(&[
        "evtx/velociraptor/RDPAuth_LocalSessionManager.evtx",
        "evtx/velociraptor/RDPAuth_RemoteConnectionManager.evtx",
        "evtx/velociraptor/RDPAuth_Security.evtx",
    ]) else {
        return;
    };
    let ev = analyze(&files);
    let h = host(&ev, "dc.windomain.local");
    let mut reasons: Vec<u32> = h
        .disconnects
        .iter()
        .filter(|d| d.log == DisconnectLog::LocalSessionManager)
        .map(|d| d.code)
        .collect();
    reasons.sort();
    assert_eq!(reasons, [0, 5, 12]);
    assert_eq!(h.logons.succeeded_remote_interactive, 2);
    assert_eq!(h.logons.sessions_reconnected, 1);
    assert_eq!(h.logons.sessions_disconnected, 1);
    assert_eq!(h.connections.authenticated, 1);
    assert_eq!(h.count(EventSource::LocalSessionManager, 40), 4);
    assert_eq!(h.events_read, 17 + 4 + 789);
    // Normal logons and logoffs: nothing to report.
    let d = diagnose_host(&ev, "dc", at(2021, 2, 13));
    assert!(d.findings.is_empty(), "{:?}", causes(&d));
}

#[test]
fn rdpcorets_spraying_is_brute_force() {
    let Some(files) = fixtures(&[
        "evtx/omerbenamram-evtx/RdpCoreTS-Operational_2-vss_0.evtx",
        "evtx/omerbenamram-evtx/RemoteConnectionManager-Operational_2-vss_0.evtx",
    ]) else {
        return;
    };
    let ev = analyze(&files);
    let h = host(&ev, "DESKTOP-1N4R894");
    assert_eq!(h.events_read, 1910 + 1795);
    // The volume-shadow copies hold damaged records: 4 and 2, skipped and counted.
    assert_eq!(h.records_skipped, 6);
    assert_eq!(h.count(EventSource::RdpCoreTS, 131), 126);
    assert_eq!(h.count(EventSource::RdpCoreTS, 140), 126);
    assert_eq!(h.count(EventSource::RdpCoreTS, 103), 129);
    assert_eq!(h.connections.bad_credentials, 126);
    assert!(h.connections.distinct_bad_credential_ips >= 10);
    assert_eq!(h.connections.listener_connections, 1790);
    assert_eq!(h.connections.authenticated, 5);
    let mut rdp_reasons: Vec<u32> = h
        .disconnects
        .iter()
        .filter(|d| d.log == DisconnectLog::RdpCoreTs)
        .map(|d| d.code)
        .collect();
    rdp_reasons.sort();
    assert_eq!(rdp_reasons, [0, 13, 14]);
    assert!(
        ev.warnings
            .iter()
            .any(|w| w.problem.contains("damaged record"))
    );

    let d = diagnose_host(&ev, "DESKTOP-1N4R894", at(2018, 8, 8));
    let f = d
        .findings
        .iter()
        .find(|f| f.cause == "brute-force")
        .expect("brute-force");
    assert_eq!(f.confidence.as_str(), "high");
    assert!(
        f.evidence
            .iter()
            .any(|l| l.starts_with("RdpCoreTS 140: 126"))
    );
}

#[test]
fn scanner_131_events_are_split_per_server() {
    let Some(files) = fixtures(&[
        "evtx/mdecrevoisier-EVTX-to-MITRE-Attack/ID131-RDP-bruteforce-no-user-info.evtx",
    ]) else {
        return;
    };
    let ev = analyze(&files);
    assert_eq!(ev.hosts.len(), 11, "{:?}", names(&ev));
    let total: u64 = ev
        .hosts
        .iter()
        .map(|h| h.count(EventSource::RdpCoreTS, 131))
        .sum();
    assert_eq!(total, 154);
    assert!(ev.host_for("rootdc1").is_some());
    assert!(ev.host_for("FS03").is_some());
    // fs03 and fs03vuln are different machines.
    assert!(!host(&ev, "fs03").matches_host("fs03vuln"));
}

#[test]
fn timeline_is_bounded_in_order_and_in_the_json() {
    let Some(files) = fixtures(&[
        "evtx/omerbenamram-evtx/RdpCoreTS-Operational_2-vss_0.evtx",
        "evtx/omerbenamram-evtx/RemoteConnectionManager-Operational_2-vss_0.evtx",
        "evtx/omerbenamram-evtx/System_2-vss_7.evtx",
    ]) else {
        return;
    };
    let mut opts = AnalyzeOptions::at(at(2026, 1, 1));
    opts.timeline_limit = 500;
    let ev = analyze_paths(&files, &opts);
    let h = host(&ev, "DESKTOP-1N4R894");
    let t = &h.timeline;
    assert_eq!(t.entries.len(), 500);
    assert_eq!(t.total, h.events_relevant);
    assert_eq!(t.omitted, t.total - 500);
    assert!(t.entries.windows(2).all(|w| w[0].time <= w[1].time));
    // Every failure survives the bound: 126 bad logons and 8 CredSSP refusals.
    let failures = t.entries.iter().filter(|e| e.mark == Mark::Failure).count();
    assert_eq!(failures, 126 + 8);
    assert!(
        t.entries
            .iter()
            .any(|e| e.source.ends_with("System_2-vss_7.evtx"))
    );

    let evidence = ev.to_evidence(Some(h), at(2018, 8, 9));
    let json = serde_json::to_value(&evidence).unwrap();
    assert_eq!(json["host"]["events_read"], h.events_read);
    assert_eq!(json["host"]["records_skipped"], h.records_skipped);
    assert_eq!(
        json["host"]["timeline"]["entries"]
            .as_array()
            .unwrap()
            .len(),
        500
    );
    assert!(
        json["host"]["timeline"]["entries"][0]["provider"]
            .as_str()
            .is_some()
    );
    let back: rdpdoctor_core::Evidence = serde_json::from_value(json).unwrap();
    assert_eq!(back.host.as_ref(), Some(h));

    let text = render_timeline(
        t,
        &TimelineView {
            around: Some((
                at(2018, 7, 11) + chrono::Duration::hours(17),
                chrono::Duration::minutes(30),
            )),
            ..Default::default()
        },
    );
    assert!(text.contains("FAIL  LsaSrv 6041"), "{text}");
}

#[test]
fn time_window_leaves_out_older_events() {
    let Some(files) = fixtures(&["evtx/omerbenamram-evtx/System_2-vss_7.evtx"]) else {
        return;
    };
    let mut opts = AnalyzeOptions::at(at(2026, 1, 1));
    opts.since = Some(at(2018, 7, 20));
    let ev = analyze_paths(&files, &opts);
    let h = host(&ev, "DESKTOP-1N4R894");
    let total: u64 = h.credssp_refusals.iter().map(|r| r.count).sum();
    assert!(total < 8 && total > 0, "{total}");
    assert!(h.events_outside_window > 0);
}

#[test]
fn a_truncated_log_keeps_the_records_before_the_damage() {
    let Some(src) = shared_file("evtx/omerbenamram-evtx/System_2-vss_7.evtx") else {
        return;
    };
    let full = analyze(std::slice::from_ref(&src));
    let full_read = host(&full, "DESKTOP-1N4R894").events_read;

    let dir = tempfile::tempdir().unwrap();
    let cut = dir.path().join("System-cut.evtx");
    let bytes = std::fs::read(&src).unwrap();
    // Keep the header, 6 chunks and part of the 7th.
    let keep = 4096 + 6 * 65536 + 30_000;
    std::fs::write(&cut, &bytes[..keep]).unwrap();
    let ev = analyze(std::slice::from_ref(&cut));
    let h = host(&ev, "DESKTOP-1N4R894");
    assert!(h.events_read > 100, "{}", h.events_read);
    assert!(h.events_read < full_read);
    let w = ev
        .warnings
        .iter()
        .find(|w| w.file.ends_with("System-cut.evtx"))
        .expect("a warning names the file");
    assert!(w.problem.contains("truncated"), "{}", w.problem);
    assert!(w.problem.contains("chunk 7"), "{}", w.problem);
    assert!(h.warnings.contains(w));

    // Cut inside the header: a clear error, nothing else lost.
    let tiny = dir.path().join("tiny.evtx");
    std::fs::write(&tiny, &bytes[..1000]).unwrap();
    let ev = analyze(&[tiny, src]);
    assert!(
        ev.warnings
            .iter()
            .any(|w| w.file.ends_with("tiny.evtx") && w.problem.contains("truncated"))
    );
    assert_eq!(host(&ev, "DESKTOP-1N4R894").events_read, full_read);
}

#[test]
fn garbage_with_an_evtx_name_is_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("System.evtx");
    std::fs::write(&p, b"this is not an event log").unwrap();
    let ev = analyze(&[p]);
    assert!(ev.hosts.iter().all(|h| h.events_read == 0));
    assert!(ev.warnings[0].problem.contains("not an event log"));
}
