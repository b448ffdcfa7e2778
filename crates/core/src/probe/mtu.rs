//! MTU black holes, both directions, on the RDP port itself.
//!
//! A tunnel that lowers the usable packet size while ICMP "fragmentation needed" is blocked
//! lets the small X.224 exchange through and swallows the TLS handshake. Pinging the host says
//! nothing about the RDP path (ICMP may be treated differently), so each direction is sized
//! with RDP traffic (see [`steps`]) and a search over packet sizes (see [`search`]):
//!
//! | direction | size controlled by | arrival seen as |
//! |---|---|---|
//! | client → server | a ClientHello padded to the size | any answer, or the server's ACK (Linux `tcp_info`) |
//! | server → client | the MSS we announce (TCP_MAXSEG) | the whole certificate flight |
//!
//! Sizes are IP packet sizes between 576 (the IPv4 minimum) and 1500 (Ethernet), in bytes.
//! Where TCP_MAXSEG is not available (Windows) the server → client direction is one
//! unclamped probe: a flight that stalls after a good X.224 exchange, not sized.

pub mod search;
pub mod steps;

use std::time::Duration;

use crate::evidence::{MtuDirection, MtuProbe, MtuVerdict};
use search::{Bounds, Outcome};
pub use steps::ProbeContext;

/// Search knobs: the bounds of the size search, with the defaults in [`Bounds::default`].
pub type MtuOptions = Bounds;

/// How long a probe waits for its answer: 2 s, or four round trips plus half a second on slow
/// paths (TCP gets two or three retransmissions in that time, so random loss alone rarely
/// fails a probe).
pub fn probe_wait(rtt_p95_ms: Option<f64>) -> Duration {
    let rtt = rtt_p95_ms.unwrap_or(0.0).max(0.0);
    Duration::from_millis(2000).max(Duration::from_secs_f64(rtt * 4.0 / 1000.0 + 0.5))
}

/// Size both directions.
pub async fn probe(ctx: &ProbeContext, opts: &MtuOptions) -> MtuProbe {
    let bounds = Bounds {
        high: opts.high.max(opts.low + 1),
        ..*opts
    };
    let mut out = MtuProbe::default();
    // With the kernel's ACK count, client → server does not depend on the server's answer
    // coming back, so both directions run at once; otherwise the way back is checked first.
    if crate::probe::tcpinfo::available() {
        let (sc, cs) = futures::join!(server_to_client(ctx, bounds), async {
            // Interleave the two directions' connections.
            tokio::time::sleep(bounds.stagger / 2).await;
            client_to_server(ctx, bounds).await
        });
        out.server_to_client = Some(sc);
        out.client_to_server = Some(cs);
        return out;
    }
    let sc = server_to_client(ctx, bounds).await;
    if sc.verdict == MtuVerdict::BlackHole {
        out.notes.push(
            "client → server was not sized: the server's answers are lost on the way back, and this system cannot read TCP acknowledgements"
                .into(),
        );
    } else {
        out.client_to_server = Some(client_to_server(ctx, bounds).await);
    }
    out.server_to_client = Some(sc);
    out
}

async fn client_to_server(ctx: &ProbeContext, bounds: Bounds) -> MtuDirection {
    let mut d = search::search("padded_client_hello", bounds, |size| {
        steps::client_to_server(ctx, size)
    })
    .await;
    let acked = d.steps.iter().any(|s| s.detail.as_deref() == Some("ack"));
    d.signal = if acked { "ack" } else { "reply" }.into();
    d
}

async fn server_to_client(ctx: &ProbeContext, bounds: Bounds) -> MtuDirection {
    if steps::can_clamp_mss() {
        let mut d = search::search("mss_clamp", bounds, |size| {
            steps::server_to_client(ctx, Some(size))
        })
        .await;
        d.signal = "reply".into();
        return d;
    }
    let step = steps::server_to_client(ctx, None).await;
    let mut d = MtuDirection {
        method: "unclamped".into(),
        signal: "reply".into(),
        tested_up_to: step.packet,
        ..Default::default()
    };
    d.verdict = match step.outcome {
        Outcome::Passed => MtuVerdict::Clear,
        Outcome::Failed => MtuVerdict::BlackHole,
        Outcome::Abort => MtuVerdict::Inconclusive,
    };
    if step.outcome == Outcome::Passed {
        d.largest_ok = Some(step.packet);
    }
    d.note = Some(match step.outcome {
        Outcome::Failed => "the server's handshake flight stalls after a good X.224 exchange; not sized (this system cannot clamp the MSS)".into(),
        _ => step.detail.clone().unwrap_or_default(),
    });
    d.steps.push(crate::evidence::MtuStep {
        packet: step.packet,
        passed: step.outcome == Outcome::Passed,
        elapsed_ms: step.elapsed_ms,
        detail: step.detail,
    });
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probe_wait_grows_with_slow_paths() {
        assert_eq!(probe_wait(None), Duration::from_secs(2));
        assert_eq!(probe_wait(Some(50.0)), Duration::from_secs(2));
        assert_eq!(probe_wait(Some(600.0)), Duration::from_millis(2900));
    }
}
