//! The UDP transport: does the RDP port answer an MS-RDPEUDP SYN?
//!
//! The SYN is what mstsc sends (1232 bytes, zero padded, SYNEX version 2; see
//! `rdpdoctor_wire::rdpeudp`), retransmitted with backoff like the client in the captures
//! (three tries over a few seconds). A SYN+ACK must echo our initial sequence number.
//!
//! Silence is reported as "no answer", never as a block: a firewall may drop UDP 3389, policy
//! may turn the transport off (SelectTransport, fClientDisableUDP), or a Windows server may
//! ignore a SYN that no multitransport request on a TCP connection announced — the public
//! sources do not say which. An ICMP port unreachable is different: the host said nothing
//! listens there.
//!
//! When the server answers, a series of fresh handshakes (each its own socket and sequence
//! number) measures the loss of the UDP path, which is what the RDP UDP transport will suffer.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::{Duration, Instant};
use tokio::net::UdpSocket;

use super::stats;
use crate::evidence::{Stage, StageError, StageName, UdpLoss, UdpOutcome, UdpProbe, millis};
use rdpdoctor_wire::rdpeudp::{self, Syn, SynAck};

/// How the SYN is sent.
#[derive(Clone, Debug)]
pub struct UdpOptions {
    /// How long to wait after each (re)transmission of the SYN.
    pub waits: Vec<Duration>,
    /// Fresh handshakes for the loss estimate, when the server answers (0: none).
    pub loss_samples: u32,
    /// Pause between two of those.
    pub loss_interval: Duration,
    /// Deadline for each of those.
    pub loss_timeout: Duration,
}

impl Default for UdpOptions {
    fn default() -> Self {
        UdpOptions {
            waits: vec![
                Duration::from_millis(500),
                Duration::from_millis(1000),
                Duration::from_millis(2000),
            ],
            loss_samples: 20,
            loss_interval: Duration::from_millis(20),
            loss_timeout: Duration::from_millis(1000),
        }
    }
}

/// What one SYN exchange produced.
enum Exchange {
    Answered { ack: SynAck, rtt_ms: f64 },
    NoAnswer { unexpected: Option<String> },
    Refused,
    Failed(std::io::Error),
}

/// Send the SYN to `addr` (UDP, the RDP port number) and report what came back.
pub async fn probe(addr: SocketAddr, opts: &UdpOptions) -> Stage<UdpProbe> {
    let started = Instant::now();
    let isn: u32 = rand::random();
    let mut ev = UdpProbe {
        address: Some(addr),
        ..Default::default()
    };
    let socket = match open(addr).await {
        Ok(s) => s,
        Err(e) => {
            return Stage::failed(StageError::new(
                StageName::Udp,
                super::io::classify(&e),
                started.elapsed(),
                format!(
                    "opening a UDP socket to {addr}: {}",
                    super::io::describe(&e)
                ),
            ));
        }
    };
    let waits = if opts.waits.is_empty() {
        vec![Duration::from_secs(1)]
    } else {
        opts.waits.clone()
    };
    let mut unexpected = None;
    let mut outcome = None;
    for wait in &waits {
        ev.syns_sent += 1;
        match exchange(&socket, isn, *wait).await {
            Exchange::Answered { ack, rtt_ms } => {
                outcome = Some((ack, rtt_ms));
                break;
            }
            Exchange::NoAnswer { unexpected: u } => unexpected = u.or(unexpected),
            Exchange::Refused => {
                ev.outcome = UdpOutcome::Refused;
                ev.note = format!(
                    "ICMP port unreachable after the SYN: the host is up and nothing listens on UDP {} (the RDP UDP listener is off), or a firewall rejects it",
                    addr.port()
                );
                return Stage::ok(started.elapsed(), ev);
            }
            Exchange::Failed(e) => {
                return Stage::failed_with(
                    StageError::new(
                        StageName::Udp,
                        super::io::classify(&e),
                        started.elapsed(),
                        format!("sending the RDPEUDP SYN: {}", super::io::describe(&e)),
                    ),
                    ev,
                );
            }
        }
    }
    let Some((ack, rtt_ms)) = outcome else {
        let total: Duration = waits.iter().sum();
        ev.outcome = if unexpected.is_some() {
            UdpOutcome::Unexpected
        } else {
            UdpOutcome::NoAnswer
        };
        ev.note = match unexpected {
            Some(what) => format!(
                "UDP {} answered, but not with a SYN+ACK for our SYN ({what})",
                addr.port()
            ),
            None => format!(
                "no answer to {} MS-RDPEUDP SYNs over {:.1} s. This is not proof of a block: UDP {} may be filtered, the UDP transport may be disabled (SelectTransport, fClientDisableUDP, firewall rule), or the server may ignore a SYN that no TCP multitransport request announced",
                ev.syns_sent,
                total.as_secs_f64(),
                addr.port()
            ),
        };
        return Stage::ok(started.elapsed(), ev);
    };
    ev.answered = true;
    ev.outcome = UdpOutcome::Answered;
    ev.version = Some(ack.version());
    ev.version_name = Some(version_name(ack.version()));
    ev.up_mtu = Some(ack.up_mtu);
    ev.down_mtu = Some(ack.down_mtu);
    ev.flags = Some(ack.flags);
    ev.datagram_len = Some(ack.datagram_len as u32);
    ev.rtt_ms = Some(rtt_ms);
    ev.note = format!(
        "the server answered the MS-RDPEUDP SYN: the UDP transport is available ({}, MTU {}/{})",
        version_name(ack.version()),
        ack.up_mtu,
        ack.down_mtu
    );
    if opts.loss_samples > 0 {
        ev.loss = Some(loss(addr, opts).await);
    }
    Stage::ok(started.elapsed(), ev)
}

