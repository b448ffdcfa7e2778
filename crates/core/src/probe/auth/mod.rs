//! Stage 6, auth: log on with the user's credentials and name the exact refusal.
//!
//! Error 0x904 / extended 0x7 only says "the server denied the connection"; the reason shows
//! only in a real logon. This stage runs one on its own connection, with ironrdp-connector
//! driven step by step so that the stage where the server stopped it is known:
//!
//! ```text
//! tcp ─► negotiation ─► tls ─► [certificate accepted?] ─► credssp ─► early user authorization
//!     ─► basic settings (MCS) ─► channel connection ─► Client Info ─► licensing
//!     ─► capabilities ─► finalization          (--auth-only stops after credssp)
//! ```
//!
//! What the server said is kept raw (NTSTATUS, SSPI status, Set Error Info, licensing error,
//! redirection, disconnect reason), because that is what the diagnosis needs and what the
//! connector reports as generic errors.
//!
//! Safety, in order: credentials are sent only inside TLS, only after the certificate of this
//! connection was accepted ([`trust`]), never to a CredSSP server without the CVE-2018-0886
//! fix ([`credssp`]), and never into evidence, reports or error messages ([`Password`]).
//!
//! When rustls cannot complete the handshake (TLS 1.0-only servers), the attempt is repeated
//! with the platform's TLS ([`legacy`]) and the evidence says so.

mod channel;
mod config;
mod credssp;
mod legacy;
mod progress;
mod raw;
mod secret;
mod session;
mod transport;
mod trust;

pub use credssp::MIN_SERVER_VERSION as MIN_SERVER_CREDSSP_VERSION;
pub use secret::Password;
pub use trust::normalize_sha256;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use ironrdp_connector::{ClientConnector, ClientConnectorState, Sequence as _};
use ironrdp_core::WriteBuf;
use ironrdp_pdu::nego::SecurityProtocol;
use tokio::net::TcpStream;

use self::progress::Progress;
use self::transport::{Backend, SecureStream};
use super::gate::ConnectGate;
use super::io::{classify, describe};
use super::tls::TrustAnchors;
use crate::Target;
use crate::evidence::{
    AuthAttempt, AuthOutcome, ConnectionStage, ErrorKind, Protocol, Stage, StageError, StageName,
};

/// What the authenticated check needs from the user.
#[derive(Clone, Debug, Default)]
pub struct AuthOptions {
    /// The account name without its domain (`labuser`, or a UPN `user@contoso.com`).
    pub user: String,
    pub domain: Option<String>,
    pub password: Password,
    /// Stop after CredSSP (and the Early User Authorization Result).
    pub auth_only: bool,
    /// Send credentials even when the certificate is not trusted (`--trust-server-cert`).
    pub trust_server_cert: bool,
    /// Send credentials only to the certificate with this SHA-256 thumbprint (normalized by
    /// [`normalize_sha256`]).
    pub cert_sha256: Option<String>,
    /// Deadline for each exchange; zero means the default (10 s).
    pub timeout: Duration,
}

impl AuthOptions {
    /// The account as it is shown in reports: `DOMAIN\user` or `user`.
    pub fn account(&self) -> String {
        match &self.domain {
            Some(d) if !d.is_empty() => format!("{d}\\{}", self.user),
            _ => self.user.clone(),
        }
    }
}

/// Split `DOMAIN\user` into its parts; `--domain` may give the domain instead, but not a
/// different one. A UPN (`user@contoso.com`) is kept whole: NTLM takes it as it is.
pub fn split_user(input: &str, domain: Option<&str>) -> Result<(String, Option<String>), String> {
    let domain = domain.map(str::trim).filter(|d| !d.is_empty());
    let (from_input, user) = match input.split_once('\\') {
        Some((d, u)) => (Some(d.trim()), u.trim()),
        None => (None, input.trim()),
    };
    if user.is_empty() {
        return Err("the user name is empty".into());
    }
    match (from_input, domain) {
        (Some(a), Some(b)) if !a.eq_ignore_ascii_case(b) => Err(format!(
            "the user name names the domain {a} but --domain says {b}"
        )),
        (Some(d), _) | (None, Some(d)) => Ok((user.to_string(), Some(d.to_string()))),
        (None, None) => Ok((user.to_string(), None)),
    }
}

