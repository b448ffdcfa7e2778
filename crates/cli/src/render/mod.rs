//! Renderers: the same Report as text (answer first), JSON and Markdown. A renderer never
//! decides anything; it only shows what the diagnosis said.

pub mod csv;
pub mod fleet;
pub mod html;
mod markdown;
pub mod style;
mod text;

pub use markdown::markdown;
pub use text::text;

use std::io::Write;
use std::path::Path;

use crate::args::Format;
use rdpdoctor_core::evidence::Report;

/// The JSON document (`--format json`, `--save`, one line of `scan --out` in compact form).
pub fn json(report: &Report) -> String {
    serde_json::to_string_pretty(report).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
}

/// Print to stdout; colour only when stdout is a terminal that wants it (anstream strips the
/// escape codes otherwise and handles the Windows console).
pub fn print(report: &Report, format: Format) {
    let out = match format {
        Format::Text => text(report, style::Style::ansi()),
        Format::Json => json(report) + "\n",
        Format::Markdown => markdown(report),
    };
    let mut stdout = anstream::stdout();
    let _ = stdout.write_all(out.as_bytes());
    let _ = stdout.flush();
}

/// Write the evidence document to a file.
pub fn save(report: &Report, path: &Path) -> std::io::Result<()> {
    std::fs::write(path, json(report) + "\n")
}
