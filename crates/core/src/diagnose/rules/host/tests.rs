//! One scenario that triggers each host rule, and a near miss that must not.

use super::*;
use crate::diagnose::rules::testing::{evidence, now};
use crate::evidence::{
    AlertCount, CertificateEvent, CertificateFile, CredsspRefusal, DisconnectCount, EventCount,
    Evidence, RegistryEvidence, StatusCount,
};
use crate::offline::registry::RegistryCollector;
use chrono::Duration;

const TS: &str = r"HKEY_LOCAL_MACHINE\SYSTEM\CurrentControlSet\Control\Terminal Server";
const RDP_TCP: &str =
    r"HKEY_LOCAL_MACHINE\SYSTEM\CurrentControlSet\Control\Terminal Server\WinStations\RDP-Tcp";
const POLICY: &str = r"HKEY_LOCAL_MACHINE\SOFTWARE\Policies\Microsoft\Windows NT\Terminal Services";
const PROTOCOLS: &str =
    r"HKEY_LOCAL_MACHINE\SYSTEM\CurrentControlSet\Control\SecurityProviders\SCHANNEL\Protocols";

fn rule(cause: &str) -> &'static Rule {
    RULES
        .iter()
        .find(|r| r.cause == cause)
        .unwrap_or_else(|| panic!("no host rule for {cause}"))
}

fn run(cause: &str, ev: &Evidence) -> Option<Detection> {
    crate::diagnose::rules::testing::run(rule(cause), ev)
}

fn ago(days: i64) -> DateTime<Utc> {
    now() - Duration::days(days)
}

fn with_host(h: HostEvidence) -> Evidence {
    let mut ev = evidence();
    ev.host = Some(h);
    ev
}

fn registry(values: &[(&str, &str, RegValue)]) -> RegistryEvidence {
    let mut c = RegistryCollector::default();
    for (k, n, v) in values {
        c.value(k, n, v.clone(), "server.reg");
    }
    c.finish()
}

fn reg_host(values: &[(&str, &str, RegValue)]) -> Evidence {
    with_host(HostEvidence {
        registry: Some(registry(values)),
        ..Default::default()
    })
}

fn count(source: EventSource, id: u16, n: u64, last: DateTime<Utc>) -> EventCount {
    EventCount {
        source,
        event_id: id,
        count: n,
        first: last - Duration::hours(1),
        last,
    }
}

fn cert_event(id: u16, n: u64, last: DateTime<Utc>) -> CertificateEvent {
    CertificateEvent {
        event_id: id,
        meaning: format!("event {id}"),
        count: n,
        first: last,
        last,
        last_thumbprint: None,
        last_status: Some("Keyset does not exist".into()),
    }
}

fn status(code: &str, n: u64, last: DateTime<Utc>) -> StatusCount {
    StatusCount {
        status: code.into(),
        outer_status: None,
        meaning: "m".into(),
        count: n,
        first: last,
        last,
        last_user: Some("CONTOSO\\alice".into()),
        last_source_ip: Some("203.0.113.9".into()),
    }
}

fn failures(codes: &[(&str, u64)], last: DateTime<Utc>) -> HostEvidence {
    let mut h = HostEvidence::default();
    for (c, n) in codes {
        h.logons.by_status.push(status(c, *n, last));
        h.logons.failed += n;
    }
    h.logons.distinct_source_ips = 1;
    h.event_counts.push(count(
        EventSource::SecurityAuditing,
        4625,
        h.logons.failed,
        last,
    ));
    h
}

// ---- rdp-disabled -------------------------------------------------------------------------

#[test]
fn rdp_disabled_by_fdeny() {
    let ev = reg_host(&[(TS, "fDenyTSConnections", RegValue::Dword(1))]);
    let d = run("rdp-disabled", &ev).expect("detected");
    assert_eq!(d.confidence, Confidence::High);
    assert!(
        d.evidence[0].contains("fDenyTSConnections = 1"),
        "{:?}",
        d.evidence
    );
}

#[test]
fn rdp_disabled_near_miss_policy_allows_it() {
    // The listener says deny, but Group Policy allows: the effective value is 0.
    let ev = reg_host(&[
        (TS, "fDenyTSConnections", RegValue::Dword(1)),
        (POLICY, "fDenyTSConnections", RegValue::Dword(0)),
    ]);
    assert!(run("rdp-disabled", &ev).is_none());
}

