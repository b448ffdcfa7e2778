//! Client profiles: what current RDP clients offer, and what each would negotiate with a server
//! whose versions and suites the enumeration found.
//!
//! The profiles are data, from published defaults, so a report can say "a Windows 11 client
//! and this server share no cipher suite" instead of listing hex:
//!
//! - **Windows 11 mstsc / Windows App**: Schannel's default cipher suite order for Windows 11
//!   v22H2 and later, as Microsoft publishes it in "TLS Cipher Suites in Windows 11 v22H2 and
//!   later" (learn.microsoft.com/windows/win32/secauthn/tls-cipher-suites-in-windows-11-v22h2):
//!   TLS 1.3 AES-GCM, then ECDHE-ECDSA/ECDHE-RSA with AES-GCM, AES-CBC-SHA384/256, AES-CBC-SHA,
//!   then RSA key transport with AES; no DHE, 3DES or RC4. Versions TLS 1.3 and 1.2: Microsoft
//!   disabled TLS 1.0 and 1.1 by default in current Windows 11 releases. Curves: Schannel's
//!   default curve25519, NistP256, NistP384.
//! - **FreeRDP 3**: FreeRDP leaves the suite list at OpenSSL's default unless `/tls:ciphers` is
//!   given, and sets security level 1 (`FreeRDP_TlsSecLevel`), under which OpenSSL 3 refuses
//!   TLS 1.0/1.1. The list is `openssl ciphers -V DEFAULT:@SECLEVEL=1` of OpenSSL 3.0 without
//!   the PSK and SRP suites (OpenSSL only sends those when a PSK or SRP callback is set);
//!   groups are OpenSSL 3.0's default list.
//!
//! [`negotiate`] plays the handshake on paper: the highest version both accept, then the
//! suite by the server's order when it has one (the client's otherwise), with a shared curve
//! for ECDHE. A server that accepts a common version but no common suite fails the handshake:
//! current clients do not retry with an older version.

use rdpdoctor_wire::tls::{ProtocolVersion, groups, suites};

use super::plan::Outcome;
use super::universe;
use crate::evidence::ClientCompatibility;

/// What one client offers.
#[derive(Clone, Copy, Debug)]
pub struct ClientProfile {
    /// As reports show it.
    pub name: &'static str,
    /// Versions, newest first.
    pub versions: &'static [ProtocolVersion],
    /// Cipher suites in the client's order (TLS 1.3 and older mixed, as the client sends them).
    pub suites: &'static [u16],
    /// Named groups in the client's order.
    pub groups: &'static [u16],
}

/// Windows 11 (v22H2 and later) Schannel defaults: what mstsc and the Windows App use.
pub const WINDOWS_11: ClientProfile = ClientProfile {
    name: "Windows 11 mstsc / Windows App",
    versions: &[ProtocolVersion::TLS13, ProtocolVersion::TLS12],
    suites: &[
        0x1302, // TLS_AES_256_GCM_SHA384
        0x1301, // TLS_AES_128_GCM_SHA256
        0xc02c, // TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384
        0xc02b, // TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256
        0xc030, // TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384
        0xc02f, // TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256
        0xc024, // TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384
        0xc023, // TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256
        0xc028, // TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384
        0xc027, // TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256
        0xc00a, // TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA
        0xc009, // TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA
        0xc014, // TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA
        0xc013, // TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA
        0x009d, // TLS_RSA_WITH_AES_256_GCM_SHA384
        0x009c, // TLS_RSA_WITH_AES_128_GCM_SHA256
        0x003d, // TLS_RSA_WITH_AES_256_CBC_SHA256
        0x003c, // TLS_RSA_WITH_AES_128_CBC_SHA256
        0x0035, // TLS_RSA_WITH_AES_256_CBC_SHA
        0x002f, // TLS_RSA_WITH_AES_128_CBC_SHA
    ],
    groups: &[groups::X25519, groups::SECP256R1, groups::SECP384R1],
};

