//! Plain-text renderings of catalog data, so that `rdpdoctor causes` and the reports stay thin.
//! JSON needs nothing from here: [`crate::Cause`] and [`CauseSummary`] serialise directly.

use crate::catalog::{Category, Cause, Detection, Environment, FixRecipe, Severity, causes_in};
use serde::Serialize;
use std::fmt::Write;

/// One line of `rdpdoctor causes --format json`: the catalog entry without its long texts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CauseSummary {
    pub id: String,
    pub title: String,
    pub category: Category,
    pub severity: Severity,
    pub detection: Vec<Detection>,
    pub environments: Vec<Environment>,
    pub effectiveness: u8,
    pub difficulty: u8,
    pub fix: String,
}

impl From<&Cause> for CauseSummary {
    fn from(c: &Cause) -> Self {
        CauseSummary {
            id: c.id.clone(),
            title: c.title.clone(),
            category: c.category,
            severity: c.severity,
            detection: c.detection.clone(),
            environments: c.environments.clone(),
            effectiveness: c.effectiveness,
            difficulty: c.difficulty,
            fix: c.fix.summary.clone(),
        }
    }
}

/// Every cause as a summary, in catalog order.
pub fn cause_summaries() -> Vec<CauseSummary> {
    crate::causes().iter().map(CauseSummary::from).collect()
}

/// The catalog as a text table grouped by category:
///
/// ```text
/// Reaching the server
///   ID                    SEVERITY  DETECTED BY     TITLE
///   dns-unresolved        blocker   live, client    The server name does not resolve
/// ```
pub fn causes_table() -> String {
    let width = crate::causes()
        .iter()
        .map(|c| c.id.len())
        .max()
        .unwrap_or(10)
        + 2;
    let mut out = String::new();
    for category in Category::ALL {
        let _ = writeln!(out, "{}", category.title());
        let _ = writeln!(
            out,
            "  {:width$}{:10}{:28}TITLE",
            "ID", "SEVERITY", "DETECTED BY"
        );
        for c in causes_in(category) {
            let detection: Vec<&str> = c.detection.iter().map(|d| d.as_str()).collect();
            let _ = writeln!(
                out,
                "  {:width$}{:10}{:28}{}",
                c.id,
                c.severity.as_str(),
                detection.join(", "),
                c.title
            );
        }
        out.push('\n');
    }
    out
}

/// A fix as numbered steps with their commands, then how to verify and how to undo.
pub fn fix_text(fix: &FixRecipe) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "Fix: {}", fix.summary);
    for (i, s) in fix.steps.iter().enumerate() {
        let _ = writeln!(out, "  {}. {}", i + 1, s.text);
        for c in &s.commands {
            let _ = writeln!(out, "       {} {}", c.shell.label(), c.text);
        }
    }
    if !fix.verify.is_empty() {
        let _ = writeln!(out, "Verify:");
        for s in &fix.verify {
            let _ = writeln!(out, "  - {}", s.text);
            for c in &s.commands {
                let _ = writeln!(out, "       {} {}", c.shell.label(), c.text);
            }
        }
    }
    if let Some(u) = &fix.undo {
        let _ = writeln!(out, "Undo: {u}");
    }
    out
}

/// Everything about one cause, for `rdpdoctor causes ID`.
pub fn cause_text(c: &Cause) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{} [{}]", c.title, c.id);
    let envs: Vec<&str> = c.environments.iter().map(|e| e.as_str()).collect();
    let det: Vec<&str> = c.detection.iter().map(|d| d.as_str()).collect();
    let _ = writeln!(
        out,
        "{} | {} | detected by: {} | applies to: {}",
        c.severity.as_str(),
        c.category.title(),
        det.join(", "),
        envs.join(", ")
    );
    let _ = writeln!(out);
    let _ = writeln!(out, "{}", c.explanation);
    let _ = writeln!(out, "What it breaks: {}", c.breaks);
    if !c.signals.is_empty() {
        let _ = writeln!(out, "Signals: {}", c.signals);
    }
    let _ = writeln!(
        out,
        "Fix effectiveness {}/5, difficulty {}/5",
        c.effectiveness, c.difficulty
    );
    let _ = writeln!(out);
    out.push_str(&fix_text(&c.fix));
    if !c.checks.is_empty() {
        let _ = writeln!(out, "Test with rdpdoctor:");
        for k in &c.checks {
            let _ = writeln!(out, "  {}  ({})", k.command, k.note);
        }
    }
    if !c.references.is_empty() {
        let _ = writeln!(out, "References:");
        for r in &c.references {
            let _ = writeln!(out, "  {r}");
        }
    }
    out
}
