//! Certificate facts: decode an X.509 certificate into [`ServerCertificate`].
//!
//! One place for the live TLS stage and for certificate files, so a certificate reads the same
//! whichever way it arrived. Pure: the caller supplies the time and the name to match.

use base64::Engine;
use chrono::{DateTime, Utc};
use sha1::Sha1;
use sha2::{Digest, Sha256};
use std::net::IpAddr;
use x509_parser::extensions::GeneralName;
use x509_parser::prelude::{FromDer, X509Certificate};
use x509_parser::public_key::PublicKey;

use crate::evidence::{ChainCertificate, NameMatch, ServerCertificate};

/// Why a certificate could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CertificateError {
    #[error("the certificate is not valid DER X.509: {0}")]
    Malformed(String),
    #[error("the certificate has {0} trailing bytes after its DER structure")]
    TrailingBytes(usize),
    #[error("the certificate's validity dates are out of range")]
    BadValidity,
}

/// Extended key usage OIDs an RDP certificate may carry.
const EKU_NAMES: &[(&str, &str)] = &[
    ("1.3.6.1.5.5.7.3.1", "serverAuth"),
    ("1.3.6.1.5.5.7.3.2", "clientAuth"),
    ("1.3.6.1.4.1.311.54.1.2", "remoteDesktopAuth"),
    ("1.3.6.1.5.5.7.3.3", "codeSigning"),
    ("1.3.6.1.5.5.7.3.4", "emailProtection"),
    ("2.5.29.37.0", "anyExtendedKeyUsage"),
];

/// Signature algorithm OID -> (name, hash).
const SIGNATURE_ALGORITHMS: &[(&str, &str, &str)] = &[
    ("1.2.840.113549.1.1.4", "md5WithRSAEncryption", "MD5"),
    ("1.2.840.113549.1.1.5", "sha1WithRSAEncryption", "SHA-1"),
    (
        "1.2.840.113549.1.1.11",
        "sha256WithRSAEncryption",
        "SHA-256",
    ),
    (
        "1.2.840.113549.1.1.12",
        "sha384WithRSAEncryption",
        "SHA-384",
    ),
    (
        "1.2.840.113549.1.1.13",
        "sha512WithRSAEncryption",
        "SHA-512",
    ),
    ("1.2.840.113549.1.1.10", "rsassaPss", "per parameters"),
    ("1.2.840.10045.4.1", "ecdsa-with-SHA1", "SHA-1"),
    ("1.2.840.10045.4.3.2", "ecdsa-with-SHA256", "SHA-256"),
    ("1.2.840.10045.4.3.3", "ecdsa-with-SHA384", "SHA-384"),
    ("1.2.840.10045.4.3.4", "ecdsa-with-SHA512", "SHA-512"),
    ("1.2.840.10040.4.3", "dsa-with-sha1", "SHA-1"),
    ("1.3.101.112", "Ed25519", "SHA-512"),
];

/// Public key algorithm OID -> name.
const KEY_TYPES: &[(&str, &str)] = &[
    ("1.2.840.113549.1.1.1", "RSA"),
    ("1.2.840.113549.1.1.10", "RSA-PSS"),
    ("1.2.840.10045.2.1", "EC"),
    ("1.2.840.10040.4.1", "DSA"),
    ("1.3.101.112", "Ed25519"),
    ("1.3.101.113", "Ed448"),
];

