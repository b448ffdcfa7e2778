//! The scenario table: every kind of server the lab can play, by name.
//!
//! A scenario is what the diagnosis is tested against, so each one carries the cause id (from
//! `CAUSES.md`) the diagnosis should lead with, and, for scenarios an unauthenticated probe cannot
//! get through, the stage where the probe should stop. Names are stable: the CLI, the demo and the
//! tests select scenarios by name.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use crate::hostile::Hostile;

/// One kind of server. Parameterised variants carry the knob they turn; [`Scenario::catalog`]
/// lists the standard set with the default knobs.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Scenario {
    /// Windows Server 2022 with Security Layer "Negotiate" and NLA offered: standard RDP for a
    /// request of PROTOCOL_RDP, TLS for SSL, CredSSP for HYBRID, HYBRID_EX when asked; a valid
    /// certificate naming the endpoint; the full connection sequence with the lab account.
    Healthy,
    /// As healthy, with a certificate that expired (2020-01-01 to 2021-01-01).
    CertExpired,
    /// As healthy, with a certificate valid from 2099-01-01.
    CertNotYetValid,
    /// As healthy, with a certificate for `wrong.example.invalid`.
    CertWrongName,
    /// As healthy, with a self-signed certificate (names right, issuer nobody trusts).
    CertSelfSigned,
    /// As healthy, with a certificate that expires in 10 days.
    CertExpiringSoon,
    /// Security Layer "SSL", NLA off: SSL for anything that includes it (HYBRID requests get
    /// SSL), SSL_REQUIRED_BY_SERVER otherwise.
    TlsOnly,
    /// NLA required: HYBRID/HYBRID_EX selected, HYBRID_REQUIRED_BY_SERVER for SSL or RDP.
    NlaRequired,
    /// Security Layer "RDP": standard RDP security only, SSL_NOT_ALLOWED_BY_SERVER otherwise.
    RdpOnly,
    /// No usable certificate: SSL_CERT_NOT_ON_SERVER for every request (as xrdp does).
    CertNotOnServer,
    /// xrdp 0.9.21 with security_layer=negotiate, byte for byte (LAB.md §1): SSL whenever it is
    /// requested, standard RDP security otherwise, never NLA.
    Xrdp,
    /// FreeRDP's shadow server with `/sec:nla`, byte for byte (LAB.md §2): HYBRID (never
    /// HYBRID_EX), HYBRID_REQUIRED_BY_SERVER otherwise.
    FreeRdpNla,
    /// TLS selected, then a TCP reset as soon as the ClientHello arrives (the MachineKeys case).
    TlsReset,
    /// TLS selected, then a plaintext MCS Disconnect Provider Ultimatum after the ClientHello
    /// and a reset: what xrdp does when it cannot load its key (`0300000902f0802180`).
    TlsDisconnect,
    /// As healthy, but CredSSP answers with this TSRequest version. Below 5 is a server
    /// without the CVE-2018-0886 fix ("credssp-old" = version 4).
    Credssp { version: u32 },
    /// Logon succeeds (CredSSP), then the server denies the connection after the Client Info
    /// PDU with this Set Error Info code (0x7 SERVER_DENIED_CONNECTION by default; 0x9 is
    /// SERVER_INSUFFICIENT_PRIVILEGES, the "not in Remote Desktop Users" case).
    DenyLogin { error_info: u32 },
    /// CredSSP rejects the lab account with this NTSTATUS in TSRequest.errorCode
    /// (0xC0000234 STATUS_ACCOUNT_LOCKED_OUT by default). A wrong password against any NLA
    /// scenario gets STATUS_LOGON_FAILURE 0xC000006D without this scenario.
    LogonError { status: u32 },
    /// Logon succeeds, then licensing fails: a Licensing Error PDU (ERR_NO_LICENSE) and Set
    /// Error Info with this code (0x102 LICENSE_NO_LICENSE by default).
    LicensingError { error_info: u32 },
    /// Logon succeeds, then the server sends a Server Redirection PDU (instead of Demand Active)
    /// sending the client to this host.
    Redirect { target: String },
    /// The password is right, but the user may not log on through Remote Desktop: a client
    /// that negotiated HYBRID_EX gets the Early User Authorization Result AUTHZ_ACCESS_DENIED
    /// right after CredSSP (MS-RDPBCGR 2.2.10.2), as from Windows; a HYBRID client gets Set
    /// Error Info 0x9 after the Client Info PDU.
    EarlyAuthDenied,
    /// Accepts the TCP connection and never answers.
    Silent,
    /// Behaves like healthy, but every byte the server writes is delayed by this interval
    /// (one byte per second by default): a 19-byte Connection Confirm takes 19 s.
    Slow { byte_interval: Duration },
    /// Resets the TCP connection right after accepting it: when the client's first bytes
    /// arrive, or 100 ms after the accept.
    Reset,
    /// An HTTP server on the RDP port: answers the Connection Request with `400 Bad Request`.
    Http,
    /// A malicious or broken server (see [`Hostile`]).
    Hostile(Hostile),
}

