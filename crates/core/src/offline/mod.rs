//! Offline evidence readers: event logs (.evtx), registry (.reg exports and SYSTEM/SOFTWARE
//! hives), certificate files, .rdp connection files, and .zip bundles of them (what
//! `collect.ps1` produces).
//!
//! [`analyze_paths`] takes files and folders (walked recursively) and returns an
//! [`OfflineEvidence`]: one [`HostEvidence`] per computer named in the files, the client-side
//! facts (.rdp files) and the warnings. The CLI turns a host's evidence into an [`Evidence`]
//! for `rdpdoctor analyze`, or attaches it to a live check with `--evidence`.
//!
//! Which computer a file belongs to: events name their computer; a registry export or a
//! certificate does not, so it goes to the computer its bundle's manifest names, else the one
//! its SYSTEM hive names, else the one the event logs of the same bundle (zip or folder) name,
//! else the only computer seen at all.
//!
//! Hostile input never wins: files are streamed or read within size caps, zip bundles are
//! bounded in entries and inflated bytes, corrupt records are skipped and counted, and a
//! problem with one file becomes a [`FileWarning`] naming it, never an abort.

mod aggregate;
mod certfile;
pub(crate) mod codes;
pub(crate) mod evtx;
pub mod rdpfile;
pub(crate) mod registry;
pub mod timeline;
mod zip;

pub use certfile::normalize_thumbprint;
pub use rdpfile::{RdpTargetError, parse_rdp};
pub use timeline::{DEFAULT_TIMELINE_LIMIT, TimelineView, render_timeline};

use chrono::{DateTime, Utc};
use serde::Deserialize;
use std::collections::HashMap;
use std::fs::File;
use std::io::{Read, Seek};
use std::path::{Path, PathBuf};

use crate::Target;
use crate::evidence::{
    CertificateFile, ClientEvidence, EventSource, Evidence, FileWarning, HostEvidence, RdpFile,
    SourceFile, host_names_match,
};
use aggregate::HostAccumulator;
use registry::RegistryCollector;

/// Replace control characters (terminal escape sequences, NULs) in text that came from a file,
/// so that user names, entry names and registry strings written by strangers print safely.
pub(crate) fn printable(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { '\u{FFFD}' } else { c })
        .collect()
}

/// Name of the manifest `collect.ps1` writes at the root of its bundle.
pub const MANIFEST_NAME: &str = "rdpdoctor-manifest.json";

/// Size and count bounds for one analysis.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Files looked at in total (folders and zip bundles included).
    pub max_files: usize,
    /// Folder nesting followed.
    pub max_depth: usize,
    /// Entries read from one zip.
    pub max_zip_entries: usize,
    /// Bytes inflated from one zip, all entries together.
    pub max_zip_inflated: u64,
    /// One .evtx inside a zip (spooled to an anonymous temporary file, not memory).
    pub max_evtx_bytes: u64,
    /// One registry hive (read into memory).
    pub max_hive_bytes: u64,
    /// One .reg export (read into memory).
    pub max_reg_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_files: 20_000,
            max_depth: 16,
            max_zip_entries: 10_000,
            max_zip_inflated: 16 * 1024 * 1024 * 1024,
            max_evtx_bytes: 4 * 1024 * 1024 * 1024,
            max_hive_bytes: 512 * 1024 * 1024,
            max_reg_bytes: 64 * 1024 * 1024,
        }
    }
}

/// Knobs for [`analyze_paths`].
#[derive(Clone, Debug)]
pub struct AnalyzeOptions {
    /// The time certificates are judged against (`days_left`).
    pub now: DateTime<Utc>,
    /// Only events at or after this time.
    pub since: Option<DateTime<Utc>>,
    /// Only events at or before this time.
    pub until: Option<DateTime<Utc>>,
    /// Timeline entries kept per host.
    pub timeline_limit: usize,
    /// Threads the .evtx parser may use (0: one per core).
    pub threads: usize,
    pub limits: Limits,
}

impl AnalyzeOptions {
    pub fn at(now: DateTime<Utc>) -> Self {
        AnalyzeOptions {
            now,
            since: None,
            until: None,
            timeline_limit: DEFAULT_TIMELINE_LIMIT,
            threads: 0,
            limits: Limits::default(),
        }
    }
}

