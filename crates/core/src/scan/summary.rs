//! The fleet summary, aggregated one report at a time.
//!
//! [`FleetSummary::add`] folds a [`Report`] into counters and bounded lists and forgets it, so
//! summarising a million results costs the same memory as summarising a thousand: counts per
//! outcome, per cause (with the servers, up to a limit), certificates by expiry bucket and by
//! month, protocol, TLS and CredSSP version distributions, and why unreachable servers were
//! unreachable. The instant certificates are judged against comes in as `now` (no clock here),
//! so a summary rebuilt later from a results file says what is expired *then*.

use chrono::{DateTime, Datelike, Utc};
use serde::Serialize;
use std::cmp::Ordering;
use std::collections::BTreeMap;

use super::bounded::Bounded;
use super::row::{Outcome, ServerRow};
use crate::evidence::{Protocol, Report, Stage};
use rdpdoctor_kb::Severity;

/// Certificate expiry buckets, in days from `now` (each server in exactly one).
pub const SOON_DAYS: [i64; 3] = [7, 30, 90];

/// Counts per outcome.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct OutcomeCounts {
    pub healthy: u64,
    pub problems: u64,
    pub unreachable: u64,
    pub could_not_check: u64,
}

impl OutcomeCounts {
    pub fn add(&mut self, o: Outcome) {
        *match o {
            Outcome::Healthy => &mut self.healthy,
            Outcome::Problems => &mut self.problems,
            Outcome::Unreachable => &mut self.unreachable,
            Outcome::CouldNotCheck => &mut self.could_not_check,
        } += 1;
    }

    pub fn total(&self) -> u64 {
        self.healthy + self.problems + self.unreachable + self.could_not_check
    }
}

/// Counts per verdict (what decides the exit code).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct VerdictCounts {
    pub healthy: u64,
    pub problems: u64,
    pub could_not_check: u64,
}

/// A server in a list, ordered the way an admin reads addresses: IPv4 before IPv6 before
/// names, numerically (10.0.0.9 before 10.0.0.10), then by port. Serialised as the target as
/// given.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct ListedServer {
    order: (Option<std::net::IpAddr>, String, u16),
    pub input: String,
}

impl ListedServer {
    pub fn new(target: &crate::Target) -> ListedServer {
        let ip = target.ip().map(|i| i.to_canonical());
        ListedServer {
            // `None` sorts first, so names would lead: put them after every address instead.
            order: (
                ip.or(Some(std::net::IpAddr::V6(std::net::Ipv6Addr::from(
                    u128::MAX,
                )))),
                if ip.is_some() {
                    String::new()
                } else {
                    target.host.to_ascii_lowercase()
                },
                target.port,
            ),
            input: target.input.clone(),
        }
    }
}

impl Serialize for ListedServer {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.input)
    }
}

/// One cause across the fleet.
#[derive(Clone, Debug, Serialize)]
pub struct CauseTally {
    pub cause: String,
    pub title: String,
    pub severity: Severity,
    /// Servers with this finding.
    pub count: u64,
    /// The first of them in address order (up to the list limit).
    pub servers: Bounded<ListedServer>,
    /// Servers not listed.
    pub more: u64,
}

/// One certificate, for the expiry list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CertificateEntry {
    pub not_after: DateTime<Utc>,
    pub days_left: i64,
    pub target: String,
    pub subject: String,
    pub self_signed: bool,
}

impl Ord for CertificateEntry {
    fn cmp(&self, o: &Self) -> Ordering {
        (self.not_after, &self.target, &self.subject).cmp(&(o.not_after, &o.target, &o.subject))
    }
}

impl PartialOrd for CertificateEntry {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}

