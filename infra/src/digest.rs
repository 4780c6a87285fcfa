//! Short stable names for content: digests written as lowercase hex.

use sha2::{Digest, Sha256};

/// `bytes` in lowercase hex. (Digests name cache entries on hot paths: no formatting machinery.)
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut text = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        text.push(char::from(DIGITS[usize::from(byte >> 4)]));
        text.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
    text
}

/// The first `length` bytes (at most 32) of the SHA-256 of `data`, in hex.
pub fn sha256_hex(data: &[u8], length: usize) -> String {
    hex(&Sha256::digest(data)[..length])
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_digest_is_cut_to_the_length_asked_for() {
        let whole = super::sha256_hex(b"{ __typename }", 32);
        assert_eq!(whole, "7f56e67dd21ab3f30d1ff8b7bed08893f0a0db86449836189b361dd1e56ddb4b");
        assert_eq!(super::sha256_hex(b"{ __typename }", 12), whole[..24]);
    }

    #[test]
    fn every_byte_is_two_lowercase_hex_digits() {
        assert_eq!(super::hex(&[0x00, 0x09, 0xa0, 0xff, 0x5c]), "0009a0ff5c");
        assert_eq!(super::hex(&[]), "");
    }
}