/// Where an unauthenticated probe should stop against a scenario, and how.
///
/// `stage` and `kind` use the probe's vocabulary (`negotiation`, `tls`, `credssp`; `timeout`,
/// `reset`, `closed`, `not_rdp`, `protocol`, `refusal`, `tls_alert`, `tls`, `too_large`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExpectedFailure {
    pub stage: &'static str,
    pub kind: &'static str,
    /// What a robust probe does about it.
    pub note: &'static str,
}

const DEFAULT_CREDSSP_OLD: u32 = 4;
const DEFAULT_DENY: u32 = 0x7;
const DEFAULT_LOGON_ERROR: u32 = 0xC000_0234;
const DEFAULT_LICENSING: u32 = 0x102;
const DEFAULT_SLOW: Duration = Duration::from_secs(1);

impl Scenario {
    /// `credssp-old`: an unpatched server answering TSRequest version 4.
    pub const CREDSSP_OLD: Scenario = Scenario::Credssp {
        version: DEFAULT_CREDSSP_OLD,
    };
    /// `deny-login` with the default code 0x7.
    pub const DENY_LOGIN: Scenario = Scenario::DenyLogin {
        error_info: DEFAULT_DENY,
    };
    /// `account-locked`.
    pub const ACCOUNT_LOCKED: Scenario = Scenario::LogonError {
        status: DEFAULT_LOGON_ERROR,
    };
    /// `licensing-error` with the default code 0x102.
    pub const LICENSING_ERROR: Scenario = Scenario::LicensingError {
        error_info: DEFAULT_LICENSING,
    };
    /// `slow` at one byte per second.
    pub const SLOW: Scenario = Scenario::Slow {
        byte_interval: DEFAULT_SLOW,
    };

    /// `redirect` to the lab's second server name.
    pub fn redirect() -> Scenario {
        Scenario::Redirect {
            target: DEFAULT_REDIRECT_TARGET.to_owned(),
        }
    }

    /// The standard set: every scenario once with its default knobs, plus the second codes the
    /// tests care about (`deny-login-0x9`, `credssp-v5`). Hostile servers are not included
    /// (see [`Hostile::ALL`]).
    pub fn catalog() -> Vec<Scenario> {
        vec![
            Scenario::Healthy,
            Scenario::CertExpired,
            Scenario::CertNotYetValid,
            Scenario::CertWrongName,
            Scenario::CertSelfSigned,
            Scenario::CertExpiringSoon,
            Scenario::TlsOnly,
            Scenario::NlaRequired,
            Scenario::RdpOnly,
            Scenario::CertNotOnServer,
            Scenario::Xrdp,
            Scenario::FreeRdpNla,
            Scenario::TlsReset,
            Scenario::TlsDisconnect,
            Scenario::CREDSSP_OLD,
            Scenario::Credssp { version: 5 },
            Scenario::DENY_LOGIN,
            Scenario::DenyLogin { error_info: 0x9 },
            Scenario::ACCOUNT_LOCKED,
            Scenario::LICENSING_ERROR,
            Scenario::redirect(),
            Scenario::Silent,
            Scenario::SLOW,
            Scenario::Reset,
            Scenario::Http,
        ]
    }

