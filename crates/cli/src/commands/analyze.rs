//! `rdpdoctor analyze PATH...`: diagnose from files alone (server event logs, registry,
//! certificates; client .rdp files). One report per computer found in the files.

use chrono::Utc;

use crate::args::{AnalyzeArgs, Format};
use crate::exit;
use crate::render;
use rdpdoctor_core::Target;
use rdpdoctor_core::diagnose::{DiagnoseOptions, diagnose};
use rdpdoctor_core::evidence::{HostEvidence, Report, Verdict};
use rdpdoctor_core::offline::{self, AnalyzeOptions, OfflineEvidence, TimelineView};

pub async fn run(args: AnalyzeArgs) -> u8 {
    let now = Utc::now();
    let mut options = AnalyzeOptions::at(now);
    options.since = args.since;
    options.until = args.until;
    let paths = args.paths.clone();
    // Reading gigabytes of logs is blocking work; keep it off the async workers.
    let offline =
        match tokio::task::spawn_blocking(move || offline::analyze_paths(&paths, &options)).await {
            Ok(o) => o,
            Err(e) => {
                eprintln!("rdpdoctor: reading the evidence failed: {e}");
                return exit::COULD_NOT_CHECK;
            }
        };
    for w in &offline.warnings {
        eprintln!("rdpdoctor: warning: {w}");
    }
    let hosts: Vec<&HostEvidence> = match &args.host {
        Some(name) => match offline.host_for(name) {
            Some(h) => vec![h],
            None => {
                let names: Vec<String> = offline
                    .hosts
                    .iter()
                    .filter_map(|h| h.name.clone())
                    .collect();
                eprintln!(
                    "rdpdoctor: no computer named {name} in the evidence (it holds: {})",
                    names.join(", ")
                );
                return exit::USAGE;
            }
        },
        None => offline.hosts.iter().collect(),
    };
    let mut reports = Vec::new();
    if hosts.is_empty() {
        if offline.client_evidence().is_none() {
            eprintln!(
                "rdpdoctor: nothing usable in the given paths (event logs, .reg, hives, certificates, .rdp files)"
            );
            return exit::COULD_NOT_CHECK;
        }
        reports.push(report_for(&offline, None, &args, now));
    } else {
        for h in hosts {
            reports.push(report_for(&offline, Some(h), &args, now));
        }
    }
    print(&reports, &args);
    reports
        .iter()
        .map(|r| r.verdict)
        .max_by_key(|v| severity(*v))
        .map(|v| v.exit_code() as u8)
        .unwrap_or(exit::COULD_NOT_CHECK)
}

fn severity(v: Verdict) -> u8 {
    match v {
        Verdict::Healthy => 0,
        Verdict::CouldNotCheck => 1,
        Verdict::Problems => 2,
    }
}

fn report_for(
    offline: &OfflineEvidence,
    host: Option<&HostEvidence>,
    args: &AnalyzeArgs,
    now: chrono::DateTime<Utc>,
) -> Report {
    let name = host.and_then(|h| h.name.clone());
    let input = args
        .paths
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(" ");
    let mut target = name
        .as_deref()
        .and_then(|n| Target::parse(n).ok())
        .unwrap_or_else(|| Target {
            input: String::new(),
            host: "offline-evidence".into(),
            port: rdpdoctor_core::target::DEFAULT_PORT,
            expected_name: None,
        });
    target.input = input;
    let evidence = offline.to_evidence(host, now);
    let mut report = Report::new(target, evidence, 0.0);
    let mut dopts = DiagnoseOptions::at(now);
    dopts.expiry_warning_days = args.output.expiry_warning_days;
    let d = diagnose(&report.target, &report.evidence, &dopts);
    report.set_diagnosis(d, now);
    report
}

fn print(reports: &[Report], args: &AnalyzeArgs) {
    match args.output.format {
        Format::Json if reports.len() == 1 => render::print(&reports[0], Format::Json),
        // Several computers: one document per line, the same shape as `scan --out`.
        Format::Json => {
            for r in reports {
                println!("{}", serde_json::to_string(r).unwrap_or_default());
            }
        }
        format => {
            for r in reports {
                render::print(r, format);
                if let Some(host) = &r.evidence.host {
                    let view = TimelineView {
                        around: args
                            .around
                            .map(|t| (t, chrono::Duration::minutes(args.window))),
                        problems_only: args.problems_only,
                        max_lines: args.timeline_lines,
                    };
                    let timeline = offline::render_timeline(&host.timeline, &view);
                    if !timeline.trim().is_empty() {
                        let heading = match args.around {
                            Some(t) => format!(
                                "Timeline around {} (±{} min)",
                                t.format("%Y-%m-%d %H:%M:%S UTC"),
                                args.window
                            ),
                            None => "Timeline".to_string(),
                        };
                        if format == Format::Markdown {
                            render::write_stdout(&format!(
                                "\n## {heading}\n\n```text\n{timeline}```\n"
                            ));
                        } else {
                            render::write_stdout(&format!("\n{heading}\n{timeline}"));
                        }
                    }
                }
            }
        }
    }
}
