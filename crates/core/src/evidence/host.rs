//! Evidence read from files exported from a server or a client machine (`evidence.host`):
//! event logs, registry exports and hives, certificate files.
//!
//! Everything here is already aggregated and bounded: a 500 MB Security log becomes counts per
//! status code, per source address and per user, the time range, and a timeline of at most a
//! few thousand entries. Every fact keeps where it came from (the file, the registry key), so a
//! finding can say "SecurityLayer = 0 (policy, HKLM\SOFTWARE\Policies\...) in server01.reg".
//!
//! Times are UTC. Counters are `u64`; lists marked "top N" keep the N largest keys and say so in
//! the matching `distinct_*` counter.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;

use super::ServerCertificate;

/// Offline evidence about one machine (`evidence.host`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct HostEvidence {
    /// The computer name found in the files (FQDN when one was seen), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Other names the same machine goes by in the files (short name, NetBIOS name).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    /// Event records decoded from .evtx files (whatever their event id).
    #[serde(default)]
    pub events_read: u64,
    /// Event records that could not be decoded (corrupt or carved); skipped, never fatal.
    #[serde(default)]
    pub records_skipped: u64,
    /// Decoded records rdpdoctor knows and used (RDP, logon, TLS and CredSSP events).
    #[serde(default)]
    pub events_relevant: u64,
    /// Relevant records left out because they fall outside the requested time window.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub events_outside_window: u64,
    /// Time of the oldest and newest relevant event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_event: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_event: Option<DateTime<Utc>>,
    /// The files this evidence came from.
    #[serde(default)]
    pub files: Vec<SourceFile>,
    /// Relevant events per (source, event id).
    #[serde(default)]
    pub event_counts: Vec<EventCount>,
    /// Logons from the Security log (4624/4625/4740/4778/4779/4825).
    #[serde(default)]
    pub logons: LogonSummary,
    /// RDP connections seen by the server (RdpCoreTS, RemoteConnectionManager).
    #[serde(default)]
    pub connections: ConnectionSummary,
    /// LsaSrv 6041: this machine, as a client, refused a server's CredSSP version.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub credssp_refusals: Vec<CredsspRefusal>,
    /// Schannel TLS errors (System log).
    #[serde(default)]
    pub schannel: SchannelSummary,
    /// Disconnect reasons: LocalSessionManager 40, RdpCoreTS 103, RDP client 1026.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub disconnects: Vec<DisconnectCount>,
    /// RDP certificate events of TermService (1051–1065).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub certificate_events: Vec<CertificateEvent>,
    /// Registry values that matter for RDP, with their sources.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registry: Option<RegistryEvidence>,
    /// Certificates found in files (.cer, .crt, .pem, .der, .pfx).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub certificates: Vec<CertificateFile>,
    /// What happened, in time order, with the failures marked.
    #[serde(default)]
    pub timeline: Timeline,
    /// Problems with the files themselves (truncated, unreadable, not what the name says).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<FileWarning>,
}

