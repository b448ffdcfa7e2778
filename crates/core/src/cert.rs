//! Certificate decoding shared by the live TLS stage and the offline certificate files.
//!
//! One function, [`describe_certificate`], turns DER bytes into a [`ServerCertificate`], so a
//! certificate read from the wire and one exported from `Cert:\LocalMachine\Remote Desktop`
//! look exactly the same in the evidence and can be matched by thumbprint (SHA-1 upper-case
//! hex, what Windows shows and what `SSLCertificateSHA1Hash` holds).
//!
//! Name matching and trust checks depend on the connection, so they are left to the caller
//! (`name_match`, `trust` and `chain` are empty here).

use base64::Engine;
use chrono::{DateTime, Utc};
use sha1::Digest as _;
use x509_parser::prelude::*;
use x509_parser::public_key::PublicKey;

use crate::evidence::ServerCertificate;

/// Why DER bytes are not a usable certificate.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CertificateError {
    #[error("not a DER X.509 certificate: {0}")]
    Malformed(String),
    #[error("the certificate has {0} bytes after its end")]
    TrailingData(usize),
    #[error("the validity date {0} cannot be represented")]
    BadDate(i64),
}

/// The Microsoft "Remote Desktop Authentication" extended key usage.
const OID_REMOTE_DESKTOP_AUTH: &str = "1.3.6.1.4.1.311.54.1.2";

/// Decode a certificate. `now` is the observation time `days_left` is counted from.
pub fn describe_certificate(
    der: &[u8],
    now: DateTime<Utc>,
) -> Result<ServerCertificate, CertificateError> {
    let (rest, cert) =
        X509Certificate::from_der(der).map_err(|e| CertificateError::Malformed(e.to_string()))?;
    if !rest.is_empty() {
        return Err(CertificateError::TrailingData(rest.len()));
    }
    let not_before = to_utc(cert.validity().not_before.timestamp())?;
    let not_after = to_utc(cert.validity().not_after.timestamp())?;

    let common_name = cert
        .subject()
        .iter_common_name()
        .next()
        .and_then(|cn| cn.as_str().ok())
        .map(str::to_string);

    let same_name = cert.subject().as_raw() == cert.issuer().as_raw();
    // A self-signed certificate names itself as issuer and verifies with its own key; the
    // name alone is enough when the signature algorithm is one we cannot verify.
    let self_signed = same_name
        && match cert.verify_signature(None) {
            Ok(()) => true,
            Err(X509Error::SignatureUnsupportedAlgorithm) => true,
            Err(_) => false,
        };

    let (key_type, key_bits) = key_description(&cert);
    let sig_oid = &cert.signature_algorithm.algorithm;
    let signature_algorithm = oid_name(sig_oid);
    let signature_hash = signature_hash(&sig_oid.to_id_string());

    let mut san_dns = Vec::new();
    let mut san_ip = Vec::new();
    if let Ok(Some(san)) = cert.subject_alternative_name() {
        for name in &san.value.general_names {
            match name {
                GeneralName::DNSName(d) => san_dns.push(d.to_string()),
                GeneralName::IPAddress(bytes) => {
                    if let Some(ip) = ip_from_bytes(bytes) {
                        san_ip.push(ip);
                    }
                }
                _ => {}
            }
        }
    }

    let mut eku = Vec::new();
    if let Ok(Some(ext)) = cert.extended_key_usage() {
        let e = ext.value;
        for (on, name) in [
            (e.any, "anyExtendedKeyUsage"),
            (e.server_auth, "serverAuth"),
            (e.client_auth, "clientAuth"),
            (e.code_signing, "codeSigning"),
            (e.email_protection, "emailProtection"),
            (e.time_stamping, "timeStamping"),
            (e.ocsp_signing, "OCSPSigning"),
        ] {
            if on {
                eku.push(name.to_string());
            }
        }
        for oid in &e.other {
            let id = oid.to_id_string();
            eku.push(if id == OID_REMOTE_DESKTOP_AUTH {
                "remoteDesktopAuth".to_string()
            } else {
                id
            });
        }
    }

    Ok(ServerCertificate {
        subject: cert.subject().to_string(),
        common_name,
        issuer: cert.issuer().to_string(),
        serial: hex::encode_upper(cert.raw_serial()),
        not_before,
        not_after,
        days_left: (not_after - now).num_days(),
        self_signed,
        key_type,
        key_bits,
        signature_algorithm,
        signature_hash,
        san_dns,
        san_ip,
        eku,
        is_ca: cert.is_ca(),
        sha1: sha1_thumbprint(der),
        sha256: hex::encode(sha2::Sha256::digest(der)),
        name_match: None,
        trust: None,
        chain: Vec::new(),
        der_base64: base64::engine::general_purpose::STANDARD.encode(der),
    })
}

