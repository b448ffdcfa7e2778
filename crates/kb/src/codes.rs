//! Code tables: every number an RDP failure can show the admin, in our own words, with the
//! causes of the catalog it points to.
//!
//! The data lives in `data/codes/*.toml` (one file per family of codes) and is parsed once.
//! Each table keeps its entries in value order. The typed lookups below are what the diagnosis
//! rules call; [`crate::explain`] uses [`lookup_all`] and [`find_by_name`] to answer
//! `rdpdoctor explain`.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::LazyLock;

/// A family of codes. The declaration order is the order in which `explain` lists the tables a
/// number matches: what the mstsc dialog shows first, then what the server sends, then the
/// authentication status codes, then logs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CodeTable {
    /// mstsc / RDP ActiveX `discReason` ("Error code: 0x904").
    DisconnectReason,
    /// `ExtendedDisconnectReasonCode` ("Extended error code: 0x7").
    ExtendedReason,
    /// MS-RDPBCGR Set Error Info PDU (`ERRINFO_*`), sent by the server before it disconnects.
    ErrorInfo,
    /// RDP_NEG_FAILURE failure codes in the X.224 Connection Confirm.
    NegFailure,
    /// `IMsTscAxEvents::OnLogonError` codes.
    LogonError,
    /// NTSTATUS values from CredSSP `errorCode`, event 4625 Status/SubStatus.
    Ntstatus,
    /// SSPI / Schannel / crypto HRESULTs (`SEC_E_*`, `CERT_E_*`, `NTE_*`, wrapped Win32 errors).
    Hresult,
    /// HYBRID_EX Early User Authorization Result.
    AuthzResult,
    /// Reason codes of LocalSessionManager event 40.
    LsmReason,
    /// TLS alert descriptions (Schannel events 36887 / 36888).
    TlsAlert,
    /// FreeRDP client connect errors (`ERRCONNECT_*`); another client's view, so listed late.
    FreerdpConnect,
    /// Logon types of Security events 4624 / 4625.
    LogonType,
    /// Windows event IDs relevant to RDP, per provider and channel.
    Event,
    /// RDP_NEG_REQ flags (client), a bit field.
    NegRequestFlag,
    /// RDP_NEG_RSP flags (server), a bit field.
    NegResponseFlag,
    /// RDP_NEG requestedProtocols / selectedProtocol values, a bit field.
    Protocol,
}

impl CodeTable {
    /// Every table, in listing order.
    pub const ALL: [CodeTable; 16] = [
        CodeTable::DisconnectReason,
        CodeTable::ExtendedReason,
        CodeTable::ErrorInfo,
        CodeTable::NegFailure,
        CodeTable::LogonError,
        CodeTable::Ntstatus,
        CodeTable::Hresult,
        CodeTable::AuthzResult,
        CodeTable::LsmReason,
        CodeTable::TlsAlert,
        CodeTable::FreerdpConnect,
        CodeTable::LogonType,
        CodeTable::Event,
        CodeTable::NegRequestFlag,
        CodeTable::NegResponseFlag,
        CodeTable::Protocol,
    ];

