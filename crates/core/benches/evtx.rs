//! Event-log throughput: records per second through the whole offline pipeline (streamed
//! parse, classification, aggregation, timeline) on the largest shared sample log.
//!
//! `cargo bench -p rdpdoctor-core --bench evtx` (optionally `-- <path.evtx>` for another log).
//! A plain timing loop rather than criterion: the figure wanted is one number, records/s, and
//! it keeps the dev-dependency tree small.

use chrono::Utc;
use rdpdoctor_core::offline::{AnalyzeOptions, analyze_paths};
use std::path::PathBuf;
use std::time::{Duration, Instant};

const DEFAULT: &str = "evtx/velociraptor/RDPAuth_Security.evtx";

fn main() {
    // `cargo bench` passes `--bench`; any other argument is a log to measure.
    let arg = std::env::args().skip(1).find(|a| !a.starts_with("--"));
    let path: PathBuf = match arg {
        Some(p) => PathBuf::from(p),
        None => match rdpdoctor_testkit::shared_file(DEFAULT) {
            Some(p) => p,
            None => return,
        },
    };
    let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);

    // The parser alone, for comparison: what rdpdoctor adds on top is classification,
    // aggregation and the timeline.
    let mut runs = 0u32;
    let mut records = 0u64;
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(3) || runs < 3 {
        let mut p = evtx::EvtxParser::from_path(&path)
            .expect("readable log")
            .with_configuration(
                evtx::ParserSettings::default()
                    .num_threads(1)
                    .separate_json_attributes(true)
                    .indent(false),
            );
        records = p
            .records_json_value()
            .map(|r| std::hint::black_box(r).is_ok() as u64)
            .sum();
        runs += 1;
    }
    let per_run = started.elapsed().as_secs_f64() / f64::from(runs);
    println!(
        "{}: evtx crate alone (records_json_value, 1 thread): {:.1} ms per run, {:.0} records/s",
        path.display(),
        per_run * 1000.0,
        records as f64 / per_run
    );
    for threads in [1usize, 0] {
        let mut opts = AnalyzeOptions::at(Utc::now());
        opts.threads = threads;
        // Warm the page cache and the code.
        let first = analyze_paths(std::slice::from_ref(&path), &opts);
        let records: u64 = first
            .hosts
            .iter()
            .map(|h| h.events_read + h.records_skipped)
            .sum();
        let mut runs = 0u32;
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(3) || runs < 3 {
            let ev = analyze_paths(std::slice::from_ref(&path), &opts);
            std::hint::black_box(&ev);
            runs += 1;
        }
        let per_run = started.elapsed().as_secs_f64() / f64::from(runs);
        println!(
            "{} ({} bytes, {} records), threads={}: {:.1} ms per run over {} runs, {:.0} records/s, {:.1} MB/s",
            path.display(),
            size,
            records,
            if threads == 0 {
                "all".to_string()
            } else {
                threads.to_string()
            },
            per_run * 1000.0,
            runs,
            records as f64 / per_run,
            size as f64 / per_run / 1e6
        );
    }
}
