//! Hostile servers: malformed or malicious answers at every stage, for the probe's
//! hostile-input suite.
//!
//! Each one does exactly one bad thing and otherwise behaves (a proper Connection Request gets
//! a proper answer up to the point of the fault), so a test can tell which stage of the probe
//! meets it. [`Hostile::expected`] says what a robust probe does: a clean, typed error in that
//! stage, bounded in time and memory, never a panic.

use std::fmt;
use std::io;
use std::str::FromStr;
use std::sync::Arc;

use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt as _};
use tokio::net::TcpStream;

use crate::credssp::{self, TsRequest};
use crate::der;
use crate::faults;
use crate::negotiation::{self, PROTOCOL_RDP, Policy};
use crate::ntlm;
use crate::scenario::{ExpectedFailure, UnknownScenario};
use crate::server::{EndpointContext, negotiate, read_tls_record};

/// A hostile server.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Hostile {
    /// The Connection Confirm's TPKT header announces 19 bytes; 11 arrive, then a FIN.
    TruncatedTpkt,
    /// A TPKT of length 0xFFFF full of random bytes, then a FIN.
    OversizedTpkt,
    /// A Connection Confirm whose X.224 TPDU code is Data (0xF0) instead of CC (0xD0).
    WrongX224Code,
    /// A valid Connection Confirm selecting TLS, followed at once by 4 KiB of random bytes
    /// where the TLS ServerHello should be.
    GarbageAfterCc,
    /// TLS selected, then a fatal `handshake_failure` alert in answer to the ClientHello.
    TlsAlert,
    /// A TLS 1.2 ServerHello, then a Certificate message of about 8 MiB (thousands of copies
    /// of a real certificate), streamed in 16 KiB records.
    HugeCertChain,
    /// A TLS 1.2 ServerHello, a Certificate message whose only certificate is broken DER, a
    /// ServerKeyExchange and ServerHelloDone: a client gets as far as verifying the certificate.
    MalformedCert,
    /// TLS and CredSSP as usual, then an NTLM CHALLENGE whose target name and target info
    /// offsets point far outside the message.
    NtlmBadOffsets,
    /// TLS, then a TSRequest answer nested 10 000 DER levels deep in negoTokens.
    TsrequestDeep,
    /// A real server TLS flight, cut in the middle by a TCP reset.
    ResetMidTls,
}

/// How deep [`Hostile::TsrequestDeep`] nests.
pub const TSREQUEST_DEPTH: usize = 10_000;
/// Roughly how many bytes of certificates [`Hostile::HugeCertChain`] sends.
pub const HUGE_CHAIN_BYTES: usize = 8 * 1024 * 1024;

