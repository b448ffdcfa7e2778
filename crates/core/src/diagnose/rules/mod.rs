//! The diagnosis rules: one per cause, grouped by the part of the connection they look at.
//!
//! A rule is a plain function `fn(&RuleContext) -> Option<Detection>`. Adding a cause means one
//! catalog entry in the knowledge base, one rule in the module for its area, and one test with a
//! hand-made Evidence that triggers it plus a near miss that must not.

pub mod auth;
pub mod certificate;
pub mod client;
pub mod host;
pub mod negotiation;
pub mod path;
pub mod reach;
pub mod tls;

use crate::Target;
use crate::diagnose::{Confidence, DiagnoseOptions};
use crate::evidence::Evidence;
use rdpdoctor_kb::Severity;

/// What a rule sees.
pub struct RuleContext<'a> {
    pub target: &'a Target,
    pub evidence: &'a Evidence,
    pub options: &'a DiagnoseOptions,
}

/// A rule's verdict that its cause is present.
#[derive(Clone, Debug)]
pub struct Detection {
    /// Overrides the catalog's severity (`nla-required` is info for a modern client, a blocker
    /// for a client file without CredSSP).
    pub severity: Option<Severity>,
    pub confidence: Confidence,
    /// What was found, specific to this server.
    pub summary: String,
    /// The supporting observations, one line each.
    pub evidence: Vec<String>,
    /// Values for `{placeholders}` in the catalog's fix (`{thumbprint}`, `{not_after}`).
    pub params: Vec<(&'static str, String)>,
}

impl Detection {
    pub fn new(confidence: Confidence, summary: impl Into<String>) -> Self {
        Detection {
            severity: None,
            confidence,
            summary: summary.into(),
            evidence: Vec::new(),
            params: Vec::new(),
        }
    }

    pub fn evidence(mut self, line: impl Into<String>) -> Self {
        self.evidence.push(line.into());
        self
    }

    pub fn severity(mut self, s: Severity) -> Self {
        self.severity = Some(s);
        self
    }

    pub fn param(mut self, key: &'static str, value: impl Into<String>) -> Self {
        self.params.push((key, value.into()));
        self
    }
}

/// One rule: the cause it detects and the function that looks for it.
pub struct Rule {
    pub cause: &'static str,
    pub evaluate: fn(&RuleContext<'_>) -> Option<Detection>,
}

/// Every rule, in catalog order within each area.
pub fn all() -> Vec<&'static Rule> {
    [
        reach::RULES,
        path::RULES,
        negotiation::RULES,
        tls::RULES,
        certificate::RULES,
        host::RULES,
        client::RULES,
        auth::RULES,
    ]
    .into_iter()
    .flatten()
    .collect()
}

#[cfg(test)]
pub(crate) mod testing {
    //! Builders for hand-made evidence in rule tests.
    use super::*;
    use crate::evidence::{Stage, TlsClient, TlsHandshake};
    use chrono::{TimeZone, Utc};

    pub fn now() -> chrono::DateTime<chrono::Utc> {
        Utc.with_ymd_and_hms(2026, 11, 20, 12, 0, 0).unwrap()
    }

    pub fn target() -> Target {
        Target::parse("server01.contoso.com").unwrap()
    }

    pub fn evidence() -> Evidence {
        Evidence::new(now())
    }

    /// Run one rule over the evidence.
    pub fn run(rule: &Rule, evidence: &Evidence) -> Option<Detection> {
        run_for(rule, &target(), evidence)
    }

    pub fn run_for(rule: &Rule, target: &Target, evidence: &Evidence) -> Option<Detection> {
        let options = DiagnoseOptions::at(now());
        let ctx = RuleContext {
            target,
            evidence,
            options: &options,
        };
        (rule.evaluate)(&ctx)
    }

    /// A TLS stage whose modern handshake failed and a legacy hello explained it: the probe
    /// then completes the stage, marked as learnt from a legacy hello.
    pub fn legacy_answered_tls(version: &str, suite: &str) -> Stage<TlsHandshake> {
        Stage::ok(
            std::time::Duration::ZERO,
            TlsHandshake {
                version: Some(version.into()),
                cipher_suite: Some(suite.into()),
                client: Some(TlsClient::LegacyHello),
                modern_handshake_ok: false,
                modern_handshake_error: Some("handshake_failure".into()),
                ..Default::default()
            },
        )
    }

    /// The rule for a cause id.
    pub fn rule(cause: &str) -> &'static Rule {
        all()
            .into_iter()
            .find(|r| r.cause == cause)
            .unwrap_or_else(|| panic!("no rule for {cause}"))
    }
}

#[cfg(test)]
mod coverage {
    use super::all;
    use rdpdoctor_kb::Detection as Evidence;

    /// Live causes whose rules come with open work: none left. The test below fails as soon
    /// as a live cause has neither a rule nor a non-live marker.
    const AWAITING_LIVE_RULE: &[&str] = &[];

    /// Every cause of the catalog (which tests say is exactly CAUSES.md) has a rule here, or is
    /// marked in the catalog as needing evidence a live probe cannot collect (offline files,
    /// an authenticated attempt, or the client side).
    #[test]
    fn every_cause_has_a_rule_or_an_explicit_marker() {
        let rules = all();
        let mut missing = Vec::new();
        for cause in rdpdoctor_kb::causes() {
            let has_rule = rules.iter().any(|r| r.cause == cause.id);
            let marked = cause.detection.iter().any(|d| {
                matches!(
                    d,
                    Evidence::Offline | Evidence::Authenticated | Evidence::Client
                )
            });
            if !has_rule && !marked {
                missing.push(cause.id.as_str());
            }
        }
        assert_eq!(
            missing, AWAITING_LIVE_RULE,
            "causes with neither a rule nor a non-live marker"
        );
    }

    #[test]
    fn every_rule_names_a_catalog_cause() {
        for rule in all() {
            assert!(
                rdpdoctor_kb::cause(rule.cause).is_some(),
                "rule for unknown cause {}",
                rule.cause
            );
        }
    }
}
