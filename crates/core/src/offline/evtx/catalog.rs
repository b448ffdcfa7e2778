//! The events rdpdoctor understands: for each (source, 16-bit id), how it reads in the
//! timeline (mark and one-line message in our words) and the fact it contributes to the
//! aggregates. Event ids and meanings: REFERENCE.md §5.
//!
//! Events not listed here are still counted when they come from an RDP-specific source
//! (RdpCoreTS, LocalSessionManager, ...), but they do not reach the timeline.

use crate::evidence::{DisconnectLog, EventSource, Mark};
use crate::offline::codes;

use super::record::EventView;

/// What one event tells, for the aggregates.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Fact {
    /// 4624 (success) / 4625 (failure) with the logon type.
    Logon {
        success: bool,
        logon_type: u32,
        user: Option<String>,
        ip: Option<String>,
        status: Option<u32>,
        sub_status: Option<u32>,
    },
    /// 4825: denied access to Remote Desktop.
    RemoteDesktopDenied { user: Option<String> },
    /// 4740: account locked out.
    Lockout { user: Option<String> },
    /// 4778 (reconnected) / 4779 (disconnected).
    SessionChange { reconnected: bool },
    /// LsaSrv 6041.
    CredsspRefused {
        target: String,
        version: Option<u32>,
    },
    /// Schannel 36870.
    SchannelPrivateKey { detail: String },
    /// Schannel 36871.
    SchannelCredential { detail: String },
    /// Schannel 36874.
    SchannelNoCipher,
    /// Schannel 36888 (sent) / 36887 (received).
    SchannelAlert { sent: bool, code: Option<u8> },
    /// TermService certificate events (1051–1065).
    Certificate {
        meaning: &'static str,
        thumbprint: Option<String>,
        status: Option<String>,
    },
    /// RCM 261.
    ListenerConnection,
    /// RCM 1149.
    Authenticated { user: Option<String> },
    /// LSM 21 / 25.
    SessionLogon { user: Option<String> },
    /// RdpCoreTS 131.
    Accepted { udp: bool, ip: Option<String> },
    /// RdpCoreTS 140.
    BadCredentials { ip: Option<String> },
    /// RdpCoreTS 135.
    Multitransport { result: String },
    /// RdpCoreTS 99 / 142 / 143 / 226.
    TransportError { code: String },
    /// LSM 40 / RdpCoreTS 103 / RDP client 1026.
    Disconnect {
        log: DisconnectLog,
        code: u32,
        meaning: Option<&'static str>,
    },
    /// Nothing beyond the count.
    Plain,
}

/// A catalogued event.
pub(crate) struct Classified {
    pub mark: Mark,
    pub message: String,
    pub fact: Fact,
}

fn c(mark: Mark, message: impl Into<String>, fact: Fact) -> Option<Classified> {
    Some(Classified {
        mark,
        message: message.into(),
        fact,
    })
}

/// `DOMAIN\user`, `user`, or `?`.
fn account(user: Option<String>, domain: Option<String>) -> Option<String> {
    match (user, domain) {
        (Some(u), Some(d)) if !d.is_empty() && d != "-" => Some(format!("{d}\\{u}")),
        (Some(u), _) => Some(u),
        _ => None,
    }
}

fn or_q(s: &Option<String>) -> &str {
    s.as_deref().unwrap_or("?")
}

/// Drop the `:port` of `1.2.3.4:5678` and the brackets of `[fe80::1]:3389`.
pub(crate) fn strip_port(s: &str) -> String {
    let s = s.trim();
    if let Some(rest) = s.strip_prefix('[')
        && let Some((ip, _)) = rest.split_once(']')
    {
        return ip.to_string();
    }
    match s.rsplit_once(':') {
        // One colon: IPv4 or name with a port. Several: a bare IPv6 address.
        Some((host, port)) if !host.contains(':') && port.chars().all(|c| c.is_ascii_digit()) => {
            host.to_string()
        }
        _ => s.to_string(),
    }
}

/// A source address worth counting (not `-`, `LOCAL`, loopback or empty).
fn remote_ip(s: Option<String>) -> Option<String> {
    let s = strip_port(&s?);
    let lower = s.to_ascii_lowercase();
    if s.is_empty() || s == "-" || lower == "local" || s == "127.0.0.1" || s == "::1" {
        None
    } else {
        Some(s)
    }
}

