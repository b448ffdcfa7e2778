//! The scan engine: many checks at once, results as they finish.
//!
//! ```text
//! targets (iterator, on a reader thread) ─► bounded channel ─► spawn check per target
//!     ─► per-host slot ─► Prober::check (connections paced by the RateGate) ─► diagnose
//!     ─► buffer_unordered(concurrency) ─► Stream<Report>
//! ```
//!
//! - **Bounded**: at most `concurrency` checks exist at any time, and the channel from the
//!   reader thread holds a few hundred targets; nothing else grows with the target count.
//! - **Cancel by drop**: dropping the stream aborts every check in flight (their sockets close)
//!   and stops the reader thread. Checks that were abandoned were never reported, so a resumed
//!   scan does them again.
//! - A check waiting for its host's `--per-host` slot holds one of the `concurrency` slots (it
//!   holds no socket): a list that puts hundreds of ports of one host in a row scans that host
//!   at `--per-host` speed before moving on. Fleets list hosts, so this is kept simple.
//! - Each check runs on its own task so the two-core machine works on two TLS handshakes at
//!   once, and a slow consumer (writing the results file) never stalls a check's timers.

use chrono::Utc;
use futures::stream::{self, Stream, StreamExt};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use tokio::task::{JoinError, JoinHandle};

use super::key::HostKey;
use super::politeness::HostLimiter;
use crate::Target;
use crate::diagnose::{DiagnoseOptions, diagnose};
use crate::evidence::{Evidence, Report};
use crate::probe::Prober;

/// How hard to push.
#[derive(Clone, Debug)]
pub struct ScanSettings {
    /// Checks in flight at once.
    pub concurrency: usize,
    /// Checks in flight at once against one host.
    pub per_host: usize,
    /// `cert-expiring-soon` threshold, as `check --expiry-warning-days`.
    pub expiry_warning_days: i64,
}

impl ScanSettings {
    /// Sockets one check may hold at once: the main connection, two follow-up negotiations and
    /// a DNS socket.
    pub const SOCKETS_PER_CHECK: usize = 4;

    /// Checks in flight by default: 512, or fewer when the open-file limit would not hold four
    /// sockets per check (plus a reserve for the results file, stdio and the resolver). The
    /// work is waiting on the network, not CPU, so the machine's core count barely matters;
    /// running out of descriptors does, and shows up as spurious "io" failures.
    pub fn default_concurrency() -> usize {
        let budget = open_file_limit().map_or(256, |n| {
            (n.saturating_sub(64) as usize) / Self::SOCKETS_PER_CHECK
        });
        budget.clamp(8, 512)
    }
}

/// The soft open-file limit (Linux: `/proc/self/limits`; elsewhere unknown).
pub fn open_file_limit() -> Option<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

/// Runs checks; build one per scan.
pub struct Engine {
    prober: Arc<Prober>,
    settings: ScanSettings,
}

impl Engine {
    pub fn new(prober: Prober, settings: ScanSettings) -> Engine {
        Engine {
            prober: Arc::new(prober),
            settings,
        }
    }

    /// Check every target; each diagnosed [`Report`] is yielded as soon as it is done, in
    /// completion order. Must be polled inside a tokio runtime.
    pub fn run<I>(&self, targets: I) -> impl Stream<Item = Report> + Send + 'static
    where
        I: Iterator<Item = Target> + Send + 'static,
    {
        let concurrency = self.settings.concurrency.max(1);
        let rx = feed(targets, concurrency.clamp(64, 1024));
        let prober = self.prober.clone();
        let hosts = HostLimiter::new(self.settings.per_host);
        let warn_days = self.settings.expiry_warning_days;
        stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|t| (t, rx)) })
            .map(move |target: Target| {
                let (prober, hosts) = (prober.clone(), hosts.clone());
                let fallback = target.clone();
                let task = tokio::spawn(async move {
                    let _slot = hosts.acquire(HostKey::of(&target)).await;
                    let report = prober.check(&target).await;
                    diagnosed(report, warn_days)
                });
                Spawned(task, Some(fallback))
            })
            .buffer_unordered(concurrency)
            .filter_map(move |(result, target)| {
                futures::future::ready(match (result, target) {
                    (Ok(report), _) => Some(report),
                    (Err(e), Some(target)) => Some(internal_error(target, &e, warn_days)),
                    // A future is polled to completion once; there is always a target.
                    (Err(_), None) => None,
                })
            })
    }
}

/// Read targets on a thread of their own (files are blocking I/O) into a bounded channel.
/// The thread ends when the targets run out or the receiver is dropped.
fn feed<I>(targets: I, capacity: usize) -> tokio::sync::mpsc::Receiver<Target>
where
    I: Iterator<Item = Target> + Send + 'static,
{
    let (tx, rx) = tokio::sync::mpsc::channel(capacity);
    std::thread::Builder::new()
        .name("scan-targets".into())
        .spawn(move || {
            for t in targets {
                if tx.blocking_send(t).is_err() {
                    break;
                }
            }
        })
        .ok();
    rx
}

fn diagnosed(mut report: Report, warn_days: i64) -> Report {
    let now = Utc::now();
    let mut options = DiagnoseOptions::at(now);
    options.expiry_warning_days = warn_days;
    let d = diagnose(&report.target, &report.evidence, &options);
    report.set_diagnosis(d, now);
    report
}

