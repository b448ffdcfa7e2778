//! TPKT framing (RFC 1006): how many bytes the next X.224 frame needs.
//!
//! The probe reads from a TCP stream; a reply may arrive in pieces or together with the next
//! frame. [`frame`] looks at what is buffered and says whether a whole frame is there, how many
//! more bytes are needed, or why the bytes cannot be TPKT at all (with a guess of what they are,
//! from [`crate::sniff`]).
//!
//! Layout: `version (1) = 3 | reserved (1) = 0 | length (2, big-endian, includes the header)`.
//! The length is a u16, so no frame exceeds 65535 bytes, and an X.224 TPDU needs at least three
//! bytes (LI, code, one more), so no frame is shorter than 7.

use crate::sniff::{Sniffed, sniff};

/// TPKT version byte.
pub const VERSION: u8 = 3;
/// Size of the TPKT header.
pub const HEADER_LEN: usize = 4;
/// Smallest legal TPKT length: the header plus the smallest X.224 TPDU (3 bytes).
pub const MIN_FRAME_LEN: usize = 7;
/// Largest TPKT length (the field is a u16).
pub const MAX_FRAME_LEN: usize = u16::MAX as usize;

pub use crate::Frame;

/// Why the buffered bytes are not a TPKT frame.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TpktError {
    /// The first byte is not TPKT version 3; `looks_like` says what the bytes resemble.
    #[error("not a TPKT frame (version byte {version:#04x}): the peer sent {looks_like}")]
    NotTpkt {
        /// The first byte received.
        version: u8,
        /// What the bytes look like instead.
        looks_like: Sniffed,
    },
    /// Version 3 but the reserved byte is not zero: no RDP implementation sends this.
    #[error("TPKT reserved byte is {0:#04x}, expected 0")]
    Reserved(u8),
    /// The length field is below [`MIN_FRAME_LEN`].
    #[error("TPKT length {0} is below the minimum of 7")]
    TooShort(u16),
    /// The length field is above the caller's limit.
    #[error("TPKT length {length} exceeds the limit of {limit}")]
    TooLong {
        /// The length field.
        length: u16,
        /// The limit passed to [`frame_with_limit`].
        limit: usize,
    },
}

/// Look at the start of `buf`: a whole frame, a need for more bytes, or an error.
///
/// Only the first frame is considered; bytes after it belong to the next one.
pub fn frame(buf: &[u8]) -> Result<Frame, TpktError> {
    frame_with_limit(buf, MAX_FRAME_LEN)
}

/// Like [`frame`], but rejects frames longer than `limit` (a Connection Confirm is 11 to 19
/// bytes; a caller waiting for one need not buffer 64 KiB from a hostile peer).
pub fn frame_with_limit(buf: &[u8], limit: usize) -> Result<Frame, TpktError> {
    let Some(&version) = buf.first() else {
        return Ok(Frame::Need(HEADER_LEN));
    };
    if version != VERSION {
        return Err(TpktError::NotTpkt {
            version,
            looks_like: sniff(buf),
        });
    }
    if buf.len() < HEADER_LEN {
        if let Some(&reserved) = buf.get(1)
            && reserved != 0
        {
            return Err(TpktError::Reserved(reserved));
        }
        return Ok(Frame::Need(HEADER_LEN - buf.len()));
    }
    if buf[1] != 0 {
        return Err(TpktError::Reserved(buf[1]));
    }
    let length = u16::from_be_bytes([buf[2], buf[3]]);
    let len = usize::from(length);
    if len < MIN_FRAME_LEN {
        return Err(TpktError::TooShort(length));
    }
    if len > limit {
        return Err(TpktError::TooLong { length, limit });
    }
    if buf.len() < len {
        Ok(Frame::Need(len - buf.len()))
    } else {
        Ok(Frame::Complete(len))
    }
}

