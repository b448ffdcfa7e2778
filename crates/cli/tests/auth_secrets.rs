//! The password never appears in any output: text, JSON, Markdown, the saved evidence file,
//! stderr. Checked for every way an authenticated attempt can end (connected, rejected,
//! denied after logon, password sent in a Client Info PDU, withheld for CredSSP 4 or an
//! untrusted certificate, nothing listening), and in the encodings a leak could take (plain,
//! hex of UTF-8 and UTF-16LE as the protocol carries it, base64).

mod common;

use common::*;
use rdpdoctor_lab::{Lab, LabConfig, LabCredentials, Scenario};

const RIGHT: &str = "Canary-9f2b7c-Pw!";
const WRONG: &str = "Wrong-4e1d0a-Pw!";

/// Every form of `secret` that must not appear.
fn forms(secret: &str) -> Vec<String> {
    let utf16: Vec<u8> = secret.encode_utf16().flat_map(u16::to_le_bytes).collect();
    let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
    let mut v = vec![
        secret.to_string(),
        hex(secret.as_bytes()),
        hex(&utf16),
        base64(secret.as_bytes()),
        base64(&utf16),
    ];
    let upper: Vec<String> = v[1..3].iter().map(|h| h.to_uppercase()).collect();
    v.extend(upper);
    v
}

fn base64(bytes: &[u8]) -> String {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, b)| acc | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..=chunk.len() {
            out.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
        }
    }
    out
}

/// Run `check` in every output format (and with --save) and return every byte it produced.
fn all_outputs(target: &str, password: &str, extra: &[&str]) -> Vec<(String, String)> {
    let dir = tempfile::tempdir().unwrap();
    let mut out = Vec::new();
    for format in ["text", "json", "markdown"] {
        let saved = dir.path().join(format!("evidence-{format}.json"));
        let mut args = vec![
            "check",
            target,
            "--timeout",
            "3",
            "--format",
            format,
            "--save",
            saved.to_str().unwrap(),
            "--user",
            "RDPLAB\\labuser",
        ];
        args.extend_from_slice(extra);
        let run = rdpdoctor_env(&args, &[("RDPDOCTOR_PASSWORD", password)]);
        assert!(
            run.code == 0 || run.code == 1 || run.code == 2,
            "{}",
            run.stderr
        );
        out.push((format!("{format} stdout"), run.stdout));
        out.push((format!("{format} stderr"), run.stderr));
        out.push((
            format!("{format} --save"),
            std::fs::read_to_string(&saved).unwrap_or_default(),
        ));
        // The re-diagnosis of the saved file prints the evidence again.
        let again = rdpdoctor(&["diagnose", saved.to_str().unwrap(), "--format", "json"]);
        out.push((format!("{format} diagnose"), again.stdout + &again.stderr));
    }
    out
}

fn assert_clean(what: &str, outputs: &[(String, String)], secret: &str) {
    for (name, text) in outputs {
        for form in forms(secret) {
            assert!(
                !text.contains(&form),
                "{what}: the password (as {form}) appears in {name}:\n{text}"
            );
        }
    }
}

#[test]
fn no_output_format_ever_contains_the_password() {
    let scenarios: Vec<Scenario> = [
        "healthy",
        "deny-login",
        "licensing-error",
        "tls-only",
        "credssp-old",
        "cert-self-signed",
        "redirect",
    ]
    .iter()
    .map(|s| s.parse().unwrap())
    .collect();
    let config = LabConfig {
        credentials: LabCredentials {
            username: "labuser".into(),
            password: RIGHT.into(),
            domain: Some("RDPLAB".into()),
        },
        ..LabConfig::default()
    };
    let lab = Lab::start(&scenarios, config).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, lab.ca_certificate_pem()).unwrap();
    let ca = ca.to_str().unwrap();
    let mut outcomes = Vec::new();
    for e in lab.endpoints() {
        let target = e.addr.to_string();
        for password in [RIGHT, WRONG] {
            let outputs = all_outputs(&target, password, &["--ca-file", ca]);
            let json: serde_json::Value = serde_json::from_str(&outputs[3].1).unwrap();
            outcomes.push(format!(
                "{} {}",
                e.scenario,
                json["evidence"]["auth"]["outcome"].as_str().unwrap_or("?")
            ));
            assert_clean(
                &format!("{} with {password}", e.scenario),
                &outputs,
                password,
            );
        }
    }
    // The sweep covered every kind of ending, including a full logon that sent the password
    // in the Client Info PDU (tls-only) and one that sent it through CredSSP (healthy).
    for expected in [
        "healthy connected",
        "healthy rejected",
        "deny-login denied",
        "licensing-error denied",
        "tls-only connected",
        "credssp-old withheld",
        "cert-self-signed withheld",
        "redirect redirected",
    ] {
        assert!(
            outcomes.iter().any(|o| o == expected),
            "{expected} missing from {outcomes:?}"
        );
    }
}

#[test]
fn nothing_listening_or_a_usage_error_never_echoes_the_password() {
    let outputs = all_outputs("127.0.0.1:1", RIGHT, &[]);
    assert_clean("closed port", &outputs, RIGHT);
    let run = rdpdoctor_env(
        &["check", "127.0.0.1:1", "--user", "A\\b", "--domain", "C"],
        &[("RDPDOCTOR_PASSWORD", RIGHT)],
    );
    assert_eq!(run.code, 64);
    assert_clean(
        "usage error",
        &[("stderr".into(), run.stderr), ("stdout".into(), run.stdout)],
        RIGHT,
    );
}

#[test]
fn the_detector_recognises_each_encoding() {
    assert_eq!(base64(b"Man"), "TWFu");
    assert_eq!(base64(b"Ma"), "TWE");
    let f = forms("ab");
    assert!(f.contains(&"6162".to_string()));
    assert!(f.contains(&"61006200".to_string()));
    assert!(f.contains(&"YWI".to_string()));
}
