//! Stage 5, credssp: what an NLA server says before any credential is sent.
//!
//! Inside the TLS session we send a TSRequest (version 6) carrying an NTLM NEGOTIATE, the
//! first message every NLA client sends. The server's TSRequest answer tells its CredSSP
//! version (below 5: no CVE-2018-0886 fix) and its NTLM CHALLENGE carries the server's
//! identity (NetBIOS and DNS names, Windows version and build) and clock. We stop there: no
//! AUTHENTICATE message, no credentials.

use chrono::{DateTime, Utc};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};

use super::io::{looks_like, read_message};
use crate::evidence::{
    CredsspProbe, ErrorKind, NtlmChallengeInfo, Seen, Stage, StageError, StageName,
};
use rdpdoctor_wire::Frame;
use rdpdoctor_wire::ntlm::{NtlmChallenge, NtlmNegotiate};
use rdpdoctor_wire::tsrequest::{self, TsRequest};

/// The CredSSP version we offer: current Windows and FreeRDP speak 6.
pub const OFFERED_VERSION: u32 = tsrequest::CURRENT_VERSION;

/// The first client TSRequest: version 6 with an NTLM NEGOTIATE.
pub fn first_request() -> Vec<u8> {
    TsRequest::with_token(OFFERED_VERSION, NtlmNegotiate::default().encode()).encode()
}

/// Send the first TSRequest and read the server's answer within `deadline`.
pub async fn probe<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    deadline: Duration,
) -> Stage<CredsspProbe> {
    let started = Instant::now();
    let fail =
        |kind, msg: String| StageError::new(StageName::Credssp, kind, started.elapsed(), msg);
    let request = first_request();
    match tokio::time::timeout(deadline, stream.write_all(&request)).await {
        Err(_) => {
            return Stage::failed(fail(
                ErrorKind::Timeout,
                "could not send the TSRequest in time".into(),
            ));
        }
        Ok(Err(e)) => {
            return Stage::failed(fail(
                super::io::classify(&e),
                format!("sending the TSRequest: {}", super::io::describe(&e)),
            ));
        }
        Ok(Ok(())) => {}
    }
    let _ = stream.flush().await;
    let mut buf = Vec::new();
    let until = Instant::now() + deadline;
    let framing = |b: &[u8]| -> Result<Frame, ErrorKind> {
        tsrequest::frame(b).map_err(|e| match e {
            tsrequest::TsRequestError::TooLarge { .. } => ErrorKind::TooLarge,
            _ => ErrorKind::Protocol,
        })
    };
    let read = read_message(stream, &mut buf, tsrequest::MAX_MESSAGE_LEN, until, framing).await;
    let received_at = Utc::now();
    let len = match read {
        Err(failure) => {
            let mut err = failure.into_stage_error(
                StageName::Credssp,
                started,
                "the server's TSRequest",
                deadline,
                &buf,
            );
            if let Some(seen) = err.seen.as_mut() {
                seen.looks_like = Some(looks_like(&buf));
            }
            return Stage::failed(err);
        }
        Ok(Err(kind)) => {
            let mut seen = Seen::from_bytes(&buf);
            let what = looks_like(&buf);
            seen.looks_like = Some(what.clone());
            let msg = if kind == ErrorKind::TooLarge {
                "the server's TSRequest is larger than any CredSSP message".to_string()
            } else {
                format!("the server does not speak CredSSP: it answered the TSRequest with {what}")
            };
            return Stage::failed(fail(kind, msg).with_seen(seen));
        }
        Ok(Ok(len)) => len,
    };
    match TsRequest::decode(&buf[..len]) {
        Err(e) => Stage::failed(
            fail(ErrorKind::Protocol, format!("malformed TSRequest: {e}"))
                .with_seen(Seen::from_bytes(&buf)),
        ),
        Ok(ts) => {
            let (value, problem) = describe(&ts, received_at);
            match problem {
                None => Stage::ok(started.elapsed(), value),
                Some((kind, msg)) => {
                    let mut err = fail(kind, msg);
                    if let Some(code) = &value.error_code {
                        err = err.with_code(code.clone());
                    }
                    Stage::failed_with(err, value)
                }
            }
        }
    }
}

