//! NTLM (MS-NLMP) messages the CredSSP probe needs without credentials: the client's NEGOTIATE
//! and the server's CHALLENGE.
//!
//! The CHALLENGE is the most talkative message in an RDP handshake: before any password is
//! involved it tells the server's NetBIOS and DNS names, its domain and forest, its Windows
//! build (VERSION) and its clock (MsvAvTimestamp), which is what clock-skew and "wrong server
//! behind this name" diagnoses need. sspi-rs keeps these fields private, so they are decoded
//! here.

mod challenge;
mod negotiate;

pub use challenge::{
    AvPair, AvValue, FileTime, MAX_AV_PAIRS, MAX_MESSAGE_LEN, NtlmChallenge, NtlmError, av_id,
    av_name,
};
pub use negotiate::NtlmNegotiate;

/// "NTLMSSP\0", the first 8 bytes of every NTLM message.
pub const SIGNATURE: [u8; 8] = *b"NTLMSSP\0";
/// MessageType of NEGOTIATE_MESSAGE.
pub const MESSAGE_NEGOTIATE: u32 = 1;
/// MessageType of CHALLENGE_MESSAGE.
pub const MESSAGE_CHALLENGE: u32 = 2;
/// MessageType of AUTHENTICATE_MESSAGE.
pub const MESSAGE_AUTHENTICATE: u32 = 3;

/// NegotiateFlags bits (MS-NLMP 2.2.2.5).
pub mod flags {
    /// NTLMSSP_NEGOTIATE_UNICODE (A).
    pub const UNICODE: u32 = 0x0000_0001;
    /// NTLM_NEGOTIATE_OEM (B).
    pub const OEM: u32 = 0x0000_0002;
    /// NTLMSSP_REQUEST_TARGET (C).
    pub const REQUEST_TARGET: u32 = 0x0000_0004;
    /// NTLMSSP_NEGOTIATE_SIGN (D).
    pub const SIGN: u32 = 0x0000_0010;
    /// NTLMSSP_NEGOTIATE_SEAL (E).
    pub const SEAL: u32 = 0x0000_0020;
    /// NTLMSSP_NEGOTIATE_DATAGRAM (F).
    pub const DATAGRAM: u32 = 0x0000_0040;
    /// NTLMSSP_NEGOTIATE_LM_KEY (G).
    pub const LM_KEY: u32 = 0x0000_0080;
    /// NTLMSSP_NEGOTIATE_NTLM (H).
    pub const NTLM: u32 = 0x0000_0200;
    /// Anonymous connection (J).
    pub const ANONYMOUS: u32 = 0x0000_0800;
    /// NTLMSSP_NEGOTIATE_OEM_DOMAIN_SUPPLIED (K).
    pub const OEM_DOMAIN_SUPPLIED: u32 = 0x0000_1000;
    /// NTLMSSP_NEGOTIATE_OEM_WORKSTATION_SUPPLIED (L).
    pub const OEM_WORKSTATION_SUPPLIED: u32 = 0x0000_2000;
    /// NTLMSSP_NEGOTIATE_ALWAYS_SIGN (M).
    pub const ALWAYS_SIGN: u32 = 0x0000_8000;
    /// NTLMSSP_TARGET_TYPE_DOMAIN (N): TargetName is a domain name.
    pub const TARGET_TYPE_DOMAIN: u32 = 0x0001_0000;
    /// NTLMSSP_TARGET_TYPE_SERVER (O): TargetName is a server name.
    pub const TARGET_TYPE_SERVER: u32 = 0x0002_0000;
    /// NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY (P).
    pub const EXTENDED_SESSION_SECURITY: u32 = 0x0008_0000;
    /// NTLMSSP_NEGOTIATE_IDENTIFY (Q).
    pub const IDENTIFY: u32 = 0x0010_0000;
    /// NTLMSSP_REQUEST_NON_NT_SESSION_KEY (R).
    pub const REQUEST_NON_NT_SESSION_KEY: u32 = 0x0040_0000;
    /// NTLMSSP_NEGOTIATE_TARGET_INFO (S).
    pub const TARGET_INFO: u32 = 0x0080_0000;
    /// NTLMSSP_NEGOTIATE_VERSION (T).
    pub const VERSION: u32 = 0x0200_0000;
    /// NTLMSSP_NEGOTIATE_128 (U).
    pub const NEGOTIATE_128: u32 = 0x2000_0000;
    /// NTLMSSP_NEGOTIATE_KEY_EXCH (V).
    pub const KEY_EXCH: u32 = 0x4000_0000;
    /// NTLMSSP_NEGOTIATE_56 (W).
    pub const NEGOTIATE_56: u32 = 0x8000_0000;
}

/// The VERSION structure (MS-NLMP 2.2.2.10): the sender's Windows version. Servers fill it
/// with their OS version, which names the Windows release (build 17763 = Server 2019).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct NtlmVersion {
    /// ProductMajorVersion.
    pub major: u8,
    /// ProductMinorVersion.
    pub minor: u8,
    /// ProductBuild.
    pub build: u16,
    /// NTLMRevisionCurrent (15 = NTLMSSP_REVISION_W2K3).
    pub ntlm_revision: u8,
}

impl NtlmVersion {
    /// Size on the wire.
    pub const LEN: usize = 8;

    /// Encode as 8 bytes (3 reserved zero bytes).
    pub fn to_bytes(self) -> [u8; 8] {
        let b = self.build.to_le_bytes();
        [
            self.major,
            self.minor,
            b[0],
            b[1],
            0,
            0,
            0,
            self.ntlm_revision,
        ]
    }

    /// Decode 8 bytes (the reserved bytes are ignored).
    pub fn from_bytes(b: [u8; 8]) -> Self {
        Self {
            major: b[0],
            minor: b[1],
            build: u16::from_le_bytes([b[2], b[3]]),
            ntlm_revision: b[7],
        }
    }
}

impl std::fmt::Display for NtlmVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.build)
    }
}
