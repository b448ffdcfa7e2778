//! The text report: the answer first (most likely cause, how sure, the evidence, the fix with
//! exact commands), then the other findings, then what was checked and passed.

use std::fmt::Write;

use super::style::Style;
use rdpdoctor_core::diagnose::Finding;
use rdpdoctor_core::evidence::{AuthAttempt, Report, Stage, Verdict};
use rdpdoctor_kb::{FixStep, Severity, Shell};

pub fn text(r: &Report, st: Style) -> String {
    let mut o = String::new();
    let (command, subject) = if r.evidence.has_live_probe() {
        ("rdpdoctor check", r.target.authority())
    } else {
        (
            "rdpdoctor analyze",
            r.evidence
                .host
                .as_ref()
                .and_then(|h| h.name.clone())
                .unwrap_or_else(|| r.target.host.clone()),
        )
    };
    let _ = writeln!(o, "{} {}", st.bold(command), st.bold(&subject));
    let _ = writeln!(o, "{}", verdict_line(r, st));
    let _ = writeln!(o);
    // Blockers and risks in full, the answer first; info findings in a short list after them.
    let (problems, notes): (Vec<&Finding>, Vec<&Finding>) = r
        .findings
        .iter()
        .partition(|f| f.severity != Severity::Info);
    if let Some((first, rest)) = problems.split_first() {
        let label = if first.severity == Severity::Blocker {
            "Most likely cause"
        } else {
            "Main finding"
        };
        let _ = writeln!(o, "{}", st.bold(label));
        finding(&mut o, first, st, true);
        if !rest.is_empty() {
            let _ = writeln!(o, "{}", st.bold("Other findings"));
            for f in rest {
                finding(&mut o, f, st, false);
            }
        }
    }
    if !notes.is_empty() {
        let _ = writeln!(o, "{}", st.bold("Good to know"));
        for f in notes {
            let _ = writeln!(
                o,
                "  {} {}  {}",
                st.cyan("i"),
                f.title,
                st.dim(&format!("[{}]", f.cause))
            );
            let _ = writeln!(o, "    {}", f.summary);
            let _ = writeln!(o, "    {} {}", st.dim("If it matters:"), f.fix.summary);
        }
        let _ = writeln!(o);
    }
    if !r.passed.is_empty() {
        let _ = writeln!(o, "{}", st.bold("Checked and passed"));
        for p in &r.passed {
            let _ = writeln!(o, "  {} {:<12} {}", st.green("✔"), p.check, p.detail);
        }
        let _ = writeln!(o);
    }
    if !r.client_checklist.is_empty() {
        let _ = writeln!(
            o,
            "{}",
            st.bold("Every server-side check passed. Check the client side, in this order:")
        );
        for (i, c) in r.client_checklist.iter().enumerate() {
            let _ = writeln!(o, "  {}. {c}", i + 1);
        }
        let _ = writeln!(o);
    }
    deep_tls(&mut o, r, st);
    auth(&mut o, r, st);
    let path = super::path::lines(r);
    if !path.is_empty() {
        let _ = writeln!(o, "{}", st.bold("Network path"));
        for (label, text) in path {
            let _ = writeln!(o, "  {} {text}", st.dim(&format!("{label:<9}")));
        }
        let _ = writeln!(o);
    }
    stages(&mut o, r, st);
    for n in &r.evidence.notes {
        let _ = writeln!(o, "{} {n}", st.dim("note:"));
    }
    o
}

fn verdict_line(r: &Report, st: Style) -> String {
    let count = |s: Severity| r.findings.iter().filter(|f| f.severity == s).count();
    let (b, k) = (count(Severity::Blocker), count(Severity::Risk));
    match r.verdict {
        Verdict::Healthy if !r.evidence.has_live_probe() => {
            st.green("HEALTHY: nothing in the evidence points to a problem")
        }
        Verdict::Healthy => st.green("HEALTHY: every check passed"),
        Verdict::Problems => st.red(&format!(
            "PROBLEMS FOUND: {b} blocker{}, {k} risk{}",
            if b == 1 { "" } else { "s" },
            if k == 1 { "" } else { "s" }
        )),
        Verdict::CouldNotCheck => {
            let why = r
                .evidence
                .first_failure()
                .map(|e| e.to_string())
                .unwrap_or_else(|| "no evidence".into());
            st.yellow(&format!("COULD NOT CHECK: {why}"))
        }
    }
}

fn badge(f: &Finding, st: Style) -> String {
    let sev = match f.severity {
        Severity::Blocker => st.red("blocker"),
        Severity::Risk => st.yellow("risk"),
        Severity::Info => st.cyan("info"),
    };
    format!(
        "[{sev} · {} confidence · {}]",
        f.confidence.as_str(),
        f.cause
    )
}

