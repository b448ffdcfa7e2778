//! A small, bounded DER reader and writer: just what TSRequest needs.
//!
//! Why hand-written rather than the `der` crate: the server side must be read *leniently*
//! (NTSTATUS error codes arrive as negative or 5-byte INTEGERs, unknown future fields must be
//! skipped, non-minimal length encodings from other BER writers should not break a diagnosis),
//! while the `der` crate is strict by design. This reader is iterative (no recursion), refuses
//! indefinite lengths and high tag numbers, and never reads past the slice it was given.

use crate::Frame;

/// Universal INTEGER.
pub const TAG_INTEGER: u8 = 0x02;
/// Universal OCTET STRING (primitive).
pub const TAG_OCTET_STRING: u8 = 0x04;
/// Universal SEQUENCE (constructed).
pub const TAG_SEQUENCE: u8 = 0x30;

/// `[n]` context-specific, constructed (explicit tagging).
pub const fn context(n: u8) -> u8 {
    0xa0 | n
}

/// Why bytes are not a well-formed TLV.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DerError {
    /// The TLV needs more bytes than the enclosing value has.
    #[error("truncated: {needed} more bytes needed")]
    Truncated {
        /// Bytes missing.
        needed: usize,
    },
    /// Tag number ≥ 31 (multi-byte tag): not used by CredSSP.
    #[error("multi-byte tag numbers are not supported")]
    HighTagNumber,
    /// BER indefinite length (0x80): not allowed in DER.
    #[error("indefinite length")]
    IndefiniteLength,
    /// A long-form length of more than 4 bytes, or the reserved 0xFF form.
    #[error("length field too long")]
    LengthOverflow,
    /// The TLV announces more bytes than the caller's limit.
    #[error("TLV of {len} bytes exceeds the {max}-byte limit")]
    TooLarge {
        /// Announced size, header included.
        len: usize,
        /// The limit.
        max: usize,
    },
}

/// A parsed TLV header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    /// Identifier octet.
    pub tag: u8,
    /// Bytes of tag + length.
    pub header_len: usize,
    /// Bytes of the value.
    pub value_len: usize,
}

impl Header {
    /// Whole TLV size, saturating (a 4-byte length fits usize on every target we build for).
    pub fn total_len(&self) -> usize {
        self.header_len.saturating_add(self.value_len)
    }
}

/// Parse a TLV header, or say how many more bytes are needed to see it.
pub fn header(input: &[u8]) -> Result<Result<Header, usize>, DerError> {
    let Some(&tag) = input.first() else {
        return Ok(Err(2));
    };
    if tag & 0x1f == 0x1f {
        return Err(DerError::HighTagNumber);
    }
    let Some(&first) = input.get(1) else {
        return Ok(Err(1));
    };
    let (header_len, value_len) = match first {
        0..=0x7f => (2, usize::from(first)),
        0x80 => return Err(DerError::IndefiniteLength),
        0x81..=0x84 => {
            let n = usize::from(first & 0x7f);
            let Some(bytes) = input.get(2..2 + n) else {
                return Ok(Err(2 + n - input.len()));
            };
            // Non-minimal long forms (0x82 0x00 0x05) are accepted: BER writers emit them and
            // they are unambiguous.
            let len = bytes.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b));
            (
                2 + n,
                usize::try_from(len).map_err(|_| DerError::LengthOverflow)?,
            )
        }
        _ => return Err(DerError::LengthOverflow),
    };
    Ok(Ok(Header {
        tag,
        header_len,
        value_len,
    }))
}

/// How many bytes the TLV at the start of a stream needs: the prefix reader for stream input.
/// A TLV announcing more than `max` bytes (header included) is refused before any of it is
/// buffered.
pub fn frame(input: &[u8], max: usize) -> Result<Frame, DerError> {
    match header(input)? {
        Err(n) => Ok(Frame::Need(n)),
        Ok(h) => {
            let total = h.total_len();
            if total > max {
                return Err(DerError::TooLarge { len: total, max });
            }
            Ok(if input.len() >= total {
                Frame::Complete(total)
            } else {
                Frame::Need(total - input.len())
            })
        }
    }
}

/// A TLV read from a slice.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tlv<'a> {
    /// Identifier octet.
    pub tag: u8,
    /// The value bytes.
    pub value: &'a [u8],
}

/// Read one complete TLV; returns it and the bytes after it.
pub fn read(input: &[u8]) -> Result<(Tlv<'_>, &[u8]), DerError> {
    let h = match header(input)? {
        Ok(h) => h,
        Err(needed) => return Err(DerError::Truncated { needed }),
    };
    let total = h.total_len();
    if input.len() < total {
        return Err(DerError::Truncated {
            needed: total - input.len(),
        });
    }
    Ok((
        Tlv {
            tag: h.tag,
            value: &input[h.header_len..total],
        },
        &input[total..],
    ))
}

