//! A ClientHello builder for any version and any suite list.
//!
//! Why hand-built: the probe must ask a server about TLS 1.0 with RC4 or static RSA, or
//! SSL 3.0, which no maintained TLS library will send, and it must control the exact byte size
//! of the hello (RFC 7685 padding) to find path-MTU black holes: a hello padded past the path
//! MTU that never gets an answer, while a small one does, is the classic symptom.
//!
//! Nothing here is random: the caller supplies `random`, the session id and any key share
//! bytes (sans-IO). For TLS 1.3 any 32 bytes are a valid X25519 public key, so a random value
//! will do; the probe never completes the handshake. If the server wants another group it
//! answers with a HelloRetryRequest naming it ([`super::ServerHello::hello_retry_request`]); a
//! retry would need a real key for that group, so the probe should report the group and stop.

use super::groups::{self, sig};
use super::suites::FALLBACK_SCSV;
use super::{ProtocolVersion, content_type, extension, handshake_type};

/// Largest plaintext record (2^14): the whole hello must fit in one record.
pub const MAX_RECORD_PAYLOAD: usize = 16 * 1024;

/// One key_share entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyShare {
    /// Named group.
    pub group: u16,
    /// key_exchange bytes (32 for x25519).
    pub key_exchange: Vec<u8>,
}

/// A ClientHello to encode. Every list is sent as given, in order; an empty list means the
/// extension is left out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientHello {
    /// Version in the record header (servers that check it expect 0x0301 or the hello version).
    pub record_version: ProtocolVersion,
    /// ClientHello.client_version (legacy_version; 0x0303 when offering TLS 1.3).
    pub client_version: ProtocolVersion,
    /// ClientHello.random.
    pub random: [u8; 32],
    /// legacy_session_id (0 to 32 bytes).
    pub session_id: Vec<u8>,
    /// Cipher suite ids, any u16 (unassigned and GREASE values included).
    pub cipher_suites: Vec<u16>,
    /// Append TLS_FALLBACK_SCSV (0x5600) to the suites (RFC 7507 downgrade test).
    pub fallback_scsv: bool,
    /// Compression methods (normally just 0 = null).
    pub compression_methods: Vec<u8>,
    /// server_name (SNI) host name. RFC 6066 forbids IP literals; not enforced, so the probe
    /// can test what a server does with one.
    pub server_name: Option<String>,
    /// supported_versions (TLS 1.3 negotiation).
    pub supported_versions: Vec<ProtocolVersion>,
    /// supported_groups.
    pub supported_groups: Vec<u16>,
    /// ec_point_formats (0 = uncompressed).
    pub ec_point_formats: Vec<u8>,
    /// signature_algorithms (only meaningful from TLS 1.2 on).
    pub signature_algorithms: Vec<u16>,
    /// key_share (TLS 1.3).
    pub key_shares: Vec<KeyShare>,
    /// psk_key_exchange_modes (1 = psk_dhe_ke).
    pub psk_key_exchange_modes: Vec<u8>,
    /// Send an empty renegotiation_info extension (RFC 5746).
    pub renegotiation_info: bool,
    /// Send extended_master_secret (RFC 7627).
    pub extended_master_secret: bool,
    /// Any other extensions, sent as given, before padding.
    pub extra_extensions: Vec<(u16, Vec<u8>)>,
    /// Pad (RFC 7685) so that the whole record, 5-byte header included, is exactly this many
    /// bytes on the wire.
    pub padded_len: Option<usize>,
}

/// Why a ClientHello could not be encoded.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ClientHelloError {
    /// No cipher suites.
    #[error("no cipher suites")]
    NoCipherSuites,
    /// Session id longer than 32 bytes.
    #[error("session id of {0} bytes (max 32)")]
    SessionIdTooLong(usize),
    /// Compression list empty or over 255 entries.
    #[error("compression methods: 1 to 255 entries required")]
    CompressionMethods,
    /// A list or name too long for its length field.
    #[error("{0} is too long for its length field")]
    FieldTooLong(&'static str),
    /// The hello does not fit in one record.
    #[error("ClientHello record of {len} bytes exceeds the {max}-byte single-record limit")]
    TooLarge {
        /// Record size.
        len: usize,
        /// Largest possible.
        max: usize,
    },
    /// The padding target cannot be met: it is below the unpadded size, or above it by less
    /// than the padding extension's own header.
    #[error("cannot pad a {unpadded}-byte ClientHello record to {target} bytes")]
    PaddingTarget {
        /// Size without padding.
        unpadded: usize,
        /// Requested size.
        target: usize,
    },
}

