//! A view over one decoded event record (the JSON the `evtx` crate produces with separate
//! attributes): provider, 16-bit event id, time, computer and the event's data fields.
//!
//! Event data comes in three shapes: named `<Data Name="X">` fields (`EventData.X`), unnamed
//! `<Data>` items (`EventData.Data` as text or a list), and `UserData.<Element>.X` for the
//! Terminal Services operational logs. [`EventView::field`] looks in the named places,
//! [`EventView::data_items`] in the unnamed one.

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::evidence::EventSource;

/// The parts of a record every reader needs.
pub(crate) struct EventView<'a> {
    pub source: Option<EventSource>,
    /// The 16-bit event id (System events carry Qualifiers in a separate attribute).
    pub id: u16,
    pub time: DateTime<Utc>,
    pub record_id: u64,
    pub computer: &'a str,
    pub channel: &'a str,
    event: &'a Value,
}

/// Which of our sources a provider name is. Windows writes the RCM events as
/// `Microsoft-Windows-TerminalServices-RemoteConnectionManager` (EventSourceName `TermService`);
/// older exports may carry the classic source names.
pub(crate) fn source_of(provider: &str) -> Option<EventSource> {
    let p = provider.to_ascii_lowercase();
    Some(match p.as_str() {
        "microsoft-windows-terminalservices-remoteconnectionmanager" | "termservice" => {
            EventSource::RemoteConnectionManager
        }
        "microsoft-windows-terminalservices-localsessionmanager" => {
            EventSource::LocalSessionManager
        }
        "microsoft-windows-remotedesktopservices-rdpcorets" => EventSource::RdpCoreTS,
        "microsoft-windows-security-auditing" => EventSource::SecurityAuditing,
        "schannel" | "microsoft-windows-schannel" => EventSource::Schannel,
        "lsasrv" => EventSource::LsaSrv,
        "microsoft-windows-terminalservices-clientactivexcore" => EventSource::RdpClient,
        _ => return None,
    })
}

impl<'a> EventView<'a> {
    /// Read the System part of a record. `fallback_time` is the record header's time, used
    /// when `TimeCreated` is missing or unreadable.
    pub fn new(record: &'a Value, fallback_time: DateTime<Utc>) -> Option<EventView<'a>> {
        let event = record.get("Event")?;
        let system = event.get("System")?;
        let provider = system
            .get("Provider_attributes")
            .and_then(|p| p.get("Name"))
            .and_then(Value::as_str)
            .unwrap_or("");
        let id = match system.get("EventID")? {
            Value::Number(n) => n.as_u64()?,
            Value::String(s) => s.trim().parse().ok()?,
            // Without separate attributes the id sits under #text.
            Value::Object(o) => o.get("#text").and_then(Value::as_u64)?,
            _ => return None,
        };
        // The low 16 bits are the event id; qualified ids (0xC0000421) reduce to 1057.
        let id = (id & 0xFFFF) as u16;
        let time = system
            .get("TimeCreated_attributes")
            .and_then(|t| t.get("SystemTime"))
            .and_then(Value::as_str)
            .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or(fallback_time);
        Some(EventView {
            source: source_of(provider),
            id,
            time,
            record_id: system
                .get("EventRecordID")
                .and_then(Value::as_u64)
                .unwrap_or(0),
            computer: system.get("Computer").and_then(Value::as_str).unwrap_or(""),
            channel: system.get("Channel").and_then(Value::as_str).unwrap_or(""),
            event,
        })
    }

    /// A named field from EventData or UserData, as text.
    pub fn field(&self, name: &str) -> Option<String> {
        if let Some(v) = self.event.get("EventData").and_then(|d| d.get(name)) {
            return scalar(v);
        }
        // UserData holds one element (EventXML, ...) whose children are the fields.
        if let Some(Value::Object(user)) = self.event.get("UserData") {
            for (k, v) in user {
                if k.ends_with("_attributes") {
                    continue;
                }
                if let Some(f) = v.get(name) {
                    return scalar(f);
                }
            }
        }
        None
    }

    /// The first of several field names that is present and not empty or "-".
    pub fn field_any(&self, names: &[&str]) -> Option<String> {
        names
            .iter()
            .filter_map(|n| self.field(n))
            .find(|v| !v.is_empty() && v != "-")
    }

    /// A field parsed as a number (decimal or 0x-hex).
    pub fn number(&self, name: &str) -> Option<u64> {
        let s = self.field(name)?;
        let t = s.trim();
        match t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
            Some(h) => u64::from_str_radix(h, 16).ok(),
            None => t.parse().ok(),
        }
    }