/// The uUdpVer names of MS-RDPEUDP 2.2.2.9.
pub fn version_name(v: u16) -> String {
    match v {
        rdpeudp::version::V1 => "RDPUDP_PROTOCOL_VERSION_1".into(),
        rdpeudp::version::V2 => "RDPUDP_PROTOCOL_VERSION_2".into(),
        rdpeudp::version::V3 => "RDPUDP_PROTOCOL_VERSION_3 (MS-RDPEUDP2)".into(),
        other => format!("unknown version 0x{other:04X}"),
    }
}

async fn open(addr: SocketAddr) -> std::io::Result<UdpSocket> {
    let local: SocketAddr = if addr.is_ipv4() {
        (Ipv4Addr::UNSPECIFIED, 0).into()
    } else {
        (Ipv6Addr::UNSPECIFIED, 0).into()
    };
    let s = UdpSocket::bind(local).await?;
    // Connected: only the server's datagrams arrive, and an ICMP port unreachable surfaces
    // as ECONNREFUSED.
    s.connect(addr).await?;
    Ok(s)
}

/// Send the SYN with `isn` once and wait up to `wait` for its SYN+ACK.
async fn exchange(socket: &UdpSocket, isn: u32, wait: Duration) -> Exchange {
    let syn = Syn::new(isn).encode();
    let sent = Instant::now();
    match socket.send(&syn).await {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => return Exchange::Refused,
        Err(e) => return Exchange::Failed(e),
    }
    let until = sent + wait;
    let mut buf = vec![0u8; 2048];
    let mut unexpected = None;
    loop {
        let left = until.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, socket.recv(&mut buf)).await {
            Err(_) => return Exchange::NoAnswer { unexpected },
            Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
                return Exchange::Refused;
            }
            Ok(Err(e)) => return Exchange::Failed(e),
            Ok(Ok(n)) => match SynAck::decode_for(&buf[..n], isn) {
                Ok(ack) => {
                    return Exchange::Answered {
                        ack,
                        rtt_ms: millis(sent.elapsed()),
                    };
                }
                Err(e) => unexpected = Some(format!("{n} bytes: {e}")),
            },
        }
    }
}

/// Fresh handshakes, paced, each waiting once: the share that gets no SYN+ACK.
async fn loss(addr: SocketAddr, opts: &UdpOptions) -> UdpLoss {
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..opts.loss_samples {
        let timeout = opts.loss_timeout;
        tasks.spawn(async move {
            let Ok(socket) = open(addr).await else {
                return None;
            };
            match exchange(&socket, rand::random(), timeout).await {
                Exchange::Answered { rtt_ms, .. } => Some(Some(rtt_ms)),
                Exchange::NoAnswer { .. } | Exchange::Refused => Some(None),
                Exchange::Failed(_) => None,
            }
        });
        tokio::time::sleep(opts.loss_interval).await;
    }
    let results: Vec<Option<Option<f64>>> = tasks.join_all().await;
    let sent = results.iter().filter(|r| r.is_some()).count() as u32;
    let mut rtts: Vec<f64> = results.into_iter().flatten().flatten().collect();
    rtts.sort_by(f64::total_cmp);
    let answered = rtts.len() as u32;
    let lost = sent - answered;
    UdpLoss {
        sent,
        answered,
        loss_pct: stats::percent(lost, sent),
        loss_interval_pct: stats::wilson(lost, sent),
        rtt_median_ms: (!rtts.is_empty()).then(|| stats::median(&rtts)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quick() -> UdpOptions {
        UdpOptions {
            waits: vec![Duration::from_millis(100), Duration::from_millis(200)],
            loss_samples: 5,
            loss_interval: Duration::from_millis(1),
            loss_timeout: Duration::from_millis(300),
        }
    }

    #[tokio::test]
    async fn a_silent_port_is_no_answer_and_a_closed_one_refused() {
        let silent = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let stage = probe(silent.local_addr().unwrap(), &quick()).await;
        let p = stage.value().unwrap();
        assert!(!p.answered);
        assert_eq!(p.outcome, UdpOutcome::NoAnswer);
        assert_eq!(p.syns_sent, 2);
        assert!(p.note.contains("not proof of a block"), "{}", p.note);
        let addr = silent.local_addr().unwrap();
        drop(silent);
        let p = probe(addr, &quick()).await.value().cloned().unwrap();
        assert_eq!(p.outcome, UdpOutcome::Refused, "{p:?}");
    }

    #[tokio::test]
    async fn an_answering_server_reports_version_mtu_and_loss() {
        let server = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let addr = server.local_addr().unwrap();
        std::thread::spawn(move || {
            let mut buf = [0u8; 2048];
            while let Ok((n, from)) = server.recv_from(&mut buf) {
                let Ok(syn) = Syn::decode(&buf[..n]) else {
                    continue;
                };
                let ack = SynAck {
                    source_ack: syn.initial_sequence_number,
                    receive_window: 64,
                    flags: 0x1005,
                    initial_sequence_number: 9,
                    up_mtu: 1232,
                    down_mtu: 1232,
                    synex: Some(rdpeudp::SynEx {
                        flags: 1,
                        version: 2,
                        cookie_hash: None,
                    }),
                    datagram_len: 1232,
                };
                let _ = server.send_to(&ack.encode(), from);
            }
        });
        let p = probe(addr, &quick()).await.value().cloned().unwrap();
        assert!(p.answered);
        assert_eq!(p.version, Some(2));
        assert_eq!((p.up_mtu, p.down_mtu), (Some(1232), Some(1232)));
        assert_eq!(p.datagram_len, Some(1232));
        let loss = p.loss.unwrap();
        assert_eq!((loss.sent, loss.answered, loss.loss_pct), (5, 5, 0.0));
    }
}
