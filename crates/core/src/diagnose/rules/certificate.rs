//! The server certificate: dates, names, trust, strength, usage.

use super::{Detection, Rule, RuleContext};
use crate::diagnose::Confidence;
use crate::evidence::ServerCertificate;

pub static RULES: &[Rule] = &[
    Rule {
        cause: "cert-expired",
        evaluate: cert_expired,
    },
    Rule {
        cause: "cert-not-yet-valid",
        evaluate: cert_not_yet_valid,
    },
    Rule {
        cause: "cert-expiring-soon",
        evaluate: cert_expiring_soon,
    },
    Rule {
        cause: "cert-name-mismatch",
        evaluate: cert_name_mismatch,
    },
    Rule {
        cause: "cert-untrusted",
        evaluate: cert_untrusted,
    },
    Rule {
        cause: "cert-weak",
        evaluate: cert_weak,
    },
    Rule {
        cause: "cert-wrong-usage",
        evaluate: cert_wrong_usage,
    },
];

fn cert<'a>(ctx: &'a RuleContext<'_>) -> Option<&'a ServerCertificate> {
    ctx.evidence.certificate.as_ref()
}

fn describe(c: &ServerCertificate) -> String {
    format!(
        "{} issued by {}{}, SHA-1 {}",
        c.subject,
        if c.self_signed {
            "itself"
        } else {
            c.issuer.as_str()
        },
        if c.self_signed { " (self-signed)" } else { "" },
        c.sha1
    )
}

fn with_cert_params(
    d: Detection,
    c: &ServerCertificate,
    now: chrono::DateTime<chrono::Utc>,
) -> Detection {
    d.param("thumbprint", &c.sha1)
        .param("not_after", c.not_after.format("%Y-%m-%d").to_string())
        .param("not_before", c.not_before.format("%Y-%m-%d").to_string())
        .param("days", c.days_left_at(now).abs().to_string())
}

fn cert_expired(ctx: &RuleContext<'_>) -> Option<Detection> {
    let c = cert(ctx)?;
    let now = ctx.options.now;
    if !c.is_expired_at(now) {
        return None;
    }
    let days = -c.days_left_at(now);
    let d = Detection::new(
        Confidence::High,
        format!(
            "The server's RDP certificate expired on {} ({days} days ago){}.",
            c.not_after.format("%Y-%m-%d"),
            if c.self_signed {
                "; Windows did not renew its self-signed certificate"
            } else {
                ""
            }
        ),
    )
    .evidence(format!(
        "notAfter {}",
        c.not_after
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    ))
    .evidence(describe(c));
    Some(with_cert_params(d, c, now))
}

fn cert_not_yet_valid(ctx: &RuleContext<'_>) -> Option<Detection> {
    let c = cert(ctx)?;
    let now = ctx.options.now;
    if !c.is_not_yet_valid_at(now) {
        return None;
    }
    let mut d = Detection::new(
        Confidence::High,
        format!("The server's certificate only becomes valid on {}: it was issued in the future, or a clock is wrong.", c.not_before.format("%Y-%m-%d %H:%M UTC")),
    )
    .evidence(format!("notBefore {}", c.not_before.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)))
    .evidence(describe(c));
    if let Some(skew) = ctx
        .evidence
        .credssp
        .value()
        .and_then(|p| p.ntlm.as_ref())
        .and_then(|n| n.clock_skew_seconds)
    {
        d = d.evidence(format!(
            "the server's clock differs from ours by {skew} s (NTLM timestamp)"
        ));
    }
    Some(with_cert_params(d, c, now))
}

fn cert_expiring_soon(ctx: &RuleContext<'_>) -> Option<Detection> {
    let c = cert(ctx)?;
    let now = ctx.options.now;
    let days = c.days_left_at(now);
    if c.is_expired_at(now) || c.is_not_yet_valid_at(now) || days > ctx.options.expiry_warning_days
    {
        return None;
    }
    let d = Detection::new(
        Confidence::High,
        format!(
            "The server's certificate expires on {}, in {days} days.",
            c.not_after.format("%Y-%m-%d")
        ),
    )
    .evidence(format!(
        "notAfter {}",
        c.not_after
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    ))
    .evidence(describe(c));
    Some(with_cert_params(d, c, now))
}

