//! `.reg` export text: `reg export` / regedit files, "Windows Registry Editor Version 5.00"
//! (UTF-16LE with a BOM) or REGEDIT4 (ANSI / UTF-8).
//!
//! The parser is line based and forgiving: a line it cannot read is reported (a bounded number
//! of times) and skipped, and everything else is kept. It never allocates more than the input
//! plus bounded hex buffers.

use crate::evidence::RegValue;

/// Largest value data decoded from a `hex:` list; anything longer is cut (the values
/// rdpdoctor reads are a few bytes; cipher-suite lists a few kilobytes).
const MAX_VALUE_BYTES: usize = 256 * 1024;
/// Longest logical line (after joining `\` continuations).
const MAX_LINE: usize = 1024 * 1024;
/// Problems quoted; the rest are counted.
const MAX_PROBLEMS: usize = 10;

/// What a .reg file contained, handed over value by value.
pub(crate) trait RegSink {
    fn key(&mut self, key: &str);
    fn value(&mut self, key: &str, name: &str, value: RegValue);
}

/// The outcome besides the values.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct RegTextSummary {
    pub header_ok: bool,
    pub keys: u64,
    pub values: u64,
    pub problems: Vec<String>,
    pub problems_total: u64,
}

impl RegTextSummary {
    fn problem(&mut self, line: usize, what: impl Into<String>) {
        self.problems_total += 1;
        if self.problems.len() < MAX_PROBLEMS {
            self.problems.push(format!("line {line}: {}", what.into()));
        }
    }
}

/// Decode the bytes of a .reg file: UTF-16LE (BOM or NUL pattern), UTF-8 (BOM optional),
/// else Windows-1252 as Latin-1 (close enough for key and value names).
pub(crate) fn decode(bytes: &[u8]) -> String {
    if let Some(rest) = bytes.strip_prefix(&[0xFF, 0xFE]) {
        return utf16le(rest);
    }
    if let Some(rest) = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]) {
        return String::from_utf8_lossy(rest).into_owned();
    }
    // UTF-16LE without a BOM: ASCII text has a NUL in every odd byte.
    if bytes.len() >= 4 && bytes[1] == 0 && bytes[3] == 0 && bytes[0] != 0 {
        return utf16le(bytes);
    }
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_string(),
        Err(_) => bytes.iter().map(|&b| b as char).collect(),
    }
}

fn utf16le(b: &[u8]) -> String {
    let units = b.chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]]));
    char::decode_utf16(units)
        .map(|r| r.unwrap_or(char::REPLACEMENT_CHARACTER))
        .collect()
}

/// Whether bytes look like a .reg export (for files without the extension).
pub(crate) fn looks_like_reg(bytes: &[u8]) -> bool {
    let head: String = decode(&bytes[..bytes.len().min(256)]);
    let t = head.trim_start_matches('\u{feff}').trim_start();
    t.starts_with("Windows Registry Editor") || t.starts_with("REGEDIT4")
}

/// Parse .reg text, calling the sink for each key and value.
pub(crate) fn parse(text: &str, sink: &mut dyn RegSink) -> RegTextSummary {
    let mut s = RegTextSummary::default();
    let mut current: Option<String> = None;
    let mut lines = text.lines().enumerate().peekable();
    let mut first = true;
    while let Some((i, raw)) = lines.next() {
        let lineno = i + 1;
        let mut line = raw.trim_start_matches('\u{feff}').trim().to_string();
        // Join continuation lines (`hex:` lists end a line with a backslash).
        while line.ends_with('\\') && !line.starts_with('[') {
            line.pop();
            match lines.next() {
                Some((_, next)) => {
                    if line.len() + next.len() > MAX_LINE {
                        s.problem(lineno, "value longer than 1 MiB; cut");
                        break;
                    }
                    line.push_str(next.trim());
                }
                None => break,
            }
        }
        if line.is_empty() || line.starts_with(';') {
            continue;
        }
        if first {
            first = false;
            if line.starts_with("Windows Registry Editor") || line == "REGEDIT4" {
                s.header_ok = true;
                continue;
            }
        }
        if let Some(inner) = line.strip_prefix('[') {
            let Some(key) = inner.strip_suffix(']') else {
                s.problem(lineno, "key line without a closing ]");
                current = None;
                continue;
            };
            if key.starts_with('-') {
                // A deletion: values under it are not configuration.
                current = None;
                continue;
            }
            s.keys += 1;
            sink.key(key);
            current = Some(key.to_string());
            continue;
        }
        let Some(key) = current.as_deref() else {
            s.problem(lineno, "value outside of any [key]");
            continue;
        };
        match parse_value_line(&line) {
            Ok(Some((name, value))) => {
                s.values += 1;
                sink.value(key, &name, value);
            }
            Ok(None) => {}
            Err(e) => s.problem(lineno, e),
        }
    }
    s
}

