//! CredSSP TSRequest (MS-CSSP 2.2.1), DER-encoded, sent inside the TLS channel.
//!
//! ```text
//! TSRequest ::= SEQUENCE {
//!     version     [0] INTEGER,
//!     negoTokens  [1] NegoData     OPTIONAL,   -- SEQUENCE OF SEQUENCE { negoToken [0] OCTET STRING }
//!     authInfo    [2] OCTET STRING OPTIONAL,
//!     pubKeyAuth  [3] OCTET STRING OPTIONAL,
//!     errorCode   [4] INTEGER      OPTIONAL,   -- an NTSTATUS
//!     clientNonce [5] OCTET STRING OPTIONAL }
//! ```
//!
//! Encoding is strict DER. Decoding is lenient where real servers differ and strict where the
//! structure is broken: fields may come in any order and unknown `[6]`+ fields are skipped, the
//! errorCode INTEGER may be negative or carry a sign octet (NTSTATUS 0xC000006D arrives as
//! `02 04 c0 00 00 6d`), non-minimal lengths are accepted; but lengths must fit, tags must be
//! the expected ones, fields must not repeat and the whole message is capped at
//! [`MAX_MESSAGE_LEN`]. The schema is fixed and walked without recursion, so nesting is at most
//! five levels whatever the input says; deeper or unexpected structures are rejected as
//! unexpected tags, never descended into.

use crate::Frame;
use crate::der::{self, DerError, TAG_INTEGER, TAG_OCTET_STRING, TAG_SEQUENCE, context};
use crate::sniff::{Sniffed, sniff};

/// Largest TSRequest accepted: a server's answer carries one NTLM CHALLENGE or Kerberos
/// AP-REP (a few KiB at most), so 64 KiB bounds what a hostile peer can make us buffer.
pub const MAX_MESSAGE_LEN: usize = 64 * 1024;
/// Most negoTokens accepted (real messages carry one).
pub const MAX_NEGO_TOKENS: usize = 16;
/// CredSSP version current Windows and FreeRDP speak (5 and 6 carry the CVE-2018-0886 fix).
pub const CURRENT_VERSION: u32 = 6;

/// A TSRequest.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TsRequest {
    /// version: 2..6 on the wire today; kept as received.
    pub version: u32,
    /// negoTokens, in order (SPNEGO or raw NTLM/Kerberos tokens).
    pub nego_tokens: Vec<Vec<u8>>,
    /// authInfo (encrypted TSCredentials).
    pub auth_info: Option<Vec<u8>>,
    /// pubKeyAuth (encrypted public key or its hash).
    pub pub_key_auth: Option<Vec<u8>>,
    /// errorCode: an NTSTATUS (e.g. 0xC000006D STATUS_LOGON_FAILURE), as the u32 Windows shows.
    pub error_code: Option<u32>,
    /// clientNonce (32 bytes from version 5 on; length kept as received).
    pub client_nonce: Option<Vec<u8>>,
}

