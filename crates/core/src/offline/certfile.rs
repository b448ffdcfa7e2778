//! Certificate files: DER (.cer/.der/.crt), PEM (one or several certificates), and PKCS#12
//! (.pfx/.p12) without a password.
//!
//! Decoding goes through [`crate::cert::describe`], the same function the live TLS
//! stage uses, so a file can be matched to the served certificate and to
//! `SSLCertificateSHA1Hash` by thumbprint. Private keys are never kept: a .pfx only tells that
//! it had one.

use chrono::{DateTime, Utc};
use std::time::Duration;

use crate::cert::CertificateError;
use crate::evidence::ServerCertificate;

/// Decode a certificate from a file: no name to match, the analysis time for `days_left`.
fn describe_certificate(
    der: &[u8],
    now: DateTime<Utc>,
) -> Result<ServerCertificate, CertificateError> {
    crate::cert::describe(der, now, None)
}

/// Normalise a thumbprint written in any common form (`59 ef f2 ...`, `59:EF:...`, with the
/// invisible left-to-right mark certlm.msc copies) to upper-case hex, as Windows shows it and
/// as `ServerCertificate::sha1` holds it.
pub fn normalize_thumbprint(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_ascii_hexdigit())
        .collect::<String>()
        .to_ascii_uppercase()
}

/// Largest certificate file read.
pub const MAX_CERT_BYTES: usize = 4 * 1024 * 1024;
/// Certificates kept from one file (a PEM bundle of a whole CA store is not what we want).
const MAX_PER_FILE: usize = 64;
/// How long a .pfx may take to open. Key derivation iterations come from the file; a hostile
/// one could ask for billions.
const PFX_TIMEOUT: Duration = Duration::from_secs(10);

/// A certificate read from a file.
pub(crate) struct ReadCertificate {
    pub certificate: ServerCertificate,
    pub has_private_key: bool,
}

/// What a certificate file gave: the certificates and the problems.
#[derive(Default)]
pub(crate) struct CertFileOutcome {
    pub certificates: Vec<ReadCertificate>,
    pub problems: Vec<String>,
}

/// Whether a file name says certificate.
pub(crate) fn is_cert_extension(ext: &str) -> bool {
    matches!(ext, "cer" | "crt" | "pem" | "der" | "pfx" | "p12")
}

/// Read a certificate file of any supported kind.
pub(crate) fn read_certificates(bytes: &[u8], ext: &str, now: DateTime<Utc>) -> CertFileOutcome {
    let mut out = CertFileOutcome::default();
    if bytes.len() > MAX_CERT_BYTES {
        out.problems.push(format!(
            "{} bytes is more than the {} MiB a certificate file may have; not read",
            bytes.len(),
            MAX_CERT_BYTES / (1024 * 1024)
        ));
        return out;
    }
    let is_pem = bytes.windows(11).take(4096).any(|w| w == b"-----BEGIN ");
    if is_pem {
        read_pem(bytes, now, &mut out);
    } else if matches!(ext, "pfx" | "p12") {
        read_pfx(bytes, now, &mut out);
    } else {
        match describe_certificate(bytes, now) {
            Ok(c) => out.certificates.push(ReadCertificate {
                certificate: c,
                has_private_key: false,
            }),
            // A .pfx saved as .cer still deserves a try.
            Err(e) if bytes.first() == Some(&0x30) && looks_like_pfx(bytes) => {
                let _ = e;
                read_pfx(bytes, now, &mut out);
            }
            Err(e) => out
                .problems
                .push(format!("not a readable certificate: {e}")),
        }
    }
    if out.certificates.is_empty() && out.problems.is_empty() {
        out.problems.push("no certificate found in the file".into());
    }
    out
}

fn read_pem(bytes: &[u8], now: DateTime<Utc>, out: &mut CertFileOutcome) {
    let mut reader = bytes;
    let mut found = 0usize;
    for item in rustls_pemfile::read_all(&mut reader) {
        match item {
            Ok(rustls_pemfile::Item::X509Certificate(der)) => {
                found += 1;
                if out.certificates.len() >= MAX_PER_FILE {
                    continue;
                }
                match describe_certificate(&der, now) {
                    Ok(c) => out.certificates.push(ReadCertificate {
                        certificate: c,
                        has_private_key: false,
                    }),
                    Err(e) => out.problems.push(format!("certificate {found}: {e}")),
                }
            }
            Ok(
                rustls_pemfile::Item::Pkcs1Key(_)
                | rustls_pemfile::Item::Pkcs8Key(_)
                | rustls_pemfile::Item::Sec1Key(_),
            ) => {
                for c in &mut out.certificates {
                    c.has_private_key = true;
                }
            }
            Ok(_) => {}
            Err(e) => {
                out.problems.push(format!("PEM damaged: {e:?}"));
                break;
            }
        }
    }
    if found > MAX_PER_FILE {
        out.problems.push(format!(
            "{found} certificates in the file; only the first {MAX_PER_FILE} were read"
        ));
    }
}

