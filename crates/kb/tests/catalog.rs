//! The cause catalog is complete, consistent with CAUSES.md, and every cause carries a fix an
//! admin can run.

use rdpdoctor_kb::catalog::{PLACEHOLDERS, client_checklist};
use rdpdoctor_kb::{Category, Cause, Severity, Shell, cause, causes};
use std::collections::HashSet;

/// The 45 stable ids of CAUSES.md, in its order. They are a JSON contract: this list only
/// grows.
const IDS: [&str; 45] = [
    "dns-unresolved",
    "dns-mismatch",
    "host-unreachable",
    "port-closed",
    "port-filtered",
    "dropped-after-accept",
    "not-rdp",
    "network-loss",
    "mtu-blackhole",
    "udp-unavailable",
    "nla-required",
    "tls-required",
    "tls-not-allowed",
    "cert-not-on-server",
    "tls-handshake-broken",
    "tls-version-mismatch",
    "cipher-mismatch",
    "credssp-oracle",
    "standard-rdp-security-only",
    "weak-tls",
    "cert-expired",
    "cert-not-yet-valid",
    "cert-expiring-soon",
    "cert-name-mismatch",
    "cert-untrusted",
    "cert-weak",
    "cert-wrong-usage",
    "credentials-rejected",
    "account-locked",
    "account-restricted",
    "logon-right-missing",
    "server-denied-connection",
    "licensing",
    "server-error",
    "machinekeys-broken",
    "schannel-failures",
    "rdp-disabled",
    "connection-throttling",
    "brute-force",
    "policy-conflict",
    "client-nla-disabled",
    "gateway-unreachable",
    "client-stale-state",
    "client-security-suite",
    "name-vs-ip",
];

fn severity(s: &str) -> Severity {
    match s.trim() {
        "blocker" => Severity::Blocker,
        "risk" => Severity::Risk,
        "info" => Severity::Info,
        other => panic!("unknown severity '{other}' in CAUSES.md"),
    }
}

/// Rows of CAUSES.md: (section category, id, severities as listed).
fn parse_causes_md(text: &str) -> Vec<(Category, String, Vec<Severity>)> {
    let mut out = Vec::new();
    let mut category = None;
    for line in text.lines() {
        if let Some(h) = line.strip_prefix("## ") {
            category = Some(match h.trim() {
                "Reaching the server" => Category::Reachability,
                "Security negotiation and TLS" => Category::Negotiation,
                "Certificate" => Category::Certificate,
                h if h.starts_with("Authentication") => Category::Authentication,
                h if h.starts_with("Server evidence") => Category::ServerEvidence,
                h if h.starts_with("Client side") => Category::Client,
                other => panic!("unknown CAUSES.md section '{other}'"),
            });
            continue;
        }
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        if cells.len() < 4 || cells[1] == "id" || cells[1].starts_with("---") || cells[1].is_empty()
        {
            continue;
        }
        let severities = cells[2].split('/').map(severity).collect();
        out.push((
            category.expect("a table row before any section"),
            cells[1].to_string(),
            severities,
        ));
    }
    out
}

#[test]
fn catalog_has_every_id_of_causes_md_in_order() {
    let ids: Vec<&str> = causes().iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids, IDS);
    let unique: HashSet<&str> = ids.iter().copied().collect();
    assert_eq!(unique.len(), ids.len(), "duplicate cause ids");
    for id in IDS {
        assert!(cause(id).is_some(), "cause({id}) not found");
    }
}

#[test]
fn catalog_matches_the_shared_causes_md() {
    let Some(data) = rdpdoctor_testkit::shared_data() else {
        eprintln!("SKIP: shared data not found; CAUSES.md comparison not run");
        return;
    };
    let path = data.join("../CAUSES.md");
    let Ok(text) = std::fs::read_to_string(&path) else {
        eprintln!("SKIP: {} not readable", path.display());
        return;
    };
    let rows = parse_causes_md(&text);
    assert_eq!(rows.len(), 45, "CAUSES.md tables should list 45 causes");
    let md_ids: Vec<&str> = rows.iter().map(|r| r.1.as_str()).collect();
    assert_eq!(md_ids, IDS, "the hard-coded list drifted from CAUSES.md");
    for (category, id, severities) in &rows {
        let c = cause(id).unwrap_or_else(|| panic!("{id} of CAUSES.md is missing"));
        assert_eq!(
            c.category, *category,
            "{id}: category differs from CAUSES.md"
        );
        assert_eq!(
            c.severity, severities[0],
            "{id}: default severity must be the first CAUSES.md lists ({severities:?})"
        );
    }
}

