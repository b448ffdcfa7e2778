//! A simulated TLS server for the planner's tests: it negotiates like a real one (highest
//! common version, its own or the client's suite order, a shared curve for ECDHE, a
//! HelloRetryRequest group for TLS 1.3) without a socket, and counts the hellos it gets.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::time::Duration;

use rdpdoctor_wire::tls::{ProtocolVersion, groups};

use super::engine::{self, Limits, Transport};
use super::plan::{Answer, Hello, Outcome, Planner, Probe};
use super::universe;

const HANDSHAKE_FAILURE: u8 = 40;
const PROTOCOL_VERSION: u8 = 70;

#[derive(Clone, Debug)]
pub struct SimServer {
    /// Accepted suites per version, in the server's order (SSL 3.0 included when spoken).
    pub versions: BTreeMap<ProtocolVersion, Vec<u16>>,
    /// Whether the server imposes its own suite order.
    pub server_order: bool,
    /// ECDHE curves (TLS ≤ 1.2) and TLS 1.3 groups, in the server's order.
    pub curves: Vec<u16>,
    pub groups13: Vec<u16>,
    /// Refuse a version it does not speak by resetting (Schannel) instead of an alert.
    pub reset_on_refusal: bool,
    /// Answer `Failed` from this many hellos on (a server that starts shedding connections).
    pub fail_after: Option<usize>,
    pub hellos: Cell<usize>,
    pub log: RefCell<Vec<Probe>>,
}

impl SimServer {
    pub fn new(versions: &[(ProtocolVersion, &[u16])]) -> SimServer {
        SimServer {
            versions: versions.iter().map(|(v, s)| (*v, s.to_vec())).collect(),
            server_order: true,
            curves: vec![groups::X25519, groups::SECP256R1, groups::SECP384R1],
            groups13: vec![groups::X25519, groups::SECP256R1, groups::SECP384R1],
            reset_on_refusal: false,
            fail_after: None,
            hellos: Cell::new(0),
            log: RefCell::new(Vec::new()),
        }
    }

    fn refuse(&self, alert: u8) -> Answer {
        if self.reset_on_refusal {
            Answer::Refused { alert: None }
        } else {
            Answer::Refused { alert: Some(alert) }
        }
    }

    fn choose(&self, mine: &[u16], offered: &[u16]) -> Option<u16> {
        if self.server_order {
            mine.iter().copied().find(|s| offered.contains(s))
        } else {
            offered.iter().copied().find(|s| mine.contains(s))
        }
    }

    /// The server's reaction to one ClientHello.
    pub fn hello(&self, p: &Probe) -> Answer {
        let n = self.hellos.get();
        self.hellos.set(n + 1);
        self.log.borrow_mut().push(p.clone());
        if self.fail_after.is_some_and(|f| n >= f) {
            return Answer::Failed {
                reason: "connection reset during the X.224 negotiation".into(),
            };
        }
        let v13 = ProtocolVersion::TLS13;
        if p.version == v13 {
            let Some(mine) = self.versions.get(&v13) else {
                // A TLS 1.2 server ignores supported_versions and finds no TLS 1.2 suite.
                return self.refuse(HANDSHAKE_FAILURE);
            };
            let Some(suite) = self.choose(mine, &p.suites) else {
                return self.refuse(HANDSHAKE_FAILURE);
            };
            // The x25519 share is used when acceptable, else a HelloRetryRequest.
            let group =
                if p.groups.contains(&groups::X25519) && self.groups13.contains(&groups::X25519) {
                    Some(groups::X25519)
                } else {
                    self.choose(&self.groups13, &p.groups)
                };
            let Some(group) = group else {
                return self.refuse(HANDSHAKE_FAILURE);
            };
            return Answer::Hello(Hello {
                version: v13,
                suite,
                group: Some(group),
                certificate: None,
            });
        }
        let Some((&version, mine)) = self
            .versions
            .range(..=p.version)
            .rev()
            .find(|(v, _)| **v < v13)
        else {
            return self.refuse(PROTOCOL_VERSION);
        };
        let curve = self.choose(&self.curves, &p.groups);
        let usable: Vec<u16> = mine
            .iter()
            .copied()
            .filter(|s| !universe::is_ecdhe(*s) || curve.is_some())
            .collect();
        let Some(suite) = self.choose(&usable, &p.suites) else {
            return self.refuse(HANDSHAKE_FAILURE);
        };
        Answer::Hello(Hello {
            version,
            suite,
            group: if universe::is_ecdhe(suite) {
                curve
            } else {
                None
            },
            certificate: Some(format!("cert-{}", version.0)),
        })
    }
}

