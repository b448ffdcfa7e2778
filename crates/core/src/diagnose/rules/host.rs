//! Rules on offline evidence from the server or the client machine (`evidence.host`): event
//! logs, registry values and certificate files.
//!
//! Confidence follows the strength of the evidence and its age: an event seen in the last
//! week counts fully, one from the last month one step less, anything older is "low" (it may
//! describe a problem fixed long ago). Age is measured from `options.now`, never the clock.
//! When live evidence is present too, rules say so and agree with it rather than repeat it.

use chrono::{DateTime, Utc};

use super::{Detection, Rule, RuleContext};
use crate::diagnose::Confidence;
use crate::evidence::{
    Counted, DisconnectLog, EventSource, HostEvidence, ProtocolState, RegValue, RegistrySetting,
    SettingOrigin,
};
use crate::offline::codes::{LogonFailureKind, ntstatus, parse_status};
use rdpdoctor_kb::Severity;

pub static RULES: &[Rule] = &[
    Rule {
        cause: "rdp-disabled",
        evaluate: rdp_disabled,
    },
    Rule {
        cause: "machinekeys-broken",
        evaluate: machinekeys_broken,
    },
    Rule {
        cause: "cert-expired",
        evaluate: listener_certificate_expired,
    },
    Rule {
        cause: "cipher-mismatch",
        evaluate: no_shared_cipher,
    },
    Rule {
        cause: "tls-version-mismatch",
        evaluate: tls12_disabled,
    },
    Rule {
        cause: "weak-tls",
        evaluate: legacy_protocols_enabled,
    },
    Rule {
        cause: "schannel-failures",
        evaluate: schannel_failures,
    },
    Rule {
        cause: "credssp-oracle",
        evaluate: credssp_refused,
    },
    Rule {
        cause: "server-denied-connection",
        evaluate: server_denied,
    },
    Rule {
        cause: "connection-throttling",
        evaluate: throttling,
    },
    Rule {
        cause: "account-locked",
        evaluate: account_locked,
    },
    Rule {
        cause: "account-restricted",
        evaluate: account_restricted,
    },
    Rule {
        cause: "logon-right-missing",
        evaluate: logon_right_missing,
    },
    Rule {
        cause: "credentials-rejected",
        evaluate: credentials_rejected,
    },
    Rule {
        cause: "brute-force",
        evaluate: brute_force,
    },
    Rule {
        cause: "udp-unavailable",
        evaluate: udp_off_by_configuration,
    },
    Rule {
        cause: "policy-conflict",
        evaluate: policy_conflict,
    },
];

// ---- shared helpers ---------------------------------------------------------------------------

fn host<'a>(ctx: &RuleContext<'a>) -> Option<&'a HostEvidence> {
    ctx.evidence.host.as_ref()
}

fn lower(c: Confidence) -> Confidence {
    match c {
        Confidence::High => Confidence::Medium,
        _ => Confidence::Low,
    }
}

/// Recent events count fully; older ones less (see the module documentation).
fn weigh(base: Confidence, last: DateTime<Utc>, now: DateTime<Utc>) -> Confidence {
    let days = (now - last).num_days();
    if days <= 7 {
        base
    } else if days <= 30 {
        lower(base)
    } else {
        Confidence::Low
    }
}

/// "last 2018-08-07 19:35 UTC, 3 days before the analysis".
fn when(last: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let t = last.format("%Y-%m-%d %H:%M UTC");
    let days = (now - last).num_days();
    match days {
        d if d < 0 => format!("last {t}, after the analysis time (check the clocks)"),
        0 => format!("last {t}, today"),
        1 => format!("last {t}, 1 day before the analysis"),
        d => format!("last {t}, {d} days before the analysis"),
    }
}

fn latest(times: impl IntoIterator<Item = DateTime<Utc>>) -> Option<DateTime<Utc>> {
    times.into_iter().max()
}

fn setting<'a>(h: &'a HostEvidence, name: &str) -> Option<&'a RegistrySetting> {
    h.registry_setting(name)
}

