//! `.rdp` connection files: `name:type:value` lines, UTF-16LE with a BOM (what mstsc saves)
//! or UTF-8.
//!
//! Credentials never enter the evidence: a setting whose name holds "password"
//! (`password 51:b:<DPAPI blob>`, `gatewaypassword`) is dropped at parse time and only its
//! name is listed. `b:` values are kept as the hex text they are.

use crate::Target;
use crate::evidence::{RdpFile, RdpGateway, RdpSetting};
use crate::offline::registry::regtext;
use crate::target::TargetError;

/// Largest .rdp file read.
pub const MAX_RDP_BYTES: usize = 1024 * 1024;
/// Settings kept per file.
const MAX_SETTINGS: usize = 1024;
/// Longest value kept.
const MAX_VALUE: usize = 64 * 1024;
const MAX_PROBLEMS: usize = 10;

/// Parse a .rdp file's bytes. Never fails: unreadable lines are listed in `problems`.
pub fn parse_rdp(bytes: &[u8], file: &str) -> RdpFile {
    let bytes = &bytes[..bytes.len().min(MAX_RDP_BYTES)];
    let text = regtext::decode(bytes);
    let mut rdp = RdpFile {
        file: file.to_string(),
        ..Default::default()
    };
    let mut problems_total = 0usize;
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim_matches(|c: char| c == '\u{feff}' || c.is_whitespace());
        if line.is_empty() {
            continue;
        }
        let mut problem = |what: String| {
            problems_total += 1;
            if rdp.problems.len() < MAX_PROBLEMS {
                rdp.problems.push(format!("line {}: {what}", i + 1));
            }
        };
        // name:t:value — the name may hold spaces; the value may hold colons (IPv6, ports).
        let Some((name, rest)) = line.split_once(':') else {
            problem("not a name:type:value setting".into());
            continue;
        };
        let mut chars = rest.chars();
        let (Some(kind), Some(':')) = (chars.next(), chars.next()) else {
            problem(format!("setting '{}' has no type", short(name)));
            continue;
        };
        let kind = kind.to_ascii_lowercase();
        if !matches!(kind, 's' | 'i' | 'b') {
            problem(format!(
                "setting '{}' has unknown type '{kind}'",
                short(name)
            ));
            continue;
        }
        let value = chars.as_str();
        let key = name.trim().to_ascii_lowercase();
        if key.contains("password") {
            if !rdp.dropped.contains(&key) && rdp.dropped.len() < MAX_PROBLEMS {
                rdp.dropped.push(key);
            }
            continue;
        }
        if kind == 'i' && value.trim().parse::<i64>().is_err() {
            problem(format!("setting '{}' is not an integer", short(name)));
            continue;
        }
        if rdp.settings.len() >= MAX_SETTINGS && !rdp.settings.contains_key(&key) {
            problem("too many settings; the rest are ignored".into());
            break;
        }
        let mut value = crate::offline::printable(value);
        if value.len() > MAX_VALUE {
            let mut end = MAX_VALUE;
            while !value.is_char_boundary(end) {
                end -= 1;
            }
            value.truncate(end);
        }
        rdp.settings.insert(key, RdpSetting { kind, value });
    }
    if problems_total > rdp.problems.len() {
        rdp.problems.push(format!(
            "{} more problem(s) not listed",
            problems_total - rdp.problems.len()
        ));
    }

    let s = |k: &str| {
        rdp.settings
            .get(k)
            .filter(|v| v.kind == 's')
            .map(|v| v.value.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    let i = |k: &str| {
        rdp.settings
            .get(k)
            .filter(|v| v.kind == 'i')
            .and_then(|v| v.value.trim().parse::<i64>().ok())
    };
    rdp.full_address = s("full address");
    rdp.alternate_full_address = s("alternate full address");
    rdp.server_port = i("server port")
        .and_then(|p| u16::try_from(p).ok())
        .filter(|p| *p != 0);
    rdp.username = s("username");
    rdp.domain = s("domain");
    rdp.authentication_level = i("authentication level");
    rdp.enable_credssp_support = i("enablecredsspsupport");
    rdp.negotiate_security_layer = i("negotiate security layer");
    let gateway = RdpGateway {
        hostname: s("gatewayhostname"),
        usage_method: i("gatewayusagemethod"),
        credentials_source: i("gatewaycredentialssource"),
        profile_usage_method: i("gatewayprofileusagemethod"),
    };
    if gateway != RdpGateway::default() {
        rdp.gateway = Some(gateway);
    }
    rdp
}

fn short(s: &str) -> String {
    s.chars().take(40).collect()
}

/// Why a .rdp file does not name a server to check.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RdpTargetError {
    #[error("{file}: no 'full address' setting, so there is no server to check")]
    NoAddress { file: String },
    #[error("{file}: {source}")]
    BadAddress {
        file: String,
        #[source]
        source: TargetError,
    },
}

