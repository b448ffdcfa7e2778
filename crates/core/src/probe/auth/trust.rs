//! Whether this server may receive the user's credentials.
//!
//! NTLM responses sent to an impostor can be cracked offline, and a server without NLA gets
//! the password itself in the Client Info PDU. So credentials go only to a server whose
//! certificate the user accepted, judged on the certificate of *this* connection (a load
//! balancer may answer the authenticated connection with another server than the probe):
//!
//! - `--cert-sha256`: exactly that certificate and no other (a mismatch refuses, whatever
//!   else was given);
//! - otherwise a certificate that chains to a trusted root (the OS store or `--ca-file`),
//!   names the host connected to, and is within its validity dates;
//! - otherwise only with `--trust-server-cert`, and the problems are still recorded.

use chrono::{DateTime, Utc};
use rustls::pki_types::CertificateDer;
use sha2::{Digest, Sha256};

use super::AuthOptions;
use crate::Target;
use crate::evidence::CertificateAcceptance;
use crate::probe::tls::TrustAnchors;

/// Decide on the chain the server sent on this connection (leaf first).
pub(crate) fn decide(
    chain: &[CertificateDer<'static>],
    target: &Target,
    trust: &TrustAnchors,
    options: &AuthOptions,
    now: DateTime<Utc>,
) -> CertificateAcceptance {
    let Some(leaf) = chain.first() else {
        return CertificateAcceptance {
            sha256: String::new(),
            accepted: false,
            accepted_by: None,
            problems: vec!["the server sent no certificate".into()],
        };
    };
    let sha256 = hex::encode(Sha256::digest(leaf.as_ref()));
    let problems = problems(chain, target, trust, now);
    let (accepted, accepted_by, problems) = match &options.cert_sha256 {
        Some(pin) if *pin == sha256 => (true, Some("pinned_sha256"), problems),
        Some(pin) => {
            let mut p = vec![format!(
                "its SHA-256 thumbprint {sha256} is not the one given with --cert-sha256 ({pin})"
            )];
            p.extend(problems);
            (false, None, p)
        }
        None if problems.is_empty() => (true, Some("trust_store"), problems),
        None if options.trust_server_cert => (true, Some("trust_server_cert"), problems),
        None => (false, None, problems),
    };
    CertificateAcceptance {
        sha256,
        accepted,
        accepted_by: accepted_by.map(str::to_string),
        problems,
    }
}

/// Everything that keeps the certificate from being trusted on its own merits.
fn problems(
    chain: &[CertificateDer<'static>],
    target: &Target,
    trust: &TrustAnchors,
    now: DateTime<Utc>,
) -> Vec<String> {
    let Some(leaf) = chain.first() else {
        return vec!["the server sent no certificate".into()];
    };
    let cert = match crate::cert::describe(leaf, now, Some(target.identity_name())) {
        Ok(c) => c,
        Err(e) => return vec![format!("the certificate cannot be decoded: {e}")],
    };
    let mut out = Vec::new();
    let check = trust.check(chain, &cert);
    if !check.trusted {
        out.push(format!(
            "not trusted by {}: {}",
            if check.store == "os" {
                "the operating system's trust store".to_string()
            } else {
                check.store.clone()
            },
            check.error.unwrap_or_else(|| "unknown reason".into())
        ));
    }
    if let Some(m) = &cert.name_match
        && !m.matches
    {
        out.push(format!(
            "it does not name {} (it names {})",
            m.checked,
            crate::cert::names(&cert).join(", ")
        ));
    }
    if cert.is_expired_at(now) {
        out.push(format!("it expired on {}", cert.not_after.date_naive()));
    }
    if cert.is_not_yet_valid_at(now) {
        out.push(format!(
            "it is not valid before {}",
            cert.not_before.date_naive()
        ));
    }
    out
}

/// `--cert-sha256` in the form thumbprints are compared in: lower-case hex, no separators.
/// `Err` when it is not 64 hex digits.
pub fn normalize_sha256(input: &str) -> Result<String, String> {
    let hex: String = input
        .chars()
        .filter(|c| !matches!(c, ':' | ' ' | '-'))
        .collect::<String>()
        .to_ascii_lowercase();
    if hex.len() == 64 && hex.chars().all(|c| c.is_ascii_hexdigit()) {
        Ok(hex)
    } else {
        Err(format!(
            "'{input}' is not a SHA-256 thumbprint (64 hexadecimal digits, colons allowed)"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thumbprints_are_compared_without_separators_or_case() {
        let colons = (0..32).map(|_| "AB").collect::<Vec<_>>().join(":");
        assert_eq!(normalize_sha256(&colons).unwrap(), "ab".repeat(32));
        assert!(normalize_sha256("abcd").is_err());
        assert!(normalize_sha256(&"zz".repeat(32)).is_err());
    }
}
