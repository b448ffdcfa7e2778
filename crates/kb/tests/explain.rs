//! `rdpdoctor explain`: every way an admin may type a code gets the same, useful answer.

use proptest::prelude::*;
use rdpdoctor_kb::codes::{self, CodeTable};
use rdpdoctor_kb::explain::{Explanation, pair_playbooks};
use rdpdoctor_kb::{cause, explain};

fn names(e: &Explanation) -> Vec<&str> {
    e.matches.iter().map(|m| m.name.as_str()).collect()
}

fn tables(e: &Explanation) -> Vec<CodeTable> {
    e.matches.iter().map(|m| m.table).collect()
}

fn cause_ids(e: &Explanation) -> Vec<&str> {
    e.likely_causes.iter().map(|c| c.id.as_str()).collect()
}

#[test]
fn hex_decimal_and_suffix_forms_agree() {
    for q in ["0x904", "0X904", "2308", "904h", "0x0904", " 0x904 "] {
        let e = explain(q, None);
        assert!(e.known, "{q}");
        assert_eq!(names(&e), ["disconnectReasonAtClientWinsockFDCLOSE"], "{q}");
        assert_eq!(e.number.as_ref().unwrap().value, 0x904, "{q}");
    }
}

#[test]
fn unprefixed_digits_fall_back_to_hex_as_mstsc_prints() {
    let e = explain("904", None);
    assert_eq!(names(&e), ["disconnectReasonAtClientWinsockFDCLOSE"]);
    assert!(
        e.notes.iter().any(|n| n.contains("hexadecimal")),
        "{:?}",
        e.notes
    );
}

#[test]
fn ntstatus_in_every_spelling() {
    for q in [
        "0xC000006D",
        "c000006d",
        "C000006D",
        "-1073741715",
        "3221225581",
    ] {
        let e = explain(q, None);
        assert!(
            e.matches
                .iter()
                .any(|m| m.table == CodeTable::Ntstatus && m.name == "STATUS_LOGON_FAILURE"),
            "{q}: {:?}",
            names(&e)
        );
        assert_eq!(cause_ids(&e)[0], "credentials-rejected", "{q}");
    }
    let e = explain("0xC0000234", None);
    assert_eq!(cause_ids(&e)[0], "account-locked");
}

#[test]
fn symbolic_names_with_or_without_prefix_any_case() {
    for q in [
        "ERRINFO_SERVER_DENIED_CONNECTION",
        "errinfo_server_denied_connection",
        "Errinfo-Server-Denied-Connection",
    ] {
        let e = explain(q, None);
        assert_eq!(names(&e), ["ERRINFO_SERVER_DENIED_CONNECTION"], "{q}");
        assert_eq!(cause_ids(&e), ["server-denied-connection"], "{q}");
    }
    // Without the prefix the same symbol of every table is found.
    for q in ["SERVER_DENIED_CONNECTION", "ServerDeniedConnection"] {
        let n = names(&explain(q, None)).join(",");
        assert!(n.contains("ERRINFO_SERVER_DENIED_CONNECTION"), "{q}: {n}");
        assert!(n.contains("exDiscReasonServerDeniedConnection"), "{q}: {n}");
    }
    let e = explain("HYBRID_REQUIRED_BY_SERVER", None);
    assert_eq!(e.matches[0].table, CodeTable::NegFailure);
    assert_eq!(cause_ids(&e)[0], "nla-required");
    let e = explain("STATUS_LOGON_FAILURE", None);
    assert!(tables(&e).contains(&CodeTable::Ntstatus));
    let e = explain("sec_e_algorithm_mismatch", None);
    assert_eq!(names(&e), ["SEC_E_ALGORITHM_MISMATCH"]);
    assert_eq!(cause_ids(&e)[0], "cipher-mismatch");
    assert_eq!(
        names(&explain("handshake_failure", None)),
        ["handshake_failure"]
    );
    assert_eq!(
        names(&explain("RemoteInteractive", None)),
        ["RemoteInteractive"]
    );
}

#[test]
fn every_symbol_and_every_value_can_be_explained() {
    for entry in codes::all() {
        if entry.table == CodeTable::Event {
            continue;
        }
        if entry.has_symbolic_name() {
            let e = explain(&entry.name, None);
            assert!(
                e.matches
                    .iter()
                    .any(|m| m.table == entry.table && m.value == entry.value),
                "name {} not found",
                entry.name
            );
        }
        if entry.table.matches_bare_numbers() {
            let e = explain(&format!("0x{:X}", entry.value), None);
            assert!(
                e.matches
                    .iter()
                    .any(|m| m.table == entry.table && m.value == entry.value),
                "{} {} not found by value",
                entry.table.key(),
                entry.hex()
            );
        }
    }
}