impl Transport for SimServer {
    async fn send(&self, probe: Probe) -> Answer {
        tokio::time::sleep(Duration::from_millis(10)).await;
        self.hello(&probe)
    }
}

/// Drive the planner one probe at a time; returns the outcome and the connections used.
pub fn run_sequential(server: &SimServer) -> (Outcome, usize) {
    let mut planner = Planner::new();
    let mut n = 0;
    while let Some((id, probe)) = planner.next_probe() {
        n += 1;
        planner.answer(id, server.hello(&probe));
        assert!(n < 2000, "runaway planner");
    }
    assert!(planner.is_done());
    (planner.finish(), n)
}

/// Drive the planner with everything ready sent at once, answered in reverse order.
pub fn run_batched(server: &SimServer) -> (Outcome, usize) {
    let mut planner = Planner::new();
    let mut n = 0;
    loop {
        let mut batch = Vec::new();
        while let Some(x) = planner.next_probe() {
            batch.push(x);
        }
        if batch.is_empty() {
            break;
        }
        n += batch.len();
        for (id, probe) in batch.into_iter().rev() {
            planner.answer(id, server.hello(&probe));
        }
    }
    assert!(planner.is_done());
    (planner.finish(), n)
}

#[cfg(test)]
mod tests {
    use super::*;

    const V10: ProtocolVersion = ProtocolVersion::TLS10;
    const V11: ProtocolVersion = ProtocolVersion::TLS11;
    const V12: ProtocolVersion = ProtocolVersion::TLS12;
    const V13: ProtocolVersion = ProtocolVersion::TLS13;
    const SSL3: ProtocolVersion = ProtocolVersion::SSL3;

    fn blocks(v: ProtocolVersion) -> usize {
        universe::blocks_for(v).len()
    }

    fn expect_versions(o: &Outcome, expected: &[(ProtocolVersion, &[u16])]) {
        for v in universe::VERSIONS {
            let want: Vec<u16> = expected
                .iter()
                .find(|(x, _)| *x == v)
                .map(|(_, s)| s.to_vec())
                .unwrap_or_default();
            assert_eq!(o.versions.get(&v), Some(&want), "{v}: {o:#?}");
        }
        assert!(o.incomplete.is_empty(), "{o:#?}");
    }

    #[test]
    fn tls10_only_with_one_cbc_suite() {
        let s = SimServer::new(&[(V10, &[0x002f])]);
        let (o, n) = run_sequential(&s);
        expect_versions(&o, &[(V10, &[0x002f])]);
        assert_eq!(o.ssl3, Some(false));
        assert!(o.groups.is_empty(), "no ECDHE: no group chain");
        // 1.3, 1.2 and 1.1 refused in one hello each (answered TLS 1.0), TLS 1.0 costs one
        // pick plus one refusal per block, SSL 3.0 one probe.
        assert_eq!(n, 3 + 1 + blocks(V10) + 1, "{:#?}", s.log.borrow());
        assert_eq!(run_batched(&s).0, o, "order of answers does not matter");
    }

    #[test]
    fn tls12_only_with_server_order_and_curves() {
        let mut s = SimServer::new(&[(V12, &[0xc02f, 0x0035])]);
        s.curves = vec![groups::SECP384R1, groups::X25519, groups::SECP256R1];
        let (o, n) = run_sequential(&s);
        expect_versions(&o, &[(V12, &[0xc02f, 0x0035])]);
        assert_eq!(o.server_preference.get(&V12), Some(&true));
        assert_eq!(
            o.groups.get(&V12),
            Some(&vec![groups::SECP384R1, groups::X25519, groups::SECP256R1])
        );
        assert_eq!(o.ssl3, Some(false), "TLS 1.0 refused with an alert");
        // Versions: 4 first hellos. TLS 1.2: 2 picks (the first is the version probe) + one
        // refusal per block. Two suites in our own order: one preference check. Curves: the
        // first came with the suite pick, two more and a refusal.
        let expected = 4 + (2 - 1) + blocks(V12) + 1 + 3;
        assert_eq!(n, expected, "{:#?}", s.log.borrow());
        assert!(n <= 2 + 4 + 8, "elimination bound");
        assert_eq!(run_batched(&s).0, o);
    }

