//! Path quality: RTT, jitter and loss from repeated TCP handshakes to the RDP port.
//!
//! No raw sockets and no admin rights: each sample is an ordinary `connect()`, closed with a
//! reset (SO_LINGER 0) so the server frees the slot at once — RDP servers limit connections
//! that have not logged on yet (MaxOutstandingConnections). Samples start at a fixed pace with
//! a cap on how many are in flight.
//!
//! The measurement must not create the loss it measures. A server that accepts slowly lets
//! completed handshakes pile up in its accept queue, and when the queue is full the kernel
//! drops new SYNs, which looks exactly like path loss (xrdp listens with a backlog of 2; with
//! debug logging on a loaded host it dropped a quarter of the SYNs at 20 handshakes per
//! second). So when the server answers X.224, each sample also sends the Connection Request and
//! waits for the Confirm — proof the server accepted the connection — and a new handshake only
//! starts while fewer than [`QualityOptions::max_unanswered`] connections are still waiting
//! for theirs. The connect time alone is the RTT sample.
//!
//! Loss is read from what TCP does about it: a lost SYN or SYN-ACK costs one initial
//! retransmission timeout (1 s, or 3 s on older Windows), so a handshake about 1 s or 3 s
//! slower than the fastest ones lost a round trip. On Linux the kernel's own counter
//! (`tcp_info.tcpi_total_retrans`) confirms the SYNs we retransmitted; the timing still counts
//! a lost SYN-ACK the server retransmitted before our timer fired. Every SYN transmission is a
//! trial, so the loss estimate is lost / transmitted, with a Wilson interval that says how much
//! the sample count allows to conclude.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tokio::net::TcpSocket;
use tokio::sync::{Notify, Semaphore};

use super::gate::ConnectGate;
use super::io::{classify, describe};
use super::negotiate::{self, NegotiateOptions};
use super::{stats, tcpinfo};
use crate::evidence::{
    ErrorKind, Handshake, PathQuality, RetransmitSource, Stage, StageError, StageName, millis,
};

/// How the handshakes are sampled.
#[derive(Clone, Debug)]
pub struct QualityOptions {
    /// Handshakes to sample (`--samples`).
    pub samples: u32,
    /// At most this many in flight. Most of them are waiting on a retransmission timer (a
    /// lost SYN holds its slot for a second): the server only ever sees the paced arrivals.
    pub concurrency: u32,
    /// Pause between two starts: at most 40 SYNs per second, below the SYN-rate limits of
    /// common firewalls (the X.224 gate, not this pace, protects the server's accept queue).
    pub interval: Duration,
    /// Deadline of one handshake: two SYN retransmissions at a 1 s RTO (1 + 2 s) plus the RTT.
    pub sample_timeout: Duration,
    /// Stop starting new handshakes after this long (`--path-duration`).
    pub budget: Option<Duration>,
    /// Send an X.224 Connection Request on each sample and wait for the Confirm (set when the
    /// server answers X.224); `None`: reset right after the handshake.
    pub x224: Option<NegotiateOptions>,
    /// With `x224`: connections allowed to wait for their Confirm at once (2: below xrdp's
    /// accept queue of 3).
    pub max_unanswered: usize,
    /// Awaited before each handshake (a scan's rate limit, see [`super::gate`]); the wait is
    /// not part of the measured connect time.
    pub connect_gate: Option<Arc<dyn ConnectGate>>,
}

impl Default for QualityOptions {
    fn default() -> Self {
        QualityOptions {
            samples: DEFAULT_SAMPLES,
            concurrency: 8,
            interval: Duration::from_millis(25),
            sample_timeout: Duration::from_millis(3500),
            budget: None,
            x224: None,
            max_unanswered: 2,
            connect_gate: None,
        }
    }
}

/// 100 handshakes (about 125 SYN transmissions at 20 % loss) put a 20 % loss within ±7 points
/// with 95 % confidence; fewer make the interval too wide to call moderate loss.
pub const DEFAULT_SAMPLES: u32 = 100;

/// One raw handshake.
#[derive(Clone, Debug)]
struct Raw {
    index: u32,
    ms: f64,
    error: Option<ErrorKind>,
    message: Option<String>,
    /// The kernel's count of retransmitted SYNs for this connection.
    kernel_retrans: Option<u32>,
    /// Time from the Connection Request to the Confirm, when one was asked for and came.
    x224_ms: Option<f64>,
    /// A Connection Request was sent and not answered.
    x224_unanswered: bool,
}

