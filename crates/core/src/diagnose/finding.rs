//! Findings: a cause, how sure we are, the evidence, and the fix.

use serde::{Deserialize, Serialize};

use super::rules::{Detection, RuleContext};
use crate::evidence::{Evidence, Stage, Verdict};
use rdpdoctor_kb::{Category, FixRecipe, Severity};

/// How strongly the evidence supports a finding.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Confidence {
    Low,
    Medium,
    High,
}

impl Confidence {
    pub fn as_str(self) -> &'static str {
        match self {
            Confidence::Low => "low",
            Confidence::Medium => "medium",
            Confidence::High => "high",
        }
    }
}

/// The fix as the report shows it: the catalog's recipe with this target's values filled in.
pub type Fix = FixRecipe;

/// A finding folded into another because both tell one story.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RelatedFinding {
    pub cause: String,
    pub title: String,
    pub summary: String,
}

/// One diagnosed cause (`findings[]` in the JSON).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// Stable cause id from the catalog (`cert-expired`).
    pub cause: String,
    pub title: String,
    pub severity: Severity,
    pub confidence: Confidence,
    pub category: Category,
    /// What was found, specific to this server, in one or two sentences.
    pub summary: String,
    /// The observations that support the finding, one line each.
    pub evidence: Vec<String>,
    pub fix: Fix,
    /// Other causes that are part of the same story.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub related: Vec<RelatedFinding>,
}

impl Finding {
    pub(crate) fn from_detection(
        cause: &'static str,
        d: Detection,
        ctx: &RuleContext<'_>,
    ) -> Finding {
        let entry = rdpdoctor_kb::cause(cause);
        let mut params = split_account(d.params);
        params.push(("host", ctx.target.host.clone()));
        params.push(("port", ctx.target.port.to_string()));
        let fix = match entry {
            Some(c) => fill_fix(&c.fix, &params),
            None => FixRecipe {
                summary: format!("See the documentation for cause '{cause}'."),
                steps: Vec::new(),
                verify: Vec::new(),
                undo: None,
            },
        };
        Finding {
            cause: cause.to_string(),
            title: entry
                .map(|c| c.title.clone())
                .unwrap_or_else(|| cause.to_string()),
            severity: d
                .severity
                .or(entry.map(|c| c.severity))
                .unwrap_or(Severity::Risk),
            confidence: d.confidence,
            category: entry.map(|c| c.category).unwrap_or(Category::Reachability),
            summary: d.summary,
            evidence: d.evidence,
            fix,
            related: Vec::new(),
        }
    }
}

impl Finding {
    /// Merge another detection of the same cause: keep the stronger severity and confidence;
    /// two independent sources agreeing raise a medium confidence to high.
    pub(crate) fn absorb(&mut self, other: Finding) {
        let independent = !other.evidence.iter().all(|l| self.evidence.contains(l));
        let both_medium =
            self.confidence >= Confidence::Medium && other.confidence >= Confidence::Medium;
        self.confidence = if independent && both_medium {
            Confidence::High
        } else {
            self.confidence.max(other.confidence)
        };
        self.severity = self.severity.min(other.severity);
        for line in other.evidence {
            if !self.evidence.contains(&line) {
                self.evidence.push(line);
            }
        }
    }
}

