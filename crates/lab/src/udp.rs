//! MS-RDPEUDP endpoints: the UDP SYN responder.
//!
//! It answers like the Windows servers in the shared captures
//! (`data/pcap/zeek/rdpeudp*-handshake-success.pcap`): a 1232-byte SYN+ACK with uFlags
//! SYN|ACK|SYNEX (0x1005), snSourceAck echoing the client's snInitialSequenceNumber, window 64,
//! MTUs 1232 (or the client's, when it asked for less, within the 1132..1232 the spec allows)
//! and the version negotiated down: a client asking for RDPEUDP2 (0x0101) gets it, any other
//! at most version 2 (the capture where the client sent 0x0003 got 0x0002). Anything that is
//! not a client SYN is ignored, as Windows ignores it. The handshake stops there: no ACK is
//! expected and no data phase follows.
//!
//! Every lab scenario that plays Windows binds UDP on its TCP port number and answers
//! ([`answers`]); [`LabUdp::Silent`] keeps the port open and never answers (a firewall that
//! drops UDP 3389, or a server that ignores a SYN no multitransport request announced), and
//! [`LabUdp::Off`] binds nothing (ICMP port unreachable). [`Responder`] runs the same answer
//! on a thread for a socket made elsewhere, such as inside a test's network namespace.

use std::net::UdpSocket as StdUdpSocket;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::Duration;

use rdpdoctor_wire::rdpeudp::{self, Syn, SynAck, SynEx, flags, version};

use crate::scenario::Scenario;

/// What a lab's UDP ports do.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LabUdp {
    /// Answer SYNs like Windows (scenarios that play Windows only).
    #[default]
    Answer,
    /// Bind and never answer.
    Silent,
    /// Bind nothing.
    Off,
}

/// Whether `scenario` plays a Windows server, which has the UDP transport. xrdp and the
/// FreeRDP server have none, and the broken-listener scenarios are not RDP servers at all.
pub fn answers(scenario: &Scenario) -> bool {
    !matches!(
        scenario,
        Scenario::Xrdp
            | Scenario::FreeRdpNla
            | Scenario::Silent
            | Scenario::Reset
            | Scenario::Http
            | Scenario::Hostile(_)
    )
}

/// The SYN+ACK a Windows server sends for `syn`, with the server's own sequence number.
pub fn syn_ack_for(syn: &Syn, server_isn: u32) -> SynAck {
    let negotiated = syn.synex.map(|x| {
        if x.version == version::V3 {
            version::V3
        } else {
            x.version.min(version::V2)
        }
    });
    SynAck {
        source_ack: syn.initial_sequence_number,
        receive_window: 64,
        flags: flags::SYN
            | flags::ACK
            | if negotiated.is_some() {
                flags::SYNEX
            } else {
                0
            },
        initial_sequence_number: server_isn,
        up_mtu: syn.up_mtu.clamp(rdpeudp::MIN_MTU, rdpeudp::MAX_MTU),
        down_mtu: syn.down_mtu.clamp(rdpeudp::MIN_MTU, rdpeudp::MAX_MTU),
        synex: negotiated.map(|v| SynEx {
            flags: rdpeudp::SYNEX_VERSION_INFO_VALID,
            version: v,
            cookie_hash: None,
        }),
        datagram_len: rdpeudp::SYN_DATAGRAM_LEN,
    }
}

/// The answer to one datagram, if it deserves one.
pub fn answer(datagram: &[u8]) -> Option<Vec<u8>> {
    let syn = Syn::decode(datagram).ok()?;
    Some(syn_ack_for(&syn, rand::random()).encode())
}

/// The lab runtime's responder for one endpoint.
pub(crate) async fn serve(socket: tokio::net::UdpSocket, mode: LabUdp) {
    let mut buf = vec![0u8; 2048];
    while let Ok((n, from)) = socket.recv_from(&mut buf).await {
        if mode == LabUdp::Answer
            && let Some(reply) = answer(&buf[..n])
        {
            let _ = socket.send_to(&reply, from).await;
        }
    }
}

