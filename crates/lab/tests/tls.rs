//! TLS on every scenario that reaches it: a plain rustls client checks the certificate each one
//! serves (dates, names, issuer), and sslscan sees the same through its own RDP STARTTLS.

mod common;

use std::io::Write as _;
use std::process::Command;
use std::time::Duration;

use common::tools;
use rdpdoctor_lab::{CertProfile, Scenario, WRONG_NAME};
use rustls::CertificateError;
use x509_parser::prelude::{FromDer as _, GeneralName, X509Certificate};

const LAB_CA: &str = "rdpdoctor lab CA";

/// X.224 with SSL|HYBRID, then a rustls handshake that accepts anything; the leaf certificate.
fn leaf(addr: std::net::SocketAddr) -> Vec<u8> {
    let (reply, stream) = common::x224(addr, 3);
    assert_eq!(reply.len(), 19);
    let (config, capture) = common::capturing_config();
    common::tls_handshake(stream, config, "localhost").expect("handshake");
    capture.0.lock().unwrap()[0].to_vec()
}

fn validate(
    lab: &rdpdoctor_lab::Lab,
    scenario: &Scenario,
    name: &str,
) -> Result<(), rustls::Error> {
    let (_, stream) = common::x224(common::addr(lab, scenario), 3);
    let config = common::validating_config(&[lab.ca_certificate_der()]);
    common::tls_handshake(stream, config, name).map(|_| ())
}

