//! The path measurement after the main stages: handshake sampling and the UDP probe side by
//! side, then the MTU search (its probe deadline follows the measured RTT).
//!
//! It runs when asked (`--path`), and by default when the check failed in a way the path can
//! explain: a TLS or CredSSP stage that timed out after a good X.224 exchange (the classic MTU
//! black hole), or a connect that needed a retransmitted SYN. A connect that failed outright
//! is left alone (nothing answers to measure), and so is an X.224 request that got no answer
//! on an open connection: that is a hung or throttling service far more often than the path.

use std::net::SocketAddr;

use super::mtu::{self, MtuOptions, ProbeContext};
use super::negotiate::NegotiateOptions;
use super::quality::{self, QualityOptions};
use super::udp::{self, UdpOptions};
use crate::Target;
use crate::evidence::{ErrorKind, Evidence, Stage};

/// When to measure the path.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum PathMode {
    /// Never (`--no-path`).
    Off,
    /// When the check failed in a way the path can explain.
    #[default]
    Auto,
    /// Always (`--path`).
    On,
}

/// Everything the path measurement needs.
#[derive(Clone, Debug, Default)]
pub struct PathOptions {
    pub mode: PathMode,
    pub quality: QualityOptions,
    pub mtu: MtuOptions,
    pub udp: UdpOptions,
}

/// A connect this much slower than a round trip can explain needed a retransmitted SYN.
const SLOW_CONNECT_MS: f64 = 900.0;

/// Why the path should be measured although nobody asked, or `None`.
pub fn could_explain(ev: &Evidence) -> Option<String> {
    let tcp = ev.tcp.value()?;
    let timed_out = |kind: Option<ErrorKind>| kind == Some(ErrorKind::Timeout);
    if timed_out(ev.tls.error_kind()) {
        return Some("the TLS handshake timed out after a good X.224 exchange".into());
    }
    if timed_out(ev.credssp.error_kind()) {
        return Some("CredSSP timed out inside a working TLS session".into());
    }
    if let Some(ms) = tcp.connect_ms
        && ms >= SLOW_CONNECT_MS
    {
        return Some(format!(
            "the TCP connect took {ms:.0} ms: a SYN or SYN-ACK was lost and retransmitted"
        ));
    }
    None
}

/// Measure the path to `address` (the address the main stages used) and store the results in
/// `ev.quality` and `ev.udp`. Decides by `opts.mode` whether to run at all.
pub async fn measure(
    ev: &mut Evidence,
    target: &Target,
    address: SocketAddr,
    negotiate: &NegotiateOptions,
    opts: &PathOptions,
) {
    let why = match opts.mode {
        PathMode::Off => {
            ev.quality = Stage::skipped("path measurement turned off (--no-path)");
            ev.udp = Stage::skipped("path measurement turned off (--no-path)");
            return;
        }
        PathMode::On => None,
        PathMode::Auto => match could_explain(ev) {
            Some(why) => Some(why),
            None => return,
        },
    };
    let udp_addr = SocketAddr::new(address.ip(), target.port);
    // Samples wait for the server's X.224 answer when it gives one (see `quality`).
    let mut qopts = opts.quality.clone();
    qopts.connect_gate = negotiate.connect_gate.clone();
    if ev.negotiation.is_ok() {
        let mut n = negotiate.clone();
        n.deadline = n.deadline.min(std::time::Duration::from_secs(3));
        qopts.x224 = Some(n);
    }
    let (mut q, u) = futures::join!(
        quality::measure(address, &qopts),
        udp::probe(udp_addr, &opts.udp)
    );
    if let Some(why) = why
        && let Some(v) = q.value_mut()
    {
        v.notes.push(format!(
            "measured automatically because {why} (--no-path to skip)"
        ));
    }
    let selected = ev.negotiation.observed().and_then(|n| n.selected);
    if let Some(v) = q.value_mut() {
        if selected.is_some_and(|p| p.uses_tls()) {
            let ctx = ProbeContext {
                addr: address,
                server_name: target.ip().is_none().then(|| target.host.clone()),
                negotiate: negotiate.clone(),
                wait: mtu::probe_wait(Some(v.rtt_ms.p95)),
            };
            v.mtu = Some(mtu::probe(&ctx, &opts.mtu).await);
        } else {
            v.notes.push(
                "MTU not probed: the server did not select a TLS-based protocol, and the probes are TLS hellos"
                    .into(),
            );
        }
    }
    ev.quality = q;
    ev.udp = u;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::{StageError, StageName, TcpConnect};
    use std::time::Duration;

    fn with_tcp(connect_ms: f64) -> Evidence {
        let mut ev = Evidence::new(chrono::Utc::now());
        ev.tcp = Stage::ok(
            Duration::from_millis(1),
            TcpConnect {
                address: Some("10.0.0.2:3389".parse().unwrap()),
                connect_ms: Some(connect_ms),
                attempts: Vec::new(),
            },
        );
        ev
    }

    #[test]
    fn automatic_measurement_only_for_failures_the_path_explains() {
        let ev = with_tcp(1.0);
        assert_eq!(could_explain(&ev), None);
        let mut slow = with_tcp(1030.0);
        assert!(could_explain(&slow).unwrap().contains("retransmitted"));
        slow.tls = Stage::failed(StageError::new(
            StageName::Tls,
            ErrorKind::Timeout,
            Duration::from_secs(5),
            "no server flight",
        ));
        assert!(
            could_explain(&slow)
                .unwrap()
                .contains("TLS handshake timed out")
        );
        let mut silent = with_tcp(1.0);
        silent.negotiation = Stage::failed(StageError::new(
            StageName::Negotiation,
            ErrorKind::Timeout,
            Duration::from_secs(5),
            "no Connection Confirm",
        ));
        assert_eq!(could_explain(&silent), None);
        let mut refused = with_tcp(1.0);
        refused.tls = Stage::failed(StageError::new(
            StageName::Tls,
            ErrorKind::Reset,
            Duration::from_secs(0),
            "reset",
        ));
        assert_eq!(could_explain(&refused), None);
        let mut no_tcp = Evidence::new(chrono::Utc::now());
        no_tcp.tcp = Stage::failed(StageError::new(
            StageName::Tcp,
            ErrorKind::Timeout,
            Duration::from_secs(5),
            "filtered",
        ));
        assert_eq!(could_explain(&no_tcp), None);
    }
}