/// Fast check used before decoding: `Ok(())` when the buffer may start a TPKT frame, otherwise
/// the same [`TpktError::NotTpkt`] / [`TpktError::Reserved`] that [`frame`] would return.
pub fn check_start(buf: &[u8]) -> Result<(), TpktError> {
    match buf {
        [] => Ok(()),
        [VERSION] => Ok(()),
        [VERSION, 0, ..] => Ok(()),
        [VERSION, reserved, ..] => Err(TpktError::Reserved(*reserved)),
        [version, ..] => Err(TpktError::NotTpkt {
            version: *version,
            looks_like: sniff(buf),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const CC: &str = "030000130ed000001234000201080001000000";

    #[test]
    fn complete_frame_and_following_bytes() {
        let mut b = hex::decode(CC).unwrap();
        assert_eq!(frame(&b), Ok(Frame::Complete(19)));
        b.extend_from_slice(&[0x03, 0x00]);
        assert_eq!(frame(&b), Ok(Frame::Complete(19)));
    }

    #[test]
    fn partial_frames_need_more() {
        let b = hex::decode(CC).unwrap();
        assert_eq!(frame(&[]), Ok(Frame::Need(4)));
        assert_eq!(frame(&b[..1]), Ok(Frame::Need(3)));
        assert_eq!(frame(&b[..4]), Ok(Frame::Need(15)));
        assert_eq!(frame(&b[..18]), Ok(Frame::Need(1)));
    }

    #[test]
    fn bad_headers() {
        assert_eq!(frame(&[3, 0, 0, 6]), Err(TpktError::TooShort(6)));
        assert_eq!(frame(&[3, 0, 0, 0]), Err(TpktError::TooShort(0)));
        assert_eq!(frame(&[3, 1]), Err(TpktError::Reserved(1)));
        assert_eq!(
            frame_with_limit(&[3, 0, 0x01, 0x00], 64),
            Err(TpktError::TooLong {
                length: 256,
                limit: 64
            })
        );
        assert_eq!(frame(&[3, 0, 0xff, 0xff]), Ok(Frame::Need(65531)));
    }

    #[test]
    fn foreign_protocols_are_named() {
        match frame(b"HTTP/1.1 400 Bad Request\r\n") {
            Err(TpktError::NotTpkt {
                version: b'H',
                looks_like: Sniffed::Http { status_line },
            }) => assert_eq!(status_line, "HTTP/1.1 400 Bad Request"),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            frame(b"SSH-2.0-OpenSSH_9.2\r\n"),
            Err(TpktError::NotTpkt {
                looks_like: Sniffed::Ssh { .. },
                ..
            })
        ));
        assert!(matches!(
            check_start(&[0x15, 3, 3, 0, 2, 2, 40]),
            Err(TpktError::NotTpkt {
                looks_like: Sniffed::TlsAlert {
                    description: 40,
                    ..
                },
                ..
            })
        ));
        assert_eq!(check_start(&[3]), Ok(()));
        assert_eq!(check_start(&[3, 0, 0]), Ok(()));
    }

    proptest! {
        #[test]
        fn never_panics_and_is_consistent(buf in proptest::collection::vec(any::<u8>(), 0..80)) {
            match frame(&buf) {
                Ok(Frame::Complete(n)) => {
                    prop_assert!((MIN_FRAME_LEN..=buf.len()).contains(&n));
                    prop_assert_eq!(usize::from(u16::from_be_bytes([buf[2], buf[3]])), n);
                }
                Ok(Frame::Need(n)) => prop_assert!(n >= 1),
                Err(_) => prop_assert!(check_start(&buf).is_err() || buf.len() >= 4),
            }
        }

        #[test]
        fn valid_frames_are_found(len in 7usize..300, extra in 0usize..10) {
            let mut buf = vec![3, 0, (len >> 8) as u8, len as u8];
            buf.resize(len + extra, 0xaa);
            prop_assert_eq!(frame(&buf), Ok(Frame::Complete(len)));
            prop_assert_eq!(frame(&buf[..len - 1]), Ok(Frame::Need(1)));
        }
    }
}
