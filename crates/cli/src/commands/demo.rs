//! `rdpdoctor demo`: start every lab scenario, check each one like a real server, print what
//! rdpdoctor found next to what the scenario breaks, then stop. The README's first command: it
//! shows the tool working on a machine with nothing else installed.

use chrono::Utc;
use futures::future::join_all;
use std::time::{Duration, Instant};

use crate::args::DemoArgs;
use crate::exit;
use crate::render::style::Style;
use rdpdoctor_core::Target;
use rdpdoctor_core::diagnose::{DiagnoseOptions, diagnose};
use rdpdoctor_core::evidence::{Report, Verdict};
use rdpdoctor_core::probe::auth::{AuthOptions, Password};
use rdpdoctor_core::probe::tls::TrustAnchors;
use rdpdoctor_core::probe::{ProbeOptions, Prober, Timeouts};
use rdpdoctor_lab::{Lab, LabConfig, Scenario};

/// One scenario's outcome.
struct Row {
    scenario: Scenario,
    report: Report,
}

impl Row {
    /// The cause rdpdoctor leads with (`None` for a healthy verdict).
    fn found(&self) -> Option<&str> {
        self.report
            .findings
            .iter()
            .find(|f| f.severity != rdpdoctor_kb::Severity::Info)
            .or(self.report.findings.first())
            .map(|f| f.cause.as_str())
    }

    /// Whether the diagnosis names what the scenario breaks: its cause among the blockers and
    /// risks (or the info findings when that is all the scenario does), or a healthy verdict
    /// for a healthy scenario.
    fn as_intended(&self) -> bool {
        match self.scenario.expected_cause() {
            None => {
                self.report.verdict == Verdict::Healthy
                    || self
                        .report
                        .findings
                        .iter()
                        .all(|f| f.severity == rdpdoctor_kb::Severity::Info)
            }
            Some(cause) => self
                .report
                .findings
                .iter()
                .any(|f| f.cause == cause || f.related.iter().any(|r| r.cause == cause)),
        }
    }
}

/// Scenarios whose cause only an authenticated check can see (the server refuses after the
/// logon).
fn needs_login(s: &Scenario) -> bool {
    matches!(
        s,
        Scenario::DenyLogin { .. }
            | Scenario::LogonError { .. }
            | Scenario::LicensingError { .. }
            | Scenario::Redirect { .. }
            | Scenario::EarlyAuthDenied
    )
}

pub async fn run(args: DemoArgs) -> u8 {
    let started = Instant::now();
    if !(args.timeout.is_finite() && args.timeout > 0.0 && args.timeout <= 60.0) {
        eprintln!("rdpdoctor: --timeout must be between 0 and 60 seconds");
        return exit::USAGE;
    }
    let lab = match Lab::start(&Scenario::catalog(), LabConfig::default()) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("rdpdoctor: the lab could not start: {e}");
            return exit::COULD_NOT_CHECK;
        }
    };
    // The lab's certificates come from its own CA: trust it, as an enterprise would trust its CA.
    let trust = match TrustAnchors::from_bytes(lab.ca_certificate_pem().as_bytes(), "lab CA") {
        Ok(t) => t,
        Err(e) => {
            eprintln!("rdpdoctor: {e}");
            return exit::COULD_NOT_CHECK;
        }
    };
    let timeout = Duration::from_secs_f64(args.timeout);
    let options = ProbeOptions {
        timeouts: Timeouts::uniform(timeout),
        ..ProbeOptions::default()
    };
    let prober = Prober::new(options.clone(), trust.clone());
    // Servers that refuse after the logon are checked with the lab's own test account, as an
    // admin runs `check HOST --user`; the certificate is trusted (lab CA), so the credentials
    // go only to a verified server.
    let account = lab.credentials().clone();
    let login = ProbeOptions {
        auth: Some(AuthOptions {
            user: account.username.clone(),
            domain: account.domain.clone(),
            password: Password::new(account.password.clone()),
            auth_only: false,
            trust_server_cert: false,
            cert_sha256: None,
            timeout,
        }),
        ..options
    };
    let login_prober = Prober::new(login, trust);
    let now = Utc::now();
    let checks = lab.endpoints().iter().map(|e| {
        let prober = if needs_login(&e.scenario) {
            login_prober.clone()
        } else {
            prober.clone()
        };
        let endpoint = e.clone();
        async move {
            let target =
                Target::parse(&endpoint.addr.to_string()).expect("a socket address is a target");
            let mut report = prober.check(&target).await;
            let d = diagnose(&report.target, &report.evidence, &DiagnoseOptions::at(now));
            report.set_diagnosis(d, now);
            Row {
                scenario: endpoint.scenario,
                report,
            }
        }
    });
    let rows: Vec<Row> = join_all(checks).await;
    lab.shutdown();
    let elapsed = started.elapsed();
    if args.json {
        for r in &rows {
            println!("{}", serde_json::to_string(&r.report).unwrap_or_default());
        }
    } else {
        crate::render::write_stdout(&table(&rows, elapsed, Style::ansi()));
    }
    if rows.iter().all(Row::as_intended) {
        exit::HEALTHY
    } else {
        exit::PROBLEMS
    }
}

fn table(rows: &[Row], elapsed: Duration, st: Style) -> String {
    use std::fmt::Write;
    let mut o = String::new();
    let _ = writeln!(
        o,
        "{}",
        st.bold(&format!(
            "rdpdoctor demo: {} lab servers on 127.0.0.1, each checked like a real server",
            rows.len()
        ))
    );
    let _ = writeln!(o, "{}", st.dim("(servers that refuse after the logon are checked with the lab's test account, as `check --user` does)"));
    let _ = writeln!(o);
    let _ = writeln!(
        o,
        "  {} {} {}",
        st.bold(&format!("{:<20}", "scenario")),
        st.bold(&format!("{:<28}", "rdpdoctor found")),
        st.bold("fix (first line)")
    );
    for r in rows {
        let mark = if r.as_intended() {
            st.green("✔")
        } else {
            st.red("✘")
        };
        let found = r.found().unwrap_or("healthy");
        let fix = r
            .report
            .findings
            .iter()
            .find(|f| Some(f.cause.as_str()) == r.found())
            .map(|f| f.fix.summary.clone())
            .unwrap_or_else(|| "-".into());
        let _ = writeln!(
            o,
            "{mark} {:<20} {:<28} {}",
            r.scenario.name(),
            found,
            shorten(&fix, 90)
        );
    }
    let good = rows.iter().filter(|r| r.as_intended()).count();
    let _ = writeln!(o);
    let summary = format!(
        "{good}/{} diagnosed as intended in {:.1} s",
        rows.len(),
        elapsed.as_secs_f64()
    );
    let _ = writeln!(
        o,
        "{}",
        if good == rows.len() {
            st.green(&summary)
        } else {
            st.red(&summary)
        }
    );
    let _ = writeln!(
        o,
        "Details: rdpdoctor lab (keeps the servers running), then rdpdoctor check ADDRESS"
    );
    o
}

fn shorten(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let cut: String = s.chars().take(max - 1).collect();
    format!("{cut}…")
}
