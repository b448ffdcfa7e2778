//! Registry evidence: .reg exports in both encodings and binary hives built for the test.

use chrono::{TimeZone, Utc};
use rdpdoctor_core::Target;
use rdpdoctor_core::diagnose::{DiagnoseOptions, diagnose};
use rdpdoctor_core::evidence::{ProtocolState, RegValue, SettingOrigin};
use rdpdoctor_core::offline::{AnalyzeOptions, OfflineEvidence, analyze_paths};
use std::path::{Path, PathBuf};

const SERVER_REG: &str = r#"Windows Registry Editor Version 5.00

[HKEY_LOCAL_MACHINE\SYSTEM\CurrentControlSet\Control\Terminal Server]
"fDenyTSConnections"=dword:00000000
"TSServerDrainMode"=dword:00000001
"MaxOutstandingConnections"=dword:00002710

[HKEY_LOCAL_MACHINE\SYSTEM\CurrentControlSet\Control\Terminal Server\WinStations\RDP-Tcp]
"PortNumber"=dword:00000d3d
"SecurityLayer"=dword:00000002
"UserAuthentication"=dword:00000001
"MinEncryptionLevel"=dword:00000002
"SSLCertificateSHA1Hash"=hex:59,ef,f2,e3,b5,09,c8,31,37,e8,10,85,e0,2a,1a,c6,3a,7e,\
  61,aa
"fEnableWinStation"=dword:00000001

[HKEY_LOCAL_MACHINE\SYSTEM\CurrentControlSet\Control\SecurityProviders\SCHANNEL\Protocols\TLS 1.0\Server]
"Enabled"=dword:00000000
"DisabledByDefault"=dword:00000001

[HKEY_LOCAL_MACHINE\SYSTEM\CurrentControlSet\Control\SecurityProviders\SCHANNEL\Protocols\TLS 1.2\Server]
"Enabled"=dword:00000001
"DisabledByDefault"=dword:00000000
"#;

const POLICY_REG: &str = r#"REGEDIT4

[HKEY_LOCAL_MACHINE\SOFTWARE\Policies\Microsoft\Windows NT\Terminal Services]
"SecurityLayer"=dword:00000000
"SelectTransport"=dword:00000001

[HKEY_LOCAL_MACHINE\SOFTWARE\Microsoft\Windows\CurrentVersion\Policies\System\CredSSP\Parameters]
"AllowEncryptionOracle"=dword:00000000

[HKEY_LOCAL_MACHINE\SOFTWARE\Policies\Microsoft\Cryptography\Configuration\SSL\00010002]
"Functions"="TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"
"#;

fn utf16le_bom(s: &str) -> Vec<u8> {
    let mut b = vec![0xFF, 0xFE];
    for u in s.replace('\n', "\r\n").encode_utf16() {
        b.extend_from_slice(&u.to_le_bytes());
    }
    b
}

