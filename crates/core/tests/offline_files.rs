//! .rdp files, certificate files and zip bundles (including hostile ones).

use chrono::{TimeZone, Utc};
use rdpdoctor_core::Target;
use rdpdoctor_core::diagnose::{DiagnoseOptions, diagnose};
use rdpdoctor_core::offline::{
    AnalyzeOptions, Limits, OfflineEvidence, analyze_paths, read_rdp_file,
};
use std::path::{Path, PathBuf};
use std::time::Instant;

fn opts() -> AnalyzeOptions {
    let mut o = AnalyzeOptions::at(Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap());
    o.threads = 1;
    o
}

fn analyze(paths: &[PathBuf]) -> OfflineEvidence {
    analyze_paths(paths, &opts())
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

fn utf16le_bom(s: &str) -> Vec<u8> {
    let mut b = vec![0xFF, 0xFE];
    for u in s.encode_utf16() {
        b.extend_from_slice(&u.to_le_bytes());
    }
    b
}

const RDP: &str = "screen mode id:i:2\r\nfull address:s:[2001:db8::10]:3390\r\nusername:s:CONTOSO\\alice\r\npassword 51:b:01000000D08C9DDF0115D1118C7A00C04FC297EB0100000052A9E191\r\nenablecredsspsupport:i:0\r\nnegotiate security layer:i:1\r\ngatewayhostname:s:rdg.contoso.com\r\ngatewayusagemethod:i:2\r\n";

#[test]
fn rdp_files_in_utf16_and_utf8() {
    let dir = tempfile::tempdir().unwrap();
    let a = write(dir.path(), "ipv6.rdp", &utf16le_bom(RDP));
    let b = write(
        dir.path(),
        "alt.rdp",
        b"full address:s:server01.contoso.com:3391\nalternate full address:s:10.0.0.5\nauthentication level:i:2\n",
    );
    let ev = analyze(&[a.clone(), b]);
    assert_eq!(ev.client.rdp_files.len(), 2);
    let f = &ev.client.rdp_files[0];
    assert_eq!(f.full_address.as_deref(), Some("[2001:db8::10]:3390"));
    assert_eq!(f.enable_credssp_support, Some(0));
    assert!(!f.offers_credssp());
    assert_eq!(f.dropped, ["password 51"]);
    let t = f.target().unwrap();
    assert_eq!((t.host.as_str(), t.port), ("2001:db8::10", 3390));
    let g = f.gateway.as_ref().unwrap();
    assert_eq!(g.hostname.as_deref(), Some("rdg.contoso.com"));
    assert!(g.in_use());

    let alt = ev.client.rdp_files[1].target().unwrap();
    assert_eq!((alt.host.as_str(), alt.port), ("10.0.0.5", 3391));
    assert_eq!(alt.expected_name.as_deref(), Some("server01.contoso.com"));

    // No trace of the password blob anywhere in the JSON.
    let json = serde_json::to_string(&ev.client).unwrap();
    assert!(!json.contains("D08C9DDF"), "{json}");

    let direct = read_rdp_file(&a).unwrap();
    assert_eq!(&direct, f);
}

#[test]
fn client_file_without_credssp_against_an_nla_registry() {
    let dir = tempfile::tempdir().unwrap();
    let rdp = write(
        dir.path(),
        "srv.rdp",
        b"full address:s:srv01.contoso.com\nenablecredsspsupport:i:0\n",
    );
    let reg = write(
        dir.path(),
        "rdp-tcp.reg",
        b"REGEDIT4\n\n[HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\Terminal Server\\WinStations\\RDP-Tcp]\n\"UserAuthentication\"=dword:00000001\n",
    );
    let ev = analyze(&[rdp, reg]);
    let at = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
    let mut e = ev.to_evidence(ev.only_host(), at);
    let target = Target::parse("srv01.contoso.com").unwrap();
    // The unnamed host attaches to a live check of any server.
    ev.attach_to(&mut e, &target).unwrap();
    let d = diagnose(&target, &e, &DiagnoseOptions::at(at));
    let f = d
        .findings
        .iter()
        .find(|f| f.cause == "client-nla-disabled")
        .expect("client-nla-disabled");
    assert!(f.evidence[0].contains("srv.rdp"));
}

#[test]
fn certificates_match_the_listener_thumbprint() {
    let dir = tempfile::tempdir().unwrap();
    let listener = rcgen::generate_simple_self_signed(vec!["srv01.contoso.com".into()]).unwrap();
    let other = rcgen::generate_simple_self_signed(vec!["other".into()]).unwrap();
    let der = listener.cert.der().to_vec();
    let at = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
    let thumb = rdpdoctor_core::cert::describe(&der, at, None).unwrap().sha1;
    let hex_list: Vec<String> = (0..20)
        .map(|i| thumb[i * 2..i * 2 + 2].to_ascii_lowercase())
        .collect();
    let reg = format!(
        "Windows Registry Editor Version 5.00\n\n[HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\Terminal Server\\WinStations\\RDP-Tcp]\n\"SSLCertificateSHA1Hash\"=hex:{}\n",
        hex_list.join(",")
    );
    let files = vec![
        write(dir.path(), "rdp.cer", &der),
        write(dir.path(), "other.pem", other.cert.pem().as_bytes()),
        write(dir.path(), "rdp-tcp.reg", &utf16le_bom(&reg)),
        write(
            dir.path(),
            "broken.crt",
            b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
        ),
    ];
    let ev = analyze(&files);
    let h = ev.only_host().unwrap();
    assert_eq!(h.certificates.len(), 2);
    let rdp = h
        .certificates
        .iter()
        .find(|c| c.file.ends_with("rdp.cer"))
        .unwrap();
    assert_eq!(rdp.certificate.sha1, thumb);
    assert_eq!(rdp.is_listener_certificate, Some(true));
    assert_eq!(rdp.certificate.san_dns, ["srv01.contoso.com"]);
    let o = h
        .certificates
        .iter()
        .find(|c| c.file.ends_with("other.pem"))
        .unwrap();
    assert_eq!(o.is_listener_certificate, Some(false));
    assert!(
        ev.warnings.iter().any(|w| w.file.ends_with("broken.crt")),
        "{:?}",
        ev.warnings
    );
}

// ---- zip bundles ----------------------------------------------------------------------------

use rdpdoctor_testkit::zip::build as zip;

#[test]
fn a_collect_bundle_is_tied_to_the_computer_its_manifest_names() {
    // As Windows PowerShell's Set-Content -Encoding UTF8 writes it: with a BOM.
    let manifest = "\u{feff}{\"tool\":\"rdpdoctor collect.ps1\",\"computer\":\"SRV01\",\"fqdn\":\"srv01.contoso.com\",\"addresses\":[\"10.0.0.5\"],\"files\":[{\"path\":\"logs/Security.evtx\"}],\"problems\":[]}".as_bytes();
    let reg = utf16le_bom(
        "Windows Registry Editor Version 5.00\r\n\r\n[HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\Terminal Server]\r\n\"fDenyTSConnections\"=dword:00000001\r\n",
    );
    let mut entries: Vec<(&str, &[u8], bool, Option<u32>)> = vec![
        ("registry\\TerminalServer.reg", &reg, true, None),
        ("rdpdoctor-manifest.json", manifest, false, None),
        ("notes.txt", b"ignored", false, None),
    ];
    let evtx;
    if let Some(p) =
        rdpdoctor_testkit::shared_file("evtx/omerbenamram-evtx/Security_short_selected.evtx")
    {
        evtx = std::fs::read(p).unwrap();
        entries.push(("logs/Security.evtx", &evtx, true, None));
    }
    let dir = tempfile::tempdir().unwrap();
    let z = write(dir.path(), "SRV01-rdpdoctor.zip", &zip(&entries));
    let ev = analyze(&[z]);
    let h = ev.host_for("10.0.0.5").expect("the manifest's address");
    assert_eq!(h.name.as_deref(), Some("srv01.contoso.com"));
    assert_eq!(h.registry_dword("fDenyTSConnections"), Some(1));
    assert!(h.files.iter().any(|f| {
        f.path
            .ends_with("SRV01-rdpdoctor.zip!registry\\TerminalServer.reg")
    }));
    if entries.len() == 4 {
        // The Security log names another computer ("temporal"); it stays its own host.
        let t = ev.host_for("temporal").unwrap();
        assert_eq!(t.logons.failed, 1);
        assert!(t.files[0].path.ends_with("!logs/Security.evtx"));
    }
    let at = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
    let mut e = rdpdoctor_core::Evidence::new(at);
    ev.attach_to(&mut e, &Target::parse("srv01:3389").unwrap())
        .unwrap();
    assert_eq!(
        e.host.as_ref().unwrap().name.as_deref(),
        Some("srv01.contoso.com")
    );
    let err = ev
        .attach_to(&mut e, &Target::parse("nothere.contoso.com").unwrap())
        .unwrap_err();
    assert!(err.to_string().contains("srv01.contoso.com"), "{err}");
}

#[test]
fn hostile_zip_huge_declared_sizes_and_a_bomb_are_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let zeros = vec![0u8; 20 * 1024 * 1024];
    let z = zip(&[
        // Declares 4 GB for a few bytes.
        ("a.reg", b"REGEDIT4\n", false, Some(u32::MAX - 1)),
        // Declares 100 bytes, inflates to 20 MiB of zeros (about 20 KB compressed).
        ("bomb.evtx", &zeros, true, Some(100)),
        ("ok.rdp", b"full address:s:srv\n", false, None),
    ]);
    assert!(z.len() < 200_000);
    let p = write(dir.path(), "bad.zip", &z);
    let mut o = opts();
    o.limits = Limits {
        max_evtx_bytes: 1024 * 1024,
        max_reg_bytes: 1024 * 1024,
        ..Limits::default()
    };
    let started = Instant::now();
    let ev = analyze_paths(&[p], &o);
    assert!(started.elapsed().as_secs() < 10);
    let problems: Vec<String> = ev.warnings.iter().map(|w| w.to_string()).collect();
    assert!(
        problems
            .iter()
            .any(|w| w.contains("a.reg") && w.contains("declares")),
        "{problems:?}"
    );
    assert!(
        problems
            .iter()
            .any(|w| w.contains("bomb.evtx") && w.contains("more than")),
        "{problems:?}"
    );
    // The good entry is still read.
    assert_eq!(ev.client.rdp_files.len(), 1);
}

