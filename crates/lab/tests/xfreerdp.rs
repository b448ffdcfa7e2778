//! xfreerdp (FreeRDP 2, an independent client) against the lab, under an Xvfb started for this
//! test binary. Skips with a message when xfreerdp or Xvfb is missing.

mod common;

use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use common::tools::{self, Xvfb};
use rdpdoctor_lab::{Lab, Scenario};

struct Env {
    xfreerdp: PathBuf,
    display: String,
    home: tempfile::TempDir,
    // Dropped (and killed) with the test that started it.
    _xvfb: Xvfb,
    // The xfreerdp tests run one at a time: each has its own display, and two xfreerdp at
    // once only slow each other down on a small machine.
    _serial: MutexGuard<'static, ()>,
}

fn env() -> Option<Env> {
    static SERIAL: Mutex<()> = Mutex::new(());
    let serial = SERIAL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let xfreerdp = tools::tool("xfreerdp")?;
    let xvfb = Xvfb::start()?;
    // FreeRDP writes its known-hosts files under $HOME: keep them out of the real one.
    let home = tempfile::tempdir().ok()?;
    Some(Env {
        xfreerdp,
        display: xvfb.display.clone(),
        home,
        _xvfb: xvfb,
        _serial: serial,
    })
}

fn xfreerdp(env: &Env, lab: &Lab, scenario: &Scenario, password: &str, extra: &[&str]) -> Output {
    let addr = common::addr(lab, scenario);
    let mut cmd = Command::new(&env.xfreerdp);
    cmd.env("DISPLAY", &env.display)
        .env("HOME", env.home.path())
        .arg(format!("/v:{addr}"))
        .arg("/u:labuser")
        .arg(format!("/p:{password}"))
        .arg("/cert:ignore")
        .args(extra);
    let out = tools::run(&mut cmd, Duration::from_secs(60));
    eprintln!(
        "xfreerdp {scenario} {extra:?}: exit {:?}\n{}",
        out.status.code(),
        tools::text(&out)
    );
    out
}

#[test]
fn auth_only_succeeds_with_the_right_password_and_fails_with_a_wrong_one() {
    let Some(env) = &env() else { return };
    let lab = common::lab(&[
        Scenario::Healthy,
        Scenario::CREDSSP_OLD,
        Scenario::ACCOUNT_LOCKED,
    ]);
    let ok = xfreerdp(
        env,
        &lab,
        &Scenario::Healthy,
        "LabPass123!",
        &["+auth-only"],
    );
    assert_eq!(ok.status.code(), Some(0));
    assert!(tools::text(&ok).contains("Authentication only, exit status 0"));

    let wrong = xfreerdp(
        env,
        &lab,
        &Scenario::Healthy,
        "wrong-password",
        &["+auth-only"],
    );
    assert_ne!(wrong.status.code(), Some(0));
    assert!(tools::text(&wrong).contains("STATUS_LOGON_FAILURE [0xC000006D]"));

    // FreeRDP 2 speaks CredSSP 6; against a version-4 server it falls back to the v2-4 binding.
    let old = xfreerdp(
        env,
        &lab,
        &Scenario::CREDSSP_OLD,
        "LabPass123!",
        &["+auth-only"],
    );
    assert_eq!(old.status.code(), Some(0));

    let locked = xfreerdp(
        env,
        &lab,
        &Scenario::ACCOUNT_LOCKED,
        "LabPass123!",
        &["+auth-only"],
    );
    assert_ne!(locked.status.code(), Some(0));
    assert!(tools::text(&locked).to_lowercase().contains("0xc0000234"));
}

#[test]
fn negotiation_failures_are_named_by_freerdp() {
    let Some(env) = &env() else { return };
    let lab = common::lab(&[
        Scenario::NlaRequired,
        Scenario::CertNotOnServer,
        Scenario::RdpOnly,
    ]);
    for (scenario, text) in [
        (Scenario::NlaRequired, "HYBRID_REQUIRED_BY_SERVER"),
        (Scenario::CertNotOnServer, "SSL_CERT_NOT_ON_SERVER"),
        (Scenario::RdpOnly, "SSL_NOT_ALLOWED_BY_SERVER"),
    ] {
        let out = xfreerdp(
            env,
            &lab,
            &scenario,
            "LabPass123!",
            &["/sec:tls", "+auth-only"],
        );
        assert_ne!(out.status.code(), Some(0));
        assert!(
            tools::text(&out).contains(text),
            "{scenario}: expected {text}"
        );
    }
}

#[test]
fn set_error_info_after_logon_is_reported_by_freerdp() {
    let Some(env) = &env() else { return };
    let deny9 = Scenario::DenyLogin { error_info: 0x9 };
    let lab = common::lab(&[Scenario::DENY_LOGIN, deny9.clone()]);
    for (scenario, text) in [
        (Scenario::DENY_LOGIN, "ERRINFO_SERVER_DENIED_CONNECTION"),
        (deny9, "ERRINFO_SERVER_INSUFFICIENT_PRIVILEGES"),
    ] {
        let out = xfreerdp(env, &lab, &scenario, "LabPass123!", &[]);
        assert_ne!(out.status.code(), Some(0));
        assert!(
            tools::text(&out).contains(text),
            "{scenario}: expected {text}"
        );
    }
}

#[test]
fn redirection_is_parsed_by_freerdp() {
    let Some(env) = &env() else { return };
    let lab = common::lab(&[Scenario::redirect()]);
    let out = xfreerdp(
        env,
        &lab,
        &Scenario::redirect(),
        "LabPass123!",
        &["/log-level:DEBUG"],
    );
    let text = tools::text(&out);
    assert!(
        text.contains("LB_TARGET_FQDN"),
        "redirection flags not logged"
    );
    assert!(text.contains("TargetFQDN: labsrv02.rdplab.test"));
}
