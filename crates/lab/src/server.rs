//! One accepted connection, played according to its endpoint's scenario.
//!
//! The RDP scenarios share one pipeline (negotiation, TLS, CredSSP, connection sequence) and
//! differ in the knobs of [`Behaviour`]; the transport faults and hostile servers branch off
//! before it.

use std::io;
use std::sync::Arc;

use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tracing::debug;

use crate::certs::{CertProfile, TlsMaterial};
use crate::credssp::{
    CredsspOutcome, CredsspServer, EARLY_USER_AUTH_ACCESS_DENIED, EARLY_USER_AUTH_SUCCESS,
};
use crate::faults::{self, Trickle};
use crate::hostile;
use crate::identity::{LabCredentials, ServerIdentity};
use crate::negotiation::{
    self, Decision, MCS_DISCONNECT_ULTIMATUM, PROTOCOL_HYBRID, PROTOCOL_HYBRID_EX, PROTOCOL_RDP,
    Policy,
};
use crate::scenario::Scenario;
use crate::session::{self, AfterLogon};

/// What every endpoint of a lab shares.
pub(crate) struct Shared {
    pub account: LabCredentials,
    pub identity: ServerIdentity,
}

/// One listening endpoint.
pub(crate) struct EndpointContext {
    pub scenario: Scenario,
    pub tls: Option<Arc<TlsMaterial>>,
    pub shared: Arc<Shared>,
}

/// The certificate a scenario serves, `None` for scenarios that never reach TLS.
pub(crate) fn cert_profile(scenario: &Scenario) -> Option<CertProfile> {
    match scenario {
        Scenario::CertExpired => Some(CertProfile::Expired),
        Scenario::CertNotYetValid => Some(CertProfile::NotYetValid),
        Scenario::CertWrongName => Some(CertProfile::WrongName),
        Scenario::CertSelfSigned => Some(CertProfile::SelfSigned),
        Scenario::CertExpiringSoon => Some(CertProfile::ExpiringSoon),
        Scenario::RdpOnly
        | Scenario::CertNotOnServer
        | Scenario::Silent
        | Scenario::Reset
        | Scenario::Http
        | Scenario::TlsReset
        | Scenario::TlsDisconnect => None,
        Scenario::Hostile(h) => h.needs_tls().then_some(CertProfile::Valid),
        _ => Some(CertProfile::Valid),
    }
}

/// How a TLS handshake is broken on purpose.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum TlsFault {
    Reset,
    PlaintextDisconnect,
}

/// The knobs of the RDP pipeline.
struct Behaviour {
    policy: Policy,
    tls_fault: Option<TlsFault>,
    credssp_version: u32,
    reject_with: Option<u32>,
    /// Answer HYBRID_EX clients with AUTHZ_ACCESS_DENIED after CredSSP.
    early_auth_denied: bool,
    after_logon: AfterLogon,
}

impl Behaviour {
    fn of(scenario: &Scenario, shared: &Shared) -> Self {
        let mut b = Behaviour {
            policy: Policy::Negotiate,
            tls_fault: None,
            credssp_version: 6,
            reject_with: None,
            early_auth_denied: false,
            after_logon: AfterLogon::Complete,
        };
        match scenario {
            Scenario::TlsOnly => b.policy = Policy::TlsOnly,
            Scenario::NlaRequired => b.policy = Policy::NlaRequired,
            Scenario::RdpOnly => b.policy = Policy::RdpOnly,
            Scenario::CertNotOnServer => b.policy = Policy::NoCertificate,
            Scenario::Xrdp => b.policy = Policy::XrdpNegotiate,
            Scenario::FreeRdpNla => b.policy = Policy::FreeRdpNla,
            Scenario::TlsReset => b.tls_fault = Some(TlsFault::Reset),
            Scenario::TlsDisconnect => b.tls_fault = Some(TlsFault::PlaintextDisconnect),
            Scenario::Credssp { version } => b.credssp_version = *version,
            Scenario::LogonError { status } => b.reject_with = Some(*status),
            Scenario::DenyLogin { error_info } => {
                b.after_logon = AfterLogon::Deny {
                    error_info: *error_info,
                }
            }
            Scenario::LicensingError { error_info } => {
                b.after_logon = AfterLogon::LicensingError {
                    error_info: *error_info,
                }
            }
            Scenario::Redirect { target } => {
                b.after_logon = AfterLogon::Redirect(Box::new(session::redirection_to(
                    target,
                    &shared.account.username,
                    &shared.identity.netbios_domain,
                )))
            }
            Scenario::EarlyAuthDenied => {
                b.early_auth_denied = true;
                // Clients without HYBRID_EX learn it after the Client Info PDU instead.
                b.after_logon = AfterLogon::Deny {
                    error_info: ERRINFO_SERVER_INSUFFICIENT_PRIVILEGES,
                };
            }
            _ => {}
        }
        b
    }
}