    /// The stable name used to select the scenario (`FromStr` parses it back).
    pub fn name(&self) -> Cow<'static, str> {
        match self {
            Scenario::Healthy => "healthy".into(),
            Scenario::CertExpired => "cert-expired".into(),
            Scenario::CertNotYetValid => "cert-not-yet-valid".into(),
            Scenario::CertWrongName => "cert-wrong-name".into(),
            Scenario::CertSelfSigned => "cert-self-signed".into(),
            Scenario::CertExpiringSoon => "cert-expiring-soon".into(),
            Scenario::TlsOnly => "tls-only".into(),
            Scenario::NlaRequired => "nla-required".into(),
            Scenario::RdpOnly => "rdp-only".into(),
            Scenario::CertNotOnServer => "cert-not-on-server".into(),
            Scenario::Xrdp => "xrdp".into(),
            Scenario::FreeRdpNla => "freerdp-nla".into(),
            Scenario::TlsReset => "tls-reset".into(),
            Scenario::TlsDisconnect => "tls-disconnect".into(),
            Scenario::Credssp { version } if *version == DEFAULT_CREDSSP_OLD => {
                "credssp-old".into()
            }
            Scenario::Credssp { version } => format!("credssp-v{version}").into(),
            Scenario::DenyLogin { error_info } if *error_info == DEFAULT_DENY => {
                "deny-login".into()
            }
            Scenario::DenyLogin { error_info } => format!("deny-login-{error_info:#x}").into(),
            Scenario::LogonError { status } if *status == DEFAULT_LOGON_ERROR => {
                "account-locked".into()
            }
            Scenario::LogonError { status } => format!("logon-error-{status:#010x}").into(),
            Scenario::LicensingError { error_info } if *error_info == DEFAULT_LICENSING => {
                "licensing-error".into()
            }
            Scenario::LicensingError { error_info } => {
                format!("licensing-error-{error_info:#x}").into()
            }
            Scenario::Redirect { .. } => "redirect".into(),
            Scenario::EarlyAuthDenied => "early-auth-denied".into(),
            Scenario::Silent => "silent".into(),
            Scenario::Slow { byte_interval } if *byte_interval == DEFAULT_SLOW => "slow".into(),
            Scenario::Slow { byte_interval } => {
                format!("slow-{}ms", byte_interval.as_millis()).into()
            }
            Scenario::Reset => "reset".into(),
            Scenario::Http => "http".into(),
            Scenario::Hostile(h) => h.name().into(),
        }
    }

    /// One sentence for `rdpdoctor lab --list` and the demo.
    pub fn description(&self) -> Cow<'static, str> {
        match self {
            Scenario::Healthy => {
                "Windows Server 2022, NLA offered, valid certificate, full logon works".into()
            }
            Scenario::CertExpired => "certificate expired on 2021-01-01".into(),
            Scenario::CertNotYetValid => "certificate not valid before 2099-01-01".into(),
            Scenario::CertWrongName => "certificate issued to wrong.example.invalid".into(),
            Scenario::CertSelfSigned => "self-signed certificate nobody trusts".into(),
            Scenario::CertExpiringSoon => "certificate expires in 10 days".into(),
            Scenario::TlsOnly => {
                "security layer SSL, no NLA: RDP requests get SSL_REQUIRED_BY_SERVER".into()
            }
            Scenario::NlaRequired => {
                "NLA required: SSL and RDP requests get HYBRID_REQUIRED_BY_SERVER".into()
            }
            Scenario::RdpOnly => {
                "security layer RDP: TLS requests get SSL_NOT_ALLOWED_BY_SERVER".into()
            }
            Scenario::CertNotOnServer => "no usable certificate: SSL_CERT_NOT_ON_SERVER".into(),
            Scenario::Xrdp => "xrdp 0.9 (negotiate): SSL or standard RDP security, no NLA".into(),
            Scenario::FreeRdpNla => {
                "FreeRDP shadow server, NLA only (HYBRID, never HYBRID_EX)".into()
            }
            Scenario::TlsReset => "TLS selected, connection reset after the ClientHello".into(),
            Scenario::TlsDisconnect => {
                "TLS selected, plaintext MCS disconnect after the ClientHello".into()
            }
            Scenario::Credssp { version } if *version < 5 => {
                format!("CredSSP version {version}: server without the CVE-2018-0886 fix").into()
            }
            Scenario::Credssp { version } => {
                format!("CredSSP answers with TSRequest version {version}").into()
            }
            Scenario::DenyLogin { error_info } => {
                format!("logon succeeds, then Set Error Info {error_info:#x} and disconnect").into()
            }
            Scenario::LogonError { status } => {
                format!("CredSSP rejects the account with NTSTATUS {status:#010X}").into()
            }
            Scenario::LicensingError { error_info } => {
                format!("logon succeeds, then a licensing error (Set Error Info {error_info:#x})")
                    .into()
            }
            Scenario::Redirect { target } => {
                format!("logon succeeds, then a Server Redirection PDU to {target}").into()
            }
            Scenario::EarlyAuthDenied => {
                "password right, then Early User Authorization AUTHZ_ACCESS_DENIED (HYBRID_EX)"
                    .into()
            }
            Scenario::Silent => "accepts TCP and never answers".into(),
            Scenario::Slow { byte_interval } => {
                format!("answers one byte every {} ms", byte_interval.as_millis()).into()
            }
            Scenario::Reset => "resets the connection right after accepting it".into(),
            Scenario::Http => "an HTTP server answers on the RDP port".into(),
            Scenario::Hostile(h) => h.description().into(),
        }
    }

    /// The cause id from `CAUSES.md` the diagnosis should lead with, `None` when nothing is
    /// wrong (`healthy`, a patched CredSSP version, a redirection) or for hostile servers, whose
    /// point is robustness ([`Hostile::expected`]).
    ///
    /// Causes in the "authentication and the session" group (`server-denied-connection`,
    /// `logon-right-missing`, `account-locked`, `licensing`, …) need the authenticated check.
    pub fn expected_cause(&self) -> Option<&'static str> {
        match self {
            Scenario::Healthy
            | Scenario::Xrdp
            | Scenario::Redirect { .. }
            | Scenario::Hostile(_) => None,
            Scenario::CertExpired => Some("cert-expired"),
            Scenario::CertNotYetValid => Some("cert-not-yet-valid"),
            Scenario::CertWrongName => Some("cert-name-mismatch"),
            Scenario::CertSelfSigned => Some("cert-untrusted"),
            Scenario::CertExpiringSoon => Some("cert-expiring-soon"),
            Scenario::TlsOnly => Some("tls-required"),
            Scenario::NlaRequired | Scenario::FreeRdpNla => Some("nla-required"),
            Scenario::RdpOnly => Some("tls-not-allowed"),
            Scenario::CertNotOnServer => Some("cert-not-on-server"),
            Scenario::TlsReset | Scenario::TlsDisconnect => Some("tls-handshake-broken"),
            Scenario::Credssp { version } => (*version < 5).then_some("credssp-oracle"),
            Scenario::DenyLogin { error_info } => Some(error_info_cause(*error_info)),
            Scenario::LogonError { status } => Some(ntstatus_cause(*status)),
            Scenario::LicensingError { error_info } => Some(error_info_cause(*error_info)),
            Scenario::EarlyAuthDenied => Some("logon-right-missing"),
            Scenario::Silent | Scenario::Slow { .. } | Scenario::Reset => {
                Some("dropped-after-accept")
            }
            Scenario::Http => Some("not-rdp"),
        }
    }

    /// Where an unauthenticated probe (negotiation, TLS, CredSSP without credentials) stops.
    /// `None` when it gets through.
    pub fn expected_failure(&self) -> Option<ExpectedFailure> {
        let f = |stage, kind, note| Some(ExpectedFailure { stage, kind, note });
        match self {
            Scenario::Silent => f("negotiation", "timeout", "give up at the stage deadline"),
            Scenario::Slow { .. } => f(
                "negotiation",
                "timeout",
                "a partial Connection Confirm within the deadline is a timeout, not a protocol error",
            ),
            Scenario::Reset => f("negotiation", "reset", "report the reset before any reply"),
            Scenario::Http => f("negotiation", "not_rdp", "recognise the HTTP status line"),
            Scenario::NlaRequired
            | Scenario::FreeRdpNla
            | Scenario::RdpOnly
            | Scenario::CertNotOnServer => f(
                "negotiation",
                "refusal",
                "decode RDP_NEG_FAILURE for the requests that need it; other requests may succeed",
            ),
            Scenario::TlsReset => f("tls", "reset", "reset right after the ClientHello"),
            Scenario::TlsDisconnect => f(
                "tls",
                "protocol",
                "recognise a TPKT (MCS Disconnect Provider Ultimatum) where a TLS record was expected",
            ),
            Scenario::Hostile(h) => Some(h.expected()),
            _ => None,
        }
    }
}

