//! `rdpdoctor check --deep` against xrdp restricted with `ssl_protocols` and `tls_ciphers`:
//! the exact suite set per version, cross-checked against `sslscan --rdp` on the same server,
//! and a connection count that only elimination can stay under.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::*;
use rdpdoctor_testkit::require;
use rdpdoctor_testkit::servers::{self, XrdpConfig};
use serde_json::Value;

use rdpdoctor_testkit::sslscan::VERSIONS;

fn deep(target: &str) -> (Run, Value) {
    check_json(target, &["--deep"])
}

fn enumeration(r: &Value) -> &Value {
    let e = &r["evidence"]["tls"]["enumeration"];
    assert!(
        e.is_object(),
        "no enumeration in {}",
        serde_json::to_string_pretty(&r["evidence"]["tls"]).unwrap_or_default()
    );
    e
}

/// `versions` as a map of lists, asserting all four versions are present.
fn versions(e: &Value) -> BTreeMap<String, Vec<String>> {
    let map: BTreeMap<String, Vec<String>> = VERSIONS
        .iter()
        .map(|v| (v.to_string(), strings(&e["versions"][v])))
        .collect();
    for v in VERSIONS {
        assert!(e["versions"][v].is_array(), "{v} missing: {e}");
    }
    map
}

fn accepted_total(e: &Value) -> usize {
    versions(e).values().map(Vec::len).sum()
}

fn groups_total(e: &Value) -> usize {
    e["groups"]
        .as_object()
        .map(|o| o.values().map(|g| strings(g).len()).sum())
        .unwrap_or(0)
}

/// Elimination: one connection per accepted suite and group, one refusal per version and per
/// suite block, a preference check, SSL 3.0, the normal check's own connections.
fn assert_elimination_bound(e: &Value) {
    let n = e["connections"].as_u64().unwrap_or(u64::MAX) as usize;
    let bound = accepted_total(e) + groups_total(e) + VERSIONS.len() + 8;
    assert!(n <= bound, "{n} connections > bound {bound}: {e}");
    eprintln!(
        "connections: {n} (accepted suites {}, groups {}, bound {bound})",
        accepted_total(e),
        groups_total(e)
    );
}

/// What `sslscan --rdp` says the server accepts, by IANA name (via `--show-cipher-ids`), or
/// `None` when sslscan is not installed.
fn sslscan(port: u16) -> Option<BTreeMap<String, BTreeSet<String>>> {
    // Skips the cross-check without sslscan, unless RDPDOCTOR_REQUIRE_SERVERS=1 (scripts/test).
    if !require("sslscan", "sslscan") {
        return None;
    }
    let out = std::process::Command::new("sslscan")
        .args([
            "--no-colour",
            "--rdp",
            "--show-cipher-ids",
            "--no-heartbleed",
            "--no-renegotiation",
            "--no-compression",
            "--no-fallback",
            &format!("127.0.0.1:{port}"),
        ])
        .output()
        .expect("run sslscan");
    let text = String::from_utf8_lossy(&out.stdout);
    Some(rdpdoctor_testkit::sslscan::accepted_suites(&text))
}

fn as_sets(v: &BTreeMap<String, Vec<String>>) -> BTreeMap<String, BTreeSet<String>> {
    v.iter()
        .map(|(k, l)| (k.clone(), l.iter().cloned().collect()))
        .collect()
}

fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|s| s.to_string()).collect()
}

#[test]
fn tls10_only_with_one_cbc_suite() {
    if !require("xrdp", "xrdp") {
        return;
    }
    let server = servers::xrdp(
        XrdpConfig::new("tls")
            .protocols("TLSv1")
            .ciphers("AES128-SHA:@SECLEVEL=0"),
    );
    let (run, r) = deep(&server.target());
    let e = enumeration(&r);
    let v = versions(e);
    assert_eq!(v["TLSv1.0"], ["TLS_RSA_WITH_AES_128_CBC_SHA"], "{e}");
    for other in ["TLSv1.1", "TLSv1.2", "TLSv1.3"] {
        assert!(v[other].is_empty(), "{other}: {e}");
    }
    assert_eq!(e["ssl3_accepted"], false);
    assert_elimination_bound(e);
    if let Some(theirs) = sslscan(server.port()) {
        assert_eq!(theirs, as_sets(&v), "sslscan disagrees");
    }
    // Both client profiles fail for lack of a version; the findings name it.
    for c in e["clients"].as_array().expect("clients") {
        assert!(
            c["failure"]
                .as_str()
                .unwrap_or("")
                .starts_with("no TLS version in common"),
            "{c}"
        );
    }
    let f = finding(&r, "tls-version-mismatch");
    assert_eq!(f["severity"], "blocker");
    assert!(
        f["evidence"].to_string().contains("Windows 11 mstsc"),
        "{f}"
    );
    let causes = causes(&r);
    assert!(
        causes.contains(&"weak-tls".to_string()),
        "TLS 1.0 accepted: {causes:?}"
    );
    assert_eq!(run.code, 1);
}

