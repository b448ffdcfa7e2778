//! Where targets come from: command-line items and files of targets, read line by line.
//!
//! [`Source::classify`] decides what a command-line argument is: an existing file is a list of
//! targets (one per line, `#` comments and blank lines allowed, any [`entry`](super::entry)
//! form per line, `.rdp` paths relative to the list); anything else is an entry. Standard input
//! (`-`) is a list the caller has saved to a file first, so that it can be read twice (once to
//! count and validate, once to scan) without being held in memory.

use std::fmt;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use super::entry::{self, Entry, Parsed};
use super::rdpfile;

/// One command-line input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// A host, `host:port`, CIDR range or `.rdp` file written on the command line.
    Item(String),
    /// A file of targets; `name` is how the user named it (`-` for standard input).
    List { name: String, path: PathBuf },
}

impl Source {
    /// An existing regular file is a list (unless it is a `.rdp` file); everything else is an
    /// item, parsed when it is reached. A `-` must be handled by the caller (see module docs).
    pub fn classify(arg: &str) -> Source {
        let path = Path::new(arg);
        if !rdpfile::is_rdp_path(arg) && path.is_file() {
            Source::List {
                name: arg.to_string(),
                path: path.to_path_buf(),
            }
        } else {
            Source::Item(arg.to_string())
        }
    }
}

/// Where an entry was written: `10.0.0.0/8`, `servers.txt:12`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Origin {
    pub input: String,
    pub line: Option<u64>,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(n) => write!(f, "{}:{n}", self.input),
            None => f.write_str(&self.input),
        }
    }
}

/// An entry that could not be read, and where.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{origin}: {message}")]
pub struct SourceError {
    pub origin: Origin,
    pub message: String,
}

/// An entry and where it was written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Located {
    pub entry: Entry,
    pub origin: Origin,
}

/// Every entry of every source, in order, reading files lazily.
pub struct Entries {
    sources: std::vec::IntoIter<Source>,
    current: Option<ListLines>,
    default_port: u16,
}

/// The lines of one list being read.
struct ListLines {
    name: String,
    dir: PathBuf,
    lines: std::io::Lines<Box<dyn BufRead + Send>>,
    line_no: u64,
}

impl Entries {
    pub fn new(sources: Vec<Source>, default_port: u16) -> Entries {
        Entries {
            sources: sources.into_iter(),
            current: None,
            default_port,
        }
    }

    /// The entries of one list read from `reader` (standard input in tests, any reader).
    pub fn from_reader(name: &str, reader: Box<dyn BufRead + Send>, default_port: u16) -> Entries {
        Entries {
            sources: Vec::new().into_iter(),
            current: Some(ListLines {
                name: name.to_string(),
                dir: PathBuf::from("."),
                lines: reader.lines(),
                line_no: 0,
            }),
            default_port,
        }
    }

    fn open(&mut self, name: String, path: &Path) -> Result<(), SourceError> {
        let file = File::open(path).map_err(|e| SourceError {
            origin: Origin {
                input: name.clone(),
                line: None,
            },
            message: format!("cannot read the file: {e}"),
        })?;
        let reader: Box<dyn BufRead + Send> = Box::new(BufReader::new(file));
        self.current = Some(ListLines {
            name,
            dir: path.parent().map(Path::to_path_buf).unwrap_or_default(),
            lines: reader.lines(),
            line_no: 0,
        });
        Ok(())
    }
}

impl Iterator for Entries {
    type Item = Result<Located, SourceError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(list) = &mut self.current {
                let Some(line) = list.lines.next() else {
                    self.current = None;
                    continue;
                };
                list.line_no += 1;
                let origin = Origin {
                    input: list.name.clone(),
                    line: Some(list.line_no),
                };
                let line = match line {
                    Ok(l) => l,
                    Err(e) => {
                        self.current = None;
                        let message = format!("cannot read the file: {e}");
                        return Some(Err(SourceError { origin, message }));
                    }
                };
                let text = strip_comment(&line);
                if text.is_empty() {
                    continue;
                }
                let dir = list.dir.clone();
                return Some(resolve(text, origin, Some(&dir), self.default_port));
            }
            match self.sources.next()? {
                Source::Item(text) => {
                    let origin = Origin {
                        input: text.clone(),
                        line: None,
                    };
                    return Some(resolve(&text, origin, None, self.default_port));
                }
                Source::List { name, path } => {
                    if let Err(e) = self.open(name, &path) {
                        return Some(Err(e));
                    }
                }
            }
        }
    }
}

