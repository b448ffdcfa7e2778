//! Who the lab pretends to be: the account it accepts and the Windows host it imitates.
//!
//! The same identity shows up in several places on the wire (the NTLM CHALLENGE target info,
//! the certificate names, the Server Redirection PDU), so it lives in one value that every
//! responder reads.

/// The account the NLA scenarios accept.
///
/// The password is compared through NTLMv2 (the NT hash of the password is never sent), so the
/// lab can tell a wrong password from a right one the way Windows does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LabCredentials {
    /// Account name, compared case-insensitively. A client may also send `user@domain`.
    pub username: String,
    pub password: String,
    /// Not checked: Windows accepts a local account with an empty domain, `.`, or the host
    /// name, and NTLMv2 proves the password whatever domain string the client uses.
    pub domain: Option<String>,
}

impl Default for LabCredentials {
    fn default() -> Self {
        Self {
            username: "labuser".to_owned(),
            password: "LabPass123!".to_owned(),
            domain: None,
        }
    }
}

/// Windows product version as the NTLM VERSION structure carries it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OsVersion {
    pub major: u8,
    pub minor: u8,
    pub build: u16,
}

impl OsVersion {
    /// Windows Server 2022.
    pub const SERVER_2022: OsVersion = OsVersion {
        major: 10,
        minor: 0,
        build: 20348,
    };
}

impl std::fmt::Display for OsVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.build)
    }
}

/// The Windows host the lab imitates: a domain member named like a real server.
///
/// The names appear in the NTLM CHALLENGE (what `nmap --script rdp-ntlm-info` prints), in the
/// certificate subject of the healthy scenarios, and in the default redirection target.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerIdentity {
    pub netbios_computer: String,
    pub netbios_domain: String,
    pub dns_computer: String,
    pub dns_domain: String,
    pub dns_tree: String,
    pub os_version: OsVersion,
}

impl Default for ServerIdentity {
    fn default() -> Self {
        Self {
            netbios_computer: "LABSRV01".to_owned(),
            netbios_domain: "RDPLAB".to_owned(),
            dns_computer: "labsrv01.rdplab.test".to_owned(),
            dns_domain: "rdplab.test".to_owned(),
            dns_tree: "rdplab.test".to_owned(),
            os_version: OsVersion::SERVER_2022,
        }
    }
}
