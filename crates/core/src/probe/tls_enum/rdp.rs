//! The transport over RDP: each probe is a fresh TCP connection, a proper X.224 negotiation
//! with the request the server accepted, one hand-built ClientHello and the server's plaintext
//! answer ([`crate::probe::hello::hello_over_rdp`]).

use std::net::SocketAddr;
use std::time::Duration;

use sha2::{Digest, Sha256};

use super::engine::Transport;
use super::plan::{Answer, Hello, Probe};
use crate::evidence::ErrorKind;
use crate::probe::hello::{HelloResult, hello_over_rdp};
use crate::probe::negotiate::NegotiateOptions;
use rdpdoctor_wire::tls::{
    ClientHello, KeyShare, ProtocolVersion, ServerKeyExchange, extension, groups,
};

/// Probes one RDP server.
pub struct RdpTransport<'a> {
    pub addr: SocketAddr,
    /// requestedProtocols of the X.224 request (one the server answered with a TLS protocol).
    pub requested: u32,
    pub negotiate: &'a NegotiateOptions,
    /// Deadline for the server's answer to each ClientHello.
    pub deadline: Duration,
    /// SNI host name (never an IP literal).
    pub server_name: Option<String>,
}

impl Transport for RdpTransport<'_> {
    async fn send(&self, probe: Probe) -> Answer {
        let hello = client_hello(&probe, self.server_name.as_deref());
        if hello.is_empty() {
            return Answer::Failed {
                reason: "a ClientHello could not be encoded".into(),
            };
        }
        let r = hello_over_rdp(
            self.addr,
            self.requested,
            &hello,
            self.negotiate,
            self.deadline,
        )
        .await;
        classify(r)
    }
}

/// The ClientHello for a probe. TLS 1.3 hellos carry an x25519 key share when x25519 is
/// offered and an empty key_share list otherwise, so a server that wants another group answers
/// with a HelloRetryRequest naming it (RFC 8446 4.2.8 allows the empty list for exactly this).
/// Hellos of 256 to 511 bytes are padded to 512 (RFC 7685: some stacks hang on that size).
pub fn client_hello(probe: &Probe, server_name: Option<&str>) -> Vec<u8> {
    let random: [u8; 32] = rand::random();
    let mut hello = if probe.version == ProtocolVersion::TLS13 {
        let mut h = ClientHello::tls13(probe.suites.clone(), random, rand::random(), [0; 32]);
        h.supported_groups = probe.groups.clone();
        h.key_shares = Vec::new();
        if probe.groups.contains(&groups::X25519) {
            h.key_shares.push(KeyShare {
                group: groups::X25519,
                key_exchange: rand::random::<[u8; 32]>().to_vec(),
            });
        } else {
            h.extra_extensions.push((extension::KEY_SHARE, vec![0, 0]));
        }
        h
    } else {
        let mut h = ClientHello::legacy(probe.version, probe.suites.clone(), random);
        if probe.version > ProtocolVersion::SSL3 {
            h.supported_groups = probe.groups.clone();
        }
        h
    };
    if let Some(name) = server_name
        && probe.version > ProtocolVersion::SSL3
    {
        hello = hello.with_server_name(name);
    }
    let Ok(bytes) = hello.encode() else {
        return Vec::new();
    };
    if (256..512).contains(&bytes.len()) {
        return hello.with_padded_len(512).encode().unwrap_or(bytes);
    }
    bytes
}

/// What the server's reaction means for the planner.
pub fn classify(r: HelloResult) -> Answer {
    if let Some(sh) = &r.flight.server_hello {
        let group = if sh.version >= ProtocolVersion::TLS13 {
            sh.selected_group
        } else {
            match r.flight.key_exchange {
                Some(ServerKeyExchange::Ecdhe { group }) => Some(group),
                _ => None,
            }
        };
        return Answer::Hello(Hello {
            version: sh.version,
            suite: sh.cipher_suite,
            group,
            certificate: r
                .flight
                .leaf_certificate()
                .map(|der| hex::encode(Sha256::digest(der))),
        });
    }
    if let Some(alert) = r.flight.alert() {
        return Answer::Refused {
            alert: Some(alert.description),
        };
    }
    match r.failure {
        // Closed or reset after the ClientHello without a TLS byte: how Schannel refuses a
        // disabled protocol. Before the hello it is the server shedding connections.
        Some(e)
            if r.hello_sent
                && matches!(e.kind, ErrorKind::Closed | ErrorKind::Reset)
                && r.flight.bytes == 0 =>
        {
            Answer::Refused { alert: None }
        }
        Some(e) => Answer::Failed { reason: e.message },
        None => Answer::Failed {
            reason: "the server's flight ended without a ServerHello or an alert".into(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tls_parser::{
        TlsExtension, TlsMessage, TlsMessageHandshake, parse_tls_client_hello_extensions,
        parse_tls_plaintext,
    };

    fn parsed(bytes: &[u8]) -> (u16, Vec<u16>, Vec<u8>) {
        let (_, rec) = parse_tls_plaintext(bytes).expect("a record");
        let TlsMessage::Handshake(TlsMessageHandshake::ClientHello(ch)) = &rec.msg[0] else {
            panic!("not a ClientHello")
        };
        (
            ch.version.0,
            ch.ciphers.iter().map(|c| c.0).collect(),
            ch.ext.map(<[u8]>::to_vec).unwrap_or_default(),
        )
    }

    #[test]
    fn tls13_probe_without_x25519_sends_an_empty_key_share() {
        let p = Probe {
            version: ProtocolVersion::TLS13,
            suites: vec![0x1301, 0x1302],
            groups: vec![groups::SECP256R1, groups::FFDHE2048],
        };
        let b = client_hello(&p, Some("rds.contoso.com"));
        assert!(!(256..512).contains(&b.len()), "never 256 to 511 bytes");
        let (v, suites, ext) = parsed(&b);
        assert_eq!((v, suites), (0x0303, vec![0x1301, 0x1302]));
        let (_, exts) = parse_tls_client_hello_extensions(&ext).unwrap();
        assert!(
            exts.iter()
                .any(|e| matches!(e, TlsExtension::KeyShare(k) if k == &[0, 0]))
        );
        assert!(exts.iter().any(
            |e| matches!(e, TlsExtension::EllipticCurves(g) if g.iter().map(|x| x.0).collect::<Vec<_>>() == [23, 256])
        ));
        let p = Probe {
            groups: vec![groups::X25519],
            ..p
        };
        let (_, _, ext) = parsed(&client_hello(&p, None));
        let (_, exts) = parse_tls_client_hello_extensions(&ext).unwrap();
        assert!(
            exts.iter()
                .any(|e| matches!(e, TlsExtension::KeyShare(k) if k.len() == 2 + 4 + 32))
        );
    }

    #[test]
    fn legacy_probes_offer_exactly_the_suites_and_version() {
        let p = Probe {
            version: ProtocolVersion::TLS10,
            suites: vec![0x002f, 0x000a, 0x0005],
            groups: vec![groups::SECP256R1],
        };
        let (v, suites, _) = parsed(&client_hello(&p, None));
        assert_eq!((v, suites), (0x0301, vec![0x002f, 0x000a, 0x0005]));
        let p = Probe {
            version: ProtocolVersion::SSL3,
            suites: vec![0x0005],
            groups: vec![],
        };
        let b = client_hello(&p, Some("x"));
        assert_eq!(b.len(), 50, "SSL 3.0: no extensions, no SNI");
    }
}
