//! CHALLENGE_MESSAGE (MS-NLMP 2.2.1.2) decoder.
//!
//! Layout (little-endian):
//! ```text
//!  0 Signature "NTLMSSP\0"      8
//!  8 MessageType = 2            4
//! 12 TargetNameFields           8  (Len u16, MaxLen u16, BufferOffset u32)
//! 20 NegotiateFlags             4
//! 24 ServerChallenge            8
//! 32 Reserved                   8
//! 40 TargetInfoFields           8
//! 48 Version                    8  (meaningful only with NTLMSSP_NEGOTIATE_VERSION)
//! 56 Payload: TargetName, TargetInfo (AV_PAIR list ending in MsvAvEOL)
//! ```
//! Every (offset, length) is checked against the message; names are UTF-16LE decoded without
//! loss or rejected; the AV pair list is bounded.

use super::{MESSAGE_CHALLENGE, NtlmVersion, SIGNATURE, flags};

/// Largest CHALLENGE accepted. A real one is 200–400 bytes; the bound only stops a hostile
/// server from making the probe hold megabytes (the TSRequest carrying it is capped at 64 KiB
/// too).
pub const MAX_MESSAGE_LEN: usize = 64 * 1024;
/// Most AV pairs accepted before MsvAvEOL. Windows sends 6 to 8.
pub const MAX_AV_PAIRS: usize = 64;
/// Header size without VERSION.
const HEADER_LEN: usize = 48;
/// Header size with VERSION.
const HEADER_LEN_WITH_VERSION: usize = 56;

/// AV_PAIR ids (MS-NLMP 2.2.2.1).
pub mod av_id {
    /// MsvAvEOL: end of the list.
    pub const EOL: u16 = 0;
    /// MsvAvNbComputerName.
    pub const NB_COMPUTER_NAME: u16 = 1;
    /// MsvAvNbDomainName.
    pub const NB_DOMAIN_NAME: u16 = 2;
    /// MsvAvDnsComputerName.
    pub const DNS_COMPUTER_NAME: u16 = 3;
    /// MsvAvDnsDomainName.
    pub const DNS_DOMAIN_NAME: u16 = 4;
    /// MsvAvDnsTreeName.
    pub const DNS_TREE_NAME: u16 = 5;
    /// MsvAvFlags.
    pub const FLAGS: u16 = 6;
    /// MsvAvTimestamp (FILETIME).
    pub const TIMESTAMP: u16 = 7;
    /// MsvAvSingleHost.
    pub const SINGLE_HOST: u16 = 8;
    /// MsvAvTargetName.
    pub const TARGET_NAME: u16 = 9;
    /// MsvAvChannelBindings.
    pub const CHANNEL_BINDINGS: u16 = 10;
}

/// Spec name of an AV_PAIR id.
pub fn av_name(id: u16) -> Option<&'static str> {
    Some(match id {
        0 => "MsvAvEOL",
        1 => "MsvAvNbComputerName",
        2 => "MsvAvNbDomainName",
        3 => "MsvAvDnsComputerName",
        4 => "MsvAvDnsDomainName",
        5 => "MsvAvDnsTreeName",
        6 => "MsvAvFlags",
        7 => "MsvAvTimestamp",
        8 => "MsvAvSingleHost",
        9 => "MsvAvTargetName",
        10 => "MsvAvChannelBindings",
        _ => return None,
    })
}

/// A Windows FILETIME: 100-nanosecond intervals since 1601-01-01 UTC.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FileTime(pub u64);

impl FileTime {
    /// Seconds between 1601-01-01 and 1970-01-01.
    pub const UNIX_EPOCH_OFFSET_SECS: i64 = 11_644_473_600;

    /// Whole seconds since the Unix epoch (negative before 1970). Never overflows: a u64 of
    /// 100 ns ticks is at most about 1.8e12 seconds.
    pub fn unix_seconds(self) -> i64 {
        (self.0 / 10_000_000) as i64 - Self::UNIX_EPOCH_OFFSET_SECS
    }

    /// Sub-second part, in nanoseconds.
    pub fn subsec_nanos(self) -> u32 {
        ((self.0 % 10_000_000) * 100) as u32
    }

