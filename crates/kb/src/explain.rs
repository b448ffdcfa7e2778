//! `rdpdoctor explain`: turn any code an admin has in front of them into what it means, the
//! causes to check in order, and the rdpdoctor command that tests each one.
//!
//! Accepted forms: hex (`0x904`, `904h`, `c000006d`), decimal (`2308`), negative and unsigned
//! NTSTATUS (`-1073741715`), symbolic names with or without their prefix, any case
//! (`ERRINFO_SERVER_DENIED_CONNECTION`, `server_denied_connection`, `HYBRID_REQUIRED_BY_SERVER`),
//! events (`event:1058`, `event:Schannel/36888`), a table prefix to pick one meaning
//! (`errinfo:7`, `tls:40`, `ntstatus:0xC000006D`), and an mstsc pair (`0x904` + `0x7`).
//! Input never makes it panic; an unknown code still gets an answer that keeps the number.

use crate::catalog::{self, CauseCheck, Severity};
use crate::codes::{self, CodeEntry, CodeTable};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::sync::LazyLock;

/// Longest query read; the rest is ignored (with a note).
const MAX_QUERY: usize = 256;

/// One table entry a query matched.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CodeMatch {
    pub table: CodeTable,
    pub table_title: String,
    pub value: u32,
    /// The value as people write it for this table (`0x904`, `36888`, `40`).
    pub display: String,
    pub hex: String,
    pub decimal: i64,
    pub name: String,
    pub description: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub causes: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
}

impl From<&CodeEntry> for CodeMatch {
    fn from(e: &CodeEntry) -> Self {
        CodeMatch {
            table: e.table,
            table_title: e.table.title().to_string(),
            value: e.value,
            display: e.display_value(),
            hex: e.hex(),
            decimal: e.decimal(),
            name: e.name.clone(),
            description: e.description.clone(),
            causes: e.causes.clone(),
            provider: e.provider.clone(),
            channel: e.channel.clone(),
        }
    }
}

/// A cause worth checking, with the rdpdoctor commands that test it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LikelyCause {
    /// Stable cause id.
    pub id: String,
    pub title: String,
    pub severity: Severity,
    /// Why this code points here.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub why: Option<String>,
    /// The catalog's fix in one line.
    pub fix: String,
    /// rdpdoctor commands that test it (HOST stands for the server).
    pub checks: Vec<CauseCheck>,
}

/// A number as it was read from the query, kept even when no table knows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Number {
    pub value: u32,
    pub hex: String,
    pub decimal: u32,
    /// The same bits read as a signed 32-bit value (NTSTATUS/HRESULT in logs).
    pub signed: i32,
}

impl Number {
    fn new(value: u32) -> Self {
        Number {
            value,
            hex: format!("0x{value:X}"),
            decimal: value,
            signed: value as i32,
        }
    }
}

/// The answer to `rdpdoctor explain` (serialised as the JSON output).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Explanation {
    pub query: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extended: Option<String>,
    /// Whether anything in the tables matched.
    pub known: bool,
    /// The number read from the query, when it was a number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub number: Option<Number>,
    /// The number read from the extended code, when given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extended_number: Option<Number>,
    /// What the code (or the pair) means, in a few sentences.
    pub summary: String,
    /// Every table entry the query matched, in listing order.
    pub matches: Vec<CodeMatch>,
    /// Entries the extended code matched.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub extended_matches: Vec<CodeMatch>,
    /// Causes to check, in the order to check them.
    pub likely_causes: Vec<LikelyCause>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

