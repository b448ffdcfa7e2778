//! The kernel's view of one of our TCP connections (Linux `tcp_info`), without unsafe code.
//!
//! `getsockopt(TCP_INFO)` needs `unsafe` (no maintained safe crate wraps it: socket2, nix and
//! rustix do not), and this workspace forbids unsafe code. The same structure is available
//! through the sock_diag netlink interface that `ss -ti` uses: ask for the socket by its
//! address four-tuple with the `INET_DIAG_INFO` extension. Unprivileged, one round trip to the
//! kernel, and every byte is parsed with bounds checks here.
//!
//! Used for two things the timing alone cannot give: how many SYNs the kernel retransmitted
//! for a handshake, and whether the server's TCP acknowledged a probe (the MTU search
//! client → server does not depend on the server's possibly black-holed answer).
//!
//! On other systems [`query`] returns `None` and callers fall back to timing. Windows has
//! `SIO_TCP_INFO` (`TCP_INFO_v0.SynRetrans`, `BytesRetrans`), but only through `WSAIoctl`,
//! which no safe crate exposes.

use std::net::SocketAddr;

/// The fields of `struct tcp_info` rdpdoctor uses.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TcpInfo {
    /// `tcpi_state` (1 = ESTABLISHED, 2 = SYN_SENT).
    pub state: u8,
    /// `tcpi_options` (bit 0: timestamps, which take 12 bytes of every segment).
    pub options: u8,
    /// `tcpi_snd_mss`: payload bytes per segment we send.
    pub snd_mss: u32,
    /// `tcpi_unacked`: segments sent and not yet acknowledged.
    pub unacked: u32,
    /// `tcpi_rtt`: smoothed RTT in microseconds.
    pub rtt_us: u32,
    /// `tcpi_total_retrans`: every retransmitted segment, SYNs included.
    pub total_retrans: u32,
    /// `tcpi_bytes_acked` (Linux 4.1+): bytes the peer acknowledged.
    pub bytes_acked: Option<u64>,
    /// `tcpi_dsack_dups` (Linux 5.10+): D-SACK blocks received, i.e. how often the peer told
    /// us it got one of our segments twice.
    pub dsack_dups: Option<u32>,
}

impl TcpInfo {
    /// TCP timestamps are on: 12 option bytes in every segment.
    pub fn timestamps(&self) -> bool {
        self.options & 1 != 0
    }

    /// Parse the `INET_DIAG_INFO` payload (a `struct tcp_info`, whose size grows with the
    /// kernel version; older kernels send a prefix).
    pub fn parse(b: &[u8]) -> Option<TcpInfo> {
        let u32_at = |at: usize| {
            b.get(at..at + 4)
                .map(|s| u32::from_ne_bytes([s[0], s[1], s[2], s[3]]))
        };
        let u64_at = |at: usize| {
            b.get(at..at + 8).map(|s| {
                let mut a = [0u8; 8];
                a.copy_from_slice(s);
                u64::from_ne_bytes(a)
            })
        };
        Some(TcpInfo {
            state: *b.first()?,
            options: *b.get(5)?,
            snd_mss: u32_at(16)?,
            unacked: u32_at(24)?,
            rtt_us: u32_at(68)?,
            total_retrans: u32_at(100)?,
            bytes_acked: u64_at(120),
            dsack_dups: u32_at(216),
        })
    }
}

/// Whether the kernel interface is there (Linux only).
pub fn available() -> bool {
    cfg!(target_os = "linux")
}

/// `tcp_info` of our connection from `local` to `peer`, or `None` when the system cannot say.
pub fn query(local: SocketAddr, peer: SocketAddr) -> Option<TcpInfo> {
    #[cfg(target_os = "linux")]
    {
        linux::query(local, peer)
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = (local, peer);
        None
    }
}

/// The sock_diag request and reply layouts (include/uapi/linux/inet_diag.h, netlink.h).
pub mod wire {
    use std::net::{IpAddr, SocketAddr};

