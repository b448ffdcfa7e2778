//! Cipher-suite catalog: IANA id ↔ IANA name, with the properties a diagnosis needs.
//!
//! The id/name table and the algorithm columns come from tls-parser's copy of the IANA
//! registry (`TlsCipherSuite::from_id`). Two things that table lacks are derived here from
//! each suite's construction, not read from a registry:
//!
//! - the protocol versions a suite can be used with (AEAD and SHA-256/384 PRF suites are
//!   TLS 1.2 only, TLS 1.3 suites are TLS 1.3 only, EXPORT suites end at TLS 1.0, single-DES
//!   and IDEA end at TLS 1.1, suites from the original SSL 3.0 range start at SSL 3.0 and the
//!   rest at TLS 1.0);
//! - a weakness classification ([`Weakness`]) for reports.

use std::fmt;

use tls_parser::{TlsCipherAu, TlsCipherEnc, TlsCipherEncMode, TlsCipherKx, TlsCipherMac, TlsPRF};

use super::ProtocolVersion;

/// TLS_EMPTY_RENEGOTIATION_INFO_SCSV (RFC 5746).
pub const EMPTY_RENEGOTIATION_INFO_SCSV: u16 = 0x00ff;
/// TLS_FALLBACK_SCSV (RFC 7507).
pub const FALLBACK_SCSV: u16 = 0x5600;

/// Key exchange.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KeyExchange {
    /// None (TLS_NULL_WITH_NULL_NULL, signalling values).
    Null,
    /// RSA key transport: no forward secrecy.
    Rsa,
    /// Static Diffie-Hellman (certificate key or anonymous).
    Dh,
    /// Ephemeral Diffie-Hellman.
    Dhe,
    /// Static ECDH (certificate key or anonymous).
    Ecdh,
    /// Ephemeral ECDH.
    Ecdhe,
    /// Pre-shared key only.
    Psk,
    /// Kerberos 5.
    Krb5,
    /// SRP.
    Srp,
    /// ECCPWD.
    EccPwd,
    /// TLS 1.3: negotiated by key_share, not by the suite.
    Tls13,
}

/// Server authentication.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Authentication {
    /// None: anonymous suites, open to man-in-the-middle.
    Anonymous,
    /// RSA certificate.
    Rsa,
    /// DSA certificate.
    Dss,
    /// ECDSA certificate.
    Ecdsa,
    /// Pre-shared key.
    Psk,
    /// Kerberos 5.
    Krb5,
    /// SRP (optionally with RSA/DSS).
    Srp,
    /// ECCPWD.
    EccPwd,
    /// TLS 1.3: by the certificate and signature_algorithms.
    Tls13,
}

/// Bulk cipher.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BulkCipher {
    /// No encryption.
    Null,
    /// RC4 stream cipher.
    Rc4,
    /// RC2 (export only).
    Rc2,
    /// Single DES (56 bits or 40-bit export).
    Des,
    /// Triple DES (64-bit block: Sweet32).
    TripleDes,
    /// IDEA (64-bit block).
    Idea,
    /// SEED.
    Seed,
    /// AES.
    Aes,
    /// ARIA.
    Aria,
    /// Camellia.
    Camellia,
    /// ChaCha20-Poly1305.
    Chacha20Poly1305,
    /// SM4.
    Sm4,
    /// AEGIS.
    Aegis,
}

/// Cipher mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CipherMode {
    /// Stream cipher or no cipher.
    None,
    /// CBC with MAC-then-encrypt (Lucky13; BEAST on TLS 1.0).
    Cbc,
    /// GCM (AEAD).
    Gcm,
    /// CCM (AEAD).
    Ccm,
}

/// Record MAC.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Mac {
    /// None.
    Null,
    /// HMAC-MD5.
    Md5,
    /// HMAC-SHA1.
    Sha1,
    /// HMAC-SHA256.
    Sha256,
    /// HMAC-SHA384.
    Sha384,
    /// HMAC-SHA512.
    Sha512,
    /// Integrated in the AEAD cipher.
    Aead,
}

/// Why a suite is weak, most severe first (the order [`CipherSuite::weaknesses`] returns).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Weakness {
    /// No encryption at all.
    NullCipher,
    /// No server authentication (anonymous DH/ECDH): trivially intercepted.
    Anonymous,
    /// 40/56-bit export-grade keys.
    Export,
    /// Single DES.
    Des,
    /// RC4 (prohibited by RFC 7465).
    Rc4,
    /// RC2 or IDEA: obsolete 64-bit-block ciphers.
    ObsoleteCipher,
    /// 3DES: 64-bit block, Sweet32.
    TripleDes,
    /// HMAC-MD5 record MAC.
    Md5Mac,
    /// RSA key transport: no forward secrecy, and the ROBOT family of oracles.
    StaticRsa,
    /// Static (EC)DH with the certificate key: no forward secrecy.
    StaticDh,
    /// CBC mode with MAC-then-encrypt (Lucky13; BEAST on TLS 1.0).
    Cbc,
}

