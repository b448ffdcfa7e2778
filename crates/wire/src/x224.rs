//! X.224 connection set-up with RDP security negotiation (MS-RDPBCGR 2.2.1.1 / 2.2.1.2).
//!
//! - [`ConnectionRequest`] builds the client's X.224 Connection Request (CR) with an optional
//!   `Cookie: mstshash=NAME` and an RDP_NEG_REQ, encoded by `ironrdp-pdu` (or, for the legacy
//!   request without RDP_NEG_REQ, which ironrdp-pdu cannot produce, by hand).
//! - [`decode_confirm`] decodes the server's Connection Confirm (CC) into [`ConnectionConfirm`].
//!   It is hand-written rather than a wrapper around `ironrdp-pdu` because the diagnosis needs
//!   what ironrdp-pdu drops: the TPDU **source reference** (a fingerprint, see
//!   [`ServerFamily`]), the RDP_NEG_FAILURE flags, whether RDP_NEG data was present at all, and
//!   raw values it would reject. When the reply is not an X.224 CC, the error says
//!   what it is instead (a Disconnect Request, an HTTP server, a TLS alert...).
//!
//! Wire layout of a CC: `TPKT(4) | LI(1) | code 0xD0 (1) | DST-REF(2) | SRC-REF(2) |
//! class(1) | [RDP_NEG_RSP or RDP_NEG_FAILURE: type(1) flags(1) length(2, LE) value(4, LE)]`.

use std::fmt;

use ironrdp_pdu::nego;
use ironrdp_pdu::x224::X224;

use crate::sniff::Sniffed;
use crate::tpkt::{self, TpktError};

/// TPDU code of a Connection Request.
pub const TPDU_CONNECTION_REQUEST: u8 = 0xe0;
/// TPDU code of a Connection Confirm.
pub const TPDU_CONNECTION_CONFIRM: u8 = 0xd0;
/// TPDU code of a Disconnect Request.
pub const TPDU_DISCONNECT_REQUEST: u8 = 0x80;
/// TPDU code of a Data TPDU.
pub const TPDU_DATA: u8 = 0xf0;
/// TPDU code of an Error TPDU.
pub const TPDU_ERROR: u8 = 0x70;

/// RDP_NEG_REQ type.
pub const TYPE_RDP_NEG_REQ: u8 = 0x01;
/// RDP_NEG_RSP type.
pub const TYPE_RDP_NEG_RSP: u8 = 0x02;
/// RDP_NEG_FAILURE type.
pub const TYPE_RDP_NEG_FAILURE: u8 = 0x03;

/// requestedProtocols / selectedProtocol bits (MS-RDPBCGR 2.2.1.1.1).
pub mod protocol {
    /// PROTOCOL_RDP: Standard RDP Security (no bit set).
    pub const RDP: u32 = 0;
    /// PROTOCOL_SSL: TLS.
    pub const SSL: u32 = 0x1;
    /// PROTOCOL_HYBRID: CredSSP (NLA).
    pub const HYBRID: u32 = 0x2;
    /// PROTOCOL_RDSTLS.
    pub const RDSTLS: u32 = 0x4;
    /// PROTOCOL_HYBRID_EX: CredSSP with the Early User Authorization Result PDU.
    pub const HYBRID_EX: u32 = 0x8;
    /// PROTOCOL_RDSAAD: Entra ID authentication.
    pub const RDSAAD: u32 = 0x10;
}

/// RDP_NEG_REQ flags (MS-RDPBCGR 2.2.1.1.1).
pub mod request_flags {
    /// RESTRICTED_ADMIN_MODE_REQUIRED.
    pub const RESTRICTED_ADMIN_MODE_REQUIRED: u8 = 0x01;
    /// REDIRECTED_AUTHENTICATION_MODE_REQUIRED (Remote Credential Guard).
    pub const REDIRECTED_AUTHENTICATION_MODE_REQUIRED: u8 = 0x02;
    /// CORRELATION_INFO_PRESENT (set automatically when a correlation id is given).
    pub const CORRELATION_INFO_PRESENT: u8 = 0x08;
}

