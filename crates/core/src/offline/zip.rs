//! A small bounded reader for .zip evidence bundles (what `collect.ps1` / Compress-Archive
//! writes): stored and deflated entries, zip64 sizes.
//!
//! Zip files come from strangers, so nothing declared in the archive is trusted: the entry
//! count is capped before anything is allocated for it, the central directory is read entry by
//! entry, names are capped, and an entry is inflated through a hard limit on its *actual* output
//! (a declared size is only used to refuse early). Entry names are labels only; nothing is
//! written to disk under them.

use flate2::Crc;
use flate2::read::DeflateDecoder;
use std::io::{self, Read, Seek, SeekFrom, Write};

const EOCD_SIG: u32 = 0x0605_4b50;
const ZIP64_LOCATOR_SIG: u32 = 0x0706_4b50;
const ZIP64_EOCD_SIG: u32 = 0x0606_4b50;
const CENTRAL_SIG: u32 = 0x0201_4b50;
const LOCAL_SIG: u32 = 0x0403_4b50;
const MAX_NAME: usize = 4096;

/// One file in the archive.
#[derive(Clone, Debug)]
pub(crate) struct ZipEntry {
    pub name: String,
    method: u16,
    flags: u16,
    pub compressed_size: u64,
    pub uncompressed_size: u64,
    local_offset: u64,
    crc32: u32,
}

impl ZipEntry {
    pub fn is_dir(&self) -> bool {
        self.name.ends_with('/') || self.name.ends_with('\\')
    }
}

/// An open archive.
pub(crate) struct ZipArchive<R> {
    reader: R,
    pub entries: Vec<ZipEntry>,
    /// Problems with the archive as a whole (too many entries, damaged directory).
    pub warnings: Vec<String>,
}

/// The result of reading one entry.
#[derive(Debug)]
pub(crate) struct EntryRead {
    pub bytes: u64,
    pub crc_ok: bool,
}

fn u16le(b: &[u8], o: usize) -> u16 {
    u16::from_le_bytes([b[o], b[o + 1]])
}
fn u32le(b: &[u8], o: usize) -> u32 {
    u32::from_le_bytes([b[o], b[o + 1], b[o + 2], b[o + 3]])
}
fn u64le(b: &[u8], o: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[o..o + 8]);
    u64::from_le_bytes(a)
}