/// The responder on a thread of its own, for a socket made by the caller; stops on drop.
pub struct Responder {
    stop: Arc<AtomicBool>,
    answered: Arc<AtomicU32>,
}

impl Responder {
    pub fn on(socket: StdUdpSocket) -> std::io::Result<Responder> {
        socket.set_read_timeout(Some(Duration::from_millis(50)))?;
        let stop = Arc::new(AtomicBool::new(false));
        let answered = Arc::new(AtomicU32::new(0));
        let (stop2, answered2) = (Arc::clone(&stop), Arc::clone(&answered));
        std::thread::Builder::new()
            .name("rdpdoctor-lab-udp".to_owned())
            .spawn(move || {
                let mut buf = [0u8; 2048];
                while !stop2.load(Ordering::Relaxed) {
                    let Ok((n, from)) = socket.recv_from(&mut buf) else {
                        continue;
                    };
                    if let Some(reply) = answer(&buf[..n]) {
                        answered2.fetch_add(1, Ordering::Relaxed);
                        let _ = socket.send_to(&reply, from);
                    }
                }
            })?;
        Ok(Responder { stop, answered })
    }

    /// SYNs answered so far.
    pub fn answered(&self) -> u32 {
        self.answered.load(Ordering::Relaxed)
    }
}

impl Drop for Responder {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_like_the_captured_windows_server() {
        // The client SYN of rdpeudp-handshake-success.pcap: ISN 0x0b127f15, SYNEX version 3
        // (undefined), a correlation id.
        let mut syn = Syn::new(0x0b12_7f15);
        syn.correlation_id = Some([7; 16]);
        syn.synex = Some(SynEx {
            flags: 1,
            version: 0x0003,
            cookie_hash: None,
        });
        let bytes = syn_ack_for(&syn, 0x0f94_ea0b).encode();
        assert_eq!(bytes.len(), 1232);
        // snSourceAck = client ISN, window 64, uFlags 0x1005, server ISN, MTUs 0x04d0, SYNEX
        // flags 1 and version 2: the capture's SYN+ACK fields.
        let head: String = bytes[..20].iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(head, "0b127f15004010050f94ea0b04d004d000010002");
        assert!(bytes[20..].iter().all(|&b| b == 0));
        let v3 = Syn {
            synex: Some(SynEx {
                flags: 1,
                version: version::V3,
                cookie_hash: Some([0; 32]),
            }),
            ..Syn::new(1)
        };
        assert_eq!(syn_ack_for(&v3, 2).version(), version::V3);
        let v1 = Syn {
            synex: None,
            up_mtu: 1100,
            ..Syn::new(1)
        };
        let a = syn_ack_for(&v1, 2);
        assert_eq!(
            (a.flags, a.version(), a.up_mtu),
            (0x0005, version::V1, 1132)
        );
        assert_eq!(answer(b"not a syn"), None);
        assert_eq!(answer(&a.encode()), None, "a SYN+ACK is not answered");
    }

    #[test]
    fn the_thread_responder_answers_on_loopback() {
        let socket = StdUdpSocket::bind("127.0.0.1:0").unwrap();
        let addr = socket.local_addr().unwrap();
        let r = Responder::on(socket).unwrap();
        let c = StdUdpSocket::bind("127.0.0.1:0").unwrap();
        c.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
        c.send_to(&Syn::new(42).encode(), addr).unwrap();
        let mut buf = [0u8; 2048];
        let (n, _) = c.recv_from(&mut buf).unwrap();
        let ack = SynAck::decode_for(&buf[..n], 42).unwrap();
        assert_eq!((ack.flags, ack.version(), n), (0x1005, 2, 1232));
        assert_eq!(r.answered(), 1);
    }
}
