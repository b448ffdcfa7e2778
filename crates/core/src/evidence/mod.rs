//! The Evidence model: everything observed about one target.
//!
//! Each item says where it came from (the stage it sits in, or the file for offline evidence),
//! when it was gathered, and how long it took. Evidence serialises to a stable, versioned JSON
//! document ([`Report`]) that can be saved, attached to a ticket and re-diagnosed later with a
//! newer rdpdoctor. New fields are always optional (`#[serde(default)]`) so older documents keep
//! loading; a field is never renamed while `SCHEMA_VERSION` stays the same.

mod auth;
mod client;
mod credssp;
mod host;
mod negotiation;
mod network;
mod path;
mod report;
mod stage;
mod tls;

pub use auth::{
    AuthAttempt, AuthOutcome, AuthTls, CertificateAcceptance, CodeName, ConnectionStage,
    LicenseError, Redirection, StageTiming, TlsBackend,
};
pub use client::{ClientEvidence, RdpFile, RdpGateway, RdpSetting};
pub use credssp::{CredsspProbe, NtlmChallengeInfo};
pub use host::*;
pub use negotiation::{Negotiation, NegotiationAnswer, NegotiationProbe, Protocol};
pub use network::{ConnectAttempt, DnsResolution, TcpConnect};
pub use path::{
    Handshake, Interval, MtuDirection, MtuProbe, MtuStep, MtuVerdict, PathQuality,
    RetransmitSource, RttSummary, UdpLoss, UdpOutcome, UdpProbe,
};
pub use report::{Report, ToolInfo, Verdict};
pub use stage::{ErrorKind, Seen, Stage, StageError, StageName, StageStatus, millis};
pub use tls::{
    ChainCertificate, ClientCompatibility, NameMatch, ServerCertificate, TlsAlert, TlsClient,
    TlsEnumeration, TlsHandshake, TrustCheck,
};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The version of the JSON document. Bumped only for incompatible changes.
pub const SCHEMA_VERSION: u32 = 1;

/// Everything observed about one target (`evidence` in the JSON).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    /// When the observation started (UTC).
    pub collected_at: DateTime<Utc>,
    #[serde(default)]
    pub dns: Stage<DnsResolution>,
    #[serde(default)]
    pub tcp: Stage<TcpConnect>,
    #[serde(default)]
    pub negotiation: Stage<Negotiation>,
    #[serde(default)]
    pub tls: Stage<TlsHandshake>,
    /// The server's leaf certificate, from whichever handshake obtained it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate: Option<ServerCertificate>,
    #[serde(default)]
    pub credssp: Stage<CredsspProbe>,
    #[serde(default)]
    pub auth: Stage<AuthAttempt>,
    #[serde(default)]
    pub quality: Stage<PathQuality>,
    #[serde(default)]
    pub udp: Stage<UdpProbe>,
    /// Offline evidence from the server or client (event logs, registry, files).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<HostEvidence>,
    /// Client-side evidence (.rdp connection files).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client: Option<ClientEvidence>,
    /// Remarks from the probe that are not findings ("TLS 1.0 only: completed with a legacy
    /// ClientHello").
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

impl Evidence {
    /// Empty evidence: every stage "not run".
    pub fn new(collected_at: DateTime<Utc>) -> Self {
        Evidence {
            collected_at,
            dns: Stage::default(),
            tcp: Stage::default(),
            negotiation: Stage::default(),
            tls: Stage::default(),
            certificate: None,
            credssp: Stage::default(),
            auth: Stage::skipped("no credentials given (use --user for an authenticated check)"),
            quality: Stage::skipped("path measurement not requested (use --path)"),
            udp: Stage::skipped("UDP transport probe not requested (use --path)"),
            host: None,
            client: None,
            notes: Vec::new(),
        }
    }

    /// The first stage that failed, in pipeline order.
    pub fn first_failure(&self) -> Option<&StageError> {
        [
            self.dns.error(),
            self.tcp.error(),
            self.negotiation.error(),
            self.tls.error(),
            self.credssp.error(),
            self.auth.error(),
        ]
        .into_iter()
        .flatten()
        .next()
    }

    /// Whether any live probe stage ran (as opposed to offline-only evidence).
    pub fn has_live_probe(&self) -> bool {
        !matches!(&self.tcp, Stage::Skipped { .. })
    }
}
