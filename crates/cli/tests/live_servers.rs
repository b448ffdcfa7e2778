//! `rdpdoctor check` against real RDP servers started on loopback by the test itself:
//! xrdp in its three security modes and with broken certificates, the FreeRDP shadow server
//! requiring NLA, a closed port and a listener that never answers.

mod common;

use common::*;
use rdpdoctor_testkit::certs::CertSpec;
use rdpdoctor_testkit::servers::{self, ShadowConfig, XrdpConfig};
use rdpdoctor_testkit::{listeners, require};

#[test]
fn xrdp_in_negotiate_mode_offers_tls_and_standard_security_but_not_nla() {
    if !require("xrdp", "xrdp") {
        return;
    }
    let server = servers::xrdp(XrdpConfig::new("negotiate"));
    let (run, r) = check_json(&server.target(), &[]);
    let ev = &r["evidence"];
    assert_eq!(
        strings(&ev["negotiation"]["supported"]),
        ["rdp", "ssl"],
        "xrdp never selects HYBRID (nmap claims it does)"
    );
    assert_eq!(ev["negotiation"]["selected"], "ssl");
    assert_eq!(ev["negotiation"]["connections"], 2);
    assert!(
        ev["negotiation"]["server_hint"]
            .as_str()
            .unwrap_or("")
            .starts_with("xrdp")
    );
    assert_eq!(ev["tls"]["status"], "ok");
    assert_eq!(ev["tls"]["version"], "TLSv1.3");
    assert_eq!(ev["credssp"]["status"], "skipped");
    assert_eq!(ev["certificate"]["self_signed"], true);
    assert_eq!(ev["certificate"]["sha256"].as_str().map(str::len), Some(64));
    assert_eq!(ev["certificate"]["sha1"].as_str().map(str::len), Some(40));
    assert!(
        !causes(&r)
            .iter()
            .any(|c| c.starts_with("cert-expired") || c == "nla-required"),
        "{:?}",
        causes(&r)
    );
    assert_eq!(finding(&r, "cert-untrusted")["severity"], "risk");
    assert_eq!(run.code, 1, "a self-signed certificate is a risk");
}

#[test]
fn xrdp_tls_only_refuses_standard_security() {
    if !require("xrdp", "xrdp") {
        return;
    }
    let server = servers::xrdp(XrdpConfig::new("tls"));
    let (_, r) = check_json(&server.target(), &[]);
    let n = &r["evidence"]["negotiation"];
    assert_eq!(strings(&n["supported"]), ["ssl"]);
    assert_eq!(n["failures"]["rdp"], "SSL_REQUIRED_BY_SERVER");
    assert_eq!(finding(&r, "tls-required")["severity"], "info");
}

#[test]
fn xrdp_rdp_only_is_standard_security_only() {
    if !require("xrdp", "xrdp") {
        return;
    }
    let server = servers::xrdp(XrdpConfig::new("rdp"));
    let (run, r) = check_json(&server.target(), &[]);
    let n = &r["evidence"]["negotiation"];
    assert_eq!(strings(&n["supported"]), ["rdp"]);
    assert_eq!(n["connections"], 1);
    assert_eq!(strings(&n["downgraded"]), ["ssl", "hybrid", "hybrid_ex"]);
    assert_eq!(r["evidence"]["tls"]["status"], "skipped");
    let f = finding(&r, "tls-not-allowed");
    assert_eq!(f["severity"], "blocker");
    assert_eq!(f["confidence"], "high");
    assert_eq!(run.code, 1);
}

#[test]
fn xrdp_with_an_expired_certificate_is_diagnosed_as_cert_expired() {
    if !require("xrdp", "xrdp") {
        return;
    }
    let server = servers::xrdp(XrdpConfig::new("tls").cert(CertSpec::expired("localhost")));
    let (run, r) = check_json(&server.target(), &[]);
    let cert = &r["evidence"]["certificate"];
    assert_eq!(cert["not_before"], "2020-01-01T00:00:00Z");
    assert_eq!(cert["not_after"], "2021-01-01T00:00:00Z");
    assert_eq!(
        causes(&r).first().map(String::as_str),
        Some("cert-expired"),
        "the expired certificate leads"
    );
    let f = finding(&r, "cert-expired");
    assert_eq!(
        (f["severity"].as_str(), f["confidence"].as_str()),
        (Some("blocker"), Some("high"))
    );
    assert!(
        !f["fix"]["steps"]
            .as_array()
            .map(Vec::is_empty)
            .unwrap_or(true),
        "the fix has steps"
    );
    assert_eq!(run.code, 1);
}

#[test]
fn xrdp_without_its_certificate_answers_ssl_cert_not_on_server() {
    if !require("xrdp", "xrdp") {
        return;
    }
    let server = servers::xrdp(XrdpConfig::new("tls").missing_cert());
    let (run, r) = check_json(&server.target(), &[]);
    let n = &r["evidence"]["negotiation"];
    assert_eq!(n["failures"]["ssl"], "SSL_CERT_NOT_ON_SERVER");
    assert_eq!(
        n["failures"]["ssl|hybrid|hybrid_ex"],
        "SSL_CERT_NOT_ON_SERVER"
    );
    assert_eq!(finding(&r, "cert-not-on-server")["severity"], "blocker");
    assert_eq!(run.code, 1);
}