#[test]
fn events_by_id_and_by_provider() {
    let e = explain("event:1058", None);
    assert_eq!(e.matches.len(), 1);
    assert_eq!(
        e.matches[0].provider.as_deref(),
        Some("Microsoft-Windows-TerminalServices-RemoteConnectionManager")
    );
    assert_eq!(e.matches[0].channel.as_deref(), Some("System"));
    assert_eq!(cause_ids(&e)[0], "machinekeys-broken");

    for q in [
        "event:Schannel/36888",
        "Schannel/36888",
        "event:schannel:36888",
        "EVENT:Schannel 36888",
    ] {
        let e = explain(q, None);
        assert_eq!(e.matches.len(), 1, "{q}");
        assert_eq!(e.matches[0].provider.as_deref(), Some("Schannel"), "{q}");
        assert_eq!(cause_ids(&e), ["schannel-failures"], "{q}");
        assert!(e.notes.iter().any(|n| n.contains("tls:")), "{q}");
    }
    let e = explain("event:TermService/1057", None);
    assert_eq!(cause_ids(&e)[0], "machinekeys-broken");
    let e = explain("event:LsaSrv/6041", None);
    assert_eq!(cause_ids(&e), ["credssp-oracle"]);

    // Wrong provider: the providers that do log the ID are shown, with a note.
    let e = explain("event:Schannel/1058", None);
    assert!(e.known);
    assert!(e.notes.iter().any(|n| n.contains("No provider matching")));
    // Unknown event.
    let e = explain("event:65000", None);
    assert!(!e.known);
    assert!(e.summary.contains("65000"));
}

#[test]
fn ambiguous_numbers_list_every_table_in_order() {
    let e = explain("7", None);
    assert_eq!(
        tables(&e),
        [
            CodeTable::ExtendedReason,
            CodeTable::ErrorInfo,
            CodeTable::LsmReason,
            CodeTable::FreerdpConnect,
            CodeTable::LogonType
        ]
    );
    assert!(e.summary.contains("5 tables"));
    assert_eq!(cause_ids(&e)[0], "server-denied-connection");

    let e = explain("40", None);
    let t = tables(&e);
    assert!(
        t.contains(&CodeTable::TlsAlert) && t.contains(&CodeTable::Event),
        "{t:?}"
    );
    let e = explain("10", None);
    let t = tables(&e);
    for want in [
        CodeTable::ExtendedReason,
        CodeTable::ErrorInfo,
        CodeTable::LsmReason,
        CodeTable::TlsAlert,
        CodeTable::LogonType,
    ] {
        assert!(t.contains(&want), "10 should match {want:?}: {t:?}");
    }
    // Sorted in listing order.
    let mut sorted = t.clone();
    sorted.sort();
    assert_eq!(t, sorted);
}

#[test]
fn a_table_prefix_picks_one_meaning() {
    assert_eq!(tables(&explain("tls:40", None)), [CodeTable::TlsAlert]);
    assert_eq!(tables(&explain("errinfo:7", None)), [CodeTable::ErrorInfo]);
    assert_eq!(tables(&explain("lsm:7", None)), [CodeTable::LsmReason]);
    assert_eq!(
        tables(&explain("ntstatus:0xC000006D", None)),
        [CodeTable::Ntstatus]
    );
    assert_eq!(tables(&explain("ext:0x10C9", None)), [CodeTable::ErrorInfo]);
    assert_eq!(
        names(&explain("freerdp:0x00020006", None)),
        ["ERRCONNECT_CONNECT_FAILED"]
    );
    assert_eq!(
        names(&explain("protocol:0xB", None)),
        ["PROTOCOL_SSL", "PROTOCOL_HYBRID", "PROTOCOL_HYBRID_EX"]
    );
    assert_eq!(names(&explain("negrsp:0x1F", None)).len(), 5);
    assert_eq!(
        names(&explain("errinfo:SERVER_DENIED_CONNECTION", None)),
        ["ERRINFO_SERVER_DENIED_CONNECTION"]
    );
    let e = explain("tls:41", None);
    assert!(!e.known);
    assert!(e.summary.contains("no entry"));
}

