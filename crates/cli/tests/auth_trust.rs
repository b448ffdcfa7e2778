//! Credentials go only to a server whose certificate the user accepted.
//!
//! The proof uses a server of the test's own that negotiates HYBRID, completes TLS with a
//! self-signed certificate and records every byte the client sends inside TLS on the
//! authenticated connection (the one carrying rdpdoctor's X.224 cookie). Without
//! `--trust-server-cert` that connection carries nothing at all: not even the NTLM NEGOTIATE,
//! let alone an AUTHENTICATE. With it, the NEGOTIATE arrives, which shows the recorder works.

mod common;

use common::*;
use rdpdoctor_lab::{Lab, LabConfig, Scenario};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What one connection sent inside TLS, and whether it was the authenticated attempt.
#[derive(Debug, Clone)]
struct Connection {
    authenticated_attempt: bool,
    plaintext: Vec<u8>,
}

struct Recorder {
    addr: SocketAddr,
    seen: Arc<Mutex<Vec<Connection>>>,
}

fn recorder() -> Recorder {
    let key = rcgen::KeyPair::generate().unwrap();
    let params =
        rcgen::CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()])
            .unwrap();
    let cert = params.self_signed(&key).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(
        vec![cert.der().clone()],
        rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
    )
    .unwrap();
    let config = Arc::new(config);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s = Arc::clone(&seen);
    std::thread::spawn(move || {
        for tcp in listener.incoming().flatten() {
            let (config, seen) = (Arc::clone(&config), Arc::clone(&s));
            std::thread::spawn(move || {
                if let Some(c) = serve(tcp, config) {
                    seen.lock().unwrap().push(c);
                }
            });
        }
    });
    Recorder { addr, seen }
}

/// X.224: select HYBRID when it is requested (RDP_NEG_FAILURE HYBRID_REQUIRED otherwise),
/// then TLS, then record until the client closes.
fn serve(mut tcp: TcpStream, config: Arc<rustls::ServerConfig>) -> Option<Connection> {
    tcp.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    let mut header = [0u8; 4];
    tcp.read_exact(&mut header).ok()?;
    let mut body = vec![0u8; usize::from(u16::from_be_bytes([header[2], header[3]])) - 4];
    tcp.read_exact(&mut body).ok()?;
    let authenticated_attempt = body
        .windows(b"mstshash=rdpdoctor".len())
        .any(|w| w == b"mstshash=rdpdoctor");
    let requested = u32::from_le_bytes(body[body.len() - 4..].try_into().ok()?);
    if requested & 0x2 == 0 {
        let failure = [
            3, 0, 0, 19, 14, 0xd0, 0, 0, 0x12, 0x34, 0, 3, 0, 8, 0, 5, 0, 0, 0,
        ];
        tcp.write_all(&failure).ok()?;
        return None;
    }
    let confirm = [
        3, 0, 0, 19, 14, 0xd0, 0, 0, 0x12, 0x34, 0, 2, 0x1f, 8, 0, 2, 0, 0, 0,
    ];
    tcp.write_all(&confirm).ok()?;
    let conn = rustls::ServerConnection::new(config).ok()?;
    let mut tls = rustls::StreamOwned::new(conn, tcp);
    while tls.conn.is_handshaking() {
        tls.conn.complete_io(&mut tls.sock).ok()?;
    }
    let mut plaintext = Vec::new();
    let mut buf = [0u8; 4096];
    while let Ok(n) = tls.read(&mut buf) {
        if n == 0 {
            break;
        }
        plaintext.extend_from_slice(&buf[..n]);
    }
    Some(Connection {
        authenticated_attempt,
        plaintext,
    })
}

impl Recorder {
    fn check(&self, extra: &[&str]) -> serde_json::Value {
        let target = self.addr.to_string();
        let mut args = vec![
            "check",
            &target,
            "--format",
            "json",
            "--timeout",
            "2",
            "--user",
            "CONTOSO\\alice",
        ];
        args.extend_from_slice(extra);
        rdpdoctor_env(&args, &[("RDPDOCTOR_PASSWORD", "Tru5t-Me-N0t")]).json()
    }

    /// The authenticated connections seen so far (the probe's own are left out).
    fn attempts(&self) -> Vec<Connection> {
        // A connection is recorded when it ends; rdpdoctor has exited, so it is ending now.
        std::thread::sleep(Duration::from_millis(300));
        self.seen
            .lock()
            .unwrap()
            .iter()
            .filter(|c| c.authenticated_attempt)
            .cloned()
            .collect()
    }
}

