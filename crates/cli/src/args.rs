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
    /// Run the embedded lab of broken RDP servers until Ctrl-C
    Lab(LabArgs),
    /// Start every lab scenario, check each one, print what rdpdoctor found
    Demo(DemoArgs),
}

#[derive(Args, Debug)]
pub struct LabArgs {
    /// Scenarios to run (default: all). `rdpdoctor lab --list` shows them.
    #[arg(long = "scenario", value_name = "NAME")]
    pub scenarios: Vec<String>,
    /// First port; the scenarios listen on consecutive ports (default: ports chosen by the OS)
    #[arg(long, value_name = "PORT")]
    pub port: Option<u16>,
    /// Address to listen on (loopback only, unless you really mean it)
    #[arg(long, default_value = "127.0.0.1")]
    pub bind: std::net::IpAddr,
    /// Also start the hostile servers (malformed and malicious answers)
    #[arg(long)]
    pub hostile: bool,
    /// List the scenarios and exit
    #[arg(long)]
    pub list: bool,
}

#[derive(Args, Debug)]
pub struct DemoArgs {
    /// Deadline for each stage, in seconds (the silent and slow servers take this long)
    #[arg(long, default_value_t = 2.0, value_name = "SECONDS")]
    pub timeout: f64,
    /// Print the JSON document of every check instead of the table
    #[arg(long)]
    pub json: bool,
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
    /// Also list every TLS version and cipher suite the server accepts, its suite order and
    /// groups, and what Windows 11 and FreeRDP 3 clients would negotiate (more connections)
    #[arg(long)]
    pub deep: bool,
    /// With --deep: connections open at once to the server (RDP servers throttle; xrdp queues
    /// only 3 unaccepted connections)
    #[arg(long, default_value_t = 3, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=64))]
    pub max_parallel: u16,
    /// With --deep: wait at least this long between two connection starts
    #[arg(long, default_value_t = 0, value_name = "MS", value_parser = clap::value_parser!(u64).range(0..=60_000))]
    pub delay_ms: u64,
}

#[derive(Args, Debug)]
pub struct DiagnoseArgs {
    /// A JSON document written by `check --save` or `check --format json`
    pub file: PathBuf,
    #[command(flatten)]
    pub output: OutputArgs,
}
