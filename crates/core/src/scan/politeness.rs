//! `--per-host`: at most N checks at once against one host.
//!
//! A fleet list often names one machine several times (several ports, several instances, a
//! name and its alias); without this a scan opens dozens of connections to it at once, which
//! trips xrdp's listen backlog of 2 and Windows' connection throttling and turns a healthy
//! server into false "dropped-after-accept" findings. Hosts are keyed by address for IP
//! targets and by name otherwise (resolution happens inside the check).
//!
//! Memory stays flat: a host's entry exists only while a check against it runs or waits.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::key::HostKey;

/// Per-host semaphores, created on demand and removed when idle.
#[derive(Debug)]
pub struct HostLimiter {
    per_host: usize,
    hosts: Mutex<HashMap<HostKey, Arc<Semaphore>>>,
}

/// A running check's slot for its host; released on drop.
#[derive(Debug)]
pub struct HostPermit {
    limiter: Arc<HostLimiter>,
    key: HostKey,
    permit: Option<OwnedSemaphorePermit>,
}

impl HostLimiter {
    pub fn new(per_host: usize) -> Arc<HostLimiter> {
        Arc::new(HostLimiter {
            per_host: per_host.max(1),
            hosts: Mutex::new(HashMap::new()),
        })
    }

    /// Wait for a slot on `key`'s host.
    pub async fn acquire(self: &Arc<Self>, key: HostKey) -> HostPermit {
        let sem = {
            let mut hosts = self.lock();
            hosts
                .entry(key.clone())
                .or_insert_with(|| Arc::new(Semaphore::new(self.per_host)))
                .clone()
        };
        // The semaphore is never closed, so acquiring cannot fail.
        let permit = sem.acquire_owned().await.ok();
        HostPermit {
            limiter: self.clone(),
            key,
            permit,
        }
    }

    /// Hosts with a check running or waiting.
    pub fn active_hosts(&self) -> usize {
        self.lock().len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<HostKey, Arc<Semaphore>>> {
        self.hosts.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Drop for HostPermit {
    fn drop(&mut self) {
        drop(self.permit.take());
        let mut hosts = self.limiter.lock();
        // Only the map holds it: nobody runs or waits on this host any more. Waiters hold a
        // clone, and new waiters clone under this lock, so the count cannot rise meanwhile.
        if hosts
            .get(&self.key)
            .is_some_and(|s| Arc::strong_count(s) == 1)
        {
            hosts.remove(&self.key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    #[tokio::test]
    async fn at_most_n_checks_per_host_and_no_entry_left_behind() {
        let limiter = HostLimiter::new(2);
        let running = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for i in 0..20 {
            let (limiter, running, peak) = (limiter.clone(), running.clone(), peak.clone());
            let key = HostKey::Ip(
                if i % 2 == 0 {
                    [10, 0, 0, 1]
                } else {
                    [10, 0, 0, 2]
                }
                .into(),
            );
            tasks.push(tokio::spawn(async move {
                let _p = limiter.acquire(key.clone()).await;
                if key == HostKey::Ip([10, 0, 0, 1].into()) {
                    let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                    peak.fetch_max(now, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(5)).await;
                    running.fetch_sub(1, Ordering::SeqCst);
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(peak.load(Ordering::SeqCst), 2);
        assert_eq!(limiter.active_hosts(), 0);
    }
}