    /// The FILETIME for a Unix time (seconds, no sub-second part); `None` before 1601.
    pub fn from_unix_seconds(secs: i64) -> Option<Self> {
        let since_1601 = secs.checked_add(Self::UNIX_EPOCH_OFFSET_SECS)?;
        u64::try_from(since_1601)
            .ok()?
            .checked_mul(10_000_000)
            .map(FileTime)
    }
}

/// A decoded AV_PAIR value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AvValue {
    /// ids 1–5 and 9: a UTF-16LE name.
    Text(String),
    /// id 6: MsvAvFlags.
    Flags(u32),
    /// id 7: MsvAvTimestamp.
    Timestamp(FileTime),
    /// Any other id (kept verbatim).
    Raw(Vec<u8>),
}

/// One AV_PAIR (MsvAvEOL is not kept).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AvPair {
    /// AvId.
    pub id: u16,
    /// Decoded value.
    pub value: AvValue,
}

/// A decoded CHALLENGE message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NtlmChallenge {
    /// NegotiateFlags the server chose.
    pub flags: u32,
    /// TargetName (server or domain name, per TARGET_TYPE_* flags); `None` when empty.
    pub target_name: Option<String>,
    /// ServerChallenge nonce.
    pub server_challenge: [u8; 8],
    /// The 8 reserved bytes (non-zero from some implementations; kept for fingerprinting).
    pub reserved: [u8; 8],
    /// VERSION, when the flags announce it and the header has room for it.
    pub version: Option<NtlmVersion>,
    /// TargetInfo AV pairs in order, without MsvAvEOL.
    pub target_info: Vec<AvPair>,
}

/// Why a CHALLENGE could not be decoded.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum NtlmError {
    /// Shorter than the fixed header.
    #[error("NTLM message of {len} bytes is shorter than the {min}-byte header")]
    TooShort {
        /// Bytes present.
        len: usize,
        /// Bytes required.
        min: usize,
    },
    /// Longer than [`MAX_MESSAGE_LEN`].
    #[error("NTLM message of {len} bytes exceeds the {max}-byte limit")]
    TooLarge {
        /// Bytes present.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The first 8 bytes are not "NTLMSSP\0" (an SPNEGO-wrapped or Kerberos token, say).
    #[error("not an NTLM message (bad signature)")]
    Signature,
    /// A valid NTLM message of another type.
    #[error("NTLM message type {0}, expected 2 (CHALLENGE)")]
    MessageType(u32),
    /// A (offset, length) field points outside the message.
    #[error("{field}: {len} bytes at offset {offset} lie outside the {message_len}-byte message")]
    OutOfBounds {
        /// Which field.
        field: &'static str,
        /// BufferOffset.
        offset: u32,
        /// Len.
        len: u16,
        /// Message size.
        message_len: usize,
    },
    /// A UTF-16LE field with an odd byte count.
    #[error("{field}: odd length {len} for UTF-16")]
    OddUtf16Length {
        /// Which field.
        field: &'static str,
        /// Its length.
        len: usize,
    },
    /// A UTF-16LE field with an unpaired surrogate.
    #[error("{field}: invalid UTF-16")]
    InvalidUtf16 {
        /// Which field.
        field: &'static str,
    },
    /// An OEM (non-Unicode) TargetName with non-ASCII bytes, whose code page is unknown.
    #[error("TargetName is OEM-encoded with non-ASCII bytes")]
    NonAsciiOem,
    /// An AV pair header or value runs past the TargetInfo buffer.
    #[error("AV pair at TargetInfo offset {offset} is truncated")]
    AvPairTruncated {
        /// Offset inside TargetInfo.
        offset: usize,
    },
    /// MsvAvFlags or MsvAvTimestamp with the wrong size.
    #[error("AV pair {id} has length {len}, expected {expected}")]
    AvPairLength {
        /// AvId.
        id: u16,
        /// AvLen.
        len: u16,
        /// Required length.
        expected: u16,
    },
    /// More than [`MAX_AV_PAIRS`] pairs.
    #[error("more than {max} AV pairs")]
    TooManyAvPairs {
        /// The limit.
        max: usize,
    },
    /// TargetInfo ends without MsvAvEOL.
    #[error("TargetInfo does not end with MsvAvEOL")]
    MissingEol,
}

