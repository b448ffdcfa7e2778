//! Runs a lab until Ctrl-C: `cargo run -p rdpdoctor-lab --example lab [SCENARIO...]`.
//! With no names, the whole catalog. Prints one line per endpoint.

use std::time::Instant;

use rdpdoctor_lab::{Lab, LabConfig, Scenario};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .init();
    let names: Vec<String> = std::env::args().skip(1).collect();
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