// ---- Playbooks ----------------------------------------------------------------------------

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PlaybookCause {
    id: String,
    why: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PairPlaybook {
    disconnect: u32,
    extended: u32,
    meaning: String,
    cause: Vec<PlaybookCause>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PlaybookFile {
    pair: Vec<PairPlaybook>,
}

static PLAYBOOKS: LazyLock<Vec<PairPlaybook>> = LazyLock::new(|| {
    let f: PlaybookFile = toml::from_str(include_str!("../data/playbooks.toml"))
        .expect("data/playbooks.toml is validated by the kb tests");
    f.pair
});

/// The (disconnect reason, extended reason) pairs that have a playbook, with their ordered
/// cause ids (for tests and documentation).
pub fn pair_playbooks() -> Vec<(u32, u32, Vec<&'static str>)> {
    PLAYBOOKS
        .iter()
        .map(|p| {
            (
                p.disconnect,
                p.extended,
                p.cause.iter().map(|c| c.id.as_str()).collect(),
            )
        })
        .collect()
}

// ---- Parsing -------------------------------------------------------------------------------

/// How a number was written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Radix {
    Hex,
    Decimal,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct ParsedNumber {
    value: u32,
    radix: Radix,
    /// The digits read as hexadecimal, for unprefixed decimal digits (`904` may mean 0x904).
    hex_reading: Option<u32>,
}

fn parse_number(s: &str) -> Option<ParsedNumber> {
    let s = s.trim().trim_matches(|c| c == '"' || c == '\'');
    if s.is_empty() || s.len() > 24 {
        return None;
    }
    if let Some(rest) = s.strip_prefix('-') {
        let (value, radix) = parse_unsigned(rest)?;
        let v = i64::from(value);
        if radix == Radix::Decimal && v > i64::from(i32::MAX) + 1 {
            return None;
        }
        return Some(ParsedNumber {
            value: value.wrapping_neg(),
            radix,
            hex_reading: None,
        });
    }
    let (value, radix) = parse_unsigned(s)?;
    let hex_reading = if radix == Radix::Decimal && s.len() <= 8 {
        u32::from_str_radix(s, 16).ok().filter(|h| *h != value)
    } else {
        None
    };
    Some(ParsedNumber {
        value,
        radix,
        hex_reading,
    })
}

fn parse_unsigned(s: &str) -> Option<(u32, Radix)> {
    let s = s.trim().trim_start_matches('+');
    if s.is_empty() {
        return None;
    }
    let hex = |digits: &str| {
        let d: String = digits.chars().filter(|c| *c != '_').collect();
        if d.is_empty() || !d.chars().all(|c| c.is_ascii_hexdigit()) {
            return None;
        }
        let d = d.trim_start_matches('0');
        if d.is_empty() {
            return Some(0);
        }
        u32::from_str_radix(d, 16).ok()
    };
    if let Some(d) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        return hex(d).map(|v| (v, Radix::Hex));
    }
    if let Some(d) = s.strip_suffix('h').or_else(|| s.strip_suffix('H'))
        && d.chars().next().is_some_and(|c| c.is_ascii_digit())
    {
        return hex(d).map(|v| (v, Radix::Hex));
    }
    if s.chars().all(|c| c.is_ascii_digit()) {
        return s.parse::<u32>().ok().map(|v| (v, Radix::Decimal));
    }
    // Unprefixed hex such as c000006d or 80090302: needs a digit, so that words like "bad" or
    // "face" stay names.
    if s.len() <= 8
        && s.chars().all(|c| c.is_ascii_hexdigit())
        && s.chars().any(|c| c.is_ascii_digit())
    {
        return u32::from_str_radix(s, 16).ok().map(|v| (v, Radix::Hex));
    }
    None
}

/// `event:1058`, `event:Schannel/36888`, `Schannel/36888`, `Schannel 36888`.
fn parse_event(rest: &str) -> Option<(String, u32)> {
    let rest = rest.trim();
    let split = rest.rfind(['/', ':', ' ', '\\']);
    let (hint, id) = match split {
        Some(i) => (rest[..i].trim(), rest[i + 1..].trim()),
        None => ("", rest),
    };
    let id = parse_unsigned(id).and_then(|(v, _)| (v <= 0xFFFF).then_some(v))?;
    Some((hint.to_string(), id))
}

fn looks_numeric(q: &str) -> bool {
    let t = q.trim().trim_start_matches('-');
    let digits = t
        .strip_prefix("0x")
        .or_else(|| t.strip_prefix("0X"))
        .unwrap_or(t);
    !digits.is_empty()
        && digits.chars().all(|c| c.is_ascii_hexdigit() || c == '_')
        && digits.chars().any(|c| c.is_ascii_digit())
}

fn event_prefix(q: &str) -> Option<&str> {
    let lower = q.to_ascii_lowercase();
    for p in [
        "event:",
        "evt:",
        "eventid:",
        "event-id:",
        "event ",
        "event/",
    ] {
        if lower.starts_with(p) {
            return q.get(p.len()..);
        }
    }
    None
}

// ---- Building the answer ---------------------------------------------------------------------

/// Fill a catalog text for display without a target: HOST stands for the server, the default
/// port is shown, `{code}` is the code being explained.
fn fill_check(text: &str, code: Option<&str>) -> String {
    let mut values = vec![("host", "HOST"), ("port", "3389")];
    if let Some(c) = code {
        values.push(("code", c));
    }
    let mut out = catalog::fill_placeholders(&text.replace("{host}:{port}", "HOST"), &values);
    // Any placeholder left has no value here: show it as something to replace.
    for p in catalog::PLACEHOLDERS {
        out = out.replace(&format!("{{{p}}}"), &format!("<{p}>"));
    }
    out
}

fn likely_cause(id: &str, why: Option<String>, code: Option<&str>) -> Option<LikelyCause> {
    let c = catalog::cause(id)?;
    Some(LikelyCause {
        id: c.id.clone(),
        title: c.title.clone(),
        severity: c.severity,
        why,
        fix: fill_check(&c.fix.summary, code),
        checks: c
            .checks
            .iter()
            .map(|k| CauseCheck {
                command: fill_check(&k.command, code),
                note: fill_check(&k.note, code),
            })
            .collect(),
    })
}

/// Causes of the matches, first match first, each once.
fn causes_of(matches: &[&CodeEntry], code: Option<&str>) -> Vec<LikelyCause> {
    let mut out: Vec<LikelyCause> = Vec::new();
    for m in matches {
        for id in &m.causes {
            if out.iter().any(|c| &c.id == id) {
                continue;
            }
            let why = Some(format!(
                "{} {} ({}) points here.",
                short_table(m.table),
                m.display_value(),
                m.name
            ));
            if let Some(c) = likely_cause(id, why, code) {
                out.push(c);
            }
        }
    }
    out
}

fn short_table(t: CodeTable) -> &'static str {
    match t {
        CodeTable::DisconnectReason => "Error code",
        CodeTable::ExtendedReason => "Extended code",
        CodeTable::ErrorInfo => "ERRINFO",
        CodeTable::NegFailure => "RDP_NEG failure",
        CodeTable::LogonError => "OnLogonError",
        CodeTable::FreerdpConnect => "FreeRDP error",
        CodeTable::Ntstatus => "NTSTATUS",
        CodeTable::Hresult => "Status",
        CodeTable::AuthzResult => "Authorization result",
        CodeTable::LsmReason => "LSM reason",
        CodeTable::TlsAlert => "TLS alert",
        CodeTable::LogonType => "Logon type",
        CodeTable::Event => "Event",
        CodeTable::NegRequestFlag => "RDP_NEG_REQ flag",
        CodeTable::NegResponseFlag => "RDP_NEG_RSP flag",
        CodeTable::Protocol => "Protocol",
    }
}