/// A check that panicked still gets its line (verdict `could_not_check`), so every target
/// appears exactly once in the results.
fn internal_error(target: Target, e: &JoinError, warn_days: i64) -> Report {
    let mut evidence = Evidence::new(Utc::now());
    evidence.notes.push(format!(
        "internal error: the check of this target did not complete ({e}); please report it"
    ));
    diagnosed(Report::new(target, evidence, 0.0), warn_days)
}

/// A spawned check, aborted when dropped (tokio detaches dropped tasks otherwise). It keeps
/// its target so that a check that panicked can still be reported.
struct Spawned(JoinHandle<Report>, Option<Target>);

impl Future for Spawned {
    type Output = (Result<Report, JoinError>, Option<Target>);

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match Pin::new(&mut self.0).poll(cx) {
            Poll::Ready(r) => Poll::Ready((r, self.1.take())),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl Drop for Spawned {
    fn drop(&mut self) {
        self.0.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::tls::TrustAnchors;
    use crate::probe::{ProbeOptions, Timeouts};
    use std::time::Duration;

    #[test]
    fn the_default_fits_the_descriptor_limit() {
        let c = ScanSettings::default_concurrency();
        assert!((8..=512).contains(&c));
        if let Some(n) = open_file_limit() {
            assert!(c as u64 * ScanSettings::SOCKETS_PER_CHECK as u64 <= n.max(32) || c == 8);
        }
    }

    fn engine(concurrency: usize) -> Engine {
        let options = ProbeOptions {
            timeouts: Timeouts::uniform(Duration::from_millis(500)),
            ..ProbeOptions::default()
        };
        Engine::new(
            Prober::new(options, TrustAnchors::platform()),
            ScanSettings {
                concurrency,
                per_host: 2,
                expiry_warning_days: 30,
            },
        )
    }

    fn closed_port() -> u16 {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn every_target_comes_back_once_diagnosed() {
        let port = closed_port();
        let targets: Vec<Target> = (1..=50)
            .map(|i| Target::parse(&format!("127.0.3.{i}:{port}")).unwrap())
            .collect();
        let reports: Vec<Report> = engine(8).run(targets.into_iter()).collect().await;
        let mut hosts: Vec<String> = reports.iter().map(|r| r.target.host.clone()).collect();
        hosts.sort();
        hosts.dedup();
        assert_eq!(hosts.len(), 50);
        assert!(reports.iter().all(|r| r.diagnosed_at.is_some()
            && r.findings.first().map(|f| f.cause.as_str()) == Some("port-closed")));
    }

    /// Counts the connections it lets through.
    #[derive(Debug, Default)]
    struct CountingGate(std::sync::atomic::AtomicUsize);

    impl crate::probe::gate::ConnectGate for CountingGate {
        fn admit(
            &self,
            _addr: std::net::SocketAddr,
        ) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
            self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            Box::pin(async {})
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn every_connection_a_check_opens_passes_the_gate() {
        use std::io::{Read, Write};
        // A server that answers every Connection Request the way xrdp does ("SSL selected"),
        // so the probe opens follow-up connections, then never speaks TLS.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let accepted = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counter = accepted.clone();
        std::thread::spawn(move || {
            for mut s in listener.incoming().flatten() {
                counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                std::thread::spawn(move || {
                    let mut buf = [0u8; 256];
                    let _ = s.read(&mut buf);
                    let confirm = hex::decode("030000130ed000001234000201080001000000").unwrap();
                    let _ = s.write_all(&confirm);
                    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
                    while matches!(s.read(&mut buf), Ok(n) if n > 0) {}
                });
            }
        });
        let gate = Arc::new(CountingGate::default());
        let options = ProbeOptions {
            timeouts: Timeouts::uniform(Duration::from_millis(500)),
            connect_gate: Some(gate.clone()),
            ..ProbeOptions::default()
        };
        let engine = Engine::new(
            Prober::new(options, TrustAnchors::platform()),
            ScanSettings {
                concurrency: 1,
                per_host: 1,
                expiry_warning_days: 30,
            },
        );
        let target = Target::parse(&addr.to_string()).unwrap();
        let reports: Vec<Report> = engine.run(std::iter::once(target)).collect().await;
        assert_eq!(reports.len(), 1);
        let admitted = gate.0.load(std::sync::atomic::Ordering::SeqCst);
        let opened = accepted.load(std::sync::atomic::Ordering::SeqCst);
        assert!(opened >= 2, "the main connection and a follow-up: {opened}");
        assert_eq!(admitted, opened, "every connection went through the gate");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn dropping_the_stream_abandons_checks_in_flight() {
        // Listeners that accept and never answer: each check waits for its deadline.
        let silent: Vec<std::net::TcpListener> = (0..4)
            .map(|_| std::net::TcpListener::bind("127.0.0.1:0").unwrap())
            .collect();
        let targets: Vec<Target> = silent
            .iter()
            .map(|l| Target::parse(&l.local_addr().unwrap().to_string()).unwrap())
            .collect();
        let started = std::time::Instant::now();
        {
            let mut s = Box::pin(engine(4).run(targets.into_iter()));
            let first = tokio::time::timeout(Duration::from_millis(100), s.next()).await;
            assert!(first.is_err(), "nothing finishes within 100 ms");
        }
        assert!(started.elapsed() < Duration::from_millis(400));
    }
}
