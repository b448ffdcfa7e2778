//! X.224 connection negotiation (MS-RDPBCGR 2.2.1.1 / 2.2.1.2), answered byte for byte like
//! Windows.
//!
//! Hand-written rather than left to ironrdp-acceptor because the acceptor always answers with
//! source reference 0 and flags 0x01 and has only two failure codes. Real servers differ in
//! exactly those bytes, and rdpdoctor fingerprints them: a Windows Connection Confirm
//! (`rdp-no-cookie-mstshash.pcap`) is `030000130ed00000123400021f080008000000`, with source
//! reference 0x1234 and flags 0x1f; its failure (`rdp-proprietary-encryption.pcap`) is
//! `030000130ed000001234000300080002000000`.

use std::io;

use tokio::io::{AsyncRead, AsyncReadExt as _};

pub(crate) const PROTOCOL_RDP: u32 = 0;
pub(crate) const PROTOCOL_SSL: u32 = 0x1;
pub(crate) const PROTOCOL_HYBRID: u32 = 0x2;
pub(crate) const PROTOCOL_HYBRID_EX: u32 = 0x8;

pub(crate) const SSL_REQUIRED_BY_SERVER: u32 = 1;
pub(crate) const SSL_NOT_ALLOWED_BY_SERVER: u32 = 2;
pub(crate) const SSL_CERT_NOT_ON_SERVER: u32 = 3;
pub(crate) const HYBRID_REQUIRED_BY_SERVER: u32 = 5;

/// Whose Connection Confirm bytes to send. Servers differ in the X.224 source reference and
/// the RDP_NEG_RSP flags, and probes fingerprint them by exactly that (LAB.md §1–2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Flavor {
    /// Source reference 0x1234, flags 0x1f (EXTENDED_CLIENT_DATA, DYNVC_GFX, the reserved
    /// 0x04, RESTRICTED_ADMIN, REDIRECTED_AUTHENTICATION): current Windows.
    Windows,
    /// Source reference 0x1234, flags 0x01: xrdp 0.9.
    Xrdp,
    /// Source reference 0, flags 0x03 (EXTENDED_CLIENT_DATA, DYNVC_GFX): FreeRDP's servers.
    FreeRdp,
}

impl Flavor {
    fn source_ref(self) -> [u8; 2] {
        match self {
            Flavor::Windows | Flavor::Xrdp => [0x12, 0x34],
            Flavor::FreeRdp => [0x00, 0x00],
        }
    }

    fn rsp_flags(self) -> u8 {
        match self {
            Flavor::Windows => 0x1f,
            Flavor::Xrdp => 0x01,
            Flavor::FreeRdp => 0x03,
        }
    }
}

/// A Connection Request is tiny; anything bigger is refused before buffering it.
const MAX_REQUEST: usize = 4096;

/// The parts of a Connection Request the lab decides on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ConnectionRequest {
    /// requestedProtocols, or `None` for a request without RDP_NEG_REQ (a pre-2003 client).
    pub requested: Option<u32>,
    /// The whole TPKT, for ironrdp-acceptor, which must see the request it is said to answer.
    pub raw: Vec<u8>,
}

/// Reads one TPKT from `stream`. `Ok(None)` on a clean close before the first byte.
pub(crate) async fn read_tpkt<S: AsyncRead + Unpin>(stream: &mut S) -> io::Result<Option<Vec<u8>>> {
    let mut header = [0u8; 4];
    match stream.read_exact(&mut header[..1]).await {
        Ok(_) => {}
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    stream.read_exact(&mut header[1..]).await?;
    if header[0] != 3 {
        return Err(io::Error::new(io::ErrorKind::InvalidData, "not a TPKT"));
    }
    let length = usize::from(u16::from_be_bytes([header[2], header[3]]));
    if !(7..=MAX_REQUEST).contains(&length) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "bad TPKT length",
        ));
    }
    let mut packet = vec![0u8; length];
    packet[..4].copy_from_slice(&header);
    stream.read_exact(&mut packet[4..]).await?;
    Ok(Some(packet))
}

/// Parses an X.224 Connection Request TPKT: optional cookie or routing token line, then an
/// optional RDP_NEG_REQ. `None` if it is not a Connection Request.
pub(crate) fn parse_connection_request(tpkt: &[u8]) -> Option<ConnectionRequest> {
    // TPKT(4) LI(1) code(1) dst-ref(2) src-ref(2) class(1)
    let x224 = tpkt.get(4..)?;
    let li = usize::from(*x224.first()?);
    if *x224.get(1)? & 0xF0 != 0xE0 || li + 1 > x224.len() || li < 6 {
        return None;
    }
    let mut rest = x224.get(7..=li)?;
    if rest.starts_with(b"Cookie:") {
        let end = rest.windows(2).position(|w| w == b"\r\n")?;
        rest = &rest[end + 2..];
    }
    let requested = match rest {
        [0x01, _flags, 0x08, 0x00, p0, p1, p2, p3, ..] => {
            Some(u32::from_le_bytes([*p0, *p1, *p2, *p3]))
        }
        _ => None,
    };
    Some(ConnectionRequest {
        requested,
        raw: tpkt.to_vec(),
    })
}

