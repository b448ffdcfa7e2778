//! One MTU probe in each direction, each on its own connection after a real X.224 exchange.
//!
//! - client → server: a TLS ClientHello padded (RFC 7685) to the size under test, written in
//!   one segment. It arrived when the server answers anything (ServerHello, alert, close), or,
//!   where the kernel says so (Linux `tcp_info`), when the server's TCP acknowledged every byte —
//!   which does not depend on the server's answer getting back through a path that may lose
//!   large packets the other way.
//! - server → client: a small ClientHello on a connection whose MSS we clamped (TCP_MAXSEG
//!   before connect: the SYN announces it, and the server's segments never exceed it). The
//!   server's certificate flight then comes in packets of at most the size under test; it
//!   arrives whole or stalls.
//!
//! Every probe connection is closed with a reset, so the server drops it at once.

use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

use super::search::{Outcome, StepResult};
use crate::evidence::{NegotiationAnswer, millis};
use crate::probe::negotiate::{self, NegotiateOptions};
use crate::probe::tcpinfo;
use rdpdoctor_wire::tls::{ClientHello, ProtocolVersion, ServerFlightReader};

/// Suites of the probe hello: what Windows from 2008 R2 on and OpenSSL servers accept, so the
/// server answers with its certificate; few, so the unpadded hello stays small.
const PROBE_SUITES: [u16; 12] = [
    0xc02f, 0xc030, 0xc02b, 0xc02c, 0xc027, 0xc028, 0xc013, 0xc014, 0x009c, 0x009d, 0x002f, 0x0035,
];

/// IP + TCP header bytes in front of a segment's payload.
pub fn header_bytes(addr: SocketAddr) -> u32 {
    if addr.is_ipv4() { 40 } else { 60 }
}

/// What every probe needs.
#[derive(Clone, Debug)]
pub struct ProbeContext {
    pub addr: SocketAddr,
    pub server_name: Option<String>,
    pub negotiate: NegotiateOptions,
    /// How long a probe waits for its answer once the hello is sent.
    pub wait: Duration,
}

/// The probe ClientHello, padded to `len` bytes when given (bumped to the smallest size the
/// padding extension can reach).
pub fn probe_hello(server_name: Option<&str>, len: Option<usize>) -> Vec<u8> {
    let mut h = ClientHello::legacy(
        ProtocolVersion::TLS12,
        PROBE_SUITES.to_vec(),
        rand::random(),
    );
    if let Some(n) = server_name {
        h = h.with_server_name(n);
    }
    let plain = h.encode().unwrap_or_default();
    match len {
        Some(l) if l > plain.len() => {
            let target = l.max(plain.len() + 4);
            h.with_padded_len(target).encode().unwrap_or(plain)
        }
        _ => plain,
    }
}

fn abort(started: Instant, packet: u32, why: String) -> StepResult {
    StepResult {
        packet,
        outcome: Outcome::Abort,
        elapsed_ms: millis(started.elapsed()),
        detail: Some(why),
    }
}

/// Connect (optionally clamping our MSS) and run the X.224 exchange; the server must select a
/// TLS-based protocol.
async fn open(ctx: &ProbeContext, mss: Option<u32>) -> Result<TcpStream, String> {
    let socket = if ctx.addr.is_ipv4() {
        TcpSocket::new_v4()
    } else {
        TcpSocket::new_v6()
    }
    .map_err(|e| format!("socket: {e}"))?;
    if let Some(m) = mss {
        clamp_mss(&socket, m)?;
    }
    crate::probe::gate::admit(ctx.negotiate.connect_gate.as_deref(), ctx.addr).await;
    let mut stream = tokio::time::timeout(ctx.negotiate.connect_deadline, socket.connect(ctx.addr))
        .await
        .map_err(|_| "the probe connection timed out".to_string())?
        .map_err(|e| format!("the probe connection failed: {e}"))?;
    let _ = stream.set_nodelay(true);
    let _ = socket2::SockRef::from(&stream).set_linger(Some(Duration::ZERO));
    let mut leftover = Vec::new();
    let answer = negotiate::exchange(
        &mut stream,
        negotiate::MODERN_REQUEST,
        &ctx.negotiate,
        &mut leftover,
    )
    .await
    .answer;
    match answer {
        NegotiationAnswer::Selected { protocol, .. } if protocol.uses_tls() => Ok(stream),
        NegotiationAnswer::NoAnswer { error } => {
            Err(format!("the X.224 exchange failed: {}", error.message))
        }
        _ => Err("the server did not select TLS, so no TLS probe can be sent".into()),
    }
}

