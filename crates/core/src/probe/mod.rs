//! The live probe: one target, stage by stage, each with its own deadline.
//!
//! ```text
//! dns ─► tcp ─► negotiation ─► tls ─► credssp ─► [deep] ─► [auth] ─► [path: quality ∥ udp ─► mtu]
//!                   └─► follow-up negotiation requests (separate connections, in parallel)
//! ```
//!
//! The path stages (`path`) run when asked, or when a failure is one the path can explain.
//!
//! A stage that fails ends the chain but never loses what earlier stages found: the evidence
//! is returned whole, with the later stages marked skipped and why.

pub mod auth;
pub mod credssp;
pub mod dns;
pub mod gate;
pub mod hello;
pub mod io;
pub mod mtu;
pub mod negotiate;
pub mod path;
pub mod quality;
pub mod stats;
pub mod tcp;
pub mod tcpinfo;
pub mod tls;
pub mod tls_enum;
pub mod udp;

use chrono::Utc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::Target;
use crate::evidence::{ErrorKind, Evidence, Protocol, Report, Stage, millis};

/// Deadlines per stage.
#[derive(Clone, Copy, Debug)]
pub struct Timeouts {
    pub dns: Duration,
    pub connect: Duration,
    pub negotiate: Duration,
    pub tls: Duration,
    pub credssp: Duration,
}

impl Timeouts {
    /// The same deadline for every stage (`--timeout`).
    pub fn uniform(d: Duration) -> Timeouts {
        Timeouts {
            dns: d,
            connect: d,
            negotiate: d,
            tls: d,
            credssp: d,
        }
    }
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            dns: Duration::from_secs(3),
            connect: Duration::from_secs(5),
            negotiate: Duration::from_secs(5),
            tls: Duration::from_secs(5),
            credssp: Duration::from_secs(5),
        }
    }
}

/// What to probe and how.
#[derive(Clone, Debug, Default)]
pub struct ProbeOptions {
    pub timeouts: Timeouts,
    /// `Cookie: mstshash=` for the X.224 request.
    pub cookie: Option<String>,
    /// Also ask for RDSTLS / RDSAAD on servers that speak HYBRID_EX.
    pub extended_negotiation: bool,
    /// Latency, loss, MTU and UDP measurements (`--path`, `--samples`).
    pub path: path::PathOptions,
    /// Log on with these credentials after the other stages (`--user`).
    pub auth: Option<auth::AuthOptions>,
    /// `check --deep`: enumerate every TLS version, suite and group the server accepts
    /// (`evidence.tls.enumeration`), on its own connections after the other stages.
    pub deep: Option<tls_enum::DeepOptions>,
    /// Awaited before every TCP connection the probe opens (`scan --rate`); `None` for `check`.
    pub connect_gate: Option<Arc<dyn gate::ConnectGate>>,
}

/// A probe with its shared, expensive parts (resolver, trust store) built once: create one and
/// reuse it for every target of a scan.
#[derive(Clone)]
pub struct Prober {
    options: ProbeOptions,
    resolver: dns::Resolver,
    trust: tls::TrustAnchors,
}

impl Prober {
    pub fn new(options: ProbeOptions, trust: tls::TrustAnchors) -> Prober {
        let resolver = dns::Resolver::system(options.timeouts.dns);
        Prober {
            options,
            resolver,
            trust,
        }
    }

    pub fn options(&self) -> &ProbeOptions {
        &self.options
    }

    /// Probe one target. Never fails: every problem is evidence.
    pub async fn check(&self, target: &Target) -> Report {
        let started = Instant::now();
        let evidence = self.collect(target).await;
        Report::new(target.clone(), evidence, millis(started.elapsed()))
    }

    async fn collect(&self, target: &Target) -> Evidence {
        let mut ev = self.collect_stages(target).await;
        match ev.tcp.value().and_then(|c| c.address) {
            Some(address) => {
                path::measure(
                    &mut ev,
                    target,
                    address,
                    &self.negotiate_options(),
                    &self.options.path,
                )
                .await;
            }
            None if self.options.path.mode == path::PathMode::On => {
                let why = "no TCP connection to the RDP port: nothing answers to measure";
                ev.quality = Stage::skipped(why);
                ev.udp = Stage::skipped(why);
            }
            None => {}
        }
        ev
    }