#[test]
fn rdp_disabled_by_listener_switch() {
    let ev = reg_host(&[(RDP_TCP, "fEnableWinStation", RegValue::Dword(0))]);
    assert!(run("rdp-disabled", &ev).is_some());
    let ev = reg_host(&[(RDP_TCP, "fEnableWinStation", RegValue::Dword(1))]);
    assert!(run("rdp-disabled", &ev).is_none());
}

// ---- machinekeys-broken -------------------------------------------------------------------

#[test]
fn machinekeys_from_1057_and_36870() {
    let mut h = HostEvidence::default();
    h.certificate_events.push(cert_event(1057, 3, ago(1)));
    h.schannel.private_key_errors.push(Counted {
        key: "0x8009030D state 10001".into(),
        count: 2,
        first: ago(1),
        last: ago(1),
    });
    let d = run("machinekeys-broken", &with_host(h)).expect("detected");
    assert_eq!(d.confidence, Confidence::High);
    assert!(d.evidence.iter().any(|l| l.contains("TermService 1057")));
    assert!(
        d.evidence
            .iter()
            .any(|l| l.contains("Keyset does not exist"))
    );
    assert!(d.evidence.iter().any(|l| l.contains("Schannel 36870")));
}

#[test]
fn machinekeys_old_events_weigh_less_and_a_later_success_lowers() {
    let mut h = HostEvidence::default();
    h.certificate_events.push(cert_event(1058, 1, ago(20)));
    let d = run("machinekeys-broken", &with_host(h.clone())).unwrap();
    assert_eq!(d.confidence, Confidence::Medium);
    h.certificate_events[0].last = ago(2);
    h.certificate_events.push(cert_event(1056, 1, ago(1)));
    let d = run("machinekeys-broken", &with_host(h)).unwrap();
    assert_eq!(d.confidence, Confidence::Medium);
    assert!(d.evidence.iter().any(|l| l.contains("may be fixed")));
}

#[test]
fn machinekeys_near_miss_only_a_successful_generation() {
    let mut h = HostEvidence::default();
    h.certificate_events.push(cert_event(1056, 1, ago(1)));
    assert!(run("machinekeys-broken", &with_host(h)).is_none());
}

// ---- cert-expired (listener certificate file) ----------------------------------------------

fn cert_file(not_after: DateTime<Utc>, listener: Option<bool>) -> CertificateFile {
    let ck = rcgen::generate_simple_self_signed(vec!["server01".into()]).unwrap();
    let mut c = crate::cert::describe(ck.cert.der(), now(), None).unwrap();
    c.not_after = not_after;
    CertificateFile {
        file: "rdp.cer".into(),
        certificate: c,
        has_private_key: false,
        is_listener_certificate: listener,
    }
}

#[test]
fn listener_certificate_file_expired() {
    let h = HostEvidence {
        certificates: vec![cert_file(ago(3), Some(true))],
        ..Default::default()
    };
    let d = run("cert-expired", &with_host(h)).expect("detected");
    assert_eq!(d.confidence, Confidence::High);
    assert!(d.params.iter().any(|(k, _)| *k == "thumbprint"));
}

#[test]
fn listener_certificate_near_misses() {
    // Valid listener certificate; expired certificate that is not the listener's.
    let h = HostEvidence {
        certificates: vec![
            cert_file(ago(-300), Some(true)),
            cert_file(ago(3), Some(false)),
        ],
        ..Default::default()
    };
    assert!(run("cert-expired", &with_host(h)).is_none());
}

// ---- cipher-mismatch / tls-version-mismatch / weak-tls / schannel-failures -----------------

fn schannel_36874(n: u64, last: DateTime<Utc>) -> HostEvidence {
    let mut h = HostEvidence::default();
    h.schannel.no_shared_cipher = n;
    h.event_counts
        .push(count(EventSource::Schannel, 36874, n, last));
    h
}

#[test]
fn no_shared_cipher_with_a_cipher_order_policy() {
    let mut h = schannel_36874(4, ago(0));
    h.registry = Some(registry(&[(
        r"HKEY_LOCAL_MACHINE\SOFTWARE\Policies\Microsoft\Cryptography\Configuration\SSL\00010002",
        "Functions",
        RegValue::String("TLS_RSA_WITH_RC4_128_SHA".into()),
    )]));
    let d = run("cipher-mismatch", &with_host(h)).expect("detected");
    assert_eq!(d.confidence, Confidence::High);
    assert!(d.evidence.iter().any(|l| l.contains("1 suite(s)")));
}

#[test]
fn cipher_near_miss_no_36874() {
    assert!(run("cipher-mismatch", &with_host(HostEvidence::default())).is_none());
}