#[test]
fn tls12_only_with_a_chosen_list() {
    if !require("xrdp", "xrdp") {
        return;
    }
    let server =
        servers::xrdp(XrdpConfig::new("tls").protocols("TLSv1.2").ciphers(
            "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-AES128-SHA:AES128-GCM-SHA256:AES256-SHA",
        ));
    let (_, r) = deep(&server.target());
    let e = enumeration(&r);
    let v = versions(e);
    assert_eq!(
        as_sets(&v)["TLSv1.2"],
        set(&[
            "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
            "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
            "TLS_RSA_WITH_AES_128_GCM_SHA256",
            "TLS_RSA_WITH_AES_256_CBC_SHA",
        ]),
        "{e}"
    );
    for other in ["TLSv1.0", "TLSv1.1", "TLSv1.3"] {
        assert!(v[other].is_empty(), "{other}: {e}");
    }
    assert!(
        e["server_preference"]["TLSv1.2"].is_boolean(),
        "order established: {e}"
    );
    assert!(!strings(&e["groups"]["TLSv1.2"]).is_empty(), "{e}");
    assert_elimination_bound(e);
    if let Some(theirs) = sslscan(server.port()) {
        assert_eq!(theirs, as_sets(&v), "sslscan disagrees");
    }
    // Windows 11 and FreeRDP 3 both get TLS 1.2 with an ECDHE suite.
    for c in e["clients"].as_array().expect("clients") {
        assert_eq!(c["version"], "TLSv1.2", "{c}");
        assert!(c["failure"].is_null(), "{c}");
    }
    let causes = causes(&r);
    for c in ["tls-version-mismatch", "cipher-mismatch", "weak-tls"] {
        assert!(!causes.contains(&c.to_string()), "{c} in {causes:?}");
    }
}

/// Suites no Rust TLS library speaks: NULL encryption, anonymous DH, DHE, static RSA with CBC.
#[test]
fn weak_and_legacy_suites_are_enumerated_and_reported() {
    if !require("xrdp", "xrdp") {
        return;
    }
    let server =
        servers::xrdp(XrdpConfig::new("tls").protocols("TLSv1.2").ciphers(
            "NULL-SHA256:DHE-RSA-AES128-GCM-SHA256:ADH-AES128-SHA256:AES128-SHA:@SECLEVEL=0",
        ));
    let (_, r) = deep(&server.target());
    let e = enumeration(&r);
    let v = versions(e);
    assert_eq!(
        as_sets(&v)["TLSv1.2"],
        set(&[
            "TLS_RSA_WITH_NULL_SHA256",
            "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256",
            "TLS_DH_anon_WITH_AES_128_CBC_SHA256",
            "TLS_RSA_WITH_AES_128_CBC_SHA",
        ]),
        "{e}"
    );
    assert_elimination_bound(e);
    if let Some(theirs) = sslscan(server.port()) {
        assert_eq!(theirs, as_sets(&v), "sslscan disagrees");
    }
    let f = finding(&r, "weak-tls");
    let evidence = f["evidence"].to_string();
    assert!(
        evidence.contains("TLS_RSA_WITH_NULL_SHA256 (null_cipher"),
        "{f}"
    );
    assert!(
        evidence.contains("TLS_DH_anon_WITH_AES_128_CBC_SHA256 (anonymous"),
        "{f}"
    );
    assert_eq!(f["confidence"], "high");
    // Windows 11 still shares TLS_RSA_WITH_AES_128_CBC_SHA: no mismatch.
    assert!(!causes(&r).contains(&"cipher-mismatch".to_string()));
}

#[test]
fn tls13_only() {
    if !require("xrdp", "xrdp") {
        return;
    }
    let server = servers::xrdp(XrdpConfig::new("tls").protocols("TLSv1.3"));
    let (_, r) = deep(&server.target());
    let e = enumeration(&r);
    let v = versions(e);
    // OpenSSL 3's default TLS 1.3 suites (xrdp 0.9 has no setting for them).
    assert_eq!(
        as_sets(&v)["TLSv1.3"],
        set(&[
            "TLS_AES_256_GCM_SHA384",
            "TLS_CHACHA20_POLY1305_SHA256",
            "TLS_AES_128_GCM_SHA256",
        ]),
        "{e}"
    );
    for other in ["TLSv1.0", "TLSv1.1", "TLSv1.2"] {
        assert!(v[other].is_empty(), "{other}: {e}");
    }
    let groups = strings(&e["groups"]["TLSv1.3"]);
    assert!(groups.contains(&"x25519".to_string()), "{groups:?}");
    assert!(groups.contains(&"secp256r1".to_string()), "{groups:?}");
    assert_elimination_bound(e);
    if let Some(theirs) = sslscan(server.port()) {
        assert_eq!(
            theirs["TLSv1.3"],
            as_sets(&v)["TLSv1.3"],
            "sslscan disagrees"
        );
    }
    let win = &e["clients"][0];
    assert_eq!(win["version"], "TLSv1.3", "{win}");
    assert!(!causes(&r).contains(&"tls-version-mismatch".to_string()));
}

