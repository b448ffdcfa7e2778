//! Evidence from an authenticated connection attempt (only when the user asked for one).
//! Never holds a credential: the user name is kept, the password never enters this module.
//!
//! The fields scripts rely on (`stage_reached`, `ntstatus`, `error_info`) keep their names and
//! shapes; everything else is optional so that older documents still load.

use serde::{Deserialize, Serialize};

use super::Protocol;

/// What happened when rdpdoctor logged on with the user's credentials.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct AuthAttempt {
    /// The user name tried, as sent (`DOMAIN\user`, `user@domain` or `user`). Never the password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// The last connection stage that completed ([`ConnectionStage`] names: `negotiation`,
    /// `tls`, `credssp`, ..., `connection_finalization`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stage_reached: Option<String>,
    /// The stage that was under way when the attempt stopped (absent when it completed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stopped_in: Option<String>,
    /// How the attempt ended, in one word scripts can match on.
    #[serde(default)]
    pub outcome: AuthOutcome,
    /// NTSTATUS of a CredSSP failure, as `0xC000006D` (the server's TSRequest.errorCode).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ntstatus: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ntstatus_name: Option<String>,
    /// The client-side SSPI status when our own CredSSP/NTLM stack gave up (`0x8009030F`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sec_status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sec_status_name: Option<String>,
    /// The raw Set Error Info code, when the server sent one (kept even when unknown).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_info: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_info_name: Option<String>,
    /// Whether the whole sequence completed (a session would start).
    #[serde(default)]
    pub connected: bool,
    /// `--auth-only`: the attempt was meant to stop after CredSSP.
    #[serde(default, skip_serializing_if = "is_false")]
    pub auth_only: bool,
    /// The security protocol the server selected for this connection.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<Protocol>,
    /// The TLS session the credentials travelled in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<AuthTls>,
    /// Whether the server's certificate was accepted for sending credentials, and why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate: Option<CertificateAcceptance>,
    /// Whether any credential left this machine (NTLM AUTHENTICATE, delegated credentials or
    /// the Client Info PDU of a server without NLA). `false` proves a refusal happened before.
    #[serde(default)]
    pub credentials_sent: bool,
    /// The CredSSP (TSRequest) version the server used on this connection.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credssp_version: Option<u32>,
    /// HYBRID_EX only: the Early User Authorization Result after CredSSP.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub early_user_authorization: Option<CodeName>,
    /// A licensing error message other than "valid client" (MS-RDPELE 2.2.2.7.1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub license_error: Option<LicenseError>,
    /// A Server Redirection PDU: a connection broker sends the user elsewhere.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirection: Option<Redirection>,
    /// The reason of an MCS Disconnect Provider Ultimatum, when the server sent one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disconnect_reason: Option<String>,
    /// Time spent in each stage that completed or was under way, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stages: Vec<StageTiming>,
    /// What the attempt could not establish, said plainly (a server without NLA checks the
    /// password on its own logon screen, which this check cannot see).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub caveats: Vec<String>,
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// How an authenticated attempt ended.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthOutcome {
    /// Not decided (older documents).
    #[default]
    Unknown,
    /// The whole connection sequence completed: a session would start.
    Connected,
    /// `--auth-only`: CredSSP (and Early User Authorization) succeeded.
    Authenticated,
    /// A connection broker redirected the connection (see `redirection`).
    Redirected,
    /// The server refused the logon with a code (NTSTATUS, SSPI status, access denied).
    Rejected,
    /// The server closed the connection during the logon without saying why.
    ClosedWithoutReason,
    /// The credentials were accepted, then the server ended the connection with a reason
    /// (Set Error Info, a licensing error).
    Denied,
    /// rdpdoctor did not send the credentials (untrusted certificate, CredSSP without the
    /// CVE-2018-0886 fix, no TLS).
    Withheld,
    /// A transport or protocol failure unrelated to the credentials.
    Failed,
}

impl AuthOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            AuthOutcome::Unknown => "unknown",
            AuthOutcome::Connected => "connected",
            AuthOutcome::Authenticated => "authenticated",
            AuthOutcome::Redirected => "redirected",
            AuthOutcome::Rejected => "rejected",
            AuthOutcome::ClosedWithoutReason => "closed_without_reason",
            AuthOutcome::Denied => "denied",
            AuthOutcome::Withheld => "withheld",
            AuthOutcome::Failed => "failed",
        }
    }
}

/// The connection stages an authenticated attempt goes through (MS-RDPBCGR 1.3.1.1), as
/// `stage_reached` names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConnectionStage {
    Tcp,
    Negotiation,
    Tls,
    Credssp,
    EarlyUserAuthorization,
    BasicSettingsExchange,
    ChannelConnection,
    SecureSettingsExchange,
    ConnectTimeAutoDetection,
    Licensing,
    MultitransportBootstrapping,
    CapabilitiesExchange,
    ConnectionFinalization,
}

