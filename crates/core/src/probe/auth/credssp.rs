//! CredSSP with the user's credentials, driven message by message so that the report knows
//! what the server said and when.
//!
//! ```text
//! client                                   server
//! TSRequest{NTLM NEGOTIATE}          ─►
//!                                    ◄─    TSRequest{version, NTLM CHALLENGE}   version < 5: stop here
//! TSRequest{AUTHENTICATE, pubKeyAuth} ─►                                          (credentials leave now)
//!                                    ◄─    TSRequest{pubKeyAuth} or {errorCode NTSTATUS} or close
//! TSRequest{authInfo = TSCredentials} ─►
//!                                    ◄─    HYBRID_EX only: Early User Authorization Result (4 bytes)
//! ```
//!
//! A server whose CredSSP version is below 5 lacks the CVE-2018-0886 fix. An updated Windows
//! client ("Mitigated", the default since May 2018) refuses it at exactly this point, before
//! the AUTHENTICATE, and so does rdpdoctor: the check reproduces what mstsc does and never
//! hands an unpatched server a response it could relay.

use ironrdp_connector::credssp::CredsspSequence;
use ironrdp_connector::sspi::credssp::{ClientState, TsRequest};
use ironrdp_connector::sspi::generator::GeneratorState;
use ironrdp_connector::{Credentials, ServerName};
use ironrdp_core::WriteBuf;
use ironrdp_pdu::nego::SecurityProtocol;

use super::{Channel, Run, Stop};
use crate::evidence::{AuthOutcome, CodeName, ConnectionStage, ErrorKind};
use rdpdoctor_wire::tsrequest::TsRequest as RawTsRequest;

/// The lowest server CredSSP version credentials are sent to (5: the CVE-2018-0886 fix).
pub const MIN_SERVER_VERSION: u32 = 5;

/// AUTHZ_SUCCESS in the Early User Authorization Result PDU.
const AUTHZ_SUCCESS: u32 = 0;

/// What CredSSP needs besides the channel.
pub(crate) struct Logon<'a> {
    pub credentials: Credentials,
    pub domain: Option<&'a str>,
    pub selected: SecurityProtocol,
    pub server_name: &'a str,
    pub public_key: Vec<u8>,
}

pub(crate) async fn perform(
    run: &mut Run<'_>,
    channel: &mut Channel,
    logon: Logon<'_>,
) -> Result<(), Stop> {
    run.progress.enter(ConnectionStage::Credssp);
    let early_user_authorization = logon.selected.contains(SecurityProtocol::HYBRID_EX);
    let (mut sequence, mut ts_request) = CredsspSequence::init(
        logon.credentials,
        logon.domain,
        logon.selected,
        ServerName::new(logon.server_name),
        logon.public_key,
        None,
    )
    .map_err(|e| {
        Stop::new(
            ErrorKind::Protocol,
            AuthOutcome::Failed,
            format!("CredSSP could not start: {e}"),
        )
    })?;
    let mut buf = WriteBuf::new();
    let mut server_messages = 0u32;
    loop {
        let state = resolve(&mut sequence, ts_request).map_err(|e| sspi_failure(run, &e))?;
        let final_message = matches!(state, ClientState::FinalMessage(_));
        buf.clear();
        let written = sequence
            .handle_process_result(state, &mut buf)
            .map_err(|e| {
                Stop::new(
                    ErrorKind::Protocol,
                    AuthOutcome::Failed,
                    format!("CredSSP: {e}"),
                )
            })?;
        if let Some(n) = written.size() {
            // The first message is the NTLM NEGOTIATE; every later one carries credentials.
            if server_messages > 0 {
                run.attempt.credentials_sent = true;
            }
            channel.write(&buf[..n], run.deadline).await?;
        }
        if final_message && early_user_authorization {
            run.progress.enter(ConnectionStage::EarlyUserAuthorization);
        }
        let Some(hint) = sequence.next_pdu_hint() else {
            break;
        };
        let pdu = channel
            .read(hint, run.deadline)
            .await
            .map_err(|stop| closed_during_logon(run, stop))?;
        if final_message && early_user_authorization {
            return early_user_authorization_result(run, &pdu);
        }
        server_messages += 1;
        server_ts_request(run, &pdu, server_messages)?;
        ts_request = match sequence.decode_server_message(&pdu) {
            Ok(Some(ts)) => ts,
            Ok(None) => break,
            Err(e) => {
                return Err(Stop::new(
                    ErrorKind::Protocol,
                    AuthOutcome::Failed,
                    format!("the server's TSRequest cannot be decoded: {e}"),
                ));
            }
        };
    }
    Ok(())
}