impl Weakness {
    /// Short snake_case name for reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Weakness::NullCipher => "null_cipher",
            Weakness::Anonymous => "anonymous",
            Weakness::Export => "export",
            Weakness::Des => "des",
            Weakness::Rc4 => "rc4",
            Weakness::ObsoleteCipher => "obsolete_cipher",
            Weakness::TripleDes => "3des",
            Weakness::Md5Mac => "md5_mac",
            Weakness::StaticRsa => "static_rsa",
            Weakness::StaticDh => "static_dh",
            Weakness::Cbc => "cbc",
        }
    }
}

impl fmt::Display for Weakness {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One cipher suite with its properties.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CipherSuite {
    /// IANA id.
    pub id: u16,
    /// IANA name (`TLS_RSA_WITH_AES_128_CBC_SHA`, `TLS_AES_256_GCM_SHA384`).
    pub name: &'static str,
    /// Key exchange.
    pub kx: KeyExchange,
    /// Server authentication.
    pub auth: Authentication,
    /// Bulk cipher.
    pub cipher: BulkCipher,
    /// Cipher mode.
    pub mode: CipherMode,
    /// Encryption key size in bits (40 for export RC4, 168 for 3DES, 0 for NULL).
    pub key_bits: u16,
    /// Record MAC.
    pub mac: Mac,
    /// Oldest protocol version the suite can be negotiated in (derived, see module doc).
    pub min_version: ProtocolVersion,
    /// Newest protocol version the suite can be negotiated in (derived).
    pub max_version: ProtocolVersion,
    /// A signalling value (TLS_EMPTY_RENEGOTIATION_INFO_SCSV, TLS_FALLBACK_SCSV), not a suite.
    pub signaling: bool,
    export: bool,
}

impl CipherSuite {
    /// Weakness classes, most severe first (empty for a strong suite).
    pub fn weaknesses(&self) -> Vec<Weakness> {
        if self.signaling {
            return Vec::new();
        }
        let mut w = Vec::new();
        if self.cipher == BulkCipher::Null {
            w.push(Weakness::NullCipher);
        }
        if self.auth == Authentication::Anonymous && self.kx != KeyExchange::Null {
            w.push(Weakness::Anonymous);
        }
        if self.export {
            w.push(Weakness::Export);
        }
        match self.cipher {
            BulkCipher::Des => w.push(Weakness::Des),
            BulkCipher::Rc4 => w.push(Weakness::Rc4),
            BulkCipher::Rc2 | BulkCipher::Idea => w.push(Weakness::ObsoleteCipher),
            BulkCipher::TripleDes => w.push(Weakness::TripleDes),
            _ => {}
        }
        if self.mac == Mac::Md5 {
            w.push(Weakness::Md5Mac);
        }
        match self.kx {
            KeyExchange::Rsa => w.push(Weakness::StaticRsa),
            KeyExchange::Dh | KeyExchange::Ecdh if self.auth != Authentication::Anonymous => {
                w.push(Weakness::StaticDh)
            }
            _ => {}
        }
        if self.mode == CipherMode::Cbc {
            w.push(Weakness::Cbc);
        }
        w
    }

    /// The most severe weakness, if any.
    pub fn worst_weakness(&self) -> Option<Weakness> {
        self.weaknesses().into_iter().next()
    }

    /// Whether the key exchange gives forward secrecy.
    pub fn forward_secret(&self) -> bool {
        matches!(
            self.kx,
            KeyExchange::Dhe | KeyExchange::Ecdhe | KeyExchange::Tls13
        )
    }

