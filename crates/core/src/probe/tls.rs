//! Stage 4, tls: the TLS handshake on the negotiated connection, with a current TLS stack.
//!
//! The verifier accepts every certificate and records the chain: a diagnosis tool must see a
//! broken certificate, not refuse it. Trust is judged afterwards, separately from validity
//! dates and names, so each problem is reported as itself ([`TrustAnchors`]).

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, SignatureScheme};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

use super::io::{classify, describe};
use crate::evidence::{
    ErrorKind, Stage, StageError, StageName, TlsAlert, TlsClient, TlsHandshake, TrustCheck,
};

/// The crypto provider rdpdoctor uses everywhere (ring: builds for Windows without NASM).
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Accepts any certificate, records the chain the server sent.
#[derive(Debug)]
struct ChainRecorder {
    chain: Mutex<Vec<CertificateDer<'static>>>,
    schemes: Vec<SignatureScheme>,
}

impl ServerCertVerifier for ChainRecorder {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let mut chain = self.chain.lock().unwrap_or_else(|p| p.into_inner());
        chain.clear();
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
        self.schemes.clone()
    }
}

/// The result of the handshake: the stage, the recorded chain (leaf first) and, when it
/// succeeded, the stream for CredSSP.
pub struct Handshake {
    pub stage: Stage<TlsHandshake>,
    pub chain: Vec<CertificateDer<'static>>,
    pub stream: Option<TlsStream<TcpStream>>,
}

/// `TLSv1.2` style names, as in the JSON.
pub fn version_name(v: rustls::ProtocolVersion) -> String {
    match v {
        rustls::ProtocolVersion::SSLv3 => "SSLv3".into(),
        rustls::ProtocolVersion::TLSv1_0 => "TLSv1.0".into(),
        rustls::ProtocolVersion::TLSv1_1 => "TLSv1.1".into(),
        rustls::ProtocolVersion::TLSv1_2 => "TLSv1.2".into(),
        rustls::ProtocolVersion::TLSv1_3 => "TLSv1.3".into(),
        other => format!("{other:?}"),
    }
}

/// IANA name of a cipher suite (`TLS_AES_256_GCM_SHA384`), or its hex value.
pub fn suite_name(id: u16) -> String {
    tls_parser::TlsCipherSuite::from_id(id)
        .map(|s| s.name.to_string())
        .unwrap_or_else(|| format!("0x{id:04X}"))
}

/// Run a TLS 1.2/1.3 handshake over `tcp` within `deadline`.
pub async fn handshake(tcp: TcpStream, host: &str, deadline: Duration) -> Handshake {
    let started = Instant::now();
    let provider = provider();
    let recorder = Arc::new(ChainRecorder {
        chain: Mutex::new(Vec::new()),
        schemes: provider
            .signature_verification_algorithms
            .supported_schemes(),
    });
    let config = match ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
    {
        Ok(b) => b
            .dangerous()
            .with_custom_certificate_verifier(recorder.clone())
            .with_no_client_auth(),
        Err(e) => {
            let err = StageError::new(
                StageName::Tls,
                ErrorKind::Tls,
                started.elapsed(),
                format!("TLS configuration: {e}"),
            );
            return Handshake {
                stage: Stage::failed(err),
                chain: Vec::new(),
                stream: None,
            };
        }
    };
    let mut config = config;
    // CredSSP binds to this exact TLS session; resumption would be wrong and is useless here.
    config.resumption = rustls::client::Resumption::disabled();
    let server_name = match host.parse::<std::net::IpAddr>() {
        Ok(ip) => ServerName::IpAddress(ip.into()),
        Err(_) => ServerName::try_from(host.to_string())
            .unwrap_or_else(|_| ServerName::IpAddress(std::net::Ipv4Addr::UNSPECIFIED.into())),
    };
    let connector = TlsConnector::from(Arc::new(config));
    let result = tokio::time::timeout(deadline, connector.connect(server_name, tcp)).await;
    let chain = recorder.chain.lock().map(|c| c.clone()).unwrap_or_default();
    let elapsed = started.elapsed();
    match result {
        Err(_) => {
            let err = StageError::new(
                StageName::Tls,
                ErrorKind::Timeout,
                elapsed,
                format!(
                    "the TLS handshake did not complete within {} ms",
                    deadline.as_millis()
                ),
            );
            Handshake {
                stage: Stage::failed_with(err, modern_failed("timeout")),
                chain,
                stream: None,
            }
        }
        Ok(Err(e)) => {
            let (kind, message, alert) = classify_tls_error(&e);
            let mut partial = modern_failed(&message);
            partial.alert = alert.clone();
            let mut err = StageError::new(StageName::Tls, kind, elapsed, message);
            if let Some(a) = alert {
                err = err.with_code(a.name);
            }
            Handshake {
                stage: Stage::failed_with(err, partial),
                chain,
                stream: None,
            }
        }
        Ok(Ok(stream)) => {
            let (_, conn) = stream.get_ref();
            let value = TlsHandshake {
                version: conn.protocol_version().map(version_name),
                cipher_suite: conn
                    .negotiated_cipher_suite()
                    .map(|s| suite_name(u16::from(s.suite()))),
                key_exchange: conn
                    .negotiated_key_exchange_group()
                    .map(|g| group_name(g.name())),
                client: Some(TlsClient::Modern),
                modern_handshake_ok: true,
                modern_handshake_error: None,
                alert: None,
                chain_length: chain.len(),
                enumeration: None,
            };
            Handshake {
                stage: Stage::ok(elapsed, value),
                chain,
                stream: Some(stream),
            }
        }
    }
}