#[test]
fn tls12_disabled_in_schannel() {
    let ev = reg_host(&[(
        &format!(r"{PROTOCOLS}\TLS 1.2\Server"),
        "Enabled",
        RegValue::Dword(0),
    )]);
    let d = run("tls-version-mismatch", &ev).expect("detected");
    assert_eq!(d.confidence, Confidence::Medium);
}

#[test]
fn tls12_near_miss_enabled_or_tls13_on() {
    let ev = reg_host(&[(
        &format!(r"{PROTOCOLS}\TLS 1.2\Server"),
        "Enabled",
        RegValue::Dword(1),
    )]);
    assert!(run("tls-version-mismatch", &ev).is_none());
    let ev = reg_host(&[
        (
            &format!(r"{PROTOCOLS}\TLS 1.2\Server"),
            "Enabled",
            RegValue::Dword(0),
        ),
        (
            &format!(r"{PROTOCOLS}\TLS 1.3\Server"),
            "Enabled",
            RegValue::Dword(1),
        ),
    ]);
    assert!(run("tls-version-mismatch", &ev).is_none());
}

#[test]
fn legacy_protocols_explicitly_enabled() {
    let ev = reg_host(&[
        (
            &format!(r"{PROTOCOLS}\SSL 3.0\Server"),
            "Enabled",
            RegValue::Dword(1),
        ),
        (
            &format!(r"{PROTOCOLS}\SSL 3.0\Server"),
            "DisabledByDefault",
            RegValue::Dword(0),
        ),
    ]);
    let d = run("weak-tls", &ev).expect("detected");
    assert_eq!(d.confidence, Confidence::High);
}

#[test]
fn legacy_protocols_near_miss_disabled() {
    let ev = reg_host(&[
        (
            &format!(r"{PROTOCOLS}\TLS 1.0\Server"),
            "Enabled",
            RegValue::Dword(0),
        ),
        (
            &format!(r"{PROTOCOLS}\TLS 1.1\Server"),
            "DisabledByDefault",
            RegValue::Dword(1),
        ),
    ]);
    assert!(run("weak-tls", &ev).is_none());
}

#[test]
fn schannel_alerts_and_credential_errors() {
    let mut h = HostEvidence::default();
    h.schannel.alerts_sent.push(AlertCount {
        code: 40,
        name: "handshake_failure".into(),
        count: 12,
        first: ago(1),
        last: ago(0),
    });
    h.schannel.credential_errors.push(Counted {
        key: "10013".into(),
        count: 3,
        first: ago(1),
        last: ago(0),
    });
    let d = run("schannel-failures", &with_host(h)).expect("detected");
    assert_eq!(d.confidence, Confidence::Medium);
    assert!(
        d.evidence
            .iter()
            .any(|l| l.contains("40 handshake_failure ×12"))
    );
    assert!(d.evidence.iter().any(|l| l.contains("state 10013")));
}

#[test]
fn schannel_near_miss_close_notify_only() {
    let mut h = HostEvidence::default();
    h.schannel.alerts_sent.push(AlertCount {
        code: 0,
        name: "close_notify".into(),
        count: 5,
        first: ago(1),
        last: ago(0),
    });
    assert!(run("schannel-failures", &with_host(h)).is_none());
}

// ---- credssp-oracle ---------------------------------------------------------------------

#[test]
fn credssp_6041_refusals() {
    let h = HostEvidence {
        credssp_refusals: vec![CredsspRefusal {
            target: "TERMSRV/server01.contoso.com".into(),
            offered_version: Some(4),
            count: 7,
            first: ago(3),
            last: ago(1),
        }],
        ..Default::default()
    };
    let d = run("credssp-oracle", &with_host(h)).expect("detected");
    assert_eq!(d.confidence, Confidence::High);
    assert!(d.evidence[0].contains("offered version 4 ×7"));
}

#[test]
fn credssp_near_miss_force_updated_clients_alone() {
    let ev = reg_host(&[(
        r"HKEY_LOCAL_MACHINE\SOFTWARE\Microsoft\Windows\CurrentVersion\Policies\System\CredSSP\Parameters",
        "AllowEncryptionOracle",
        RegValue::Dword(0),
    )]);
    assert!(run("credssp-oracle", &ev).is_none());
}

// ---- server-denied-connection -------------------------------------------------------------