impl Default for AnalyzeOptions {
    fn default() -> Self {
        AnalyzeOptions::at(Utc::now())
    }
}

/// Everything read from the files.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct OfflineEvidence {
    /// One entry per computer; a computer-less entry (`name: None`) holds files that could not
    /// be tied to one.
    pub hosts: Vec<HostEvidence>,
    /// .rdp files.
    pub client: ClientEvidence,
    /// Every problem with every file (each host also lists its own).
    pub warnings: Vec<FileWarning>,
    /// Every file read.
    pub files: Vec<SourceFile>,
}

/// Why offline evidence does not fit a live check's target.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AttachError {
    #[error("the evidence holds no computer named like {target}; it names: {available}")]
    NoMatchingHost { target: String, available: String },
    #[error("the evidence files hold nothing about a computer")]
    Empty,
}

impl OfflineEvidence {
    /// The host whose name (FQDN, short or NetBIOS name, or an address from the bundle's
    /// manifest) matches `name`.
    pub fn host_for(&self, name: &str) -> Option<&HostEvidence> {
        self.hosts.iter().find(|h| h.matches_host(name))
    }

    /// The host, when the files are about exactly one.
    pub fn only_host(&self) -> Option<&HostEvidence> {
        match self.hosts.as_slice() {
            [one] => Some(one),
            _ => None,
        }
    }

    /// Client-side evidence, when any .rdp file was read.
    pub fn client_evidence(&self) -> Option<ClientEvidence> {
        (!self.client.rdp_files.is_empty()).then(|| self.client.clone())
    }

    /// Evidence for `rdpdoctor analyze`: no live stage, this host's files and the client files.
    pub fn to_evidence(
        &self,
        host: Option<&HostEvidence>,
        collected_at: DateTime<Utc>,
    ) -> Evidence {
        let mut ev = Evidence::new(collected_at);
        ev.tcp = crate::Stage::skipped("offline analysis: no live probe");
        ev.host = host.cloned();
        ev.client = self.client_evidence();
        ev
    }

    /// Attach the evidence about `target` to a live check (`check HOST --evidence PATH`): the
    /// host whose name matches, else the only host when the files name no computer at all.
    /// Client files are attached either way.
    pub fn attach_to(&self, evidence: &mut Evidence, target: &Target) -> Result<(), AttachError> {
        if evidence.client.is_none() {
            evidence.client = self.client_evidence();
        }
        let names = [Some(target.host.as_str()), target.expected_name.as_deref()];
        if let Some(h) = names.into_iter().flatten().find_map(|n| self.host_for(n)) {
            evidence.host = Some(h.clone());
            return Ok(());
        }
        match self.only_host() {
            Some(h) if h.name.is_none() => {
                evidence.host = Some(h.clone());
                Ok(())
            }
            _ if self.hosts.is_empty() => Err(AttachError::Empty),
            _ => Err(AttachError::NoMatchingHost {
                target: target.host.clone(),
                available: self
                    .hosts
                    .iter()
                    .map(|h| h.name.as_deref().unwrap_or("(unnamed)"))
                    .collect::<Vec<_>>()
                    .join(", "),
            }),
        }
    }
}

/// Read one .rdp file (for `rdpdoctor check conn.rdp`).
pub fn read_rdp_file(path: &Path) -> Result<RdpFile, FileWarning> {
    let label = path.display().to_string();
    let bytes =
        read_capped(path, rdpfile::MAX_RDP_BYTES as u64).map_err(|problem| FileWarning {
            file: label.clone(),
            problem,
        })?;
    Ok(parse_rdp(&bytes, &label))
}

/// One .reg export read on its own (for tools and fuzzing; [`analyze_paths`] does this for
/// every .reg file it finds).
#[derive(Clone, Debug, PartialEq)]
pub struct RegExport {
    pub registry: crate::evidence::RegistryEvidence,
    /// Whether the file starts with "Windows Registry Editor Version 5.00" or "REGEDIT4".
    pub header_ok: bool,
    /// Lines that could not be read (bounded), with their numbers.
    pub problems: Vec<String>,
}

/// Parse one .reg export (UTF-16LE with a BOM, UTF-8 or ANSI).
pub fn parse_reg_export(bytes: &[u8], file: &str) -> RegExport {
    let mut c = RegistryCollector::default();
    let s = registry::read_reg(bytes, file, &mut c);
    RegExport {
        registry: c.finish(),
        header_ok: s.header_ok,
        problems: s.problems,
    }
}

