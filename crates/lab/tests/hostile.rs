//! Each hostile server does the one bad thing it promises, seen by a test client.

mod common;

use std::io::{ErrorKind, Read as _, Write as _};

use rdpdoctor_lab::{Hostile, Scenario};
use rustls::{AlertDescription, CertificateError};

fn lab(h: Hostile) -> (rdpdoctor_lab::Lab, std::net::SocketAddr) {
    let lab = common::lab(&[Scenario::Hostile(h)]);
    let addr = common::addr(&lab, &Scenario::Hostile(h));
    (lab, addr)
}

/// Sends the Connection Request and reads everything until the server closes.
fn raw(addr: std::net::SocketAddr) -> Vec<u8> {
    let mut s = common::connect(addr);
    s.write_all(&common::connection_request(0xb)).unwrap();
    let (got, end) = common::read_to_end(&mut s);
    end.unwrap();
    got
}

#[test]
fn truncated_tpkt_announces_more_than_it_sends() {
    let (_lab, addr) = lab(Hostile::TruncatedTpkt);
    let got = raw(addr);
    assert_eq!(got.len(), 11);
    assert_eq!(&got[..4], &[0x03, 0x00, 0x00, 0x13]);
}

#[test]
fn oversized_tpkt_is_65535_bytes_of_garbage() {
    let (_lab, addr) = lab(Hostile::OversizedTpkt);
    let got = raw(addr);
    assert_eq!(&got[..4], &[0x03, 0x00, 0xff, 0xff]);
    assert_eq!(got.len(), 0xffff);
}

#[test]
fn wrong_x224_code_sends_a_data_tpdu_instead_of_a_confirm() {
    let (_lab, addr) = lab(Hostile::WrongX224Code);
    let got = raw(addr);
    assert_eq!(got.len(), 19);
    assert_eq!(got[5], 0xf0);
}

#[test]
fn garbage_after_cc_breaks_the_tls_handshake_not_the_negotiation() {
    let (_lab, addr) = lab(Hostile::GarbageAfterCc);
    let (reply, stream) = common::x224(addr, 0xb);
    assert_eq!(
        common::hex(&reply),
        "030000130ed00000123400021f080008000000"
    );
    let (config, _) = common::capturing_config();
    let err = common::tls_handshake(stream, config, "localhost").unwrap_err();
    eprintln!("rustls: {err:?}");
    assert!(matches!(err, rustls::Error::InvalidMessage(_)), "{err:?}");
}

#[test]
fn tls_alert_sends_a_fatal_handshake_failure() {
    let (_lab, addr) = lab(Hostile::TlsAlert);
    let (_, stream) = common::x224(addr, 3);
    let (config, _) = common::capturing_config();
    let err = common::tls_handshake(stream, config, "localhost").unwrap_err();
    assert_eq!(
        err,
        rustls::Error::AlertReceived(AlertDescription::HandshakeFailure)
    );
}

#[test]
fn huge_cert_chain_announces_megabytes_and_streams_them() {
    let (_lab, addr) = lab(Hostile::HugeCertChain);
    // A TLS client stops early.
    let (_, stream) = common::x224(addr, 3);
    let (config, _) = common::capturing_config();
    let err = common::tls_handshake(stream, config, "localhost").unwrap_err();
    eprintln!("rustls: {err:?}");
    assert!(
        matches!(
            err,
            rustls::Error::InvalidMessage(_) | rustls::Error::PeerMisbehaved(_)
        ),
        "{err:?}"
    );

    // A raw reader sees a Certificate message of several MiB, sent record by record.
    let (_, mut s) = common::x224(addr, 3);
    s.write_all(&client_hello()).unwrap();
    let mut header = [0u8; 5];
    s.read_exact(&mut header).unwrap();
    let mut server_hello = vec![0u8; usize::from(u16::from_be_bytes([header[3], header[4]]))];
    s.read_exact(&mut server_hello).unwrap();
    assert_eq!(server_hello[0], 2, "ServerHello");
    s.read_exact(&mut header).unwrap();
    assert_eq!(header[0], 0x16);
    let mut first = [0u8; 4];
    s.read_exact(&mut first).unwrap();
    assert_eq!(first[0], 11, "Certificate");
    let announced = u32::from_be_bytes([0, first[1], first[2], first[3]]) as usize;
    assert!(announced > 4 << 20, "{announced}");
    let mut total = 9;
    let mut buf = vec![0u8; 64 * 1024];
    while total < announced {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => total += n,
        }
    }
    assert!(total > 4 << 20, "streamed {total} bytes");
}

