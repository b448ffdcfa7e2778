//! Folding decoded events into the bounded aggregates of [`HostEvidence`].
//!
//! Every map here has a cap on its number of keys, so a log crafted with a million distinct
//! source addresses costs a bounded amount of memory: once full, new keys are counted but not
//! kept, and the `distinct_*` counters stop at the cap.

use chrono::{DateTime, Utc};
use std::collections::HashMap;

use super::codes;
use super::evtx::catalog::{Classified, Fact};
use super::timeline::TimelineBuilder;
use crate::evidence::{
    AlertCount, CertificateEvent, Counted, CredsspRefusal, DisconnectCount, DisconnectLog,
    EventCount, EventSource, HostEvidence, SourceFile, StatusCount, TimelineEntry,
};

/// Keys kept per tally (distinct addresses, users, codes).
pub(crate) const TALLY_CAP: usize = 10_000;
/// Entries listed in the JSON for a tally ("top N").
pub(crate) const TOP_N: usize = 50;
/// Distinct (source, id) pairs counted.
const EVENT_KINDS_CAP: usize = 4096;
/// Distinct small-table keys (CredSSP targets, disconnect codes, statuses).
const SMALL_CAP: usize = 512;

/// A bounded counter of string keys.
#[derive(Default)]
pub(crate) struct Tally {
    map: HashMap<String, Counted>,
    saturated: bool,
}

impl Tally {
    pub fn add(&mut self, key: &str, time: DateTime<Utc>) {
        if let Some(c) = self.map.get_mut(key) {
            c.count += 1;
            c.first = c.first.min(time);
            c.last = c.last.max(time);
        } else if self.map.len() < TALLY_CAP {
            self.map.insert(
                key.to_string(),
                Counted {
                    key: key.to_string(),
                    count: 1,
                    first: time,
                    last: time,
                },
            );
        } else {
            self.saturated = true;
        }
    }

    pub fn distinct(&self) -> u64 {
        self.map.len() as u64
    }

    /// The `n` most frequent keys, most frequent first, ties by key.
    pub fn top(&self, n: usize) -> Vec<Counted> {
        let mut v: Vec<Counted> = self.map.values().cloned().collect();
        v.sort_by(|a, b| b.count.cmp(&a.count).then(a.key.cmp(&b.key)));
        v.truncate(n);
        v
    }
}

fn bump<K: std::hash::Hash + Eq, V>(
    map: &mut HashMap<K, V>,
    key: K,
    cap: usize,
    new: impl FnOnce() -> V,
    update: impl FnOnce(&mut V),
) {
    if let Some(v) = map.get_mut(&key) {
        update(v);
    } else if map.len() < cap {
        map.insert(key, new());
    }
}

/// Everything gathered about one host while reading.
pub(crate) struct HostAccumulator {
    pub events_read: u64,
    pub records_skipped: u64,
    events_relevant: u64,
    pub events_outside_window: u64,
    first: Option<DateTime<Utc>>,
    last: Option<DateTime<Utc>>,
    files: Vec<SourceFile>,
    counts: HashMap<(EventSource, u16), EventCount>,
    // Security log
    failed: u64,
    failed_rdp: u64,
    failed_network: u64,
    succeeded_rdp: u64,
    denied: u64,
    lockouts: u64,
    reconnected: u64,
    disconnected: u64,
    by_status: HashMap<(u32, Option<u32>), StatusCount>,
    failed_ips: Tally,
    failed_users: Tally,
    denied_users: Tally,
    locked_users: Tally,
    // Connections
    listener_connections: u64,
    authenticated: u64,
    accepted_tcp: u64,
    accepted_udp: u64,
    bad_credentials: u64,
    client_ips: Tally,
    bad_credential_ips: Tally,
    multitransport: Tally,
    transport_errors: Tally,
    authenticated_users: Tally,
    // Other sources
    credssp: HashMap<(String, Option<u32>), CredsspRefusal>,
    private_key_errors: Tally,
    credential_errors: Tally,
    no_shared_cipher: u64,
    alerts_sent: HashMap<Option<u8>, AlertCount>,
    alerts_received: HashMap<Option<u8>, AlertCount>,
    disconnects: HashMap<(DisconnectLog, u32), DisconnectCount>,
    cert_events: HashMap<u16, CertificateEvent>,
    pub timeline: TimelineBuilder,
}

