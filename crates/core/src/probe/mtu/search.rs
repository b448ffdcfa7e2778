//! The size search shared by both directions: find the boundary between packets that pass and
//! packets that vanish with a few rounds of parallel probes.
//!
//! Round 0 probes the largest and the smallest size together: a path where full-size packets
//! pass is done after one round trip of probes, and a path where even small probes fail is not
//! a size problem at all. A full-size failure is repeated once before it counts. Then each round probes `parallel` sizes spread evenly inside the
//! remaining interval, so the interval shrinks by `parallel + 1` per round (948 bytes → 8 bytes
//! in three rounds of four). Probes run in parallel because a failed probe costs its whole
//! timeout; a binary search would pay that timeout once per halving.

use std::future::Future;
use std::time::Duration;

use crate::evidence::{MtuDirection, MtuStep, MtuVerdict};

/// What one probe found.
#[derive(Clone, Debug, PartialEq)]
pub struct StepResult {
    /// The largest IP packet the probe really produced (a passing probe may have produced less
    /// than asked, when the server's answer was short); for a failure, the size asked.
    pub packet: u32,
    pub outcome: Outcome,
    pub elapsed_ms: f64,
    pub detail: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Passed,
    /// No answer within the deadline: the packet vanished.
    Failed,
    /// Something unrelated to size went wrong (connect refused, no TLS): stop searching.
    Abort,
}

/// Bounds of one search (IP packet sizes).
#[derive(Clone, Copy, Debug)]
pub struct Bounds {
    /// Smallest IP packet probed (576: every IPv4 path must carry it).
    pub low: u32,
    /// Largest IP packet probed (1500: Ethernet; tunnels sit below it).
    pub high: u32,
    /// Probes per round and direction.
    pub parallel: usize,
    /// Stop when the boundary is known to this many bytes.
    pub resolution: u32,
    pub max_rounds: u32,
    /// Pause between the starts of two probes of a round, so a server with a short accept
    /// queue (xrdp: backlog 2) is not handed several connections at once.
    pub stagger: Duration,
}

impl Default for Bounds {
    fn default() -> Self {
        Bounds {
            low: 576,
            high: 1500,
            parallel: 4,
            resolution: 8,
            max_rounds: 4,
            stagger: Duration::from_millis(50),
        }
    }
}

/// `probe(size)` after `n` staggers.
async fn staggered<F, Fut>(probe: &F, size: u32, stagger: Duration, n: u32) -> StepResult
where
    F: Fn(u32) -> Fut,
    Fut: Future<Output = StepResult>,
{
    if n > 0 {
        tokio::time::sleep(stagger * n).await;
    }
    probe(size).await
}

/// Search between `bounds.low` and `bounds.high` with `probe(size)`.
pub async fn search<F, Fut>(method: &str, bounds: Bounds, probe: F) -> MtuDirection
where
    F: Fn(u32) -> Fut,
    Fut: Future<Output = StepResult>,
{
    let mut dir = MtuDirection {
        method: method.to_string(),
        tested_up_to: bounds.high,
        ..Default::default()
    };
    let (high, low) = futures::join!(
        staggered(&probe, bounds.high, bounds.stagger, 0),
        staggered(&probe, bounds.low, bounds.stagger, 1)
    );
    record(&mut dir, &high);
    record(&mut dir, &low);
    let aborted = [&high, &low]
        .into_iter()
        .find(|s| s.outcome == Outcome::Abort);
    if let Some(a) = aborted {
        dir.verdict = MtuVerdict::Inconclusive;
        dir.note = a.detail.clone();
        return dir;
    }
    if high.outcome == Outcome::Passed {
        dir.verdict = MtuVerdict::Clear;
        dir.largest_ok = Some(high.packet.max(low.packet));
        dir.tested_up_to = high.packet;
        if high.packet < bounds.high {
            dir.note = Some(format!(
                "the server's answer was short: packets up to {} bytes were tested, not {}",
                high.packet, bounds.high
            ));
        }
        return dir;
    }
    if low.outcome != Outcome::Passed {
        dir.verdict = MtuVerdict::Inconclusive;
        dir.note = Some(format!(
            "even {}-byte probes got no answer while the connection itself worked: not a size problem (loss, or a server that stalls)",
            bounds.low
        ));
        return dir;
    }
    // One lost full-size probe is not a black hole: random loss can outlast a probe's wait.
    // Only a second failure at the same size starts the search.
    let again = probe(bounds.high).await;
    record(&mut dir, &again);
    if again.outcome == Outcome::Passed {
        dir.verdict = MtuVerdict::Clear;
        dir.largest_ok = Some(again.packet);
        dir.tested_up_to = again.packet;
        dir.note = Some("a full-size probe got no answer once, and passed when repeated".into());
        return dir;
    }
    let (mut lo, mut hi) = (low.packet, bounds.high);
    for _ in 0..bounds.max_rounds {
        if hi <= lo + bounds.resolution {
            break;
        }
        let k = bounds.parallel.max(1) as u32;
        let mut sizes: Vec<u32> = (1..=k).map(|i| lo + (hi - lo) * i / (k + 1)).collect();
        sizes.dedup();
        sizes.retain(|s| *s > lo && *s < hi);
        if sizes.is_empty() {
            break;
        }
        let results = futures::future::join_all(
            sizes
                .iter()
                .zip(0u32..)
                .map(|(s, n)| staggered(&probe, *s, bounds.stagger, n)),
        )
        .await;
        for r in &results {
            record(&mut dir, r);
            match r.outcome {
                Outcome::Passed => lo = lo.max(r.packet.min(hi.saturating_sub(1))),
                Outcome::Failed => hi = hi.min(r.packet),
                Outcome::Abort => {}
            }
        }
        // A later pass above an earlier failure (random loss) keeps the boundary honest.
        if lo >= hi {
            lo = hi.saturating_sub(1);
        }
    }
    dir.verdict = MtuVerdict::BlackHole;
    dir.largest_ok = Some(lo);
    dir.smallest_failed = Some(hi);
    dir
}

