//! Full logons against the lab with an independent RDP client (ironrdp-connector + sspi), and
//! with xfreerdp where it applies.

mod common;

use common::rdp_client::connect;
use rdpdoctor_lab::{LabCredentials, Scenario};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthy_accepts_the_lab_account_through_the_whole_sequence() {
    let lab = common::lab(&[Scenario::Healthy]);
    let account = LabCredentials::default();
    let attempt = connect(
        common::addr(&lab, &Scenario::Healthy),
        &account.username,
        &account.password,
        true,
    )
    .await;
    assert!(attempt.connected, "{attempt:?}");
    assert!(attempt.error_info.is_empty(), "{attempt:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_password_gets_status_logon_failure() {
    let lab = common::lab(&[Scenario::Healthy]);
    let attempt = connect(
        common::addr(&lab, &Scenario::Healthy),
        "labuser",
        "not-the-password",
        true,
    )
    .await;
    assert!(!attempt.connected);
    assert_eq!(attempt.stage, "Credssp", "{attempt:?}");
    assert_eq!(attempt.credssp_status, Some(0xC000_006D), "{attempt:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deny_login_sends_the_chosen_set_error_info_after_logon() {
    let deny9 = Scenario::DenyLogin { error_info: 0x9 };
    let lab = common::lab(&[Scenario::DENY_LOGIN, deny9.clone()]);
    for (scenario, code) in [(Scenario::DENY_LOGIN, 0x7), (deny9, 0x9)] {
        let attempt = connect(
            common::addr(&lab, &scenario),
            "labuser",
            "LabPass123!",
            true,
        )
        .await;
        assert!(!attempt.connected, "{attempt:?}");
        assert_eq!(
            attempt.credssp_status, None,
            "logon itself succeeds: {attempt:?}"
        );
        assert_eq!(attempt.error_info, vec![code], "{scenario}: {attempt:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn licensing_error_sends_no_license_and_errinfo_0x102() {
    let lab = common::lab(&[Scenario::LICENSING_ERROR]);
    let attempt = connect(
        common::addr(&lab, &Scenario::LICENSING_ERROR),
        "labuser",
        "LabPass123!",
        true,
    )
    .await;
    assert!(!attempt.connected, "{attempt:?}");
    assert_eq!(
        attempt.license_error,
        Some(2),
        "ERR_NO_LICENSE: {attempt:?}"
    );
    assert_eq!(attempt.error_info, vec![0x102], "{attempt:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redirect_sends_a_server_redirection_pdu() {
    let lab = common::lab(&[Scenario::redirect()]);
    let attempt = connect(
        common::addr(&lab, &Scenario::redirect()),
        "labuser",
        "LabPass123!",
        true,
    )
    .await;
    assert_eq!(attempt.stage, "Redirected", "{attempt:?}");
    assert_eq!(
        attempt.redirected_to.as_deref(),
        Some(rdpdoctor_lab::DEFAULT_REDIRECT_TARGET)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn account_locked_rejects_even_the_right_password() {
    let lab = common::lab(&[Scenario::ACCOUNT_LOCKED]);
    let attempt = connect(
        common::addr(&lab, &Scenario::ACCOUNT_LOCKED),
        "labuser",
        "LabPass123!",
        true,
    )
    .await;
    assert!(!attempt.connected);
    assert_eq!(attempt.credssp_status, Some(0xC000_0234), "{attempt:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn old_and_v5_credssp_servers_still_log_on() {
    // A current client talks to an unpatched (v4) server with the v2-4 public key echo, and
    // to a v5 server with the hash binding; both must work (the "Mitigated" default).
    let v5 = Scenario::Credssp { version: 5 };
    let lab = common::lab(&[Scenario::CREDSSP_OLD, v5.clone()]);
    for scenario in [Scenario::CREDSSP_OLD, v5] {
        let attempt = connect(
            common::addr(&lab, &scenario),
            "labuser",
            "LabPass123!",
            true,
        )
        .await;
        assert!(attempt.connected, "{scenario}: {attempt:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_only_connects_without_credssp() {
    let lab = common::lab(&[Scenario::TlsOnly, Scenario::NlaRequired]);
    let attempt = connect(
        common::addr(&lab, &Scenario::TlsOnly),
        "labuser",
        "LabPass123!",
        false,
    )
    .await;
    assert!(attempt.connected, "{attempt:?}");
    // The same client without CredSSP is refused by the NLA-required server at negotiation.
    let refused = connect(
        common::addr(&lab, &Scenario::NlaRequired),
        "labuser",
        "LabPass123!",
        false,
    )
    .await;
    assert!(!refused.connected);
    assert!(
        refused
            .error
            .as_deref()
            .unwrap_or_default()
            .starts_with("negotiation"),
        "{refused:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn xrdp_and_freerdp_imitations_complete_their_own_security() {
    let lab = common::lab(&[Scenario::Xrdp, Scenario::FreeRdpNla]);
    // xrdp never selects CredSSP: a client offering it gets TLS and logs on in Client Info.
    let xrdp = connect(
        common::addr(&lab, &Scenario::Xrdp),
        "labuser",
        "LabPass123!",
        true,
    )
    .await;
    assert!(xrdp.connected, "{xrdp:?}");
    // FreeRDP's shadow server selects plain HYBRID (no Early User Authorization Result).
    let freerdp = connect(
        common::addr(&lab, &Scenario::FreeRdpNla),
        "labuser",
        "LabPass123!",
        true,
    )
    .await;
    assert!(freerdp.connected, "{freerdp:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn early_auth_denied_answers_hybrid_ex_with_access_denied() {
    let lab = common::lab(&[Scenario::EarlyAuthDenied]);
    let attempt = connect(
        common::addr(&lab, &Scenario::EarlyAuthDenied),
        "labuser",
        "LabPass123!",
        true,
    )
    .await;
    assert!(!attempt.connected);
    assert_eq!(attempt.stage, "Credssp", "{attempt:?}");
    assert_eq!(attempt.credssp_status, None, "the password was right");
    assert!(
        attempt
            .error
            .as_deref()
            .unwrap_or_default()
            .contains("access denied"),
        "ironrdp-connector reads AUTHZ_ACCESS_DENIED: {attempt:?}"
    );
}
