//! What the user asked to check: `server01`, `server01:3390`, `10.0.0.5`, `[fe80::1]:3389`.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

/// The RDP port when none is given.
pub const DEFAULT_PORT: u16 = 3389;

/// One server to check (`target` in the JSON).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Target {
    /// The target as the user gave it.
    pub input: String,
    /// Host name or IP address literal (IPv6 without brackets).
    pub host: String,
    pub port: u16,
    /// The name to compare with the certificate and the NTLM identity when it differs from
    /// `host` (a .rdp file's `full address` when `host` is an alternate address).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_name: Option<String>,
}

/// Why a target string is not usable.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    #[error("empty target")]
    Empty,
    #[error("'{0}': the port must be a number from 1 to 65535")]
    BadPort(String),
    #[error("'{0}': an IPv6 address with a port must be written in brackets, like [{0}]:3389")]
    AmbiguousIpv6(String),
    #[error("'{0}': a bracketed address must be an IPv6 address")]
    BadBracket(String),
    #[error("'{0}': not a valid host name")]
    BadHost(String),
}

impl Target {
    /// Parse `host`, `host:port`, `ipv4:port`, `ipv6`, `[ipv6]:port`. A `rdp://` prefix and a
    /// trailing `/` are accepted because admins paste URLs.
    pub fn parse(input: &str) -> Result<Target, TargetError> {
        Self::parse_with_default_port(input, DEFAULT_PORT)
    }

    pub fn parse_with_default_port(input: &str, default_port: u16) -> Result<Target, TargetError> {
        let trimmed = input.trim();
        let s = trimmed
            .strip_prefix("rdp://")
            .unwrap_or(trimmed)
            .trim_end_matches('/');
        if s.is_empty() {
            return Err(TargetError::Empty);
        }
        let (host, port) = if let Some(rest) = s.strip_prefix('[') {
            let (addr, after) = rest
                .split_once(']')
                .ok_or_else(|| TargetError::BadBracket(s.into()))?;
            if addr.parse::<std::net::Ipv6Addr>().is_err() {
                return Err(TargetError::BadBracket(s.into()));
            }
            let port = match after {
                "" => default_port,
                p => parse_port(
                    p.strip_prefix(':')
                        .ok_or_else(|| TargetError::BadBracket(s.into()))?,
                    s,
                )?,
            };
            (addr.to_string(), port)
        } else if s.matches(':').count() > 1 {
            if s.parse::<std::net::Ipv6Addr>().is_err() {
                return Err(TargetError::AmbiguousIpv6(s.into()));
            }
            (s.to_string(), default_port)
        } else if let Some((h, p)) = s.split_once(':') {
            (h.to_string(), parse_port(p, s)?)
        } else {
            (s.to_string(), default_port)
        };
        if host.parse::<IpAddr>().is_err() && !is_host_name(&host) {
            return Err(TargetError::BadHost(host));
        }
        Ok(Target {
            input: trimmed.to_string(),
            host,
            port,
            expected_name: None,
        })
    }

    /// The address, when the host is an IP literal (DNS is then skipped).
    pub fn ip(&self) -> Option<IpAddr> {
        self.host.parse().ok()
    }

    /// The name to verify the server's identity against.
    pub fn identity_name(&self) -> &str {
        self.expected_name.as_deref().unwrap_or(&self.host)
    }

    /// `host:port` with IPv6 in brackets.
    pub fn authority(&self) -> String {
        match self.ip() {
            Some(IpAddr::V6(_)) => format!("[{}]:{}", self.host, self.port),
            _ => format!("{}:{}", self.host, self.port),
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.authority())
    }
}

impl FromStr for Target {
    type Err = TargetError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Target::parse(s)
    }
}

fn parse_port(p: &str, whole: &str) -> Result<u16, TargetError> {
    match p.parse::<u16>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(TargetError::BadPort(whole.into())),
    }
}

/// RFC 1123 host names, plus `_` which Windows allows in NetBIOS-derived names.
fn is_host_name(h: &str) -> bool {
    let h = h.strip_suffix('.').unwrap_or(h);
    !h.is_empty()
        && h.len() <= 253
        && h.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_forms_admins_type() {
        let t = Target::parse("server01").unwrap();
        assert_eq!((t.host.as_str(), t.port), ("server01", 3389));
        let t = Target::parse("server01.contoso.com:3390").unwrap();
        assert_eq!((t.host.as_str(), t.port), ("server01.contoso.com", 3390));
        let t = Target::parse("10.0.0.5:13389").unwrap();
        assert_eq!(t.ip(), Some("10.0.0.5".parse().unwrap()));
        let t = Target::parse("[::1]:3391").unwrap();
        assert_eq!((t.host.as_str(), t.port), ("::1", 3391));
        assert_eq!(t.authority(), "[::1]:3391");
        let t = Target::parse("fe80::1").unwrap();
        assert_eq!((t.host.as_str(), t.port), ("fe80::1", 3389));
        let t = Target::parse("rdp://host:4000/").unwrap();
        assert_eq!((t.host.as_str(), t.port), ("host", 4000));
    }

    #[test]
    fn rejects_what_cannot_be_a_target() {
        assert_eq!(Target::parse(""), Err(TargetError::Empty));
        assert!(matches!(
            Target::parse("host:0"),
            Err(TargetError::BadPort(_))
        ));
        assert!(matches!(
            Target::parse("host:99999"),
            Err(TargetError::BadPort(_))
        ));
        assert!(matches!(
            Target::parse("host:abc"),
            Err(TargetError::BadPort(_))
        ));
        assert!(matches!(
            Target::parse("[nope]:1"),
            Err(TargetError::BadBracket(_))
        ));
        assert!(matches!(
            Target::parse("a:b:c"),
            Err(TargetError::AmbiguousIpv6(_))
        ));
        assert!(matches!(
            Target::parse("bad host"),
            Err(TargetError::BadHost(_))
        ));
        assert!(matches!(
            Target::parse("-x.com"),
            Err(TargetError::BadHost(_))
        ));
    }

    proptest::proptest! {
        #[test]
        fn parse_never_panics(s in "\\PC{0,80}") {
            let _ = Target::parse(&s);
        }

        #[test]
        fn authority_roundtrips(host in "[a-z][a-z0-9-]{0,20}[a-z0-9]", port in 1u16..) {
            let t = Target::parse(&format!("{host}:{port}")).unwrap();
            let again = Target::parse(&t.authority()).unwrap();
            proptest::prop_assert_eq!((again.host, again.port), (t.host, t.port));
        }
    }
}
