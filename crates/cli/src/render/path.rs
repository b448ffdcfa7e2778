//! The path section of the text report: loss, RTT, MTU per direction and the UDP transport,
//! one line each. Absent when the path was not measured.

use rdpdoctor_core::evidence::{MtuDirection, MtuVerdict, Report, Stage, UdpOutcome};

/// The section's lines (label, text), empty when nothing was measured.
pub fn lines(r: &Report) -> Vec<(String, String)> {
    let ev = &r.evidence;
    let mut out = Vec::new();
    match &ev.quality {
        Stage::Ok { value: q, .. } => {
            out.push((
                "loss".into(),
                format!(
                    "{:.1} % of SYN round trips ({} of {}; 95 % interval {:.1}–{:.1} %) over {} handshakes",
                    q.loss_pct,
                    q.lost,
                    q.transmissions,
                    q.loss_interval_pct.low,
                    q.loss_interval_pct.high,
                    q.samples
                ),
            ));
            out.push((
                "rtt".into(),
                format!(
                    "min {:.1} · median {:.1} · p95 {:.1} · max {:.1} ms · jitter {:.1} ms",
                    q.rtt_ms.min, q.rtt_ms.median, q.rtt_ms.p95, q.rtt_ms.max, q.rtt_ms.jitter
                ),
            ));
            if let Some(m) = &q.mtu {
                let dirs = [
                    ("client → server", m.client_to_server.as_ref()),
                    ("server → client", m.server_to_client.as_ref()),
                ];
                let text: Vec<String> = dirs
                    .iter()
                    .filter_map(|(n, d)| d.map(|d| format!("{n} {}", mtu(d))))
                    .collect();
                if !text.is_empty() {
                    out.push(("mtu".into(), text.join(" · ")));
                }
            }
        }
        Stage::Failed { error, .. } => out.push(("path".into(), format!("not measured: {error}"))),
        Stage::Skipped { .. } => {}
    }
    if let Stage::Ok { value: u, .. } = &ev.udp {
        let port = u.address.map_or(r.target.port, |a| a.port());
        let text = match u.outcome {
            UdpOutcome::Answered => {
                let mut t = format!(
                    "answered: {}, MTU {}/{}",
                    u.version_name.as_deref().unwrap_or("version ?"),
                    u.up_mtu.unwrap_or(0),
                    u.down_mtu.unwrap_or(0)
                );
                if let Some(l) = &u.loss {
                    t.push_str(&format!(
                        ", {} of {} handshakes lost",
                        l.sent - l.answered,
                        l.sent
                    ));
                }
                t
            }
            UdpOutcome::NoAnswer => format!(
                "no answer to {} SYNs (filtered, disabled, or ignored: not proof of a block)",
                u.syns_sent
            ),
            UdpOutcome::Refused => "ICMP port unreachable: nothing listens".into(),
            UdpOutcome::Unexpected => "an answer that is not an MS-RDPEUDP SYN+ACK".into(),
        };
        out.push((format!("udp {port}"), text));
    }
    out
}

fn mtu(d: &MtuDirection) -> String {
    match (d.verdict, d.largest_ok, d.smallest_failed) {
        (MtuVerdict::Clear, ..) => format!("ok up to {} B", d.tested_up_to),
        (MtuVerdict::BlackHole, Some(ok), Some(bad)) => {
            format!("BLACK HOLE: {ok} B pass, {bad} B vanish")
        }
        (MtuVerdict::BlackHole, ..) => "BLACK HOLE (not sized)".into(),
        (MtuVerdict::Inconclusive, ..) => "inconclusive".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};
    use rdpdoctor_core::Target;
    use rdpdoctor_core::evidence::*;
    use std::time::Duration;

    #[test]
    fn a_measured_path_is_four_lines() {
        let mut ev = Evidence::new(Utc.with_ymd_and_hms(2026, 11, 20, 12, 0, 0).unwrap());
        ev.quality = Stage::ok(
            Duration::from_secs(5),
            PathQuality {
                samples: 100,
                lost: 26,
                transmissions: 125,
                loss_pct: 20.8,
                loss_interval_pct: Interval {
                    low: 14.61,
                    high: 28.73,
                },
                rtt_ms: RttSummary {
                    min: 0.1,
                    median: 0.2,
                    p95: 0.4,
                    max: 3.0,
                    jitter: 0.1,
                },
                mtu: Some(MtuProbe {
                    client_to_server: Some(MtuDirection {
                        verdict: MtuVerdict::Clear,
                        tested_up_to: 1500,
                        ..Default::default()
                    }),
                    server_to_client: Some(MtuDirection {
                        verdict: MtuVerdict::BlackHole,
                        largest_ok: Some(996),
                        smallest_failed: Some(1004),
                        ..Default::default()
                    }),
                    notes: vec![],
                }),
                ..Default::default()
            },
        );
        ev.udp = Stage::ok(
            Duration::from_secs(3),
            UdpProbe {
                syns_sent: 3,
                ..Default::default()
            },
        );
        let r = Report::new(Target::parse("server01:3389").unwrap(), ev, 1.0);
        let l = lines(&r);
        assert_eq!(l.len(), 4, "{l:?}");
        assert_eq!(
            l[0].1,
            "20.8 % of SYN round trips (26 of 125; 95 % interval 14.6–28.7 %) over 100 handshakes"
        );
        assert_eq!(
            l[2].1,
            "client → server ok up to 1500 B · server → client BLACK HOLE: 996 B pass, 1004 B vanish"
        );
        assert_eq!(l[3].0, "udp 3389");
        assert!(l[3].1.contains("not proof of a block"));
    }
}