/// Groups offered by default: what Windows and browsers offer, minus post-quantum hybrids
/// whose 1 KiB+ key shares would make the hello larger than a probe needs.
pub const DEFAULT_GROUPS: [u16; 4] = [
    groups::X25519,
    groups::SECP256R1,
    groups::SECP384R1,
    groups::SECP521R1,
];

/// Signature algorithms offered by default, including the SHA-1 pairs old Windows servers
/// (2008 R2 with TLS 1.2 enabled) still sign with.
pub const DEFAULT_SIGNATURE_ALGORITHMS: [u16; 11] = [
    sig::ECDSA_SECP256R1_SHA256,
    sig::RSA_PSS_RSAE_SHA256,
    sig::RSA_PKCS1_SHA256,
    sig::ECDSA_SECP384R1_SHA384,
    sig::RSA_PSS_RSAE_SHA384,
    sig::RSA_PKCS1_SHA384,
    sig::RSA_PSS_RSAE_SHA512,
    sig::RSA_PKCS1_SHA512,
    sig::ED25519,
    sig::RSA_PKCS1_SHA1,
    sig::ECDSA_SHA1,
];

impl ClientHello {
    /// A hello for SSL 3.0 .. TLS 1.2 offering `cipher_suites`. Record version 0x0301 (0x0300
    /// for SSL 3.0), no session id. Extensions: supported_groups and ec_point_formats (for
    /// ECDHE suites), signature_algorithms (TLS 1.2 only, as RFC 5246 asks),
    /// renegotiation_info and extended_master_secret. SSL 3.0 gets no extensions at all, since
    /// SSL 3.0-only stacks may not parse them.
    pub fn legacy(version: ProtocolVersion, cipher_suites: Vec<u16>, random: [u8; 32]) -> Self {
        let ssl3 = version <= ProtocolVersion::SSL3;
        Self {
            record_version: if ssl3 {
                ProtocolVersion::SSL3
            } else {
                ProtocolVersion::TLS10
            },
            client_version: version,
            random,
            session_id: Vec::new(),
            cipher_suites,
            fallback_scsv: false,
            compression_methods: vec![0],
            server_name: None,
            supported_versions: Vec::new(),
            supported_groups: if ssl3 {
                Vec::new()
            } else {
                DEFAULT_GROUPS.to_vec()
            },
            ec_point_formats: if ssl3 { Vec::new() } else { vec![0] },
            signature_algorithms: if version >= ProtocolVersion::TLS12 {
                DEFAULT_SIGNATURE_ALGORITHMS.to_vec()
            } else {
                Vec::new()
            },
            key_shares: Vec::new(),
            psk_key_exchange_modes: Vec::new(),
            renegotiation_info: !ssl3,
            extended_master_secret: !ssl3,
            extra_extensions: Vec::new(),
            padded_len: None,
        }
    }

    /// A TLS 1.3-only hello (supported_versions = [TLS 1.3]) with an X25519 key share, as a
    /// current client sends it: legacy_version 0x0303, a 32-byte legacy session id (middlebox
    /// compatibility mode, RFC 8446 D.4) taken from `session_id`, psk_dhe_ke.
    pub fn tls13(
        cipher_suites: Vec<u16>,
        random: [u8; 32],
        session_id: [u8; 32],
        x25519_public: [u8; 32],
    ) -> Self {
        Self {
            record_version: ProtocolVersion::TLS10,
            client_version: ProtocolVersion::TLS12,
            session_id: session_id.to_vec(),
            supported_versions: vec![ProtocolVersion::TLS13],
            signature_algorithms: DEFAULT_SIGNATURE_ALGORITHMS.to_vec(),
            key_shares: vec![KeyShare {
                group: groups::X25519,
                key_exchange: x25519_public.to_vec(),
            }],
            psk_key_exchange_modes: vec![1],
            ..Self::legacy(ProtocolVersion::TLS12, cipher_suites, random)
        }
    }

    /// Set the SNI host name.
    pub fn with_server_name(mut self, name: impl Into<String>) -> Self {
        self.server_name = Some(name.into());
        self
    }

    /// Pad the record to exactly `len` bytes.
    pub fn with_padded_len(mut self, len: usize) -> Self {
        self.padded_len = Some(len);
        self
    }