/// How a server decides on a Connection Request: the security layer and NLA settings of
/// Windows (SecurityLayer, UserAuthentication), plus the no-certificate case.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Policy {
    /// SecurityLayer=Negotiate, NLA offered but not required.
    Negotiate,
    /// UserAuthentication=1.
    NlaRequired,
    /// SecurityLayer=SSL, NLA off.
    TlsOnly,
    /// SecurityLayer=RDP.
    RdpOnly,
    /// The certificate cannot be loaded.
    NoCertificate,
    /// xrdp 0.9 with security_layer=negotiate: SSL whenever it is requested, standard RDP
    /// security otherwise, never CredSSP.
    XrdpNegotiate,
    /// FreeRDP shadow server with `/sec:nla`: HYBRID only (never HYBRID_EX), else
    /// HYBRID_REQUIRED_BY_SERVER.
    FreeRdpNla,
}

/// The answer to a Connection Request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Decision {
    Select(u32),
    Fail(u32),
}

impl Policy {
    pub(crate) fn decide(self, requested: Option<u32>) -> Decision {
        let req = requested.unwrap_or(PROTOCOL_RDP);
        let has = |p: u32| req & p != 0;
        match self {
            Policy::Negotiate => Decision::Select(if has(PROTOCOL_HYBRID_EX) {
                PROTOCOL_HYBRID_EX
            } else if has(PROTOCOL_HYBRID) {
                PROTOCOL_HYBRID
            } else if has(PROTOCOL_SSL) {
                PROTOCOL_SSL
            } else {
                PROTOCOL_RDP
            }),
            Policy::NlaRequired if has(PROTOCOL_HYBRID_EX) => Decision::Select(PROTOCOL_HYBRID_EX),
            Policy::NlaRequired if has(PROTOCOL_HYBRID) => Decision::Select(PROTOCOL_HYBRID),
            Policy::NlaRequired => Decision::Fail(HYBRID_REQUIRED_BY_SERVER),
            // "If only CredSSP was requested, the server supports only TLS" (2.2.1.2.2).
            Policy::TlsOnly if has(PROTOCOL_SSL) => Decision::Select(PROTOCOL_SSL),
            Policy::TlsOnly => Decision::Fail(SSL_REQUIRED_BY_SERVER),
            Policy::RdpOnly if req == PROTOCOL_RDP => Decision::Select(PROTOCOL_RDP),
            Policy::RdpOnly => Decision::Fail(SSL_NOT_ALLOWED_BY_SERVER),
            Policy::NoCertificate => Decision::Fail(SSL_CERT_NOT_ON_SERVER),
            Policy::XrdpNegotiate if has(PROTOCOL_SSL) => Decision::Select(PROTOCOL_SSL),
            Policy::XrdpNegotiate => Decision::Select(PROTOCOL_RDP),
            Policy::FreeRdpNla if has(PROTOCOL_HYBRID) => Decision::Select(PROTOCOL_HYBRID),
            Policy::FreeRdpNla => Decision::Fail(HYBRID_REQUIRED_BY_SERVER),
        }
    }

    /// The server whose bytes this policy's answers carry.
    pub(crate) fn flavor(self) -> Flavor {
        match self {
            Policy::XrdpNegotiate | Policy::NoCertificate => Flavor::Xrdp,
            Policy::FreeRdpNla => Flavor::FreeRdp,
            // RdpOnly: the SSL_NOT_ALLOWED_BY_SERVER of rdp-proprietary-encryption.pcap is a
            // Windows server's.
            Policy::Negotiate | Policy::NlaRequired | Policy::TlsOnly | Policy::RdpOnly => {
                Flavor::Windows
            }
        }
    }
}

/// The Connection Confirm bytes for `decision` in `flavor`. A request without RDP_NEG_REQ
/// that gets standard RDP security is answered without negotiation data, as Windows does.
pub(crate) fn connection_confirm(decision: Decision, had_neg_req: bool, flavor: Flavor) -> Vec<u8> {
    let mut out = Vec::with_capacity(19);
    let (ty, flags, value) = match decision {
        Decision::Select(PROTOCOL_RDP) if !had_neg_req => {
            out.extend_from_slice(&[0x03, 0x00, 0x00, 0x0b, 0x06, 0xd0, 0x00, 0x00]);
            out.extend_from_slice(&flavor.source_ref());
            out.push(0x00);
            return out;
        }
        Decision::Select(protocol) => (0x02, flavor.rsp_flags(), protocol),
        Decision::Fail(code) => (0x03, 0x00, code),
    };
    out.extend_from_slice(&[0x03, 0x00, 0x00, 0x13, 0x0e, 0xd0, 0x00, 0x00]);
    out.extend_from_slice(&flavor.source_ref());
    out.push(0x00);
    out.extend_from_slice(&[ty, flags, 0x08, 0x00]);
    out.extend_from_slice(&value.to_le_bytes());
    out
}