const FOLK_0X904_0X7: [&str; 15] = [
    "cert-expired",
    "server-denied-connection",
    "credssp-oracle",
    "client-nla-disabled",
    "tls-version-mismatch",
    "cipher-mismatch",
    "tls-not-allowed",
    "client-security-suite",
    "name-vs-ip",
    "dns-mismatch",
    "mtu-blackhole",
    "network-loss",
    "machinekeys-broken",
    "connection-throttling",
    "client-stale-state",
];

#[test]
fn error_0x904_with_extended_0x7_gives_the_ordered_checklist() {
    for (q, x) in [
        ("0x904", Some("0x7")),
        ("2308", Some("7")),
        ("0x904 0x7", None),
    ] {
        let e = explain(q, x);
        assert!(e.known, "{q}");
        assert_eq!(cause_ids(&e), FOLK_0X904_0X7, "{q} {x:?}");
        assert_eq!(e.matches[0].name, "disconnectReasonAtClientWinsockFDCLOSE");
        let ext: Vec<&str> = e.extended_matches.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(
            ext,
            [
                "exDiscReasonServerDeniedConnection",
                "ERRINFO_SERVER_DENIED_CONNECTION"
            ]
        );
        assert!(e.summary.contains("ERRINFO_SERVER_DENIED_CONNECTION"));
        assert!(e.summary.contains("not a plain network timeout"));
        for c in &e.likely_causes {
            assert!(c.why.is_some(), "{}", c.id);
            assert!(!c.checks.is_empty(), "{}", c.id);
            for k in &c.checks {
                assert!(k.command.starts_with("rdpdoctor "), "{}", k.command);
                assert!(
                    !k.command.contains('{'),
                    "unfilled placeholder in {}",
                    k.command
                );
            }
        }
        // What rdpdoctor can test: live checks, deep, path, credentials and files.
        let all: String = e
            .likely_causes
            .iter()
            .flat_map(|c| c.checks.iter().map(|k| k.command.clone()))
            .collect::<Vec<_>>()
            .join("\n");
        for needle in [
            "rdpdoctor check HOST",
            "--deep",
            "--path",
            "--user",
            "rdpdoctor analyze System.evtx",
        ] {
            assert!(all.contains(needle), "missing {needle}");
        }
    }
}

#[test]
fn pairs_without_a_playbook_combine_both_codes() {
    let e = explain("0x904", Some("0x9"));
    assert_eq!(cause_ids(&e)[0], "logon-right-missing");
    assert!(cause_ids(&e).contains(&"dropped-after-accept"));
    assert!(e.summary.contains("0x904") && e.summary.contains("0x9"));

    // An extended code in the protocol range resolves through ERRINFO.
    let e = explain("0x904", Some("0x10C9"));
    assert_eq!(e.extended_matches[0].name, "ERRINFO_UNKNOWN_DATA_PDU_TYPE");
    assert_eq!(cause_ids(&e)[0], "server-error");

    let e = explain("0xDEAD", Some("0xBEEF"));
    assert!(!e.known);
    assert_eq!(e.number.as_ref().unwrap().value, 0xDEAD);
    assert_eq!(e.extended_number.as_ref().unwrap().value, 0xBEEF);
}

#[test]
fn playbooks_refer_to_real_causes_once_each() {
    let books = pair_playbooks();
    assert!(books.iter().any(|(d, x, _)| (*d, *x) == (0x904, 0x7)));
    for (d, x, ids) in books {
        let mut seen = std::collections::HashSet::new();
        for id in ids {
            assert!(
                cause(id).is_some(),
                "playbook 0x{d:X}/0x{x:X}: unknown cause {id}"
            );
            assert!(seen.insert(id), "playbook 0x{d:X}/0x{x:X}: {id} twice");
        }
        assert!(codes::disconnect_reason(d).is_some());
        assert!(codes::extended_reason(x).is_some());
    }
}

#[test]
fn single_codes_list_causes_with_their_tests() {
    let e = explain("0xC000015B", None);
    assert_eq!(cause_ids(&e), ["logon-right-missing"]);
    let c = &e.likely_causes[0];
    assert!(c.checks.iter().any(|k| k.command.contains("--user")));
    assert!(c.checks.iter().any(|k| k.command.contains("Security.evtx")));
    assert!(!c.fix.is_empty());

    // {code} in a cause's check is filled with the code being explained.
    let e = explain("0x10C9", None);
    let se = e
        .likely_causes
        .iter()
        .find(|c| c.id == "server-error")
        .expect("server-error");
    assert!(
        se.checks
            .iter()
            .any(|k| k.command == "rdpdoctor explain 0x10C9"),
        "{:?}",
        se.checks
    );

    let e = explain("3", None);
    assert!(
        e.matches
            .iter()
            .any(|m| m.name == "exDiscReasonServerIdleTimeout")
    );
}

