//! The results file (`--out results.jsonl`): one compact JSON [`Report`] per line, the same
//! document `check --format json` prints.
//!
//! - **Writing**: each line is serialised whole and handed to the kernel in one `write` on a
//!   file opened for append, so a crash, `kill -9` or Ctrl-C loses only checks that had not
//!   finished; nothing already reported sits in a user-space buffer. (No fsync per line: the
//!   page cache survives the process; [`ResultsWriter::finish`] syncs once at the end.)
//! - **Reading** (`--resume`, `--from`) streams line by line with one reused buffer. A process
//!   killed mid-write leaves at most one partial line, at the end: it is reported as
//!   [`Tail::Partial`] and [`repair`] cuts it off so the resumed scan appends cleanly. A bad
//!   line anywhere else is not something a crash produces, so it is an error, not silently
//!   dropped data.

use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, Write};
use std::path::Path;

use crate::evidence::Report;

/// How the file ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Tail {
    Clean,
    /// The last line is complete JSON but has no newline: keep it, add the newline.
    MissingNewline {
        len: u64,
    },
    /// The last line is cut short: drop the bytes from `offset`.
    Partial {
        offset: u64,
        bytes: u64,
    },
}

/// What reading found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReadOutcome {
    /// Result lines read (the partial tail not counted).
    pub results: u64,
    pub tail: Tail,
}

/// Why a results file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ResultsError {
    #[error("{path}: {source}")]
    Io { path: String, source: io::Error },
    #[error(
        "{path}:{line}: not an rdpdoctor result ({message}); only the last line may be damaged by an interrupted scan, so this file was not written by one"
    )]
    BadLine {
        path: String,
        line: u64,
        message: String,
    },
}

/// Read every result of `reader`, calling `visit` for each, in file order. `name` is used in
/// errors.
pub fn read_from<R: BufRead>(
    name: &str,
    mut reader: R,
    mut visit: impl FnMut(Report),
) -> Result<ReadOutcome, ResultsError> {
    let mut buf = Vec::with_capacity(16 * 1024);
    let mut offset: u64 = 0;
    let mut line_no: u64 = 0;
    let mut results = 0;
    // A bad line is only forgiven if nothing follows it.
    let mut pending_bad: Option<(u64, u64, String)> = None;
    loop {
        buf.clear();
        let n = reader
            .read_until(b'\n', &mut buf)
            .map_err(|source| ResultsError::Io {
                path: name.to_string(),
                source,
            })? as u64;
        if n == 0 {
            break;
        }
        line_no += 1;
        if let Some((line, _, message)) = pending_bad.take() {
            return Err(ResultsError::BadLine {
                path: name.to_string(),
                line,
                message,
            });
        }
        let complete = buf.last() == Some(&b'\n');
        let text = buf.trim_ascii();
        if text.is_empty() {
            offset += n;
            continue;
        }
        match serde_json::from_slice::<Report>(text) {
            Ok(report) => {
                results += 1;
                visit(report);
                if !complete {
                    return Ok(ReadOutcome {
                        results,
                        tail: Tail::MissingNewline { len: offset + n },
                    });
                }
            }
            Err(e) => pending_bad = Some((line_no, offset, e.to_string())),
        }
        offset += n;
    }
    let tail = match pending_bad {
        Some((_, at, _)) => Tail::Partial {
            offset: at,
            bytes: offset - at,
        },
        None => Tail::Clean,
    };
    Ok(ReadOutcome { results, tail })
}

/// [`read_from`] a file.
pub fn read(path: &Path, visit: impl FnMut(Report)) -> Result<ReadOutcome, ResultsError> {
    let name = path.display().to_string();
    let file = File::open(path).map_err(|source| ResultsError::Io {
        path: name.clone(),
        source,
    })?;
    read_from(&name, BufReader::with_capacity(256 * 1024, file), visit)
}

/// Make the file end cleanly after the last complete result.
pub fn repair(path: &Path, tail: &Tail) -> io::Result<()> {
    match tail {
        Tail::Clean => Ok(()),
        Tail::MissingNewline { .. } => OpenOptions::new().append(true).open(path)?.write_all(b"\n"),
        Tail::Partial { offset, .. } => {
            let f = OpenOptions::new().write(true).open(path)?;
            f.set_len(*offset)?;
            f.sync_all()
        }
    }
}

/// Appends results, one line each.
pub struct ResultsWriter {
    file: File,
    line: Vec<u8>,
}

