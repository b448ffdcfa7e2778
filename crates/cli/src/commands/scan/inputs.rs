//! Turning the command line into a [`Plan`] and a results file ready to append to.

use std::io::Write;
use std::path::Path;

use super::Fail;
use crate::args::ScanArgs;
use rdpdoctor_core::evidence::Report;
use rdpdoctor_core::scan::results::{self, ResultsWriter, Tail};
use rdpdoctor_core::scan::{Exclusions, KeySet, Plan, Source, TargetKey};

/// The plan, and what must live as long as it (standard input saved to a file).
pub struct Inputs {
    pub plan: Plan,
    _stdin: Option<tempfile::TempPath>,
}

/// Classify the arguments; `-` reads standard input into a temporary file first, so the
/// survey and the scan can both read it without holding it in memory.
pub fn plan(args: &ScanArgs) -> Result<Inputs, Fail> {
    if args.targets.is_empty() {
        return Err(Fail::Usage(
            "no targets: give hosts, HOST:PORT, CIDR ranges, files of targets, .rdp files, or - for standard input (or --from RESULTS.jsonl)".into(),
        ));
    }
    let mut stdin = None;
    let mut sources = Vec::new();
    for arg in &args.targets {
        if arg == "-" {
            if stdin.is_none() {
                stdin = Some(spool_stdin()?);
            }
            if let Some(p) = &stdin {
                sources.push(Source::List {
                    name: "-".into(),
                    path: p.to_path_buf(),
                });
            }
        } else {
            sources.push(Source::classify(arg));
        }
    }
    if args.exclude.iter().any(|e| e == "-") {
        return Err(Fail::Usage(
            "--exclude cannot read standard input; give a file".into(),
        ));
    }
    let exclusions =
        Exclusions::from_sources(args.exclude.iter().map(|e| Source::classify(e)).collect())
            .map_err(|e| Fail::Usage(format!("--exclude {e}")))?;
    Ok(Inputs {
        plan: Plan {
            sources,
            default_port: args.port,
            exclusions,
            max_targets: args.max_targets,
        },
        _stdin: stdin,
    })
}

fn spool_stdin() -> Result<tempfile::TempPath, Fail> {
    let mut file = tempfile::NamedTempFile::new().map_err(|e| {
        Fail::Failed(format!(
            "cannot save standard input to a temporary file: {e}"
        ))
    })?;
    std::io::copy(&mut std::io::stdin().lock(), &mut file)
        .and_then(|_| file.flush())
        .map_err(|e| Fail::Failed(format!("cannot read standard input: {e}")))?;
    Ok(file.into_temp_path())
}

/// Open `--out`: refuse to clobber earlier results unless asked; with `--resume`, read what is
/// there (each finished target goes into `done`, each report to `previous`) and cut off a
/// partial last line. Returns the writer and a sentence about what was found.
pub fn results_file(
    args: &ScanArgs,
    path: &Path,
    done: &mut KeySet,
    mut previous: impl FnMut(&Report),
) -> Result<(ResultsWriter, Option<String>), Fail> {
    let existing = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    let mut note = None;
    if existing > 0 && !args.resume && !args.overwrite {
        return Err(Fail::Usage(format!(
            "{} already holds results: add --resume to continue that scan, or --overwrite to start over",
            path.display()
        )));
    }
    if args.resume && existing > 0 {
        let outcome = results::read(path, |r| {
            done.insert(TargetKey::of(&r.target));
            previous(&r);
        })
        .map_err(|e| Fail::Usage(format!("--resume: {e}")))?;
        results::repair(path, &outcome.tail)
            .map_err(|e| Fail::Failed(format!("cannot repair {}: {e}", path.display())))?;
        let mut s = format!(
            "resuming: {} results already in {}",
            outcome.results,
            path.display()
        );
        if let Tail::Partial { bytes, .. } = outcome.tail {
            s.push_str(&format!(
                " (dropped a partial last line of {bytes} bytes left by an interrupted run)"
            ));
        }
        note = Some(s);
    }
    let writer = ResultsWriter::open(path, args.resume)
        .map_err(|e| Fail::Failed(format!("cannot write {}: {e}", path.display())))?;
    Ok((writer, note))
}
