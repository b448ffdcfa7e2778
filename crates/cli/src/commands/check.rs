//! `rdpdoctor check HOST`: probe, diagnose, render.

use chrono::Utc;
use std::time::Duration;

use crate::args::{AuthArgs, CheckArgs, PathArgs};
use crate::exit;
use crate::render;
use rdpdoctor_core::Target;
use rdpdoctor_core::diagnose::{DiagnoseOptions, diagnose};
use rdpdoctor_core::probe::auth::{self, AuthOptions, Password};
use rdpdoctor_core::probe::path::{PathMode, PathOptions};
use rdpdoctor_core::probe::tls::TrustAnchors;
use rdpdoctor_core::probe::{ProbeOptions, Prober, Timeouts};

pub async fn run(args: CheckArgs) -> u8 {
    let (target, rdp_client) = match resolve_target(&args.target) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("rdpdoctor: {e}");
            return exit::USAGE;
        }
    };
    if !(args.timeout.is_finite() && args.timeout > 0.0 && args.timeout <= 600.0) {
        eprintln!("rdpdoctor: --timeout must be between 0 and 600 seconds");
        return exit::USAGE;
    }
    let trust = match &args.ca_file {
        Some(p) => match TrustAnchors::from_file(p) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("rdpdoctor: --ca-file {e}");
                return exit::USAGE;
            }
        },
        None => TrustAnchors::platform(),
    };
    let path = match path_options(&args.path) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("rdpdoctor: {e}");
            return exit::USAGE;
        }
    };
    let timeout = Duration::from_secs_f64(args.timeout);
    let auth = match auth_options(&args.auth, timeout) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("rdpdoctor: {e}");
            return exit::USAGE;
        }
    };
    let options = ProbeOptions {
        timeouts: Timeouts::uniform(timeout),
        cookie: args.cookie.clone(),
        extended_negotiation: false,
        path,
        auth,
        deep: args.deep.options(),
        connect_gate: None,
    };
    let prober = Prober::new(options, trust);
    let mut report = prober.check(&target).await;
    let now = Utc::now();
    if let Some(client) = rdp_client {
        report.evidence.client = Some(client);
    }
    if !args.evidence.is_empty() {
        merge_offline(&mut report, &args.evidence, now).await;
    }
    let mut dopts = DiagnoseOptions::at(now);
    dopts.expiry_warning_days = args.output.expiry_warning_days;
    let diagnosis = diagnose(&report.target, &report.evidence, &dopts);
    report.set_diagnosis(diagnosis, now);
    if let Some(path) = &args.save
        && let Err(e) = render::save(&report, path)
    {
        eprintln!(
            "rdpdoctor: could not save the evidence to {}: {e}",
            path.display()
        );
    }
    render::print(&report, args.output.format);
    report.verdict.exit_code() as u8
}

/// `--path`, `--no-path`, `--samples`, `--path-duration` as probe options.
fn path_options(a: &PathArgs) -> Result<PathOptions, String> {
    let mut p = PathOptions {
        mode: match (a.path, a.no_path) {
            (true, _) => PathMode::On,
            (_, true) => PathMode::Off,
            _ => PathMode::Auto,
        },
        ..Default::default()
    };
    p.quality.samples = a.samples;
    if let Some(d) = a.path_duration {
        if !(d.is_finite() && d > 0.0 && d <= 3600.0) {
            return Err("--path-duration must be between 0 and 3600 seconds".into());
        }
        p.quality.budget = Some(Duration::from_secs_f64(d));
    }
    Ok(p)
}

/// Where the password comes from: never argv (it would show in process lists and shell
/// history), so the environment or a prompt without echo.
const PASSWORD_VARIABLE: &str = "RDPDOCTOR_PASSWORD";

/// The authenticated check's options, `None` without `--user`.
fn auth_options(args: &AuthArgs, timeout: Duration) -> Result<Option<AuthOptions>, String> {
    let Some(input) = &args.user else {
        return Ok(None);
    };
    let (user, domain) =
        auth::split_user(input, args.domain.as_deref()).map_err(|e| format!("--user: {e}"))?;
    let cert_sha256 = args
        .cert_sha256
        .as_deref()
        .map(auth::normalize_sha256)
        .transpose()
        .map_err(|e| format!("--cert-sha256: {e}"))?;
    let mut options = AuthOptions {
        user,
        domain,
        auth_only: args.auth_only,
        trust_server_cert: args.trust_server_cert,
        cert_sha256,
        timeout,
        ..AuthOptions::default()
    };
    options.password = password(&options.account())?;
    Ok(Some(options))
}

fn password(account: &str) -> Result<Password, String> {
    if let Some(p) = std::env::var_os(PASSWORD_VARIABLE) {
        return p
            .into_string()
            .map(Password::new)
            .map_err(|_| format!("{PASSWORD_VARIABLE} is not valid Unicode"));
    }
    if !std::io::IsTerminal::is_terminal(&std::io::stdin()) {
        return Err(format!(
            "--user needs a password: set {PASSWORD_VARIABLE}, or run in a terminal to be prompted"
        ));
    }
    rpassword::prompt_password(format!("Password for {account}: "))
        .map(Password::new)
        .map_err(|e| format!("could not read the password: {e}"))
}

/// A host argument, or a .rdp file: the file's address (the alternate address when it has one,
/// with the full address as the name to verify) and its client settings, which the rules judge
/// against the server (a file without CredSSP against an NLA-only server).
fn resolve_target(
    arg: &str,
) -> Result<(Target, Option<rdpdoctor_core::evidence::ClientEvidence>), String> {
    let path = std::path::Path::new(arg);
    let is_rdp = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("rdp"));
    if !is_rdp {
        return Target::parse(arg)
            .map(|t| (t, None))
            .map_err(|e| e.to_string());
    }
    let file = rdpdoctor_core::offline::read_rdp_file(path).map_err(|w| w.to_string())?;
    let mut target = file.target().map_err(|e| format!("{arg}: {e}"))?;
    target.input = arg.to_string();
    let client = rdpdoctor_core::evidence::ClientEvidence {
        rdp_files: vec![file],
    };
    Ok((target, Some(client)))
}

/// `--evidence`: read the server's files and attach the ones about this server.
async fn merge_offline(
    report: &mut rdpdoctor_core::evidence::Report,
    paths: &[std::path::PathBuf],
    now: chrono::DateTime<Utc>,
) {
    let paths = paths.to_vec();
    let options = rdpdoctor_core::offline::AnalyzeOptions::at(now);
    let offline = match tokio::task::spawn_blocking(move || {
        rdpdoctor_core::offline::analyze_paths(&paths, &options)
    })
    .await
    {
        Ok(o) => o,
        Err(e) => {
            eprintln!("rdpdoctor: reading the evidence failed: {e}");
            return;
        }
    };
    for w in &offline.warnings {
        eprintln!("rdpdoctor: warning: {w}");
    }
    if let Err(e) = offline.attach_to(&mut report.evidence, &report.target) {
        eprintln!("rdpdoctor: --evidence not used: {e}");
        report
            .evidence
            .notes
            .push(format!("the --evidence files were not used: {e}"));
    }
}
