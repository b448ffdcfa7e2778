//! The server side of NTLMv2 (MS-NLMP) as CredSSP uses it: CHALLENGE, AUTHENTICATE checking,
//! and message sealing.
//!
//! Hand-written because the NTLM server in sspi (what ironrdp-acceptor's CredSSP uses) sends a
//! CHALLENGE with empty host and domain names and a fixed version, and does not let a caller
//! change them. A probe reads exactly those fields (`nmap --script rdp-ntlm-info`, rdpdoctor's
//! dns-mismatch rule), so the lab must send a Windows-like target info: NetBIOS and DNS names,
//! the OS version, a timestamp. NTLM's MIC covers the CHALLENGE bytes, so the CHALLENGE cannot
//! be patched in flight either: the server that writes it has to be the one that checks the
//! AUTHENTICATE.

use std::time::{SystemTime, UNIX_EPOCH};

use crate::crypto::{Rc4, hmac_md5, md4, md5};
use crate::identity::{LabCredentials, ServerIdentity};

pub(crate) const SIGNATURE: &[u8; 8] = b"NTLMSSP\0";

pub(crate) const NEGOTIATE_UNICODE: u32 = 0x0000_0001;
pub(crate) const NEGOTIATE_OEM: u32 = 0x0000_0002;
pub(crate) const REQUEST_TARGET: u32 = 0x0000_0004;
pub(crate) const NEGOTIATE_SIGN: u32 = 0x0000_0010;
pub(crate) const NEGOTIATE_SEAL: u32 = 0x0000_0020;
pub(crate) const NEGOTIATE_NTLM: u32 = 0x0000_0200;
pub(crate) const NEGOTIATE_ALWAYS_SIGN: u32 = 0x0000_8000;
pub(crate) const TARGET_TYPE_DOMAIN: u32 = 0x0001_0000;
pub(crate) const NEGOTIATE_EXTENDED_SESSIONSECURITY: u32 = 0x0008_0000;
pub(crate) const NEGOTIATE_TARGET_INFO: u32 = 0x0080_0000;
pub(crate) const NEGOTIATE_VERSION: u32 = 0x0200_0000;
pub(crate) const NEGOTIATE_128: u32 = 0x2000_0000;
pub(crate) const NEGOTIATE_KEY_EXCH: u32 = 0x4000_0000;
pub(crate) const NEGOTIATE_56: u32 = 0x8000_0000;

/// Flags echoed back when the client asks for them.
const ECHOED: u32 = NEGOTIATE_UNICODE
    | REQUEST_TARGET
    | NEGOTIATE_SIGN
    | NEGOTIATE_SEAL
    | NEGOTIATE_ALWAYS_SIGN
    | NEGOTIATE_EXTENDED_SESSIONSECURITY
    | NEGOTIATE_128
    | NEGOTIATE_KEY_EXCH
    | NEGOTIATE_56;

const AV_EOL: u16 = 0;
const AV_NB_COMPUTER: u16 = 1;
const AV_NB_DOMAIN: u16 = 2;
const AV_DNS_COMPUTER: u16 = 3;
const AV_DNS_DOMAIN: u16 = 4;
const AV_DNS_TREE: u16 = 5;
const AV_FLAGS: u16 = 6;
const AV_TIMESTAMP: u16 = 7;
/// MsvAvFlags bit: the AUTHENTICATE carries a MIC.
const AV_FLAG_MIC: u32 = 0x2;

/// Offset of the MIC in an AUTHENTICATE message (after the 8-byte VERSION).
const MIC_OFFSET: usize = 72;

#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub(crate) enum NtlmError {
    #[error("not an NTLM message of the expected type")]
    NotNtlm,
    #[error("NTLM message field outside the message")]
    BadField,
    #[error("client did not negotiate NTLMv2 with extended session security")]
    Unsupported,
}

/// Why a logon failed. Both are STATUS_LOGON_FAILURE on the wire, as on Windows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum LogonFailure {
    UnknownUser,
    WrongPassword,
}