/// RDP_NEG_RSP flags (MS-RDPBCGR 2.2.1.2.1).
pub mod response_flags {
    /// EXTENDED_CLIENT_DATA_SUPPORTED.
    pub const EXTENDED_CLIENT_DATA_SUPPORTED: u8 = 0x01;
    /// DYNVC_GFX_PROTOCOL_SUPPORTED.
    pub const DYNVC_GFX_PROTOCOL_SUPPORTED: u8 = 0x02;
    /// NEGRSP_FLAG_RESERVED.
    pub const RESERVED: u8 = 0x04;
    /// RESTRICTED_ADMIN_MODE_SUPPORTED.
    pub const RESTRICTED_ADMIN_MODE_SUPPORTED: u8 = 0x08;
    /// REDIRECTED_AUTHENTICATION_MODE_SUPPORTED.
    pub const REDIRECTED_AUTHENTICATION_MODE_SUPPORTED: u8 = 0x10;

    /// Names of the set bits, unknown bits as `0x..`.
    pub fn names(flags: u8) -> Vec<String> {
        const NAMES: [(u8, &str); 5] = [
            (
                EXTENDED_CLIENT_DATA_SUPPORTED,
                "EXTENDED_CLIENT_DATA_SUPPORTED",
            ),
            (DYNVC_GFX_PROTOCOL_SUPPORTED, "DYNVC_GFX_PROTOCOL_SUPPORTED"),
            (RESERVED, "NEGRSP_FLAG_RESERVED"),
            (
                RESTRICTED_ADMIN_MODE_SUPPORTED,
                "RESTRICTED_ADMIN_MODE_SUPPORTED",
            ),
            (
                REDIRECTED_AUTHENTICATION_MODE_SUPPORTED,
                "REDIRECTED_AUTHENTICATION_MODE_SUPPORTED",
            ),
        ];
        let mut out: Vec<String> = NAMES
            .iter()
            .filter(|(bit, _)| flags & bit != 0)
            .map(|(_, n)| (*n).to_owned())
            .collect();
        let unknown = flags & !0x1f;
        if unknown != 0 {
            out.push(format!("{unknown:#04x}"));
        }
        out
    }
}

/// RDP_NEG_FAILURE codes (MS-RDPBCGR 2.2.1.2.2).
pub mod failure_code {
    /// SSL_REQUIRED_BY_SERVER.
    pub const SSL_REQUIRED_BY_SERVER: u32 = 1;
    /// SSL_NOT_ALLOWED_BY_SERVER.
    pub const SSL_NOT_ALLOWED_BY_SERVER: u32 = 2;
    /// SSL_CERT_NOT_ON_SERVER.
    pub const SSL_CERT_NOT_ON_SERVER: u32 = 3;
    /// INCONSISTENT_FLAGS.
    pub const INCONSISTENT_FLAGS: u32 = 4;
    /// HYBRID_REQUIRED_BY_SERVER.
    pub const HYBRID_REQUIRED_BY_SERVER: u32 = 5;
    /// SSL_WITH_USER_AUTH_REQUIRED_BY_SERVER.
    pub const SSL_WITH_USER_AUTH_REQUIRED_BY_SERVER: u32 = 6;
    /// ENTRA_AUTH_REQUIRED_BY_SERVER (name as in ironrdp-pdu; newer servers).
    pub const ENTRA_AUTH_REQUIRED_BY_SERVER: u32 = 7;

    /// Spec name of a failure code, if known.
    pub fn name(code: u32) -> Option<&'static str> {
        Some(match code {
            1 => "SSL_REQUIRED_BY_SERVER",
            2 => "SSL_NOT_ALLOWED_BY_SERVER",
            3 => "SSL_CERT_NOT_ON_SERVER",
            4 => "INCONSISTENT_FLAGS",
            5 => "HYBRID_REQUIRED_BY_SERVER",
            6 => "SSL_WITH_USER_AUTH_REQUIRED_BY_SERVER",
            7 => "ENTRA_AUTH_REQUIRED_BY_SERVER",
            _ => return None,
        })
    }
}

