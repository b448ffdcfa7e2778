//! `rdpdoctor check --deep` side by side with `sslscan --rdp` and `sslyze --starttls rdp` on the
//! same local xrdp servers, in one run: wall time, the number of TCP connections each tool opens
//! (counted by a small TCP proxy in front of each server), and whether the accepted suites per
//! version agree.
//!
//! ```text
//! cargo bench -p rdpdoctor --bench tls_deep_vs
//! ```
//!
//! Needs xrdp and sslscan (`apt-get install xrdp sslscan`). sslyze comes from PyPI:
//! `python3 -m venv /tmp/sslyze-venv && /tmp/sslyze-venv/bin/pip install sslyze`; the bench
//! looks for `$SSLYZE`, then `sslyze` on PATH, then `/tmp/sslyze-venv/bin/sslyze`, and skips
//! that column without it. Every tool does the same job: protocol versions, cipher suites and
//! key-exchange groups (sslscan without its heartbleed, renegotiation, compression and
//! fallback checks; sslyze with only its version, suite and curve scans).
//!
//! The servers run as deployed: the packaged xrdp.ini with only the TLS keys changed and the
//! package's log level. (The test harness logs at DEBUG, which makes xrdp about ten times slower
//! per connection, 160 ms instead of 15 ms here, and would measure xrdp's logging rather than
//! the tools.)

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use rdpdoctor_testkit::servers::{self, Server, XrdpConfig};

type Suites = BTreeMap<String, BTreeSet<String>>;

use rdpdoctor_testkit::sslscan::VERSIONS;
const RUNS: usize = 3;

/// Start xrdp as deployed (see the module doc) with these `[Globals]` TLS keys.
fn xrdp(tls: &[(&str, &str)]) -> Server {
    let mut config = XrdpConfig::new("tls").packaged_log_level();
    for (key, value) in tls {
        config = match *key {
            "ssl_protocols" => config.protocols(value),
            "tls_ciphers" => config.ciphers(value),
            other => panic!("no XrdpConfig setting for {other}"),
        };
    }
    servers::xrdp(config)
}

/// A TCP proxy that counts the connections it accepts.
struct CountingProxy {
    addr: SocketAddr,
    count: Arc<AtomicUsize>,
}

impl CountingProxy {
    fn start(upstream: SocketAddr) -> CountingProxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind proxy");
        let addr = listener.local_addr().expect("proxy address");
        let count = Arc::new(AtomicUsize::new(0));
        let counter = count.clone();
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                counter.fetch_add(1, Ordering::SeqCst);
                std::thread::spawn(move || relay(client, upstream));
            }
        });
        CountingProxy { addr, count }
    }

    fn take(&self) -> usize {
        self.count.swap(0, Ordering::SeqCst)
    }
}

fn relay(client: TcpStream, upstream: SocketAddr) {
    let Ok(server) = TcpStream::connect(upstream) else {
        return;
    };
    // Without this, Nagle and delayed ACKs add tens of milliseconds to every small
    // X.224/TLS exchange through the proxy.
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let (Ok(c2), Ok(s2)) = (client.try_clone(), server.try_clone()) else {
        return;
    };
    let pipe = |mut from: TcpStream, mut to: TcpStream| {
        let mut buf = [0u8; 16 * 1024];
        loop {
            match from.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if to.write_all(&buf[..n]).is_err() {
                        break;
                    }
                }
            }
        }
        let _ = to.shutdown(Shutdown::Write);
    };
    let up = std::thread::spawn(move || pipe(client, server));
    pipe(s2, c2);
    let _ = up.join();
}

struct Measured {
    median: Duration,
    connections: usize,
    suites: Suites,
    extra: String,
}

fn measure(
    runs: usize,
    proxy: &CountingProxy,
    mut run: impl FnMut() -> String,
    parse: impl Fn(&str) -> (Suites, String),
) -> Measured {
    let mut times = Vec::new();
    let mut output = String::new();
    let mut connections = 0;
    for _ in 0..runs {
        proxy.take();
        let started = Instant::now();
        output = run();
        times.push(started.elapsed());
        // Let the proxy threads finish counting late connections.
        std::thread::sleep(Duration::from_millis(50));
        connections = proxy.take();
    }
    times.sort();
    let (suites, extra) = parse(&output);
    Measured {
        median: times[times.len() / 2],
        connections,
        suites,
        extra,
    }
}