fn client_hello() -> Vec<u8> {
    let (config, _) = common::capturing_config();
    let mut conn = rustls::ClientConnection::new(
        config,
        rustls::pki_types::ServerName::try_from("localhost").unwrap(),
    )
    .unwrap();
    let mut out = Vec::new();
    conn.write_tls(&mut out).unwrap();
    out
}

#[test]
fn malformed_cert_carries_der_that_does_not_parse() {
    let (lab, addr) = lab(Hostile::MalformedCert);
    let (_, stream) = common::x224(addr, 3);
    let config = common::validating_config(&[lab.ca_certificate_der()]);
    let err = common::tls_handshake(stream, config, "localhost").unwrap_err();
    assert_eq!(
        err,
        rustls::Error::InvalidCertificate(CertificateError::BadEncoding)
    );

    let (_, stream) = common::x224(addr, 3);
    let (config, capture) = common::capturing_config();
    let _ = common::tls_handshake(stream, config, "localhost");
    let chain = capture.0.lock().unwrap();
    assert_eq!(chain.len(), 1);
    assert!(x509_parser::parse_x509_certificate(&chain[0]).is_err());
}

/// X.224, TLS, a TSRequest with NTLM NEGOTIATE; the server's raw answer.
fn credssp_answer(addr: std::net::SocketAddr) -> Vec<u8> {
    let (_, stream) = common::x224(addr, 0xb);
    let (config, _) = common::capturing_config();
    let mut tls = common::tls_handshake(stream, config, "localhost").unwrap();
    tls.write_all(&common::ts_request_negotiate(6)).unwrap();
    tls.flush().unwrap();
    common::read_der(&mut tls, 1 << 20).unwrap()
}

#[test]
fn ntlm_bad_offsets_points_outside_the_challenge() {
    let (_lab, addr) = lab(Hostile::NtlmBadOffsets);
    let answer = credssp_answer(addr);
    let at = answer.windows(8).position(|w| w == b"NTLMSSP\0").unwrap();
    let msg = &answer[at..];
    let offset = |at: usize| u32::from_le_bytes(msg[at + 4..at + 8].try_into().unwrap()) as usize;
    let len = |at: usize| usize::from(u16::from_le_bytes([msg[at], msg[at + 1]]));
    for fields in [12, 40] {
        assert!(
            offset(fields) + len(fields) > msg.len(),
            "field at {fields} is out of bounds"
        );
    }
    assert!(offset(12) > 0xffff_0000);
}

#[test]
fn tsrequest_deep_nests_ten_thousand_levels() {
    let (_lab, addr) = lab(Hostile::TsrequestDeep);
    let answer = credssp_answer(addr);
    assert!(
        answer.len() < 64 * 1024,
        "small enough that a parser reads it"
    );
    // Walk the nesting iteratively.
    let mut depth = 0;
    let mut at = 0;
    while at + 1 < answer.len() {
        let tag = answer[at];
        let first = answer[at + 1];
        let header = if first < 0x80 {
            2
        } else {
            2 + usize::from(first & 0x7f)
        };
        if tag == 0x30 {
            depth += 1;
        }
        if tag == 0xa0 && depth == 1 {
            // version [0]: skip its content.
            at += header + usize::from(first);
            continue;
        }
        at += header;
    }
    assert!(
        depth > rdpdoctor_lab::hostile::TSREQUEST_DEPTH,
        "depth {depth}"
    );
}

#[test]
fn reset_mid_tls_cuts_the_server_flight() {
    let (_lab, addr) = lab(Hostile::ResetMidTls);
    let (_, mut s) = common::x224(addr, 3);
    s.write_all(&client_hello()).unwrap();
    let (got, end) = common::read_to_end(&mut s);
    assert!(!got.is_empty() && got[0] == 0x16, "part of a TLS flight");
    assert_eq!(end.unwrap_err().kind(), ErrorKind::ConnectionReset);

    let (_, stream) = common::x224(addr, 3);
    let err = common::tls_handshake_io(stream, common::capturing_config().0).unwrap_err();
    assert!(
        matches!(
            err.kind(),
            ErrorKind::ConnectionReset | ErrorKind::UnexpectedEof
        ),
        "{err:?}"
    );
}

#[test]
fn every_hostile_server_says_where_the_probe_should_stop() {
    for h in Hostile::ALL {
        let e = h.expected();
        assert!(["negotiation", "tls", "credssp"].contains(&e.stage), "{h}");
        assert!(!e.note.is_empty());
        assert_eq!(Scenario::Hostile(h).expected_failure(), Some(e));
    }
}
