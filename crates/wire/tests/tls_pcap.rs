//! TLS server flights from the real captures in ../shared/data/pcap.

mod support;

use rdpdoctor_wire::tls::{
    ClientHello, Progress, ProtocolVersion, ServerFlight, ServerFlightReader, suite,
};
use rdpdoctor_wire::x224::decode_confirm;
use x509_parser::prelude::*;

/// Feed the server's bytes after the Connection Confirm in `chunk`-sized pieces.
fn read_flight(server_to_client: &[u8], chunk: usize) -> ServerFlight {
    let cc = decode_confirm(server_to_client).unwrap();
    let tls = &server_to_client[cc.frame_len..];
    let mut r = ServerFlightReader::new();
    let mut done = false;
    for c in tls.chunks(chunk) {
        if r.push(c).unwrap() == Progress::Done {
            done = true;
            break;
        }
    }
    assert!(done, "flight incomplete");
    r.into_flight()
}

fn common_name(der: &[u8]) -> String {
    let (_, cert) = X509Certificate::from_der(der).unwrap();
    cert.subject()
        .iter_common_name()
        .next()
        .unwrap()
        .as_str()
        .unwrap()
        .to_owned()
}

#[test]
fn tls10_flight_from_windows_2008_r2() {
    let Some(cap) = support::load("rdp-to-ssl.pcap") else {
        return;
    };
    for chunk in [1, 3, 100, 1460, usize::MAX] {
        let f = read_flight(&cap.tcp[0].server_to_client, chunk);
        assert_eq!(f.negotiated_version(), Some(ProtocolVersion::TLS10));
        assert_eq!(f.cipher_suite(), Some(0x002f));
        assert_eq!(suite(0x002f).unwrap().name, "TLS_RSA_WITH_AES_128_CBC_SHA");
        assert!(f.server_hello_done);
        assert_eq!(f.key_exchange, None, "static RSA: no ServerKeyExchange");
        assert_eq!(f.certificates.len(), 1);
        assert_eq!(
            common_name(f.leaf_certificate().unwrap()),
            "WIN2K8R2.awakecoding.ath.cx"
        );
        assert!(f.alerts.is_empty());
    }
}

#[test]
fn tls12_flight_from_a_modern_server() {
    let Some(cap) = support::load("rdp-no-cookie-mstshash.pcap") else {
        return;
    };
    for chunk in [1, 7, 872, usize::MAX] {
        let f = read_flight(&cap.tcp[0].server_to_client, chunk);
        assert_eq!(f.negotiated_version(), Some(ProtocolVersion::TLS12));
        assert_eq!(f.cipher_suite(), Some(0x009d));
        assert_eq!(
            suite(0x009d).unwrap().name,
            "TLS_RSA_WITH_AES_256_GCM_SHA384"
        );
        assert!(f.server_hello_done);
        assert_eq!(
            common_name(f.leaf_certificate().unwrap()),
            "CLK-456040-D.one.phoenix.gov"
        );
        let sh = f.server_hello.as_ref().unwrap();
        assert!(sh.extended_master_secret && sh.secure_renegotiation);
    }
}

#[test]
fn captured_client_hellos_offer_what_we_can_rebuild() {
    // The Windows 7 client's ClientHello in rdp-to-ssl.pcap: rebuild a hello with the same
    // version and suites and check tls-parser reads both the same way.
    let Some(cap) = support::load("rdp-to-ssl.pcap") else {
        return;
    };
    let c2s = &cap.tcp[0].client_to_server;
    let cr_len = usize::from(u16::from_be_bytes([c2s[2], c2s[3]]));
    let (_, rec) = tls_parser::parse_tls_plaintext(&c2s[cr_len..]).unwrap();
    let tls_parser::TlsMessage::Handshake(tls_parser::TlsMessageHandshake::ClientHello(ch)) =
        &rec.msg[0]
    else {
        panic!("not a ClientHello");
    };
    let suites: Vec<u16> = ch.ciphers.iter().map(|c| c.0).collect();
    assert_eq!(suites.len(), 12);
    let ours = ClientHello::legacy(ProtocolVersion(ch.version.0), suites.clone(), [0; 32])
        .encode()
        .unwrap();
    let (_, rec) = tls_parser::parse_tls_plaintext(&ours).unwrap();
    let tls_parser::TlsMessage::Handshake(tls_parser::TlsMessageHandshake::ClientHello(ours)) =
        &rec.msg[0]
    else {
        panic!("not a ClientHello");
    };
    assert_eq!(ours.version, ch.version);
    assert_eq!(ours.ciphers.iter().map(|c| c.0).collect::<Vec<_>>(), suites);
}
