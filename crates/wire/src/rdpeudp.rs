//! MS-RDPEUDP connection set-up: the client SYN and the server SYN+ACK.
//!
//! This answers "does UDP 3389 answer at all?" without a TCP session: send a SYN, wait for a
//! SYN+ACK that echoes our initial sequence number. All fields are big-endian
//! (MS-RDPEUDP 2.2; the shared captures agree). Layout of both datagrams:
//!
//! ```text
//! RDPUDP_FEC_HEADER        snSourceAck u32 | uReceiveWindowSize u16 | uFlags u16
//! RDPUDP_SYNDATA_PAYLOAD   snInitialSequenceNumber u32 | uUpStreamMtu u16 | uDownStreamMtu u16
//! [CORRELATION_ID_PAYLOAD] uCorrelationId 16 | uReserved 16        (RDPUDP_FLAG_CORRELATION_ID)
//! [SYNDATAEX_PAYLOAD]      uSynExFlags u16 | uUdpVer u16 | [cookieHash 32 if uUdpVer = 0x0101]
//! zero padding to the datagram size (every Windows SYN and SYN+ACK is 1232 bytes)
//! ```

/// uFlags bits (MS-RDPEUDP 2.2.2.1).
pub mod flags {
    /// RDPUDP_FLAG_SYN.
    pub const SYN: u16 = 0x0001;
    /// RDPUDP_FLAG_FIN.
    pub const FIN: u16 = 0x0002;
    /// RDPUDP_FLAG_ACK.
    pub const ACK: u16 = 0x0004;
    /// RDPUDP_FLAG_DATA.
    pub const DATA: u16 = 0x0008;
    /// RDPUDP_FLAG_FEC.
    pub const FEC: u16 = 0x0010;
    /// RDPUDP_FLAG_CN.
    pub const CN: u16 = 0x0020;
    /// RDPUDP_FLAG_CWR.
    pub const CWR: u16 = 0x0040;
    /// RDPUDP_FLAG_SACK_OPTION.
    pub const SACK_OPTION: u16 = 0x0080;
    /// RDPUDP_FLAG_ACK_OF_ACKS.
    pub const ACK_OF_ACKS: u16 = 0x0100;
    /// RDPUDP_FLAG_SYNLOSSY.
    pub const SYNLOSSY: u16 = 0x0200;
    /// RDPUDP_FLAG_ACKDELAYED.
    pub const ACKDELAYED: u16 = 0x0400;
    /// RDPUDP_FLAG_CORRELATION_ID.
    pub const CORRELATION_ID: u16 = 0x0800;
    /// RDPUDP_FLAG_SYNEX.
    pub const SYNEX: u16 = 0x1000;
}

/// uUdpVer values.
pub mod version {
    /// RDPUDP_PROTOCOL_VERSION_1.
    pub const V1: u16 = 0x0001;
    /// RDPUDP_PROTOCOL_VERSION_2.
    pub const V2: u16 = 0x0002;
    /// RDPUDP_PROTOCOL_VERSION_3: the MS-RDPEUDP2 data phase; the SYN carries a cookieHash.
    pub const V3: u16 = 0x0101;
}

/// uSynExFlags: RDPUDP_VERSION_INFO_VALID.
pub const SYNEX_VERSION_INFO_VALID: u16 = 0x0001;
/// Size of SYN and SYN+ACK datagrams Windows sends (the largest allowed MTU).
pub const SYN_DATAGRAM_LEN: usize = 1232;
/// Smallest MTU the spec allows in a SYN / SYN+ACK.
pub const MIN_MTU: u16 = 1132;
/// Largest MTU the spec allows.
pub const MAX_MTU: u16 = 1232;
/// Largest datagram the decoders accept (the UDP payload limit over IPv4).
pub const MAX_DATAGRAM_LEN: usize = 65_507;
/// snSourceAck of a client SYN (-1).
pub const SYN_SOURCE_ACK: u32 = 0xffff_ffff;

const FIXED_LEN: usize = 16;
const CORRELATION_LEN: usize = 32;

