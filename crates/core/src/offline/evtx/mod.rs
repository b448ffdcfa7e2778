//! Reading .evtx event logs, streamed chunk by chunk (64 KiB each), so a log of hundreds of
//! megabytes is never held in memory.
//!
//! A corrupt record or chunk is skipped and counted, never fatal. A file cut short (a copy
//! interrupted, a disk full) yields every record before the damage plus a warning that says
//! how much is missing: the `evtx` crate silently ignores a partial last chunk, so the header
//! and the file size are checked here first.

pub(crate) mod catalog;
pub(crate) mod record;

use chrono::{DateTime, Utc};
use evtx::{EvtxParser, ParserSettings};
use std::io::{Read, Seek, SeekFrom};
use std::panic::{AssertUnwindSafe, catch_unwind};

pub(crate) use record::EventView;

const FILE_HEADER_SIZE: u64 = 4096;
const CHUNK_SIZE: u64 = 65536;
const MAGIC: &[u8; 8] = b"ElfFile\0";
/// Decode errors quoted in the warning; the rest are only counted.
const ERRORS_QUOTED: usize = 3;

/// What reading one file gave, besides the events handed to the callback.
#[derive(Debug, Default)]
pub(crate) struct EvtxSummary {
    pub decoded: u64,
    pub skipped: u64,
    /// Problems worth telling the user (truncation, unreadable records, a crash of the parser).
    pub warnings: Vec<String>,
}

/// Whether the first bytes are an event log's.
pub(crate) fn looks_like_evtx(head: &[u8]) -> bool {
    head.len() >= 8 && &head[..8] == MAGIC
}

/// Read every record of an event log, calling `on_event` for each decodable one.
///
/// Errors that prevent reading at all (not an event log, unreadable header) are returned as
/// `Err(message)`; everything else ends up in the summary.
pub(crate) fn read_evtx<R: Read + Seek>(
    mut reader: R,
    threads: usize,
    on_event: &mut dyn FnMut(&EventView<'_>),
) -> Result<EvtxSummary, String> {
    let mut summary = EvtxSummary::default();
    let size = reader
        .seek(SeekFrom::End(0))
        .map_err(|e| format!("cannot read the file size: {e}"))?;
    reader
        .seek(SeekFrom::Start(0))
        .map_err(|e| format!("cannot seek: {e}"))?;
    let mut header = [0u8; 128];
    let got = read_up_to(&mut reader, &mut header).map_err(|e| format!("cannot read: {e}"))?;
    if got < 8 || !looks_like_evtx(&header) {
        return Err("not an event log (.evtx): the file does not start with \"ElfFile\"".into());
    }
    if size < FILE_HEADER_SIZE {
        return Err(format!(
            "truncated event log: {size} bytes, shorter than the {FILE_HEADER_SIZE}-byte file header"
        ));
    }
    let tail_is_zero =
        partial_tail_is_zero(&mut reader, size).map_err(|e| format!("cannot read: {e}"))?;
    check_size(&header, size, tail_is_zero, &mut summary.warnings);
    reader
        .seek(SeekFrom::Start(0))
        .map_err(|e| format!("cannot seek: {e}"))?;

    let settings = ParserSettings::default()
        .num_threads(threads)
        .separate_json_attributes(true)
        .indent(false);
    let mut parser = EvtxParser::from_read_seek(reader)
        .map_err(|e| format!("unreadable event log header: {e}"))?
        .with_configuration(settings);

    let mut quoted: Vec<String> = Vec::new();
    let run = catch_unwind(AssertUnwindSafe(|| {
        for rec in parser.records_json_value() {
            match rec {
                Ok(rec) => {
                    let fallback = DateTime::from_timestamp(
                        rec.timestamp.as_second(),
                        u32::try_from(rec.timestamp.subsec_nanosecond()).unwrap_or(0),
                    )
                    .unwrap_or(DateTime::<Utc>::UNIX_EPOCH);
                    match EventView::new(&rec.data, fallback) {
                        Some(view) => {
                            summary.decoded += 1;
                            on_event(&view);
                        }
                        None => {
                            summary.skipped += 1;
                            if quoted.len() < ERRORS_QUOTED {
                                quoted.push(format!(
                                    "record {} has no System/EventID",
                                    rec.event_record_id
                                ));
                            }
                        }
                    }
                }
                Err(e) => {
                    summary.skipped += 1;
                    if quoted.len() < ERRORS_QUOTED {
                        quoted.push(error_chain(&e));
                    }
                }
            }
        }
    }));
    if run.is_err() {
        summary.warnings.push(format!(
            "the event log parser stopped on damaged data after {} records; the records read before are kept",
            summary.decoded
        ));
    }
    if summary.skipped > 0 {
        summary.warnings.push(format!(
            "{} damaged record(s) or chunk(s) skipped ({})",
            summary.skipped,
            quoted.join("; ")
        ));
    }
    Ok(summary)
}

/// Whether the bytes after the last whole chunk are all zero (slack, not a cut chunk).
fn partial_tail_is_zero<R: Read + Seek>(r: &mut R, size: u64) -> std::io::Result<bool> {
    let partial = (size - FILE_HEADER_SIZE) % CHUNK_SIZE;
    if partial == 0 {
        return Ok(true);
    }
    r.seek(SeekFrom::Start(size - partial))?;
    let mut buf = vec![0u8; partial as usize];
    let n = read_up_to(r, &mut buf)?;
    Ok(buf[..n].iter().all(|b| *b == 0))
}

/// Compare the header's chunk count with what the file holds.
fn check_size(header: &[u8; 128], size: u64, tail_is_zero: bool, warnings: &mut Vec<String>) {
    let declared_chunks = u16::from_le_bytes([header[42], header[43]]) as u64;
    let data = size - FILE_HEADER_SIZE;
    let whole = data / CHUNK_SIZE;
    let partial = data % CHUNK_SIZE;
    if partial != 0 && !tail_is_zero {
        warnings.push(format!(
            "truncated: the file ends {partial} bytes into chunk {} (of 65536); the records of that partial chunk are lost, the {whole} complete chunk(s) before it were read",
            whole + 1,
        ));
    } else if declared_chunks > whole {
        warnings.push(format!(
            "truncated: the header announces {declared_chunks} chunks but the file holds {whole}; the missing chunks' records are lost",
        ));
    }
}

fn read_up_to<R: Read>(r: &mut R, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

/// An error and its causes on one line.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    let mut depth = 0;
    while let Some(c) = cur {
        if depth >= 3 {
            break;
        }
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
        depth += 1;
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    #[test]
    fn non_evtx_is_a_clear_error() {
        let e = read_evtx(Cursor::new(b"MZ\x90\0".to_vec()), 1, &mut |_| {}).unwrap_err();
        assert!(e.contains("not an event log"), "{e}");
        let mut short = MAGIC.to_vec();
        short.resize(200, 0);
        let e = read_evtx(Cursor::new(short), 1, &mut |_| {}).unwrap_err();
        assert!(e.contains("truncated"), "{e}");
    }

    #[test]
    fn garbage_after_a_valid_magic_never_panics() {
        let mut data = MAGIC.to_vec();
        data.resize(4096 + 65536 + 100, 0xAB);
        // Whatever the parser makes of it, we get a result, not a panic.
        let r = read_evtx(Cursor::new(data), 1, &mut |_| {});
        if let Ok(s) = r {
            assert!(s.warnings.iter().any(|w| w.contains("truncated")));
        }
    }
}