/// Whether two spellings name the same computer: equal ignoring case and a trailing dot; a
/// short name equals an FQDN's first label (`server01` ~ `server01.contoso.com`); a NetBIOS
/// name is the first 15 characters of a longer host name. Two different FQDNs never match, and
/// IP addresses match only themselves.
pub fn host_names_match(a: &str, b: &str) -> bool {
    let norm = |s: &str| {
        s.trim()
            .trim_start_matches('[')
            .trim_end_matches(']')
            .trim_end_matches('.')
            .to_lowercase()
    };
    let (a, b) = (norm(a), norm(b));
    if a.is_empty() || b.is_empty() {
        return false;
    }
    if a == b {
        return true;
    }
    let is_ip = |s: &str| s.parse::<std::net::IpAddr>().is_ok();
    if is_ip(&a) || is_ip(&b) {
        return false;
    }
    if a.contains('.') && b.contains('.') {
        return false;
    }
    let la = a.split('.').next().unwrap_or_default();
    let lb = b.split('.').next().unwrap_or_default();
    la == lb
        || (la.chars().count() == 15 && lb.starts_with(la))
        || (lb.chars().count() == 15 && la.starts_with(lb))
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl HostEvidence {
    /// The count for one event, if any was seen.
    pub fn event(&self, source: EventSource, event_id: u16) -> Option<&EventCount> {
        self.event_counts
            .iter()
            .find(|c| c.source == source && c.event_id == event_id)
    }

    /// How many times an event was seen (0 when never).
    pub fn count(&self, source: EventSource, event_id: u16) -> u64 {
        self.event(source, event_id).map_or(0, |c| c.count)
    }

    /// The effective value of a registry DWORD setting (`SecurityLayer`), policy first.
    pub fn registry_dword(&self, name: &str) -> Option<u32> {
        self.registry.as_ref()?.dword(name)
    }

    /// The registry setting by its name, with both copies (listener and policy).
    pub fn registry_setting(&self, name: &str) -> Option<&RegistrySetting> {
        self.registry.as_ref()?.setting(name)
    }

    /// Whether this machine is the one `query` names: its FQDN, short name or NetBIOS name
    /// (case-insensitive), or an address listed for it (from a collection manifest).
    pub fn matches_host(&self, query: &str) -> bool {
        self.name
            .iter()
            .chain(self.aliases.iter())
            .any(|n| host_names_match(n, query))
    }

    /// Whether this evidence holds anything at all.
    pub fn is_empty(&self) -> bool {
        self.events_read == 0
            && self.records_skipped == 0
            && self.registry.is_none()
            && self.certificates.is_empty()
    }
}

/// Where a relevant event came from. Serialised with the short names below, which scripts may
/// match on (`evidence.host.event_counts[].source`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum EventSource {
    /// Microsoft-Windows-TerminalServices-RemoteConnectionManager (TermService), System and
    /// Operational channels.
    RemoteConnectionManager,
    /// Microsoft-Windows-TerminalServices-LocalSessionManager/Operational.
    LocalSessionManager,
    /// Microsoft-Windows-RemoteDesktopServices-RdpCoreTS/Operational.
    RdpCoreTS,
    /// Microsoft-Windows-Security-Auditing (Security log).
    #[serde(rename = "Security-Auditing")]
    SecurityAuditing,
    /// Schannel (System log).
    Schannel,
    /// LsaSrv (System log).
    LsaSrv,
    /// Microsoft-Windows-TerminalServices-ClientActiveXCore (RDPClient/Operational, on clients).
    #[serde(rename = "RDPClient")]
    RdpClient,
}

impl EventSource {
    pub fn as_str(self) -> &'static str {
        match self {
            EventSource::RemoteConnectionManager => "RemoteConnectionManager",
            EventSource::LocalSessionManager => "LocalSessionManager",
            EventSource::RdpCoreTS => "RdpCoreTS",
            EventSource::SecurityAuditing => "Security-Auditing",
            EventSource::Schannel => "Schannel",
            EventSource::LsaSrv => "LsaSrv",
            EventSource::RdpClient => "RDPClient",
        }
    }
}

impl fmt::Display for EventSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One file read.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceFile {
    /// The path as given, or `bundle.zip!inner/path` for a file inside a zip.
    pub path: String,
    /// `evtx`, `reg`, `hive`, `certificate`, `rdp`, `manifest`.
    pub kind: String,
    /// The event log channel (`System`, `Security`, ...), for .evtx files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub events_read: u64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub records_skipped: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_event: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_event: Option<DateTime<Utc>>,
}

/// A problem with one file: the file and what was wrong. What was read before the problem is
/// kept.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileWarning {
    pub file: String,
    pub problem: String,
}

impl fmt::Display for FileWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.file, self.problem)
    }
}

/// How many times one event was seen, and when.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventCount {
    pub source: EventSource,
    pub event_id: u16,
    pub count: u64,
    pub first: DateTime<Utc>,
    pub last: DateTime<Utc>,
}

/// A key (an address, a user, a code) and how often and when it was seen.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counted {
    pub key: String,
    pub count: u64,
    pub first: DateTime<Utc>,
    pub last: DateTime<Utc>,
}

/// Failed logons with one NTSTATUS (Status, or SubStatus when it is more precise).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusCount {
    /// `0xC000006A`: SubStatus when it is set, else Status.
    pub status: String,
    /// The Status field when `status` is the SubStatus (`0xC000006D`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outer_status: Option<String>,
    /// What the code means, in a few words.
    pub meaning: String,
    pub count: u64,
    pub first: DateTime<Utc>,
    pub last: DateTime<Utc>,
    /// The last account and source address that failed with it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_user: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_source_ip: Option<String>,
}