fn finding(o: &mut String, f: &Finding, st: Style, full: bool) {
    let _ = writeln!(o, "  {}  {}", st.bold(&f.title), badge(f, st));
    let _ = writeln!(o, "  {}", f.summary);
    if !f.evidence.is_empty() {
        let _ = writeln!(o, "  {}", st.dim("Evidence:"));
        for e in &f.evidence {
            let _ = writeln!(o, "    - {e}");
        }
    }
    let _ = writeln!(o, "  {} {}", st.bold("Fix:"), f.fix.summary);
    steps(o, &f.fix.steps, st);
    if full {
        if !f.fix.verify.is_empty() {
            let _ = writeln!(o, "  {}", st.bold("Verify:"));
            steps(o, &f.fix.verify, st);
        }
        if let Some(u) = &f.fix.undo {
            let _ = writeln!(o, "  {} {u}", st.bold("Undo:"));
        }
    }
    if !f.related.is_empty() {
        let _ = writeln!(o, "  {}", st.dim("Part of the same problem:"));
        for r in &f.related {
            let _ = writeln!(o, "    - {} ({}): {}", r.title, r.cause, r.summary);
        }
    }
    let _ = writeln!(o);
}

fn steps(o: &mut String, steps: &[FixStep], st: Style) {
    for (i, s) in steps.iter().enumerate() {
        let _ = writeln!(o, "    {}. {}", i + 1, s.text);
        for c in &s.commands {
            let _ = writeln!(
                o,
                "         {}{}",
                st.dim(prompt(c.shell)),
                st.cyan(&c.text)
            );
        }
    }
}

/// How a command is introduced, so the admin knows where to type it.
pub fn prompt(shell: Shell) -> &'static str {
    match shell {
        Shell::Powershell | Shell::AzurePowershell => "PS> ",
        Shell::Cmd => "C:\\> ",
        Shell::Registry => "Registry: ",
        Shell::GroupPolicy => "Group Policy: ",
        Shell::Gui => "",
        Shell::AzureCli | Shell::Bash => "$ ",
    }
}

/// The `--deep` TLS enumeration, compact: one line per version, the groups, what each client
/// profile would negotiate, and the enumeration's notes.
fn deep_tls(o: &mut String, r: &Report, st: Style) {
    let Some(e) = r
        .evidence
        .tls
        .observed()
        .and_then(|t| t.enumeration.as_ref())
    else {
        return;
    };
    let _ = writeln!(
        o,
        "{} {}",
        st.bold("TLS versions and cipher suites"),
        st.dim(&format!(
            "({} connections, {:.0} ms)",
            e.connections, e.elapsed_ms
        ))
    );
    for (version, suites) in e.versions.iter().rev() {
        let line = if suites.is_empty() {
            st.dim("refused")
        } else {
            let order = match e.server_preference.get(version) {
                Some(true) => " (the server's preference order)",
                Some(false) => " (no server preference: the client's order wins; strongest first)",
                None => "",
            };
            format!("{}{}", suites.join(", "), st.dim(order))
        };
        let partial = if e.incomplete.contains(version) {
            st.yellow(" (incomplete)")
        } else {
            String::new()
        };
        let _ = writeln!(o, "  {version:<9} {line}{partial}");
    }
    if e.ssl3_accepted {
        let _ = writeln!(o, "  {:<9} {}", "SSLv3", st.red("accepted"));
    }
    for (version, groups) in e.groups.iter().rev() {
        let _ = writeln!(o, "  {:<9} {version}: {}", "groups", groups.join(", "));
    }
    for c in &e.clients {
        let outcome = match (&c.failure, &c.version, &c.cipher_suite) {
            (Some(f), _, _) => st.red(&format!("fails: {f}")),
            (None, Some(v), Some(s)) => st.green(&format!("{v} {s}")),
            _ => st.dim("unknown"),
        };
        let _ = writeln!(o, "  {} {} → {outcome}", st.dim("client"), c.client);
    }
    for (version, sha) in &e.certificate_by_version {
        let _ = writeln!(o, "  {} {version}: {sha}", st.dim("certificate"));
    }
    for n in &e.notes {
        let _ = writeln!(o, "  {} {n}", st.dim("note:"));
    }
    let _ = writeln!(o);
}

fn stages(o: &mut String, r: &Report, st: Style) {
    let ev = &r.evidence;
    if !ev.has_live_probe() {
        if let Some(h) = &ev.host {
            let _ = writeln!(
                o,
                "{} {} files, {} events read, {} damaged records skipped",
                st.dim("Evidence:"),
                h.files.len(),
                h.events_read,
                h.records_skipped
            );
        }
        return;
    }
    let mut parts = Vec::new();
    let mut add = |name: &str, status: String| parts.push(format!("{name} {status}"));
    add("dns", stage_status(&ev.dns, st));
    add("tcp", stage_status(&ev.tcp, st));
    add("negotiation", stage_status(&ev.negotiation, st));
    add("tls", stage_status(&ev.tls, st));
    add("credssp", stage_status(&ev.credssp, st));
    if !ev.auth.is_skipped() {
        add("auth", stage_status(&ev.auth, st));
    }
    if !ev.quality.is_skipped() {
        add("path", stage_status(&ev.quality, st));
    }
    let _ = writeln!(
        o,
        "{} {}  ({:.0} ms)",
        st.dim("Stages:"),
        parts.join(" · "),
        r.duration_ms
    );
}