/// Classify one event. `None`: not one rdpdoctor uses.
pub(crate) fn classify(v: &EventView<'_>) -> Option<Classified> {
    use EventSource::*;
    use Mark::*;
    let source = v.source?;
    match (source, v.id) {
        // ---- Security log ------------------------------------------------------------------
        (SecurityAuditing, 4624) => {
            let logon_type = v.number("LogonType")? as u32;
            if logon_type != 10 {
                return None;
            }
            let user = account(
                v.field_any(&["TargetUserName"]),
                v.field("TargetDomainName"),
            );
            let ip = remote_ip(v.field("IpAddress"));
            c(
                Success,
                format!("RDP logon succeeded for {} from {}", or_q(&user), or_q(&ip)),
                Fact::Logon {
                    success: true,
                    logon_type,
                    user,
                    ip,
                    status: None,
                    sub_status: None,
                },
            )
        }
        (SecurityAuditing, 4625) => {
            let logon_type = v.number("LogonType")? as u32;
            if logon_type != 10 && logon_type != 3 {
                return None;
            }
            let user = account(
                v.field_any(&["TargetUserName"]),
                v.field("TargetDomainName"),
            );
            let ip = remote_ip(v.field("IpAddress"));
            let status = v.field("Status").and_then(|s| codes::parse_status(&s));
            let sub_status = v
                .field("SubStatus")
                .and_then(|s| codes::parse_status(&s))
                .filter(|s| *s != 0);
            let code = sub_status.or(status);
            let why = match code {
                Some(c) => format!("{} {}", codes::format_status(c), codes::ntstatus(c).0),
                None => "no status".into(),
            };
            let kind = codes::logon_type(logon_type);
            c(
                Failure,
                format!(
                    "Logon failed ({kind}, type {logon_type}) for {} from {}: {why}",
                    or_q(&user),
                    or_q(&ip)
                ),
                Fact::Logon {
                    success: false,
                    logon_type,
                    user,
                    ip,
                    status,
                    sub_status,
                },
            )
        }
        (SecurityAuditing, 4740) => {
            let user = v.field("TargetUserName");
            let from = v.field("TargetDomainName");
            c(
                Failure,
                format!(
                    "Account {} locked out (caller computer {})",
                    or_q(&user),
                    or_q(&from)
                ),
                Fact::Lockout { user },
            )
        }
        (SecurityAuditing, 4778 | 4779) => {
            let user = account(v.field("AccountName"), v.field("AccountDomain"));
            let ip = v.field_any(&["ClientAddress"]);
            let client = v.field_any(&["ClientName"]);
            let reconnected = v.id == 4778;
            c(
                Info,
                format!(
                    "Session {} {} for {} (client {} at {})",
                    or_q(&v.field("SessionName")),
                    if reconnected {
                        "reconnected"
                    } else {
                        "disconnected"
                    },
                    or_q(&user),
                    or_q(&client),
                    or_q(&ip)
                ),
                Fact::SessionChange { reconnected },
            )
        }
        (SecurityAuditing, 4825) => {
            let user = account(v.field("AccountName"), v.field("AccountDomain"));
            let ip = v.field_any(&["ClientAddress"]);
            c(
                Failure,
                format!(
                    "Remote Desktop access denied to {} from {}: not allowed to log on through Remote Desktop",
                    or_q(&user),
                    or_q(&ip)
                ),
                Fact::RemoteDesktopDenied { user },
            )
        }

        // ---- LsaSrv (System) ---------------------------------------------------------------
        (LsaSrv, 6041) => {
            let items = v.data_items();
            let target = items
                .first()
                .cloned()
                .or_else(|| v.field("TargetName"))
                .unwrap_or_else(|| "?".into());
            let version = items.get(1).and_then(|s| s.trim().parse().ok());
            c(
                Failure,
                format!(
                    "CredSSP to {target} refused: the server offered version {} (Encryption Oracle Remediation)",
                    version.map_or("?".to_string(), |v: u32| v.to_string())
                ),
                Fact::CredsspRefused { target, version },
            )
        }

        // ---- Schannel (System) -------------------------------------------------------------
        (Schannel, 36870) => {
            let code = v.field_any(&["ErrorCode"]);
            let state = v.field_any(&["ErrorStatus", "ErrorState"]);
            let detail = match (&code, &state) {
                (Some(c), Some(s)) => format!("{c} state {s}"),
                (Some(c), None) => c.clone(),
                (None, Some(s)) => format!("state {s}"),
                (None, None) => v.data_items().join(" ").trim().to_string(),
            };
            c(
                Failure,
                format!("Schannel cannot use the TLS credential's private key ({detail})"),
                Fact::SchannelPrivateKey { detail },
            )
        }
        (Schannel, 36871) => {
            let state = v
                .field_any(&["ErrorState", "ErrorStatus"])
                .or_else(|| v.data_items().last().cloned())
                .unwrap_or_default();
            c(
                Failure,
                format!(
                    "Schannel could not create a TLS credential (internal error state {state})"
                ),
                Fact::SchannelCredential { detail: state },
            )
        }
        (Schannel, 36874) => c(
            Failure,
            format!(
                "A TLS client offered no cipher suite this server supports ({})",
                v.field_any(&["Protocol"])
                    .or_else(|| v.data_items().first().cloned())
                    .unwrap_or_else(|| "TLS".into())
            ),
            Fact::SchannelNoCipher,
        ),
        (Schannel, id @ (36887 | 36888)) => {
            let code = v
                .field_any(&["AlertDesc"])
                .or_else(|| v.data_items().first().cloned())
                .and_then(|s| s.trim().parse::<u8>().ok());
            let sent = id == 36888;
            let name = code.map_or("?".to_string(), |c| format!("{c} {}", codes::tls_alert(c)));
            c(
                if sent { Failure } else { Warning },
                if sent {
                    format!("Schannel sent a fatal TLS alert: {name}")
                } else {
                    format!("Schannel received a fatal TLS alert: {name}")
                },
                Fact::SchannelAlert { sent, code },
            )
        }
        (Schannel, 36886) => c(
            Failure,
            "Schannel: no suitable default server credential (no usable certificate)",
            Fact::Plain,
        ),

        // ---- TermService / RemoteConnectionManager -----------------------------------------
        (RemoteConnectionManager, id) => rcm(v, id),

        // ---- LocalSessionManager -----------------------------------------------------------
        (LocalSessionManager, id) => lsm(v, id),

        // ---- RdpCoreTS ---------------------------------------------------------------------
        (RdpCoreTS, id) => rdpcore(v, id),

        // ---- RDP client (ClientActiveXCore) ------------------------------------------------
        (RdpClient, id) => rdpclient(v, id),

        _ => None,
    }
}

