//! `rdpdoctor demo`: the README's first command. Every lab scenario must be diagnosed as the
//! cause it was built to show, with nothing but the binary.

mod common;
use common::*;

#[test]
fn demo_diagnoses_every_scenario_as_intended() {
    let run = rdpdoctor(&["demo"]);
    assert_eq!(
        run.code, 0,
        "stdout:\n{}\nstderr:\n{}",
        run.stdout, run.stderr
    );
    let summary = run
        .stdout
        .lines()
        .find(|l| l.contains("diagnosed as intended"))
        .expect("a summary line");
    let (good, total) = summary
        .split_whitespace()
        .next()
        .and_then(|f| f.split_once('/'))
        .expect("N/M");
    assert_eq!(good, total, "{summary}");
    assert!(total.parse::<usize>().unwrap() >= 20, "{summary}");
    assert!(
        !run.stdout.contains('\u{1b}'),
        "no colour codes when stdout is not a terminal"
    );
    assert!(!run.stdout.contains('✘'));
}

#[test]
fn demo_json_is_one_check_document_per_scenario() {
    let run = rdpdoctor(&["demo", "--json"]);
    let docs: Vec<serde_json::Value> = run
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect();
    assert!(docs.len() >= 20);
    for d in &docs {
        assert_eq!(d["schema_version"], 1);
        assert!(d["target"]["port"].as_u64().is_some());
    }
    assert!(docs.iter().any(|d| {
        d["findings"]
            .as_array()
            .is_some_and(|f| f.iter().any(|f| f["cause"] == "cert-expired"))
    }));
}