/// Current time as a Windows FILETIME (100 ns since 1601).
pub(crate) fn filetime_now() -> u64 {
    let since_unix = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let hundred_ns = u64::try_from(since_unix.as_nanos() / 100).unwrap_or(u64::MAX);
    hundred_ns.saturating_add(116_444_736_000_000_000)
}

pub(crate) fn utf16le(s: &str) -> Vec<u8> {
    s.encode_utf16().flat_map(u16::to_le_bytes).collect()
}

fn from_utf16le(bytes: &[u8]) -> String {
    let units: Vec<u16> = bytes
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect();
    String::from_utf16_lossy(&units)
}

fn u16_at(msg: &[u8], at: usize) -> Result<u16, NtlmError> {
    let b = msg.get(at..at + 2).ok_or(NtlmError::BadField)?;
    Ok(u16::from_le_bytes([b[0], b[1]]))
}

fn u32_at(msg: &[u8], at: usize) -> Result<u32, NtlmError> {
    let b = msg.get(at..at + 4).ok_or(NtlmError::BadField)?;
    Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

/// A (len, maxlen, offset) payload field at `at`, bounds-checked against the message.
fn payload(msg: &[u8], at: usize) -> Result<&[u8], NtlmError> {
    let len = usize::from(u16_at(msg, at)?);
    let offset = usize::try_from(u32_at(msg, at + 4)?).map_err(|_| NtlmError::BadField)?;
    if len == 0 {
        return Ok(&[]);
    }
    msg.get(offset..offset.checked_add(len).ok_or(NtlmError::BadField)?)
        .ok_or(NtlmError::BadField)
}

fn check_header(msg: &[u8], ty: u32) -> Result<(), NtlmError> {
    if msg.get(..8) != Some(SIGNATURE.as_slice()) || u32_at(msg, 8)? != ty {
        return Err(NtlmError::NotNtlm);
    }
    Ok(())
}

/// The NEGOTIATE flags of a client.
pub(crate) fn parse_negotiate(msg: &[u8]) -> Result<u32, NtlmError> {
    check_header(msg, 1)?;
    u32_at(msg, 12)
}

/// NTLM VERSION structure.
pub(crate) fn version_bytes(identity: &ServerIdentity) -> [u8; 8] {
    let v = identity.os_version;
    let build = v.build.to_le_bytes();
    [v.major, v.minor, build[0], build[1], 0, 0, 0, 0x0f]
}

fn av_pair(out: &mut Vec<u8>, id: u16, value: &[u8]) {
    out.extend_from_slice(&id.to_le_bytes());
    out.extend_from_slice(&u16::try_from(value.len()).unwrap_or(u16::MAX).to_le_bytes());
    out.extend_from_slice(value);
}

/// The target info of a domain-member Windows server, in Windows' order.
pub(crate) fn target_info(identity: &ServerIdentity, timestamp: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(192);
    av_pair(&mut out, AV_NB_DOMAIN, &utf16le(&identity.netbios_domain));
    av_pair(
        &mut out,
        AV_NB_COMPUTER,
        &utf16le(&identity.netbios_computer),
    );
    av_pair(&mut out, AV_DNS_DOMAIN, &utf16le(&identity.dns_domain));
    av_pair(&mut out, AV_DNS_COMPUTER, &utf16le(&identity.dns_computer));
    av_pair(&mut out, AV_DNS_TREE, &utf16le(&identity.dns_tree));
    av_pair(&mut out, AV_TIMESTAMP, &timestamp.to_le_bytes());
    av_pair(&mut out, AV_EOL, &[]);
    out
}

/// Builds a CHALLENGE message from its parts; `fields` overrides the (length, offset) of the
/// target name and target info (the hostile `ntlm-bad-offsets` responder lies there).
pub(crate) fn challenge_message(
    flags: u32,
    server_challenge: [u8; 8],
    target_name: &[u8],
    target_info: &[u8],
    version: [u8; 8],
    fields: Option<[(u16, u32); 2]>,
) -> Vec<u8> {
    const HEADER: u32 = 56;
    let name_len = u16::try_from(target_name.len()).unwrap_or(u16::MAX);
    let info_len = u16::try_from(target_info.len()).unwrap_or(u16::MAX);
    let [(name_len, name_off), (info_len, info_off)] =
        fields.unwrap_or([(name_len, HEADER), (info_len, HEADER + u32::from(name_len))]);
    let mut m = Vec::with_capacity(56 + target_name.len() + target_info.len());
    m.extend_from_slice(SIGNATURE);
    m.extend_from_slice(&2u32.to_le_bytes());
    m.extend_from_slice(&name_len.to_le_bytes());
    m.extend_from_slice(&name_len.to_le_bytes());
    m.extend_from_slice(&name_off.to_le_bytes());
    m.extend_from_slice(&flags.to_le_bytes());
    m.extend_from_slice(&server_challenge);
    m.extend_from_slice(&[0; 8]);
    m.extend_from_slice(&info_len.to_le_bytes());
    m.extend_from_slice(&info_len.to_le_bytes());
    m.extend_from_slice(&info_off.to_le_bytes());
    m.extend_from_slice(&version);
    m.extend_from_slice(target_name);
    m.extend_from_slice(target_info);
    m
}

/// One NTLM exchange on the server side, from NEGOTIATE to a keyed session.
pub(crate) struct NtlmServer {
    negotiate: Vec<u8>,
    challenge: Vec<u8>,
    server_challenge: [u8; 8],
}

impl NtlmServer {
    /// Answers a NEGOTIATE with a CHALLENGE for `identity`.
    pub(crate) fn challenge(
        identity: &ServerIdentity,
        negotiate: &[u8],
    ) -> Result<(Self, Vec<u8>), NtlmError> {
        let client_flags = parse_negotiate(negotiate)?;
        let charset = if client_flags & NEGOTIATE_UNICODE != 0 {
            0
        } else {
            NEGOTIATE_OEM
        };
        let flags = (client_flags & ECHOED)
            | charset
            | NEGOTIATE_NTLM
            | TARGET_TYPE_DOMAIN
            | NEGOTIATE_TARGET_INFO
            | NEGOTIATE_VERSION;
        let server_challenge: [u8; 8] = rand::random();
        let target_name = if charset == 0 {
            utf16le(&identity.netbios_domain)
        } else {
            identity.netbios_domain.as_bytes().to_vec()
        };
        let challenge = challenge_message(
            flags,
            server_challenge,
            &target_name,
            &target_info(identity, filetime_now()),
            version_bytes(identity),
            None,
        );
        Ok((
            Self {
                negotiate: negotiate.to_vec(),
                challenge: challenge.clone(),
                server_challenge,
            },
            challenge,
        ))
    }

    /// Checks an AUTHENTICATE against the lab account. `Ok(Err(_))` is a logon failure;
    /// `Err(_)` a message the lab cannot make sense of.
    pub(crate) fn authenticate(
        &self,
        msg: &[u8],
        account: &LabCredentials,
    ) -> Result<Result<NtlmSession, LogonFailure>, NtlmError> {
        check_header(msg, 3)?;
        let nt_response = payload(msg, 20)?;
        let domain_raw = payload(msg, 28)?;
        let user_raw = payload(msg, 36)?;
        let encrypted_key = payload(msg, 52)?;
        let flags = u32_at(msg, 60)?;
        let unicode = flags & NEGOTIATE_UNICODE != 0;
        let text = |b: &[u8]| {
            if unicode {
                from_utf16le(b)
            } else {
                String::from_utf8_lossy(b).into_owned()
            }
        };
        let (user, domain) = (text(user_raw), text(domain_raw));

        let account_part = user.split('@').next().unwrap_or_default();
        if !account_part.eq_ignore_ascii_case(&account.username) {
            return Ok(Err(LogonFailure::UnknownUser));
        }
        // NTLMv1 (24-byte responses) and anonymous logons are refused, as on current Windows.
        if nt_response.len() < 16 + 28 {
            return Ok(Err(LogonFailure::WrongPassword));
        }
        if flags & NEGOTIATE_EXTENDED_SESSIONSECURITY == 0 {
            return Err(NtlmError::Unsupported);
        }

        let (nt_proof, blob) = nt_response.split_at(16);
        let nt_hash = md4(&utf16le(&account.password));
        let identity = utf16le(&(user.to_uppercase() + &domain));
        let response_key = hmac_md5(&nt_hash, &[&identity]);
        if hmac_md5(&response_key, &[&self.server_challenge, blob]) != nt_proof {
            return Ok(Err(LogonFailure::WrongPassword));
        }
        let key_exchange_key = hmac_md5(&response_key, &[nt_proof]);
        let exported: [u8; 16] = if flags & NEGOTIATE_KEY_EXCH != 0 {
            Rc4::new(&key_exchange_key)
                .apply(encrypted_key)
                .try_into()
                .map_err(|_| NtlmError::BadField)?
        } else {
            key_exchange_key
        };

        if client_sent_mic(blob) {
            let mic = msg
                .get(MIC_OFFSET..MIC_OFFSET + 16)
                .ok_or(NtlmError::BadField)?;
            let mut zeroed = msg.to_vec();
            zeroed[MIC_OFFSET..MIC_OFFSET + 16].fill(0);
            if hmac_md5(&exported, &[&self.negotiate, &self.challenge, &zeroed]) != mic {
                return Ok(Err(LogonFailure::WrongPassword));
            }
        }

        Ok(Ok(NtlmSession::new(&exported, flags, user, domain)))
    }
}

/// Whether the NTLMv2 client blob's MsvAvFlags announce a MIC.
fn client_sent_mic(blob: &[u8]) -> bool {
    let Some(mut pairs) = blob.get(28..) else {
        return false;
    };
    while pairs.len() >= 4 {
        let id = u16::from_le_bytes([pairs[0], pairs[1]]);
        let len = usize::from(u16::from_le_bytes([pairs[2], pairs[3]]));
        let Some(value) = pairs.get(4..4 + len) else {
            return false;
        };
        if id == AV_EOL {
            return false;
        }
        if id == AV_FLAGS && len == 4 {
            return u32::from_le_bytes([value[0], value[1], value[2], value[3]]) & AV_FLAG_MIC != 0;
        }
        pairs = &pairs[4 + len..];
    }
    false
}

/// Sealing keys and sequence numbers after a successful AUTHENTICATE (MS-NLMP 3.4.4, extended
/// session security).
pub(crate) struct NtlmSession {
    client_sign: [u8; 16],
    server_sign: [u8; 16],
    client_seal: Rc4,
    server_seal: Rc4,
    key_exch: bool,
    send_seq: u32,
    recv_seq: u32,
    pub user: String,
    pub domain: String,
}

impl NtlmSession {
    fn new(exported: &[u8; 16], flags: u32, user: String, domain: String) -> Self {
        let seal_base: &[u8] = if flags & NEGOTIATE_128 != 0 {
            exported
        } else if flags & NEGOTIATE_56 != 0 {
            &exported[..7]
        } else {
            &exported[..5]
        };
        let c2s_sign = b"session key to client-to-server signing key magic constant\0";
        let s2c_sign = b"session key to server-to-client signing key magic constant\0";
        let c2s_seal = b"session key to client-to-server sealing key magic constant\0";
        let s2c_seal = b"session key to server-to-client sealing key magic constant\0";
        Self {
            client_sign: md5(&[exported, c2s_sign]),
            server_sign: md5(&[exported, s2c_sign]),
            client_seal: Rc4::new(&md5(&[seal_base, c2s_seal])),
            server_seal: Rc4::new(&md5(&[seal_base, s2c_seal])),
            key_exch: flags & NEGOTIATE_KEY_EXCH != 0,
            send_seq: 0,
            recv_seq: 0,
            user,
            domain,
        }
    }

    /// Seals a message to the client: 16-byte signature followed by the ciphertext, the layout
    /// CredSSP puts in pubKeyAuth and authInfo.
    pub(crate) fn seal(&mut self, message: &[u8]) -> Vec<u8> {
        let seq = self.send_seq.to_le_bytes();
        let encrypted = self.server_seal.apply(message);
        let mut checksum = hmac_md5(&self.server_sign, &[&seq, message])[..8].to_vec();
        if self.key_exch {
            checksum = self.server_seal.apply(&checksum);
        }
        self.send_seq = self.send_seq.wrapping_add(1);
        let mut out = Vec::with_capacity(16 + encrypted.len());
        out.extend_from_slice(&1u32.to_le_bytes());
        out.extend_from_slice(&checksum);
        out.extend_from_slice(&seq);
        out.extend_from_slice(&encrypted);
        out
    }

    /// Unseals a message from the client, `None` if it was not sealed with this session.
    pub(crate) fn unseal(&mut self, data: &[u8]) -> Option<Vec<u8>> {
        if data.len() < 16 {
            return None;
        }
        let (signature, encrypted) = data.split_at(16);
        let seq = self.recv_seq.to_le_bytes();
        let message = self.client_seal.apply(encrypted);
        let mut checksum = hmac_md5(&self.client_sign, &[&seq, &message])[..8].to_vec();
        if self.key_exch {
            checksum = self.client_seal.apply(&checksum);
        }
        self.recv_seq = self.recv_seq.wrapping_add(1);
        (signature[..4] == [1, 0, 0, 0]
            && signature[4..12] == checksum[..]
            && signature[12..] == seq)
            .then_some(message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenge_carries_the_identity() {
        let identity = ServerIdentity::default();
        let negotiate = {
            let mut m = SIGNATURE.to_vec();
            m.extend_from_slice(&1u32.to_le_bytes());
            m.extend_from_slice(&0xe208_8297u32.to_le_bytes());
            m.extend_from_slice(&[0; 16]);
            m
        };
        let (_, challenge) = NtlmServer::challenge(&identity, &negotiate).unwrap();
        assert_eq!(&challenge[..8], SIGNATURE);
        let flags = u32_at(&challenge, 20).unwrap();
        assert_eq!(flags & NEGOTIATE_TARGET_INFO, NEGOTIATE_TARGET_INFO);
        assert_eq!(from_utf16le(payload(&challenge, 12).unwrap()), "RDPLAB");
        let info = payload(&challenge, 40).unwrap();
        assert_eq!(u16_at(info, 0).unwrap(), AV_NB_DOMAIN);
        // Version 10.0.20348, NTLM revision 15.
        assert_eq!(&challenge[48..56], &[10, 0, 0x7c, 0x4f, 0, 0, 0, 0x0f]);
    }

    #[test]
    fn seal_and_unseal_are_inverse_between_the_two_directions() {
        let key = [7u8; 16];
        let flags = NEGOTIATE_128 | NEGOTIATE_KEY_EXCH | NEGOTIATE_EXTENDED_SESSIONSECURITY;
        let mut server = NtlmSession::new(&key, flags, String::new(), String::new());
        // A "client" is the same session with the directions swapped.
        let mut client = NtlmSession::new(&key, flags, String::new(), String::new());
        std::mem::swap(&mut client.client_seal, &mut client.server_seal);
        std::mem::swap(&mut client.client_sign, &mut client.server_sign);
        for msg in [&b"hello"[..], b"second message"] {
            let sealed = client.seal(msg);
            assert_eq!(server.unseal(&sealed).unwrap(), msg);
        }
        let mut tampered = client.seal(b"x");
        tampered[5] ^= 1;
        assert!(server.unseal(&tampered).is_none());
    }
}
