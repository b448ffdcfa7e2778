//! `scan --report fleet.html`: one self-contained page (inline CSS, JS and SVG; a Content
//! Security Policy that forbids any fetch) an admin can mail or attach to a ticket.
//!
//! The page is a minijinja template (`assets/fleet.html`) rendered with HTML autoescaping,
//! which minijinja picks from the template *name*: everything shown comes from servers
//! (certificate subjects) or from target lists, so nothing is inserted unescaped. The chart is
//! computed here and drawn as inline SVG, so it shows without JavaScript; the script only sorts
//! and filters the server table.

use chrono::{DateTime, Datelike, Utc};
use minijinja::value::{Serde, Value};
use minijinja::{Environment, Error};
use serde::Serialize;
use std::collections::BTreeMap;

use rdpdoctor_core::scan::FleetSummary;
use rdpdoctor_core::scan::summary::{CauseTally, CertificateEntry};
use rdpdoctor_kb::Severity;

const TEMPLATE: &str = include_str!("assets/fleet.html");

/// Months shown before and after the current one in the expiry chart; earlier and later
/// certificates are gathered in one bar at each end.
const MONTHS_BEFORE: i32 = 12;
const MONTHS_AFTER: i32 = 24;

#[derive(Serialize)]
struct Page<'a> {
    s: &'a FleetSummary,
    generated_at: String,
    version: &'static str,
    causes: Vec<&'a CauseTally>,
    certificates: Vec<CertRow<'a>>,
    rows: Vec<TableRow>,
    rows_left_out: u64,
    chart: Chart,
    distributions: Vec<Distribution>,
}

#[derive(Serialize)]
struct CertRow<'a> {
    not_after: String,
    days_left: i64,
    target: &'a str,
    subject: &'a str,
    self_signed: bool,
}

/// One row of the server table, with the display strings and the sort keys.
#[derive(Serialize)]
struct TableRow {
    target: String,
    /// host then zero-padded port, so 10.0.0.9 sorts before 10.0.0.10 within a /24 too.
    sort_target: String,
    outcome: &'static str,
    outcome_rank: u8,
    top_cause: String,
    severity: &'static str,
    cert_not_after: String,
    cert_days_left: String,
    cert_sort: i64,
    protocols: String,
    tls_version: String,
}

#[derive(Serialize)]
struct Distribution {
    label: &'static str,
    entries: Vec<(String, u64)>,
}

/// The expiry histogram, in SVG user units.
#[derive(Debug, Serialize)]
pub struct Chart {
    pub width: u32,
    pub height: u32,
    pub plot_bottom: u32,
    pub max: u64,
    pub now_x: f64,
    pub bars: Vec<Bar>,
}

#[derive(Debug, Serialize)]
pub struct Bar {
    pub x: f64,
    pub y: f64,
    pub w: f64,
    pub h: f64,
    pub label: String,
    pub count: u64,
    /// `expired`, `soon` (within three months) or `ok`.
    pub class: &'static str,
    /// Axis label under the bar (every six months, and the two ends), centred on `tick_x`.
    pub tick: Option<String>,
    pub tick_x: f64,
}

/// Render the page.
pub fn render(s: &FleetSummary) -> Result<String, Error> {
    let mut env = Environment::new();
    env.add_template("fleet.html", TEMPLATE)?;
    let page = Page {
        s,
        generated_at: s.generated_at.format("%Y-%m-%d %H:%M UTC").to_string(),
        version: env!("CARGO_PKG_VERSION"),
        causes: s.causes_ranked(),
        certificates: s.certificates.soonest.iter().map(cert_row).collect(),
        rows: s.rows.iter().map(|r| table_row(&r.0)).collect(),
        rows_left_out: s.rows.more(),
        chart: expiry_chart(&s.certificates.by_month, s.generated_at),
        distributions: distributions(s),
    };
    env.get_template("fleet.html")?
        .render(Value::from(Serde(&page)))
}

fn cert_row(e: &CertificateEntry) -> CertRow<'_> {
    CertRow {
        not_after: e.not_after.format("%Y-%m-%d").to_string(),
        days_left: e.days_left,
        target: &e.target,
        subject: &e.subject,
        self_signed: e.self_signed,
    }
}

fn table_row(r: &rdpdoctor_core::scan::ServerRow) -> TableRow {
    TableRow {
        target: r.target.clone(),
        sort_target: sort_key(&r.host, r.port),
        outcome: r.outcome.as_str(),
        outcome_rank: r.outcome as u8,
        top_cause: r.top_cause.clone().unwrap_or_default(),
        severity: r.top_severity.map_or("", Severity::as_str),
        cert_not_after: r
            .cert_not_after
            .map(|d| d.format("%Y-%m-%d").to_string())
            .unwrap_or_default(),
        cert_days_left: r.cert_days_left.map(|d| d.to_string()).unwrap_or_default(),
        cert_sort: r.cert_days_left.unwrap_or(i64::from(i32::MAX)),
        protocols: r.protocols.join(" "),
        tls_version: r.tls_version.clone().unwrap_or_default(),
    }
}

/// A string that sorts addresses numerically: each IPv4 octet padded to three digits.
fn sort_key(host: &str, port: u16) -> String {
    let host = match host.parse::<std::net::Ipv4Addr>() {
        Ok(ip) => ip
            .octets()
            .iter()
            .map(|o| format!("{o:03}"))
            .collect::<Vec<_>>()
            .join("."),
        Err(_) => host.to_ascii_lowercase(),
    };
    format!("{host}:{port:05}")
}

