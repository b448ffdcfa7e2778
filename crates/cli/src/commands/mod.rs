//! One module per subcommand; each returns the process exit code.

mod analyze;
mod causes;
mod check;
mod demo;
mod diagnose;
mod explain;
mod lab;
mod scan;

use crate::args::{Cli, Command};

pub async fn run(cli: Cli) -> u8 {
    match cli.command {
        Command::Check(a) => check::run(a).await,
        Command::Diagnose(a) => diagnose::run(a),
        Command::Analyze(a) => analyze::run(a).await,
        Command::Explain(a) => explain::run(a),
        Command::Causes(a) => causes::run(a),
        Command::Lab(a) => lab::run(a).await,
        Command::Demo(a) => demo::run(a).await,
        Command::Scan(a) => scan::run(a).await,
    }
}