fn rcm(v: &EventView<'_>, id: u16) -> Option<Classified> {
    use Mark::*;
    let first = || v.data_items().into_iter().next();
    let listener = || {
        v.field_any(&["listenerName", "ListenerName"])
            .or_else(first)
            .unwrap_or_else(|| "RDP-Tcp".into())
    };
    let cert = |meaning: &'static str, mark: Mark, message: String| {
        let thumbprint = v
            .binary()
            .map(|b| crate::offline::normalize_thumbprint(&b))
            .filter(|t| t.len() == 40);
        // Only the failure events carry a status code as their first item.
        let status = if matches!(id, 1057 | 1058) {
            first()
        } else {
            None
        };
        c(
            mark,
            message,
            Fact::Certificate {
                meaning,
                thumbprint,
                status,
            },
        )
    };
    match id {
        258 => c(
            Info,
            format!("Listener {} started listening", listener()),
            Fact::Plain,
        ),
        259 => c(
            Warning,
            format!("Listener {} stopped listening", listener()),
            Fact::Plain,
        ),
        260 => c(
            Failure,
            format!(
                "Listener {} failed while listening (error {})",
                listener(),
                v.field_any(&["errorCode", "ErrorCode"])
                    .or_else(|| v.data_items().get(1).cloned())
                    .unwrap_or_else(|| "?".into())
            ),
            Fact::Plain,
        ),
        261 => c(
            Info,
            format!("Listener {} received a connection", listener()),
            Fact::ListenerConnection,
        ),
        1149 => {
            let user = account(v.field("Param1"), v.field("Param2"));
            c(
                Success,
                format!(
                    "User authentication (NLA) succeeded for {} from {}",
                    or_q(&user),
                    or_q(&v.field("Param3"))
                ),
                Fact::Authenticated { user },
            )
        }
        1006 => c(
            Failure,
            "The server received a large number of incomplete connections (possible attack; new connections may be refused)",
            Fact::Plain,
        ),
        1012 => c(
            Failure,
            format!(
                "Session from client {} exceeded the allowed failed logon attempts and was terminated",
                first().unwrap_or_else(|| "?".into())
            ),
            Fact::Plain,
        ),
        1035 => c(
            Failure,
            format!("The listener stack was down (status {})", first().unwrap_or_default()),
            Fact::Plain,
        ),
        1036 => c(
            Failure,
            format!("Session creation failed (status {})", first().unwrap_or_default()),
            Fact::Plain,
        ),
        1041 => c(
            Warning,
            "Autoreconnect failed because authentication failed",
            Fact::Plain,
        ),
        1050 => c(
            Warning,
            "The listener's encryption level and security layer were inconsistent; Windows corrected them",
            Fact::Plain,
        ),
        1051 => cert(
            "configured certificate not found; the default one is used",
            Warning,
            "The configured RDP certificate was not found; the self-signed default is used".into(),
        ),
        1052 => cert(
            "configured certificate expires soon",
            Warning,
            "The configured RDP certificate expires soon".into(),
        ),
        1053 => cert(
            "configured certificate expired; the default one is used",
            Failure,
            "The configured RDP certificate has expired; the self-signed default is used".into(),
        ),
        1054 => cert(
            "configured certificate lacks Server Authentication; the default one is used",
            Warning,
            "The configured RDP certificate lacks the Server Authentication usage; the default is used"
                .into(),
        ),
        1055 => cert(
            "private key of the configured certificate not accessible; the default one is used",
            Failure,
            "The private key of the configured RDP certificate cannot be accessed; the default is used"
                .into(),
        ),
        1056 => cert(
            "new self-signed certificate generated",
            Info,
            format!(
                "A new self-signed RDP certificate was generated{}",
                v.binary()
                    .map(|b| format!(" (SHA1 {})", crate::offline::normalize_thumbprint(&b)))
                    .unwrap_or_default()
            ),
        ),
        1057 => cert(
            "self-signed certificate could not be created",
            Failure,
            format!(
                "Could not create a new self-signed RDP certificate (status: {}) — MachineKeys?",
                first().unwrap_or_else(|| "?".into())
            ),
        ),
        1058 => cert(
            "expired self-signed certificate could not be replaced",
            Failure,
            format!(
                "Could not replace the expired self-signed RDP certificate (status: {}) — MachineKeys?",
                first().unwrap_or_else(|| "?".into())
            ),
        ),
        1059 => cert(
            "certificate configuration was invalid and was reset",
            Warning,
            "The RDP certificate configuration was invalid and was reset".into(),
        ),
        1062..=1065 => cert(
            "template certificate problem",
            if id == 1063 { Info } else { Warning },
            match id {
                1062 => "Template-based RDP certificate: invalid subject".to_string(),
                1063 => "Template-based RDP certificate installed".to_string(),
                1064 => "Template-based RDP certificate could not be installed".to_string(),
                _ => "Template-based RDP certificate expired and could not be replaced".to_string(),
            },
        ),
        1070 => c(
            Failure,
            "A logon was denied: the server is in drain mode (TSServerDrainMode)",
            Fact::Plain,
        ),
        1071 => c(
            Failure,
            "A connection was denied: the server is configured not to accept connections (chglogon /disable)",
            Fact::Plain,
        ),
        20497..=20499 => c(
            Warning,
            match id {
                20497 => "RD Licensing took too long to respond",
                20498 => "Remote Desktop Services took too long to complete the client connection",
                _ => "Remote Desktop Services took too long to load the user configuration",
            },
            Fact::Plain,
        ),
        _ => None,
    }
}