/// Read the RDP-related keys of one SYSTEM or SOFTWARE hive. `Ok` carries the settings and
/// a warning when the hive is dirty.
pub fn parse_hive(
    bytes: &[u8],
    file: &str,
) -> Result<(crate::evidence::RegistryEvidence, Option<String>), String> {
    let mut c = RegistryCollector::default();
    let warning = registry::read_hive(bytes, file, &mut c)?;
    Ok((c.finish(), warning))
}

/// Read files and folders (recursively, zip bundles included) into offline evidence.
pub fn analyze_paths(paths: &[PathBuf], options: &AnalyzeOptions) -> OfflineEvidence {
    let mut a = Analyzer::new(options);
    let loose = a.new_collection("(files given on the command line)");
    for p in paths {
        a.input(p, loose);
    }
    a.finish()
}

/// The manifest `collect.ps1` writes. Every field is optional: a hand-made bundle works too.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Manifest {
    computer: Option<String>,
    fqdn: Option<String>,
    addresses: Vec<String>,
}

/// Files that came together (a zip, a folder, or the loose files of one command line).
struct Collection {
    label: String,
    manifest: Option<Manifest>,
    registry: RegistryCollector,
    certificates: Vec<CertificateFile>,
    files: Vec<SourceFile>,
    warnings: Vec<FileWarning>,
    /// Events per host index, to find the collection's main computer.
    event_hosts: HashMap<usize, u64>,
    /// Skipped records of files where no event named a computer.
    orphan_skipped: u64,
}

struct HostSlot {
    name: String,
    aliases: Vec<String>,
    acc: HostAccumulator,
    warnings: Vec<FileWarning>,
}

/// What kind of evidence a file is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Evtx,
    Reg,
    Hive,
    Certificate,
    Rdp,
    Zip,
    Manifest,
    Skip,
}

fn extension(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
    match base.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() => ext.to_ascii_lowercase(),
        _ => String::new(),
    }
}

fn base_name(name: &str) -> &str {
    name.rsplit(['/', '\\']).next().unwrap_or(name)
}

fn classify(name: &str, head: &[u8]) -> Kind {
    let base = base_name(name).to_ascii_lowercase();
    if base == MANIFEST_NAME {
        return Kind::Manifest;
    }
    let ext = extension(name);
    match ext.as_str() {
        "evtx" => return Kind::Evtx,
        "reg" => return Kind::Reg,
        "rdp" => return Kind::Rdp,
        "zip" => return Kind::Zip,
        // Hive transaction logs start with "regf" too, but are not hives.
        "log" | "log1" | "log2" | "blf" | "regtrans-ms" => return Kind::Skip,
        e if certfile::is_cert_extension(e) => return Kind::Certificate,
        _ => {}
    }
    if evtx::looks_like_evtx(head) {
        Kind::Evtx
    } else if registry::hive::looks_like_hive(head) {
        Kind::Hive
    } else if zip::looks_like_zip(head) {
        Kind::Zip
    } else if registry::regtext::looks_like_reg(head) {
        Kind::Reg
    } else {
        Kind::Skip
    }
}

/// Read a whole file, refusing more than `cap` bytes.
fn read_capped(path: &Path, cap: u64) -> Result<Vec<u8>, String> {
    let f = File::open(path).map_err(|e| format!("cannot open: {e}"))?;
    let mut buf = Vec::new();
    f.take(cap + 1)
        .read_to_end(&mut buf)
        .map_err(|e| format!("cannot read: {e}"))?;
    if buf.len() as u64 > cap {
        return Err(format!(
            "larger than the {cap} bytes allowed for this kind of file; not read"
        ));
    }
    Ok(buf)
}

/// Computers kept apart; a log naming more shares the last slot among the rest.
const MAX_HOSTS: usize = 1024;
/// Spellings of computer names remembered for the fast path.
const NAME_CACHE_CAP: usize = 8192;

struct Analyzer<'o> {
    opts: &'o AnalyzeOptions,
    name_cache: HashMap<String, usize>,
    collections: Vec<Collection>,
    hosts: Vec<HostSlot>,
    client: ClientEvidence,
    files_seen: usize,
    files_limit_warned: bool,
    /// Global warnings not tied to a collection.
    warnings: Vec<FileWarning>,
}