    /// `SOCK_DIAG_BY_FAMILY`.
    pub const SOCK_DIAG_BY_FAMILY: u16 = 20;
    /// `NLMSG_ERROR`.
    pub const NLMSG_ERROR: u16 = 2;
    const NLM_F_REQUEST: u16 = 1;
    /// `INET_DIAG_INFO`: the attribute carrying `struct tcp_info`.
    pub const INET_DIAG_INFO: u16 = 2;
    const NLMSG_HDRLEN: usize = 16;
    const INET_DIAG_MSG_LEN: usize = 72;

    /// A request for exactly one socket, identified by its four-tuple (the kernel then needs
    /// no dump and no filter).
    pub fn request(local: SocketAddr, peer: SocketAddr, seq: u32) -> Vec<u8> {
        let family: u8 = if local.is_ipv4() { 2 } else { 10 };
        let mut b = Vec::with_capacity(72);
        b.extend_from_slice(&72u32.to_ne_bytes());
        b.extend_from_slice(&SOCK_DIAG_BY_FAMILY.to_ne_bytes());
        b.extend_from_slice(&NLM_F_REQUEST.to_ne_bytes());
        b.extend_from_slice(&seq.to_ne_bytes());
        b.extend_from_slice(&0u32.to_ne_bytes());
        // inet_diag_req_v2: family, IPPROTO_TCP, extensions (1 << (INET_DIAG_INFO - 1)), pad,
        // every state.
        b.extend_from_slice(&[family, 6, 1 << (INET_DIAG_INFO - 1), 0]);
        b.extend_from_slice(&u32::MAX.to_ne_bytes());
        // inet_diag_sockid: ports and addresses in network order.
        b.extend_from_slice(&local.port().to_be_bytes());
        b.extend_from_slice(&peer.port().to_be_bytes());
        put_addr(&mut b, local.ip());
        put_addr(&mut b, peer.ip());
        b.extend_from_slice(&0u32.to_ne_bytes());
        // INET_DIAG_NOCOOKIE.
        b.extend_from_slice(&[0xff; 8]);
        debug_assert_eq!(b.len(), 72);
        b
    }

    fn put_addr(b: &mut Vec<u8>, ip: IpAddr) {
        let mut a = [0u8; 16];
        match ip {
            IpAddr::V4(v4) => a[..4].copy_from_slice(&v4.octets()),
            IpAddr::V6(v6) => a.copy_from_slice(&v6.octets()),
        }
        b.extend_from_slice(&a);
    }

    /// The `tcp_info` bytes in a reply, `Err(errno)` for a netlink error, `Ok(None)` when the
    /// reply carries no such attribute.
    pub fn tcp_info_attribute(reply: &[u8]) -> Result<Option<&[u8]>, i32> {
        let u16_at = |at: usize| {
            reply
                .get(at..at + 2)
                .map(|s| u16::from_ne_bytes([s[0], s[1]]))
        };
        let u32_at = |at: usize| {
            reply
                .get(at..at + 4)
                .map(|s| u32::from_ne_bytes([s[0], s[1], s[2], s[3]]))
        };
        let Some(len) = u32_at(0).map(|l| l as usize) else {
            return Ok(None);
        };
        let len = len.min(reply.len());
        match u16_at(4) {
            Some(NLMSG_ERROR) => {
                let errno = u32_at(NLMSG_HDRLEN).map_or(0, |e| e as i32);
                return Err(-errno);
            }
            Some(SOCK_DIAG_BY_FAMILY) => {}
            _ => return Ok(None),
        }
        let mut at = NLMSG_HDRLEN + INET_DIAG_MSG_LEN;
        while at + 4 <= len {
            let (Some(alen), Some(atype)) = (u16_at(at), u16_at(at + 2)) else {
                break;
            };
            let alen = alen as usize;
            if alen < 4 || at + alen > len {
                break;
            }
            if atype & 0x3fff == INET_DIAG_INFO {
                return Ok(Some(&reply[at + 4..at + alen]));
            }
            at += (alen + 3) & !3;
        }
        Ok(None)
    }
}

#[cfg(target_os = "linux")]
mod linux {
    use super::{TcpInfo, wire};
    use socket2::{Domain, Protocol, Socket, Type};
    use std::io::Read;
    use std::net::SocketAddr;
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::time::Duration;

    const AF_NETLINK: i32 = 16;
    const NETLINK_SOCK_DIAG: i32 = 4;

