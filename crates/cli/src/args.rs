//! The command line (clap). Passwords never come from argv: see `--user`.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(
    name = "rdpdoctor",
    version,
    about = "Tells you why a Remote Desktop connection fails and exactly what to do about it",
    after_help = "Exit codes: 0 healthy, 1 problems found, 2 could not check, 64 usage error."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Probe one server, diagnose, print findings and fixes
    Check(CheckArgs),
    /// Re-run the diagnosis on saved evidence (from --save or --format json)
    Diagnose(DiagnoseArgs),
    /// Decode an error: `explain 0x904 0x7`, ERRINFO names, NTSTATUS, `event:1058`
    Explain(ExplainArgs),
    /// List the causes rdpdoctor knows (or show one: `causes cert-expired`)
    Causes(CausesArgs),
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum InfoFormat {
    Text,
    Json,
}

#[derive(Args, Debug)]
pub struct ExplainArgs {
    /// A code (hex `0x904`, decimal, `904h`), a name (`ERRINFO_SERVER_DENIED_CONNECTION`,
    /// `HYBRID_REQUIRED_BY_SERVER`, `STATUS_LOGON_FAILURE`), `event:1058` or a cause id
    pub code: String,
    /// The extended code that came with it (mstsc shows "Extended error code: 0x7")
    pub extended: Option<String>,
    #[arg(long, value_enum, default_value_t = InfoFormat::Text)]
    pub format: InfoFormat,
}

#[derive(Args, Debug)]
pub struct CausesArgs {
    /// Show one cause in full (its fix, commands and how rdpdoctor detects it)
    pub id: Option<String>,
    #[arg(long, value_enum, default_value_t = InfoFormat::Text)]
    pub format: InfoFormat,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
    Markdown,
}

#[derive(Args, Debug, Clone)]
pub struct OutputArgs {
    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Certificates expiring within this many days are reported as a risk
    #[arg(long, default_value_t = 30, value_name = "DAYS")]
    pub expiry_warning_days: i64,
}

#[derive(Args, Debug)]
pub struct CheckArgs {
    /// HOST, HOST:PORT or [IPv6]:PORT
    pub target: String,
    #[command(flatten)]
    pub output: OutputArgs,
    /// Also write the evidence document (JSON) to FILE, for `rdpdoctor diagnose` or a ticket
    #[arg(long, value_name = "FILE")]
    pub save: Option<PathBuf>,
    /// Deadline for each stage, in seconds
    #[arg(long, default_value_t = 5.0, value_name = "SECONDS")]
    pub timeout: f64,
    /// Trust only the CA certificates in this PEM/DER file (instead of the OS store)
    #[arg(long, value_name = "FILE")]
    pub ca_file: Option<PathBuf>,
    /// Send `Cookie: mstshash=NAME` in the X.224 request (some load balancers route on it)
    #[arg(long, value_name = "NAME")]
    pub cookie: Option<String>,
    #[command(flatten)]
    pub auth: AuthArgs,
}

/// The authenticated check. The password is never an argument: it comes from the
/// `RDPDOCTOR_PASSWORD` environment variable or a prompt without echo.
#[derive(Args, Debug)]
pub struct AuthArgs {
    /// Also log on as this user to name the exact refusal (wrong password, locked account,
    /// missing logon right, licensing, ...). Password: RDPDOCTOR_PASSWORD or a prompt
    #[arg(long, value_name = "[DOMAIN\\]NAME")]
    pub user: Option<String>,
    /// The user's domain (instead of DOMAIN\NAME)
    #[arg(long, value_name = "DOMAIN", requires = "user")]
    pub domain: Option<String>,
    /// Stop after the NLA (CredSSP) logon instead of following the connection sequence
    #[arg(long, requires = "user")]
    pub auth_only: bool,
    /// Send the credentials even if the server's certificate is not trusted (check it first:
    /// NTLM responses sent to an impostor can be cracked offline)
    #[arg(long, requires = "user")]
    pub trust_server_cert: bool,
    /// Send the credentials only to the server whose certificate has this SHA-256 thumbprint
    #[arg(long, value_name = "SHA256", requires = "user")]
    pub cert_sha256: Option<String>,
}

#[derive(Args, Debug)]
pub struct DiagnoseArgs {
    /// A JSON document written by `check --save` or `check --format json`
    pub file: PathBuf,
    #[command(flatten)]
    pub output: OutputArgs,
}
