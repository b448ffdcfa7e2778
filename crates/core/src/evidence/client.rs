//! Client-side evidence (`evidence.client`): connection files (.rdp) the user connects with.
//!
//! A .rdp file decides what the client offers before any packet is sent: the address it dials,
//! whether it speaks CredSSP, whether it goes through an RD Gateway. Passwords are never kept:
//! `password 51:b:` blobs (and any other setting whose name holds "password") are dropped at
//! parse time and only their names are listed in `dropped`.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Client-side facts.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientEvidence {
    #[serde(default)]
    pub rdp_files: Vec<RdpFile>,
}

/// One `name:type:value` setting of a .rdp file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RdpSetting {
    /// `s` (string), `i` (integer) or `b` (binary, hex text).
    #[serde(rename = "type")]
    pub kind: char,
    pub value: String,
}

/// RD Gateway settings of a .rdp file.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RdpGateway {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    /// 0 do not use; 1 always; 2 if the direct connection fails; 3 default; 4 do not use,
    /// bypass for local addresses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage_method: Option<i64>,
    /// 0 ask for a password; 1 smart card; 4 let the user choose later.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credentials_source: Option<i64>,
    /// 0 the administrator's default profile; 1 the file's explicit settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile_usage_method: Option<i64>,
}

impl RdpGateway {
    /// Whether the client goes through the gateway (usage method 1 or 2, or a hostname with
    /// explicit settings and no usage method that says otherwise).
    pub fn in_use(&self) -> bool {
        self.hostname.as_deref().is_some_and(|h| !h.is_empty())
            && matches!(self.usage_method, Some(1) | Some(2))
    }
}

/// A parsed .rdp file.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RdpFile {
    /// The file it came from.
    pub file: String,
    /// `full address`: host, IPv4, IPv6 (bracketed when it has a port), optional `:port`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub full_address: Option<String>,
    /// `alternate full address`: the address actually dialled when set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alternate_full_address: Option<String>,
    /// `server port`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_port: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
    /// `authentication level`: 0 connect anyway, 1 do not connect, 2 warn, 3 no requirement.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authentication_level: Option<i64>,
    /// `enablecredsspsupport`: 0 means the client never uses CredSSP (NLA). Absent means 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enable_credssp_support: Option<i64>,
    /// `negotiate security layer`: 0 starts with TLS without X.224 negotiation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub negotiate_security_layer: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway: Option<RdpGateway>,
    /// Every setting kept, by lower-case name.
    #[serde(default)]
    pub settings: BTreeMap<String, RdpSetting>,
    /// Names of settings dropped because they hold credentials.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dropped: Vec<String>,
    /// Lines that could not be read, and why (bounded).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<String>,
}

impl RdpFile {
    /// Whether the client offers CredSSP (NLA): `enablecredsspsupport` absent or non-zero.
    pub fn offers_credssp(&self) -> bool {
        self.enable_credssp_support != Some(0)
    }

    /// A setting's raw value.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.settings
            .get(&name.to_ascii_lowercase())
            .map(|s| s.value.as_str())
    }
}