/// Why bytes are not a usable TSRequest.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TsRequestError {
    /// The first byte is not a SEQUENCE: the peer is speaking something else (xrdp answers a
    /// TSRequest with a TPKT frame, for instance).
    #[error("not a TSRequest: the peer sent {looks_like}")]
    NotTsRequest {
        /// What the bytes look like.
        looks_like: Sniffed,
    },
    /// The announced size is above [`MAX_MESSAGE_LEN`].
    #[error("TSRequest of {len} bytes exceeds the {max}-byte limit")]
    TooLarge {
        /// Announced size.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A DER-level error inside a field.
    #[error("{field}: {error}")]
    Der {
        /// Which field.
        field: &'static str,
        /// What was wrong.
        error: DerError,
    },
    /// A field has another tag than the schema allows.
    #[error("{field}: expected tag {expected:#04x}, found {found:#04x}")]
    UnexpectedTag {
        /// Which field.
        field: &'static str,
        /// Expected tag.
        expected: u8,
        /// Found tag.
        found: u8,
    },
    /// A field appears twice.
    #[error("{0} appears twice")]
    Duplicate(&'static str),
    /// No `[0] version`.
    #[error("version is missing")]
    MissingVersion,
    /// An INTEGER that is empty, too long, or out of range for the field.
    #[error("{0}: INTEGER out of range")]
    BadInteger(&'static str),
    /// More than [`MAX_NEGO_TOKENS`] tokens.
    #[error("more than {max} negoTokens")]
    TooManyTokens {
        /// The limit.
        max: usize,
    },
    /// Bytes after a field's single element, or after the TSRequest itself.
    #[error("{0}: unexpected trailing bytes")]
    Trailing(&'static str),
}

/// The prefix reader for a TLS stream: how many bytes the TSRequest at the start of `buf`
/// needs, checked against [`MAX_MESSAGE_LEN`] before anything is buffered.
pub fn frame(buf: &[u8]) -> Result<Frame, TsRequestError> {
    if let Some(&first) = buf.first()
        && first != TAG_SEQUENCE
    {
        return Err(TsRequestError::NotTsRequest {
            looks_like: sniff(buf),
        });
    }
    der::frame(buf, MAX_MESSAGE_LEN).map_err(|error| match error {
        DerError::TooLarge { len, max } => TsRequestError::TooLarge { len, max },
        error => TsRequestError::Der {
            field: "TSRequest",
            error,
        },
    })
}

fn read<'a>(
    input: &'a [u8],
    field: &'static str,
    expected: u8,
) -> Result<(&'a [u8], &'a [u8]), TsRequestError> {
    let (tlv, rest) = der::read(input).map_err(|error| TsRequestError::Der { field, error })?;
    if tlv.tag != expected {
        return Err(TsRequestError::UnexpectedTag {
            field,
            expected,
            found: tlv.tag,
        });
    }
    Ok((tlv.value, rest))
}

/// Read exactly one element with tag `expected` filling `input`.
fn only<'a>(
    input: &'a [u8],
    field: &'static str,
    expected: u8,
) -> Result<&'a [u8], TsRequestError> {
    let (value, rest) = read(input, field, expected)?;
    if !rest.is_empty() {
        return Err(TsRequestError::Trailing(field));
    }
    Ok(value)
}

fn set<T>(slot: &mut Option<T>, value: T, field: &'static str) -> Result<(), TsRequestError> {
    if slot.replace(value).is_some() {
        return Err(TsRequestError::Duplicate(field));
    }
    Ok(())
}

impl TsRequest {
    /// A TSRequest carrying one negotiation token (the first client message).
    pub fn with_token(version: u32, token: Vec<u8>) -> Self {
        Self {
            version,
            nego_tokens: vec![token],
            ..Self::default()
        }
    }

    /// Encode as DER.
    pub fn encode(&self) -> Vec<u8> {
        let mut body = Vec::new();
        let mut explicit = |n: u8, tag: u8, value: &[u8]| {
            let mut inner = Vec::with_capacity(value.len() + 6);
            der::write_tlv(&mut inner, tag, value);
            der::write_tlv(&mut body, context(n), &inner);
        };
        explicit(
            0,
            TAG_INTEGER,
            &der::integer_content(i64::from(self.version)),
        );
        if !self.nego_tokens.is_empty() {
            let mut items = Vec::new();
            for token in &self.nego_tokens {
                let mut octets = Vec::with_capacity(token.len() + 6);
                der::write_tlv(&mut octets, TAG_OCTET_STRING, token);
                let mut tagged = Vec::with_capacity(octets.len() + 6);
                der::write_tlv(&mut tagged, context(0), &octets);
                der::write_tlv(&mut items, TAG_SEQUENCE, &tagged);
            }
            explicit(1, TAG_SEQUENCE, &items);
        }
        if let Some(v) = &self.auth_info {
            explicit(2, TAG_OCTET_STRING, v);
        }
        if let Some(v) = &self.pub_key_auth {
            explicit(3, TAG_OCTET_STRING, v);
        }
        if let Some(code) = self.error_code {
            // NTSTATUS is a signed 32-bit value: 0xC000006D is written as the negative
            // INTEGER c0 00 00 6d, as Windows does.
            explicit(
                4,
                TAG_INTEGER,
                &der::integer_content(i64::from(code as i32)),
            );
        }
        if let Some(v) = &self.client_nonce {
            explicit(5, TAG_OCTET_STRING, v);
        }
        let mut out = Vec::with_capacity(body.len() + 6);
        der::write_tlv(&mut out, TAG_SEQUENCE, &body);
        out
    }

