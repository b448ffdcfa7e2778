//! Every code of REFERENCE.md decodes, to the right name, pointing at causes that exist.

use rdpdoctor_kb::cause;
use rdpdoctor_kb::codes::{self, CodeTable};
use std::collections::HashSet;

/// Every Set Error Info value of REFERENCE.md §2 (118 spec values, FreeRDP's 0x1196 and its
/// "no value" marker).
const ERRINFO: [u32; 120] = [
    0x0,
    0x1,
    0x2,
    0x3,
    0x4,
    0x5,
    0x6,
    0x7,
    0x9,
    0xA,
    0xB,
    0xC,
    0xF,
    0x10,
    0x11,
    0x12,
    0x17,
    0x18,
    0x100,
    0x101,
    0x102,
    0x103,
    0x104,
    0x105,
    0x106,
    0x107,
    0x108,
    0x109,
    0x10A,
    0x400,
    0x402,
    0x404,
    0x405,
    0x406,
    0x407,
    0x408,
    0x409,
    0x410,
    0x411,
    0x412,
    0x10C9,
    0x10CA,
    0x10CB,
    0x10CD,
    0x10CE,
    0x10CF,
    0x10D0,
    0x10D1,
    0x10D2,
    0x10D3,
    0x10D4,
    0x10D5,
    0x10DA,
    0x10DB,
    0x10DC,
    0x10DD,
    0x10DE,
    0x10DF,
    0x10E0,
    0x10E1,
    0x10E2,
    0x10E3,
    0x10E5,
    0x10E7,
    0x10E8,
    0x10E9,
    0x10EA,
    0x10EC,
    0x10ED,
    0x10EF,
    0x10F0,
    0x10F3,
    0x10F4,
    0x10F5,
    0x10F6,
    0x10F7,
    0x10F8,
    0x1111,
    0x1112,
    0x1113,
    0x1114,
    0x1115,
    0x1116,
    0x1117,
    0x1118,
    0x1119,
    0x111A,
    0x111B,
    0x111C,
    0x111D,
    0x111E,
    0x111F,
    0x1120,
    0x1121,
    0x1122,
    0x1123,
    0x1124,
    0x1125,
    0x1126,
    0x1129,
    0x112A,
    0x112B,
    0x112C,
    0x112D,
    0x112E,
    0x112F,
    0x1130,
    0x1131,
    0x1132,
    0x1133,
    0x1134,
    0x1135,
    0x1136,
    0x1191,
    0x1192,
    0x1193,
    0x1194,
    0x1195,
    0x1196,
    0xFFFF_FFFF,
];

fn causes_of(e: &codes::CodeEntry) -> Vec<&str> {
    e.causes().iter().map(String::as_str).collect()
}

#[test]
fn code_data_loads() {
    let n = codes::validate_data()
        .map_err(|e| e.0)
        .expect("code data valid");
    assert!(n > 600, "only {n} entries");
}

#[test]
fn every_errinfo_code_decodes() {
    for v in ERRINFO {
        let e = codes::errinfo(v).unwrap_or_else(|| panic!("ERRINFO 0x{v:X} missing"));
        assert!(e.name.starts_with("ERRINFO_"), "{}", e.name);
        assert!(!e.description.is_empty());
    }
    assert_eq!(codes::table(CodeTable::ErrorInfo).count(), ERRINFO.len());
    assert_eq!(
        codes::errinfo(7).map(|e| e.name.as_str()),
        Some("ERRINFO_SERVER_DENIED_CONNECTION")
    );
}

#[test]
fn errinfo_codes_point_to_the_contracted_causes() {
    assert_eq!(
        causes_of(codes::errinfo(0x7).unwrap()),
        ["server-denied-connection"]
    );
    assert_eq!(
        causes_of(codes::errinfo(0x9).unwrap()),
        ["logon-right-missing"]
    );
    for v in 0x100..=0x10A {
        assert_eq!(
            causes_of(codes::errinfo(v).unwrap())[0],
            "licensing",
            "0x{v:X}"
        );
    }
    for v in ERRINFO {
        if matches!(v, 0 | 7 | 9 | 0x100..=0x10A | 0x1196 | 0xFFFF_FFFF) {
            continue;
        }
        let e = codes::errinfo(v).unwrap();
        assert!(
            causes_of(e).contains(&"server-error"),
            "{} should point to server-error",
            e.name
        );
    }
}

