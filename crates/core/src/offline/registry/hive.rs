//! A small read-only reader for binary registry hives (the regf format of
//! `C:\Windows\System32\config\SYSTEM` and `SOFTWARE`), enough to open a handful of keys by
//! path and read their values.
//!
//! The format: a 4 KiB base block ("regf", the root key's cell offset), then hive bins of
//! cells. Each cell starts with an i32 size (negative when allocated); offsets are relative to
//! the end of the base block. Key nodes ("nk") point to a subkey list ("lf", "lh", "li", or an
//! index "ri" of such lists) and to a value list (offsets of "vk" cells); a value's data sits
//! inline (4 bytes or fewer), in a cell, or in "db" big-data segments.
//!
//! Every offset and length read from the file is checked against the buffer, lists are capped
//! and the "ri" indirection is followed one level only, so a hostile hive cannot make the
//! reader panic, loop or allocate more than a bounded amount. Transaction logs (.LOG1/.LOG2)
//! are not replayed: a hive whose sequence numbers differ is read as is, with a warning.

use super::regtext::typed;
use crate::evidence::RegValue;

const BASE_BLOCK: usize = 4096;
/// Subkeys or values looked at per key.
const MAX_LIST: usize = 65_536;
/// Path components followed.
const MAX_DEPTH: usize = 32;
/// Largest value data assembled.
const MAX_DATA: usize = 1024 * 1024;
/// "db" big-data segment size.
const DB_SEGMENT: usize = 16_344;

fn u16_at(b: &[u8], off: usize) -> Option<u16> {
    let s = b.get(off..off.checked_add(2)?)?;
    Some(u16::from_le_bytes([s[0], s[1]]))
}

fn u32_at(b: &[u8], off: usize) -> Option<u32> {
    let s = b.get(off..off.checked_add(4)?)?;
    Some(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}

/// A parsed base block over the whole file.
#[derive(Debug)]
pub(crate) struct Hive<'a> {
    data: &'a [u8],
    root: u32,
    /// The two sequence numbers differ: the hive was copied while in use and recent changes
    /// may sit in its transaction logs.
    pub dirty: bool,
    /// The file name recorded in the base block (`\REGISTRY\MACHINE\SYSTEM`,
    /// `SystemRoot\System32\Config\SOFTWARE`), when present.
    pub embedded_name: String,
}

/// A key node.
#[derive(Clone, Debug)]
pub(crate) struct Key {
    pub name: String,
    subkey_count: u32,
    subkey_list: u32,
    value_count: u32,
    value_list: u32,
}

/// Whether the bytes start like a hive.
pub(crate) fn looks_like_hive(head: &[u8]) -> bool {
    head.len() >= 4 && &head[..4] == b"regf"
}

impl<'a> Hive<'a> {
    pub fn parse(data: &'a [u8]) -> Result<Hive<'a>, String> {
        if !looks_like_hive(data) {
            return Err("not a registry hive (no \"regf\" signature)".into());
        }
        if data.len() < BASE_BLOCK + 32 {
            return Err(format!(
                "truncated registry hive: {} bytes, smaller than the base block and one bin",
                data.len()
            ));
        }
        let seq1 = u32_at(data, 4).unwrap_or(0);
        let seq2 = u32_at(data, 8).unwrap_or(0);
        let root = u32_at(data, 36).ok_or("unreadable root key offset")?;
        let name_bytes = &data[48..48 + 64];
        let embedded_name: String = char::decode_utf16(
            name_bytes
                .chunks_exact(2)
                .map(|c| u16::from_le_bytes([c[0], c[1]])),
        )
        .map(|r| r.unwrap_or(char::REPLACEMENT_CHARACTER))
        .take_while(|c| *c != '\0')
        .collect();
        let hive = Hive {
            data,
            root,
            dirty: seq1 != seq2,
            embedded_name,
        };
        hive.key_at(root)
            .ok_or("the root key cell is missing or damaged")?;
        Ok(hive)
    }

    /// The data of the cell at `offset` (relative to the first hive bin), without its size.
    fn cell(&self, offset: u32) -> Option<&'a [u8]> {
        let start = BASE_BLOCK.checked_add(offset as usize)?;
        let size = u32_at(self.data, start)? as i32;
        let len = size.unsigned_abs() as usize;
        if len < 8 {
            return None;
        }
        self.data.get(start + 4..start.checked_add(len)?)
    }