/// Set Error Info for a user without the right to log on remotely.
const ERRINFO_SERVER_INSUFFICIENT_PRIVILEGES: u32 = 0x9;

/// A stream the lab can also close with a TCP reset.
pub(crate) trait LabStream: AsyncRead + AsyncWrite + Unpin + 'static {
    fn reset(self);
}

impl LabStream for TcpStream {
    fn reset(self) {
        faults::reset(self);
    }
}

impl LabStream for Trickle<TcpStream> {
    fn reset(self) {
        faults::reset(self.into_inner());
    }
}

pub(crate) async fn handle(
    stream: TcpStream,
    ctx: &EndpointContext,
) -> Result<(), Box<dyn std::error::Error>> {
    let _ = stream.set_nodelay(true);
    match &ctx.scenario {
        Scenario::Silent => faults::swallow(stream).await,
        Scenario::Reset => faults::reset_soon(stream).await,
        Scenario::Http => faults::http(stream).await?,
        Scenario::Hostile(h) => hostile::serve(*h, stream, ctx).await?,
        Scenario::Slow { byte_interval } => {
            let behaviour = Behaviour::of(&Scenario::Healthy, &ctx.shared);
            rdp(Trickle::new(stream, *byte_interval), ctx, behaviour).await?;
        }
        scenario => rdp(stream, ctx, Behaviour::of(scenario, &ctx.shared)).await?,
    }
    Ok(())
}

/// Reads one TLS record (the ClientHello, in practice), header and body.
pub(crate) async fn read_tls_record<S: AsyncRead + Unpin>(stream: &mut S) -> io::Result<Vec<u8>> {
    let mut header = [0u8; 5];
    stream.read_exact(&mut header).await?;
    let len = usize::from(u16::from_be_bytes([header[3], header[4]]));
    let mut record = vec![0u8; 5 + len];
    record[..5].copy_from_slice(&header);
    stream.read_exact(&mut record[5..]).await?;
    Ok(record)
}

/// Answers the Connection Request according to `policy`. `Ok(Some((selected, request)))` when
/// a protocol was selected and the connection goes on.
pub(crate) async fn negotiate<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    policy: Policy,
) -> io::Result<Option<(u32, Vec<u8>)>> {
    let Some(tpkt) = negotiation::read_tpkt(stream).await? else {
        return Ok(None);
    };
    let request = negotiation::parse_connection_request(&tpkt).ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            "not an X.224 Connection Request",
        )
    })?;
    let decision = policy.decide(request.requested);
    stream
        .write_all(&negotiation::connection_confirm(
            decision,
            request.requested.is_some(),
            policy.flavor(),
        ))
        .await?;
    stream.flush().await?;
    match decision {
        Decision::Fail(code) => {
            debug!(code, "negotiation failure sent");
            Ok(None)
        }
        Decision::Select(selected) => Ok(Some((selected, request.raw))),
    }
}

