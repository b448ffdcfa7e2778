//! Reaching the server: name resolution, TCP, and whether RDP answers at all.

use super::{Detection, Rule, RuleContext};
use crate::diagnose::Confidence;
use crate::evidence::{ErrorKind, Stage};
use rdpdoctor_kb::Severity;

pub static RULES: &[Rule] = &[
    Rule {
        cause: "dns-unresolved",
        evaluate: dns_unresolved,
    },
    Rule {
        cause: "dns-mismatch",
        evaluate: dns_mismatch,
    },
    Rule {
        cause: "host-unreachable",
        evaluate: host_unreachable,
    },
    Rule {
        cause: "port-closed",
        evaluate: port_closed,
    },
    Rule {
        cause: "port-filtered",
        evaluate: port_filtered,
    },
    Rule {
        cause: "dropped-after-accept",
        evaluate: dropped_after_accept,
    },
    Rule {
        cause: "not-rdp",
        evaluate: not_rdp,
    },
];

fn dns_unresolved(ctx: &RuleContext<'_>) -> Option<Detection> {
    let err = ctx.evidence.dns.error()?;
    let confidence = match err.kind {
        ErrorKind::NxDomain | ErrorKind::NoAnswer => Confidence::High,
        _ => Confidence::Medium,
    };
    let summary = match err.kind {
        ErrorKind::NxDomain => format!("The name {} does not exist in DNS.", ctx.target.host),
        ErrorKind::Timeout => format!(
            "The DNS servers did not answer for {} in time.",
            ctx.target.host
        ),
        ErrorKind::Resolver => "The system's DNS configuration could not be used.".to_string(),
        _ => format!("{} has no usable address in DNS.", ctx.target.host),
    };
    Some(Detection::new(confidence, summary).evidence(format!("dns: {}", err.message)))
}

/// Some of the name's addresses are dead, or the server that answers names itself differently.
fn dns_mismatch(ctx: &RuleContext<'_>) -> Option<Detection> {
    let ev = ctx.evidence;
    let tcp = ev.tcp.observed()?;
    let alive = tcp.attempts.iter().filter(|a| a.is_ok()).count();
    let dead: Vec<_> = tcp.dead_addresses().collect();
    if ctx.target.ip().is_none() && alive > 0 && !dead.is_empty() {
        let first_dead = tcp.attempts.first().is_some_and(|a| !a.is_ok());
        let mut d = Detection::new(
            Confidence::Medium,
            format!(
                "{} of the {} addresses of {} do not accept connections on port {}{}.",
                dead.len(),
                tcp.attempts.len(),
                ctx.target.host,
                ctx.target.port,
                if first_dead {
                    "; the first one a client tries is dead"
                } else {
                    ""
                }
            ),
        )
        .param("address", dead[0].address.ip().to_string());
        for a in &dead {
            d = d.evidence(format!(
                "{}: {} ({})",
                a.address,
                a.error.map(|k| k.as_str()).unwrap_or("failed"),
                a.message.as_deref().unwrap_or("")
            ));
        }
        if first_dead {
            d = d.severity(Severity::Blocker);
        } else {
            d = d.severity(Severity::Risk);
        }
        return Some(d);
    }
    // The server that answered calls itself something else, and its certificate does not
    // vouch for the name either: the name leads to another machine.
    if ctx.target.ip().is_some() {
        return None;
    }
    let ntlm = ev.credssp.value()?.ntlm.as_ref()?;
    let wanted = ctx
        .target
        .identity_name()
        .trim_end_matches('.')
        .to_ascii_lowercase();
    let wanted_label = wanted.split('.').next().unwrap_or("");
    let dns_name = ntlm
        .dns_computer_name
        .as_deref()
        .map(str::to_ascii_lowercase);
    let nb_name = ntlm
        .netbios_computer_name
        .as_deref()
        .map(str::to_ascii_lowercase);
    let same = dns_name.as_deref() == Some(wanted.as_str())
        || dns_name.as_deref().and_then(|n| n.split('.').next()) == Some(wanted_label)
        || nb_name.as_deref() == Some(wanted_label);
    let cert_vouches = ev
        .certificate
        .as_ref()
        .and_then(|c| c.name_match.as_ref())
        .is_some_and(|m| m.matches);
    if same || cert_vouches || (dns_name.is_none() && nb_name.is_none()) {
        return None;
    }
    let calls_itself = ntlm
        .dns_computer_name
        .clone()
        .or(ntlm.netbios_computer_name.clone())
        .unwrap_or_default();
    Some(
        Detection::new(
            Confidence::Medium,
            format!("{} leads to a server that calls itself {calls_itself}: a stale or wrong DNS record?", ctx.target.host),
        )
        .severity(Severity::Risk)
        .evidence(format!("NTLM challenge: computer {calls_itself}"))
        .param("address", tcp.address.map(|a| a.ip().to_string()).unwrap_or_default()),
    )
}

