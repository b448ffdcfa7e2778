//! `rdpdoctor`: parse the command line, call the core, render. Nothing is decided here.

mod args;
mod commands;
mod render;

use clap::Parser;
use std::process::ExitCode;

/// Exit codes (documented in the README and `--help`).
pub mod exit {
    pub const HEALTHY: u8 = 0;
    pub const PROBLEMS: u8 = 1;
    pub const COULD_NOT_CHECK: u8 = 2;
    pub const USAGE: u8 = 64;
}

fn main() -> ExitCode {
    let cli = match args::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(match e.kind() {
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => {
                    exit::HEALTHY
                }
                _ => exit::USAGE,
            });
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("rdpdoctor: cannot start the async runtime: {e}");
            return ExitCode::from(exit::COULD_NOT_CHECK);
        }
    };
    ExitCode::from(runtime.block_on(commands::run(cli)))
}