/// Logons relevant to RDP, from the Security log.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogonSummary {
    /// 4625 with logon type 10 (RemoteInteractive) or 3 (Network: NLA failures are logged so).
    pub failed: u64,
    /// Of those, logon type 10.
    pub failed_remote_interactive: u64,
    /// Of those, logon type 3.
    pub failed_network: u64,
    /// 4624 with logon type 10.
    pub succeeded_remote_interactive: u64,
    /// 4825: denied access to Remote Desktop (not a member of Remote Desktop Users).
    pub denied_remote_desktop: u64,
    /// 4740: account locked out.
    pub lockouts: u64,
    /// 4778 / 4779: session reconnected / disconnected.
    pub sessions_reconnected: u64,
    pub sessions_disconnected: u64,
    /// Distinct source addresses and accounts among the failures (saturates at a bound).
    pub distinct_source_ips: u64,
    pub distinct_users: u64,
    /// Failures per status code.
    #[serde(default)]
    pub by_status: Vec<StatusCount>,
    /// Failures per source address (top N).
    #[serde(default)]
    pub by_source_ip: Vec<Counted>,
    /// Failures per account (top N).
    #[serde(default)]
    pub by_user: Vec<Counted>,
    /// Accounts denied by 4825, and accounts locked out (4740).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub denied_users: Vec<Counted>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub locked_users: Vec<Counted>,
}

/// RDP connections seen by the server.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectionSummary {
    /// RemoteConnectionManager 261: the listener received a connection.
    pub listener_connections: u64,
    /// RemoteConnectionManager 1149: user authentication (NLA) succeeded.
    pub authenticated: u64,
    /// RdpCoreTS 131 by transport.
    pub accepted_tcp: u64,
    pub accepted_udp: u64,
    /// RdpCoreTS 140: the user name or password was wrong.
    pub bad_credentials: u64,
    /// Distinct client addresses in 131 and 140 (saturates at a bound).
    pub distinct_client_ips: u64,
    pub distinct_bad_credential_ips: u64,
    /// RdpCoreTS 131 per client address, without the port (top N).
    #[serde(default)]
    pub by_client_ip: Vec<Counted>,
    /// RdpCoreTS 140 per client address (top N).
    #[serde(default)]
    pub bad_credentials_by_ip: Vec<Counted>,
    /// RdpCoreTS 135: the transport each multi-transport attempt ended with (`UDP`,
    /// `TCP: Reason Code: 2 (Forced by Server Configuration)`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub multitransport: Vec<Counted>,
    /// RdpCoreTS 226 / 99 / 142 / 143 error codes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub transport_errors: Vec<Counted>,
    /// Authentications (1149) and logons (LSM 21/25) per user (top N).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub authenticated_users: Vec<Counted>,
}

/// LsaSrv 6041: a CredSSP version offered by a server was refused by Encryption Oracle
/// Remediation on this machine.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CredsspRefusal {
    /// The service principal (`TERMSRV/server01`).
    pub target: String,
    /// The CredSSP version the server offered (below 6: not patched for CVE-2018-0886).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offered_version: Option<u32>,
    pub count: u64,
    pub first: DateTime<Utc>,
    pub last: DateTime<Utc>,
}

/// A TLS alert code and how often it was seen.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertCount {
    pub code: u8,
    pub name: String,
    pub count: u64,
    pub first: DateTime<Utc>,
    pub last: DateTime<Utc>,
}

/// Schannel errors. Schannel logs for every TLS user on the machine (IIS, LDAP, RDP), so these
/// are evidence about RDP only when they line up with RDP failures.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SchannelSummary {
    /// 36870: the TLS credential's private key could not be used (key = error code / state).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub private_key_errors: Vec<Counted>,
    /// 36871: a TLS credential could not be created (key = internal error state).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub credential_errors: Vec<Counted>,
    /// 36874: a client offered no cipher suite the server supports.
    #[serde(default)]
    pub no_shared_cipher: u64,
    /// 36888: fatal alerts this machine generated and sent.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub alerts_sent: Vec<AlertCount>,
    /// 36887: fatal alerts this machine received.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub alerts_received: Vec<AlertCount>,
}

/// Where a disconnect reason was logged.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DisconnectLog {
    /// LocalSessionManager 40 (reason codes 0–12, the same values as ERRINFO 0x0–0xC).
    LocalSessionManager,
    /// RdpCoreTS 103 (undocumented reason codes).
    RdpCoreTs,
    /// RDP client 1026 (the mstsc disconnect reason, decimal).
    RdpClient,
}

