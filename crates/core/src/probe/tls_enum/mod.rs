//! `check --deep`: every TLS version and cipher suite the RDP server accepts, its suite order,
//! its key-exchange groups, and what current clients would negotiate with it, in as few
//! connections as the answers allow.
//!
//! Every connection does what a real client does: TCP, the X.224 negotiation with the request
//! the server accepted, then one hand-built ClientHello ([`rdp`]). Tools that skip or fake the
//! negotiation get RDP wrong (sslscan and sslyze send a fixed request and start TLS whatever the
//! answer; nmap's TLS scripts do not speak X.224 at all).
//!
//! | module | job |
//! |---|---|
//! | [`universe`] | which suites and groups exist to offer, in which order and blocks |
//! | [`plan`] | the sans-IO planner: elimination, version and group logic, what each answer proves |
//! | [`preference`] | whether the server imposes its own suite order |
//! | [`engine`] | the async driver: per-server connection cap, politeness delay, budget |
//! | [`rdp`] | one probe over RDP, and how a server's reaction is read |
//! | [`clients`] | Windows 11 and FreeRDP 3 profiles, and what each would negotiate |
//!
//! Connections grow with what the server accepts, not with the number of suites that exist:
//! about (accepted suites + one per version and block) plus the groups (see [`plan`]).

pub mod clients;
pub mod engine;
pub mod plan;
pub mod preference;
pub mod rdp;
#[cfg(test)]
mod sim;
pub mod universe;

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::evidence::{Stage, TlsEnumeration, TlsHandshake, millis};
use crate::probe::negotiate::NegotiateOptions;
use plan::{Outcome, Planner};

/// How hard the enumeration may push one server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DeepOptions {
    /// Connections open at once to the server. RDP servers throttle (Windows'
    /// MaxOutstandingConnections), and xrdp listens with a backlog of 2: Linux queues three
    /// unaccepted connections and drops the next SYN, which costs a one-second retransmit. So
    /// the default is 3 (measured: 4 in parallel against xrdp stalled a run by a second).
    pub max_parallel: usize,
    /// Minimum time between two connection starts (politeness towards busy or monitored servers).
    pub delay: Duration,
    /// The whole enumeration ends after this long, with what was learnt.
    pub budget: Duration,
}

impl DeepOptions {
    pub const DEFAULT_MAX_PARALLEL: usize = 3;
    /// The budget without a politeness delay: enough for a permissive server over a slow link.
    pub const BASE_BUDGET: Duration = Duration::from_secs(120);
    /// Connection starts the budget leaves room for when a delay spaces them out (the most
    /// permissive servers take about a hundred).
    const BUDGETED_STARTS: u32 = 150;

    /// Options for `max_parallel` connections at once, starts `delay` apart, with a budget
    /// that grows with the delay so politeness does not cut the enumeration short.
    pub fn new(max_parallel: usize, delay: Duration) -> DeepOptions {
        DeepOptions {
            max_parallel: max_parallel.max(1),
            delay,
            budget: Self::BASE_BUDGET + delay * Self::BUDGETED_STARTS,
        }
    }
}

impl Default for DeepOptions {
    fn default() -> Self {
        DeepOptions::new(Self::DEFAULT_MAX_PARALLEL, Duration::ZERO)
    }
}

/// Enumerate `addr`. `requested` is the X.224 request the server answered with a TLS-based
/// protocol; `deadline` bounds each ClientHello's answer (the negotiation has its own in
/// `negotiate`).
pub async fn enumerate(
    addr: SocketAddr,
    requested: u32,
    server_name: Option<&str>,
    negotiate: &NegotiateOptions,
    deadline: Duration,
    options: &DeepOptions,
) -> TlsEnumeration {
    let started = Instant::now();
    let transport = rdp::RdpTransport {
        addr,
        requested,
        negotiate,
        deadline,
        server_name: server_name.map(str::to_string),
    };
    let mut planner = Planner::new();
    let limits = engine::Limits {
        max_parallel: options.max_parallel,
        delay: options.delay,
        budget: options.budget,
    };
    let connections = engine::drive(&mut planner, &transport, limits).await;
    report(&planner.finish(), connections, started.elapsed())
}