    #[test]
    fn client_order_is_recognised_and_listed_in_our_order() {
        let mut s = SimServer::new(&[(V12, &[0x002f, 0xc030, 0xc02f, 0x009c])]);
        s.server_order = false;
        let (o, _) = run_sequential(&s);
        assert_eq!(o.server_preference.get(&V12), Some(&false));
        let list = &o.versions[&V12];
        let mut sorted = list.clone();
        sorted.sort_by_key(|x| universe::order_key(*x));
        assert_eq!(list, &sorted);
        assert_eq!(list.len(), 4);
        // A server with its own order that differs from ours is recognised without a check.
        let mut s = SimServer::new(&[(V12, &[0x002f, 0xc030, 0xc02f, 0x009c])]);
        s.server_order = true;
        let (o, _) = run_sequential(&s);
        assert_eq!(o.server_preference.get(&V12), Some(&true));
        assert_eq!(o.versions[&V12], [0x002f, 0xc030, 0xc02f, 0x009c]);
        assert!(
            !s.log
                .borrow()
                .iter()
                .any(|p| p.suites.len() == 4 && p.suites[0] == 0x009c),
            "no check probe was needed"
        );
    }

    #[test]
    fn tls13_only_suites_and_groups_eliminated_together() {
        let mut s = SimServer::new(&[(V13, &[0x1302, 0x1303, 0x1301])]);
        s.groups13 = vec![
            groups::X25519,
            groups::SECP256R1,
            groups::X448,
            groups::SECP521R1,
            groups::SECP384R1,
            groups::FFDHE2048,
            groups::FFDHE3072,
            258,
            259,
            260,
        ];
        let (o, n) = run_sequential(&s);
        expect_versions(&o, &[(V13, &[0x1302, 0x1303, 0x1301])]);
        assert_eq!(o.server_preference.get(&V13), Some(&true));
        let mut got = o.groups[&V13].clone();
        got.sort();
        let mut want = s.groups13.clone();
        want.sort();
        assert_eq!(got, want);
        assert_eq!(o.ssl3, Some(false));
        // 3 legacy refusals; TLS 1.3: 3 joint picks, a refusal (suites ran out), a
        // disambiguation, then 7 groups and a refusal.
        assert_eq!(n, 3 + 3 + 1 + 1 + 7 + 1, "{:#?}", s.log.borrow());
        assert_eq!(run_batched(&s).0, o);
    }

    #[test]
    fn every_version_with_ssl3_and_a_schannel_style_reset() {
        let mut s = SimServer::new(&[
            (SSL3, &[0x0005]),
            (V10, &[0xc014, 0x002f, 0x000a, 0x0005]),
            (V11, &[0xc014, 0x002f, 0x000a]),
            (V12, &[0xc030, 0xc02f, 0xc014, 0x009c, 0x002f, 0x000a]),
            (V13, &[0x1302, 0x1301]),
        ]);
        s.reset_on_refusal = true;
        let (o, n) = run_sequential(&s);
        expect_versions(
            &o,
            &[
                (V10, &[0xc014, 0x002f, 0x000a, 0x0005]),
                (V11, &[0xc014, 0x002f, 0x000a]),
                (V12, &[0xc030, 0xc02f, 0xc014, 0x009c, 0x002f, 0x000a]),
                (V13, &[0x1302, 0x1301]),
            ],
        );
        assert_eq!(o.ssl3, Some(true));
        assert_eq!(o.groups[&V12], s.curves);
        let accepted = 4 + 3 + 6 + 2;
        let bound = accepted + 4 * 3 + 3 + 4 + 4 + 1;
        assert!(n <= bound, "{n} > {bound}");
        assert_eq!(run_batched(&s).0, o);
        // Certificates per version are recorded.
        assert_eq!(o.certificates.len(), 3);
    }

