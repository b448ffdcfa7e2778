//! Certificates with chosen names and dates for the real servers under test.
//!
//! RSA keys come from `openssl genpkey` (rcgen with ring can sign with RSA but not generate
//! it) because static-RSA TLS suites and old TLS versions need an RSA certificate; one key per
//! process is reused for speed.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use time::OffsetDateTime;

/// A certificate and its key as PEM files on disk.
#[derive(Clone, Debug)]
pub struct CertFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
    pub cert_pem: String,
    pub key_pem: String,
}

/// What to put in a test certificate.
#[derive(Clone, Debug)]
pub struct CertSpec {
    pub common_name: String,
    pub dns_names: Vec<String>,
    pub ips: Vec<std::net::IpAddr>,
    pub not_before: OffsetDateTime,
    pub not_after: OffsetDateTime,
    /// RSA key bits; 2048 by default.
    pub rsa_bits: u32,
}

impl CertSpec {
    /// Valid for a year around now, for `localhost` and 127.0.0.1.
    pub fn valid(cn: &str) -> CertSpec {
        let now = OffsetDateTime::now_utc();
        CertSpec {
            common_name: cn.into(),
            dns_names: vec![cn.into()],
            ips: vec![
                "127.0.0.1"
                    .parse()
                    .unwrap_or(std::net::IpAddr::from([127, 0, 0, 1])),
            ],
            not_before: now - time::Duration::days(30),
            not_after: now + time::Duration::days(335),
            rsa_bits: 2048,
        }
    }

    pub fn expired(cn: &str) -> CertSpec {
        CertSpec {
            not_before: date(2020, 1, 1),
            not_after: date(2021, 1, 1),
            ..CertSpec::valid(cn)
        }
    }

    pub fn not_yet_valid(cn: &str) -> CertSpec {
        CertSpec {
            not_before: date(2099, 1, 1),
            not_after: date(2100, 1, 1),
            ..CertSpec::valid(cn)
        }
    }
}

fn date(y: i32, m: u8, d: u8) -> OffsetDateTime {
    let month = time::Month::try_from(m).unwrap_or(time::Month::January);
    time::Date::from_calendar_date(y, month, d)
        .map(|d| d.midnight().assume_utc())
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

fn rsa_key_pem(bits: u32) -> String {
    static KEY_2048: OnceLock<String> = OnceLock::new();
    let generate = |bits: u32| {
        let out = Command::new("openssl")
            .args([
                "genpkey",
                "-algorithm",
                "RSA",
                "-pkeyopt",
                &format!("rsa_keygen_bits:{bits}"),
            ])
            .output()
            .expect("openssl must be installed to generate test keys");
        assert!(
            out.status.success(),
            "openssl genpkey failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("PEM is ASCII")
    };
    if bits == 2048 {
        KEY_2048.get_or_init(|| generate(2048)).clone()
    } else {
        generate(bits)
    }
}

/// Write a self-signed certificate for `spec` into `dir` as `NAME.pem` / `NAME.key`.
pub fn write(dir: &Path, name: &str, spec: &CertSpec) -> CertFiles {
    if spec.rsa_bits < 2048 {
        return write_weak(dir, name, spec);
    }
    let key_pem = rsa_key_pem(spec.rsa_bits);
    let key = rcgen::KeyPair::from_pem(&key_pem).expect("openssl produced a usable RSA key");
    let mut params =
        rcgen::CertificateParams::new(spec.dns_names.clone()).expect("valid DNS names");
    for ip in &spec.ips {
        params
            .subject_alt_names
            .push(rcgen::SanType::IpAddress(*ip));
    }
    params.distinguished_name = rcgen::DistinguishedName::new();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, spec.common_name.clone());
    params.not_before = spec.not_before;
    params.not_after = spec.not_after;
    params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
    let cert = params
        .self_signed(&key)
        .expect("rcgen signs with the RSA key");
    let cert_pem = cert.pem();
    let files = CertFiles {
        cert: dir.join(format!("{name}.pem")),
        key: dir.join(format!("{name}.key")),
        cert_pem: cert_pem.clone(),
        key_pem: key_pem.clone(),
    };
    std::fs::write(&files.cert, &cert_pem).expect("write cert");
    std::fs::write(&files.key, &key_pem).expect("write key");
    files
}

/// Keys under 2048 bits: ring refuses to sign with them, so `openssl req -x509` makes the
/// certificate (SHA-1 signed, valid from now for the spec's remaining days).
fn write_weak(dir: &Path, name: &str, spec: &CertSpec) -> CertFiles {
    let cert = dir.join(format!("{name}.pem"));
    let key = dir.join(format!("{name}.key"));
    let days = (spec.not_after - OffsetDateTime::now_utc())
        .whole_days()
        .max(1)
        .to_string();
    let san: Vec<String> = spec
        .dns_names
        .iter()
        .map(|d| format!("DNS:{d}"))
        .chain(spec.ips.iter().map(|i| format!("IP:{i}")))
        .collect();
    let out = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            &format!("rsa:{}", spec.rsa_bits),
            "-nodes",
            "-sha1",
            "-days",
            &days,
        ])
        .args([
            "-subj",
            &format!("/CN={}", spec.common_name),
            "-addext",
            &format!("subjectAltName={}", san.join(",")),
        ])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("openssl must be installed to generate test certificates");
    assert!(
        out.status.success(),
        "openssl req failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    CertFiles {
        cert_pem: std::fs::read_to_string(&cert).expect("read cert"),
        key_pem: std::fs::read_to_string(&key).expect("read key"),
        cert,
        key,
    }
}
