//! `--rate`: a global limit on new TCP connections per second, shared by every check.
//!
//! A token bucket in its GCRA form: one instant (the "theoretical arrival time") instead of a
//! token count and a refill timer. A reservation is computed under a lock and the caller
//! sleeps outside it, so waiting connections never hold the lock. `burst` connections may go
//! at once after an idle period, which keeps a scan that starts with 500 checks from spacing
//! its first connections 1 ms apart for no reason.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::probe::gate::ConnectGate;

/// The pure bucket: when may the next connection go?
#[derive(Clone, Debug)]
pub struct TokenBucket {
    interval: Duration,
    tolerance: Duration,
    next: Option<Instant>,
}

impl TokenBucket {
    /// `per_second` connections per second on average, up to `burst` at once.
    pub fn new(per_second: f64, burst: u32) -> TokenBucket {
        let interval = Duration::from_secs_f64(1.0 / per_second.max(1e-3));
        TokenBucket {
            interval,
            tolerance: interval * burst.saturating_sub(1),
            next: None,
        }
    }

    /// Reserve a slot for a connection wanted at `now`; returns when it may go (`now` or later).
    pub fn reserve(&mut self, now: Instant) -> Instant {
        let tat = self.next.unwrap_or(now).max(now);
        // Allowed once `now >= tat - tolerance`; otherwise wait until then.
        let at = tat.checked_sub(self.tolerance).map_or(now, |t| t.max(now));
        self.next = Some(tat + self.interval);
        at
    }
}

/// A [`ConnectGate`] that paces connections with a [`TokenBucket`].
#[derive(Debug)]
pub struct RateGate {
    bucket: Mutex<TokenBucket>,
}

impl RateGate {
    pub fn new(per_second: f64, burst: u32) -> RateGate {
        RateGate {
            bucket: Mutex::new(TokenBucket::new(per_second, burst)),
        }
    }
}

impl ConnectGate for RateGate {
    fn admit(&self, _addr: SocketAddr) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        let at = {
            let mut b = self.bucket.lock().unwrap_or_else(|p| p.into_inner());
            b.reserve(Instant::now())
        };
        Box::pin(async move {
            if at > Instant::now() {
                tokio::time::sleep_until(at.into()).await;
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paces_at_the_rate_after_the_burst() {
        let t0 = Instant::now();
        let mut b = TokenBucket::new(10.0, 3);
        let slots: Vec<Duration> = (0..6).map(|_| b.reserve(t0) - t0).collect();
        let ms: Vec<u128> = slots.iter().map(|d| d.as_millis()).collect();
        assert_eq!(ms, [0, 0, 0, 100, 200, 300]);
    }

    #[test]
    fn an_idle_bucket_refills_up_to_the_burst_only() {
        let t0 = Instant::now();
        let mut b = TokenBucket::new(10.0, 2);
        b.reserve(t0);
        b.reserve(t0);
        // Ten seconds idle: still only two at once.
        let later = t0 + Duration::from_secs(10);
        let ms: Vec<u128> = (0..4)
            .map(|_| (b.reserve(later) - later).as_millis())
            .collect();
        assert_eq!(ms, [0, 0, 100, 200]);
    }

    #[test]
    fn a_burst_of_one_spaces_every_connection() {
        let t0 = Instant::now();
        let mut b = TokenBucket::new(1000.0, 1);
        let last = (0..1000).map(|_| b.reserve(t0)).last().unwrap();
        assert_eq!((last - t0).as_millis(), 999);
    }

    #[tokio::test]
    async fn the_gate_holds_connections_to_the_rate() {
        let gate = RateGate::new(200.0, 1);
        let addr: SocketAddr = "127.0.0.1:1".parse().unwrap();
        let started = Instant::now();
        for _ in 0..21 {
            gate.admit(addr).await;
        }
        let took = started.elapsed();
        assert!(took >= Duration::from_millis(95), "{took:?}");
    }
}