#[cfg(unix)]
fn clamp_mss(socket: &TcpSocket, mss: u32) -> Result<(), String> {
    socket2::SockRef::from(socket)
        .set_tcp_mss(mss)
        .map_err(|e| format!("TCP_MAXSEG {mss}: {e}"))
}

#[cfg(not(unix))]
fn clamp_mss(_socket: &TcpSocket, _mss: u32) -> Result<(), String> {
    Err("this system cannot clamp the MSS (TCP_MAXSEG)".into())
}

/// Whether this system can size the server → client direction.
pub fn can_clamp_mss() -> bool {
    cfg!(unix)
}

/// client → server: do `packet`-byte IP packets carrying a padded ClientHello arrive?
///
/// Where the MSS can be clamped, the connection's MSS is set to the size under test and the
/// hello fills exactly two full segments. Two full segments make the server's TCP acknowledge
/// at once with a pure ACK (RFC 1122 4.2.3.2, "at least every second full-sized segment"),
/// even after the X.224 request/response put it in delayed-ACK mode; otherwise the ACK would
/// ride on the server's answer, which a black hole the other way swallows. The clamp also keeps
/// the server's answer in packets no larger than ours.
pub async fn client_to_server(ctx: &ProbeContext, packet: u32) -> StepResult {
    let started = Instant::now();
    let hdr = header_bytes(ctx.addr);
    let clamp = can_clamp_mss().then(|| packet.saturating_sub(hdr).max(88));
    let mut stream = match open(ctx, clamp).await {
        Ok(s) => s,
        Err(why) => return abort(started, packet, why),
    };
    let ends = stream.local_addr().ok().zip(stream.peer_addr().ok());
    let info = ends.and_then(|(l, p)| tcpinfo::query(l, p));
    let options = if info.is_some_and(|i| i.timestamps()) {
        12
    } else {
        0
    };
    let overhead = hdr + options;
    // Payload per segment: the kernel's own figure (options already taken off) when known.
    let per_segment = info
        .map(|i| i.snd_mss.max(1))
        .unwrap_or(u32::MAX)
        .min(packet.saturating_sub(overhead)) as usize;
    let segments = if clamp.is_some() { 2 } else { 1 };
    let hello = probe_hello(ctx.server_name.as_deref(), Some(per_segment * segments));
    let tested = hello.len().min(per_segment) as u32 + overhead;
    let acked_before = info.and_then(|i| i.bytes_acked);
    if let Err(e) = stream.write_all(&hello).await {
        return abort(started, tested, format!("sending the probe: {e}"));
    }
    let until = Instant::now() + ctx.wait;
    let mut buf = [0u8; 4096];
    loop {
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return StepResult {
                packet: tested,
                outcome: Outcome::Failed,
                elapsed_ms: millis(started.elapsed()),
                detail: Some(format!(
                    "a {}-byte ClientHello got no answer within {} ms",
                    hello.len(),
                    ctx.wait.as_millis()
                )),
            };
        }
        let slice = left.min(Duration::from_millis(10));
        let passed = |how: &str| StepResult {
            packet: tested,
            outcome: Outcome::Passed,
            elapsed_ms: millis(started.elapsed()),
            detail: Some(how.to_string()),
        };
        match tokio::time::timeout(slice, stream.read(&mut buf)).await {
            Ok(Ok(0)) => return passed("the server closed the connection after the hello"),
            Ok(Ok(_)) => return passed("reply"),
            Ok(Err(_)) => return passed("the server reset the connection after the hello"),
            Err(_) => {}
        }
        if let (Some((l, p)), Some(before)) = (ends, acked_before)
            && let Some(now) = tcpinfo::query(l, p).and_then(|i| i.bytes_acked)
            && now >= before + hello.len() as u64
        {
            return passed("ack");
        }
    }
}

