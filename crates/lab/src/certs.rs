//! Certificates and TLS server configurations, generated at start with rcgen.
//!
//! Every lab gets its own CA ("rdpdoctor lab CA") so that a probe given
//! [`Lab::ca_certificate_pem`](crate::Lab::ca_certificate_pem) can validate the healthy
//! endpoints fully, and the certificate faults stay the only thing wrong with the others. Keys are
//! ECDSA P-256: rcgen can only generate RSA keys with aws-lc, which this project keeps out of the
//! build. Windows uses RSA-2048, so key-type checks must not rely on the lab.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, SanType,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use time::{Duration, OffsetDateTime};

use crate::error::LabError;
use crate::identity::ServerIdentity;

/// What is wrong with a certificate (or nothing).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CertProfile {
    /// Issued by the lab CA to the host's DNS name, `localhost` and the endpoint's IP address,
    /// valid from yesterday for 180 days.
    Valid,
    /// Valid from 2020-01-01 to 2021-01-01 (the dates of the expired xrdp certificate in LAB.md).
    Expired,
    /// Valid from 2099-01-01 to 2100-01-01.
    NotYetValid,
    /// Issued to `wrong.example.invalid` only.
    WrongName,
    /// The right names and dates, but self-signed (as Windows' own Remote Desktop certificate).
    SelfSigned,
    /// Expires in 10 days.
    ExpiringSoon,
}

/// The name a [`CertProfile::WrongName`] certificate carries.
pub const WRONG_NAME: &str = "wrong.example.invalid";

impl CertProfile {
    /// notBefore and notAfter, relative to `now` where the profile is about the present.
    pub fn validity(self, now: OffsetDateTime) -> (OffsetDateTime, OffsetDateTime) {
        match self {
            CertProfile::Valid | CertProfile::WrongName | CertProfile::SelfSigned => {
                (now - Duration::days(1), now + Duration::days(180))
            }
            CertProfile::Expired => (
                rcgen::date_time_ymd(2020, 1, 1),
                rcgen::date_time_ymd(2021, 1, 1),
            ),
            CertProfile::NotYetValid => (
                rcgen::date_time_ymd(2099, 1, 1),
                rcgen::date_time_ymd(2100, 1, 1),
            ),
            CertProfile::ExpiringSoon => (now - Duration::days(170), now + Duration::days(10)),
        }
    }
}

/// What a TLS endpoint serves: the rustls configuration, and the leaf's public key, which
/// CredSSP binds to (the SubjectPublicKey BIT STRING contents, MS-CSSP 3.1.5).
pub(crate) struct TlsMaterial {
    pub config: Arc<rustls::ServerConfig>,
    pub public_key: Vec<u8>,
    pub leaf_der: Vec<u8>,
}

/// Issues the certificates of one lab and caches them per (profile, address), so a few hundred
/// endpoints on as many addresses cost one key and one signature each.
pub(crate) struct CertFactory {
    identity: Arc<ServerIdentity>,
    ca_key: KeyPair,
    ca_params: CertificateParams,
    ca_der: CertificateDer<'static>,
    ca_pem: String,
    now: OffsetDateTime,
    cache: HashMap<(CertProfile, IpAddr), Arc<TlsMaterial>>,
}

impl CertFactory {
    pub(crate) fn new(identity: Arc<ServerIdentity>) -> Result<Self, LabError> {
        let now = OffsetDateTime::now_utc();
        let ca_key = KeyPair::generate().map_err(LabError::certificate)?;
        let mut ca_params = CertificateParams::default();
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, "rdpdoctor lab CA");
        dn.push(DnType::OrganizationName, "rdpdoctor lab");
        ca_params.distinguished_name = dn;
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        // Wide enough to hold every leaf period, so that only the leaf's own dates are wrong.
        ca_params.not_before = rcgen::date_time_ymd(2019, 1, 1);
        ca_params.not_after = rcgen::date_time_ymd(2101, 1, 1);
        let ca_cert = ca_params
            .self_signed(&ca_key)
            .map_err(LabError::certificate)?;
        Ok(Self {
            identity,
            ca_der: ca_cert.der().clone(),
            ca_pem: ca_cert.pem(),
            ca_key,
            ca_params,
            now,
            cache: HashMap::new(),
        })
    }

    pub(crate) fn ca_der(&self) -> &CertificateDer<'static> {
        &self.ca_der
    }

    pub(crate) fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// The TLS material for `profile` served on `ip`.
    pub(crate) fn material(
        &mut self,
        profile: CertProfile,
        ip: IpAddr,
    ) -> Result<Arc<TlsMaterial>, LabError> {
        if let Some(m) = self.cache.get(&(profile, ip)) {
            return Ok(Arc::clone(m));
        }
        let material = Arc::new(self.issue(profile, ip)?);
        self.cache.insert((profile, ip), Arc::clone(&material));
        Ok(material)
    }

    fn issue(&self, profile: CertProfile, ip: IpAddr) -> Result<TlsMaterial, LabError> {
        let key = KeyPair::generate().map_err(LabError::certificate)?;
        let mut params = CertificateParams::default();
        let (not_before, not_after) = profile.validity(self.now);
        params.not_before = not_before;
        params.not_after = not_after;
        let mut dn = DistinguishedName::new();
        if profile == CertProfile::WrongName {
            dn.push(DnType::CommonName, WRONG_NAME);
            params.subject_alt_names = vec![SanType::DnsName(
                WRONG_NAME.try_into().map_err(LabError::certificate)?,
            )];
        } else {
            // Windows puts the host's FQDN in the CN; the SAN adds what a lab client dials.
            dn.push(DnType::CommonName, self.identity.dns_computer.as_str());
            params.subject_alt_names = vec![
                SanType::DnsName(
                    self.identity
                        .dns_computer
                        .as_str()
                        .try_into()
                        .map_err(LabError::certificate)?,
                ),
                SanType::DnsName("localhost".try_into().map_err(LabError::certificate)?),
                SanType::IpAddress(ip),
            ];
        }
        params.distinguished_name = dn;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let cert = if profile == CertProfile::SelfSigned {
            params.self_signed(&key)
        } else {
            params.use_authority_key_identifier_extension = true;
            let issuer = Issuer::from_params(&self.ca_params, &self.ca_key);
            params.signed_by(&key, &issuer)
        }
        .map_err(LabError::certificate)?;

        let config = server_config(
            vec![cert.der().clone()],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
        )?;
        Ok(TlsMaterial {
            leaf_der: cert.der().to_vec(),
            config,
            public_key: key.public_key_raw().to_vec(),
        })
    }
}

/// A TLS 1.2/1.3 server configuration on the ring provider.
///
/// No TLS 1.3 session tickets: CredSSP binds to one TLS session and Windows' RDP listener does
/// not resume, so tickets would only be noise in captures.
pub(crate) fn server_config(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> Result<Arc<rustls::ServerConfig>, LabError> {
    let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
    .map_err(LabError::tls)?
    .with_no_client_auth()
    .with_single_cert(chain, key)
    .map_err(LabError::tls)?;
    config.send_tls13_tickets = 0;
    Ok(Arc::new(config))
}