fn all_fix_texts(c: &Cause) -> Vec<&str> {
    let mut v = vec![c.fix.summary.as_str()];
    for s in c.fix.steps.iter().chain(&c.fix.verify) {
        v.push(&s.text);
        v.extend(s.commands.iter().map(|c| c.text.as_str()));
    }
    if let Some(u) = &c.fix.undo {
        v.push(u);
    }
    v.extend(
        c.checks
            .iter()
            .flat_map(|k| [k.command.as_str(), k.note.as_str()]),
    );
    v
}

/// `{name}` tokens made of lower-case letters and underscores (PowerShell script blocks such as
/// `{ $_.Name }` do not count).
fn placeholders(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = s;
    while let Some(i) = rest.find('{') {
        rest = &rest[i + 1..];
        if let Some(j) = rest.find('}') {
            let name = &rest[..j];
            if !name.is_empty() && name.chars().all(|c| c.is_ascii_lowercase() || c == '_') {
                out.push(name.to_string());
            }
        }
    }
    out
}

#[test]
fn every_cause_is_complete() {
    for c in causes() {
        let id = &c.id;
        assert!(!c.title.trim().is_empty(), "{id}: title");
        assert!(c.explanation.len() > 80, "{id}: explanation too short");
        assert!(!c.breaks.trim().is_empty(), "{id}: breaks");
        assert!(!c.signals.trim().is_empty(), "{id}: signals");
        assert!(!c.environments.is_empty(), "{id}: environments");
        assert!(!c.detection.is_empty(), "{id}: detection");
        assert!((1..=5).contains(&c.effectiveness), "{id}: effectiveness");
        assert!((1..=5).contains(&c.difficulty), "{id}: difficulty");
        assert!(!c.fix.summary.trim().is_empty(), "{id}: fix summary");
        assert!(!c.fix.steps.is_empty(), "{id}: no fix steps");
        assert!(
            c.fix.steps.iter().any(|s| !s.commands.is_empty()),
            "{id}: no fix step has a command"
        );
        assert!(!c.fix.verify.is_empty(), "{id}: no verify step");
        assert!(
            c.fix.verify.iter().any(|s| !s.commands.is_empty()),
            "{id}: verify has no command"
        );
        for s in c.fix.steps.iter().chain(&c.fix.verify) {
            assert!(!s.text.trim().is_empty(), "{id}: empty step text");
            for cmd in &s.commands {
                assert!(!cmd.text.trim().is_empty(), "{id}: empty command");
                assert_eq!(cmd.text.trim(), cmd.text, "{id}: command with stray spaces");
            }
        }
        assert!(!c.references.is_empty(), "{id}: no references");
        for r in &c.references {
            assert!(
                r.starts_with("https://learn.microsoft.com/")
                    || r.starts_with("https://support.microsoft.com/"),
                "{id}: reference {r} is not a Microsoft Learn / Support URL"
            );
        }
        assert!(!c.checks.is_empty(), "{id}: no rdpdoctor check");
        for k in &c.checks {
            assert!(
                k.command.starts_with("rdpdoctor "),
                "{id}: check '{}'",
                k.command
            );
            assert!(!k.note.is_empty(), "{id}: check without note");
        }
    }
}

#[test]
fn placeholders_are_known_and_only_in_fillable_text() {
    let known: HashSet<&str> = PLACEHOLDERS.iter().copied().collect();
    for c in causes() {
        for t in all_fix_texts(c) {
            for p in placeholders(t) {
                assert!(
                    known.contains(p.as_str()),
                    "{}: unknown placeholder {{{p}}} in {t}",
                    c.id
                );
            }
        }
        // The diagnosis fills the fix only; the catalog's prose is shown as it is.
        for t in [&c.title, &c.explanation, &c.breaks, &c.signals] {
            assert!(
                placeholders(t).is_empty(),
                "{}: placeholder in non-fix text: {t}",
                c.id
            );
        }
    }
}

