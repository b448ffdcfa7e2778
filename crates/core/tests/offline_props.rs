//! Property tests: the .reg, hive and .rdp parsers never panic, whatever the bytes.

use proptest::prelude::*;
use rdpdoctor_core::offline::{parse_hive, parse_rdp, parse_reg_export};

/// Pieces that look like .reg syntax, so random lines reach the value parsers.
fn reg_line() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("Windows Registry Editor Version 5.00".to_string()),
        Just("REGEDIT4".to_string()),
        "\\[HKEY_LOCAL_MACHINE\\\\SYSTEM\\\\(ControlSet00[0-9]|CurrentControlSet)\\\\Control\\\\Terminal Server(\\\\WinStations\\\\RDP-Tcp)?\\]".prop_map(|s| s),
        "\\[-?[A-Za-z\\\\ ]{0,40}\\]?",
        "\"[A-Za-z\\\\\"]{0,20}\"?=dword:[0-9a-fA-FxZ]{0,10}",
        "\"[A-Za-z]{0,12}\"=hex(\\([0-9a-f]{0,3}\\))?:([0-9a-fA-F]{1,3},?){0,20}\\\\?",
        "\"[A-Za-z]{0,12}\"=\"[^\"\\n]{0,30}\"?",
        "@=.{0,20}",
        ".{0,60}",
    ]
}

fn rdp_line() -> impl Strategy<Value = String> {
    prop_oneof![
        "(full address|alternate full address|server port|enablecredsspsupport|gatewayusagemethod|password 51|username):[sib]?:?.{0,40}",
        "[a-z ]{0,20}:[a-z]:.{0,20}",
        ".{0,60}",
    ]
}

fn utf16(s: &str, bom: bool) -> Vec<u8> {
    let mut b = if bom { vec![0xFF, 0xFE] } else { Vec::new() };
    for u in s.encode_utf16() {
        b.extend_from_slice(&u.to_le_bytes());
    }
    b
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn reg_parser_never_panics_on_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..4096)) {
        let _ = parse_reg_export(&bytes, "fuzz.reg");
    }

    #[test]
    fn reg_parser_never_panics_on_reg_like_text(
        lines in proptest::collection::vec(reg_line(), 0..40),
        crlf in any::<bool>(),
        wide in any::<bool>(),
    ) {
        let text = lines.join(if crlf { "\r\n" } else { "\n" });
        let bytes = if wide { utf16(&text, true) } else { text.into_bytes() };
        let r = parse_reg_export(&bytes, "fuzz.reg");
        prop_assert!(r.problems.len() <= 10);
    }

    #[test]
    fn rdp_parser_never_panics_and_never_keeps_passwords(
        lines in proptest::collection::vec(rdp_line(), 0..40),
        wide in any::<bool>(),
    ) {
        let text = lines.join("\r\n");
        let bytes = if wide { utf16(&text, true) } else { text.into_bytes() };
        let f = parse_rdp(&bytes, "fuzz.rdp");
        prop_assert!(f.settings.keys().all(|k| !k.contains("password")));
        let _ = f.target();
        let _ = f.offers_credssp();
    }

    #[test]
    fn rdp_parser_never_panics_on_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..4096)) {
        let _ = parse_rdp(&bytes, "fuzz.rdp");
    }

    #[test]
    fn hive_reader_never_panics_on_damaged_hives(
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..64),
        cut in any::<prop::sample::Index>(),
    ) {
        let mut h = sample_hive();
        for (i, b) in flips {
            let i = i.index(h.len());
            h[i] = b;
        }
        let keep = 4096 + cut.index(h.len() - 4096);
        h.truncate(keep);
        let _ = parse_hive(&h, "fuzz-SYSTEM");
    }
}

fn sample_hive() -> Vec<u8> {
    let text = "Windows Registry Editor Version 5.00\r\n\r\n[HKEY_LOCAL_MACHINE\\SYSTEM\\Select]\r\n\"Current\"=dword:00000001\r\n\r\n[HKEY_LOCAL_MACHINE\\SYSTEM\\ControlSet001\\Control\\Terminal Server]\r\n\"fDenyTSConnections\"=dword:00000001\r\n\r\n[HKEY_LOCAL_MACHINE\\SYSTEM\\ControlSet001\\Control\\Terminal Server\\WinStations\\RDP-Tcp]\r\n\"PortNumber\"=dword:00000d3d\r\n\"SSLCertificateSHA1Hash\"=hex:01,02,03,04,05,06,07,08,09,0a,0b,0c,0d,0e,0f,10,11,12,13,14\r\n\r\n[HKEY_LOCAL_MACHINE\\SYSTEM\\ControlSet001\\Control\\SecurityProviders\\SCHANNEL\\Protocols\\TLS 1.0\\Server]\r\n\"Enabled\"=dword:00000000\r\n";
    let opts = regf::RegImportOptions {
        root_name: "SYSTEM".into(),
        strip_prefix: Some("HKEY_LOCAL_MACHINE\\SYSTEM".into()),
        minor_version: 6,
    };
    regf::RegImporter::from_string_with_options(text, opts)
        .build_hive()
        .unwrap()
}

#[test]
fn the_sample_hive_reads_back() {
    let (reg, dirty) = parse_hive(&sample_hive(), "SYSTEM").unwrap();
    assert_eq!(dirty, None);
    assert_eq!(reg.dword("fDenyTSConnections"), Some(1));
    assert_eq!(reg.dword("PortNumber"), Some(3389));
}