fn le16(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

fn le32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// A (Len, MaxLen, BufferOffset) descriptor at `at`, checked against the message.
fn field<'a>(msg: &'a [u8], at: usize, name: &'static str) -> Result<&'a [u8], NtlmError> {
    let len = le16(msg, at);
    let offset = le32(msg, at + 4);
    if len == 0 {
        return Ok(&[]);
    }
    let start = offset as usize;
    start
        .checked_add(usize::from(len))
        .and_then(|end| msg.get(start..end))
        .ok_or(NtlmError::OutOfBounds {
            field: name,
            offset,
            len,
            message_len: msg.len(),
        })
}

fn utf16(bytes: &[u8], field: &'static str) -> Result<String, NtlmError> {
    if !bytes.len().is_multiple_of(2) {
        return Err(NtlmError::OddUtf16Length {
            field,
            len: bytes.len(),
        });
    }
    char::decode_utf16(
        bytes
            .chunks_exact(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]])),
    )
    .collect::<Result<String, _>>()
    .map_err(|_| NtlmError::InvalidUtf16 { field })
}

fn av_field_name(id: u16) -> &'static str {
    av_name(id).unwrap_or("AV pair")
}

impl NtlmChallenge {
    /// Decode a CHALLENGE message (the raw NTLM token, not SPNEGO-wrapped).
    pub fn decode(msg: &[u8]) -> Result<Self, NtlmError> {
        if msg.len() > MAX_MESSAGE_LEN {
            return Err(NtlmError::TooLarge {
                len: msg.len(),
                max: MAX_MESSAGE_LEN,
            });
        }
        if msg.len() < 12 {
            return if msg.len() >= 8 && msg[..8] != SIGNATURE {
                Err(NtlmError::Signature)
            } else {
                Err(NtlmError::TooShort {
                    len: msg.len(),
                    min: HEADER_LEN,
                })
            };
        }
        if msg[..8] != SIGNATURE {
            return Err(NtlmError::Signature);
        }
        let message_type = le32(msg, 8);
        if message_type != MESSAGE_CHALLENGE {
            return Err(NtlmError::MessageType(message_type));
        }
        if msg.len() < HEADER_LEN {
            return Err(NtlmError::TooShort {
                len: msg.len(),
                min: HEADER_LEN,
            });
        }
        let flags = le32(msg, 20);
        let target_name_bytes = field(msg, 12, "TargetName")?;
        let target_info_bytes = field(msg, 40, "TargetInfo")?;

        // VERSION sits at 48..56 only when the flag is set and no payload starts before 56
        // (pre-2003 implementations put the payload right after TargetInfoFields).
        let lowest_payload = [(12, target_name_bytes), (40, target_info_bytes)]
            .iter()
            .filter(|(_, b)| !b.is_empty())
            .map(|(at, _)| le32(msg, at + 4) as usize)
            .min()
            .unwrap_or(usize::MAX);
        let version = (flags & flags::VERSION != 0
            && msg.len() >= HEADER_LEN_WITH_VERSION
            && lowest_payload >= HEADER_LEN_WITH_VERSION)
            .then(|| {
                let mut v = [0; 8];
                v.copy_from_slice(&msg[HEADER_LEN..HEADER_LEN_WITH_VERSION]);
                NtlmVersion::from_bytes(v)
            });

        let target_name = if target_name_bytes.is_empty() {
            None
        } else if flags & flags::UNICODE != 0 {
            Some(utf16(target_name_bytes, "TargetName")?)
        } else if target_name_bytes.is_ascii() {
            Some(target_name_bytes.iter().map(|&b| char::from(b)).collect())
        } else {
            return Err(NtlmError::NonAsciiOem);
        };

        let mut server_challenge = [0; 8];
        server_challenge.copy_from_slice(&msg[24..32]);
        let mut reserved = [0; 8];
        reserved.copy_from_slice(&msg[32..40]);

        Ok(Self {
            flags,
            target_name,
            server_challenge,
            reserved,
            version,
            target_info: decode_av_pairs(target_info_bytes)?,
        })
    }