    fn key_at(&self, offset: u32) -> Option<Key> {
        let c = self.cell(offset)?;
        if c.get(0..2)? != b"nk" {
            return None;
        }
        let flags = u16_at(c, 2)?;
        let name_len = u16_at(c, 72)? as usize;
        let raw = c.get(76..76 + name_len)?;
        Some(Key {
            name: decode_name(raw, flags & 0x0020 != 0),
            subkey_count: u32_at(c, 20)?,
            subkey_list: u32_at(c, 28)?,
            value_count: u32_at(c, 36)?,
            value_list: u32_at(c, 40)?,
        })
    }

    pub fn root(&self) -> Key {
        // Checked in `parse`.
        self.key_at(self.root).unwrap_or(Key {
            name: String::new(),
            subkey_count: 0,
            subkey_list: u32::MAX,
            value_count: 0,
            value_list: u32::MAX,
        })
    }

    /// Offsets of a key's subkeys (bounded).
    fn subkey_offsets(&self, key: &Key) -> Vec<u32> {
        let mut out = Vec::new();
        if key.subkey_count == 0 {
            return out;
        }
        self.collect_list(key.subkey_list, 0, &mut out);
        out
    }

    fn collect_list(&self, offset: u32, depth: u8, out: &mut Vec<u32>) {
        let Some(c) = self.cell(offset) else { return };
        let Some(sig) = c.get(0..2) else { return };
        let count = u16_at(c, 2).unwrap_or(0) as usize;
        match sig {
            b"lf" | b"lh" => {
                for i in 0..count {
                    if out.len() >= MAX_LIST {
                        return;
                    }
                    match u32_at(c, 4 + i * 8) {
                        Some(o) => out.push(o),
                        None => return,
                    }
                }
            }
            b"li" => {
                for i in 0..count {
                    if out.len() >= MAX_LIST {
                        return;
                    }
                    match u32_at(c, 4 + i * 4) {
                        Some(o) => out.push(o),
                        None => return,
                    }
                }
            }
            // An index of lists; an index inside an index is not valid and not followed.
            b"ri" if depth == 0 => {
                for i in 0..count {
                    match u32_at(c, 4 + i * 4) {
                        Some(o) => self.collect_list(o, 1, out),
                        None => return,
                    }
                }
            }
            _ => {}
        }
    }

    /// The subkeys of a key (bounded).
    pub fn subkeys(&self, key: &Key) -> Vec<Key> {
        self.subkey_offsets(key)
            .into_iter()
            .filter_map(|o| self.key_at(o))
            .collect()
    }

    /// A direct subkey by name, case-insensitively.
    pub fn subkey(&self, key: &Key, name: &str) -> Option<Key> {
        self.subkey_offsets(key)
            .into_iter()
            .filter_map(|o| self.key_at(o))
            .find(|k| names_equal(&k.name, name))
    }

    /// A key by its path below the root (`ControlSet001\Control\Terminal Server`).
    pub fn open(&self, path: &str) -> Option<Key> {
        let mut key = self.root();
        for part in path.split('\\').filter(|p| !p.is_empty()).take(MAX_DEPTH) {
            key = self.subkey(&key, part)?;
        }
        Some(key)
    }

    /// The values of a key: (name, data). The default value's name is empty.
    pub fn values(&self, key: &Key) -> Vec<(String, RegValue)> {
        let mut out = Vec::new();
        let count = (key.value_count as usize).min(MAX_LIST);
        if count == 0 {
            return out;
        }
        let Some(list) = self.cell(key.value_list) else {
            return out;
        };
        for i in 0..count {
            let Some(off) = u32_at(list, i * 4) else {
                break;
            };
            if let Some(v) = self.value_at(off) {
                out.push(v);
            }
        }
        out
    }

