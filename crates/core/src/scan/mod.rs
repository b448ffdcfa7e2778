//! `rdpdoctor scan`: the probe over a fleet, streamed and resumable.
//!
//! ```text
//! sources ─► entries ─► targets ─► (exclude, dedup, skip finished) ─► engine ─► Report stream
//!  (args,     (host,     (lazy        plan.rs, key.rs, exclude.rs      engine.rs,   │
//!   files,     CIDR,      ranges)                                      rate.rs,     ├─► results file (results.rs)
//!   stdin)     .rdp)                                                   politeness   └─► FleetSummary (summary.rs)
//! ```
//!
//! Invariant: **memory is flat in the number of targets** except for a compact key set (8
//! bytes per IPv4 target) used to remove duplicates and finished targets. Ranges expand lazily,
//! files are read line by line, the engine holds at most `concurrency` checks, reports are
//! written as they finish and folded into the summary, which keeps counters and bounded lists.
//!
//! Pure parts (no I/O, no clock): [`entry`], [`key`], [`exclude`] matching,
//! [`rate::TokenBucket`], [`row`], [`summary`], [`bounded`].

pub mod bounded;
pub mod engine;
pub mod entry;
pub mod exclude;
pub mod key;
pub mod plan;
pub mod politeness;
pub mod rate;
pub mod rdpfile;
pub mod results;
pub mod row;
pub mod source;
pub mod summary;

pub use engine::{Engine, ScanSettings};
pub use exclude::Exclusions;
pub use key::{KeySet, TargetKey};
pub use plan::{Plan, PlanError, Survey};
pub use rate::RateGate;
pub use row::{Outcome, ServerRow};
pub use source::Source;
pub use summary::FleetSummary;

#[cfg(test)]
pub(crate) mod testing {
    use std::path::PathBuf;

    /// A fresh directory under the system temp dir (removed by the test that made it).
    pub fn tempdir() -> PathBuf {
        let d = std::env::temp_dir().join(format!(
            "rdpdoctor-scan-test-{}-{}",
            std::process::id(),
            rand::random::<u64>()
        ));
        std::fs::create_dir_all(&d).unwrap();
        d
    }
}