impl<R: Read + Seek> ZipArchive<R> {
    /// Read the central directory, keeping at most `max_entries` entries.
    pub fn open(mut reader: R, max_entries: usize) -> Result<Self, String> {
        let size = reader
            .seek(SeekFrom::End(0))
            .map_err(|e| format!("cannot read the zip size: {e}"))?;
        if size < 22 {
            return Err("not a zip file (too small for an end-of-archive record)".into());
        }
        let tail_len = size.min(22 + 65_535);
        let tail_start = size - tail_len;
        let mut tail = vec![0u8; tail_len as usize];
        reader
            .seek(SeekFrom::Start(tail_start))
            .and_then(|_| reader.read_exact(&mut tail))
            .map_err(|e| format!("cannot read the end of the zip: {e}"))?;
        let eocd = (0..=tail.len() - 22)
            .rev()
            .find(|&i| u32le(&tail, i) == EOCD_SIG)
            .ok_or("not a zip file, or truncated: no end-of-archive record")?;
        let e = &tail[eocd..];
        let mut total = u16le(e, 10) as u64;
        let mut cd_size = u32le(e, 12) as u64;
        let mut cd_offset = u32le(e, 16) as u64;
        if total == 0xFFFF || cd_size == 0xFFFF_FFFF || cd_offset == 0xFFFF_FFFF {
            // zip64: a locator sits right before the classic record.
            let loc = eocd
                .checked_sub(20)
                .filter(|&l| u32le(&tail, l) == ZIP64_LOCATOR_SIG)
                .ok_or("zip64 archive without a zip64 locator")?;
            let z64_off = u64le(&tail, loc + 8);
            let mut z = [0u8; 56];
            reader
                .seek(SeekFrom::Start(z64_off))
                .and_then(|_| reader.read_exact(&mut z))
                .map_err(|e| format!("cannot read the zip64 directory record: {e}"))?;
            if u32le(&z, 0) != ZIP64_EOCD_SIG {
                return Err("damaged zip64 directory record".into());
            }
            total = u64le(&z, 32);
            cd_size = u64le(&z, 40);
            cd_offset = u64le(&z, 48);
        }
        if cd_offset.checked_add(cd_size).is_none_or(|end| end > size) {
            return Err(format!(
                "damaged or truncated zip: the central directory ({cd_size} bytes at {cd_offset}) lies outside the {size}-byte file"
            ));
        }
        let mut warnings = Vec::new();
        if total > max_entries as u64 {
            warnings.push(format!(
                "the archive declares {total} entries; only the first {max_entries} are read"
            ));
        }
        let keep = total.min(max_entries as u64) as usize;
        let mut entries = Vec::with_capacity(keep.min(1024));
        reader
            .seek(SeekFrom::Start(cd_offset))
            .map_err(|e| format!("cannot seek to the zip directory: {e}"))?;
        let mut pos = cd_offset;
        let end = cd_offset + cd_size;
        while entries.len() < keep {
            if pos + 46 > end {
                warnings.push(format!(
                    "the zip directory ends after {} of {total} entries",
                    entries.len()
                ));
                break;
            }
            let mut h = [0u8; 46];
            reader
                .read_exact(&mut h)
                .map_err(|e| format!("cannot read the zip directory: {e}"))?;
            if u32le(&h, 0) != CENTRAL_SIG {
                warnings.push(format!(
                    "damaged zip directory after {} entries; the rest are not read",
                    entries.len()
                ));
                break;
            }
            let flags = u16le(&h, 8);
            let method = u16le(&h, 10);
            let crc32 = u32le(&h, 16);
            let mut csize = u32le(&h, 20) as u64;
            let mut usize_ = u32le(&h, 24) as u64;
            let name_len = u16le(&h, 28) as usize;
            let extra_len = u16le(&h, 30) as usize;
            let comment_len = u16le(&h, 32) as usize;
            let mut local_offset = u32le(&h, 42) as u64;
            let mut name = vec![0u8; name_len];
            let mut extra = vec![0u8; extra_len];
            reader
                .read_exact(&mut name)
                .and_then(|_| reader.read_exact(&mut extra))
                .and_then(|_| {
                    reader
                        .seek(SeekFrom::Current(comment_len as i64))
                        .map(|_| ())
                })
                .map_err(|e| format!("cannot read the zip directory: {e}"))?;
            pos += 46 + (name_len + extra_len + comment_len) as u64;
            // zip64 extended information: the 0xFFFFFFFF fields, in order.
            let mut i = 0;
            while i + 4 <= extra.len() {
                let id = u16le(&extra, i);
                let len = u16le(&extra, i + 2) as usize;
                let body = &extra[(i + 4).min(extra.len())..(i + 4 + len).min(extra.len())];
                if id == 0x0001 {
                    let mut o = 0;
                    for field in [&mut usize_, &mut csize, &mut local_offset] {
                        if *field == 0xFFFF_FFFF && o + 8 <= body.len() {
                            *field = u64le(body, o);
                            o += 8;
                        }
                    }
                }
                i += 4 + len;
            }
            name.truncate(MAX_NAME);
            entries.push(ZipEntry {
                name: crate::offline::printable(&String::from_utf8_lossy(&name)),
                method,
                flags,
                compressed_size: csize,
                uncompressed_size: usize_,
                local_offset,
                crc32,
            });
        }
        Ok(ZipArchive {
            reader,
            entries,
            warnings,
        })
    }

    /// Inflate entry `index` into `out`, writing at most `limit` bytes. An entry that would
    /// produce more is an error, whatever it declares.
    pub fn read_entry(
        &mut self,
        index: usize,
        limit: u64,
        out: &mut dyn Write,
    ) -> Result<EntryRead, String> {
        self.inflate(index, limit, out, true)
    }

    /// The first `n` bytes of an entry (to recognise a file without an extension).
    pub fn read_head(&mut self, index: usize, n: usize) -> Vec<u8> {
        let mut buf = Vec::new();
        let mut w = HeadWriter { buf: &mut buf, n };
        let _ = self.inflate(index, u64::MAX - 1, &mut w, false);
        buf
    }