#[test]
fn downgrades_are_labelled_as_tests_and_have_an_undo() {
    let downgrade = |t: &str| {
        (t.contains("AllowEncryptionOracle") && t.contains("/d 2"))
            || (t.contains("UserAuthentication") && (t.contains("-Value 0") || t.contains("/d 0")))
            || (t.contains("SecurityLayer") && (t.contains("-Value 0") || t.contains("/d 0")))
    };
    let mut seen = 0;
    for c in causes() {
        let cmds: Vec<&str> = c
            .fix
            .steps
            .iter()
            .flat_map(|s| s.commands.iter().map(|c| c.text.as_str()))
            .collect();
        if cmds.iter().any(|t| downgrade(t)) {
            seen += 1;
            assert!(c.fix.undo.is_some(), "{}: a downgrade without undo", c.id);
            assert!(
                c.fix.summary.contains("never the fix"),
                "{}: the summary must say the downgrade is not the fix",
                c.id
            );
        }
    }
    assert!(
        seen >= 2,
        "expected the NLA and CredSSP test steps to be covered"
    );
}

#[test]
fn azure_commands_only_where_azure_applies() {
    for c in causes() {
        let azure = c
            .fix
            .steps
            .iter()
            .flat_map(|s| &s.commands)
            .any(|cmd| cmd.shell == Shell::AzureCli || cmd.shell == Shell::AzurePowershell);
        if azure {
            assert!(
                c.environments.contains(&rdpdoctor_kb::Environment::AzureVm),
                "{}: Azure commands but not an azure-vm cause",
                c.id
            );
        }
    }
}

#[test]
fn commands_quote_their_registry_paths() {
    // A registry path with spaces must be quoted, or the command fails when pasted.
    for c in causes() {
        for s in c.fix.steps.iter().chain(&c.fix.verify) {
            for cmd in &s.commands {
                let t = &cmd.text;
                if cmd.shell == Shell::Cmd
                    && (t.starts_with("reg add") || t.starts_with("reg query"))
                {
                    let path = t.split_whitespace().nth(2).unwrap_or("");
                    assert!(
                        path.starts_with('"') || !t.contains("Terminal Server"),
                        "{}: {t}",
                        c.id
                    );
                }
            }
        }
    }
}

#[test]
fn the_data_file_has_no_unknown_keys() {
    // The public types accept unknown keys (forward compatibility of saved JSON), so typos in
    // the data file are caught here instead.
    let text = include_str!("../data/causes.toml");
    let v: toml::Value = toml::from_str(text).expect("causes.toml parses");
    let allowed = |t: &toml::Table, keys: &[&str], what: &str| {
        for k in t.keys() {
            assert!(keys.contains(&k.as_str()), "unknown key '{k}' in {what}");
        }
    };
    for c in v["cause"].as_array().expect("[[cause]]") {
        let t = c.as_table().expect("table");
        let id = t["id"].as_str().unwrap_or("?");
        allowed(
            t,
            &[
                "id",
                "title",
                "category",
                "severity",
                "explanation",
                "breaks",
                "environments",
                "detection",
                "effectiveness",
                "difficulty",
                "fix",
                "references",
                "signals",
                "checks",
            ],
            id,
        );
        let fix = t["fix"].as_table().expect("fix");
        allowed(fix, &["summary", "steps", "verify", "undo"], id);
        for key in ["steps", "verify"] {
            for s in fix
                .get(key)
                .and_then(|s| s.as_array())
                .into_iter()
                .flatten()
            {
                let s = s.as_table().expect("step");
                allowed(s, &["text", "commands"], id);
                for cmd in s
                    .get("commands")
                    .and_then(|c| c.as_array())
                    .into_iter()
                    .flatten()
                {
                    allowed(cmd.as_table().expect("command"), &["shell", "text"], id);
                }
            }
        }
        for k in t
            .get("checks")
            .and_then(|c| c.as_array())
            .into_iter()
            .flatten()
        {
            allowed(k.as_table().expect("check"), &["command", "note"], id);
        }
    }
}

