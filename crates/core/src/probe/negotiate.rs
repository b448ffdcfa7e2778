//! Stage 3, negotiation: which security protocols the server accepts (X.224 + RDP_NEG).
//!
//! The first request is what a current mstsc sends (SSL|HYBRID|HYBRID_EX) on the connection the
//! rest of the probe uses. Its answer decides the few follow-up requests, each on its own short
//! connection, that are needed to tell "offered" from "refused" from "silently downgraded":
//!
//! | first answer | follow-ups | why |
//! |---|---|---|
//! | HYBRID_EX | SSL\|HYBRID, SSL, RDP | HYBRID alone, then whether TLS-only and standard RDP clients are refused |
//! | HYBRID | SSL, RDP | HYBRID_EX was offered and not chosen |
//! | SSL | RDP | HYBRID and HYBRID_EX were offered and not chosen |
//! | RDP, or no RDP_NEG data | none | the server silently fell back to standard RDP security |
//! | RDP_NEG_FAILURE | SSL, RDP | which single protocol, if any, the server still accepts |
//!
//! So a Windows server costs four connections, xrdp two, a broken server three, and nothing
//! is inferred that the server did not say.

use futures::future::join_all;
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use super::io::{looks_like, read_message};
use crate::evidence::{
    ErrorKind, Negotiation, NegotiationAnswer, NegotiationProbe, Protocol, Seen, Stage, StageError,
    StageName, millis,
};
use rdpdoctor_wire::{Frame, x224};

/// requestedProtocols of a current Windows client: SSL | HYBRID | HYBRID_EX.
pub const MODERN_REQUEST: u32 = 0x1 | 0x2 | 0x8;

/// A Connection Confirm is 11 to 19 bytes, plus any extra negotiation data; nothing larger is
/// buffered from a peer that claims a bigger frame.
const MAX_CONFIRM: usize = 1024;

/// Knobs for the negotiation stage.
#[derive(Clone, Debug)]
pub struct NegotiateOptions {
    /// `Cookie: mstshash=` value (mstsc sends the user name; some load balancers route on it).
    pub cookie: Option<String>,
    pub deadline: Duration,
    pub connect_deadline: Duration,
    /// Also ask for RDSTLS and RDSAAD (Entra ID) on servers that speak HYBRID_EX.
    pub extended: bool,
    /// Awaited before each follow-up connection (see [`super::gate`]).
    pub connect_gate: Option<std::sync::Arc<dyn super::gate::ConnectGate>>,
}

/// The X.224 Connection Request (19 bytes without a cookie).
pub fn connection_request(requested: u32, cookie: Option<&str>) -> Vec<u8> {
    let mut request = x224::ConnectionRequest::new(requested);
    if let Some(c) = cookie {
        request = request.with_cookie(c);
    }
    // A cookie that cannot be encoded (not printable, too long) is dropped: the request still
    // tells us what the server negotiates.
    request
        .encode()
        .or_else(|_| x224::ConnectionRequest::new(requested).encode())
        .unwrap_or_default()
}

fn confirm_framing(buf: &[u8]) -> Result<Frame, ErrorKind> {
    use rdpdoctor_wire::tpkt::TpktError;
    rdpdoctor_wire::tpkt::frame_with_limit(buf, MAX_CONFIRM).map_err(|e| match e {
        TpktError::NotTpkt { .. } => ErrorKind::NotRdp,
        TpktError::TooLong { .. } => ErrorKind::TooLarge,
        _ => ErrorKind::Protocol,
    })
}

/// RDP_NEG_FAILURE code names, from the knowledge base's table.
pub fn failure_name(code: u32) -> String {
    rdpdoctor_kb::codes::neg_failure(code)
        .map(|e| e.name.clone())
        .unwrap_or_else(|| format!("UNKNOWN_FAILURE_0x{code:08X}"))
}

/// RDP_NEG_RSP flag names, from the knowledge base's table; unknown bits as hex.
pub fn response_flag_names(flags: u8) -> Vec<String> {
    let known = rdpdoctor_kb::codes::neg_rsp_flags(flags);
    let mut covered = 0u8;
    let mut v: Vec<String> = known
        .iter()
        .map(|e| {
            covered |= e.value as u8;
            e.name.clone()
        })
        .collect();
    if flags & !covered != 0 {
        v.push(format!("0x{:02X}", flags & !covered));
    }
    v
}