/// The default deadline for each exchange of the attempt.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// Log on to `address` (the address the probe reached) as the user. Never fails: every
/// outcome, a refusal included, is evidence.
pub async fn run(
    target: &Target,
    address: SocketAddr,
    options: &AuthOptions,
    trust: &TrustAnchors,
    cookie: Option<&str>,
    gate: Option<&dyn ConnectGate>,
) -> Stage<AuthAttempt> {
    let started = Instant::now();
    let env = Env {
        target,
        address,
        options,
        trust,
        cookie,
        gate,
    };
    let mut run = Run::new(options);
    let mut result = attempt(&mut run, &env, Backend::Rustls).await;
    if let Err(stop) = &result
        && let Some(tls_error) = &stop.tls_error
        && transport::worth_a_fallback(tls_error)
    {
        let reason = format!("rustls: {}", tls_error.message);
        run = Run::new(options);
        result = attempt(&mut run, &env, Backend::Legacy).await;
        if let Some(tls) = run.attempt.tls.as_mut() {
            tls.fallback_reason = Some(reason.clone());
        } else if let Err(stop) = &mut result {
            stop.message = format!("{reason}; then {}", stop.message);
        }
    }
    run.finish(result, started.elapsed())
}

/// What stays the same across the rustls and the fallback attempt.
struct Env<'a> {
    target: &'a Target,
    address: SocketAddr,
    options: &'a AuthOptions,
    trust: &'a TrustAnchors,
    cookie: Option<&'a str>,
    /// The probe's pacing of new connections (`scan --rate`).
    gate: Option<&'a dyn ConnectGate>,
}

/// One attempt under way: what it learnt so far and where it is.
pub(crate) struct Run<'a> {
    pub attempt: AuthAttempt,
    pub progress: Progress,
    pub deadline: Duration,
    password: &'a Password,
}

impl<'a> Run<'a> {
    fn new(options: &'a AuthOptions) -> Run<'a> {
        Run {
            attempt: AuthAttempt {
                user: Some(options.account()),
                auth_only: options.auth_only,
                ..AuthAttempt::default()
            },
            progress: Progress::new(),
            deadline: if options.timeout.is_zero() {
                DEFAULT_TIMEOUT
            } else {
                options.timeout
            },
            password: &options.password,
        }
    }

    /// The stage result: completed for a session, an `--auth-only` logon or a redirection;
    /// failed (with everything learnt) otherwise.
    fn finish(mut self, result: Result<(), Stop>, elapsed: Duration) -> Stage<AuthAttempt> {
        match &result {
            Ok(()) => self.progress.complete(),
            Err(_) => self.progress.stop(),
        }
        self.attempt.stage_reached = self.progress.reached().map(|s| s.as_str().to_string());
        self.attempt.stopped_in = self.progress.stopped_in().map(|s| s.as_str().to_string());
        self.attempt.stages = self.progress.into_timings();
        if self.attempt.protocol == Some(Protocol::Ssl) && self.attempt.credentials_sent {
            self.attempt.caveats.push(
                "the server does not use NLA: the password went in the Client Info PDU and is checked by the server's own logon screen, after the connection sequence this check follows; a completed sequence does not prove the password is right"
                    .into(),
            );
        }
        match result {
            Ok(()) => Stage::ok(elapsed, self.attempt),
            Err(stop) => {
                if self.attempt.outcome == AuthOutcome::Unknown {
                    self.attempt.outcome = stop.outcome;
                }
                let mut error = StageError::new(
                    StageName::Auth,
                    stop.kind,
                    elapsed,
                    self.password.redact(&stop.message),
                );
                error.code = stop.code.map(|c| self.password.redact(&c));
                Stage::failed_with(error, self.attempt)
            }
        }
    }
}

/// Why an attempt stopped.
#[derive(Debug)]
pub(crate) struct Stop {
    pub kind: ErrorKind,
    pub outcome: AuthOutcome,
    /// For humans; scrubbed of the password before it becomes evidence.
    pub message: String,
    pub code: Option<String>,
    /// The TLS handshake failed: another backend may succeed (boxed: rarely there, and large).
    pub tls_error: Option<Box<StageError>>,
}

impl Stop {
    pub(crate) fn new(kind: ErrorKind, outcome: AuthOutcome, message: impl Into<String>) -> Stop {
        Stop {
            kind,
            outcome,
            message: message.into(),
            code: None,
            tls_error: None,
        }
    }

