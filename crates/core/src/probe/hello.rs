//! One hand-built ClientHello over a fresh RDP connection, and the server's plaintext answer.
//!
//! Current TLS stacks cannot talk to TLS 1.0-only or CBC/RSA-only servers (Windows 2008 R2 and
//! 2012 with default Schannel settings), yet their certificate and parameters are exactly what
//! an admin needs to see. This module opens a connection, repeats the X.224 negotiation (the
//! server only speaks TLS after it), sends any ClientHello and reads the ServerHello,
//! Certificate and ServerHelloDone (or the alert) with `rdpdoctor_wire::tls`. It never completes
//! the handshake. The deep TLS enumeration is built on the same primitive.

use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::negotiate::{self, NegotiateOptions};
use crate::evidence::{ErrorKind, NegotiationAnswer, Seen, StageError, StageName};
use rdpdoctor_wire::tls::{
    ClientHello, FlightLimits, Progress, ProtocolVersion, ServerFlight, ServerFlightReader,
};

/// What came back for one ClientHello.
#[derive(Debug)]
pub struct HelloResult {
    /// What the server sent, as far as it got (complete when `failure` is `None`).
    pub flight: ServerFlight,
    /// Why the exchange stopped short of a complete server flight.
    pub failure: Option<StageError>,
    /// The first bytes the server sent after the ClientHello (for reports).
    pub head: Vec<u8>,
    /// Whether the ClientHello was sent: a failure before it (connect, negotiation) is the
    /// server shedding connections, one after it is the server's reaction to the hello.
    pub hello_sent: bool,
}

impl HelloResult {
    fn failed(error: StageError) -> HelloResult {
        HelloResult {
            flight: ServerFlight::default(),
            failure: Some(error),
            head: Vec::new(),
            hello_sent: false,
        }
    }

    /// The negotiated version's report name, when a ServerHello arrived.
    pub fn version_name(&self) -> Option<String> {
        self.flight.negotiated_version().map(|v| {
            v.name()
                .map(str::to_string)
                .unwrap_or_else(|| format!("0x{:04X}", v.0))
        })
    }
}

/// Connect to `addr`, negotiate `requested` protocols, send `hello` and read the server flight,
/// everything within `deadline` per step.
pub async fn hello_over_rdp(
    addr: SocketAddr,
    requested: u32,
    hello: &[u8],
    options: &NegotiateOptions,
    deadline: Duration,
) -> HelloResult {
    let started = Instant::now();
    let fail = |kind, msg: String| StageError::new(StageName::Tls, kind, started.elapsed(), msg);
    let gate = options.connect_gate.as_deref();
    let (attempt, stream) = super::tcp::connect_one(addr, options.connect_deadline, gate).await;
    let Some(mut stream) = stream else {
        let kind = attempt.error.unwrap_or(ErrorKind::Io);
        return HelloResult::failed(fail(
            kind,
            format!("reconnecting: {}", attempt.message.unwrap_or_default()),
        ));
    };
    let mut leftover = Vec::new();
    let probe = negotiate::exchange(&mut stream, requested, options, &mut leftover).await;
    match probe.answer {
        NegotiationAnswer::Selected { protocol, .. } if protocol.uses_tls() => {}
        NegotiationAnswer::NoAnswer { error } => {
            return HelloResult::failed(fail(
                error.kind,
                format!("renegotiating: {}", error.message),
            ));
        }
        other => {
            return HelloResult::failed(fail(
                ErrorKind::Unsupported,
                format!("the server did not select TLS this time ({other:?})"),
            ));
        }
    }
    if let Err(e) = tokio::time::timeout(deadline, stream.write_all(hello))
        .await
        .unwrap_or_else(|_| Err(std::io::ErrorKind::TimedOut.into()))
    {
        return HelloResult::failed(fail(
            super::io::classify(&e),
            format!("sending the ClientHello: {}", super::io::describe(&e)),
        ));
    }
    let mut reader = ServerFlightReader::with_limits(FlightLimits::default());
    let mut head = Vec::new();
    let mut chunk = vec![0u8; 16 * 1024];
    if !leftover.is_empty() {
        head.extend_from_slice(&leftover[..leftover.len().min(Seen::MAX_KEPT)]);
        if let Err(e) = reader.push(&leftover) {
            let err = fail(
                ErrorKind::Protocol,
                format!("the server's reply is not TLS: {e}"),
            )
            .with_seen(Seen::from_bytes(&head));
            return HelloResult {
                flight: reader.into_flight(),
                failure: Some(err),
                head,
                hello_sent: true,
            };
        }
    }
    let until = Instant::now() + deadline;
    loop {
        if reader.is_done() {
            return HelloResult {
                flight: reader.into_flight(),
                failure: None,
                head,
                hello_sent: true,
            };
        }
        let remaining = until.saturating_duration_since(Instant::now());
        let n = match tokio::time::timeout(remaining, stream.read(&mut chunk)).await {
            Err(_) => {
                let got = reader.flight().bytes;
                let err = fail(
                    ErrorKind::Timeout,
                    format!(
                        "no complete server flight within {} ms ({got} bytes of TLS arrived)",
                        deadline.as_millis()
                    ),
                );
                return HelloResult {
                    flight: reader.into_flight(),
                    failure: Some(seen(err, &head)),
                    head,
                    hello_sent: true,
                };
            }
            Ok(Ok(0)) => {
                let err = if reader.flight().alert().is_some() {
                    None
                } else {
                    Some(seen(
                        fail(
                            ErrorKind::Closed,
                            "the server closed the connection after the ClientHello".into(),
                        ),
                        &head,
                    ))
                };
                return HelloResult {
                    flight: reader.into_flight(),
                    failure: err,
                    head,
                    hello_sent: true,
                };
            }
            Ok(Ok(n)) => n,
            Ok(Err(e)) => {
                let err = fail(
                    super::io::classify(&e),
                    format!("after the ClientHello: {}", super::io::describe(&e)),
                );
                return HelloResult {
                    flight: reader.into_flight(),
                    failure: Some(seen(err, &head)),
                    head,
                    hello_sent: true,
                };
            }
        };
        if head.len() < Seen::MAX_KEPT {
            let take = n.min(Seen::MAX_KEPT - head.len());
            head.extend_from_slice(&chunk[..take]);
        }
        match reader.push(&chunk[..n]) {
            Ok(Progress::Done) => {
                return HelloResult {
                    flight: reader.into_flight(),
                    failure: None,
                    head,
                    hello_sent: true,
                };
            }
            Ok(Progress::NeedMore) => {}
            Err(e) => {
                let kind = if matches!(
                    e,
                    rdpdoctor_wire::tls::FlightError::TooLarge { .. }
                        | rdpdoctor_wire::tls::FlightError::TooManyRecords { .. }
                        | rdpdoctor_wire::tls::FlightError::TooManyCertificates { .. }
                ) {
                    ErrorKind::TooLarge
                } else {
                    ErrorKind::Protocol
                };
                let err = fail(kind, format!("the server's answer to the ClientHello: {e}"));
                return HelloResult {
                    flight: reader.into_flight(),
                    failure: Some(seen(err, &head)),
                    head,
                    hello_sent: true,
                };
            }
        }
    }
}