fn cert_name_mismatch(ctx: &RuleContext<'_>) -> Option<Detection> {
    let c = cert(ctx)?;
    let m = c.name_match.as_ref()?;
    if m.matches {
        return None;
    }
    let names = crate::cert::names(c);
    let by_ip = ctx.target.ip().is_some();
    let d = Detection::new(
        if by_ip { Confidence::Medium } else { Confidence::High },
        format!(
            "The certificate names {}, not {}{}: clients warn, and refuse where the policy requires a valid server identity.",
            if names.is_empty() { "no host".to_string() } else { names.join(", ") },
            m.checked,
            if by_ip { " (you connected by IP address; RDP certificates usually name the host)" } else { "" }
        ),
    )
    .evidence(format!("checked {} against the certificate's names: {}", m.checked, names.join(", ")))
    .param("names", names.join(", "));
    Some(with_cert_params(d, c, ctx.options.now))
}

fn cert_untrusted(ctx: &RuleContext<'_>) -> Option<Detection> {
    let c = cert(ctx)?;
    let t = c.trust.as_ref()?;
    if t.trusted {
        return None;
    }
    let why = t.error.clone().unwrap_or_else(|| "not trusted".into());
    let d = Detection::new(
        Confidence::High,
        if c.self_signed {
            "The server uses a self-signed certificate that clients cannot verify, so users learn to click through warnings.".to_string()
        } else {
            format!("The certificate does not chain to a trusted authority: {why}.")
        },
    )
    .evidence(format!("trust store {}: {why}", t.store))
    .evidence(describe(c));
    Some(with_cert_params(d, c, ctx.options.now))
}

fn cert_weak(ctx: &RuleContext<'_>) -> Option<Detection> {
    let c = cert(ctx)?;
    let mut problems = Vec::new();
    if let Some(bits) = c.key_bits {
        if c.key_type.starts_with("RSA") && bits < 2048 {
            problems.push(format!(
                "{} key of {bits} bits (at least 2048 needed)",
                c.key_type
            ));
        }
        if c.key_type == "DSA" {
            problems.push(format!("DSA key of {bits} bits"));
        }
    }
    if matches!(c.signature_hash.as_deref(), Some("SHA-1") | Some("MD5")) {
        problems.push(format!("signed with {}", c.signature_algorithm));
    }
    if problems.is_empty() {
        return None;
    }
    let mut d = Detection::new(
        Confidence::High,
        format!("The certificate is weak: {}.", problems.join("; ")),
    );
    for p in &problems {
        d = d.evidence(p.clone());
    }
    Some(with_cert_params(
        d.evidence(describe(c)),
        c,
        ctx.options.now,
    ))
}