/// Longest X.224 header: the length indicator is one byte and 255 is reserved.
const MAX_LI: usize = 254;
/// Fixed part of a CR/CC header after LI: code, DST-REF, SRC-REF, class.
const FIXED_PART: usize = 6;
/// Size of RDP_NEG_REQ / RSP / FAILURE.
const NEG_LEN: usize = 8;
/// Size of RDP_NEG_CORRELATION_INFO.
const CORRELATION_INFO_LEN: usize = 36;
const COOKIE_PREFIX: &str = "Cookie: mstshash=";

/// The client's X.224 Connection Request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnectionRequest {
    /// `Cookie: mstshash=NAME\r\n` (mstsc puts the user name here; brokers route on it).
    /// Printable ASCII only.
    pub cookie: Option<String>,
    /// `None`: a legacy request without RDP_NEG_REQ (what pre-RDP-5.2 clients send; servers
    /// answer with a CC without negotiation data and Standard RDP Security).
    pub negotiation: Option<NegotiationRequest>,
}

/// The RDP_NEG_REQ part of a Connection Request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NegotiationRequest {
    /// requestedProtocols: any u32, unknown bits included (see [`protocol`]).
    pub requested_protocols: u32,
    /// RDP_NEG_REQ flags (see [`request_flags`]); CORRELATION_INFO_PRESENT is derived from
    /// `correlation_id`.
    pub flags: u8,
    /// RDP_NEG_CORRELATION_INFO id. The spec asks that the first byte be neither 0x00 nor
    /// 0xF4 and that no byte be 0x0D; this is not enforced, so odd ids can be tested.
    pub correlation_id: Option<[u8; 16]>,
}

impl ConnectionRequest {
    /// A request for `requested_protocols`, no cookie, no flags.
    pub fn new(requested_protocols: u32) -> Self {
        Self {
            cookie: None,
            negotiation: Some(NegotiationRequest {
                requested_protocols,
                flags: 0,
                correlation_id: None,
            }),
        }
    }

    /// Add `Cookie: mstshash=NAME`.
    pub fn with_cookie(mut self, name: impl Into<String>) -> Self {
        self.cookie = Some(name.into());
        self
    }

    /// Encode into TPKT + X.224 CR bytes.
    pub fn encode(&self) -> Result<Vec<u8>, EncodeError> {
        if let Some(c) = &self.cookie
            && !c.bytes().all(|b| (0x20..0x7f).contains(&b))
        {
            return Err(EncodeError::CookieNotPrintable);
        }
        let cookie_len = self
            .cookie
            .as_ref()
            .map_or(0, |c| COOKIE_PREFIX.len() + c.len() + 2);
        let neg_len = self.negotiation.as_ref().map_or(0, |n| {
            NEG_LEN + n.correlation_id.map_or(0, |_| CORRELATION_INFO_LEN)
        });
        let li = FIXED_PART + cookie_len + neg_len;
        if li > MAX_LI {
            return Err(EncodeError::TooLong { li });
        }
        match &self.negotiation {
            Some(n) => {
                let pdu = nego::ConnectionRequest {
                    nego_data: self.cookie.clone().map(nego::NegoRequestData::cookie),
                    flags: nego::RequestFlags::from_bits_retain(
                        n.flags & !request_flags::CORRELATION_INFO_PRESENT,
                    ),
                    protocol: nego::SecurityProtocol::from_bits_retain(n.requested_protocols),
                    correlation_info: n
                        .correlation_id
                        .map(|correlation_id| nego::CorrelationInfo { correlation_id }),
                };
                ironrdp_core::encode_vec(&X224(pdu))
                    .map_err(|e| EncodeError::Ironrdp(e.to_string()))
            }
            None => {
                // ironrdp-pdu always appends RDP_NEG_REQ, so the legacy form is written here.
                let total = tpkt::HEADER_LEN + 1 + li;
                let mut out = Vec::with_capacity(total);
                out.extend_from_slice(&[tpkt::VERSION, 0]);
                out.extend_from_slice(&(total as u16).to_be_bytes());
                out.push(li as u8);
                out.extend_from_slice(&[TPDU_CONNECTION_REQUEST, 0, 0, 0, 0, 0]);
                if let Some(c) = &self.cookie {
                    out.extend_from_slice(COOKIE_PREFIX.as_bytes());
                    out.extend_from_slice(c.as_bytes());
                    out.extend_from_slice(b"\r\n");
                }
                Ok(out)
            }
        }
    }
}