    /// Unnamed `<Data>` items, in order (at most 32).
    pub fn data_items(&self) -> Vec<String> {
        let Some(data) = self.event.get("EventData").and_then(|d| d.get("Data")) else {
            return Vec::new();
        };
        let inner = match data {
            Value::Object(o) => o.get("#text").unwrap_or(data),
            other => other,
        };
        match inner {
            Value::Array(items) => items.iter().take(32).filter_map(scalar).collect(),
            other => scalar(other).into_iter().collect(),
        }
    }

    /// The hex `<Binary>` data of a classic event, if any.
    pub fn binary(&self) -> Option<String> {
        self.event
            .get("EventData")
            .and_then(|d| d.get("Binary"))
            .and_then(scalar)
    }
}

/// A JSON scalar as text; `{"#text": ...}` is unwrapped. Long text is cut, since every field
/// ends up in a one-line message.
fn scalar(v: &Value) -> Option<String> {
    const MAX: usize = 512;
    let s = match v {
        Value::String(s) => crate::offline::printable(s),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Object(o) => return o.get("#text").and_then(scalar),
        Value::Array(a) => return a.first().and_then(scalar),
        Value::Null => return None,
    };
    Some(if s.len() > MAX {
        let mut end = MAX;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        format!("{}…", &s[..end])
    } else {
        s
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn t0() -> DateTime<Utc> {
        DateTime::from_timestamp(0, 0).unwrap()
    }

    #[test]
    fn reads_named_unnamed_and_user_data() {
        let rec = json!({"Event": {
            "System": {"Provider_attributes": {"Name": "LsaSrv"}, "EventID": 6041,
                        "TimeCreated_attributes": {"SystemTime": "2018-07-11T17:13:09.5379691Z"},
                        "Computer": "PC1", "Channel": "System"},
            "EventData": {"Data": {"#text": ["TERMSRV/10.0.0.5", "4"]}}}});
        let v = EventView::new(&rec, t0()).unwrap();
        assert_eq!(v.source, Some(EventSource::LsaSrv));
        assert_eq!(v.id, 6041);
        assert_eq!(v.data_items(), ["TERMSRV/10.0.0.5", "4"]);
        assert_eq!(v.time.to_rfc3339(), "2018-07-11T17:13:09.537969100+00:00");

        let rec = json!({"Event": {
            "System": {"Provider_attributes": {"Name": "Microsoft-Windows-TerminalServices-LocalSessionManager"},
                       "EventID": 40, "Computer": "dc"},
            "UserData": {"EventXML_attributes": {"xmlns": "Event_NS"}, "EventXML": {"Session": 2, "Reason": 5}}}});
        let v = EventView::new(&rec, t0()).unwrap();
        assert_eq!(v.number("Reason"), Some(5));
        assert_eq!(v.time, t0());
    }

    #[test]
    fn qualified_ids_reduce_to_16_bits() {
        let rec = json!({"Event": {"System": {"Provider_attributes": {"Name": "TermService"},
            "EventID": 3221226529u64}}});
        assert_eq!(EventView::new(&rec, t0()).unwrap().id, 1057);
    }

    #[test]
    fn missing_system_is_not_an_event() {
        assert!(EventView::new(&json!({"Event": {}}), t0()).is_none());
        assert!(EventView::new(&json!(42), t0()).is_none());
    }
}