/// The SHA-1 thumbprint as Windows shows it: upper-case hex, no separators.
pub fn sha1_thumbprint(der: &[u8]) -> String {
    hex::encode_upper(sha1::Sha1::digest(der))
}

/// Normalise a thumbprint typed or exported in any common form (`59 ef f2 ...`, `59:EF:...`,
/// with the invisible left-to-right mark certlm.msc copies) to upper-case hex.
pub fn normalize_thumbprint(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_ascii_hexdigit())
        .collect::<String>()
        .to_ascii_uppercase()
}

fn to_utc(ts: i64) -> Result<DateTime<Utc>, CertificateError> {
    DateTime::from_timestamp(ts, 0).ok_or(CertificateError::BadDate(ts))
}

fn key_description(cert: &X509Certificate<'_>) -> (String, Option<u32>) {
    let spki = cert.public_key();
    let alg = spki.algorithm.algorithm.to_id_string();
    match spki.parsed() {
        Ok(PublicKey::RSA(k)) => ("RSA".into(), u32::try_from(k.key_size()).ok()),
        Ok(PublicKey::EC(k)) => ("EC".into(), u32::try_from(k.key_size()).ok()),
        Ok(PublicKey::DSA(y)) => ("DSA".into(), u32::try_from(y.len() * 8).ok()),
        _ => match alg.as_str() {
            "1.3.101.112" => ("Ed25519".into(), Some(256)),
            "1.3.101.113" => ("Ed448".into(), Some(456)),
            _ => (oid_name(&spki.algorithm.algorithm), None),
        },
    }
}

fn oid_name(oid: &x509_parser::der_parser::Oid<'_>) -> String {
    x509_parser::objects::oid2sn(oid, x509_parser::objects::oid_registry())
        .map(str::to_string)
        .unwrap_or_else(|_| oid.to_id_string())
}

/// The hash inside a signature algorithm, by OID.
fn signature_hash(oid: &str) -> Option<String> {
    let h = match oid {
        "1.2.840.113549.1.1.4" => "MD5",
        "1.2.840.113549.1.1.5" | "1.2.840.10045.4.1" | "1.2.840.10040.4.3" | "1.3.14.3.2.29" => {
            "SHA-1"
        }
        "1.2.840.113549.1.1.11" | "1.2.840.10045.4.3.2" | "2.16.840.1.101.3.4.3.2" => "SHA-256",
        "1.2.840.113549.1.1.12" | "1.2.840.10045.4.3.3" => "SHA-384",
        "1.2.840.113549.1.1.13" | "1.2.840.10045.4.3.4" => "SHA-512",
        "1.2.840.113549.1.1.14" => "SHA-224",
        "1.2.840.113549.1.1.2" => "MD2",
        _ => return None,
    };
    Some(h.to_string())
}

fn ip_from_bytes(b: &[u8]) -> Option<String> {
    match b.len() {
        4 => Some(std::net::Ipv4Addr::new(b[0], b[1], b[2], b[3]).to_string()),
        16 => {
            let mut a = [0u8; 16];
            a.copy_from_slice(b);
            Some(std::net::Ipv6Addr::from(a).to_string())
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        let now = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        assert!(describe_certificate(b"", now).is_err());
        assert!(describe_certificate(&[0x30, 0x82, 0xff, 0xff, 0x01], now).is_err());
    }

    #[test]
    fn thumbprints_normalise() {
        assert_eq!(
            normalize_thumbprint("\u{200e}59 ef:f2-e3"),
            "59EFF2E3".to_string()
        );
    }
}