#[test]
fn freerdp_shadow_requiring_nla_is_probed_through_credssp() {
    if !require("freerdp-shadow-cli", "freerdp2-shadow-x11")
        || !require("Xvfb", "xvfb")
        || !require("winpr-hash", "winpr-utils")
    {
        return;
    }
    let server = servers::freerdp_shadow(ShadowConfig::nla("labuser", "LabPass123!"));
    let (_, r) = check_json(&server.target(), &[]);
    let ev = &r["evidence"];
    assert_eq!(strings(&ev["negotiation"]["supported"]), ["hybrid"]);
    assert_eq!(
        ev["negotiation"]["failures"]["ssl"],
        "HYBRID_REQUIRED_BY_SERVER"
    );
    assert_eq!(
        ev["negotiation"]["failures"]["rdp"],
        "HYBRID_REQUIRED_BY_SERVER"
    );
    assert_eq!(
        ev["credssp"]["status"],
        "ok",
        "{}",
        serde_json::to_string_pretty(&ev["credssp"]).unwrap_or_default()
    );
    assert_eq!(ev["credssp"]["version"], 6);
    assert!(
        ev["credssp"]["ntlm"]["netbios_computer_name"]
            .as_str()
            .is_some_and(|s| !s.is_empty())
    );
    assert_eq!(ev["credssp"]["ntlm"]["os_version"], "6.1.7601");
    assert_eq!(finding(&r, "nla-required")["severity"], "info");
    assert!(!causes(&r).contains(&"credssp-oracle".to_string()));
}

#[test]
fn a_closed_port_is_port_closed() {
    let addr = listeners::closed_port();
    let (run, r) = check_json(&addr.to_string(), &[]);
    assert_eq!(r["evidence"]["tcp"]["status"], "failed");
    assert_eq!(r["evidence"]["tcp"]["error"]["kind"], "refused");
    assert_eq!(r["target"]["port"], addr.port());
    assert_eq!(causes(&r), ["port-closed"]);
    assert_eq!(run.code, 1);
}

#[test]
fn a_listener_that_never_answers_ends_within_the_deadline() {
    let silent = listeners::SilentListener::start();
    let (run, r) = check_json(&silent.addr.to_string(), &["--timeout", "1"]);
    assert_eq!(r["evidence"]["tcp"]["status"], "ok");
    assert_eq!(r["evidence"]["negotiation"]["status"], "failed");
    assert_eq!(r["evidence"]["negotiation"]["error"]["kind"], "timeout");
    assert_eq!(
        finding(&r, "dropped-after-accept")["cause"],
        "dropped-after-accept"
    );
    assert!(run.elapsed.as_secs_f64() < 5.0, "took {:?}", run.elapsed);
    assert_eq!(run.code, 1);
}

#[test]
fn xrdp_speaking_only_tls_1_0_still_shows_its_certificate_and_is_a_version_mismatch() {
    if !require("xrdp", "xrdp") {
        return;
    }
    let server = servers::xrdp(
        XrdpConfig::new("tls")
            .protocols("TLSv1")
            .ciphers("AES128-SHA:@SECLEVEL=0"),
    );
    let (run, r) = check_json(&server.target(), &[]);
    let tls = &r["evidence"]["tls"];
    assert_eq!(
        tls["status"],
        "ok",
        "{}",
        serde_json::to_string_pretty(tls).unwrap_or_default()
    );
    assert_eq!(tls["version"], "TLSv1.0");
    assert_eq!(tls["cipher_suite"], "TLS_RSA_WITH_AES_128_CBC_SHA");
    assert_eq!(tls["client"], "legacy_hello");
    assert_eq!(tls["modern_handshake_ok"], false);
    assert_eq!(
        r["evidence"]["certificate"]["common_name"], "localhost",
        "the certificate is read from the plaintext handshake"
    );
    assert_eq!(finding(&r, "tls-version-mismatch")["severity"], "blocker");
    assert!(!causes(&r).contains(&"tls-handshake-broken".to_string()));
    assert_eq!(run.code, 1);
}

#[test]
fn xrdp_that_cannot_load_its_small_key_breaks_the_tls_handshake() {
    if !require("xrdp", "xrdp") {
        return;
    }
    let mut spec = CertSpec::valid("localhost");
    spec.rsa_bits = 1024;
    let server = servers::xrdp(XrdpConfig::new("tls").cert(spec));
    let (run, r) = check_json(&server.target(), &[]);
    let tls = &r["evidence"]["tls"];
    assert_eq!(
        tls["status"],
        "failed",
        "{}",
        serde_json::to_string_pretty(tls).unwrap_or_default()
    );
    assert_eq!(
        strings(&r["evidence"]["negotiation"]["supported"]),
        ["ssl"],
        "negotiation is kept"
    );
    let f = finding(&r, "tls-handshake-broken");
    assert_eq!(f["severity"], "blocker");
    assert!(
        tls["error"]["seen"]["head_hex"]
            .as_str()
            .unwrap_or("")
            .starts_with("0300"),
        "xrdp answers in plaintext: {tls}"
    );
    assert_eq!(run.code, 1);
}