/// Certificates by expiry.
#[derive(Clone, Debug, Serialize)]
pub struct CertificateSummary {
    /// Servers that presented a certificate.
    pub total: u64,
    pub expired: u64,
    /// Expiring in 0..=7 days.
    pub within_7_days: u64,
    /// In 8..=30 days.
    pub within_30_days: u64,
    /// In 31..=90 days.
    pub within_90_days: u64,
    /// Later than 90 days.
    pub later: u64,
    /// Soonest expiry first (expired ones first of all), up to the list limit.
    pub soonest: Bounded<CertificateEntry>,
    pub more: u64,
    /// `YYYY-MM` of notAfter -> certificates.
    pub by_month: BTreeMap<String, u64>,
}

/// Protocol distributions over servers whose negotiation answered.
#[derive(Clone, Debug, Default, Serialize)]
pub struct ProtocolSummary {
    /// What a current client gets (`ssl`, `hybrid`, ...).
    pub selected: BTreeMap<String, u64>,
    /// The whole accepted set (`rdp+ssl`, `hybrid+hybrid_ex+ssl`).
    pub accepted_sets: BTreeMap<String, u64>,
    /// Servers accepting each protocol.
    pub accepting: BTreeMap<String, u64>,
}

/// A server in the "most important first" table.
#[derive(Clone, Debug, Serialize)]
#[serde(transparent)]
pub struct RankedRow(pub ServerRow);

impl RankedRow {
    fn key(&self) -> (Outcome, u8, i64, &str, u16) {
        let r = &self.0;
        let severity = match r.top_severity {
            Some(Severity::Blocker) => 0,
            Some(Severity::Risk) => 1,
            _ => 2,
        };
        (
            r.outcome,
            severity,
            r.cert_days_left.unwrap_or(i64::MAX),
            &r.host,
            r.port,
        )
    }
}

impl PartialEq for RankedRow {
    fn eq(&self, o: &Self) -> bool {
        self.cmp(o) == Ordering::Equal
    }
}
impl Eq for RankedRow {}
impl Ord for RankedRow {
    fn cmp(&self, o: &Self) -> Ordering {
        self.key()
            .cmp(&o.key())
            .then_with(|| self.0.target.cmp(&o.0.target))
    }
}
impl PartialOrd for RankedRow {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}

/// Everything the fleet reports show.
#[derive(Clone, Debug, Serialize)]
pub struct FleetSummary {
    /// The instant certificates are judged against.
    pub generated_at: DateTime<Utc>,
    pub targets: u64,
    pub outcomes: OutcomeCounts,
    pub verdicts: VerdictCounts,
    /// Ordered: blockers, risks, info; most servers first.
    #[serde(serialize_with = "causes_in_order")]
    pub causes: BTreeMap<String, CauseTally>,
    pub certificates: CertificateSummary,
    pub protocols: ProtocolSummary,
    pub tls_versions: BTreeMap<String, u64>,
    /// CredSSP (TSRequest) version -> servers; `not probed` when NLA was selected but the
    /// CredSSP stage did not run.
    pub credssp_versions: BTreeMap<String, u64>,
    /// `tcp:refused`, `tcp:timeout`, `dns:nx_domain`, ... -> servers.
    pub unreachable: BTreeMap<String, u64>,
    /// The servers most in need of attention, for the HTML table (bounded).
    #[serde(skip)]
    pub rows: Bounded<RankedRow>,
    #[serde(skip)]
    list_limit: usize,
}

impl FleetSummary {
    /// `list_limit` bounds every list of servers; `row_limit` the table of servers.
    pub fn new(now: DateTime<Utc>, list_limit: usize, row_limit: usize) -> FleetSummary {
        FleetSummary {
            generated_at: now,
            targets: 0,
            outcomes: OutcomeCounts::default(),
            verdicts: VerdictCounts::default(),
            causes: BTreeMap::new(),
            certificates: CertificateSummary {
                total: 0,
                expired: 0,
                within_7_days: 0,
                within_30_days: 0,
                within_90_days: 0,
                later: 0,
                soonest: Bounded::new(list_limit),
                more: 0,
                by_month: BTreeMap::new(),
            },
            protocols: ProtocolSummary::default(),
            tls_versions: BTreeMap::new(),
            credssp_versions: BTreeMap::new(),
            unreachable: BTreeMap::new(),
            rows: Bounded::new(row_limit),
            list_limit,
        }
    }

