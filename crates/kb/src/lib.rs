//! The knowledge base: what rdpdoctor knows about RDP failures, as data.
//!
//! Two halves, both compiled into the binary and validated by tests:
//! - the **cause catalog** ([`catalog`]): one entry per stable cause id from `CAUSES.md`, with the
//!   explanation and the fix as numbered steps with exact commands, plus the client-side
//!   checklist shown when every server-side check passes;
//! - the **code tables** ([`codes`]): disconnect reasons, Set Error Info codes, RDP_NEG failure
//!   codes, NTSTATUS / HRESULT values, TLS alerts and event IDs, with [`explain()`] to look any of
//!   them up.
//!
//! No I/O: the data is embedded with `include_str!` and parsed once.

pub mod catalog;
pub mod codes;
pub mod explain;
pub mod render;

pub use catalog::{
    Category, Cause, CauseCheck, ChecklistItem, Command, Detection, Environment, FixRecipe,
    FixStep, Severity, Shell, cause, causes, client_checklist,
};
pub use codes::{CodeEntry, CodeTable};
pub use explain::{Explanation, explain};
