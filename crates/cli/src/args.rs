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
    /// Check many servers (hosts, CIDR ranges, files of targets); stream results; fleet report
    Scan(ScanArgs),
    /// Offline evidence only: event logs, registry exports and hives, certificates, .rdp files,
    /// folders of them and collect.ps1 zips
    Analyze(AnalyzeArgs),
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
    /// HOST, HOST:PORT, [IPv6]:PORT, or a .rdp file (checked with the file's address and settings)
    pub target: String,
    /// Server evidence to merge into the check (event logs, .reg, hives, certificates, a
    /// collect.ps1 zip), matched to the server by name
    #[arg(long = "evidence", value_name = "PATH", num_args = 1..)]
    pub evidence: Vec<PathBuf>,
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
    pub path: PathArgs,
    #[command(flatten)]
    pub deep: DeepArgs,
    #[command(flatten)]
    pub auth: AuthArgs,
}

/// The TLS deep check, for `check` and per target for `scan`.
#[derive(Args, Debug, Clone)]
pub struct DeepArgs {
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
    /// Stop after the NLA (CredSSP) logon instead of following the connection sequence (no
    /// session is started on the server)
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

impl DeepArgs {
    /// The probe's deep options, when `--deep` was given.
    pub fn options(&self) -> Option<rdpdoctor_core::probe::tls_enum::DeepOptions> {
        self.deep.then(|| {
            rdpdoctor_core::probe::tls_enum::DeepOptions::new(
                usize::from(self.max_parallel),
                std::time::Duration::from_millis(self.delay_ms),
            )
        })
    }
}

/// The path measurement: loss, latency, MTU black holes, the UDP transport.
#[derive(Args, Debug, Clone)]
pub struct PathArgs {
    /// Measure the network path: loss and RTT from repeated handshakes, MTU black holes in
    /// both directions, the UDP transport. Runs by itself when a failure could come from the
    /// path (a TLS timeout after a good X.224 exchange, a retransmitted SYN)
    #[arg(long, conflicts_with = "no_path")]
    pub path: bool,
    /// Never measure the path, not even after a failure it could explain
    #[arg(long)]
    pub no_path: bool,
    /// TCP handshakes to sample for loss and RTT (more samples, narrower loss interval)
    #[arg(long, default_value_t = 100, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub samples: u32,
    /// Stop starting new handshakes after this many seconds, whatever --samples says
    #[arg(long, value_name = "SECONDS")]
    pub path_duration: Option<f64>,
}

#[derive(Args, Debug)]
pub struct AnalyzeArgs {
    /// Files, folders (read recursively) or zips
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    #[command(flatten)]
    pub output: OutputArgs,
    /// Only this computer (when the files hold several)
    #[arg(long, value_name = "NAME")]
    pub host: Option<String>,
    /// Ignore events before this time (RFC 3339, e.g. 2026-11-20T09:00:00Z)
    #[arg(long, value_name = "TIME")]
    pub since: Option<chrono::DateTime<chrono::Utc>>,
    /// Ignore events after this time (RFC 3339)
    #[arg(long, value_name = "TIME")]
    pub until: Option<chrono::DateTime<chrono::Utc>>,
    /// Show the timeline around this time ("what happened at 09:14"), RFC 3339
    #[arg(long, value_name = "TIME")]
    pub around: Option<chrono::DateTime<chrono::Utc>>,
    /// Minutes either side of --around
    #[arg(long, default_value_t = 10, value_name = "MINUTES")]
    pub window: i64,
    /// Only failures and warnings in the timeline
    #[arg(long)]
    pub problems_only: bool,
    /// Timeline lines in the text report (the newest are kept)
    #[arg(long, default_value_t = 60, value_name = "N")]
    pub timeline_lines: usize,
}

#[derive(Args, Debug)]
pub struct DiagnoseArgs {
    /// A JSON document written by `check --save` or `check --format json`
    pub file: PathBuf,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// What `scan` prints on stdout.
#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum ScanFormat {
    /// The fleet summary for people
    Text,
    /// The fleet summary as one JSON document
    Json,
    /// One row per server, for spreadsheets (streamed as checks finish)
    Csv,
}

/// How `scan` shows progress on stderr.
#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum ProgressMode {
    /// A bar when stderr is a terminal, periodic lines otherwise
    Auto,
    Bar,
    Plain,
    Off,
}

