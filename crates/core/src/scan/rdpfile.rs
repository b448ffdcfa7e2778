//! The two lines of a `.rdp` file a scan needs: `full address:s:` and `server port:i:`.
//!
//! A stop-gap until the offline `.rdp` reader lands: it reads only where to connect. mstsc
//! saves `.rdp` files as UTF-16LE with a byte-order mark; hand-written ones are UTF-8.

use crate::Target;
use crate::target::TargetError;

/// Where a `.rdp` file says to connect.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RdpAddress {
    /// `full address:s:` as written (may carry `:port`).
    pub full_address: String,
    /// `server port:i:`, used when the full address has no port.
    pub server_port: Option<u16>,
}

/// Why a `.rdp` file gives no target.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RdpFileError {
    #[error("no 'full address:s:' line")]
    NoAddress,
    #[error(transparent)]
    Target(#[from] TargetError),
}

/// Whether a path names a `.rdp` file (by its extension, any case).
pub fn is_rdp_path(s: &str) -> bool {
    s.len() > 4
        && s.get(s.len() - 4..)
            .is_some_and(|ext| ext.eq_ignore_ascii_case(".rdp"))
}

/// Decode the bytes of a `.rdp` file (UTF-16LE/BE with BOM, or UTF-8 with or without BOM).
pub fn decode(bytes: &[u8]) -> String {
    let utf16 = |b: &[u8], le: bool| {
        let units: Vec<u16> = b
            .chunks_exact(2)
            .map(|c| {
                if le {
                    u16::from_le_bytes([c[0], c[1]])
                } else {
                    u16::from_be_bytes([c[0], c[1]])
                }
            })
            .collect();
        String::from_utf16_lossy(&units)
    };
    match bytes {
        [0xFF, 0xFE, rest @ ..] => utf16(rest, true),
        [0xFE, 0xFF, rest @ ..] => utf16(rest, false),
        [0xEF, 0xBB, 0xBF, rest @ ..] => String::from_utf8_lossy(rest).into_owned(),
        _ => String::from_utf8_lossy(bytes).into_owned(),
    }
}

/// Find the address lines. Keys are case-insensitive, as mstsc reads them.
pub fn address(text: &str) -> Option<RdpAddress> {
    let mut full_address = None;
    let mut server_port = None;
    for line in text.lines() {
        let mut parts = line.trim().splitn(3, ':');
        let (Some(key), Some(kind), Some(value)) = (parts.next(), parts.next(), parts.next())
        else {
            continue;
        };
        match (key.trim().to_ascii_lowercase().as_str(), kind) {
            ("full address", "s") if !value.trim().is_empty() => {
                full_address = Some(value.trim().to_string())
            }
            ("server port", "i") => server_port = value.trim().parse().ok().filter(|p| *p > 0),
            _ => {}
        }
    }
    full_address.map(|full_address| RdpAddress {
        full_address,
        server_port,
    })
}

/// The target a `.rdp` file names; `input` is the file as the user gave it.
pub fn target(input: &str, bytes: &[u8], default_port: u16) -> Result<Target, RdpFileError> {
    let a = address(&decode(bytes)).ok_or(RdpFileError::NoAddress)?;
    let mut t =
        Target::parse_with_default_port(&a.full_address, a.server_port.unwrap_or(default_port))?;
    t.input = input.to_string();
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utf16le(s: &str) -> Vec<u8> {
        let mut v = vec![0xFF, 0xFE];
        for u in s.encode_utf16() {
            v.extend(u.to_le_bytes());
        }
        v
    }

    #[test]
    fn reads_an_mstsc_file_in_utf16() {
        let file =
            "screen mode id:i:2\r\nfull address:s:server01.contoso.com\r\nserver port:i:3390\r\n";
        let t = target("s.rdp", &utf16le(file), 3389).unwrap();
        assert_eq!(
            (t.host.as_str(), t.port, t.input.as_str()),
            ("server01.contoso.com", 3390, "s.rdp")
        );
    }

    #[test]
    fn a_port_in_the_full_address_wins() {
        let t = target(
            "x.rdp",
            b"full address:s:10.0.0.5:4000\nserver port:i:3390\n",
            3389,
        )
        .unwrap();
        assert_eq!((t.host.as_str(), t.port), ("10.0.0.5", 4000));
        let t = target("x.rdp", b"Full Address:s:[fe80::1]\n", 3389).unwrap();
        assert_eq!((t.host.as_str(), t.port), ("fe80::1", 3389));
    }

    #[test]
    fn a_file_without_an_address_is_an_error() {
        assert_eq!(
            target("x.rdp", b"username:s:bob\n", 3389),
            Err(RdpFileError::NoAddress)
        );
        assert!(matches!(
            target("x.rdp", b"full address:s:bad host\n", 3389),
            Err(RdpFileError::Target(_))
        ));
    }
}