#[test]
fn hostile_zip_with_many_entries_is_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let names: Vec<String> = (0..3000).map(|i| format!("f{i}.rdp")).collect();
    let entries: Vec<(&str, &[u8], bool, Option<u32>)> = names
        .iter()
        .map(|n| (n.as_str(), b"full address:s:x\n" as &[u8], false, None))
        .collect();
    let p = write(dir.path(), "many.zip", &zip(&entries));
    let mut o = opts();
    o.limits.max_zip_entries = 1000;
    let ev = analyze_paths(&[p], &o);
    assert_eq!(ev.client.rdp_files.len(), 1000);
    assert!(
        ev.warnings.iter().any(|w| w
            .problem
            .contains("declares 3000 entries; only the first 1000")),
        "{:?}",
        ev.warnings
    );
    // The whole analysis is bounded by the file budget too.
    let mut o = opts();
    o.limits.max_files = 10;
    let ev = analyze_paths(&[dir.path().join("many.zip")], &o);
    assert!(ev.client.rdp_files.len() <= 10);
    assert!(
        ev.warnings
            .iter()
            .any(|w| w.problem.contains("more than 10 files"))
    );
}

#[test]
fn truncated_and_garbage_zips_are_warnings() {
    let dir = tempfile::tempdir().unwrap();
    let good = zip(&[("a.rdp", b"full address:s:x\n", false, None)]);
    let cut = write(dir.path(), "cut.zip", &good[..good.len() - 10]);
    let junk = write(dir.path(), "junk.zip", b"PK\x03\x04 not really");
    let ev = analyze(&[cut, junk]);
    assert_eq!(ev.warnings.len(), 2, "{:?}", ev.warnings);
    assert!(ev.warnings.iter().all(|w| w.problem.contains("zip")));
}