impl<'o> Analyzer<'o> {
    fn new(opts: &'o AnalyzeOptions) -> Self {
        Analyzer {
            opts,
            name_cache: HashMap::new(),
            collections: Vec::new(),
            hosts: Vec::new(),
            client: ClientEvidence::default(),
            files_seen: 0,
            files_limit_warned: false,
            warnings: Vec::new(),
        }
    }

    fn new_collection(&mut self, label: &str) -> usize {
        self.collections.push(Collection {
            label: label.to_string(),
            manifest: None,
            registry: RegistryCollector::default(),
            certificates: Vec::new(),
            files: Vec::new(),
            warnings: Vec::new(),
            event_hosts: HashMap::new(),
            orphan_skipped: 0,
        });
        self.collections.len() - 1
    }

    fn warn(&mut self, coll: usize, file: &str, problem: impl Into<String>) {
        self.collections[coll].warnings.push(FileWarning {
            file: file.to_string(),
            problem: problem.into(),
        });
    }

    /// Count a file against the budget; false once it is spent.
    fn take_file(&mut self, coll: usize, label: &str) -> bool {
        self.files_seen += 1;
        if self.files_seen > self.opts.limits.max_files {
            if !self.files_limit_warned {
                self.files_limit_warned = true;
                self.warn(
                    coll,
                    label,
                    format!(
                        "more than {} files; the rest are not read",
                        self.opts.limits.max_files
                    ),
                );
            }
            return false;
        }
        true
    }

    fn input(&mut self, path: &Path, loose: usize) {
        let label = path.display().to_string();
        let meta = match std::fs::metadata(path) {
            Ok(m) => m,
            Err(e) => {
                self.warn(loose, &label, format!("cannot open: {e}"));
                return;
            }
        };
        if meta.is_dir() {
            let coll = self.new_collection(&label);
            self.walk(path, coll, 0);
        } else {
            let before = self.collections[loose].warnings.len();
            let read = self.disk_file(path, loose);
            if !read && self.collections[loose].warnings.len() == before {
                self.warn(
                    loose,
                    &label,
                    "not a file rdpdoctor reads (.evtx, .reg, registry hive, .cer/.crt/.pem/.der/.pfx, .rdp, .zip)",
                );
            }
        }
    }

    fn walk(&mut self, dir: &Path, coll: usize, depth: usize) {
        if depth > self.opts.limits.max_depth {
            let label = dir.display().to_string();
            self.warn(coll, &label, "folder nested too deep; not read");
            return;
        }
        let mut entries: Vec<PathBuf> = match std::fs::read_dir(dir) {
            Ok(rd) => rd.filter_map(|e| e.ok().map(|e| e.path())).collect(),
            Err(e) => {
                let label = dir.display().to_string();
                self.warn(coll, &label, format!("cannot list the folder: {e}"));
                return;
            }
        };
        entries.sort();
        // The manifest first, so it can name the computer before anything else is read.
        entries
            .sort_by_key(|p| !base_name(&p.to_string_lossy()).eq_ignore_ascii_case(MANIFEST_NAME));
        // An unpacked bundle inside a larger folder is its own collection: its files belong to
        // the computer its manifest names, not to its neighbours'.
        let has_manifest = entries
            .first()
            .is_some_and(|p| base_name(&p.to_string_lossy()).eq_ignore_ascii_case(MANIFEST_NAME));
        let coll = if depth > 0 && has_manifest {
            let label = dir.display().to_string();
            self.new_collection(&label)
        } else {
            coll
        };
        for p in entries {
            if self.files_seen > self.opts.limits.max_files {
                return;
            }
            // Symbolic links are not followed: no loops, no escaping the folder.
            let Ok(meta) = std::fs::symlink_metadata(&p) else {
                continue;
            };
            if meta.is_dir() {
                self.walk(&p, coll, depth + 1);
            } else if meta.is_file() {
                self.disk_file(&p, coll);
            }
        }
    }

