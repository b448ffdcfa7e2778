//! Rules on the authenticated attempt (`evidence.auth`): what the server said when rdpdoctor
//! logged on with the user's credentials.
//!
//! The codes decide, through the knowledge base's tables (`codes::status`, `codes::errinfo`,
//! `codes::authz_result` and their `causes()`), not through mappings kept here. A code the
//! server sent is direct evidence (high confidence); a connection the server closed without
//! any code is not, and the finding says what is and is not known. The offline rules in
//! `host.rs` detect the same causes from event logs; findings of one cause merge.

use super::{Detection, Rule, RuleContext};
use crate::diagnose::Confidence;
use crate::evidence::{AuthAttempt, AuthOutcome, ConnectionStage};
use rdpdoctor_kb::CodeEntry;

pub static RULES: &[Rule] = &[
    Rule {
        cause: "credentials-rejected",
        evaluate: credentials_rejected,
    },
    Rule {
        cause: "account-locked",
        evaluate: account_locked,
    },
    Rule {
        cause: "account-restricted",
        evaluate: account_restricted,
    },
    Rule {
        cause: "logon-right-missing",
        evaluate: logon_right_missing,
    },
    Rule {
        cause: "server-denied-connection",
        evaluate: server_denied_connection,
    },
    Rule {
        cause: "licensing",
        evaluate: licensing,
    },
    Rule {
        cause: "server-error",
        evaluate: server_error,
    },
    Rule {
        cause: "credssp-oracle",
        evaluate: credssp_oracle,
    },
];

/// The causes a refused logon (NTSTATUS, SSPI status, Early User Authorization) can point to.
const LOGON_CAUSES: &[&str] = &[
    "credentials-rejected",
    "account-locked",
    "account-restricted",
    "logon-right-missing",
];

/// The causes a Set Error Info code can point to; anything else is `server-error`.
const ERRINFO_CAUSES: &[&str] = &[
    "server-denied-connection",
    "logon-right-missing",
    "licensing",
    "server-error",
];

fn attempt<'a>(ctx: &RuleContext<'a>) -> Option<&'a AuthAttempt> {
    ctx.evidence.auth.observed()
}