/// Turn the server's TSRequest into evidence, with the problem that makes the stage fail (an
/// error code, or no usable NTLM CHALLENGE).
pub fn describe(
    ts: &TsRequest,
    received_at: DateTime<Utc>,
) -> (CredsspProbe, Option<(ErrorKind, String)>) {
    let mut value = CredsspProbe {
        version: Some(ts.version),
        offered_version: OFFERED_VERSION,
        error_code: ts.error_code.map(|c| format!("0x{c:08X}")),
        ntlm: None,
        nonce_echoed: ts.client_nonce.is_some(),
    };
    if let Some(code) = ts.error_code {
        let name = rdpdoctor_kb::codes::status(code)
            .map(|e| e.name.clone())
            .unwrap_or_else(|| "unknown status".into());
        return (
            value,
            Some((
                ErrorKind::Refusal,
                format!("the server answered with error 0x{code:08X} ({name})"),
            )),
        );
    }
    let Some(token) = ts.nego_tokens.first() else {
        return (
            value,
            Some((
                ErrorKind::Protocol,
                "the server's TSRequest carries no NTLM token".into(),
            )),
        );
    };
    match NtlmChallenge::decode(token) {
        Ok(ch) => {
            value.ntlm = Some(ntlm_info(&ch, received_at));
            (value, None)
        }
        Err(e) => (
            value,
            Some((
                ErrorKind::Protocol,
                format!("the server's NTLM CHALLENGE is malformed: {e}"),
            )),
        ),
    }
}

/// The identity and clock facts of a CHALLENGE.
pub fn ntlm_info(ch: &NtlmChallenge, received_at: DateTime<Utc>) -> NtlmChallengeInfo {
    let server_time = ch
        .timestamp()
        .and_then(|t| DateTime::from_timestamp(t.unix_seconds(), t.subsec_nanos()));
    NtlmChallengeInfo {
        target_name: ch.target_name.clone(),
        netbios_computer_name: ch.netbios_computer_name().map(str::to_string),
        netbios_domain_name: ch.netbios_domain_name().map(str::to_string),
        dns_computer_name: ch.dns_computer_name().map(str::to_string),
        dns_domain_name: ch.dns_domain_name().map(str::to_string),
        dns_tree_name: ch.dns_tree_name().map(str::to_string),
        os_version: ch
            .version
            .map(|v| format!("{}.{}.{}", v.major, v.minor, v.build)),
        os_build: ch.version.map(|v| v.build),
        os_name: ch
            .version
            .and_then(|v| windows_release(v.major, v.minor, v.build))
            .map(str::to_string),
        ntlm_revision: ch.version.map(|v| v.ntlm_revision),
        negotiate_flags: ch.flags,
        server_time,
        clock_skew_seconds: server_time.map(|t| (t - received_at).num_seconds()),
    }
}