impl ResultsWriter {
    /// Open for appending (`--resume`) or create/truncate.
    pub fn open(path: &Path, append: bool) -> io::Result<ResultsWriter> {
        let mut o = OpenOptions::new();
        o.create(true);
        if append {
            o.append(true);
        } else {
            o.write(true).truncate(true);
        }
        Ok(ResultsWriter {
            file: o.open(path)?,
            line: Vec::with_capacity(16 * 1024),
        })
    }

    /// Write one result as one line, in one system call.
    pub fn append(&mut self, report: &Report) -> io::Result<()> {
        self.line.clear();
        serde_json::to_writer(&mut self.line, report).map_err(io::Error::other)?;
        self.line.push(b'\n');
        self.file.write_all(&self.line)
    }

    /// Flush to disk.
    pub fn finish(self) -> io::Result<()> {
        self.file.sync_all()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Target;
    use crate::evidence::Evidence;
    use chrono::TimeZone;

    fn report(host: &str) -> Report {
        let at = chrono::Utc.with_ymd_and_hms(2026, 11, 20, 0, 0, 0).unwrap();
        Report::new(Target::parse(host).unwrap(), Evidence::new(at), 1.0)
    }

    fn line(host: &str) -> String {
        serde_json::to_string(&report(host)).unwrap() + "\n"
    }

    fn hosts(text: &str) -> (Vec<String>, Result<ReadOutcome, ResultsError>) {
        let mut got = Vec::new();
        let r = read_from("r.jsonl", text.as_bytes(), |rep| got.push(rep.target.host));
        (got, r)
    }

    #[test]
    fn a_truncated_last_line_is_dropped() {
        let full = line("a.example") + &line("b.example");
        let cut = &line("c.example")[..40];
        let (got, r) = hosts(&(full.clone() + cut));
        assert_eq!(got, ["a.example", "b.example"]);
        assert_eq!(
            r.unwrap(),
            ReadOutcome {
                results: 2,
                tail: Tail::Partial {
                    offset: full.len() as u64,
                    bytes: 40
                }
            }
        );
    }

    #[test]
    fn a_complete_last_line_without_newline_is_kept() {
        let text = line("a.example") + line("b.example").trim_end();
        let (got, r) = hosts(&text);
        assert_eq!(got, ["a.example", "b.example"]);
        assert_eq!(
            r.unwrap().tail,
            Tail::MissingNewline {
                len: text.len() as u64
            }
        );
    }

    #[test]
    fn blank_lines_are_ignored_and_a_clean_file_is_clean() {
        let (got, r) = hosts(&(line("a.example") + "\n" + &line("b.example")));
        assert_eq!(got.len(), 2);
        assert_eq!(r.unwrap().tail, Tail::Clean);
        let (got, r) = hosts("");
        assert!(got.is_empty());
        assert_eq!(
            r.unwrap(),
            ReadOutcome {
                results: 0,
                tail: Tail::Clean
            }
        );
    }

    #[test]
    fn damage_before_the_end_is_an_error() {
        let text = line("a.example") + "{\"not\": \"a report\"}\n" + &line("b.example");
        let (_, r) = hosts(&text);
        let e = r.unwrap_err().to_string();
        assert!(e.starts_with("r.jsonl:2: not an rdpdoctor result"), "{e}");
    }

    #[test]
    fn write_read_repair_roundtrip() {
        let dir = crate::scan::testing::tempdir();
        let path = dir.join("r.jsonl");
        let mut w = ResultsWriter::open(&path, false).unwrap();
        w.append(&report("a.example")).unwrap();
        w.append(&report("b.example")).unwrap();
        w.finish().unwrap();
        // Simulate a kill in the middle of the third line.
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(&line("c.example").as_bytes()[..25]).unwrap();
        let outcome = read(&path, |_| {}).unwrap();
        assert!(matches!(outcome.tail, Tail::Partial { bytes: 25, .. }));
        repair(&path, &outcome.tail).unwrap();
        let mut w = ResultsWriter::open(&path, true).unwrap();
        w.append(&report("c.example")).unwrap();
        w.finish().unwrap();
        let mut got = Vec::new();
        let outcome = read(&path, |r| got.push(r.target.host)).unwrap();
        assert_eq!(got, ["a.example", "b.example", "c.example"]);
        assert_eq!(outcome.tail, Tail::Clean);
        // Each line is exactly the document `check --format json` prints, compacted.
        let first = std::fs::read_to_string(&path).unwrap();
        let first: serde_json::Value = serde_json::from_str(first.lines().next().unwrap()).unwrap();
        assert_eq!(first, serde_json::to_value(report("a.example")).unwrap());
        std::fs::remove_dir_all(dir).unwrap();
    }
}