#[test]
fn status_codes_point_to_the_contracted_causes() {
    let first = |v: u32| codes::ntstatus(v).map(|e| e.causes()[0].clone());
    for v in [0xC000_006D, 0xC000_006A, 0xC000_0064] {
        assert_eq!(first(v).as_deref(), Some("credentials-rejected"), "0x{v:X}");
    }
    assert_eq!(first(0xC000_0234).as_deref(), Some("account-locked"));
    for v in [
        0xC000_0072,
        0xC000_0193,
        0xC000_0071,
        0xC000_0224,
        0xC000_006F,
        0xC000_0070,
        0xC000_006E,
    ] {
        assert_eq!(first(v).as_deref(), Some("account-restricted"), "0x{v:X}");
    }
    assert_eq!(first(0xC000_015B).as_deref(), Some("logon-right-missing"));
    let sec = |v: u32| codes::hresult(v).map(|e| e.name.as_str());
    assert_eq!(sec(0x8009_030C), Some("SEC_E_LOGON_DENIED"));
    assert_eq!(sec(0x8009_030E), Some("SEC_E_NO_CREDENTIALS"));
    assert_eq!(sec(0x8009_0302), Some("SEC_E_UNSUPPORTED_FUNCTION"));
    assert_eq!(sec(0x8009_0331), Some("SEC_E_ALGORITHM_MISMATCH"));
    assert_eq!(sec(0x8009_0328), Some("SEC_E_CERT_EXPIRED"));
    assert_eq!(
        causes_of(codes::hresult(0x8009_0302).unwrap())[0],
        "credssp-oracle"
    );
    assert_eq!(
        causes_of(codes::hresult(0x8009_0328).unwrap())[0],
        "cert-expired"
    );
}

#[test]
fn negotiation_codes_point_to_the_contracted_causes() {
    let first = |v: u32| codes::neg_failure(v).map(|e| e.causes()[0].clone());
    assert_eq!(first(5).as_deref(), Some("nla-required"));
    assert_eq!(first(1).as_deref(), Some("tls-required"));
    assert_eq!(first(2).as_deref(), Some("tls-not-allowed"));
    assert_eq!(first(3).as_deref(), Some("cert-not-on-server"));
    assert_eq!(
        codes::neg_failure(5).unwrap().name,
        "HYBRID_REQUIRED_BY_SERVER"
    );

    let flags: Vec<&str> = codes::neg_rsp_flags(0x1F)
        .iter()
        .map(|e| e.name.as_str())
        .collect();
    assert_eq!(
        flags,
        [
            "EXTENDED_CLIENT_DATA_SUPPORTED",
            "DYNVC_GFX_PROTOCOL_SUPPORTED",
            "NEGRSP_FLAG_RESERVED",
            "RESTRICTED_ADMIN_MODE_SUPPORTED",
            "REDIRECTED_AUTHENTICATION_MODE_SUPPORTED"
        ]
    );
    let protos: Vec<&str> = codes::protocols(0xB)
        .iter()
        .map(|e| e.name.as_str())
        .collect();
    assert_eq!(
        protos,
        ["PROTOCOL_SSL", "PROTOCOL_HYBRID", "PROTOCOL_HYBRID_EX"]
    );
    assert_eq!(codes::protocols(0)[0].name, "PROTOCOL_RDP");
    assert_eq!(
        codes::neg_req_flags(0x08)[0].name,
        "CORRELATION_INFO_PRESENT"
    );
    assert_eq!(
        codes::authz_result(5).unwrap().causes()[0],
        "logon-right-missing"
    );
}

#[test]
fn events_point_to_the_contracted_causes() {
    let has = |hint: &str, id: u32, cause: &str| {
        let e = codes::event(hint, id).unwrap_or_else(|| panic!("event {hint}/{id} missing"));
        assert!(
            causes_of(e).contains(&cause),
            "{hint}/{id} should point to {cause}"
        );
        e
    };
    has("TermService", 1057, "machinekeys-broken");
    has("RemoteConnectionManager", 1058, "machinekeys-broken");
    has("Schannel", 36870, "machinekeys-broken");
    has("", 1070, "server-denied-connection");
    has(
        "Microsoft-Windows-TerminalServices-RemoteConnectionManager",
        1071,
        "server-denied-connection",
    );
    has("LsaSrv", 6041, "credssp-oracle");
    for id in [36874, 36888, 36871] {
        has("Schannel", id, "schannel-failures");
    }
    let e = has("Security", 4625, "credentials-rejected");
    assert_eq!(e.channel.as_deref(), Some("Security"));
    assert_eq!(
        e.provider.as_deref(),
        Some("Microsoft-Windows-Security-Auditing")
    );
    assert_eq!(
        has("", 4825, "logon-right-missing").channel.as_deref(),
        Some("Security")
    );
    // A hint that names another provider finds nothing.
    assert!(codes::event("Schannel", 1058).is_none());
    assert!(codes::event("LocalSessionManager", 40).is_some());
    assert_eq!(
        codes::event("RCM", 1149).unwrap().channel.as_deref(),
        Some("Microsoft-Windows-TerminalServices-RemoteConnectionManager/Operational")
    );
}