/// FreeRDP 3 on OpenSSL 3 with its defaults.
pub const FREERDP_3: ClientProfile = ClientProfile {
    name: "FreeRDP 3 (OpenSSL 3)",
    versions: &[ProtocolVersion::TLS13, ProtocolVersion::TLS12],
    suites: &[
        0x1302, // TLS_AES_256_GCM_SHA384
        0x1303, // TLS_CHACHA20_POLY1305_SHA256
        0x1301, // TLS_AES_128_GCM_SHA256
        0xc02c, // ECDHE-ECDSA-AES256-GCM-SHA384
        0xc030, // ECDHE-RSA-AES256-GCM-SHA384
        0x009f, // DHE-RSA-AES256-GCM-SHA384
        0xcca9, // ECDHE-ECDSA-CHACHA20-POLY1305
        0xcca8, // ECDHE-RSA-CHACHA20-POLY1305
        0xccaa, // DHE-RSA-CHACHA20-POLY1305
        0xc02b, // ECDHE-ECDSA-AES128-GCM-SHA256
        0xc02f, // ECDHE-RSA-AES128-GCM-SHA256
        0x009e, // DHE-RSA-AES128-GCM-SHA256
        0xc024, // ECDHE-ECDSA-AES256-SHA384
        0xc028, // ECDHE-RSA-AES256-SHA384
        0x006b, // DHE-RSA-AES256-SHA256
        0xc023, // ECDHE-ECDSA-AES128-SHA256
        0xc027, // ECDHE-RSA-AES128-SHA256
        0x0067, // DHE-RSA-AES128-SHA256
        0xc00a, // ECDHE-ECDSA-AES256-SHA
        0xc014, // ECDHE-RSA-AES256-SHA
        0x0039, // DHE-RSA-AES256-SHA
        0xc009, // ECDHE-ECDSA-AES128-SHA
        0xc013, // ECDHE-RSA-AES128-SHA
        0x0033, // DHE-RSA-AES128-SHA
        0x009d, // AES256-GCM-SHA384
        0x009c, // AES128-GCM-SHA256
        0x003d, // AES256-SHA256
        0x003c, // AES128-SHA256
        0x0035, // AES256-SHA
        0x002f, // AES128-SHA
    ],
    groups: &[
        groups::X25519,
        groups::SECP256R1,
        groups::X448,
        groups::SECP521R1,
        groups::SECP384R1,
        groups::FFDHE2048,
        groups::FFDHE3072,
        258, // ffdhe4096
        259, // ffdhe6144
        260, // ffdhe8192
    ],
};

/// The profiles every deep check reports on.
pub const PROFILES: [ClientProfile; 2] = [WINDOWS_11, FREERDP_3];

fn names(list: &[String]) -> String {
    if list.is_empty() {
        "none".into()
    } else {
        list.join(", ")
    }
}

/// What `client` would negotiate with the server described by `server`.
pub fn negotiate(client: &ClientProfile, server: &Outcome) -> ClientCompatibility {
    let result = |version: Option<String>, suite: Option<String>, failure: Option<String>| {
        ClientCompatibility {
            client: client.name.to_string(),
            version,
            cipher_suite: suite,
            failure,
        }
    };
    let accepted: Vec<ProtocolVersion> = server
        .versions
        .iter()
        .filter(|(_, s)| !s.is_empty())
        .map(|(v, _)| *v)
        .collect();
    let Some(version) = client
        .versions
        .iter()
        .copied()
        .find(|v| accepted.contains(v))
    else {
        let unknown: Vec<String> = client
            .versions
            .iter()
            .filter(|v| !server.versions.contains_key(v))
            .map(|v| universe::version_name(*v))
            .collect();
        if !unknown.is_empty() {
            return result(
                None,
                None,
                Some(format!(
                    "undetermined: the enumeration did not finish for {}",
                    unknown.join(", ")
                )),
            );
        }
        let offers: Vec<String> = client
            .versions
            .iter()
            .map(|v| universe::version_name(*v))
            .collect();
        let server_names: Vec<String> = accepted
            .iter()
            .map(|v| universe::version_name(*v))
            .collect();
        return result(
            None,
            None,
            Some(format!(
                "no TLS version in common: the client offers {}, the server accepts {}",
                offers.join(", "),
                names(&server_names)
            )),
        );
    };
    let vname = universe::version_name(version);
    let server_suites = &server.versions[&version];
    let server_groups = server.groups.get(&version).filter(|g| !g.is_empty());
    let group_ok = |id: u16| {
        let needs_group = version == ProtocolVersion::TLS13 || universe::is_ecdhe(id);
        !needs_group || server_groups.is_none_or(|g| g.iter().any(|x| client.groups.contains(x)))
    };
    let shared: Vec<u16> = client
        .suites
        .iter()
        .copied()
        .filter(|s| {
            suites::suite(*s).is_some_and(|c| c.usable_in(version)) && server_suites.contains(s)
        })
        .filter(|s| group_ok(*s))
        .collect();
    if shared.is_empty() {
        let server_names: Vec<String> = server_suites
            .iter()
            .map(|s| universe::suite_name(*s))
            .collect();
        let why = if client.suites.iter().any(|s| server_suites.contains(s)) {
            " (the shared suites need an elliptic curve the two have not in common)"
        } else {
            ""
        };
        return result(
            Some(vname.clone()),
            None,
            Some(format!(
                "no cipher suite in common under {vname}: the server accepts only {}{why}",
                names(&server_names)
            )),
        );
    }
    let pick = if server.server_preference.get(&version) == Some(&true) {
        server_suites
            .iter()
            .copied()
            .find(|s| shared.contains(s))
            .unwrap_or(shared[0])
    } else {
        shared[0]
    };
    result(Some(vname), Some(universe::suite_name(pick)), None)
}

