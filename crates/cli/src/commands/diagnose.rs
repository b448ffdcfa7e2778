//! `rdpdoctor diagnose FILE`: re-run the diagnosis on saved evidence with this rdpdoctor's rules.

use chrono::Utc;

use crate::args::DiagnoseArgs;
use crate::exit;
use crate::render;
use rdpdoctor_core::diagnose::{DiagnoseOptions, diagnose};
use rdpdoctor_core::evidence::{Report, SCHEMA_VERSION};

/// Saved documents are small; anything larger is not one of ours.
const MAX_DOCUMENT: u64 = 64 * 1024 * 1024;

pub fn run(args: DiagnoseArgs) -> u8 {
    let mut report = match load(&args.file) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("rdpdoctor: {}: {e}", args.file.display());
            return exit::COULD_NOT_CHECK;
        }
    };
    let now = Utc::now();
    let mut dopts = DiagnoseOptions::at(now);
    dopts.expiry_warning_days = args.output.expiry_warning_days;
    let d = diagnose(&report.target, &report.evidence, &dopts);
    report.set_diagnosis(d, now);
    render::print(&report, args.output.format);
    report.verdict.exit_code() as u8
}

fn load(path: &std::path::Path) -> Result<Report, String> {
    let meta = std::fs::metadata(path).map_err(|e| e.to_string())?;
    if meta.len() > MAX_DOCUMENT {
        return Err(format!(
            "{} bytes is too large for an evidence document",
            meta.len()
        ));
    }
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    let value: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| format!("not JSON: {e}"))?;
    match value.get("schema_version").and_then(|v| v.as_u64()) {
        None => return Err("not an rdpdoctor evidence document (no schema_version)".into()),
        Some(v) if v > u64::from(SCHEMA_VERSION) => {
            return Err(format!(
                "written by a newer rdpdoctor (schema {v}; this one reads up to {SCHEMA_VERSION})"
            ));
        }
        Some(_) => {}
    }
    serde_json::from_value(value).map_err(|e| format!("not a valid evidence document: {e}"))
}