/// Connections that wait for their X.224 Confirm, and a wake-up for the launcher.
#[derive(Default)]
struct Gate {
    waiting: AtomicUsize,
    changed: Notify,
}

impl Gate {
    async fn wait_below(&self, max: usize) {
        loop {
            let changed = self.changed.notified();
            if self.waiting.load(Ordering::SeqCst) < max {
                return;
            }
            changed.await;
        }
    }
}

/// Counts one connection as waiting for its Confirm until dropped.
struct Waiting<'a>(&'a Gate);

impl<'a> Waiting<'a> {
    fn enter(gate: &'a Gate) -> Self {
        gate.waiting.fetch_add(1, Ordering::SeqCst);
        Waiting(gate)
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.waiting.fetch_sub(1, Ordering::SeqCst);
        self.0.changed.notify_waiters();
    }
}

/// Sample handshakes to `addr` and summarise them. The stage fails only when no handshake at
/// all completed.
pub async fn measure(addr: SocketAddr, opts: &QualityOptions) -> Stage<PathQuality> {
    let started = Instant::now();
    let raws = sample_all(addr, opts, started).await;
    let mut q = summarise(&raws, opts, cfg!(windows), stats::SynSchedule::local());
    if (q.samples as usize) < opts.samples as usize {
        q.notes.push(format!(
            "stopped after {} of {} handshakes: the measurement budget of {:.1} s ran out",
            q.samples,
            opts.samples,
            opts.budget.map_or(0.0, |b| b.as_secs_f64())
        ));
    }
    if q.completed > 0 {
        return Stage::ok(started.elapsed(), q);
    }
    // Nothing completed: report the most telling failure.
    let first = raws
        .iter()
        .min_by_key(|r| match r.error {
            Some(ErrorKind::Refused) => 0,
            Some(ErrorKind::Unreachable) => 1,
            Some(ErrorKind::Timeout) => 2,
            _ => 3,
        })
        .cloned();
    let (kind, message) = match first {
        Some(r) => (
            r.error.unwrap_or(ErrorKind::Io),
            format!(
                "none of {} handshakes to {addr} completed: {}",
                raws.len(),
                r.message.unwrap_or_default()
            ),
        ),
        None => (ErrorKind::Io, "no handshake was started".into()),
    };
    Stage::failed_with(
        StageError::new(StageName::Quality, kind, started.elapsed(), message),
        q,
    )
}

async fn sample_all(addr: SocketAddr, opts: &QualityOptions, started: Instant) -> Vec<Raw> {
    let permits = Arc::new(Semaphore::new(opts.concurrency.max(1) as usize));
    let gate = Arc::new(Gate::default());
    let mut tasks = tokio::task::JoinSet::new();
    let mut ticker = tokio::time::interval(opts.interval.max(Duration::from_millis(1)));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    for index in 0..opts.samples {
        ticker.tick().await;
        let Ok(permit) = permits.clone().acquire_owned().await else {
            break;
        };
        if opts.x224.is_some() {
            gate.wait_below(opts.max_unanswered.max(1)).await;
        }
        if opts.budget.is_some_and(|b| started.elapsed() >= b) {
            break;
        }
        let timeout = opts.sample_timeout;
        let (x224, gate) = (opts.x224.clone(), gate.clone());
        let connect_gate = opts.connect_gate.clone();
        tasks.spawn(async move {
            super::gate::admit(connect_gate.as_deref(), addr).await;
            let raw = one(addr, index, timeout, x224.as_ref(), &gate).await;
            drop(permit);
            raw
        });
    }
    let mut raws: Vec<Raw> = tasks.join_all().await;
    raws.sort_by_key(|r| r.index);
    raws
}

