//! Errors from starting a lab. Once started, a lab never fails as a whole: a connection that goes
//! wrong only ends that connection (and is logged with `tracing`).

use std::io;
use std::net::SocketAddr;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LabError {
    /// A listener could not be bound (address in use, address not on this host, …).
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: io::Error,
    },
    /// `base_port + index` does not fit in a port number.
    #[error("port {base} + {index} is beyond 65535")]
    PortRange { base: u16, index: usize },
    #[error("certificate generation failed: {0}")]
    Certificate(String),
    #[error("TLS configuration failed: {0}")]
    Tls(String),
    /// The lab's runtime thread could not be started.
    #[error("cannot start the lab runtime: {0}")]
    Runtime(#[source] io::Error),
}

impl LabError {
    pub(crate) fn certificate(e: impl std::fmt::Display) -> Self {
        LabError::Certificate(e.to_string())
    }

    pub(crate) fn tls(e: impl std::fmt::Display) -> Self {
        LabError::Tls(e.to_string())
    }
}