fn empty() -> Suites {
    VERSIONS
        .iter()
        .map(|v| (v.to_string(), BTreeSet::new()))
        .collect()
}

fn parse_rdpdoctor(json: &str) -> (Suites, String) {
    let v: serde_json::Value = serde_json::from_str(json).unwrap_or_default();
    let e = &v["evidence"]["tls"]["enumeration"];
    let mut out = empty();
    for ver in VERSIONS {
        for s in e["versions"][ver].as_array().into_iter().flatten() {
            if let Some(s) = s.as_str() {
                out.get_mut(ver).expect("version").insert(s.to_string());
            }
        }
    }
    (
        out,
        format!(
            "{} by the enumeration itself",
            e["connections"].as_u64().unwrap_or(0)
        ),
    )
}

fn parse_sslscan(text: &str) -> (Suites, String) {
    (
        rdpdoctor_testkit::sslscan::accepted_suites(text),
        String::new(),
    )
}

fn parse_sslyze(json: &str) -> (Suites, String) {
    let v: serde_json::Value = serde_json::from_str(json).unwrap_or_default();
    let r = &v["server_scan_results"][0]["scan_result"];
    let mut out = empty();
    for (key, ver) in [
        ("tls_1_0_cipher_suites", "TLSv1.0"),
        ("tls_1_1_cipher_suites", "TLSv1.1"),
        ("tls_1_2_cipher_suites", "TLSv1.2"),
        ("tls_1_3_cipher_suites", "TLSv1.3"),
    ] {
        for s in r[key]["result"]["accepted_cipher_suites"]
            .as_array()
            .into_iter()
            .flatten()
        {
            if let Some(n) = s["cipher_suite"]["name"].as_str() {
                out.get_mut(ver).expect("version").insert(n.to_string());
            }
        }
    }
    let status = v["server_scan_results"][0]["scan_status"]
        .as_str()
        .unwrap_or("no result")
        .to_string();
    (out, status)
}

fn xrdp_version() -> String {
    Command::new("xrdp")
        .arg("--version")
        .output()
        .ok()
        .and_then(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .next()
                .map(|l| l.trim().to_string())
        })
        .unwrap_or_default()
}

fn sslyze_path() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("SSLYZE") {
        return Some(PathBuf::from(p));
    }
    if rdpdoctor_testkit::have("sslyze") {
        return Some(PathBuf::from("sslyze"));
    }
    let venv = PathBuf::from("/tmp/sslyze-venv/bin/sslyze");
    venv.is_file().then_some(venv)
}

fn diff(a: &Suites, b: &Suites) -> String {
    if a == b {
        return "agree".into();
    }
    let mut parts = Vec::new();
    for v in VERSIONS {
        let (x, y) = (&a[v], &b[v]);
        let only_a: Vec<&String> = x.difference(y).collect();
        let only_b: Vec<&String> = y.difference(x).collect();
        if !only_a.is_empty() || !only_b.is_empty() {
            parts.push(format!(
                "{v}: rdpdoctor only {only_a:?}, this tool only {only_b:?}"
            ));
        }
    }
    format!("DIFFER: {}", parts.join("; "))
}

