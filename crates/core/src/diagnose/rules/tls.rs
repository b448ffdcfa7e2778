//! TLS versions and cipher suites: what the server accepts against what current clients offer.
//!
//! Two sources, best first:
//! - the deep enumeration (`check --deep`, `evidence.tls.enumeration`): every accepted version
//!   and suite, and what the Windows 11 and FreeRDP 3 profiles would negotiate;
//! - without it, the fallback facts of a normal check: a current TLS stack failed and a broad
//!   legacy ClientHello was answered with an old version or a legacy-only suite.
//!
//! `{versions}` and `{suites}` fill the knowledge base's fix text with what this server accepts.

use super::{Detection, Rule, RuleContext};
use crate::diagnose::Confidence;
use crate::evidence::{TlsClient, TlsEnumeration, TlsHandshake};
use crate::probe::tls_enum::clients;
use rdpdoctor_kb::Severity;
use rdpdoctor_wire::tls::suites::{self, Weakness};

pub static RULES: &[Rule] = &[
    Rule {
        cause: "tls-version-mismatch",
        evaluate: tls_version_mismatch,
    },
    Rule {
        cause: "cipher-mismatch",
        evaluate: cipher_mismatch,
    },
    Rule {
        cause: "weak-tls",
        evaluate: weak_tls,
    },
];

/// Versions current clients no longer speak.
const OLD_VERSIONS: [&str; 3] = ["SSLv3", "TLSv1.0", "TLSv1.1"];

fn enumeration<'a>(ctx: &'a RuleContext<'_>) -> Option<&'a TlsEnumeration> {
    ctx.evidence
        .tls
        .observed()
        .and_then(|t| t.enumeration.as_ref())
}

fn accepted_versions(e: &TlsEnumeration) -> Vec<&str> {
    e.versions
        .iter()
        .filter(|(_, s)| !s.is_empty())
        .map(|(v, _)| v.as_str())
        .collect()
}

/// The TLS facts when they came from a legacy ClientHello because a current TLS stack could
/// not complete (the probe only accepts that answer when it explains the failure).
fn legacy_answer<'a>(ctx: &'a RuleContext<'_>) -> Option<&'a TlsHandshake> {
    let tls = ctx.evidence.tls.value()?;
    (!tls.modern_handshake_ok && tls.client == Some(TlsClient::LegacyHello)).then_some(tls)
}

/// The version, when the server only answered a legacy hello with one older than TLS 1.2.
pub(super) fn legacy_version(ctx: &RuleContext<'_>) -> Option<String> {
    legacy_answer(ctx)?
        .version
        .clone()
        .filter(|v| OLD_VERSIONS.contains(&v.as_str()))
}

/// TLS 1.2 reached by a legacy hello with a suite current clients do not offer at all (RC4,
/// 3DES, DES, export, NULL, anonymous, MD5). Static-RSA and CBC suites are still offered by
/// Windows 11 and OpenSSL 3, so they are not a mismatch (the deep check reports them as weak).
pub(super) fn legacy_only_suite(ctx: &RuleContext<'_>) -> Option<(String, String)> {
    let tls = legacy_answer(ctx)?;
    let version = tls.version.clone()?;
    if version != "TLSv1.2" {
        return None;
    }
    let suite = tls.cipher_suite.clone()?;
    let gone = suites::suite_by_name(&suite).is_some_and(|s| {
        s.weaknesses()
            .iter()
            .any(|w| weak_class(*w) || *w == Weakness::Md5Mac)
    });
    gone.then_some((version, suite))
}

fn modern_error(tls: &TlsHandshake) -> &str {
    tls.modern_handshake_error.as_deref().unwrap_or("refused")
}