/// `"Name"=data` or `@=data`. `Ok(None)` for a deletion (`=-`).
fn parse_value_line(line: &str) -> Result<Option<(String, RegValue)>, String> {
    let (name, rest) = if let Some(r) = line.strip_prefix('@') {
        (String::new(), r)
    } else if line.starts_with('"') {
        let (name, used) = quoted(line).ok_or("value name without a closing quote")?;
        (name, &line[used..])
    } else {
        return Err("not a key, value or comment".into());
    };
    let data = rest
        .trim_start()
        .strip_prefix('=')
        .ok_or("missing '=' after the value name")?
        .trim();
    if data == "-" {
        return Ok(None);
    }
    Ok(Some((name, parse_data(data)?)))
}

/// A quoted string with `\\` and `\"` escapes; returns it and the bytes consumed.
fn quoted(s: &str) -> Option<(String, usize)> {
    let mut out = String::new();
    let mut chars = s.char_indices();
    if chars.next()?.1 != '"' {
        return None;
    }
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some((_, e)) => out.push(e),
                None => return None,
            },
            '"' => return Some((out, i + 1)),
            other => out.push(other),
        }
    }
    None
}

fn parse_data(data: &str) -> Result<RegValue, String> {
    if data.starts_with('"') {
        let (s, used) = quoted(data).ok_or("string without a closing quote")?;
        if !data[used..].trim().is_empty() {
            return Err("text after a string value".into());
        }
        return Ok(RegValue::String(crate::offline::printable(&s)));
    }
    let lower = data.to_ascii_lowercase();
    if let Some(h) = lower.strip_prefix("dword:") {
        let h = h.trim();
        if h.is_empty() || h.len() > 8 {
            return Err(format!("bad dword '{h}'"));
        }
        return u32::from_str_radix(h, 16)
            .map(RegValue::Dword)
            .map_err(|_| format!("bad dword '{h}'"));
    }
    let (kind, list) = if let Some(l) = lower.strip_prefix("hex:") {
        (3u32, l)
    } else if let Some(r) = lower.strip_prefix("hex(") {
        let (t, l) = r.split_once("):").ok_or("bad hex(type): prefix")?;
        (
            u32::from_str_radix(t.trim(), 16).map_err(|_| format!("bad hex type '{t}'"))?,
            l,
        )
    } else {
        return Err(format!(
            "unknown value data '{}'",
            data.chars().take(20).collect::<String>()
        ));
    };
    let bytes = hex_list(list)?;
    Ok(typed(kind, &bytes))
}

fn hex_list(list: &str) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    for item in list.split(',') {
        let item = item.trim();
        if item.is_empty() {
            continue;
        }
        if out.len() >= MAX_VALUE_BYTES {
            break;
        }
        let b = u8::from_str_radix(item, 16).map_err(|_| format!("bad hex byte '{item}'"))?;
        out.push(b);
    }
    Ok(out)
}

/// Registry data of a given type, from its raw bytes (shared with the hive reader).
pub(crate) fn typed(kind: u32, b: &[u8]) -> RegValue {
    match kind {
        1 | 2 => RegValue::String(crate::offline::printable(&utf16_string(b))),
        3 => RegValue::Binary(hex::encode_upper(b)),
        4 if b.len() >= 4 => RegValue::Dword(u32::from_le_bytes([b[0], b[1], b[2], b[3]])),
        5 if b.len() >= 4 => RegValue::Dword(u32::from_be_bytes([b[0], b[1], b[2], b[3]])),
        7 => RegValue::MultiString(
            utf16_string_keep_nuls(b)
                .split('\0')
                .filter(|s| !s.is_empty())
                .take(4096)
                .map(crate::offline::printable)
                .collect(),
        ),
        11 if b.len() >= 8 => RegValue::Qword(u64::from_le_bytes([
            b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7],
        ])),
        other => RegValue::Other(other, hex::encode_upper(&b[..b.len().min(4096)])),
    }
}