fn stage_status<T>(s: &Stage<T>, st: Style) -> String {
    match s {
        Stage::Ok { elapsed_ms, .. } => st.green(&format!("ok {elapsed_ms:.1} ms")),
        Stage::Failed { error, .. } => st.red(&format!("failed ({})", error.kind)),
        Stage::Skipped { .. } => st.dim("skipped"),
    }
}

/// The authenticated check in a few lines: how it ended, how far it got, what the server said.
fn auth(o: &mut String, r: &Report, st: Style) {
    let (a, error) = match &r.evidence.auth {
        Stage::Ok { value, .. } => (value, None),
        Stage::Failed {
            error,
            partial: Some(value),
        } => (value, Some(error)),
        _ => return,
    };
    let _ = writeln!(
        o,
        "{}",
        st.bold(&format!(
            "Authenticated check ({})",
            a.user.as_deref().unwrap_or("?")
        ))
    );
    let outcome = match error {
        Some(e) => st.red(&format!("{}: {}", a.outcome.as_str(), e.message)),
        None => st.green(a.outcome.as_str()),
    };
    let _ = writeln!(o, "  {:<10} {outcome}", "outcome");
    let reached = match (&a.stage_reached, &a.stopped_in) {
        (Some(r), Some(s)) => format!("{r} (stopped in {s})"),
        (Some(r), None) => r.clone(),
        (None, Some(s)) => format!("nothing (stopped in {s})"),
        (None, None) => "nothing".into(),
    };
    let _ = writeln!(o, "  {:<10} {reached}", "reached");
    for (label, line) in auth_facts(a) {
        let _ = writeln!(o, "  {label:<10} {line}");
    }
    for c in &a.caveats {
        let _ = writeln!(o, "  {} {c}", st.yellow("caveat"));
    }
    let _ = writeln!(o);
}

/// The facts worth a line each, only those that are known.
fn auth_facts(a: &AuthAttempt) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    let mut channel = Vec::new();
    if let Some(p) = a.protocol {
        channel.push(p.as_str().to_string());
    }
    if let Some(t) = &a.tls {
        let version = t.version.as_deref().unwrap_or("TLS");
        channel.push(format!("{version} via {}", t.backend.as_str()));
        if let Some(why) = &t.fallback_reason {
            channel.push(format!("fallback after {why}"));
        }
    }
    if let Some(c) = &a.certificate {
        channel.push(match &c.accepted_by {
            Some(by) => format!("certificate accepted ({by})"),
            None => "certificate NOT accepted: credentials withheld".into(),
        });
    }
    if !channel.is_empty() {
        out.push(("channel", channel.join(" · ")));
    }
    let mut logon = Vec::new();
    if let Some(v) = a.credssp_version {
        logon.push(format!("CredSSP version {v}"));
    }
    if let Some(nt) = &a.ntstatus {
        logon.push(format!(
            "NTSTATUS {nt} {}",
            a.ntstatus_name.as_deref().unwrap_or("")
        ));
    }
    if let Some(sec) = &a.sec_status {
        logon.push(format!(
            "SSPI {sec} {}",
            a.sec_status_name.as_deref().unwrap_or("")
        ));
    }
    if let Some(e) = &a.early_user_authorization {
        logon.push(format!("Early User Authorization {}", e.name));
    }
    logon.push(format!(
        "credentials {}",
        if a.credentials_sent {
            "sent"
        } else {
            "not sent"
        }
    ));
    out.push(("logon", logon.join(" · ")));
    if let Some(code) = a.error_info {
        out.push((
            "errinfo",
            format!(
                "0x{code:X} {}",
                a.error_info_name.as_deref().unwrap_or("(unknown code)")
            ),
        ));
    }
    if let Some(l) = &a.license_error {
        out.push(("licensing", format!("{} (0x{:X})", l.name, l.code)));
    }
    if let Some(rd) = &a.redirection {
        out.push((
            "redirect",
            format!(
                "to {}{}",
                rd.target.as_deref().unwrap_or("?"),
                rd.load_balance_info
                    .as_deref()
                    .map(|l| format!(" (routing token {l})"))
                    .unwrap_or_default()
            ),
        ));
    }
    if let Some(d) = &a.disconnect_reason {
        out.push(("disconnect", d.clone()));
    }
    if !a.stages.is_empty() {
        let t: Vec<String> = a
            .stages
            .iter()
            .map(|s| {
                let precision = if s.elapsed_ms < 10.0 { 1 } else { 0 };
                format!("{} {:.*} ms", s.stage.as_str(), precision, s.elapsed_ms)
            })
            .collect();
        out.push(("timing", t.join(" · ")));
    }
    out
}
