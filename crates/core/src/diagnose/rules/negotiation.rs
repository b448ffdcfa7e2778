//! Security negotiation, the TLS handshake and CredSSP as seen without credentials (TLS
//! versions and suites are in `tls`).

use super::tls::{legacy_only_suite, legacy_version};
use super::{Detection, Rule, RuleContext};
use crate::diagnose::Confidence;
use crate::evidence::{ErrorKind, Negotiation, Protocol, Stage, TlsHandshake};
use rdpdoctor_kb::Severity;

pub static RULES: &[Rule] = &[
    Rule {
        cause: "nla-required",
        evaluate: nla_required,
    },
    Rule {
        cause: "tls-required",
        evaluate: tls_required,
    },
    Rule {
        cause: "tls-not-allowed",
        evaluate: tls_not_allowed,
    },
    Rule {
        cause: "cert-not-on-server",
        evaluate: cert_not_on_server,
    },
    Rule {
        cause: "tls-handshake-broken",
        evaluate: tls_handshake_broken,
    },
    Rule {
        cause: "credssp-oracle",
        evaluate: credssp_oracle,
    },
    Rule {
        cause: "standard-rdp-security-only",
        evaluate: standard_rdp_security_only,
    },
];

fn negotiation<'a>(ctx: &'a RuleContext<'_>) -> Option<&'a Negotiation> {
    ctx.evidence.negotiation.observed()
}

fn failures_named<'a>(n: &'a Negotiation, name: &str) -> Vec<&'a str> {
    n.failures
        .iter()
        .filter(|(_, v)| v.as_str() == name)
        .map(|(k, _)| k.as_str())
        .collect()
}

fn nla_required(ctx: &RuleContext<'_>) -> Option<Detection> {
    let n = negotiation(ctx)?;
    let refused = failures_named(n, "HYBRID_REQUIRED_BY_SERVER");
    if refused.is_empty() {
        return None;
    }
    Some(
        Detection::new(
            Confidence::High,
            "The server requires Network Level Authentication (CredSSP): clients that cannot do NLA, or have it turned off, are refused.",
        )
        .severity(Severity::Info)
        .evidence(format!("requests for {} were answered HYBRID_REQUIRED_BY_SERVER", refused.join(", "))),
    )
}

fn tls_required(ctx: &RuleContext<'_>) -> Option<Detection> {
    let n = negotiation(ctx)?;
    let refused = failures_named(n, "SSL_REQUIRED_BY_SERVER");
    if refused.is_empty() {
        return None;
    }
    Some(
        Detection::new(Confidence::High, "The server refuses Standard RDP Security and requires TLS; current clients do this by default.")
            .severity(Severity::Info)
            .evidence(format!("requests for {} were answered SSL_REQUIRED_BY_SERVER", refused.join(", "))),
    )
}

/// Only standard RDP security: refused with SSL_NOT_ALLOWED_BY_SERVER, or every TLS request
/// silently answered with PROTOCOL_RDP (xrdp's `security_layer=rdp`).
fn tls_not_allowed(ctx: &RuleContext<'_>) -> Option<Detection> {
    let n = negotiation(ctx)?;
    let refused = failures_named(n, "SSL_NOT_ALLOWED_BY_SERVER");
    let tls_offered = n.supported.iter().any(|p| p.uses_tls());
    if !refused.is_empty() {
        return Some(
            Detection::new(Confidence::High, "The server's security layer is set to RDP: it refuses TLS and NLA, so clients that require them cannot connect.")
                .evidence(format!("requests for {} were answered SSL_NOT_ALLOWED_BY_SERVER", refused.join(", "))),
        );
    }
    if !tls_offered && (!n.downgraded.is_empty() || n.legacy_no_negotiation) {
        let how = if n.legacy_no_negotiation {
            "the server does not negotiate security at all (no RDP_NEG data in its answer)"
                .to_string()
        } else {
            let names: Vec<&str> = n.downgraded.iter().map(|p| p.as_str()).collect();
            format!(
                "requests for {} were answered with standard RDP security instead of a refusal",
                names.join(", ")
            )
        };
        return Some(
            Detection::new(
                Confidence::High,
                "The server only speaks Standard RDP Security: no TLS, no NLA.",
            )
            .evidence(how),
        );
    }
    None
}