    /// Decode one complete TSRequest filling `buf` (use [`frame`] to find its end).
    pub fn decode(buf: &[u8]) -> Result<Self, TsRequestError> {
        match frame(buf)? {
            Frame::Need(needed) => {
                return Err(TsRequestError::Der {
                    field: "TSRequest",
                    error: DerError::Truncated { needed },
                });
            }
            Frame::Complete(n) if n != buf.len() => {
                return Err(TsRequestError::Trailing("TSRequest"));
            }
            Frame::Complete(_) => {}
        }
        let mut fields = only(buf, "TSRequest", TAG_SEQUENCE)?;
        let mut version = None;
        let mut tokens: Option<Vec<Vec<u8>>> = None;
        let mut out = TsRequest::default();
        let mut error_code = None;
        while !fields.is_empty() {
            let (tlv, rest) = der::read(fields).map_err(|error| TsRequestError::Der {
                field: "TSRequest field",
                error,
            })?;
            fields = rest;
            match tlv.tag {
                0xa0 => {
                    let v = only(tlv.value, "version", TAG_INTEGER)?;
                    let v = der::integer_i64(v)
                        .and_then(|v| u32::try_from(v).ok())
                        .ok_or(TsRequestError::BadInteger("version"))?;
                    set(&mut version, v, "version")?;
                }
                0xa1 => {
                    let list = decode_nego_data(tlv.value)?;
                    set(&mut tokens, list, "negoTokens")?;
                }
                0xa2 => {
                    let v = only(tlv.value, "authInfo", TAG_OCTET_STRING)?;
                    set(&mut out.auth_info, v.to_vec(), "authInfo")?;
                }
                0xa3 => {
                    let v = only(tlv.value, "pubKeyAuth", TAG_OCTET_STRING)?;
                    set(&mut out.pub_key_auth, v.to_vec(), "pubKeyAuth")?;
                }
                0xa4 => {
                    let v = only(tlv.value, "errorCode", TAG_INTEGER)?;
                    set(&mut error_code, ntstatus(v)?, "errorCode")?;
                }
                0xa5 => {
                    let v = only(tlv.value, "clientNonce", TAG_OCTET_STRING)?;
                    set(&mut out.client_nonce, v.to_vec(), "clientNonce")?;
                }
                // Context tags [6].. [30]: fields of a later CredSSP version; skipped.
                0xa6..=0xbe => {}
                found => {
                    return Err(TsRequestError::UnexpectedTag {
                        field: "TSRequest field",
                        expected: 0xa0,
                        found,
                    });
                }
            }
        }
        out.version = version.ok_or(TsRequestError::MissingVersion)?;
        out.nego_tokens = tokens.unwrap_or_default();
        out.error_code = error_code;
        Ok(out)
    }
}

/// NegoData ::= SEQUENCE OF SEQUENCE { negoToken [0] OCTET STRING }
fn decode_nego_data(value: &[u8]) -> Result<Vec<Vec<u8>>, TsRequestError> {
    let mut items = only(value, "negoTokens", TAG_SEQUENCE)?;
    let mut tokens = Vec::new();
    while !items.is_empty() {
        if tokens.len() == MAX_NEGO_TOKENS {
            return Err(TsRequestError::TooManyTokens {
                max: MAX_NEGO_TOKENS,
            });
        }
        let (item, rest) = read(items, "NegoDataItem", TAG_SEQUENCE)?;
        items = rest;
        let tagged = only(item, "negoToken", context(0))?;
        let token = only(tagged, "negoToken", TAG_OCTET_STRING)?;
        tokens.push(token.to_vec());
    }
    Ok(tokens)
}