impl RdpFile {
    /// The server to check for this file: the address the client dials (`alternate full
    /// address` when set, else `full address`), the port from the address or `server port`,
    /// and the `full address` host as the name the certificate must carry when the two differ.
    pub fn target(&self) -> Result<Target, RdpTargetError> {
        let full = self
            .full_address
            .as_deref()
            .ok_or_else(|| RdpTargetError::NoAddress {
                file: self.file.clone(),
            })?;
        let default_port = self.server_port.unwrap_or(crate::target::DEFAULT_PORT);
        let bad = |source| RdpTargetError::BadAddress {
            file: self.file.clone(),
            source,
        };
        let identity = Target::parse_with_default_port(full, default_port).map_err(bad)?;
        let Some(alt) = self.alternate_full_address.as_deref() else {
            return Ok(identity);
        };
        let mut dial = Target::parse_with_default_port(alt, identity.port).map_err(bad)?;
        if !dial.host.eq_ignore_ascii_case(&identity.host) {
            dial.expected_name = Some(identity.host);
        }
        Ok(dial)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utf16_bom(s: &str) -> Vec<u8> {
        let mut b = vec![0xFF, 0xFE];
        for u in s.encode_utf16() {
            b.extend_from_slice(&u.to_le_bytes());
        }
        b
    }

    const FILE: &str = "screen mode id:i:2\r\nfull address:s:[fd00::5]:3390\r\nusername:s:CONTOSO\\alice\r\npassword 51:b:01000000D08C9DDF0115D1118C7A00C04FC297EB\r\nenablecredsspsupport:i:0\r\nauthentication level:i:2\r\ngatewayhostname:s:rdg.contoso.com\r\ngatewayusagemethod:i:1\r\nselectedmonitors:s:0,1\r\nbroken line\r\nweird:x:1\r\n";

    #[test]
    fn utf16_file_with_ipv6_and_a_password_blob() {
        let rdp = parse_rdp(&utf16_bom(FILE), "conn.rdp");
        assert_eq!(rdp.full_address.as_deref(), Some("[fd00::5]:3390"));
        assert_eq!(rdp.username.as_deref(), Some("CONTOSO\\alice"));
        assert_eq!(rdp.enable_credssp_support, Some(0));
        assert!(!rdp.offers_credssp());
        assert_eq!(rdp.dropped, ["password 51"]);
        assert!(rdp.settings.keys().all(|k| !k.contains("password")));
        let json = serde_json::to_string(&rdp).unwrap();
        assert!(!json.contains("D08C9DDF"), "{json}");
        assert!(rdp.gateway.as_ref().unwrap().in_use());
        assert_eq!(rdp.problems.len(), 2, "{:?}", rdp.problems);
        let t = rdp.target().unwrap();
        assert_eq!((t.host.as_str(), t.port), ("fd00::5", 3390));
        assert_eq!(t.expected_name, None);
    }

    #[test]
    fn utf8_file_with_alternate_address_and_server_port() {
        let rdp = parse_rdp(
            b"full address:s:server01.contoso.com\nalternate full address:s:10.0.0.5\nserver port:i:3391\n",
            "x.rdp",
        );
        assert!(rdp.offers_credssp());
        let t = rdp.target().unwrap();
        assert_eq!(t.host, "10.0.0.5");
        assert_eq!(t.port, 3391);
        assert_eq!(t.expected_name.as_deref(), Some("server01.contoso.com"));
    }

    #[test]
    fn binary_values_are_kept_and_no_address_is_an_error() {
        let rdp = parse_rdp(b"some blob:b:0A0B\n", "y.rdp");
        assert_eq!(rdp.get("some blob"), Some("0A0B"));
        assert!(matches!(
            rdp.target(),
            Err(RdpTargetError::NoAddress { .. })
        ));
    }
}