/// The Windows release a version and build number belong to (for the report; the build is
/// what matters for patch levels).
pub fn windows_release(major: u8, minor: u8, build: u16) -> Option<&'static str> {
    Some(match (major, minor, build) {
        (6, 0, _) => "Windows Vista / Server 2008",
        (6, 1, _) => "Windows 7 / Server 2008 R2",
        (6, 2, _) => "Windows 8 / Server 2012",
        (6, 3, _) => "Windows 8.1 / Server 2012 R2",
        (10, 0, 10240) => "Windows 10 1507",
        (10, 0, 14393) => "Windows 10 1607 / Server 2016",
        (10, 0, 17763) => "Windows 10 1809 / Server 2019",
        (10, 0, 19041..=19045) => "Windows 10 2004-22H2",
        (10, 0, 20348) => "Windows Server 2022",
        (10, 0, 22000) => "Windows 11 21H2",
        (10, 0, 22621) => "Windows 11 22H2",
        (10, 0, 22631) => "Windows 11 23H2",
        (10, 0, 25398) => "Windows Server 23H2",
        (10, 0, 26100) => "Windows 11 24H2 / Server 2025",
        (10, 0, b) if b < 22000 => "Windows 10 / Server 2016-2022",
        (10, 0, _) => "Windows 11 / Server 2025 or later",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rdpdoctor_wire::ntlm::{AvPair, AvValue, FileTime, NtlmVersion, av_id};

    #[test]
    fn first_request_is_what_nla_clients_send() {
        let req = first_request();
        let back = TsRequest::decode(&req).unwrap();
        assert_eq!(back.version, 6);
        assert!(back.nego_tokens[0].starts_with(b"NTLMSSP\0\x01\0\0\0"));
    }

    fn challenge(version: NtlmVersion, secs: i64) -> NtlmChallenge {
        NtlmChallenge {
            flags: 0xe28a8235,
            target_name: Some("CONTOSO".into()),
            server_challenge: [1; 8],
            reserved: [0; 8],
            version: Some(version),
            target_info: vec![
                AvPair {
                    id: av_id::NB_COMPUTER_NAME,
                    value: AvValue::Text("SERVER01".into()),
                },
                AvPair {
                    id: av_id::DNS_COMPUTER_NAME,
                    value: AvValue::Text("server01.contoso.com".into()),
                },
                AvPair {
                    id: av_id::TIMESTAMP,
                    value: AvValue::Timestamp(FileTime::from_unix_seconds(secs).unwrap()),
                },
            ],
        }
    }

    #[test]
    fn challenge_gives_identity_build_and_clock_skew() {
        let now = Utc::now();
        let v = NtlmVersion {
            major: 10,
            minor: 0,
            build: 17763,
            ntlm_revision: 15,
        };
        let ch = challenge(v, now.timestamp() + 120);
        let ts = TsRequest::with_token(6, ch.encode());
        let (value, problem) = describe(&ts, now);
        assert!(problem.is_none());
        let n = value.ntlm.unwrap();
        assert_eq!(n.netbios_computer_name.as_deref(), Some("SERVER01"));
        assert_eq!(n.dns_computer_name.as_deref(), Some("server01.contoso.com"));
        assert_eq!(n.os_version.as_deref(), Some("10.0.17763"));
        assert_eq!(n.os_name.as_deref(), Some("Windows 10 1809 / Server 2019"));
        assert!((119..=121).contains(&n.clock_skew_seconds.unwrap()));
        assert_eq!(value.version, Some(6));
    }

    #[test]
    fn an_error_code_is_a_refusal_and_garbage_is_a_protocol_error() {
        let ts = TsRequest {
            version: 6,
            error_code: Some(0xC000_006D),
            ..Default::default()
        };
        let (v, p) = describe(&ts, Utc::now());
        assert_eq!(v.error_code.as_deref(), Some("0xC000006D"));
        assert_eq!(p.unwrap().0, ErrorKind::Refusal);
        let ts = TsRequest::with_token(3, b"not ntlm".to_vec());
        let (v, p) = describe(&ts, Utc::now());
        assert_eq!(
            v.version,
            Some(3),
            "the version is kept even when the token is bad"
        );
        assert_eq!(p.unwrap().0, ErrorKind::Protocol);
    }

    #[tokio::test]
    async fn a_server_that_answers_with_tpkt_does_not_speak_credssp() {
        let (mut client, mut server) = tokio::io::duplex(4096);
        tokio::spawn(async move {
            let mut b = [0u8; 512];
            let _ = tokio::io::AsyncReadExt::read(&mut server, &mut b).await;
            let _ = server
                .write_all(&hex::decode("0300000902f0802180").unwrap())
                .await;
        });
        let s = probe(&mut client, Duration::from_secs(2)).await;
        assert_eq!(s.error_kind(), Some(ErrorKind::Protocol));
        assert!(
            s.error()
                .unwrap()
                .message
                .contains("does not speak CredSSP"),
            "{}",
            s.error().unwrap().message
        );
    }
}