impl Hostile {
    pub const ALL: [Hostile; 10] = [
        Hostile::TruncatedTpkt,
        Hostile::OversizedTpkt,
        Hostile::WrongX224Code,
        Hostile::GarbageAfterCc,
        Hostile::TlsAlert,
        Hostile::HugeCertChain,
        Hostile::MalformedCert,
        Hostile::NtlmBadOffsets,
        Hostile::TsrequestDeep,
        Hostile::ResetMidTls,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Hostile::TruncatedTpkt => "truncated-tpkt",
            Hostile::OversizedTpkt => "oversized-tpkt",
            Hostile::WrongX224Code => "wrong-x224-code",
            Hostile::GarbageAfterCc => "garbage-after-cc",
            Hostile::TlsAlert => "tls-alert",
            Hostile::HugeCertChain => "huge-cert-chain",
            Hostile::MalformedCert => "malformed-cert",
            Hostile::NtlmBadOffsets => "ntlm-bad-offsets",
            Hostile::TsrequestDeep => "tsrequest-deep",
            Hostile::ResetMidTls => "reset-mid-tls",
        }
    }

    pub fn description(self) -> &'static str {
        match self {
            Hostile::TruncatedTpkt => "TPKT announces 19 bytes, 11 arrive, then close",
            Hostile::OversizedTpkt => "TPKT length 0xFFFF filled with garbage",
            Hostile::WrongX224Code => {
                "Connection Confirm with X.224 code 0xF0 (Data) instead of 0xD0"
            }
            Hostile::GarbageAfterCc => "valid Connection Confirm, then garbage instead of TLS",
            Hostile::TlsAlert => "fatal TLS alert (handshake_failure) after the ClientHello",
            Hostile::HugeCertChain => "TLS Certificate message of ~8 MiB, streamed",
            Hostile::MalformedCert => "TLS 1.2 Certificate message with broken DER",
            Hostile::NtlmBadOffsets => "NTLM CHALLENGE with field offsets outside the message",
            Hostile::TsrequestDeep => "TSRequest nested 10 000 DER levels deep",
            Hostile::ResetMidTls => "TCP reset in the middle of the server's TLS flight",
        }
    }

    /// What a robust probe does about it.
    pub fn expected(self) -> ExpectedFailure {
        let f = |stage, kind, note| ExpectedFailure { stage, kind, note };
        match self {
            Hostile::TruncatedTpkt => f(
                "negotiation",
                "closed",
                "report a truncated Connection Confirm when the peer closes; never wait for the missing bytes",
            ),
            Hostile::OversizedTpkt => f(
                "negotiation",
                "too_large",
                "a Connection Confirm is 19 bytes: refuse a 65535-byte TPKT without buffering it",
            ),
            Hostile::WrongX224Code => f(
                "negotiation",
                "protocol",
                "reject a TPDU that is not a Connection Confirm",
            ),
            Hostile::GarbageAfterCc => f(
                "tls",
                "protocol",
                "negotiation succeeds; the TLS handshake fails on non-TLS bytes (keep the negotiation result)",
            ),
            Hostile::TlsAlert => f(
                "tls",
                "tls_alert",
                "report the alert (handshake_failure, 40)",
            ),
            Hostile::HugeCertChain => f(
                "tls",
                "too_large",
                "bound the handshake size (rustls stops at 64 KiB) and stop reading",
            ),
            Hostile::MalformedCert => f(
                "tls",
                "tls",
                "a certificate that does not parse is reported, not unwrapped",
            ),
            Hostile::NtlmBadOffsets => f(
                "credssp",
                "protocol",
                "bounds-check every NTLM field; keep the CredSSP version already read",
            ),
            Hostile::TsrequestDeep => f(
                "credssp",
                "protocol",
                "no recursion without a depth limit: fail the decode, do not overflow the stack",
            ),
            Hostile::ResetMidTls => f("tls", "reset", "report the reset during the handshake"),
        }
    }

    /// Whether the responder serves a real certificate at some point.
    pub(crate) fn needs_tls(self) -> bool {
        matches!(
            self,
            Hostile::NtlmBadOffsets
                | Hostile::TsrequestDeep
                | Hostile::ResetMidTls
                | Hostile::HugeCertChain
        )
    }
}

impl fmt::Display for Hostile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.name())
    }
}

impl FromStr for Hostile {
    type Err = UnknownScenario;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Hostile::ALL
            .into_iter()
            .find(|h| h.name() == s)
            .ok_or_else(|| UnknownScenario(s.to_owned()))
    }
}

/// Deterministic filler bytes (xorshift), so a failing test sees the same garbage twice.
fn garbage(len: usize, seed: u32) -> Vec<u8> {
    let mut x = seed.max(1);
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x.to_le_bytes()[0]
        })
        .collect()
}