/// The RDPUDP_SYNDATAEX_PAYLOAD.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SynEx {
    /// uSynExFlags (normally [`SYNEX_VERSION_INFO_VALID`]).
    pub flags: u16,
    /// uUdpVer: any u16 (a captured mstsc sent 0x0003, which no spec defines).
    pub version: u16,
    /// cookieHash: SHA-256 of the TCP-side securityCookie. Written only when `version` is
    /// [`version::V3`] (zeros if `None`); read only from a SYN with version 3.
    pub cookie_hash: Option<[u8; 32]>,
}

/// A client SYN.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Syn {
    /// uReceiveWindowSize (mstsc: 64).
    pub receive_window: u16,
    /// snInitialSequenceNumber (random; the SYN+ACK must echo it).
    pub initial_sequence_number: u32,
    /// uUpStreamMtu (1132..=1232).
    pub up_mtu: u16,
    /// uDownStreamMtu (1132..=1232).
    pub down_mtu: u16,
    /// Request the lossy (FEC) transport: RDPUDP_FLAG_SYNLOSSY.
    pub lossy: bool,
    /// uCorrelationId: RDPUDP_FLAG_CORRELATION_ID is set when present.
    pub correlation_id: Option<[u8; 16]>,
    /// SYNDATAEX: RDPUDP_FLAG_SYNEX is set when present.
    pub synex: Option<SynEx>,
    /// Total datagram size after zero padding (1232 like Windows; at least the content).
    pub datagram_len: usize,
}

impl Syn {
    /// A SYN like mstsc sends: window 64, MTUs 1232, reliable, SYNEX version 2, 1232 bytes.
    pub fn new(initial_sequence_number: u32) -> Self {
        Self {
            receive_window: 64,
            initial_sequence_number,
            up_mtu: MAX_MTU,
            down_mtu: MAX_MTU,
            lossy: false,
            correlation_id: None,
            synex: Some(SynEx {
                flags: SYNEX_VERSION_INFO_VALID,
                version: version::V2,
                cookie_hash: None,
            }),
            datagram_len: SYN_DATAGRAM_LEN,
        }
    }

    /// uFlags this SYN carries.
    pub fn flags(&self) -> u16 {
        let mut f = flags::SYN;
        if self.lossy {
            f |= flags::SYNLOSSY;
        }
        if self.correlation_id.is_some() {
            f |= flags::CORRELATION_ID;
        }
        if self.synex.is_some() {
            f |= flags::SYNEX;
        }
        f
    }

    /// Encode, zero-padded to `datagram_len` (or to the content size if that is larger).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.datagram_len.max(FIXED_LEN + 68));
        put_fixed(
            &mut out,
            SYN_SOURCE_ACK,
            self.receive_window,
            self.flags(),
            self.initial_sequence_number,
            [self.up_mtu, self.down_mtu],
        );
        if let Some(id) = &self.correlation_id {
            out.extend_from_slice(id);
            out.extend_from_slice(&[0; 16]);
        }
        if let Some(x) = &self.synex {
            out.extend_from_slice(&x.flags.to_be_bytes());
            out.extend_from_slice(&x.version.to_be_bytes());
            if x.version == version::V3 {
                out.extend_from_slice(&x.cookie_hash.unwrap_or([0; 32]));
            }
        }
        if out.len() < self.datagram_len {
            out.resize(self.datagram_len, 0);
        }
        out
    }

    /// Decode a SYN (for tests, fuzzing and fake servers).
    pub fn decode(datagram: &[u8]) -> Result<Self, RdpeudpError> {
        let s = Fields::decode(datagram, true)?;
        if s.source_ack != SYN_SOURCE_ACK || s.flags & (flags::SYN | flags::ACK) != flags::SYN {
            return Err(RdpeudpError::NotSyn {
                flags: s.flags,
                source_ack: s.source_ack,
            });
        }
        Ok(Syn {
            receive_window: s.receive_window,
            initial_sequence_number: s.isn,
            up_mtu: s.up_mtu,
            down_mtu: s.down_mtu,
            lossy: s.flags & flags::SYNLOSSY != 0,
            correlation_id: s.correlation_id,
            synex: s.synex,
            datagram_len: datagram.len(),
        })
    }
}

