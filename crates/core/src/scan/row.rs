//! One server in one line: what the CSV row and the HTML table show for a report. Pure: a
//! [`Report`] in, a [`ServerRow`] out, judged at a given instant (certificate days left are
//! counted from the report's `now`, not from when the server was checked, so a rebuilt report
//! is current).

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::evidence::{Report, Stage, Verdict};
use rdpdoctor_kb::Severity;

/// Where a server stands, for counting: the verdict, except that a server that could not be
/// reached at all (no address, no TCP connection) is `unreachable` whatever its verdict.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Problems,
    Unreachable,
    CouldNotCheck,
    Healthy,
}

impl Outcome {
    pub fn of(report: &Report) -> Outcome {
        if unreachable_reason(report).is_some() {
            return Outcome::Unreachable;
        }
        match report.verdict {
            Verdict::Healthy => Outcome::Healthy,
            Verdict::Problems => Outcome::Problems,
            Verdict::CouldNotCheck => Outcome::CouldNotCheck,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Problems => "problems",
            Outcome::Unreachable => "unreachable",
            Outcome::CouldNotCheck => "could_not_check",
            Outcome::Healthy => "healthy",
        }
    }
}

/// `dns:nx_domain`, `tcp:refused`, ... when the server was not reached.
pub fn unreachable_reason(report: &Report) -> Option<String> {
    let ev = &report.evidence;
    if let Some(e) = ev.dns.error() {
        return Some(format!("dns:{}", e.kind));
    }
    if let Some(e) = ev.tcp.error() {
        return Some(format!("tcp:{}", e.kind));
    }
    None
}

/// The first blocker or risk finding: what to fix first on this server.
pub fn top_cause(report: &Report) -> Option<(&str, Severity)> {
    report
        .findings
        .iter()
        .find(|f| f.severity != Severity::Info)
        .map(|f| (f.cause.as_str(), f.severity))
}

/// One server, flattened.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ServerRow {
    /// The target as given.
    pub target: String,
    pub host: String,
    pub port: u16,
    pub outcome: Outcome,
    pub verdict: &'static str,
    /// The first blocker or risk.
    pub top_cause: Option<String>,
    pub top_severity: Option<Severity>,
    /// Every blocker and risk, in report order.
    pub causes: Vec<String>,
    pub unreachable_reason: Option<String>,
    /// The address connected to.
    pub address: Option<String>,
    /// What a current client gets (`ssl`, `hybrid`, ...).
    pub selected_protocol: Option<String>,
    /// Everything the server accepted.
    pub protocols: Vec<String>,
    pub tls_version: Option<String>,
    pub cert_subject: Option<String>,
    pub cert_not_after: Option<DateTime<Utc>>,
    /// Whole days from `now` to notAfter (negative once expired).
    pub cert_days_left: Option<i64>,
    pub cert_self_signed: Option<bool>,
    pub credssp_version: Option<u32>,
    pub duration_ms: f64,
    pub checked_at: DateTime<Utc>,
}

impl ServerRow {
    pub fn new(report: &Report, now: DateTime<Utc>) -> ServerRow {
        let ev = &report.evidence;
        let negotiation = ev.negotiation.observed();
        let cert = ev.certificate.as_ref();
        let top = top_cause(report);
        ServerRow {
            target: report.target.input.clone(),
            host: report.target.host.clone(),
            port: report.target.port,
            outcome: Outcome::of(report),
            verdict: report.verdict.as_str(),
            top_cause: top.map(|(c, _)| c.to_string()),
            top_severity: top.map(|(_, s)| s),
            causes: report
                .findings
                .iter()
                .filter(|f| f.severity != Severity::Info)
                .map(|f| f.cause.clone())
                .collect(),
            unreachable_reason: unreachable_reason(report),
            address: ev
                .tcp
                .value()
                .and_then(|t| t.address)
                .map(|a| a.to_string()),
            selected_protocol: negotiation.and_then(|n| n.selected).map(|p| p.to_string()),
            protocols: negotiation
                .map(|n| n.supported.iter().map(|p| p.to_string()).collect())
                .unwrap_or_default(),
            tls_version: ev.tls.observed().and_then(|t| t.version.clone()),
            cert_subject: cert.map(|c| c.subject.clone()),
            cert_not_after: cert.map(|c| c.not_after),
            cert_days_left: cert.map(|c| c.days_left_at(now)),
            cert_self_signed: cert.map(|c| c.self_signed),
            credssp_version: match &ev.credssp {
                Stage::Ok { value, .. } => value.version,
                _ => None,
            },
            duration_ms: report.duration_ms,
            checked_at: ev.collected_at,
        }
    }
}