fn cert_wrong_usage(ctx: &RuleContext<'_>) -> Option<Detection> {
    let c = cert(ctx)?;
    // No EKU extension means any usage; otherwise one of these must be present.
    let fine = c.eku.is_empty()
        || c.eku.iter().any(|e| {
            matches!(
                e.as_str(),
                "serverAuth" | "remoteDesktopAuth" | "anyExtendedKeyUsage"
            )
        });
    if fine {
        return None;
    }
    let d = Detection::new(
        Confidence::High,
        format!("The certificate is not made for server authentication: its extended key usages are {}.", c.eku.join(", ")),
    )
    .evidence(format!("EKU: {}", c.eku.join(", ")))
    .evidence(describe(c));
    Some(with_cert_params(d, c, ctx.options.now))
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use crate::evidence::*;
    use chrono::{Duration, TimeZone, Utc};

    fn with_cert(f: impl FnOnce(&mut ServerCertificate)) -> Evidence {
        let mut c = ServerCertificate {
            subject: "CN=server01.contoso.com".into(),
            common_name: Some("server01.contoso.com".into()),
            issuer: "CN=server01.contoso.com".into(),
            serial: "01".into(),
            not_before: now() - Duration::days(100),
            not_after: now() + Duration::days(265),
            days_left: 265,
            self_signed: false,
            key_type: "RSA".into(),
            key_bits: Some(2048),
            signature_algorithm: "sha256WithRSAEncryption".into(),
            signature_hash: Some("SHA-256".into()),
            san_dns: vec![],
            san_ip: vec![],
            eku: vec!["serverAuth".into()],
            is_ca: false,
            sha1: "AB".repeat(20),
            sha256: "cd".repeat(32),
            name_match: Some(NameMatch {
                checked: "server01.contoso.com".into(),
                matches: true,
                matched_by: None,
            }),
            trust: Some(TrustCheck {
                store: "os".into(),
                trusted: true,
                error: None,
            }),
            chain: vec![],
            der_base64: String::new(),
        };
        f(&mut c);
        let mut ev = evidence();
        ev.certificate = Some(c);
        ev
    }

    #[test]
    fn a_healthy_certificate_triggers_nothing() {
        let ev = with_cert(|_| {});
        for cause in [
            "cert-expired",
            "cert-not-yet-valid",
            "cert-expiring-soon",
            "cert-name-mismatch",
            "cert-untrusted",
            "cert-weak",
            "cert-wrong-usage",
        ] {
            assert!(run(rule(cause), &ev).is_none(), "{cause}");
        }
    }

    #[test]
    fn dates_are_judged_against_now() {
        let ev = with_cert(|c| c.not_after = Utc.with_ymd_and_hms(2021, 1, 1, 0, 0, 0).unwrap());
        let d = run(rule("cert-expired"), &ev).unwrap();
        assert!(
            d.params
                .iter()
                .any(|(k, v)| *k == "thumbprint" && v == &"AB".repeat(20))
        );
        assert!(run(rule("cert-expiring-soon"), &ev).is_none());
        let ev = with_cert(|c| c.not_before = now() + Duration::days(3));
        assert!(run(rule("cert-not-yet-valid"), &ev).is_some());
        let ev = with_cert(|c| c.not_after = now() + Duration::days(12));
        assert!(run(rule("cert-expiring-soon"), &ev).is_some());
        let ev = with_cert(|c| c.not_after = now() + Duration::days(31));
        assert!(
            run(rule("cert-expiring-soon"), &ev).is_none(),
            "near miss: 31 days"
        );
    }

    #[test]
    fn names_trust_strength_and_usage() {
        let ev = with_cert(|c| {
            c.name_match = Some(NameMatch {
                checked: "server01.contoso.com".into(),
                matches: false,
                matched_by: None,
            })
        });
        assert!(run(rule("cert-name-mismatch"), &ev).is_some());
        let ev = with_cert(|c| {
            c.trust = Some(TrustCheck {
                store: "os".into(),
                trusted: false,
                error: Some("UnknownIssuer".into()),
            })
        });
        assert!(run(rule("cert-untrusted"), &ev).is_some());
        let ev = with_cert(|c| c.key_bits = Some(1024));
        assert!(run(rule("cert-weak"), &ev).is_some());
        let ev = with_cert(|c| c.signature_hash = Some("SHA-1".into()));
        assert!(run(rule("cert-weak"), &ev).is_some());
        let ev = with_cert(|c| {
            c.key_type = "EC".into();
            c.key_bits = Some(256);
        });
        assert!(
            run(rule("cert-weak"), &ev).is_none(),
            "near miss: a P-256 key is strong"
        );
        let ev = with_cert(|c| c.eku = vec!["clientAuth".into()]);
        assert!(run(rule("cert-wrong-usage"), &ev).is_some());
        let ev = with_cert(|c| c.eku = vec!["remoteDesktopAuth".into()]);
        assert!(run(rule("cert-wrong-usage"), &ev).is_none());
    }
}