fn lsm(v: &EventView<'_>, id: u16) -> Option<Classified> {
    use Mark::*;
    let user = || v.field("User");
    let addr = || v.field("Address");
    let session = || v.field("SessionID").unwrap_or_else(|| "?".into());
    match id {
        16..=18 => c(
            Failure,
            "The Remote Desktop session manager failed to start or shut down unexpectedly",
            Fact::Plain,
        ),
        21 | 25 => {
            let u = user();
            c(
                Success,
                format!(
                    "Session {} {} for {} from {}",
                    session(),
                    if id == 21 {
                        "logon succeeded"
                    } else {
                        "reconnected"
                    },
                    or_q(&u),
                    or_q(&addr())
                ),
                Fact::SessionLogon { user: u },
            )
        }
        23 => c(
            Info,
            format!("Session {} logged off ({})", session(), or_q(&user())),
            Fact::Plain,
        ),
        24 => c(
            Info,
            format!(
                "Session {} disconnected ({} from {})",
                session(),
                or_q(&user()),
                or_q(&addr())
            ),
            Fact::Plain,
        ),
        34 => c(
            Warning,
            "Remote Desktop Services is not accepting logons because setup is running",
            Fact::Plain,
        ),
        39 => c(
            Info,
            format!(
                "Session {} disconnected by session {}",
                or_q(&v.field("TargetSession")),
                or_q(&v.field("Source"))
            ),
            Fact::Plain,
        ),
        40 => {
            let code = v.number("Reason")? as u32;
            let meaning = codes::lsm_disconnect_reason(code);
            let mark = match code {
                7 | 9 | 10 => Failure,
                3 | 4 | 6 => Warning,
                _ => Info,
            };
            c(
                mark,
                format!(
                    "Session {} disconnected, reason {code}: {}",
                    or_q(&v.field("Session")),
                    meaning.unwrap_or("unknown reason")
                ),
                Fact::Disconnect {
                    log: DisconnectLog::LocalSessionManager,
                    code,
                    meaning,
                },
            )
        }
        _ => None,
    }
}