fn names(cert: &X509Certificate<'_>) -> Vec<String> {
    cert.subject_alternative_name()
        .unwrap()
        .map(|ext| {
            ext.value
                .general_names
                .iter()
                .map(|n| match n {
                    GeneralName::DNSName(d) => d.to_string(),
                    GeneralName::IPAddress(ip) => format!("{ip:?}"),
                    other => format!("{other:?}"),
                })
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn each_certificate_scenario_serves_the_certificate_it_promises() {
    let scenarios = [
        Scenario::Healthy,
        Scenario::CertExpired,
        Scenario::CertNotYetValid,
        Scenario::CertWrongName,
        Scenario::CertSelfSigned,
        Scenario::CertExpiringSoon,
    ];
    let lab = common::lab(&scenarios);
    let now = x509_parser::time::ASN1Time::now().timestamp();
    let day = 86_400;
    for scenario in &scenarios {
        let der = leaf(common::addr(&lab, scenario));
        let (_, cert) = X509Certificate::from_der(&der).unwrap();
        let (not_before, not_after) = (
            cert.validity().not_before.timestamp(),
            cert.validity().not_after.timestamp(),
        );
        let subject = cert.subject().to_string();
        let issuer = cert.issuer().to_string();
        eprintln!(
            "{scenario}: subject={subject} issuer={issuer} {not_before}..{not_after} {:?}",
            names(&cert)
        );
        match scenario {
            Scenario::CertExpired => {
                assert_eq!(
                    cert.validity().not_before.to_string(),
                    "Jan  1 00:00:00 2020 +00:00"
                );
                assert_eq!(
                    cert.validity().not_after.to_string(),
                    "Jan  1 00:00:00 2021 +00:00"
                );
            }
            Scenario::CertNotYetValid => {
                assert_eq!(
                    cert.validity().not_before.to_string(),
                    "Jan  1 00:00:00 2099 +00:00"
                );
            }
            Scenario::CertExpiringSoon => {
                assert!(
                    (not_after - now - 10 * day).abs() < day,
                    "expires in ~10 days"
                );
            }
            _ => assert!(not_before < now && now + 170 * day < not_after),
        }
        match scenario {
            Scenario::CertWrongName => {
                assert_eq!(subject, format!("CN={WRONG_NAME}"));
                assert_eq!(names(&cert), vec![WRONG_NAME.to_owned()]);
            }
            _ => {
                assert_eq!(subject, "CN=labsrv01.rdplab.test");
                let sans = names(&cert);
                assert!(
                    sans.contains(&"localhost".to_owned())
                        && sans.iter().any(|n| n.contains("127"))
                );
            }
        }
        if *scenario == Scenario::CertSelfSigned {
            assert_eq!(issuer, subject);
        } else {
            assert!(issuer.contains(LAB_CA), "{issuer}");
        }
    }
    assert_eq!(CertProfile::Expired.validity(time_now()).1.year(), 2021);
}

fn time_now() -> time::OffsetDateTime {
    time::OffsetDateTime::now_utc()
}

#[test]
fn a_client_trusting_the_lab_ca_sees_exactly_one_fault_per_scenario() {
    let scenarios = [
        Scenario::Healthy,
        Scenario::CertExpired,
        Scenario::CertNotYetValid,
        Scenario::CertWrongName,
        Scenario::CertSelfSigned,
    ];
    let lab = common::lab(&scenarios);
    validate(&lab, &Scenario::Healthy, "localhost").expect("healthy validates by name");
    validate(&lab, &Scenario::Healthy, "127.0.0.1").expect("healthy validates by address");
    validate(&lab, &Scenario::Healthy, "labsrv01.rdplab.test").expect("healthy validates by FQDN");
    let err = |s: &Scenario| match validate(&lab, s, "localhost") {
        Err(rustls::Error::InvalidCertificate(e)) => e,
        other => panic!("{s}: {other:?}"),
    };
    assert!(matches!(
        err(&Scenario::CertExpired),
        CertificateError::Expired | CertificateError::ExpiredContext { .. }
    ));
    assert!(matches!(
        err(&Scenario::CertNotYetValid),
        CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. }
    ));
    assert!(matches!(
        err(&Scenario::CertWrongName),
        CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. }
    ));
    assert!(matches!(
        err(&Scenario::CertSelfSigned),
        CertificateError::UnknownIssuer
    ));
}

#[test]
fn tls_1_2_and_1_3_are_both_offered() {
    let lab = common::lab(&[Scenario::Healthy]);
    for version in [&rustls::version::TLS12, &rustls::version::TLS13] {
        let (_, stream) = common::x224(common::addr(&lab, &Scenario::Healthy), 0xb);
        let config = rustls::ClientConfig::builder_with_provider(common::provider())
            .with_protocol_versions(&[version])
            .unwrap()
            .dangerous()
            .with_custom_certificate_verifier(std::sync::Arc::new(common::Capture::default()))
            .with_no_client_auth();
        let tls = common::tls_handshake(stream, std::sync::Arc::new(config), "localhost").unwrap();
        assert_eq!(tls.conn.protocol_version(), Some(version.version));
    }
}

/// A real ClientHello, as bytes.
fn client_hello() -> Vec<u8> {
    let (config, _) = common::capturing_config();
    let mut conn = rustls::ClientConnection::new(
        config,
        rustls::pki_types::ServerName::try_from("localhost").unwrap(),
    )
    .unwrap();
    let mut out = Vec::new();
    conn.write_tls(&mut out).unwrap();
    out
}

#[test]
fn tls_reset_resets_right_after_the_client_hello() {
    let lab = common::lab(&[Scenario::TlsReset]);
    let (reply, mut s) = common::x224(common::addr(&lab, &Scenario::TlsReset), 0xb);
    assert_eq!(
        common::hex(&reply),
        "030000130ed00000123400021f080008000000"
    );
    s.write_all(&client_hello()).unwrap();
    let (rest, end) = common::read_to_end(&mut s);
    assert!(rest.is_empty());
    assert_eq!(end.unwrap_err().kind(), std::io::ErrorKind::ConnectionReset);
}

#[test]
fn tls_disconnect_answers_the_client_hello_with_a_plaintext_mcs_disconnect() {
    let lab = common::lab(&[Scenario::TlsDisconnect]);
    let (_, mut s) = common::x224(common::addr(&lab, &Scenario::TlsDisconnect), 3);
    s.write_all(&client_hello()).unwrap();
    let (rest, end) = common::read_to_end(&mut s);
    // What xrdp sends when it cannot use its key (LAB.md §1), then a reset.
    assert_eq!(common::hex(&rest), "0300000902f0802180");
    assert_eq!(end.unwrap_err().kind(), std::io::ErrorKind::ConnectionReset);
    // A TLS client sees a record that is not TLS.
    let (_, stream) = common::x224(common::addr(&lab, &Scenario::TlsDisconnect), 3);
    let (config, _) = common::capturing_config();
    let err = common::tls_handshake(stream, config, "localhost").unwrap_err();
    eprintln!("rustls: {err}");
}

fn sslscan(addr: std::net::SocketAddr, quick: bool) -> Option<String> {
    let sslscan = tools::tool("sslscan")?;
    let mut cmd = Command::new(sslscan);
    cmd.args(["--no-colour", "--rdp"]);
    if quick {
        cmd.args([
            "--no-ciphersuites",
            "--no-groups",
            "--no-fallback",
            "--no-renegotiation",
            "--no-compression",
            "--no-heartbleed",
        ]);
    }
    cmd.arg(addr.to_string());
    let out = tools::run(&mut cmd, Duration::from_secs(120));
    let text = tools::text(&out);
    eprintln!("sslscan {addr}:\n{text}");
    assert!(out.status.success(), "sslscan failed: {:?}", out.status);
    Some(text)
}

#[test]
fn sslscan_sees_the_certificate_dates_and_names() {
    let scenarios = [
        Scenario::Healthy,
        Scenario::CertExpired,
        Scenario::CertNotYetValid,
        Scenario::CertWrongName,
    ];
    let lab = common::lab(&scenarios);
    let Some(full) = sslscan(common::addr(&lab, &Scenario::Healthy), false) else {
        return;
    };
    assert!(full.contains("TLSv1.2   enabled") && full.contains("TLSv1.3   enabled"));
    assert!(full.contains("TLSv1.0   disabled"));
    assert!(full.contains("Subject:  labsrv01.rdplab.test"));
    assert!(full.contains("Issuer:   rdpdoctor lab CA"));
    assert!(full.contains("IP Address:127.0.0.1"));

    let expired = sslscan(common::addr(&lab, &Scenario::CertExpired), true).unwrap();
    assert!(expired.contains("Not valid before: Jan  1 00:00:00 2020 GMT"));
    assert!(expired.contains("Not valid after:  Jan  1 00:00:00 2021 GMT"));
    let future = sslscan(common::addr(&lab, &Scenario::CertNotYetValid), true).unwrap();
    assert!(future.contains("Not valid before: Jan  1 00:00:00 2099 GMT"));
    let wrong = sslscan(common::addr(&lab, &Scenario::CertWrongName), true).unwrap();
    assert!(wrong.contains(&format!("Subject:  {WRONG_NAME}")));
    assert!(wrong.contains(&format!("Altnames: DNS:{WRONG_NAME}")));
}

#[test]
fn sslscan_finds_no_tls_where_negotiation_refuses_it() {
    let lab = common::lab(&[Scenario::RdpOnly, Scenario::CertNotOnServer]);
    for scenario in [Scenario::RdpOnly, Scenario::CertNotOnServer] {
        let Some(text) = sslscan(common::addr(&lab, &scenario), true) else {
            return;
        };
        assert!(
            text.contains("TLSv1.2   disabled") && text.contains("TLSv1.3   disabled"),
            "{scenario}"
        );
        assert!(
            text.contains("Certificate information cannot be retrieved."),
            "{scenario}"
        );
    }
}
