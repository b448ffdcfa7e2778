//! Runs a lab until Ctrl-C: `cargo run -p rdpdoctor-lab --example lab [SCENARIO...]`.
//! With no names, the whole catalog. Prints one line per endpoint.
//! `--list` prints the scenario table (Markdown) instead.

use std::time::Instant;

use rdpdoctor_lab::{Lab, LabConfig, Scenario};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .init();
    let names: Vec<String> = std::env::args().skip(1).collect();
    if names.first().map(String::as_str) == Some("--list") {
        println!("| name | behaviour | expected cause | unauthenticated probe stops at |");
        println!("|---|---|---|---|");
        let mut all = Scenario::catalog();
        all.extend(
            rdpdoctor_lab::Hostile::ALL
                .into_iter()
                .map(Scenario::Hostile),
        );
        for s in all {
            let stop = s
                .expected_failure()
                .map(|f| format!("{} / {}", f.stage, f.kind))
                .unwrap_or_else(|| "-".to_owned());
            println!(
                "| `{s}` | {} | {} | {stop} |",
                s.description(),
                s.expected_cause()
                    .map(|c| format!("`{c}`"))
                    .unwrap_or_else(|| "-".to_owned())
            );
        }
        return Ok(());
    }
    let scenarios: Vec<Scenario> = if names.is_empty() {
        Scenario::catalog()
    } else {
        names.iter().map(|n| n.parse()).collect::<Result<_, _>>()?
    };
    let started = Instant::now();
    let lab = Lab::start(&scenarios, LabConfig::default())?;
    let elapsed = started.elapsed();
    for e in lab.endpoints() {
        println!(
            "{:<22} {:<21} {}",
            e.scenario,
            e.addr,
            e.scenario.expected_cause().unwrap_or("-")
        );
    }
    println!("started {} endpoints in {elapsed:?}", lab.endpoints().len());
    std::thread::park();
    Ok(())
}
