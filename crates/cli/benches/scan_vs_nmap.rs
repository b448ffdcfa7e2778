//! `rdpdoctor scan` against nmap's RDP scripts over the same 1,000 loopback targets, in one
//! run, plus rdpdoctor's peak memory over 131,072 targets.
//!
//! `cargo bench -p rdpdoctor --bench scan_vs_nmap` (needs xrdp, nmap and /usr/bin/time; as
//! root, `scripts/test` installs them). Only 127.0.0.0/8 is touched.
//!
//! The 1,000 targets, all on one port P (nmap takes one port list for every host):
//! - 6 xrdp servers on 127.40.0.1-6:P (negotiate, TLS-only, standard-security-only, TLS with an
//!   expired certificate, TLS with the certificate file missing, negotiate with a wrong-name
//!   certificate), started here with forking xrdp as deployed;
//! - 994 closed ports: 127.41.0.0-127.41.3.225 on P.
//!
//! Both tools read the same target file. Measured with `/usr/bin/time -v`: wall time and
//! maximum resident set size. Findings compared per target: reachable or not (nmap's port
//! state), and for the xrdp servers the protocols each tool says the server accepts.
//!
//! Then `rdpdoctor scan 127.64.0.0/15` (131,072 closed ports) with `--out`: wall time, peak
//! memory and the size of the results file.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use rdpdoctor_testkit::certs::CertSpec;
use rdpdoctor_testkit::servers::{self, Server, XrdpConfig};

const TARGETS: usize = 1000;
/// Runs of each tool over the 1,000 targets; the median wall time is reported (the machine is
/// shared, single runs vary).
const RDPDOCTOR_RUNS: usize = 5;
const NMAP_RUNS: usize = 3;

/// One xrdp instance on `addr` with its label in the comparison table.
struct Xrdp {
    addr: SocketAddr,
    label: &'static str,
    _server: Server,
}

/// Start xrdp as deployed (forking, the package's log level) on `addr`; `cert: None` points
/// it at a certificate file that does not exist.
fn start_xrdp(
    addr: SocketAddr,
    label: &'static str,
    layer: &'static str,
    cert: Option<CertSpec>,
) -> Xrdp {
    let config = XrdpConfig::new(layer).at(addr).packaged_log_level();
    let config = match cert {
        Some(spec) => config.cert(spec),
        None => config.missing_cert(),
    };
    Xrdp {
        addr,
        label,
        _server: servers::xrdp(config),
    }
}

/// Wall time and peak memory of one command, from `/usr/bin/time -v`.
struct Measured {
    wall: Duration,
    max_rss_kb: u64,
    stdout: String,
    code: Option<i32>,
}

/// The run with the median wall time of `runs`, and the largest peak memory of them all.
fn median_of(runs: usize, mut run: impl FnMut() -> Measured) -> Measured {
    let mut all: Vec<Measured> = (0..runs).map(|_| run()).collect();
    let max_rss_kb = all.iter().map(|m| m.max_rss_kb).max().unwrap_or(0);
    all.sort_by_key(|m| m.wall);
    let mut median = all.swap_remove(all.len() / 2);
    median.max_rss_kb = max_rss_kb;
    median
}

fn time_v(program: &str, args: &[String]) -> Measured {
    let started = Instant::now();
    let out = Command::new("/usr/bin/time")
        .arg("-v")
        .arg(program)
        .args(args)
        .output()
        .expect("/usr/bin/time");
    let wall = started.elapsed();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let max_rss_kb = stderr
        .lines()
        .find_map(|l| {
            l.trim()
                .strip_prefix("Maximum resident set size (kbytes): ")
        })
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    let code = stderr
        .lines()
        .find_map(|l| l.trim().strip_prefix("Exit status: "))
        .and_then(|v| v.trim().parse().ok());
    Measured {
        wall,
        max_rss_kb,
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        code,
    }
}

/// What each tool says about one target.
#[derive(Default, Debug)]
struct Claims {
    reachable: Option<bool>,
    protocols: Vec<String>,
}

