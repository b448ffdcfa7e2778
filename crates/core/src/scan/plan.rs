//! The scan plan: sources, exclusions, the cap, and the two passes over them.
//!
//! 1. [`Plan::survey`] reads every source once, before anything is scanned: it rejects bad
//!    lines (naming file and line), enforces `--max-targets` from the *size* of each entry
//!    (computed, not expanded, so `2001:db8::/32` is refused instantly) and counts what will
//!    be checked after duplicates, exclusions and already finished targets are removed. That
//!    count is the progress bar's total.
//! 2. [`Plan::targets`] reads the sources again and yields the targets one at a time.
//!
//! Both passes hold only a [`KeySet`] of what was seen: memory grows by a few bytes per target,
//! never by a `Target` or a `Report`.

use super::entry::Entry;
use super::exclude::Exclusions;
use super::key::{KeySet, TargetKey};
use super::source::{Entries, Origin, Source, SourceError};
use crate::Target;

/// What to scan.
#[derive(Debug)]
pub struct Plan {
    pub sources: Vec<Source>,
    pub default_port: u16,
    pub exclusions: Exclusions,
    /// Most targets the inputs may expand to, before duplicates are removed.
    pub max_targets: u64,
}

/// The counts of the first pass.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Survey {
    /// Targets the inputs expand to.
    pub listed: u64,
    pub duplicates: u64,
    pub excluded: u64,
    /// Already in the results file (`--resume`).
    pub already_done: u64,
    /// Left to check.
    pub to_check: u64,
}

/// Why the plan cannot be scanned.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error(transparent)]
    Source(#[from] SourceError),
    #[error(
        "{origin}: {entry} expands to {size} targets, which takes the total over --max-targets {max} ({before} before it); narrow the range or raise --max-targets"
    )]
    TooMany {
        origin: Origin,
        entry: String,
        size: String,
        before: u64,
        max: u64,
    },
    #[error(
        "no targets: give hosts, host:port, CIDR ranges, files of targets, .rdp files or - for standard input"
    )]
    Empty,
}

impl Plan {
    /// The first pass; see the module documentation.
    pub fn survey(&self, done: &KeySet) -> Result<Survey, PlanError> {
        let mut s = Survey::default();
        let mut seen = KeySet::new();
        for located in Entries::new(self.sources.clone(), self.default_port) {
            let located = located?;
            let size = located.entry.size();
            if u128::from(s.listed) + size > u128::from(self.max_targets) {
                return Err(PlanError::TooMany {
                    entry: describe(&located.entry),
                    size: if size == u128::MAX {
                        "2^128".into()
                    } else {
                        size.to_string()
                    },
                    origin: located.origin,
                    before: s.listed,
                    max: self.max_targets,
                });
            }
            s.listed += size as u64;
            for target in located.entry.targets() {
                match self.admit(&target, done, &mut seen) {
                    Admission::Check => s.to_check += 1,
                    Admission::Duplicate => s.duplicates += 1,
                    Admission::Excluded => s.excluded += 1,
                    Admission::Done => s.already_done += 1,
                }
            }
        }
        if s.listed == 0 {
            return Err(PlanError::Empty);
        }
        Ok(s)
    }

    /// The second pass: the targets to check, in input order. Lines that fail to read are
    /// skipped (the survey has already refused them; this only matters if a file changed in
    /// between), and expansion stops at the cap for the same reason.
    pub fn targets(self, done: KeySet) -> impl Iterator<Item = Target> + Send + 'static {
        let mut seen = KeySet::new();
        let mut listed: u64 = 0;
        let max = self.max_targets;
        Entries::new(self.sources.clone(), self.default_port)
            .filter_map(Result::ok)
            .flat_map(|l| l.entry.targets())
            .take_while(move |_| {
                listed += 1;
                listed <= max
            })
            .filter(move |t| matches!(self.admit(t, &done, &mut seen), Admission::Check))
    }

    /// A target listed twice is a duplicate the second time even when it is already done, so
    /// "already done" counts targets, not lines.
    fn admit(&self, t: &Target, done: &KeySet, seen: &mut KeySet) -> Admission {
        let key = TargetKey::of(t);
        if self.exclusions.excludes(t) {
            Admission::Excluded
        } else if !seen.insert(key.clone()) {
            Admission::Duplicate
        } else if done.contains(&key) {
            Admission::Done
        } else {
            Admission::Check
        }
    }
}

enum Admission {
    Check,
    Duplicate,
    Excluded,
    Done,
}

fn describe(e: &Entry) -> String {
    match e {
        Entry::One(t) => t.input.clone(),
        Entry::Range { net, .. } => net.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(items: &[&str], exclude: &[&str], max: u64) -> Plan {
        Plan {
            sources: items.iter().map(|s| Source::Item(s.to_string())).collect(),
            default_port: 3389,
            exclusions: Exclusions::from_sources(
                exclude
                    .iter()
                    .map(|s| Source::Item(s.to_string()))
                    .collect(),
            )
            .unwrap(),
            max_targets: max,
        }
    }

    #[test]
    fn duplicates_exclusions_and_finished_targets_are_counted_and_skipped() {
        let p = plan(
            &[
                "10.0.0.0/29",
                "10.0.0.3",
                "10.0.0.3:3389",
                "10.0.0.3:3390",
                "a.example",
                "A.example.",
            ],
            &["10.0.0.6/31"],
            100,
        );
        let mut done = KeySet::new();
        done.insert(TargetKey::new("10.0.0.0", 3389));
        done.insert(TargetKey::new("10.0.0.3", 3389));
        let s = p.survey(&done).unwrap();
        assert_eq!(
            s,
            Survey {
                listed: 13,
                duplicates: 3,
                excluded: 2,
                already_done: 2,
                to_check: 6,
            }
        );
        let got: Vec<String> = p.targets(done).map(|t| t.input).collect();
        assert_eq!(
            got,
            [
                "10.0.0.1",
                "10.0.0.2",
                "10.0.0.4",
                "10.0.0.5",
                "10.0.0.3:3390",
                "a.example"
            ]
        );
    }

    #[test]
    fn the_cap_names_the_input_before_anything_is_expanded() {
        let p = plan(&["server01", "10.0.0.0/8"], &[], 1_000_000);
        let e = p.survey(&KeySet::new()).unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.starts_with("10.0.0.0/8: 10.0.0.0/8 expands to 16777216 targets"),
            "{msg}"
        );
        assert!(msg.contains("--max-targets 1000000 (1 before it)"), "{msg}");
        // An IPv6 /0 is refused as fast as anything else.
        let e = plan(&["::/0"], &[], 10).survey(&KeySet::new()).unwrap_err();
        assert!(e.to_string().contains("2^128"), "{e}");
        // Exactly at the cap is allowed.
        assert_eq!(
            plan(&["10.0.0.0/30"], &[], 4)
                .survey(&KeySet::new())
                .unwrap()
                .to_check,
            4
        );
    }

    #[test]
    fn bad_input_and_nothing_to_do_are_errors() {
        let e = plan(&["ok.example", "bad host"], &[], 10)
            .survey(&KeySet::new())
            .unwrap_err();
        assert!(matches!(e, PlanError::Source(_)), "{e}");
        assert_eq!(
            plan(&[], &[], 10).survey(&KeySet::new()),
            Err(PlanError::Empty)
        );
    }
}
