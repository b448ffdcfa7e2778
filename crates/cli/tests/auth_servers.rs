//! `rdpdoctor check --user` against real servers: FreeRDP 2's shadow server with a SAM file
//! (NLA required) and xrdp restricted to TLS 1.0, which rustls cannot talk to.
//!
//! Their certificates are self-signed test certificates: the tests accept them by thumbprint
//! (`--cert-sha256`) or with `--trust-server-cert`, as an admin would after checking them.

mod common;

use common::*;
use rdpdoctor_testkit::require;
use rdpdoctor_testkit::servers::{self, Server, ShadowConfig, XrdpConfig};
use serde_json::Value;

const PASSWORD: &str = "LabPass123!";

/// The certificate's SHA-256 as an unauthenticated check reports it: what an admin reads,
/// verifies and passes with `--cert-sha256`.
fn thumbprint(server: &Server) -> String {
    let (_, r) = check_json(&server.target(), &[]);
    r["evidence"]["certificate"]["sha256"]
        .as_str()
        .expect("the probe reports the thumbprint")
        .to_string()
}

fn check(server: &Server, password: &str, extra: &[&str]) -> (Run, Value) {
    let target = server.target();
    let mut args = vec!["check", &target, "--format", "json", "--user", "labuser"];
    args.extend_from_slice(extra);
    let run = rdpdoctor_env(&args, &[("RDPDOCTOR_PASSWORD", password)]);
    let v = run.json();
    (run, v)
}

#[test]
fn freerdp_shadow_with_the_right_password_completes_the_sequence() {
    if !require("freerdp-shadow-cli", "freerdp2-shadow-x11") {
        return;
    }
    let shadow = servers::freerdp_shadow(ShadowConfig::nla("labuser", PASSWORD));
    let pin = thumbprint(&shadow);
    let (_, r) = check(&shadow, PASSWORD, &["--cert-sha256", &pin]);
    let a = &r["evidence"]["auth"];
    assert_eq!(a["status"], "ok", "{a:#}\n{}", shadow.log());
    assert_eq!(a["certificate"]["accepted_by"], "pinned_sha256");
    assert_eq!(a["protocol"], "hybrid", "FreeRDP 2 never selects HYBRID_EX");
    assert_eq!(a["credssp_version"], 6);
    // FreeRDP 2's shadow server goes all the way: a session would start.
    assert_eq!(a["outcome"], "connected");
    assert_eq!(a["stage_reached"], "connection_finalization");
    assert!(a["early_user_authorization"].is_null());
    assert!(
        !causes(&r).iter().any(|c| c == "credentials-rejected"),
        "{:?}",
        causes(&r)
    );

    let (_, r) = check(&shadow, PASSWORD, &["--cert-sha256", &pin, "--auth-only"]);
    let a = &r["evidence"]["auth"];
    assert_eq!(a["outcome"], "authenticated", "{a:#}");
    assert_eq!(a["stage_reached"], "credssp");
}

/// FreeRDP 2 answers a wrong password by closing the TLS connection, with no TSRequest
/// errorCode (its log says "Message Integrity Check (MIC) verification failed" /
/// SEC_E_MESSAGE_ALTERED). rdpdoctor says what it knows: rejected or refused, medium confidence.
#[test]
fn freerdp_shadow_with_a_wrong_password_is_credentials_rejected_at_medium_confidence() {
    if !require("freerdp-shadow-cli", "freerdp2-shadow-x11") {
        return;
    }
    let shadow = servers::freerdp_shadow(ShadowConfig::nla("labuser", PASSWORD));
    let (run, r) = check(&shadow, "Wr0ng-Pa55", &["--trust-server-cert"]);
    let a = &r["evidence"]["auth"];
    assert_eq!(a["status"], "failed", "{a:#}");
    assert_eq!(a["outcome"], "closed_without_reason");
    assert_eq!(a["stopped_in"], "credssp");
    assert_eq!(a["credentials_sent"], true);
    assert!(a["ntstatus"].is_null(), "FreeRDP 2 sends no errorCode");
    assert_eq!(a["error"]["kind"], "closed");
    let f = finding(&r, "credentials-rejected");
    assert_eq!(f["confidence"], "medium");
    assert!(
        f["summary"]
            .as_str()
            .unwrap()
            .contains("rejected or refused")
    );
    assert_eq!(run.code, 1);
    assert!(
        shadow.log().contains("client authentication failure"),
        "{}",
        shadow.log()
    );
}

/// xrdp with `ssl_protocols=TLSv1`: rustls gets a protocol_version alert, the attempt is
/// repeated with OpenSSL at security level 0, and the connector runs over TLS 1.0 straight into
/// MCS and licensing (xrdp has no NLA).
#[test]
fn xrdp_tls_1_0_only_is_reached_with_the_openssl_fallback() {
    if !require("xrdp", "xrdp") {
        return;
    }
    let xrdp = servers::xrdp(
        XrdpConfig::new("tls")
            .protocols("TLSv1")
            .ciphers("AES128-SHA:@SECLEVEL=0"),
    );
    let (_, r) = check(&xrdp, PASSWORD, &["--trust-server-cert"]);
    let a = &r["evidence"]["auth"];
    let tls = &a["tls"];
    if cfg!(windows) {
        assert_eq!(tls["backend"], "schannel");
    } else {
        assert_eq!(tls["backend"], "openssl", "{a:#}\n{}", xrdp.log());
        assert_eq!(tls["version"], "TLSv1.0");
        assert_eq!(tls["cipher_suite"], "TLS_RSA_WITH_AES_128_CBC_SHA");
    }
    assert!(
        tls["fallback_reason"]
            .as_str()
            .unwrap()
            .contains("protocol_version"),
        "{tls:#}"
    );
    assert_eq!(a["protocol"], "ssl");
    assert_eq!(a["outcome"], "connected", "{a:#}\n{}", xrdp.log());
    assert_eq!(a["stage_reached"], "connection_finalization");
    assert!(
        a["caveats"].to_string().contains("does not use NLA"),
        "{a:#}"
    );
    // The TLS finding comes from the probe; the fallback does not hide it.
    assert!(causes(&r).iter().any(|c| c == "tls-version-mismatch"));
    assert!(
        xrdp.log().contains("TLSv1 with cipher AES128-SHA"),
        "{}",
        xrdp.log()
    );
}
