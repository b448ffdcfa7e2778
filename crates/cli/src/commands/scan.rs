//! `rdpdoctor scan TARGET...`: check a fleet; stream results to `--out`; resume after a crash
//! or Ctrl-C; summarise as text, JSON, CSV and an HTML report. `--from` rebuilds the reports
//! from a results file without scanning.
//!
//! The flow: read the inputs and the results file (resume) → survey (validate, cap, count)
//! → engine → for each finished check: results file, CSV, summary, progress → summary and
//! report. Ctrl-C (or SIGTERM) drops the engine's stream, which abandons the checks in flight;
//! everything finished is already on disk.

mod inputs;
mod output;
mod progress;

use chrono::Utc;
use futures::StreamExt;
use std::sync::Arc;
use std::time::Duration;

use crate::args::ScanArgs;
use crate::exit;
use output::Output;
use progress::Progress;
use rdpdoctor_core::probe::path::{PathMode, PathOptions};
use rdpdoctor_core::probe::tls::TrustAnchors;
use rdpdoctor_core::probe::{ProbeOptions, Prober, Timeouts};
use rdpdoctor_core::scan::{
    Engine, FleetSummary, KeySet, Outcome, RateGate, ScanSettings, results,
};

/// Exit code when interrupted (128 + SIGINT, as shells report it).
const INTERRUPTED: u8 = 130;

/// Why the command stops early.
pub enum Fail {
    /// Exit 64: the command line cannot work.
    Usage(String),
    /// Exit 2: something outside the command line failed (I/O).
    Failed(String),
}

pub async fn run(args: ScanArgs) -> u8 {
    match scan(args).await {
        Ok(code) => code,
        Err(Fail::Usage(m)) => {
            eprintln!("rdpdoctor: {m}");
            exit::USAGE
        }
        Err(Fail::Failed(m)) => {
            eprintln!("rdpdoctor: {m}");
            exit::COULD_NOT_CHECK
        }
    }
}

async fn scan(args: ScanArgs) -> Result<u8, Fail> {
    validate(&args)?;
    let summary = FleetSummary::new(Utc::now(), args.list_limit, args.report_rows);
    let mut out = Output::new(summary, args.format);
    if let Some(from) = &args.from {
        return rebuild(from, &args, out);
    }
    let inputs = inputs::plan(&args)?;
    let mut done = KeySet::new();
    if let Some(path) = &args.out {
        let (writer, note) = inputs::results_file(&args, path, &mut done, |r| out.previous(r))?;
        out.set_results(writer);
        if let Some(n) = note {
            eprintln!("rdpdoctor: {n}");
        }
    }
    let survey = inputs
        .plan
        .survey(&done)
        .map_err(|e| Fail::Usage(e.to_string()))?;
    eprintln!(
        "rdpdoctor: {} targets to check ({} listed, {} duplicates, {} excluded, {} already done)",
        survey.to_check, survey.listed, survey.duplicates, survey.excluded, survey.already_done
    );

    let concurrency = args
        .concurrency
        .unwrap_or_else(ScanSettings::default_concurrency);
    let engine = Engine::new(
        prober(&args, concurrency)?,
        ScanSettings {
            concurrency,
            per_host: args.per_host,
            expiry_warning_days: args.expiry_warning_days,
        },
    );
    let mut progress = Progress::new(args.progress, survey.to_check);
    let mut checks = Box::pin(engine.run(inputs.plan.targets(done)));
    let mut stop = Box::pin(interrupted());
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let mut was_interrupted = false;
    loop {
        tokio::select! {
            biased;
            _ = &mut stop => {
                was_interrupted = true;
                break;
            }
            next = checks.next() => match next {
                Some(report) => {
                    if let Err(e) = out.record(&report) {
                        progress.finish();
                        return Err(e);
                    }
                    progress.record(Outcome::of(&report));
                }
                None => break,
            },
            _ = tick.tick() => progress.tick(),
        }
    }
    // Abandon whatever is still running: sockets close now, the targets stay undone.
    drop(checks);
    progress.finish();
    let code = out.summary.exit_code();
    out.finish(args.report.as_deref())?;
    if was_interrupted {
        eprintln!("{}", resume_hint(&args));
        return Ok(INTERRUPTED);
    }
    Ok(code)
}

