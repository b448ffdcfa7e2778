//! The network path: loss and latency, MTU black holes, the UDP transport.
//!
//! These rules read only measurements (`evidence.quality`, `evidence.udp`), never guesses from
//! a single timeout, and they are deliberately conservative: a finding needs the measurement's
//! own confidence interval to clear the threshold, so a healthy path with a few unlucky
//! samples does not produce one.

use super::{Detection, Rule, RuleContext};
use crate::diagnose::Confidence;
use crate::evidence::{ErrorKind, MtuDirection, PathQuality, UdpOutcome};
use rdpdoctor_kb::Severity;

pub static RULES: &[Rule] = &[
    Rule {
        cause: "network-loss",
        evaluate: network_loss,
    },
    Rule {
        cause: "mtu-blackhole",
        evaluate: mtu_blackhole,
    },
    Rule {
        cause: "udp-unavailable",
        evaluate: udp_unavailable,
    },
];

/// Loss worth a finding: at least this share of round trips lost...
const LOSS_PCT: f64 = 5.0;
/// ...and the lower end of the 95 % interval above this, so chance cannot explain it.
const LOSS_LOW_PCT: f64 = 2.0;
/// The lower end of the interval above which connection set-up fails often: a blocker.
const LOSS_BLOCKER_LOW_PCT: f64 = 20.0;
/// Median RTT that makes an interactive session sluggish.
const RTT_MEDIAN_MS: f64 = 200.0;
/// Jitter that makes it uneven.
const JITTER_MS: f64 = 50.0;
/// UDP handshake loss worth mentioning (20 samples: at least 4 lost).
const UDP_LOSS_LOW_PCT: f64 = 5.0;

fn network_loss(ctx: &RuleContext<'_>) -> Option<Detection> {
    let q = ctx.evidence.quality.value()?;
    let clean = q.completed.saturating_sub(q.retransmitted);
    let lossy = q.loss_pct >= LOSS_PCT && q.loss_interval_pct.low >= LOSS_LOW_PCT;
    let slow = clean >= 5 && q.rtt_ms.median >= RTT_MEDIAN_MS;
    let jittery = clean >= 10 && q.rtt_ms.jitter >= JITTER_MS;
    let udp_loss = ctx
        .evidence
        .udp
        .value()
        .and_then(|u| u.loss.as_ref())
        .filter(|l| l.loss_interval_pct.low >= UDP_LOSS_LOW_PCT);
    if !(lossy || slow || jittery || udp_loss.is_some()) {
        return None;
    }
    let confidence = if lossy {
        if q.loss_interval_pct.low >= 5.0 && q.transmissions >= 50 {
            Confidence::High
        } else if q.transmissions >= 20 {
            Confidence::Medium
        } else {
            Confidence::Low
        }
    } else if clean >= 20 {
        Confidence::Medium
    } else {
        Confidence::Low
    };
    let mut what = Vec::new();
    if lossy {
        what.push(format!(
            "{:.1} % of the SYN round trips were lost (95 % interval {:.1}–{:.1} %)",
            q.loss_pct, q.loss_interval_pct.low, q.loss_interval_pct.high
        ));
    }
    if slow {
        what.push(format!(
            "the median round trip is {:.0} ms",
            q.rtt_ms.median
        ));
    }
    if jittery {
        what.push(format!(
            "round trips vary by {:.0} ms from one to the next",
            q.rtt_ms.jitter
        ));
    }
    if let Some(l) = udp_loss {
        what.push(format!(
            "{} of {} UDP handshakes got no answer",
            l.sent - l.answered,
            l.sent
        ));
    }
    let mut d = Detection::new(
        confidence,
        format!(
            "The path to {}:{} is unreliable: {}. RDP sessions over it freeze and drop; the UDP transport suffers most.",
            ctx.target.host,
            ctx.target.port,
            what.join("; ")
        ),
    )
    .evidence(quality_line(q))
    .param("loss_pct", format!("{:.1}", q.loss_pct))
    .param("loss_low_pct", format!("{:.1}", q.loss_interval_pct.low))
    .param("loss_high_pct", format!("{:.1}", q.loss_interval_pct.high))
    .param("rtt_median_ms", format!("{:.1}", q.rtt_ms.median))
    .param("rtt_p95_ms", format!("{:.1}", q.rtt_ms.p95))
    .param("jitter_ms", format!("{:.1}", q.rtt_ms.jitter))
    .param("samples", q.samples.to_string());
    if q.retransmitted > 0 {
        d = d.evidence(format!(
            "{} of {} handshakes needed a retransmitted SYN or SYN-ACK (counted from {})",
            q.retransmitted,
            q.completed,
            match q.retransmit_source {
                crate::evidence::RetransmitSource::TcpInfo =>
                    "the kernel's retransmission counter and the connect times",
                crate::evidence::RetransmitSource::Timing => "the connect times",
            }
        ));
    }
    if let Some(l) = udp_loss {
        d = d.evidence(format!(
            "udp: {} of {} MS-RDPEUDP handshakes unanswered ({:.0} %, 95 % interval {:.0}–{:.0} %)",
            l.sent - l.answered,
            l.sent,
            l.loss_pct,
            l.loss_interval_pct.low,
            l.loss_interval_pct.high
        ));
    }
    if q.loss_interval_pct.low >= LOSS_BLOCKER_LOW_PCT {
        d = d.severity(Severity::Blocker);
    }
    Some(d)
}

