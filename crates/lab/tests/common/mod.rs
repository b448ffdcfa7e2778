//! Independent test clients for the lab: a raw X.224 client, a rustls client, an
//! ironrdp-connector client, and the external tools (sslscan, nmap, xfreerdp under Xvfb).
//! None of them shares code with the lab's responders.

#![allow(dead_code)]

pub mod rdp_client;
pub mod tools;

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rdpdoctor_lab::{Lab, LabConfig, Scenario};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};

pub fn lab(scenarios: &[Scenario]) -> Lab {
    Lab::start(scenarios, LabConfig::default()).expect("lab starts")
}

pub fn addr(lab: &Lab, scenario: &Scenario) -> SocketAddr {
    lab.endpoints()
        .iter()
        .find(|e| &e.scenario == scenario)
        .unwrap_or_else(|| panic!("no endpoint for {scenario}"))
        .addr
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The 19-byte X.224 Connection Request with RDP_NEG_REQ, as mstsc/sslscan send it.
pub fn connection_request(requested: u32) -> Vec<u8> {
    let mut cr = vec![
        0x03, 0x00, 0x00, 0x13, 0x0e, 0xe0, 0, 0, 0, 0, 0, 0x01, 0x00, 0x08, 0x00,
    ];
    cr.extend_from_slice(&requested.to_le_bytes());
    cr
}

pub fn connect(addr: SocketAddr) -> TcpStream {
    let s = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s
}

/// Reads one TPKT (header-announced length).
pub fn read_tpkt(s: &mut TcpStream) -> io::Result<Vec<u8>> {
    let mut header = [0u8; 4];
    s.read_exact(&mut header)?;
    let len = usize::from(u16::from_be_bytes([header[2], header[3]]));
    let mut body = vec![0u8; len.saturating_sub(4)];
    s.read_exact(&mut body)?;
    let mut all = header.to_vec();
    all.extend(body);
    Ok(all)
}

/// Sends the Connection Request and returns the reply TPKT and the still-open stream.
pub fn x224(addr: SocketAddr, requested: u32) -> (Vec<u8>, TcpStream) {
    let mut s = connect(addr);
    s.write_all(&connection_request(requested)).unwrap();
    let reply = read_tpkt(&mut s).expect("a Connection Confirm");
    (reply, s)
}

/// Reads until EOF (or error); returns what arrived and how it ended.
pub fn read_to_end(s: &mut TcpStream) -> (Vec<u8>, io::Result<()>) {
    let mut all = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return (all, Ok(())),
            Ok(n) => all.extend_from_slice(&buf[..n]),
            Err(e) => return (all, Err(e)),
        }
    }
}