/// Decode a complete Connection Confirm frame into the evidence's answer and the source
/// reference.
pub fn decode_confirm(frame: &[u8]) -> Result<(NegotiationAnswer, u16), x224::ConfirmError> {
    let cc = x224::decode_confirm(frame)?;
    let answer = match cc.negotiation {
        x224::NegotiationAnswer::Response { flags, selected } => {
            match Protocol::from_selected(selected) {
                Some(protocol) => NegotiationAnswer::Selected {
                    protocol,
                    value: selected,
                    flags,
                },
                None => {
                    let error = StageError::new(
                        StageName::Negotiation,
                        ErrorKind::Protocol,
                        Duration::ZERO,
                        format!("the server selected 0x{selected:08X}, which is not one protocol"),
                    );
                    NegotiationAnswer::NoAnswer { error }
                }
            }
        }
        x224::NegotiationAnswer::Failure { code, .. } => NegotiationAnswer::Failure {
            code,
            name: failure_name(code),
        },
        x224::NegotiationAnswer::None => NegotiationAnswer::NoNegotiationData,
    };
    Ok((answer, cc.src_ref))
}

/// What the Connection Confirm hints about the server software. A hint, never a finding:
/// Windows and xrdp both use source reference 0x1234, but xrdp only ever sets
/// EXTENDED_CLIENT_DATA_SUPPORTED; FreeRDP-based servers (FreeRDP, Weston, GNOME) use 0.
fn server_hint(source_ref: Option<u16>, answer: &NegotiationAnswer) -> Option<String> {
    let flags = match answer {
        NegotiationAnswer::Selected { flags, .. } => Some(*flags),
        _ => None,
    };
    match (source_ref?, flags) {
        (0x1234, Some(0x01)) => Some("xrdp (source reference 0x1234, response flags 0x01)".into()),
        (0x1234, Some(f)) if f & 0x1A != 0 => {
            Some("Windows (source reference 0x1234, Windows-only response flags)".into())
        }
        (0x1234, _) => Some("Windows or xrdp (source reference 0x1234)".into()),
        (0, _) => Some("FreeRDP-based server (source reference 0)".into()),
        _ => None,
    }
}

/// One request/confirm round trip on an open connection. `leftover` receives bytes that arrived
/// after the Connection Confirm (a well-behaved server sends none before our TLS ClientHello).
pub async fn exchange(
    stream: &mut TcpStream,
    requested: u32,
    options: &NegotiateOptions,
    leftover: &mut Vec<u8>,
) -> NegotiationProbe {
    let started = Instant::now();
    let requested_list = Protocol::set_from_bits(requested);
    let probe = |answer, source_ref| NegotiationProbe {
        requested: requested_list.clone(),
        requested_bits: requested,
        answer,
        elapsed_ms: millis(started.elapsed()),
        source_ref,
    };
    let no_answer = |error: StageError| probe(NegotiationAnswer::NoAnswer { error }, None);
    let request = connection_request(requested, options.cookie.as_deref());
    let write = tokio::time::timeout(options.deadline, stream.write_all(&request)).await;
    match write {
        Err(_) => {
            return no_answer(StageError::new(
                StageName::Negotiation,
                ErrorKind::Timeout,
                started.elapsed(),
                "could not send the Connection Request in time",
            ));
        }
        Ok(Err(e)) => {
            let kind = super::io::classify(&e);
            return no_answer(StageError::new(
                StageName::Negotiation,
                kind,
                started.elapsed(),
                format!(
                    "sending the Connection Request: {}",
                    super::io::describe(&e)
                ),
            ));
        }
        Ok(Ok(())) => {}
    }
    let mut buf = Vec::new();
    let deadline = Instant::now() + options.deadline;
    match read_message(stream, &mut buf, MAX_CONFIRM, deadline, confirm_framing).await {
        Err(failure) => {
            let mut err = failure.into_stage_error(
                StageName::Negotiation,
                started,
                "an X.224 Connection Confirm",
                options.deadline,
                &buf,
            );
            if let Some(seen) = err.seen.as_mut() {
                seen.looks_like = Some(looks_like(&buf));
            }
            no_answer(err)
        }
        Ok(Err(ErrorKind::NotRdp)) => {
            // The first bytes can never start a TPKT frame: something else answers here.
            let mut seen = Seen::from_bytes(&buf);
            let what = looks_like(&buf);
            seen.looks_like = Some(what.clone());
            let err = StageError::new(
                StageName::Negotiation,
                ErrorKind::NotRdp,
                started.elapsed(),
                format!("the server answered with {what}, not an RDP Connection Confirm"),
            )
            .with_seen(seen);
            no_answer(err)
        }
        Ok(Err(kind)) => {
            let what = if kind == ErrorKind::TooLarge {
                format!(
                    "a TPKT frame longer than any Connection Confirm (over {MAX_CONFIRM} bytes)"
                )
            } else {
                "a malformed TPKT header".to_string()
            };
            let err = StageError::new(
                StageName::Negotiation,
                kind,
                started.elapsed(),
                format!("the server answered with {what}"),
            )
            .with_seen(Seen::from_bytes(&buf));
            no_answer(err)
        }
        Ok(Ok(len)) => {
            leftover.extend_from_slice(&buf[len..]);
            match decode_confirm(&buf[..len]) {
                Ok((NegotiationAnswer::NoAnswer { mut error }, src)) => {
                    error.elapsed_ms = millis(started.elapsed());
                    error.seen = Some(Seen::from_bytes(&buf[..len]));
                    probe(NegotiationAnswer::NoAnswer { error }, Some(src))
                }
                Ok((answer, source_ref)) => probe(answer, Some(source_ref)),
                Err(e) => {
                    let err = StageError::new(
                        StageName::Negotiation,
                        ErrorKind::Protocol,
                        started.elapsed(),
                        format!("malformed Connection Confirm: {e}"),
                    )
                    .with_seen(Seen::from_bytes(&buf));
                    no_answer(err)
                }
            }
        }
    }
}