/// Fix commands take the account as `{user}` (an AD identity: the bare account name) and
/// `{domain}`; rules report it as seen (`CONTOSO\alice`, `alice@contoso.com`, `alice`).
fn split_account(mut params: Vec<(&'static str, String)>) -> Vec<(&'static str, String)> {
    let Some(i) = params.iter().position(|(k, _)| *k == "user") else {
        return params;
    };
    let account = params.remove(i).1;
    let (domain, user) = match (account.split_once('\\'), account.split_once('@')) {
        (Some((d, u)), _) => (d.to_string(), u.to_string()),
        (None, Some((u, d))) => (
            d.split('.').next().unwrap_or(d).to_ascii_uppercase(),
            u.to_string(),
        ),
        (None, None) => ("DOMAIN".to_string(), account),
    };
    params.push(("user", user));
    if !params.iter().any(|(k, _)| *k == "domain") {
        params.push(("domain", domain));
    }
    params
}

/// Replace `{name}` placeholders in the recipe with this target's values. Unknown placeholders
/// are left as they are, so a recipe never loses text.
fn fill_fix(recipe: &FixRecipe, params: &[(&'static str, String)]) -> FixRecipe {
    let values: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let fill = |s: &str| rdpdoctor_kb::catalog::fill_placeholders(s, &values);
    let fill_steps = |steps: &[rdpdoctor_kb::FixStep]| {
        steps
            .iter()
            .map(|s| rdpdoctor_kb::FixStep {
                text: fill(&s.text),
                commands: s
                    .commands
                    .iter()
                    .map(|c| rdpdoctor_kb::Command {
                        shell: c.shell,
                        text: fill(&c.text),
                    })
                    .collect(),
            })
            .collect()
    };
    FixRecipe {
        summary: fill(&recipe.summary),
        steps: fill_steps(&recipe.steps),
        verify: fill_steps(&recipe.verify),
        undo: recipe.undo.as_deref().map(fill),
    }
}

/// A check that ran and found nothing wrong (`passed[]`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PassedCheck {
    /// The stage or area (`tcp`, `tls`, `certificate`).
    pub check: String,
    pub detail: String,
}

/// The result of [`super::diagnose`].
#[derive(Clone, Debug, PartialEq)]
pub struct Diagnosis {
    pub verdict: Verdict,
    pub findings: Vec<Finding>,
    pub passed: Vec<PassedCheck>,
    pub client_checklist: Vec<String>,
}

/// Causes that contradict a passed check: a check is listed as passed only when none of these
/// was found as a blocker or risk (an info finding such as nla-required does not undo a pass).
const CONTRADICTED_BY: &[(&str, &[&str])] = &[
    (
        "tcp",
        &[
            "port-closed",
            "port-filtered",
            "host-unreachable",
            "dropped-after-accept",
        ],
    ),
    (
        "negotiation",
        &[
            "tls-not-allowed",
            "standard-rdp-security-only",
            "cert-not-on-server",
            "not-rdp",
        ],
    ),
    (
        "tls",
        &[
            "tls-handshake-broken",
            "tls-version-mismatch",
            "cipher-mismatch",
            "weak-tls",
        ],
    ),
    (
        "certificate",
        &[
            "cert-expired",
            "cert-not-yet-valid",
            "cert-expiring-soon",
            "cert-name-mismatch",
            "cert-untrusted",
            "cert-weak",
            "cert-wrong-usage",
        ],
    ),
    ("credssp", &["credssp-oracle"]),
    (
        "logon",
        &[
            "credentials-rejected",
            "account-locked",
            "account-restricted",
            "logon-right-missing",
            "server-denied-connection",
            "licensing",
            "server-error",
        ],
    ),
];

/// The stages that completed and that no blocker or risk finding contradicts.
pub(crate) fn passed_checks(ev: &Evidence, findings: &[Finding]) -> Vec<PassedCheck> {
    let contradicted = |check: &str| {
        let causes = CONTRADICTED_BY
            .iter()
            .find(|(c, _)| *c == check)
            .map(|(_, v)| *v)
            .unwrap_or(&[]);
        findings
            .iter()
            .any(|f| f.severity != Severity::Info && causes.contains(&f.cause.as_str()))
    };
    let mut out = Vec::new();
    let mut push = |check: &str, detail: String| {
        if !contradicted(check) {
            out.push(PassedCheck {
                check: check.into(),
                detail,
            });
        }
    };
    if let Stage::Ok { value, elapsed_ms } = &ev.dns {
        let addrs: Vec<String> = value.addresses.iter().map(|a| a.to_string()).collect();
        push(
            "dns",
            format!(
                "{} resolves to {} ({elapsed_ms:.0} ms)",
                value.name,
                addrs.join(", ")
            ),
        );
    }
    if let Stage::Ok { value, .. } = &ev.tcp
        && let (Some(addr), Some(ms)) = (value.address, value.connect_ms)
    {
        push("tcp", format!("TCP connect to {addr} in {ms:.1} ms"));
    }
    if let Stage::Ok { value, .. } = &ev.negotiation
        && !value.supported.is_empty()
    {
        let names: Vec<&str> = value.supported.iter().map(|p| p.as_str()).collect();
        push(
            "negotiation",
            format!("security protocols offered: {}", names.join(", ")),
        );
    }
    if let Stage::Ok { value, .. } = &ev.tls {
        push(
            "tls",
            format!(
                "{} with {}",
                value.version.as_deref().unwrap_or("TLS"),
                value.cipher_suite.as_deref().unwrap_or("an unknown suite")
            ),
        );
    }
    if let Some(cert) = &ev.certificate {
        push(
            "certificate",
            format!(
                "{} valid until {} ({} days left)",
                cert.subject,
                cert.not_after.date_naive(),
                cert.days_left
            ),
        );
    }
    if let Stage::Ok { value, .. } = &ev.credssp
        && let Some(v) = value.version
    {
        let who = value
            .ntlm
            .as_ref()
            .map(|n| {
                let name = n
                    .dns_computer_name
                    .clone()
                    .or(n.netbios_computer_name.clone())
                    .unwrap_or_default();
                let os = match (&n.os_version, &n.os_name) {
                    (Some(v), Some(name)) => format!(", {name} ({v})"),
                    (Some(v), None) => format!(", version {v}"),
                    _ => String::new(),
                };
                format!("; the server calls itself {name}{os}")
            })
            .unwrap_or_default();
        let patched = if v >= 5 {
            " (patched for CVE-2018-0886)"
        } else {
            ""
        };
        push("credssp", format!("CredSSP version {v}{patched}{who}"));
    }
    if let Stage::Ok { value, .. } = &ev.auth {
        use crate::evidence::AuthOutcome;
        let who = value.user.as_deref().unwrap_or("the account");
        let detail = match value.outcome {
            AuthOutcome::Connected => Some(format!(
                "{who} logged on; the connection sequence completed (a session would start)"
            )),
            AuthOutcome::Authenticated => Some(format!(
                "{who} authenticated (CredSSP); stopped there as asked (--auth-only)"
            )),
            AuthOutcome::Redirected => Some(format!(
                "{who} logged on; the connection broker redirects to {}",
                value
                    .redirection
                    .as_ref()
                    .and_then(|r| r.target.clone())
                    .unwrap_or_else(|| "another server".into())
            )),
            _ => None,
        };
        if let Some(d) = detail {
            push("logon", d);
        }
    }
    out
}

/// What to check on the client when every server-side check passed, in the field's triage
/// order (the knowledge base's checklist, with this target filled in).
pub(crate) fn client_checklist(target: &crate::Target) -> Vec<String> {
    let port = target.port.to_string();
    let params = [("host", target.host.as_str()), ("port", port.as_str())];
    rdpdoctor_kb::client_checklist()
        .iter()
        .map(|item| rdpdoctor_kb::catalog::fill_placeholders(&item.to_line(), &params))
        .collect()
}