fn utf16_string_keep_nuls(b: &[u8]) -> String {
    utf16le(b)
}

/// UTF-16LE up to the first NUL.
fn utf16_string(b: &[u8]) -> String {
    let s = utf16le(b);
    match s.find('\0') {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Default)]
    struct Collect {
        keys: Vec<String>,
        values: Vec<(String, String, RegValue)>,
    }

    impl RegSink for Collect {
        fn key(&mut self, key: &str) {
            self.keys.push(key.into());
        }
        fn value(&mut self, key: &str, name: &str, value: RegValue) {
            self.values.push((key.into(), name.into(), value));
        }
    }

    const SAMPLE: &str = "Windows Registry Editor Version 5.00\r\n\r\n\
[HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\Terminal Server\\WinStations\\RDP-Tcp]\r\n\
\"PortNumber\"=dword:00000d3d\r\n\
\"SSLCertificateSHA1Hash\"=hex:59,ef,f2,e3,b5,09,c8,31,37,e8,10,85,e0,2a,1a,c6,\\\r\n  3a,7e,61,aa\r\n\
\"Name \\\"quoted\\\"\"=\"C:\\\\path\"\r\n\
\"Multi\"=hex(7):61,00,00,00,62,00,00,00,00,00\r\n\
\"Q\"=hex(b):01,00,00,00,00,00,00,00\r\n\
@=\"default\"\r\n\
\"Gone\"=-\r\n\
garbage line\r\n\
[-HKEY_LOCAL_MACHINE\\SOFTWARE\\Deleted]\r\n\
\"Ignored\"=dword:1\r\n";

    #[test]
    fn parses_every_value_kind() {
        let mut c = Collect::default();
        let s = parse(SAMPLE, &mut c);
        assert!(s.header_ok);
        assert_eq!(c.keys.len(), 1);
        let get = |n: &str| c.values.iter().find(|v| v.1 == n).map(|v| v.2.clone());
        assert_eq!(get("PortNumber"), Some(RegValue::Dword(3389)));
        assert_eq!(
            get("SSLCertificateSHA1Hash"),
            Some(RegValue::Binary(
                "59EFF2E3B509C83137E81085E02A1AC63A7E61AA".into()
            ))
        );
        assert_eq!(
            get("Name \"quoted\""),
            Some(RegValue::String("C:\\path".into()))
        );
        assert_eq!(
            get("Multi"),
            Some(RegValue::MultiString(vec!["a".into(), "b".into()]))
        );
        assert_eq!(get("Q"), Some(RegValue::Qword(1)));
        assert_eq!(get(""), Some(RegValue::String("default".into())));
        assert_eq!(get("Gone"), None);
        assert_eq!(get("Ignored"), None);
        assert_eq!(s.problems_total, 2, "{:?}", s.problems);
    }

    #[test]
    fn decodes_utf16_with_bom_and_regedit4() {
        let mut bytes = vec![0xFF, 0xFE];
        for u in SAMPLE.encode_utf16() {
            bytes.extend_from_slice(&u.to_le_bytes());
        }
        assert!(looks_like_reg(&bytes));
        let text = decode(&bytes);
        let mut c = Collect::default();
        parse(&text, &mut c);
        assert!(c.values.iter().any(|v| v.2 == RegValue::Dword(3389)));

        let r4 = "REGEDIT4\n\n[HKEY_LOCAL_MACHINE\\SOFTWARE\\Policies\\Microsoft\\Windows NT\\Terminal Services]\n\"SecurityLayer\"=dword:00000000\n";
        assert!(looks_like_reg(r4.as_bytes()));
        let mut c = Collect::default();
        let s = parse(&decode(r4.as_bytes()), &mut c);
        assert!(s.header_ok);
        assert_eq!(c.values[0].2, RegValue::Dword(0));
    }

    #[test]
    fn bad_dwords_are_reported_not_fatal() {
        let mut c = Collect::default();
        let s = parse(
            "REGEDIT4\n[HKLM\\X]\n\"A\"=dword:zz\n\"B\"=dword:123456789\n\"C\"=dword:1\n",
            &mut c,
        );
        assert_eq!(s.problems_total, 2);
        assert_eq!(c.values.len(), 1);
    }
}