/// After RDP_NEG_FAILURE the server leaves the closing to the client. When the client closes,
/// the connection is aborted, as Windows does (`rdp-proprietary-encryption.pcap`: client FIN,
/// server ACK and RST). When the client sends more anyway (sslscan starts TLS whatever the
/// answer), the bytes are read and the connection closed, as xrdp does: a client that only
/// waits for a reply then sees a clean end instead of writing into a reset (sslscan 2.0.7 dies
/// of SIGPIPE on that).
async fn after_failure<S: LabStream>(mut stream: S) {
    let mut buf = vec![0u8; 16 * 1024];
    match tokio::time::timeout(FAILURE_LINGER, stream.read(&mut buf)).await {
        Ok(Ok(n)) if n > 0 => {
            let brief = std::time::Duration::from_millis(50);
            while let Ok(Ok(n)) = tokio::time::timeout(brief, stream.read(&mut buf)).await {
                if n == 0 {
                    break;
                }
            }
            let _ = stream.shutdown().await;
        }
        _ => stream.reset(),
    }
}

/// How long a refused connection is kept open for the client to close it.
const FAILURE_LINGER: std::time::Duration = std::time::Duration::from_secs(30);

async fn rdp<S: LabStream>(
    mut stream: S,
    ctx: &EndpointContext,
    b: Behaviour,
) -> Result<(), Box<dyn std::error::Error>> {
    let Some((selected, request)) = negotiate(&mut stream, b.policy).await? else {
        after_failure(stream).await;
        return Ok(());
    };
    if selected == PROTOCOL_RDP {
        // Standard RDP Security (RC4 and the proprietary certificate) is not implemented: the
        // client's MCS Connect Initial gets a disconnect, as from a server that gave up.
        let _ = negotiation::read_tpkt(&mut stream).await;
        stream.write_all(&MCS_DISCONNECT_ULTIMATUM).await?;
        stream.shutdown().await?;
        return Ok(());
    }
    if let Some(fault) = b.tls_fault {
        read_tls_record(&mut stream).await?;
        if fault == TlsFault::PlaintextDisconnect {
            stream.write_all(&MCS_DISCONNECT_ULTIMATUM).await?;
            stream.flush().await?;
        }
        stream.reset();
        return Ok(());
    }

    let mut acceptor = session::acceptor_for(selected, &request)?;
    let tls = ctx
        .tls
        .as_ref()
        .ok_or("TLS scenario without a certificate")?;
    let mut stream = tokio_rustls::TlsAcceptor::from(Arc::clone(&tls.config))
        .accept(stream)
        .await?;
    acceptor.mark_security_upgrade_as_done();

    if selected & (PROTOCOL_HYBRID | PROTOCOL_HYBRID_EX) != 0 {
        let server = CredsspServer {
            version: b.credssp_version,
            account: &ctx.shared.account,
            identity: &ctx.shared.identity,
            public_key: &tls.public_key,
            reject_with: b.reject_with,
        };
        match server.accept(&mut stream).await? {
            CredsspOutcome::Authenticated { user, domain } => {
                debug!(%user, %domain, "CredSSP logon")
            }
            CredsspOutcome::Rejected(status) => {
                debug!(
                    status = format_args!("{status:#010x}"),
                    "CredSSP logon refused"
                );
                stream.shutdown().await?;
                return Ok(());
            }
        }
        if selected & PROTOCOL_HYBRID_EX != 0 {
            if b.early_auth_denied {
                stream.write_all(&EARLY_USER_AUTH_ACCESS_DENIED).await?;
                stream.flush().await?;
                stream.shutdown().await?;
                return Ok(());
            }
            stream.write_all(&EARLY_USER_AUTH_SUCCESS).await?;
            stream.flush().await?;
        }
        acceptor.mark_credssp_as_done();
    }
    let end = session::run(stream, acceptor, &b.after_logon).await?;
    debug!(?end, "session ended");
    Ok(())
}
