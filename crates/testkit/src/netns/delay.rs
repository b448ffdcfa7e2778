//! Added latency without netem (this kernel has no `sch_netem`): an NFQUEUE rule hands every
//! packet leaving a namespace to this process, which holds it for the delay and then lets it
//! go (`nfq`, pure Rust netlink, no unsafe here).
//!
//! Packets keep their order (a release time never goes backwards, like a FIFO queue behind a
//! slow link), so jitter varies the delay without reordering segments. The rule is added only
//! once the queue is bound and carries `--queue-bypass`, so a delayer that is not (or no longer)
//! listening lets packets through instead of dropping them.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::Netns;

/// A running delayer; removes its rule and releases every held packet on drop.
pub struct Delayer {
    ns_name: String,
    rule: String,
    stop: Arc<AtomicBool>,
    seen: Arc<AtomicU64>,
    thread: Option<JoinHandle<()>>,
}

impl Delayer {
    /// Delay every packet leaving `ns` (`-A OUTPUT`) by `delay`, plus a uniform random extra
    /// of up to `jitter`, using NFQUEUE number `queue`.
    pub fn start(ns: &Netns, queue: u16, delay: Duration, jitter: Duration) -> Delayer {
        let stop = Arc::new(AtomicBool::new(false));
        let seen = Arc::new(AtomicU64::new(0));
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let path = format!("/run/netns/{}", ns.name);
        let (stop2, seen2) = (stop.clone(), seen.clone());
        let thread = std::thread::spawn(move || {
            let file = std::fs::File::open(&path).expect("namespace file");
            nix::sched::setns(&file, nix::sched::CloneFlags::CLONE_NEWNET).expect("setns");
            run(queue, delay, jitter, &stop2, &seen2, ready_tx);
        });
        ready_rx
            .recv_timeout(Duration::from_secs(5))
            .expect("the delayer did not start")
            .unwrap_or_else(|e| panic!("NFQUEUE {queue}: {e}"));
        let rule = format!("OUTPUT -j NFQUEUE --queue-num {queue} --queue-bypass");
        ns.iptables(&format!("-A {rule}"));
        Delayer {
            ns_name: ns.name.clone(),
            rule,
            stop,
            seen,
            thread: Some(thread),
        }
    }

    /// Packets delayed so far.
    pub fn packets(&self) -> u64 {
        self.seen.load(Ordering::Relaxed)
    }
}

impl Drop for Delayer {
    fn drop(&mut self) {
        let mut args = vec!["netns", "exec", &self.ns_name, "iptables", "-w", "-D"];
        args.extend(self.rule.split_whitespace());
        let _ = std::process::Command::new("ip").args(&args).output();
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn run(
    queue: u16,
    delay: Duration,
    jitter: Duration,
    stop: &AtomicBool,
    seen: &AtomicU64,
    ready: std::sync::mpsc::Sender<Result<(), String>>,
) {
    let setup = (|| -> std::io::Result<nfq::Queue> {
        let mut q = nfq::Queue::open()?;
        q.bind(queue)?;
        // Only the verdict matters: copy a header's worth, so big packets fit the buffer.
        q.set_copy_range(queue, 128)?;
        q.set_fail_open(queue, true)?;
        q.set_nonblocking(true);
        Ok(q)
    })();
    let mut q = match setup {
        Ok(q) => {
            let _ = ready.send(Ok(()));
            q
        }
        Err(e) => {
            let _ = ready.send(Err(e.to_string()));
            return;
        }
    };
    let mut rng = Xorshift::seeded();
    let mut held: VecDeque<(Instant, nfq::Message)> = VecDeque::new();
    let mut last_due = Instant::now();
    while !stop.load(Ordering::Relaxed) {
        while let Ok(msg) = q.recv() {
            seen.fetch_add(1, Ordering::Relaxed);
            let extra = jitter.mul_f64(rng.unit());
            let due = (Instant::now() + delay + extra).max(last_due);
            last_due = due;
            held.push_back((due, msg));
        }
        let now = Instant::now();
        while held.front().is_some_and(|(due, _)| *due <= now) {
            if let Some((_, msg)) = held.pop_front() {
                let _ = q.verdict(msg);
            }
        }
        std::thread::sleep(Duration::from_micros(300));
    }
    for (_, msg) in held {
        let _ = q.verdict(msg);
    }
    let _ = q.unbind(queue);
}

/// A tiny PRNG for the jitter (no statistical demands).
struct Xorshift(u64);

impl Xorshift {
    fn seeded() -> Self {
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64);
        Xorshift(t | 1)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}