#[test]
fn unknown_codes_keep_the_number_and_still_help() {
    let e = explain("0x12345678", None);
    assert!(!e.known);
    assert_eq!(e.number.as_ref().unwrap().value, 0x1234_5678);
    assert!(e.summary.contains("0x12345678"));
    assert!(e.notes.iter().any(|n| n.contains("rdpdoctor check HOST")));

    let e = explain("0x80070035", None);
    assert!(!e.known);
    assert!(
        e.notes.iter().any(|n| n.contains("net helpmsg 53")),
        "{:?}",
        e.notes
    );

    let e = explain("0xC0DE0001", None);
    assert!(e.notes.iter().any(|n| n.contains("NTSTATUS")));

    let e = explain("0x3000099", None);
    assert!(e.notes.iter().any(|n| n.contains("RD Gateway")));

    let e = explain("99999999999", None);
    assert!(!e.known);
    assert!(e.summary.contains("32 bits"));

    let e = explain("no-such-thing", None);
    assert!(!e.known);
    assert!(e.summary.contains("not a code"));

    let e = explain("", None);
    assert!(!e.known);
    assert!(!e.summary.is_empty());

    // A cause id is understood too.
    let e = explain("cert-expired", None);
    assert!(e.known);
    assert_eq!(cause_ids(&e), ["cert-expired"]);
}

#[test]
fn renders_as_text_and_json() {
    let e = explain("0x904", Some("0x7"));
    let text = e.to_text();
    assert!(text.starts_with("0x904 (extended 0x7)"));
    assert!(text.contains("Likely causes, in the order to check them:"));
    assert!(text.contains("1. The RDP certificate has expired [cert-expired]"));
    assert!(text.contains("test: rdpdoctor check HOST"));
    let json = serde_json::to_value(&e).expect("json");
    assert_eq!(json["query"], "0x904");
    assert_eq!(json["extended"], "0x7");
    assert_eq!(json["known"], true);
    assert_eq!(json["matches"][0]["table"], "disconnect-reason");
    assert_eq!(json["extended_matches"][1]["table"], "error-info");
    assert_eq!(json["likely_causes"][0]["id"], "cert-expired");
    assert_eq!(json["likely_causes"][0]["severity"], "blocker");
    assert_eq!(json["number"]["value"], 0x904);

    let ev = explain("event:Schannel/36888", None);
    assert_eq!(ev.matches[0].display, "36888");
    assert_eq!(json["matches"][0]["display"], "0x904");
    let ev = ev.to_text();
    assert!(ev.contains("Schannel event 36888 (System)"), "{ev}");
}

#[test]
fn very_long_input_is_clipped() {
    let long = "0x904".repeat(10_000);
    let e = explain(&long, Some(&"7".repeat(5000)));
    assert!(e.query.len() <= 256);
    assert!(e.notes.iter().any(|n| n.contains("longer than")));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn never_panics_on_arbitrary_text(q in any::<String>(), x in proptest::option::of(any::<String>())) {
        let e = explain(&q, x.as_deref());
        let _ = e.to_text();
        let _ = serde_json::to_string(&e).unwrap();
    }

    #[test]
    fn never_panics_on_code_like_text(
        q in r"(event:|tls:|errinfo:|ext:|negrsp:|protocol:|Schannel/|-|0x|0X)?[0-9a-fA-FxXhH_:/ -]{0,24}",
        x in proptest::option::of(r"-?(0x)?[0-9a-fA-F]{0,10}h?"),
    ) {
        let e = explain(&q, x.as_deref());
        let _ = e.to_text();
        prop_assert!(!e.summary.is_empty());
    }

    #[test]
    fn any_u32_keeps_its_value(v in any::<u32>()) {
        let e = explain(&format!("0x{v:X}"), None);
        prop_assert_eq!(e.number.as_ref().map(|n| n.value), Some(v));
        let d = explain(&v.to_string(), None);
        prop_assert!(d.number.is_some());
    }
}
