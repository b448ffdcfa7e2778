//! Helpers for the `scan` tests: running the binary, endpoints that misbehave on any
//! 127.x.y.z address, reading results files, and headless Chromium.
#![allow(dead_code)]

use serde_json::Value;
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_rdpdoctor")
}

/// Run `rdpdoctor scan ARGS` to completion.
pub fn scan(args: &[&str]) -> Output {
    scan_with_stdin(args, None)
}

pub fn scan_with_stdin(args: &[&str], stdin: Option<&str>) -> Output {
    let mut cmd = Command::new(bin());
    cmd.arg("scan").args(args);
    cmd.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    });
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("run rdpdoctor");
    if let Some(text) = stdin {
        let mut pipe = child.stdin.take().expect("stdin");
        pipe.write_all(text.as_bytes()).expect("write stdin");
    }
    child.wait_with_output().expect("wait")
}

/// Start `rdpdoctor scan ARGS` in the background.
pub fn spawn_scan(args: &[&str]) -> Child {
    Command::new(bin())
        .arg("scan")
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn rdpdoctor")
}

pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Every line of a results file, parsed (panics on a bad line, naming it).
pub fn results(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .enumerate()
        .map(|(i, l)| {
            serde_json::from_str(l)
                .unwrap_or_else(|e| panic!("{}:{}: not JSON ({e}): {l}", path.display(), i + 1))
        })
        .collect()
}

/// `host:port` of a result.
pub fn key(r: &Value) -> String {
    let t = &r["target"];
    let host = t["host"].as_str().unwrap_or_default();
    if host.contains(':') {
        format!("[{host}]:{}", t["port"])
    } else {
        format!("{host}:{}", t["port"])
    }
}

/// How many times each target appears.
pub fn occurrences(results: &[Value]) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for r in results {
        *m.entry(key(r)).or_insert(0) += 1;
    }
    m
}

/// The first blocker-or-risk cause of a result, else the first finding's cause.
pub fn top_cause(r: &Value) -> String {
    let findings = r["findings"].as_array().cloned().unwrap_or_default();
    findings
        .iter()
        .find(|f| f["severity"] != "info")
        .or(findings.first())
        .and_then(|f| f["cause"].as_str())
        .unwrap_or("")
        .to_string()
}