/// PKCS#12 starts with SEQUENCE { INTEGER 3, ... }.
fn looks_like_pfx(b: &[u8]) -> bool {
    b.windows(3).take(8).any(|w| w == [0x02, 0x01, 0x03])
}

fn read_pfx(bytes: &[u8], now: DateTime<Utc>, out: &mut CertFileOutcome) {
    // Decode on a helper thread so a file that asks for an absurd key-derivation effort cannot
    // hold the analysis: after the timeout the thread is left to finish on its own.
    let data = bytes.to_vec();
    let (tx, rx) = std::sync::mpsc::channel();
    let spawned = std::thread::Builder::new()
        .name("rdpdoctor-pfx".into())
        .spawn(move || {
            let r = std::panic::catch_unwind(|| {
                p12_keystore::Pkcs12Archive::from_pkcs12(&data, "").map(|a| {
                    let certs: Vec<Vec<u8>> = a
                        .certs
                        .iter()
                        .take(MAX_PER_FILE)
                        .map(|b| b.cert.as_der().to_vec())
                        .collect();
                    (certs, !a.keys.is_empty())
                })
            });
            let _ = tx.send(r);
        });
    if spawned.is_err() {
        out.problems
            .push("could not start the .pfx reader thread".into());
        return;
    }
    match rx.recv_timeout(PFX_TIMEOUT) {
        Ok(Ok(Ok((certs, has_key)))) => {
            for der in certs {
                match describe_certificate(&der, now) {
                    Ok(c) => out.certificates.push(ReadCertificate {
                        certificate: c,
                        has_private_key: has_key,
                    }),
                    Err(e) => out.problems.push(format!("certificate in the .pfx: {e}")),
                }
            }
        }
        Ok(Ok(Err(e))) => out.problems.push(format!(
            "cannot open the .pfx without a password ({e}); export the public certificate instead: Export-Certificate -Type CERT (rdpdoctor never asks for passwords)"
        )),
        Ok(Err(_)) => out
            .problems
            .push("the .pfx is damaged (its decoder failed)".into()),
        Err(_) => out.problems.push(format!(
            "opening the .pfx took longer than {} s (it asks for an extreme key-derivation effort); skipped",
            PFX_TIMEOUT.as_secs()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap()
    }

    fn self_signed() -> rcgen::CertifiedKey<rcgen::KeyPair> {
        rcgen::generate_simple_self_signed(vec!["server01.contoso.com".into()]).unwrap()
    }

    #[test]
    fn der_and_pem_give_the_same_thumbprint() {
        let ck = self_signed();
        let der = ck.cert.der().to_vec();
        let a = read_certificates(&der, "cer", now());
        let pem = ck.cert.pem();
        let b = read_certificates(pem.as_bytes(), "pem", now());
        assert_eq!(a.certificates.len(), 1);
        assert_eq!(b.certificates.len(), 1);
        let (ca, cb) = (
            &a.certificates[0].certificate,
            &b.certificates[0].certificate,
        );
        assert_eq!(ca.sha1, cb.sha1);
        {
            use sha1::Digest;
            assert_eq!(ca.sha1, hex::encode_upper(sha1::Sha1::digest(&der)));
        }
        assert_eq!(ca.sha1.len(), 40);
        assert!(ca.self_signed);
        assert_eq!(ca.san_dns, ["server01.contoso.com"]);
        // PEM with the key marks the certificate as having one (the key is not kept).
        let both = format!("{pem}{}", ck.signing_key.serialize_pem());
        let c = read_certificates(both.as_bytes(), "pem", now());
        assert!(c.certificates[0].has_private_key);
    }

    #[test]
    fn thumbprints_normalise() {
        assert_eq!(normalize_thumbprint("\u{200e}59 ef:f2-e3"), "59EFF2E3");
    }

    #[test]
    fn garbage_is_a_problem_not_a_panic() {
        let r = read_certificates(b"\x30\x03\x02\x01\x03", "pfx", now());
        assert!(r.certificates.is_empty());
        assert!(!r.problems.is_empty());
        let r = read_certificates(b"hello", "cer", now());
        assert!(r.problems[0].contains("not a readable certificate"));
    }
}