#[test]
fn drain_mode_in_registry_and_1070() {
    let mut ev = reg_host(&[(TS, "TSServerDrainMode", RegValue::Dword(1))]);
    let h = ev.host.as_mut().unwrap();
    h.event_counts
        .push(count(EventSource::RemoteConnectionManager, 1070, 4, ago(0)));
    let d = run("server-denied-connection", &ev).expect("detected");
    assert_eq!(d.confidence, Confidence::High);
    assert_eq!(d.evidence.len(), 2);
}

#[test]
fn lsm_reason_7_alone() {
    let h = HostEvidence {
        disconnects: vec![DisconnectCount {
            log: DisconnectLog::LocalSessionManager,
            code: 7,
            meaning: None,
            count: 1,
            first: ago(40),
            last: ago(40),
        }],
        ..Default::default()
    };
    let d = run("server-denied-connection", &with_host(h)).expect("detected");
    assert_eq!(d.confidence, Confidence::Low, "old events weigh little");
}

#[test]
fn server_denied_near_miss() {
    let mut ev = reg_host(&[
        (TS, "TSServerDrainMode", RegValue::Dword(0)),
        (RDP_TCP, "fLogonDisabled", RegValue::Dword(0)),
    ]);
    ev.host.as_mut().unwrap().disconnects.push(DisconnectCount {
        log: DisconnectLog::LocalSessionManager,
        code: 5,
        meaning: None,
        count: 3,
        first: ago(1),
        last: ago(1),
    });
    assert!(run("server-denied-connection", &ev).is_none());
}

// ---- connection-throttling ----------------------------------------------------------------

#[test]
fn throttling_from_1006() {
    let mut h = HostEvidence::default();
    h.event_counts
        .push(count(EventSource::RemoteConnectionManager, 1006, 5, ago(0)));
    let d = run("connection-throttling", &with_host(h)).expect("detected");
    assert_eq!(d.confidence, Confidence::High);
}

#[test]
fn throttling_near_miss_generous_limit() {
    let ev = reg_host(&[(TS, "MaxOutstandingConnections", RegValue::Dword(10_000))]);
    assert!(run("connection-throttling", &ev).is_none());
    let ev = reg_host(&[(TS, "MaxOutstandingConnections", RegValue::Dword(5))]);
    assert_eq!(
        run("connection-throttling", &ev).unwrap().confidence,
        Confidence::Low
    );
}

// ---- logon failures -----------------------------------------------------------------------

#[test]
fn account_locked_from_status() {
    let h = failures(&[("0xC0000234", 3)], ago(0));
    let d = run("account-locked", &with_host(h)).expect("detected");
    assert_eq!(d.confidence, Confidence::High);
    assert!(
        d.params
            .iter()
            .any(|(k, v)| *k == "user" && v == "CONTOSO\\alice")
    );
}

#[test]
fn account_locked_near_miss() {
    let h = failures(&[("0xC000006A", 3)], ago(0));
    assert!(run("account-locked", &with_host(h)).is_none());
}

#[test]
fn account_restricted_from_status() {
    let h = failures(&[("0xC0000072", 1)], ago(0));
    assert!(run("account-restricted", &with_host(h)).is_some());
    let h = failures(&[("0xC000006E", 2)], ago(0));
    assert!(run("account-restricted", &with_host(h)).is_some());
}

#[test]
fn account_restricted_near_miss() {
    let h = failures(&[("0xC000015B", 1)], ago(0));
    assert!(run("account-restricted", &with_host(h)).is_none());
}

#[test]
fn logon_right_from_status_and_4825() {
    let h = failures(&[("0xC000015B", 1)], ago(0));
    assert!(run("logon-right-missing", &with_host(h)).is_some());
    let mut h = HostEvidence::default();
    h.event_counts
        .push(count(EventSource::SecurityAuditing, 4825, 2, ago(0)));
    h.logons.denied_users.push(Counted {
        key: "OFFSEC\\svc6test1".into(),
        count: 2,
        first: ago(0),
        last: ago(0),
    });
    let d = run("logon-right-missing", &with_host(h)).expect("detected");
    assert!(d.evidence[0].contains("OFFSEC\\svc6test1 ×2"));
}

#[test]
fn logon_right_near_miss() {
    let h = failures(&[("0xC000006A", 1)], ago(0));
    assert!(run("logon-right-missing", &with_host(h)).is_none());
}

#[test]
fn credentials_rejected_from_status() {
    let h = failures(&[("0xC000006A", 2)], ago(0));
    let d = run("credentials-rejected", &with_host(h)).expect("detected");
    assert_eq!(d.confidence, Confidence::Medium);
}

#[test]
fn credentials_rejected_near_miss() {
    let h = failures(&[("0xC0000072", 2)], ago(0));
    assert!(run("credentials-rejected", &with_host(h)).is_none());
}

