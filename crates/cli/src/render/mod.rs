//! Renderers: the same Report as text (answer first), JSON and Markdown. A renderer never
//! decides anything; it only shows what the diagnosis said.

pub mod csv;
pub mod fleet;
pub mod html;
mod markdown;
pub mod style;
mod text;

pub use markdown::markdown;
pub use text::text;

use std::io::Write;
use std::path::Path;

use crate::args::Format;
use rdpdoctor_core::evidence::Report;

/// The JSON document (`--format json`, `--save`, one line of `scan --out` in compact form).
pub fn json(report: &Report) -> String {
    serde_json::to_string_pretty(report).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
}

/// Print to stdout; colour only when stdout is a terminal that wants it (anstream strips the
/// escape codes otherwise and handles the Windows console).
pub fn print(report: &Report, format: Format) {
    let out = match format {
        Format::Text => text(report, style::Style::ansi()),
        Format::Json => json(report) + "\n",
        Format::Markdown => markdown(report),
    };
    write_stdout(&out);
}

/// Write text to stdout through anstream (colour stripped when stdout is not a terminal).
pub fn write_stdout(text: &str) {
    let mut stdout = anstream::stdout();
    let _ = stdout.write_all(text.as_bytes());
    let _ = stdout.flush();
}

/// Write the evidence document to a file.
pub fn save(report: &Report, path: &Path) -> std::io::Result<()> {
    std::fs::write(path, json(report) + "\n")
}

