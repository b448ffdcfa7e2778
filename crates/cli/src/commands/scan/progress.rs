//! Progress on stderr while a scan runs: an indicatif bar on a terminal (done/total, rate,
//! ETA, healthy/problems/unreachable), a plain line every few seconds otherwise (CI logs,
//! `2> scan.log`), nothing with `--progress off`.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::time::{Duration, Instant};

use crate::args::ProgressMode;
use rdpdoctor_core::scan::Outcome;
use rdpdoctor_core::scan::summary::OutcomeCounts;

/// How often the plain mode prints a line.
const PLAIN_EVERY: Duration = Duration::from_secs(5);

enum Display {
    Bar(ProgressBar),
    Plain { last: Instant },
    Off,
}

pub struct Progress {
    display: Display,
    total: u64,
    done: u64,
    counts: OutcomeCounts,
    started: Instant,
}

impl Progress {
    pub fn new(mode: ProgressMode, total: u64) -> Progress {
        let terminal = std::io::stderr().is_terminal();
        let display = match mode {
            ProgressMode::Off => Display::Off,
            ProgressMode::Plain => Display::Plain {
                last: Instant::now(),
            },
            ProgressMode::Auto if !terminal => Display::Plain {
                last: Instant::now(),
            },
            ProgressMode::Auto | ProgressMode::Bar => {
                let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
                let style = ProgressStyle::with_template(
                    "{spinner} [{elapsed_precise}] {wide_bar} {human_pos}/{human_len} {rate:>8} ETA {eta:>4}\n  {msg}",
                )
                .map(|s| {
                    s.with_key("rate", |st: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                        let _ = write!(w, "{:.0}/s", st.per_sec());
                    })
                })
                .unwrap_or_else(|_| ProgressStyle::default_bar());
                bar.set_style(style);
                bar.enable_steady_tick(Duration::from_millis(200));
                Display::Bar(bar)
            }
        };
        let p = Progress {
            display,
            total,
            done: 0,
            counts: OutcomeCounts::default(),
            started: Instant::now(),
        };
        p.refresh_message();
        p
    }

    /// One check finished.
    pub fn record(&mut self, outcome: Outcome) {
        self.done += 1;
        self.counts.add(outcome);
        if let Display::Bar(bar) = &self.display {
            bar.inc(1);
            self.refresh_message();
        }
    }

    /// Called about once a second: prints a plain line when it is time.
    pub fn tick(&mut self) {
        if let Display::Plain { last } = &mut self.display
            && last.elapsed() >= PLAIN_EVERY
        {
            *last = Instant::now();
            eprintln!("{}", self.line());
        }
    }

    /// Clear the bar, or print the last plain line.
    pub fn finish(&mut self) {
        match &self.display {
            Display::Bar(bar) => bar.finish_and_clear(),
            Display::Plain { .. } => eprintln!("{}", self.line()),
            Display::Off => {}
        }
        self.display = Display::Off;
    }

    fn counts_text(&self) -> String {
        let c = &self.counts;
        let mut s = format!(
            "healthy {} · problems {} · unreachable {}",
            c.healthy, c.problems, c.unreachable
        );
        if c.could_not_check > 0 {
            s.push_str(&format!(" · could not check {}", c.could_not_check));
        }
        s
    }

    fn refresh_message(&self) {
        if let Display::Bar(bar) = &self.display {
            bar.set_message(self.counts_text());
        }
    }

    /// `scan: 1234/5000 (24.7%) · 512/s · ETA 7s · healthy 10 · problems 800 · unreachable 424`
    fn line(&self) -> String {
        let secs = self.started.elapsed().as_secs_f64().max(1e-3);
        let rate = self.done as f64 / secs;
        let pct = if self.total > 0 {
            100.0 * self.done as f64 / self.total as f64
        } else {
            100.0
        };
        let eta = if rate > 0.0 && self.total > self.done {
            format!("{:.0}s", (self.total - self.done) as f64 / rate)
        } else {
            "0s".into()
        };
        format!(
            "scan: {}/{} ({pct:.1}%) · {rate:.0}/s · ETA {eta} · {}",
            self.done,
            self.total,
            self.counts_text()
        )
    }
}