    /// Encode the whole TLS record (header + handshake message).
    pub fn encode(&self) -> Result<Vec<u8>, ClientHelloError> {
        let mut extensions = self.extensions()?;
        let unpadded = self.record(&extensions)?;
        let Some(target) = self.padded_len else {
            return Ok(unpadded);
        };
        if target == unpadded.len() {
            return Ok(unpadded);
        }
        // A padding extension costs its 4-byte header, plus the 2-byte extensions length when
        // the hello had no extensions block yet.
        let overhead = if extensions.is_empty() { 6 } else { 4 };
        let Some(pad) = target
            .checked_sub(unpadded.len())
            .and_then(|d| d.checked_sub(overhead))
        else {
            return Err(ClientHelloError::PaddingTarget {
                unpadded: unpadded.len(),
                target,
            });
        };
        push_ext(
            &mut extensions,
            extension::PADDING,
            &vec![0; pad],
            "padding",
        )?;
        let padded = self.record(&extensions)?;
        debug_assert_eq!(padded.len(), target);
        Ok(padded)
    }

    fn extensions(&self) -> Result<Vec<u8>, ClientHelloError> {
        let mut ext = Vec::new();
        if let Some(name) = &self.server_name {
            let mut entry = vec![0]; // host_name
            put_vec16(&mut entry, name.as_bytes(), "server_name")?;
            let mut list = Vec::new();
            put_vec16(&mut list, &entry, "server_name")?;
            push_ext(&mut ext, extension::SERVER_NAME, &list, "server_name")?;
        }
        if !self.supported_groups.is_empty() {
            let body = u16_list(&self.supported_groups);
            let mut v = Vec::new();
            put_vec16(&mut v, &body, "supported_groups")?;
            push_ext(
                &mut ext,
                extension::SUPPORTED_GROUPS,
                &v,
                "supported_groups",
            )?;
        }
        if !self.ec_point_formats.is_empty() {
            let mut v = Vec::new();
            put_vec8(&mut v, &self.ec_point_formats, "ec_point_formats")?;
            push_ext(
                &mut ext,
                extension::EC_POINT_FORMATS,
                &v,
                "ec_point_formats",
            )?;
        }
        if !self.signature_algorithms.is_empty() {
            let mut v = Vec::new();
            put_vec16(
                &mut v,
                &u16_list(&self.signature_algorithms),
                "signature_algorithms",
            )?;
            push_ext(
                &mut ext,
                extension::SIGNATURE_ALGORITHMS,
                &v,
                "signature_algorithms",
            )?;
        }
        if self.extended_master_secret {
            push_ext(
                &mut ext,
                extension::EXTENDED_MASTER_SECRET,
                &[],
                "extended_master_secret",
            )?;
        }
        if !self.supported_versions.is_empty() {
            let versions: Vec<u16> = self.supported_versions.iter().map(|v| v.0).collect();
            let mut v = Vec::new();
            put_vec8(&mut v, &u16_list(&versions), "supported_versions")?;
            push_ext(
                &mut ext,
                extension::SUPPORTED_VERSIONS,
                &v,
                "supported_versions",
            )?;
        }
        if !self.psk_key_exchange_modes.is_empty() {
            let mut v = Vec::new();
            put_vec8(
                &mut v,
                &self.psk_key_exchange_modes,
                "psk_key_exchange_modes",
            )?;
            push_ext(
                &mut ext,
                extension::PSK_KEY_EXCHANGE_MODES,
                &v,
                "psk_key_exchange_modes",
            )?;
        }
        if !self.key_shares.is_empty() {
            let mut entries = Vec::new();
            for k in &self.key_shares {
                entries.extend_from_slice(&k.group.to_be_bytes());
                put_vec16(&mut entries, &k.key_exchange, "key_share")?;
            }
            let mut v = Vec::new();
            put_vec16(&mut v, &entries, "key_share")?;
            push_ext(&mut ext, extension::KEY_SHARE, &v, "key_share")?;
        }
        if self.renegotiation_info {
            push_ext(
                &mut ext,
                extension::RENEGOTIATION_INFO,
                &[0],
                "renegotiation_info",
            )?;
        }
        for (ty, data) in &self.extra_extensions {
            push_ext(&mut ext, *ty, data, "extra extension")?;
        }
        Ok(ext)
    }