    /// The key used in data files, JSON and `rdpdoctor explain TABLE:VALUE`.
    pub fn key(self) -> &'static str {
        match self {
            CodeTable::DisconnectReason => "disconnect-reason",
            CodeTable::ExtendedReason => "extended-reason",
            CodeTable::ErrorInfo => "error-info",
            CodeTable::NegFailure => "neg-failure",
            CodeTable::LogonError => "logon-error",
            CodeTable::FreerdpConnect => "freerdp-connect",
            CodeTable::Ntstatus => "ntstatus",
            CodeTable::Hresult => "hresult",
            CodeTable::AuthzResult => "authz-result",
            CodeTable::LsmReason => "lsm-reason",
            CodeTable::TlsAlert => "tls-alert",
            CodeTable::LogonType => "logon-type",
            CodeTable::Event => "event",
            CodeTable::NegRequestFlag => "neg-request-flag",
            CodeTable::NegResponseFlag => "neg-response-flag",
            CodeTable::Protocol => "protocol",
        }
    }

    /// A human title for the table.
    pub fn title(self) -> &'static str {
        match self {
            CodeTable::DisconnectReason => "mstsc disconnect reason (\"Error code\")",
            CodeTable::ExtendedReason => {
                "mstsc extended disconnect reason (\"Extended error code\")"
            }
            CodeTable::ErrorInfo => "Set Error Info code sent by the server (ERRINFO)",
            CodeTable::NegFailure => "RDP_NEG_FAILURE code (security negotiation refused)",
            CodeTable::LogonError => "OnLogonError code (RDP ActiveX client)",
            CodeTable::FreerdpConnect => "FreeRDP connect error (ERRCONNECT)",
            CodeTable::Ntstatus => "NTSTATUS (logon / CredSSP status)",
            CodeTable::Hresult => "HRESULT / SSPI status (SEC_E, CERT_E, NTE, Win32)",
            CodeTable::AuthzResult => "Early User Authorization Result (HYBRID_EX)",
            CodeTable::LsmReason => "LocalSessionManager event 40 reason code",
            CodeTable::TlsAlert => "TLS alert (Schannel 36887 / 36888)",
            CodeTable::LogonType => "Logon type (Security 4624 / 4625)",
            CodeTable::Event => "Windows event ID",
            CodeTable::NegRequestFlag => "RDP_NEG_REQ flag (client)",
            CodeTable::NegResponseFlag => "RDP_NEG_RSP flag (server)",
            CodeTable::Protocol => "RDP_NEG security protocol",
        }
    }

    /// Short prefixes accepted by `explain` to pick this table (`errinfo:7`).
    pub fn query_prefixes(self) -> &'static [&'static str] {
        match self {
            CodeTable::DisconnectReason => {
                &["disconnect-reason", "disconnect", "disc", "reason", "mstsc"]
            }
            CodeTable::ExtendedReason => &["extended-reason", "extended", "ext"],
            CodeTable::ErrorInfo => &["error-info", "errinfo", "set-error-info"],
            CodeTable::NegFailure => &["neg-failure", "neg", "rdp-neg", "negotiation"],
            CodeTable::LogonError => &["logon-error", "onlogonerror"],
            CodeTable::FreerdpConnect => &["freerdp-connect", "freerdp", "errconnect"],
            CodeTable::Ntstatus => &["ntstatus", "nt", "status"],
            CodeTable::Hresult => &["hresult", "hr", "sec", "sspi"],
            CodeTable::AuthzResult => &["authz-result", "authz"],
            CodeTable::LsmReason => &["lsm-reason", "lsm", "lsm40"],
            CodeTable::TlsAlert => &["tls-alert", "tls", "alert"],
            CodeTable::LogonType => &["logon-type", "logontype"],
            CodeTable::Event => &["event", "evt", "eventid", "event-id"],
            CodeTable::NegRequestFlag => &["neg-request-flag", "negreq", "req-flags"],
            CodeTable::NegResponseFlag => &["neg-response-flag", "negrsp", "rsp-flags"],
            CodeTable::Protocol => &["protocol", "proto", "protocols"],
        }
    }

    /// Whether a bare number is looked up in this table. Bit fields (flags, protocols) only
    /// answer a qualified query (`negrsp:0x1f`) or a name, or they would match every small
    /// number.
    pub fn matches_bare_numbers(self) -> bool {
        !self.is_bit_field()
    }

    /// Tables whose values are bits that combine (`0x1F` = five flags).
    pub fn is_bit_field(self) -> bool {
        matches!(
            self,
            CodeTable::NegRequestFlag | CodeTable::NegResponseFlag | CodeTable::Protocol
        )
    }

    /// The causes an entry of this table points to when its data names none: every Set Error
    /// Info code without a more specific cause is `server-error` (CAUSES.md).
    fn default_causes(self) -> &'static [&'static str] {
        match self {
            CodeTable::ErrorInfo => &["server-error"],
            _ => &[],
        }
    }

    /// Symbol prefixes stripped when matching names (`ERRINFO_SERVER_DENIED_CONNECTION` is also
    /// found as `SERVER_DENIED_CONNECTION` or `ServerDeniedConnection`).
    fn name_prefixes(self) -> &'static [&'static str] {
        match self {
            CodeTable::DisconnectReason => &["disconnectreason", "sslerr"],
            CodeTable::ExtendedReason => &["exdiscreason"],
            CodeTable::ErrorInfo => &["errinfo"],
            CodeTable::NegFailure => &[],
            CodeTable::LogonError => &["arbitrationcode", "errorcode", "logonfailed"],
            CodeTable::FreerdpConnect => &["errconnect"],
            CodeTable::Ntstatus => &["status"],
            CodeTable::Hresult => &[
                "sece", "seci", "certe", "crypte", "ntee", "nte", "trust", "error",
            ],
            CodeTable::AuthzResult => &["authz"],
            CodeTable::LsmReason => &[],
            CodeTable::TlsAlert => &[],
            CodeTable::LogonType => &[],
            CodeTable::Event => &[],
            CodeTable::NegRequestFlag => &[],
            CodeTable::NegResponseFlag => &[],
            CodeTable::Protocol => &["protocol"],
        }
    }

    /// The table for a key or query prefix, case-insensitive.
    pub fn from_prefix(prefix: &str) -> Option<CodeTable> {
        let p = prefix.trim().to_ascii_lowercase().replace('_', "-");
        CodeTable::ALL
            .into_iter()
            .find(|t| t.query_prefixes().iter().any(|q| *q == p))
    }
}

