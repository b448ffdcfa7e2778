//! TLS alerts: level and description codes with their IANA names.
//!
//! A TLS-capable RDP server that refuses our ClientHello says why in a two-byte alert;
//! `protocol_version` (70) and `handshake_failure` (40) are the everyday answers when versions or
//! cipher suites do not overlap, and `inappropriate_fallback` (86) reveals TLS_FALLBACK_SCSV
//! support.

use std::fmt;

/// Alert level 1.
pub const LEVEL_WARNING: u8 = 1;
/// Alert level 2.
pub const LEVEL_FATAL: u8 = 2;

/// A decoded alert record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Alert {
    /// 1 warning, 2 fatal; other values are kept as received.
    pub level: u8,
    /// Description code.
    pub description: u8,
}

impl Alert {
    /// Whether the level says fatal.
    pub fn is_fatal(self) -> bool {
        self.level == LEVEL_FATAL
    }

    /// IANA name of the description (`handshake_failure`), if known.
    pub fn name(self) -> Option<&'static str> {
        alert_name(self.description)
    }
}

impl fmt::Display for Alert {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let level = match self.level {
            LEVEL_WARNING => "warning",
            LEVEL_FATAL => "fatal",
            _ => "unknown-level",
        };
        match self.name() {
            Some(n) => write!(f, "{level} {n} ({})", self.description),
            None => write!(f, "{level} alert {}", self.description),
        }
    }
}

/// IANA name of a TLS alert description (RFC 5246, RFC 8446 and the IANA registry). Reserved
/// SSL 3.0 / TLS 1.0 codes are included because old servers still send them.
pub fn alert_name(description: u8) -> Option<&'static str> {
    Some(match description {
        0 => "close_notify",
        10 => "unexpected_message",
        20 => "bad_record_mac",
        21 => "decryption_failed",
        22 => "record_overflow",
        30 => "decompression_failure",
        40 => "handshake_failure",
        41 => "no_certificate",
        42 => "bad_certificate",
        43 => "unsupported_certificate",
        44 => "certificate_revoked",
        45 => "certificate_expired",
        46 => "certificate_unknown",
        47 => "illegal_parameter",
        48 => "unknown_ca",
        49 => "access_denied",
        50 => "decode_error",
        51 => "decrypt_error",
        60 => "export_restriction",
        70 => "protocol_version",
        71 => "insufficient_security",
        80 => "internal_error",
        86 => "inappropriate_fallback",
        90 => "user_canceled",
        100 => "no_renegotiation",
        109 => "missing_extension",
        110 => "unsupported_extension",
        111 => "certificate_unobtainable",
        112 => "unrecognized_name",
        113 => "bad_certificate_status_response",
        114 => "bad_certificate_hash_value",
        115 => "unknown_psk_identity",
        116 => "certificate_required",
        120 => "no_application_protocol",
        121 => "ech_required",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(alert_name(70), Some("protocol_version"));
        assert_eq!(alert_name(40), Some("handshake_failure"));
        assert_eq!(alert_name(86), Some("inappropriate_fallback"));
        assert_eq!(alert_name(255), None);
        let a = Alert {
            level: 2,
            description: 70,
        };
        assert!(a.is_fatal());
        assert_eq!(a.to_string(), "fatal protocol_version (70)");
    }
}