    /// Fold one report in.
    pub fn add(&mut self, report: &Report) {
        let row = ServerRow::new(report, self.generated_at);
        self.targets += 1;
        self.outcomes.add(row.outcome);
        *match report.verdict {
            crate::evidence::Verdict::Healthy => &mut self.verdicts.healthy,
            crate::evidence::Verdict::Problems => &mut self.verdicts.problems,
            crate::evidence::Verdict::CouldNotCheck => &mut self.verdicts.could_not_check,
        } += 1;
        if let Some(reason) = &row.unreachable_reason {
            bump(&mut self.unreachable, reason);
        }
        self.add_findings(report);
        self.add_certificate(report, &row);
        self.add_protocols(report);
        self.rows.insert(RankedRow(row));
    }

    fn add_findings(&mut self, report: &Report) {
        let limit = self.list_limit;
        for f in &report.findings {
            let tally = self
                .causes
                .entry(f.cause.clone())
                .or_insert_with(|| CauseTally {
                    cause: f.cause.clone(),
                    title: f.title.clone(),
                    severity: f.severity,
                    count: 0,
                    servers: Bounded::new(limit),
                    more: 0,
                });
            tally.count += 1;
            tally.severity = tally.severity.min(f.severity);
            tally.servers.insert(ListedServer::new(&report.target));
            tally.more = tally.servers.more();
        }
    }

    fn add_certificate(&mut self, report: &Report, row: &ServerRow) {
        let Some(cert) = &report.evidence.certificate else {
            return;
        };
        let c = &mut self.certificates;
        let days = cert.days_left_at(self.generated_at);
        c.total += 1;
        *if cert.is_expired_at(self.generated_at) {
            &mut c.expired
        } else if days <= SOON_DAYS[0] {
            &mut c.within_7_days
        } else if days <= SOON_DAYS[1] {
            &mut c.within_30_days
        } else if days <= SOON_DAYS[2] {
            &mut c.within_90_days
        } else {
            &mut c.later
        } += 1;
        let month = format!("{:04}-{:02}", cert.not_after.year(), cert.not_after.month());
        bump(&mut c.by_month, &month);
        c.soonest.insert(CertificateEntry {
            not_after: cert.not_after,
            days_left: days,
            target: row.target.clone(),
            subject: cert.subject.clone(),
            self_signed: cert.self_signed,
        });
        c.more = c.soonest.more();
    }

    fn add_protocols(&mut self, report: &Report) {
        let ev = &report.evidence;
        let Some(n) = ev.negotiation.value() else {
            return;
        };
        let p = &mut self.protocols;
        if let Some(s) = n.selected {
            bump(&mut p.selected, s.as_str());
        }
        let mut set: Vec<&str> = n.supported.iter().map(|p| p.as_str()).collect();
        set.sort_unstable();
        let key = if set.is_empty() {
            "none".to_string()
        } else {
            set.join("+")
        };
        bump(&mut p.accepted_sets, &key);
        for proto in &n.supported {
            bump(&mut p.accepting, proto.as_str());
        }
        if let Some(v) = ev.tls.observed().and_then(|t| t.version.as_deref()) {
            bump(&mut self.tls_versions, v);
        }
        match &ev.credssp {
            Stage::Ok { value, .. } => {
                let v = value
                    .version
                    .map_or("unknown".to_string(), |v| v.to_string());
                bump(&mut self.credssp_versions, &v);
            }
            _ if n.selected.is_some_and(Protocol::uses_credssp) => {
                bump(&mut self.credssp_versions, "not probed")
            }
            _ => {}
        }
    }