fn top_keys(list: &[Counted], n: usize) -> String {
    list.iter()
        .take(n)
        .map(|c| format!("{} ×{}", c.key, c.count))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Failed-logon statuses of one kind, most frequent first.
fn failures_of(h: &HostEvidence, kind: LogonFailureKind) -> Vec<&crate::evidence::StatusCount> {
    h.logons
        .by_status
        .iter()
        .filter(|s| parse_status(&s.status).is_some_and(|c| ntstatus(c).1 == kind))
        .collect()
}

fn status_lines(
    d: Detection,
    list: &[&crate::evidence::StatusCount],
    now: DateTime<Utc>,
) -> Detection {
    list.iter().fold(d, |d, s| {
        let who = match (&s.last_user, &s.last_source_ip) {
            (Some(u), Some(ip)) => format!("; last {u} from {ip}"),
            (Some(u), None) => format!("; last {u}"),
            (None, Some(ip)) => format!("; last from {ip}"),
            (None, None) => String::new(),
        };
        d.evidence(format!(
            "Security 4625: {} ×{} ({}{who}), {}",
            s.status,
            s.count,
            s.meaning,
            when(s.last, now)
        ))
    })
}

/// LocalSessionManager 40 disconnects with a given reason.
fn lsm_reason(h: &HostEvidence, code: u32) -> Option<&crate::evidence::DisconnectCount> {
    h.disconnects
        .iter()
        .find(|d| d.log == DisconnectLog::LocalSessionManager && d.code == code)
}

// ---- rules ----------------------------------------------------------------------------------

/// fDenyTSConnections = 1 (effective), the listener disabled (fEnableWinStation = 0), or the
/// terminal server switched off (TSEnabled = 0).
fn rdp_disabled(ctx: &RuleContext<'_>) -> Option<Detection> {
    let h = host(ctx)?;
    let mut lines = Vec::new();
    let mut strong = false;
    if let Some(s) = setting(h, "fDenyTSConnections").filter(|s| s.effective.as_dword() == Some(1))
    {
        strong = true;
        lines.push(format!(
            "{}: Remote Desktop connections are denied",
            s.describe()
        ));
    }
    if let Some(s) = setting(h, "fEnableWinStation").filter(|s| s.effective.as_dword() == Some(0)) {
        strong = true;
        lines.push(format!(
            "{}: the RDP-Tcp listener is disabled",
            s.describe()
        ));
    }
    if let Some(s) = setting(h, "TSEnabled").filter(|s| s.effective.as_dword() == Some(0)) {
        lines.push(format!("{}: the terminal server is disabled", s.describe()));
    }
    if lines.is_empty() {
        return None;
    }
    let d = Detection::new(
        if strong {
            Confidence::High
        } else {
            Confidence::Medium
        },
        "The server's registry switches Remote Desktop off, so nothing accepts connections.",
    );
    Some(lines.into_iter().fold(d, Detection::evidence))
}

/// TermService 1057/1058 (cannot create or renew the self-signed certificate), Schannel 36870
/// (cannot use a credential's private key), TermService 1055 (the configured certificate's
/// private key is not accessible).
fn machinekeys_broken(ctx: &RuleContext<'_>) -> Option<Detection> {
    let h = host(ctx)?;
    let now = ctx.options.now;
    let ev = |id| h.certificate_events.iter().find(|e| e.event_id == id);
    let rcm: Vec<_> = [1057u16, 1058].iter().filter_map(|id| ev(*id)).collect();
    let key_access = ev(1055);
    let schannel = &h.schannel.private_key_errors;
    if rcm.is_empty() && schannel.is_empty() && key_access.is_none() {
        return None;
    }
    let base = match (!rcm.is_empty(), !schannel.is_empty()) {
        (true, _) => Confidence::High,
        (false, true) if key_access.is_some() => Confidence::High,
        (false, true) => Confidence::Medium,
        (false, false) => Confidence::Low,
    };
    let last = latest(
        rcm.iter()
            .map(|e| e.last)
            .chain(schannel.iter().map(|c| c.last))
            .chain(key_access.map(|e| e.last)),
    )?;
    let mut confidence = weigh(base, last, now);
    let mut d = Detection::new(
        confidence,
        "Windows cannot create or use the private key of the RDP certificate: the MachineKeys folder is damaged or its permissions are wrong.",
    );
    for e in &rcm {
        d = d.evidence(format!(
            "TermService {}: {} ×{}{}, {}",
            e.event_id,
            e.meaning,
            e.count,
            e.last_status
                .as_deref()
                .map(|s| format!(" (status: {s})"))
                .unwrap_or_default(),
            when(e.last, now)
        ));
    }
    if let Some(e) = key_access {
        d = d.evidence(format!(
            "TermService 1055: {} ×{}, {}",
            e.meaning,
            e.count,
            when(e.last, now)
        ));
    }
    for c in schannel.iter().take(3) {
        d = d.evidence(format!(
            "Schannel 36870: the TLS credential's private key cannot be used ({}) ×{}, {}",
            c.key,
            c.count,
            when(c.last, now)
        ));
    }
    // A certificate generated after the last failure means the service recovered since.
    if let Some(ok) = ev(1056).filter(|e| e.last > last) {
        confidence = lower(confidence);
        d.confidence = confidence;
        d = d.evidence(format!(
            "TermService 1056: a new self-signed certificate was generated afterwards ({}): the problem may be fixed",
            when(ok.last, now)
        ));
    }
    Some(d)
}

/// The listener's certificate, read from a file, has expired; or TermService says the
/// configured certificate expired (1053).
fn listener_certificate_expired(ctx: &RuleContext<'_>) -> Option<Detection> {
    let h = host(ctx)?;
    let now = ctx.options.now;
    let expired_files: Vec<_> = h
        .certificates
        .iter()
        .filter(|c| c.is_listener_certificate == Some(true) && c.certificate.is_expired_at(now))
        .collect();
    let event = h.certificate_events.iter().find(|e| e.event_id == 1053);
    if expired_files.is_empty() && event.is_none() {
        return None;
    }
    let confidence = if !expired_files.is_empty() {
        Confidence::High
    } else {
        weigh(Confidence::Medium, event?.last, now)
    };
    let mut d = Detection::new(
        confidence,
        "The certificate the RDP listener is configured with has expired.",
    );
    for c in expired_files {
        d = d
            .evidence(format!(
                "{}: {} (SHA1 {}), the certificate SSLCertificateSHA1Hash names, expired on {}",
                c.file,
                c.certificate.subject,
                c.certificate.sha1,
                c.certificate.not_after.format("%Y-%m-%d")
            ))
            .param("thumbprint", c.certificate.sha1.clone())
            .param(
                "not_after",
                c.certificate.not_after.format("%Y-%m-%d").to_string(),
            );
    }
    if let Some(e) = event {
        d = d.evidence(format!(
            "TermService 1053: {} ×{}, {}",
            e.meaning,
            e.count,
            when(e.last, now)
        ));
    }
    Some(d)
}

/// Schannel 36874: clients offered no cipher suite the server accepts.
fn no_shared_cipher(ctx: &RuleContext<'_>) -> Option<Detection> {
    let h = host(ctx)?;
    let n = h.schannel.no_shared_cipher;
    if n == 0 {
        return None;
    }
    let now = ctx.options.now;
    let last = h.event(EventSource::Schannel, 36874)?.last;
    let policy = setting(h, "SSLCipherSuiteOrder");
    let base = if policy.is_some() {
        Confidence::High
    } else {
        Confidence::Medium
    };
    let mut d = Detection::new(
        weigh(base, last, now),
        "TLS clients and this server share no cipher suite (Schannel 36874).",
    )
    .evidence(format!(
        "Schannel 36874: a client offered no supported cipher suite ×{n}, {}",
        when(last, now)
    ));
    if let Some(p) = policy {
        let count = match &p.effective {
            RegValue::String(s) => s.split(',').filter(|x| !x.trim().is_empty()).count(),
            RegValue::MultiString(v) => v.len(),
            _ => 0,
        };
        d = d.evidence(format!(
            "SSL Cipher Suite Order is configured ({} suite(s)) in {}: it may leave out what current clients offer",
            count,
            p.describe()
        ));
    }
    Some(d)
}

/// The registry disables TLS 1.2 for the server role and does not enable TLS 1.3: current
/// clients (TLS 1.2+) cannot negotiate.
fn tls12_disabled(ctx: &RuleContext<'_>) -> Option<Detection> {
    let h = host(ctx)?;
    let reg = h.registry.as_ref()?;
    let tls12 = reg.protocol("TLS 1.2", "Server")?;
    if !matches!(
        tls12.state,
        ProtocolState::Disabled | ProtocolState::DisabledByDefault
    ) {
        return None;
    }
    if reg
        .protocol("TLS 1.3", "Server")
        .is_some_and(|p| p.state == ProtocolState::Enabled)
    {
        return None;
    }
    let live_agrees = ctx
        .evidence
        .tls
        .observed()
        .and_then(|t| t.enumeration.as_ref())
        .and_then(|e| e.versions.get("TLSv1.2"))
        .is_some_and(|suites| suites.is_empty());
    let mut d = Detection::new(
        if live_agrees {
            Confidence::High
        } else {
            Confidence::Medium
        },
        "The server's SCHANNEL settings turn TLS 1.2 off, which current RDP clients need.",
    )
    .evidence(format!(
        "SCHANNEL\\Protocols\\TLS 1.2\\Server: {:?} (Enabled={}, DisabledByDefault={}) in {}",
        tls12.state,
        tls12.enabled.map_or("-".into(), |v| v.to_string()),
        tls12
            .disabled_by_default
            .map_or("-".into(), |v| v.to_string()),
        tls12.file
    ));
    if live_agrees {
        d = d.evidence("the live TLS enumeration confirms the server refuses TLS 1.2");
    }
    Some(d)
}

/// SSL 3.0, TLS 1.0 or TLS 1.1 explicitly enabled for the server role.
fn legacy_protocols_enabled(ctx: &RuleContext<'_>) -> Option<Detection> {
    let h = host(ctx)?;
    let reg = h.registry.as_ref()?;
    let enabled: Vec<_> = ["SSL 2.0", "SSL 3.0", "TLS 1.0", "TLS 1.1"]
        .iter()
        .filter_map(|p| reg.protocol(p, "Server"))
        .filter(|p| p.state == ProtocolState::Enabled && p.enabled.is_some_and(|e| e != 0))
        .collect();
    if enabled.is_empty() {
        return None;
    }
    let ssl = enabled.iter().any(|p| p.protocol.starts_with("SSL"));
    let d = Detection::new(
        if ssl {
            Confidence::High
        } else {
            Confidence::Medium
        },
        "The server's SCHANNEL settings explicitly enable legacy protocols.",
    );
    Some(enabled.into_iter().fold(d, |d, p| {
        d.evidence(format!(
            "SCHANNEL\\Protocols\\{}\\Server: Enabled={} in {}",
            p.protocol,
            p.enabled.unwrap_or_default(),
            p.file
        ))
    }))
}

/// Schannel errors: 36888 fatal alerts sent, 36871 credential creation failures, 36874.
fn schannel_failures(ctx: &RuleContext<'_>) -> Option<Detection> {
    let h = host(ctx)?;
    let now = ctx.options.now;
    let s = &h.schannel;
    // close_notify and user_canceled are not failures.
    let alerts: Vec<_> = s
        .alerts_sent
        .iter()
        .filter(|a| !matches!(a.code, 0 | 90))
        .collect();
    if alerts.is_empty() && s.credential_errors.is_empty() && s.no_shared_cipher == 0 {
        return None;
    }
    let last = latest(
        alerts
            .iter()
            .map(|a| a.last)
            .chain(s.credential_errors.iter().map(|c| c.last))
            .chain(h.event(EventSource::Schannel, 36874).map(|e| e.last)),
    )?;
    // Schannel logs for every TLS user of the machine; a live TLS failure ties it to RDP.
    let live_tls_failed = ctx.evidence.tls.is_failed();
    let base = if live_tls_failed {
        Confidence::High
    } else {
        Confidence::Medium
    };
    let mut d = Detection::new(
        weigh(base, last, now),
        "The server's TLS layer (Schannel) logs handshake failures.",
    );
    for a in alerts.iter().take(5) {
        d = d.evidence(format!(
            "Schannel 36888: sent fatal alert {} {} ×{}, {}",
            a.code,
            a.name,
            a.count,
            when(a.last, now)
        ));
    }
    for c in s.credential_errors.iter().take(3) {
        let hint = if c.key.contains("10013") {
            " (state 10013: the TLS versions a client needs are disabled in SCHANNEL\\Protocols)"
        } else {
            ""
        };
        d = d.evidence(format!(
            "Schannel 36871: could not create a TLS credential, state {}{hint} ×{}, {}",
            c.key,
            c.count,
            when(c.last, now)
        ));
    }
    if s.no_shared_cipher > 0 {
        d = d.evidence(format!(
            "Schannel 36874: no cipher suite in common with a client ×{}",
            s.no_shared_cipher
        ));
    }
    for a in s.alerts_received.iter().take(3) {
        d = d.evidence(format!(
            "Schannel 36887: received fatal alert {} {} ×{} (a client rejected the handshake)",
            a.code, a.name, a.count
        ));
    }
    if !live_tls_failed {
        d = d.evidence(
            "Schannel serves every TLS service on the machine; these may concern another service than RDP",
        );
    }
    Some(d)
}

/// LsaSrv 6041: this machine refused a server's CredSSP version (Encryption Oracle
/// Remediation); or its policy forces updated servers while the live probe saw an old one.
fn credssp_refused(ctx: &RuleContext<'_>) -> Option<Detection> {
    let h = host(ctx)?;
    let now = ctx.options.now;
    let live_version = ctx
        .evidence
        .credssp
        .observed()
        .and_then(|c| c.version)
        .filter(|v| *v < 6);
    let force = setting(h, "AllowEncryptionOracle").filter(|s| s.effective.as_dword() == Some(0));
    let refusals = &h.credssp_refusals;
    if refusals.is_empty() && !(force.is_some() && live_version.is_some()) {
        return None;
    }
    // A refusal naming the server being checked is the strongest signal.
    let target = ctx.target.host.to_ascii_lowercase();
    let about_target = refusals.iter().any(|r| {
        r.target
            .to_ascii_lowercase()
            .rsplit('/')
            .next()
            .is_some_and(|name| {
                name == target || name.split('.').next() == target.split('.').next()
            })
    });
    let mut confidence = match refusals.iter().map(|r| r.last).max() {
        Some(last) => weigh(Confidence::High, last, now),
        None => Confidence::High,
    };
    if ctx.evidence.has_live_probe() && !about_target && !refusals.is_empty() && force.is_none() {
        // The refusals concern other servers than the one checked.
        confidence = Confidence::Low;
    }
    let mut d = Detection::new(
        confidence,
        "This computer's CredSSP policy (Encryption Oracle Remediation) refuses servers without the CVE-2018-0886 update (CredSSP below version 6).",
    );
    for r in refusals.iter().take(5) {
        d = d.evidence(format!(
            "LsaSrv 6041: CredSSP to {} refused, the server offered version {} ×{}, {}",
            r.target,
            r.offered_version.map_or("?".to_string(), |v| v.to_string()),
            r.count,
            when(r.last, now)
        ));
    }
    if let Some(s) = force {
        d = d.evidence(format!("{} (Force Updated Clients)", s.describe()));
    }
    if let Some(v) = live_version {
        d = d.evidence(format!(
            "the live probe saw the server answer with CredSSP version {v}"
        ));
    }
    Some(d)
}

/// TermService 1070 (drain mode) / 1071 (logons disabled), TSServerDrainMode ≠ 0,
/// fLogonDisabled = 1, TSUserEnabled = 1, LocalSessionManager 40 reason 7.
fn server_denied(ctx: &RuleContext<'_>) -> Option<Detection> {
    let h = host(ctx)?;
    let now = ctx.options.now;
    let mut d = Detection::new(
        Confidence::High,
        "The server refuses new logons by configuration (drain mode or logons disabled): the \"extended error 0x7\" case.",
    );
    let mut found = false;
    let mut registry = false;
    for (name, bad, what) in [
        (
            "TSServerDrainMode",
            (|v: u32| v != 0) as fn(u32) -> bool,
            "drain mode: new logons refused",
        ),
        ("fLogonDisabled", |v| v == 1, "the listener refuses logons"),
        ("TSUserEnabled", |v| v == 1, "users may not connect"),
    ] {
        if let Some(s) = setting(h, name).filter(|s| s.effective.as_dword().is_some_and(bad)) {
            found = true;
            registry = true;
            d = d.evidence(format!("{}: {what}", s.describe()));
        }
    }
    let mut last = None;
    for (id, what) in [
        (
            1070u16,
            "a logon was denied because the server is in drain mode",
        ),
        (
            1071,
            "a connection was denied because logons are disabled (chglogon)",
        ),
    ] {
        if let Some(e) = h.event(EventSource::RemoteConnectionManager, id) {
            found = true;
            last = latest(last.into_iter().chain([e.last]));
            d = d.evidence(format!(
                "TermService {id}: {what} ×{}, {}",
                e.count,
                when(e.last, now)
            ));
        }
    }
    if let Some(r) = lsm_reason(h, 7) {
        found = true;
        last = latest(last.into_iter().chain([r.last]));
        d = d.evidence(format!(
            "LocalSessionManager 40: session disconnected, reason 7 (the server denied the connection) ×{}, {}",
            r.count,
            when(r.last, now)
        ));
    }
    if !found {
        return None;
    }
    if !registry && let Some(l) = last {
        d.confidence = weigh(Confidence::High, l, now);
    }
    Some(d)
}

/// TermService 1006 (a large number of incomplete connections), and a low
/// MaxOutstandingConnections.
fn throttling(ctx: &RuleContext<'_>) -> Option<Detection> {
    /// Below this, a busy or scanned server runs out of room for connections being set up.
    const LOW_LIMIT: u32 = 50;
    let h = host(ctx)?;
    let now = ctx.options.now;
    let flood = h.event(EventSource::RemoteConnectionManager, 1006);
    let limit = setting(h, "MaxOutstandingConnections")
        .filter(|s| s.effective.as_dword().is_some_and(|v| v < LOW_LIMIT));
    if flood.is_none() && limit.is_none() {
        return None;
    }
    let confidence = match (flood, limit) {
        (Some(f), Some(_)) => weigh(Confidence::High, f.last, now),
        (Some(f), None) => weigh(
            if f.count >= 3 {
                Confidence::High
            } else {
                Confidence::Medium
            },
            f.last,
            now,
        ),
        (None, _) => Confidence::Low,
    };
    let mut d = Detection::new(
        confidence,
        "The RDP listener stops accepting new connections while too many are half-open (connection throttling).",
    );
    if let Some(f) = flood {
        d = d.evidence(format!(
            "TermService 1006: a large number of incomplete connections ×{}, {}",
            f.count,
            when(f.last, now)
        ));
    }
    if let Some(s) = limit {
        d = d.evidence(format!(
            "{}: a low limit on connections being set up",
            s.describe()
        ));
    }
    if h.connections.distinct_client_ips > 20 {
        d = d.evidence(format!(
            "RdpCoreTS 131: {} connections from {} different addresses (scanners fill the queue)",
            h.connections.accepted_tcp + h.connections.accepted_udp,
            h.connections.distinct_client_ips
        ));
    }
    Some(d)
}

/// 4625 with 0xC0000234, or 4740.
fn account_locked(ctx: &RuleContext<'_>) -> Option<Detection> {
    let h = host(ctx)?;
    let now = ctx.options.now;
    let locked = failures_of(h, LogonFailureKind::Locked);
    let lockouts = h.event(EventSource::SecurityAuditing, 4740);
    if locked.is_empty() && lockouts.is_none() {
        return None;
    }
    let last = latest(
        locked
            .iter()
            .map(|s| s.last)
            .chain(lockouts.map(|e| e.last)),
    )?;
    let mut d = Detection::new(
        weigh(Confidence::High, last, now),
        "An account is locked out; logons with it fail until it is unlocked.",
    );
    d = status_lines(d, &locked, now);
    if let Some(e) = lockouts {
        d = d.evidence(format!(
            "Security 4740: account locked out ×{} ({}), {}",
            e.count,
            top_keys(&h.logons.locked_users, 5),
            when(e.last, now)
        ));
    }
    if let Some(u) = h
        .logons
        .locked_users
        .first()
        .map(|c| c.key.clone())
        .or_else(|| locked.first().and_then(|s| s.last_user.clone()))
    {
        d = d.param("user", u);
    }
    Some(d)
}

/// 4625 with a restriction status (disabled, expired, password expired or must change,
/// logon hours, workstation).
fn account_restricted(ctx: &RuleContext<'_>) -> Option<Detection> {
    let h = host(ctx)?;
    let now = ctx.options.now;
    let list = failures_of(h, LogonFailureKind::Restricted);
    let last = latest(list.iter().map(|s| s.last))?;
    let d = Detection::new(
        weigh(Confidence::High, last, now),
        "Logons fail because of an account restriction (disabled, expired, password expired or must change, logon hours).",
    );
    let mut d = status_lines(d, &list, now);
    if let Some(u) = list.first().and_then(|s| s.last_user.clone()) {
        d = d.param("user", u);
    }
    Some(d)
}

/// 4625 with 0xC000015B, 4825, or LocalSessionManager 40 reason 9.
fn logon_right_missing(ctx: &RuleContext<'_>) -> Option<Detection> {
    let h = host(ctx)?;
    let now = ctx.options.now;
    let list = failures_of(h, LogonFailureKind::LogonRight);
    let denied = h.event(EventSource::SecurityAuditing, 4825);
    let reason9 = lsm_reason(h, 9);
    let last = latest(
        list.iter()
            .map(|s| s.last)
            .chain(denied.map(|e| e.last))
            .chain(reason9.map(|r| r.last)),
    )?;
    let mut d = Detection::new(
        weigh(Confidence::High, last, now),
        "The user may not log on through Remote Desktop on this server (not in Remote Desktop Users, or the logon right is missing).",
    );
    d = status_lines(d, &list, now);
    if let Some(e) = denied {
        d = d.evidence(format!(
            "Security 4825: access to Remote Desktop denied ×{} ({}), {}",
            e.count,
            top_keys(&h.logons.denied_users, 5),
            when(e.last, now)
        ));
    }
    if let Some(r) = reason9 {
        d = d.evidence(format!(
            "LocalSessionManager 40: disconnected, reason 9 (insufficient privileges) ×{}, {}",
            r.count,
            when(r.last, now)
        ));
    }
    if let Some(u) = h
        .logons
        .denied_users
        .first()
        .map(|c| c.key.clone())
        .or_else(|| list.first().and_then(|s| s.last_user.clone()))
    {
        d = d.param("user", u);
    }
    Some(d)
}

/// Whether the failed logons look like password spraying (many addresses).
fn spraying(h: &HostEvidence) -> bool {
    (h.logons.failed >= 20 && h.logons.distinct_source_ips >= 5)
        || (h.connections.bad_credentials >= 20 && h.connections.distinct_bad_credential_ips >= 5)
}

/// 4625 with a wrong user name or password; RdpCoreTS 140 from few addresses.
fn credentials_rejected(ctx: &RuleContext<'_>) -> Option<Detection> {
    let h = host(ctx)?;
    let now = ctx.options.now;
    let list = failures_of(h, LogonFailureKind::BadCredentials);
    let few_140 =
        h.connections.bad_credentials > 0 && h.connections.distinct_bad_credential_ips <= 3;
    let last = latest(
        list.iter().map(|s| s.last).chain(
            few_140
                .then(|| h.event(EventSource::RdpCoreTS, 140).map(|e| e.last))
                .flatten(),
        ),
    )?;
    let sprayed = spraying(h);
    let mut d = Detection::new(
        if sprayed {
            Confidence::Low
        } else {
            weigh(Confidence::Medium, last, now)
        },
        if sprayed {
            "Logons fail with a wrong user name or password; most of these come from password spraying (see brute-force)."
        } else {
            "Logons fail with a wrong user name or password."
        },
    );
    d = status_lines(d, &list, now);
    if few_140 {
        d = d.evidence(format!(
            "RdpCoreTS 140: wrong user name or password ×{} from {}",
            h.connections.bad_credentials,
            top_keys(&h.connections.bad_credentials_by_ip, 3)
        ));
    }
    if let Some(u) = list.first().and_then(|s| s.last_user.clone()) {
        d = d.param("user", u);
    }
    Some(d)
}

/// Many failed logons from many addresses: 4625 type 10/3, RdpCoreTS 140, TermService 1012.
fn brute_force(ctx: &RuleContext<'_>) -> Option<Detection> {
    let h = host(ctx)?;
    let now = ctx.options.now;
    let l = &h.logons;
    let c = &h.connections;
    let kicked = h.event(EventSource::RemoteConnectionManager, 1012);
    if !spraying(h) && kicked.is_none() {
        return None;
    }
    let failures = l.failed.max(c.bad_credentials);
    let addresses = l.distinct_source_ips.max(c.distinct_bad_credential_ips);
    let base = if failures >= 100 && addresses >= 10 {
        Confidence::High
    } else {
        Confidence::Medium
    };
    let last = latest(
        l.by_status
            .iter()
            .map(|s| s.last)
            .chain(h.event(EventSource::RdpCoreTS, 140).map(|e| e.last))
            .chain(kicked.map(|e| e.last)),
    )?;
    let summary = if failures > 0 {
        format!(
            "The RDP port is under password attack: {failures} failed logons from {addresses} addresses."
        )
    } else {
        "The server cut off sessions after too many failed logons: someone is guessing passwords."
            .to_string()
    };
    let mut d = Detection::new(weigh(base, last, now), summary);
    if l.failed > 0 {
        d = d.evidence(format!(
            "Security 4625: {} failed logons (type 10: {}, type 3: {}) from {} addresses for {} accounts; top addresses: {}; top accounts: {}",
            l.failed,
            l.failed_remote_interactive,
            l.failed_network,
            l.distinct_source_ips,
            l.distinct_users,
            top_keys(&l.by_source_ip, 5),
            top_keys(&l.by_user, 5)
        ));
    }
    if c.bad_credentials > 0 {
        let e = h.event(EventSource::RdpCoreTS, 140);
        d = d.evidence(format!(
            "RdpCoreTS 140: {} connections failed with a wrong user name or password from {} addresses{}; top: {}",
            c.bad_credentials,
            c.distinct_bad_credential_ips,
            e.map(|e| format!(
                " between {} and {}",
                e.first.format("%Y-%m-%d %H:%M"),
                e.last.format("%Y-%m-%d %H:%M UTC")
            ))
            .unwrap_or_default(),
            top_keys(&c.bad_credentials_by_ip, 5)
        ));
    }
    if let Some(e) = kicked {
        d = d.evidence(format!(
            "TermService 1012: sessions terminated after too many failed logons ×{}, {}",
            e.count,
            when(e.last, now)
        ));
    }
    if l.lockouts > 0 {
        d = d.evidence(format!("Security 4740: {} account lockouts", l.lockouts));
    }
    Some(d)
}

/// UDP turned off by configuration: SelectTransport = 1, fClientDisableUDP = 1, or RdpCoreTS
/// 135 "Forced by Server Configuration" / 136.
fn udp_off_by_configuration(ctx: &RuleContext<'_>) -> Option<Detection> {
    let h = host(ctx)?;
    let mut lines = Vec::new();
    if let Some(s) = setting(h, "SelectTransport").filter(|s| s.effective.as_dword() == Some(1)) {
        lines.push(format!("{}: the server uses TCP only", s.describe()));
    }
    if let Some(s) = setting(h, "fClientDisableUDP").filter(|s| s.effective.as_dword() == Some(1)) {
        lines.push(format!("{}: this client does not use UDP", s.describe()));
    }
    for m in &h.connections.multitransport {
        if m.key.contains("Forced by Server Configuration") || m.key.contains("event 136") {
            lines.push(format!(
                "RdpCoreTS: multi-transport ended with \"{}\" ×{}",
                m.key, m.count
            ));
        }
    }
    if lines.is_empty() {
        return None;
    }
    let d = Detection::new(
        Confidence::High,
        "The UDP transport is turned off by configuration; sessions use TCP only.",
    )
    .severity(Severity::Info);
    Some(lines.into_iter().fold(d, Detection::evidence))
}

/// The registry explains what the live negotiation showed, or a Group Policy value overrides a
/// different local one.
fn policy_conflict(ctx: &RuleContext<'_>) -> Option<Detection> {
    let h = host(ctx)?;
    let ev = ctx.evidence;
    let mut lines: Vec<String> = Vec::new();
    let mut explains = false;

    // A policy overriding a different local value.
    for name in [
        "fDenyTSConnections",
        "SecurityLayer",
        "UserAuthentication",
        "MinEncryptionLevel",
    ] {
        if let Some(s) = setting(h, name)
            && s.origin == SettingOrigin::Policy
            && let (Some(p), Some(l)) = (&s.policy, &s.local)
            && p.value != l.value
        {
            lines.push(format!(
                "Group Policy sets {name} = {} ({} in {}), overriding the listener's own {} ({})",
                p.value, p.key, p.file, l.value, l.file
            ));
        }
    }

    let dword = |name| setting(h, name).and_then(|s| s.effective.as_dword());
    let describe = |name| setting(h, name).map(|s| s.describe());
    if let Some(neg) = ev.negotiation.observed() {
        let rdp_only = neg.any_failure("SSL_NOT_ALLOWED_BY_SERVER")
            || (!neg.supported.is_empty() && neg.supported.iter().all(|p| !p.uses_tls()));
        if rdp_only && dword("SecurityLayer") == Some(0) {
            explains = true;
            lines.push(format!(
                "{}: the RDP security layer only, which is why the server refuses TLS",
                describe("SecurityLayer").unwrap_or_default()
            ));
        }
        if neg.nla_required() && dword("UserAuthentication") == Some(1) {
            explains = true;
            lines.push(format!(
                "{}: Network Level Authentication required, which is why the server answers HYBRID_REQUIRED_BY_SERVER",
                describe("UserAuthentication").unwrap_or_default()
            ));
        }
        if neg.any_failure("SSL_REQUIRED_BY_SERVER") && dword("SecurityLayer") == Some(2) {
            explains = true;
            lines.push(format!(
                "{}: TLS required, which is why the server refuses standard RDP security",
                describe("SecurityLayer").unwrap_or_default()
            ));
        }
    }
    if let Some(en) = ev.tls.observed().and_then(|t| t.enumeration.as_ref())
        && let Some(reg) = &h.registry
    {
        for (live, reg_name) in [
            ("TLSv1.0", "TLS 1.0"),
            ("TLSv1.1", "TLS 1.1"),
            ("TLSv1.2", "TLS 1.2"),
        ] {
            if en.versions.get(live).is_some_and(|s| s.is_empty())
                && let Some(p) = reg.protocol(reg_name, "Server")
                && matches!(
                    p.state,
                    ProtocolState::Disabled | ProtocolState::DisabledByDefault
                )
            {
                explains = true;
                lines.push(format!(
                    "SCHANNEL\\Protocols\\{reg_name}\\Server is {:?} in {}, which is why the server refuses {live}",
                    p.state, p.file
                ));
            }
        }
    }
    // The configured certificate is not the one served.
    if let (Some(cert), Some(s)) = (&ev.certificate, setting(h, "SSLCertificateSHA1Hash")) {
        let configured = match &s.effective {
            RegValue::Binary(hex) => hex.clone(),
            RegValue::String(t) => crate::offline::normalize_thumbprint(t),
            _ => String::new(),
        };
        if !configured.is_empty() && !configured.eq_ignore_ascii_case(&cert.sha1) {
            explains = true;
            let events: Vec<String> = h
                .certificate_events
                .iter()
                .filter(|e| matches!(e.event_id, 1051 | 1053 | 1054 | 1055))
                .map(|e| format!("{} ({})", e.event_id, e.meaning))
                .collect();
            lines.push(format!(
                "SSLCertificateSHA1Hash names {configured} ({}), but the server presented {}: the configured certificate is not in use{}",
                s.local.as_ref().map(|l| l.file.as_str()).unwrap_or("registry"),
                cert.sha1,
                if events.is_empty() {
                    String::new()
                } else {
                    format!(" (TermService events {})", events.join(", "))
                }
            ));
        }
    }
    if dword("MinEncryptionLevel") == Some(4) || dword("FIPSAlgorithmPolicy") == Some(1) {
        lines.push(format!(
            "FIPS-only encryption is configured ({}): clients without FIPS algorithms fail",
            describe("MinEncryptionLevel")
                .or_else(|| describe("FIPSAlgorithmPolicy"))
                .unwrap_or_default()
        ));
    }
    if lines.is_empty() {
        return None;
    }
    let d = Detection::new(
        if explains {
            Confidence::High
        } else {
            Confidence::Medium
        },
        if explains {
            "The server's registry and Group Policy explain what the connection showed."
        } else {
            "Group Policy overrides the server's own Remote Desktop settings."
        },
    );
    Some(lines.into_iter().fold(d, Detection::evidence))
}

#[cfg(test)]
mod tests;