impl HostAccumulator {
    pub fn new(timeline_limit: usize) -> Self {
        HostAccumulator {
            events_read: 0,
            records_skipped: 0,
            events_relevant: 0,
            events_outside_window: 0,
            first: None,
            last: None,
            files: Vec::new(),
            counts: HashMap::new(),
            failed: 0,
            failed_rdp: 0,
            failed_network: 0,
            succeeded_rdp: 0,
            denied: 0,
            lockouts: 0,
            reconnected: 0,
            disconnected: 0,
            by_status: HashMap::new(),
            failed_ips: Tally::default(),
            failed_users: Tally::default(),
            denied_users: Tally::default(),
            locked_users: Tally::default(),
            listener_connections: 0,
            authenticated: 0,
            accepted_tcp: 0,
            accepted_udp: 0,
            bad_credentials: 0,
            client_ips: Tally::default(),
            bad_credential_ips: Tally::default(),
            multitransport: Tally::default(),
            transport_errors: Tally::default(),
            authenticated_users: Tally::default(),
            credssp: HashMap::new(),
            private_key_errors: Tally::default(),
            credential_errors: Tally::default(),
            no_shared_cipher: 0,
            alerts_sent: HashMap::new(),
            alerts_received: HashMap::new(),
            disconnects: HashMap::new(),
            cert_events: HashMap::new(),
            timeline: TimelineBuilder::new(timeline_limit),
        }
    }

    /// The per-file record for `path`, created on first use.
    pub fn file(&mut self, path: &str) -> &mut SourceFile {
        if let Some(i) = self.files.iter().position(|f| f.path == path) {
            return &mut self.files[i];
        }
        self.files.push(SourceFile {
            path: path.to_string(),
            kind: "evtx".into(),
            ..Default::default()
        });
        self.files.last_mut().expect("just pushed")
    }

    /// Count an event of a known source that is not in the catalog.
    pub fn count_only(&mut self, source: EventSource, id: u16, time: DateTime<Utc>) {
        bump(
            &mut self.counts,
            (source, id),
            EVENT_KINDS_CAP,
            || EventCount {
                source,
                event_id: id,
                count: 1,
                first: time,
                last: time,
            },
            |c| {
                c.count += 1;
                c.first = c.first.min(time);
                c.last = c.last.max(time);
            },
        );
    }

    /// Add a catalogued event.
    pub fn add(
        &mut self,
        source: EventSource,
        id: u16,
        time: DateTime<Utc>,
        record_id: u64,
        file: &str,
        classified: Classified,
    ) {
        self.events_relevant += 1;
        self.first = Some(self.first.map_or(time, |f| f.min(time)));
        self.last = Some(self.last.map_or(time, |l| l.max(time)));
        self.count_only(source, id, time);
        let Classified {
            mark,
            message,
            fact,
        } = classified;
        match fact {
            Fact::Certificate {
                meaning,
                thumbprint,
                status,
            } => self.certificate_event(id, time, meaning, thumbprint, status),
            other => self.fact(other, time),
        }
        self.timeline.push(TimelineEntry {
            time,
            source: file.to_string(),
            provider: source,
            event_id: id,
            mark,
            message,
            record_id: Some(record_id),
        });
    }

