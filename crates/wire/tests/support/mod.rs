//! Test helper: read a shared pcap fixture and give back each TCP connection's two byte streams
//! (reassembled by sequence number, retransmissions and duplicated packets dropped) and every
//! UDP datagram. Only what the wire tests need: Ethernet + IPv4/IPv6, no IP fragments.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};

use etherparse::{NetSlice, SlicedPacket, TransportSlice};
use pcap_file::pcap::PcapReader;

/// One TCP connection, identified by the side that sent the first SYN (the client).
#[derive(Debug, Default)]
pub struct TcpConnection {
    pub client: Option<SocketAddr>,
    pub server: Option<SocketAddr>,
    pub client_to_server: Vec<u8>,
    pub server_to_client: Vec<u8>,
}

/// One UDP datagram.
#[derive(Debug, Clone)]
pub struct Datagram {
    pub src: SocketAddr,
    pub dst: SocketAddr,
    pub payload: Vec<u8>,
}

/// A loaded capture.
#[derive(Debug, Default)]
pub struct Capture {
    pub tcp: Vec<TcpConnection>,
    pub udp: Vec<Datagram>,
}

#[derive(Default)]
struct Direction {
    syn_seq: Option<u32>,
    segments: Vec<(u32, Vec<u8>)>,
}

impl Direction {
    fn stream(&self) -> Vec<u8> {
        let base = match (self.syn_seq, self.segments.iter().map(|s| s.0).min()) {
            (Some(s), _) => s.wrapping_add(1),
            (None, Some(m)) => m,
            (None, None) => return Vec::new(),
        };
        let mut by_offset: BTreeMap<u32, &[u8]> = BTreeMap::new();
        for (seq, data) in &self.segments {
            let off = seq.wrapping_sub(base);
            let e = by_offset.entry(off).or_insert(&data[..]);
            if data.len() > e.len() {
                *e = &data[..];
            }
        }
        let mut out = Vec::new();
        for (off, data) in by_offset {
            let off = off as usize;
            if off > out.len() {
                break; // a gap: stop at the last contiguous byte
            }
            let skip = out.len() - off;
            if skip < data.len() {
                out.extend_from_slice(&data[skip..]);
            }
        }
        out
    }
}

fn addr(ip: IpAddr, port: u16) -> SocketAddr {
    SocketAddr::new(ip, port)
}

/// Load `pcap/zeek/NAME` from the shared fixtures, or `None` (after a SKIP message).
pub fn load(name: &str) -> Option<Capture> {
    let path = rdpdoctor_testkit::shared_file(&format!("pcap/zeek/{name}"))?;
    let file = std::fs::File::open(&path).expect("open pcap");
    let mut reader = PcapReader::new(file).expect("pcap header");
    // Connection key: (client, server) once known; packets are matched in either direction.
    let mut conns: Vec<((SocketAddr, SocketAddr), Direction, Direction)> = Vec::new();
    let mut udp = Vec::new();
    while let Some(pkt) = reader.next_packet() {
        let pkt = pkt.expect("pcap packet");
        let Ok(sliced) = SlicedPacket::from_ethernet(&pkt.data) else {
            continue;
        };
        let (src_ip, dst_ip): (IpAddr, IpAddr) = match &sliced.net {
            Some(NetSlice::Ipv4(v4)) => (
                v4.header().source_addr().into(),
                v4.header().destination_addr().into(),
            ),
            Some(NetSlice::Ipv6(v6)) => (
                v6.header().source_addr().into(),
                v6.header().destination_addr().into(),
            ),
            _ => continue,
        };
        match &sliced.transport {
            Some(TransportSlice::Udp(u)) => udp.push(Datagram {
                src: addr(src_ip, u.source_port()),
                dst: addr(dst_ip, u.destination_port()),
                payload: u.payload().to_vec(),
            }),
            Some(TransportSlice::Tcp(t)) => {
                let src = addr(src_ip, t.source_port());
                let dst = addr(dst_ip, t.destination_port());
                let idx = conns
                    .iter()
                    .rposition(|(k, _, _)| *k == (src, dst) || *k == (dst, src));
                let idx = match idx {
                    // A new SYN (no ACK) from a known pair starts a new connection only if the
                    // old one already carried data (port reuse); duplicates of the SYN do not.
                    Some(i) if !(t.syn() && !t.ack() && !conns[i].1.segments.is_empty()) => i,
                    _ => {
                        // Client = sender of a bare SYN; otherwise the side not on 3389.
                        let key = if (t.syn() && !t.ack()) || dst.port() == 3389 {
                            (src, dst)
                        } else {
                            (dst, src)
                        };
                        conns.push((key, Direction::default(), Direction::default()));
                        conns.len() - 1
                    }
                };
                let (key, c2s, s2c) = &mut conns[idx];
                let dir = if src == key.0 { c2s } else { s2c };
                if t.syn() {
                    dir.syn_seq = Some(t.sequence_number());
                }
                if !t.payload().is_empty() {
                    dir.segments
                        .push((t.sequence_number(), t.payload().to_vec()));
                }
            }
            _ => {}
        }
    }
    Some(Capture {
        tcp: conns
            .into_iter()
            .map(|((c, s), c2s, s2c)| TcpConnection {
                client: Some(c),
                server: Some(s),
                client_to_server: c2s.stream(),
                server_to_client: s2c.stream(),
            })
            .collect(),
        udp,
    })
}
