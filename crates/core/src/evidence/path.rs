//! Evidence about the network path: latency, loss, MTU and the UDP transport.
//!
//! Everything here is measured on the path to the RDP port itself (TCP handshakes to it, TLS
//! hellos after a real X.224 exchange, an MS-RDPEUDP SYN to the same port number over UDP), so a
//! firewall or VPN that treats RDP differently from ICMP is seen as the client sees it.
//!
//! JSON contract (scripts rely on it): `evidence.quality.samples`, `evidence.quality.loss_pct`,
//! `evidence.quality.rtt_ms.median`, `evidence.quality.rtt_ms.p95`, `evidence.udp.answered`.
//! Every other field is optional with a serde default, so older documents keep loading.

use serde::{Deserialize, Serialize};

/// RTT statistics in milliseconds, over the handshakes that needed no retransmission.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RttSummary {
    pub min: f64,
    pub median: f64,
    pub p95: f64,
    pub max: f64,
    /// Mean absolute difference between consecutive RTT samples (RFC 3550's interarrival
    /// jitter without the smoothing): what a user feels as an uneven session.
    pub jitter: f64,
}

/// A proportion with its 95 % Wilson score interval, in percent.
///
/// Wilson rather than the normal approximation because loss counts are small and often zero:
/// 0 lost of 100 still leaves "up to 3.7 %", which is the honest answer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Interval {
    pub low: f64,
    pub high: f64,
}

/// How the retransmissions behind `loss_pct` were counted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RetransmitSource {
    /// From connect times only: a handshake about one initial RTO (1 s, or 3 s on older
    /// Windows) slower than the fastest ones lost its SYN or SYN-ACK.
    #[default]
    Timing,
    /// The kernel's per-socket retransmission counter (Linux `tcp_info` through sock_diag),
    /// combined with the timing (a lost SYN-ACK is retransmitted by the server, not by us).
    TcpInfo,
}

/// Path quality measured with repeated TCP handshakes to the RDP port (`evidence.quality`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PathQuality {
    /// Handshakes started (each a new connection, closed at once with a reset).
    pub samples: u32,
    /// Lost SYN / SYN-ACK round trips over all transmissions, in percent.
    pub loss_pct: f64,
    pub rtt_ms: RttSummary,
    /// Handshakes that completed.
    #[serde(default)]
    pub completed: u32,
    /// Handshakes that got no answer within the per-sample deadline.
    #[serde(default)]
    pub timed_out: u32,
    /// Handshakes refused, reset or failed otherwise (not counted as loss).
    #[serde(default)]
    pub failed: u32,
    /// SYN transmissions, original and retransmitted: the trials behind `loss_pct`.
    #[serde(default)]
    pub transmissions: u32,
    /// Transmissions that got no SYN-ACK back.
    #[serde(default)]
    pub lost: u32,
    /// Handshakes that needed at least one retransmission.
    #[serde(default)]
    pub retransmitted: u32,
    /// 95 % Wilson interval of `loss_pct`.
    #[serde(default)]
    pub loss_interval_pct: Interval,
    #[serde(default)]
    pub retransmit_source: RetransmitSource,
    /// The initial retransmission timeout assumed when reading connect times, in ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub initial_rto_ms: Option<f64>,
    /// SYN retries that wait one RTO each before the doubling starts (Linux 6.6+: 4), as this
    /// system retransmits; used to read connect times.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub syn_linear_timeouts: Option<u32>,
    /// How many handshakes were in flight at most, and the pause between two starts.
    #[serde(default)]
    pub concurrency: u32,
    #[serde(default)]
    pub interval_ms: f64,
    /// Median time from an X.224 Connection Request to its Confirm over the samples (each
    /// sample waits for it before the next may start, so a slow server cannot make its own
    /// dropped SYNs look like path loss).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x224_median_ms: Option<f64>,
    /// Samples whose Connection Request got no Confirm.
    #[serde(default)]
    pub x224_unanswered: u32,
    /// Every handshake, in start order (connect time in ms, retransmissions, outcome).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub handshakes: Vec<Handshake>,
    /// The MTU black-hole probes, both directions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mtu: Option<MtuProbe>,
    /// Remarks ("stopped after 20 s: --path-duration").
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// One sampled handshake.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Handshake {
    /// Connect time in ms (the deadline for a timed-out sample).
    pub ms: f64,
    /// Retransmitted SYNs (or SYN-ACKs) this handshake needed.
    #[serde(default)]
    pub retransmits: u32,
    /// `ok`, `timeout`, `refused`, `reset`, `unreachable`, `io`.
    pub outcome: String,
}

/// The outcome of an MTU probe in one direction.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MtuVerdict {
    /// Full-size packets pass.
    Clear,
    /// Small packets pass and large ones vanish.
    BlackHole,
    /// Could not tell (small probes failed too, the server never selected TLS, or its answer
    /// was too small to test this direction).
    #[default]
    Inconclusive,
}

impl MtuVerdict {
    pub fn as_str(self) -> &'static str {
        match self {
            MtuVerdict::Clear => "clear",
            MtuVerdict::BlackHole => "black_hole",
            MtuVerdict::Inconclusive => "inconclusive",
        }
    }
}

/// One probe of an MTU search.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MtuStep {
    /// The largest IP packet this probe made the sender emit, in bytes.
    pub packet: u32,
    pub passed: bool,
    pub elapsed_ms: f64,
    /// Why it failed, or what was seen ("no answer within 2000 ms").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// The MTU search in one direction. Sizes are IP packet sizes (IP + TCP headers + payload), the