    fn fact(&mut self, fact: Fact, t: DateTime<Utc>) {
        match fact {
            Fact::Logon {
                success: true,
                logon_type,
                ..
            } => {
                if logon_type == 10 {
                    self.succeeded_rdp += 1;
                }
            }
            Fact::Logon {
                success: false,
                logon_type,
                user,
                ip,
                status,
                sub_status,
            } => {
                self.failed += 1;
                if logon_type == 10 {
                    self.failed_rdp += 1;
                } else {
                    self.failed_network += 1;
                }
                if let Some(ip) = &ip {
                    self.failed_ips.add(ip, t);
                }
                if let Some(u) = &user {
                    self.failed_users.add(&u.to_lowercase(), t);
                }
                // SubStatus is the precise reason when set (0xC000006D / 0xC000006A).
                let (code, outer) = match (sub_status, status) {
                    (Some(s), Some(o)) if s != o => (s, Some(o)),
                    (Some(s), _) => (s, None),
                    (None, Some(o)) => (o, None),
                    (None, None) => (0, None),
                };
                bump(
                    &mut self.by_status,
                    (code, outer),
                    SMALL_CAP,
                    || StatusCount {
                        status: codes::format_status(code),
                        outer_status: outer.map(codes::format_status),
                        meaning: codes::ntstatus(code).0.to_string(),
                        count: 1,
                        first: t,
                        last: t,
                        last_user: user.clone(),
                        last_source_ip: ip.clone(),
                    },
                    |s| {
                        s.count += 1;
                        s.first = s.first.min(t);
                        if t >= s.last {
                            s.last = t;
                            s.last_user = user.clone();
                            s.last_source_ip = ip.clone();
                        }
                    },
                );
            }
            Fact::RemoteDesktopDenied { user } => {
                self.denied += 1;
                if let Some(u) = user {
                    self.denied_users.add(&u, t);
                }
            }
            Fact::Lockout { user } => {
                self.lockouts += 1;
                if let Some(u) = user {
                    self.locked_users.add(&u, t);
                }
            }
            Fact::SessionChange { reconnected } => {
                if reconnected {
                    self.reconnected += 1;
                } else {
                    self.disconnected += 1;
                }
            }
            Fact::CredsspRefused { target, version } => bump(
                &mut self.credssp,
                (target.clone(), version),
                SMALL_CAP,
                || CredsspRefusal {
                    target,
                    offered_version: version,
                    count: 1,
                    first: t,
                    last: t,
                },
                |r| {
                    r.count += 1;
                    r.first = r.first.min(t);
                    r.last = r.last.max(t);
                },
            ),
            Fact::SchannelPrivateKey { detail } => self.private_key_errors.add(&detail, t),
            Fact::SchannelCredential { detail } => self.credential_errors.add(&detail, t),
            Fact::SchannelNoCipher => self.no_shared_cipher += 1,
            Fact::SchannelAlert { sent, code } => {
                let map = if sent {
                    &mut self.alerts_sent
                } else {
                    &mut self.alerts_received
                };
                bump(
                    map,
                    code,
                    SMALL_CAP,
                    || AlertCount {
                        code: code.unwrap_or(255),
                        name: code.map_or("unknown", codes::tls_alert).to_string(),
                        count: 1,
                        first: t,
                        last: t,
                    },
                    |a| {
                        a.count += 1;
                        a.first = a.first.min(t);
                        a.last = a.last.max(t);
                    },
                );
            }
            // Handled in `add`, which knows the event id.
            Fact::Certificate { .. } => {}
            Fact::ListenerConnection => self.listener_connections += 1,
            Fact::Authenticated { user } => {
                self.authenticated += 1;
                if let Some(u) = user {
                    self.authenticated_users.add(&u, t);
                }
            }
            Fact::SessionLogon { user } => {
                if let Some(u) = user {
                    self.authenticated_users.add(&u, t);
                }
            }
            Fact::Accepted { udp, ip } => {
                if udp {
                    self.accepted_udp += 1;
                } else {
                    self.accepted_tcp += 1;
                }
                if let Some(ip) = ip {
                    self.client_ips.add(&ip, t);
                }
            }
            Fact::BadCredentials { ip } => {
                self.bad_credentials += 1;
                if let Some(ip) = ip {
                    self.bad_credential_ips.add(&ip, t);
                }
            }
            Fact::Multitransport { result } => self.multitransport.add(&result, t),
            Fact::TransportError { code } => self.transport_errors.add(&code, t),
            Fact::Disconnect { log, code, meaning } => bump(
                &mut self.disconnects,
                (log, code),
                SMALL_CAP,
                || DisconnectCount {
                    log,
                    code,
                    meaning: meaning.map(str::to_string),
                    count: 1,
                    first: t,
                    last: t,
                },
                |d| {
                    d.count += 1;
                    d.first = d.first.min(t);
                    d.last = d.last.max(t);
                },
            ),
            Fact::Plain => {}
        }
    }

    /// Certificate events need their id, so they are added here rather than in `fact`.
    fn certificate_event(
        &mut self,
        id: u16,
        t: DateTime<Utc>,
        meaning: &str,
        thumbprint: Option<String>,
        status: Option<String>,
    ) {
        bump(
            &mut self.cert_events,
            id,
            SMALL_CAP,
            || CertificateEvent {
                event_id: id,
                meaning: meaning.to_string(),
                count: 1,
                first: t,
                last: t,
                last_thumbprint: thumbprint.clone(),
                last_status: status.clone(),
            },
            |c| {
                c.count += 1;
                c.first = c.first.min(t);
                if t >= c.last {
                    c.last = t;
                    if thumbprint.is_some() {
                        c.last_thumbprint = thumbprint.clone();
                    }
                    if status.is_some() {
                        c.last_status = status.clone();
                    }
                }
            },
        );
    }