/// Hints for a number no table knows, from its shape.
fn shape_notes(v: u32) -> Vec<String> {
    let mut n = Vec::new();
    if v >> 16 == 0x8007 {
        n.push(format!(
            "0x{v:08X} is an HRESULT wrapping Windows error {code}; `net helpmsg {code}` prints its text.",
            code = v & 0xFFFF
        ));
    } else if v >> 16 == 0x8009 {
        n.push(format!(
            "0x{v:08X} is a security or crypto status (SSPI/Schannel/CryptoAPI family 0x8009xxxx); look at the Schannel and TermService events around it."
        ));
    } else if v >> 30 == 0b11 {
        n.push(format!(
            "0x{v:08X} has the shape of an NTSTATUS error (top bits 11), as found in 4625 Status/SubStatus or a CredSSP errorCode."
        ));
    } else if v >> 31 == 1 {
        n.push(format!(
            "0x{v:08X} has the shape of an HRESULT error (top bit set)."
        ));
    }
    if (0x300_0000..=0x300_00FF).contains(&v) {
        n.push("Values from 0x3000001 are RD Gateway errors: the problem is between the client and the gateway, or the gateway and the server.".into());
    }
    if (0x1000..=0x7FFF).contains(&v) {
        n.push("As an extended code, 0x1000-0x7FFF is the range of server-side protocol errors: check the server's RdpCoreTS and RemoteConnectionManager events.".into());
    }
    if v < 0x10000 && v > 0xFF {
        match v & 0xFF {
            0x07 => n.push("As an mstsc error code, values ending in 07 belong to the authentication (SSL_ERR_*) family: an NLA/CredSSP logon failure reported by the server.".into()),
            0x04 => n.push("As an mstsc error code, values ending in 04 belong to the network and socket family.".into()),
            _ => {}
        }
    }
    n
}