fn lookup<'a>(table: &'a [(&str, &'a str)], oid: &str) -> Option<&'a str> {
    table.iter().find(|(o, _)| *o == oid).map(|(_, n)| *n)
}

/// Decode a DER certificate. `at` is the observation time (for `days_left`); `name` is what the
/// user connects to, compared with the certificate's names when given.
pub fn describe(
    der: &[u8],
    at: DateTime<Utc>,
    name: Option<&str>,
) -> Result<ServerCertificate, CertificateError> {
    let (rest, x) =
        X509Certificate::from_der(der).map_err(|e| CertificateError::Malformed(e.to_string()))?;
    if !rest.is_empty() {
        return Err(CertificateError::TrailingBytes(rest.len()));
    }
    let not_before = DateTime::from_timestamp(x.validity().not_before.timestamp(), 0)
        .ok_or(CertificateError::BadValidity)?;
    let not_after = DateTime::from_timestamp(x.validity().not_after.timestamp(), 0)
        .ok_or(CertificateError::BadValidity)?;

    let sig_oid = x.signature_algorithm.algorithm.to_id_string();
    let (signature_algorithm, signature_hash) =
        match SIGNATURE_ALGORITHMS.iter().find(|(o, _, _)| *o == sig_oid) {
            Some((_, n, h)) => (n.to_string(), Some(h.to_string())),
            None => (sig_oid.clone(), None),
        };
    let key_oid = x.public_key().algorithm.algorithm.to_id_string();
    let key_type = lookup(KEY_TYPES, &key_oid).unwrap_or(&key_oid).to_string();
    let key_bits = match x.public_key().parsed() {
        Ok(PublicKey::RSA(rsa)) => Some(rsa_modulus_bits(rsa.modulus)),
        Ok(k @ PublicKey::EC(_)) => Some(k.key_size() as u32),
        Ok(PublicKey::DSA(y)) => Some((y.len() * 8) as u32),
        _ => None,
    };

    let mut san_dns = Vec::new();
    let mut san_ip = Vec::new();
    if let Ok(Some(san)) = x.subject_alternative_name() {
        for gn in &san.value.general_names {
            match gn {
                GeneralName::DNSName(d) => san_dns.push(d.to_string()),
                GeneralName::IPAddress(b) => {
                    if let Some(ip) = ip_from_bytes(b) {
                        san_ip.push(ip.to_string());
                    }
                }
                _ => {}
            }
        }
    }
    let mut eku = Vec::new();
    if let Ok(Some(e)) = x.extended_key_usage() {
        let e = e.value;
        for (flag, oid) in [
            (e.server_auth, "1.3.6.1.5.5.7.3.1"),
            (e.client_auth, "1.3.6.1.5.5.7.3.2"),
            (e.code_signing, "1.3.6.1.5.5.7.3.3"),
            (e.email_protection, "1.3.6.1.5.5.7.3.4"),
            (e.any, "2.5.29.37.0"),
        ] {
            if flag {
                eku.push(lookup(EKU_NAMES, oid).unwrap_or(oid).to_string());
            }
        }
        for o in &e.other {
            let id = o.to_id_string();
            eku.push(lookup(EKU_NAMES, &id).map(str::to_string).unwrap_or(id));
        }
    }
    let common_name = x
        .subject()
        .iter_common_name()
        .next()
        .and_then(|cn| cn.as_str().ok())
        .map(str::to_string);
    let self_issued = x.subject().as_raw() == x.issuer().as_raw();
    // Self-signed = self-issued and the signature verifies with its own key. When the algorithm
    // cannot be checked, self-issued is the best evidence there is.
    let self_signed = self_issued
        && !matches!(
            x.verify_signature(None),
            Err(x509_parser::error::X509Error::SignatureVerificationError)
        );

    let mut cert = ServerCertificate {
        subject: x.subject().to_string(),
        common_name,
        issuer: x.issuer().to_string(),
        serial: x.raw_serial_as_string(),
        not_before,
        not_after,
        days_left: (not_after - at).num_days(),
        self_signed,
        key_type,
        key_bits,
        signature_algorithm,
        signature_hash,
        san_dns,
        san_ip,
        eku,
        is_ca: x.is_ca(),
        sha1: hex::encode_upper(Sha1::digest(der)),
        sha256: hex::encode(Sha256::digest(der)),
        name_match: None,
        trust: None,
        chain: Vec::new(),
        der_base64: base64::engine::general_purpose::STANDARD.encode(der),
    };
    if let Some(n) = name {
        cert.name_match = Some(match_name(&cert, n));
    }
    Ok(cert)
}

/// A chain entry for a non-leaf certificate; undecodable ones are summarised by hash only.
pub fn chain_entry(der: &[u8]) -> ChainCertificate {
    let sha256 = hex::encode(Sha256::digest(der));
    match X509Certificate::from_der(der) {
        Ok((_, x)) => ChainCertificate {
            subject: x.subject().to_string(),
            issuer: x.issuer().to_string(),
            sha256,
            not_after: DateTime::from_timestamp(x.validity().not_after.timestamp(), 0)
                .unwrap_or_default(),
        },
        Err(_) => ChainCertificate {
            subject: "(undecodable)".into(),
            issuer: String::new(),
            sha256,
            not_after: DateTime::default(),
        },
    }
}

/// Bits in an RSA modulus, ignoring leading zero bytes (DER adds one when the top bit is set).
fn rsa_modulus_bits(modulus: &[u8]) -> u32 {
    let trimmed: &[u8] = match modulus.iter().position(|&b| b != 0) {
        Some(i) => &modulus[i..],
        None => return 0,
    };
    (trimmed.len() as u32 - 1) * 8 + (8 - trimmed[0].leading_zeros())
}

fn ip_from_bytes(b: &[u8]) -> Option<IpAddr> {
    match b.len() {
        4 => Some(IpAddr::from(<[u8; 4]>::try_from(b).ok()?)),
        16 => Some(IpAddr::from(<[u8; 16]>::try_from(b).ok()?)),
        _ => None,
    }
}

/// Compare a target name with the certificate, the way RDP clients do: SAN DNS names (with a
/// single leftmost wildcard label) and SAN IP addresses; the subject CN when there is no SAN DNS
/// name (Windows' self-signed RDP certificates carry only a CN). Case-insensitive, trailing dot
/// ignored.
pub fn match_name(cert: &ServerCertificate, name: &str) -> NameMatch {
    let wanted = name.trim_end_matches('.').to_ascii_lowercase();
    let checked = name.to_string();
    if let Ok(ip) = wanted.parse::<IpAddr>() {
        let hit = cert
            .san_ip
            .iter()
            .find(|s| s.parse::<IpAddr>().ok() == Some(ip));
        return NameMatch {
            checked,
            matches: hit.is_some(),
            matched_by: hit.map(|s| format!("IP:{s}")),
        };
    }
    for dns in &cert.san_dns {
        if dns_matches(dns, &wanted) {
            return NameMatch {
                checked,
                matches: true,
                matched_by: Some(format!("DNS:{dns}")),
            };
        }
    }
    if cert.san_dns.is_empty()
        && let Some(cn) = &cert.common_name
        && dns_matches(cn, &wanted)
    {
        return NameMatch {
            checked,
            matches: true,
            matched_by: Some(format!("CN={cn}")),
        };
    }
    NameMatch {
        checked,
        matches: false,
        matched_by: None,
    }
}

fn dns_matches(pattern: &str, wanted: &str) -> bool {
    let pattern = pattern.trim_end_matches('.').to_ascii_lowercase();
    if let Some(suffix) = pattern.strip_prefix("*.") {
        return match wanted.split_once('.') {
            Some((label, rest)) => !label.is_empty() && rest == suffix,
            None => false,
        };
    }
    pattern == wanted
}

/// All names a certificate vouches for, for messages ("the certificate names X, Y").
pub fn names(cert: &ServerCertificate) -> Vec<String> {
    let mut v: Vec<String> = cert.san_dns.clone();
    v.extend(cert.san_ip.iter().cloned());
    if v.is_empty() {
        v.extend(cert.common_name.iter().cloned());
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn cert_with(san_dns: &[&str], san_ip: &[&str], cn: Option<&str>) -> ServerCertificate {
        let t = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        ServerCertificate {
            subject: String::new(),
            common_name: cn.map(str::to_string),
            issuer: String::new(),
            serial: String::new(),
            not_before: t,
            not_after: t,
            days_left: 0,
            self_signed: true,
            key_type: "RSA".into(),
            key_bits: Some(2048),
            signature_algorithm: String::new(),
            signature_hash: None,
            san_dns: san_dns.iter().map(|s| s.to_string()).collect(),
            san_ip: san_ip.iter().map(|s| s.to_string()).collect(),
            eku: vec![],
            is_ca: false,
            sha1: String::new(),
            sha256: String::new(),
            name_match: None,
            trust: None,
            chain: vec![],
            der_base64: String::new(),
        }
    }

    #[test]
    fn names_match_like_rdp_clients() {
        let c = cert_with(
            &["server01.contoso.com", "*.rds.contoso.com"],
            &["10.0.0.5"],
            Some("ignored"),
        );
        assert!(match_name(&c, "SERVER01.contoso.com.").matches);
        assert!(match_name(&c, "host7.rds.contoso.com").matches);
        assert!(!match_name(&c, "a.b.rds.contoso.com").matches);
        assert!(match_name(&c, "10.0.0.5").matches);
        assert!(!match_name(&c, "10.0.0.6").matches);
        assert!(!match_name(&c, "server01").matches);
        assert!(
            !match_name(&c, "ignored").matches,
            "CN is not used when SAN DNS names exist"
        );
        let windows_self_signed = cert_with(&[], &[], Some("WIN-ABC.contoso.com"));
        assert_eq!(
            match_name(&windows_self_signed, "win-abc.contoso.com")
                .matched_by
                .as_deref(),
            Some("CN=WIN-ABC.contoso.com")
        );
    }

    #[test]
    fn rsa_bits_ignore_the_der_sign_byte() {
        let mut m = vec![0u8; 257];
        m[1] = 0x80;
        assert_eq!(rsa_modulus_bits(&m), 2048);
        assert_eq!(rsa_modulus_bits(&[0x01, 0xff]), 9);
        assert_eq!(rsa_modulus_bits(&[]), 0);
    }

    #[test]
    fn garbage_is_a_clear_error() {
        assert!(matches!(
            describe(b"\x30\x03\x02\x01", Utc::now(), None),
            Err(CertificateError::Malformed(_))
        ));
        assert!(describe(&[], Utc::now(), None).is_err());
    }

    proptest::proptest! {
        #[test]
        fn describe_never_panics(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..600)) {
            let _ = describe(&bytes, Utc::now(), Some("x"));
        }
    }
}
