//! The connection sequence after the logon, driven one PDU at a time up to the point where a
//! session would start: MCS, the Client Info PDU, licensing, capabilities, finalization.
//!
//! Every PDU is read here, looked at raw (`super::raw`) and only then handed to the connector,
//! so a Set Error Info code, a licensing error or a disconnect reason is kept even when the
//! connector fails on it with a generic decode error. A non-zero Set Error Info ends the
//! attempt at once: the server disconnects after sending it (MS-RDPBCGR 2.2.5.1.1).

use std::time::Duration;

use ironrdp_connector::{ClientConnector, ClientConnectorState, ConnectionOutcome, Sequence as _};
use ironrdp_core::WriteBuf;

use super::progress::stage_of;
use super::{Channel, Run, Stop, raw};
use crate::evidence::{AuthOutcome, ConnectionStage, ErrorKind};

/// MCS Disconnect Provider Ultimatum (rn-user-requested), what a client sends when it closes.
const DISCONNECT: [u8; 9] = [0x03, 0x00, 0x00, 0x09, 0x02, 0xf0, 0x80, 0x21, 0x80];

/// What a completed sequence leaves behind on the server.
const SESSION_CAVEAT: &str = "the server accepted the whole connection sequence, so it may have started a session for the user; rdpdoctor disconnected at once, which leaves such a session disconnected until the server's time limit for disconnected sessions ends it (--auth-only stops before any session)";

/// How long to keep reading after the connector gave up, for the Set Error Info and disconnect
/// PDUs a server sends before it closes.
const LINGER: Duration = Duration::from_secs(2);

pub(crate) async fn finish(
    run: &mut Run<'_>,
    channel: &mut Channel,
    connector: &mut ClientConnector,
) -> Result<(), Stop> {
    let mut buf = WriteBuf::new();
    loop {
        if let Some(outcome) = connector.state.take_outcome() {
            match outcome {
                ConnectionOutcome::Connected(_) => {
                    run.progress.complete();
                    run.attempt.connected = true;
                    run.attempt.outcome = AuthOutcome::Connected;
                    run.attempt.caveats.push(SESSION_CAVEAT.into());
                    channel.close(&DISCONNECT).await;
                }
                ConnectionOutcome::Redirected(pdu) => {
                    // The redirection arrives instead of the Demand Active: the stage it
                    // arrived in did not complete here; it continues on the target.
                    run.progress.stop();
                    run.attempt.redirection = Some(raw::redirection(&pdu));
                    run.attempt.outcome = AuthOutcome::Redirected;
                    channel.close(&DISCONNECT).await;
                }
            }
            return Ok(());
        }
        if connector.should_perform_multitransport() {
            // No UDP side channel: decline, as a TCP-only client does (E_ABORT).
            buf.clear();
            let written = connector
                .skip_multitransport(&mut buf)
                .map_err(|e| protocol(run, &e))?;
            if let Some(n) = written.size() {
                channel.write(&buf[..n], run.deadline).await?;
            }
            continue;
        }
        let pdu = match connector.next_pdu_hint() {
            Some(hint) => {
                if let Some(stage) = stage_of(&connector.state, None, connector.message_channel_id)
                {
                    run.progress.enter(stage);
                }
                match channel.read(hint, run.deadline).await {
                    Ok(pdu) => pdu,
                    Err(stop) => return Err(closed(run, stop)),
                }
            }
            None => Vec::new(),
        };
        let channel_id = raw::channel_of(&pdu);
        if let Some(stage) = stage_of(&connector.state, channel_id, connector.message_channel_id) {
            run.progress.enter(stage);
        }
        if let Some(stop) = inspect(run, &pdu) {
            linger(run, channel).await;
            return Err(stop);
        }
        let sends_client_info = matches!(
            connector.state,
            ClientConnectorState::SecureSettingsExchange { .. }
        );
        buf.clear();
        match connector.step(&pdu, None, &mut buf) {
            Ok(written) => {
                if let Some(n) = written.size() {
                    channel.write(&buf[..n], run.deadline).await?;
                    if sends_client_info {
                        // The Client Info PDU carries the user name and password.
                        run.attempt.credentials_sent = true;
                    }
                }
            }
            Err(e) => {
                linger(run, channel).await;
                return Err(after_failure(run, &e));
            }
        }
    }
}