/// The default redirection target: a second server in the lab's domain.
pub const DEFAULT_REDIRECT_TARGET: &str = "labsrv02.rdplab.test";

/// Cause id for a Set Error Info code (REFERENCE.md §2, CAUSES.md "Authentication and the
/// session").
pub fn error_info_cause(code: u32) -> &'static str {
    match code {
        0x7 => "server-denied-connection",
        0x9 => "logon-right-missing",
        0x100..=0x10A => "licensing",
        _ => "server-error",
    }
}

/// Cause id for an NTSTATUS in TSRequest.errorCode.
pub fn ntstatus_cause(status: u32) -> &'static str {
    match status {
        0xC000_0234 => "account-locked",
        0xC000_0072 | 0xC000_0193 | 0xC000_0071 | 0xC000_0224 | 0xC000_006F | 0xC000_0070 => {
            "account-restricted"
        }
        0xC000_015B => "logon-right-missing",
        _ => "credentials-rejected",
    }
}

impl fmt::Display for Scenario {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(&self.name())
    }
}

/// The name is not a scenario nor a hostile server.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown lab scenario `{0}` (see Scenario::catalog and Hostile::ALL)")]
pub struct UnknownScenario(pub String);

impl FromStr for Scenario {
    type Err = UnknownScenario;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let fixed = match s {
            "healthy" => Some(Scenario::Healthy),
            "cert-expired" => Some(Scenario::CertExpired),
            "cert-not-yet-valid" => Some(Scenario::CertNotYetValid),
            "cert-wrong-name" => Some(Scenario::CertWrongName),
            "cert-self-signed" => Some(Scenario::CertSelfSigned),
            "cert-expiring-soon" => Some(Scenario::CertExpiringSoon),
            "tls-only" => Some(Scenario::TlsOnly),
            "nla-required" => Some(Scenario::NlaRequired),
            "rdp-only" => Some(Scenario::RdpOnly),
            "cert-not-on-server" => Some(Scenario::CertNotOnServer),
            "xrdp" => Some(Scenario::Xrdp),
            "freerdp-nla" => Some(Scenario::FreeRdpNla),
            "tls-reset" => Some(Scenario::TlsReset),
            "tls-disconnect" => Some(Scenario::TlsDisconnect),
            "credssp-old" => Some(Scenario::CREDSSP_OLD),
            "deny-login" => Some(Scenario::DENY_LOGIN),
            "account-locked" => Some(Scenario::ACCOUNT_LOCKED),
            "licensing-error" => Some(Scenario::LICENSING_ERROR),
            "redirect" => Some(Scenario::redirect()),
            "early-auth-denied" => Some(Scenario::EarlyAuthDenied),
            "silent" => Some(Scenario::Silent),
            "slow" => Some(Scenario::SLOW),
            "reset" => Some(Scenario::Reset),
            "http" => Some(Scenario::Http),
            _ => None,
        };
        if let Some(scenario) = fixed {
            return Ok(scenario);
        }
        if let Ok(h) = s.parse::<Hostile>() {
            return Ok(Scenario::Hostile(h));
        }
        let unknown = || UnknownScenario(s.to_owned());
        if let Some(v) = s.strip_prefix("credssp-v") {
            let version = v.parse().map_err(|_| unknown())?;
            return Ok(Scenario::Credssp { version });
        }
        if let Some(code) = s.strip_prefix("deny-login-") {
            return Ok(Scenario::DenyLogin {
                error_info: parse_hex(code).ok_or_else(unknown)?,
            });
        }
        if let Some(code) = s.strip_prefix("logon-error-") {
            return Ok(Scenario::LogonError {
                status: parse_hex(code).ok_or_else(unknown)?,
            });
        }
        if let Some(code) = s.strip_prefix("licensing-error-") {
            return Ok(Scenario::LicensingError {
                error_info: parse_hex(code).ok_or_else(unknown)?,
            });
        }
        if let Some(ms) = s.strip_prefix("slow-").and_then(|r| r.strip_suffix("ms")) {
            let ms: u64 = ms.parse().map_err(|_| unknown())?;
            return Ok(Scenario::Slow {
                byte_interval: Duration::from_millis(ms),
            });
        }
        Err(unknown())
    }
}