/// number an admin compares with an interface MTU; `ping -f -l` takes that minus 28.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct MtuDirection {
    pub verdict: MtuVerdict,
    /// How the size was controlled: `padded_client_hello` (client → server) or `mss_clamp`
    /// (server → client: the MSS we announce bounds the server's segments).
    pub method: String,
    /// The largest packet that passed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub largest_ok: Option<u32>,
    /// The smallest packet that vanished.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub smallest_failed: Option<u32>,
    /// The largest packet the probes could produce on this path.
    pub tested_up_to: u32,
    /// How an arrival was recognised: `reply` (the server answered) or `ack` (the server's
    /// TCP acknowledged every byte, read from the kernel).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub signal: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub steps: Vec<MtuStep>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl MtuDirection {
    /// Whether every step agrees with one boundary (all passes below all failures).
    pub fn consistent(&self) -> bool {
        let worst_pass = self
            .steps
            .iter()
            .filter(|s| s.passed)
            .map(|s| s.packet)
            .max();
        let best_fail = self
            .steps
            .iter()
            .filter(|s| !s.passed)
            .map(|s| s.packet)
            .min();
        match (worst_pass, best_fail) {
            (Some(p), Some(f)) => p < f,
            _ => true,
        }
    }

    pub fn failures(&self) -> usize {
        self.steps.iter().filter(|s| !s.passed).count()
    }

    pub fn passes(&self) -> usize {
        self.steps.iter().filter(|s| s.passed).count()
    }
}

/// MTU black-hole probes (`evidence.quality.mtu`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct MtuProbe {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_to_server: Option<MtuDirection>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_to_client: Option<MtuDirection>,
    /// Why a direction was not probed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

impl MtuProbe {
    /// The directions with a black hole, named for reports.
    pub fn black_holes(&self) -> impl Iterator<Item = (&'static str, &MtuDirection)> {
        [
            ("client → server", self.client_to_server.as_ref()),
            ("server → client", self.server_to_client.as_ref()),
        ]
        .into_iter()
        .filter_map(|(n, d)| d.map(|d| (n, d)))
        .filter(|(_, d)| d.verdict == MtuVerdict::BlackHole)
    }
}

/// What the UDP port said to the MS-RDPEUDP SYN.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UdpOutcome {
    /// A SYN+ACK that echoes our sequence number.
    Answered,
    /// Silence: filtered, UDP disabled by policy, or a server that ignores a SYN without a
    /// multitransport request on a TCP connection first. Not proof of a block.
    #[default]
    NoAnswer,
    /// ICMP port unreachable: the host is there and nothing listens on that UDP port.
    Refused,
    /// Something answered that is not a SYN+ACK for our SYN.
    Unexpected,
}

impl UdpOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            UdpOutcome::Answered => "answered",
            UdpOutcome::NoAnswer => "no_answer",
            UdpOutcome::Refused => "refused",
            UdpOutcome::Unexpected => "unexpected",
        }
    }
}

/// Loss of SYN / SYN+ACK exchanges over UDP, measured when the server answers.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct UdpLoss {
    /// SYNs sent (each from a fresh socket, each its own handshake).
    pub sent: u32,
    pub answered: u32,
    pub loss_pct: f64,
    pub loss_interval_pct: Interval,
    /// Median SYN → SYN+ACK time over the answered ones.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rtt_median_ms: Option<f64>,
}

/// The MS-RDPEUDP SYN probe (`evidence.udp`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct UdpProbe {
    pub answered: bool,
    pub syns_sent: u32,
    #[serde(default)]
    pub outcome: UdpOutcome,
    /// The UDP endpoint probed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<std::net::SocketAddr>,
    /// uUdpVer the server chose (1, 2, or 0x101 for RDPEUDP2), when it answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<u16>,
    /// `RDPUDP_PROTOCOL_VERSION_2` ...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_name: Option<String>,
    /// The server's uUpStreamMtu and uDownStreamMtu.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub up_mtu: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub down_mtu: Option<u16>,
    /// uFlags of the SYN+ACK (Windows: 0x1005).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flags: Option<u16>,
    /// Size of the SYN+ACK datagram (Windows pads to 1232).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub datagram_len: Option<u32>,
    /// SYN → SYN+ACK time of the first answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rtt_ms: Option<f64>,
    /// Loss over a series of handshakes, when the server answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loss: Option<UdpLoss>,
    /// What the outcome can and cannot mean.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub note: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn old_documents_with_only_the_contract_fields_still_load() {
        let q: PathQuality = serde_json::from_str(
            r#"{"samples":10,"loss_pct":0.0,"rtt_ms":{"min":1,"median":2,"p95":3,"max":4,"jitter":0.5}}"#,
        )
        .unwrap();
        assert_eq!(q.samples, 10);
        assert_eq!(q.retransmit_source, RetransmitSource::Timing);
        let u: UdpProbe = serde_json::from_str(r#"{"answered":false,"syns_sent":3}"#).unwrap();
        assert_eq!(u.outcome, UdpOutcome::NoAnswer);
    }

    #[test]
    fn consistency_of_an_mtu_search() {
        let step = |packet, passed| MtuStep {
            packet,
            passed,
            elapsed_ms: 1.0,
            detail: None,
        };
        let mut d = MtuDirection {
            steps: vec![step(600, true), step(1000, true), step(1200, false)],
            ..Default::default()
        };
        assert!(d.consistent());
        d.steps.push(step(800, false));
        assert!(!d.consistent());
        assert_eq!((d.passes(), d.failures()), (2, 2));
    }
}