fn main() {
    for (prog, pkg) in [("xrdp", "xrdp"), ("sslscan", "sslscan")] {
        if !rdpdoctor_testkit::have(prog) {
            eprintln!(
                "tls_deep_vs: {prog} is not installed (apt-get install {pkg}); nothing measured"
            );
            return;
        }
    }
    let sslyze = sslyze_path();
    if sslyze.is_none() {
        eprintln!(
            "tls_deep_vs: sslyze not found ($SSLYZE, PATH, /tmp/sslyze-venv/bin/sslyze); its column is skipped. \
             Install: python3 -m venv /tmp/sslyze-venv && /tmp/sslyze-venv/bin/pip install sslyze"
        );
    }
    let bin = env!("CARGO_BIN_EXE_rdpdoctor");
    let configs: [(&str, &[(&str, &str)]); 4] = [
        (
            "xrdp TLS 1.0 only, AES128-SHA",
            &[
                ("ssl_protocols", "TLSv1"),
                ("tls_ciphers", "AES128-SHA:@SECLEVEL=0"),
            ],
        ),
        (
            "xrdp TLS 1.2 only, 4 suites",
            &[
                ("ssl_protocols", "TLSv1.2"),
                (
                    "tls_ciphers",
                    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-AES128-SHA:AES128-GCM-SHA256:AES256-SHA",
                ),
            ],
        ),
        ("xrdp TLS 1.3 only", &[("ssl_protocols", "TLSv1.3")]),
        ("xrdp packaged (TLS 1.2+1.3)", &[]),
    ];
    println!(
        "{:<32} {:<10} {:>10} {:>12}  results",
        "server", "tool", "wall", "connections"
    );
    let mut totals: BTreeMap<&str, (Duration, usize)> = BTreeMap::new();
    for (label, tls) in configs {
        let server = xrdp(tls);
        let proxy = CountingProxy::start(server.addr);
        let target = proxy.addr.to_string();
        let ours = measure(
            RUNS,
            &proxy,
            || {
                let out = Command::new(bin)
                    .args(["check", &target, "--deep", "--format", "json"])
                    .output()
                    .expect("run rdpdoctor");
                String::from_utf8_lossy(&out.stdout).into_owned()
            },
            parse_rdpdoctor,
        );
        let scan = measure(
            RUNS,
            &proxy,
            || {
                let out = Command::new("sslscan")
                    .args([
                        "--no-colour",
                        "--rdp",
                        "--show-cipher-ids",
                        "--no-heartbleed",
                        "--no-renegotiation",
                        "--no-compression",
                        "--no-fallback",
                        &target,
                    ])
                    .output()
                    .expect("run sslscan");
                String::from_utf8_lossy(&out.stdout).into_owned()
            },
            parse_sslscan,
        );
        let yze = sslyze.as_ref().map(|path| {
            let json = server.dir.path().join("sslyze.json");
            measure(
                1,
                &proxy,
                || {
                    let _ = Command::new(path)
                        .args([
                            "--starttls",
                            "rdp",
                            "--sslv2",
                            "--sslv3",
                            "--tlsv1",
                            "--tlsv1_1",
                            "--tlsv1_2",
                            "--tlsv1_3",
                            "--elliptic_curves",
                            "--quiet",
                            "--json_out",
                        ])
                        .arg(&json)
                        .arg(&target)
                        .output();
                    std::fs::read_to_string(&json).unwrap_or_default()
                },
                parse_sslyze,
            )
        });
        let row = |tool: &str, m: &Measured, result: String| {
            println!(
                "{:<32} {:<10} {:>8.0}ms {:>12}  {result}",
                label,
                tool,
                m.median.as_secs_f64() * 1e3,
                m.connections
            );
        };
        let summary: Vec<String> = VERSIONS
            .iter()
            .map(|v| format!("{v}:{}", ours.suites[*v].len()))
            .collect();
        row(
            "rdpdoctor",
            &ours,
            format!("{} ({})", summary.join(" "), ours.extra),
        );
        row("sslscan", &scan, diff(&ours.suites, &scan.suites));
        if let Some(y) = &yze {
            row(
                "sslyze",
                y,
                format!("{} ({})", diff(&ours.suites, &y.suites), y.extra),
            );
        }
        for (tool, m) in [
            ("rdpdoctor", Some(&ours)),
            ("sslscan", Some(&scan)),
            ("sslyze", yze.as_ref()),
        ] {
            if let Some(m) = m {
                let t = totals.entry(tool).or_default();
                t.0 += m.median;
                t.1 += m.connections;
            }
        }
    }
    println!();
    let ours = totals["rdpdoctor"];
    for (tool, (time, conns)) in &totals {
        println!(
            "total {tool:<10} {:>8.0}ms {:>6} connections   time x{:.1} vs rdpdoctor, connections x{:.1}",
            time.as_secs_f64() * 1e3,
            conns,
            time.as_secs_f64() / ours.0.as_secs_f64(),
            *conns as f64 / ours.1 as f64
        );
    }
    println!(
        "(rdpdoctor and sslscan: medians of {RUNS} runs; sslyze: 1 run; connections counted by a TCP proxy in front of each server, rdpdoctor's include its normal check; {} at its packaged log level)",
        xrdp_version()
    );
}