/// One handshake (and, with `x224`, one Connection Request), closed with a reset.
async fn one(
    addr: SocketAddr,
    index: u32,
    timeout: Duration,
    x224: Option<&NegotiateOptions>,
    gate: &Gate,
) -> Raw {
    let started = Instant::now();
    let failed = |ms, error, message| Raw {
        index,
        ms,
        error: Some(error),
        message: Some(message),
        kernel_retrans: None,
        x224_ms: None,
        x224_unanswered: false,
    };
    let socket = match if addr.is_ipv4() {
        TcpSocket::new_v4()
    } else {
        TcpSocket::new_v6()
    } {
        Ok(s) => s,
        Err(e) => return failed(0.0, ErrorKind::Io, describe(&e)),
    };
    let result = tokio::time::timeout(timeout, socket.connect(addr)).await;
    let ms = millis(started.elapsed());
    let mut stream = match result {
        Ok(Ok(stream)) => stream,
        Ok(Err(e)) => return failed(ms, classify(&e), describe(&e)),
        Err(_) => {
            return failed(
                ms,
                ErrorKind::Timeout,
                format!("no SYN-ACK within {} ms", timeout.as_millis()),
            );
        }
    };
    let waiting = x224.map(|_| Waiting::enter(gate));
    let kernel_retrans = match (stream.local_addr(), stream.peer_addr()) {
        (Ok(l), Ok(p)) => tcpinfo::query(l, p).map(|i| i.total_retrans),
        _ => None,
    };
    let _ = socket2::SockRef::from(&stream).set_linger(Some(Duration::ZERO));
    let (mut x224_ms, mut x224_unanswered) = (None, false);
    if let Some(nopts) = x224 {
        let asked = Instant::now();
        let mut leftover = Vec::new();
        let probe =
            negotiate::exchange(&mut stream, negotiate::MODERN_REQUEST, nopts, &mut leftover).await;
        match probe.answer {
            crate::evidence::NegotiationAnswer::NoAnswer { .. } => x224_unanswered = true,
            _ => x224_ms = Some(millis(asked.elapsed())),
        }
    }
    drop(stream);
    drop(waiting);
    Raw {
        index,
        ms,
        error: None,
        message: None,
        kernel_retrans,
        x224_ms,
        x224_unanswered,
    }
}