    /// First value of a text AV pair.
    pub fn av_text(&self, id: u16) -> Option<&str> {
        self.target_info.iter().find_map(|p| match &p.value {
            AvValue::Text(s) if p.id == id => Some(s.as_str()),
            _ => None,
        })
    }

    /// MsvAvNbComputerName.
    pub fn netbios_computer_name(&self) -> Option<&str> {
        self.av_text(av_id::NB_COMPUTER_NAME)
    }

    /// MsvAvNbDomainName.
    pub fn netbios_domain_name(&self) -> Option<&str> {
        self.av_text(av_id::NB_DOMAIN_NAME)
    }

    /// MsvAvDnsComputerName.
    pub fn dns_computer_name(&self) -> Option<&str> {
        self.av_text(av_id::DNS_COMPUTER_NAME)
    }

    /// MsvAvDnsDomainName.
    pub fn dns_domain_name(&self) -> Option<&str> {
        self.av_text(av_id::DNS_DOMAIN_NAME)
    }

    /// MsvAvDnsTreeName (the forest).
    pub fn dns_tree_name(&self) -> Option<&str> {
        self.av_text(av_id::DNS_TREE_NAME)
    }

    /// MsvAvFlags.
    pub fn av_flags(&self) -> Option<u32> {
        self.target_info.iter().find_map(|p| match p.value {
            AvValue::Flags(f) => Some(f),
            _ => None,
        })
    }

    /// MsvAvTimestamp: the server's clock when it built the challenge.
    pub fn timestamp(&self) -> Option<FileTime> {
        self.target_info.iter().find_map(|p| match p.value {
            AvValue::Timestamp(t) => Some(t),
            _ => None,
        })
    }

    /// Encode back to bytes (header with VERSION when the flag is set, then TargetName and
    /// TargetInfo). Used by tests and fake servers; a decoded message re-encodes to an
    /// equivalent one, not necessarily the same bytes.
    pub fn encode(&self) -> Vec<u8> {
        let unicode = self.flags & flags::UNICODE != 0;
        let name: Vec<u8> = match &self.target_name {
            None => Vec::new(),
            Some(s) if unicode => s.encode_utf16().flat_map(u16::to_le_bytes).collect(),
            Some(s) => s.bytes().collect(),
        };
        let mut info = Vec::new();
        for p in &self.target_info {
            let value: Vec<u8> = match &p.value {
                AvValue::Text(s) => s.encode_utf16().flat_map(u16::to_le_bytes).collect(),
                AvValue::Flags(f) => f.to_le_bytes().to_vec(),
                AvValue::Timestamp(t) => t.0.to_le_bytes().to_vec(),
                AvValue::Raw(r) => r.clone(),
            };
            info.extend_from_slice(&p.id.to_le_bytes());
            info.extend_from_slice(&(value.len() as u16).to_le_bytes());
            info.extend_from_slice(&value);
        }
        info.extend_from_slice(&[0, 0, 0, 0]);

        let header = if self.flags & flags::VERSION != 0 {
            HEADER_LEN_WITH_VERSION
        } else {
            HEADER_LEN
        };
        let name_off = header as u32;
        let info_off = name_off + name.len() as u32;
        let mut out = Vec::with_capacity(header + name.len() + info.len());
        out.extend_from_slice(&SIGNATURE);
        out.extend_from_slice(&MESSAGE_CHALLENGE.to_le_bytes());
        for v in [name.len() as u16, name.len() as u16] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out.extend_from_slice(&name_off.to_le_bytes());
        out.extend_from_slice(&self.flags.to_le_bytes());
        out.extend_from_slice(&self.server_challenge);
        out.extend_from_slice(&self.reserved);
        for v in [info.len() as u16, info.len() as u16] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out.extend_from_slice(&info_off.to_le_bytes());
        if header == HEADER_LEN_WITH_VERSION {
            out.extend_from_slice(
                &self
                    .version
                    .unwrap_or(NtlmVersion {
                        major: 0,
                        minor: 0,
                        build: 0,
                        ntlm_revision: 0,
                    })
                    .to_bytes(),
            );
        }
        out.extend_from_slice(&name);
        out.extend_from_slice(&info);
        out
    }
}

