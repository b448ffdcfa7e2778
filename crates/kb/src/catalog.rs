//! The cause catalog: stable ids, explanations and fixes.
//!
//! The catalog lives in `data/causes.toml` so that adding a cause is a data change plus one
//! diagnosis rule. Ids are part of the JSON contract: never rename one.

use serde::{Deserialize, Serialize};
use std::sync::LazyLock;

/// How bad a cause is for the connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The connection fails.
    Blocker,
    /// Works now, but will fail or is unsafe.
    Risk,
    /// Worth knowing, nothing is broken.
    Info,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Blocker => "blocker",
            Severity::Risk => "risk",
            Severity::Info => "info",
        }
    }
}

/// Where in the connection a cause sits; mirrors the sections of `CAUSES.md`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Category {
    Reachability,
    Negotiation,
    Certificate,
    Authentication,
    ServerEvidence,
    Client,
}

/// The environments a cause and its fix apply to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Environment {
    OnPremises,
    AzureVm,
    WindowsClientHost,
    RdGateway,
    Vpn,
}

/// What evidence can reveal a cause. Rules exist for `live`; the others need files from the
/// server or client, or credentials.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Detection {
    /// Seen by an unauthenticated probe from the client.
    Live,
    /// Needs an authenticated connection attempt.
    Authenticated,
    /// Needs server files (event logs, registry).
    Offline,
    /// Needs client-side evidence (a .rdp file, the client machine).
    Client,
}

/// The shell or tool a command is written for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Shell {
    Powershell,
    Cmd,
    Registry,
    GroupPolicy,
    Gui,
    AzureCli,
    AzurePowershell,
    Bash,
}

/// One exact command or setting path.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Command {
    pub shell: Shell,
    pub text: String,
}

/// One numbered step of a fix.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FixStep {
    pub text: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub commands: Vec<Command>,
}

/// The fix for a cause: what to do, how to check it worked, how to undo a temporary workaround.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FixRecipe {
    /// One line: the fix in a sentence.
    pub summary: String,
    pub steps: Vec<FixStep>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub verify: Vec<FixStep>,
    /// How to undo any workaround used while testing (lowered security layer, NLA off, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub undo: Option<String>,
}

/// One catalog entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cause {
    /// Stable id (`cert-expired`); appears in JSON output.
    pub id: String,
    pub title: String,
    pub category: Category,
    pub severity: Severity,
    /// What the cause is, in an admin's words.
    pub explanation: String,
    /// What it breaks, as the user sees it.
    pub breaks: String,
    pub environments: Vec<Environment>,
    /// How the cause can be detected.
    pub detection: Vec<Detection>,
    /// 1-5: how often the fix resolves the symptom.
    pub effectiveness: u8,
    /// 1-5: how hard the fix is to apply.
    pub difficulty: u8,
    pub fix: FixRecipe,
    #[serde(default)]
    pub references: Vec<String>,
}

#[derive(Deserialize)]
struct CatalogFile {
    cause: Vec<Cause>,
}

static CATALOG: LazyLock<Vec<Cause>> = LazyLock::new(|| {
    let file: CatalogFile = toml::from_str(include_str!("../data/causes.toml"))
        .expect("data/causes.toml is validated by the kb tests");
    file.cause
});

/// Every cause in catalog order (the order of `CAUSES.md`).
pub fn causes() -> &'static [Cause] {
    &CATALOG
}

/// The catalog entry for a cause id.
pub fn cause(id: &str) -> Option<&'static Cause> {
    CATALOG.iter().find(|c| c.id == id)
}