/// Turn raw handshakes into the evidence: RTO, retransmissions per handshake, loss with its
/// interval, RTT statistics over the clean handshakes.
fn summarise(
    raws: &[Raw],
    opts: &QualityOptions,
    windows: bool,
    schedule: stats::SynSchedule,
) -> PathQuality {
    let ok: Vec<&Raw> = raws.iter().filter(|r| r.error.is_none()).collect();
    let base = ok.iter().map(|r| r.ms).fold(f64::INFINITY, f64::min);
    let base = if base.is_finite() { base } else { 0.0 };
    let excesses: Vec<f64> = ok.iter().map(|r| r.ms - base).collect();
    let rto = stats::infer_initial_rto(&excesses, windows);
    let kernel = ok.iter().any(|r| r.kernel_retrans.is_some());
    let mut q = PathQuality {
        samples: raws.len() as u32,
        concurrency: opts.concurrency,
        interval_ms: millis(opts.interval),
        initial_rto_ms: Some(rto),
        syn_linear_timeouts: Some(schedule.linear),
        retransmit_source: if kernel {
            RetransmitSource::TcpInfo
        } else {
            RetransmitSource::Timing
        },
        ..Default::default()
    };
    let mut clean = Vec::new();
    for r in raws {
        let (retransmits, outcome) = match r.error {
            None => {
                q.completed += 1;
                let timing = schedule.retransmits(r.ms - base, rto);
                let k = timing.max(r.kernel_retrans.unwrap_or(0));
                if k == 0 {
                    clean.push(r.ms);
                } else {
                    q.retransmitted += 1;
                }
                q.transmissions += k + 1;
                q.lost += k;
                (k, "ok")
            }
            Some(ErrorKind::Timeout) => {
                q.timed_out += 1;
                // Every SYN sent before the deadline went unanswered.
                let sent = schedule.sent_within(r.ms - base, rto);
                q.transmissions += sent;
                q.lost += sent;
                (sent - 1, "timeout")
            }
            Some(kind) => {
                q.failed += 1;
                (0, kind.as_str())
            }
        };
        q.handshakes.push(Handshake {
            ms: r.ms,
            retransmits,
            outcome: outcome.to_string(),
        });
    }
    let mut x224: Vec<f64> = raws.iter().filter_map(|r| r.x224_ms).collect();
    x224.sort_by(f64::total_cmp);
    if !x224.is_empty() {
        q.x224_median_ms = Some((stats::median(&x224) * 1000.0).round() / 1000.0);
    }
    q.x224_unanswered = raws.iter().filter(|r| r.x224_unanswered).count() as u32;
    q.loss_pct = stats::percent(q.lost, q.transmissions);
    q.loss_interval_pct = stats::wilson(q.lost, q.transmissions);
    q.rtt_ms = stats::rtt_summary(&clean);
    q
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOUBLING: stats::SynSchedule = stats::SynSchedule { linear: 0 };

    fn raw(index: u32, ms: f64, error: Option<ErrorKind>, kernel: Option<u32>) -> Raw {
        Raw {
            index,
            ms,
            error,
            message: None,
            kernel_retrans: kernel,
            x224_ms: None,
            x224_unanswered: false,
        }
    }

    #[test]
    fn slow_handshakes_count_as_lost_round_trips() {
        let mut raws: Vec<Raw> = (0..8)
            .map(|i| raw(i, 50.0 + f64::from(i), None, None))
            .collect();
        raws.push(raw(8, 1052.0, None, None)); // one lost SYN
        raws.push(raw(9, 3051.0, None, None)); // two in a row
        let q = summarise(&raws, &QualityOptions::default(), false, DOUBLING);
        assert_eq!(q.samples, 10);
        assert_eq!(q.completed, 10);
        assert_eq!(q.retransmitted, 2);
        assert_eq!((q.lost, q.transmissions), (3, 13));
        assert_eq!(q.loss_pct, 23.08);
        assert_eq!(q.rtt_ms.min, 50.0);
        assert_eq!(q.rtt_ms.max, 57.0);
        assert_eq!(q.retransmit_source, RetransmitSource::Timing);
        assert_eq!(q.handshakes[9].retransmits, 2);
    }

    #[test]
    fn kernel_count_and_timeouts() {
        let raws = vec![
            raw(0, 10.0, None, Some(0)),
            // The kernel retransmitted, though the timing looks clean (a fast second SYN
            // cannot happen with a 1 s RTO, but the kernel's word is taken).
            raw(1, 12.0, None, Some(1)),
            raw(2, 3500.0, Some(ErrorKind::Timeout), None),
            raw(3, 0.2, Some(ErrorKind::Refused), None),
        ];
        let q = summarise(&raws, &QualityOptions::default(), false, DOUBLING);
        assert_eq!(q.retransmit_source, RetransmitSource::TcpInfo);
        // 1 + 2 + 3 transmissions (the timeout: SYNs at 0, 1 and 3 s).
        assert_eq!((q.lost, q.transmissions), (4, 6));
        assert_eq!((q.completed, q.timed_out, q.failed), (2, 1, 1));
        assert_eq!(q.rtt_ms.median, 10.0);
    }

    #[test]
    fn a_clean_path_has_no_loss() {
        let raws: Vec<Raw> = (0..100)
            .map(|i| raw(i, 0.1 + f64::from(i % 7) * 0.3, None, Some(0)))
            .collect();
        let q = summarise(&raws, &QualityOptions::default(), false, DOUBLING);
        assert_eq!(q.loss_pct, 0.0);
        assert_eq!(q.loss_interval_pct.low, 0.0);
        assert!(q.loss_interval_pct.high < 4.0);
    }

    #[tokio::test]
    async fn the_budget_stops_sampling_and_says_so() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let opts = QualityOptions {
            samples: 100,
            interval: Duration::from_millis(20),
            budget: Some(Duration::from_millis(200)),
            ..Default::default()
        };
        let q = measure(l.local_addr().unwrap(), &opts).await;
        let q = q.value().expect("ok");
        assert!(q.samples < 20, "{}", q.samples);
        assert!(q.notes[0].contains("budget"), "{:?}", q.notes);
    }

    #[tokio::test]
    async fn loopback_handshakes_complete() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        let opts = QualityOptions {
            samples: 20,
            interval: Duration::from_millis(1),
            ..Default::default()
        };
        let stage = measure(addr, &opts).await;
        let q = stage.value().expect("ok");
        assert_eq!(q.completed, 20, "{q:?}");
        assert_eq!(q.loss_pct, 0.0);
        drop(l);
        let closed = measure(addr, &opts).await;
        assert_eq!(closed.error_kind(), Some(ErrorKind::Refused));
    }
}