/// Why a Connection Request could not be encoded.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    /// The cookie has a byte outside printable ASCII (a CR/LF would end it early).
    #[error("the mstshash cookie must be printable ASCII")]
    CookieNotPrintable,
    /// The X.224 header would exceed 254 bytes (the length indicator is one byte).
    #[error("X.224 header of {li} bytes exceeds 254 (cookie too long)")]
    TooLong {
        /// The header length the request would need.
        li: usize,
    },
    /// ironrdp-pdu refused to encode.
    #[error("ironrdp-pdu encode error: {0}")]
    Ironrdp(String),
}

/// The server's Connection Confirm, as received.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnectionConfirm {
    /// Bytes of the TPKT frame that held the CC (bytes after it are not consumed).
    pub frame_len: usize,
    /// X.224 length indicator.
    pub li: u8,
    /// DST-REF (echo of the client's SRC-REF, normally 0).
    pub dst_ref: u16,
    /// SRC-REF: 0x1234 from Windows and xrdp, 0 from FreeRDP-based servers (see
    /// [`ServerFamily`]).
    pub src_ref: u16,
    /// Class and options byte (0 for class 0).
    pub class_option: u8,
    /// The RDP negotiation answer.
    pub negotiation: NegotiationAnswer,
    /// Bytes inside the X.224 header after the negotiation structure (0 from known servers).
    pub extra_header_bytes: usize,
    /// Bytes after the X.224 header inside the TPKT frame (0 from known servers).
    pub user_data_len: usize,
}

impl ConnectionConfirm {
    /// Which server family the source reference points to.
    pub fn server_family(&self) -> ServerFamily {
        ServerFamily::from_src_ref(self.src_ref)
    }
}

/// What the Connection Confirm's source reference says about the server software.
///
/// Every Windows server in the shared captures (Server 2003-era, 2008 R2, a current build)
/// answers SRC-REF 0x1234, and xrdp copies that value; FreeRDP's server library (shadow
/// server, proxy, Weston's and GNOME's RDP backends) answers 0. So 0x1234 alone does **not**
/// identify xrdp: combine it with the negotiation behaviour (xrdp never selects HYBRID).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ServerFamily {
    /// SRC-REF 0x1234: Windows (termsrv) or xrdp.
    WindowsOrXrdp,
    /// SRC-REF 0: a server built on FreeRDP's libfreerdp-server.
    FreeRdp,
    /// Any other value: an unusual implementation or a middlebox.
    Other(u16),
}

impl ServerFamily {
    /// Family for a SRC-REF value.
    pub fn from_src_ref(src_ref: u16) -> Self {
        match src_ref {
            0x1234 => ServerFamily::WindowsOrXrdp,
            0 => ServerFamily::FreeRdp,
            other => ServerFamily::Other(other),
        }
    }
}

/// The negotiation part of a Connection Confirm.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NegotiationAnswer {
    /// RDP_NEG_RSP: `selected` kept raw (it can be a value no spec names, e.g. 0x3).
    Response {
        /// RDP_NEG_RSP flags.
        flags: u8,
        /// selectedProtocol.
        selected: u32,
    },
    /// RDP_NEG_FAILURE with its code (see [`failure_code`]).
    Failure {
        /// Flags byte (0 from known servers).
        flags: u8,
        /// failureCode.
        code: u32,
    },
    /// No RDP_NEG data: a server that knows only Standard RDP Security (or ignored the request).
    None,
}

impl fmt::Display for NegotiationAnswer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            NegotiationAnswer::Response { flags, selected } => {
                write!(f, "RDP_NEG_RSP selected={selected:#x} flags={flags:#04x}")
            }
            NegotiationAnswer::Failure { code, .. } => write!(
                f,
                "RDP_NEG_FAILURE {} ({code:#x})",
                failure_code::name(code).unwrap_or("unknown")
            ),
            NegotiationAnswer::None => f.write_str("no RDP_NEG data"),
        }
    }
}

/// Kind of an X.224 TPDU code, for errors about unexpected replies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TpduKind {
    /// 0xE0.
    ConnectionRequest,
    /// 0xD0.
    ConnectionConfirm,
    /// 0x80: the server refused the transport connection.
    DisconnectRequest,
    /// 0xF0.
    Data,
    /// 0x70.
    Error,
    /// Anything else.
    Other,
}