/// A disconnect reason and how often it was seen.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DisconnectCount {
    pub log: DisconnectLog,
    pub code: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meaning: Option<String>,
    pub count: u64,
    pub first: DateTime<Utc>,
    pub last: DateTime<Utc>,
}

/// TermService certificate events (1051–1065) by event id.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertificateEvent {
    pub event_id: u16,
    pub meaning: String,
    pub count: u64,
    pub first: DateTime<Utc>,
    pub last: DateTime<Utc>,
    /// The certificate's SHA-1 thumbprint from the event data, upper-case hex (1052, 1056).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_thumbprint: Option<String>,
    /// The status code the event carries (1057, 1058).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_status: Option<String>,
}

/// How an event reads in the timeline.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mark {
    /// Something that makes connections fail.
    Failure,
    /// Worth a look (a disconnect with a reason, a certificate about to expire).
    Warning,
    /// A step that worked (a logon, a connection accepted).
    Success,
    Info,
}

impl Mark {
    pub fn as_str(self) -> &'static str {
        match self {
            Mark::Failure => "failure",
            Mark::Warning => "warning",
            Mark::Success => "success",
            Mark::Info => "info",
        }
    }
}

/// One line of the timeline.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimelineEntry {
    pub time: DateTime<Utc>,
    /// The file the event came from.
    pub source: String,
    /// The event's source (`Security-Auditing`, `Schannel`, ...).
    pub provider: EventSource,
    pub event_id: u16,
    pub mark: Mark,
    /// What happened in our words, with the key fields.
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record_id: Option<u64>,
}

/// Relevant events in time order (`evidence.host.timeline`). Bounded: when there are more
/// than `limit`, failures are kept first and the newest win within a mark; `omitted` says how
/// many were left out.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Timeline {
    pub entries: Vec<TimelineEntry>,
    /// Relevant events seen in total.
    pub total: u64,
    /// Events left out to stay within `limit`.
    pub omitted: u64,
    pub limit: usize,
}

/// One registry value and where it was read.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourcedValue {
    pub value: RegValue,
    /// The key, normalised to `HKLM\SYSTEM\CurrentControlSet\...` / `HKLM\SOFTWARE\...`.
    pub key: String,
    /// The file it came from.
    pub file: String,
}

/// A registry value's data.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", content = "data", rename_all = "snake_case")]
pub enum RegValue {
    Dword(u32),
    Qword(u64),
    String(String),
    MultiString(Vec<String>),
    /// Hex, upper case (`SSLCertificateSHA1Hash`).
    Binary(String),
    /// Another type, raw: (type number, hex).
    Other(u32, String),
}

impl RegValue {
    pub fn as_dword(&self) -> Option<u32> {
        match self {
            RegValue::Dword(v) => Some(*v),
            RegValue::Qword(v) => u32::try_from(*v).ok(),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            RegValue::String(s) => Some(s),
            _ => None,
        }
    }
}

impl fmt::Display for RegValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RegValue::Dword(v) => write!(f, "{v}"),
            RegValue::Qword(v) => write!(f, "{v}"),
            RegValue::String(s) => write!(f, "\"{s}\""),
            RegValue::MultiString(v) => write!(f, "{v:?}"),
            RegValue::Binary(h) => f.write_str(h),
            RegValue::Other(t, h) => write!(f, "type {t}: {h}"),
        }
    }
}

/// Where the effective value of a setting comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SettingOrigin {
    /// The machine's own configuration (the listener key, SCHANNEL, ...).
    Local,
    /// A Group Policy copy under `SOFTWARE\Policies`, which wins.
    Policy,
}

/// One setting with both its copies and the value Windows uses.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegistrySetting {
    /// The value name (`SecurityLayer`, `fDenyTSConnections`, `AllowEncryptionOracle`).
    pub name: String,
    /// The value in effect: the policy copy when there is one, else the local one.
    pub effective: RegValue,
    pub origin: SettingOrigin,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local: Option<SourcedValue>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<SourcedValue>,
}

