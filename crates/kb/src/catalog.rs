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

impl Category {
    /// Every category, in catalog order.
    pub const ALL: [Category; 6] = [
        Category::Reachability,
        Category::Negotiation,
        Category::Certificate,
        Category::Authentication,
        Category::ServerEvidence,
        Category::Client,
    ];

    /// The JSON spelling (`server-evidence`).
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Reachability => "reachability",
            Category::Negotiation => "negotiation",
            Category::Certificate => "certificate",
            Category::Authentication => "authentication",
            Category::ServerEvidence => "server-evidence",
            Category::Client => "client",
        }
    }

    /// A heading for reports and `rdpdoctor causes`.
    pub fn title(self) -> &'static str {
        match self {
            Category::Reachability => "Reaching the server",
            Category::Negotiation => "Security negotiation and TLS",
            Category::Certificate => "Certificate",
            Category::Authentication => "Authentication and the session",
            Category::ServerEvidence => "Server evidence (event logs, registry)",
            Category::Client => "Client side",
        }
    }
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

impl Environment {
    /// The JSON spelling (`azure-vm`).
    pub fn as_str(self) -> &'static str {
        match self {
            Environment::OnPremises => "on-premises",
            Environment::AzureVm => "azure-vm",
            Environment::WindowsClientHost => "windows-client-host",
            Environment::RdGateway => "rd-gateway",
            Environment::Vpn => "vpn",
        }
    }
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

impl Detection {
    /// The JSON spelling (`authenticated`).
    pub fn as_str(self) -> &'static str {
        match self {
            Detection::Live => "live",
            Detection::Authenticated => "authenticated",
            Detection::Offline => "offline",
            Detection::Client => "client",
        }
    }
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

impl Shell {
    /// The JSON spelling (`group-policy`).
    pub fn as_str(self) -> &'static str {
        match self {
            Shell::Powershell => "powershell",
            Shell::Cmd => "cmd",
            Shell::Registry => "registry",
            Shell::GroupPolicy => "group-policy",
            Shell::Gui => "gui",
            Shell::AzureCli => "azure-cli",
            Shell::AzurePowershell => "azure-powershell",
            Shell::Bash => "bash",
        }
    }

    /// A short label to print before a command (`PS>`, `cmd>`, `GPO:`).
    pub fn label(self) -> &'static str {
        match self {
            Shell::Powershell => "PS>",
            Shell::Cmd => "cmd>",
            Shell::Registry => "Registry:",
            Shell::GroupPolicy => "Group Policy:",
            Shell::Gui => "GUI:",
            Shell::AzureCli => "az>",
            Shell::AzurePowershell => "Az PS>",
            Shell::Bash => "$",
        }
    }
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
    /// What rdpdoctor looks at to recognise the cause, in one line.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub signals: String,
    /// How to test for the cause with rdpdoctor (`{host}`/`{port}` placeholders).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub checks: Vec<CauseCheck>,
}

/// One way to test for a cause with rdpdoctor.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CauseCheck {
    /// The rdpdoctor command line, e.g. `rdpdoctor check {host}:{port} --deep`.
    pub command: String,
    /// What that command shows for this cause.
    pub note: String,
}

/// One client-side triage step, shown when every server-side check passed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChecklistItem {
    /// What to check and why, in one or two sentences.
    pub text: String,
    /// The cause this step rules in or out, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cause: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub commands: Vec<Command>,
}

impl ChecklistItem {
    /// The step as one line, commands appended (`text (cmd: ...; ...)`).
    pub fn to_line(&self) -> String {
        if self.commands.is_empty() {
            return self.text.clone();
        }
        let cmds: Vec<&str> = self.commands.iter().map(|c| c.text.as_str()).collect();
        format!("{} [{}]", self.text, cmds.join(" ; "))
    }
}

/// The placeholders fix texts may use. `{host}` and `{port}` are always filled in by the
/// diagnosis; the others only by the rules that know them.
pub const PLACEHOLDERS: &[&str] = &[
    "host",
    "port",
    "thumbprint",
    "not_after",
    "days",
    "versions",
    "suites",
    "code",
    "user",
    "domain",
    "address",
];

/// Replace `{name}` placeholders with the given values; placeholders without a value are left
/// as they are, so no text is ever lost.
pub fn fill_placeholders(text: &str, values: &[(&str, &str)]) -> String {
    let mut out = text.to_string();
    for (name, value) in values {
        out = out.replace(&format!("{{{name}}}"), value);
    }
    out
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CatalogFile {
    cause: Vec<Cause>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ChecklistFile {
    step: Vec<ChecklistItem>,
}

static CATALOG: LazyLock<Vec<Cause>> = LazyLock::new(|| {
    let file: CatalogFile = toml::from_str(include_str!("../data/causes.toml"))
        .expect("data/causes.toml is validated by the kb tests");
    file.cause
});

static CHECKLIST: LazyLock<Vec<ChecklistItem>> = LazyLock::new(|| {
    let file: ChecklistFile = toml::from_str(include_str!("../data/client_checklist.toml"))
        .expect("data/client_checklist.toml is validated by the kb tests");
    file.step
});

/// The client-side triage steps, in the order the field checks them. Shown when every
/// server-side check passed, so that the admin knows the problem is on their side of the wire.
pub fn client_checklist() -> &'static [ChecklistItem] {
    &CHECKLIST
}

/// Every cause of one category, in catalog order.
pub fn causes_in(category: Category) -> impl Iterator<Item = &'static Cause> {
    CATALOG.iter().filter(move |c| c.category == category)
}

/// Every cause in catalog order (the order of `CAUSES.md`).
pub fn causes() -> &'static [Cause] {
    &CATALOG
}

/// The catalog entry for a cause id.
pub fn cause(id: &str) -> Option<&'static Cause> {
    CATALOG.iter().find(|c| c.id == id)
}