#[test]
fn an_untrusted_certificate_gets_no_byte_of_the_logon() {
    let server = recorder();
    let r = server.check(&[]);
    let a = &r["evidence"]["auth"];
    assert_eq!(a["outcome"], "withheld", "{a:#}");
    assert_eq!(a["credentials_sent"], false);
    assert_eq!(a["stage_reached"], "tls");
    assert_eq!(a["certificate"]["accepted"], false);
    assert!(
        a["error"]["message"]
            .as_str()
            .unwrap()
            .contains("cracked offline"),
        "the refusal says why: {a:#}"
    );
    let attempts = server.attempts();
    assert_eq!(attempts.len(), 1, "{attempts:?}");
    assert!(
        attempts[0].plaintext.is_empty(),
        "the server received {} bytes inside TLS: {:02x?}",
        attempts[0].plaintext.len(),
        attempts[0].plaintext
    );
}

#[test]
fn with_trust_server_cert_the_logon_starts_and_the_recorder_sees_it() {
    let server = recorder();
    let r = server.check(&["--trust-server-cert"]);
    let a = &r["evidence"]["auth"];
    assert_eq!(
        a["certificate"]["accepted_by"], "trust_server_cert",
        "{a:#}"
    );
    assert!(
        !a["certificate"]["problems"].as_array().unwrap().is_empty(),
        "the override is recorded with the problems it overrode"
    );
    let attempts = server.attempts();
    assert_eq!(attempts.len(), 1);
    let got = &attempts[0].plaintext;
    // A TSRequest carrying the NTLM NEGOTIATE (message type 1); this server never sends a
    // CHALLENGE, so no AUTHENTICATE (type 3) can follow.
    assert_eq!(got.first(), Some(&0x30), "{got:02x?}");
    let ntlm = got
        .windows(12)
        .find(|w| w.starts_with(b"NTLMSSP\0"))
        .expect("an NTLM message");
    assert_eq!(&ntlm[8..12], &[1, 0, 0, 0]);
    assert_eq!(a["credentials_sent"], false);
    assert_eq!(a["error"]["kind"], "timeout");
}

#[test]
fn a_pinned_thumbprint_is_the_only_certificate_accepted() {
    let lab = Lab::start(&[Scenario::CertSelfSigned], LabConfig::default()).unwrap();
    let target = lab.endpoints()[0].addr.to_string();
    let run = |pin: &str| {
        rdpdoctor_env(
            &[
                "check",
                &target,
                "--format",
                "json",
                "--user",
                "labuser",
                "--cert-sha256",
                pin,
            ],
            &[("RDPDOCTOR_PASSWORD", "LabPass123!")],
        )
        .json()
    };
    let (_, probe) = check_json(&target, &[]);
    let thumbprint = probe["evidence"]["certificate"]["sha256"]
        .as_str()
        .unwrap()
        .to_string();
    let wrong = "00".repeat(32);
    let r = run(&wrong);
    let a = &r["evidence"]["auth"];
    assert_eq!(a["outcome"], "withheld");
    assert!(
        a["certificate"]["problems"][0]
            .as_str()
            .unwrap()
            .contains("not the one given with --cert-sha256"),
        "{a:#}"
    );
    // Colons and upper case, as Windows shows thumbprints, are fine.
    let colons: Vec<String> = thumbprint
        .to_uppercase()
        .as_bytes()
        .chunks(2)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect();
    let r = run(&colons.join(":"));
    let a = &r["evidence"]["auth"];
    assert_eq!(a["certificate"]["accepted_by"], "pinned_sha256", "{a:#}");
    assert_eq!(a["outcome"], "connected");
}

#[test]
fn a_bad_thumbprint_or_missing_password_is_a_usage_error() {
    let run = rdpdoctor_env(
        &[
            "check",
            "127.0.0.1:1",
            "--user",
            "alice",
            "--cert-sha256",
            "abcd",
        ],
        &[("RDPDOCTOR_PASSWORD", "x")],
    );
    assert_eq!(run.code, 64, "{}", run.stderr);
    assert!(run.stderr.contains("--cert-sha256"), "{}", run.stderr);
    // No RDPDOCTOR_PASSWORD and no terminal: refuse rather than hang on a prompt.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_rdpdoctor"))
        .args(["check", "127.0.0.1:1", "--user", "alice"])
        .env_remove("RDPDOCTOR_PASSWORD")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(64));
    assert!(String::from_utf8_lossy(&out.stderr).contains("RDPDOCTOR_PASSWORD"));
    // The password is never a command-line option.
    let run = rdpdoctor(&["check", "127.0.0.1:1", "--user", "alice", "--password", "x"]);
    assert_eq!(run.code, 64);
}
