//! Starting and stopping a lab: listeners, certificates and the runtime thread.
//!
//! A lab runs on a thread of its own with a current-thread tokio runtime and a `LocalSet`:
//! ironrdp-acceptor's futures are `!Send`, and one thread is plenty for loopback tests. The
//! thread also makes the lab independent of the caller: a synchronous test, an async test on any
//! runtime flavour and the CLI all start it the same way, and dropping the [`Lab`] stops it.
//! Listeners are bound before [`Lab::start`] returns, so a bind error is reported to the caller
//! and every endpoint accepts connections as soon as the lab exists.

use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener as StdListener};
use std::rc::Rc;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tracing::{debug, warn};

use crate::certs::CertFactory;
use crate::error::LabError;
use crate::identity::{LabCredentials, ServerIdentity};
use crate::scenario::Scenario;
use crate::server::{self, EndpointContext, Shared};

/// Where and as whom a lab listens.
#[derive(Clone, Debug)]
pub struct LabConfig {
    /// Address every endpoint of [`Lab::start`] binds to. Loopback only, in practice.
    pub bind: IpAddr,
    /// `Some(p)`: the i-th scenario listens on `p + i`. `None`: ports chosen by the OS (what
    /// parallel tests want).
    pub base_port: Option<u16>,
    /// The account the NLA scenarios accept.
    pub credentials: LabCredentials,
    /// The Windows host the lab imitates.
    pub identity: ServerIdentity,
}

impl Default for LabConfig {
    fn default() -> Self {
        Self {
            bind: IpAddr::V4(Ipv4Addr::LOCALHOST),
            base_port: None,
            credentials: LabCredentials::default(),
            identity: ServerIdentity::default(),
        }
    }
}

/// One listening scenario.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    pub scenario: Scenario,
    /// The TCP address to connect to.
    pub addr: SocketAddr,
    /// The MS-RDPEUDP address of the same scenario. Always `None` until the UDP SYN responder
    /// exists (see the `udp` module).
    pub udp: Option<SocketAddr>,
}

/// A running lab. Dropping it (or [`Lab::shutdown`]) closes every listener and connection.
pub struct Lab {
    endpoints: Vec<Endpoint>,
    ca_pem: String,
    ca_der: Vec<u8>,
    credentials: LabCredentials,
    identity: ServerIdentity,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Lab {
    /// Starts `scenarios` on `config.bind`, one port each.
    pub fn start(scenarios: &[Scenario], config: LabConfig) -> Result<Lab, LabError> {
        let mut placements = Vec::with_capacity(scenarios.len());
        for (index, scenario) in scenarios.iter().enumerate() {
            let port = match config.base_port {
                None => 0,
                Some(base) => u16::try_from(usize::from(base) + index)
                    .map_err(|_| LabError::PortRange { base, index })?,
            };
            placements.push((scenario.clone(), SocketAddr::new(config.bind, port)));
        }
        Lab::start_at(placements, config)
    }

    /// Starts each scenario on its own address, for fleets: a scan test can put a few hundred
    /// scenarios on as many 127.x.y.z addresses (port 0 still means "any port"). Linux answers
    /// on all of 127.0.0.0/8 without configuration; other systems may need the addresses added
    /// to the loopback interface. `config.bind` and `config.base_port` are not used.
    pub fn start_at(
        placements: impl IntoIterator<Item = (Scenario, SocketAddr)>,
        config: LabConfig,
    ) -> Result<Lab, LabError> {
        let shared = Arc::new(Shared {
            account: config.credentials.clone(),
            identity: config.identity.clone(),
        });
        let mut certs = CertFactory::new(Arc::new(config.identity.clone()))?;
        let mut listeners = Vec::new();
        let mut endpoints = Vec::new();
        for (scenario, addr) in placements {
            let listener =
                StdListener::bind(addr).map_err(|source| LabError::Bind { addr, source })?;
            listener
                .set_nonblocking(true)
                .map_err(|source| LabError::Bind { addr, source })?;
            let local = listener
                .local_addr()
                .map_err(|source| LabError::Bind { addr, source })?;
            let tls = server::cert_profile(&scenario)
                .map(|profile| certs.material(profile, local.ip()))
                .transpose()?;
            endpoints.push(Endpoint {
                scenario: scenario.clone(),
                addr: local,
                udp: None,
            });
            listeners.push((
                listener,
                EndpointContext {
                    scenario,
                    tls,
                    shared: Arc::clone(&shared),
                },
            ));
        }

        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(LabError::Runtime)?;
        let (stop, stopped) = oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("rdpdoctor-lab".to_owned())
            .spawn(move || {
                let local = tokio::task::LocalSet::new();
                local.block_on(&runtime, async move {
                    for (listener, ctx) in listeners {
                        match TcpListener::from_std(listener) {
                            Ok(listener) => {
                                tokio::task::spawn_local(accept_loop(listener, Rc::new(ctx)));
                            }
                            Err(e) => warn!(error = %e, "lab listener lost"),
                        }
                    }
                    let _ = stopped.await;
                });
                // Dropping the LocalSet and the runtime here cancels every connection task and
                // closes its socket.
            })
            .map_err(LabError::Runtime)?;

        Ok(Lab {
            endpoints,
            ca_pem: certs.ca_pem().to_owned(),
            ca_der: certs.ca_der().to_vec(),
            credentials: config.credentials,
            identity: config.identity,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// Every endpoint, in the order the scenarios were given.
    pub fn endpoints(&self) -> &[Endpoint] {
        &self.endpoints
    }

    /// The first endpoint playing the scenario named `name`.
    pub fn endpoint(&self, name: &str) -> Option<&Endpoint> {
        self.endpoints.iter().find(|e| e.scenario.name() == name)
    }

    /// The lab CA that issued the certificates (PEM): trust it to validate the healthy
    /// endpoints fully. Self-signed scenarios are not under it.
    pub fn ca_certificate_pem(&self) -> &str {
        &self.ca_pem
    }

    /// The lab CA certificate (DER).
    pub fn ca_certificate_der(&self) -> &[u8] {
        &self.ca_der
    }

    /// The account the NLA scenarios accept.
    pub fn credentials(&self) -> &LabCredentials {
        &self.credentials
    }

    /// The host the lab imitates.
    pub fn identity(&self) -> &ServerIdentity {
        &self.identity
    }

    /// Stops the lab and waits for its thread. Same as dropping it.
    pub fn shutdown(self) {}
}

impl Drop for Lab {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl std::fmt::Debug for Lab {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lab")
            .field("endpoints", &self.endpoints)
            .finish_non_exhaustive()
    }
}

async fn accept_loop(listener: TcpListener, ctx: Rc<EndpointContext>) {
    loop {
        match listener.accept().await {
            Ok((stream, peer)) => {
                let ctx = Rc::clone(&ctx);
                tokio::task::spawn_local(async move {
                    if let Err(e) = server::handle(stream, &ctx).await {
                        debug!(scenario = %ctx.scenario, %peer, error = %e, "connection ended with an error");
                    }
                });
            }
            Err(e) => {
                // Out of file descriptors, most likely: back off instead of spinning.
                warn!(scenario = %ctx.scenario, error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}
