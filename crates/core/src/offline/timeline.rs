//! The timeline: relevant events in time order, bounded, with failures kept first.
//!
//! A busy server logs thousands of "listener received a connection" lines; the admin wants
//! the failures around the moment it broke. The builder keeps at most `limit` entries: when
//! full, the least important entry goes (info before success before warning before failure,
//! the oldest first within a mark), and `omitted` counts what went.

use chrono::{DateTime, Duration, Utc};
use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;
use std::fmt::Write as _;

use crate::evidence::{Mark, Timeline, TimelineEntry};

/// Default number of timeline entries kept per host.
pub const DEFAULT_TIMELINE_LIMIT: usize = 3000;

struct Ranked {
    priority: u8,
    time: DateTime<Utc>,
    seq: u64,
    entry: TimelineEntry,
}

impl Ranked {
    fn key(&self) -> (u8, DateTime<Utc>, u64) {
        (self.priority, self.time, self.seq)
    }
}

impl PartialEq for Ranked {
    fn eq(&self, other: &Self) -> bool {
        self.key() == other.key()
    }
}
impl Eq for Ranked {}
impl PartialOrd for Ranked {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Ranked {
    fn cmp(&self, other: &Self) -> Ordering {
        self.key().cmp(&other.key())
    }
}

fn priority(mark: Mark) -> u8 {
    match mark {
        Mark::Failure => 3,
        Mark::Warning => 2,
        Mark::Success => 1,
        Mark::Info => 0,
    }
}

/// Collects timeline entries within a bound.
pub(crate) struct TimelineBuilder {
    heap: BinaryHeap<Reverse<Ranked>>,
    limit: usize,
    total: u64,
    omitted: u64,
    seq: u64,
}

impl TimelineBuilder {
    pub fn new(limit: usize) -> Self {
        TimelineBuilder {
            heap: BinaryHeap::new(),
            limit,
            total: 0,
            omitted: 0,
            seq: 0,
        }
    }

    pub fn push(&mut self, entry: TimelineEntry) {
        self.total += 1;
        self.seq += 1;
        if self.limit == 0 {
            self.omitted += 1;
            return;
        }
        let ranked = Ranked {
            priority: priority(entry.mark),
            time: entry.time,
            seq: self.seq,
            entry,
        };
        if self.heap.len() >= self.limit {
            // Full: keep the new entry only if it outranks the least important one.
            if let Some(Reverse(min)) = self.heap.peek()
                && ranked <= *min
            {
                self.omitted += 1;
                return;
            }
            self.heap.pop();
            self.omitted += 1;
        }
        self.heap.push(Reverse(ranked));
    }