fn analyze(paths: &[PathBuf]) -> OfflineEvidence {
    let mut o = AnalyzeOptions::at(Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap());
    o.threads = 1;
    analyze_paths(paths, &o)
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

#[test]
fn reg_exports_in_both_encodings_merge_with_policy_winning() {
    let dir = tempfile::tempdir().unwrap();
    let a = write(dir.path(), "TerminalServer.reg", &utf16le_bom(SERVER_REG));
    let b = write(dir.path(), "Policies.reg", POLICY_REG.as_bytes());
    let ev = analyze(&[a, b]);
    assert!(ev.warnings.is_empty(), "{:?}", ev.warnings);
    let h = ev.only_host().expect("one (unnamed) host");
    assert_eq!(h.name, None);
    let reg = h.registry.as_ref().unwrap();

    let sl = reg.setting("SecurityLayer").unwrap();
    assert_eq!(sl.effective, RegValue::Dword(0));
    assert_eq!(sl.origin, SettingOrigin::Policy);
    assert_eq!(sl.local.as_ref().unwrap().value, RegValue::Dword(2));
    assert!(
        sl.local
            .as_ref()
            .unwrap()
            .file
            .ends_with("TerminalServer.reg")
    );
    assert!(
        sl.policy
            .as_ref()
            .unwrap()
            .key
            .contains(r"SOFTWARE\Policies")
    );

    assert_eq!(reg.dword("PortNumber"), Some(3389));
    assert_eq!(reg.dword("UserAuthentication"), Some(1));
    assert_eq!(reg.dword("AllowEncryptionOracle"), Some(0));
    assert_eq!(reg.dword("SelectTransport"), Some(1));
    assert_eq!(
        reg.setting("SSLCertificateSHA1Hash").unwrap().effective,
        RegValue::Binary("59EFF2E3B509C83137E81085E02A1AC63A7E61AA".into())
    );
    assert!(
        reg.setting("SSLCipherSuiteOrder")
            .unwrap()
            .effective
            .as_str()
            .unwrap()
            .contains("GCM")
    );
    assert_eq!(
        reg.protocol("TLS 1.0", "Server").unwrap().state,
        ProtocolState::Disabled
    );
    assert_eq!(
        reg.protocol("TLS 1.2", "Server").unwrap().state,
        ProtocolState::Enabled
    );

    // The diagnosis: drain mode, policy override, UDP off.
    let at = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
    let e = ev.to_evidence(Some(h), at);
    let d = diagnose(
        &Target::parse("server01").unwrap(),
        &e,
        &DiagnoseOptions::at(at),
    );
    let causes: Vec<&str> = d.findings.iter().map(|f| f.cause.as_str()).collect();
    assert!(causes.contains(&"server-denied-connection"), "{causes:?}");
    assert!(causes.contains(&"policy-conflict"), "{causes:?}");
    assert!(causes.contains(&"udp-unavailable"), "{causes:?}");
    assert!(!causes.contains(&"rdp-disabled"), "{causes:?}");
    assert!(!causes.contains(&"connection-throttling"), "{causes:?}");
}

/// Build a hive from .reg text with regf (a test-only dependency).
fn hive(reg_text: &str, strip: &str, root: &str) -> Vec<u8> {
    let opts = regf::RegImportOptions {
        root_name: root.into(),
        strip_prefix: Some(strip.into()),
        minor_version: 6,
    };
    regf::RegImporter::from_string_with_options(reg_text, opts)
        .build_hive()
        .unwrap()
}

const SYSTEM_HIVE_REG: &str = r#"Windows Registry Editor Version 5.00

[HKEY_LOCAL_MACHINE\SYSTEM\Select]
"Current"=dword:00000002

[HKEY_LOCAL_MACHINE\SYSTEM\ControlSet001\Control\Terminal Server]
"fDenyTSConnections"=dword:00000000

[HKEY_LOCAL_MACHINE\SYSTEM\ControlSet002\Control\Terminal Server]
"fDenyTSConnections"=dword:00000001

[HKEY_LOCAL_MACHINE\SYSTEM\ControlSet002\Control\Terminal Server\WinStations\RDP-Tcp]
"PortNumber"=dword:00000d3e
"UserAuthentication"=dword:00000001

[HKEY_LOCAL_MACHINE\SYSTEM\ControlSet002\Control\SecurityProviders\SCHANNEL\Protocols\TLS 1.2\Server]
"Enabled"=dword:00000000

[HKEY_LOCAL_MACHINE\SYSTEM\ControlSet002\Control\ComputerName\ComputerName]
"ComputerName"="SRV01"

[HKEY_LOCAL_MACHINE\SYSTEM\ControlSet002\Services\Tcpip\Parameters]
"Hostname"="srv01"
"Domain"="contoso.com"
"#;

const SOFTWARE_HIVE_REG: &str = r#"Windows Registry Editor Version 5.00

[HKEY_LOCAL_MACHINE\SOFTWARE\Microsoft\Windows\CurrentVersion\Policies\System\CredSSP\Parameters]
"AllowEncryptionOracle"=dword:00000002

[HKEY_LOCAL_MACHINE\SOFTWARE\Policies\Microsoft\Windows NT\Terminal Services]
"fDenyTSConnections"=dword:00000000
"#;

#[test]
fn system_and_software_hives_use_the_current_control_set() {
    let dir = tempfile::tempdir().unwrap();
    let system = hive(SYSTEM_HIVE_REG, r"HKEY_LOCAL_MACHINE\SYSTEM", "SYSTEM");
    let software = hive(
        SOFTWARE_HIVE_REG,
        r"HKEY_LOCAL_MACHINE\SOFTWARE",
        "SOFTWARE",
    );
    let bundle = dir.path().join("srv01");
    std::fs::create_dir(&bundle).unwrap();
    write(&bundle, "SYSTEM", &system);
    write(&bundle, "SOFTWARE", &software);
    let ev = analyze(&[bundle]);
    assert!(ev.warnings.is_empty(), "{:?}", ev.warnings);
    let h = ev.host_for("srv01").expect("named by the SYSTEM hive");
    assert_eq!(h.name.as_deref(), Some("srv01.contoso.com"));
    assert!(h.matches_host("SRV01"));
    let reg = h.registry.as_ref().unwrap();
    assert_eq!(reg.control_set.as_deref(), Some("ControlSet002"));
    assert_eq!(reg.dword("PortNumber"), Some(3390));
    assert_eq!(reg.dword("UserAuthentication"), Some(1));
    // ControlSet002 denies, but the policy in SOFTWARE allows.
    let deny = reg.setting("fDenyTSConnections").unwrap();
    assert_eq!(deny.local.as_ref().unwrap().value, RegValue::Dword(1));
    assert!(
        deny.local
            .as_ref()
            .unwrap()
            .key
            .contains("CurrentControlSet")
    );
    assert_eq!(deny.effective, RegValue::Dword(0));
    assert_eq!(reg.dword("AllowEncryptionOracle"), Some(2));
    assert_eq!(
        reg.protocol("TLS 1.2", "Server").unwrap().state,
        ProtocolState::Disabled
    );
    assert_eq!(h.files.iter().filter(|f| f.kind == "hive").count(), 2);
}

#[test]
fn dirty_and_damaged_hives_are_warnings() {
    let dir = tempfile::tempdir().unwrap();
    let mut system = hive(SYSTEM_HIVE_REG, r"HKEY_LOCAL_MACHINE\SYSTEM", "SYSTEM");
    // Different sequence numbers: copied while in use.
    system[8] = system[8].wrapping_add(1);
    let dirty = write(dir.path(), "SYSTEM", &system);
    let mut broken = system.clone();
    broken.truncate(4096 + 40);
    let broken = write(dir.path(), "SYSTEM-broken.hiv", &broken);
    let ev = analyze(&[dirty, broken]);
    let h = ev.host_for("srv01").unwrap();
    assert_eq!(h.registry.as_ref().unwrap().dword("PortNumber"), Some(3390));
    assert!(
        ev.warnings
            .iter()
            .any(|w| w.file.ends_with("SYSTEM") && w.problem.contains("transaction logs")),
        "{:?}",
        ev.warnings
    );
    assert!(
        ev.warnings
            .iter()
            .any(|w| w.file.ends_with("SYSTEM-broken.hiv")),
        "{:?}",
        ev.warnings
    );
}

#[test]
fn a_damaged_reg_export_keeps_the_good_lines() {
    let dir = tempfile::tempdir().unwrap();
    let text = "Windows Registry Editor Version 5.00\n\n[HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\Terminal Server]\n\"fDenyTSConnections\"=dword:0000000Z\n\"TSServerDrainMode\"=dword:00000000\n";
    let p = write(dir.path(), "ts.reg", text.as_bytes());
    let ev = analyze(&[p]);
    let h = ev.only_host().unwrap();
    assert_eq!(h.registry_dword("TSServerDrainMode"), Some(0));
    assert!(h.registry_dword("fDenyTSConnections").is_none());
    assert!(
        ev.warnings[0].problem.contains("line 4"),
        "{:?}",
        ev.warnings
    );
}