fn rdpcore(v: &EventView<'_>, id: u16) -> Option<Classified> {
    use Mark::*;
    let error = |names: &[&str]| {
        v.field_any(names)
            .or_else(|| v.data_items().into_iter().next())
            .unwrap_or_else(|| "?".into())
    };
    match id {
        97 => c(
            Failure,
            format!(
                "The RDP protocol component detected an error in the protocol stream ({}); client disconnected",
                error(&["ErrorCode", "Error"])
            ),
            Fact::Plain,
        ),
        98 => c(Info, "A TCP connection was established", Fact::Plain),
        99 => {
            let code = error(&["ErrorCode", "error"]);
            c(
                Failure,
                format!("The TCP connection failed with error {code}"),
                Fact::TransportError { code },
            )
        }
        102 => c(
            Info,
            "The server terminated the main RDP connection with the client",
            Fact::Plain,
        ),
        103 => {
            let code = v.number("ReasonCode")? as u32;
            c(
                Info,
                format!("Disconnect reason code {code}"),
                Fact::Disconnect {
                    log: DisconnectLog::RdpCoreTs,
                    code,
                    meaning: None,
                },
            )
        }
        105 => c(
            Warning,
            "The security layer allows native RDP encryption (SecurityLayer 0/1), which is not recommended",
            Fact::Plain,
        ),
        131 => {
            let transport = v.field("ConnType").unwrap_or_else(|| "TCP".into());
            let ip = v.field("ClientIP");
            c(
                Info,
                format!("Accepted a new {transport} connection from {}", or_q(&ip)),
                Fact::Accepted {
                    udp: transport.eq_ignore_ascii_case("udp"),
                    ip: remote_ip(ip),
                },
            )
        }
        135 => {
            let result = v.field("TransportType").unwrap_or_else(|| "?".into());
            let mark = if result.to_ascii_uppercase().starts_with("TCP") {
                Warning
            } else {
                Info
            };
            c(
                mark,
                format!("Multi-transport finished; transport: {result}"),
                Fact::Multitransport { result },
            )
        }
        136 => c(
            Warning,
            "Could not establish a multi-transport (UDP) connection; the session uses TCP",
            Fact::Multitransport {
                result: "TCP (multi-transport failed, event 136)".into(),
            },
        ),
        138 => c(
            Warning,
            format!(
                "DTLS initialisation failed ({}); TLS is used instead",
                error(&["ErrorCode"])
            ),
            Fact::Plain,
        ),
        139 => c(
            Failure,
            format!(
                "The server security layer detected an error ({}) and disconnected client {}",
                error(&["ErrorCode", "Error"]),
                v.field_any(&["ClientIP", "IPString"])
                    .or_else(|| v.data_items().get(1).cloned())
                    .unwrap_or_else(|| "?".into())
            ),
            Fact::Plain,
        ),
        140 => {
            let ip = v.field_any(&["IPString"]);
            c(
                Failure,
                format!(
                    "Connection from {} failed: wrong user name or password",
                    or_q(&ip)
                ),
                Fact::BadCredentials { ip: remote_ip(ip) },
            )
        }
        142 | 143 => {
            let code = error(&["error", "ErrorCode"]);
            c(
                Warning,
                format!(
                    "TCP socket {} failed, error {code}",
                    if id == 142 { "READ" } else { "WRITE" }
                ),
                Fact::TransportError {
                    code: format!("socket error {code}"),
                },
            )
        }
        147 => c(
            Failure,
            format!(
                "LogonUserExEx failed with error {}",
                error(&["ErrorCode", "Error"])
            ),
            Fact::Plain,
        ),
        149 => c(
            Failure,
            format!(
                "The client's logon certificate did not pass validation ({})",
                error(&["ErrorCode", "Error"])
            ),
            Fact::Plain,
        ),
        153 => c(
            Info,
            format!(
                "Session negotiated TLS version {}",
                error(&["TlsVersion", "Version"])
            ),
            Fact::Plain,
        ),
        226 => {
            let code = v.field("ErrorCode").unwrap_or_else(|| "?".into());
            c(
                Warning,
                format!(
                    "{}: error in state transition from {} on {} (error code {code})",
                    v.field("StateTransition").unwrap_or_else(|| "RDP".into()),
                    v.field("PreviousStateName").unwrap_or_else(|| "?".into()),
                    v.field("EventName").unwrap_or_else(|| "?".into()),
                ),
                Fact::TransportError { code },
            )
        }
        _ => None,
    }
}

