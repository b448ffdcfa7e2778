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
