//! Rules on client-side evidence (`evidence.client`): the .rdp file the user connects with.

use super::{Detection, Rule, RuleContext};
use crate::diagnose::Confidence;
use crate::evidence::{RdpFile, host_names_match};

pub static RULES: &[Rule] = &[Rule {
    cause: "client-nla-disabled",
    evaluate: client_nla_disabled,
}];

/// The .rdp files about the server being checked: those whose address names it, or the only
/// file when there is one.
pub(crate) fn files_for_target<'a>(ctx: &RuleContext<'a>) -> Vec<&'a RdpFile> {
    let Some(client) = ctx.evidence.client.as_ref() else {
        return Vec::new();
    };
    let names: Vec<&str> = [
        Some(ctx.target.host.as_str()),
        ctx.target.expected_name.as_deref(),
    ]
    .into_iter()
    .flatten()
    .collect();
    let matching: Vec<&RdpFile> = client
        .rdp_files
        .iter()
        .filter(|f| {
            f.target().is_ok_and(|t| {
                names.iter().any(|n| {
                    host_names_match(&t.host, n)
                        || t.expected_name
                            .as_deref()
                            .is_some_and(|e| host_names_match(e, n))
                })
            })
        })
        .collect();
    if matching.is_empty() && client.rdp_files.len() == 1 {
        return client.rdp_files.iter().collect();
    }
    matching
}

/// `enablecredsspsupport:i:0` in the connection file while the server requires NLA (live
/// HYBRID_REQUIRED_BY_SERVER, or UserAuthentication = 1 in its registry).
fn client_nla_disabled(ctx: &RuleContext<'_>) -> Option<Detection> {
    let files: Vec<&RdpFile> = files_for_target(ctx)
        .into_iter()
        .filter(|f| !f.offers_credssp())
        .collect();
    let file = files.first()?;
    let live = ctx
        .evidence
        .negotiation
        .observed()
        .is_some_and(|n| n.nla_required());
    let registry = ctx.evidence.host.as_ref().and_then(|h| {
        h.registry_setting("UserAuthentication")
            .filter(|s| s.effective.as_dword() == Some(1))
    });
    if !live && registry.is_none() {
        return None;
    }
    let mut d = Detection::new(
        if live {
            Confidence::High
        } else {
            Confidence::Medium
        },
        "The connection file turns CredSSP (NLA) off, but the server requires Network Level Authentication.",
    )
    .evidence(format!(
        "{}: enablecredsspsupport:i:0 (the client never offers CredSSP)",
        file.file
    ))
    .param("rdp_file", file.file.clone());
    if live {
        d = d.evidence("the server answered the negotiation with HYBRID_REQUIRED_BY_SERVER");
    }
    if let Some(s) = registry {
        d = d.evidence(format!("{}: NLA required", s.describe()));
    }
    Some(d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnose::rules::testing::*;
    use crate::evidence::{
        ClientEvidence, HostEvidence, Negotiation, RegValue, RegistryEvidence, RegistrySetting,
        SettingOrigin, SourcedValue, Stage,
    };
    use crate::offline::parse_rdp;
    use std::time::Duration;

    fn rule(cause: &str) -> &'static Rule {
        RULES.iter().find(|r| r.cause == cause).expect("rule")
    }

    fn with_file(text: &str) -> crate::evidence::Evidence {
        let mut ev = evidence();
        ev.client = Some(ClientEvidence {
            rdp_files: vec![parse_rdp(text.as_bytes(), "server01.rdp")],
        });
        ev
    }

    fn nla_required() -> Stage<Negotiation> {
        let mut n = Negotiation::default();
        n.failures
            .insert("ssl".into(), "HYBRID_REQUIRED_BY_SERVER".into());
        Stage::ok(Duration::from_millis(3), n)
    }

    #[test]
    fn credssp_off_against_an_nla_server_is_found() {
        let mut ev = with_file("full address:s:server01.contoso.com\nenablecredsspsupport:i:0\n");
        ev.negotiation = nla_required();
        let d = run(rule("client-nla-disabled"), &ev).expect("detected");
        assert_eq!(d.confidence, Confidence::High);
        assert!(d.evidence[0].contains("enablecredsspsupport:i:0"));
    }

    #[test]
    fn registry_requiring_nla_is_enough_with_medium_confidence() {
        let mut ev = with_file("full address:s:server01\nenablecredsspsupport:i:0\n");
        let v = SourcedValue {
            value: RegValue::Dword(1),
            key: "HKLM\\...\\RDP-Tcp".into(),
            file: "server.reg".into(),
        };
        ev.host = Some(HostEvidence {
            registry: Some(RegistryEvidence {
                settings: vec![RegistrySetting {
                    name: "UserAuthentication".into(),
                    effective: RegValue::Dword(1),
                    origin: SettingOrigin::Local,
                    local: Some(v),
                    policy: None,
                }],
                ..Default::default()
            }),
            ..Default::default()
        });
        let d = run(rule("client-nla-disabled"), &ev).expect("detected");
        assert_eq!(d.confidence, Confidence::Medium);
    }

    #[test]
    fn near_miss_credssp_off_but_server_does_not_require_nla() {
        let ev = with_file("full address:s:server01.contoso.com\nenablecredsspsupport:i:0\n");
        assert!(run(rule("client-nla-disabled"), &ev).is_none());
    }

    #[test]
    fn near_miss_credssp_on() {
        let mut ev = with_file("full address:s:server01.contoso.com\nenablecredsspsupport:i:1\n");
        ev.negotiation = nla_required();
        assert!(run(rule("client-nla-disabled"), &ev).is_none());
    }

    #[test]
    fn near_miss_file_for_another_server() {
        let mut ev = evidence();
        ev.client = Some(ClientEvidence {
            rdp_files: vec![
                parse_rdp(
                    b"full address:s:other01\nenablecredsspsupport:i:0\n",
                    "a.rdp",
                ),
                parse_rdp(b"full address:s:other02\n", "b.rdp"),
            ],
        });
        ev.negotiation = nla_required();
        assert!(run(rule("client-nla-disabled"), &ev).is_none());
    }
}
