//! Evidence from reaching the server: DNS resolution and TCP connection.

use serde::{Deserialize, Serialize};
use std::net::{IpAddr, SocketAddr};

use super::ErrorKind;

/// What the resolver returned for the target name.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DnsResolution {
    /// The name that was looked up.
    pub name: String,
    /// Every A and AAAA address, in resolver order.
    pub addresses: Vec<IpAddr>,
    /// Canonical name, when the answer went through a CNAME.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub canonical_name: Option<String>,
    /// Seconds until the answer expires (smallest record TTL), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl_seconds: Option<u32>,
}

/// The outcome of one TCP connect attempt to one address.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ConnectAttempt {
    pub address: SocketAddr,
    /// `None` when the connection was accepted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorKind>,
    pub elapsed_ms: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

impl ConnectAttempt {
    pub fn is_ok(&self) -> bool {
        self.error.is_none()
    }
}

/// TCP connection to the RDP port: every resolved address is tried, each outcome kept.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TcpConnect {
    /// The address the rest of the probe used (the first, in resolver order, that accepted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<SocketAddr>,
    /// Connect time to that address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connect_ms: Option<f64>,
    /// One entry per address tried.
    pub attempts: Vec<ConnectAttempt>,
}

impl TcpConnect {
    /// Addresses that did not accept while another did.
    pub fn dead_addresses(&self) -> impl Iterator<Item = &ConnectAttempt> {
        self.attempts.iter().filter(|a| !a.is_ok())
    }
}