    /// Fill the event parts of a [`HostEvidence`].
    pub fn finish_into(self, h: &mut HostEvidence) {
        h.events_read += self.events_read;
        h.records_skipped += self.records_skipped;
        h.events_relevant += self.events_relevant;
        h.events_outside_window += self.events_outside_window;
        h.first_event = min_opt(h.first_event, self.first);
        h.last_event = max_opt(h.last_event, self.last);
        h.files.extend(self.files);

        let mut counts: Vec<EventCount> = self.counts.into_values().collect();
        counts.sort_by_key(|c| (c.source, c.event_id));
        h.event_counts = counts;

        let l = &mut h.logons;
        l.failed = self.failed;
        l.failed_remote_interactive = self.failed_rdp;
        l.failed_network = self.failed_network;
        l.succeeded_remote_interactive = self.succeeded_rdp;
        l.denied_remote_desktop = self.denied;
        l.lockouts = self.lockouts;
        l.sessions_reconnected = self.reconnected;
        l.sessions_disconnected = self.disconnected;
        l.distinct_source_ips = self.failed_ips.distinct();
        l.distinct_users = self.failed_users.distinct();
        let mut by_status: Vec<StatusCount> = self.by_status.into_values().collect();
        by_status.sort_by(|a, b| b.count.cmp(&a.count).then(a.status.cmp(&b.status)));
        l.by_status = by_status;
        l.by_source_ip = self.failed_ips.top(TOP_N);
        l.by_user = self.failed_users.top(TOP_N);
        l.denied_users = self.denied_users.top(TOP_N);
        l.locked_users = self.locked_users.top(TOP_N);

        let c = &mut h.connections;
        c.listener_connections = self.listener_connections;
        c.authenticated = self.authenticated;
        c.accepted_tcp = self.accepted_tcp;
        c.accepted_udp = self.accepted_udp;
        c.bad_credentials = self.bad_credentials;
        c.distinct_client_ips = self.client_ips.distinct();
        c.distinct_bad_credential_ips = self.bad_credential_ips.distinct();
        c.by_client_ip = self.client_ips.top(TOP_N);
        c.bad_credentials_by_ip = self.bad_credential_ips.top(TOP_N);
        c.multitransport = self.multitransport.top(TOP_N);
        c.transport_errors = self.transport_errors.top(TOP_N);
        c.authenticated_users = self.authenticated_users.top(TOP_N);

        let mut credssp: Vec<CredsspRefusal> = self.credssp.into_values().collect();
        credssp.sort_by(|a, b| b.last.cmp(&a.last).then(a.target.cmp(&b.target)));
        h.credssp_refusals = credssp;

        let s = &mut h.schannel;
        s.private_key_errors = self.private_key_errors.top(TOP_N);
        s.credential_errors = self.credential_errors.top(TOP_N);
        s.no_shared_cipher = self.no_shared_cipher;
        let alerts = |m: HashMap<Option<u8>, AlertCount>| {
            let mut v: Vec<AlertCount> = m.into_values().collect();
            v.sort_by(|a, b| b.count.cmp(&a.count).then(a.code.cmp(&b.code)));
            v
        };
        s.alerts_sent = alerts(self.alerts_sent);
        s.alerts_received = alerts(self.alerts_received);

        let mut d: Vec<DisconnectCount> = self.disconnects.into_values().collect();
        d.sort_by(|a, b| (a.log, b.count, a.code).cmp(&(b.log, a.count, b.code)));
        h.disconnects = d;

        let mut ce: Vec<CertificateEvent> = self.cert_events.into_values().collect();
        ce.sort_by_key(|c| c.event_id);
        h.certificate_events = ce;

        h.timeline = self.timeline.finish();
    }
}

fn min_opt(a: Option<DateTime<Utc>>, b: Option<DateTime<Utc>>) -> Option<DateTime<Utc>> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

fn max_opt(a: Option<DateTime<Utc>>, b: Option<DateTime<Utc>>) -> Option<DateTime<Utc>> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn tally_is_bounded_and_ranks_by_count() {
        let t = Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap();
        let mut tally = Tally::default();
        for i in 0..(TALLY_CAP + 500) {
            tally.add(&format!("10.0.{}.{}", i / 256, i % 256), t);
        }
        tally.add("10.0.0.1", t);
        assert_eq!(tally.distinct(), TALLY_CAP as u64);
        assert!(tally.saturated);
        let top = tally.top(3);
        assert_eq!(top[0].key, "10.0.0.1");
        assert_eq!(top[0].count, 2);
    }
}