/// The first of the code's causes (most likely first) among `allowed`.
fn first_cause(entry: Option<&CodeEntry>, allowed: &[&'static str]) -> Option<&'static str> {
    entry?
        .causes()
        .iter()
        .find_map(|c| allowed.iter().find(|a| **a == c.as_str()).copied())
}

/// The account name without its domain, for the fix's commands.
fn bare_user(a: &AuthAttempt) -> Option<String> {
    let user = a.user.as_deref()?;
    Some(user.rsplit('\\').next().unwrap_or(user).to_string())
}

fn with_user(d: Detection, a: &AuthAttempt) -> Detection {
    match bare_user(a) {
        Some(u) => d.param("user", u),
        None => d,
    }
}

/// What the attempt got through, as the first evidence line of every finding.
fn how_far(a: &AuthAttempt) -> String {
    let user = a.user.as_deref().unwrap_or("the user");
    let reached = a.stage_reached.as_deref().unwrap_or("nothing");
    match &a.stopped_in {
        Some(s) => format!(
            "authenticated check as {user}: stopped in {s} (last stage completed: {reached})"
        ),
        None => format!("authenticated check as {user}: last stage completed: {reached}"),
    }
}

/// A logon refused with a status code: the server's NTSTATUS (TSRequest.errorCode), our SSPI
/// status, or an Early User Authorization result other than success.
fn logon_refusal(a: &AuthAttempt, cause: &str) -> Option<Detection> {
    let mut lines = Vec::new();
    let mut confidence = None;
    let mut consider = |entry: Option<&'static CodeEntry>, raw: String, what: &str| {
        let (pointed, conf) = match first_cause(entry, LOGON_CAUSES) {
            Some(c) => (c, Confidence::High),
            // A status the tables do not tie to an account cause: the logon was refused,
            // which is all that is known.
            None => ("credentials-rejected", Confidence::Low),
        };
        if pointed != cause {
            return;
        }
        let name = entry.map(|e| e.name.as_str()).unwrap_or("unknown code");
        let meaning = entry
            .map(|e| format!(": {}", e.description))
            .unwrap_or_default();
        lines.push(format!("{what} {raw} {name}{meaning}"));
        confidence = confidence.max(Some(conf));
    };
    if let Some(code) = a.ntstatus_value() {
        consider(
            rdpdoctor_kb::codes::status(code),
            format!("0x{code:08X}"),
            "the server refused the CredSSP logon with NTSTATUS",
        );
    }
    if a.ntstatus.is_none()
        && let Some(code) = a.sec_status_value()
        && let Some(entry) = rdpdoctor_kb::codes::hresult(code).filter(|e| !e.causes().is_empty())
    {
        consider(
            Some(entry),
            format!("0x{code:08X}"),
            "the logon failed on the client side with",
        );
    }
    if let Some(e) = a.early_user_authorization.as_ref().filter(|e| e.code != 0) {
        consider(
            rdpdoctor_kb::codes::authz_result(e.code),
            format!("0x{:08X}", e.code),
            "after accepting the credentials, the server's Early User Authorization Result was",
        );
    }
    let confidence = confidence?;
    let summary = match cause {
        "account-locked" => "The server refused the logon because the account is locked out.",
        "account-restricted" => {
            "The password was checked, but the account may not log on now (disabled, expired, password expired or must change, logon hours or workstation restriction)."
        }
        "logon-right-missing" => {
            "The credentials are right, but the user may not log on through Remote Desktop on this server."
        }
        _ if confidence == Confidence::Low => {
            "The server refused the logon with a status rdpdoctor cannot tie to a specific account problem."
        }
        _ => "The server rejected the user name or password.",
    };
    let mut d = Detection::new(confidence, summary).evidence(how_far(a));
    for l in lines {
        d = d.evidence(l);
    }
    Some(with_user(d, a))
}

fn credentials_rejected(ctx: &RuleContext<'_>) -> Option<Detection> {
    let a = attempt(ctx)?;
    if let Some(d) = logon_refusal(a, "credentials-rejected") {
        return Some(d);
    }
    closed_after_authenticate(a)
}

/// The server closed the connection right after our NTLM AUTHENTICATE, without an errorCode.
/// FreeRDP-based servers answer a wrong password exactly this way (and CredSSP below version 3
/// has no errorCode at all), but a close there can have other reasons, so the finding says
/// "rejected or refused" and stays at medium confidence.
fn closed_after_authenticate(a: &AuthAttempt) -> Option<Detection> {
    let in_logon = a.stopped_in.as_deref() == Some(ConnectionStage::Credssp.as_str());
    if a.outcome != AuthOutcome::ClosedWithoutReason || !a.credentials_sent || !in_logon {
        return None;
    }
    let version = a
        .credssp_version
        .map(|v| format!("CredSSP version {v}"))
        .unwrap_or_else(|| "CredSSP".into());
    let d = Detection::new(
        Confidence::Medium,
        "The credentials were rejected or refused: the server ended the logon right after receiving them, without saying why.",
    )
    .evidence(how_far(a))
    .evidence(format!(
        "the server ({version}) closed the connection after the NTLM AUTHENTICATE, with no TSRequest errorCode"
    ))
    .evidence(
        "known: servers built on FreeRDP do this for a wrong user name or password; not known: the exact reason (the server's own log has it)",
    );
    Some(with_user(d, a))
}

fn account_locked(ctx: &RuleContext<'_>) -> Option<Detection> {
    logon_refusal(attempt(ctx)?, "account-locked")
}

fn account_restricted(ctx: &RuleContext<'_>) -> Option<Detection> {
    logon_refusal(attempt(ctx)?, "account-restricted")
}

fn logon_right_missing(ctx: &RuleContext<'_>) -> Option<Detection> {
    let a = attempt(ctx)?;
    logon_refusal(a, "logon-right-missing").or_else(|| set_error_info(a, "logon-right-missing"))
}

fn server_denied_connection(ctx: &RuleContext<'_>) -> Option<Detection> {
    set_error_info(attempt(ctx)?, "server-denied-connection")
}

fn server_error(ctx: &RuleContext<'_>) -> Option<Detection> {
    set_error_info(attempt(ctx)?, "server-error")
}

/// The cause a Set Error Info code points to (the knowledge base's first cause among those a
/// Set Error Info can mean; any other code is a `server-error`).
fn errinfo_cause(code: u32) -> &'static str {
    first_cause(rdpdoctor_kb::codes::errinfo(code), ERRINFO_CAUSES).unwrap_or("server-error")
}