fn unknown_number_summary(num: &Number) -> String {
    format!(
        "{} ({}) is not in rdpdoctor's code tables. The shape of the number and a live check are the next steps.",
        num.hex, num.decimal
    )
}

const CHECK_HINT: &str = "Run `rdpdoctor check HOST` to test the server directly; add `--user DOMAIN\\user` to test the logon too.";

/// Explain a code, or an mstsc error code with its extended code.
pub fn explain(query: &str, extended: Option<&str>) -> Explanation {
    let mut notes = Vec::new();
    let q = clip(query, &mut notes);
    let ext = extended
        .map(|e| clip(e, &mut notes))
        .filter(|e| !e.trim().is_empty());

    // "0x904 0x7" in one argument.
    if ext.is_none() {
        let parts: Vec<&str> = q.split_whitespace().collect();
        if parts.len() == 2
            && event_prefix(&q).is_none()
            && let (Some(a), Some(b)) = (parse_number(parts[0]), parse_number(parts[1]))
        {
            let mut e = explain_pair(&q, None, a, b);
            e.notes.splice(0..0, notes);
            return e;
        }
    }

    if let Some(ext_text) = ext.as_deref() {
        if let (Some(a), Some(b)) = (parse_number(&q), parse_number(ext_text)) {
            let mut e = explain_pair(&q, Some(ext_text.to_string()), a, b);
            e.notes.splice(0..0, notes);
            return e;
        }
        notes.push(format!(
            "The extended code '{ext_text}' is not a number; it was ignored (give it as 0x7 or 7)."
        ));
    }

    let mut e = explain_single(&q);
    e.extended = ext;
    e.notes.splice(0..0, notes);
    e
}

fn clip(s: &str, notes: &mut Vec<String>) -> String {
    let s = s.trim();
    if s.len() <= MAX_QUERY {
        return s.to_string();
    }
    let mut end = MAX_QUERY;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    notes.push(format!(
        "The query was longer than {MAX_QUERY} characters; only the start was read."
    ));
    s[..end].to_string()
}

fn empty(query: &str) -> Explanation {
    Explanation {
        query: query.to_string(),
        extended: None,
        known: false,
        number: None,
        extended_number: None,
        summary: String::new(),
        matches: Vec::new(),
        extended_matches: Vec::new(),
        likely_causes: Vec::new(),
        notes: Vec::new(),
    }
}

fn explain_single(q: &str) -> Explanation {
    let mut out = empty(q);
    if q.is_empty() {
        out.summary = "Nothing to explain: give a code (0x904, 2308, 0xC000006D), a name (ERRINFO_SERVER_DENIED_CONNECTION) or an event (event:1058).".into();
        return out;
    }

    // Events.
    if let Some(rest) = event_prefix(q) {
        return explain_event(q, rest);
    }
    // TABLE:VALUE
    if let Some((prefix, rest)) = q.split_once(':')
        && let Some(table) = CodeTable::from_prefix(prefix)
    {
        if table == CodeTable::Event {
            return explain_event(q, rest);
        }
        return explain_in_table(q, table, rest.trim());
    }
    // Provider/ID without the event: prefix (Schannel/36888).
    if let Some((hint, _)) = parse_event(q)
        && !hint.is_empty()
        && codes::is_known_provider(&hint)
        && parse_number(&hint).is_none()
    {
        return explain_event(q, q);
    }

    if let Some(n) = parse_number(q) {
        return explain_number(q, n);
    }
    // A cause id (`cert-expired`) is a fair thing to ask about too.
    if let Some(c) = catalog::cause(q) {
        out.known = true;
        out.summary = format!("'{}' is a cause: {}. {}", c.id, c.title, c.explanation);
        out.likely_causes.extend(likely_cause(&c.id, None, None));
        out.notes
            .push(format!("`rdpdoctor causes {}` prints the full fix.", c.id));
        return out;
    }
    if looks_numeric(q) {
        out.summary = format!(
            "'{q}' looks like a number but does not fit in 32 bits; RDP and Windows codes are 32-bit values (0x0 to 0xFFFFFFFF)."
        );
        out.notes.push(CHECK_HINT.into());
        return out;
    }
    explain_name(q, None)
}