impl ConnectionStage {
    pub fn as_str(self) -> &'static str {
        match self {
            ConnectionStage::Tcp => "tcp",
            ConnectionStage::Negotiation => "negotiation",
            ConnectionStage::Tls => "tls",
            ConnectionStage::Credssp => "credssp",
            ConnectionStage::EarlyUserAuthorization => "early_user_authorization",
            ConnectionStage::BasicSettingsExchange => "basic_settings_exchange",
            ConnectionStage::ChannelConnection => "channel_connection",
            ConnectionStage::SecureSettingsExchange => "secure_settings_exchange",
            ConnectionStage::ConnectTimeAutoDetection => "connect_time_auto_detection",
            ConnectionStage::Licensing => "licensing",
            ConnectionStage::MultitransportBootstrapping => "multitransport_bootstrapping",
            ConnectionStage::CapabilitiesExchange => "capabilities_exchange",
            ConnectionStage::ConnectionFinalization => "connection_finalization",
        }
    }

    /// What happens in the stage, for the report.
    pub fn describe(self) -> &'static str {
        match self {
            ConnectionStage::Tcp => "TCP connection",
            ConnectionStage::Negotiation => "X.224 security negotiation",
            ConnectionStage::Tls => "TLS handshake",
            ConnectionStage::Credssp => "CredSSP (NLA) logon",
            ConnectionStage::EarlyUserAuthorization => "Early User Authorization (HYBRID_EX)",
            ConnectionStage::BasicSettingsExchange => "MCS Connect Initial / Response",
            ConnectionStage::ChannelConnection => "MCS channel connection",
            ConnectionStage::SecureSettingsExchange => "Client Info PDU (logon information)",
            ConnectionStage::ConnectTimeAutoDetection => "connect-time auto-detection",
            ConnectionStage::Licensing => "licensing",
            ConnectionStage::MultitransportBootstrapping => "multitransport bootstrapping",
            ConnectionStage::CapabilitiesExchange => "capabilities exchange (Demand Active)",
            ConnectionStage::ConnectionFinalization => "connection finalization",
        }
    }
}

/// Time spent in one stage.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StageTiming {
    pub stage: ConnectionStage,
    pub elapsed_ms: f64,
    /// `false` for the stage that was under way when the attempt stopped.
    pub completed: bool,
}

/// The TLS library that carried the attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TlsBackend {
    /// rustls (TLS 1.2/1.3 with ECDHE and AEAD suites only).
    Rustls,
    /// OpenSSL with its security level lowered for this one connection (non-Windows fallback).
    Openssl,
    /// SChannel through native-tls (the Windows fallback: the same TLS stack mstsc uses).
    Schannel,
}

impl TlsBackend {
    pub fn as_str(self) -> &'static str {
        match self {
            TlsBackend::Rustls => "rustls",
            TlsBackend::Openssl => "openssl",
            TlsBackend::Schannel => "schannel",
        }
    }
}

/// The TLS session of the attempt.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AuthTls {
    pub backend: TlsBackend,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cipher_suite: Option<String>,
    /// Why the fallback backend was used: the error of the rustls handshake.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fallback_reason: Option<String>,
}

/// The decision to send credentials to this server, or not.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CertificateAcceptance {
    /// SHA-256 thumbprint of the leaf certificate on this connection (lower-case hex).
    pub sha256: String,
    pub accepted: bool,
    /// `trust_store`, `pinned_sha256` or `trust_server_cert` when accepted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accepted_by: Option<String>,
    /// Why the certificate was not good enough, when it was not (also given when the user
    /// overrode it).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<String>,
}

/// A numeric code with its name.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodeName {
    pub code: u32,
    pub name: String,
}

/// A Licensing Error Message (MS-RDPELE 2.2.2.7.1 / MS-RDPBCGR 2.2.1.12.1.3).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LicenseError {
    /// dwErrorCode (`ERR_NO_LICENSE` = 2, ...).
    pub code: u32,
    pub name: String,
    /// dwStateTransition (`ST_TOTAL_ABORT` = 1, ...).
    pub state_transition: u32,
}

/// A Server Redirection PDU (MS-RDPBCGR 2.2.13.1), without its password cookie.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Redirection {
    /// Where the broker sends the user: the FQDN, else the address, else the NetBIOS name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_fqdn: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_net_address: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_netbios_name: Option<String>,
    /// The routing token the client must present to the target (`tsv://...`), as text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub load_balance_info: Option<String>,
    pub session_id: u32,
}

impl AuthAttempt {
    /// The stage names of `stages` that completed, in order.
    pub fn completed_stages(&self) -> impl Iterator<Item = ConnectionStage> + '_ {
        self.stages.iter().filter(|s| s.completed).map(|s| s.stage)
    }

    /// The NTSTATUS as a number, when known.
    pub fn ntstatus_value(&self) -> Option<u32> {
        parse_hex(self.ntstatus.as_deref()?)
    }

    /// The client-side SSPI status as a number, when known.
    pub fn sec_status_value(&self) -> Option<u32> {
        parse_hex(self.sec_status.as_deref()?)
    }
}

fn parse_hex(s: &str) -> Option<u32> {
    u32::from_str_radix(s.trim_start_matches("0x").trim_start_matches("0X"), 16).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_script_fields_keep_their_shapes() {
        let a = AuthAttempt {
            stage_reached: Some("credssp".into()),
            ntstatus: Some("0xC000006D".into()),
            error_info: Some(0x7),
            ..Default::default()
        };
        let v = serde_json::to_value(&a).unwrap();
        assert_eq!(v["stage_reached"], "credssp");
        assert_eq!(v["ntstatus"], "0xC000006D");
        assert_eq!(v["error_info"], 7);
        assert_eq!(a.ntstatus_value(), Some(0xC000_006D));
    }

    #[test]
    fn an_old_document_without_the_new_fields_still_loads() {
        let a: AuthAttempt =
            serde_json::from_str(r#"{"stage_reached":"tls","connected":false}"#).unwrap();
        assert_eq!(a.outcome, AuthOutcome::Unknown);
        assert!(!a.credentials_sent);
    }

    #[test]
    fn stage_names_serialise_as_their_names() {
        for s in [
            ConnectionStage::Credssp,
            ConnectionStage::EarlyUserAuthorization,
            ConnectionStage::ConnectionFinalization,
        ] {
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
        }
    }
}