    /// Whether the suite can be negotiated in `version`.
    pub fn usable_in(&self, version: ProtocolVersion) -> bool {
        !self.signaling && (self.min_version..=self.max_version).contains(&version)
    }
}

/// The catalog entry for a suite id; `None` for unassigned ids and GREASE values.
pub fn suite(id: u16) -> Option<CipherSuite> {
    let s = tls_parser::TlsCipherSuite::from_id(id)?;
    let kx = match s.kx {
        TlsCipherKx::Null => KeyExchange::Null,
        TlsCipherKx::Psk => KeyExchange::Psk,
        TlsCipherKx::Krb5 => KeyExchange::Krb5,
        TlsCipherKx::Srp => KeyExchange::Srp,
        TlsCipherKx::Rsa => KeyExchange::Rsa,
        TlsCipherKx::Dh => KeyExchange::Dh,
        TlsCipherKx::Dhe => KeyExchange::Dhe,
        TlsCipherKx::Ecdh | TlsCipherKx::Aecdh => KeyExchange::Ecdh,
        TlsCipherKx::Ecdhe => KeyExchange::Ecdhe,
        TlsCipherKx::Eccpwd => KeyExchange::EccPwd,
        TlsCipherKx::Tls13 => KeyExchange::Tls13,
    };
    let auth = match s.au {
        TlsCipherAu::Null => Authentication::Anonymous,
        TlsCipherAu::Psk => Authentication::Psk,
        TlsCipherAu::Krb5 => Authentication::Krb5,
        TlsCipherAu::Srp | TlsCipherAu::Srp_Dss | TlsCipherAu::Srp_Rsa => Authentication::Srp,
        TlsCipherAu::Dss => Authentication::Dss,
        TlsCipherAu::Rsa => Authentication::Rsa,
        // tls-parser marks DHE_PSK-style entries this way; the DHE part is the key exchange.
        TlsCipherAu::Dhe => Authentication::Psk,
        TlsCipherAu::Ecdsa => Authentication::Ecdsa,
        TlsCipherAu::Eccpwd => Authentication::EccPwd,
        TlsCipherAu::Tls13 => Authentication::Tls13,
    };
    let cipher = match s.enc {
        TlsCipherEnc::Null => BulkCipher::Null,
        TlsCipherEnc::Des => BulkCipher::Des,
        TlsCipherEnc::TripleDes => BulkCipher::TripleDes,
        TlsCipherEnc::Rc2 => BulkCipher::Rc2,
        TlsCipherEnc::Rc4 => BulkCipher::Rc4,
        TlsCipherEnc::Aria => BulkCipher::Aria,
        TlsCipherEnc::Idea => BulkCipher::Idea,
        TlsCipherEnc::Seed => BulkCipher::Seed,
        TlsCipherEnc::Aes => BulkCipher::Aes,
        TlsCipherEnc::Camellia => BulkCipher::Camellia,
        TlsCipherEnc::Chacha20_Poly1305 => BulkCipher::Chacha20Poly1305,
        TlsCipherEnc::Sm4 => BulkCipher::Sm4,
        TlsCipherEnc::Aegis => BulkCipher::Aegis,
    };
    let mode = match s.enc_mode {
        TlsCipherEncMode::Null => CipherMode::None,
        TlsCipherEncMode::Cbc => CipherMode::Cbc,
        TlsCipherEncMode::Ccm => CipherMode::Ccm,
        TlsCipherEncMode::Gcm => CipherMode::Gcm,
    };
    let mac = match s.mac {
        TlsCipherMac::Null => Mac::Null,
        TlsCipherMac::HmacMd5 => Mac::Md5,
        TlsCipherMac::HmacSha1 => Mac::Sha1,
        TlsCipherMac::HmacSha256 => Mac::Sha256,
        TlsCipherMac::HmacSha384 => Mac::Sha384,
        TlsCipherMac::HmacSha512 => Mac::Sha512,
        TlsCipherMac::Aead => Mac::Aead,
    };
    let signaling = matches!(id, EMPTY_RENEGOTIATION_INFO_SCSV | FALLBACK_SCSV);
    let export = s.name.contains("EXPORT");
    let tls12_only = matches!(mac, Mac::Aead | Mac::Sha256 | Mac::Sha384 | Mac::Sha512)
        || matches!(
            s.prf,
            TlsPRF::Sha256 | TlsPRF::Sha384 | TlsPRF::Sha512 | TlsPRF::Sm3
        );
    let (min_version, max_version) = if kx == KeyExchange::Tls13 {
        (ProtocolVersion::TLS13, ProtocolVersion::TLS13)
    } else if tls12_only {
        (ProtocolVersion::TLS12, ProtocolVersion::TLS12)
    } else {
        // 0x0000..=0x00fe is the range SSL 3.0 implementations shipped (RSA/DH/DHE, RC4, DES,
        // 3DES, AES and Camellia with SHA-1); ECC, SRP and the rest were defined for TLS.
        let min = if id < 0x00ff {
            ProtocolVersion::SSL3
        } else {
            ProtocolVersion::TLS10
        };
        // RFC 4346 (TLS 1.1) forbids export suites; RFC 5246 (TLS 1.2) drops DES and IDEA.
        let max = if export {
            ProtocolVersion::TLS10
        } else if matches!(cipher, BulkCipher::Des | BulkCipher::Idea) {
            ProtocolVersion::TLS11
        } else {
            ProtocolVersion::TLS12
        };
        (min, max)
    };
    Some(CipherSuite {
        id,
        name: s.name,
        kx,
        auth,
        cipher,
        mode,
        key_bits: s.enc_size,
        mac,
        min_version,
        max_version,
        signaling,
        export,
    })
}

/// IANA name of a suite id (`GREASE` for RFC 8701 values), if known.
pub fn suite_name(id: u16) -> Option<&'static str> {
    if super::groups::is_grease(id) {
        return Some("GREASE");
    }
    tls_parser::TlsCipherSuite::from_id(id).map(|s| s.name)
}

