//! One full `rdpdoctor check` against a local xrdp and a local FreeRDP NLA server, side by side
//! with nmap's `rdp-enum-encryption` + `rdp-ntlm-info` on the same servers, in one run.
//!
//! `cargo bench -p rdpdoctor --bench check_vs_nmap` (needs xrdp, freerdp2-shadow-x11, xvfb,
//! winpr-utils and nmap; `scripts/test` installs them). Prints wall times (median of N runs),
//! the speed-up, and what each tool claims about NLA, so the figures and the correctness
//! comparison come from the same servers at the same time.

use std::process::Command;
use std::time::{Duration, Instant};

use rdpdoctor_testkit::servers::{self, ShadowConfig, XrdpConfig};

const RDPDOCTOR_RUNS: usize = 20;
const NMAP_RUNS: usize = 3;

struct Measured {
    median: Duration,
    output: String,
}

fn measure(runs: usize, mut cmd: impl FnMut() -> Command) -> Measured {
    let mut times = Vec::new();
    let mut output = String::new();
    for _ in 0..runs {
        let started = Instant::now();
        let out = cmd().output().expect("run");
        times.push(started.elapsed());
        output = String::from_utf8_lossy(&out.stdout).into_owned();
    }
    times.sort();
    Measured {
        median: times[times.len() / 2],
        output,
    }
}

fn rdpdoctor_claims(json: &str) -> (String, String) {
    let v: serde_json::Value = serde_json::from_str(json).unwrap_or_default();
    let ev = &v["evidence"];
    let supported: Vec<String> = ev["negotiation"]["supported"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    let nla = supported.iter().any(|p| p == "hybrid" || p == "hybrid_ex");
    let ntlm = ev["credssp"]["ntlm"]["netbios_computer_name"]
        .as_str()
        .map(|n| {
            format!(
                "NTLM name {n}, version {}",
                ev["credssp"]["ntlm"]["os_version"].as_str().unwrap_or("?")
            )
        })
        .unwrap_or_else(|| "no NTLM info".into());
    (
        format!(
            "protocols {} -> NLA {}",
            supported.join(","),
            if nla { "yes" } else { "no" }
        ),
        ntlm,
    )
}

fn nmap_claims(out: &str) -> (String, String) {
    let nla = out.lines().any(|l| l.contains("CredSSP (NLA): SUCCESS"));
    let ntlm = out
        .lines()
        .find(|l| l.contains("NetBIOS_Computer_Name"))
        .map(|l| l.trim_start_matches(['|', ' ', '_']).to_string())
        .unwrap_or_else(|| "no NTLM info".into());
    (
        format!(
            "NLA {}",
            if nla {
                "yes (CredSSP (NLA): SUCCESS)"
            } else {
                "no"
            }
        ),
        ntlm,
    )
}

fn main() {
    for (prog, pkg) in [
        ("xrdp", "xrdp"),
        ("freerdp-shadow-cli", "freerdp2-shadow-x11"),
        ("Xvfb", "xvfb"),
        ("nmap", "nmap"),
        ("winpr-hash", "winpr-utils"),
    ] {
        if !rdpdoctor_testkit::have(prog) {
            eprintln!(
                "check_vs_nmap: {prog} is not installed (apt-get install {pkg}); nothing measured"
            );
            return;
        }
    }
    let xrdp = servers::xrdp(XrdpConfig::new("negotiate"));
    let shadow = servers::freerdp_shadow(ShadowConfig::nla("labuser", "LabPass123!"));
    let bin = env!("CARGO_BIN_EXE_rdpdoctor");
    println!(
        "{:<28} {:>12} {:>12} {:>9}   answers",
        "server", "rdpdoctor", "nmap", "speed-up"
    );
    for (label, server, truth_nla) in [
        ("xrdp 0.9 negotiate", &xrdp, false),
        ("FreeRDP 2 shadow, NLA", &shadow, true),
    ] {
        let target = server.target();
        let ours = measure(RDPDOCTOR_RUNS, || {
            let mut c = Command::new(bin);
            c.args(["check", &target, "--format", "json"]);
            c
        });
        let port = server.port().to_string();
        let theirs = measure(NMAP_RUNS, || {
            let mut c = Command::new("nmap");
            c.args([
                "-Pn",
                "-n",
                "-p",
                &port,
                "--script",
                "+rdp-enum-encryption,+rdp-ntlm-info",
                "127.0.0.1",
            ]);
            c
        });
        let speedup = theirs.median.as_secs_f64() / ours.median.as_secs_f64();
        let (our_nla, our_ntlm) = rdpdoctor_claims(&ours.output);
        let (their_nla, their_ntlm) = nmap_claims(&theirs.output);
        println!(
            "{label:<28} {:>10.1}ms {:>10.1}ms {speedup:>8.1}x",
            ours.median.as_secs_f64() * 1e3,
            theirs.median.as_secs_f64() * 1e3
        );
        let truth = if truth_nla {
            "NLA required"
        } else {
            "no NLA (xrdp never selects HYBRID)"
        };
        println!("    truth:     {truth}");
        println!("    rdpdoctor: {our_nla}; {our_ntlm}");
        println!("    nmap:      {their_nla}; {their_ntlm}");
    }
    println!(
        "(medians of {RDPDOCTOR_RUNS} rdpdoctor runs and {NMAP_RUNS} nmap runs, each a fresh process, loopback)"
    );
}