    fn negotiate_options(&self) -> negotiate::NegotiateOptions {
        let t = &self.options.timeouts;
        negotiate::NegotiateOptions {
            cookie: self.options.cookie.clone(),
            deadline: t.negotiate,
            connect_deadline: t.connect,
            extended: self.options.extended_negotiation,
            connect_gate: self.options.connect_gate.clone(),
        }
    }

    async fn collect_stages(&self, target: &Target) -> Evidence {
        let t = &self.options.timeouts;
        let mut ev = Evidence::new(Utc::now());
        if self.options.auth.is_some() {
            ev.auth = Stage::default();
        }

        // dns
        let addresses = match target.ip() {
            Some(ip) => {
                ev.dns = Stage::skipped("the target is an IP address");
                vec![ip]
            }
            None => {
                ev.dns = self.resolver.resolve(&target.host, t.dns).await;
                match ev.dns.value() {
                    Some(d) => d.addresses.clone(),
                    None => {
                        skip_after(&mut ev, "the name did not resolve");
                        return ev;
                    }
                }
            }
        };

        // tcp
        let gate = self.options.connect_gate.as_deref();
        let (tcp_stage, stream) = tcp::connect(&addresses, target.port, t.connect, gate).await;
        let address = tcp_stage.value().and_then(|c| c.address);
        ev.tcp = tcp_stage;
        let (Some(mut stream), Some(address)) = (stream, address) else {
            skip_after(&mut ev, "no TCP connection");
            return ev;
        };

        // negotiation: the first request on this connection, follow-ups beside TLS.
        let nopts = self.negotiate_options();
        let mut leftover = Vec::new();
        let first = negotiate::exchange(
            &mut stream,
            negotiate::MODERN_REQUEST,
            &nopts,
            &mut leftover,
        )
        .await;
        let requests = negotiate::follow_ups(&first.answer, nopts.extended);
        let selected = match &first.answer {
            crate::evidence::NegotiationAnswer::Selected { protocol, .. } => Some(*protocol),
            _ => None,
        };
        if !leftover.is_empty() {
            ev.notes.push(format!(
                "{} unexpected bytes followed the Connection Confirm ({}); a well-behaved server waits for the client",
                leftover.len(),
                hex_head(&leftover)
            ));
        }
        let secure = self.secure_channel(
            stream,
            address,
            target,
            selected,
            &first.answer,
            &nopts,
            &mut ev,
        );
        let follow = negotiate::follow_up(address, &requests, &nopts);
        let ((), rest) = futures::join!(secure, follow);
        ev.negotiation = negotiate::assemble(first, rest);
        if ev.negotiation.is_failed() {
            let reason = "the security negotiation got no usable answer";
            ev.tls = Stage::skipped(reason);
            ev.credssp = Stage::skipped(reason);
        }
        // After the other stages, so the enumeration's connection cap is the only load on the
        // server while it runs.
        if let Some(deep) = &self.options.deep
            && selected.is_some_and(|p| p.uses_tls())
        {
            let sni = target.ip().is_none().then_some(target.host.as_str());
            let enumeration =
                tls_enum::enumerate(address, negotiate::MODERN_REQUEST, sni, &nopts, t.tls, deep)
                    .await;
            tls_enum::attach(&mut ev.tls, enumeration);
        }
        if let Some(options) = &self.options.auth {
            ev.auth = self.authenticate(target, address, options, &ev).await;
        }
        ev
    }

    /// The authenticated attempt, last and on its own connection, when the server offers a
    /// TLS-based protocol (credentials never travel under standard RDP security).
    async fn authenticate(
        &self,
        target: &Target,
        address: std::net::SocketAddr,
        options: &auth::AuthOptions,
        ev: &Evidence,
    ) -> Stage<crate::evidence::AuthAttempt> {
        let Some(n) = ev.negotiation.value() else {
            return Stage::skipped("the security negotiation got no usable answer");
        };
        if !n.supported.iter().any(|p| p.uses_tls()) {
            return Stage::skipped(
                "the server offers no TLS-based security: credentials are never sent under standard RDP security",
            );
        }
        auth::run(
            target,
            address,
            options,
            &self.trust,
            self.options.cookie.as_deref(),
            self.options.connect_gate.as_deref(),
        )
        .await
    }

