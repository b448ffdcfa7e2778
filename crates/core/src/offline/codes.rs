//! The few code tables the offline readers need to word the timeline and the aggregates
//! (NTSTATUS of failed logons, TLS alerts, session disconnect reasons, logon types). The full
//! tables for `rdpdoctor explain` live in the knowledge base; these are the subsets events
//! carry, kept here so the readers do not depend on the catalog's wording.

/// Which cause a failed-logon status points to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogonFailureKind {
    /// Wrong user name or password.
    BadCredentials,
    /// The account is locked out.
    Locked,
    /// Disabled, expired, password expired or must change, outside logon hours.
    Restricted,
    /// The account lacks "Allow log on through Remote Desktop Services".
    LogonRight,
    /// Anything else (domain controller unreachable, clock skew, ...).
    Other,
}

/// Meaning and kind of an NTSTATUS found in 4625 Status/SubStatus.
pub fn ntstatus(code: u32) -> (&'static str, LogonFailureKind) {
    use LogonFailureKind::*;
    match code {
        0xC000_006A => ("wrong password", BadCredentials),
        0xC000_0064 => ("no such user", BadCredentials),
        0xC000_006D => ("bad user name or password", BadCredentials),
        0xC000_006E => ("account restriction", Restricted),
        0xC000_006F => ("logon outside the allowed hours", Restricted),
        0xC000_0070 => ("logon from a workstation that is not allowed", Restricted),
        0xC000_0071 => ("password expired", Restricted),
        0xC000_0072 => ("account disabled", Restricted),
        0xC000_0193 => ("account expired", Restricted),
        0xC000_0224 => ("password must be changed at next logon", Restricted),
        0xC000_0234 => ("account locked out", Locked),
        0xC000_015B => (
            "logon type not granted (Allow log on through Remote Desktop Services)",
            LogonRight,
        ),
        0xC000_005E => ("no logon servers available", Other),
        0xC000_00DC => ("SAM server in the wrong state", Other),
        0xC000_0133 => ("clocks of the DC and this computer too far apart", Other),
        0xC000_018C => ("trust relationship with the domain failed", Other),
        0xC000_0192 => ("Netlogon service not started", Other),
        0xC000_0413 => ("authentication firewall", Other),
        _ => ("other failure", Other),
    }
}

/// Parse `0xc000006d` / `C000006D` / `3221225581` into a code.
pub fn parse_status(s: &str) -> Option<u32> {
    let t = s.trim();
    if let Some(h) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        u32::from_str_radix(h, 16).ok()
    } else if t.len() == 8 && t.chars().all(|c| c.is_ascii_hexdigit()) {
        u32::from_str_radix(t, 16).ok()
    } else {
        t.parse().ok()
    }
}

/// `0xC000006D`.
pub fn format_status(code: u32) -> String {
    format!("0x{code:08X}")
}

/// Logon type names (4624/4625 LogonType).
pub fn logon_type(t: u32) -> &'static str {
    match t {
        2 => "interactive",
        3 => "network, e.g. NLA",
        4 => "batch",
        5 => "service",
        7 => "unlock",
        8 => "network cleartext",
        9 => "new credentials",
        10 => "remote interactive (RDP)",
        11 => "cached interactive",
        _ => "other",
    }
}

/// LocalSessionManager event 40 reason codes (the same values as ERRINFO 0x0–0xC).
pub fn lsm_disconnect_reason(code: u32) -> Option<&'static str> {
    Some(match code {
        0 => "no additional information (e.g. the user closed the window)",
        1 => "disconnected by an administration tool in another session",
        2 => "logged off by an administration tool in another session",
        3 => "idle session time limit reached",
        4 => "active session time limit reached",
        5 => "replaced by another connection (the user reconnected)",
        6 => "the server ran out of memory",
        7 => "the server denied the connection",
        9 => "the user lacks the privileges to connect",
        10 => "the server does not accept saved credentials",
        11 => "disconnected by the user or an administration tool in the session",
        12 => "the user logged off",
        _ => return None,
    })
}

/// Documented mstsc disconnect reasons (RDP client event 1026 carries the decimal discReason).
pub fn client_disconnect_reason(code: u32) -> Option<&'static str> {
    Some(match code {
        0 => "no information",
        1 => "local disconnect (not an error)",
        2 => "remote disconnect by the user (not an error)",
        3 => "remote disconnect by the server",
        260 | 1288 => "DNS name lookup failed",
        262 | 518 | 774 => "out of memory",
        264 => "connection timed out",
        516 => "socket connect failed (port closed or filtered, or host down) (0x204)",
        520 => "host not found",
        772 => "socket send failed",
        776 | 2052 => "invalid IP address",
        1028 => "socket receive failed",
        1030 => "security data not valid (TLS/CredSSP)",
        1032 => "internal error",
        1286 => "invalid encryption method",
        1540 => "gethostbyname failed",
        1542 => "server security data not valid",
        1544 => "internal timer error",
        1796 => "time-out",
        1798 => "failed to unpack the server certificate",
        2055 => "logon failed (SSL_ERR_LOGON_FAILURE)",
        2056 => "license negotiation failed",
        2308 => "socket closed (0x904)",
        2310 | 2566 => "internal security error",
        2312 => "licensing time-out",
        2567 => "no such user",
        2822 => "encryption error",
        2823 => "account disabled",
        3078 => "decryption error",
        3079 => "account restricted",
        3080 => "client decompression error",
        3335 => "account locked out",
        3591 => "account expired",
        3847 => "password expired",
        4615 => "password must be changed before the first logon",
        5639 => "policy does not allow delegating credentials to this server",
        5895 => "delegation not allowed without mutual authentication (NTLM only)",
        6151 => "no authority could be contacted for authentication",
        6919 => "the server certificate is expired",
        7175 => "wrong smart card PIN",
        8455 => "the server requires fresh credentials (saved credentials not allowed)",
        8711 => "smart card blocked",
        _ => return None,
    })
}

/// IANA TLS alert names (Schannel 36887/36888), from the wire crate's table.
pub fn tls_alert(code: u8) -> &'static str {
    rdpdoctor_wire::tls::alert_name(code).unwrap_or("unknown_alert")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_parse_in_every_spelling() {
        assert_eq!(parse_status("0xc000006d"), Some(0xC000_006D));
        assert_eq!(parse_status("C000006A"), Some(0xC000_006A));
        assert_eq!(parse_status("3221225581"), Some(0xC000_006D));
        assert_eq!(parse_status("-"), None);
        assert_eq!(format_status(0xC000_0234), "0xC0000234");
        assert_eq!(ntstatus(0xC000_0234).1, LogonFailureKind::Locked);
    }
}