fn tcp_failed_with(ctx: &RuleContext<'_>, kind: ErrorKind) -> Option<String> {
    let err = ctx.evidence.tcp.error()?;
    (err.kind == kind).then(|| format!("tcp: {}", err.message))
}

fn host_unreachable(ctx: &RuleContext<'_>) -> Option<Detection> {
    let line = tcp_failed_with(ctx, ErrorKind::Unreachable)?;
    Some(
        Detection::new(
            Confidence::High,
            format!(
                "There is no route to {}: the network or a router said the host is unreachable.",
                ctx.target.host
            ),
        )
        .evidence(line),
    )
}

fn port_closed(ctx: &RuleContext<'_>) -> Option<Detection> {
    let line = tcp_failed_with(ctx, ErrorKind::Refused)?;
    Some(
        Detection::new(
            Confidence::High,
            format!("{} answered on port {} with a TCP reset: the host is up but nothing listens there.", ctx.target.host, ctx.target.port),
        )
        .evidence(line),
    )
}

fn port_filtered(ctx: &RuleContext<'_>) -> Option<Detection> {
    let line = tcp_failed_with(ctx, ErrorKind::Timeout)?;
    Some(
        Detection::new(
            Confidence::Medium,
            format!(
                "Connections to {}:{} get no answer at all (no reset, no ICMP error): a firewall drops them, or the host is off.",
                ctx.target.host, ctx.target.port
            ),
        )
        .evidence(line),
    )
}

/// TCP was accepted, then the connection closed, reset or went silent before the X.224 reply.
fn dropped_after_accept(ctx: &RuleContext<'_>) -> Option<Detection> {
    let ev = ctx.evidence;
    ev.tcp.value()?;
    let Stage::Failed { error, .. } = &ev.negotiation else {
        return None;
    };
    let bytes = error.seen.as_ref().map_or(0, |s| s.bytes);
    let (confidence, what) = match error.kind {
        ErrorKind::Closed if bytes == 0 => {
            (Confidence::High, "closed the connection without answering")
        }
        ErrorKind::Reset if bytes == 0 => {
            (Confidence::High, "reset the connection without answering")
        }
        ErrorKind::Timeout if bytes == 0 => (
            Confidence::Medium,
            "accepted the connection and never answered",
        ),
        ErrorKind::Timeout | ErrorKind::Closed | ErrorKind::Reset => (
            Confidence::Medium,
            "started to answer, then stalled or dropped the connection",
        ),
        _ => return None,
    };
    Some(
        Detection::new(confidence, format!("{}:{} {what}: Remote Desktop Services is hung or throttling, or a security product sits in the path.", ctx.target.host, ctx.target.port))
            .evidence(format!("negotiation: {}", error.message))
            .evidence(format!("{bytes} bytes received before that")),
    )
}