fn quality_line(q: &PathQuality) -> String {
    format!(
        "quality: {} handshakes, {} of {} SYN round trips lost ({:.1} %); RTT min {:.1} / median {:.1} / p95 {:.1} / max {:.1} ms, jitter {:.1} ms",
        q.samples,
        q.lost,
        q.transmissions,
        q.loss_pct,
        q.rtt_ms.min,
        q.rtt_ms.median,
        q.rtt_ms.p95,
        q.rtt_ms.max,
        q.rtt_ms.jitter
    )
}

fn mtu_blackhole(ctx: &RuleContext<'_>) -> Option<Detection> {
    let ev = ctx.evidence;
    let mtu = ev.quality.observed()?.mtu.as_ref()?;
    let holes: Vec<(&str, &MtuDirection)> = mtu.black_holes().collect();
    let (first_dir, first) = *holes.first()?;
    let sized = |d: &MtuDirection| d.largest_ok.is_some() && d.smallest_failed.is_some();
    let solid = holes
        .iter()
        .all(|(_, d)| sized(d) && d.consistent() && d.failures() >= 2 && d.passes() >= 1);
    let tls_stalled = ev.tls.error_kind() == Some(ErrorKind::Timeout);
    let confidence = if solid {
        Confidence::High
    } else {
        Confidence::Medium
    };
    let largest = holes.iter().filter_map(|(_, d)| d.largest_ok).min();
    let sizes = holes
        .iter()
        .map(|(name, d)| match (d.largest_ok, d.smallest_failed) {
            (Some(ok), Some(bad)) => {
                format!("{name}: packets up to {ok} bytes pass, {bad} bytes and more vanish")
            }
            _ => format!("{name}: the large packets stall (not sized)"),
        })
        .collect::<Vec<_>>()
        .join("; ");
    let consequence = if tls_stalled {
        "The X.224 exchange is small and works; the TLS handshake carries the certificate in full-size packets and stalls."
    } else if holes.iter().all(|(n, _)| n.starts_with("client")) {
        "Small client packets (the TLS hello) still pass; large ones (NLA with Kerberos, clipboard, drive redirection) will vanish."
    } else {
        "Full-size packets from the server vanish, so sessions hang as soon as the screen sends large updates."
    };
    let mut d = Detection::new(
        confidence,
        format!(
            "Large packets vanish on the path to {} ({}). {consequence}",
            ctx.target.host, sizes
        ),
    );
    for (name, dir) in &holes {
        let steps: Vec<String> = dir
            .steps
            .iter()
            .map(|s| format!("{}{}", s.packet, if s.passed { "✓" } else { "✗" }))
            .collect();
        d = d.evidence(format!(
            "mtu {name} ({}): probes {}",
            dir.method,
            steps.join(" ")
        ));
        if let Some(note) = &dir.note {
            d = d.evidence(format!("mtu {name}: {note}"));
        }
    }
    if let Some(err) = ev.tls.error().filter(|_| tls_stalled) {
        d = d.evidence(format!("tls: {}", err.message));
    }
    if let Some(ok) = largest {
        d = d
            .param("mtu", ok.to_string())
            .param("mss", ok.saturating_sub(40).to_string())
            .param("ping_size", ok.saturating_sub(28).to_string());
    }
    d = d.param("direction", first_dir);
    let client_only = holes.iter().all(|(n, _)| n.starts_with("client"));
    if client_only && !tls_stalled && first.verdict == crate::evidence::MtuVerdict::BlackHole {
        d = d.severity(Severity::Risk);
    }
    Some(d)
}

