//! "What is this, if not what we expected?": a cheap classifier for the first bytes a peer sent.
//!
//! A diagnosis tool meets the wrong service on the RDP port more often than a broken RDP stack:
//! a web server or reverse proxy, an SSH daemon moved to 3389, a TLS-only listener that expects a
//! ClientHello first, a port forwarder that answers with a banner. Naming the protocol turns
//! "invalid TPKT version 0x48" into "an HTTP server answered".
//!
//! The classifier never fails and never allocates more than a short, printable excerpt.

use std::fmt;

/// Longest printable excerpt kept from a text reply (status line, banner).
pub const MAX_EXCERPT: usize = 120;

/// How many leading bytes [`Sniffed::Unknown`] keeps.
pub const MAX_UNKNOWN_PREFIX: usize = 16;

/// What the first bytes of a reply look like.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Sniffed {
    /// Nothing was received.
    Empty,
    /// Too few bytes to tell (a lone `0x03` or `0x16`).
    Undecided,
    /// A TPKT header (`03 00`): the start of an X.224 / RDP frame.
    Tpkt,
    /// A TLS (or SSL 3.0) record header: a TLS-only listener, or a TLS server that did not
    /// expect the X.224 preamble.
    TlsRecord {
        /// Record content type: 20 change_cipher_spec, 21 alert, 22 handshake, 23 application_data.
        content_type: u8,
        /// Record-layer version (`0x0301` for TLS 1.0 ...).
        version: u16,
    },
    /// A TLS alert record whose two alert bytes are present.
    TlsAlert {
        /// Record-layer version.
        version: u16,
        /// 1 warning, 2 fatal.
        level: u8,
        /// Alert description code (see [`crate::tls::alert_name`]).
        description: u8,
    },
    /// An HTTP response (`HTTP/1.1 400 Bad Request`): a web server or proxy on the port.
    Http {
        /// The status line, printable ASCII only, at most [`MAX_EXCERPT`] bytes.
        status_line: String,
    },
    /// An SSH identification banner (`SSH-2.0-OpenSSH_9.2`).
    Ssh {
        /// The banner line, printable ASCII only, at most [`MAX_EXCERPT`] bytes.
        banner: String,
    },
    /// Some other line of text (an SMTP/FTP banner, an error message from a forwarder).
    Text {
        /// The first line, printable ASCII only, at most [`MAX_EXCERPT`] bytes.
        line: String,
    },
    /// Binary data of no recognised kind.
    Unknown {
        /// The first bytes, at most [`MAX_UNKNOWN_PREFIX`].
        prefix: Vec<u8>,
    },
}

impl Sniffed {
    /// Whether the bytes could still be an RDP (TPKT) reply.
    pub fn may_be_tpkt(&self) -> bool {
        matches!(self, Sniffed::Tpkt | Sniffed::Undecided)
    }

    /// Short lower-case name of the protocol, for reports (`http`, `ssh`, `tls`).
    pub fn kind(&self) -> &'static str {
        match self {
            Sniffed::Empty => "empty",
            Sniffed::Undecided => "undecided",
            Sniffed::Tpkt => "tpkt",
            Sniffed::TlsRecord { .. } | Sniffed::TlsAlert { .. } => "tls",
            Sniffed::Http { .. } => "http",
            Sniffed::Ssh { .. } => "ssh",
            Sniffed::Text { .. } => "text",
            Sniffed::Unknown { .. } => "unknown",
        }
    }
}

impl fmt::Display for Sniffed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Sniffed::Empty => f.write_str("no data"),
            Sniffed::Undecided => f.write_str("too few bytes to identify"),
            Sniffed::Tpkt => f.write_str("a TPKT (RDP) frame"),
            Sniffed::TlsRecord {
                content_type,
                version,
            } => write!(
                f,
                "a TLS record (content type {content_type}, version {version:#06x})"
            ),
            Sniffed::TlsAlert {
                level, description, ..
            } => write!(
                f,
                "a TLS alert (level {level}, {} ({description}))",
                crate::tls::alert_name(*description).unwrap_or("unknown")
            ),
            Sniffed::Http { status_line } => write!(f, "an HTTP response: {status_line:?}"),
            Sniffed::Ssh { banner } => write!(f, "an SSH banner: {banner:?}"),
            Sniffed::Text { line } => write!(f, "text: {line:?}"),
            Sniffed::Unknown { prefix } => {
                f.write_str("unrecognised bytes:")?;
                for b in prefix {
                    write!(f, " {b:02x}")?;
                }
                Ok(())
            }
        }
    }
}