#[cfg(test)]
mod snapshots {
    //! The reports an admin reads, pinned for three scenarios built from hand-made evidence
    //! (so they do not depend on a live server or the clock).
    use super::*;
    use chrono::{DateTime, TimeZone, Utc};
    use rdpdoctor_core::Target;
    use rdpdoctor_core::diagnose::{DiagnoseOptions, diagnose};
    use rdpdoctor_core::evidence::*;
    use std::time::Duration;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 20, 12, 0, 0).unwrap()
    }

    fn report(target: &str, ev: Evidence) -> Report {
        let target = Target::parse(target).unwrap();
        let mut r = Report::new(target, ev, 42.0);
        let d = diagnose(&r.target, &r.evidence, &DiagnoseOptions::at(now()));
        r.set_diagnosis(d, now());
        r
    }

    fn reached(addr: &str) -> Evidence {
        let mut ev = Evidence::new(now());
        ev.dns = Stage::ok(
            Duration::from_millis(3),
            DnsResolution {
                name: "server01.contoso.com".into(),
                addresses: vec![addr.parse().unwrap()],
                ..Default::default()
            },
        );
        let sock = format!("{addr}:3389").parse().unwrap();
        ev.tcp = Stage::ok(
            Duration::from_millis(1),
            TcpConnect {
                address: Some(sock),
                connect_ms: Some(1.2),
                attempts: vec![ConnectAttempt {
                    address: sock,
                    error: None,
                    elapsed_ms: 1.2,
                    message: None,
                }],
            },
        );
        ev
    }

    fn certificate(
        not_before: DateTime<Utc>,
        not_after: DateTime<Utc>,
        trusted: bool,
    ) -> ServerCertificate {
        ServerCertificate {
            subject: "CN=server01.contoso.com".into(),
            common_name: Some("server01.contoso.com".into()),
            issuer: if trusted { "CN=Contoso Issuing CA".into() } else { "CN=server01.contoso.com".into() },
            serial: "1A2B".into(),
            not_before,
            not_after,
            days_left: (not_after - now()).num_days(),
            self_signed: !trusted,
            key_type: "RSA".into(),
            key_bits: Some(2048),
            signature_algorithm: "sha256WithRSAEncryption".into(),
            signature_hash: Some("SHA-256".into()),
            san_dns: vec![],
            san_ip: vec![],
            eku: vec!["serverAuth".into()],
            is_ca: false,
            sha1: "3F2A9C0D11E4B7A6C5D8E9F00112233445566778".into(),
            sha256: "ab".repeat(32),
            name_match: Some(NameMatch { checked: "server01.contoso.com".into(), matches: true, matched_by: Some("CN=server01.contoso.com".into()) }),
            trust: Some(TrustCheck {
                store: "os".into(),
                trusted,
                error: (!trusted).then(|| "issued by an authority the trust store does not know (self-signed or private CA)".into()),
            }),
            chain: vec![],
            der_base64: String::new(),
        }
    }

    fn negotiation(
        supported: &[Protocol],
        failures: &[(&str, &str)],
        selected: Protocol,
    ) -> Negotiation {
        Negotiation {
            supported: supported.to_vec(),
            failures: failures
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            selected: Some(selected),
            connections: 2,
            ..Default::default()
        }
    }

    fn expired_certificate() -> Report {
        let mut ev = reached("10.0.0.5");
        ev.negotiation = Stage::ok(
            Duration::from_millis(2),
            negotiation(
                &[Protocol::Ssl],
                &[("rdp", "SSL_REQUIRED_BY_SERVER")],
                Protocol::Ssl,
            ),
        );
        ev.tls = Stage::ok(
            Duration::from_millis(4),
            TlsHandshake {
                version: Some("TLSv1.2".into()),
                cipher_suite: Some("TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384".into()),
                client: Some(TlsClient::Modern),
                modern_handshake_ok: true,
                chain_length: 1,
                ..Default::default()
            },
        );
        ev.certificate = Some(certificate(
            Utc.with_ymd_and_hms(2020, 1, 1, 0, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(2021, 1, 1, 0, 0, 0).unwrap(),
            false,
        ));
        ev.credssp = Stage::skipped("the server selected TLS without NLA (PROTOCOL_SSL)");
        report("server01.contoso.com", ev)
    }

    fn port_closed() -> Report {
        let mut ev = reached("10.0.0.5");
        let sock = "10.0.0.5:3389".parse().unwrap();
        let attempt = ConnectAttempt {
            address: sock,
            error: Some(ErrorKind::Refused),
            elapsed_ms: 0.8,
            message: Some("connection refused (TCP reset): nothing listens on that port".into()),
        };
        let err = StageError::new(
            StageName::Tcp,
            ErrorKind::Refused,
            Duration::from_micros(800),
            "10.0.0.5:3389: connection refused (TCP reset): nothing listens on that port",
        );
        ev.tcp = Stage::failed_with(
            err,
            TcpConnect {
                address: None,
                connect_ms: None,
                attempts: vec![attempt],
            },
        );
        ev.negotiation = Stage::skipped("no TCP connection");
        ev.tls = Stage::skipped("no TCP connection");
        ev.credssp = Stage::skipped("no TCP connection");
        report("server01.contoso.com", ev)
    }

    fn healthy_nla_server() -> Report {
        let mut ev = reached("10.0.0.7");
        ev.negotiation = Stage::ok(
            Duration::from_millis(2),
            negotiation(
                &[Protocol::Ssl, Protocol::Hybrid, Protocol::HybridEx],
                &[("rdp", "HYBRID_REQUIRED_BY_SERVER")],
                Protocol::HybridEx,
            ),
        );
        ev.tls = Stage::ok(
            Duration::from_millis(4),
            TlsHandshake {
                version: Some("TLSv1.3".into()),
                cipher_suite: Some("TLS_AES_256_GCM_SHA384".into()),
                client: Some(TlsClient::Modern),
                modern_handshake_ok: true,
                chain_length: 2,
                ..Default::default()
            },
        );
        ev.certificate = Some(certificate(
            now() - chrono::Duration::days(60),
            now() + chrono::Duration::days(305),
            true,
        ));
        ev.credssp = Stage::ok(
            Duration::from_millis(3),
            CredsspProbe {
                version: Some(6),
                offered_version: 6,
                ntlm: Some(NtlmChallengeInfo {
                    netbios_computer_name: Some("SERVER01".into()),
                    dns_computer_name: Some("server01.contoso.com".into()),
                    os_version: Some("10.0.20348".into()),
                    os_name: Some("Windows Server 2022".into()),
                    ..Default::default()
                }),
                ..Default::default()
            },
        );
        report("server01.contoso.com", ev)
    }

    #[test]
    fn text_reports() {
        insta::assert_snapshot!(
            "text_expired_certificate",
            text(&expired_certificate(), style::Style::plain())
        );
        insta::assert_snapshot!(
            "text_port_closed",
            text(&port_closed(), style::Style::plain())
        );
        insta::assert_snapshot!(
            "text_healthy_nla_server",
            text(&healthy_nla_server(), style::Style::plain())
        );
    }

    #[test]
    fn markdown_reports() {
        insta::assert_snapshot!(
            "markdown_expired_certificate",
            markdown(&expired_certificate())
        );
        insta::assert_snapshot!("markdown_port_closed", markdown(&port_closed()));
        insta::assert_snapshot!(
            "markdown_healthy_nla_server",
            markdown(&healthy_nla_server())
        );
    }

    #[test]
    fn json_keeps_the_contract_paths() {
        let v: serde_json::Value = serde_json::from_str(&json(&port_closed())).unwrap();
        assert_eq!(v["schema_version"], 1);
        assert_eq!(v["target"]["host"], "server01.contoso.com");
        assert_eq!(v["target"]["port"], 3389);
        assert_eq!(v["evidence"]["tcp"]["status"], "failed");
        assert_eq!(v["evidence"]["tcp"]["error"]["kind"], "refused");
        assert_eq!(v["findings"][0]["cause"], "port-closed");
        assert_eq!(v["findings"][0]["severity"], "blocker");
        assert_eq!(v["findings"][0]["confidence"], "high");
        assert!(
            v["findings"][0]["fix"]["steps"]
                .as_array()
                .is_some_and(|s| !s.is_empty())
        );
        let v: serde_json::Value = serde_json::from_str(&json(&expired_certificate())).unwrap();
        assert_eq!(
            v["evidence"]["certificate"]["not_after"],
            "2021-01-01T00:00:00Z"
        );
        assert_eq!(v["evidence"]["certificate"]["self_signed"], true);
        assert_eq!(v["evidence"]["tls"]["version"], "TLSv1.2");
        assert_eq!(v["evidence"]["negotiation"]["supported"][0], "ssl");
        let v: serde_json::Value = serde_json::from_str(&json(&healthy_nla_server())).unwrap();
        assert_eq!(v["evidence"]["credssp"]["version"], 6);
        assert_eq!(
            v["evidence"]["credssp"]["ntlm"]["dns_computer_name"],
            "server01.contoso.com"
        );
        assert_eq!(v["verdict"], "healthy");
    }
}
