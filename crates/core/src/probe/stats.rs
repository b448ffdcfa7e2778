//! Pure statistics for the path measurements: intervals, percentiles, and reading lost SYNs
//! out of connect times. No I/O, so every formula is tested with exact numbers.

use crate::evidence::{Interval, RttSummary};

/// z for a two-sided 95 % interval.
const Z95: f64 = 1.959_963_984_540_054;

/// The 95 % Wilson score interval of `hits / trials`, in percent.
///
/// With zero trials nothing is known: the interval is the whole range.
pub fn wilson(hits: u32, trials: u32) -> Interval {
    if trials == 0 {
        return Interval {
            low: 0.0,
            high: 100.0,
        };
    }
    let n = f64::from(trials);
    let p = f64::from(hits.min(trials)) / n;
    let z2 = Z95 * Z95;
    let centre = (p + z2 / (2.0 * n)) / (1.0 + z2 / n);
    let half = Z95 * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt() / (1.0 + z2 / n);
    Interval {
        low: round2(((centre - half) * 100.0).max(0.0)),
        high: round2(((centre + half) * 100.0).min(100.0)),
    }
}

/// `hits / trials` in percent, 0 when there were no trials.
pub fn percent(hits: u32, trials: u32) -> f64 {
    if trials == 0 {
        0.0
    } else {
        round2(f64::from(hits) * 100.0 / f64::from(trials))
    }
}

/// Nearest-rank percentile of sorted values (`q` in 0..=1).
pub fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Median (mean of the two middle values for an even count).
pub fn median(sorted: &[f64]) -> f64 {
    match sorted.len() {
        0 => 0.0,
        n if n % 2 == 1 => sorted[n / 2],
        n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    }
}

/// RTT summary of samples given in the order they were taken (jitter depends on the order).
pub fn rtt_summary(in_order: &[f64]) -> RttSummary {
    if in_order.is_empty() {
        return RttSummary::default();
    }
    let mut sorted = in_order.to_vec();
    sorted.sort_by(f64::total_cmp);
    let jitter = if in_order.len() < 2 {
        0.0
    } else {
        in_order
            .windows(2)
            .map(|w| (w[1] - w[0]).abs())
            .sum::<f64>()
            / (in_order.len() - 1) as f64
    };
    RttSummary {
        min: round3(sorted[0]),
        median: round3(median(&sorted)),
        p95: round3(percentile(&sorted, 0.95)),
        max: round3(sorted[sorted.len() - 1]),
        jitter: round3(jitter),
    }
}

/// The SYN retransmission schedule: the first `linear` retries wait one initial RTO each,
/// later ones double (RFC 6298 backoff). Linux 6.6+ retries linearly four times
/// (`net.ipv4.tcp_syn_linear_timeouts`); older Linux, macOS and Windows double from the start
/// (`linear` 0).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SynSchedule {
    pub linear: u32,
}

impl SynSchedule {
    /// Total wait, in initial RTOs, before retransmission number `k` (k ≥ 1) goes out:
    /// 1, 3, 7, 15 for pure doubling; 1, 2, 3, 4, 6, 10 with four linear retries.
    pub fn wait(self, k: u32) -> f64 {
        let (mut total, mut step) = (0.0, 1.0);
        for i in 0..k.min(16) {
            total += step;
            if i + 1 >= self.linear {
                step *= 2.0;
            }
        }
        total
    }

    /// How many retransmissions explain a connect that took `excess_ms` longer than the
    /// fastest handshakes: the nearest total wait. Anything under 0.7 RTO is ordinary delay
    /// (queueing, a slow server), never loss, so jitter alone cannot create loss.
    pub fn retransmits(self, excess_ms: f64, rto_ms: f64) -> u32 {
        if rto_ms <= 0.0 || excess_ms < 0.7 * rto_ms {
            return 0;
        }
        let x = excess_ms / rto_ms;
        let mut k = 1;
        while k < 12 && x >= (self.wait(k) + self.wait(k + 1)) / 2.0 {
            k += 1;
        }
        k
    }

    /// SYNs sent by a connect that gave up after `elapsed_ms`: the first and every retry whose
    /// wait had passed.
    pub fn sent_within(self, elapsed_ms: f64, rto_ms: f64) -> u32 {
        if rto_ms <= 0.0 {
            return 1;
        }
        1 + (1..12)
            .take_while(|&k| self.wait(k) * rto_ms < elapsed_ms)
            .count() as u32
    }