/// errorCode content octets → the NTSTATUS as Windows prints it. Accepts the signed 4-byte
/// form (`c0 00 00 6d`), the unsigned 5-byte form (`00 c0 00 00 6d`) and shorter values.
fn ntstatus(content: &[u8]) -> Result<u32, TsRequestError> {
    let v = der::integer_i64(content).ok_or(TsRequestError::BadInteger("errorCode"))?;
    if let Ok(signed) = i32::try_from(v) {
        Ok(signed as u32)
    } else {
        u32::try_from(v).map_err(|_| TsRequestError::BadInteger("errorCode"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ntlm::NtlmNegotiate;
    use proptest::prelude::*;

    const LAB_TSREQUEST: &str = "3037a003020106a130302e302ca02a04284e544c4d5353500001000000378208e2000000000000000000000000000000000a00614a0000000f";

    #[test]
    fn encodes_the_lab_tsrequest_byte_for_byte() {
        let req = TsRequest::with_token(6, NtlmNegotiate::default().encode());
        assert_eq!(hex::encode(req.encode()), LAB_TSREQUEST);
    }

    #[test]
    fn decodes_the_lab_tsrequest() {
        let b = hex::decode(LAB_TSREQUEST).unwrap();
        assert_eq!(frame(&b), Ok(Frame::Complete(57)));
        let r = TsRequest::decode(&b).unwrap();
        assert_eq!(r.version, 6);
        assert_eq!(r.nego_tokens, vec![NtlmNegotiate::default().encode()]);
        assert_eq!(r.error_code, None);
    }

    #[test]
    fn decodes_ntstatus_in_every_form() {
        for (content, expected) in [
            ("c000006d", 0xc000_006d),
            ("00c000006d", 0xc000_006d),
            ("ffc000006d", 0xc000_006d),
            ("c0000388", 0xc000_0388),
            ("00", 0),
            ("0103", 0x103),
        ] {
            let int = hex::decode(content).unwrap();
            let mut b = hex::decode("3000a003020106").unwrap();
            b.extend_from_slice(&[0xa4, int.len() as u8 + 2, 0x02, int.len() as u8]);
            b.extend_from_slice(&int);
            b[1] = (b.len() - 2) as u8;
            assert_eq!(
                TsRequest::decode(&b).unwrap().error_code,
                Some(expected),
                "{content}"
            );
        }
        let enc = TsRequest {
            version: 6,
            error_code: Some(0xc000_006d),
            ..Default::default()
        }
        .encode();
        assert_eq!(hex::encode(&enc), "300da003020106a4060204c000006d");
    }

    #[test]
    fn server_reply_with_nonce_and_unknown_field() {
        let reply = TsRequest {
            version: 6,
            nego_tokens: vec![b"NTLMSSP\0\x02\0\0\0".to_vec()],
            client_nonce: Some(vec![7; 32]),
            ..Default::default()
        };
        let mut b = reply.encode();
        // Append an unknown [7] field and fix the outer length.
        b.extend_from_slice(&[0xa7, 0x03, 0x02, 0x01, 0x01]);
        let body = b.len() - 2;
        b[1] = body as u8;
        let d = TsRequest::decode(&b).unwrap();
        assert_eq!(d, reply);
    }

    #[test]
    fn lenient_orders_and_lengths() {
        // errorCode before version, and a non-minimal long-form length on the outer SEQUENCE.
        let b = hex::decode(
            "308200 0e a40702050 0c000006d a003020102"
                .replace(' ', "")
                .as_str(),
        )
        .unwrap();
        let d = TsRequest::decode(&b).unwrap();
        assert_eq!(d.version, 2);
        assert_eq!(d.error_code, Some(0xc000_006d));
    }

    #[test]
    fn hostile_inputs() {
        // Not DER at all: xrdp answers with a TPKT.
        assert!(matches!(
            frame(&hex::decode("0300000902f0802180").unwrap()),
            Err(TsRequestError::NotTsRequest {
                looks_like: Sniffed::Tpkt
            })
        ));
        // Announces 16 MiB.
        assert_eq!(
            frame(&[0x30, 0x83, 0xff, 0xff, 0xff]),
            Err(TsRequestError::TooLarge {
                len: 0xff_ffff + 5,
                max: MAX_MESSAGE_LEN
            })
        );
        assert_eq!(frame(&[0x30, 0x82, 0x01]), Ok(Frame::Need(1)));
        assert_eq!(frame(&[]), Ok(Frame::Need(2)));
        assert!(matches!(
            frame(&[0x30, 0x80]),
            Err(TsRequestError::Der {
                error: DerError::IndefiniteLength,
                ..
            })
        ));
        // Missing version.
        assert_eq!(
            TsRequest::decode(&hex::decode("3000").unwrap()),
            Err(TsRequestError::MissingVersion)
        );
        // Duplicate version.
        assert_eq!(
            TsRequest::decode(&hex::decode("300aa003020106a003020106").unwrap()),
            Err(TsRequestError::Duplicate("version"))
        );
        // Negative version.
        assert_eq!(
            TsRequest::decode(&hex::decode("3005a0030201ff").unwrap()),
            Err(TsRequestError::BadInteger("version"))
        );
        // Inner length past the outer value.
        assert!(matches!(
            TsRequest::decode(&hex::decode("3005a0050201ff").unwrap()),
            Err(TsRequestError::Der {
                error: DerError::Truncated { .. },
                ..
            })
        ));
        // Trailing bytes after the TSRequest.
        assert_eq!(
            TsRequest::decode(&hex::decode("3005a00302010600").unwrap()),
            Err(TsRequestError::Trailing("TSRequest"))
        );
        // A universal tag where a context tag belongs.
        assert!(matches!(
            TsRequest::decode(&hex::decode("3003020106").unwrap()),
            Err(TsRequestError::UnexpectedTag { found: 0x02, .. })
        ));
        // Truncated decode input.
        assert!(matches!(
            TsRequest::decode(&hex::decode(LAB_TSREQUEST).unwrap()[..30]),
            Err(TsRequestError::Der {
                error: DerError::Truncated { needed: 27 },
                ..
            })
        ));
    }

    #[test]
    fn deep_nesting_is_rejected_without_recursion() {
        // 2000 levels of [1] { [1] { ... } }: rejected at the first level that breaks the
        // schema, in constant stack.
        let mut inner = hex::decode("a003020106").unwrap();
        for _ in 0..2000 {
            let mut w = Vec::new();
            der::write_tlv(&mut w, context(1), &inner);
            inner = w;
        }
        let mut b = Vec::new();
        der::write_tlv(&mut b, TAG_SEQUENCE, &inner);
        assert!(matches!(
            TsRequest::decode(&b),
            Err(TsRequestError::UnexpectedTag {
                field: "negoTokens",
                ..
            })
        ));
    }

    #[test]
    fn token_count_is_bounded() {
        let many = TsRequest {
            version: 6,
            nego_tokens: vec![vec![1]; MAX_NEGO_TOKENS + 1],
            ..Default::default()
        };
        assert_eq!(
            TsRequest::decode(&many.encode()),
            Err(TsRequestError::TooManyTokens {
                max: MAX_NEGO_TOKENS
            })
        );
    }

    fn arb_request() -> impl Strategy<Value = TsRequest> {
        let bytes = || proptest::collection::vec(any::<u8>(), 0..300);
        (
            any::<u32>(),
            proptest::collection::vec(bytes(), 0..4),
            proptest::option::of(bytes()),
            proptest::option::of(bytes()),
            proptest::option::of(any::<u32>()),
            proptest::option::of(bytes()),
        )
            .prop_map(
                |(version, nego_tokens, auth_info, pub_key_auth, error_code, client_nonce)| {
                    TsRequest {
                        version,
                        nego_tokens,
                        auth_info,
                        pub_key_auth,
                        error_code,
                        client_nonce,
                    }
                },
            )
    }

    proptest! {
        #[test]
        fn round_trip(req in arb_request()) {
            let b = req.encode();
            prop_assert_eq!(frame(&b), Ok(Frame::Complete(b.len())));
            prop_assert_eq!(TsRequest::decode(&b).unwrap(), req);
        }

        #[test]
        fn prefixes_ask_for_more(req in arb_request(), cut in 0usize..2000) {
            let b = req.encode();
            let cut = cut % b.len();
            match frame(&b[..cut]).unwrap() {
                Frame::Need(n) => prop_assert!(n >= 1 && cut + n <= b.len()),
                Frame::Complete(_) => prop_assert!(false, "prefix reported complete"),
            }
        }

        #[test]
        fn decoder_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = frame(&bytes);
            let _ = TsRequest::decode(&bytes);
        }

        #[test]
        fn decoder_never_panics_on_mutations(req in arb_request(), pos in any::<usize>(), val in any::<u8>()) {
            let mut b = req.encode();
            let p = pos % b.len();
            b[p] = val;
            let _ = TsRequest::decode(&b);
        }
    }
}