    pub(crate) fn with_code(mut self, code: impl Into<String>) -> Stop {
        self.code = Some(code.into());
        self
    }

    pub(crate) fn io(e: &std::io::Error, during: &str) -> Stop {
        let kind = classify(e);
        let message = match kind {
            ErrorKind::Closed => format!("the server closed the connection during {during}"),
            _ => format!("during {during}: {}", describe(e)),
        };
        Stop::new(kind, AuthOutcome::Failed, message)
    }

    pub(crate) fn timeout(during: &str, deadline: Duration) -> Stop {
        Stop::new(
            ErrorKind::Timeout,
            AuthOutcome::Failed,
            format!(
                "no answer during {during} within {} ms",
                deadline.as_millis()
            ),
        )
    }
}

/// The TLS channel the logon and the connection sequence run in.
pub(crate) type Channel = channel::Channel<SecureStream>;

/// One attempt from the TCP connection on, with one TLS backend.
async fn attempt(run: &mut Run<'_>, env: &Env<'_>, backend: Backend) -> Result<(), Stop> {
    let deadline = run.deadline;
    super::gate::admit(env.gate, env.address).await;
    run.progress.enter(ConnectionStage::Tcp);
    let tcp = match tokio::time::timeout(deadline, TcpStream::connect(env.address)).await {
        Err(_) => return Err(Stop::timeout("the TCP connection", deadline)),
        Ok(Err(e)) => return Err(Stop::io(&e, "the TCP connection")),
        Ok(Ok(tcp)) => tcp,
    };
    let _ = tcp.set_nodelay(true);
    let client_addr = tcp
        .local_addr()
        .map_err(|e| Stop::io(&e, "the TCP connection"))?;

    run.progress.enter(ConnectionStage::Negotiation);
    let mut plain = channel::Channel::new(tcp, "the security negotiation");
    let mut connector = ClientConnector::new(
        config::connector_config(env.options, env.cookie),
        client_addr,
    );
    negotiate(&mut plain, &mut connector, deadline).await?;
    let selected = match &connector.state {
        ClientConnectorState::EnhancedSecurityUpgrade { selected_protocol } => *selected_protocol,
        _ => SecurityProtocol::empty(),
    };
    run.attempt.protocol = protocol_of(selected);
    let tcp = plain.into_inner();

    run.progress.enter(ConnectionStage::Tls);
    let secured = transport::handshake(backend, tcp, &env.target.host, deadline)
        .await
        .map_err(|e| Stop {
            kind: e.kind,
            outcome: AuthOutcome::Failed,
            message: e.message.clone(),
            code: e.code.clone(),
            tls_error: (backend == Backend::Rustls).then(|| Box::new(e)),
        })?;
    run.attempt.tls = Some(secured.tls.clone());
    run.progress.complete();
    let acceptance = trust::decide(
        &secured.chain,
        env.target,
        env.trust,
        env.options,
        chrono::Utc::now(),
    );
    let accepted = acceptance.accepted;
    let problems = acceptance.problems.join("; ");
    run.attempt.certificate = Some(acceptance);
    if !accepted {
        return Err(Stop::new(
            ErrorKind::Unsupported,
            AuthOutcome::Withheld,
            format!(
                "credentials were not sent: the server's certificate is not trusted ({problems}). NTLM responses sent to an impostor can be cracked offline; verify the certificate, then pass --cert-sha256 with its thumbprint or --trust-server-cert"
            ),
        )
        .with_code("certificate not accepted"));
    }
    let public_key = secured
        .chain
        .first()
        .map(|leaf| transport::subject_public_key(leaf))
        .unwrap_or_else(|| Err("no certificate".into()))
        .map_err(|m| Stop::new(ErrorKind::Protocol, AuthOutcome::Failed, m))?;
    connector.mark_security_upgrade_as_done();
    let mut channel = Channel::new(secured.stream, "the logon");

    if connector.should_perform_credssp() {
        let logon = credssp::Logon {
            credentials: connector.config.credentials.clone(),
            domain: env.options.domain.as_deref(),
            selected,
            server_name: &env.target.host,
            public_key,
        };
        credssp::perform(run, &mut channel, logon).await?;
        connector.mark_credssp_as_done();
    } else if env.options.auth_only {
        return Err(Stop::new(
            ErrorKind::Unsupported,
            AuthOutcome::Withheld,
            "the server does not use NLA (it selected TLS only), so there is no logon to test before the session: credentials are checked on the server's logon screen. Run without --auth-only to follow the connection sequence",
        ));
    }
    if env.options.auth_only {
        run.progress.complete();
        run.attempt.outcome = AuthOutcome::Authenticated;
        return Ok(());
    }
    channel.during = "the connection sequence";
    session::finish(run, &mut channel, &mut connector).await
}

/// The X.224 Connection Request and Confirm, up to the point where TLS starts.
async fn negotiate(
    plain: &mut channel::Channel<TcpStream>,
    connector: &mut ClientConnector,
    deadline: Duration,
) -> Result<(), Stop> {
    let mut buf = WriteBuf::new();
    while !connector.should_perform_security_upgrade() {
        let input = match connector.next_pdu_hint() {
            Some(hint) => plain.read(hint, deadline).await?,
            None => Vec::new(),
        };
        buf.clear();
        let written = connector
            .step(&input, None, &mut buf)
            .map_err(|e| negotiation_failure(&e))?;
        if let Some(n) = written.size() {
            plain.write(&buf[..n], deadline).await?;
        }
    }
    Ok(())
}

/// A failed X.224 negotiation: an RDP_NEG_FAILURE code, or no usable answer.
fn negotiation_failure(e: &ironrdp_connector::ConnectorError) -> Stop {
    if let ironrdp_connector::ConnectorErrorKind::Negotiation(failure) = e.kind() {
        let code = u32::from(failure.code());
        let name = rdpdoctor_kb::codes::neg_failure(code)
            .map(|c| c.name.clone())
            .unwrap_or_else(|| format!("RDP_NEG_FAILURE {code}"));
        return Stop::new(
            ErrorKind::Refusal,
            AuthOutcome::Failed,
            format!("the server refused the security negotiation: {name}"),
        )
        .with_code(name);
    }
    Stop::new(
        ErrorKind::Protocol,
        AuthOutcome::Failed,
        format!("the security negotiation failed: {e}"),
    )
}

fn protocol_of(selected: SecurityProtocol) -> Option<Protocol> {
    if selected.contains(SecurityProtocol::HYBRID_EX) {
        Some(Protocol::HybridEx)
    } else {
        Protocol::from_selected(selected.bits())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domain_and_user_are_split_and_checked() {
        assert_eq!(
            split_user("RDPLAB\\labuser", None).unwrap(),
            ("labuser".into(), Some("RDPLAB".into()))
        );
        assert_eq!(
            split_user("labuser", Some("RDPLAB")).unwrap(),
            ("labuser".into(), Some("RDPLAB".into()))
        );
        assert_eq!(
            split_user("rdplab\\labuser", Some("RDPLAB")).unwrap().1,
            Some("rdplab".into())
        );
        assert!(split_user("A\\labuser", Some("B")).is_err());
        assert!(split_user("A\\", None).is_err());
        assert_eq!(
            split_user("user@contoso.com", None).unwrap(),
            ("user@contoso.com".into(), None)
        );
    }

    #[test]
    fn options_debug_never_shows_the_password() {
        let o = AuthOptions {
            user: "labuser".into(),
            password: Password::new("LabPass123!".into()),
            ..Default::default()
        };
        assert!(!format!("{o:?}").contains("LabPass123!"));
        assert_eq!(o.account(), "labuser");
    }

    /// The probe may be spawned onto a multi-threaded runtime (scan).
    #[tokio::test]
    async fn a_check_with_credentials_can_be_spawned() {
        let options = crate::probe::ProbeOptions {
            auth: Some(AuthOptions::default()),
            ..Default::default()
        };
        let prober = crate::probe::Prober::new(options, TrustAnchors::platform());
        let handle = tokio::spawn(async move {
            let target = Target::parse("127.0.0.1:1").unwrap();
            prober.check(&target).await
        });
        let report = handle.await.unwrap();
        assert!(report.evidence.auth.is_skipped());
    }
}
