//! NEGOTIATE_MESSAGE (MS-NLMP 2.2.1.1), the first NTLM token a client sends.

use super::{MESSAGE_NEGOTIATE, NtlmVersion, SIGNATURE, flags};

/// An NTLM NEGOTIATE message without domain or workstation names (a probe has none to give).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NtlmNegotiate {
    /// NegotiateFlags.
    pub flags: u32,
    /// VERSION to send; written only when `flags` has [`flags::VERSION`].
    pub version: NtlmVersion,
}

impl NtlmNegotiate {
    /// Default NegotiateFlags: `0xE2088237` =
    /// 56 | KEY_EXCH | 128 | VERSION | EXTENDED_SESSION_SECURITY | ALWAYS_SIGN | NTLM | SEAL |
    /// SIGN | REQUEST_TARGET | OEM | UNICODE.
    ///
    /// Why this set: it is what a current Windows / sspi-rs client asks for (sspi-rs sends
    /// `0xE20882B7`, which adds LM_KEY; LM_KEY is dropped because extended session security
    /// supersedes it and no current server honours it). REQUEST_TARGET makes the server fill
    /// TargetName; SEAL and KEY_EXCH are what CredSSP needs for pubKeyAuth, so a server that
    /// would refuse a real client refuses this probe too. It is also the NEGOTIATE the lab's
    /// CredSSP probe sent (LAB.md §2a) and every lab server answered it.
    pub const DEFAULT_FLAGS: u32 = flags::NEGOTIATE_56
        | flags::KEY_EXCH
        | flags::NEGOTIATE_128
        | flags::VERSION
        | flags::EXTENDED_SESSION_SECURITY
        | flags::ALWAYS_SIGN
        | flags::NTLM
        | flags::SEAL
        | flags::SIGN
        | flags::REQUEST_TARGET
        | flags::OEM
        | flags::UNICODE;

    /// Default VERSION: Windows 10.0.19041 (20H1), NTLM revision 15, as in the lab probe.
    pub const DEFAULT_VERSION: NtlmVersion = NtlmVersion {
        major: 10,
        minor: 0,
        build: 19041,
        ntlm_revision: 15,
    };

    /// Size with a VERSION field.
    pub const LEN_WITH_VERSION: usize = 40;
    /// Size without.
    pub const LEN_WITHOUT_VERSION: usize = 32;

    /// Encode: signature, type 1, flags, empty DomainName and Workstation fields (offsets
    /// point at the end of the header, as Windows writes them), optional VERSION.
    pub fn encode(&self) -> Vec<u8> {
        let with_version = self.flags & flags::VERSION != 0;
        let len = if with_version {
            Self::LEN_WITH_VERSION
        } else {
            Self::LEN_WITHOUT_VERSION
        };
        let mut out = Vec::with_capacity(len);
        out.extend_from_slice(&SIGNATURE);
        out.extend_from_slice(&MESSAGE_NEGOTIATE.to_le_bytes());
        out.extend_from_slice(&self.flags.to_le_bytes());
        // DomainNameFields and WorkstationFields: Len 0, MaxLen 0, Offset 0. Windows and
        // sspi-rs write offset 0 for empty fields; the lab byte string does too.
        out.extend_from_slice(&[0; 16]);
        if with_version {
            out.extend_from_slice(&self.version.to_bytes());
        }
        out
    }
}

impl Default for NtlmNegotiate {
    fn default() -> Self {
        Self {
            flags: Self::DEFAULT_FLAGS,
            version: Self::DEFAULT_VERSION,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_matches_the_lab_probe_bytes() {
        // LAB.md §2a: the NTLM NEGOTIATE inside the TSRequest v6 the lab probe sent.
        let expected = hex::decode(
            "4e544c4d5353500001000000378208e2000000000000000000000000000000000a00614a0000000f",
        )
        .unwrap();
        assert_eq!(NtlmNegotiate::default().encode(), expected);
        assert_eq!(NtlmNegotiate::DEFAULT_FLAGS, 0xe208_8237);
    }

    #[test]
    fn without_version_flag_the_field_is_omitted() {
        let n = NtlmNegotiate {
            flags: NtlmNegotiate::DEFAULT_FLAGS & !flags::VERSION,
            ..Default::default()
        };
        assert_eq!(n.encode().len(), NtlmNegotiate::LEN_WITHOUT_VERSION);
    }
}
