//! The JSON document rdpdoctor prints (`check --format json`), saves (`--save`) and re-reads
//! (`diagnose`). One line of `scan --out` is the same document.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{Evidence, SCHEMA_VERSION};
use crate::Target;
use crate::diagnose::{Diagnosis, Finding, PassedCheck};

/// Which rdpdoctor wrote the document.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolInfo {
    pub name: String,
    pub version: String,
}

impl Default for ToolInfo {
    fn default() -> Self {
        ToolInfo {
            name: "rdpdoctor".into(),
            version: env!("CARGO_PKG_VERSION").into(),
        }
    }
}

/// The overall answer, which also decides the exit code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Every check passed (info findings only). Exit code 0.
    Healthy,
    /// At least one blocker or risk. Exit code 1.
    Problems,
    /// A stage failed in a way no cause explains, so the server could not be checked. Exit code 2.
    CouldNotCheck,
}

impl Verdict {
    pub fn exit_code(self) -> i32 {
        match self {
            Verdict::Healthy => 0,
            Verdict::Problems => 1,
            Verdict::CouldNotCheck => 2,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Healthy => "healthy",
            Verdict::Problems => "problems",
            Verdict::CouldNotCheck => "could_not_check",
        }
    }
}

/// The whole document: target, evidence, and the diagnosis of that evidence.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub schema_version: u32,
    #[serde(default)]
    pub tool: ToolInfo,
    pub target: Target,
    /// Wall time of the whole check.
    #[serde(default)]
    pub duration_ms: f64,
    pub evidence: Evidence,
    /// Filled by [`Report::diagnose`]; ignored when a saved document is re-diagnosed.
    #[serde(default = "default_verdict")]
    pub verdict: Verdict,
    #[serde(default)]
    pub findings: Vec<Finding>,
    /// Checks that ran and found nothing wrong.
    #[serde(default)]
    pub passed: Vec<PassedCheck>,
    /// When every server-side check passed: the client-side checks to do next, in triage order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub client_checklist: Vec<String>,
    /// When the diagnosis was made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub diagnosed_at: Option<DateTime<Utc>>,
}

fn default_verdict() -> Verdict {
    Verdict::CouldNotCheck
}

impl Report {
    /// A document for `target` with no diagnosis yet.
    pub fn new(target: Target, evidence: Evidence, duration_ms: f64) -> Self {
        Report {
            schema_version: SCHEMA_VERSION,
            tool: ToolInfo::default(),
            target,
            duration_ms,
            evidence,
            verdict: Verdict::CouldNotCheck,
            findings: Vec::new(),
            passed: Vec::new(),
            client_checklist: Vec::new(),
            diagnosed_at: None,
        }
    }

    /// Replace the diagnosis part with `d`.
    pub fn set_diagnosis(&mut self, d: Diagnosis, at: DateTime<Utc>) {
        self.verdict = d.verdict;
        self.findings = d.findings;
        self.passed = d.passed;
        self.client_checklist = d.client_checklist;
        self.diagnosed_at = Some(at);
    }
}