    /// Read one file from disk. Returns whether it was a kind rdpdoctor reads.
    fn disk_file(&mut self, path: &Path, coll: usize) -> bool {
        let label = path.display().to_string();
        let mut head = [0u8; 256];
        let n = match File::open(path).and_then(|mut f| f.read(&mut head)) {
            Ok(n) => n,
            Err(e) => {
                self.warn(coll, &label, format!("cannot read: {e}"));
                return true;
            }
        };
        let kind = classify(&label, &head[..n]);
        if kind == Kind::Skip {
            return false;
        }
        if !self.take_file(coll, &label) {
            return true;
        }
        let limits = self.opts.limits.clone();
        match kind {
            Kind::Evtx => match File::open(path) {
                Ok(f) => self.evtx(f, &label, coll),
                Err(e) => self.warn(coll, &label, format!("cannot open: {e}")),
            },
            Kind::Zip => {
                // Every bundle is its own collection (one computer's files).
                let zc = self.new_collection(&label);
                match File::open(path) {
                    Ok(f) => self.zip(f, &label, zc),
                    Err(e) => self.warn(zc, &label, format!("cannot open: {e}")),
                }
            }
            Kind::Skip => {}
            other => {
                let cap = match other {
                    Kind::Hive => limits.max_hive_bytes,
                    Kind::Reg => limits.max_reg_bytes,
                    Kind::Certificate => certfile::MAX_CERT_BYTES as u64,
                    _ => rdpfile::MAX_RDP_BYTES as u64,
                };
                match read_capped(path, cap) {
                    Ok(bytes) => self.bytes(other, &bytes, &label, coll),
                    Err(e) => self.warn(coll, &label, e),
                }
            }
        }
        true
    }

    /// Read the entries of a zip bundle.
    fn zip<R: Read + Seek>(&mut self, reader: R, label: &str, coll: usize) {
        let limits = self.opts.limits.clone();
        let mut archive = match zip::ZipArchive::open(reader, limits.max_zip_entries) {
            Ok(a) => a,
            Err(e) => return self.warn(coll, label, e),
        };
        for w in std::mem::take(&mut archive.warnings) {
            self.warn(coll, label, w);
        }
        // The manifest first.
        let mut order: Vec<usize> = (0..archive.entries.len()).collect();
        order.sort_by_key(|&i| {
            !base_name(&archive.entries[i].name).eq_ignore_ascii_case(MANIFEST_NAME)
        });
        let mut inflated: u64 = 0;
        for i in order {
            let entry = archive.entries[i].clone();
            if entry.is_dir() {
                continue;
            }
            let inner = format!("{label}!{}", entry.name);
            let budget = limits.max_zip_inflated.saturating_sub(inflated);
            if budget == 0 {
                self.warn(
                    coll,
                    label,
                    format!(
                        "more than {} bytes inflated from this zip; the remaining entries are not read",
                        limits.max_zip_inflated
                    ),
                );
                break;
            }
            // Sniff entries without a telling extension from their first bytes.
            let mut kind = classify(&entry.name, &[]);
            if kind == Kind::Skip && extension(&entry.name).is_empty() {
                let head = archive.read_head(i, 256);
                kind = classify(&entry.name, &head);
            }
            if kind == Kind::Skip {
                continue;
            }
            if !self.take_file(coll, &inner) {
                break;
            }
            if kind == Kind::Zip {
                self.warn(
                    coll,
                    &inner,
                    "a zip inside a zip is not read; unpack it first",
                );
                continue;
            }
            if kind == Kind::Evtx {
                // Spool to an anonymous temporary file: event logs can be large.
                let limit = limits.max_evtx_bytes.min(budget);
                let mut tmp = match tempfile::tempfile() {
                    Ok(f) => f,
                    Err(e) => {
                        self.warn(coll, &inner, format!("cannot create a temporary file: {e}"));
                        continue;
                    }
                };
                match archive.read_entry(i, limit, &mut tmp) {
                    Ok(r) => {
                        inflated += r.bytes;
                        if !r.crc_ok {
                            self.warn(coll, &inner, "the zip entry is damaged (CRC or size mismatch); reading what is there");
                        }
                        if tmp.rewind().is_ok() {
                            self.evtx(tmp, &inner, coll);
                        }
                    }
                    Err(e) => {
                        inflated = inflated.saturating_add(entry.uncompressed_size.min(limit));
                        self.warn(coll, &inner, e);
                    }
                }
                continue;
            }
            let cap = match kind {
                Kind::Hive => limits.max_hive_bytes,
                Kind::Reg => limits.max_reg_bytes,
                Kind::Certificate => certfile::MAX_CERT_BYTES as u64,
                _ => rdpfile::MAX_RDP_BYTES as u64,
            }
            .min(budget);
            let mut buf = Vec::new();
            match archive.read_entry(i, cap, &mut buf) {
                Ok(r) => {
                    inflated += r.bytes;
                    if !r.crc_ok {
                        self.warn(
                            coll,
                            &inner,
                            "the zip entry is damaged (CRC or size mismatch); not read",
                        );
                        continue;
                    }
                    self.bytes(kind, &buf, &inner, coll);
                }
                Err(e) => {
                    inflated = inflated.saturating_add(buf.len() as u64);
                    self.warn(coll, &inner, e);
                }
            }
        }
    }