    fn record(&self, extensions: &[u8]) -> Result<Vec<u8>, ClientHelloError> {
        if self.cipher_suites.is_empty() {
            return Err(ClientHelloError::NoCipherSuites);
        }
        if self.session_id.len() > 32 {
            return Err(ClientHelloError::SessionIdTooLong(self.session_id.len()));
        }
        if self.compression_methods.is_empty() || self.compression_methods.len() > 255 {
            return Err(ClientHelloError::CompressionMethods);
        }
        let mut body = Vec::with_capacity(128 + extensions.len());
        body.extend_from_slice(&self.client_version.0.to_be_bytes());
        body.extend_from_slice(&self.random);
        body.push(self.session_id.len() as u8);
        body.extend_from_slice(&self.session_id);
        let mut suites = self.cipher_suites.clone();
        if self.fallback_scsv {
            suites.push(FALLBACK_SCSV);
        }
        put_vec16(&mut body, &u16_list(&suites), "cipher_suites")?;
        put_vec8(&mut body, &self.compression_methods, "compression_methods")?;
        if !extensions.is_empty() {
            put_vec16(&mut body, extensions, "extensions")?;
        }
        let record_len = 4 + body.len();
        let total = 5 + record_len;
        if record_len > MAX_RECORD_PAYLOAD {
            return Err(ClientHelloError::TooLarge {
                len: total,
                max: 5 + MAX_RECORD_PAYLOAD,
            });
        }
        let mut out = Vec::with_capacity(total);
        out.push(content_type::HANDSHAKE);
        out.extend_from_slice(&self.record_version.0.to_be_bytes());
        out.extend_from_slice(&(record_len as u16).to_be_bytes());
        out.push(handshake_type::CLIENT_HELLO);
        out.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
        out.extend_from_slice(&body);
        Ok(out)
    }
}

fn u16_list(values: &[u16]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_be_bytes()).collect()
}

fn put_vec8(out: &mut Vec<u8>, data: &[u8], what: &'static str) -> Result<(), ClientHelloError> {
    let len = u8::try_from(data.len()).map_err(|_| ClientHelloError::FieldTooLong(what))?;
    out.push(len);
    out.extend_from_slice(data);
    Ok(())
}

fn put_vec16(out: &mut Vec<u8>, data: &[u8], what: &'static str) -> Result<(), ClientHelloError> {
    let len = u16::try_from(data.len()).map_err(|_| ClientHelloError::FieldTooLong(what))?;
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(data);
    Ok(())
}

