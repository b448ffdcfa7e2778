//! The fleet summary as text (stdout at the end of `scan`) and as JSON (`--format json`).
//! Lead with the answer: how many servers are fine and how many are not, then each cause with
//! its servers, then the certificates that expire next, then the distributions.

use serde::Serialize;
use std::fmt::Write;

use super::style::Style;
use rdpdoctor_core::scan::FleetSummary;
use rdpdoctor_core::scan::summary::CauseTally;
use rdpdoctor_kb::Severity;

/// Servers named per cause in the text summary (the JSON and HTML list up to `--list-limit`).
const NAMED_PER_CAUSE: usize = 8;
/// Certificates listed in the text summary.
const CERTIFICATES_LISTED: usize = 10;

/// The `--format json` document.
#[derive(Serialize)]
struct SummaryDocument<'a> {
    schema_version: u32,
    kind: &'static str,
    #[serde(flatten)]
    summary: &'a FleetSummary,
}

pub fn json(s: &FleetSummary) -> String {
    let doc = SummaryDocument {
        schema_version: 1,
        kind: "fleet_summary",
        summary: s,
    };
    serde_json::to_string_pretty(&doc).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
}

pub fn text(s: &FleetSummary, st: Style) -> String {
    let mut o = String::new();
    let out = &s.outcomes;
    let _ = writeln!(
        o,
        "{} {} servers: {} healthy, {} with problems, {} unreachable{}",
        st.bold("rdpdoctor scan"),
        s.targets,
        st.green(&out.healthy.to_string()),
        st.red(&out.problems.to_string()),
        st.yellow(&out.unreachable.to_string()),
        if out.could_not_check > 0 {
            format!(", {} could not be checked", out.could_not_check)
        } else {
            String::new()
        }
    );
    causes(&mut o, s, st);
    certificates(&mut o, s, st);
    distributions(&mut o, s);
    o
}

fn causes(o: &mut String, s: &FleetSummary, st: Style) {
    let ranked = s.causes_ranked();
    if ranked.is_empty() {
        return;
    }
    let _ = writeln!(o, "\n{}", st.bold("Causes (servers)"));
    for c in ranked {
        let tag = match c.severity {
            Severity::Blocker => st.red("BLOCKER"),
            Severity::Risk => st.yellow("RISK   "),
            Severity::Info => st.dim("INFO   "),
        };
        let _ = writeln!(
            o,
            "  {tag} {:>6}  {}  {}",
            c.count,
            c.cause,
            st.dim(&c.title)
        );
        let _ = writeln!(o, "          {}", named(c));
    }
}

fn named(c: &CauseTally) -> String {
    let shown: Vec<String> = c
        .servers
        .iter()
        .take(NAMED_PER_CAUSE)
        .map(|l| printable(&l.input))
        .collect();
    let rest = c.count - shown.len() as u64;
    if rest == 0 {
        shown.join(", ")
    } else {
        format!("{} and {rest} more", shown.join(", "))
    }
}

/// Server-chosen text (a certificate subject) or list text, with control characters shown as
/// escapes: an escape sequence in a subject must not drive the admin's terminal.
fn printable(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

fn certificates(o: &mut String, s: &FleetSummary, st: Style) {
    let c = &s.certificates;
    if c.total == 0 {
        return;
    }
    let _ = writeln!(
        o,
        "\n{} ({} servers presented one)",
        st.bold("Certificates by expiry"),
        c.total
    );
    let _ = writeln!(
        o,
        "  expired {}   within 7 days {}   8-30 days {}   31-90 days {}   later {}",
        if c.expired > 0 {
            st.red(&c.expired.to_string())
        } else {
            "0".into()
        },
        c.within_7_days,
        c.within_30_days,
        c.within_90_days,
        c.later
    );
    for e in c.soonest.iter().take(CERTIFICATES_LISTED) {
        // Pad before colouring: escape codes would count in the width.
        let when = if e.days_left < 0 {
            st.red(&format!(
                "{:<22}",
                format!("expired {} days ago", -e.days_left)
            ))
        } else {
            format!("{:<22}", format!("in {} days", e.days_left))
        };
        let _ = writeln!(
            o,
            "  {}  {when} {}  {}{}",
            e.not_after.format("%Y-%m-%d"),
            printable(&e.target),
            printable(&e.subject),
            if e.self_signed { " (self-signed)" } else { "" }
        );
    }
    let listed = c.soonest.len().min(CERTIFICATES_LISTED) as u64;
    if c.total > listed && listed > 0 {
        let _ = writeln!(
            o,
            "  ... {} more (see --report or --format csv)",
            c.total - listed
        );
    }
}

fn distributions(o: &mut String, s: &FleetSummary) {
    let line = |o: &mut String, label: &str, m: &std::collections::BTreeMap<String, u64>| {
        if m.is_empty() {
            return;
        }
        let mut v: Vec<(&String, &u64)> = m.iter().collect();
        v.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        let parts: Vec<String> = v.iter().map(|(k, n)| format!("{k} {n}")).collect();
        let _ = writeln!(o, "  {label:<26} {}", parts.join(", "));
    };
    let p = &s.protocols;
    if p.selected.is_empty() && s.unreachable.is_empty() && s.tls_versions.is_empty() {
        return;
    }
    let _ = writeln!(o, "\nDistributions (servers)");
    line(o, "selected for mstsc", &p.selected);
    line(o, "accepted protocols", &p.accepted_sets);
    line(o, "TLS versions", &s.tls_versions);
    line(o, "CredSSP versions", &s.credssp_versions);
    line(o, "unreachable", &s.unreachable);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_from_servers_are_escaped() {
        assert_eq!(printable("CN=a\u{1b}[2Jb"), "CN=a\\u{1b}[2Jb");
        assert_eq!(printable("two\nlines"), "two\\nlines");
        assert_eq!(printable("CN=Zoë"), "CN=Zoë");
    }
}
