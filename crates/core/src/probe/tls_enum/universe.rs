//! What the enumeration offers: per protocol version, every catalogued cipher suite a server
//! with a certificate could select, in one fixed order, cut into ClientHello-sized blocks; and
//! the key-exchange groups.
//!
//! Suites that need a pre-shared key, SRP, Kerberos or a password (PSK, SRP, KRB5, ECCPWD) are
//! left out: an RDP server authenticates with its certificate and never selects them. Anonymous
//! and NULL suites stay in, because a server that accepts them is exactly what `weak-tls`
//! must report.
//!
//! The order is strongest first (fewest weaknesses, forward secrecy, AEAD): a server that
//! follows the client's order then picks its strongest suite first, and the report lists
//! suites in an order an admin can read.

use rdpdoctor_wire::tls::suites::{self, Authentication, CipherMode, KeyExchange};
use rdpdoctor_wire::tls::{CipherSuite, ProtocolVersion, groups};

/// Largest number of suites offered in one ClientHello. Real clients offer 10 to 50; hellos with
/// hundreds of suites are where old or embedded TLS stacks misbehave, so a version's suites are
/// offered in blocks of at most this many (each block costs one extra "refused" connection).
pub const MAX_SUITES_PER_HELLO: usize = 128;

/// The versions enumerated suite by suite, newest first.
pub const VERSIONS: [ProtocolVersion; 4] = [
    ProtocolVersion::TLS13,
    ProtocolVersion::TLS12,
    ProtocolVersion::TLS11,
    ProtocolVersion::TLS10,
];

/// Named curves offered for ECDHE in TLS 1.0 to 1.2: every curve of the registry a server
/// might still use (binary and small prime curves included, so a server that picks one is
/// seen), strongest and most common first.
pub const LEGACY_GROUPS: [u16; 30] = [
    groups::X25519,
    groups::SECP256R1,
    groups::SECP384R1,
    groups::SECP521R1,
    groups::X448,
    26, // brainpoolP256r1
    27, // brainpoolP384r1
    28, // brainpoolP512r1
    22, // secp256k1
    21, // secp224r1
    20, // secp224k1
    19, // secp192r1
    18, // secp192k1
    15, // secp160k1
    16, // secp160r1
    17, // secp160r2
    14, // sect571r1
    13, // sect571k1
    12, // sect409r1
    11, // sect409k1
    10, // sect283r1
    9,  // sect283k1
    8,  // sect239k1
    7,  // sect233r1
    6,  // sect233k1
    5,  // sect193r2
    4,  // sect193r1
    3,  // sect163r2
    2,  // sect163r1
    1,  // sect163k1
];

/// Groups offered in TLS 1.3: elliptic curves, finite-field groups (RFC 7919) and the
/// post-quantum hybrids current clients send. Key shares are never sent (see `plan`), so the
/// hybrids' kilobyte-sized keys cost nothing.
pub const TLS13_GROUPS: [u16; 18] = [
    groups::X25519_MLKEM768,
    groups::X25519,
    groups::SECP256R1,
    groups::SECP384R1,
    groups::SECP521R1,
    groups::X448,
    4587, // SecP256r1MLKEM768
    4589, // SecP384r1MLKEM1024
    31,   // brainpoolP256r1tls13
    32,   // brainpoolP384r1tls13
    33,   // brainpoolP512r1tls13
    groups::FFDHE2048,
    groups::FFDHE3072,
    258, // ffdhe4096
    259, // ffdhe6144
    260, // ffdhe8192
    513, // MLKEM768
    514, // MLKEM1024
];

/// Whether a server authenticating with a certificate (or not at all) could select the suite.
fn certificate_based(s: &CipherSuite) -> bool {
    !s.signaling
        && matches!(
            s.kx,
            KeyExchange::Rsa
                | KeyExchange::Dh
                | KeyExchange::Dhe
                | KeyExchange::Ecdh
                | KeyExchange::Ecdhe
                | KeyExchange::Tls13
        )
        && matches!(
            s.auth,
            Authentication::Rsa
                | Authentication::Dss
                | Authentication::Ecdsa
                | Authentication::Anonymous
                | Authentication::Tls13
        )
}

/// Suites no mainstream TLS stack of the last fifteen years ships (static DH/ECDH with a
/// certificate, Camellia-GCM, ARIA-CBC): offered in a later block, so the first block holds
/// everything a Windows, OpenSSL, GnuTLS or NSS server can select.
fn rare(s: &CipherSuite) -> bool {
    use rdpdoctor_wire::tls::suites::BulkCipher;
    (matches!(s.kx, KeyExchange::Dh | KeyExchange::Ecdh) && s.auth != Authentication::Anonymous)
        || (s.cipher == BulkCipher::Camellia && s.mode != CipherMode::Cbc)
        || (s.cipher == BulkCipher::Aria && s.mode == CipherMode::Cbc)
}

/// Sort key of the enumeration's preference: fewest weaknesses, then forward secrecy, then
/// AEAD, then the ciphers every client has (AES, ChaCha20) before national and niche ones.
type Rank = (usize, bool, bool, bool, u16);