fn cert_not_on_server(ctx: &RuleContext<'_>) -> Option<Detection> {
    let n = negotiation(ctx)?;
    let refused = failures_named(n, "SSL_CERT_NOT_ON_SERVER");
    if refused.is_empty() {
        return None;
    }
    Some(
        Detection::new(
            Confidence::High,
            "The server has no usable certificate, so it cannot start TLS or NLA.",
        )
        .evidence(format!(
            "requests for {} were answered SSL_CERT_NOT_ON_SERVER",
            refused.join(", ")
        )),
    )
}

/// The modern TLS attempt and, when it failed, what the failure looked like.
fn tls_failure<'a>(
    ctx: &'a RuleContext<'_>,
) -> Option<(&'a crate::evidence::StageError, Option<&'a TlsHandshake>)> {
    match &ctx.evidence.tls {
        Stage::Failed { error, partial } => Some((error, partial.as_ref())),
        _ => None,
    }
}

fn tls_handshake_broken(ctx: &RuleContext<'_>) -> Option<Detection> {
    let (error, _) = tls_failure(ctx)?;
    if legacy_version(ctx).is_some() || legacy_only_suite(ctx).is_some() {
        return None; // a version or suite mismatch, reported as such
    }
    let (confidence, what) = match error.kind {
        ErrorKind::Reset | ErrorKind::Closed => (
            Confidence::High,
            "dropped the connection right after our TLS ClientHello",
        ),
        ErrorKind::Protocol => (
            Confidence::High,
            "answered our TLS ClientHello with something that is not TLS",
        ),
        ErrorKind::TlsAlert => match error.code.as_deref() {
            Some("protocol_version")
            | Some("handshake_failure")
            | Some("insufficient_security") => (
                Confidence::Medium,
                "refused the TLS handshake with an alert (no version or suite in common, or a broken certificate key)",
            ),
            _ => (Confidence::High, "aborted the TLS handshake with an alert"),
        },
        ErrorKind::Timeout => (
            Confidence::Low,
            "never completed the TLS handshake (a hung service, or large packets lost on the path)",
        ),
        _ => (Confidence::Medium, "failed the TLS handshake"),
    };
    let mut d = Detection::new(
        confidence,
        format!("The server selected TLS, then {what}: typically its certificate's private key is unreadable (MachineKeys) or too small."),
    )
    .evidence(format!("tls: {}", error.message));
    if let Some(seen) = &error.seen {
        d = d.evidence(format!("the server sent: {}", seen.head_hex));
    }
    Some(d)
}

fn credssp_oracle(ctx: &RuleContext<'_>) -> Option<Detection> {
    let c = ctx.evidence.credssp.value()?;
    let v = c.version?;
    if v >= 5 {
        return None;
    }
    Some(
        Detection::new(
            Confidence::High,
            format!("The server speaks CredSSP version {v}: it lacks the CVE-2018-0886 fix, so updated clients refuse it (\"CredSSP encryption oracle remediation\")."),
        )
        .evidence(format!("the server's TSRequest version is {v} (patched servers answer 5 or 6)"))
        .param("version", v.to_string()),
    )
}