    fn value_at(&self, offset: u32) -> Option<(String, RegValue)> {
        let c = self.cell(offset)?;
        if c.get(0..2)? != b"vk" {
            return None;
        }
        let name_len = u16_at(c, 2)? as usize;
        let size_raw = u32_at(c, 4)?;
        let data_off = u32_at(c, 8)?;
        let kind = u32_at(c, 12)?;
        let flags = u16_at(c, 16)?;
        let name = decode_name(c.get(20..20 + name_len)?, flags & 0x0001 != 0);
        let inline = size_raw & 0x8000_0000 != 0;
        let size = (size_raw & 0x7FFF_FFFF) as usize;
        let bytes: Vec<u8> = if inline {
            data_off.to_le_bytes()[..size.min(4)].to_vec()
        } else if size == 0 {
            Vec::new()
        } else {
            self.value_data(data_off, size.min(MAX_DATA))?
        };
        Some((name, typed(kind, &bytes)))
    }

    fn value_data(&self, offset: u32, size: usize) -> Option<Vec<u8>> {
        let c = self.cell(offset)?;
        if size > DB_SEGMENT && c.get(0..2) == Some(b"db") {
            let segments = u16_at(c, 2)? as usize;
            let list = self.cell(u32_at(c, 4)?)?;
            let mut out = Vec::with_capacity(size.min(MAX_DATA));
            for i in 0..segments {
                if out.len() >= size {
                    break;
                }
                let seg = self.cell(u32_at(list, i * 4)?)?;
                let take = (size - out.len()).min(seg.len()).min(DB_SEGMENT);
                out.extend_from_slice(&seg[..take]);
            }
            return Some(out);
        }
        Some(c.get(..size.min(c.len()))?.to_vec())
    }
}

fn decode_name(raw: &[u8], ascii: bool) -> String {
    if ascii {
        raw.iter().map(|&b| b as char).collect()
    } else {
        char::decode_utf16(
            raw.chunks_exact(2)
                .map(|c| u16::from_le_bytes([c[0], c[1]])),
        )
        .map(|r| r.unwrap_or(char::REPLACEMENT_CHARACTER))
        .collect()
    }
}

fn names_equal(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b) || a.to_lowercase() == b.to_lowercase()
}

/// Which hive a file is, from its content.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum HiveKind {
    System,
    Software,
    Other,
}

pub(crate) fn kind(h: &Hive<'_>) -> HiveKind {
    let root = h.root();
    if h.subkey(&root, "Select").is_some() {
        return HiveKind::System;
    }
    if h.subkey(&root, "Policies").is_some() && h.subkey(&root, "Microsoft").is_some() {
        return HiveKind::Software;
    }
    let n = h.embedded_name.to_ascii_uppercase();
    if n.ends_with("SYSTEM") {
        HiveKind::System
    } else if n.ends_with("SOFTWARE") {
        HiveKind::Software
    } else {
        HiveKind::Other
    }
}

/// The control set `Select\Current` names (1 when absent).
pub(crate) fn current_control_set(h: &Hive<'_>) -> u32 {
    h.open("Select")
        .and_then(|k| {
            h.values(&k)
                .into_iter()
                .find(|(n, _)| n.eq_ignore_ascii_case("Current"))
        })
        .and_then(|(_, v)| v.as_dword())
        .filter(|n| (1..=999).contains(n))
        .unwrap_or(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_non_hives_and_tiny_files() {
        assert!(Hive::parse(b"MZ").is_err());
        let mut d = b"regf".to_vec();
        d.resize(100, 0);
        assert!(Hive::parse(&d).unwrap_err().contains("truncated"));
    }

    #[test]
    fn hostile_offsets_are_rejected_not_followed() {
        let mut d = b"regf".to_vec();
        d.resize(BASE_BLOCK + 64, 0);
        // Root offset far past the end.
        d[36..40].copy_from_slice(&0xFFFF_FFF0u32.to_le_bytes());
        assert!(Hive::parse(&d).is_err());
        // A root cell whose size claims more than the file.
        d[36..40].copy_from_slice(&0u32.to_le_bytes());
        d[BASE_BLOCK..BASE_BLOCK + 4].copy_from_slice(&(-100_000i32).to_le_bytes());
        assert!(Hive::parse(&d).is_err());
    }
}