/// One code: its number, its symbolic name, what it means and which causes it points to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CodeEntry {
    pub table: CodeTable,
    /// The value as a 32-bit pattern (negative codes in two's complement: -7 is 0xFFFFFFF9).
    pub value: u32,
    /// The symbolic name (`ERRINFO_SERVER_DENIED_CONNECTION`). Codes that have none (mstsc UI
    /// codes, event IDs) carry a short label in our words instead, with spaces in it.
    pub name: String,
    /// What the code means and what to do, in our words.
    pub description: String,
    /// Cause ids of the catalog this code points to, most likely first.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub causes: Vec<String>,
    /// Event provider (full name), for event IDs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    /// Event log channel, for event IDs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    /// A grouping inside the table (ERRINFO: admin, licensing, broker, protocol, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
}

impl CodeEntry {
    /// The cause ids this code points to.
    pub fn causes(&self) -> &[String] {
        &self.causes
    }

    /// The value in the usual hex spelling of its table (`0x904`, `0xC000006D`).
    pub fn hex(&self) -> String {
        match self.table {
            CodeTable::Ntstatus | CodeTable::Hresult => format!("0x{:08X}", self.value),
            _ => format!("0x{:X}", self.value),
        }
    }

    /// The value the way people write it for this table: decimal for event IDs, logon types,
    /// LSM reasons and TLS alerts, hex otherwise.
    pub fn display_value(&self) -> String {
        match self.table {
            CodeTable::Event
            | CodeTable::LogonType
            | CodeTable::LsmReason
            | CodeTable::TlsAlert => self.value.to_string(),
            _ => self.hex(),
        }
    }

    /// The value as the table writes it in decimal (OnLogonError uses negative numbers).
    pub fn decimal(&self) -> i64 {
        match self.table {
            CodeTable::LogonError | CodeTable::Ntstatus | CodeTable::Hresult => {
                i64::from(self.value as i32)
            }
            _ => i64::from(self.value),
        }
    }

    /// Whether `name` is a symbol (no spaces) rather than a label in our words.
    pub fn has_symbolic_name(&self) -> bool {
        !self.name.contains(' ')
    }
}

/// An event provider with the short names people use for it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventProvider {
    /// Short key used in `data/codes/events.toml`.
    pub key: String,
    /// The provider name as it appears in the event XML.
    pub name: String,
    /// Other names: the EventSourceName, the short forms admins type (`Schannel`, `RCM`).
    #[serde(default)]
    pub aliases: Vec<String>,
}