fn rank(s: &CipherSuite) -> Rank {
    use rdpdoctor_wire::tls::suites::BulkCipher;
    let aead = matches!(s.mode, CipherMode::Gcm | CipherMode::Ccm)
        || s.cipher == BulkCipher::Chacha20Poly1305;
    let mainstream = matches!(s.cipher, BulkCipher::Aes | BulkCipher::Chacha20Poly1305);
    (
        s.weaknesses().len(),
        !s.forward_secret(),
        !aead,
        !mainstream,
        s.id,
    )
}

/// Every suite offered for `version`, in the enumeration's order.
pub fn suites_for(version: ProtocolVersion) -> Vec<u16> {
    let mut v: Vec<CipherSuite> = suites::all()
        .filter(|s| s.usable_in(version) && certificate_based(s))
        .collect();
    v.sort_by_key(rank);
    v.into_iter().map(|s| s.id).collect()
}

/// The suites for `version` in blocks of at most [`MAX_SUITES_PER_HELLO`]: every suite a
/// mainstream stack ships in the first block (there are fewer than the limit), the rare ones
/// after them; each block in the enumeration's order.
pub fn blocks_for(version: ProtocolVersion) -> Vec<Vec<u16>> {
    let (mut list, rare): (Vec<u16>, Vec<u16>) = suites_for(version)
        .into_iter()
        .partition(|id| suites::suite(*id).is_some_and(|s| !rare(&s)));
    list.extend(rare);
    let mut blocks: Vec<Vec<u16>> = list
        .chunks(MAX_SUITES_PER_HELLO)
        .map(<[u16]>::to_vec)
        .collect();
    for b in &mut blocks {
        b.sort_by_key(|id| order_key(*id));
    }
    blocks
}

/// The position of a suite in the enumeration's order (for sorting lists a server did not
/// order itself).
pub fn order_key(id: u16) -> Rank {
    suites::suite(id)
        .map(|s| rank(&s))
        .unwrap_or((usize::MAX, true, true, true, id))
}

/// Whether the suite's key exchange is ECDHE (its ServerKeyExchange names a group).
pub fn is_ecdhe(id: u16) -> bool {
    suites::suite(id).is_some_and(|s| s.kx == KeyExchange::Ecdhe)
}

/// A group's report name (`x25519`, `secp256r1`) or its hex value.
pub fn group_name(id: u16) -> String {
    groups::group_name(id)
        .map(str::to_string)
        .unwrap_or_else(|| format!("0x{id:04X}"))
}

/// A suite's IANA name or its hex value.
pub fn suite_name(id: u16) -> String {
    suites::suite_name(id)
        .map(str::to_string)
        .unwrap_or_else(|| format!("0x{id:04X}"))
}

/// A version's report name (`TLSv1.2`).
pub fn version_name(v: ProtocolVersion) -> String {
    v.name()
        .map(str::to_string)
        .unwrap_or_else(|| format!("0x{:04X}", v.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_version_has_a_strong_first_universe_in_few_blocks() {
        for v in VERSIONS {
            let blocks = blocks_for(v);
            let total: usize = blocks.iter().map(Vec::len).sum();
            assert_eq!(total, suites_for(v).len());
            assert!(blocks.iter().all(|b| b.len() <= MAX_SUITES_PER_HELLO));
            assert!(blocks.len() <= 2, "{v}: {} blocks", blocks.len());
            let common = blocks[0]
                .iter()
                .filter(|id| !rare(&suites::suite(**id).unwrap()))
                .count();
            let all_common = suites_for(v)
                .iter()
                .filter(|id| !rare(&suites::suite(**id).unwrap()))
                .count();
            assert_eq!(common, all_common, "{v}: every mainstream suite in block 0");
            eprintln!(
                "{v}: {total} suites in blocks of {:?}",
                blocks.iter().map(Vec::len).collect::<Vec<_>>()
            );
        }
        let tls12 = suites_for(ProtocolVersion::TLS12);
        assert!(order_key(tls12[0]).0 == 0, "a strong suite comes first");
        for id in [0x002f, 0x000a, 0x0005, 0x0003, 0xc02f, 0x009d, 0x0018] {
            assert!(
                suites_for(ProtocolVersion::TLS10).contains(&id)
                    || !suites::suite(id).unwrap().usable_in(ProtocolVersion::TLS10),
                "{id:04x}"
            );
        }
        assert!(suites_for(ProtocolVersion::TLS12).contains(&0xc02f));
        assert!(
            suites_for(ProtocolVersion::TLS10).contains(&0x0003),
            "export"
        );
        assert!(
            !suites_for(ProtocolVersion::TLS12).contains(&0x008c),
            "no PSK"
        );
        assert!(
            blocks_for(ProtocolVersion::TLS12)[0].contains(&0x000a),
            "3DES is common, first block"
        );
        assert_eq!(
            suites_for(ProtocolVersion::TLS13)[..3],
            [0x1301, 0x1302, 0x1303]
        );
    }

    #[test]
    fn group_lists_have_names_and_no_duplicates() {
        for list in [&LEGACY_GROUPS[..], &TLS13_GROUPS[..]] {
            let mut seen = std::collections::HashSet::new();
            for g in list {
                assert!(groups::group_name(*g).is_some(), "{g}");
                assert!(seen.insert(*g));
            }
        }
    }
}