    /// A file held in memory.
    fn bytes(&mut self, kind: Kind, bytes: &[u8], label: &str, coll: usize) {
        let file_entry = |kind: &str| SourceFile {
            path: label.to_string(),
            kind: kind.into(),
            ..Default::default()
        };
        match kind {
            Kind::Manifest => {
                // Windows PowerShell writes UTF-8 with a BOM.
                let json = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
                match serde_json::from_slice::<Manifest>(&json[..json.len().min(1 << 20)]) {
                    Ok(m) => self.collections[coll].manifest = Some(m),
                    Err(e) => self.warn(coll, label, format!("unreadable manifest: {e}")),
                }
                self.collections[coll].files.push(file_entry("manifest"));
            }
            Kind::Reg => {
                let s = registry::read_reg(bytes, label, &mut self.collections[coll].registry);
                if !s.header_ok && s.values == 0 {
                    self.warn(coll, label, "not a registry export (no \"Windows Registry Editor\" / REGEDIT4 header, no values)");
                } else if s.problems_total > 0 {
                    self.warn(
                        coll,
                        label,
                        format!(
                            "{} line(s) could not be read and were skipped ({})",
                            s.problems_total,
                            s.problems.join("; ")
                        ),
                    );
                }
                self.collections[coll].files.push(file_entry("reg"));
            }
            Kind::Hive => {
                match registry::read_hive(bytes, label, &mut self.collections[coll].registry) {
                    Ok(Some(w)) => self.warn(coll, label, w),
                    Ok(None) => {}
                    Err(e) => self.warn(coll, label, e),
                }
                self.collections[coll].files.push(file_entry("hive"));
            }
            Kind::Certificate => {
                let out = certfile::read_certificates(bytes, &extension(label), self.opts.now);
                for p in out.problems {
                    self.warn(coll, label, p);
                }
                for c in out.certificates {
                    self.collections[coll].certificates.push(CertificateFile {
                        file: label.to_string(),
                        certificate: c.certificate,
                        has_private_key: c.has_private_key,
                        is_listener_certificate: None,
                    });
                }
                self.collections[coll].files.push(file_entry("certificate"));
            }
            Kind::Rdp => {
                let rdp = parse_rdp(bytes, label);
                if rdp.settings.is_empty() {
                    self.warn(coll, label, "no settings found: not a .rdp connection file");
                } else {
                    self.client.rdp_files.push(rdp);
                }
                self.collections[coll].files.push(file_entry("rdp"));
            }
            Kind::Evtx => {
                // In memory only in tests; files and zip entries are streamed.
                self.evtx(std::io::Cursor::new(bytes.to_vec()), label, coll);
            }
            Kind::Zip | Kind::Skip => {}
        }
    }