fn tls_version_mismatch(ctx: &RuleContext<'_>) -> Option<Detection> {
    if let Some(e) = enumeration(ctx) {
        return version_mismatch_deep(e);
    }
    let version = legacy_version(ctx)?;
    let tls = ctx.evidence.tls.observed()?;
    Some(
        Detection::new(
            Confidence::High,
            format!(
                "The server only answered with {version}: current clients require TLS 1.2 or later."
            ),
        )
        .evidence(format!(
            "a TLS 1.2/1.3 handshake failed: {}",
            modern_error(tls)
        ))
        .evidence(format!("a legacy ClientHello was answered with {version}"))
        .param("versions", version),
    )
}

/// From the enumeration: a client profile shares no version with the server (or, for saved
/// documents without profiles, the server accepts only versions older than TLS 1.2).
fn version_mismatch_deep(e: &TlsEnumeration) -> Option<Detection> {
    let accepted = accepted_versions(e);
    if accepted.is_empty() {
        return None; // every version refused: a broken handshake, not a version choice
    }
    let failing: Vec<_> = e
        .clients
        .iter()
        .filter(|c| clients::no_common_version(c))
        .collect();
    let only_old = accepted.iter().all(|v| OLD_VERSIONS.contains(v));
    if failing.is_empty() && !(e.clients.is_empty() && only_old) {
        return None;
    }
    let refused: Vec<&str> = e
        .versions
        .iter()
        .filter(|(_, s)| s.is_empty())
        .map(|(v, _)| v.as_str())
        .collect();
    let who = if failing.is_empty() {
        "current clients".to_string()
    } else {
        failing
            .iter()
            .map(|c| c.client.as_str())
            .collect::<Vec<_>>()
            .join(" and ")
    };
    let mut d = Detection::new(
        Confidence::High,
        format!(
            "The server only speaks {}: {who} share no TLS version with it and cannot connect.",
            accepted.join(" and ")
        ),
    )
    .evidence(format!("accepted versions: {}", accepted.join(", ")));
    if !refused.is_empty() {
        d = d.evidence(format!("refused versions: {}", refused.join(", ")));
    }
    for c in &failing {
        d = d.evidence(format!(
            "{}: {}",
            c.client,
            c.failure.as_deref().unwrap_or_default()
        ));
    }
    Some(d.param("versions", accepted.join(", ")))
}

fn cipher_mismatch(ctx: &RuleContext<'_>) -> Option<Detection> {
    if let Some(e) = enumeration(ctx) {
        return cipher_mismatch_deep(e);
    }
    let (version, suite) = legacy_only_suite(ctx)?;
    let tls = ctx.evidence.tls.observed()?;
    Some(
        Detection::new(
            Confidence::High,
            format!("The server speaks {version} but only with {suite}, a cipher suite current clients no longer offer."),
        )
        .evidence(format!("a current-client handshake failed: {}", modern_error(tls)))
        .evidence(format!("a legacy ClientHello was answered with {suite}"))
        .param("suites", suite),
    )
}

/// From the enumeration: a client profile reaches a common version but no common suite.
fn cipher_mismatch_deep(e: &TlsEnumeration) -> Option<Detection> {
    let failing: Vec<_> = e
        .clients
        .iter()
        .filter(|c| clients::no_common_suite(c))
        .collect();
    let first = failing.first()?;
    let version = first.version.clone().unwrap_or_default();
    let suites = e.versions.get(&version).cloned().unwrap_or_default();
    let who = failing
        .iter()
        .map(|c| c.client.as_str())
        .collect::<Vec<_>>()
        .join(" and ");
    let mut d = Detection::new(
        Confidence::High,
        format!(
            "The server speaks {version}, but {who} share no cipher suite with it: the handshake fails."
        ),
    )
    .evidence(format!(
        "suites accepted under {version}: {}",
        if suites.is_empty() {
            "none".to_string()
        } else {
            suites.join(", ")
        }
    ));
    for c in &failing {
        d = d.evidence(format!(
            "{}: {}",
            c.client,
            c.failure.as_deref().unwrap_or_default()
        ));
    }
    Some(
        d.param("versions", version)
            .param("suites", suites.join(", ")),
    )
}

