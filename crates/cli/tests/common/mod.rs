//! Helpers for tests that run the `rdpdoctor` binary.
#![allow(dead_code)]

use serde_json::Value;
use std::time::{Duration, Instant};

/// The result of one `rdpdoctor` run.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
}

impl Run {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}):\n{}\nstderr:\n{}",
                self.stdout, self.stderr
            )
        })
    }
}

pub fn rdpdoctor(args: &[&str]) -> Run {
    rdpdoctor_env(args, &[])
}

pub fn rdpdoctor_env(args: &[&str], env: &[(&str, &str)]) -> Run {
    let started = Instant::now();
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_rdpdoctor"));
    cmd.args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run rdpdoctor");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        elapsed: started.elapsed(),
    }
}

/// `check TARGET --format json` plus extra arguments.
pub fn check_json(target: &str, extra: &[&str]) -> (Run, Value) {
    let mut args = vec!["check", target, "--format", "json"];
    args.extend_from_slice(extra);
    let run = rdpdoctor(&args);
    let v = run.json();
    (run, v)
}

/// Cause ids of the findings, in report order.
pub fn causes(report: &Value) -> Vec<String> {
    report["findings"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|f| f["cause"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// The finding for a cause, panicking with the whole report when it is absent.
pub fn finding<'a>(report: &'a Value, cause: &str) -> &'a Value {
    report["findings"]
        .as_array()
        .and_then(|a| a.iter().find(|f| f["cause"] == cause))
        .unwrap_or_else(|| {
            panic!(
                "no finding {cause} in {}",
                serde_json::to_string_pretty(&report["findings"]).unwrap_or_default()
            )
        })
}

pub fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}