impl TpduKind {
    /// Kind of a TPDU code byte (the low nibble carries credit bits in CR/CC and is ignored).
    pub fn of(code: u8) -> Self {
        match code & 0xf0 {
            TPDU_CONNECTION_REQUEST => TpduKind::ConnectionRequest,
            TPDU_CONNECTION_CONFIRM => TpduKind::ConnectionConfirm,
            TPDU_DISCONNECT_REQUEST => TpduKind::DisconnectRequest,
            TPDU_DATA => TpduKind::Data,
            TPDU_ERROR => TpduKind::Error,
            _ => TpduKind::Other,
        }
    }
}

/// Why bytes are not a usable Connection Confirm.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ConfirmError {
    /// The bytes are not TPKT at all (see [`Sniffed`] for what they look like), or the TPKT
    /// header is invalid.
    #[error(transparent)]
    Tpkt(#[from] TpktError),
    /// The TPKT frame is not complete yet.
    #[error("incomplete TPKT frame: {needed} more bytes needed")]
    Incomplete {
        /// Bytes still missing.
        needed: usize,
    },
    /// The length indicator does not fit the frame or is too small for a CC header.
    #[error("X.224 length indicator {li} is invalid for a {frame_len}-byte frame")]
    LengthIndicator {
        /// LI as received.
        li: u8,
        /// TPKT length.
        frame_len: usize,
    },
    /// A valid TPDU, but not a Connection Confirm (a Disconnect Request means "refused").
    #[error("expected an X.224 Connection Confirm, got TPDU code {code:#04x} ({kind:?})")]
    UnexpectedTpdu {
        /// The TPDU code byte.
        code: u8,
        /// Its kind.
        kind: TpduKind,
    },
    /// The header has 1 to 7 bytes of negotiation data: too short for RDP_NEG_*.
    #[error("truncated RDP_NEG structure ({0} bytes)")]
    TruncatedNegotiation(usize),
    /// RDP_NEG data with a type that is neither RSP (2) nor FAILURE (3).
    #[error("unknown RDP_NEG type {0:#04x}")]
    UnknownNegotiationType(u8),
    /// RDP_NEG_RSP / FAILURE with a length field other than 8.
    #[error("RDP_NEG length field is {0}, expected 8")]
    NegotiationLength(u16),
}

impl ConfirmError {
    /// What the bytes look like when they are not RDP at all.
    pub fn looks_like(&self) -> Option<&Sniffed> {
        match self {
            ConfirmError::Tpkt(TpktError::NotTpkt { looks_like, .. }) => Some(looks_like),
            _ => None,
        }
    }
}

