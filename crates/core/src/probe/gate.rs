//! The hook a scan uses to pace the probe: every TCP connection the probe opens first waits
//! for its [`ConnectGate`]. `check` has none; `scan` plugs in a global token bucket so that a
//! thousand concurrent checks, each opening up to four connections, never exceed `--rate` new
//! connections per second (IDS thresholds and Windows' half-open connection throttling count
//! connections, not checks).

use std::fmt;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;

/// Something to wait on before opening a TCP connection.
pub trait ConnectGate: Send + Sync + fmt::Debug {
    /// Resolves when a new connection to `addr` may be opened. The wait is not part of the
    /// connect deadline: a stage's deadline measures the server, not our pacing.
    fn admit(&self, addr: SocketAddr) -> Pin<Box<dyn Future<Output = ()> + Send + '_>>;
}

/// Wait for the gate, when there is one.
pub async fn admit(gate: Option<&dyn ConnectGate>, addr: SocketAddr) {
    if let Some(g) = gate {
        g.admit(addr).await;
    }
}