/// `--from`: the summary, CSV and report of an earlier scan, streaming its results file.
fn rebuild(from: &std::path::Path, args: &ScanArgs, mut out: Output) -> Result<u8, Fail> {
    let outcome =
        results::read(from, |r| out.previous(&r)).map_err(|e| Fail::Usage(e.to_string()))?;
    if let results::Tail::Partial { bytes, .. } = outcome.tail {
        eprintln!(
            "rdpdoctor: {}: ignored a partial last line ({bytes} bytes) left by an interrupted scan",
            from.display()
        );
    }
    let code = out.summary.exit_code();
    out.finish(args.report.as_deref())?;
    Ok(code)
}

fn validate(a: &ScanArgs) -> Result<(), Fail> {
    let usage = |m: &str| Err(Fail::Usage(m.to_string()));
    if !(a.timeout.is_finite() && a.timeout > 0.0 && a.timeout <= 600.0) {
        return usage("--timeout must be between 0 and 600 seconds");
    }
    if !(a.rate.is_finite() && a.rate >= 0.0) {
        return usage("--rate must be a number of connections per second (0 for no limit)");
    }
    if a.concurrency == Some(0) {
        return usage("--concurrency must be at least 1");
    }
    if a.per_host == 0 {
        return usage("--per-host must be at least 1");
    }
    if a.port == 0 {
        return usage("--port must be from 1 to 65535");
    }
    if a.from.is_none() && a.targets.is_empty() {
        return usage(
            "no targets: give hosts, HOST:PORT, CIDR ranges, files of targets, .rdp files, or - for standard input (or --from RESULTS.jsonl)",
        );
    }
    Ok(())
}

fn prober(args: &ScanArgs, concurrency: usize) -> Result<Prober, Fail> {
    let trust = match &args.ca_file {
        Some(p) => TrustAnchors::from_file(p).map_err(|e| Fail::Usage(format!("--ca-file {e}")))?,
        None => TrustAnchors::platform(),
    };
    // A tenth of a second's worth of connections may go at once after a pause (never more
    // than the checks that could want them).
    let connect_gate = (args.rate > 0.0).then(|| {
        let burst = ((args.rate / 10.0) as u32).clamp(1, concurrency.max(1) as u32);
        Arc::new(RateGate::new(args.rate, burst))
            as Arc<dyn rdpdoctor_core::probe::gate::ConnectGate>
    });
    Ok(Prober::new(
        ProbeOptions {
            timeouts: Timeouts::uniform(Duration::from_secs_f64(args.timeout)),
            cookie: args.cookie.clone(),
            extended_negotiation: false,
            connect_gate,
            // No path measurement in a scan: a hundred handshakes per host that timed out in
            // TLS would swamp --rate. Check such a host on its own with `check --path`.
            path: PathOptions {
                mode: PathMode::Off,
                ..PathOptions::default()
            },
            // A scan never logs on: credentials are for one server the user names (`check`).
            auth: None,
            deep: args.deep.options(),
        },
        trust,
    ))
}

/// Ctrl-C, or SIGTERM on Unix (a service manager or `timeout` stopping the scan).
async fn interrupted() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

/// How to pick up where this run stopped.
fn resume_hint(args: &ScanArgs) -> String {
    if args.out.is_none() {
        return "rdpdoctor: interrupted; the results above cover the finished checks only. Add --out FILE to make a scan resumable.".into();
    }
    let mut words: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--overwrite")
        .collect();
    if !words.iter().any(|a| a == "--resume") {
        words.push("--resume".into());
    }
    let stdin = if args.targets.iter().any(|t| t == "-") {
        " (feed it the same list on standard input)"
    } else {
        ""
    };
    format!(
        "rdpdoctor: interrupted; finished results are in {}. Resume with{stdin}:\n  rdpdoctor {}",
        args.out
            .as_deref()
            .map(|p| p.display().to_string())
            .unwrap_or_default(),
        words
            .iter()
            .map(|w| shell_quote(w))
            .collect::<Vec<_>>()
            .join(" ")
    )
}

/// Quote a word for a POSIX shell when it needs it.
fn shell_quote(w: &str) -> String {
    if !w.is_empty()
        && w.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=,@%+[]".contains(c))
    {
        w.to_string()
    } else {
        format!("'{}'", w.replace('\'', "'\\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_quoting() {
        assert_eq!(shell_quote("10.0.0.0/24"), "10.0.0.0/24");
        assert_eq!(shell_quote("my servers.txt"), "'my servers.txt'");
        assert_eq!(shell_quote("it's"), "'it'\\''s'");
        assert_eq!(shell_quote(""), "''");
    }
}