/// A server SYN+ACK.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SynAck {
    /// snSourceAck: must equal the client's initial sequence number.
    pub source_ack: u32,
    /// uReceiveWindowSize.
    pub receive_window: u16,
    /// uFlags as received (Windows: SYN|ACK|SYNEX = 0x1005).
    pub flags: u16,
    /// The server's snInitialSequenceNumber.
    pub initial_sequence_number: u32,
    /// uUpStreamMtu.
    pub up_mtu: u16,
    /// uDownStreamMtu.
    pub down_mtu: u16,
    /// SYNDATAEX (uSynExFlags, negotiated uUdpVer) when RDPUDP_FLAG_SYNEX is set.
    pub synex: Option<SynEx>,
    /// Size of the datagram (Windows pads to 1232).
    pub datagram_len: usize,
}

impl SynAck {
    /// Decode a SYN+ACK without checking which SYN it answers.
    pub fn decode(datagram: &[u8]) -> Result<Self, RdpeudpError> {
        let s = Fields::decode(datagram, false)?;
        if s.flags & (flags::SYN | flags::ACK) != flags::SYN | flags::ACK {
            return Err(RdpeudpError::NotSynAck { flags: s.flags });
        }
        Ok(SynAck {
            source_ack: s.source_ack,
            receive_window: s.receive_window,
            flags: s.flags,
            initial_sequence_number: s.isn,
            up_mtu: s.up_mtu,
            down_mtu: s.down_mtu,
            synex: s.synex,
            datagram_len: datagram.len(),
        })
    }

    /// Decode a SYN+ACK and check it answers the SYN with `our_isn`.
    pub fn decode_for(datagram: &[u8], our_isn: u32) -> Result<Self, RdpeudpError> {
        let s = Self::decode(datagram)?;
        if s.source_ack != our_isn {
            return Err(RdpeudpError::AckMismatch {
                expected: our_isn,
                got: s.source_ack,
            });
        }
        Ok(s)
    }

    /// Negotiated protocol version: SYNEX uUdpVer, or version 1 when SYNEX is absent.
    pub fn version(&self) -> u16 {
        self.synex.map_or(version::V1, |x| x.version)
    }

    /// Whether both MTUs are within 1132..=1232, as MS-RDPEUDP requires.
    pub fn mtus_in_spec(&self) -> bool {
        (MIN_MTU..=MAX_MTU).contains(&self.up_mtu) && (MIN_MTU..=MAX_MTU).contains(&self.down_mtu)
    }

    /// Encode (for fake servers and round-trip tests), zero-padded to `datagram_len`.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.datagram_len.max(FIXED_LEN + 4));
        put_fixed(
            &mut out,
            self.source_ack,
            self.receive_window,
            self.flags,
            self.initial_sequence_number,
            [self.up_mtu, self.down_mtu],
        );
        if self.flags & flags::CORRELATION_ID != 0 {
            out.extend_from_slice(&[0; CORRELATION_LEN]);
        }
        if self.flags & flags::SYNEX != 0 {
            let x = self.synex.unwrap_or(SynEx {
                flags: 0,
                version: 0,
                cookie_hash: None,
            });
            out.extend_from_slice(&x.flags.to_be_bytes());
            out.extend_from_slice(&x.version.to_be_bytes());
        }
        if out.len() < self.datagram_len {
            out.resize(self.datagram_len, 0);
        }
        out
    }
}

/// Why a datagram is not the SYN / SYN+ACK expected.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RdpeudpError {
    /// Shorter than the structures its flags announce.
    #[error("datagram of {len} bytes is shorter than the {needed} bytes its flags require")]
    TooShort {
        /// Bytes present.
        len: usize,
        /// Bytes required.
        needed: usize,
    },
    /// Longer than any UDP payload.
    #[error("datagram of {0} bytes exceeds the UDP maximum")]
    TooLarge(usize),
    /// Not a SYN+ACK (a server may answer a stray SYN with something else, or a non-RDP
    /// service may answer on the port).
    #[error("not a SYN+ACK (uFlags {flags:#06x})")]
    NotSynAck {
        /// uFlags received.
        flags: u16,
    },
    /// Not a client SYN.
    #[error("not a SYN (uFlags {flags:#06x}, snSourceAck {source_ack:#010x})")]
    NotSyn {
        /// uFlags received.
        flags: u16,
        /// snSourceAck received.
        source_ack: u32,
    },
    /// A SYN+ACK for another SYN (a stale or spoofed answer).
    #[error("SYN+ACK acknowledges {got:#010x}, our SYN had {expected:#010x}")]
    AckMismatch {
        /// Our ISN.
        expected: u32,
        /// snSourceAck received.
        got: u32,
    },
}

