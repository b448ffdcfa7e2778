//! The primitives NTLM needs: MD4, MD5, HMAC-MD5, RC4, SHA-256.
//!
//! RC4 is written out here (it is ten lines and no maintained crate in the dependency tree
//! provides it); the hashes come from RustCrypto.

use hmac::{KeyInit as _, Mac as _};
use md4::Digest as _;

pub(crate) fn md4(data: &[u8]) -> [u8; 16] {
    md4::Md4::digest(data).into()
}

pub(crate) fn md5(parts: &[&[u8]]) -> [u8; 16] {
    let mut h = md5::Md5::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

pub(crate) fn hmac_md5(key: &[u8], parts: &[&[u8]]) -> [u8; 16] {
    let mut mac = hmac::Hmac::<md5::Md5>::new_from_slice(key).expect("HMAC accepts any key length");
    for p in parts {
        mac.update(p);
    }
    mac.finalize().into_bytes().into()
}

pub(crate) fn sha256(parts: &[&[u8]]) -> [u8; 32] {
    use sha2::Digest as _;
    let mut h = sha2::Sha256::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

/// RC4 keystream, kept across messages (NTLM sealing is connection-oriented).
pub(crate) struct Rc4 {
    s: [u8; 256],
    i: u8,
    j: u8,
}

impl Rc4 {
    pub(crate) fn new(key: &[u8]) -> Self {
        let mut s = [0u8; 256];
        for (i, b) in s.iter_mut().enumerate() {
            *b = u8::try_from(i).expect("index below 256");
        }
        let mut j = 0u8;
        for i in 0..256 {
            j = j.wrapping_add(s[i]).wrapping_add(key[i % key.len()]);
            s.swap(i, usize::from(j));
        }
        Self { s, i: 0, j: 0 }
    }

    pub(crate) fn apply(&mut self, data: &[u8]) -> Vec<u8> {
        data.iter()
            .map(|b| {
                self.i = self.i.wrapping_add(1);
                self.j = self.j.wrapping_add(self.s[usize::from(self.i)]);
                self.s.swap(usize::from(self.i), usize::from(self.j));
                let k = self.s[usize::from(
                    self.s[usize::from(self.i)].wrapping_add(self.s[usize::from(self.j)]),
                )];
                b ^ k
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rc4_matches_the_classic_test_vector() {
        // "Key" / "Plaintext" -> BBF316E8D940AF0AD3
        let out = Rc4::new(b"Key").apply(b"Plaintext");
        assert_eq!(out, [0xBB, 0xF3, 0x16, 0xE8, 0xD9, 0x40, 0xAF, 0x0A, 0xD3]);
    }

    #[test]
    fn nt_hash_of_password() {
        // MS-NLMP 4.2.1: NTOWFv1("Password") = a4f49c406510bdcab6824ee7c30fd852
        let pw: Vec<u8> = "Password"
            .encode_utf16()
            .flat_map(u16::to_le_bytes)
            .collect();
        assert_eq!(
            md4(&pw),
            [
                0xa4, 0xf4, 0x9c, 0x40, 0x65, 0x10, 0xbd, 0xca, 0xb6, 0x82, 0x4e, 0xe7, 0xc3, 0x0f,
                0xd8, 0x52
            ]
        );
    }
}