fn set_error_info(a: &AuthAttempt, cause: &str) -> Option<Detection> {
    let code = a.error_info?;
    if errinfo_cause(code) != cause {
        return None;
    }
    let entry = rdpdoctor_kb::codes::errinfo(code);
    let name = entry
        .map(|e| e.name.clone())
        .unwrap_or_else(|| "a code rdpdoctor does not know".into());
    let summary = match cause {
        "server-denied-connection" => {
            "The server accepted the credentials, then denied the connection (Set Error Info 0x7, the \"extended error 0x7\" of mstsc's 0x904): drain mode, logons disabled, session limits or policy."
                .to_string()
        }
        "logon-right-missing" => {
            "The credentials are right, but the server ended the connection because the user may not log on through Remote Desktop (insufficient privileges)."
                .to_string()
        }
        "licensing" => licensing_summary(code),
        _ => format!(
            "The server ended the connection with Set Error Info 0x{code:X} ({name}) after the logon."
        ),
    };
    let confidence = if entry.is_some() {
        Confidence::High
    } else {
        Confidence::Medium
    };
    let mut d = Detection::new(confidence, summary)
        .evidence(how_far(a))
        .evidence(format!(
            "the server sent Set Error Info 0x{code:X} ({name}){}",
            entry
                .map(|e| format!(": {}", e.description))
                .unwrap_or_default()
        ))
        .param("code", format!("0x{code:X}"));
    if let Some(l) = &a.license_error {
        d = d.evidence(license_line(l));
    }
    if let Some(r) = &a.disconnect_reason {
        d = d.evidence(format!("then an MCS disconnect ({r})"));
    }
    Some(with_user(d, a))
}

fn licensing_summary(code: u32) -> String {
    format!(
        "The logon succeeded, then Remote Desktop licensing failed (Set Error Info 0x{code:X}): no licence could be issued for this connection."
    )
}

fn license_line(l: &crate::evidence::LicenseError) -> String {
    format!(
        "the server sent the licensing error {} (0x{:X}, state transition {})",
        l.name, l.code, l.state_transition
    )
}

fn licensing(ctx: &RuleContext<'_>) -> Option<Detection> {
    let a = attempt(ctx)?;
    if let Some(d) = set_error_info(a, "licensing") {
        return Some(d);
    }
    // A licensing error without a Set Error Info code (the server did not send one, or the
    // client did not announce support for it).
    let l = a.license_error.as_ref()?;
    Some(
        Detection::new(
            Confidence::High,
            "The logon succeeded, then Remote Desktop licensing failed: the server sent a licensing error instead of a licence.",
        )
        .evidence(how_far(a))
        .evidence(license_line(l)),
    )
}