fn finish(mut out: Explanation, entries: &[&CodeEntry], code: Option<&str>) -> Explanation {
    out.known = !entries.is_empty();
    out.matches = entries.iter().map(|e| CodeMatch::from(*e)).collect();
    out.likely_causes = causes_of(entries, code);
    if out.summary.is_empty() {
        out.summary = summarize(entries);
    }
    if entries
        .iter()
        .any(|e| e.table == CodeTable::DisconnectReason)
    {
        out.notes.push("mstsc shows an 'Extended error code' next to the error code: explain both together (`rdpdoctor explain 0x904 0x7`) for a precise answer.".into());
    }
    if !out.likely_causes.is_empty() || !out.known {
        out.notes.push(CHECK_HINT.into());
    }
    out
}

fn summarize(entries: &[&CodeEntry]) -> String {
    match entries {
        [] => String::new(),
        [e] => format!(
            "{} {} = {}: {}",
            e.table.title(),
            e.display_value(),
            e.name,
            e.description
        ),
        many => {
            let tables: Vec<String> = many
                .iter()
                .map(|e| format!("{} ({})", short_table(e.table), e.name))
                .collect();
            format!(
                "This value means different things in {} tables: {}. Which one applies depends on where you saw it; each is explained below.",
                many.len(),
                tables.join(", ")
            )
        }
    }
}

fn explain_number(q: &str, n: ParsedNumber) -> Explanation {
    let mut out = empty(q);
    let number = Number::new(n.value);
    let mut entries = codes::lookup_all(n.value);
    let code_text = number.hex.clone();
    if let Some(h) = n.hex_reading {
        let alt = codes::lookup_all(h);
        if entries.is_empty() && !alt.is_empty() {
            out.notes.push(format!(
                "Decimal {} matches nothing; read as hexadecimal 0x{h:X} (as mstsc prints codes) it does.",
                n.value
            ));
            out.number = Some(Number::new(h));
            let hex = format!("0x{h:X}");
            return finish(out, &alt, Some(&hex));
        }
        if !alt.is_empty() {
            let names: Vec<&str> = alt.iter().map(|e| e.name.as_str()).collect();
            out.notes.push(format!(
                "Read as hexadecimal, 0x{h:X} would be {}: run `rdpdoctor explain 0x{h:X}` if that is what you saw.",
                names.join(", ")
            ));
        }
    }
    // NTSTATUS and HRESULTs are often written signed in logs and scripts.
    if entries.is_empty() && n.radix == Radix::Decimal && n.value > i32::MAX as u32 {
        out.notes.push(format!(
            "As a signed 32-bit value this is {}.",
            n.value as i32
        ));
    }
    out.number = Some(number.clone());
    if entries.is_empty() {
        out.summary = unknown_number_summary(&number);
        out.notes.extend(shape_notes(n.value));
    }
    entries.dedup();
    finish(out, &entries, Some(&code_text))
}

fn explain_name(q: &str, table: Option<CodeTable>) -> Explanation {
    let mut out = empty(q);
    let mut entries = codes::find_by_name(q);
    if let Some(t) = table {
        entries.retain(|e| e.table == t);
    }
    if entries.is_empty() {
        out.summary = format!(
            "'{q}' is not a code, name or event rdpdoctor knows. Codes look like 0x904, 2308 or 0xC000006D; names like ERRINFO_SERVER_DENIED_CONNECTION or HYBRID_REQUIRED_BY_SERVER; events like event:Schannel/36888."
        );
        out.notes.push(CHECK_HINT.into());
        return out;
    }
    if let [e] = entries.as_slice() {
        out.number = Some(Number::new(e.value));
    }
    let code = entries.first().map(|e| e.hex());
    finish(out, &entries, code.as_deref())
}

fn explain_in_table(q: &str, table: CodeTable, rest: &str) -> Explanation {
    let Some(n) = parse_number(rest) else {
        let mut e = explain_name(rest, Some(table));
        e.query = q.to_string();
        return e;
    };
    let mut out = empty(q);
    let number = Number::new(n.value);
    out.number = Some(number.clone());
    let entries: Vec<&CodeEntry> = if table.is_bit_field() {
        match table {
            CodeTable::Protocol => codes::protocols(n.value),
            CodeTable::NegRequestFlag => codes::neg_req_flags((n.value & 0xFF) as u8),
            _ => codes::neg_rsp_flags((n.value & 0xFF) as u8),
        }
    } else {
        let hit = match table {
            CodeTable::ExtendedReason => codes::extended_reason(n.value),
            CodeTable::FreerdpConnect => codes::freerdp_connect(n.value),
            _ => codes::lookup(table, n.value),
        };
        hit.into_iter().collect()
    };
    if entries.is_empty() {
        out.summary = format!(
            "{} has no entry {} ({}).",
            table.title(),
            number.hex,
            number.decimal
        );
        out.notes.extend(shape_notes(n.value));
    } else if table.is_bit_field() {
        let names: Vec<&str> = entries.iter().map(|e| e.name.as_str()).collect();
        out.summary = format!("{} {} = {}.", table.title(), number.hex, names.join(" | "));
    }
    finish(out, &entries, Some(&number.hex))
}