/// An MCS Disconnect Provider Ultimatum (reason rn-user-requested) in a TPKT: what xrdp sends,
/// unencrypted, when it gives up (LAB.md §1: `0300000902f0802180`).
pub(crate) const MCS_DISCONNECT_ULTIMATUM: [u8; 9] =
    [0x03, 0x00, 0x00, 0x09, 0x02, 0xf0, 0x80, 0x21, 0x80];

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn confirm_bytes_match_windows_captures() {
        assert_eq!(
            hex(&connection_confirm(
                Decision::Select(PROTOCOL_HYBRID_EX),
                true,
                Flavor::Windows
            )),
            "030000130ed00000123400021f080008000000"
        );
        assert_eq!(
            hex(&connection_confirm(
                Decision::Fail(SSL_NOT_ALLOWED_BY_SERVER),
                true,
                Flavor::Windows
            )),
            "030000130ed000001234000300080002000000"
        );
        assert_eq!(
            hex(&connection_confirm(
                Decision::Select(PROTOCOL_RDP),
                false,
                Flavor::Windows
            )),
            "0300000b06d00000123400"
        );
        // LAB.md §1: xrdp answering SSL; §2: FreeRDP shadow /sec:nla answering HYBRID.
        assert_eq!(
            hex(&connection_confirm(
                Decision::Select(PROTOCOL_SSL),
                true,
                Flavor::Xrdp
            )),
            "030000130ed000001234000201080001000000"
        );
        assert_eq!(
            hex(&connection_confirm(
                Decision::Select(PROTOCOL_HYBRID),
                true,
                Flavor::FreeRdp
            )),
            "030000130ed000000000000203080002000000"
        );
    }

    #[test]
    fn parses_requests_with_and_without_cookie() {
        let plain = [
            3, 0, 0, 0x13, 0x0e, 0xe0, 0, 0, 0, 0, 0, 1, 0, 8, 0, 0x0b, 0, 0, 0,
        ];
        assert_eq!(
            parse_connection_request(&plain).unwrap().requested,
            Some(0x0b)
        );
        let mut with_cookie = vec![3, 0, 0, 0];
        let body = b"Cookie: mstshash=user\r\n";
        with_cookie.push(u8::try_from(6 + body.len() + 8).unwrap());
        with_cookie.extend_from_slice(&[0xe0, 0, 0, 0, 0, 0]);
        with_cookie.extend_from_slice(body);
        with_cookie.extend_from_slice(&[1, 0, 8, 0, 3, 0, 0, 0]);
        let len = u8::try_from(with_cookie.len()).unwrap();
        with_cookie[3] = len;
        assert_eq!(
            parse_connection_request(&with_cookie).unwrap().requested,
            Some(3)
        );
        let no_neg = [3, 0, 0, 0x0b, 0x06, 0xe0, 0, 0, 0, 0, 0];
        assert_eq!(parse_connection_request(&no_neg).unwrap().requested, None);
        assert!(parse_connection_request(&[3, 0, 0, 0x0b, 0x06, 0xd0, 0, 0, 0, 0, 0]).is_none());
    }

    #[test]
    fn policies_answer_like_real_servers() {
        use Decision::*;
        let row = |p: Policy| [0u32, 1, 2, 3, 8, 0xb].map(|r| p.decide(Some(r)));
        assert_eq!(
            row(Policy::Negotiate),
            [
                Select(0),
                Select(1),
                Select(2),
                Select(2),
                Select(8),
                Select(8)
            ]
        );
        assert_eq!(
            row(Policy::NlaRequired),
            [Fail(5), Fail(5), Select(2), Select(2), Select(8), Select(8)]
        );
        // xrdp security_layer=tls: F1 SSL F1 SSL F1 SSL.
        assert_eq!(
            row(Policy::TlsOnly),
            [Fail(1), Select(1), Fail(1), Select(1), Fail(1), Select(1)]
        );
        // FreeRDP shadow /sec:rdp: RDP F2 F2 F2 F2 F2.
        assert_eq!(
            row(Policy::RdpOnly),
            [Select(0), Fail(2), Fail(2), Fail(2), Fail(2), Fail(2)]
        );
        assert_eq!(row(Policy::NoCertificate), [Fail(3); 6]);
        // xrdp negotiate: RDP SSL RDP SSL RDP SSL.
        assert_eq!(
            row(Policy::XrdpNegotiate),
            [
                Select(0),
                Select(1),
                Select(0),
                Select(1),
                Select(0),
                Select(1)
            ]
        );
        // FreeRDP shadow /sec:nla: F5 F5 HYB HYB F5 HYB.
        assert_eq!(
            row(Policy::FreeRdpNla),
            [Fail(5), Fail(5), Select(2), Select(2), Fail(5), Select(2)]
        );
    }
}
