//! Evidence about the network path: latency, loss, MTU and the UDP transport.

use serde::{Deserialize, Serialize};

/// RTT percentiles in milliseconds.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RttSummary {
    pub min: f64,
    pub median: f64,
    pub p95: f64,
    pub max: f64,
    pub jitter: f64,
}

/// Path quality measured with repeated TCP handshakes to the RDP port (`evidence.quality`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PathQuality {
    pub samples: u32,
    pub loss_pct: f64,
    pub rtt_ms: RttSummary,
}

/// The MS-RDPEUDP SYN probe (`evidence.udp`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct UdpProbe {
    pub answered: bool,
    pub syns_sent: u32,
}
