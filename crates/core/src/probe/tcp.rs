//! Stage 2, tcp: connect to every resolved address, keep each outcome, continue with the first
//! (in resolver order) that accepted.

use futures::future::join_all;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};
use tokio::net::TcpStream;

use super::gate::ConnectGate;
use super::io::{classify, describe};
use crate::evidence::{
    ConnectAttempt, ErrorKind, Stage, StageError, StageName, TcpConnect, millis,
};

/// At most this many addresses are tried (a name with dozens of records is a misconfiguration
/// in itself; the report says how many were skipped).
pub const MAX_ADDRESSES: usize = 16;

/// Connect to one address within `deadline`, after the gate (if any) lets us.
pub async fn connect_one(
    addr: SocketAddr,
    deadline: Duration,
    gate: Option<&dyn ConnectGate>,
) -> (ConnectAttempt, Option<TcpStream>) {
    super::gate::admit(gate, addr).await;
    let started = Instant::now();
    let result = tokio::time::timeout(deadline, TcpStream::connect(addr)).await;
    let elapsed_ms = millis(started.elapsed());
    match result {
        Ok(Ok(stream)) => {
            let _ = stream.set_nodelay(true);
            (
                ConnectAttempt {
                    address: addr,
                    error: None,
                    elapsed_ms,
                    message: None,
                },
                Some(stream),
            )
        }
        Ok(Err(e)) => (
            ConnectAttempt {
                address: addr,
                error: Some(classify(&e)),
                elapsed_ms,
                message: Some(describe(&e)),
            },
            None,
        ),
        Err(_) => (
            ConnectAttempt {
                address: addr,
                error: Some(ErrorKind::Timeout),
                elapsed_ms,
                message: Some(format!(
                    "no answer to the connection request within {} ms (filtered: no reset, no ICMP)",
                    deadline.as_millis()
                )),
            },
            None,
        ),
    }
}

/// Connect to every address concurrently; the stream returned is the first, in resolver order,
/// that accepted.
pub async fn connect(
    addresses: &[IpAddr],
    port: u16,
    deadline: Duration,
    gate: Option<&dyn ConnectGate>,
) -> (Stage<TcpConnect>, Option<TcpStream>) {
    let started = Instant::now();
    let targets: Vec<SocketAddr> = addresses
        .iter()
        .take(MAX_ADDRESSES)
        .map(|ip| SocketAddr::new(*ip, port))
        .collect();
    let results = join_all(targets.iter().map(|a| connect_one(*a, deadline, gate))).await;
    let mut chosen = None;
    let mut evidence = TcpConnect::default();
    for (attempt, stream) in results {
        if chosen.is_none()
            && let Some(s) = stream
        {
            evidence.address = Some(attempt.address);
            evidence.connect_ms = Some(attempt.elapsed_ms);
            chosen = Some(s);
        }
        evidence.attempts.push(attempt);
    }
    if chosen.is_some() {
        return (Stage::ok(started.elapsed(), evidence), chosen);
    }
    // Every address failed: report the most telling failure (an explicit refusal or ICMP error
    // says more than a timeout).
    let rank = |k: Option<ErrorKind>| match k {
        Some(ErrorKind::Refused) => 0,
        Some(ErrorKind::Unreachable) => 1,
        Some(ErrorKind::Timeout) => 2,
        _ => 3,
    };
    let (kind, message) = evidence
        .attempts
        .iter()
        .min_by_key(|a| rank(a.error))
        .map(|a| {
            (
                a.error.unwrap_or(ErrorKind::Io),
                format!("{}: {}", a.address, a.message.clone().unwrap_or_default()),
            )
        })
        .unwrap_or((ErrorKind::Io, "no address to connect to".into()));
    let error = StageError::new(StageName::Tcp, kind, started.elapsed(), message);
    (Stage::failed_with(error, evidence), None)
}
