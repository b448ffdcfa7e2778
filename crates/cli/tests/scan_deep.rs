//! `scan --deep`: the TLS deep check per target, in the same document `check --deep` writes.

mod common;
use common::*;
use rdpdoctor_testkit::require;
use rdpdoctor_testkit::servers::{self, XrdpConfig};

#[test]
fn scan_with_deep_enumerates_tls_on_every_target() {
    if !require("xrdp", "xrdp") {
        return;
    }
    let tls10 = servers::xrdp(
        XrdpConfig::new("tls")
            .protocols("TLSv1")
            .ciphers("AES128-SHA:@SECLEVEL=0"),
    );
    let tls12 = servers::xrdp(
        XrdpConfig::new("tls")
            .protocols("TLSv1.2")
            .ciphers("ECDHE-RSA-AES128-GCM-SHA256"),
    );
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("results.jsonl");
    let run = rdpdoctor(&[
        "scan",
        &tls10.target(),
        &tls12.target(),
        "--deep",
        "--out",
        out.to_str().unwrap(),
        "--progress",
        "off",
    ]);
    assert!(matches!(run.code, 0 | 1), "{}{}", run.stdout, run.stderr);
    let lines: Vec<serde_json::Value> = std::fs::read_to_string(&out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    for doc in &lines {
        let e = &doc["evidence"]["tls"]["enumeration"];
        assert!(e["connections"].as_u64().is_some_and(|c| c > 0), "{e}");
        let versions = &e["versions"];
        if doc["target"]["port"] == tls10.port() {
            assert_eq!(
                strings(&versions["TLSv1.0"]),
                ["TLS_RSA_WITH_AES_128_CBC_SHA"],
                "{e}"
            );
            assert_eq!(strings(&versions["TLSv1.2"]), Vec::<String>::new());
        } else {
            assert_eq!(
                strings(&versions["TLSv1.2"]),
                ["TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"],
                "{e}"
            );
            assert_eq!(strings(&versions["TLSv1.0"]), Vec::<String>::new());
        }
    }
}
