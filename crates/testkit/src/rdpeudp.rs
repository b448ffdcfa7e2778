//! An MS-RDPEUDP SYN responder that answers like the Windows servers in the captures
//! (`shared/data/pcap/zeek/rdpeudp*-handshake-success.pcap`): a 1232-byte SYN+ACK with uFlags
//! SYN|ACK|SYNEX (0x1005), snSourceAck echoing the client's initial sequence number, window
//! 64, MTUs 1232 (or the client's, if smaller), and the version negotiated down: a client
//! asking for RDPEUDP2 (0x0101) gets it, any other client at most version 2 (the capture where
//! a client sent 0x0003 got 0x0002 back).
//!
//! Standalone until the lab server crate lands; it only needs a UDP socket, so it runs on
//! loopback or inside a test namespace (create the socket with `Netns::enter`).

use std::net::{SocketAddr, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::Duration;

use rdpdoctor_wire::rdpeudp::{self, Syn, SynAck, SynEx, flags, version};

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

/// A running responder; stops on drop.
pub struct Responder {
    pub addr: SocketAddr,
    stop: Arc<AtomicBool>,
    answered: Arc<AtomicU32>,
}

impl Responder {
    /// Answer SYNs on `addr` (port 0 picks one).
    pub fn start(addr: SocketAddr) -> Responder {
        Responder::on(UdpSocket::bind(addr).expect("bind the RDPEUDP responder"))
    }

    /// Answer SYNs on an existing socket (one made inside a namespace).
    pub fn on(socket: UdpSocket) -> Responder {
        let addr = socket.local_addr().expect("local address");
        socket
            .set_read_timeout(Some(Duration::from_millis(50)))
            .expect("timeout");
        let stop = Arc::new(AtomicBool::new(false));
        let answered = Arc::new(AtomicU32::new(0));
        let (stop2, answered2) = (stop.clone(), answered.clone());
        std::thread::spawn(move || {
            let mut buf = [0u8; 2048];
            let mut isn: u32 = 0x0f94_ea0b;
            while !stop2.load(Ordering::Relaxed) {
                let Ok((n, from)) = socket.recv_from(&mut buf) else {
                    continue;
                };
                // Anything that is not a client SYN is ignored, as Windows does.
                let Ok(syn) = Syn::decode(&buf[..n]) else {
                    continue;
                };
                isn = isn.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                answered2.fetch_add(1, Ordering::Relaxed);
                let _ = socket.send_to(&syn_ack_for(&syn, isn).encode(), from);
            }
        });
        Responder {
            addr,
            stop,
            answered,
        }
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
        // The client SYN of rdpeudp-handshake-success.pcap: ISN 0x0b127f15, SYNEX version 3.
        let mut syn = Syn::new(0x0b12_7f15);
        syn.correlation_id = Some([7; 16]);
        syn.synex = Some(SynEx {
            flags: 1,
            version: 0x0003,
            cookie_hash: None,
        });
        let ack = syn_ack_for(&syn, 0x0f94_ea0b);
        let bytes = ack.encode();
        assert_eq!(bytes.len(), 1232);
        // snSourceAck = client ISN, window 64, uFlags 0x1005, MTUs 0x04d0, SYNEX 1 / version 2.
        assert_eq!(
            hex_head(&bytes),
            "0b127f1500401005".to_string() + "0f94ea0b04d004d000010002"
        );
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
            ..Syn::new(1)
        };
        let a = syn_ack_for(&v1, 2);
        assert_eq!((a.flags, a.version()), (0x0005, version::V1));
    }

    fn hex_head(b: &[u8]) -> String {
        b[..20].iter().map(|x| format!("{x:02x}")).collect()
    }

    #[test]
    fn answers_on_loopback_and_ignores_garbage() {
        let r = Responder::start("127.0.0.1:0".parse().unwrap());
        let c = UdpSocket::bind("127.0.0.1:0").unwrap();
        c.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
        c.send_to(b"not a syn", r.addr).unwrap();
        c.send_to(&Syn::new(42).encode(), r.addr).unwrap();
        let mut buf = [0u8; 2048];
        let (n, _) = c.recv_from(&mut buf).unwrap();
        let ack = SynAck::decode_for(&buf[..n], 42).unwrap();
        assert_eq!(ack.flags, 0x1005);
        assert_eq!(r.answered(), 1);
    }
}