// ---- brute-force -----------------------------------------------------------------------

#[test]
fn brute_force_from_many_addresses() {
    let mut h = failures(&[("0xC000006A", 150)], ago(0));
    h.logons.distinct_source_ips = 40;
    h.logons.distinct_users = 25;
    let d = run("brute-force", &with_host(h)).expect("detected");
    assert_eq!(d.confidence, Confidence::High);
    // The same failures are then mostly noise for credentials-rejected.
    let mut h = failures(&[("0xC000006A", 150)], ago(0));
    h.logons.distinct_source_ips = 40;
    assert_eq!(
        run("credentials-rejected", &with_host(h))
            .unwrap()
            .confidence,
        Confidence::Low
    );
}

#[test]
fn brute_force_from_1012_alone() {
    let mut h = HostEvidence::default();
    h.event_counts
        .push(count(EventSource::RemoteConnectionManager, 1012, 2, ago(1)));
    let d = run("brute-force", &with_host(h)).expect("detected");
    assert!(d.summary.contains("too many failed logons"));
}

#[test]
fn brute_force_near_miss_one_user_mistyping() {
    let h = failures(&[("0xC000006A", 30)], ago(0));
    assert!(run("brute-force", &with_host(h)).is_none());
}

// ---- udp-unavailable -----------------------------------------------------------------------

#[test]
fn udp_off_by_policy() {
    let ev = reg_host(&[(POLICY, "SelectTransport", RegValue::Dword(1))]);
    let d = run("udp-unavailable", &ev).expect("detected");
    assert_eq!(d.severity, Some(Severity::Info));
}

#[test]
fn udp_near_miss_both_transports() {
    let ev = reg_host(&[(POLICY, "SelectTransport", RegValue::Dword(0))]);
    assert!(run("udp-unavailable", &ev).is_none());
}

// ---- policy-conflict -----------------------------------------------------------------------

#[test]
fn policy_overrides_the_listener() {
    let ev = reg_host(&[
        (RDP_TCP, "SecurityLayer", RegValue::Dword(2)),
        (POLICY, "SecurityLayer", RegValue::Dword(0)),
    ]);
    let d = run("policy-conflict", &ev).expect("detected");
    assert_eq!(d.confidence, Confidence::Medium);
    assert!(d.evidence[0].contains("SecurityLayer = 0"));
}

#[test]
fn registry_explains_the_nla_refusal() {
    let mut ev = reg_host(&[(RDP_TCP, "UserAuthentication", RegValue::Dword(1))]);
    let mut n = crate::evidence::Negotiation::default();
    n.failures
        .insert("ssl".into(), "HYBRID_REQUIRED_BY_SERVER".into());
    ev.negotiation = crate::evidence::Stage::ok(std::time::Duration::from_millis(1), n);
    let d = run("policy-conflict", &ev).expect("detected");
    assert_eq!(d.confidence, Confidence::High);
    assert!(d.evidence[0].contains("HYBRID_REQUIRED_BY_SERVER"));
}

#[test]
fn configured_certificate_not_served() {
    let mut ev = reg_host(&[(
        RDP_TCP,
        "SSLCertificateSHA1Hash",
        RegValue::Binary("00".repeat(20)),
    )]);
    ev.certificate = Some(cert_file(ago(-100), None).certificate);
    let d = run("policy-conflict", &ev).expect("detected");
    assert!(d.evidence[0].contains("not in use"), "{:?}", d.evidence);
}

#[test]
fn policy_conflict_near_miss_same_values() {
    let ev = reg_host(&[
        (RDP_TCP, "SecurityLayer", RegValue::Dword(2)),
        (POLICY, "SecurityLayer", RegValue::Dword(2)),
        (RDP_TCP, "UserAuthentication", RegValue::Dword(1)),
    ]);
    assert!(run("policy-conflict", &ev).is_none());
}

#[test]
fn no_host_evidence_no_host_findings() {
    let ev = evidence();
    for r in RULES {
        assert!(
            (r.evaluate)(&RuleContext {
                target: &crate::diagnose::rules::testing::target(),
                evidence: &ev,
                options: &crate::diagnose::DiagnoseOptions::at(now()),
            })
            .is_none()
        );
    }
}

#[test]
fn host_rules_are_registered() {
    for cause in ["machinekeys-broken", "brute-force", "policy-conflict"] {
        assert!(std::ptr::eq(
            crate::diagnose::rules::testing::rule(cause),
            rule(cause)
        ));
    }
}