fn explain_event(q: &str, rest: &str) -> Explanation {
    let mut out = empty(q);
    let Some((hint, id)) = parse_event(rest) else {
        out.summary = "Give an event as event:ID or event:PROVIDER/ID (for example event:1058 or event:Schannel/36888).".into();
        return out;
    };
    let mut entries = codes::events(&hint, id);
    if entries.is_empty() && !hint.is_empty() {
        let any = codes::events("", id);
        if !any.is_empty() {
            out.notes.push(format!(
                "No provider matching '{hint}' logs event {id} in rdpdoctor's table; showing the providers that do."
            ));
            entries = any;
        }
    }
    if entries.is_empty() {
        out.summary = if hint.is_empty() {
            format!("Event {id} is not in rdpdoctor's table of RDP-related events.")
        } else {
            format!("Event {hint}/{id} is not in rdpdoctor's table of RDP-related events.")
        };
        out.notes.push(CHECK_HINT.into());
        return out;
    }
    if entries.len() > 1 {
        let providers: Vec<&str> = entries
            .iter()
            .filter_map(|e| e.provider.as_deref())
            .collect();
        out.summary = format!(
            "Event {id} is logged by several providers ({}); the provider in the event tells which applies.",
            providers.join(", ")
        );
    } else {
        let e = entries[0];
        out.summary = format!(
            "{} event {} ({}): {}",
            e.provider.as_deref().unwrap_or("?"),
            e.value,
            e.name,
            e.description
        );
    }
    if matches!(id, 36887 | 36888) {
        out.notes.push("The event text carries a TLS alert number: explain it with `rdpdoctor explain tls:NUMBER`.".into());
    }
    if id == 4625 {
        out.notes.push("Explain the event's Status and SubStatus values (e.g. `rdpdoctor explain 0xC000006A`); LogonType 10 is Remote Desktop.".into());
    }
    if id == 40 {
        out.notes
            .push("Explain the reason code with `rdpdoctor explain lsm:CODE`.".into());
    }
    let code = id.to_string();
    finish(out, &entries, Some(&code))
}

fn explain_pair(
    q: &str,
    extended: Option<String>,
    disc: ParsedNumber,
    ext: ParsedNumber,
) -> Explanation {
    let mut out = empty(q);
    out.extended = extended;
    let d = disc.value;
    let x = ext.value;
    out.number = Some(Number::new(d));
    out.extended_number = Some(Number::new(x));

    let disc_entry = codes::disconnect_reason(d);
    let mut ext_entries: Vec<&CodeEntry> = Vec::new();
    if let Some(e) = codes::lookup(CodeTable::ExtendedReason, x) {
        ext_entries.push(e);
    }
    if let Some(e) = codes::errinfo(x)
        && !ext_entries.contains(&e)
    {
        ext_entries.push(e);
    }

    match disc_entry {
        Some(e) => out.matches.push(CodeMatch::from(e)),
        None => {
            out.notes.push(format!(
                "0x{d:X} ({d}) is not a known mstsc error code; the pair is explained from the extended code."
            ));
            out.notes.extend(shape_notes(d));
        }
    }
    if ext_entries.is_empty() {
        out.notes.push(format!(
            "Extended code 0x{x:X} ({x}) is not in rdpdoctor's tables."
        ));
        if (0x1000..=0x7FFF).contains(&x) {
            out.notes.extend(
                shape_notes(x)
                    .into_iter()
                    .filter(|n| n.contains("protocol errors")),
            );
        }
    }
    out.extended_matches = ext_entries.iter().map(|e| CodeMatch::from(*e)).collect();
    out.known = disc_entry.is_some() || !ext_entries.is_empty();

    let code = format!("0x{x:X}");
    if let Some(p) = PLAYBOOKS
        .iter()
        .find(|p| p.disconnect == d && p.extended == x)
    {
        out.summary = p.meaning.clone();
        out.likely_causes = p
            .cause
            .iter()
            .filter_map(|c| likely_cause(&c.id, Some(c.why.clone()), Some(&code)))
            .collect();
    } else {
        let mut ordered: Vec<&CodeEntry> = ext_entries.clone();
        ordered.extend(disc_entry);
        out.likely_causes = causes_of(&ordered, Some(&code));
        out.summary = match (disc_entry, ext_entries.first()) {
            (Some(de), Some(xe)) => format!(
                "Error code {} ({}): {} Extended code {} ({}): {}",
                de.hex(),
                de.name,
                de.description,
                xe.hex(),
                xe.name,
                xe.description
            ),
            (Some(de), None) => {
                format!("Error code {} ({}): {}", de.hex(), de.name, de.description)
            }
            (None, Some(xe)) => format!(
                "Extended code {} ({}): {}",
                xe.hex(),
                xe.name,
                xe.description
            ),
            (None, None) => format!("Neither 0x{d:X} nor 0x{x:X} is in rdpdoctor's tables."),
        };
    }
    if disc.hex_reading.is_some() || ext.hex_reading.is_some() {
        out.notes.push("Numbers without 0x were read as decimal; mstsc prints both codes in hexadecimal (0x904, 0x7).".into());
    }
    out.notes.push(CHECK_HINT.into());
    out
}