pub(crate) async fn serve(
    h: Hostile,
    mut stream: TcpStream,
    ctx: &EndpointContext,
) -> io::Result<()> {
    match h {
        Hostile::TruncatedTpkt | Hostile::OversizedTpkt | Hostile::WrongX224Code => {
            if negotiation::read_tpkt(&mut stream).await?.is_none() {
                return Ok(());
            }
            let reply = match h {
                Hostile::TruncatedTpkt => negotiation::connection_confirm(
                    negotiation::Decision::Select(negotiation::PROTOCOL_SSL),
                    true,
                    negotiation::Flavor::Windows,
                )[..11]
                    .to_vec(),
                Hostile::OversizedTpkt => {
                    let mut r = vec![0x03, 0x00, 0xff, 0xff];
                    r.extend(garbage(0xffff - 4, 0x0bad_5eed));
                    r
                }
                _ => {
                    let mut r = negotiation::connection_confirm(
                        negotiation::Decision::Select(negotiation::PROTOCOL_SSL),
                        true,
                        negotiation::Flavor::Windows,
                    );
                    r[5] = 0xf0;
                    r
                }
            };
            stream.write_all(&reply).await?;
            stream.shutdown().await?;
            faults::swallow(stream).await;
            Ok(())
        }
        Hostile::GarbageAfterCc => {
            let Some(_) = negotiate_tls(&mut stream).await? else {
                return Ok(());
            };
            stream.write_all(&garbage(4096, 0x00c0_ffee)).await?;
            faults::swallow(stream).await;
            Ok(())
        }
        Hostile::TlsAlert => {
            let Some(_) = negotiate_tls(&mut stream).await? else {
                return Ok(());
            };
            read_tls_record(&mut stream).await?;
            // alert(21), TLS 1.2, length 2, fatal(2), handshake_failure(40)
            stream
                .write_all(&[0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x28])
                .await?;
            stream.shutdown().await?;
            Ok(())
        }
        Hostile::HugeCertChain | Hostile::MalformedCert => {
            let Some(_) = negotiate_tls(&mut stream).await? else {
                return Ok(());
            };
            let hello = read_tls_record(&mut stream).await?;
            let Some(suite) = tls12::choose(&hello) else {
                // No TLS 1.2 suite on offer: nothing to answer with.
                stream
                    .write_all(&[0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x28])
                    .await?;
                return Ok(());
            };
            let mut records = tls12::RecordWriter::new(&mut stream);
            records.handshake(&tls12::server_hello(suite)).await?;
            records.flush().await?;
            if h == Hostile::MalformedCert {
                // A SEQUENCE claiming 65535 bytes, holding 20 bytes of nonsense.
                let mut broken = vec![
                    0x30, 0x82, 0xff, 0xff, 0x02, 0x01, 0x00, 0x30, 0x0d, 0x06, 0x09,
                ];
                broken.extend(garbage(20, 7));
                records.handshake(&tls12::certificate(&[broken])).await?;
                // A well-formed (but unsigned) ServerKeyExchange, so that a client reaches
                // ServerHelloDone and hands the certificate to its verifier.
                records.handshake(&tls12::server_key_exchange()).await?;
                records.handshake(&[0x0e, 0, 0, 0]).await?;
                records.flush().await?;
                // Whatever the client answers (an alert, or its key exchange if it accepted
                // the certificate blindly), the conversation ends here.
                let mut buf = [0u8; 4096];
                let _ = tokio::time::timeout(
                    std::time::Duration::from_secs(5),
                    tokio::io::AsyncReadExt::read(&mut stream, &mut buf),
                )
                .await;
                stream.shutdown().await?;
            } else {
                let cert = huge_chain_unit(ctx);
                // Best effort: a sane client hangs up long before the end.
                let _ = tls12::stream_huge_certificate(&mut records, &cert, HUGE_CHAIN_BYTES).await;
            }
            Ok(())
        }
        Hostile::NtlmBadOffsets | Hostile::TsrequestDeep => {
            let Some(_) = negotiate_tls(&mut stream).await? else {
                return Ok(());
            };
            let tls = ctx
                .tls
                .as_ref()
                .ok_or_else(|| io::Error::other("no certificate"))?;
            let mut stream = tokio_rustls::TlsAcceptor::from(Arc::clone(&tls.config))
                .accept(stream)
                .await?;
            if credssp::read_der(&mut stream)
                .await
                .map_err(io::Error::other)?
                .is_none()
            {
                return Ok(());
            }
            let reply = if h == Hostile::NtlmBadOffsets {
                bad_offsets_challenge(ctx)
            } else {
                deep_ts_request(TSREQUEST_DEPTH)
            };
            stream.write_all(&reply).await?;
            stream.flush().await?;
            faults::swallow(stream).await;
            Ok(())
        }
        Hostile::ResetMidTls => {
            let Some(_) = negotiate_tls(&mut stream).await? else {
                return Ok(());
            };
            let tls = ctx
                .tls
                .as_ref()
                .ok_or_else(|| io::Error::other("no certificate"))?;
            let hello = read_tls_record(&mut stream).await?;
            let flight = server_flight(&tls.config, &hello)?;
            stream.write_all(&flight[..flight.len() / 2]).await?;
            stream.flush().await?;
            faults::reset(stream);
            Ok(())
        }
    }
}

/// Negotiation as the healthy server does it; `None` when the client did not get a TLS-based
/// protocol (then the responder has nothing to do and the connection is dropped).
async fn negotiate_tls<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
) -> io::Result<Option<u32>> {
    Ok(negotiate(stream, Policy::Negotiate)
        .await?
        .map(|(selected, _)| selected)
        .filter(|selected| *selected != PROTOCOL_RDP))
}

fn huge_chain_unit(ctx: &EndpointContext) -> Vec<u8> {
    // Any real certificate will do; the lab's own leaf is at hand through rustls.
    ctx.tls
        .as_ref()
        .map(|t| t.leaf_der.clone())
        .unwrap_or_else(|| garbage(600, 3))
}