#[test]
fn typed_lookups_cover_each_table() {
    assert_eq!(
        codes::disconnect_reason(0x904).unwrap().name,
        "disconnectReasonAtClientWinsockFDCLOSE"
    );
    assert_eq!(
        codes::extended_reason(7).unwrap().name,
        "exDiscReasonServerDeniedConnection"
    );
    // Extended codes in the protocol range resolve to the ERRINFO entry of the same number.
    assert_eq!(
        codes::extended_reason(0x10C9).unwrap().name,
        "ERRINFO_UNKNOWN_DATA_PDU_TYPE"
    );
    assert_eq!(codes::tls_alert(40).unwrap().name, "handshake_failure");
    assert_eq!(
        codes::tls_alert(70).unwrap().causes()[0],
        "tls-version-mismatch"
    );
    assert_eq!(
        codes::lsm_reason(7).unwrap().causes()[0],
        "server-denied-connection"
    );
    assert_eq!(codes::logon_type(10).unwrap().name, "RemoteInteractive");
    assert_eq!(
        codes::logon_error(-7).unwrap().name,
        "ARBITRATION_CODE_REFUSED_DIALOG"
    );
    assert_eq!(
        codes::freerdp_connect(0x0002_0006).unwrap().name,
        "ERRCONNECT_CONNECT_FAILED"
    );
    assert_eq!(
        codes::freerdp_connect(0x1E).unwrap().name,
        "ERRCONNECT_HYBRID_REQUIRED_BY_SERVER"
    );
    assert_eq!(
        codes::status(0xC000_006D).unwrap().table,
        CodeTable::Ntstatus
    );
    assert_eq!(
        codes::status(0x8009_0331).unwrap().table,
        CodeTable::Hresult
    );
    assert!(codes::errinfo(0x8).is_none());
}

#[test]
fn every_referenced_cause_exists() {
    for e in codes::all() {
        for c in e.causes() {
            assert!(
                cause(c).is_some(),
                "{} {} points to unknown cause {c}",
                e.table.key(),
                e.hex()
            );
        }
    }
}

#[test]
fn entries_are_unique_and_described() {
    let mut keys = HashSet::new();
    let mut names = HashSet::new();
    for e in codes::all() {
        assert!(
            keys.insert((e.table, e.value, e.provider.clone())),
            "duplicate {} {}",
            e.table.key(),
            e.hex()
        );
        if e.table != CodeTable::Event {
            assert!(
                names.insert((e.table, e.name.clone())),
                "duplicate name {}",
                e.name
            );
        }
        assert!(!e.name.trim().is_empty());
        assert!(
            e.description.len() > 10,
            "{} {}: description",
            e.table.key(),
            e.name
        );
        if e.table == CodeTable::Event {
            assert!(e.provider.is_some(), "event {} without provider", e.value);
        }
    }
}

// ---- Cross-checks against the shared REFERENCE.md -----------------------------------------

fn reference() -> Option<String> {
    let Some(data) = rdpdoctor_testkit::shared_data() else {
        eprintln!("SKIP: shared data not found; REFERENCE.md cross-checks not run");
        return None;
    };
    let path = data.join("../REFERENCE.md");
    match std::fs::read_to_string(&path) {
        Ok(t) => Some(t),
        Err(_) => {
            eprintln!("SKIP: {} not readable", path.display());
            None
        }
    }
}

/// The lines of one REFERENCE.md section, from a heading prefix to the next heading.
fn section<'a>(text: &'a str, heading: &str) -> Vec<&'a str> {
    let mut lines = text.lines().skip_while(|l| !l.starts_with(heading));
    let first = lines.next();
    assert!(first.is_some(), "REFERENCE.md has no section '{heading}'");
    lines.take_while(|l| !l.starts_with("#")).collect()
}

fn cells(line: &str) -> Vec<&str> {
    line.split('|').map(str::trim).collect()
}

fn parse_hex(s: &str) -> u32 {
    let s = s.split_whitespace().next().unwrap_or(s);
    u32::from_str_radix(s.trim_start_matches("0x"), 16).unwrap_or_else(|_| panic!("hex {s}"))
}

/// Our descriptions are our own words: none repeats a source sentence.
fn assert_own_words(ours: &str, theirs: &str, what: &str) {
    let theirs = theirs.trim().trim_end_matches('.');
    if theirs.len() >= 25 {
        assert!(
            !ours.to_lowercase().contains(&theirs.to_lowercase()),
            "{what}: description copies the source text"
        );
    }
}

