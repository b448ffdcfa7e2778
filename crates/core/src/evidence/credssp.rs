//! Evidence from the CredSSP (NLA) exchange without credentials: the server's TSRequest version
//! and what its NTLM CHALLENGE says about it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The server's first CredSSP answer to a TSRequest carrying an NTLM NEGOTIATE.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CredsspProbe {
    /// The CredSSP (TSRequest) version the server answered with: below 5 means no CVE-2018-0886 fix.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<u32>,
    /// The version we offered.
    pub offered_version: u32,
    /// The NTSTATUS the server returned in `errorCode`, as `0xC000006D`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    /// The NTLM CHALLENGE, decoded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ntlm: Option<NtlmChallengeInfo>,
    /// Whether the server echoed a clientNonce (CredSSP 5+ behaviour).
    #[serde(default)]
    pub nonce_echoed: bool,
}

/// Identity and clock of the server, from the NTLM CHALLENGE target info.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct NtlmChallengeInfo {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub netbios_computer_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub netbios_domain_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dns_computer_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dns_domain_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dns_tree_name: Option<String>,
    /// Windows version from the VERSION field (`10.0.17763`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os_build: Option<u16>,
    /// Windows release that build number corresponds to (`Windows Server 2019 / Windows 10 1809`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ntlm_revision: Option<u8>,
    pub negotiate_flags: u32,
    /// MsvAvTimestamp: the server's clock.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_time: Option<DateTime<Utc>>,
    /// Server clock minus our clock, in seconds (positive: the server is ahead).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clock_skew_seconds: Option<i64>,
}
