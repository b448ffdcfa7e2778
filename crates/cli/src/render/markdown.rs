//! The Markdown report: the same content as the text report, for pasting into a ticket.

use std::fmt::Write;

use rdpdoctor_core::diagnose::Finding;
use rdpdoctor_core::evidence::{Report, Verdict};
use rdpdoctor_kb::{FixStep, Shell};

pub fn markdown(r: &Report) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "# rdpdoctor: `{}`", r.target.authority());
    let _ = writeln!(o);
    let verdict = match r.verdict {
        Verdict::Healthy => "**Healthy**: every check passed.".to_string(),
        Verdict::Problems => format!("**Problems found**: {} finding(s).", r.findings.len()),
        Verdict::CouldNotCheck => format!(
            "**Could not check**: {}",
            r.evidence
                .first_failure()
                .map(|e| e.to_string())
                .unwrap_or_else(|| "no evidence".into())
        ),
    };
    let _ = writeln!(o, "{verdict}");
    if let Some(at) = r.diagnosed_at {
        let _ = writeln!(
            o,
            "\nChecked {} (UTC) with rdpdoctor {}.",
            at.format("%Y-%m-%d %H:%M"),
            r.tool.version
        );
    }
    for (i, f) in r.findings.iter().enumerate() {
        let _ = writeln!(o);
        let heading = if i == 0 {
            "## Most likely cause: "
        } else {
            "## "
        };
        finding(&mut o, f, heading);
    }
    if !r.passed.is_empty() {
        let _ = writeln!(o, "\n## Checked and passed\n");
        for p in &r.passed {
            let _ = writeln!(o, "- **{}**: {}", p.check, p.detail);
        }
    }
    if !r.client_checklist.is_empty() {
        let _ = writeln!(o, "\n## Client-side checks, in order\n");
        for (i, c) in r.client_checklist.iter().enumerate() {
            let _ = writeln!(o, "{}. {}", i + 1, c);
        }
    }
    if !r.evidence.notes.is_empty() {
        let _ = writeln!(o, "\n## Notes\n");
        for n in &r.evidence.notes {
            let _ = writeln!(o, "- {n}");
        }
    }
    o
}

fn finding(o: &mut String, f: &Finding, heading: &str) {
    let _ = writeln!(o, "{heading}{}", f.title);
    let _ = writeln!(
        o,
        "\n`{}` · {} · {} confidence\n",
        f.cause,
        f.severity.as_str(),
        f.confidence.as_str()
    );
    let _ = writeln!(o, "{}\n", f.summary);
    if !f.evidence.is_empty() {
        let _ = writeln!(o, "**Evidence**\n");
        for e in &f.evidence {
            let _ = writeln!(o, "- {e}");
        }
        let _ = writeln!(o);
    }
    let _ = writeln!(o, "**Fix:** {}\n", f.fix.summary);
    steps(o, &f.fix.steps);
    if !f.fix.verify.is_empty() {
        let _ = writeln!(o, "**Verify**\n");
        steps(o, &f.fix.verify);
    }
    if let Some(u) = &f.fix.undo {
        let _ = writeln!(o, "**Undo:** {u}\n");
    }
    if !f.related.is_empty() {
        let _ = writeln!(
            o,
            "**Part of the same problem:** {}\n",
            f.related
                .iter()
                .map(|r| format!("{} (`{}`)", r.title, r.cause))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
}

fn steps(o: &mut String, steps: &[FixStep]) {
    for (i, s) in steps.iter().enumerate() {
        let _ = writeln!(o, "{}. {}", i + 1, s.text);
        for c in &s.commands {
            let lang = match c.shell {
                Shell::Powershell | Shell::AzurePowershell => "powershell",
                Shell::Cmd => "bat",
                Shell::AzureCli | Shell::Bash => "sh",
                Shell::Registry | Shell::GroupPolicy | Shell::Gui => "text",
            };
            let _ = writeln!(o, "   ```{lang}\n   {}\n   ```", c.text);
        }
    }
    let _ = writeln!(o);
}
