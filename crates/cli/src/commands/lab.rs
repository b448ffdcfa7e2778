//! `rdpdoctor lab`: the embedded fault lab, for trying rdpdoctor (or any RDP client) against
//! broken servers.

use crate::args::LabArgs;
use crate::exit;
use rdpdoctor_lab::{Hostile, Lab, LabConfig, Scenario};

pub async fn run(args: LabArgs) -> u8 {
    if args.list {
        for s in Scenario::catalog() {
            println!(
                "{:<22} {:<28} {}",
                s.name(),
                s.expected_cause().unwrap_or("(healthy)"),
                s.description()
            );
        }
        for h in Hostile::ALL {
            println!("{:<22} {:<28} {}", h.name(), "(hostile)", h.description());
        }
        return exit::HEALTHY;
    }
    let mut scenarios = Vec::new();
    for name in &args.scenarios {
        match name.parse::<Scenario>() {
            Ok(s) => scenarios.push(s),
            Err(e) => {
                eprintln!("rdpdoctor: {e} (rdpdoctor lab --list shows them)");
                return exit::USAGE;
            }
        }
    }
    if scenarios.is_empty() {
        scenarios = Scenario::catalog();
    }
    if args.hostile {
        scenarios.extend(Hostile::ALL.into_iter().map(Scenario::Hostile));
    }
    let config = LabConfig {
        bind: args.bind,
        base_port: args.port,
        ..LabConfig::default()
    };
    let lab = match Lab::start(&scenarios, config) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("rdpdoctor: the lab could not start: {e}");
            return exit::COULD_NOT_CHECK;
        }
    };
    println!(
        "rdpdoctor lab: {} servers (Ctrl-C stops them)",
        lab.endpoints().len()
    );
    println!(
        "account for NLA scenarios: {} / (password in the lab README)",
        lab.credentials().username
    );
    println!();
    for e in lab.endpoints() {
        println!(
            "  {:<22} {:<24} expect {}",
            e.scenario.name(),
            e.addr,
            e.scenario.expected_cause().unwrap_or("healthy")
        );
    }
    println!(
        "\nTry: rdpdoctor check {}",
        lab.endpoints()
            .first()
            .map(|e| e.addr.to_string())
            .unwrap_or_default()
    );
    let _ = tokio::signal::ctrl_c().await;
    lab.shutdown();
    exit::HEALTHY
}