    pub fn finish(self) -> Timeline {
        let mut ranked: Vec<Ranked> = self.heap.into_iter().map(|Reverse(r)| r).collect();
        ranked.sort_by(|a, b| a.time.cmp(&b.time).then(a.seq.cmp(&b.seq)));
        Timeline {
            entries: ranked.into_iter().map(|r| r.entry).collect(),
            total: self.total,
            omitted: self.omitted,
            limit: self.limit,
        }
    }
}

/// What part of a timeline to print.
#[derive(Clone, Debug)]
pub struct TimelineView {
    /// Only entries within `window` of this time ("what happened at 09:14").
    pub around: Option<(DateTime<Utc>, Duration)>,
    /// Only failures and warnings.
    pub problems_only: bool,
    /// At most this many lines (the newest are kept).
    pub max_lines: usize,
}

impl Default for TimelineView {
    fn default() -> Self {
        TimelineView {
            around: None,
            problems_only: false,
            max_lines: 200,
        }
    }
}

/// Render a timeline as text, one line per event, repeated lines collapsed:
///
/// ```text
/// 2018-08-02 04:34:06  FAIL  RdpCoreTS 140        Connection from 43.228.99.228 failed: wrong user name or password  (×3 until 04:35:10)
/// ```
pub fn render_timeline(timeline: &Timeline, view: &TimelineView) -> String {
    let selected: Vec<&TimelineEntry> = timeline
        .entries
        .iter()
        .filter(|e| !view.problems_only || matches!(e.mark, Mark::Failure | Mark::Warning))
        .filter(|e| match view.around {
            Some((t, w)) => e.time >= t - w && e.time <= t + w,
            None => true,
        })
        .collect();

    // Collapse runs of the same event and message.
    let mut groups: Vec<(&TimelineEntry, u64, DateTime<Utc>)> = Vec::new();
    for e in selected {
        match groups.last_mut() {
            Some((first, n, last))
                if first.provider == e.provider
                    && first.event_id == e.event_id
                    && first.message == e.message =>
            {
                *n += 1;
                *last = e.time;
            }
            _ => groups.push((e, 1, e.time)),
        }
    }
    let skipped = groups.len().saturating_sub(view.max_lines);
    let mut out = String::new();
    if timeline.omitted > 0 {
        let _ = writeln!(
            out,
            "({} of {} events kept; {} less important ones left out)",
            timeline.entries.len(),
            timeline.total,
            timeline.omitted
        );
    }
    if skipped > 0 {
        let _ = writeln!(out, "({skipped} earlier lines not shown)");
    }
    for (e, n, last) in groups.into_iter().skip(skipped) {
        let mark = match e.mark {
            Mark::Failure => "FAIL",
            Mark::Warning => "WARN",
            Mark::Success => " ok ",
            Mark::Info => "    ",
        };
        let label = format!("{} {}", e.provider, e.event_id);
        let _ = write!(
            out,
            "{}  {mark}  {label:<24} {}",
            e.time.format("%Y-%m-%d %H:%M:%S"),
            e.message
        );
        if n > 1 {
            let same_day = last.date_naive() == e.time.date_naive();
            let until = if same_day {
                last.format("%H:%M:%S").to_string()
            } else {
                last.format("%Y-%m-%d %H:%M:%S").to_string()
            };
            let _ = write!(out, "  (×{n} until {until})");
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::EventSource;
    use chrono::TimeZone;

    fn entry(sec: i64, mark: Mark, msg: &str) -> TimelineEntry {
        TimelineEntry {
            time: Utc.with_ymd_and_hms(2024, 5, 1, 9, 0, 0).unwrap() + Duration::seconds(sec),
            source: "System.evtx".into(),
            provider: EventSource::RemoteConnectionManager,
            event_id: 1,
            mark,
            message: msg.into(),
            record_id: None,
        }
    }

    #[test]
    fn failures_survive_the_bound() {
        let mut b = TimelineBuilder::new(3);
        b.push(entry(1, Mark::Failure, "old failure"));
        for i in 0..100 {
            b.push(entry(10 + i, Mark::Info, "noise"));
        }
        b.push(entry(500, Mark::Failure, "new failure"));
        let t = b.finish();
        assert_eq!(t.total, 102);
        assert_eq!(t.omitted, 99);
        let msgs: Vec<&str> = t.entries.iter().map(|e| e.message.as_str()).collect();
        assert_eq!(msgs, ["old failure", "noise", "new failure"]);
        // The noise kept is the newest.
        assert_eq!(t.entries[1].time, entry(109, Mark::Info, "").time);
    }

    #[test]
    fn zero_limit_keeps_nothing_but_counts() {
        let mut b = TimelineBuilder::new(0);
        b.push(entry(1, Mark::Failure, "x"));
        let t = b.finish();
        assert!(t.entries.is_empty());
        assert_eq!((t.total, t.omitted), (1, 1));
    }

    #[test]
    fn rendering_collapses_repeats_and_filters_by_time() {
        let mut b = TimelineBuilder::new(100);
        b.push(entry(0, Mark::Info, "started"));
        for i in 0..3 {
            b.push(entry(60 + i, Mark::Failure, "bad password"));
        }
        b.push(entry(3600, Mark::Success, "later"));
        let t = b.finish();
        let text = render_timeline(&t, &TimelineView::default());
        assert!(text.contains("FAIL  RemoteConnectionManager 1"), "{text}");
        assert!(text.contains("bad password  (×3 until 09:01:02)"), "{text}");
        let around = TimelineView {
            around: Some((entry(60, Mark::Info, "").time, Duration::minutes(5))),
            ..Default::default()
        };
        let text = render_timeline(&t, &around);
        assert!(!text.contains("later"));
        assert!(text.contains("started"));
        let problems = TimelineView {
            problems_only: true,
            ..Default::default()
        };
        assert_eq!(render_timeline(&t, &problems).lines().count(), 1);
    }
}