#[derive(Args, Debug)]
#[command(after_help = "\
Targets: HOST, HOST:PORT, [IPv6]:PORT, CIDR ranges (10.0.0.0/24, 10.0.0.0/24:3390, fd00::/120, \
[fd00::/120]:3390), files of targets (one per line, any of these forms, # comments), .rdp files, \
and - for standard input. Duplicates are removed.

Examples:
  rdpdoctor scan 10.0.0.0/24 --out results.jsonl --report fleet.html
  rdpdoctor scan servers.txt --exclude 10.0.0.13 --rate 200 --out results.jsonl
  rdpdoctor scan servers.txt --out results.jsonl --resume     # after Ctrl-C or a crash
  rdpdoctor scan --from results.jsonl --report fleet.html      # rebuild reports, no rescan

Exit codes: 0 every server healthy, 1 problems found somewhere, 2 nothing could be checked, \
64 usage error, 130 interrupted (resume with --resume).")]
pub struct ScanArgs {
    /// Hosts, HOST:PORT, CIDR ranges, files of targets, .rdp files, - for stdin
    #[arg(value_name = "TARGET")]
    pub targets: Vec<String>,
    #[command(flatten)]
    pub deep: DeepArgs,
    /// Port for targets written without one
    #[arg(long, default_value_t = rdpdoctor_core::target::DEFAULT_PORT)]
    pub port: u16,
    /// Do not check these: hosts (every port), HOST:PORT, CIDR ranges or files of them
    #[arg(long, value_name = "TARGET|CIDR|FILE")]
    pub exclude: Vec<String>,
    /// Refuse inputs that expand to more targets than this (checked before scanning)
    #[arg(long, default_value_t = 1_000_000, value_name = "N")]
    pub max_targets: u64,
    /// Checks in flight at once [default: 512, fewer if the open-file limit is low]
    #[arg(long, value_name = "N")]
    pub concurrency: Option<usize>,
    /// New TCP connections per second, over all checks (0: unlimited)
    #[arg(long, default_value_t = 1000.0, value_name = "PER_SECOND")]
    pub rate: f64,
    /// Checks in flight at once against one host
    #[arg(long, default_value_t = 2, value_name = "N")]
    pub per_host: usize,
    /// Deadline for each stage of each check, in seconds
    #[arg(long, default_value_t = 5.0, value_name = "SECONDS")]
    pub timeout: f64,
    /// Trust only the CA certificates in this PEM/DER file (instead of the OS store)
    #[arg(long, value_name = "FILE")]
    pub ca_file: Option<PathBuf>,
    /// Send `Cookie: mstshash=NAME` in the X.224 request
    #[arg(long, value_name = "NAME")]
    pub cookie: Option<String>,
    /// Write each result as it finishes, one JSON document per line (as `check --format json`)
    #[arg(long, short = 'o', value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Continue the scan in --out: skip targets already there (a partial last line is dropped)
    #[arg(long, requires = "out")]
    pub resume: bool,
    /// Replace an existing --out file instead of refusing
    #[arg(long, conflicts_with = "resume")]
    pub overwrite: bool,
    /// Build the reports from a results file instead of scanning
    #[arg(long, value_name = "RESULTS.jsonl", conflicts_with_all = ["targets", "out", "resume", "exclude"])]
    pub from: Option<PathBuf>,
    /// Also write the fleet report as a self-contained HTML page
    #[arg(long, value_name = "FILE.html")]
    pub report: Option<PathBuf>,
    /// What to print on stdout
    #[arg(long, value_enum, default_value_t = ScanFormat::Text)]
    pub format: ScanFormat,
    /// Certificates expiring within this many days are reported as a risk
    #[arg(long, default_value_t = 30, value_name = "DAYS")]
    pub expiry_warning_days: i64,
    /// Progress on stderr
    #[arg(long, value_enum, default_value_t = ProgressMode::Auto)]
    pub progress: ProgressMode,
    /// Servers listed per cause, and certificates listed by expiry, in the summary
    #[arg(long, default_value_t = 100, value_name = "N")]
    pub list_limit: usize,
    /// Servers in the HTML report's table (the ones most in need of attention first)
    #[arg(long, default_value_t = 10_000, value_name = "N")]
    pub report_rows: usize,
}