#[test]
fn the_text_report_has_a_compact_tls_section() {
    if !require("xrdp", "xrdp") {
        return;
    }
    let server = servers::xrdp(XrdpConfig::new("tls").protocols("TLSv1.2, TLSv1.3"));
    let run = rdpdoctor(&[
        "check",
        &server.target(),
        "--deep",
        "--max-parallel",
        "2",
        "--delay-ms",
        "5",
    ]);
    assert!(
        run.stdout.contains("TLS versions and cipher suites"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("TLSv1.3"));
    assert!(
        run.stdout
            .contains("Windows 11 mstsc / Windows App → TLSv1.3")
    );
    assert!(run.stdout.contains("TLSv1.0   refused"), "{}", run.stdout);
}

#[test]
fn without_deep_there_is_no_enumeration() {
    if !require("xrdp", "xrdp") {
        return;
    }
    let server = servers::xrdp(XrdpConfig::new("tls"));
    let (_, r) = check_json(&server.target(), &[]);
    assert!(r["evidence"]["tls"]["enumeration"].is_null());
    assert!(!causes(&r).contains(&"weak-tls".to_string()));
}

/// A proxy in front of a server that forwards the first `healthy` connections, then stalls
/// (accepts and never forwards) or closes every later one at once.
mod flaky {
    use std::io::{Read, Write};
    use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    pub enum Then {
        Stall,
        Close,
    }

    pub fn start(upstream: SocketAddr, healthy: usize, then: Then) -> SocketAddr {
        let l = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = l.local_addr().expect("addr");
        let n = Arc::new(AtomicUsize::new(0));
        std::thread::spawn(move || {
            let mut held = Vec::new();
            for c in l.incoming().flatten() {
                if n.fetch_add(1, Ordering::SeqCst) < healthy {
                    std::thread::spawn(move || relay(c, upstream));
                } else {
                    match then {
                        Then::Stall => held.push(c),
                        Then::Close => drop(c),
                    }
                }
            }
        });
        addr
    }

    fn relay(client: TcpStream, upstream: SocketAddr) {
        let Ok(server) = TcpStream::connect(upstream) else {
            return;
        };
        let _ = client.set_nodelay(true);
        let _ = server.set_nodelay(true);
        let (Ok(c2), Ok(s2)) = (client.try_clone(), server.try_clone()) else {
            return;
        };
        let pipe = |mut from: TcpStream, mut to: TcpStream| {
            let mut buf = [0u8; 16 * 1024];
            while let Ok(n) = from.read(&mut buf) {
                if n == 0 || to.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
            let _ = to.shutdown(Shutdown::Write);
        };
        let up = std::thread::spawn(move || pipe(client, server));
        pipe(s2, c2);
        let _ = up.join();
    }
}

/// The server stops answering mid-enumeration: the check ends within a few deadlines, keeps
/// what it learnt, names the incomplete versions and never presents an unknown version as
/// refused.
#[test]
fn a_server_that_stalls_or_closes_mid_enumeration_ends_it_with_what_was_learnt() {
    if !require("xrdp", "xrdp") {
        return;
    }
    let server = servers::xrdp(XrdpConfig::new("tls").protocols("TLSv1.2, TLSv1.3"));
    for then in [flaky::Then::Stall, flaky::Then::Close] {
        let stall = matches!(then, flaky::Then::Stall);
        // The normal check uses 2 connections (negotiation, TLS); then 8 enumeration probes.
        let proxy = flaky::start(server.addr, 10, then);
        let (run, r) = check_json(&proxy.to_string(), &["--deep", "--timeout", "1"]);
        assert!(
            run.elapsed < std::time::Duration::from_secs(20),
            "took {:?}",
            run.elapsed
        );
        let e = enumeration(&r);
        let incomplete = strings(&e["incomplete"]);
        assert!(!incomplete.is_empty(), "stall={stall}: {e}");
        assert!(
            strings(&e["notes"]).iter().any(|n| n.contains("stopped")),
            "{e}"
        );
        for v in &incomplete {
            if let Some(list) = e["versions"][v].as_array() {
                assert!(
                    !list.is_empty(),
                    "an incomplete version listed as refused: {e}"
                );
            }
        }
        // What the server said before it stopped stays.
        let known: usize = e["versions"]
            .as_object()
            .map(|o| o.values().map(|l| strings(l).len()).sum())
            .unwrap_or(0);
        assert!(known >= 1, "{e}");
        eprintln!(
            "stall={stall}: {:?}, {} connections, incomplete {incomplete:?}",
            run.elapsed, e["connections"]
        );
    }
}
