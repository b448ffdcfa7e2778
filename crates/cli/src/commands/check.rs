//! `rdpdoctor check HOST`: probe, diagnose, render.

use chrono::Utc;
use std::time::Duration;

use crate::args::{AuthArgs, CheckArgs};
use crate::exit;
use crate::render;
use rdpdoctor_core::Target;
use rdpdoctor_core::diagnose::{DiagnoseOptions, diagnose};
use rdpdoctor_core::probe::auth::{self, AuthOptions, Password};
use rdpdoctor_core::probe::tls::TrustAnchors;
use rdpdoctor_core::probe::{ProbeOptions, Prober, Timeouts};

pub async fn run(args: CheckArgs) -> u8 {
    let target = match Target::parse(&args.target) {
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
        auth,
    };
    let prober = Prober::new(options, trust);
    let mut report = prober.check(&target).await;
    let now = Utc::now();
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
