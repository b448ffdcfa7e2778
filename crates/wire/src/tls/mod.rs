//! TLS pieces no Rust TLS library offers: hand-built ClientHellos for any version and suite,
//! a reader for the server's plaintext flight, and name tables.

pub mod alert;
pub mod groups;

pub use alert::{Alert, alert_name};