impl EventProvider {
    /// Whether a hint (`Schannel`, `TermService`, `RemoteConnectionManager`, a full name)
    /// designates this provider.
    pub fn matches_hint(&self, hint: &str) -> bool {
        let h = normalize(hint);
        if h.is_empty() {
            return true;
        }
        let full = normalize(&self.name);
        full == h
            || full.ends_with(&h)
            || self.aliases.iter().any(|a| normalize(a) == h)
            || normalize(&self.key) == h
            || (h.len() >= 5 && full.contains(&h))
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEntry {
    #[serde(alias = "id")]
    value: i64,
    name: String,
    description: String,
    #[serde(default)]
    causes: Option<Vec<String>>,
    #[serde(default)]
    provider: Option<String>,
    #[serde(default)]
    channel: Option<String>,
    #[serde(default)]
    group: Option<String>,
}

#[derive(Deserialize)]
struct RawFile {
    #[serde(default)]
    provider: Vec<EventProvider>,
    #[serde(flatten)]
    tables: BTreeMap<String, Vec<RawEntry>>,
}

/// The data files, in no particular order: each `[[key]]` array names its table.
const DATA_FILES: &[(&str, &str)] = &[
    (
        "disconnect.toml",
        include_str!("../data/codes/disconnect.toml"),
    ),
    ("errinfo.toml", include_str!("../data/codes/errinfo.toml")),
    ("freerdp.toml", include_str!("../data/codes/freerdp.toml")),
    (
        "negotiation.toml",
        include_str!("../data/codes/negotiation.toml"),
    ),
    ("status.toml", include_str!("../data/codes/status.toml")),
    ("tls.toml", include_str!("../data/codes/tls.toml")),
    ("sessions.toml", include_str!("../data/codes/sessions.toml")),
    ("events.toml", include_str!("../data/codes/events.toml")),
];

struct Tables {
    /// Every entry, sorted by (table, value, provider).
    entries: Vec<CodeEntry>,
    providers: Vec<EventProvider>,
}

/// Why the code data could not be loaded (only ever seen by the kb tests).
#[derive(Debug)]
pub struct DataError(pub String);

fn to_u32(v: i64) -> Option<u32> {
    if v < 0 {
        i32::try_from(v).ok().map(|x| x as u32)
    } else {
        u32::try_from(v).ok()
    }
}

fn load() -> Result<Tables, DataError> {
    let mut entries = Vec::new();
    let mut providers: Vec<EventProvider> = Vec::new();
    for (file, text) in DATA_FILES {
        let raw: RawFile =
            toml::from_str(text).map_err(|e| DataError(format!("data/codes/{file}: {e}")))?;
        providers.extend(raw.provider);
        for (key, list) in raw.tables {
            let table = CodeTable::ALL
                .into_iter()
                .find(|t| t.key() == key)
                .ok_or_else(|| DataError(format!("data/codes/{file}: unknown table [[{key}]]")))?;
            for e in list {
                let value = to_u32(e.value).ok_or_else(|| {
                    DataError(format!(
                        "data/codes/{file}: {} does not fit 32 bits",
                        e.value
                    ))
                })?;
                let causes = match e.causes {
                    Some(c) => c,
                    None => table
                        .default_causes()
                        .iter()
                        .map(|s| s.to_string())
                        .collect(),
                };
                entries.push(CodeEntry {
                    table,
                    value,
                    name: e.name,
                    description: e.description,
                    causes,
                    provider: e.provider,
                    channel: e.channel,
                    group: e.group,
                });
            }
        }
    }
    // Event entries name their provider by key; store the full name.
    for e in entries.iter_mut().filter(|e| e.table == CodeTable::Event) {
        let key = e.provider.clone().unwrap_or_default();
        let p = providers.iter().find(|p| p.key == key).ok_or_else(|| {
            DataError(format!("event {} names unknown provider '{key}'", e.value))
        })?;
        e.provider = Some(p.name.clone());
    }
    entries.sort_by(|a, b| (a.table, a.value, &a.provider).cmp(&(b.table, b.value, &b.provider)));
    Ok(Tables { entries, providers })
}

static TABLES: LazyLock<Tables> =
    LazyLock::new(|| load().expect("data/codes/*.toml is validated by the kb tests"));

/// Load the code data, reporting the first problem instead of panicking (used by tests).
pub fn validate_data() -> Result<usize, DataError> {
    load().map(|t| t.entries.len())
}

/// Every entry of every table.
pub fn all() -> &'static [CodeEntry] {
    &TABLES.entries
}

/// Every entry of one table, in value order.
pub fn table(table: CodeTable) -> impl Iterator<Item = &'static CodeEntry> {
    TABLES.entries.iter().filter(move |e| e.table == table)
}