/// server → client: with our MSS clamped so the server's packets are at most `packet` bytes,
/// does its handshake flight arrive? `None`: no clamp (the path's own maximum).
pub async fn server_to_client(ctx: &ProbeContext, packet: Option<u32>) -> StepResult {
    let started = Instant::now();
    let hdr = header_bytes(ctx.addr);
    let clamp = packet.map(|p| p.saturating_sub(hdr).max(88));
    let packet = packet.unwrap_or(1500);
    let mss = clamp.unwrap_or(packet - hdr);
    let mut stream = match open(ctx, clamp).await {
        Ok(s) => s,
        Err(why) => return abort(started, packet, why),
    };
    let ends = stream.local_addr().ok().zip(stream.peer_addr().ok());
    let before = ends.and_then(|(l, p)| tcpinfo::query(l, p));
    let options = before.map_or(0, |i| if i.timestamps() { 12 } else { 0 });
    let hello = probe_hello(ctx.server_name.as_deref(), None);
    if let Err(e) = stream.write_all(&hello).await {
        return abort(started, packet, format!("sending the hello: {e}"));
    }
    let mut reader = ServerFlightReader::new();
    let mut buf = vec![0u8; 16 * 1024];
    let until = Instant::now() + ctx.wait;
    let end = loop {
        let left = until.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, stream.read(&mut buf)).await {
            Err(_) => break None,
            Ok(Ok(0)) | Ok(Err(_)) => break Some(false),
            Ok(Ok(n)) => match reader.push(&buf[..n]) {
                Ok(rdpdoctor_wire::tls::Progress::Done) => break Some(true),
                Ok(_) => {}
                Err(_) => break Some(false),
            },
        }
    };
    let flight = reader.flight();
    let got = flight.bytes + reader.buffered();
    // The flight may arrive only because a retransmission got through: when its first
    // transmission vanished, our hello (whose ACK rode on it) is retransmitted, the server
    // reports the duplicate with a D-SACK block, and that option makes the server's
    // retransmitted segments 12 bytes smaller than the size under test. The D-SACK count
    // (Linux 5.10+) says so; the size did not pass.
    let after = ends.and_then(|(l, p)| tcpinfo::query(l, p));
    let second_try = match (
        before.and_then(|i| i.dsack_dups),
        after.and_then(|i| i.dsack_dups),
    ) {
        (Some(b), Some(a)) => a > b,
        _ => false,
    };
    match end {
        Some(true) if second_try => StepResult {
            packet,
            outcome: Outcome::Failed,
            elapsed_ms: millis(started.elapsed()),
            detail: Some(
                "the handshake flight's first transmission vanished; it got through only as a retransmission (the server reported our hello twice)"
                    .into(),
            ),
        },
        Some(true) if flight.alert().is_none() => {
            // The largest segment the server could send was min(flight, MSS − options).
            let segment = (mss.saturating_sub(options) as usize).min(flight.bytes) as u32;
            StepResult {
                packet: (segment + hdr + options).min(packet),
                outcome: Outcome::Passed,
                elapsed_ms: millis(started.elapsed()),
                detail: Some(format!("{}-byte handshake flight arrived", flight.bytes)),
            }
        }
        Some(_) => abort(
            started,
            packet,
            format!(
                "the server answered the hello with {got} bytes and no certificate flight (an alert or a close): its answer is too small to test this direction"
            ),
        ),
        None => StepResult {
            packet,
            outcome: Outcome::Failed,
            elapsed_ms: millis(started.elapsed()),
            detail: Some(format!(
                "the handshake flight stalled: {got} bytes within {} ms",
                ctx.wait.as_millis()
            )),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probe_hellos_have_the_requested_size() {
        let plain = probe_hello(Some("server01.contoso.com"), None);
        assert!(plain.len() < 300, "{}", plain.len());
        for len in [576, 1000, 1448, 1460] {
            assert_eq!(
                probe_hello(Some("server01.contoso.com"), Some(len)).len(),
                len
            );
        }
        // Just above the unpadded size: the padding extension's header forces 4 more bytes.
        let near = probe_hello(None, Some(probe_hello(None, None).len() + 1));
        assert_eq!(near.len(), probe_hello(None, None).len() + 4);
    }
}
