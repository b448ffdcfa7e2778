//! Evidence from the TLS handshake and the server certificate.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// How the TLS facts were obtained.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TlsClient {
    /// A full handshake with a current TLS stack (rustls: TLS 1.2/1.3, ECDHE + AEAD).
    Modern,
    /// A hand-built ClientHello read in plaintext, for servers a modern stack cannot talk to
    /// (TLS 1.0-only Windows 2008 R2 / 2012). The handshake is not completed.
    LegacyHello,
}

/// A TLS alert the server sent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TlsAlert {
    /// 1 warning, 2 fatal.
    pub level: u8,
    pub code: u8,
    /// IANA name (`protocol_version`, `handshake_failure`).
    pub name: String,
}

/// The TLS handshake on the negotiated connection.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TlsHandshake {
    /// `TLSv1.0` .. `TLSv1.3`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// IANA cipher-suite name (`TLS_AES_256_GCM_SHA384`, `TLS_RSA_WITH_AES_128_CBC_SHA`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cipher_suite: Option<String>,
    /// Key-exchange group when known (`x25519`, `secp256r1`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_exchange: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client: Option<TlsClient>,
    /// Whether a current TLS stack (what an up-to-date mstsc or FreeRDP uses) completed the
    /// handshake.
    #[serde(default)]
    pub modern_handshake_ok: bool,
    /// Why the modern handshake failed, when it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modern_handshake_error: Option<String>,
    /// An alert the server sent during the handshake.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alert: Option<TlsAlert>,
    /// Certificates in the chain the server sent.
    #[serde(default)]
    pub chain_length: usize,
    /// Deep enumeration of versions and suites (`check --deep`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enumeration: Option<TlsEnumeration>,
}

/// Every version and suite the server accepts (`evidence.tls.enumeration`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TlsEnumeration {
    /// "TLSv1.0" .. "TLSv1.3" -> accepted suites by IANA name, in server preference order where it
    /// has one. An empty list means the version is refused.
    pub versions: BTreeMap<String, Vec<String>>,
    /// TCP connections the enumeration used.
    pub connections: u32,
    /// Whether SSL 3.0 answered (should never).
    #[serde(default)]
    pub ssl3_accepted: bool,
    /// Whether the server imposes its own suite order (per version).
    #[serde(default)]
    pub server_preference: BTreeMap<String, bool>,
    /// Key-exchange groups accepted for ECDHE (TLS 1.2) and TLS 1.3, by name.
    #[serde(default)]
    pub groups: BTreeMap<String, Vec<String>>,
    /// What well-known clients would negotiate with this server.
    #[serde(default)]
    pub clients: Vec<ClientCompatibility>,
    /// Leaf certificate SHA-256 per version when it differs between versions.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub certificate_by_version: BTreeMap<String, String>,
    /// Wall time of the enumeration.
    #[serde(default)]
    pub elapsed_ms: f64,
    /// Versions whose suite list may be incomplete because the enumeration stopped early (the
    /// server stopped answering, or the time budget ran out). A version absent from `versions`
    /// was not established at all.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub incomplete: Vec<String>,
    /// What the enumeration noticed on the way (SSL 3.0 answering, odd server behaviour, why it
    /// stopped).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// What one client profile would get from the server.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientCompatibility {
    /// `Windows 11 mstsc / Windows App`, `FreeRDP 3`, ...
    pub client: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cipher_suite: Option<String>,
    /// `None` means the client and server share a version and a suite.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
}

/// Whether the certificate names the host the user connects to.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NameMatch {
    /// The name or address compared.
    pub checked: String,
    pub matches: bool,
    /// The certificate name that matched (`DNS:server01.contoso.com`, `CN=server01`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub matched_by: Option<String>,
}

/// Whether the chain validates against a trust store.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrustCheck {
    /// `os` (the platform store) or the path of `--ca-file`.
    pub store: String,
    pub trusted: bool,
    /// Why not (`UnknownIssuer`, `Expired`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// One certificate of the chain, summarised.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainCertificate {
    pub subject: String,
    pub issuer: String,
    pub sha256: String,
    pub not_after: DateTime<Utc>,
}

/// The server's leaf certificate, decoded (`evidence.certificate`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ServerCertificate {
    pub subject: String,
    /// Common name of the subject, when present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub common_name: Option<String>,
    pub issuer: String,
    pub serial: String,
    pub not_before: DateTime<Utc>,
    pub not_after: DateTime<Utc>,
    /// Whole days from the observation to notAfter (negative once expired).
    pub days_left: i64,
    pub self_signed: bool,
    /// `RSA`, `EC`, `DSA`, `Ed25519`, ...
    pub key_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_bits: Option<u32>,
    /// Signature algorithm name (`sha256WithRSAEncryption`, `ecdsa-with-SHA256`).
    pub signature_algorithm: String,
    /// Hash inside the signature algorithm (`SHA-256`, `SHA-1`, `MD5`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature_hash: Option<String>,
    #[serde(default)]
    pub san_dns: Vec<String>,
    #[serde(default)]
    pub san_ip: Vec<String>,
    /// Extended key usages by name (`serverAuth`, `remoteDesktopAuth`) or dotted OID.
    #[serde(default)]
    pub eku: Vec<String>,
    #[serde(default)]
    pub is_ca: bool,
    /// SHA-1 thumbprint, upper-case hex: what Windows shows and what `SSLCertificateSHA1Hash` holds.
    pub sha1: String,
    /// SHA-256 thumbprint, lower-case hex.
    pub sha256: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name_match: Option<NameMatch>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trust: Option<TrustCheck>,
    /// The rest of the chain the server sent (intermediates, sometimes the root).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub chain: Vec<ChainCertificate>,
    /// The DER bytes, base64, so a later rdpdoctor can re-read everything.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub der_base64: String,
}

impl ServerCertificate {
    /// Whether the certificate was outside its validity window at `at`.
    pub fn is_expired_at(&self, at: DateTime<Utc>) -> bool {
        self.not_after < at
    }

    pub fn is_not_yet_valid_at(&self, at: DateTime<Utc>) -> bool {
        self.not_before > at
    }

    /// Whole days left at `at` (negative once expired).
    pub fn days_left_at(&self, at: DateTime<Utc>) -> i64 {
        (self.not_after - at).num_days()
    }
}
