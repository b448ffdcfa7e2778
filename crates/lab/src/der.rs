//! Just enough DER for CredSSP: definite lengths, one-byte tags, no recursion beyond the fixed
//! TSRequest / TSCredentials shapes, so a hostile client cannot make the lab recurse.

#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub(crate) enum DerError {
    #[error("truncated DER")]
    Truncated,
    #[error("unsupported DER length form")]
    BadLength,
    #[error("unexpected DER tag {0:#04x}")]
    UnexpectedTag(u8),
}

/// Splits one TLV off `input`: (tag, content, rest).
pub(crate) fn read_tlv(input: &[u8]) -> Result<(u8, &[u8], &[u8]), DerError> {
    let (&tag, rest) = input.split_first().ok_or(DerError::Truncated)?;
    let (&first, rest) = rest.split_first().ok_or(DerError::Truncated)?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 {
            return Err(DerError::BadLength);
        }
        let bytes = rest.get(..n).ok_or(DerError::Truncated)?;
        let len = bytes
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
        (len, &rest[n..])
    };
    if rest.len() < len {
        return Err(DerError::Truncated);
    }
    Ok((tag, &rest[..len], &rest[len..]))
}

/// Reads a TLV that must carry `tag`.
pub(crate) fn expect(input: &[u8], tag: u8) -> Result<(&[u8], &[u8]), DerError> {
    let (t, content, rest) = read_tlv(input)?;
    if t != tag {
        return Err(DerError::UnexpectedTag(t));
    }
    Ok((content, rest))
}

/// Length of the whole TLV starting at `prefix`, once enough of the header is known.
/// `Ok(None)`: need more bytes.
pub(crate) fn tlv_len(prefix: &[u8]) -> Result<Option<usize>, DerError> {
    let Some(&first) = prefix.get(1) else {
        return Ok(None);
    };
    if first < 0x80 {
        return Ok(Some(2 + usize::from(first)));
    }
    let n = usize::from(first & 0x7f);
    if n == 0 || n > 4 {
        return Err(DerError::BadLength);
    }
    let Some(bytes) = prefix.get(2..2 + n) else {
        return Ok(None);
    };
    let len = bytes
        .iter()
        .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
    Ok(Some(2 + n + len))
}

pub(crate) fn write_len(out: &mut Vec<u8>, len: usize) {
    if len < 0x80 {
        out.push(u8::try_from(len).expect("checked"));
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        out.push(0x80 | u8::try_from(bytes.len() - skip).expect("at most 8"));
        out.extend_from_slice(&bytes[skip..]);
    }
}

pub(crate) fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(content.len() + 6);
    out.push(tag);
    write_len(&mut out, content.len());
    out.extend_from_slice(content);
    out
}

/// An INTEGER holding a 32-bit value as a signed number, the way Windows writes NTSTATUS
/// values (0xC000006D becomes `02 04 c0 00 00 6d`).
pub(crate) fn integer_i32(value: i32) -> Vec<u8> {
    let bytes = value.to_be_bytes();
    let mut start = 0;
    while start < 3 {
        let (b, next) = (bytes[start], bytes[start + 1]);
        if (b == 0 && next & 0x80 == 0) || (b == 0xff && next & 0x80 != 0) {
            start += 1;
        } else {
            break;
        }
    }
    tlv(0x02, &bytes[start..])
}

/// Reads an INTEGER content as a 32-bit value, tolerating the unsigned form (a leading zero
/// before a high bit) as well as the signed one.
pub(crate) fn read_u32(content: &[u8]) -> Result<u32, DerError> {
    let trimmed = match content {
        [0, rest @ ..] if rest.len() == 4 => rest,
        c if c.len() <= 4 && !c.is_empty() => c,
        _ => return Err(DerError::BadLength),
    };
    let fill = if trimmed[0] & 0x80 != 0 { 0xff } else { 0 };
    let mut bytes = [fill; 4];
    bytes[4 - trimmed.len()..].copy_from_slice(trimmed);
    Ok(u32::from_be_bytes(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_round_trip() {
        assert_eq!(integer_i32(6), [2, 1, 6]);
        assert_eq!(integer_i32(0xC000_006Du32 as i32), [2, 4, 0xc0, 0, 0, 0x6d]);
        assert_eq!(integer_i32(128), [2, 2, 0, 0x80]);
        assert_eq!(read_u32(&[0xc0, 0, 0, 0x6d]).unwrap(), 0xC000_006D);
        assert_eq!(read_u32(&[0, 0xc0, 0, 0, 0x6d]).unwrap(), 0xC000_006D);
        assert_eq!(read_u32(&[6]).unwrap(), 6);
    }

    #[test]
    fn long_lengths() {
        let content = vec![7u8; 300];
        let t = tlv(0x04, &content);
        assert_eq!(&t[..4], &[0x04, 0x82, 0x01, 0x2c]);
        assert_eq!(tlv_len(&t[..4]).unwrap(), Some(304));
        let (tag, c, rest) = read_tlv(&t).unwrap();
        assert_eq!((tag, c.len(), rest.len()), (4, 300, 0));
    }
}