/// The evidence for an outcome.
pub fn report(outcome: &Outcome, connections: u32, elapsed: Duration) -> TlsEnumeration {
    let vname = |v: &rdpdoctor_wire::tls::ProtocolVersion| universe::version_name(*v);
    let mut notes = outcome.notes.clone();
    if outcome.ssl3 == Some(true) {
        notes.insert(
            0,
            "SSL 3.0 answered: the server still speaks a protocol broken since 2014 (POODLE)"
                .into(),
        );
    }
    let distinct: BTreeSet<&String> = outcome.certificates.values().collect();
    TlsEnumeration {
        versions: outcome
            .versions
            .iter()
            .map(|(v, s)| {
                (
                    vname(v),
                    s.iter().map(|id| universe::suite_name(*id)).collect(),
                )
            })
            .collect(),
        connections,
        ssl3_accepted: outcome.ssl3 == Some(true),
        server_preference: outcome
            .server_preference
            .iter()
            .map(|(v, p)| (vname(v), *p))
            .collect(),
        groups: outcome
            .groups
            .iter()
            .filter(|(_, g)| !g.is_empty())
            .map(|(v, g)| {
                (
                    vname(v),
                    g.iter().map(|id| universe::group_name(*id)).collect(),
                )
            })
            .collect(),
        clients: clients::compatibility(outcome),
        certificate_by_version: if distinct.len() > 1 {
            outcome
                .certificates
                .iter()
                .map(|(v, c)| (vname(v), c.clone()))
                .collect()
        } else {
            Default::default()
        },
        elapsed_ms: millis(elapsed),
        incomplete: outcome.incomplete.iter().map(vname).collect(),
        notes,
    }
}

/// Put the enumeration into the TLS stage (its value, or the partial value of a failed stage),
/// after checking it against the handshake the stage completed.
pub fn attach(stage: &mut Stage<TlsHandshake>, mut enumeration: TlsEnumeration) {
    let tls = match stage {
        Stage::Ok { value, .. } => value,
        Stage::Failed { partial, .. } => partial.get_or_insert_with(TlsHandshake::default),
        Stage::Skipped { .. } => return,
    };
    cross_check(tls, &mut enumeration);
    tls.enumeration = Some(enumeration);
}

/// A version and suite the TLS stage negotiated must be in the enumeration; if not, the
/// server treats the enumeration's hand-built hellos differently from a real client's, and
/// the report must not present the lists as complete.
fn cross_check(tls: &TlsHandshake, e: &mut TlsEnumeration) {
    let (Some(version), Some(suite)) = (&tls.version, &tls.cipher_suite) else {
        return;
    };
    let Some(list) = e.versions.get(version) else {
        return;
    };
    if !list.contains(suite) {
        e.notes.push(format!(
            "the TLS handshake negotiated {version} with {suite}, which the enumeration did not see accepted: the server answers hand-built ClientHellos differently, so the lists may be incomplete"
        ));
        if !e.incomplete.contains(version) {
            e.incomplete.push(version.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_politeness_delay_stretches_the_budget() {
        let d = DeepOptions::default();
        assert_eq!((d.max_parallel, d.budget), (3, DeepOptions::BASE_BUDGET));
        let slow = DeepOptions::new(0, Duration::from_secs(2));
        assert_eq!(slow.max_parallel, 1);
        assert!(slow.budget >= Duration::from_secs(2) * 150);
    }

    #[test]
    fn the_enumeration_is_checked_against_the_handshake() {
        let mut e = TlsEnumeration::default();
        e.versions.insert("TLSv1.2".into(), vec![]);
        let mut stage = Stage::ok(
            Duration::ZERO,
            TlsHandshake {
                version: Some("TLSv1.2".into()),
                cipher_suite: Some("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256".into()),
                ..TlsHandshake::default()
            },
        );
        attach(&mut stage, e.clone());
        let got = stage.value().and_then(|t| t.enumeration.clone()).unwrap();
        assert_eq!(got.incomplete, ["TLSv1.2"]);
        assert!(got.notes[0].contains("hand-built"));
        // Near miss: the negotiated suite is in the list.
        e.versions.insert(
            "TLSv1.2".into(),
            vec!["TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256".into()],
        );
        attach(&mut stage, e);
        let got = stage.value().and_then(|t| t.enumeration.clone()).unwrap();
        assert!(got.incomplete.is_empty() && got.notes.is_empty());
        // A skipped stage gets nothing.
        let mut skipped: Stage<TlsHandshake> = Stage::skipped("no TLS");
        attach(&mut skipped, TlsEnumeration::default());
        assert!(skipped.observed().is_none());
    }
}
