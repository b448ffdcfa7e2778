//! `.rdp` files as scan targets, read with the offline reader ([`crate::offline::rdpfile`]):
//! the server is what the client would dial (`alternate full address` when set, else `full
//! address`; the port from the address, else `server port`, else 3389, as mstsc does; the
//! `--port` default does not apply because the file says where to connect), with the file as
//! given as `target.input`.

use std::io::Read;
use std::path::Path;

use crate::Target;
use crate::offline::rdpfile::{MAX_RDP_BYTES, parse_rdp};

/// Whether a path names a `.rdp` file (by its extension, any case).
pub fn is_rdp_path(s: &str) -> bool {
    s.len() > 4
        && s.get(s.len() - 4..)
            .is_some_and(|ext| ext.eq_ignore_ascii_case(".rdp"))
}

/// The target of the `.rdp` file at `path`, written by the user as `input`. Reads at most
/// the offline reader's bound, so a huge file named `.rdp` costs nothing.
pub fn read_target(input: &str, path: &Path) -> Result<Target, String> {
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX_RDP_BYTES as u64).read_to_end(&mut bytes))
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let mut target = parse_rdp(&bytes, input)
        .target()
        .map_err(|e| e.to_string())?;
    target.input = input.to_string();
    Ok(target)
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
    fn reads_an_mstsc_file_in_utf16_and_keeps_the_name_to_verify() {
        let dir = crate::scan::testing::tempdir();
        let path = dir.join("s.rdp");
        let file = "screen mode id:i:2\r\nfull address:s:server01.contoso.com\r\nalternate full address:s:10.0.0.5\r\nserver port:i:3390\r\n";
        std::fs::write(&path, utf16le(file)).unwrap();
        let t = read_target("s.rdp", &path).unwrap();
        assert_eq!(
            (t.input.as_str(), t.host.as_str(), t.port),
            ("s.rdp", "10.0.0.5", 3390)
        );
        assert_eq!(t.expected_name.as_deref(), Some("server01.contoso.com"));
        std::fs::write(&path, "username:s:bob\n").unwrap();
        let e = read_target("s.rdp", &path).unwrap_err();
        assert!(e.contains("no 'full address'"), "{e}");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn recognises_rdp_paths_without_slicing_inside_a_character() {
        assert!(is_rdp_path("a/Server 01.RDP"));
        assert!(!is_rdp_path(".rdp"));
        assert!(!is_rdp_path("x𞹭~B"));
    }
}
