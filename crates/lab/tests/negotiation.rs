//! Every scenario's answer to the X.224 Connection Request, checked byte for byte with a raw
//! client that sends the 19-byte request mstsc and sslscan send.

mod common;

use std::io::Write as _;

use rdpdoctor_lab::Scenario;

fn rsp(protocol: u32) -> String {
    format!(
        "030000130ed00000123400021f0800{}",
        common::hex(&protocol.to_le_bytes())
    )
}

fn fail(code: u32) -> String {
    format!(
        "030000130ed0000012340003000800{}",
        common::hex(&code.to_le_bytes())
    )
}

/// xrdp 0.9: same source reference as Windows, flags 0x01 (LAB.md §1).
fn xrdp_rsp(protocol: u32) -> String {
    format!(
        "030000130ed0000012340002010800{}",
        common::hex(&protocol.to_le_bytes())
    )
}

/// FreeRDP's servers: source reference 0, flags 0x03 (LAB.md §2).
fn freerdp(ty: u8, flags: u8, value: u32) -> String {
    format!(
        "030000130ed00000000000{ty:02x}{flags:02x}0800{}",
        common::hex(&value.to_le_bytes())
    )
}

/// requestedProtocols 0 (RDP), 1 (SSL), 3 (SSL|HYBRID), 0xb (SSL|HYBRID|HYBRID_EX).
const REQUESTS: [u32; 4] = [0, 1, 3, 0xb];

fn expected(scenario: &Scenario) -> [String; 4] {
    match scenario {
        Scenario::NlaRequired => [fail(5), fail(5), rsp(2), rsp(8)],
        Scenario::TlsOnly => [fail(1), rsp(1), rsp(1), rsp(1)],
        Scenario::RdpOnly => [rsp(0), fail(2), fail(2), fail(2)],
        Scenario::CertNotOnServer => [fail(3), fail(3), fail(3), fail(3)],
        Scenario::Xrdp => [xrdp_rsp(0), xrdp_rsp(1), xrdp_rsp(1), xrdp_rsp(1)],
        Scenario::FreeRdpNla => [
            freerdp(3, 0, 5),
            freerdp(3, 0, 5),
            freerdp(2, 3, 2),
            freerdp(2, 3, 2),
        ],
        _ => [rsp(0), rsp(1), rsp(2), rsp(8)],
    }
}

#[test]
fn every_scenario_answers_like_the_server_it_imitates() {
    let scenarios: Vec<Scenario> = Scenario::catalog()
        .into_iter()
        .filter(|s| {
            !matches!(
                s,
                Scenario::Silent | Scenario::Slow { .. } | Scenario::Reset | Scenario::Http
            )
        })
        .collect();
    let lab = common::lab(&scenarios);
    for scenario in &scenarios {
        for (requested, want) in REQUESTS.iter().zip(expected(scenario)) {
            let (reply, mut stream) = common::x224(common::addr(&lab, scenario), *requested);
            assert_eq!(
                common::hex(&reply),
                want,
                "{scenario} answering requestedProtocols={requested:#x}"
            );
            if want[22..24] == *"03" {
                // After RDP_NEG_FAILURE the server sends nothing more; a client that starts
                // TLS anyway (sslscan) gets its bytes read and the connection closed.
                stream.write_all(&[0x16, 0x03, 0x01, 0x00, 0x00]).unwrap();
                let (rest, end) = common::read_to_end(&mut stream);
                assert!(rest.is_empty(), "{scenario}: {rest:?}");
                assert!(end.is_ok(), "{scenario}: {end:?}");
            }
        }
    }
}

#[test]
fn the_bytes_match_the_windows_captures() {
    // rdp-no-cookie-mstshash.pcap frame 9 (req 0xb) and rdp-proprietary-encryption.pcap frame 5.
    assert_eq!(rsp(8), "030000130ed00000123400021f080008000000");
    assert_eq!(fail(2), "030000130ed000001234000300080002000000");
    let lab = common::lab(&[Scenario::Healthy, Scenario::RdpOnly]);
    let (reply, _) = common::x224(common::addr(&lab, &Scenario::Healthy), 0xb);
    assert_eq!(
        common::hex(&reply),
        "030000130ed00000123400021f080008000000"
    );
    let (reply, _) = common::x224(common::addr(&lab, &Scenario::RdpOnly), 1);
    assert_eq!(
        common::hex(&reply),
        "030000130ed000001234000300080002000000"
    );
}

#[test]
fn xrdp_and_freerdp_answers_are_the_lab_md_bytes() {
    let lab = common::lab(&[Scenario::Xrdp, Scenario::FreeRdpNla]);
    let (reply, _) = common::x224(common::addr(&lab, &Scenario::Xrdp), 1);
    assert_eq!(
        common::hex(&reply),
        "030000130ed000001234000201080001000000"
    );
    let (reply, _) = common::x224(common::addr(&lab, &Scenario::FreeRdpNla), 3);
    assert_eq!(
        common::hex(&reply),
        "030000130ed000000000000203080002000000"
    );
}

#[test]
fn a_request_without_rdp_neg_req_gets_a_confirm_without_negotiation_data() {
    let lab = common::lab(&[Scenario::Healthy]);
    let mut s = common::connect(common::addr(&lab, &Scenario::Healthy));
    s.write_all(&[0x03, 0x00, 0x00, 0x0b, 0x06, 0xe0, 0, 0, 0, 0, 0])
        .unwrap();
    let reply = common::read_tpkt(&mut s).unwrap();
    assert_eq!(common::hex(&reply), "0300000b06d00000123400");
}

#[test]
fn standard_rdp_security_is_refused_with_an_mcs_disconnect() {
    // The lab selects PROTOCOL_RDP like Windows but does not implement standard RDP security:
    // the next PDU gets a Disconnect Provider Ultimatum and a close.
    let lab = common::lab(&[Scenario::Healthy]);
    let (reply, mut s) = common::x224(common::addr(&lab, &Scenario::Healthy), 0);
    assert_eq!(common::hex(&reply), rsp(0));
    s.write_all(&[0x03, 0x00, 0x00, 0x08, 0x02, 0xf0, 0x80, 0x7f])
        .unwrap();
    let (rest, _) = common::read_to_end(&mut s);
    assert_eq!(common::hex(&rest), "0300000902f0802180");
}