pub fn causes(r: &Value) -> Vec<String> {
    r["findings"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|f| f["cause"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// A port on which nothing listens on any 127.x address (bound on 127.0.0.1 and released;
/// the tests bind their listeners to other ports).
pub fn closed_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

/// What a misbehaving endpoint does with a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Behaviour {
    /// Accept and never send anything; hold the connection until the client closes.
    Silent,
    /// Accept and close at once.
    Hangup,
    /// Answer like a web server.
    Http,
}

/// Listeners on chosen addresses, all served by one thread per group. Dropped: stopped.
pub struct Endpoints {
    pub addrs: Vec<SocketAddr>,
    stop: Arc<AtomicBool>,
    /// When each connection was accepted.
    pub accepts: Arc<Mutex<Vec<Instant>>>,
}

impl Endpoints {
    /// One listener per address, on `port` (0: any).
    pub fn start(behaviour: Behaviour, ips: &[IpAddr], port: u16) -> Endpoints {
        let listeners: Vec<TcpListener> = ips
            .iter()
            .map(|ip| {
                let l = TcpListener::bind(SocketAddr::new(*ip, port)).expect("bind endpoint");
                l.set_nonblocking(true).expect("nonblocking");
                l
            })
            .collect();
        Self::serve(behaviour, listeners)
    }

    /// Listeners on one address, on `n` ports.
    pub fn ports(behaviour: Behaviour, ip: IpAddr, n: usize) -> Endpoints {
        let listeners: Vec<TcpListener> = (0..n)
            .map(|_| {
                let l = TcpListener::bind(SocketAddr::new(ip, 0)).expect("bind endpoint");
                l.set_nonblocking(true).expect("nonblocking");
                l
            })
            .collect();
        Self::serve(behaviour, listeners)
    }

    fn serve(behaviour: Behaviour, listeners: Vec<TcpListener>) -> Endpoints {
        let addrs = listeners
            .iter()
            .map(|l| l.local_addr().expect("addr"))
            .collect();
        let stop = Arc::new(AtomicBool::new(false));
        let accepts = Arc::new(Mutex::new(Vec::new()));
        let (flag, log) = (stop.clone(), accepts.clone());
        thread::spawn(move || {
            let mut held: Vec<TcpStream> = Vec::new();
            while !flag.load(Ordering::Relaxed) {
                let mut idle = true;
                for l in &listeners {
                    let Ok((mut s, _)) = l.accept() else { continue };
                    idle = false;
                    log.lock().unwrap().push(Instant::now());
                    match behaviour {
                        Behaviour::Hangup => drop(s),
                        Behaviour::Http => {
                            let _ = s.set_nonblocking(false);
                            let _ = s.set_read_timeout(Some(Duration::from_millis(200)));
                            let mut buf = [0u8; 512];
                            let _ = s.read(&mut buf);
                            let _ = s.write_all(
                                b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                            );
                        }
                        Behaviour::Silent => held.push(s),
                    }
                }
                if idle {
                    thread::sleep(Duration::from_millis(2));
                }
            }
        });
        Endpoints {
            addrs,
            stop,
            accepts,
        }
    }

    /// The most connections accepted within any `window`.
    pub fn most_accepted_within(&self, window: Duration) -> usize {
        let times = self.accepts.lock().unwrap().clone();
        times
            .iter()
            .map(|t| {
                times
                    .iter()
                    .filter(|u| **u >= *t && **u < *t + window)
                    .count()
            })
            .max()
            .unwrap_or(0)
    }

    pub fn targets(&self) -> Vec<String> {
        self.addrs.iter().map(|a| a.to_string()).collect()
    }
}

impl Drop for Endpoints {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// `127.a.b.c`
pub fn ip(a: u8, b: u8, c: u8) -> IpAddr {
    IpAddr::from([127, a, b, c])
}

/// A scratch directory for one test.
pub fn scratch() -> tempfile::TempDir {
    tempfile::tempdir().expect("tempdir")
}

/// Wait until `path` has at least `n` complete lines, or panic after `within`.
pub fn wait_for_lines(path: &Path, n: usize, within: Duration, child: &mut Child) {
    let deadline = Instant::now() + within;
    loop {
        let lines = std::fs::read(path)
            .map(|b| b.iter().filter(|c| **c == b'\n').count())
            .unwrap_or(0);
        if lines >= n {
            return;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("rdpdoctor exited ({status}) before writing {n} lines (had {lines})");
        }
        assert!(
            Instant::now() < deadline,
            "only {lines} lines after {within:?}"
        );
        thread::sleep(Duration::from_millis(20));
    }
}

/// The DOM after scripts ran, and Chromium's log, for `file://PATH#FRAGMENT`. `None` (after
/// printing SKIP) when Chromium is not installed.
pub fn chromium(page: &Path, fragment: &str) -> Option<(String, String)> {
    if !rdpdoctor_testkit::require("chromium", "chromium") {
        return None;
    }
    let profile = scratch();
    let url = format!("file://{}{fragment}", page.display());
    let out = Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg("--dump-dom")
        .arg(&url)
        .output()
        .expect("run chromium");
    assert!(
        out.status.success(),
        "chromium failed: {}",
        text(&out.stderr)
    );
    Some((text(&out.stdout), text(&out.stderr)))
}

/// Assert the page's script ran to the end without an error or a console message.
pub fn assert_page_scripts_ok(dom: &str, log: &str) {
    assert!(
        dom.contains("id=\"script-status\" class=\"muted\">ready<"),
        "the page script did not finish:\n{}",
        &dom[..dom.len().min(3000)]
    );
    let errors = dom
        .split("<pre id=\"script-errors\"")
        .nth(1)
        .and_then(|rest| rest.split_once('>'))
        .map(|(_, rest)| rest.split("</pre>").next().unwrap_or(""))
        .unwrap_or("missing");
    assert_eq!(errors, "", "script errors caught by window.onerror");
    let console: Vec<&str> = log.lines().filter(|l| l.contains(":CONSOLE")).collect();
    assert!(console.is_empty(), "console output: {console:#?}");
}

/// The rows of the server table, in DOM order: (target, outcome, top cause).
pub fn table_rows(dom: &str) -> Vec<(String, String, String)> {
    let body = dom
        .split("<table id=\"servers\">")
        .nth(1)
        .and_then(|t| t.split("<tbody>").nth(1))
        .and_then(|t| t.split("</tbody>").next())
        .unwrap_or("");
    body.split("<tr")
        .skip(1)
        .map(|row| {
            let cells: Vec<String> = row
                .split("<td")
                .skip(1)
                .map(|c| {
                    let inner = c.split_once('>').map(|(_, r)| r).unwrap_or("");
                    inner.split("</td>").next().unwrap_or("").trim().to_string()
                })
                .collect();
            (
                cells.first().cloned().unwrap_or_default(),
                cells.get(1).cloned().unwrap_or_default(),
                cells.get(2).cloned().unwrap_or_default(),
            )
        })
        .collect()
}

/// Split a CSV document (RFC 4180) into records.
pub fn parse_csv(doc: &str) -> Vec<Vec<String>> {
    let mut records = Vec::new();
    let mut record = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = doc.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') => quoted = true,
            (false, ',') => record.push(std::mem::take(&mut field)),
            (false, '\r') => {}
            (false, '\n') => {
                record.push(std::mem::take(&mut field));
                records.push(std::mem::take(&mut record));
            }
            (false, c) => field.push(c),
        }
    }
    if !field.is_empty() || !record.is_empty() {
        record.push(field);
        records.push(record);
    }
    records
}

pub fn path_str(p: &Path) -> String {
    p.display().to_string()
}

pub fn write(dir: &Path, name: &str, content: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, content).expect("write");
    p
}