/// Combine a failed modern handshake with the answer to a legacy ClientHello.
///
/// When the server answered with a ServerHello, the TLS facts are known (version, suite,
/// certificate) and the stage completes, marked as learnt from a legacy hello; otherwise it
/// stays failed with the modern error, enriched with the legacy alert and the bytes seen.
pub fn with_legacy_answer(
    modern: StageError,
    mut partial: TlsHandshake,
    legacy: super::hello::HelloResult,
) -> (Stage<TlsHandshake>, Vec<CertificateDer<'static>>) {
    let chain: Vec<CertificateDer<'static>> = legacy
        .flight
        .certificates
        .iter()
        .map(|c| CertificateDer::from(c.clone()))
        .collect();
    let explains = legacy.failure.is_none()
        && legacy
            .flight
            .server_hello
            .as_ref()
            .is_some_and(legacy_answer_explains);
    if let (Some(sh), true) = (&legacy.flight.server_hello, explains) {
        partial.version = legacy.version_name();
        partial.cipher_suite = Some(suite_name(sh.cipher_suite));
        partial.key_exchange = match &legacy.flight.key_exchange {
            Some(rdpdoctor_wire::tls::ServerKeyExchange::Ecdhe { group }) => Some(
                rdpdoctor_wire::tls::groups::group_name(*group)
                    .map(str::to_string)
                    .unwrap_or_else(|| format!("0x{group:04X}")),
            ),
            Some(rdpdoctor_wire::tls::ServerKeyExchange::Dhe { prime_bits }) => {
                Some(format!("DHE {prime_bits} bits"))
            }
            _ => None,
        };
        partial.client = Some(TlsClient::LegacyHello);
        partial.chain_length = chain.len();
        partial.alert = legacy.flight.alert().map(|a| TlsAlert {
            level: a.level,
            code: a.description,
            name: alert_name(a.description),
        });
        if partial.modern_handshake_error.is_none() {
            partial.modern_handshake_error = Some(modern.message.clone());
        }
        return (
            Stage::Ok {
                elapsed_ms: modern.elapsed_ms,
                value: partial,
            },
            chain,
        );
    }
    let mut error = modern;
    if let Some(sh) = &legacy.flight.server_hello {
        // Kept for the report, but the stage stays failed: this answer does not explain it.
        partial.version = legacy.version_name();
        partial.cipher_suite = Some(suite_name(sh.cipher_suite));
    }
    if let Some(a) = legacy.flight.alert() {
        partial.alert = Some(TlsAlert {
            level: a.level,
            code: a.description,
            name: alert_name(a.description),
        });
        if error.code.is_none() {
            error.code = Some(alert_name(a.description));
        }
    }
    if error.seen.is_none() && !legacy.head.is_empty() {
        let mut seen = crate::evidence::Seen::from_bytes(&legacy.head);
        seen.looks_like = Some(super::io::looks_like(&legacy.head));
        error.seen = Some(seen);
    }
    if let Some(f) = &legacy.failure {
        partial
            .modern_handshake_error
            .get_or_insert_with(|| error.message.clone());
        error.message = format!(
            "{}; a legacy ClientHello also failed: {}",
            error.message, f.message
        );
    }
    (Stage::failed_with(error, partial), chain)
}

