//! Evidence read from files exported from the server or the client (event logs, registry,
//! certificates, .rdp files).

use serde::{Deserialize, Serialize};

/// Offline evidence about one host (`evidence.host`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct HostEvidence {
    pub events_read: u64,
    pub records_skipped: u64,
}
