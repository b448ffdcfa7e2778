//! `rdpdoctor analyze`, `check --evidence` and `check FILE.rdp` through the binary, on the real
//! public event logs (../shared/data, skipped when absent) and on files made by the test.

mod common;
use common::*;
use rdpdoctor_lab::{Lab, LabConfig, Scenario};
use rdpdoctor_testkit::{listeners, shared_file};

#[test]
fn analyze_finds_the_credssp_oracle_refusals_in_a_real_system_log() {
    let Some(log) = shared_file("evtx/omerbenamram-evtx/System_2-vss_7.evtx") else {
        return;
    };
    let run = rdpdoctor(&["analyze", log.to_str().unwrap(), "--format", "json"]);
    let r = run.json();
    let host = &r["evidence"]["host"];
    assert!(host["events_read"].as_u64().unwrap() > 100, "{host}");
    assert!(host["records_skipped"].as_u64().is_some());
    assert!(
        host["timeline"]["entries"]
            .as_array()
            .is_some_and(|e| !e.is_empty())
    );
    let f = finding(&r, "credssp-oracle");
    assert!(f["evidence"].to_string().contains("6041"), "{f}");
    assert_eq!(run.code, 1);
}

#[test]
fn analyze_names_bad_passwords_from_security_4625() {
    let Some(log) = shared_file("evtx/omerbenamram-evtx/Security_short_selected.evtx") else {
        return;
    };
    let r = rdpdoctor(&["analyze", log.to_str().unwrap(), "--format", "json"]).json();
    let f = finding(&r, "credentials-rejected");
    assert!(
        f["evidence"]
            .to_string()
            .to_ascii_uppercase()
            .contains("C000006A"),
        "{f}"
    );
}

#[test]
fn analyze_text_shows_the_timeline_around_a_time() {
    let Some(log) = shared_file("evtx/velociraptor/RDPAuth_LocalSessionManager.evtx") else {
        return;
    };
    let run = rdpdoctor(&[
        "analyze",
        log.to_str().unwrap(),
        "--around",
        "2021-02-12T12:33:30Z",
        "--window",
        "2",
    ]);
    assert!(
        run.stdout.contains("rdpdoctor analyze dc.windomain.local"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("Timeline around 2021-02-12 12:33:30 UTC"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("2021-02-12 12:3"), "{}", run.stdout);
    assert!(
        !run.stdout.contains("2021-02-12 12:40"),
        "outside the window"
    );
}

#[test]
fn analyze_of_nothing_usable_could_not_check() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("notes.txt"), "nothing here").unwrap();
    let run = rdpdoctor(&["analyze", dir.path().to_str().unwrap()]);
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    assert!(run.stderr.contains("nothing usable"));
}

#[test]
fn registry_evidence_explains_a_closed_port_as_rdp_disabled() {
    let dir = tempfile::tempdir().unwrap();
    let reg = dir.path().join("terminal-server.reg");
    std::fs::write(
        &reg,
        "Windows Registry Editor Version 5.00\r\n\r\n[HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\Terminal Server]\r\n\"fDenyTSConnections\"=dword:00000001\r\n",
    )
    .unwrap();
    let addr = listeners::closed_port();
    let run = rdpdoctor(&[
        "check",
        &addr.to_string(),
        "--format",
        "json",
        "--evidence",
        reg.to_str().unwrap(),
    ]);
    let r = run.json();
    assert_eq!(
        causes(&r).first().map(String::as_str),
        Some("rdp-disabled"),
        "{:?}",
        causes(&r)
    );
    let f = finding(&r, "rdp-disabled");
    assert!(
        f["related"]
            .as_array()
            .is_some_and(|rel| rel.iter().any(|x| x["cause"] == "port-closed")),
        "the closed port is part of the story: {f}"
    );
    assert_eq!(run.code, 1);
}

#[test]
fn an_rdp_file_without_credssp_against_an_nla_only_server_is_client_nla_disabled() {
    let lab = Lab::start(&[Scenario::NlaRequired], LabConfig::default()).unwrap();
    let addr = lab.endpoints()[0].addr;
    let dir = tempfile::tempdir().unwrap();
    let rdp = dir.path().join("server.rdp");
    // UTF-16LE with a BOM, as mstsc saves it.
    let text = format!(
        "full address:s:{addr}\r\nenablecredsspsupport:i:0\r\nauthentication level:i:2\r\n"
    );
    let mut bytes = vec![0xFF, 0xFE];
    bytes.extend(text.encode_utf16().flat_map(|u| u.to_le_bytes()));
    std::fs::write(&rdp, bytes).unwrap();
    let run = rdpdoctor(&["check", rdp.to_str().unwrap(), "--format", "json"]);
    let r = run.json();
    assert_eq!(r["target"]["port"], addr.port());
    assert_eq!(r["target"]["input"], rdp.to_str().unwrap());
    let f = finding(&r, "client-nla-disabled");
    assert_eq!(f["severity"], "blocker");
    assert_eq!(
        causes(&r).first().map(String::as_str),
        Some("client-nla-disabled"),
        "{:?}",
        causes(&r)
    );
}