    pub fn query(local: SocketAddr, peer: SocketAddr) -> Option<TcpInfo> {
        // A v4 socket seen through a v6 address (or the reverse) is not found; normalise.
        let (local, peer) = (canonical(local), canonical(peer));
        if local.is_ipv4() != peer.is_ipv4() {
            return None;
        }
        static SEQ: AtomicU32 = AtomicU32::new(1);
        let seq = SEQ.fetch_add(1, Ordering::Relaxed);
        let sock = Socket::new(
            Domain::from(AF_NETLINK),
            Type::DGRAM,
            Some(Protocol::from(NETLINK_SOCK_DIAG)),
        )
        .ok()?;
        sock.set_read_timeout(Some(Duration::from_millis(200)))
            .ok()?;
        sock.send(&wire::request(local, peer, seq)).ok()?;
        let mut buf = vec![0u8; 8192];
        let n = (&sock).read(&mut buf).ok()?;
        let info = wire::tcp_info_attribute(&buf[..n]).ok()??;
        TcpInfo::parse(info)
    }

    fn canonical(a: SocketAddr) -> SocketAddr {
        match a {
            SocketAddr::V6(v6) => match v6.ip().to_ipv4_mapped() {
                Some(v4) => SocketAddr::new(v4.into(), v6.port()),
                None => a,
            },
            SocketAddr::V4(_) => a,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_layout() {
        let r = wire::request(
            "10.0.0.1:40000".parse().unwrap(),
            "10.0.0.2:3389".parse().unwrap(),
            7,
        );
        assert_eq!(r.len(), 72);
        assert_eq!(&r[16..20], &[2, 6, 2, 0]);
        // sport 40000 = 0x9c40, dport 3389 = 0x0d3d, big-endian.
        assert_eq!(&r[24..28], &[0x9c, 0x40, 0x0d, 0x3d]);
        assert_eq!(&r[28..32], &[10, 0, 0, 1]);
        assert_eq!(&r[44..48], &[10, 0, 0, 2]);
        assert_eq!(&r[64..72], &[0xff; 8]);
    }

    #[test]
    fn reply_parsing_is_bounded() {
        assert_eq!(wire::tcp_info_attribute(&[]), Ok(None));
        let mut err = vec![0u8; 36];
        err[..4].copy_from_slice(&36u32.to_ne_bytes());
        err[4..6].copy_from_slice(&wire::NLMSG_ERROR.to_ne_bytes());
        err[16..20].copy_from_slice(&(-2i32).to_ne_bytes());
        assert_eq!(wire::tcp_info_attribute(&err), Err(2));
        // A reply with one INET_DIAG_INFO attribute of 8 bytes, and a lying length after it.
        let mut ok = vec![0u8; 16 + 72];
        ok[4..6].copy_from_slice(&wire::SOCK_DIAG_BY_FAMILY.to_ne_bytes());
        ok.extend_from_slice(&12u16.to_ne_bytes());
        ok.extend_from_slice(&wire::INET_DIAG_INFO.to_ne_bytes());
        ok.extend_from_slice(&[1, 2, 3, 4, 5, 6, 7, 8]);
        ok.extend_from_slice(&60000u16.to_ne_bytes());
        ok.extend_from_slice(&9u16.to_ne_bytes());
        let len = ok.len() as u32;
        ok[..4].copy_from_slice(&len.to_ne_bytes());
        assert_eq!(
            wire::tcp_info_attribute(&ok),
            Ok(Some(&[1u8, 2, 3, 4, 5, 6, 7, 8][..]))
        );
        assert_eq!(TcpInfo::parse(&[1, 2, 3]), None);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn reads_a_live_loopback_connection() {
        use std::io::Write;
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let mut c = std::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
        let (_s, _) = l.accept().unwrap();
        c.write_all(&[0u8; 100]).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(50));
        let info = query(c.local_addr().unwrap(), c.peer_addr().unwrap()).expect("tcp_info");
        assert_eq!(info.state, 1, "ESTABLISHED");
        assert_eq!(info.total_retrans, 0);
        assert!(info.snd_mss > 1000, "{info:?}");
        assert!(info.bytes_acked.unwrap() >= 100, "{info:?}");
    }
}
