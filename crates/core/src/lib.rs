//! rdpdoctor core: one pipeline.
//!
//! ```text
//! targets ──► probe ──┐
//!                     ├──► Evidence ──► diagnose ──► Diagnosis ──► (reports live in the CLI)
//! files ───► offline ─┘
//! ```
//!
//! - [`evidence`]: the single data model, serialised as a stable versioned JSON document.
//! - [`probe`]: async stages (dns, tcp, negotiate, tls, credssp, ...) each returning a [`Stage`].
//! - [`diagnose`]: a pure function from evidence to ranked findings; no I/O.
//!
//! Invariant: `evidence` and `diagnose` do no I/O and never read the clock on their own; time
//! comes in through [`diagnose::DiagnoseOptions`].

pub mod cert;
pub mod diagnose;
pub mod evidence;
pub mod offline;
pub mod probe;
pub mod scan;
pub mod target;

pub use evidence::{Evidence, Stage, StageError, StageName};
pub use target::Target;
