//! The platform's TLS, for servers rustls cannot talk to (TLS 1.0/1.1 only, CBC/RSA suites).
//!
//! - Windows: SChannel through native-tls, the TLS stack mstsc itself uses, so whatever the
//!   machine's SCHANNEL policy allows is what the check gets.
//! - Elsewhere: OpenSSL. Current OpenSSL builds refuse TLS 1.0 and SHA-1 signatures at their
//!   default security level, and native-tls cannot change it, so the `openssl` crate is used
//!   directly with security level 0, TLS 1.0 as the minimum and every cipher allowed, for this
//!   one connection only (nothing global changes).
//!
//! Certificates are not validated here (see `super::trust`).

use std::time::{Duration, Instant};

use rustls::pki_types::CertificateDer;
use tokio::net::TcpStream;

use super::transport::Secured;
use crate::evidence::{AuthTls, ErrorKind, StageError, StageName, TlsBackend};

/// The backend this platform falls back to.
pub(crate) const BACKEND: TlsBackend = if cfg!(windows) {
    TlsBackend::Schannel
} else {
    TlsBackend::Openssl
};

fn failure(kind: ErrorKind, started: Instant, message: String) -> StageError {
    StageError::new(StageName::Tls, kind, started.elapsed(), message)
}

fn timeout(started: Instant, deadline: Duration) -> StageError {
    failure(
        ErrorKind::Timeout,
        started,
        format!(
            "the {} handshake did not complete within {} ms",
            BACKEND.as_str(),
            deadline.as_millis()
        ),
    )
}

/// Whether SNI applies: not to an IP address (RFC 6066 forbids it there).
fn sni(host: &str) -> bool {
    host.parse::<std::net::IpAddr>().is_err()
}

#[cfg(not(windows))]
pub(crate) async fn handshake(
    tcp: TcpStream,
    host: &str,
    deadline: Duration,
) -> Result<Secured, StageError> {
    use openssl::ssl::{SslConnector, SslMethod, SslOptions, SslVerifyMode, SslVersion};
    use std::pin::Pin;

    let started = Instant::now();
    let setup = |e: openssl::error::ErrorStack| {
        failure(
            ErrorKind::Tls,
            started,
            format!("OpenSSL configuration: {e}"),
        )
    };
    let mut builder = SslConnector::builder(SslMethod::tls_client()).map_err(setup)?;
    builder.set_verify(SslVerifyMode::NONE);
    builder.set_security_level(0);
    builder
        .set_min_proto_version(Some(SslVersion::TLS1))
        .map_err(setup)?;
    builder.set_cipher_list("ALL:@SECLEVEL=0").map_err(setup)?;
    // CredSSP binds to this one session: no tickets, no resumption.
    builder.set_options(SslOptions::NO_TICKET);
    let mut config = builder.build().configure().map_err(setup)?;
    config.set_verify_hostname(false);
    config.set_use_server_name_indication(sni(host));
    let ssl = config.into_ssl(host).map_err(setup)?;
    let mut stream = tokio_openssl::SslStream::new(ssl, tcp).map_err(setup)?;
    match tokio::time::timeout(deadline, Pin::new(&mut stream).connect()).await {
        Err(_) => return Err(timeout(started, deadline)),
        Ok(Err(e)) => {
            let kind = if e.io_error().is_some() {
                ErrorKind::Closed
            } else {
                ErrorKind::Tls
            };
            return Err(failure(
                kind,
                started,
                format!("the OpenSSL handshake failed too: {e}"),
            ));
        }
        Ok(Ok(())) => {}
    }
    let ssl = stream.ssl();
    let mut chain: Vec<CertificateDer<'static>> = ssl
        .peer_cert_chain()
        .map(|c| {
            c.iter()
                .filter_map(|x| x.to_der().ok())
                .map(CertificateDer::from)
                .collect()
        })
        .unwrap_or_default();
    if chain.is_empty()
        && let Some(leaf) = ssl.peer_certificate().and_then(|x| x.to_der().ok())
    {
        chain.push(CertificateDer::from(leaf));
    }
    let version = match ssl.version_str() {
        "TLSv1" => "TLSv1.0".to_string(),
        v => v.to_string(),
    };
    let cipher_suite = ssl
        .current_cipher()
        .map(|c| c.standard_name().unwrap_or(c.name()).to_string());
    Ok(Secured {
        stream: Box::new(stream),
        chain,
        tls: AuthTls {
            backend: BACKEND,
            version: Some(version),
            cipher_suite,
            fallback_reason: None,
        },
    })
}

#[cfg(windows)]
pub(crate) async fn handshake(
    tcp: TcpStream,
    host: &str,
    deadline: Duration,
) -> Result<Secured, StageError> {
    let started = Instant::now();
    let connector = native_tls::TlsConnector::builder()
        .danger_accept_invalid_certs(true)
        .danger_accept_invalid_hostnames(true)
        .min_protocol_version(Some(native_tls::Protocol::Tlsv10))
        .use_sni(sni(host))
        .build()
        .map_err(|e| {
            failure(
                ErrorKind::Tls,
                started,
                format!("SChannel configuration: {e}"),
            )
        })?;
    let connector = tokio_native_tls::TlsConnector::from(connector);
    let stream = match tokio::time::timeout(deadline, connector.connect(host, tcp)).await {
        Err(_) => return Err(timeout(started, deadline)),
        Ok(Err(e)) => {
            return Err(failure(
                ErrorKind::Tls,
                started,
                format!("the SChannel handshake failed too: {e}"),
            ));
        }
        Ok(Ok(s)) => s,
    };
    let chain = stream
        .get_ref()
        .peer_certificate()
        .ok()
        .flatten()
        .and_then(|c| c.to_der().ok())
        .map(|der| vec![CertificateDer::from(der)])
        .unwrap_or_default();
    Ok(Secured {
        stream: Box::new(stream),
        chain,
        tls: AuthTls {
            backend: BACKEND,
            // native-tls does not say which version and suite SChannel chose.
            version: None,
            cipher_suite: None,
            fallback_reason: None,
        },
    })
}
