//! X.224 negotiation against the real captures in ../shared/data/pcap.

mod support;

use rdpdoctor_wire::x224::{
    ConnectionRequest, NegotiationAnswer, ServerFamily, decode_confirm, failure_code,
};

#[test]
fn hybrid_ex_confirm_from_a_modern_server() {
    let Some(cap) = support::load("rdp-no-cookie-mstshash.pcap") else {
        return;
    };
    let conn = &cap.tcp[0];
    // The capture duplicates every packet; the reassembly must not.
    assert_eq!(
        &conn.client_to_server[..19],
        ConnectionRequest::new(0xb).encode().unwrap().as_slice()
    );
    let cc = decode_confirm(&conn.server_to_client).unwrap();
    assert_eq!(cc.frame_len, 19);
    assert_eq!(cc.src_ref, 0x1234);
    assert_eq!(
        cc.negotiation,
        NegotiationAnswer::Response {
            flags: 0x1f,
            selected: 0x8
        }
    );
    // The TLS ServerHello follows the CC in the same stream.
    assert_eq!(conn.server_to_client[19], 0x16);
}

#[test]
fn ssl_not_allowed_then_standard_security() {
    let Some(cap) = support::load("rdp-proprietary-encryption.pcap") else {
        return;
    };
    let answers: Vec<_> = cap
        .tcp
        .iter()
        .filter(|c| !c.server_to_client.is_empty())
        .map(|c| decode_confirm(&c.server_to_client).unwrap().negotiation)
        .collect();
    assert_eq!(
        answers[0],
        NegotiationAnswer::Failure {
            flags: 0,
            code: failure_code::SSL_NOT_ALLOWED_BY_SERVER
        }
    );
    assert_eq!(
        answers[1],
        NegotiationAnswer::Response {
            flags: 0,
            selected: 0
        }
    );
    // The client's requests: SSL only, then standard RDP security, both with the cookie.
    let first = ConnectionRequest::new(1)
        .with_cookie("FTBCO\\A70")
        .encode()
        .unwrap();
    assert_eq!(
        &cap.tcp[0].client_to_server[..first.len()],
        first.as_slice()
    );
    // Windows answers source reference 0x1234 too: it is not an xrdp fingerprint on its own.
    for c in &cap.tcp {
        assert_eq!(decode_confirm(&c.server_to_client).unwrap().src_ref, 0x1234);
    }
}

#[test]
fn nla_request_and_confirm_from_windows_2008_r2() {
    let Some(cap) = support::load("rdp-to-ssl.pcap") else {
        return;
    };
    assert_eq!(cap.tcp.len(), 2);
    for conn in &cap.tcp {
        let req = ConnectionRequest::new(3)
            .with_cookie("AWAKECODI")
            .encode()
            .unwrap();
        assert_eq!(&conn.client_to_server[..req.len()], req.as_slice());
        let cc = decode_confirm(&conn.server_to_client).unwrap();
        assert_eq!(cc.src_ref, 0x1234);
        assert_eq!(
            cc.negotiation,
            NegotiationAnswer::Response {
                flags: 0x01,
                selected: 0x2
            }
        );
    }
}

#[test]
fn standard_security_with_x509() {
    let Some(cap) = support::load("rdp-x509.pcap") else {
        return;
    };
    let conn = &cap.tcp[0];
    let req = ConnectionRequest::new(0)
        .with_cookie("JOHN-PC  ")
        .encode()
        .unwrap();
    assert_eq!(&conn.client_to_server[..req.len()], req.as_slice());
    let cc = decode_confirm(&conn.server_to_client).unwrap();
    assert_eq!(cc.server_family(), ServerFamily::WindowsOrXrdp);
    assert!(matches!(
        cc.negotiation,
        NegotiationAnswer::Response { selected: 0, .. } | NegotiationAnswer::None
    ));
}
