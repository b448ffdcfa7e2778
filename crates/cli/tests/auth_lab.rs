//! `rdpdoctor check --user` against the lab: every refusal an authenticated check must name,
//! each from the server behaviour that produces it (a CredSSP errorCode, a Set Error Info code,
//! a licensing error, a redirection, an unpatched CredSSP server).
//!
//! The lab's CA is passed with `--ca-file`, so its certificates are trusted and credentials may
//! be sent; the account is `RDPLAB\labuser` / `LabPass123!`.

mod common;

use common::*;
use rdpdoctor_lab::{Lab, LabConfig, Scenario};
use serde_json::Value;

const PASSWORD: &str = "LabPass123!";
const WRONG: &str = "Not-The-Pa55word";

struct LabRun {
    lab: Lab,
    ca: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

fn lab(names: &[&str]) -> LabRun {
    let scenarios: Vec<Scenario> = names.iter().map(|n| n.parse().unwrap()).collect();
    let lab = Lab::start(&scenarios, LabConfig::default()).expect("lab starts");
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("lab-ca.pem");
    std::fs::write(&ca, lab.ca_certificate_pem()).unwrap();
    LabRun { lab, ca, _dir: dir }
}

impl LabRun {
    /// `check SCENARIO --format json --user RDPLAB\labuser` with this password.
    fn check(&self, scenario: &str, password: &str, extra: &[&str]) -> (Run, Value) {
        let target = self
            .lab
            .endpoint(scenario)
            .expect("scenario")
            .addr
            .to_string();
        let ca = self.ca.to_str().unwrap();
        let mut args = vec![
            "check",
            &target,
            "--format",
            "json",
            "--ca-file",
            ca,
            "--user",
            "RDPLAB\\labuser",
        ];
        args.extend_from_slice(extra);
        let run = rdpdoctor_env(&args, &[("RDPDOCTOR_PASSWORD", password)]);
        let v = run.json();
        (run, v)
    }
}

fn auth(r: &Value) -> &Value {
    &r["evidence"]["auth"]
}

#[test]
fn healthy_right_password_goes_through_the_whole_connection_sequence() {
    let l = lab(&["healthy"]);
    let (run, r) = l.check("healthy", PASSWORD, &[]);
    let a = auth(&r);
    assert_eq!(a["status"], "ok", "{a:#}");
    assert_eq!(a["outcome"], "connected");
    assert_eq!(a["connected"], true);
    assert_eq!(a["stage_reached"], "connection_finalization");
    assert_eq!(a["protocol"], "hybrid_ex");
    assert_eq!(a["credssp_version"], 6);
    assert_eq!(a["early_user_authorization"]["name"], "AUTHZ_SUCCESS");
    assert_eq!(a["tls"]["backend"], "rustls");
    assert_eq!(a["certificate"]["accepted_by"], "trust_store");
    assert_eq!(a["user"], "RDPLAB\\labuser");
    let stages: Vec<&str> = a["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["stage"].as_str().unwrap())
        .collect();
    assert_eq!(
        stages,
        [
            "tcp",
            "negotiation",
            "tls",
            "credssp",
            "early_user_authorization",
            "basic_settings_exchange",
            "channel_connection",
            "secure_settings_exchange",
            "licensing",
            "capabilities_exchange",
            "connection_finalization"
        ]
    );
    assert!(causes(&r).is_empty(), "{:?}", causes(&r));
    assert!(
        a["caveats"].to_string().contains("session"),
        "a completed sequence may leave a session behind, and the report says so: {a:#}"
    );
    assert_eq!(run.code, 0, "{}", run.stdout);
}

#[test]
fn auth_only_stops_after_credssp_and_early_user_authorization() {
    let l = lab(&["healthy"]);
    let (_, r) = l.check("healthy", PASSWORD, &["--auth-only"]);
    let a = auth(&r);
    assert_eq!(a["status"], "ok", "{a:#}");
    assert_eq!(a["outcome"], "authenticated");
    assert_eq!(a["auth_only"], true);
    assert_eq!(a["stage_reached"], "early_user_authorization");
    assert_eq!(a["connected"], false);
}

#[test]
fn wrong_password_is_status_logon_failure_and_credentials_rejected() {
    let l = lab(&["healthy"]);
    let (run, r) = l.check("healthy", WRONG, &[]);
    let a = auth(&r);
    assert_eq!(a["status"], "failed");
    assert_eq!(a["ntstatus"], "0xC000006D");
    assert_eq!(a["ntstatus_name"], "STATUS_LOGON_FAILURE");
    assert_eq!(a["stage_reached"], "tls");
    assert_eq!(a["stopped_in"], "credssp");
    assert_eq!(a["outcome"], "rejected");
    assert_eq!(a["error"]["kind"], "refusal");
    let f = finding(&r, "credentials-rejected");
    assert_eq!(f["confidence"], "high");
    assert_eq!(f["severity"], "blocker");
    assert_eq!(causes(&r), ["credentials-rejected"]);
    assert_eq!(run.code, 1);
}

#[test]
fn a_locked_account_is_named_from_its_ntstatus() {
    let l = lab(&["account-locked", "logon-error-0xc0000072"]);
    let (_, r) = l.check("account-locked", PASSWORD, &[]);
    assert_eq!(auth(&r)["ntstatus"], "0xC0000234");
    assert_eq!(causes(&r), ["account-locked"]);
    assert_eq!(finding(&r, "account-locked")["confidence"], "high");
    // STATUS_ACCOUNT_DISABLED
    let (_, r) = l.check("logon-error-0xc0000072", PASSWORD, &[]);
    assert_eq!(auth(&r)["ntstatus"], "0xC0000072");
    assert_eq!(causes(&r), ["account-restricted"]);
}

#[test]
fn deny_after_logon_with_0x7_is_server_denied_connection() {
    let l = lab(&["deny-login"]);
    let (run, r) = l.check("deny-login", PASSWORD, &[]);
    let a = auth(&r);
    assert_eq!(a["error_info"], 7);
    assert_eq!(a["error_info_name"], "ERRINFO_SERVER_DENIED_CONNECTION");
    assert_eq!(a["outcome"], "denied");
    assert_eq!(a["credentials_sent"], true);
    assert_eq!(a["stage_reached"], "secure_settings_exchange");
    assert_eq!(a["stopped_in"], "licensing");
    assert!(a["ntstatus"].is_null(), "the logon itself succeeded");
    assert_eq!(causes(&r), ["server-denied-connection"]);
    let f = finding(&r, "server-denied-connection");
    assert_eq!(f["confidence"], "high");
    assert!(
        f["evidence"].to_string().contains("0x7"),
        "{}",
        f["evidence"]
    );
    assert_eq!(run.code, 1);
}

#[test]
fn deny_after_logon_with_0x9_is_a_missing_logon_right() {
    let l = lab(&["deny-login-0x9"]);
    let (_, r) = l.check("deny-login-0x9", PASSWORD, &[]);
    assert_eq!(auth(&r)["error_info"], 9);
    assert_eq!(causes(&r), ["logon-right-missing"]);
    // The fix names the user it is about.
    let fix = finding(&r, "logon-right-missing")["fix"].to_string();
    assert!(fix.contains("labuser"), "{fix}");
}

#[test]
fn early_user_authorization_access_denied_is_a_missing_logon_right() {
    let l = lab(&["early-auth-denied"]);
    let (_, r) = l.check("early-auth-denied", PASSWORD, &[]);
    let a = auth(&r);
    assert_eq!(a["early_user_authorization"]["code"], 5, "{a:#}");
    assert_eq!(a["early_user_authorization"]["name"], "AUTHZ_ACCESS_DENIED");
    assert_eq!(a["stage_reached"], "credssp");
    assert_eq!(a["stopped_in"], "early_user_authorization");
    assert!(a["ntstatus"].is_null(), "the password was right");
    assert_eq!(causes(&r), ["logon-right-missing"]);
    assert_eq!(finding(&r, "logon-right-missing")["confidence"], "high");
}

#[test]
fn a_set_error_info_code_outside_every_table_is_kept_raw() {
    let l = lab(&["deny-login-0x8"]);
    let (_, r) = l.check("deny-login-0x8", PASSWORD, &[]);
    let a = auth(&r);
    assert_eq!(a["error_info"], 8, "{a:#}");
    assert!(a["error_info_name"].is_null());
    assert_eq!(causes(&r), ["server-error"]);
}

#[test]
fn a_licensing_error_is_licensing() {
    let l = lab(&["licensing-error"]);
    let (_, r) = l.check("licensing-error", PASSWORD, &[]);
    let a = auth(&r);
    assert_eq!(a["error_info"], 0x102);
    assert_eq!(a["license_error"]["name"], "ERR_NO_LICENSE");
    assert_eq!(a["license_error"]["code"], 2);
    assert_eq!(a["stopped_in"], "licensing");
    assert_eq!(causes(&r), ["licensing"]);
}

#[test]
fn a_redirection_is_reported_with_its_target() {
    let l = lab(&["redirect"]);
    let (run, r) = l.check("redirect", PASSWORD, &[]);
    let a = auth(&r);
    assert_eq!(a["status"], "ok", "{a:#}");
    assert_eq!(a["outcome"], "redirected");
    assert_eq!(a["redirection"]["target"], "labsrv02.rdplab.test");
    assert_eq!(a["redirection"]["target_netbios_name"], "LABSRV02");
    assert_eq!(
        a["redirection"]["load_balance_info"],
        "tsv://MS Terminal Services Plugin.1.LABSRV02"
    );
    assert_eq!(a["stage_reached"], "licensing");
    assert_eq!(run.code, 0);
    let text = rdpdoctor_env(
        &[
            "check",
            &l.lab.endpoint("redirect").unwrap().addr.to_string(),
            "--ca-file",
            l.ca.to_str().unwrap(),
            "--user",
            "RDPLAB\\labuser",
        ],
        &[("RDPDOCTOR_PASSWORD", PASSWORD)],
    );
    assert!(
        text.stdout.contains("redirect   to labsrv02.rdplab.test"),
        "{}",
        text.stdout
    );
}

#[test]
fn credssp_version_4_is_refused_before_the_authenticate_as_the_oracle_clash() {
    let l = lab(&["credssp-old"]);
    let (_, r) = l.check("credssp-old", PASSWORD, &[]);
    let a = auth(&r);
    assert_eq!(a["credssp_version"], 4);
    assert_eq!(a["outcome"], "withheld");
    assert_eq!(
        a["credentials_sent"], false,
        "an updated client stops before the NTLM AUTHENTICATE"
    );
    assert_eq!(a["stopped_in"], "credssp");
    let f = finding(&r, "credssp-oracle");
    assert_eq!(f["confidence"], "high");
    // The unauthenticated probe saw version 4 too; both detections merged into one finding.
    assert_eq!(causes(&r), ["credssp-oracle"]);
    assert!(
        f["evidence"].to_string().contains("no credential was sent"),
        "{}",
        f["evidence"]
    );
}

#[test]
fn a_server_without_nla_gets_the_password_in_client_info_with_a_caveat() {
    let l = lab(&["tls-only"]);
    let (_, r) = l.check("tls-only", PASSWORD, &[]);
    let a = auth(&r);
    assert_eq!(a["protocol"], "ssl");
    assert_eq!(a["outcome"], "connected");
    assert!(
        a["caveats"].to_string().contains("does not use NLA"),
        "{a:#}"
    );
    // --auth-only has nothing to test there, and sends nothing.
    let (_, r) = l.check("tls-only", PASSWORD, &["--auth-only"]);
    let a = auth(&r);
    assert_eq!(a["outcome"], "withheld");
    assert_eq!(a["credentials_sent"], false);
}

/// The hostile servers of the lab (oversized TPKT, 8 MiB certificate chain, broken DER, NTLM
/// offsets outside the message, a TSRequest nested 10,000 deep, resets mid-TLS) against an
/// authenticated check that trusts whatever certificate they show: it ends within its
/// deadlines with a typed error, never a panic, and never reports a logon that did not happen.
#[test]
fn hostile_servers_cannot_crash_or_fool_the_authenticated_check() {
    let names: Vec<String> = rdpdoctor_lab::Hostile::ALL
        .iter()
        .map(|h| h.name().to_string())
        .collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let l = lab(&refs);
    for name in &names {
        let started = std::time::Instant::now();
        let (run, r) = l.check(name, PASSWORD, &["--timeout", "2", "--trust-server-cert"]);
        assert!(!run.stderr.contains("panicked"), "{name}: {}", run.stderr);
        assert!(
            started.elapsed() < std::time::Duration::from_secs(20),
            "{name}: took {:?}",
            started.elapsed()
        );
        let a = auth(&r);
        assert_ne!(a["status"], "ok", "{name}: {a:#}");
        assert_ne!(a["connected"], true, "{name}");
        if a["status"] == "failed" {
            assert!(a["error"]["kind"].is_string(), "{name}: {a:#}");
        }
    }
}