/// Classify the first bytes a peer sent.
pub fn sniff(bytes: &[u8]) -> Sniffed {
    let Some(&first) = bytes.first() else {
        return Sniffed::Empty;
    };
    // TPKT: version 3, reserved 0.
    if first == 0x03 {
        return match bytes.get(1) {
            None => Sniffed::Undecided,
            Some(0x00) => Sniffed::Tpkt,
            Some(_) => unknown(bytes),
        };
    }
    // TLS record: content type 20..=24, version major 3, minor 0..=4.
    if (0x14..=0x18).contains(&first) {
        return match (bytes.get(1), bytes.get(2)) {
            (None, _) | (Some(0x03), None) => Sniffed::Undecided,
            (Some(0x03), Some(&minor)) if minor <= 0x04 => {
                let version = u16::from_be_bytes([0x03, minor]);
                if first == 0x15 && bytes.len() >= 7 {
                    Sniffed::TlsAlert {
                        version,
                        level: bytes[5],
                        description: bytes[6],
                    }
                } else {
                    Sniffed::TlsRecord {
                        content_type: first,
                        version,
                    }
                }
            }
            _ => unknown(bytes),
        };
    }
    if bytes.starts_with(b"HTTP/") {
        return Sniffed::Http {
            status_line: first_line(bytes),
        };
    }
    if bytes.starts_with(b"SSH-") {
        return Sniffed::Ssh {
            banner: first_line(bytes),
        };
    }
    if looks_like_text(bytes) {
        return Sniffed::Text {
            line: first_line(bytes),
        };
    }
    unknown(bytes)
}

fn unknown(bytes: &[u8]) -> Sniffed {
    Sniffed::Unknown {
        prefix: bytes[..bytes.len().min(MAX_UNKNOWN_PREFIX)].to_vec(),
    }
}

/// Text: the first up-to-64 bytes are printable ASCII, tab, CR or LF, and at least 4 of them
/// are printable (so two random bytes do not count as text).
fn looks_like_text(bytes: &[u8]) -> bool {
    let head = &bytes[..bytes.len().min(64)];
    let printable = head.iter().filter(|b| (0x20..0x7f).contains(*b)).count();
    printable >= 4
        && head
            .iter()
            .all(|b| (0x20..0x7f).contains(b) || matches!(b, b'\t' | b'\r' | b'\n'))
}

/// The first line, cut at CR/LF and at [`MAX_EXCERPT`] bytes, non-printable bytes dropped.
fn first_line(bytes: &[u8]) -> String {
    bytes
        .iter()
        .take_while(|b| !matches!(b, b'\r' | b'\n'))
        .take(MAX_EXCERPT)
        .filter(|b| (0x20..0x7f).contains(*b))
        .map(|&b| char::from(b))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_tpkt() {
        assert_eq!(
            sniff(&hex::decode("030000130ed000001234000201080001000000").unwrap()),
            Sniffed::Tpkt
        );
        assert_eq!(sniff(&[3]), Sniffed::Undecided);
        assert!(matches!(sniff(&[3, 1, 0, 0]), Sniffed::Unknown { .. }));
    }

    #[test]
    fn recognises_tls_alert_and_record() {
        // TLS 1.2 fatal protocol_version alert.
        assert_eq!(
            sniff(&[0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x46]),
            Sniffed::TlsAlert {
                version: 0x0303,
                level: 2,
                description: 70
            }
        );
        assert_eq!(
            sniff(&[0x16, 0x03, 0x01, 0x00, 0x31]),
            Sniffed::TlsRecord {
                content_type: 22,
                version: 0x0301
            }
        );
        assert_eq!(sniff(&[0x16]), Sniffed::Undecided);
        assert_eq!(sniff(&[0x16, 0x03]), Sniffed::Undecided);
    }

    #[test]
    fn recognises_text_protocols() {
        assert_eq!(
            sniff(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"),
            Sniffed::Http {
                status_line: "HTTP/1.1 400 Bad Request".into()
            }
        );
        assert_eq!(
            sniff(b"SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n"),
            Sniffed::Ssh {
                banner: "SSH-2.0-OpenSSH_9.2p1 Debian-2".into()
            }
        );
        assert_eq!(
            sniff(b"220 mail.example ESMTP\r\n"),
            Sniffed::Text {
                line: "220 mail.example ESMTP".into()
            }
        );
        assert_eq!(sniff(b""), Sniffed::Empty);
        assert!(matches!(sniff(&[0xff; 40]), Sniffed::Unknown { prefix } if prefix.len() == 16));
    }

    #[test]
    fn excerpts_are_bounded_and_printable() {
        let mut long = b"HTTP/1.1 200 ".to_vec();
        long.extend(std::iter::repeat_n(b'x', 1000));
        match sniff(&long) {
            Sniffed::Http { status_line } => assert_eq!(status_line.len(), MAX_EXCERPT),
            other => panic!("{other:?}"),
        }
        match sniff(b"SSH-2.0-\x01\x02bad") {
            Sniffed::Ssh { banner } => assert_eq!(banner, "SSH-2.0-bad"),
            other => panic!("{other:?}"),
        }
    }
}