    /// This system's schedule (Linux: `/proc/sys/net/ipv4/tcp_syn_linear_timeouts`, absent
    /// before 6.6).
    pub fn local() -> SynSchedule {
        let linear = std::fs::read_to_string("/proc/sys/net/ipv4/tcp_syn_linear_timeouts")
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(0);
        SynSchedule { linear }
    }
}

/// The initial RTO behind a set of connect-time excesses, in ms.
///
/// Linux, macOS and current Windows start at 1 s (RFC 6298); Windows before 10 and Server 2016
/// (`InitialRto` 3000) start at 3 s. One excess near 1 s settles it; excesses only near 3 s are
/// read as 3 s on Windows (two losses in a row at 1 s are much rarer than one at 3 s) and as
/// two retransmissions elsewhere.
pub fn infer_initial_rto(excesses_ms: &[f64], windows: bool) -> f64 {
    let near = |centre: f64| {
        excesses_ms
            .iter()
            .any(|&e| e >= centre * 0.7 && e <= centre * 1.6)
    };
    if near(1000.0) {
        1000.0
    } else if windows && near(3000.0) {
        3000.0
    } else {
        1000.0
    }
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wilson_matches_published_values() {
        // 0 of 100: the "rule of three" neighbourhood, 0 .. 3.70 %.
        assert_eq!(
            wilson(0, 100),
            Interval {
                low: 0.0,
                high: 3.7
            }
        );
        // 20 of 100: 13.34 .. 28.88 % (Wilson 1927; Newcombe 1998, method 3).
        let i = wilson(20, 100);
        assert!(
            (i.low - 13.34).abs() < 0.02 && (i.high - 28.88).abs() < 0.02,
            "{i:?}"
        );
        assert_eq!(wilson(5, 0).high, 100.0);
        assert_eq!(wilson(10, 10).high, 100.0);
    }

    #[test]
    fn percentiles_and_jitter() {
        let v = [10.0, 12.0, 11.0, 30.0, 10.0];
        let s = rtt_summary(&v);
        assert_eq!(s.min, 10.0);
        assert_eq!(s.median, 11.0);
        assert_eq!(s.p95, 30.0);
        assert_eq!(s.max, 30.0);
        // |2| + |1| + |19| + |20| over 4.
        assert_eq!(s.jitter, 10.5);
        let many: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&many, 0.95), 95.0);
        assert_eq!(median(&many), 50.5);
        assert_eq!(rtt_summary(&[]), RttSummary::default());
    }

    #[test]
    fn connect_time_excess_to_retransmissions() {
        let doubling = SynSchedule { linear: 0 };
        assert_eq!(doubling.retransmits(0.0, 1000.0), 0);
        assert_eq!(doubling.retransmits(650.0, 1000.0), 0);
        assert_eq!(doubling.retransmits(1010.0, 1000.0), 1);
        assert_eq!(doubling.retransmits(1500.0, 1000.0), 1);
        assert_eq!(doubling.retransmits(3020.0, 1000.0), 2);
        assert_eq!(doubling.retransmits(7100.0, 1000.0), 3);
        assert_eq!(doubling.retransmits(3050.0, 3000.0), 1);
        assert_eq!(doubling.retransmits(9100.0, 3000.0), 2);
        assert_eq!(doubling.sent_within(3500.0, 1000.0), 3);
        // Linux 6.6+: 1, 2, 3, 4 s, then 6, 10 s.
        let linux = SynSchedule { linear: 4 };
        assert_eq!(linux.retransmits(2040.0, 1000.0), 2);
        assert_eq!(linux.retransmits(3054.0, 1000.0), 3);
        assert_eq!(linux.retransmits(6010.0, 1000.0), 5);
        assert_eq!(linux.sent_within(3500.0, 1000.0), 4);
        assert_eq!(linux.wait(6), 10.0);
    }

    #[test]
    fn initial_rto_from_the_data() {
        assert_eq!(infer_initial_rto(&[1003.0, 3010.0], true), 1000.0);
        assert_eq!(infer_initial_rto(&[3004.0], true), 3000.0);
        assert_eq!(infer_initial_rto(&[3004.0], false), 1000.0);
        assert_eq!(infer_initial_rto(&[], true), 1000.0);
    }
}