fn push_ext(
    out: &mut Vec<u8>,
    ty: u16,
    data: &[u8],
    what: &'static str,
) -> Result<(), ClientHelloError> {
    out.extend_from_slice(&ty.to_be_bytes());
    put_vec16(out, data, what)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use tls_parser::{
        TlsExtension, TlsMessage, TlsMessageHandshake, parse_tls_client_hello_extensions,
        parse_tls_plaintext,
    };

    fn parse(bytes: &[u8]) -> (u16, u16, Vec<u16>, Vec<u8>) {
        let (rest, rec) = parse_tls_plaintext(bytes).expect("tls-parser parses the record");
        assert!(rest.is_empty());
        let TlsMessage::Handshake(TlsMessageHandshake::ClientHello(ch)) = &rec.msg[0] else {
            panic!("not a ClientHello: {:?}", rec.msg);
        };
        (
            rec.hdr.version.0,
            ch.version.0,
            ch.ciphers.iter().map(|c| c.0).collect(),
            ch.ext.map(<[u8]>::to_vec).unwrap_or_default(),
        )
    }

    #[test]
    fn tls10_hello_with_legacy_suites() {
        let suites = vec![0x002f, 0x0035, 0x000a, 0x0005, 0x0004, 0x0003, 0x0000];
        let hello = ClientHello::legacy(ProtocolVersion::TLS10, suites.clone(), [7; 32]);
        let b = hello.encode().unwrap();
        let (rec_v, v, got, ext) = parse(&b);
        assert_eq!((rec_v, v), (0x0301, 0x0301));
        assert_eq!(got, suites);
        let (_, exts) = parse_tls_client_hello_extensions(&ext).unwrap();
        assert!(exts.contains(&TlsExtension::RenegotiationInfo(&[])));
        assert!(exts.contains(&TlsExtension::ExtendedMasterSecret));
        assert!(
            !exts
                .iter()
                .any(|e| matches!(e, TlsExtension::SignatureAlgorithms(_)))
        );
    }

    #[test]
    fn ssl3_hello_has_no_extensions() {
        let b = ClientHello::legacy(ProtocolVersion::SSL3, vec![0x0005], [1; 32])
            .encode()
            .unwrap();
        let (rec_v, v, _, ext) = parse(&b);
        assert_eq!((rec_v, v), (0x0300, 0x0300));
        assert!(ext.is_empty());
        // 5 record + 4 handshake + 2 version + 32 random + 1 sid + 2+2 suites + 1+1 compression.
        assert_eq!(b.len(), 50);
    }

    #[test]
    fn tls13_hello_with_sni_and_fallback_scsv() {
        let mut hello = ClientHello::tls13(vec![0x1301, 0x1302], [2; 32], [3; 32], [9; 32])
            .with_server_name("rds01.contoso.com");
        hello.fallback_scsv = true;
        let b = hello.encode().unwrap();
        let (_, v, suites, ext) = parse(&b);
        assert_eq!(v, 0x0303);
        assert_eq!(suites, vec![0x1301, 0x1302, 0x5600]);
        let (rest, exts) = parse_tls_client_hello_extensions(&ext).unwrap();
        assert!(rest.is_empty());
        assert!(
            exts.iter()
                .any(|e| matches!(e, TlsExtension::SNI(v) if v[0].1 == b"rds01.contoso.com"))
        );
        assert!(exts.iter().any(
            |e| matches!(e, TlsExtension::SupportedVersions(v) if v.len() == 1 && v[0].0 == 0x0304)
        ));
        assert!(
            exts.iter()
                .any(|e| matches!(e, TlsExtension::KeyShare(k) if k.len() == 2 + 4 + 32))
        );
        assert!(
            exts.iter()
                .any(|e| matches!(e, TlsExtension::EllipticCurves(g) if g[0].0 == 0x001d))
        );
    }

    #[test]
    fn pads_to_exact_sizes() {
        let base = ClientHello::legacy(ProtocolVersion::TLS12, vec![0xc02f, 0x009d], [0; 32]);
        let unpadded = base.encode().unwrap().len();
        for target in [
            unpadded,
            unpadded + 4,
            unpadded + 5,
            512,
            1400,
            1500,
            5 + MAX_RECORD_PAYLOAD,
        ] {
            let b = base.clone().with_padded_len(target).encode().unwrap();
            assert_eq!(b.len(), target);
            parse(&b);
        }
        for target in [unpadded - 1, unpadded + 1, unpadded + 3] {
            assert_eq!(
                base.clone().with_padded_len(target).encode(),
                Err(ClientHelloError::PaddingTarget { unpadded, target })
            );
        }
        assert!(matches!(
            base.clone()
                .with_padded_len(6 + MAX_RECORD_PAYLOAD)
                .encode(),
            Err(ClientHelloError::PaddingTarget { .. }) | Err(ClientHelloError::TooLarge { .. })
        ));
        // SSL 3.0 hello without an extensions block: padding adds the block too.
        let ssl3 = ClientHello::legacy(ProtocolVersion::SSL3, vec![0x0005], [1; 32]);
        assert_eq!(ssl3.clone().with_padded_len(56).encode().unwrap().len(), 56);
        assert!(ssl3.with_padded_len(55).encode().is_err());
    }

    #[test]
    fn rejects_bad_input() {
        let base = ClientHello::legacy(ProtocolVersion::TLS12, vec![], [0; 32]);
        assert_eq!(base.encode(), Err(ClientHelloError::NoCipherSuites));
        let mut h = ClientHello::legacy(ProtocolVersion::TLS12, vec![1], [0; 32]);
        h.session_id = vec![0; 33];
        assert_eq!(h.encode(), Err(ClientHelloError::SessionIdTooLong(33)));
        let h = ClientHello::legacy(ProtocolVersion::TLS12, vec![1; 9000], [0; 32]);
        assert!(matches!(h.encode(), Err(ClientHelloError::TooLarge { .. })));
        let h = ClientHello::legacy(ProtocolVersion::TLS12, vec![1; 40000], [0; 32]);
        assert_eq!(
            h.encode(),
            Err(ClientHelloError::FieldTooLong("cipher_suites"))
        );
    }

    proptest! {
        #[test]
        fn any_hello_parses_back(
            version in 0x0300u16..=0x0303,
            suites in proptest::collection::vec(any::<u16>(), 1..200),
            random in any::<[u8; 32]>(),
            sni in proptest::option::of("[a-z0-9.-]{1,60}"),
            scsv in any::<bool>(),
            pad in proptest::option::of(0usize..2000),
        ) {
            let mut h = ClientHello::legacy(ProtocolVersion(version), suites.clone(), random);
            h.server_name = sni;
            h.fallback_scsv = scsv;
            let unpadded = h.encode().unwrap().len();
            if let Some(p) = pad {
                h.padded_len = Some(unpadded + 6 + p);
            }
            let b = h.encode().unwrap();
            if let Some(p) = pad {
                prop_assert_eq!(b.len(), unpadded + 6 + p);
            }
            let (_, v, got, ext) = parse(&b);
            prop_assert_eq!(v, version);
            let mut expected = suites;
            if scsv { expected.push(0x5600); }
            prop_assert_eq!(got, expected);
            let (rest, _) = parse_tls_client_hello_extensions(&ext).unwrap();
            prop_assert!(rest.is_empty());
        }
    }
}