/// Decode the Connection Confirm at the start of `buf` (extra bytes after the frame are
/// ignored; see [`ConnectionConfirm::frame_len`]).
pub fn decode_confirm(buf: &[u8]) -> Result<ConnectionConfirm, ConfirmError> {
    let frame_len = match tpkt::frame(buf)? {
        tpkt::Frame::Need(needed) => return Err(ConfirmError::Incomplete { needed }),
        tpkt::Frame::Complete(n) => n,
    };
    let tpdu = &buf[tpkt::HEADER_LEN..frame_len];
    // tpkt::frame guarantees at least 3 TPDU bytes.
    let li = tpdu[0];
    let code = tpdu[1];
    let header_len = usize::from(li) + 1;
    if li == 0xff || header_len > tpdu.len() {
        return Err(ConfirmError::LengthIndicator { li, frame_len });
    }
    let kind = TpduKind::of(code);
    if kind != TpduKind::ConnectionConfirm {
        return Err(ConfirmError::UnexpectedTpdu { code, kind });
    }
    if usize::from(li) < FIXED_PART {
        return Err(ConfirmError::LengthIndicator { li, frame_len });
    }
    let dst_ref = u16::from_be_bytes([tpdu[2], tpdu[3]]);
    let src_ref = u16::from_be_bytes([tpdu[4], tpdu[5]]);
    let class_option = tpdu[6];
    let variable = &tpdu[1 + FIXED_PART..header_len];
    let (negotiation, extra_header_bytes) = match variable.len() {
        0 => (NegotiationAnswer::None, 0),
        n if n < NEG_LEN => return Err(ConfirmError::TruncatedNegotiation(n)),
        n => {
            let ty = variable[0];
            let flags = variable[1];
            let length = u16::from_le_bytes([variable[2], variable[3]]);
            let value = u32::from_le_bytes([variable[4], variable[5], variable[6], variable[7]]);
            if !matches!(ty, TYPE_RDP_NEG_RSP | TYPE_RDP_NEG_FAILURE) {
                return Err(ConfirmError::UnknownNegotiationType(ty));
            }
            if usize::from(length) != NEG_LEN {
                return Err(ConfirmError::NegotiationLength(length));
            }
            let answer = if ty == TYPE_RDP_NEG_RSP {
                NegotiationAnswer::Response {
                    flags,
                    selected: value,
                }
            } else {
                NegotiationAnswer::Failure { flags, code: value }
            };
            (answer, n - NEG_LEN)
        }
    };
    Ok(ConnectionConfirm {
        frame_len,
        li,
        dst_ref,
        src_ref,
        class_option,
        negotiation,
        extra_header_bytes,
        user_data_len: tpdu.len() - header_len,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn h(s: &str) -> Vec<u8> {
        hex::decode(s).unwrap()
    }

    #[test]
    fn encodes_the_lab_request() {
        // LAB.md: the 19-byte CR sslscan/sslyze/x224probe send (req=3).
        assert_eq!(
            ConnectionRequest::new(3).encode().unwrap(),
            h("030000130ee000000000000100080003000000")
        );
        // rdp-no-cookie-mstshash.pcap frame 7: req=0xb, no cookie.
        assert_eq!(
            ConnectionRequest::new(0xb).encode().unwrap(),
            h("030000130ee00000000000010008000b000000")
        );
    }

    #[test]
    fn encodes_cookie_flags_and_correlation_info() {
        let req = ConnectionRequest::new(3).with_cookie("AWAKECODI");
        let bytes = req.encode().unwrap();
        let expected = [
            &h("0300002f2ae00000000000")[..],
            b"Cookie: mstshash=AWAKECODI\r\n",
            &h("0100080003000000"),
        ]
        .concat();
        assert_eq!(bytes, expected);

        let req = ConnectionRequest {
            cookie: None,
            negotiation: Some(NegotiationRequest {
                requested_protocols: 0xb,
                flags: request_flags::RESTRICTED_ADMIN_MODE_REQUIRED,
                correlation_id: Some([0x11; 16]),
            }),
        };
        let bytes = req.encode().unwrap();
        assert_eq!(bytes.len(), 19 + 36);
        assert_eq!(bytes[11], TYPE_RDP_NEG_REQ);
        assert_eq!(bytes[12], 0x09, "CORRELATION_INFO_PRESENT is added");
        assert_eq!(&bytes[19..23], &[0x06, 0x00, 0x24, 0x00]);
    }

    #[test]
    fn encodes_legacy_request_without_negotiation() {
        let req = ConnectionRequest {
            cookie: None,
            negotiation: None,
        };
        assert_eq!(req.encode().unwrap(), h("0300000b06e00000000000"));
        let req = ConnectionRequest {
            cookie: Some("JOHN-PC".into()),
            negotiation: None,
        };
        let b = req.encode().unwrap();
        assert_eq!(b.len(), 11 + 17 + 7 + 2);
        assert_eq!(usize::from(b[4]), b.len() - 5);
    }

    #[test]
    fn rejects_bad_cookies() {
        assert_eq!(
            ConnectionRequest::new(3).with_cookie("a\r\nb").encode(),
            Err(EncodeError::CookieNotPrintable)
        );
        assert!(matches!(
            ConnectionRequest::new(3)
                .with_cookie("x".repeat(300))
                .encode(),
            Err(EncodeError::TooLong { .. })
        ));
        // The longest cookie that fits: 254 - 6 - 8 - 17 - 2 = 221 bytes.
        let b = ConnectionRequest::new(3)
            .with_cookie("x".repeat(221))
            .encode()
            .unwrap();
        assert_eq!(b[4], 254);
    }

    #[test]
    fn decodes_xrdp_and_freerdp_confirms() {
        // LAB.md §1: xrdp negotiate, req=1.
        let cc = decode_confirm(&h("030000130ed000001234000201080001000000")).unwrap();
        assert_eq!(cc.src_ref, 0x1234);
        assert_eq!(cc.server_family(), ServerFamily::WindowsOrXrdp);
        assert_eq!(
            cc.negotiation,
            NegotiationAnswer::Response {
                flags: 0x01,
                selected: 1
            }
        );
        assert_eq!(cc.frame_len, 19);
        // LAB.md §2a: FreeRDP shadow, HYBRID, flags 0x03, source ref 0.
        let cc = decode_confirm(&h("030000130ed000000000000203080002000000")).unwrap();
        assert_eq!(cc.src_ref, 0);
        assert_eq!(cc.server_family(), ServerFamily::FreeRdp);
        assert_eq!(
            cc.negotiation,
            NegotiationAnswer::Response {
                flags: 0x03,
                selected: 2
            }
        );
        // xrdp failure: SSL_REQUIRED_BY_SERVER.
        let cc = decode_confirm(&h("030000130ed000001234000300080001000000")).unwrap();
        assert_eq!(
            cc.negotiation,
            NegotiationAnswer::Failure { flags: 0, code: 1 }
        );
        assert_eq!(
            cc.negotiation.to_string(),
            "RDP_NEG_FAILURE SSL_REQUIRED_BY_SERVER (0x1)"
        );
        // xrdp --nonego: no negotiation data.
        let cc = decode_confirm(&h("0300000b06d00000123400")).unwrap();
        assert_eq!(cc.negotiation, NegotiationAnswer::None);
        assert_eq!(cc.frame_len, 11);
    }

    #[test]
    fn keeps_unknown_selected_protocol() {
        let cc = decode_confirm(&h("030000130ed000000000000200080003000000")).unwrap();
        assert_eq!(
            cc.negotiation,
            NegotiationAnswer::Response {
                flags: 0,
                selected: 3
            }
        );
    }

    #[test]
    fn agrees_with_ironrdp() {
        for s in [
            "030000130ed000001234000201080001000000",
            "030000130ed000000000000203080002000000",
            "030000130ed000001234000300080001000000",
            "030000130ed00000123400021f080008000000",
            "0300000b06d00000123400",
        ] {
            let b = h(s);
            let ours = decode_confirm(&b).unwrap();
            let theirs = ironrdp_core::decode::<X224<nego::ConnectionConfirm>>(&b)
                .unwrap()
                .0;
            match (ours.negotiation, theirs) {
                (
                    NegotiationAnswer::Response { flags, selected },
                    nego::ConnectionConfirm::Response {
                        flags: f,
                        protocol: p,
                    },
                ) => {
                    assert_eq!(flags, f.bits());
                    assert_eq!(selected, p.bits());
                }
                (
                    NegotiationAnswer::Failure { code, .. },
                    nego::ConnectionConfirm::Failure { code: c },
                ) => {
                    assert_eq!(code, u32::from(c));
                }
                (
                    NegotiationAnswer::None,
                    nego::ConnectionConfirm::Response { flags, protocol },
                ) => {
                    assert!(flags.is_empty() && protocol.is_empty());
                }
                (a, b) => panic!("{s}: {a:?} vs {b:?}"),
            }
        }
    }

    #[test]
    fn names_non_rdp_replies() {
        let e = decode_confirm(b"HTTP/1.1 400 Bad Request\r\n\r\n").unwrap_err();
        assert!(matches!(e.looks_like(), Some(Sniffed::Http { .. })));
        let e = decode_confirm(b"SSH-2.0-OpenSSH_9.2p1\r\n").unwrap_err();
        assert_eq!(e.looks_like().map(Sniffed::kind), Some("ssh"));
        let e = decode_confirm(&[0x15, 0x03, 0x01, 0x00, 0x02, 0x02, 0x28]).unwrap_err();
        assert!(matches!(
            e.looks_like(),
            Some(Sniffed::TlsAlert {
                description: 40,
                ..
            })
        ));
    }

    #[test]
    fn structural_errors() {
        // Disconnect Request.
        assert_eq!(
            decode_confirm(&h("0300000b06800000000000")),
            Err(ConfirmError::UnexpectedTpdu {
                code: 0x80,
                kind: TpduKind::DisconnectRequest
            })
        );
        // MCS DisconnectProviderUltimatum in a Data TPDU (xrdp with a weak certificate).
        assert!(matches!(
            decode_confirm(&h("0300000902f0802180")),
            Err(ConfirmError::UnexpectedTpdu {
                kind: TpduKind::Data,
                ..
            })
        ));
        assert_eq!(
            decode_confirm(&h("030000130ed00000")),
            Err(ConfirmError::Incomplete { needed: 11 })
        );
        // LI larger than the frame.
        assert!(matches!(
            decode_confirm(&h("030000130fd000001234000201080001000000")),
            Err(ConfirmError::LengthIndicator { li: 15, .. })
        ));
        // LI too small for a CC.
        assert!(matches!(
            decode_confirm(&h("0300000804d00000")),
            Err(ConfirmError::LengthIndicator { li: 4, .. })
        ));
        assert_eq!(
            decode_confirm(&h("0300000e09d00000000000020108")),
            Err(ConfirmError::TruncatedNegotiation(3))
        );
        assert_eq!(
            decode_confirm(&h("030000130ed000000000000900080001000000")),
            Err(ConfirmError::UnknownNegotiationType(9))
        );
        assert_eq!(
            decode_confirm(&h("030000130ed000000000000200090001000000")),
            Err(ConfirmError::NegotiationLength(9))
        );
    }

    #[test]
    fn extra_bytes_are_counted_not_rejected() {
        let cc = decode_confirm(&h("030000150fd00000000000020008000100000000ab")).unwrap();
        assert_eq!(cc.extra_header_bytes, 1);
        assert_eq!(cc.user_data_len, 1);
    }

    proptest! {
        #[test]
        fn decoder_never_panics(buf in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = decode_confirm(&buf);
        }

        #[test]
        fn decoder_never_panics_on_tpkt_shaped_input(
            li in any::<u8>(), code in any::<u8>(), rest in proptest::collection::vec(any::<u8>(), 0..40)
        ) {
            let len = 6 + rest.len();
            let mut buf = vec![3, 0, (len >> 8) as u8, len as u8, li, code];
            buf.extend_from_slice(&rest);
            if let Ok(cc) = decode_confirm(&buf) {
                prop_assert_eq!(cc.frame_len, len);
                prop_assert!(usize::from(cc.li) + 5 <= len);
            }
        }

        #[test]
        fn response_round_trip(flags in any::<u8>(), selected in any::<u32>(), src in any::<u16>()) {
            let mut b = vec![3, 0, 0, 19, 14, 0xd0, 0, 0];
            b.extend_from_slice(&src.to_be_bytes());
            b.extend_from_slice(&[0, 2, flags, 8, 0]);
            b.extend_from_slice(&selected.to_le_bytes());
            let cc = decode_confirm(&b).unwrap();
            prop_assert_eq!(cc.src_ref, src);
            prop_assert_eq!(cc.negotiation, NegotiationAnswer::Response { flags, selected });
        }

        #[test]
        fn request_encodes_what_ironrdp_decodes(
            req in any::<u32>(), flags in 0u8..4, cookie in proptest::option::of("[A-Za-z0-9\\\\.-]{0,40}")
        ) {
            let r = ConnectionRequest {
                cookie: cookie.clone(),
                negotiation: Some(NegotiationRequest { requested_protocols: req, flags, correlation_id: None }),
            };
            let b = r.encode().unwrap();
            prop_assert_eq!(tpkt::frame(&b), Ok(tpkt::Frame::Complete(b.len())));
            let d = ironrdp_core::decode::<X224<nego::ConnectionRequest>>(&b).unwrap().0;
            prop_assert_eq!(d.protocol.bits(), req);
            prop_assert_eq!(d.flags.bits(), flags);
            let got_cookie = match d.nego_data {
                Some(nego::NegoRequestData::Cookie(c)) => Some(c.0),
                _ => None,
            };
            prop_assert_eq!(got_cookie, cookie);
        }
    }
}