fn rdpdoctor_claims(results: &Path) -> BTreeMap<String, Claims> {
    let mut m = BTreeMap::new();
    for line in std::fs::read_to_string(results).unwrap_or_default().lines() {
        let v: serde_json::Value = serde_json::from_str(line).expect("result line");
        let host = v["target"]["host"].as_str().unwrap_or_default().to_string();
        let reachable = v["evidence"]["tcp"]["status"] == "ok";
        let protocols = v["evidence"]["negotiation"]["supported"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|p| p.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        m.insert(
            host,
            Claims {
                reachable: Some(reachable),
                protocols,
            },
        );
    }
    m
}

/// nmap's XML, read just enough: per host, the port state and rdp-enum-encryption's SUCCESS
/// lines, mapped onto rdpdoctor's protocol names.
fn nmap_claims(xml: &str) -> BTreeMap<String, Claims> {
    let mut m = BTreeMap::new();
    for host in xml.split("<host ").skip(1) {
        let Some(addr) = attr(host, "<address addr=\"") else {
            continue;
        };
        let state = attr(host, "<state state=\"");
        let mut protocols = Vec::new();
        if let Some(out) = attr(host, "<script id=\"rdp-enum-encryption\" output=\"") {
            let out = out.replace("&#xa;", "\n");
            for (needle, name) in [
                ("Native RDP: SUCCESS", "rdp"),
                ("SSL: SUCCESS", "ssl"),
                ("CredSSP (NLA): SUCCESS", "hybrid"),
                ("CredSSP with Early User Auth: SUCCESS", "hybrid_ex"),
                ("RDSTLS: SUCCESS", "rdstls"),
            ] {
                if out.contains(needle) {
                    protocols.push(name.to_string());
                }
            }
            if out.contains("ERROR") || out.contains("failed") {
                protocols.push("(script error)".into());
            }
        }
        m.insert(
            addr,
            Claims {
                reachable: state.map(|s| s == "open"),
                protocols,
            },
        );
    }
    m
}

fn attr(s: &str, prefix: &str) -> Option<String> {
    let rest = s.split_once(prefix)?.1;
    Some(rest.split('"').next()?.to_string())
}

fn main() {
    for (prog, pkg) in [
        ("xrdp", "xrdp"),
        ("nmap", "nmap"),
        ("/usr/bin/time", "time"),
    ] {
        if !(Path::new(prog).is_file() || rdpdoctor_testkit::have(prog)) {
            eprintln!(
                "scan_vs_nmap: {prog} is not installed (apt-get install {pkg}); nothing measured"
            );
            return;
        }
    }
    let bin = env!("CARGO_BIN_EXE_rdpdoctor").to_string();
    let dir = tempfile::tempdir().expect("tempdir");
    let work = dir.path();
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();

    let at = |i: u8| SocketAddr::new(IpAddr::from([127, 40, 0, i]), port);
    let mut wrong = CertSpec::valid("wrong.example.invalid");
    wrong.ips.clear();
    let servers = [
        start_xrdp(
            at(1),
            "xrdp negotiate",
            "negotiate",
            Some(CertSpec::valid("localhost")),
        ),
        start_xrdp(at(2), "xrdp tls", "tls", Some(CertSpec::valid("localhost"))),
        start_xrdp(
            at(3),
            "xrdp rdp only",
            "rdp",
            Some(CertSpec::valid("localhost")),
        ),
        start_xrdp(
            at(4),
            "xrdp tls, expired cert",
            "tls",
            Some(CertSpec::expired("localhost")),
        ),
        start_xrdp(at(5), "xrdp tls, no cert file", "tls", None),
        start_xrdp(
            at(6),
            "xrdp negotiate, wrong name",
            "negotiate",
            Some(wrong),
        ),
    ];
    let mut lines: Vec<String> = servers.iter().map(|s| s.addr.ip().to_string()).collect();
    let closed = TARGETS - servers.len();
    for i in 0..closed {
        lines.push(format!("127.41.{}.{}", i / 256, i % 256));
    }
    let targets: PathBuf = work.join("targets.txt");
    std::fs::write(&targets, lines.join("\n") + "\n").unwrap();
    let tpath = targets.display().to_string();

    // rdpdoctor: every default except the rate limit (loopback has no IDS to spare).
    let results = work.join("results.jsonl");
    let ours_args: Vec<String> = [
        "scan",
        &tpath,
        "--port",
        &port.to_string(),
        "--out",
        &results.display().to_string(),
        "--rate",
        "0",
        "--progress",
        "off",
        "--format",
        "json",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let ours = median_of(RDPDOCTOR_RUNS, || {
        let _ = std::fs::remove_file(&results);
        time_v(&bin, &ours_args)
    });
    let summary: serde_json::Value = serde_json::from_str(&ours.stdout).unwrap_or_default();

    let xml = work.join("nmap.xml");
    let nmap_args: Vec<String> = [
        "-Pn",
        "-n",
        "-p",
        &port.to_string(),
        "--script",
        "+rdp-enum-encryption,+rdp-ntlm-info",
        "-iL",
        &tpath,
        "-oX",
        &xml.display().to_string(),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let theirs = median_of(NMAP_RUNS, || time_v("nmap", &nmap_args));

    let ours_claims = rdpdoctor_claims(&results);
    let nmap = nmap_claims(&std::fs::read_to_string(&xml).unwrap_or_default());
    let reach_agree = lines
        .iter()
        .filter(|h| {
            let a = ours_claims.get(*h).and_then(|c| c.reachable);
            let b = nmap.get(*h).and_then(|c| c.reachable);
            a.is_some() && a == b
        })
        .count();

    let throughput = |m: &Measured| TARGETS as f64 / m.wall.as_secs_f64();
    println!(
        "scan_vs_nmap: {TARGETS} loopback targets on port {port}: {} xrdp servers (127.40.0.1-6) + {closed} closed ports (127.41.x.y)",
        servers.len()
    );
    println!(
        "{:<44} {:>10} {:>12} {:>12}",
        "", "wall", "targets/s", "peak RSS"
    );
    println!(
        "{:<44} {:>9.2}s {:>12.0} {:>9.1} MB   (exit {:?})",
        "rdpdoctor scan --rate 0 (default concurrency)",
        ours.wall.as_secs_f64(),
        throughput(&ours),
        ours.max_rss_kb as f64 / 1024.0,
        ours.code
    );
    println!(
        "{:<44} {:>9.2}s {:>12.0} {:>9.1} MB   (exit {:?})",
        "nmap -Pn -n --script +rdp-enum-encryption,+rdp-ntlm-info",
        theirs.wall.as_secs_f64(),
        throughput(&theirs),
        theirs.max_rss_kb as f64 / 1024.0,
        theirs.code
    );
    println!(
        "throughput ratio: {:.1}x (rdpdoctor / nmap; medians of {RDPDOCTOR_RUNS} and {NMAP_RUNS} runs, peak RSS the largest)",
        throughput(&ours) / throughput(&theirs)
    );
    let slowest = std::fs::read_to_string(&results)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .map(|v| {
            (
                v["duration_ms"].as_f64().unwrap_or(0.0),
                v["target"]["input"].as_str().unwrap_or("").to_string(),
            )
        })
        .fold((0.0, String::new()), |a, b| if b.0 > a.0 { b } else { a });
    println!(
        "rdpdoctor's slowest check: {:.0} ms ({})",
        slowest.0, slowest.1
    );
    println!(
        "findings: reachability agrees on {reach_agree}/{TARGETS} targets; rdpdoctor: {} results, outcomes {}",
        ours_claims.len(),
        summary["outcomes"]
    );
    println!(
        "{:<28} {:<22} {:<40} rdpdoctor's top cause",
        "server", "rdpdoctor accepts", "nmap rdp-enum-encryption SUCCESS"
    );
    for s in &servers {
        let ip = s.addr.ip().to_string();
        let ours_p = ours_claims
            .get(&ip)
            .map(|c| c.protocols.join(","))
            .unwrap_or_default();
        let theirs_p = nmap
            .get(&ip)
            .map(|c| c.protocols.join(","))
            .unwrap_or_default();
        let line = std::fs::read_to_string(&results)
            .unwrap_or_default()
            .lines()
            .find(|l| l.contains(&format!("\"host\":\"{ip}\"")))
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap_or_default())
            .unwrap_or_default();
        let top = line["findings"]
            .as_array()
            .and_then(|f| f.iter().find(|f| f["severity"] != "info"))
            .and_then(|f| f["cause"].as_str())
            .unwrap_or("-")
            .to_string();
        println!("{:<28} {:<22} {:<40} {top}", s.label, ours_p, theirs_p);
    }
    drop(servers);

    // Memory over 131,072 targets: a /15 of loopback addresses on a closed port.
    let big = work.join("big.jsonl");
    let big_args: Vec<String> = [
        "scan",
        "127.64.0.0/15",
        "--port",
        &port.to_string(),
        "--out",
        &big.display().to_string(),
        "--rate",
        "0",
        "--progress",
        "off",
        "--format",
        "json",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let big_run = time_v(&bin, &big_args);
    let big_summary: serde_json::Value = serde_json::from_str(&big_run.stdout).unwrap_or_default();
    let size = std::fs::metadata(&big).map(|m| m.len()).unwrap_or(0);
    println!(
        "rdpdoctor scan 127.64.0.0/15 (131072 closed ports): {:.1}s, {:.0} targets/s, peak RSS {:.1} MB, {} results, results file {:.0} MB (exit {:?})",
        big_run.wall.as_secs_f64(),
        131_072.0 / big_run.wall.as_secs_f64(),
        big_run.max_rss_kb as f64 / 1024.0,
        big_summary["targets"],
        size as f64 / 1e6,
        big_run.code
    );
}