fn distributions(s: &FleetSummary) -> Vec<Distribution> {
    let d = |label, m: &BTreeMap<String, u64>| {
        let mut entries: Vec<(String, u64)> = m.iter().map(|(k, v)| (k.clone(), *v)).collect();
        entries.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        Distribution { label, entries }
    };
    vec![
        d("Selected for a current client", &s.protocols.selected),
        d("Accepted protocol sets", &s.protocols.accepted_sets),
        d("Servers accepting each protocol", &s.protocols.accepting),
        d("TLS versions", &s.tls_versions),
        d("CredSSP versions", &s.credssp_versions),
        d("Unreachable, why", &s.unreachable),
    ]
}

/// Months since year 0, for arithmetic.
fn month_index(year: i32, month: u32) -> i32 {
    year * 12 + month as i32 - 1
}

/// Bars for certificates per month of expiry around `now`.
pub fn expiry_chart(by_month: &BTreeMap<String, u64>, now: DateTime<Utc>) -> Chart {
    let current = month_index(now.year(), now.month());
    let (first, last) = (current - MONTHS_BEFORE, current + MONTHS_AFTER);
    // [earlier] [first ..= last] [later]
    let slots = (last - first + 1 + 2) as usize;
    let mut counts = vec![0u64; slots];
    for (key, n) in by_month {
        let Some((y, m)) = key.split_once('-') else {
            continue;
        };
        let (Ok(y), Ok(m)) = (y.parse::<i32>(), m.parse::<u32>()) else {
            continue;
        };
        let i = month_index(y, m);
        let slot = if i < first {
            0
        } else if i > last {
            slots - 1
        } else {
            (i - first + 1) as usize
        };
        counts[slot] += n;
    }
    let (width, height, plot_bottom) = (800u32, 180u32, 160u32);
    let top = 16.0;
    let max = counts.iter().copied().max().unwrap_or(0);
    let slot_w = f64::from(width) / slots as f64;
    let scale = if max == 0 {
        0.0
    } else {
        (f64::from(plot_bottom) - top) / max as f64
    };
    let bars = counts
        .iter()
        .enumerate()
        .map(|(slot, &count)| {
            let (label, class, tick) = if slot == 0 {
                (
                    format!("before {}", month_name(first)),
                    "expired",
                    Some("earlier".to_string()),
                )
            } else if slot == slots - 1 {
                (
                    format!("after {}", month_name(last)),
                    "ok",
                    Some("later".to_string()),
                )
            } else {
                let i = first + slot as i32 - 1;
                let class = if i < current {
                    "expired"
                } else if i <= current + 3 {
                    "soon"
                } else {
                    "ok"
                };
                // Every six months, leaving room for the "earlier" and "later" labels.
                let from_first = i - first;
                let tick =
                    (from_first % 6 == 0 && from_first > 0 && i < last).then(|| month_name(i));
                (month_name(i), class, tick)
            };
            let h = count as f64 * scale;
            Bar {
                x: round1(slot as f64 * slot_w + 1.0),
                y: round1(f64::from(plot_bottom) - h),
                w: round1(slot_w - 2.0),
                h: round1(h),
                label,
                count,
                class,
                tick,
                tick_x: round1((slot as f64 + 0.5) * slot_w),
            }
        })
        .collect();
    Chart {
        width,
        height,
        plot_bottom,
        max,
        now_x: round1((MONTHS_BEFORE + 1) as f64 * slot_w),
        bars,
    }
}

fn month_name(i: i32) -> String {
    format!("{:04}-{:02}", i.div_euclid(12), i.rem_euclid(12) + 1)
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 20, 12, 0, 0).unwrap()
    }

    #[test]
    fn the_chart_puts_each_month_in_its_bar_and_gathers_the_ends() {
        let months: BTreeMap<String, u64> = [
            ("2021-01", 3), // long expired: the "earlier" bar
            ("2026-10", 2), // last month: expired
            ("2026-12", 1), // next month: soon
            ("2027-06", 4), // fine
            ("2036-05", 7), // beyond the range: the "later" bar
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        let c = expiry_chart(&months, now());
        assert_eq!(c.bars.len(), 12 + 1 + 24 + 2);
        assert_eq!(c.max, 7);
        let find = |label: &str| c.bars.iter().find(|b| b.label == label).unwrap();
        assert_eq!(
            (find("before 2025-11").count, find("before 2025-11").class),
            (3, "expired")
        );
        assert_eq!(
            (find("2026-10").count, find("2026-10").class),
            (2, "expired")
        );
        assert_eq!((find("2026-12").count, find("2026-12").class), (1, "soon"));
        assert_eq!((find("2027-06").count, find("2027-06").class), (4, "ok"));
        assert_eq!(find("after 2028-11").count, 7);
        assert_eq!(
            find("after 2028-11").h,
            144.0,
            "the tallest bar fills the plot"
        );
        assert_eq!(c.bars.iter().map(|b| b.count).sum::<u64>(), 17);
        let ticks: Vec<&str> = c.bars.iter().filter_map(|b| b.tick.as_deref()).collect();
        assert_eq!(
            ticks,
            [
                "earlier", "2026-05", "2026-11", "2027-05", "2027-11", "2028-05", "later"
            ]
        );
    }

    #[test]
    fn an_empty_fleet_renders() {
        let s = FleetSummary::new(now(), 10, 10);
        let html = render(&s).unwrap();
        assert!(html.contains("id=\"expiry-chart\""));
        assert!(html.contains("No findings."));
    }

    #[test]
    fn addresses_sort_numerically() {
        assert!(sort_key("10.0.0.9", 3389) < sort_key("10.0.0.10", 3389));
        assert!(sort_key("10.0.0.9", 3389) < sort_key("10.0.0.9", 13389));
    }
}