fn record(dir: &mut MtuDirection, s: &StepResult) {
    dir.steps.push(MtuStep {
        packet: s.packet,
        passed: s.outcome == Outcome::Passed,
        elapsed_ms: s.elapsed_ms,
        detail: s.detail.clone(),
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    const BOUNDS: Bounds = Bounds {
        low: 576,
        high: 1500,
        parallel: 4,
        resolution: 8,
        max_rounds: 4,
        stagger: Duration::ZERO,
    };

    fn fake(limit: u32) -> impl Fn(u32) -> std::future::Ready<StepResult> {
        move |size| {
            std::future::ready(StepResult {
                packet: size,
                outcome: if size <= limit {
                    Outcome::Passed
                } else {
                    Outcome::Failed
                },
                elapsed_ms: 1.0,
                detail: None,
            })
        }
    }

    #[tokio::test]
    async fn finds_the_boundary_within_the_resolution() {
        for limit in [600, 1000, 1280, 1400, 1499] {
            let d = search("test", BOUNDS, fake(limit)).await;
            assert_eq!(d.verdict, MtuVerdict::BlackHole, "{limit}");
            let (ok, bad) = (d.largest_ok.unwrap(), d.smallest_failed.unwrap());
            assert!(ok <= limit && bad > limit, "{limit}: {ok}..{bad}");
            assert!(bad - ok <= 8, "{limit}: {ok}..{bad}");
            assert!(d.consistent());
            // Round 0, the repeated full-size probe, at most three rounds of four.
            assert!(d.steps.len() <= 15, "{}", d.steps.len());
        }
    }

    #[tokio::test]
    async fn one_lost_full_size_probe_is_repeated_before_it_counts() {
        let calls = std::cell::Cell::new(0);
        let d = search("test", BOUNDS, |size| {
            calls.set(calls.get() + 1);
            // The very first probe (full size) is lost; everything passes after that.
            let outcome = if calls.get() == 1 {
                Outcome::Failed
            } else {
                Outcome::Passed
            };
            std::future::ready(StepResult {
                packet: size,
                outcome,
                elapsed_ms: 1.0,
                detail: None,
            })
        })
        .await;
        assert_eq!(d.verdict, MtuVerdict::Clear);
        assert_eq!(d.steps.len(), 3);
        assert!(d.note.unwrap().contains("repeated"));
    }

    #[tokio::test]
    async fn full_size_passing_is_clear_and_nothing_passing_is_inconclusive() {
        let d = search("test", BOUNDS, fake(1500)).await;
        assert_eq!(d.verdict, MtuVerdict::Clear);
        assert_eq!(d.largest_ok, Some(1500));
        assert_eq!(d.steps.len(), 2);
        let d = search("test", BOUNDS, fake(100)).await;
        assert_eq!(d.verdict, MtuVerdict::Inconclusive);
        assert!(d.note.unwrap().contains("not a size problem"));
        let d = search("test", BOUNDS, |size| {
            std::future::ready(StepResult {
                packet: size,
                outcome: Outcome::Abort,
                elapsed_ms: 0.0,
                detail: Some("no TLS".into()),
            })
        })
        .await;
        assert_eq!(d.verdict, MtuVerdict::Inconclusive);
        assert_eq!(d.note.as_deref(), Some("no TLS"));
    }
}