/// Everything from the first `#` is a comment (host names cannot contain `#`).
fn strip_comment(line: &str) -> &str {
    line.split('#').next().unwrap_or("").trim()
}

/// Parse one item; read it when it is a `.rdp` file (relative paths in a list are relative to
/// the list).
fn resolve(
    text: &str,
    origin: Origin,
    list_dir: Option<&Path>,
    default_port: u16,
) -> Result<Located, SourceError> {
    let fail = |message: String| SourceError {
        origin: origin.clone(),
        message,
    };
    if text.split_whitespace().nth(1).is_some() && !rdpfile::is_rdp_path(text) {
        return Err(fail(format!(
            "'{text}': one target per line (host, host:port, CIDR range or .rdp file)"
        )));
    }
    let entry = match entry::parse(text, default_port) {
        Ok(Parsed::Entry(e)) => e,
        Ok(Parsed::RdpFile(path)) => {
            let full = match list_dir {
                Some(dir) if path.is_relative() => dir.join(&path),
                _ => path,
            };
            Entry::One(rdpfile::read_target(text, &full).map_err(fail)?)
        }
        Err(e) => {
            // An item that looks like a path is most likely a file that does not exist.
            let looks_like_path = list_dir.is_none()
                && matches!(e, entry::EntryError::BadRange(_))
                && !text.contains(':')
                && !text.starts_with(|c: char| c.is_ascii_digit());
            return Err(fail(if looks_like_path {
                format!("no such file, and not a target: {e}")
            } else {
                e.to_string()
            }));
        }
    };
    Ok(Located { entry, origin })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    fn list(text: &str) -> Vec<Result<Located, SourceError>> {
        Entries::from_reader("-", Box::new(Cursor::new(text.to_string())), 3389).collect()
    }

    #[test]
    fn a_list_allows_comments_blank_lines_and_every_form() {
        let items = list(
            "# fleet\n\nserver01\n  server02:3390   # the odd one\n10.0.0.0/30\n[fd00::/127]:4000\r\n",
        );
        let entries: Vec<Entry> = items.into_iter().map(|r| r.unwrap().entry).collect();
        assert_eq!(entries.len(), 4);
        let sizes: Vec<u128> = entries.iter().map(Entry::size).collect();
        assert_eq!(sizes, [1, 1, 4, 2]);
        assert_eq!(
            entries[1],
            Entry::One(crate::Target::parse("server02:3390").unwrap())
        );
    }

    #[test]
    fn errors_name_the_file_and_line() {
        let items = list("server01\nbad host\n10.0.0.0/99\n");
        let errs: Vec<String> = items
            .into_iter()
            .filter_map(|r| r.err())
            .map(|e| e.to_string())
            .collect();
        assert_eq!(errs.len(), 2);
        assert!(errs[0].starts_with("-:2: "), "{}", errs[0]);
        assert!(errs[0].contains("one target per line"), "{}", errs[0]);
        assert!(errs[1].starts_with("-:3: "), "{}", errs[1]);
    }

    #[test]
    fn files_and_items_are_read_in_order() {
        let dir = crate::scan::testing::tempdir();
        let path = dir.join("fleet.txt");
        std::fs::write(&path, "a.example\nsrv.rdp\n").unwrap();
        std::fs::write(dir.join("srv.rdp"), "full address:s:b.example:4000\n").unwrap();
        let name = path.display().to_string();
        assert!(matches!(Source::classify(&name), Source::List { .. }));
        let sources = vec![Source::Item("c.example".into()), Source::classify(&name)];
        let got: Vec<(String, u16, String)> = Entries::new(sources, 3389)
            .map(|r| match r.unwrap().entry {
                Entry::One(t) => (t.host, t.port, t.input),
                e => panic!("{e:?}"),
            })
            .collect();
        assert_eq!(
            got,
            [
                ("c.example".into(), 3389, "c.example".into()),
                ("a.example".into(), 3389, "a.example".into()),
                ("b.example".into(), 4000, "srv.rdp".into()),
            ]
        );
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_missing_file_is_named_as_such() {
        let e = Entries::new(vec![Source::classify("no/such/list.txt")], 3389)
            .next()
            .unwrap()
            .unwrap_err();
        assert!(e.to_string().contains("no such file"), "{e}");
    }
}
