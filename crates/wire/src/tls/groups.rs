//! Named groups (supported_groups / key_share / ServerKeyExchange curves) and signature schemes,
//! with their IANA names.
//!
//! The names are what reports show (`x25519`, `secp256r1`), so they follow the IANA registry
//! spelling rather than OpenSSL's (`prime256v1`) or Windows' (`NistP256`).

/// `x25519` (29).
pub const X25519: u16 = 0x001d;
/// `secp256r1` (23), a.k.a. NIST P-256.
pub const SECP256R1: u16 = 0x0017;
/// `secp384r1` (24), a.k.a. NIST P-384.
pub const SECP384R1: u16 = 0x0018;
/// `secp521r1` (25).
pub const SECP521R1: u16 = 0x0019;
/// `x448` (30).
pub const X448: u16 = 0x001e;
/// `ffdhe2048` (256).
pub const FFDHE2048: u16 = 0x0100;
/// `ffdhe3072` (257).
pub const FFDHE3072: u16 = 0x0101;
/// `X25519MLKEM768` (4588), the hybrid post-quantum group current browsers offer.
pub const X25519_MLKEM768: u16 = 0x11ec;

/// IANA name of a named group, if known. GREASE values (RFC 8701) are named `GREASE`.
pub fn group_name(id: u16) -> Option<&'static str> {
    if is_grease(id) {
        return Some("GREASE");
    }
    Some(match id {
        1 => "sect163k1",
        2 => "sect163r1",
        3 => "sect163r2",
        4 => "sect193r1",
        5 => "sect193r2",
        6 => "sect233k1",
        7 => "sect233r1",
        8 => "sect239k1",
        9 => "sect283k1",
        10 => "sect283r1",
        11 => "sect409k1",
        12 => "sect409r1",
        13 => "sect571k1",
        14 => "sect571r1",
        15 => "secp160k1",
        16 => "secp160r1",
        17 => "secp160r2",
        18 => "secp192k1",
        19 => "secp192r1",
        20 => "secp224k1",
        21 => "secp224r1",
        22 => "secp256k1",
        23 => "secp256r1",
        24 => "secp384r1",
        25 => "secp521r1",
        26 => "brainpoolP256r1",
        27 => "brainpoolP384r1",
        28 => "brainpoolP512r1",
        29 => "x25519",
        30 => "x448",
        31 => "brainpoolP256r1tls13",
        32 => "brainpoolP384r1tls13",
        33 => "brainpoolP512r1tls13",
        256 => "ffdhe2048",
        257 => "ffdhe3072",
        258 => "ffdhe4096",
        259 => "ffdhe6144",
        260 => "ffdhe8192",
        512 => "MLKEM512",
        513 => "MLKEM768",
        514 => "MLKEM1024",
        4587 => "SecP256r1MLKEM768",
        4588 => "X25519MLKEM768",
        4589 => "SecP384r1MLKEM1024",
        0x6399 => "X25519Kyber768Draft00",
        0xff01 => "arbitrary_explicit_prime_curves",
        0xff02 => "arbitrary_explicit_char2_curves",
        _ => return None,
    })
}

/// The IANA id of a group name (exact spelling as [`group_name`] returns).
pub fn group_id(name: &str) -> Option<u16> {
    (0..=u16::MAX).find(|&id| !is_grease(id) && group_name(id) == Some(name))
}

/// Whether a value is one of the RFC 8701 GREASE code points (`0x0a0a`, `0x1a1a` ... `0xfafa`).
pub fn is_grease(v: u16) -> bool {
    v & 0x0f0f == 0x0a0a && (v >> 8) == (v & 0xff)
}

/// Size in bits of the group's security parameter, where meaningful for a report
/// (`secp256r1` → 256, `ffdhe2048` → 2048). `None` for unknown and hybrid groups.
pub fn group_bits(id: u16) -> Option<u16> {
    Some(match id {
        1..=3 => 163,
        4 | 5 => 193,
        6 | 7 => 233,
        8 => 239,
        9 | 10 => 283,
        11 | 12 => 409,
        13 | 14 => 571,
        15..=17 => 160,
        18 | 19 => 192,
        20 | 21 => 224,
        22 | 23 | 26 | 29 | 31 => 256,
        24 | 27 | 32 => 384,
        25 => 521,
        28 | 33 => 512,
        30 => 448,
        256 => 2048,
        257 => 3072,
        258 => 4096,
        259 => 6144,
        260 => 8192,
        _ => return None,
    })
}

/// Signature scheme code points used in the signature_algorithms extension (RFC 8446 §4.2.3;
/// the `*_sha1` and `rsa_pkcs1_*` values are the TLS 1.2 (hash, signature) pairs).
pub mod sig {
    /// rsa_pkcs1_sha1
    pub const RSA_PKCS1_SHA1: u16 = 0x0201;
    /// ecdsa_sha1
    pub const ECDSA_SHA1: u16 = 0x0203;
    /// rsa_pkcs1_sha256
    pub const RSA_PKCS1_SHA256: u16 = 0x0401;
    /// ecdsa_secp256r1_sha256
    pub const ECDSA_SECP256R1_SHA256: u16 = 0x0403;
    /// rsa_pkcs1_sha384
    pub const RSA_PKCS1_SHA384: u16 = 0x0501;
    /// ecdsa_secp384r1_sha384
    pub const ECDSA_SECP384R1_SHA384: u16 = 0x0503;
    /// rsa_pkcs1_sha512
    pub const RSA_PKCS1_SHA512: u16 = 0x0601;
    /// ecdsa_secp521r1_sha512
    pub const ECDSA_SECP521R1_SHA512: u16 = 0x0603;
    /// rsa_pss_rsae_sha256
    pub const RSA_PSS_RSAE_SHA256: u16 = 0x0804;
    /// rsa_pss_rsae_sha384
    pub const RSA_PSS_RSAE_SHA384: u16 = 0x0805;
    /// rsa_pss_rsae_sha512
    pub const RSA_PSS_RSAE_SHA512: u16 = 0x0806;
    /// ed25519
    pub const ED25519: u16 = 0x0807;
    /// ed448
    pub const ED448: u16 = 0x0808;
    /// rsa_pss_pss_sha256
    pub const RSA_PSS_PSS_SHA256: u16 = 0x0809;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_ids() {
        assert_eq!(group_name(X25519), Some("x25519"));
        assert_eq!(group_name(SECP256R1), Some("secp256r1"));
        assert_eq!(group_name(FFDHE2048), Some("ffdhe2048"));
        assert_eq!(group_name(X25519_MLKEM768), Some("X25519MLKEM768"));
        assert_eq!(group_name(0x2a2a), Some("GREASE"));
        assert_eq!(group_name(0x1234), None);
        assert_eq!(group_id("secp384r1"), Some(SECP384R1));
        assert_eq!(group_bits(SECP384R1), Some(384));
        assert!(is_grease(0xfafa));
        assert!(!is_grease(0x0a1a));
    }
}