    /// TLS and CredSSP on the main connection, as far as the selected protocol goes.
    #[allow(clippy::too_many_arguments)]
    async fn secure_channel(
        &self,
        stream: tokio::net::TcpStream,
        address: std::net::SocketAddr,
        target: &Target,
        selected: Option<Protocol>,
        first: &crate::evidence::NegotiationAnswer,
        nopts: &negotiate::NegotiateOptions,
        ev: &mut Evidence,
    ) {
        let t = &self.options.timeouts;
        let Some(protocol) = selected.filter(|p| p.uses_tls()) else {
            let reason = match (selected, first) {
                (Some(Protocol::Rdp), _) => {
                    "the server selected standard RDP security (no TLS)".to_string()
                }
                (_, crate::evidence::NegotiationAnswer::Failure { name, .. }) => {
                    format!("the server refused TLS-based security: {name}")
                }
                (_, crate::evidence::NegotiationAnswer::NoNegotiationData) => {
                    "the server does not negotiate security (standard RDP security only)".into()
                }
                _ => "no security protocol was negotiated".into(),
            };
            ev.tls = Stage::skipped(reason.clone());
            ev.credssp = Stage::skipped(reason);
            return;
        };
        let mut handshake = tls::handshake(stream, &target.host, t.tls).await;
        // A current TLS stack failed: ask again with a broad legacy ClientHello, so a TLS
        // 1.0-only or CBC-only server still shows its version, suite and certificate. A timeout
        // is not retried (the same deadline would pass again).
        if let Stage::Failed { error, partial } = &handshake.stage
            && error.kind != ErrorKind::Timeout
        {
            let sni = target.ip().is_none().then_some(target.host.as_str());
            let hello = hello::broad_legacy_hello(sni);
            let legacy =
                hello::hello_over_rdp(address, negotiate::MODERN_REQUEST, &hello, nopts, t.tls)
                    .await;
            let (stage, chain) =
                tls::with_legacy_answer(error.clone(), partial.clone().unwrap_or_default(), legacy);
            handshake.stage = stage;
            if handshake.chain.is_empty() {
                handshake.chain = chain;
            }
        }
        ev.tls = handshake.stage;
        if let Some(leaf) = handshake.chain.first() {
            match crate::cert::describe(leaf, ev.collected_at, Some(target.identity_name())) {
                Ok(mut cert) => {
                    cert.trust = Some(self.trust.check(&handshake.chain, &cert));
                    cert.chain = handshake
                        .chain
                        .iter()
                        .skip(1)
                        .map(|c| crate::cert::chain_entry(c))
                        .collect();
                    ev.certificate = Some(cert);
                }
                Err(e) => ev.notes.push(format!(
                    "the server's certificate could not be decoded: {e}"
                )),
            }
        }
        ev.credssp = match (protocol.uses_credssp(), handshake.stream) {
            (false, _) => Stage::skipped("the server selected TLS without NLA (PROTOCOL_SSL)"),
            (true, None) => Stage::skipped("no TLS session to run CredSSP in"),
            (true, Some(mut stream)) => {
                let stage = credssp::probe(&mut stream, t.credssp).await;
                let _ = tokio::io::AsyncWriteExt::shutdown(&mut stream).await;
                stage
            }
        };
    }
}

fn skip_after(ev: &mut Evidence, why: &str) {
    for stage in [
        &mut ev.negotiation as &mut dyn SkipStage,
        &mut ev.tls,
        &mut ev.credssp,
    ] {
        stage.skip_if_not_run(why);
    }
    if ev.tcp.is_skipped() {
        ev.tcp = Stage::skipped(why);
    }
    // Only an authenticated check that was asked for (and so reset to "not run") gets the
    // reason; otherwise it keeps "no credentials given".
    if matches!(&ev.auth, Stage::Skipped { reason } if reason == "not run") {
        ev.auth = Stage::skipped(why);
    }
}

/// Mark a stage skipped unless it already ran.
trait SkipStage {
    fn skip_if_not_run(&mut self, why: &str);
}

impl<T> SkipStage for Stage<T> {
    fn skip_if_not_run(&mut self, why: &str) {
        if self.is_skipped() {
            *self = Stage::skipped(why);
        }
    }
}

fn hex_head(b: &[u8]) -> String {
    let n = b.len().min(16);
    format!(
        "{}{}",
        hex::encode(&b[..n]),
        if b.len() > n { "…" } else { "" }
    )
}