/// Whether a server's answer to the legacy hello explains why a current TLS stack failed: it
/// chose a version older than TLS 1.2, or a suite such a stack does not speak (anything but
/// ECDHE with an AEAD cipher). Otherwise the server is broken in some other way and the modern
/// failure stands.
fn legacy_answer_explains(sh: &rdpdoctor_wire::tls::ServerHello) -> bool {
    use rdpdoctor_wire::tls::{ProtocolVersion, suites::KeyExchange};
    if sh.version < ProtocolVersion::TLS12 {
        return true;
    }
    match rdpdoctor_wire::tls::suite(sh.cipher_suite) {
        Some(s) => !(s.kx == KeyExchange::Ecdhe && s.weaknesses().is_empty()),
        None => false,
    }
}

fn modern_failed(message: &str) -> TlsHandshake {
    TlsHandshake {
        client: Some(TlsClient::Modern),
        modern_handshake_ok: false,
        modern_handshake_error: Some(message.to_string()),
        ..TlsHandshake::default()
    }
}

/// Named-group names as IANA spells them (`x25519`, `secp256r1`), from the wire crate's table.
pub fn group_name(g: rustls::NamedGroup) -> String {
    let id = u16::from(g);
    rdpdoctor_wire::tls::groups::group_name(id)
        .map(str::to_string)
        .unwrap_or_else(|| format!("0x{id:04X}"))
}

/// TLS alert names as the IANA registry spells them, from the wire crate's table.
pub fn alert_name(code: u8) -> String {
    rdpdoctor_wire::tls::alert_name(code)
        .map(str::to_string)
        .unwrap_or_else(|| format!("alert_{code}"))
}

fn classify_tls_error(e: &std::io::Error) -> (ErrorKind, String, Option<TlsAlert>) {
    if let Some(inner) = e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
        return match inner {
            rustls::Error::AlertReceived(desc) => {
                let code = u8::from(*desc);
                let name = alert_name(code);
                (
                    ErrorKind::TlsAlert,
                    format!(
                        "the server ended the TLS handshake with the fatal alert {name} ({code})"
                    ),
                    Some(TlsAlert {
                        level: 2,
                        code,
                        name,
                    }),
                )
            }
            rustls::Error::InvalidMessage(rustls::InvalidMessage::HandshakePayloadTooLarge) => {
                (ErrorKind::TooLarge, "the server sent a TLS handshake message larger than any client accepts (an oversized certificate chain?)".into(), None)
            }
            rustls::Error::InvalidMessage(m) => (
                ErrorKind::Protocol,
                format!(
                    "the server's reply is not valid TLS ({m:?}); it may have answered in plaintext"
                ),
                None,
            ),
            rustls::Error::PeerIncompatible(p) => (
                ErrorKind::Tls,
                format!("no TLS 1.2/1.3 parameters in common with the server ({p:?})"),
                None,
            ),
            rustls::Error::PeerMisbehaved(p) => (
                ErrorKind::Protocol,
                format!("the server broke the TLS protocol ({p:?})"),
                None,
            ),
            other => (
                ErrorKind::Tls,
                format!("TLS handshake failed: {other}"),
                None,
            ),
        };
    }
    match classify(e) {
        ErrorKind::Io if e.kind() == std::io::ErrorKind::UnexpectedEof => (
            ErrorKind::Closed,
            "the server closed the connection during the TLS handshake".into(),
            None,
        ),
        k => (
            k,
            format!("during the TLS handshake: {}", describe(e)),
            None,
        ),
    }
}

/// Where certificates are checked for trust.
#[derive(Clone)]
pub struct TrustAnchors {
    verifier: Option<Arc<dyn ServerCertVerifier>>,
    store: String,
    setup_error: Option<String>,
}