fn udp_unavailable(ctx: &RuleContext<'_>) -> Option<Detection> {
    let ev = ctx.evidence;
    ev.tcp.value()?;
    let u = ev.udp.value()?;
    let port = ctx.target.port;
    let (confidence, summary) = match u.outcome {
        UdpOutcome::Answered => return None,
        UdpOutcome::NoAnswer => (
            Confidence::Low,
            format!(
                "UDP {port} gave no answer to {} MS-RDPEUDP SYNs while TCP {port} works. No answer is not proof of a block: the port may be filtered, the UDP transport disabled, or the server may ignore a SYN no TCP multitransport request announced. Sessions fall back to TCP.",
                u.syns_sent
            ),
        ),
        UdpOutcome::Refused => (
            Confidence::Medium,
            format!(
                "UDP {port} answered the MS-RDPEUDP SYN with ICMP port unreachable: no RDP UDP listener there, or a firewall rejects it. Sessions use TCP only."
            ),
        ),
        UdpOutcome::Unexpected => (
            Confidence::Low,
            format!(
                "Something answered on UDP {port}, but not with an MS-RDPEUDP SYN+ACK for our SYN. Sessions use TCP."
            ),
        ),
    };
    let mut d = Detection::new(confidence, summary).param("udp_port", port.to_string());
    if !u.note.is_empty() {
        d = d.evidence(format!("udp: {}", u.note));
    }
    Some(d)
}

#[cfg(test)]
mod tests {
    use super::super::testing::{evidence, rule, run};
    use crate::diagnose::Confidence;
    use crate::evidence::{
        MtuDirection, MtuProbe, MtuStep, MtuVerdict, PathQuality, RttSummary, Stage, StageError,
        StageName, TcpConnect, UdpOutcome, UdpProbe,
    };
    use crate::probe::stats::wilson;
    use rdpdoctor_kb::Severity;
    use std::time::Duration;

    fn quality(lost: u32, transmissions: u32, median: f64, jitter: f64) -> PathQuality {
        let completed = 100;
        PathQuality {
            samples: 100,
            completed,
            transmissions,
            lost,
            retransmitted: lost.min(completed),
            loss_pct: f64::from(lost) * 100.0 / f64::from(transmissions),
            loss_interval_pct: wilson(lost, transmissions),
            rtt_ms: RttSummary {
                min: median * 0.9,
                median,
                p95: median * 1.2,
                max: median * 2.0,
                jitter,
            },
            ..Default::default()
        }
    }

    fn with_quality(q: PathQuality) -> crate::evidence::Evidence {
        let mut ev = evidence();
        ev.tcp = Stage::ok(Duration::from_millis(1), TcpConnect::default());
        ev.quality = Stage::ok(Duration::from_secs(5), q);
        ev
    }

    #[test]
    fn measured_loss_is_a_finding_with_its_interval() {
        let d = run(
            rule("network-loss"),
            &with_quality(quality(25, 125, 30.0, 2.0)),
        )
        .expect("20 % loss");
        assert_eq!(d.confidence, Confidence::High);
        assert!(d.summary.contains("20.0 %"), "{}", d.summary);
        assert!(
            d.params
                .iter()
                .any(|(k, v)| *k == "loss_pct" && v == "20.0")
        );
        assert_eq!(d.severity, None, "risk from the catalog");
        let heavy = run(
            rule("network-loss"),
            &with_quality(quality(60, 160, 30.0, 2.0)),
        )
        .unwrap();
        assert_eq!(heavy.severity, Some(Severity::Blocker));
    }

    #[test]
    fn a_healthy_or_barely_lossy_path_is_not_a_finding() {
        for q in [
            quality(0, 100, 0.1, 0.01),
            // 3 of 103: the interval reaches down to 1 %; chance explains it.
            quality(3, 103, 20.0, 1.0),
            quality(4, 104, 20.0, 1.0),
            quality(0, 100, 150.0, 20.0),
        ] {
            assert!(
                run(rule("network-loss"), &with_quality(q.clone())).is_none(),
                "{q:?}"
            );
        }
    }