/// Record what a server PDU says about the end of the connection; `Some` when it ends it (a
/// non-zero Set Error Info, or an MCS disconnect).
fn inspect(run: &mut Run<'_>, pdu: &[u8]) -> Option<Stop> {
    if let Some(e) = raw::license_error(pdu) {
        run.attempt.license_error = Some(e);
    }
    if let Some(code) = raw::set_error_info(pdu).filter(|c| *c != 0) {
        run.attempt.error_info = Some(code);
        run.attempt.error_info_name = rdpdoctor_kb::codes::errinfo(code).map(|e| e.name.clone());
        return Some(denied(run));
    }
    if let Some(reason) = raw::disconnect_reason(pdu) {
        run.attempt.disconnect_reason = Some(reason);
        return Some(closed(
            run,
            Stop::new(ErrorKind::Closed, AuthOutcome::Failed, "MCS disconnect"),
        ));
    }
    None
}

/// The Stop for a Set Error Info code already recorded.
fn denied(run: &Run<'_>) -> Stop {
    let code = run.attempt.error_info.unwrap_or_default();
    let name = run
        .attempt
        .error_info_name
        .clone()
        .unwrap_or_else(|| "a code rdpdoctor does not know".into());
    Stop::new(
        ErrorKind::Refusal,
        AuthOutcome::Denied,
        format!("the server ended the connection with Set Error Info 0x{code:X} ({name})"),
    )
    .with_code(format!("0x{code:X}"))
}

/// After the attempt stopped: read what the server still sends (Set Error Info, licensing
/// error, disconnect) for a short while, and keep it.
async fn linger(run: &mut Run<'_>, channel: &mut Channel) {
    let until = tokio::time::Instant::now() + LINGER;
    while run.attempt.disconnect_reason.is_none()
        && let Ok(Ok(pdu)) = tokio::time::timeout_at(until, channel.read_any()).await
    {
        let _ = inspect(run, &pdu);
    }
}

/// The connector failed on a PDU. What the server said (kept by `inspect`) explains it better
/// than the connector's message.
fn after_failure(run: &mut Run<'_>, e: &ironrdp_connector::ConnectorError) -> Stop {
    if run.attempt.error_info.is_some() {
        return denied(run);
    }
    licensing_failed(run).unwrap_or_else(|| protocol(run, e))
}

/// The Stop for a licensing error already recorded.
fn licensing_failed(run: &Run<'_>) -> Option<Stop> {
    let l = run.attempt.license_error.as_ref()?;
    Some(
        Stop::new(
            ErrorKind::Refusal,
            AuthOutcome::Denied,
            format!(
                "licensing failed: the server sent the licensing error {} (0x{:X})",
                l.name, l.code
            ),
        )
        .with_code(l.name.clone()),
    )
}

fn protocol(run: &Run<'_>, e: &ironrdp_connector::ConnectorError) -> Stop {
    let stage = run
        .progress
        .current()
        .map(ConnectionStage::describe)
        .unwrap_or("the connection sequence");
    Stop::new(
        ErrorKind::Protocol,
        AuthOutcome::Failed,
        format!("{stage} failed: {e}"),
    )
}

/// The server closed or stopped answering; if it said why first, that is the answer.
fn closed(run: &mut Run<'_>, stop: Stop) -> Stop {
    if run.attempt.error_info.is_some() {
        return denied(run);
    }
    if let Some(licensing) = licensing_failed(run) {
        return licensing;
    }
    if matches!(stop.kind, ErrorKind::Closed | ErrorKind::Reset) {
        let during = run
            .progress
            .current()
            .map(ConnectionStage::describe)
            .unwrap_or("the connection sequence");
        let why = match &run.attempt.disconnect_reason {
            Some(r) => format!(" with an MCS disconnect ({r})"),
            None => String::new(),
        };
        return Stop::new(
            stop.kind,
            AuthOutcome::ClosedWithoutReason,
            format!(
                "the server ended the connection during {during}{why}, without a Set Error Info code"
            ),
        );
    }
    stop
}