/// Write RDPUDP_FEC_HEADER and RDPUDP_SYNDATA_PAYLOAD (the first 16 bytes of both datagrams).
fn put_fixed(
    out: &mut Vec<u8>,
    source_ack: u32,
    window: u16,
    flags: u16,
    isn: u32,
    mtus: [u16; 2],
) {
    out.extend_from_slice(&source_ack.to_be_bytes());
    out.extend_from_slice(&window.to_be_bytes());
    out.extend_from_slice(&flags.to_be_bytes());
    out.extend_from_slice(&isn.to_be_bytes());
    out.extend_from_slice(&mtus[0].to_be_bytes());
    out.extend_from_slice(&mtus[1].to_be_bytes());
}

struct Fields {
    source_ack: u32,
    receive_window: u16,
    flags: u16,
    isn: u32,
    up_mtu: u16,
    down_mtu: u16,
    correlation_id: Option<[u8; 16]>,
    synex: Option<SynEx>,
}

impl Fields {
    fn decode(d: &[u8], client_syn: bool) -> Result<Self, RdpeudpError> {
        if d.len() > MAX_DATAGRAM_LEN {
            return Err(RdpeudpError::TooLarge(d.len()));
        }
        let short = |needed: usize| RdpeudpError::TooShort {
            len: d.len(),
            needed,
        };
        if d.len() < FIXED_LEN {
            return Err(short(FIXED_LEN));
        }
        let be16 = |at: usize| u16::from_be_bytes([d[at], d[at + 1]]);
        let be32 = |at: usize| u32::from_be_bytes([d[at], d[at + 1], d[at + 2], d[at + 3]]);
        let flags = be16(6);
        let mut at = FIXED_LEN;
        let correlation_id = if flags & flags::CORRELATION_ID != 0 {
            if d.len() < at + CORRELATION_LEN {
                return Err(short(at + CORRELATION_LEN));
            }
            let mut b = [0; 16];
            b.copy_from_slice(&d[at..at + 16]);
            at += CORRELATION_LEN;
            Some(b)
        } else {
            None
        };
        let synex = if flags & flags::SYNEX != 0 {
            if d.len() < at + 4 {
                return Err(short(at + 4));
            }
            let (xflags, ver) = (be16(at), be16(at + 2));
            at += 4;
            // Only a client SYN of version 3 carries the cookie hash.
            let cookie_hash = if client_syn && ver == version::V3 {
                let h = d.get(at..at + 32).ok_or(short(at + 32))?;
                let mut b = [0; 32];
                b.copy_from_slice(h);
                Some(b)
            } else {
                None
            };
            Some(SynEx {
                flags: xflags,
                version: ver,
                cookie_hash,
            })
        } else {
            None
        };
        Ok(Fields {
            source_ack: be32(0),
            receive_window: be16(4),
            flags,
            isn: be32(8),
            up_mtu: be16(12),
            down_mtu: be16(14),
            correlation_id,
            synex,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn default_syn_matches_the_reference_probe() {
        let b = Syn::new(0x1234_5678).encode();
        assert_eq!(b.len(), 1232);
        // REFERENCE.md §8 probe design: FF FF FF FF | 00 40 | 10 01 | ISN | 04 D0 | 04 D0 | 00 01 00 02.
        assert_eq!(
            hex::encode(&b[..20]),
            "ffffffff004010011234567804d004d000010002"
        );
        assert!(b[20..].iter().all(|&x| x == 0));
    }

    #[test]
    fn syn_round_trip_with_all_parts() {
        let s = Syn {
            receive_window: 64,
            initial_sequence_number: 7,
            up_mtu: 1132,
            down_mtu: 1232,
            lossy: true,
            correlation_id: Some([0xab; 16]),
            synex: Some(SynEx {
                flags: 1,
                version: version::V3,
                cookie_hash: Some([0xcd; 32]),
            }),
            datagram_len: 1232,
        };
        let b = s.encode();
        assert_eq!(u16::from_be_bytes([b[6], b[7]]), 0x1a01);
        assert_eq!(Syn::decode(&b).unwrap(), s);
    }

    #[test]
    fn syn_ack_checks() {
        let sa = SynAck {
            source_ack: 0x0b12_7f15,
            receive_window: 64,
            flags: 0x1005,
            initial_sequence_number: 0x0f94_ea0b,
            up_mtu: 1232,
            down_mtu: 1232,
            synex: Some(SynEx {
                flags: 1,
                version: 2,
                cookie_hash: None,
            }),
            datagram_len: 1232,
        };
        let b = sa.encode();
        assert_eq!(SynAck::decode_for(&b, 0x0b12_7f15).unwrap(), sa);
        assert_eq!(
            SynAck::decode_for(&b, 1),
            Err(RdpeudpError::AckMismatch {
                expected: 1,
                got: 0x0b12_7f15
            })
        );
        assert!(sa.mtus_in_spec());
        assert_eq!(sa.version(), 2);
        // Our own SYN echoed back is not a SYN+ACK.
        assert_eq!(
            SynAck::decode(&Syn::new(1).encode()),
            Err(RdpeudpError::NotSynAck { flags: 0x1001 })
        );
        // SYNEX flag without the payload.
        assert_eq!(
            SynAck::decode(&b[..17]),
            Err(RdpeudpError::TooShort {
                len: 17,
                needed: 20
            })
        );
        assert_eq!(
            SynAck::decode(&b[..15]),
            Err(RdpeudpError::TooShort {
                len: 15,
                needed: 16
            })
        );
        assert_eq!(
            SynAck::decode(&vec![0; MAX_DATAGRAM_LEN + 1]),
            Err(RdpeudpError::TooLarge(MAX_DATAGRAM_LEN + 1))
        );
        // Without SYNEX the version is 1.
        let v1 = SynAck {
            flags: 0x0005,
            synex: None,
            up_mtu: 1000,
            ..sa
        };
        let d = SynAck::decode(&v1.encode()).unwrap();
        assert_eq!(d.version(), version::V1);
        assert!(!d.mtus_in_spec());
    }

    proptest! {
        #[test]
        fn syn_round_trip(
            window in any::<u16>(), isn in any::<u32>(), up in any::<u16>(), down in any::<u16>(),
            lossy in any::<bool>(), corr in proptest::option::of(any::<[u8; 16]>()),
            synex in proptest::option::of((any::<u16>(), any::<u16>(), any::<[u8; 32]>())),
            len in 0usize..1400,
        ) {
            let synex = synex.map(|(flags, version, hash)| SynEx {
                flags, version, cookie_hash: (version == version::V3).then_some(hash),
            });
            let s = Syn { receive_window: window, initial_sequence_number: isn, up_mtu: up, down_mtu: down,
                lossy, correlation_id: corr, synex, datagram_len: len };
            let b = s.encode();
            let d = Syn::decode(&b).unwrap();
            prop_assert_eq!(d.datagram_len, b.len());
            prop_assert_eq!(d, Syn { datagram_len: b.len(), ..s });
        }

        #[test]
        fn syn_ack_round_trip(
            ack in any::<u32>(), window in any::<u16>(), extra in any::<u16>(), isn in any::<u32>(),
            up in any::<u16>(), down in any::<u16>(), ver in any::<u16>(), len in 0usize..1400,
        ) {
            let flags = (extra | flags::SYN | flags::ACK) & !flags::CORRELATION_ID;
            let synex = (flags & flags::SYNEX != 0).then_some(SynEx { flags: 1, version: ver, cookie_hash: None });
            let sa = SynAck { source_ack: ack, receive_window: window, flags, initial_sequence_number: isn,
                up_mtu: up, down_mtu: down, synex, datagram_len: len };
            let b = sa.encode();
            prop_assert_eq!(SynAck::decode_for(&b, ack).unwrap(), SynAck { datagram_len: b.len(), ..sa });
        }

        #[test]
        fn decoders_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..120)) {
            let _ = SynAck::decode(&bytes);
            let _ = Syn::decode(&bytes);
        }
    }
}
