//! Drives the [`Planner`] over a [`Transport`]: at most `max_parallel` connections to the
//! server at once, at least `delay` between two connection starts, and an overall budget.
//!
//! RDP servers throttle: Windows has MaxOutstandingConnections, xrdp listens with a backlog
//! of 2. So the cap is small, a probe that fails is retried alone after a pause, and the
//! planner stops the enumeration after a second failure in a row. Every probe is bounded by
//! the transport's own deadlines, and the budget bounds the whole: the enumeration always
//! ends, with what was learnt.

use std::future::Future;
use std::time::Duration;

use futures::StreamExt;
use futures::stream::FuturesUnordered;
use tokio::time::Instant;

use super::plan::{Answer, Planner, Probe};

/// Sends one probe and reports the server's answer (one fresh connection per call).
pub trait Transport {
    fn send(&self, probe: Probe) -> impl Future<Output = Answer>;
}

/// Politeness limits for one server.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Connections open at once (at least 1).
    pub max_parallel: usize,
    /// Minimum time between two connection starts.
    pub delay: Duration,
    /// Time after which no new probe starts and probes in flight are abandoned.
    pub budget: Duration,
}

/// Pause before a probe that follows a failure: the server may be shedding connections.
const BACKOFF: Duration = Duration::from_millis(250);

/// Run the planner to the end; returns the number of connections started.
pub async fn drive<T: Transport>(planner: &mut Planner, transport: &T, limits: Limits) -> u32 {
    let started = Instant::now();
    let deadline = started + limits.budget;
    let mut parallel = limits.max_parallel.max(1);
    let mut next_start = started;
    let mut connections = 0u32;
    let mut in_flight = FuturesUnordered::new();
    loop {
        while in_flight.len() < parallel {
            if Instant::now() >= deadline {
                planner.abort(format!(
                    "the enumeration stopped after its {} s budget; the lists below are what was learnt until then",
                    limits.budget.as_secs()
                ));
                break;
            }
            let Some((id, probe)) = planner.next_probe() else {
                break;
            };
            let at = next_start.max(Instant::now());
            next_start = at + limits.delay;
            connections += 1;
            in_flight.push(async move {
                tokio::time::sleep_until(at).await;
                (id, transport.send(probe).await)
            });
        }
        if in_flight.is_empty() {
            break;
        }
        let Ok(Some((id, answer))) = tokio::time::timeout_at(deadline, in_flight.next()).await
        else {
            planner.abort(format!(
                "the enumeration stopped after its {} s budget with probes unanswered; the lists below are what was learnt until then",
                limits.budget.as_secs()
            ));
            break;
        };
        if matches!(answer, Answer::Failed { .. }) {
            parallel = 1;
            next_start = next_start.max(Instant::now() + BACKOFF);
        }
        planner.answer(id, answer);
    }
    connections
}