    #[test]
    fn latency_and_jitter_alone_are_findings() {
        let d = run(
            rule("network-loss"),
            &with_quality(quality(0, 100, 250.0, 5.0)),
        )
        .unwrap();
        assert!(
            d.summary.contains("median round trip is 250 ms"),
            "{}",
            d.summary
        );
        let d = run(
            rule("network-loss"),
            &with_quality(quality(0, 100, 40.0, 80.0)),
        )
        .unwrap();
        assert!(d.summary.contains("vary by 80 ms"), "{}", d.summary);
        assert_eq!(d.confidence, Confidence::Medium);
    }

    fn direction(verdict: MtuVerdict, steps: &[(u32, bool)]) -> MtuDirection {
        let ok = steps.iter().filter(|s| s.1).map(|s| s.0).max();
        let bad = steps.iter().filter(|s| !s.1).map(|s| s.0).min();
        MtuDirection {
            verdict,
            method: "mss_clamp".into(),
            largest_ok: ok.filter(|_| verdict == MtuVerdict::BlackHole),
            smallest_failed: bad.filter(|_| verdict == MtuVerdict::BlackHole),
            tested_up_to: 1500,
            steps: steps
                .iter()
                .map(|(p, ok)| MtuStep {
                    packet: *p,
                    passed: *ok,
                    elapsed_ms: 1.0,
                    detail: None,
                })
                .collect(),
            ..Default::default()
        }
    }

    #[test]
    fn a_sized_black_hole_is_a_blocker_with_the_mtu() {
        let mut q = quality(0, 100, 1.0, 0.1);
        q.mtu = Some(MtuProbe {
            server_to_client: Some(direction(
                MtuVerdict::BlackHole,
                &[
                    (1500, false),
                    (576, true),
                    (1000, true),
                    (1004, false),
                    (1200, false),
                ],
            )),
            client_to_server: Some(direction(MtuVerdict::Clear, &[(1500, true)])),
            notes: vec![],
        });
        let mut ev = with_quality(q);
        ev.tls = Stage::failed(StageError::new(
            StageName::Tls,
            crate::evidence::ErrorKind::Timeout,
            Duration::from_secs(5),
            "no complete server flight",
        ));
        let d = run(rule("mtu-blackhole"), &ev).expect("black hole");
        assert_eq!(d.confidence, Confidence::High);
        assert_eq!(d.severity, None);
        assert!(d.summary.contains("up to 1000 bytes pass"), "{}", d.summary);
        assert!(d.params.contains(&("mtu", "1000".into())));
        assert!(d.params.contains(&("ping_size", "972".into())));
    }

    #[test]
    fn a_clear_or_inconclusive_mtu_is_not_a_finding_and_client_only_is_a_risk() {
        let mut q = quality(0, 100, 1.0, 0.1);
        q.mtu = Some(MtuProbe {
            server_to_client: Some(direction(MtuVerdict::Clear, &[(1500, true)])),
            client_to_server: Some(direction(
                MtuVerdict::Inconclusive,
                &[(1500, false), (576, false)],
            )),
            notes: vec![],
        });
        assert!(run(rule("mtu-blackhole"), &with_quality(q.clone())).is_none());
        q.mtu.as_mut().unwrap().client_to_server = Some(direction(
            MtuVerdict::BlackHole,
            &[(1500, false), (576, true), (1400, false), (1392, true)],
        ));
        let d = run(rule("mtu-blackhole"), &with_quality(q)).unwrap();
        assert_eq!(d.severity, Some(Severity::Risk));
    }

    #[test]
    fn udp_silence_is_low_confidence_and_an_answer_is_nothing() {
        let mut ev = with_quality(quality(0, 100, 1.0, 0.1));
        ev.udp = Stage::ok(
            Duration::from_secs(3),
            UdpProbe {
                syns_sent: 3,
                note: "no answer".into(),
                ..Default::default()
            },
        );
        let d = run(rule("udp-unavailable"), &ev).unwrap();
        assert_eq!(d.confidence, Confidence::Low);
        assert!(d.summary.contains("not proof of a block"));
        if let Stage::Ok { value, .. } = &mut ev.udp {
            value.outcome = UdpOutcome::Refused;
        }
        assert_eq!(
            run(rule("udp-unavailable"), &ev).unwrap().confidence,
            Confidence::Medium
        );
        if let Stage::Ok { value, .. } = &mut ev.udp {
            value.outcome = UdpOutcome::Answered;
            value.answered = true;
        }
        assert!(run(rule("udp-unavailable"), &ev).is_none());
        // Never without a working TCP connection.
        ev.tcp = Stage::skipped("no");
        assert!(run(rule("udp-unavailable"), &ev).is_none());
    }
}