impl RegistrySetting {
    /// Where the effective value was read (`SecurityLayer = 0 (policy, KEY in FILE)`).
    pub fn describe(&self) -> String {
        let src = match self.origin {
            SettingOrigin::Policy => self.policy.as_ref(),
            SettingOrigin::Local => self.local.as_ref(),
        };
        match src {
            Some(s) => format!(
                "{} = {} ({}, {} in {})",
                self.name,
                self.effective,
                match self.origin {
                    SettingOrigin::Policy => "Group Policy",
                    SettingOrigin::Local => "local setting",
                },
                s.key,
                s.file
            ),
            None => format!("{} = {}", self.name, self.effective),
        }
    }
}

/// The state of one SCHANNEL protocol for one role.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SchannelProtocol {
    /// `SSL 3.0`, `TLS 1.0`, `TLS 1.1`, `TLS 1.2`, `TLS 1.3`, `DTLS 1.2`, ...
    pub protocol: String,
    /// `Server` or `Client`.
    pub role: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disabled_by_default: Option<u32>,
    pub state: ProtocolState,
    pub key: String,
    pub file: String,
}

/// What the SCHANNEL values mean together.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ProtocolState {
    /// Enabled ≠ 0 and DisabledByDefault = 0 (or absent).
    Enabled,
    /// Enabled = 0.
    Disabled,
    /// Enabled ≠ 0 but DisabledByDefault ≠ 0: only applications that ask for it get it.
    DisabledByDefault,
    /// The key exists without values: the operating system default applies.
    OsDefault,
}

/// Registry values that matter for RDP (`evidence.host.registry`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegistryEvidence {
    /// Settings by name, in a stable order.
    #[serde(default)]
    pub settings: Vec<RegistrySetting>,
    /// SCHANNEL protocol switches.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub schannel_protocols: Vec<SchannelProtocol>,
    /// `ComputerName` from a SYSTEM hive or export.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub computer_name: Option<String>,
    /// The control set that `Select\Current` names in a SYSTEM hive (`ControlSet001`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub control_set: Option<String>,
}

impl RegistryEvidence {
    pub fn setting(&self, name: &str) -> Option<&RegistrySetting> {
        self.settings
            .iter()
            .find(|s| s.name.eq_ignore_ascii_case(name))
    }

    /// The effective DWORD value of a setting.
    pub fn dword(&self, name: &str) -> Option<u32> {
        self.setting(name)?.effective.as_dword()
    }

    /// The SCHANNEL state of a protocol for a role (`"TLS 1.2"`, `"Server"`).
    pub fn protocol(&self, protocol: &str, role: &str) -> Option<&SchannelProtocol> {
        self.schannel_protocols.iter().find(|p| {
            p.protocol.eq_ignore_ascii_case(protocol) && p.role.eq_ignore_ascii_case(role)
        })
    }
}

/// A certificate read from a file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CertificateFile {
    /// The file (or `bundle.zip!cert/rdp.cer`).
    pub file: String,
    /// The decoded certificate (same shape as the live `evidence.certificate`).
    pub certificate: ServerCertificate,
    /// Whether the file also held a private key (.pfx). The key itself is never kept.
    #[serde(default)]
    pub has_private_key: bool,
    /// Whether its SHA-1 thumbprint is the one `SSLCertificateSHA1Hash` names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_listener_certificate: Option<bool>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_names_match_short_fqdn_and_netbios() {
        assert!(host_names_match("server01", "SERVER01.contoso.com"));
        assert!(host_names_match(
            "server01.contoso.com.",
            "Server01.Contoso.com"
        ));
        assert!(!host_names_match(
            "server01.contoso.com",
            "server01.fabrikam.com"
        ));
        assert!(host_names_match(
            "DESKTOP-1N4R894",
            "desktop-1n4r894xyz.corp.local"
        ));
        assert!(!host_names_match("DESKTOP-1N4R89", "desktop-1n4r894xyz"));
        assert!(!host_names_match("server02", "server01"));
        assert!(host_names_match("10.0.0.5", "10.0.0.5"));
        assert!(!host_names_match("10.0.0.5", "10.0.0.50"));
        assert!(host_names_match("[fe80::1]", "fe80::1"));
        assert!(!host_names_match("", "x"));
        let h = HostEvidence {
            name: Some("fs03.offsec.lan".into()),
            aliases: vec!["10.23.23.5".into()],
            ..Default::default()
        };
        assert!(h.matches_host("FS03"));
        assert!(h.matches_host("10.23.23.5"));
        assert!(!h.matches_host("fs03vuln"));
    }
}