/// What rustls, as the lab's server, answers to `client_hello`: the whole first flight.
fn server_flight(config: &Arc<rustls::ServerConfig>, client_hello: &[u8]) -> io::Result<Vec<u8>> {
    let mut conn = rustls::ServerConnection::new(Arc::clone(config)).map_err(io::Error::other)?;
    conn.read_tls(&mut &client_hello[..])?;
    conn.process_new_packets().map_err(io::Error::other)?;
    let mut out = Vec::new();
    while conn.wants_write() {
        conn.write_tls(&mut out)?;
    }
    Ok(out)
}

/// A TSRequest v6 whose NTLM CHALLENGE points its target name at 0xFFFFFF00 and its target info
/// at 0x7FFFFFF0, with lengths that would run far past any buffer.
fn bad_offsets_challenge(ctx: &EndpointContext) -> Vec<u8> {
    let challenge = ntlm::challenge_message(
        ntlm::NEGOTIATE_UNICODE
            | ntlm::NEGOTIATE_NTLM
            | ntlm::NEGOTIATE_TARGET_INFO
            | ntlm::NEGOTIATE_VERSION,
        rand::random(),
        &[],
        &[],
        ntlm::version_bytes(&ctx.shared.identity),
        Some([(0x0100, 0xffff_ff00), (0xffff, 0x7fff_fff0)]),
    );
    TsRequest {
        version: 6,
        nego_token: Some(challenge),
        ..TsRequest::default()
    }
    .encode()
}

/// A TSRequest whose negoTokens hold `depth` nested SEQUENCEs. Built from the lengths outward so
/// it costs O(depth), and is a few tens of KiB (under common message size limits, so a parser
/// actually descends into it).
pub(crate) fn deep_ts_request(depth: usize) -> Vec<u8> {
    let mut lengths = Vec::with_capacity(depth);
    let mut inner = 0usize;
    for _ in 0..depth {
        lengths.push(inner);
        let mut header = Vec::new();
        der::write_len(&mut header, inner);
        inner += 1 + header.len();
    }
    let mut nested = Vec::with_capacity(inner);
    for len in lengths.iter().rev() {
        nested.push(0x30);
        der::write_len(&mut nested, *len);
    }
    let mut body = der::tlv(0xa0, &der::integer_i32(6));
    body.extend(der::tlv(0xa1, &nested));
    der::tlv(0x30, &body)
}

/// A hand-made TLS 1.2 server flight, for faults rustls will not produce.
mod tls12 {
    use std::io;

    use tokio::io::{AsyncWrite, AsyncWriteExt as _};

    const MAX_RECORD: usize = 16 * 1024;

    /// The suite to answer with, from a TLS 1.2-capable ClientHello record.
    pub(super) fn choose(record: &[u8]) -> Option<u16> {
        let hs = record.get(5..)?;
        if *hs.first()? != 1 {
            return None;
        }
        let body = hs.get(4..)?;
        let sid_len = usize::from(*body.get(34)?);
        let at = 35 + sid_len;
        let cs_len = usize::from(u16::from_be_bytes([*body.get(at)?, *body.get(at + 1)?]));
        let suites: Vec<u16> = body
            .get(at + 2..at + 2 + cs_len)?
            .chunks_exact(2)
            .map(|c| u16::from_be_bytes([c[0], c[1]]))
            .collect();
        let preferred = [
            0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8, 0x009c, 0x002f,
        ];
        preferred.into_iter().find(|s| suites.contains(s))
    }

    fn handshake_header(ty: u8, len: usize) -> [u8; 4] {
        let l = u32::try_from(len).unwrap_or(0xff_ffff).to_be_bytes();
        [ty, l[1], l[2], l[3]]
    }

    /// A TLS 1.2 ServerHello with an empty session id: echoing the client's would be the
    /// TLS 1.3 middlebox-compatibility id, which a TLS 1.2 server must not return.
    pub(super) fn server_hello(suite: u16) -> Vec<u8> {
        let mut body = vec![0x03, 0x03];
        // Random without the TLS 1.3 downgrade sentinel.
        body.extend(super::garbage(32, 0x5eed_0001));
        body.push(0);
        body.extend_from_slice(&suite.to_be_bytes());
        body.push(0); // null compression; no extensions
        let mut msg = handshake_header(2, body.len()).to_vec();
        msg.extend(body);
        msg
    }

