//! Diagnosis: a pure function from evidence to ranked findings.
//!
//! One rule per cause (`rules/*`), each a small function that looks at the evidence and returns a
//! [`Detection`] when its cause is present. [`diagnose`] runs every rule, turns detections into
//! [`Finding`]s with the knowledge base's title and fix, folds findings that tell one story into
//! one (an expired certificate and the TLS failure it causes), ranks them (blockers first, then
//! by confidence), and decides the [`Verdict`].
//!
//! No I/O and no clock: `now` comes in through [`DiagnoseOptions`], so every rule is tested with
//! hand-made or saved evidence.

mod correlate;
mod finding;
pub mod rules;

pub use finding::{Confidence, Diagnosis, Finding, Fix, PassedCheck};
pub use rules::{Detection, Rule, RuleContext};

use chrono::{DateTime, Utc};

use crate::Target;
use crate::evidence::{Evidence, Verdict};
use rdpdoctor_kb::Severity;

/// Knobs for the diagnosis.
#[derive(Clone, Debug)]
pub struct DiagnoseOptions {
    /// The time certificates are judged against.
    pub now: DateTime<Utc>,
    /// A certificate expiring within this many days is a risk (`cert-expiring-soon`).
    pub expiry_warning_days: i64,
}

impl DiagnoseOptions {
    pub fn at(now: DateTime<Utc>) -> Self {
        DiagnoseOptions {
            now,
            expiry_warning_days: 30,
        }
    }
}

/// Run every rule over the evidence and rank the findings.
pub fn diagnose(target: &Target, evidence: &Evidence, options: &DiagnoseOptions) -> Diagnosis {
    let ctx = RuleContext {
        target,
        evidence,
        options,
    };
    let mut findings: Vec<Finding> = Vec::new();
    for rule in rules::all() {
        let Some(detection) = (rule.evaluate)(&ctx) else {
            continue;
        };
        let finding = Finding::from_detection(rule.cause, detection, &ctx);
        // Several rules may see the same cause from different evidence (a live probe and a
        // server event log): one finding, with the evidence of both.
        match findings.iter_mut().find(|f| f.cause == finding.cause) {
            Some(existing) => existing.absorb(finding),
            None => findings.push(finding),
        }
    }
    correlate::fold(&mut findings);
    rank(&mut findings);
    let passed = finding::passed_checks(evidence, &findings);
    let verdict = verdict(evidence, &findings);
    let client_checklist = if verdict == Verdict::Healthy && evidence.has_live_probe() {
        finding::client_checklist(target)
    } else {
        Vec::new()
    };
    Diagnosis {
        verdict,
        findings,
        passed,
        client_checklist,
    }
}

/// Blockers before risks before info; within a severity, higher confidence first; then catalog
/// order, so output is stable.
fn rank(findings: &mut [Finding]) {
    let catalog_pos = |id: &str| {
        rdpdoctor_kb::causes()
            .iter()
            .position(|c| c.id == id)
            .unwrap_or(usize::MAX)
    };
    findings.sort_by(|a, b| {
        a.severity
            .cmp(&b.severity)
            .then(b.confidence.cmp(&a.confidence))
            .then(catalog_pos(&a.cause).cmp(&catalog_pos(&b.cause)))
    });
}

fn verdict(evidence: &Evidence, findings: &[Finding]) -> Verdict {
    if findings
        .iter()
        .any(|f| matches!(f.severity, Severity::Blocker | Severity::Risk))
    {
        return Verdict::Problems;
    }
    // A stage that failed while no finding explains it leaves the check incomplete.
    if evidence.first_failure().is_some() || (!evidence.has_live_probe() && evidence.host.is_none())
    {
        return Verdict::CouldNotCheck;
    }
    Verdict::Healthy
}