    fn inflate(
        &mut self,
        index: usize,
        limit: u64,
        out: &mut dyn Write,
        check_declared: bool,
    ) -> Result<EntryRead, String> {
        let e = self.entries.get(index).ok_or("no such entry")?.clone();
        if e.flags & 0x0001 != 0 {
            return Err("encrypted entry (password-protected zip); not read".into());
        }
        if check_declared && e.uncompressed_size > limit {
            return Err(format!(
                "declares {} bytes uncompressed, more than the {limit} allowed; not read",
                e.uncompressed_size
            ));
        }
        let mut h = [0u8; 30];
        self.reader
            .seek(SeekFrom::Start(e.local_offset))
            .and_then(|_| self.reader.read_exact(&mut h))
            .map_err(|err| format!("cannot read the entry header: {err}"))?;
        if u32le(&h, 0) != LOCAL_SIG {
            return Err("damaged entry header".into());
        }
        let skip = u16le(&h, 26) as i64 + u16le(&h, 28) as i64;
        self.reader
            .seek(SeekFrom::Current(skip))
            .map_err(|err| format!("cannot seek to the entry data: {err}"))?;
        let raw = (&mut self.reader).take(e.compressed_size);
        let mut sink = LimitedCrcWriter {
            out,
            crc: Crc::new(),
            written: 0,
            limit,
        };
        let copied = match e.method {
            0 => io::copy(&mut raw.take(limit.saturating_add(1)), &mut sink),
            8 => io::copy(
                &mut DeflateDecoder::new(raw).take(limit.saturating_add(1)),
                &mut sink,
            ),
            m => {
                return Err(format!(
                    "compression method {m} is not supported (only stored and deflate)"
                ));
            }
        };
        match copied {
            Ok(n) => Ok(EntryRead {
                bytes: n,
                crc_ok: sink.crc.sum() == e.crc32 && n == e.uncompressed_size,
            }),
            Err(err) if err.kind() == io::ErrorKind::FileTooLarge => Err(format!(
                "inflates to more than the {limit} bytes allowed (declared {}); not read",
                e.uncompressed_size
            )),
            Err(err) => Err(format!(
                "damaged compressed data after {} bytes: {err}",
                sink.written
            )),
        }
    }
}

/// A writer that computes the CRC and refuses to go past a limit.
struct LimitedCrcWriter<'a> {
    out: &'a mut dyn Write,
    crc: Crc,
    written: u64,
    limit: u64,
}

impl Write for LimitedCrcWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.written + buf.len() as u64 > self.limit {
            return Err(io::Error::new(io::ErrorKind::FileTooLarge, "limit"));
        }
        let n = self.out.write(buf)?;
        self.crc.update(&buf[..n]);
        self.written += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

/// Takes the first `n` bytes, then stops the copy.
struct HeadWriter<'a> {
    buf: &'a mut Vec<u8>,
    n: usize,
}

impl Write for HeadWriter<'_> {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        let room = self.n.saturating_sub(self.buf.len());
        if room == 0 {
            return Err(io::Error::other("enough"));
        }
        let k = room.min(b.len());
        self.buf.extend_from_slice(&b[..k]);
        Ok(k)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Whether bytes start like a zip.
pub(crate) fn looks_like_zip(head: &[u8]) -> bool {
    head.len() >= 4 && (u32le(head, 0) == LOCAL_SIG || u32le(head, 0) == EOCD_SIG)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rdpdoctor_testkit::zip::build;
    use std::io::Cursor;

    #[test]
    fn reads_stored_and_deflated_entries() {
        let z = build(&[
            ("a.txt", b"hello", false, None),
            ("dir/b.txt", &[7u8; 10_000], true, None),
        ]);
        assert!(looks_like_zip(&z));
        let mut a = ZipArchive::open(Cursor::new(z), 100).unwrap();
        assert_eq!(a.entries.len(), 2);
        let mut buf = Vec::new();
        let r = a.read_entry(1, 1 << 20, &mut buf).unwrap();
        assert_eq!(r.bytes, 10_000);
        assert!(r.crc_ok);
        assert_eq!(buf, vec![7u8; 10_000]);
    }

    #[test]
    fn a_bomb_stops_at_the_limit_whatever_it_declares() {
        let big = vec![0u8; 5_000_000];
        // Declares 10 bytes, inflates to 5 MB.
        let z = build(&[("bomb.evtx", &big, true, Some(10))]);
        let mut a = ZipArchive::open(Cursor::new(z), 100).unwrap();
        let mut buf = Vec::new();
        let e = a.read_entry(0, 1_000_000, &mut buf).unwrap_err();
        assert!(e.contains("more than"), "{e}");
        assert!(buf.len() <= 1_000_000);
    }

    #[test]
    fn truncated_or_garbage_archives_are_errors() {
        let z = build(&[("a", b"x", false, None)]);
        assert!(ZipArchive::open(Cursor::new(z[..z.len() - 5].to_vec()), 10).is_err());
        assert!(ZipArchive::open(Cursor::new(b"PK\x03\x04".to_vec()), 10).is_err());
    }
}