/// Connect and make one request on a fresh connection.
pub async fn probe_fresh(
    addr: SocketAddr,
    requested: u32,
    options: &NegotiateOptions,
) -> NegotiationProbe {
    let started = Instant::now();
    let gate = options.connect_gate.as_deref();
    let (attempt, stream) = super::tcp::connect_one(addr, options.connect_deadline, gate).await;
    match stream {
        Some(mut s) => {
            let mut leftover = Vec::new();
            let p = exchange(&mut s, requested, options, &mut leftover).await;
            let _ = s.shutdown().await;
            p
        }
        None => {
            let kind = attempt.error.unwrap_or(ErrorKind::Io);
            let err = StageError::new(
                StageName::Negotiation,
                kind,
                started.elapsed(),
                format!(
                    "reconnecting for another negotiation request: {}",
                    attempt.message.unwrap_or_default()
                ),
            );
            NegotiationProbe {
                requested: Protocol::set_from_bits(requested),
                requested_bits: requested,
                answer: NegotiationAnswer::NoAnswer { error: err },
                elapsed_ms: millis(started.elapsed()),
                source_ref: None,
            }
        }
    }
}

/// The follow-up requests the first answer calls for (see the module table).
pub fn follow_ups(first: &NegotiationAnswer, extended: bool) -> Vec<u32> {
    match first {
        NegotiationAnswer::Selected {
            protocol: Protocol::HybridEx,
            ..
        } => {
            let mut v = vec![0x1 | 0x2, 0x1, 0x0];
            if extended {
                v.extend([0x4 | 0x1, 0x10 | 0x1]);
            }
            v
        }
        NegotiationAnswer::Selected {
            protocol: Protocol::Hybrid,
            ..
        } => vec![0x1, 0x0],
        NegotiationAnswer::Selected {
            protocol: Protocol::Ssl,
            ..
        } => vec![0x0],
        NegotiationAnswer::Selected {
            protocol: Protocol::Rdstls | Protocol::Rdsaad,
            ..
        } => vec![0x1 | 0x2, 0x1, 0x0],
        NegotiationAnswer::Selected {
            protocol: Protocol::Rdp,
            ..
        }
        | NegotiationAnswer::NoNegotiationData => Vec::new(),
        NegotiationAnswer::Failure { .. } => vec![0x1, 0x0],
        NegotiationAnswer::NoAnswer { .. } => Vec::new(),
    }
}