    /// ServerKeyExchange for ECDHE: x25519 with a made-up public value, "signed" with
    /// ecdsa_secp256r1_sha256 by a made-up signature.
    pub(super) fn server_key_exchange() -> Vec<u8> {
        let mut body = vec![3, 0x00, 0x1d, 32];
        body.extend(super::garbage(32, 0x5eed_0002));
        body.extend_from_slice(&[0x04, 0x03]);
        let mut signature = vec![0x30, 0x44, 0x02, 0x20];
        signature.extend(super::garbage(32, 0x5eed_0003));
        signature.extend_from_slice(&[0x02, 0x20]);
        signature.extend(super::garbage(32, 0x5eed_0004));
        body.extend_from_slice(&u16::try_from(signature.len()).unwrap_or(0).to_be_bytes());
        body.extend(signature);
        let mut msg = handshake_header(12, body.len()).to_vec();
        msg.extend(body);
        msg
    }

    fn u24(len: usize) -> [u8; 3] {
        let l = u32::try_from(len).unwrap_or(0xff_ffff).to_be_bytes();
        [l[1], l[2], l[3]]
    }

    pub(super) fn certificate(certs: &[Vec<u8>]) -> Vec<u8> {
        let list_len: usize = certs.iter().map(|c| 3 + c.len()).sum();
        let mut msg = handshake_header(11, 3 + list_len).to_vec();
        msg.extend(u24(list_len));
        for c in certs {
            msg.extend(u24(c.len()));
            msg.extend_from_slice(c);
        }
        msg
    }

    /// Cuts handshake bytes into records of at most 16 KiB as they come.
    pub(super) struct RecordWriter<'a, S> {
        stream: &'a mut S,
        pending: Vec<u8>,
    }

    impl<'a, S: AsyncWrite + Unpin> RecordWriter<'a, S> {
        pub(super) fn new(stream: &'a mut S) -> Self {
            Self {
                stream,
                pending: Vec::with_capacity(2 * MAX_RECORD),
            }
        }

        pub(super) async fn handshake(&mut self, bytes: &[u8]) -> io::Result<()> {
            self.pending.extend_from_slice(bytes);
            while self.pending.len() >= MAX_RECORD {
                self.record(MAX_RECORD).await?;
            }
            Ok(())
        }

        pub(super) async fn flush(&mut self) -> io::Result<()> {
            while !self.pending.is_empty() {
                self.record(self.pending.len().min(MAX_RECORD)).await?;
            }
            self.stream.flush().await
        }

        async fn record(&mut self, len: usize) -> io::Result<()> {
            let l = u16::try_from(len).unwrap_or(u16::MAX).to_be_bytes();
            let mut record = vec![0x16, 0x03, 0x03, l[0], l[1]];
            record.extend(self.pending.drain(..len));
            self.stream.write_all(&record).await
        }
    }

    /// A Certificate message of about `total` bytes made of copies of `cert`, produced and
    /// sent piece by piece: the lab never holds more than a record or two of it.
    pub(super) async fn stream_huge_certificate<S: AsyncWrite + Unpin>(
        records: &mut RecordWriter<'_, S>,
        cert: &[u8],
        total: usize,
    ) -> io::Result<()> {
        let unit = 3 + cert.len();
        let count = (total / unit).max(1);
        let list_len = count * unit;
        let mut header = handshake_header(11, 3 + list_len).to_vec();
        header.extend(u24(list_len));
        records.handshake(&header).await?;
        let mut entry = u24(cert.len()).to_vec();
        entry.extend_from_slice(cert);
        for _ in 0..count {
            records.handshake(&entry).await?;
        }
        records.handshake(&[0x0e, 0, 0, 0]).await?;
        records.flush().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for h in Hostile::ALL {
            assert_eq!(h.name().parse::<Hostile>().unwrap(), h);
        }
    }

    #[test]
    fn deep_request_is_well_formed_and_deep() {
        let bytes = deep_ts_request(1000);
        let (body, rest) = der::expect(&bytes, 0x30).unwrap();
        assert!(rest.is_empty());
        let (_, after_version) = der::expect(body, 0xa0).unwrap();
        let (mut nested, _) = der::expect(after_version, 0xa1).unwrap();
        let mut depth = 0;
        while !nested.is_empty() {
            nested = der::expect(nested, 0x30).unwrap().0;
            depth += 1;
        }
        assert_eq!(depth, 1000);
        assert!(deep_ts_request(TSREQUEST_DEPTH).len() < 64 * 1024);
    }
}