/// Weakness classes that make a suite weak outright (CBC and static RSA alone do not).
fn weak_class(w: Weakness) -> bool {
    matches!(
        w,
        Weakness::NullCipher
            | Weakness::Anonymous
            | Weakness::Export
            | Weakness::Des
            | Weakness::Rc4
            | Weakness::ObsoleteCipher
            | Weakness::TripleDes
    )
}

fn weak_tls(ctx: &RuleContext<'_>) -> Option<Detection> {
    let e = enumeration(ctx)?;
    let mut old: Vec<&str> = accepted_versions(e)
        .into_iter()
        .filter(|v| OLD_VERSIONS.contains(v))
        .collect();
    if e.ssl3_accepted && !old.contains(&"SSLv3") {
        old.insert(0, "SSLv3");
    }
    let mut weak: Vec<(String, String)> = Vec::new();
    for (v, list) in &e.versions {
        for name in list {
            let Some(s) = suites::suite_by_name(name) else {
                continue;
            };
            let classes: Vec<&str> = s
                .weaknesses()
                .into_iter()
                .filter(|w| weak_class(*w))
                .map(Weakness::as_str)
                .collect();
            if !classes.is_empty() && !weak.iter().any(|(n, _)| n == name) {
                weak.push((
                    name.clone(),
                    format!("{name} ({}, {v})", classes.join(", ")),
                ));
            }
        }
    }
    if !old.is_empty() || !weak.is_empty() {
        let mut what = Vec::new();
        if !old.is_empty() {
            what.push(old.join(" and "));
        }
        if !weak.is_empty() {
            what.push(format!(
                "{} weak cipher suite{}",
                weak.len(),
                if weak.len() == 1 { "" } else { "s" }
            ));
        }
        let mut d = Detection::new(
            Confidence::High,
            format!(
                "The server still accepts {}: nothing breaks for current clients, but a downgrade or an old client can use them, and audits flag them.",
                what.join(" and ")
            ),
        );
        if !old.is_empty() {
            d = d.evidence(format!("old versions accepted: {}", old.join(", ")));
        }
        for (_, line) in &weak {
            d = d.evidence(format!("weak suite accepted: {line}"));
        }
        return Some(
            d.param("versions", old.join(", ")).param(
                "suites",
                weak.iter()
                    .map(|(n, _)| n.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            ),
        );
    }
    cbc_only(e)
}

/// The lower-confidence note: the newest accepted version offers only CBC suites (no AEAD).
fn cbc_only(e: &TlsEnumeration) -> Option<Detection> {
    let (version, list) = e.versions.iter().rev().find(|(_, s)| !s.is_empty())?;
    let all_cbc = list
        .iter()
        .all(|n| suites::suite_by_name(n).is_some_and(|s| s.weaknesses().contains(&Weakness::Cbc)));
    if !all_cbc {
        return None;
    }
    Some(
        Detection::new(
            Confidence::Low,
            format!("Under {version} the server offers only CBC cipher suites (no AES-GCM or ChaCha20): they work, but MAC-then-encrypt CBC is the weakest mode current clients still accept."),
        )
        .severity(Severity::Risk)
        .evidence(format!("suites accepted under {version}: {}", list.join(", ")))
        .param("versions", version.clone())
        .param("suites", list.join(", ")),
    )
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use crate::evidence::*;
    use crate::probe::tls_enum::{clients, plan::Outcome, report};
    use rdpdoctor_wire::tls::ProtocolVersion;
    use std::time::Duration;

    /// A failed modern handshake that a legacy hello explained (the probe then completes the
    /// stage, marked as learnt from a legacy hello).
    fn legacy_answered(version: &str, suite: &str) -> Evidence {
        let mut ev = evidence();
        ev.tls = legacy_answered_tls(version, suite);
        ev
    }

    /// Evidence with an enumeration of these accepted suites per version (empty = refused).
    fn enumerated(versions: &[(ProtocolVersion, &[u16])], preference: bool) -> Evidence {
        let mut o = Outcome::default();
        for (v, s) in versions {
            o.versions.insert(*v, s.to_vec());
            if s.len() > 1 {
                o.server_preference.insert(*v, preference);
            }
        }
        let e = report(&o, 7, Duration::from_millis(30));
        let mut ev = evidence();
        ev.tls = Stage::ok(
            Duration::ZERO,
            TlsHandshake {
                version: Some("TLSv1.2".into()),
                modern_handshake_ok: true,
                enumeration: Some(e),
                ..Default::default()
            },
        );
        ev
    }

    const V10: ProtocolVersion = ProtocolVersion::TLS10;
    const V11: ProtocolVersion = ProtocolVersion::TLS11;
    const V12: ProtocolVersion = ProtocolVersion::TLS12;
    const V13: ProtocolVersion = ProtocolVersion::TLS13;

    fn param(d: &super::Detection, key: &str) -> String {
        d.params
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    }

    #[test]
    fn without_an_enumeration_the_legacy_answer_decides() {
        let ev = legacy_answered("TLSv1.0", "TLS_RSA_WITH_AES_128_CBC_SHA");
        let d = run(rule("tls-version-mismatch"), &ev).expect("tls-version-mismatch");
        assert_eq!(param(&d, "versions"), "TLSv1.0");
        assert!(run(rule("cipher-mismatch"), &ev).is_none());
        assert!(run(rule("weak-tls"), &ev).is_none(), "needs an enumeration");
        let ev = legacy_answered("TLSv1.2", "TLS_RSA_WITH_RC4_128_SHA");
        let d = run(rule("cipher-mismatch"), &ev).expect("cipher-mismatch");
        assert_eq!(param(&d, "suites"), "TLS_RSA_WITH_RC4_128_SHA");
        assert!(run(rule("tls-version-mismatch"), &ev).is_none());
        // Near miss: Windows 11 still offers static-RSA GCM suites.
        let ev = legacy_answered("TLSv1.2", "TLS_RSA_WITH_AES_256_GCM_SHA384");
        assert!(run(rule("cipher-mismatch"), &ev).is_none());
        // Near miss: the modern handshake worked.
        let mut ev = legacy_answered("TLSv1.0", "TLS_RSA_WITH_AES_128_CBC_SHA");
        if let Stage::Ok { value, .. } = &mut ev.tls {
            value.modern_handshake_ok = true;
        }
        assert!(run(rule("tls-version-mismatch"), &ev).is_none());
    }

    #[test]
    fn the_enumeration_takes_precedence_over_the_legacy_answer() {
        // The legacy answer alone says TLS 1.0; the enumeration shows TLS 1.2 too.
        let mut ev = enumerated(&[(V10, &[0x002f]), (V12, &[0xc02f]), (V13, &[])], false);
        if let Stage::Ok { value, .. } = &mut ev.tls {
            value.version = Some("TLSv1.0".into());
            value.client = Some(TlsClient::LegacyHello);
            value.modern_handshake_ok = false;
        }
        assert!(run(rule("tls-version-mismatch"), &ev).is_none());
    }

    #[test]
    fn deep_tls10_only_is_a_version_mismatch_naming_the_versions() {
        let ev = enumerated(
            &[(V10, &[0x002f]), (V11, &[]), (V12, &[]), (V13, &[])],
            false,
        );
        let d = run(rule("tls-version-mismatch"), &ev).expect("tls-version-mismatch");
        assert_eq!(param(&d, "versions"), "TLSv1.0");
        assert!(
            d.evidence
                .iter()
                .any(|l| l.starts_with("Windows 11 mstsc / Windows App: no TLS version in common"))
        );
        assert!(run(rule("cipher-mismatch"), &ev).is_none());
        let w = run(rule("weak-tls"), &ev).expect("TLS 1.0 is weak");
        assert_eq!(param(&w, "versions"), "TLSv1.0");
        // Near miss: TLS 1.2 is accepted too.
        let ev = enumerated(&[(V10, &[0x002f]), (V12, &[0xc02f]), (V13, &[])], false);
        assert!(run(rule("tls-version-mismatch"), &ev).is_none());
        // Near miss: every version refused is a broken handshake, not a version choice.
        let ev = enumerated(&[(V10, &[]), (V11, &[]), (V12, &[]), (V13, &[])], false);
        assert!(run(rule("tls-version-mismatch"), &ev).is_none());
    }

    #[test]
    fn deep_legacy_suites_only_is_a_cipher_mismatch() {
        let ev = enumerated(
            &[(V12, &[0x000a, 0x0005]), (V13, &[]), (V10, &[]), (V11, &[])],
            true,
        );
        let d = run(rule("cipher-mismatch"), &ev).expect("cipher-mismatch");
        assert_eq!(
            param(&d, "suites"),
            "TLS_RSA_WITH_3DES_EDE_CBC_SHA, TLS_RSA_WITH_RC4_128_SHA"
        );
        assert!(
            d.summary
                .contains("Windows 11 mstsc / Windows App and FreeRDP 3")
        );
        assert!(run(rule("tls-version-mismatch"), &ev).is_none());
        let w = run(rule("weak-tls"), &ev).expect("3DES and RC4 are weak");
        assert!(param(&w, "suites").contains("TLS_RSA_WITH_RC4_128_SHA"));
        assert_eq!(param(&w, "versions"), "");
        // Near miss: one suite Windows offers is enough.
        let ev = enumerated(&[(V12, &[0x000a, 0x002f]), (V13, &[])], true);
        assert!(run(rule("cipher-mismatch"), &ev).is_none());
        // Near miss: TLS 1.3 with only ChaCha20 fails Windows (no ChaCha20) but not FreeRDP.
        let ev = enumerated(&[(V12, &[]), (V13, &[0x1303])], true);
        let d = run(rule("cipher-mismatch"), &ev).expect("Windows only");
        assert!(!d.summary.contains("FreeRDP"));
    }

    #[test]
    fn weak_tls_and_its_near_misses() {
        // A modern server: nothing weak.
        let ev = enumerated(
            &[
                (V10, &[]),
                (V11, &[]),
                (V12, &[0xc030, 0xc02f]),
                (V13, &[0x1302, 0x1301]),
            ],
            true,
        );
        assert!(run(rule("weak-tls"), &ev).is_none());
        assert!(run(rule("tls-version-mismatch"), &ev).is_none());
        assert!(run(rule("cipher-mismatch"), &ev).is_none());
        // TLS 1.1 accepted, strong suites otherwise.
        let ev = enumerated(&[(V11, &[0xc013]), (V12, &[0xc02f]), (V13, &[])], true);
        let d = run(rule("weak-tls"), &ev).expect("weak-tls");
        assert_eq!(d.confidence, crate::diagnose::Confidence::High);
        assert_eq!(param(&d, "versions"), "TLSv1.1");
        // CBC only under TLS 1.2: the lower-confidence note.
        let ev = enumerated(
            &[(V12, &[0xc013, 0x002f]), (V13, &[]), (V11, &[]), (V10, &[])],
            true,
        );
        let d = run(rule("weak-tls"), &ev).expect("CBC-only note");
        assert_eq!(d.confidence, crate::diagnose::Confidence::Low);
        assert!(param(&d, "suites").contains("TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA"));
        // Export and NULL suites are named with their class.
        let ev = enumerated(
            &[(V10, &[0x0003, 0x0002]), (V12, &[0xc02f]), (V13, &[])],
            true,
        );
        let d = run(rule("weak-tls"), &ev).expect("weak-tls");
        assert!(d.evidence.iter().any(|l| l.contains("export")));
        assert!(d.evidence.iter().any(|l| l.contains("null_cipher")));
        let _ = clients::PROFILES;
    }
}