impl TrustAnchors {
    /// The operating system's trust store (CryptoAPI on Windows, Security.framework on macOS,
    /// the system CA bundle elsewhere).
    pub fn platform() -> TrustAnchors {
        match rustls_platform_verifier::Verifier::new(provider()) {
            Ok(v) => TrustAnchors {
                verifier: Some(Arc::new(v)),
                store: "os".into(),
                setup_error: None,
            },
            Err(e) => TrustAnchors {
                verifier: None,
                store: "os".into(),
                setup_error: Some(e.to_string()),
            },
        }
    }

    /// Trust exactly the CA certificates in a PEM or DER file (`--ca-file`).
    pub fn from_file(path: &Path) -> Result<TrustAnchors, String> {
        let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
        Self::from_bytes(&bytes, &PathBuf::from(path).display().to_string())
    }

    /// Trust exactly the CA certificates in PEM or DER bytes; `store` names them in reports.
    pub fn from_bytes(bytes: &[u8], store: &str) -> Result<TrustAnchors, String> {
        let mut roots = rustls::RootCertStore::empty();
        let pems: Vec<_> = rustls_pemfile::certs(&mut &bytes[..]).collect();
        let ders: Vec<CertificateDer<'static>> = if pems.is_empty() {
            vec![CertificateDer::from(bytes.to_vec())]
        } else {
            pems.into_iter()
                .collect::<Result<_, _>>()
                .map_err(|e| format!("{store}: {e}"))?
        };
        let (added, _ignored) = roots.add_parsable_certificates(ders);
        if added == 0 {
            return Err(format!("{store}: no usable CA certificate"));
        }
        let verifier = rustls::client::WebPkiServerVerifier::builder_with_provider(
            Arc::new(roots),
            provider(),
        )
        .build()
        .map_err(|e| format!("{store}: {e}"))?;
        Ok(TrustAnchors {
            verifier: Some(verifier),
            store: store.to_string(),
            setup_error: None,
        })
    }

    /// Whether the chain leads to a trusted root. Judged at a moment inside the leaf's validity
    /// window and against a name the leaf carries, so that an expired or misnamed certificate is
    /// reported as that, and trust as trust.
    pub fn check(
        &self,
        chain: &[CertificateDer<'static>],
        leaf: &crate::evidence::ServerCertificate,
    ) -> TrustCheck {
        let Some(verifier) = &self.verifier else {
            return TrustCheck {
                store: self.store.clone(),
                trusted: false,
                error: Some(format!(
                    "trust store unavailable: {}",
                    self.setup_error.as_deref().unwrap_or("unknown")
                )),
            };
        };
        let Some((ee, rest)) = chain.split_first() else {
            return TrustCheck {
                store: self.store.clone(),
                trusted: false,
                error: Some("no certificate".into()),
            };
        };
        let name = crate::cert::names(leaf)
            .into_iter()
            .find_map(|n| ServerName::try_from(n).ok())
            .unwrap_or_else(|| ServerName::IpAddress(std::net::Ipv4Addr::UNSPECIFIED.into()));
        let mid = leaf.not_before + (leaf.not_after - leaf.not_before) / 2;
        let at = UnixTime::since_unix_epoch(Duration::from_secs(mid.timestamp().max(0) as u64));
        match verifier.verify_server_cert(ee, rest, &name, &[], at) {
            Ok(_) => TrustCheck {
                store: self.store.clone(),
                trusted: true,
                error: None,
            },
            Err(e) => TrustCheck {
                store: self.store.clone(),
                trusted: false,
                error: Some(trust_error(&e)),
            },
        }
    }
}

fn trust_error(e: &rustls::Error) -> String {
    match e {
        rustls::Error::InvalidCertificate(c) => match c {
            rustls::CertificateError::UnknownIssuer => {
                "issued by an authority the trust store does not know (self-signed or private CA)"
                    .into()
            }
            rustls::CertificateError::BadSignature => "the signature does not verify".into(),
            rustls::CertificateError::Revoked => "revoked".into(),
            other => format!("{other:?}"),
        },
        other => other.to_string(),
    }
}
