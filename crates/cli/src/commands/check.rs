//! `rdpdoctor check HOST`: probe, diagnose, render.

use chrono::Utc;
use std::time::Duration;

use crate::args::CheckArgs;
use crate::exit;
use crate::render;
use rdpdoctor_core::Target;
use rdpdoctor_core::diagnose::{DiagnoseOptions, diagnose};
use rdpdoctor_core::probe::tls::TrustAnchors;
use rdpdoctor_core::probe::tls_enum::DeepOptions;
use rdpdoctor_core::probe::{ProbeOptions, Prober, Timeouts};

pub async fn run(args: CheckArgs) -> u8 {
    let target = match Target::parse(&args.target) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("rdpdoctor: {e}");
            return exit::USAGE;
        }
    };
    if !(args.timeout.is_finite() && args.timeout > 0.0 && args.timeout <= 600.0) {
        eprintln!("rdpdoctor: --timeout must be between 0 and 600 seconds");
        return exit::USAGE;
    }
    let trust = match &args.ca_file {
        Some(p) => match TrustAnchors::from_file(p) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("rdpdoctor: --ca-file {e}");
                return exit::USAGE;
            }
        },
        None => TrustAnchors::platform(),
    };
    let options = ProbeOptions {
        timeouts: Timeouts::uniform(Duration::from_secs_f64(args.timeout)),
        cookie: args.cookie.clone(),
        extended_negotiation: false,
        deep: args.deep.then(|| {
            DeepOptions::new(
                usize::from(args.max_parallel),
                Duration::from_millis(args.delay_ms),
            )
        }),
    };
    let prober = Prober::new(options, trust);
    let mut report = prober.check(&target).await;
    let now = Utc::now();
    let mut dopts = DiagnoseOptions::at(now);
    dopts.expiry_warning_days = args.output.expiry_warning_days;
    let diagnosis = diagnose(&report.target, &report.evidence, &dopts);
    report.set_diagnosis(diagnosis, now);
    if let Some(path) = &args.save
        && let Err(e) = render::save(&report, path)
    {
        eprintln!(
            "rdpdoctor: could not save the evidence to {}: {e}",
            path.display()
        );
    }
    render::print(&report, args.output.format);
    report.verdict.exit_code() as u8
}
