//! An in-process RDP endpoint: X.224 Connection Confirm selecting TLS, then a real TLS server
//! (rustls, TLS 1.2 and 1.3, a 2048-bit RSA certificate, so the certificate flight has a
//! realistic size), and the MS-RDPEUDP responder on the same port number.
//!
//! Unlike xrdp (listen backlog 2) it listens with the system's normal backlog and accepts on a
//! dedicated thread, so fast repeated handshakes measure the path and not the server.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::certs::{self, CertSpec};
use crate::rdpeudp::Responder;

/// Connection Confirm with RDP_NEG_RSP selecting PROTOCOL_SSL (flags as Windows sends them).
const CONFIRM_SSL: [u8; 19] = [
    0x03, 0x00, 0x00, 0x13, 0x0e, 0xd0, 0x00, 0x00, 0x12, 0x34, 0x00, 0x02, 0x1f, 0x08, 0x00, 0x01,
    0x00, 0x00, 0x00,
];

/// What the UDP side of the endpoint does with an MS-RDPEUDP SYN.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Udp {
    /// Answer like Windows.
    Answer,
    /// Keep the port open and never answer (a firewall that drops, or a server that ignores
    /// unsolicited SYNs).
    Silent,
}

/// A running endpoint; stops accepting on drop.
pub struct Endpoint {
    pub addr: SocketAddr,
    stop: Arc<AtomicBool>,
    _responder: Option<Responder>,
    _silent: Option<UdpSocket>,
    _dir: tempfile::TempDir,
}

impl Endpoint {
    /// TCP and UDP on 127.0.0.1, on one free port number; UDP answers.
    pub fn start() -> Endpoint {
        Endpoint::start_with(Udp::Answer)
    }

    /// TCP and UDP on 127.0.0.1, on one free port number.
    pub fn start_with(udp: Udp) -> Endpoint {
        loop {
            let tcp = TcpListener::bind("127.0.0.1:0").expect("bind");
            let addr = tcp.local_addr().expect("addr");
            if let Ok(socket) = UdpSocket::bind(addr) {
                return Endpoint::on(tcp, socket, udp);
            }
        }
    }

    /// Serve on sockets made by the caller (inside a namespace).
    pub fn on(tcp: TcpListener, socket: UdpSocket, udp: Udp) -> Endpoint {
        let addr = tcp.local_addr().expect("addr");
        let dir = tempfile::tempdir().expect("tempdir");
        let files = certs::write(dir.path(), "endpoint", &CertSpec::valid("localhost"));
        let config = Arc::new(tls_config(&files.cert_pem, &files.key_pem));
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        tcp.set_nonblocking(true).expect("nonblocking");
        std::thread::spawn(move || {
            while !flag.load(Ordering::Relaxed) {
                match tcp.accept() {
                    Ok((s, _)) => {
                        let config = config.clone();
                        std::thread::spawn(move || serve(s, config));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(1)),
                }
            }
        });
        let (responder, silent) = match udp {
            Udp::Answer => (Some(Responder::on(socket)), None),
            Udp::Silent => (None, Some(socket)),
        };
        Endpoint {
            addr,
            stop,
            _responder: responder,
            _silent: silent,
            _dir: dir,
        }
    }
}

impl Drop for Endpoint {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

fn tls_config(cert_pem: &str, key_pem: &str) -> rustls::ServerConfig {
    let certs: Vec<_> = rustls_pemfile::certs(&mut cert_pem.as_bytes())
        .collect::<Result<_, _>>()
        .expect("certificate PEM");
    let key = rustls_pemfile::private_key(&mut key_pem.as_bytes())
        .expect("key PEM")
        .expect("a key");
    rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_protocol_versions(&[&rustls::version::TLS12, &rustls::version::TLS13])
        .expect("versions")
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .expect("certificate and key")
}

/// One connection: the X.224 request, the confirm, then TLS until the client goes away.
fn serve(mut s: TcpStream, config: Arc<rustls::ServerConfig>) {
    let _ = s.set_nonblocking(false);
    let _ = s.set_read_timeout(Some(Duration::from_secs(10)));
    let mut head = [0u8; 4];
    if s.read_exact(&mut head).is_err() || head[0] != 3 {
        return;
    }
    let len = usize::from(u16::from_be_bytes([head[2], head[3]]));
    let mut rest = vec![0u8; len.saturating_sub(4).min(1024)];
    if s.read_exact(&mut rest).is_err() || s.write_all(&CONFIRM_SSL).is_err() {
        return;
    }
    let Ok(conn) = rustls::ServerConnection::new(config) else {
        return;
    };
    let mut tls = rustls::StreamOwned::new(conn, s);
    while tls.conn.is_handshaking() {
        if tls.conn.complete_io(&mut tls.sock).is_err() {
            return;
        }
    }
    let mut buf = [0u8; 1024];
    while matches!(tls.read(&mut buf), Ok(n) if n > 0) {}
}