    /// Stream one event log.
    fn evtx<R: Read + Seek>(&mut self, reader: R, label: &str, coll: usize) {
        let threads = self.opts.threads;
        let mut per_host: HashMap<usize, u64> = HashMap::new();
        let mut channels: HashMap<String, u64> = HashMap::new();
        let result = {
            let mut on_event = |v: &evtx::EventView<'_>| {
                self.event(v, label, coll, &mut per_host);
                if channels.len() < 16 || channels.contains_key(v.channel) {
                    *channels.entry(v.channel.to_string()).or_default() += 1;
                }
            };
            evtx::read_evtx(reader, threads, &mut on_event)
        };
        let channel = channels
            .into_iter()
            .max_by_key(|(_, n)| *n)
            .map(|(c, _)| c)
            .filter(|c| !c.is_empty());
        match result {
            Ok(summary) => {
                for w in summary.warnings {
                    self.warn(coll, label, w);
                }
                // Skipped records have no computer: they go to the file's main one.
                let main = per_host.iter().max_by_key(|(_, n)| **n).map(|(h, _)| *h);
                match main {
                    Some(h) => {
                        let acc = &mut self.hosts[h].acc;
                        acc.records_skipped += summary.skipped;
                        acc.file(label).records_skipped += summary.skipped;
                    }
                    None => {
                        let c = &mut self.collections[coll];
                        c.orphan_skipped += summary.skipped;
                        c.files.push(SourceFile {
                            path: label.to_string(),
                            kind: "evtx".into(),
                            channel: channel.clone(),
                            records_skipped: summary.skipped,
                            ..Default::default()
                        });
                    }
                }
                for h in per_host.keys() {
                    self.hosts[*h].acc.file(label).channel = channel.clone();
                }
            }
            Err(e) => self.warn(coll, label, e),
        }
    }

    fn event(
        &mut self,
        v: &evtx::EventView<'_>,
        label: &str,
        coll: usize,
        per_host: &mut HashMap<usize, u64>,
    ) {
        // An event without a computer name cannot be tied to a host; it is left out.
        let Some(h) = self.host_index(v.computer) else {
            return;
        };
        *per_host.entry(h).or_default() += 1;
        *self.collections[coll].event_hosts.entry(h).or_default() += 1;
        let opts = self.opts;
        let acc = &mut self.hosts[h].acc;
        acc.events_read += 1;
        {
            let f = acc.file(label);
            f.events_read += 1;
            f.first_event = Some(f.first_event.map_or(v.time, |t| t.min(v.time)));
            f.last_event = Some(f.last_event.map_or(v.time, |t| t.max(v.time)));
        }
        let Some(source) = v.source else { return };
        let outside =
            opts.since.is_some_and(|s| v.time < s) || opts.until.is_some_and(|u| v.time > u);
        match evtx::catalog::classify(v) {
            Some(_) if outside => acc.events_outside_window += 1,
            Some(c) => acc.add(source, v.id, v.time, v.record_id, label, c),
            None if outside => {}
            None => {
                if !matches!(
                    source,
                    EventSource::SecurityAuditing | EventSource::Schannel | EventSource::LsaSrv
                ) {
                    acc.count_only(source, v.id, v.time);
                }
            }
        }
    }

    /// The host slot for a computer name, matching short names, FQDNs and NetBIOS names.
    fn host_index(&mut self, raw: &str) -> Option<usize> {
        let name = raw.trim().trim_end_matches('.');
        if name.is_empty() || name == "-" {
            return None;
        }
        // Fast path: a spelling seen before (every event names its computer).
        if let Some(i) = self.name_cache.get(name) {
            return Some(*i);
        }
        let i = self.resolve_host(name);
        if self.name_cache.len() < NAME_CACHE_CAP {
            self.name_cache.insert(name.to_string(), i);
        }
        Some(i)
    }

    fn resolve_host(&mut self, name: &str) -> usize {
        if let Some(i) = self.hosts.iter().position(|h| {
            host_names_match(&h.name, name) || h.aliases.iter().any(|a| host_names_match(a, name))
        }) {
            let slot = &mut self.hosts[i];
            // Prefer the FQDN as the display name.
            if name.contains('.')
                && !slot.name.contains('.')
                && name.parse::<std::net::IpAddr>().is_err()
            {
                let old = std::mem::replace(&mut slot.name, name.to_string());
                slot.aliases.push(old);
            } else if slot.aliases.len() < 16 {
                slot.aliases.push(name.to_string());
            }
            return i;
        }
        if self.hosts.len() >= MAX_HOSTS {
            // A file naming thousands of computers: the rest share the last slot.
            return self.hosts.len() - 1;
        }
        self.hosts.push(HostSlot {
            name: name.to_string(),
            aliases: Vec::new(),
            acc: HostAccumulator::new(self.opts.timeline_limit),
            warnings: Vec::new(),
        });
        self.hosts.len() - 1
    }

    fn finish(mut self) -> OfflineEvidence {
        // 1. Which host each collection belongs to.
        let mut owner: Vec<Option<usize>> = Vec::new();
        for ci in 0..self.collections.len() {
            let manifest_names: Vec<String> = self.collections[ci]
                .manifest
                .as_ref()
                .map(|m| m.fqdn.iter().chain(m.computer.iter()).cloned().collect())
                .unwrap_or_default();
            let registry_name = self.collections[ci].registry.computer_name();
            let mut host = None;
            for n in manifest_names.iter().chain(registry_name.iter()) {
                if let Some(h) = self.host_index(n) {
                    host.get_or_insert(h);
                }
            }
            if let Some(h) = host
                && let Some(m) = &self.collections[ci].manifest
            {
                {
                    for a in m.addresses.iter().take(16) {
                        if !self.hosts[h].aliases.contains(a) {
                            self.hosts[h].aliases.push(a.clone());
                        }
                    }
                }
            }
            let host = host.or_else(|| {
                self.collections[ci]
                    .event_hosts
                    .iter()
                    .max_by_key(|(h, n)| (**n, std::cmp::Reverse(**h)))
                    .map(|(h, _)| *h)
            });
            owner.push(host);
        }
        // 2. Collections without a computer: the only host, else an unnamed one.
        let needs_unnamed = owner.iter().zip(&self.collections).any(|(o, c)| {
            o.is_none()
                && (!c.registry.is_empty()
                    || !c.certificates.is_empty()
                    || !c.warnings.is_empty()
                    || !c.files.is_empty())
        });
        let fallback = if needs_unnamed {
            if self.hosts.len() == 1 { Some(0) } else { None }
        } else {
            None
        };

        let mut out = OfflineEvidence {
            client: std::mem::take(&mut self.client),
            ..Default::default()
        };
        let mut hosts: Vec<HostEvidence> = Vec::new();
        let mut registries: Vec<RegistryCollector> = Vec::new();
        for slot in self.hosts.drain(..) {
            let mut h = HostEvidence {
                name: Some(slot.name),
                aliases: slot.aliases,
                warnings: slot.warnings,
                ..Default::default()
            };
            slot.acc.finish_into(&mut h);
            hosts.push(h);
            registries.push(RegistryCollector::default());
        }
        let mut unnamed: Option<usize> = None;
        for (ci, coll) in self.collections.drain(..).enumerate() {
            let empty = coll.registry.is_empty()
                && coll.certificates.is_empty()
                && coll.warnings.is_empty()
                && coll.files.is_empty()
                && coll.orphan_skipped == 0;
            if empty {
                continue;
            }
            let hi = match owner[ci].or(fallback) {
                Some(h) => h,
                None => *unnamed.get_or_insert_with(|| {
                    hosts.push(HostEvidence::default());
                    registries.push(RegistryCollector::default());
                    hosts.len() - 1
                }),
            };
            let h = &mut hosts[hi];
            h.records_skipped += coll.orphan_skipped;
            h.files.extend(coll.files);
            h.warnings.extend(coll.warnings);
            h.certificates.extend(coll.certificates);
            registries[hi].absorb(coll.registry);
            let _ = coll.label;
        }
        for (h, reg) in hosts.iter_mut().zip(registries) {
            if !reg.is_empty() {
                let ev = reg.finish();
                if let (Some(n), None) = (&ev.computer_name, &h.name) {
                    h.name = Some(n.clone());
                }
                h.registry = Some(ev);
            }
            let listener =
                h.registry_setting("SSLCertificateSHA1Hash")
                    .and_then(|s| match &s.effective {
                        crate::evidence::RegValue::Binary(hex) => Some(hex.clone()),
                        crate::evidence::RegValue::String(s) => {
                            Some(crate::offline::normalize_thumbprint(s))
                        }
                        _ => None,
                    });
            if let Some(thumb) = listener {
                for c in &mut h.certificates {
                    c.is_listener_certificate =
                        Some(c.certificate.sha1.eq_ignore_ascii_case(&thumb));
                }
            }
        }
        hosts.retain(|h| {
            !(h.name.is_none() && h.is_empty() && h.warnings.is_empty() && h.files.is_empty())
        });
        for h in &hosts {
            out.warnings.extend(h.warnings.iter().cloned());
            out.files.extend(h.files.iter().cloned());
        }
        out.warnings.extend(self.warnings);
        out.hosts = hosts;
        out
    }
}