    /// Causes in display order: blockers, then risks, then info; most servers first.
    pub fn causes_ranked(&self) -> Vec<&CauseTally> {
        ranked(&self.causes)
    }

    /// The process exit code for the fleet, with `check`'s meanings: 0 when every server is
    /// healthy, 2 when none could be checked (or there were none), 1 otherwise.
    pub fn exit_code(&self) -> u8 {
        let v = &self.verdicts;
        if self.targets == 0 || v.could_not_check == self.targets {
            2
        } else if v.healthy == self.targets {
            0
        } else {
            1
        }
    }
}

fn bump(map: &mut BTreeMap<String, u64>, key: &str) {
    match map.get_mut(key) {
        Some(n) => *n += 1,
        None => {
            map.insert(key.to_string(), 1);
        }
    }
}

fn ranked(causes: &BTreeMap<String, CauseTally>) -> Vec<&CauseTally> {
    let mut v: Vec<&CauseTally> = causes.values().collect();
    v.sort_by(|a, b| {
        a.severity
            .cmp(&b.severity)
            .then(b.count.cmp(&a.count))
            .then(a.cause.cmp(&b.cause))
    });
    v
}

fn causes_in_order<S: serde::Serializer>(
    causes: &BTreeMap<String, CauseTally>,
    s: S,
) -> Result<S::Ok, S::Error> {
    s.collect_seq(ranked(causes))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::Target;
    use crate::diagnose::{DiagnoseOptions, diagnose};
    use crate::evidence::{
        ErrorKind, Evidence, Negotiation, ServerCertificate, StageError, StageName, TcpConnect,
        TlsHandshake,
    };
    use chrono::{Duration as Days, TimeZone};
    use std::time::Duration;

    pub fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 20, 12, 0, 0).unwrap()
    }

    fn diagnosed(target: &str, ev: Evidence) -> Report {
        let mut r = Report::new(Target::parse(target).unwrap(), ev, 3.0);
        let d = diagnose(&r.target, &r.evidence, &DiagnoseOptions::at(now()));
        r.set_diagnosis(d, now());
        r
    }

    /// A port nothing listens on.
    pub fn closed(target: &str) -> Report {
        let mut ev = Evidence::new(now());
        ev.dns = Stage::skipped("the target is an IP address");
        ev.tcp = Stage::failed(StageError::new(
            StageName::Tcp,
            ErrorKind::Refused,
            Duration::from_millis(1),
            "connection refused",
        ));
        diagnosed(target, ev)
    }

    /// A TLS-only server whose certificate expires `days` from now.
    pub fn tls_server(target: &str, days: i64, subject: &str) -> Report {
        let mut ev = Evidence::new(now());
        ev.dns = Stage::skipped("the target is an IP address");
        let address = Target::parse(target).unwrap().authority().parse().ok();
        ev.tcp = Stage::ok(
            Duration::from_millis(1),
            TcpConnect {
                address,
                connect_ms: Some(1.0),
                attempts: Vec::new(),
            },
        );
        ev.negotiation = Stage::ok(
            Duration::from_millis(1),
            Negotiation {
                supported: vec![Protocol::Ssl],
                selected: Some(Protocol::Ssl),
                ..Negotiation::default()
            },
        );
        ev.tls = Stage::ok(
            Duration::from_millis(5),
            TlsHandshake {
                version: Some("TLSv1.3".into()),
                modern_handshake_ok: true,
                chain_length: 1,
                ..TlsHandshake::default()
            },
        );
        ev.credssp = Stage::skipped("the server selected TLS without NLA (PROTOCOL_SSL)");
        let not_after = now() + Days::days(days);
        ev.certificate = Some(ServerCertificate {
            subject: subject.into(),
            common_name: None,
            issuer: subject.into(),
            serial: "01".into(),
            not_before: not_after - Days::days(365),
            not_after,
            days_left: days,
            self_signed: true,
            key_type: "RSA".into(),
            key_bits: Some(2048),
            signature_algorithm: "sha256WithRSAEncryption".into(),
            signature_hash: Some("SHA-256".into()),
            san_dns: vec![],
            san_ip: vec![],
            eku: vec![],
            is_ca: false,
            sha1: "00".repeat(20),
            sha256: "00".repeat(32),
            name_match: None,
            trust: None,
            chain: vec![],
            der_base64: String::new(),
        });
        diagnosed(target, ev)
    }

    #[test]
    fn counts_causes_certificates_and_protocols_incrementally() {
        let mut s = FleetSummary::new(now(), 2, 100);
        for i in 1..=5 {
            s.add(&closed(&format!("10.0.0.{i}")));
        }
        s.add(&tls_server("10.0.1.1", -10, "CN=old"));
        s.add(&tls_server("10.0.1.2", 3, "CN=week"));
        s.add(&tls_server("10.0.1.3", 20, "CN=month"));
        s.add(&tls_server("10.0.1.4", 60, "CN=quarter"));
        s.add(&tls_server("10.0.1.5", 400, "CN=fine"));

        assert_eq!(s.targets, 10);
        assert_eq!(
            s.outcomes,
            OutcomeCounts {
                healthy: 1,
                problems: 4,
                unreachable: 5,
                could_not_check: 0
            },
            "{:#?}",
            s.causes_ranked()
                .iter()
                .map(|c| (&c.cause, c.count))
                .collect::<Vec<_>>()
        );
        assert_eq!(s.unreachable.get("tcp:refused"), Some(&5));

        let closed = &s.causes["port-closed"];
        assert_eq!(closed.count, 5);
        let listed: Vec<&str> = closed.servers.iter().map(|l| l.input.as_str()).collect();
        assert_eq!(listed, ["10.0.0.1", "10.0.0.2"]);
        assert_eq!(closed.more, 3, "the list is bounded, the count is not");
        assert_eq!(s.causes["cert-expired"].count, 1);
        assert_eq!(
            s.causes["cert-expiring-soon"].count, 2,
            "7 and 30 days, at the default 30"
        );

        let c = &s.certificates;
        assert_eq!(
            (
                c.total,
                c.expired,
                c.within_7_days,
                c.within_30_days,
                c.within_90_days,
                c.later
            ),
            (5, 1, 1, 1, 1, 1)
        );
        let soonest: Vec<&str> = c.soonest.iter().map(|e| e.subject.as_str()).collect();
        assert_eq!(
            soonest,
            ["CN=old", "CN=week"],
            "expired first, then soonest"
        );
        assert_eq!(c.more, 3);
        assert_eq!(c.by_month.get("2026-11"), Some(&2));

        assert_eq!(s.protocols.selected.get("ssl"), Some(&5));
        assert_eq!(s.protocols.accepted_sets.get("ssl"), Some(&5));
        assert_eq!(s.tls_versions.get("TLSv1.3"), Some(&5));
        assert!(s.credssp_versions.is_empty(), "no server selected NLA");

        // Blockers first, most servers first.
        let order: Vec<&str> = s.causes_ranked().iter().map(|c| c.cause.as_str()).collect();
        // (Severities come from the knowledge base; only port-closed's is fixed here.)
        assert_eq!(order[0], "port-closed");
        assert!(order.contains(&"cert-expired"), "{order:?}");
        assert_eq!(s.exit_code(), 1);

        // The table puts problems before unreachable servers, the worst certificate first.
        let first = s.rows.iter().next().unwrap();
        assert_eq!(first.0.target, "10.0.1.1");
        assert_eq!(first.0.top_cause.as_deref(), Some("cert-expired"));
    }

    #[test]
    fn the_summary_does_not_depend_on_completion_order() {
        let reports: Vec<Report> = (1..=20)
            .map(|i| {
                if i % 3 == 0 {
                    tls_server(&format!("10.0.2.{i}"), i * 10 - 100, &format!("CN=s{i}"))
                } else {
                    closed(&format!("10.0.2.{i}"))
                }
            })
            .collect();
        let mut a = FleetSummary::new(now(), 3, 5);
        let mut b = FleetSummary::new(now(), 3, 5);
        reports.iter().for_each(|r| a.add(r));
        reports.iter().rev().for_each(|r| b.add(r));
        assert_eq!(
            serde_json::to_value(&a).unwrap(),
            serde_json::to_value(&b).unwrap()
        );
        let rows = |s: &FleetSummary| {
            s.rows
                .iter()
                .map(|r| r.0.target.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(rows(&a), rows(&b));
    }

    #[test]
    fn credssp_versions_count_nla_servers_only() {
        use crate::evidence::CredsspProbe;
        let nla = |target: &str, version: Option<u32>| {
            let mut r = tls_server(target, 400, "CN=nla");
            if let Stage::Ok { value, .. } = &mut r.evidence.negotiation {
                value.supported = vec![Protocol::Hybrid];
                value.selected = Some(Protocol::Hybrid);
            }
            r.evidence.credssp = match version {
                Some(v) => Stage::ok(
                    Duration::from_millis(2),
                    CredsspProbe {
                        version: Some(v),
                        offered_version: 6,
                        ..CredsspProbe::default()
                    },
                ),
                None => Stage::skipped("not probed"),
            };
            r
        };
        let mut s = FleetSummary::new(now(), 10, 10);
        s.add(&nla("10.0.4.1", Some(6)));
        s.add(&nla("10.0.4.2", Some(6)));
        s.add(&nla("10.0.4.3", Some(3)));
        s.add(&nla("10.0.4.4", None));
        s.add(&tls_server("10.0.4.5", 400, "CN=tls"));
        let got: Vec<(&str, u64)> = s
            .credssp_versions
            .iter()
            .map(|(k, v)| (k.as_str(), *v))
            .collect();
        assert_eq!(got, [("3", 1), ("6", 2), ("not probed", 1)]);
        assert_eq!(s.protocols.selected.get("hybrid"), Some(&4));
        assert_eq!(s.protocols.accepted_sets.get("hybrid"), Some(&4));
    }

    #[test]
    fn servers_are_listed_in_address_order() {
        let mut s = FleetSummary::new(now(), 10, 10);
        for t in [
            "b.example",
            "10.0.0.10",
            "[::1]:3389",
            "10.0.0.9:3390",
            "10.0.0.9",
            "a.example",
        ] {
            s.add(&closed(t));
        }
        let listed: Vec<&str> = s.causes["port-closed"]
            .servers
            .iter()
            .map(|l| l.input.as_str())
            .collect();
        assert_eq!(
            listed,
            [
                "10.0.0.9",
                "10.0.0.9:3390",
                "10.0.0.10",
                "[::1]:3389",
                "a.example",
                "b.example"
            ]
        );
    }

    #[test]
    fn exit_codes_follow_check() {
        let mut s = FleetSummary::new(now(), 10, 10);
        assert_eq!(s.exit_code(), 2, "nothing checked");
        let mut healthy = tls_server("10.0.3.1", 400, "CN=a");
        healthy.verdict = crate::evidence::Verdict::Healthy;
        s.add(&healthy);
        assert_eq!(s.exit_code(), 0);
        let mut unknown = closed("10.0.3.2");
        unknown.verdict = crate::evidence::Verdict::CouldNotCheck;
        s.add(&unknown);
        assert_eq!(
            s.exit_code(),
            1,
            "some healthy, some not checked: not all healthy"
        );
        let mut only_unknown = FleetSummary::new(now(), 10, 10);
        only_unknown.add(&unknown);
        assert_eq!(only_unknown.exit_code(), 2);
    }
}