#[test]
fn reference_errinfo_table_decodes_to_the_same_names() {
    let Some(text) = reference() else { return };
    let mut n = 0;
    for line in section(&text, "## 2. MS-RDPBCGR") {
        let c = cells(line);
        if c.len() < 5 || !c[1].starts_with("0x") {
            continue;
        }
        let v = parse_hex(c[1]);
        let e = codes::errinfo(v).unwrap_or_else(|| panic!("ERRINFO {} ({}) missing", c[1], c[2]));
        assert_eq!(e.name, c[2], "ERRINFO 0x{v:X}");
        assert_own_words(&e.description, c[4], &e.name);
        n += 1;
    }
    assert_eq!(n, 120, "REFERENCE.md §2 rows");
}

#[test]
fn reference_freerdp_disconnect_and_extended_tables_decode() {
    let Some(text) = reference() else { return };
    let mut n = 0;
    for line in section(&text, "### 2.1") {
        let c = cells(line);
        if c.len() < 4 || !c[1].starts_with("0x") {
            continue;
        }
        let e = codes::freerdp_connect(parse_hex(c[1])).expect(c[2]);
        assert_eq!(e.name, c[2]);
        assert_own_words(&e.description, c[3], &e.name);
        n += 1;
    }
    assert_eq!(n, 30);

    n = 0;
    for line in section(&text, "### 1.3") {
        let c = cells(line);
        if c.len() < 6 || !c[2].starts_with("0x") {
            continue;
        }
        let e = codes::disconnect_reason(parse_hex(c[2])).expect(c[3]);
        assert_eq!(e.name, c[3]);
        assert_own_words(&e.description, c[4], &e.name);
        assert_own_words(&e.description, c[5], &e.name);
        n += 1;
    }
    assert_eq!(n, 47);

    n = 0;
    for line in section(&text, "### 1.4") {
        let c = cells(line);
        if c.len() < 4 || !c[2].starts_with("0x") {
            continue;
        }
        let e = codes::disconnect_reason(parse_hex(c[2]))
            .unwrap_or_else(|| panic!("discReason {} missing", c[2]));
        assert_own_words(&e.description, c[3], &e.name);
        n += 1;
    }
    assert_eq!(n, 108);

    n = 0;
    for line in section(&text, "### 1.5") {
        let c = cells(line);
        if c.len() < 4 || c[1].parse::<u32>().is_err() {
            continue;
        }
        let e = codes::extended_reason(c[1].parse().unwrap()).expect(c[2]);
        assert_eq!(e.name, c[2]);
        n += 1;
    }
    assert_eq!(n, 30);
}

#[test]
fn reference_status_alert_and_negotiation_tables_decode() {
    let Some(text) = reference() else { return };
    // 4625 Status / SubStatus table.
    let mut n = 0;
    for line in section(&text, "### 5.8") {
        let c = cells(line);
        if c.len() >= 3 && c[1].starts_with("0xC") {
            let v = parse_hex(c[1]);
            assert!(codes::ntstatus(v).is_some(), "NTSTATUS {} missing", c[1]);
            n += 1;
        }
    }
    assert_eq!(n, 20);
    // TLS alerts listed in §5.6.
    let alerts = section(&text, "### 5.6")
        .into_iter()
        .find(|l| l.starts_with("TLS alert codes"))
        .expect("alert list");
    let list = alerts.split("]:").nth(1).expect("alert list body");
    for item in list.split(',') {
        let mut words = item.split_whitespace();
        let (Some(num), Some(name)) = (words.next(), words.next()) else {
            continue;
        };
        let Ok(num) = num.parse::<u8>() else { continue };
        let e = codes::tls_alert(num).unwrap_or_else(|| panic!("alert {num} missing"));
        assert_eq!(e.name, name.trim_end_matches(['(', ')']));
    }
    // RDP_NEG_FAILURE codes.
    for line in section(&text, "### 3.4") {
        let c = cells(line);
        if c.len() >= 3 && c[1].starts_with("0x") {
            assert_eq!(codes::neg_failure(parse_hex(c[1])).expect(c[2]).name, c[2]);
        }
    }
    // RDP_NEG_RSP flags.
    for line in section(&text, "### 3.3") {
        let c = cells(line);
        if c.len() >= 3 && c[2].starts_with("0x") {
            let v = parse_hex(c[2]) as u8;
            assert_eq!(codes::neg_rsp_flags(v)[0].name, c[1]);
        }
    }
}