/// The event providers known to the event table.
pub fn providers() -> &'static [EventProvider] {
    &TABLES.providers
}

/// The entry for a value in one table (the first provider's for events).
pub fn lookup(table: CodeTable, value: u32) -> Option<&'static CodeEntry> {
    TABLES
        .entries
        .iter()
        .find(|e| e.table == table && e.value == value)
}

/// Every table entry a bare number matches, in [`CodeTable`] order (bit-field tables
/// excluded). FreeRDP's full error form `0x0002xxxx` also finds the ERRCONNECT entry.
pub fn lookup_all(value: u32) -> Vec<&'static CodeEntry> {
    let mut out: Vec<&'static CodeEntry> = TABLES
        .entries
        .iter()
        .filter(|e| e.table.matches_bare_numbers() && e.value == value)
        .collect();
    if value >> 16 == FREERDP_CONNECT_CLASS
        && let Some(e) = freerdp_connect(value)
        && !out.contains(&e)
    {
        out.push(e);
    }
    out.sort_by_key(|e| e.table);
    out
}

/// Entries whose symbolic name matches `name`, case-insensitive, ignoring `_`/`-`/spaces and
/// the table's usual prefix (`SERVER_DENIED_CONNECTION`, `ServerDeniedConnection`,
/// `errinfo_server_denied_connection` all find `ERRINFO_SERVER_DENIED_CONNECTION`). Exact
/// matches come first; with none, prefix-stripped matches from every table are returned.
pub fn find_by_name(name: &str) -> Vec<&'static CodeEntry> {
    let q = normalize(name);
    if q.is_empty() {
        return Vec::new();
    }
    let symbolic = || {
        TABLES
            .entries
            .iter()
            .filter(|e| e.has_symbolic_name() && e.table != CodeTable::Event)
    };
    let exact: Vec<_> = symbolic().filter(|e| normalize(&e.name) == q).collect();
    if !exact.is_empty() {
        return exact;
    }
    let stripped_q: Vec<String> = std::iter::once(q.clone())
        .chain(CodeTable::ALL.iter().flat_map(|t| {
            t.name_prefixes()
                .iter()
                .filter_map(|p| q.strip_prefix(p).map(str::to_string))
        }))
        .filter(|s| !s.is_empty())
        .collect();
    let mut out = Vec::new();
    for e in symbolic() {
        let n = normalize(&e.name);
        let stripped = e
            .table
            .name_prefixes()
            .iter()
            .find_map(|p| n.strip_prefix(p))
            .unwrap_or(&n);
        if stripped_q.iter().any(|s| s == stripped || *s == n) {
            out.push(e);
        }
    }
    out
}

/// Lower-case, keep only letters and digits.
pub(crate) fn normalize(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// FreeRDP's error class for connect errors: full code = `(2 << 16) | value`.
pub const FREERDP_CONNECT_CLASS: u32 = 2;

// ---- Typed lookups for the diagnosis rules -------------------------------------------------

/// An mstsc disconnect reason (`discReason`, "Error code: 0x904").
pub fn disconnect_reason(code: u32) -> Option<&'static CodeEntry> {
    lookup(CodeTable::DisconnectReason, code)
}

/// An mstsc extended disconnect reason ("Extended error code: 0x7"). Values without an entry of
/// their own that equal a Set Error Info code (the protocol range 0x1000-0x7FFF) resolve to the
/// ERRINFO entry.
pub fn extended_reason(code: u32) -> Option<&'static CodeEntry> {
    lookup(CodeTable::ExtendedReason, code).or_else(|| {
        if (0x1000..=0x7FFF).contains(&code) {
            errinfo(code)
        } else {
            None
        }
    })
}

/// A Set Error Info PDU code (`ERRINFO_*`).
pub fn errinfo(code: u32) -> Option<&'static CodeEntry> {
    lookup(CodeTable::ErrorInfo, code)
}

/// An RDP_NEG_FAILURE failure code.
pub fn neg_failure(code: u32) -> Option<&'static CodeEntry> {
    lookup(CodeTable::NegFailure, code)
}