/// Every profile against the server.
pub fn compatibility(server: &Outcome) -> Vec<ClientCompatibility> {
    PROFILES.iter().map(|p| negotiate(p, server)).collect()
}

/// Whether a compatibility result says the handshake fails for lack of a common version.
pub fn no_common_version(c: &ClientCompatibility) -> bool {
    c.failure
        .as_deref()
        .is_some_and(|f| f.starts_with("no TLS version in common"))
}

/// Whether a compatibility result says the handshake fails for lack of a common suite.
pub fn no_common_suite(c: &ClientCompatibility) -> bool {
    c.failure
        .as_deref()
        .is_some_and(|f| f.starts_with("no cipher suite in common"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server(versions: &[(ProtocolVersion, &[u16])], preference: bool) -> Outcome {
        let mut o = Outcome {
            versions: versions.iter().map(|(v, s)| (*v, s.to_vec())).collect(),
            ..Outcome::default()
        };
        for (v, _) in versions {
            o.server_preference.insert(*v, preference);
        }
        o
    }

    const V10: ProtocolVersion = ProtocolVersion::TLS10;
    const V12: ProtocolVersion = ProtocolVersion::TLS12;
    const V13: ProtocolVersion = ProtocolVersion::TLS13;

    #[test]
    fn every_profile_suite_is_catalogued_and_usable_in_a_profile_version() {
        for p in PROFILES {
            for s in p.suites {
                let c = suites::suite(*s).unwrap_or_else(|| panic!("{s:04x}"));
                assert!(p.versions.iter().any(|v| c.usable_in(*v)), "{}", c.name);
                assert!(
                    c.weaknesses()
                        .iter()
                        .all(|w| matches!(w, suites::Weakness::Cbc | suites::Weakness::StaticRsa))
                );
            }
            for g in p.groups {
                assert!(groups::group_name(*g).is_some());
            }
        }
    }

    #[test]
    fn a_tls10_only_server_shares_no_version_with_current_clients() {
        let s = server(&[(V10, &[0x002f]), (V12, &[]), (V13, &[])], false);
        for c in compatibility(&s) {
            assert!(no_common_version(&c), "{c:?}");
            assert!(c.failure.unwrap().contains("the server accepts TLSv1.0"));
        }
    }

    #[test]
    fn a_server_with_only_legacy_suites_shares_no_suite() {
        // TLS 1.2 with 3DES and RC4 only.
        let s = server(&[(V12, &[0x000a, 0x0005]), (V13, &[])], true);
        let c = negotiate(&WINDOWS_11, &s);
        assert!(no_common_suite(&c), "{c:?}");
        assert_eq!(c.version.as_deref(), Some("TLSv1.2"));
        assert!(c.failure.unwrap().contains("TLS_RSA_WITH_3DES_EDE_CBC_SHA"));
    }

    #[test]
    fn picks_follow_the_server_order_or_the_client_order() {
        // The server prefers AES128-SHA over ECDHE-RSA-AES128-GCM.
        let list: &[u16] = &[0x002f, 0xc02f];
        let s = server(&[(V12, list), (V13, &[])], true);
        assert_eq!(
            negotiate(&WINDOWS_11, &s).cipher_suite.as_deref(),
            Some("TLS_RSA_WITH_AES_128_CBC_SHA")
        );
        let s = server(&[(V12, list), (V13, &[])], false);
        assert_eq!(
            negotiate(&WINDOWS_11, &s).cipher_suite.as_deref(),
            Some("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256")
        );
        // TLS 1.3 wins when both speak it; Windows has no ChaCha20.
        let s = server(&[(V12, list), (V13, &[0x1303])], true);
        assert!(no_common_suite(&negotiate(&WINDOWS_11, &s)));
        assert_eq!(
            negotiate(&FREERDP_3, &s).cipher_suite.as_deref(),
            Some("TLS_CHACHA20_POLY1305_SHA256")
        );
    }

    #[test]
    fn ecdhe_needs_a_shared_curve_and_unknown_versions_are_undetermined() {
        let mut s = server(&[(V12, &[0xc02f]), (V13, &[])], true);
        s.groups.insert(V12, vec![groups::SECP521R1]);
        let c = negotiate(&WINDOWS_11, &s);
        assert!(no_common_suite(&c), "{c:?}");
        assert!(c.failure.unwrap().contains("elliptic curve"));
        assert!(negotiate(&FREERDP_3, &s).failure.is_none());
        let s = server(&[(V10, &[0x002f])], false);
        let c = negotiate(&WINDOWS_11, &s);
        assert!(c.failure.unwrap().starts_with("undetermined"));
    }
}