/// An INTEGER's content octets as a signed value (1 to 8 octets, leading padding accepted).
pub fn integer_i64(content: &[u8]) -> Option<i64> {
    // Strip redundant sign octets so non-minimal encodings up to any length still fit.
    let mut c = content;
    while c.len() > 1 && ((c[0] == 0x00 && c[1] & 0x80 == 0) || (c[0] == 0xff && c[1] & 0x80 != 0))
    {
        c = &c[1..];
    }
    if c.is_empty() || c.len() > 8 {
        return None;
    }
    let init: i64 = if c[0] & 0x80 != 0 { -1 } else { 0 };
    Some(c.iter().fold(init, |acc, &b| (acc << 8) | i64::from(b)))
}

/// Append a definite length in the shortest form.
pub fn write_len(out: &mut Vec<u8>, len: usize) {
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = (len as u64).to_be_bytes();
        let skip = bytes.iter().take_while(|&&b| b == 0).count();
        out.push(0x80 | (8 - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
}

/// Append a TLV.
pub fn write_tlv(out: &mut Vec<u8>, tag: u8, value: &[u8]) {
    out.push(tag);
    write_len(out, value.len());
    out.extend_from_slice(value);
}

/// Minimal two's-complement content octets of a signed integer.
pub fn integer_content(v: i64) -> Vec<u8> {
    let bytes = v.to_be_bytes();
    let mut start = 0;
    while start < 7 {
        let (b, next) = (bytes[start], bytes[start + 1]);
        if (b == 0x00 && next & 0x80 == 0) || (b == 0xff && next & 0x80 != 0) {
            start += 1;
        } else {
            break;
        }
    }
    bytes[start..].to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn headers() {
        assert_eq!(
            header(&[0x30, 0x37]).unwrap(),
            Ok(Header {
                tag: 0x30,
                header_len: 2,
                value_len: 0x37
            })
        );
        assert_eq!(header(&[0x30]).unwrap(), Err(1));
        assert_eq!(header(&[]).unwrap(), Err(2));
        assert_eq!(header(&[0x30, 0x82, 0x01]).unwrap(), Err(1));
        assert_eq!(
            header(&[0x30, 0x82, 0x01, 0x00])
                .unwrap()
                .unwrap()
                .value_len,
            256
        );
        assert_eq!(header(&[0x30, 0x80]), Err(DerError::IndefiniteLength));
        assert_eq!(header(&[0x30, 0x85]), Err(DerError::LengthOverflow));
        assert_eq!(header(&[0x1f, 0x01]), Err(DerError::HighTagNumber));
    }

    #[test]
    fn frames() {
        assert_eq!(frame(&[0x30, 0x03, 1, 2, 3, 9], 5), Ok(Frame::Complete(5)));
        assert_eq!(frame(&[0x30, 0x03, 1], 5), Ok(Frame::Need(2)));
        assert_eq!(
            frame(&[0x30, 0x03, 1], 4),
            Err(DerError::TooLarge { len: 5, max: 4 })
        );
        assert_eq!(
            frame(&[0x30, 0x84, 0xff, 0xff, 0xff, 0xff], usize::MAX),
            Ok(Frame::Need(0xffff_ffff))
        );
    }

    #[test]
    fn integers() {
        assert_eq!(integer_i64(&[0x06]), Some(6));
        assert_eq!(integer_i64(&[0xc0, 0x00, 0x00, 0x6d]), Some(-0x3fff_ff93));
        assert_eq!(
            integer_i64(&[0x00, 0xc0, 0x00, 0x00, 0x6d]),
            Some(0xc000_006d)
        );
        assert_eq!(integer_i64(&[0x00, 0x00, 0x00, 0x06]), Some(6));
        assert_eq!(integer_i64(&[0xff, 0xff, 0x80]), Some(-128));
        assert_eq!(integer_i64(&[]), None);
        assert_eq!(integer_i64(&[0x01; 9]), None);
        assert_eq!(integer_content(6), vec![6]);
        assert_eq!(integer_content(128), vec![0, 128]);
        assert_eq!(integer_content(-1), vec![0xff]);
        assert_eq!(
            integer_content(i64::from(0xc000_006du32 as i32)),
            vec![0xc0, 0, 0, 0x6d]
        );
    }

    proptest! {
        #[test]
        fn integer_round_trip(v in any::<i64>()) {
            prop_assert_eq!(integer_i64(&integer_content(v)), Some(v));
        }

        #[test]
        fn tlv_round_trip(tag in 0u8..0x1f, value in proptest::collection::vec(any::<u8>(), 0..600)) {
            let mut out = Vec::new();
            write_tlv(&mut out, tag, &value);
            let (tlv, rest) = read(&out).unwrap();
            prop_assert_eq!(tlv.tag, tag);
            prop_assert_eq!(tlv.value, &value[..]);
            prop_assert!(rest.is_empty());
            prop_assert_eq!(frame(&out, out.len()), Ok(Frame::Complete(out.len())));
        }

        #[test]
        fn reader_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..40)) {
            let _ = read(&bytes);
            let _ = frame(&bytes, 64);
        }
    }
}