#[test]
fn client_checklist_is_ordered_and_refers_to_real_causes() {
    let list = client_checklist();
    assert!(list.len() >= 6);
    assert_eq!(
        list[0].cause.as_deref(),
        Some("name-vs-ip"),
        "triage starts with name vs IP"
    );
    assert_eq!(list[1].cause.as_deref(), Some("client-stale-state"));
    for item in list {
        if let Some(id) = &item.cause {
            let c = cause(id).unwrap_or_else(|| panic!("checklist names unknown cause {id}"));
            assert!(
                matches!(
                    c.category,
                    Category::Client | Category::Reachability | Category::Negotiation
                ),
                "{id}"
            );
        }
        assert!(!item.to_line().is_empty());
    }
}

#[test]
fn causes_serialize_with_stable_json_names() {
    let c = cause("cert-expired").expect("cert-expired");
    let v = serde_json::to_value(c).expect("serialize");
    assert_eq!(v["id"], "cert-expired");
    assert_eq!(v["category"], "certificate");
    assert_eq!(v["severity"], "blocker");
    assert_eq!(v["fix"]["steps"][0]["commands"][0]["shell"], "powershell");
    let se = cause("machinekeys-broken").expect("machinekeys-broken");
    assert_eq!(
        serde_json::to_value(se).expect("json")["category"],
        "server-evidence"
    );
}

#[test]
fn key_fixes_carry_the_commands_admins_need() {
    let text = |id: &str| {
        let c = cause(id).expect(id);
        all_fix_texts(c).join("\n")
    };
    let expired = text("cert-expired");
    for needle in [
        "certlm.msc > Remote Desktop > Certificates",
        "Restart-Service TermService -Force",
        "SSLCertificateSHA1Hash",
        "Get-ChildItem 'Cert:\\LocalMachine\\Remote Desktop'",
    ] {
        assert!(expired.contains(needle), "cert-expired lacks {needle}");
    }
    let mk = text("machinekeys-broken");
    for needle in [
        "f686aace6942fb7f7ceb231212eef4a4",
        "CertPropSvc",
        "KeyIso",
        "CryptSvc",
        "SessionEnv",
        "az vm run-command invoke",
    ] {
        assert!(mk.contains(needle), "machinekeys-broken lacks {needle}");
    }
    let tls = text("tls-version-mismatch");
    for needle in [
        "TLS 1.2\\Server",
        "DisabledByDefault",
        "New-ItemProperty",
        "reg add",
    ] {
        assert!(tls.contains(needle), "tls-version-mismatch lacks {needle}");
    }
    let oracle = text("credssp-oracle");
    assert!(
        oracle.contains("AllowEncryptionOracle")
            && oracle.contains("Encryption Oracle Remediation")
    );
    let filtered = text("port-filtered");
    assert!(filtered.contains("Enable-NetFirewallRule -DisplayGroup \"Remote Desktop\""));
    assert!(filtered.contains("az network nsg rule create"));
    let verify = text("port-closed");
    assert!(verify.contains("Test-NetConnection -ComputerName {host} -Port {port}"));
    assert!(verify.contains("rdpdoctor check {host}:{port}"));
}

#[test]
fn catalog_prose_is_our_own() {
    let Some(data) = rdpdoctor_testkit::shared_data() else {
        eprintln!("SKIP: shared data not found; REFERENCE.md wording check not run");
        return;
    };
    let Ok(reference) = std::fs::read_to_string(data.join("../REFERENCE.md")) else {
        eprintln!("SKIP: REFERENCE.md not readable");
        return;
    };
    // Sentences of the reference tables (symbols have no spaces and may be reused).
    let sentences: Vec<String> = reference
        .lines()
        .filter(|l| l.starts_with('|'))
        .flat_map(|l| l.split('|'))
        .map(|c| c.trim().trim_end_matches('.').to_lowercase())
        .filter(|c| c.len() >= 40 && c.split_whitespace().count() >= 6)
        .collect();
    for c in causes() {
        let mut texts = vec![
            &c.title,
            &c.explanation,
            &c.breaks,
            &c.signals,
            &c.fix.summary,
        ];
        texts.extend(c.fix.steps.iter().map(|s| &s.text));
        for t in texts {
            let t = t.to_lowercase();
            for s in &sentences {
                assert!(
                    !t.contains(s.as_str()),
                    "{}: copies reference text '{s}'",
                    c.id
                );
            }
        }
    }
}