/// The RDP_NEG_RSP flags set in `flags`, lowest bit first (unknown bits are skipped).
pub fn neg_rsp_flags(flags: u8) -> Vec<&'static CodeEntry> {
    bits(CodeTable::NegResponseFlag, u32::from(flags))
}

/// The RDP_NEG_REQ flags set in `flags`, lowest bit first.
pub fn neg_req_flags(flags: u8) -> Vec<&'static CodeEntry> {
    bits(CodeTable::NegRequestFlag, u32::from(flags))
}

/// The security protocols in a requestedProtocols / selectedProtocol value (`0` is
/// PROTOCOL_RDP, Standard RDP Security).
pub fn protocols(value: u32) -> Vec<&'static CodeEntry> {
    if value == 0 {
        return lookup(CodeTable::Protocol, 0).into_iter().collect();
    }
    bits(CodeTable::Protocol, value)
}

fn bits(table: CodeTable, value: u32) -> Vec<&'static CodeEntry> {
    (0..32)
        .map(|b| 1u32 << b)
        .filter(|bit| value & bit != 0)
        .filter_map(|bit| lookup(table, bit))
        .collect()
}

/// An OnLogonError code (negative values as `i32`).
pub fn logon_error(code: i32) -> Option<&'static CodeEntry> {
    lookup(CodeTable::LogonError, code as u32)
}

/// A FreeRDP connect error, by its value (`0x6`) or its full code (`0x00020006`).
pub fn freerdp_connect(code: u32) -> Option<&'static CodeEntry> {
    let v = if code >> 16 == FREERDP_CONNECT_CLASS {
        code & 0xFFFF
    } else {
        code
    };
    lookup(CodeTable::FreerdpConnect, v)
}

/// An NTSTATUS value (CredSSP `errorCode`, 4625 Status / SubStatus).
pub fn ntstatus(code: u32) -> Option<&'static CodeEntry> {
    lookup(CodeTable::Ntstatus, code)
}

/// An HRESULT / SSPI status (`SEC_E_*`, `CERT_E_*`, `NTE_*`, `0x8007xxxx`).
pub fn hresult(code: u32) -> Option<&'static CodeEntry> {
    lookup(CodeTable::Hresult, code)
}

/// A status code of either kind: NTSTATUS first, then HRESULT.
pub fn status(code: u32) -> Option<&'static CodeEntry> {
    ntstatus(code).or_else(|| hresult(code))
}

/// The Early User Authorization Result of PROTOCOL_HYBRID_EX.
pub fn authz_result(code: u32) -> Option<&'static CodeEntry> {
    lookup(CodeTable::AuthzResult, code)
}

/// A TLS alert description (the number in Schannel 36887/36888).
pub fn tls_alert(code: u8) -> Option<&'static CodeEntry> {
    lookup(CodeTable::TlsAlert, u32::from(code))
}

/// A LocalSessionManager event 40 reason code.
pub fn lsm_reason(code: u32) -> Option<&'static CodeEntry> {
    lookup(CodeTable::LsmReason, code)
}

/// A logon type (Security 4624 / 4625 `LogonType`).
pub fn logon_type(code: u32) -> Option<&'static CodeEntry> {
    lookup(CodeTable::LogonType, code)
}

/// An event ID. `provider_hint` is the provider name from the event XML, a short form
/// (`Schannel`, `TermService`, `RemoteConnectionManager`, `RdpCoreTS`, `Security`), or empty
/// for any provider (then the first provider in table order that logs this ID is returned).
pub fn event(provider_hint: &str, id: u32) -> Option<&'static CodeEntry> {
    events(provider_hint, id).into_iter().next()
}

/// Every event entry with this ID whose provider matches the hint (empty hint: all).
pub fn events(provider_hint: &str, id: u32) -> Vec<&'static CodeEntry> {
    let providers = &TABLES.providers;
    table(CodeTable::Event)
        .filter(|e| e.value == id)
        .filter(|e| {
            provider_hint.trim().is_empty()
                || providers
                    .iter()
                    .any(|p| Some(&p.name) == e.provider.as_ref() && p.matches_hint(provider_hint))
        })
        .collect()
}

/// Whether any provider matches the hint.
pub fn is_known_provider(hint: &str) -> bool {
    !hint.trim().is_empty() && TABLES.providers.iter().any(|p| p.matches_hint(hint))
}