fn parse_hex(s: &str) -> Option<u32> {
    let digits = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X"))?;
    u32::from_str_radix(digits, 16).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_parses_back_to_its_scenario() {
        let mut all = Scenario::catalog();
        all.extend(Hostile::ALL.iter().copied().map(Scenario::Hostile));
        all.push(Scenario::Credssp { version: 2 });
        all.push(Scenario::LogonError {
            status: 0xC000_015B,
        });
        all.push(Scenario::LicensingError { error_info: 0x101 });
        all.push(Scenario::EarlyAuthDenied);
        all.push(Scenario::Slow {
            byte_interval: Duration::from_millis(20),
        });
        let mut names = std::collections::HashSet::new();
        for scenario in all {
            let name = scenario.name();
            assert!(names.insert(name.clone()), "duplicate name {name}");
            assert_eq!(name.parse::<Scenario>().unwrap(), scenario, "{name}");
        }
        assert!("nonsense".parse::<Scenario>().is_err());
    }

    #[test]
    fn causes_follow_the_codes() {
        assert_eq!(
            Scenario::DENY_LOGIN.expected_cause(),
            Some("server-denied-connection")
        );
        assert_eq!(
            Scenario::DenyLogin { error_info: 9 }.expected_cause(),
            Some("logon-right-missing")
        );
        assert_eq!(
            Scenario::LICENSING_ERROR.expected_cause(),
            Some("licensing")
        );
        assert_eq!(
            Scenario::CREDSSP_OLD.expected_cause(),
            Some("credssp-oracle")
        );
        assert_eq!(Scenario::Credssp { version: 5 }.expected_cause(), None);
        assert_eq!(
            Scenario::ACCOUNT_LOCKED.expected_cause(),
            Some("account-locked")
        );
        assert_eq!(
            Scenario::EarlyAuthDenied.expected_cause(),
            Some("logon-right-missing")
        );
    }
}