// ---- Rendering -----------------------------------------------------------------------------

impl Explanation {
    /// Plain-text rendering for the terminal (the CLI prints this or the JSON).
    pub fn to_text(&self) -> String {
        self.to_string()
    }
}

fn write_match(f: &mut fmt::Formatter<'_>, m: &CodeMatch) -> fmt::Result {
    if m.table == CodeTable::Event {
        writeln!(
            f,
            "  {} event {} ({}) - {}",
            m.provider.as_deref().unwrap_or("?"),
            m.value,
            m.channel.as_deref().unwrap_or("channel not recorded"),
            m.name
        )?;
    } else if matches!(
        m.table,
        CodeTable::TlsAlert | CodeTable::LsmReason | CodeTable::LogonType
    ) {
        writeln!(f, "  {}: {} = {}", m.table_title, m.value, m.name)?;
    } else {
        writeln!(
            f,
            "  {}: {} = {} ({})",
            m.table_title, m.hex, m.name, m.decimal
        )?;
    }
    writeln!(f, "    {}", m.description)?;
    if !m.causes.is_empty() {
        writeln!(f, "    causes: {}", m.causes.join(", "))?;
    }
    Ok(())
}

impl fmt::Display for Explanation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.extended {
            Some(x) => writeln!(f, "{} (extended {})", self.query, x)?,
            None => writeln!(f, "{}", self.query)?,
        }
        if let Some(n) = &self.number
            && self.matches.is_empty()
        {
            writeln!(f, "  value {} = {} (signed {})", n.hex, n.decimal, n.signed)?;
        }
        writeln!(f)?;
        writeln!(f, "{}", self.summary)?;
        if !self.matches.is_empty() {
            writeln!(f)?;
            writeln!(
                f,
                "{}",
                if self.extended_matches.is_empty() && self.extended_number.is_none() {
                    if self.matches.len() > 1 {
                        "Meanings:"
                    } else {
                        "Meaning:"
                    }
                } else {
                    "Error code:"
                }
            )?;
            for m in &self.matches {
                write_match(f, m)?;
            }
        }
        if !self.extended_matches.is_empty() {
            writeln!(f, "Extended code:")?;
            for m in &self.extended_matches {
                write_match(f, m)?;
            }
        }
        if !self.likely_causes.is_empty() {
            writeln!(f)?;
            writeln!(f, "Likely causes, in the order to check them:")?;
            for (i, c) in self.likely_causes.iter().enumerate() {
                writeln!(
                    f,
                    "  {}. {} [{}] - {}",
                    i + 1,
                    c.title,
                    c.id,
                    c.severity.as_str()
                )?;
                if let Some(w) = &c.why {
                    writeln!(f, "     why: {w}")?;
                }
                writeln!(f, "     fix: {}", c.fix)?;
                for k in &c.checks {
                    writeln!(f, "     test: {}  ({})", k.command, k.note)?;
                }
            }
        }
        if !self.notes.is_empty() {
            writeln!(f)?;
            writeln!(f, "Notes:")?;
            for n in &self.notes {
                writeln!(f, "  - {n}")?;
            }
        }
        Ok(())
    }
}