fn not_rdp(ctx: &RuleContext<'_>) -> Option<Detection> {
    let err = ctx.evidence.negotiation.error()?;
    if err.kind != ErrorKind::NotRdp {
        return None;
    }
    let what = err.seen.as_ref().and_then(|s| s.looks_like.clone());
    let confidence = if what.is_some() {
        Confidence::High
    } else {
        Confidence::Medium
    };
    let mut d = Detection::new(
        confidence,
        format!(
            "Something other than Remote Desktop answers on {}:{}{}.",
            ctx.target.host,
            ctx.target.port,
            what.as_deref()
                .map(|w| format!(" ({w})"))
                .unwrap_or_default()
        ),
    )
    .evidence(format!("negotiation: {}", err.message));
    if let Some(seen) = &err.seen {
        d = d.evidence(format!("first bytes: {}", seen.head_hex));
    }
    Some(d)
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use crate::evidence::*;
    use std::time::Duration;

    fn failed_tcp(kind: ErrorKind) -> Evidence {
        let mut ev = evidence();
        let err = StageError::new(StageName::Tcp, kind, Duration::from_millis(5), "x");
        ev.tcp = Stage::failed(err);
        ev
    }

    fn connected(attempts: Vec<(&str, Option<ErrorKind>)>) -> Evidence {
        let mut ev = evidence();
        let attempts: Vec<ConnectAttempt> = attempts
            .into_iter()
            .map(|(a, e)| ConnectAttempt {
                address: a.parse().unwrap(),
                error: e,
                elapsed_ms: 1.0,
                message: None,
            })
            .collect();
        let address = attempts.iter().find(|a| a.is_ok()).map(|a| a.address);
        ev.tcp = Stage::ok(
            Duration::from_millis(1),
            TcpConnect {
                address,
                connect_ms: Some(1.0),
                attempts,
            },
        );
        ev
    }

    #[test]
    fn tcp_failure_kinds_map_to_their_causes() {
        for (kind, cause) in [
            (ErrorKind::Refused, "port-closed"),
            (ErrorKind::Timeout, "port-filtered"),
            (ErrorKind::Unreachable, "host-unreachable"),
        ] {
            let ev = failed_tcp(kind);
            assert!(run(rule(cause), &ev).is_some(), "{cause}");
            for other in ["port-closed", "port-filtered", "host-unreachable"]
                .iter()
                .filter(|c| **c != cause)
            {
                assert!(
                    run(rule(other), &ev).is_none(),
                    "{other} must not fire for {kind}"
                );
            }
        }
    }

    #[test]
    fn dns_failure_is_unresolved_and_success_is_not() {
        let mut ev = evidence();
        ev.dns = Stage::failed(StageError::new(
            StageName::Dns,
            ErrorKind::NxDomain,
            Duration::ZERO,
            "nx",
        ));
        assert_eq!(
            run(rule("dns-unresolved"), &ev).unwrap().confidence,
            crate::diagnose::Confidence::High
        );
        ev.dns = Stage::ok(
            Duration::ZERO,
            DnsResolution {
                name: "x".into(),
                addresses: vec!["10.0.0.1".parse().unwrap()],
                ..Default::default()
            },
        );
        assert!(run(rule("dns-unresolved"), &ev).is_none());
    }

    #[test]
    fn a_dead_address_beside_a_live_one_is_a_dns_mismatch() {
        let ev = connected(vec![
            ("10.0.0.9:3389", Some(ErrorKind::Timeout)),
            ("10.0.0.5:3389", None),
        ]);
        let d = run(rule("dns-mismatch"), &ev).unwrap();
        assert_eq!(
            d.severity,
            Some(rdpdoctor_kb::Severity::Blocker),
            "the first address tried is dead"
        );
        let ev = connected(vec![("10.0.0.5:3389", None)]);
        assert!(
            run(rule("dns-mismatch"), &ev).is_none(),
            "near miss: one live address"
        );
    }

    #[test]
    fn ntlm_identity_of_another_machine_is_a_dns_mismatch() {
        let mut ev = connected(vec![("10.0.0.5:3389", None)]);
        let ntlm = NtlmChallengeInfo {
            dns_computer_name: Some("oldbox.contoso.com".into()),
            netbios_computer_name: Some("OLDBOX".into()),
            ..Default::default()
        };
        ev.credssp = Stage::ok(
            Duration::ZERO,
            CredsspProbe {
                version: Some(6),
                offered_version: 6,
                ntlm: Some(ntlm),
                ..Default::default()
            },
        );
        assert!(run(rule("dns-mismatch"), &ev).is_some());
        let ntlm = NtlmChallengeInfo {
            dns_computer_name: Some("server01.contoso.com".into()),
            ..Default::default()
        };
        ev.credssp = Stage::ok(
            Duration::ZERO,
            CredsspProbe {
                version: Some(6),
                offered_version: 6,
                ntlm: Some(ntlm),
                ..Default::default()
            },
        );
        assert!(
            run(rule("dns-mismatch"), &ev).is_none(),
            "near miss: the server names itself as asked"
        );
    }

    #[test]
    fn silence_after_accept_is_dropped_after_accept_but_garbage_is_not() {
        let mut ev = connected(vec![("10.0.0.5:3389", None)]);
        let err = StageError::new(
            StageName::Negotiation,
            ErrorKind::Closed,
            Duration::ZERO,
            "closed",
        );
        ev.negotiation = Stage::failed(err);
        assert!(run(rule("dropped-after-accept"), &ev).is_some());
        assert!(run(rule("not-rdp"), &ev).is_none());
        let err = StageError::new(
            StageName::Negotiation,
            ErrorKind::NotRdp,
            Duration::ZERO,
            "http",
        )
        .with_seen(Seen {
            bytes: 8,
            head_hex: "485454502f312e31".into(),
            looks_like: Some("an HTTP response".into()),
        });
        ev.negotiation = Stage::failed(err);
        assert!(run(rule("not-rdp"), &ev).is_some());
        assert!(run(rule("dropped-after-accept"), &ev).is_none());
    }
}