fn seen(err: StageError, head: &[u8]) -> StageError {
    if head.is_empty() {
        return err;
    }
    let mut s = Seen::from_bytes(head);
    s.looks_like = Some(super::io::looks_like(head));
    err.with_seen(s)
}

/// A ClientHello like an old but broad client: TLS 1.0 to 1.2, every suite that exists for
/// those versions (strong first), so any server that speaks TLS at all answers with its choice.
pub fn broad_legacy_hello(server_name: Option<&str>) -> Vec<u8> {
    let mut suites: Vec<rdpdoctor_wire::tls::CipherSuite> = rdpdoctor_wire::tls::suites::all()
        .filter(|s| s.usable_in(ProtocolVersion::TLS12) || s.usable_in(ProtocolVersion::TLS10))
        .collect();
    suites.sort_by_key(|s| (s.weaknesses().len(), !s.forward_secret(), s.id));
    suites.dedup_by_key(|s| s.id);
    let ids: Vec<u16> = suites.iter().map(|s| s.id).collect();
    let mut hello = ClientHello::legacy(ProtocolVersion::TLS12, ids, rand::random());
    if let Some(name) = server_name {
        hello = hello.with_server_name(name);
    }
    hello.encode().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broad_hello_offers_legacy_and_modern_suites() {
        let bytes = broad_legacy_hello(Some("server01.contoso.com"));
        let (_, record) = tls_parser::parse_tls_plaintext(&bytes).expect("a TLS record");
        let tls_parser::TlsMessage::Handshake(tls_parser::TlsMessageHandshake::ClientHello(ch)) =
            &record.msg[0]
        else {
            panic!("not a ClientHello")
        };
        let ids: Vec<u16> = ch.ciphers.iter().map(|c| c.0).collect();
        assert!(
            ids.contains(&0x002f),
            "TLS_RSA_WITH_AES_128_CBC_SHA for Windows 2008 R2"
        );
        assert!(
            ids.contains(&0xc02f),
            "ECDHE-RSA-AES128-GCM for modern servers"
        );
        assert!(ids.contains(&0x000a), "3DES for the oldest");
        assert!(
            ids.iter().position(|i| *i == 0xc02f) < ids.iter().position(|i| *i == 0x0005),
            "strong suites first"
        );
    }
}
