//! The TLS session credentials travel in, with the backend that could establish it.
//!
//! rustls first (the probe's own stack, TLS 1.2/1.3). rustls cannot talk to servers that only
//! speak TLS 1.0/1.1 or only offer CBC/RSA suites (Windows Server 2008 R2, 2012 with default
//! Schannel settings, xrdp restricted to TLSv1), so a failed handshake is retried on a new
//! connection with the platform's TLS: SChannel on Windows (what mstsc uses), OpenSSL elsewhere
//! with its security level lowered for that one connection ([`super::legacy`]). The evidence says
//! which backend carried the attempt and why.
//!
//! Neither backend validates the certificate during the handshake: the chain is recorded and
//! judged before the first byte of CredSSP ([`super::trust`]), so a refusal is reported as what
//! it is rather than as a handshake error.

use std::time::Duration;

use rustls::pki_types::CertificateDer;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

use crate::evidence::{AuthTls, ErrorKind, StageError, TlsBackend};
use crate::probe::tls;

/// A TLS stream of any backend, as the connector's framing wants it.
pub(crate) trait SecureIo: AsyncRead + AsyncWrite + Send + Sync + Unpin {}
impl<T: AsyncRead + AsyncWrite + Send + Sync + Unpin> SecureIo for T {}

pub(crate) type SecureStream = Box<dyn SecureIo>;

/// An established TLS session.
pub(crate) struct Secured {
    pub stream: SecureStream,
    /// The chain the server sent, leaf first.
    pub chain: Vec<CertificateDer<'static>>,
    pub tls: AuthTls,
}

/// Which TLS stack to use for one attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Backend {
    Rustls,
    /// The platform's TLS (`super::legacy`).
    Legacy,
}

/// Run the TLS handshake with `backend`. The error is the handshake's stage error.
pub(crate) async fn handshake(
    backend: Backend,
    tcp: TcpStream,
    host: &str,
    deadline: Duration,
) -> Result<Secured, StageError> {
    match backend {
        Backend::Rustls => with_rustls(tcp, host, deadline).await,
        Backend::Legacy => super::legacy::handshake(tcp, host, deadline).await,
    }
}

async fn with_rustls(
    tcp: TcpStream,
    host: &str,
    deadline: Duration,
) -> Result<Secured, StageError> {
    let h = tls::handshake(tcp, host, deadline).await;
    match (h.stream, h.stage) {
        (Some(stream), crate::evidence::Stage::Ok { value, .. }) => Ok(Secured {
            stream: Box::new(stream),
            chain: h.chain,
            tls: AuthTls {
                backend: TlsBackend::Rustls,
                version: value.version,
                cipher_suite: value.cipher_suite,
                fallback_reason: None,
            },
        }),
        (_, stage) => Err(stage.error().cloned().unwrap_or_else(|| {
            StageError::new(
                crate::evidence::StageName::Tls,
                ErrorKind::Tls,
                deadline,
                "the TLS handshake failed",
            )
        })),
    }
}

/// Whether a failed rustls handshake is worth retrying with the platform's TLS: anything but
/// a timeout (the same deadline would pass again) and a server that closed or reset before
/// answering at all is about TLS parameters rustls lacks.
pub(crate) fn worth_a_fallback(error: &StageError) -> bool {
    !matches!(error.kind, ErrorKind::Timeout | ErrorKind::Refused)
}

/// The SubjectPublicKey bits of the leaf: what CredSSP binds the logon to.
pub(crate) fn subject_public_key(leaf: &[u8]) -> Result<Vec<u8>, String> {
    let (_, cert) = x509_parser::parse_x509_certificate(leaf)
        .map_err(|e| format!("the server's certificate cannot be decoded: {e}"))?;
    Ok(cert.public_key().subject_public_key.data.to_vec())
}