/// A verifier that accepts anything and keeps the chain.
#[derive(Debug, Default)]
pub struct Capture(pub Mutex<Vec<CertificateDer<'static>>>);

impl ServerCertVerifier for Capture {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let mut chain = self.0.lock().unwrap();
        chain.push(end_entity.clone().into_owned());
        chain.extend(intermediates.iter().map(|c| c.clone().into_owned()));
        Ok(ServerCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        _: &[u8],
        _: &CertificateDer<'_>,
        _: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Ok(HandshakeSignatureValid::assertion())
    }
    fn verify_tls13_signature(
        &self,
        _: &[u8],
        _: &CertificateDer<'_>,
        _: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Ok(HandshakeSignatureValid::assertion())
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        rustls::crypto::ring::default_provider()
            .signature_verification_algorithms
            .supported_schemes()
    }
}

pub fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A client config that accepts any certificate and records it.
pub fn capturing_config() -> (Arc<rustls::ClientConfig>, Arc<Capture>) {
    let capture = Arc::new(Capture::default());
    let config = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .dangerous()
        .with_custom_certificate_verifier(capture.clone())
        .with_no_client_auth();
    (Arc::new(config), capture)
}

/// A client config that validates against `roots` the normal way.
pub fn validating_config(roots: &[&[u8]]) -> Arc<rustls::ClientConfig> {
    let mut store = rustls::RootCertStore::empty();
    for r in roots {
        store.add(CertificateDer::from(r.to_vec())).unwrap();
    }
    Arc::new(
        rustls::ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(store)
            .with_no_client_auth(),
    )
}

/// Blocking TLS handshake on an already-negotiated stream. Returns the connection on success.
pub fn tls_handshake(
    stream: TcpStream,
    config: Arc<rustls::ClientConfig>,
    name: &str,
) -> Result<rustls::StreamOwned<rustls::ClientConnection, TcpStream>, rustls::Error> {
    let name = ServerName::try_from(name.to_owned()).unwrap();
    let conn = rustls::ClientConnection::new(config, name)?;
    let mut tls = rustls::StreamOwned::new(conn, stream);
    while tls.conn.is_handshaking() {
        match tls.conn.complete_io(&mut tls.sock) {
            Ok(_) => {}
            Err(e) => {
                return Err(
                    match e
                        .into_inner()
                        .and_then(|i| i.downcast::<rustls::Error>().ok())
                    {
                        Some(inner) => *inner,
                        None => rustls::Error::General("I/O error during the handshake".into()),
                    },
                );
            }
        }
    }
    Ok(tls)
}

/// Like [`tls_handshake`] but keeps the I/O error kind.
pub fn tls_handshake_io(
    stream: TcpStream,
    config: Arc<rustls::ClientConfig>,
) -> io::Result<rustls::StreamOwned<rustls::ClientConnection, TcpStream>> {
    let name = ServerName::try_from("localhost").unwrap();
    let conn = rustls::ClientConnection::new(config, name).map_err(io::Error::other)?;
    let mut tls = rustls::StreamOwned::new(conn, stream);
    while tls.conn.is_handshaking() {
        tls.conn.complete_io(&mut tls.sock)?;
    }
    Ok(tls)
}

/// Hand-built NTLM NEGOTIATE (the flags FreeRDP sends) in a TSRequest of `version`.
pub fn ts_request_negotiate(version: u8) -> Vec<u8> {
    let mut ntlm = b"NTLMSSP\0".to_vec();
    ntlm.extend_from_slice(&1u32.to_le_bytes());
    ntlm.extend_from_slice(&0xe208_8237u32.to_le_bytes());
    ntlm.extend_from_slice(&[0; 16]);
    ntlm.extend_from_slice(&[10, 0, 0x61, 0x4a, 0, 0, 0, 0x0f]);
    assert_eq!(ntlm.len(), 40);
    // 30 37 a0 03 02 01 VV a1 30 30 2e 30 2c a0 2a 04 28 <40 bytes>
    let mut req = vec![
        0x30, 0x37, 0xa0, 0x03, 0x02, 0x01, version, 0xa1, 0x30, 0x30, 0x2e, 0x30, 0x2c,
    ];
    req.extend_from_slice(&[0xa0, 0x2a, 0x04, 0x28]);
    req.extend(ntlm);
    req
}

/// Reads one DER element (a TSRequest) from a stream, with a size cap.
pub fn read_der<R: Read>(r: &mut R, cap: usize) -> io::Result<Vec<u8>> {
    let mut head = [0u8; 2];
    r.read_exact(&mut head)?;
    let mut all = head.to_vec();
    let len = if head[1] < 0x80 {
        usize::from(head[1])
    } else {
        let n = usize::from(head[1] & 0x7f);
        let mut l = vec![0u8; n];
        r.read_exact(&mut l)?;
        all.extend_from_slice(&l);
        l.iter().fold(0usize, |a, b| (a << 8) | usize::from(*b))
    };
    if len > cap {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("TSRequest of {len} bytes"),
        ));
    }
    let mut body = vec![0u8; len];
    r.read_exact(&mut body)?;
    all.extend(body);
    Ok(all)
}