#[test]
fn missing_paths_and_unknown_files_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let unknown = write(dir.path(), "notes.txt", b"hello");
    let ev = analyze(&[dir.path().join("nope.evtx"), unknown]);
    assert_eq!(ev.warnings.len(), 2, "{:?}", ev.warnings);
    assert!(ev.warnings[0].file.ends_with("nope.evtx"));
    assert!(
        ev.warnings[1]
            .problem
            .contains("not a file rdpdoctor reads")
    );
}

fn bundle(computer: &str, deny: u32) -> Vec<u8> {
    let manifest = format!(r#"{{"computer":"{computer}"}}"#);
    let reg = format!(
        "REGEDIT4\n\n[HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\Terminal Server]\n\"fDenyTSConnections\"=dword:{deny:08x}\n"
    );
    zip(&[
        ("rdpdoctor-manifest.json", manifest.as_bytes(), false, None),
        ("registry/TerminalServer.reg", reg.as_bytes(), true, None),
    ])
}

#[test]
fn a_folder_of_bundles_keeps_each_computer_apart() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "SRV01.zip", &bundle("SRV01", 1));
    write(dir.path(), "SRV02.zip", &bundle("SRV02", 0));
    // And an unpacked bundle in a subfolder.
    let sub = dir.path().join("srv03-unpacked");
    std::fs::create_dir(&sub).unwrap();
    write(&sub, "rdpdoctor-manifest.json", br#"{"computer":"SRV03"}"#);
    write(
        &sub,
        "ts.reg",
        b"REGEDIT4\n\n[HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\Terminal Server]\n\"TSServerDrainMode\"=dword:00000001\n",
    );
    let ev = analyze(&[dir.path().to_path_buf()]);
    assert!(ev.warnings.is_empty(), "{:?}", ev.warnings);
    assert_eq!(ev.hosts.len(), 3);
    assert_eq!(
        ev.host_for("srv01")
            .unwrap()
            .registry_dword("fDenyTSConnections"),
        Some(1)
    );
    assert_eq!(
        ev.host_for("srv02")
            .unwrap()
            .registry_dword("fDenyTSConnections"),
        Some(0)
    );
    let h3 = ev.host_for("srv03").unwrap();
    assert_eq!(h3.registry_dword("TSServerDrainMode"), Some(1));
    assert_eq!(h3.registry_dword("fDenyTSConnections"), None);
}

#[test]
fn control_characters_from_files_never_reach_the_output() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "evil.rdp",
        b"full address:s:srv\x1b[2J\x07\nusername:s:bob\x1b]0;pwned\x07\n",
    );
    let ev = analyze(&[p]);
    let f = &ev.client.rdp_files[0];
    let json = serde_json::to_string(f).unwrap();
    assert!(!json.contains("\\u001b"), "{json}");
    assert!(f.username.as_deref().unwrap().starts_with("bob"));
}