fn standard_rdp_security_only(ctx: &RuleContext<'_>) -> Option<Detection> {
    let n = negotiation(ctx)?;
    if n.supported != [Protocol::Rdp] {
        return None;
    }
    Some(
        Detection::new(Confidence::High, "Only Standard RDP Security is offered: legacy RC4 encryption with no server authentication, open to interception.")
            .evidence("the only protocol the server selected is PROTOCOL_RDP"),
    )
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use crate::evidence::*;
    use std::time::Duration;

    fn negotiated(
        supported: &[Protocol],
        failures: &[(&str, &str)],
        downgraded: &[Protocol],
    ) -> Evidence {
        let mut ev = evidence();
        let n = Negotiation {
            supported: supported.to_vec(),
            failures: failures
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            downgraded: downgraded.to_vec(),
            ..Default::default()
        };
        ev.negotiation = Stage::ok(Duration::ZERO, n);
        ev
    }

    #[test]
    fn failure_codes_map_to_their_causes() {
        let cases = [
            ("HYBRID_REQUIRED_BY_SERVER", "nla-required"),
            ("SSL_REQUIRED_BY_SERVER", "tls-required"),
            ("SSL_NOT_ALLOWED_BY_SERVER", "tls-not-allowed"),
            ("SSL_CERT_NOT_ON_SERVER", "cert-not-on-server"),
        ];
        for (code, cause) in cases {
            let ev = negotiated(&[Protocol::Hybrid], &[("ssl", code)], &[]);
            assert!(run(rule(cause), &ev).is_some(), "{code} -> {cause}");
            for (_, other) in cases.iter().filter(|(_, c)| *c != cause) {
                assert!(
                    run(rule(other), &ev).is_none(),
                    "{other} must not fire for {code}"
                );
            }
        }
    }

    #[test]
    fn silent_downgrade_to_rdp_is_tls_not_allowed_and_rdp_only() {
        let ev = negotiated(&[Protocol::Rdp], &[], &[Protocol::Ssl, Protocol::Hybrid]);
        assert!(run(rule("tls-not-allowed"), &ev).is_some());
        assert!(run(rule("standard-rdp-security-only"), &ev).is_some());
        let ev = negotiated(&[Protocol::Rdp, Protocol::Ssl], &[], &[]);
        assert!(
            run(rule("tls-not-allowed"), &ev).is_none(),
            "near miss: TLS is offered"
        );
        assert!(run(rule("standard-rdp-security-only"), &ev).is_none());
    }

    fn tls_failed(kind: ErrorKind, code: Option<&str>, legacy: Option<(&str, &str)>) -> Evidence {
        let mut ev = negotiated(&[Protocol::Ssl], &[], &[]);
        let mut err = StageError::new(StageName::Tls, kind, Duration::ZERO, "boom");
        if let Some(c) = code {
            err = err.with_code(c);
        }
        ev.tls = match legacy {
            Some((version, suite)) => legacy_answered_tls(version, suite),
            None => Stage::failed_with(
                err,
                TlsHandshake {
                    modern_handshake_ok: false,
                    modern_handshake_error: Some("handshake_failure".into()),
                    ..Default::default()
                },
            ),
        };
        ev
    }

    #[test]
    fn reset_after_client_hello_is_a_broken_handshake() {
        let ev = tls_failed(ErrorKind::Reset, None, None);
        assert!(run(rule("tls-handshake-broken"), &ev).is_some());
        assert!(run(rule("tls-version-mismatch"), &ev).is_none());
        let ok = negotiated(&[Protocol::Ssl], &[], &[]);
        assert!(
            run(rule("tls-handshake-broken"), &ok).is_none(),
            "near miss: TLS never failed"
        );
    }

    #[test]
    fn legacy_only_answers_are_version_or_suite_mismatches() {
        let ev = tls_failed(
            ErrorKind::TlsAlert,
            Some("protocol_version"),
            Some(("TLSv1.0", "TLS_RSA_WITH_AES_128_CBC_SHA")),
        );
        assert!(run(rule("tls-version-mismatch"), &ev).is_some());
        assert!(
            run(rule("tls-handshake-broken"), &ev).is_none(),
            "folded: it is a version problem"
        );
        assert!(run(rule("cipher-mismatch"), &ev).is_none());
        let ev = tls_failed(
            ErrorKind::TlsAlert,
            Some("handshake_failure"),
            Some(("TLSv1.2", "TLS_RSA_WITH_3DES_EDE_CBC_SHA")),
        );
        assert!(
            run(rule("cipher-mismatch"), &ev).is_some(),
            "3DES is offered by no current client"
        );
        assert!(run(rule("tls-version-mismatch"), &ev).is_none());
        let ev = tls_failed(
            ErrorKind::TlsAlert,
            Some("handshake_failure"),
            Some(("TLSv1.2", "TLS_RSA_WITH_AES_256_GCM_SHA384")),
        );
        assert!(
            run(rule("cipher-mismatch"), &ev).is_none(),
            "near miss: Windows 11 still offers static-RSA GCM suites"
        );
    }

    #[test]
    fn old_credssp_version_is_the_oracle_problem() {
        let mut ev = evidence();
        ev.credssp = Stage::ok(
            Duration::ZERO,
            CredsspProbe {
                version: Some(4),
                offered_version: 6,
                ..Default::default()
            },
        );
        assert!(run(rule("credssp-oracle"), &ev).is_some());
        ev.credssp = Stage::ok(
            Duration::ZERO,
            CredsspProbe {
                version: Some(6),
                offered_version: 6,
                ..Default::default()
            },
        );
        assert!(run(rule("credssp-oracle"), &ev).is_none());
    }
}