/// Run the follow-ups, one connection each, at most two at a time (xrdp's listen backlog is 2,
/// and Windows throttles half-open connections).
pub async fn follow_up(
    addr: SocketAddr,
    requests: &[u32],
    options: &NegotiateOptions,
) -> Vec<NegotiationProbe> {
    let mut out = Vec::new();
    for pair in requests.chunks(2) {
        out.extend(join_all(pair.iter().map(|r| probe_fresh(addr, *r, options))).await);
    }
    out
}

/// Combine the round trips into the negotiation evidence. The stage fails only when the first
/// request got no answer; a failure of a follow-up is kept in `probes`.
pub fn assemble(first: NegotiationProbe, rest: Vec<NegotiationProbe>) -> Stage<Negotiation> {
    let mut n = Negotiation::default();
    let first_error = match &first.answer {
        NegotiationAnswer::NoAnswer { error } => Some(error.clone()),
        _ => None,
    };
    if let NegotiationAnswer::Selected {
        protocol, flags, ..
    } = &first.answer
    {
        n.selected = Some(*protocol);
        n.response_flags = response_flag_names(*flags);
        n.response_flags_raw = *flags;
    }
    n.legacy_no_negotiation = matches!(first.answer, NegotiationAnswer::NoNegotiationData);
    n.server_hint = server_hint(first.source_ref, &first.answer);
    let elapsed_ms = first.elapsed_ms;
    n.probes.push(first);
    n.probes.extend(rest);
    n.connections = n.probes.len() as u32;
    for p in &n.probes {
        match &p.answer {
            NegotiationAnswer::Selected { protocol, .. } => {
                let requested_tls = p.requested.iter().any(|r| r.uses_tls());
                if *protocol == Protocol::Rdp && requested_tls {
                    for r in &p.requested {
                        if r.uses_tls() && !n.downgraded.contains(r) {
                            n.downgraded.push(*r);
                        }
                    }
                }
                if !n.supported.contains(protocol) {
                    n.supported.push(*protocol);
                }
            }
            NegotiationAnswer::NoNegotiationData => {
                if !n.supported.contains(&Protocol::Rdp) {
                    n.supported.push(Protocol::Rdp);
                }
            }
            NegotiationAnswer::Failure { name, .. } => {
                n.failures
                    .insert(Protocol::set_key(p.requested_bits), name.clone());
            }
            NegotiationAnswer::NoAnswer { .. } => {}
        }
    }
    n.supported.sort();
    n.downgraded.retain(|p| !n.supported.contains(p));
    n.downgraded.sort();
    match first_error {
        Some(mut error) => {
            error.elapsed_ms = elapsed_ms;
            Stage::failed_with(error, n)
        }
        None => Stage::Ok {
            elapsed_ms,
            value: n,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn probe(requested: u32, answer: NegotiationAnswer) -> NegotiationProbe {
        NegotiationProbe {
            requested: Protocol::set_from_bits(requested),
            requested_bits: requested,
            answer,
            elapsed_ms: 1.0,
            source_ref: Some(0),
        }
    }

    fn selected(p: Protocol) -> NegotiationAnswer {
        NegotiationAnswer::Selected {
            protocol: p,
            value: p.bit(),
            flags: 1,
        }
    }

    fn failure(code: u32) -> NegotiationAnswer {
        NegotiationAnswer::Failure {
            code,
            name: failure_name(code),
        }
    }

    #[test]
    fn request_bytes_match_a_real_client() {
        assert_eq!(
            hex::encode(connection_request(3, None)),
            "030000130ee000000000000100080003000000"
        );
        assert_eq!(
            hex::encode(connection_request(0xb, None)),
            "030000130ee00000000000010008000b000000"
        );
    }

    #[test]
    fn decodes_real_confirms() {
        // xrdp selecting SSL (LAB.md) and a Windows server selecting HYBRID_EX (zeek capture).
        let xrdp = hex::decode("030000130ed000001234000201080001000000").unwrap();
        let (a, src) = decode_confirm(&xrdp).unwrap();
        assert_eq!(
            a,
            NegotiationAnswer::Selected {
                protocol: Protocol::Ssl,
                value: 1,
                flags: 1
            }
        );
        assert_eq!(src, 0x1234);
        let windows = hex::decode("030000130ed00000123400021f080008000000").unwrap();
        let (a, _) = decode_confirm(&windows).unwrap();
        assert_eq!(
            a,
            NegotiationAnswer::Selected {
                protocol: Protocol::HybridEx,
                value: 8,
                flags: 0x1f
            }
        );
        let failure = hex::decode("030000130ed000001234000300080003000000").unwrap();
        assert_eq!(
            decode_confirm(&failure).unwrap().0,
            NegotiationAnswer::Failure {
                code: 3,
                name: "SSL_CERT_NOT_ON_SERVER".into()
            }
        );
        let legacy = hex::decode("0300000b06d00000123400").unwrap();
        assert_eq!(
            decode_confirm(&legacy).unwrap().0,
            NegotiationAnswer::NoNegotiationData
        );
    }

    #[test]
    fn rejects_what_is_not_a_confirm() {
        assert!(decode_confirm(b"HTTP/1.1 400").is_err());
        let data_pdu = hex::decode("0300000902f0802180").unwrap();
        assert!(matches!(
            decode_confirm(&data_pdu),
            Err(x224::ConfirmError::UnexpectedTpdu { .. })
        ));
        let two_protocols = hex::decode("030000130ed000001234000201080003000000").unwrap();
        assert!(matches!(
            decode_confirm(&two_protocols).unwrap().0,
            NegotiationAnswer::NoAnswer { .. }
        ));
    }

    #[test]
    fn xrdp_negotiate_mode_supports_ssl_and_rdp_only() {
        let s = assemble(
            probe(0xb, selected(Protocol::Ssl)),
            vec![probe(0, selected(Protocol::Rdp))],
        );
        let n = s.value().unwrap();
        assert_eq!(n.supported, vec![Protocol::Rdp, Protocol::Ssl]);
        assert!(n.failures.is_empty());
        assert_eq!(n.connections, 2);
        assert!(
            !n.supports(Protocol::Hybrid),
            "offering HYBRID and getting SSL means no NLA"
        );
    }

    #[test]
    fn nla_only_server_records_failures_by_requested_protocol() {
        let s = assemble(
            probe(0xb, selected(Protocol::Hybrid)),
            vec![probe(1, failure(5)), probe(0, failure(5))],
        );
        let n = s.value().unwrap();
        assert_eq!(n.supported, vec![Protocol::Hybrid]);
        assert_eq!(
            n.failures.get("ssl").map(String::as_str),
            Some("HYBRID_REQUIRED_BY_SERVER")
        );
        assert_eq!(
            n.failures.get("rdp").map(String::as_str),
            Some("HYBRID_REQUIRED_BY_SERVER")
        );
        assert!(n.nla_required());
    }

    #[test]
    fn silent_fallback_to_standard_security_is_a_downgrade() {
        let s = assemble(probe(0xb, selected(Protocol::Rdp)), vec![]);
        let n = s.value().unwrap();
        assert_eq!(n.supported, vec![Protocol::Rdp]);
        assert_eq!(
            n.downgraded,
            vec![Protocol::Ssl, Protocol::Hybrid, Protocol::HybridEx]
        );
    }

    #[test]
    fn no_answer_to_first_request_fails_the_stage_but_keeps_probes() {
        let err = StageError::new(
            StageName::Negotiation,
            ErrorKind::Closed,
            Duration::from_millis(3),
            "closed",
        );
        let s = assemble(
            probe(0xb, NegotiationAnswer::NoAnswer { error: err }),
            vec![],
        );
        assert_eq!(s.error_kind(), Some(ErrorKind::Closed));
        assert_eq!(s.observed().unwrap().probes.len(), 1);
    }

    #[test]
    fn follow_ups_match_the_plan() {
        assert_eq!(
            follow_ups(&selected(Protocol::HybridEx), false),
            vec![3, 1, 0]
        );
        assert_eq!(follow_ups(&selected(Protocol::Ssl), false), vec![0]);
        assert!(follow_ups(&selected(Protocol::Rdp), false).is_empty());
        assert_eq!(follow_ups(&failure(3), false), vec![1, 0]);
    }

    proptest::proptest! {
        #[test]
        fn decode_confirm_never_panics(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..64)) {
            let _ = decode_confirm(&bytes);
            let _ = confirm_framing(&bytes);
        }
    }
}
