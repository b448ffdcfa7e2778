//! Evidence from the X.224 / RDP_NEG security negotiation.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// One RDP security protocol, as named in the JSON (`evidence.negotiation.supported`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Protocol {
    /// Standard RDP Security (PROTOCOL_RDP, 0): RC4, no server authentication.
    Rdp,
    /// TLS (PROTOCOL_SSL, 0x1).
    Ssl,
    /// CredSSP / NLA (PROTOCOL_HYBRID, 0x2).
    Hybrid,
    /// CredSSP with Early User Authorization (PROTOCOL_HYBRID_EX, 0x8).
    HybridEx,
    /// RDSTLS (PROTOCOL_RDSTLS, 0x4), used by redirection.
    Rdstls,
    /// Entra ID authentication (PROTOCOL_RDSAAD, 0x10).
    Rdsaad,
}

impl Protocol {
    pub const ALL: [Protocol; 6] = [
        Protocol::Rdp,
        Protocol::Ssl,
        Protocol::Hybrid,
        Protocol::HybridEx,
        Protocol::Rdstls,
        Protocol::Rdsaad,
    ];

    /// The protocol's bit in requestedProtocols / selectedProtocol (0 for standard RDP).
    pub fn bit(self) -> u32 {
        match self {
            Protocol::Rdp => 0,
            Protocol::Ssl => 0x1,
            Protocol::Hybrid => 0x2,
            Protocol::Rdstls => 0x4,
            Protocol::HybridEx => 0x8,
            Protocol::Rdsaad => 0x10,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Rdp => "rdp",
            Protocol::Ssl => "ssl",
            Protocol::Hybrid => "hybrid",
            Protocol::HybridEx => "hybrid_ex",
            Protocol::Rdstls => "rdstls",
            Protocol::Rdsaad => "rdsaad",
        }
    }

    /// Whether the protocol runs inside TLS.
    pub fn uses_tls(self) -> bool {
        !matches!(self, Protocol::Rdp)
    }

    /// Whether the protocol runs CredSSP after TLS.
    pub fn uses_credssp(self) -> bool {
        matches!(self, Protocol::Hybrid | Protocol::HybridEx)
    }

    /// The single protocol a selectedProtocol value names (`None` for unknown or several bits).
    pub fn from_selected(value: u32) -> Option<Protocol> {
        Protocol::ALL.into_iter().find(|p| p.bit() == value)
    }

    /// The protocols in a requestedProtocols bit set (standard RDP is always implied).
    pub fn set_from_bits(bits: u32) -> Vec<Protocol> {
        let mut v: Vec<Protocol> = Protocol::ALL
            .into_iter()
            .filter(|p| p.bit() != 0 && bits & p.bit() != 0)
            .collect();
        if v.is_empty() {
            v.push(Protocol::Rdp);
        }
        v
    }

    /// The key used in `failures` for a requested set: names joined with `|` (`ssl|hybrid`).
    pub fn set_key(bits: u32) -> String {
        Protocol::set_from_bits(bits)
            .iter()
            .map(|p| p.as_str())
            .collect::<Vec<_>>()
            .join("|")
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the server answered to one Connection Request.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum NegotiationAnswer {
    /// RDP_NEG_RSP: the protocol the server selected.
    Selected {
        protocol: Protocol,
        /// The raw selectedProtocol value (kept when it is not a single known protocol).
        value: u32,
        flags: u8,
    },
    /// RDP_NEG_FAILURE with its code.
    Failure { code: u32, name: String },
    /// A Connection Confirm without RDP_NEG data: an old server that only knows standard RDP
    /// security.
    NoNegotiationData,
    /// No usable answer (closed, reset, timeout, garbage); see `error`.
    NoAnswer { error: super::StageError },
}

/// One negotiation round trip: what we asked, what came back.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NegotiationProbe {
    /// requestedProtocols as names.
    pub requested: Vec<Protocol>,
    /// requestedProtocols as sent.
    pub requested_bits: u32,
    pub answer: NegotiationAnswer,
    pub elapsed_ms: f64,
    /// The Connection Confirm's source reference: 0x1234 identifies xrdp.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_ref: Option<u16>,
}

/// Which security protocols the server accepts, found with as few connections as possible.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Negotiation {
    /// Protocols the server selected when asked (never inferred from a silent downgrade).
    pub supported: Vec<Protocol>,
    /// Requested protocol set (`ssl`, `rdp`, `ssl|hybrid|hybrid_ex`) -> RDP_NEG_FAILURE code name.
    pub failures: BTreeMap<String, String>,
    /// Protocols that were requested and answered with a weaker one without a failure code
    /// (xrdp answers HYBRID with PROTOCOL_RDP).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub downgraded: Vec<Protocol>,
    /// The protocol the server chose for a current client's request (SSL|HYBRID|HYBRID_EX).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selected: Option<Protocol>,
    /// RDP_NEG_RSP flags of that answer, by name.
    #[serde(default)]
    pub response_flags: Vec<String>,
    /// RDP_NEG_RSP flags, raw.
    #[serde(default)]
    pub response_flags_raw: u8,
    /// True when the server answered without any RDP_NEG data (standard RDP security only).
    #[serde(default)]
    pub legacy_no_negotiation: bool,
    /// What the Connection Confirm says about the server software, when it tells (`xrdp`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_hint: Option<String>,
    /// Every round trip, in order.
    pub probes: Vec<NegotiationProbe>,
    /// TCP connections the negotiation used.
    pub connections: u32,
}

impl Negotiation {
    pub fn supports(&self, p: Protocol) -> bool {
        self.supported.contains(&p)
    }

    /// Whether the server refused everything but NLA (HYBRID_REQUIRED_BY_SERVER seen).
    pub fn nla_required(&self) -> bool {
        self.failures
            .values()
            .any(|f| f == "HYBRID_REQUIRED_BY_SERVER")
    }

    /// Failure code names seen, deduplicated.
    pub fn failure_names(&self) -> impl Iterator<Item = &str> {
        let mut v: Vec<&str> = self.failures.values().map(String::as_str).collect();
        v.sort_unstable();
        v.dedup();
        v.into_iter()
    }

    pub fn any_failure(&self, name: &str) -> bool {
        self.failures.values().any(|f| f == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_key_names_requested_protocols() {
        assert_eq!(Protocol::set_key(0), "rdp");
        assert_eq!(Protocol::set_key(1), "ssl");
        assert_eq!(Protocol::set_key(0xb), "ssl|hybrid|hybrid_ex");
    }

    #[test]
    fn selected_values_map_to_single_protocols() {
        assert_eq!(Protocol::from_selected(8), Some(Protocol::HybridEx));
        assert_eq!(Protocol::from_selected(0), Some(Protocol::Rdp));
        assert_eq!(Protocol::from_selected(3), None);
    }
}