/// The suite with this exact IANA name.
pub fn suite_by_name(name: &str) -> Option<CipherSuite> {
    tls_parser::TlsCipherSuite::from_name(name).and_then(|s| suite(s.id.0))
}

/// Every suite in the catalog, by id.
pub fn all() -> impl Iterator<Item = CipherSuite> {
    (0..=u16::MAX).filter_map(suite)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rdp_suites_from_the_captures() {
        let s = suite(0x002f).unwrap();
        assert_eq!(s.name, "TLS_RSA_WITH_AES_128_CBC_SHA");
        assert_eq!(s.kx, KeyExchange::Rsa);
        assert_eq!(s.mode, CipherMode::Cbc);
        assert_eq!(s.min_version, ProtocolVersion::SSL3);
        assert_eq!(s.max_version, ProtocolVersion::TLS12);
        assert_eq!(s.weaknesses(), vec![Weakness::StaticRsa, Weakness::Cbc]);
        assert!(!s.forward_secret());

        let s = suite(0x009d).unwrap();
        assert_eq!(s.name, "TLS_RSA_WITH_AES_256_GCM_SHA384");
        assert_eq!(s.mac, Mac::Aead);
        assert_eq!(
            (s.min_version, s.max_version),
            (ProtocolVersion::TLS12, ProtocolVersion::TLS12)
        );
        assert_eq!(s.worst_weakness(), Some(Weakness::StaticRsa));
    }

    #[test]
    fn tls13_and_modern_suites() {
        let s = suite(0x1302).unwrap();
        assert_eq!(s.name, "TLS_AES_256_GCM_SHA384");
        assert!(s.usable_in(ProtocolVersion::TLS13));
        assert!(!s.usable_in(ProtocolVersion::TLS12));
        assert!(s.weaknesses().is_empty());
        let s = suite(0xc030).unwrap();
        assert_eq!(s.name, "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384");
        assert!(s.forward_secret() && s.weaknesses().is_empty());
        let s = suite(0xc014).unwrap();
        assert_eq!(s.name, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA");
        assert_eq!(s.min_version, ProtocolVersion::TLS10);
        assert_eq!(s.weaknesses(), vec![Weakness::Cbc]);
    }

    #[test]
    fn legacy_weakness_classes() {
        let w = |id| suite(id).unwrap().weaknesses();
        assert_eq!(w(0x0000)[0], Weakness::NullCipher); // TLS_NULL_WITH_NULL_NULL
        assert_eq!(w(0x0003)[0], Weakness::Export); // TLS_RSA_EXPORT_WITH_RC4_40_MD5
        assert!(w(0x0003).contains(&Weakness::Rc4) && w(0x0003).contains(&Weakness::Md5Mac));
        assert_eq!(w(0x0005)[0], Weakness::Rc4); // TLS_RSA_WITH_RC4_128_SHA
        assert_eq!(w(0x000a)[0], Weakness::TripleDes); // TLS_RSA_WITH_3DES_EDE_CBC_SHA
        assert_eq!(w(0x0009)[0], Weakness::Des); // TLS_RSA_WITH_DES_CBC_SHA
        assert_eq!(w(0x0018)[0], Weakness::Anonymous); // TLS_DH_anon_WITH_RC4_128_MD5
        assert_eq!(w(0x0030)[0], Weakness::StaticDh); // TLS_DH_DSS_WITH_AES_128_CBC_SHA
        assert_eq!(suite(0x0003).unwrap().max_version, ProtocolVersion::TLS10);
        assert_eq!(suite(0x0009).unwrap().max_version, ProtocolVersion::TLS11);
        assert_eq!(suite(0x0003).unwrap().key_bits, 40);
    }

    #[test]
    fn names_and_signalling_values() {
        assert_eq!(suite_name(0x5600), Some("TLS_FALLBACK_SCSV"));
        assert!(suite(0x5600).unwrap().signaling);
        assert!(suite(0x00ff).unwrap().weaknesses().is_empty());
        assert!(!suite(0x00ff).unwrap().usable_in(ProtocolVersion::TLS12));
        assert_eq!(suite_name(0x0a0a), Some("GREASE"));
        assert_eq!(suite(0x0a0a), None);
        assert_eq!(suite_name(0xfefe), None);
        assert_eq!(suite_by_name("TLS_AES_128_GCM_SHA256").unwrap().id, 0x1301);
        assert!(all().count() > 300);
        // Every catalog entry has a consistent version range.
        assert!(all().all(|s| s.min_version <= s.max_version));
    }
}