    #[test]
    fn a_server_that_starts_failing_ends_the_enumeration_with_what_was_learnt() {
        let mut s = SimServer::new(&[(V12, &[0xc030, 0xc02f, 0x009c]), (V13, &[0x1302])]);
        s.fail_after = Some(5);
        let (o, n) = run_sequential(&s);
        assert!(n <= 5 + 2 + 4, "stops soon after the failures: {n}");
        assert!(!o.incomplete.is_empty(), "{o:#?}");
        assert!(o.notes.iter().any(|x| x.contains("stopped early")));
        // What was established before the failures stays.
        assert!(
            o.versions.get(&V12).is_some_and(|l| l.contains(&0xc030)),
            "{o:#?} {:#?}",
            s.log.borrow()
        );
    }

    #[test]
    fn an_intermittent_failure_is_retried() {
        let s = SimServer::new(&[(V12, &[0xc02f])]);
        let mut planner = Planner::new();
        let mut failed_once = false;
        while let Some((id, probe)) = planner.next_probe() {
            if !failed_once {
                failed_once = true;
                planner.answer(
                    id,
                    Answer::Failed {
                        reason: "reset".into(),
                    },
                );
                continue;
            }
            planner.answer(id, s.hello(&probe));
        }
        let o = planner.finish();
        expect_versions(&o, &[(V12, &[0xc02f])]);
        assert!(o.notes.is_empty());
    }

    #[tokio::test]
    async fn the_engine_caps_parallel_connections_and_spaces_them() {
        struct Counting<'a> {
            server: &'a SimServer,
            open: Cell<usize>,
            peak: Cell<usize>,
        }
        impl Transport for Counting<'_> {
            async fn send(&self, probe: Probe) -> Answer {
                self.open.set(self.open.get() + 1);
                self.peak.set(self.peak.get().max(self.open.get()));
                tokio::time::sleep(Duration::from_millis(5)).await;
                self.open.set(self.open.get() - 1);
                self.server.hello(&probe)
            }
        }
        let s = SimServer::new(&[
            (V12, &[0xc030, 0xc02f, 0x009c, 0x002f]),
            (V13, &[0x1302, 0x1301]),
        ]);
        let t = Counting {
            server: &s,
            open: Cell::new(0),
            peak: Cell::new(0),
        };
        let mut planner = Planner::new();
        let limits = Limits {
            max_parallel: 2,
            delay: Duration::from_millis(20),
            budget: Duration::from_secs(60),
        };
        let started = tokio::time::Instant::now();
        let n = engine::drive(&mut planner, &t, limits).await;
        assert!(t.peak.get() <= 2, "peak {}", t.peak.get());
        assert_eq!(n as usize, s.hellos.get());
        assert!(
            started.elapsed() >= Duration::from_millis(20) * (n - 1),
            "starts are spaced by the delay"
        );
        let (reference, _) = run_sequential(&SimServer::new(&[
            (V12, &[0xc030, 0xc02f, 0x009c, 0x002f]),
            (V13, &[0x1302, 0x1301]),
        ]));
        assert_eq!(planner.finish(), reference);
    }

    #[tokio::test]
    async fn the_engine_budget_ends_a_stalled_enumeration() {
        struct Stalling;
        impl Transport for Stalling {
            async fn send(&self, _: Probe) -> Answer {
                tokio::time::sleep(Duration::from_secs(3600)).await;
                Answer::Refused { alert: None }
            }
        }
        let mut planner = Planner::new();
        let limits = Limits {
            max_parallel: 4,
            delay: Duration::ZERO,
            budget: Duration::from_millis(300),
        };
        let started = tokio::time::Instant::now();
        let n = engine::drive(&mut planner, &Stalling, limits).await;
        assert!(started.elapsed() < Duration::from_secs(5));
        assert_eq!(n, 4);
        let o = planner.finish();
        assert!(o.notes.iter().any(|x| x.contains("budget")));
        assert_eq!(o.incomplete.len(), 4);
        assert!(o.versions.is_empty(), "nothing established: {o:#?}");
    }
}