fn decode_av_pairs(info: &[u8]) -> Result<Vec<AvPair>, NtlmError> {
    let mut pairs = Vec::new();
    if info.is_empty() {
        return Ok(pairs);
    }
    let mut at = 0;
    loop {
        let Some(header) = info.get(at..at + 4) else {
            return if at == info.len() {
                Err(NtlmError::MissingEol)
            } else {
                Err(NtlmError::AvPairTruncated { offset: at })
            };
        };
        let id = u16::from_le_bytes([header[0], header[1]]);
        let len = u16::from_le_bytes([header[2], header[3]]);
        if id == av_id::EOL {
            // Bytes after MsvAvEOL are ignored (padding from some implementations).
            return Ok(pairs);
        }
        if pairs.len() == MAX_AV_PAIRS {
            return Err(NtlmError::TooManyAvPairs { max: MAX_AV_PAIRS });
        }
        let value = info
            .get(at + 4..at + 4 + usize::from(len))
            .ok_or(NtlmError::AvPairTruncated { offset: at })?;
        let fixed = |expected: u16| {
            if len == expected {
                Ok(())
            } else {
                Err(NtlmError::AvPairLength { id, len, expected })
            }
        };
        let value = match id {
            av_id::NB_COMPUTER_NAME..=av_id::DNS_TREE_NAME | av_id::TARGET_NAME => {
                AvValue::Text(utf16(value, av_field_name(id))?)
            }
            av_id::FLAGS => {
                fixed(4)?;
                AvValue::Flags(u32::from_le_bytes([value[0], value[1], value[2], value[3]]))
            }
            av_id::TIMESTAMP => {
                fixed(8)?;
                let mut b = [0; 8];
                b.copy_from_slice(value);
                AvValue::Timestamp(FileTime(u64::from_le_bytes(b)))
            }
            _ => AvValue::Raw(value.to_vec()),
        };
        pairs.push(AvPair { id, value });
        at += 4 + usize::from(len);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// MS-NLMP 4.2.4.3 (NTLMv2 example) CHALLENGE_MESSAGE.
    const SPEC_CHALLENGE: &str = "4e544c4d53535000020000000c000c003800000033828ae20123456789abcdef00000000000000002400240044000000060070170000000f53006500720076006500720002000c0044006f006d00610069006e0001000c0053006500720076006500720000000000";

    #[test]
    fn decodes_the_spec_example() {
        let c = NtlmChallenge::decode(&hex::decode(SPEC_CHALLENGE).unwrap()).unwrap();
        assert_eq!(c.flags, 0xe28a_8233);
        assert_eq!(c.target_name.as_deref(), Some("Server"));
        assert_eq!(
            c.server_challenge,
            [0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef]
        );
        assert_eq!(
            c.version,
            Some(NtlmVersion {
                major: 6,
                minor: 0,
                build: 6000,
                ntlm_revision: 15
            })
        );
        assert_eq!(c.version.unwrap().to_string(), "6.0.6000");
        assert_eq!(c.netbios_domain_name(), Some("Domain"));
        assert_eq!(c.netbios_computer_name(), Some("Server"));
        assert_eq!(c.dns_computer_name(), None);
        assert_eq!(c.timestamp(), None);
        assert_eq!(c.target_info.len(), 2);
    }

    fn windows_like() -> NtlmChallenge {
        NtlmChallenge {
            flags: 0xe28a_8235,
            target_name: Some("CONTOSO".into()),
            server_challenge: *b"\x11\x22\x33\x44\x55\x66\x77\x88",
            reserved: [0; 8],
            version: Some(NtlmVersion {
                major: 10,
                minor: 0,
                build: 17763,
                ntlm_revision: 15,
            }),
            target_info: vec![
                AvPair {
                    id: 2,
                    value: AvValue::Text("CONTOSO".into()),
                },
                AvPair {
                    id: 1,
                    value: AvValue::Text("RDS01".into()),
                },
                AvPair {
                    id: 4,
                    value: AvValue::Text("contoso.com".into()),
                },
                AvPair {
                    id: 3,
                    value: AvValue::Text("rds01.contoso.com".into()),
                },
                AvPair {
                    id: 5,
                    value: AvValue::Text("contoso.com".into()),
                },
                // 2026-11-21T23:56:09Z
                AvPair {
                    id: 7,
                    value: AvValue::Timestamp(FileTime::from_unix_seconds(1_795_305_369).unwrap()),
                },
            ],
        }
    }

    #[test]
    fn round_trips_a_windows_like_challenge() {
        let c = windows_like();
        let bytes = c.encode();
        let d = NtlmChallenge::decode(&bytes).unwrap();
        assert_eq!(d, c);
        assert_eq!(d.dns_tree_name(), Some("contoso.com"));
        assert_eq!(d.timestamp().unwrap().unix_seconds(), 1_795_305_369);
        assert_eq!(d.timestamp().unwrap().subsec_nanos(), 0);
    }

    #[test]
    fn filetime_conversion() {
        // 1970-01-01 is 116444736000000000 ticks.
        assert_eq!(FileTime(116_444_736_000_000_000).unix_seconds(), 0);
        assert_eq!(FileTime(0).unix_seconds(), -11_644_473_600);
        assert_eq!(
            FileTime(u64::MAX).unix_seconds(),
            1_844_674_407_370 - 11_644_473_600
        );
        assert_eq!(FileTime(116_444_736_000_000_001).subsec_nanos(), 100);
        assert_eq!(FileTime::from_unix_seconds(-11_644_473_601), None);
    }

    #[test]
    fn rejects_hostile_fields() {
        let good = hex::decode(SPEC_CHALLENGE).unwrap();

        let mut b = good.clone();
        b[16..20].copy_from_slice(&0xffff_fff0u32.to_le_bytes()); // TargetName offset
        assert!(matches!(
            NtlmChallenge::decode(&b),
            Err(NtlmError::OutOfBounds {
                field: "TargetName",
                offset: 0xffff_fff0,
                ..
            })
        ));

        let mut b = good.clone();
        b[40..42].copy_from_slice(&0x0200u16.to_le_bytes()); // TargetInfo length
        assert!(matches!(
            NtlmChallenge::decode(&b),
            Err(NtlmError::OutOfBounds {
                field: "TargetInfo",
                ..
            })
        ));

        let mut b = good.clone();
        b[12..14].copy_from_slice(&11u16.to_le_bytes()); // odd UTF-16 length
        assert_eq!(
            NtlmChallenge::decode(&b),
            Err(NtlmError::OddUtf16Length {
                field: "TargetName",
                len: 11
            })
        );

        let mut b = good.clone();
        b[0x38..0x3a].copy_from_slice(&[0x00, 0xd8]); // lone high surrogate in TargetName
        assert_eq!(
            NtlmChallenge::decode(&b),
            Err(NtlmError::InvalidUtf16 {
                field: "TargetName"
            })
        );

        let mut b = good.clone();
        b[8] = 3;
        assert_eq!(NtlmChallenge::decode(&b), Err(NtlmError::MessageType(3)));

        assert_eq!(
            NtlmChallenge::decode(b"NTLMSSX\0\x02\0\0\0"),
            Err(NtlmError::Signature)
        );
        assert_eq!(
            NtlmChallenge::decode(&good[..40]),
            Err(NtlmError::TooShort { len: 40, min: 48 })
        );
        assert!(matches!(
            NtlmChallenge::decode(&vec![0; MAX_MESSAGE_LEN + 1]),
            Err(NtlmError::TooLarge { .. })
        ));
    }

    #[test]
    fn rejects_bad_av_lists() {
        let mut c = windows_like();
        c.target_info.clear();
        // Hand-made target info: one truncated pair.
        let mut bytes = c.encode();
        let n = bytes.len();
        bytes[n - 4..].copy_from_slice(&[1, 0, 50, 0]); // replaces EOL with id 1 len 50
        assert_eq!(
            NtlmChallenge::decode(&bytes),
            Err(NtlmError::AvPairTruncated { offset: 0 })
        );

        // Missing EOL: drop the 4 EOL bytes and shrink the TargetInfo length.
        let mut c = windows_like();
        c.target_info.truncate(1);
        let mut bytes = c.encode();
        bytes.truncate(bytes.len() - 4);
        let info_len = le16(&bytes, 40) - 4;
        bytes[40..42].copy_from_slice(&info_len.to_le_bytes());
        bytes[42..44].copy_from_slice(&info_len.to_le_bytes());
        assert_eq!(NtlmChallenge::decode(&bytes), Err(NtlmError::MissingEol));

        let mut c = windows_like();
        c.target_info = vec![AvPair {
            id: 7,
            value: AvValue::Raw(vec![0; 4]),
        }];
        assert_eq!(
            NtlmChallenge::decode(&c.encode()),
            Err(NtlmError::AvPairLength {
                id: 7,
                len: 4,
                expected: 8
            })
        );

        let mut c = windows_like();
        c.target_info = (0..=MAX_AV_PAIRS)
            .map(|_| AvPair {
                id: 0x99,
                value: AvValue::Raw(vec![]),
            })
            .collect();
        assert_eq!(
            NtlmChallenge::decode(&c.encode()),
            Err(NtlmError::TooManyAvPairs { max: MAX_AV_PAIRS })
        );
        c.target_info.truncate(MAX_AV_PAIRS);
        assert_eq!(
            NtlmChallenge::decode(&c.encode())
                .unwrap()
                .target_info
                .len(),
            MAX_AV_PAIRS
        );
    }

    #[test]
    fn oem_target_name_and_missing_version() {
        let mut c = windows_like();
        c.flags &= !(flags::UNICODE | flags::VERSION);
        c.flags |= flags::OEM;
        c.version = None;
        let d = NtlmChallenge::decode(&c.encode()).unwrap();
        assert_eq!(d.target_name.as_deref(), Some("CONTOSO"));
        assert_eq!(d.version, None);

        c.target_name = Some("CONTOSÖ".into());
        assert_eq!(
            NtlmChallenge::decode(&c.encode()),
            Err(NtlmError::NonAsciiOem)
        );
    }

    #[test]
    fn version_is_not_read_from_payload_bytes() {
        // VERSION flag set, but the payload starts at 48 (an old layout).
        let mut c = windows_like();
        c.flags &= !flags::VERSION;
        c.version = None;
        let mut b = c.encode();
        b[20..24].copy_from_slice(&(c.flags | flags::VERSION).to_le_bytes());
        let d = NtlmChallenge::decode(&b).unwrap();
        assert_eq!(d.version, None);
        assert_eq!(d.target_name.as_deref(), Some("CONTOSO"));
    }

    fn arb_pair() -> impl Strategy<Value = AvPair> {
        prop_oneof![
            (1u16..=5, "\\PC{0,20}").prop_map(|(id, s)| AvPair {
                id,
                value: AvValue::Text(s)
            }),
            any::<u32>().prop_map(|f| AvPair {
                id: 6,
                value: AvValue::Flags(f)
            }),
            any::<u64>().prop_map(|t| AvPair {
                id: 7,
                value: AvValue::Timestamp(FileTime(t))
            }),
            (11u16..200, proptest::collection::vec(any::<u8>(), 0..20)).prop_map(|(id, r)| {
                AvPair {
                    id,
                    value: AvValue::Raw(r),
                }
            }),
        ]
    }

    proptest! {
        #[test]
        fn encode_decode_round_trip(
            flags in any::<u32>(),
            name in proptest::option::of("[A-Za-z0-9.-]{1,15}"),
            challenge in any::<[u8; 8]>(),
            build in any::<u16>(),
            pairs in proptest::collection::vec(arb_pair(), 0..10),
        ) {
            let flags = flags | flags::UNICODE;
            let c = NtlmChallenge {
                flags,
                target_name: name,
                server_challenge: challenge,
                reserved: [0; 8],
                version: (flags & flags::VERSION != 0).then_some(NtlmVersion { major: 10, minor: 0, build, ntlm_revision: 15 }),
                target_info: pairs,
            };
            prop_assert_eq!(NtlmChallenge::decode(&c.encode()).unwrap(), c);
        }

        #[test]
        fn decoder_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = NtlmChallenge::decode(&bytes);
        }

        #[test]
        fn decoder_never_panics_on_mutated_challenges(
            pos in 0usize..120, val in any::<u8>(), cut in 0usize..130
        ) {
            let mut b = windows_like().encode();
            let p = pos % b.len();
            b[p] = val;
            b.truncate(cut.max(1).min(b.len()));
            let _ = NtlmChallenge::decode(&b);
        }
    }
}
