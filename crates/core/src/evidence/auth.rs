//! Evidence from an authenticated connection attempt (only when the user asked for one).
//! Never holds a credential.

use serde::{Deserialize, Serialize};

/// What happened when rdpdoctor logged on with the user's credentials.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct AuthAttempt {
    /// The user name tried (never the password).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// The last connection stage that completed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stage_reached: Option<String>,
    /// NTSTATUS of a CredSSP failure, as `0xC000006D`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ntstatus: Option<String>,
    /// The raw Set Error Info code, when the server sent one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_info: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_info_name: Option<String>,
    /// Whether the whole sequence completed (a session would start).
    #[serde(default)]
    pub connected: bool,
}