/// Look at a server TSRequest ourselves (leniently: NTSTATUS values have the high bit set):
/// its version, and an errorCode that ends the logon.
fn server_ts_request(run: &mut Run<'_>, pdu: &[u8], index: u32) -> Result<(), Stop> {
    let Ok(ts) = RawTsRequest::decode(pdu) else {
        return Ok(());
    };
    run.attempt.credssp_version.get_or_insert(ts.version);
    if let Some(code) = ts.error_code {
        let name = rdpdoctor_kb::codes::status(code).map(|e| e.name.clone());
        run.attempt.ntstatus = Some(format!("0x{code:08X}"));
        run.attempt.ntstatus_name = name.clone();
        return Err(Stop::new(
            ErrorKind::Refusal,
            AuthOutcome::Rejected,
            format!(
                "the server refused the logon with {} (0x{code:08X})",
                name.as_deref().unwrap_or("an unknown status")
            ),
        )
        .with_code(name.unwrap_or_else(|| format!("0x{code:08X}"))));
    }
    if index == 1 && ts.version < MIN_SERVER_VERSION {
        return Err(Stop::new(
            ErrorKind::Unsupported,
            AuthOutcome::Withheld,
            format!(
                "the server speaks CredSSP version {} (no CVE-2018-0886 fix); an updated client refuses it here, before sending the NTLM AUTHENTICATE, and so did rdpdoctor",
                ts.version
            ),
        )
        .with_code(format!("CredSSP version {}", ts.version)));
    }
    Ok(())
}

/// The 4-byte Early User Authorization Result (MS-RDPBCGR 2.2.10.2).
fn early_user_authorization_result(run: &mut Run<'_>, pdu: &[u8]) -> Result<(), Stop> {
    let Some(code) = pdu
        .get(..4)
        .and_then(|b| b.try_into().ok())
        .map(u32::from_le_bytes)
    else {
        return Err(Stop::new(
            ErrorKind::Protocol,
            AuthOutcome::Failed,
            "the Early User Authorization Result is shorter than 4 bytes",
        ));
    };
    let name = rdpdoctor_kb::codes::authz_result(code)
        .map(|e| e.name.clone())
        .unwrap_or_else(|| format!("0x{code:08X}"));
    run.attempt.early_user_authorization = Some(CodeName {
        code,
        name: name.clone(),
    });
    if code == AUTHZ_SUCCESS {
        run.progress.complete();
        return Ok(());
    }
    Err(Stop::new(
        ErrorKind::Refusal,
        AuthOutcome::Rejected,
        format!(
            "the credentials were accepted, then the server refused access in its Early User Authorization Result ({name})"
        ),
    )
    .with_code(name))
}

/// Run one step of the sspi client. NTLM needs no network; Kerberos would ask for a KDC, which
/// this check does not contact.
fn resolve(
    sequence: &mut CredsspSequence,
    request: TsRequest,
) -> Result<ClientState, ironrdp_connector::sspi::Error> {
    let mut generator = sequence.process_ts_request(request);
    match generator.start() {
        GeneratorState::Completed(result) => result,
        GeneratorState::Suspended(_) => Err(ironrdp_connector::sspi::Error::new(
            ironrdp_connector::sspi::ErrorKind::NoAuthenticatingAuthority,
            "Kerberos would need a KDC; rdpdoctor uses NTLM only",
        )),
    }
}

/// Our own CredSSP/NTLM stack gave up: keep its SSPI status (and the server's NTSTATUS when it
/// came with one).
fn sspi_failure(run: &mut Run<'_>, e: &ironrdp_connector::sspi::Error) -> Stop {
    let status = e.error_type as u32;
    let name = rdpdoctor_kb::codes::hresult(status).map(|c| c.name.clone());
    run.attempt.sec_status = Some(format!("0x{status:08X}"));
    run.attempt.sec_status_name = name.clone();
    if let Some(nt) = e.nstatus {
        run.attempt.ntstatus = Some(format!("0x{:08X}", nt.0));
        run.attempt.ntstatus_name = rdpdoctor_kb::codes::status(nt.0).map(|c| c.name.clone());
    }
    let outcome = if status == ironrdp_connector::sspi::ErrorKind::LogonDenied as u32
        || e.nstatus.is_some()
    {
        AuthOutcome::Rejected
    } else {
        AuthOutcome::Failed
    };
    Stop::new(
        ErrorKind::Refusal,
        outcome,
        format!(
            "CredSSP failed on the client side with {} ({}): {}",
            name.as_deref().unwrap_or("an SSPI error"),
            format_args!("0x{status:08X}"),
            e.description
        ),
    )
    .with_code(name.unwrap_or_else(|| format!("0x{status:08X}")))
}

/// The server ended the connection in the middle of the logon. After the AUTHENTICATE went out,
/// a close without an errorCode is how FreeRDP-based servers (and CredSSP peers below version
/// 3) say "wrong credentials"; after the delegated credentials of a HYBRID_EX logon, a close
/// instead of the Early User Authorization Result says nothing more than that it happened.
fn closed_during_logon(run: &mut Run<'_>, stop: Stop) -> Stop {
    if !matches!(stop.kind, ErrorKind::Closed | ErrorKind::Reset) || !run.attempt.credentials_sent {
        return stop;
    }
    let message = if run.progress.current() == Some(ConnectionStage::EarlyUserAuthorization) {
        "the server closed the connection after receiving the delegated credentials, without an Early User Authorization Result"
    } else {
        "the server closed the connection after receiving the NTLM AUTHENTICATE, without an error code: the credentials were most likely rejected (FreeRDP-based servers answer a wrong password this way)"
    };
    Stop::new(stop.kind, AuthOutcome::ClosedWithoutReason, message)
}