/// The attempt stopped before the NTLM AUTHENTICATE because the server's CredSSP lacks the
/// CVE-2018-0886 fix: exactly where an updated Windows client refuses it.
fn credssp_oracle(ctx: &RuleContext<'_>) -> Option<Detection> {
    let a = attempt(ctx)?;
    let v = a
        .credssp_version
        .filter(|v| *v < crate::probe::auth::MIN_SERVER_CREDSSP_VERSION)?;
    if a.outcome != AuthOutcome::Withheld {
        return None;
    }
    Some(
        Detection::new(
            Confidence::High,
            format!("The logon cannot happen from an updated client: the server speaks CredSSP version {v}, without the CVE-2018-0886 fix, and updated clients (\"Mitigated\" or \"Force Updated Clients\") refuse it before sending credentials."),
        )
        .evidence(how_far(a))
        .evidence(format!(
            "the server's CredSSP answer carried TSRequest version {v}; rdpdoctor stopped before the NTLM AUTHENTICATE, as an updated mstsc does (no credential was sent)"
        ))
        .param("version", v.to_string()),
    )
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use crate::diagnose::Confidence;
    use crate::evidence::*;
    use std::time::Duration;

    fn failed(a: AuthAttempt) -> Evidence {
        let mut ev = evidence();
        ev.auth = Stage::failed_with(
            StageError::new(
                StageName::Auth,
                ErrorKind::Refusal,
                Duration::from_millis(5),
                "refused",
            ),
            a,
        );
        ev
    }

    fn logon(status: u32) -> AuthAttempt {
        AuthAttempt {
            user: Some("CONTOSO\\alice".into()),
            stage_reached: Some("tls".into()),
            stopped_in: Some("credssp".into()),
            outcome: AuthOutcome::Rejected,
            ntstatus: Some(format!("0x{status:08X}")),
            credentials_sent: true,
            credssp_version: Some(6),
            ..Default::default()
        }
    }

    fn denied(code: u32) -> AuthAttempt {
        AuthAttempt {
            user: Some("CONTOSO\\alice".into()),
            stage_reached: Some("secure_settings_exchange".into()),
            stopped_in: Some("licensing".into()),
            outcome: AuthOutcome::Denied,
            error_info: Some(code),
            credentials_sent: true,
            ..Default::default()
        }
    }

    /// This module's rule for a cause (other modules have rules for the same causes).
    fn mine(cause: &str) -> &'static super::Rule {
        super::RULES.iter().find(|r| r.cause == cause).unwrap()
    }

    /// The causes every auth rule finds.
    fn found(ev: &Evidence) -> Vec<&'static str> {
        super::RULES
            .iter()
            .filter(|r| run(r, ev).is_some())
            .map(|r| r.cause)
            .collect()
    }

    #[test]
    fn each_ntstatus_leads_to_its_own_cause_only() {
        for (status, cause) in [
            (0xC000_006D, "credentials-rejected"),
            (0xC000_006A, "credentials-rejected"),
            (0xC000_0234, "account-locked"),
            (0xC000_0072, "account-restricted"),
            (0xC000_0224, "account-restricted"),
            (0xC000_015B, "logon-right-missing"),
        ] {
            let ev = failed(logon(status));
            assert_eq!(found(&ev), [cause], "0x{status:08X}");
            let d = run(mine(cause), &ev).unwrap();
            assert_eq!(d.confidence, Confidence::High);
            assert!(d.params.contains(&("user", "alice".into())), "{d:?}");
        }
    }

    #[test]
    fn an_unknown_ntstatus_is_a_low_confidence_refusal() {
        let d = run(mine("credentials-rejected"), &failed(logon(0xC0FF_EE00))).unwrap();
        assert_eq!(d.confidence, Confidence::Low);
    }

    #[test]
    fn set_error_info_codes_lead_to_their_causes() {
        for (code, cause) in [
            (0x7, "server-denied-connection"),
            (0x9, "logon-right-missing"),
            (0x102, "licensing"),
            (0x10A, "licensing"),
            (0x1, "server-error"),
            (0xA, "server-error"),
        ] {
            assert_eq!(found(&failed(denied(code))), [cause], "0x{code:X}");
        }
    }

    #[test]
    fn an_unknown_set_error_info_code_is_a_server_error_with_its_number() {
        let d = run(mine("server-error"), &failed(denied(0x8))).unwrap();
        assert_eq!(d.confidence, Confidence::Medium);
        assert!(d.evidence.iter().any(|l| l.contains("0x8")), "{d:?}");
        assert!(d.params.contains(&("code", "0x8".into())));
    }

    #[test]
    fn a_licensing_error_alone_is_licensing() {
        let mut a = denied(0);
        a.error_info = None;
        a.license_error = Some(LicenseError {
            code: 2,
            name: "ERR_NO_LICENSE".into(),
            state_transition: 1,
        });
        assert_eq!(found(&failed(a)), ["licensing"]);
    }

    #[test]
    fn a_close_after_the_authenticate_is_a_medium_confidence_rejection() {
        let a = AuthAttempt {
            outcome: AuthOutcome::ClosedWithoutReason,
            stage_reached: Some("tls".into()),
            stopped_in: Some("credssp".into()),
            credentials_sent: true,
            credssp_version: Some(6),
            ..Default::default()
        };
        let d = run(mine("credentials-rejected"), &failed(a.clone())).unwrap();
        assert_eq!(d.confidence, Confidence::Medium);
        // Closed before any credential left: nothing to say about the credentials.
        let mut early = a;
        early.credentials_sent = false;
        assert!(found(&failed(early)).is_empty());
    }

    #[test]
    fn early_user_authorization_denied_is_a_missing_logon_right() {
        let mut a = logon(0);
        a.ntstatus = None;
        a.early_user_authorization = Some(CodeName {
            code: 5,
            name: "AUTHZ_ACCESS_DENIED".into(),
        });
        assert_eq!(found(&failed(a)), ["logon-right-missing"]);
    }

    #[test]
    fn an_old_credssp_server_refused_before_the_authenticate_is_the_oracle_clash() {
        let a = AuthAttempt {
            outcome: AuthOutcome::Withheld,
            credssp_version: Some(4),
            ..Default::default()
        };
        assert_eq!(found(&failed(a.clone())), ["credssp-oracle"]);
        let mut patched = a;
        patched.credssp_version = Some(6);
        assert!(found(&failed(patched)).is_empty());
    }

    #[test]
    fn a_successful_or_withheld_attempt_finds_nothing() {
        let mut ev = evidence();
        ev.auth = Stage::ok(
            Duration::from_millis(5),
            AuthAttempt {
                outcome: AuthOutcome::Connected,
                connected: true,
                ..Default::default()
            },
        );
        assert!(found(&ev).is_empty());
        let withheld = AuthAttempt {
            outcome: AuthOutcome::Withheld,
            ..Default::default()
        };
        assert!(found(&failed(withheld)).is_empty());
    }
}