fn rdpclient(v: &EventView<'_>, id: u16) -> Option<Classified> {
    use Mark::*;
    let value = || {
        v.field_any(&["Value"])
            .or_else(|| v.data_items().into_iter().last())
    };
    match id {
        1024 => c(
            Info,
            format!("The RDP client is connecting to {}", or_q(&value())),
            Fact::Plain,
        ),
        1025 => c(Success, "The RDP client connected", Fact::Plain),
        1026 => {
            let code: u32 = value()?.trim().parse().ok()?;
            let meaning = codes::client_disconnect_reason(code);
            c(
                if code <= 3 { Info } else { Failure },
                format!(
                    "The RDP client was disconnected, reason {code} (0x{code:X}): {}",
                    meaning.unwrap_or("undocumented reason")
                ),
                Fact::Disconnect {
                    log: DisconnectLog::RdpClient,
                    code,
                    meaning,
                },
            )
        }
        1027 => c(
            Success,
            format!(
                "The RDP client connected to domain {} (session {})",
                or_q(&v.field_any(&["DomainName"])),
                or_q(&v.field_any(&["SessionId", "SessionID"]))
            ),
            Fact::Plain,
        ),
        1028 => c(
            Info,
            format!("Server supports SSL = {}", or_q(&value())),
            Fact::Plain,
        ),
        1102 => c(
            Info,
            "The client initiated a multi-transport connection",
            Fact::Plain,
        ),
        1103 => c(
            Success,
            "The client established a multi-transport (UDP) connection",
            Fact::Plain,
        ),
        1104 => c(
            Warning,
            "The client failed to establish the multi-transport (UDP) connection",
            Fact::Multitransport {
                result: "client: multi-transport failed (1104)".into(),
            },
        ),
        1105 => c(
            Info,
            "The multi-transport connection was disconnected",
            Fact::Plain,
        ),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{DateTime, Utc};
    use serde_json::{Value, json};

    fn record(provider: &str, id: u64, data: Value) -> Value {
        json!({"Event": {
            "System": {"Provider_attributes": {"Name": provider}, "EventID": id,
                       "TimeCreated_attributes": {"SystemTime": "2024-05-01T09:14:00Z"},
                       "Computer": "srv01.contoso.com", "Channel": "System"},
            "EventData": data}})
    }

    fn classify_json(rec: &Value) -> Classified {
        let v = EventView::new(rec, DateTime::<Utc>::UNIX_EPOCH).unwrap();
        classify(&v).expect("catalogued")
    }

    #[test]
    fn schannel_alerts_and_states() {
        let c = classify_json(&record(
            "Schannel",
            36888,
            json!({"AlertDesc": 40, "ErrorState": 1205}),
        ));
        assert_eq!(c.mark, Mark::Failure);
        assert_eq!(
            c.fact,
            Fact::SchannelAlert {
                sent: true,
                code: Some(40)
            }
        );
        assert!(c.message.contains("40 handshake_failure"));
        let c = classify_json(&record("Schannel", 36887, json!({"Data": {"#text": "46"}})));
        assert_eq!(
            c.fact,
            Fact::SchannelAlert {
                sent: false,
                code: Some(46)
            }
        );
        let c = classify_json(&record(
            "Schannel",
            36871,
            json!({"Type": "server", "ErrorState": 10013}),
        ));
        assert_eq!(
            c.fact,
            Fact::SchannelCredential {
                detail: "10013".into()
            }
        );
        let c = classify_json(&record(
            "Schannel",
            36870,
            json!({"Type": "server", "ErrorCode": "0x8009030D", "ErrorStatus": 10001}),
        ));
        assert_eq!(
            c.fact,
            Fact::SchannelPrivateKey {
                detail: "0x8009030D state 10001".into()
            }
        );
    }

    #[test]
    fn termservice_certificate_and_denial_events() {
        let rec = record(
            "Microsoft-Windows-TerminalServices-RemoteConnectionManager",
            3221226529,
            json!({"Data": {"#text": "Keyset does not exist"}}),
        );
        let c = classify_json(&rec);
        assert_eq!(c.mark, Mark::Failure);
        assert!(
            matches!(c.fact, Fact::Certificate { status: Some(ref s), .. } if s == "Keyset does not exist")
        );
        let c = classify_json(&record("TermService", 1070, Value::Null));
        assert!(c.message.contains("drain mode"));
        let c = classify_json(&record(
            "LsaSrv",
            6041,
            json!({"Data": {"#text": ["TERMSRV/srv02", "3"]}}),
        ));
        assert_eq!(
            c.fact,
            Fact::CredsspRefused {
                target: "TERMSRV/srv02".into(),
                version: Some(3)
            }
        );
    }

    #[test]
    fn client_disconnect_reason() {
        let rec = record(
            "Microsoft-Windows-TerminalServices-ClientActiveXCore",
            1026,
            json!({"Name": "Disconnect Reason", "Value": "2308", "CustomLevel": "Info"}),
        );
        let c = classify_json(&rec);
        assert_eq!(c.mark, Mark::Failure);
        assert!(c.message.contains("0x904"), "{}", c.message);
        let rec = record(
            "Microsoft-Windows-Security-Auditing",
            4624,
            json!({"LogonType": 3}),
        );
        let v = EventView::new(&rec, DateTime::<Utc>::UNIX_EPOCH).unwrap();
        assert!(classify(&v).is_none(), "network logons are noise");
    }

    #[test]
    fn ports_are_stripped() {
        assert_eq!(strip_port("62.170.2.215:50270"), "62.170.2.215");
        assert_eq!(strip_port("[fe80::1]:3389"), "fe80::1");
        assert_eq!(strip_port("fe80::1"), "fe80::1");
        assert_eq!(strip_port("10.0.0.1"), "10.0.0.1");
        assert_eq!(remote_ip(Some("LOCAL".into())), None);
        assert_eq!(remote_ip(Some("-".into())), None);
    }
}
