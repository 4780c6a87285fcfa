//! Secrets handed to their holder as lowercase hex (an order's access token, the tokens of mailed
//! links): written from random bytes, and recognised by their length and digits alone.

/// `bytes` as lowercase hex.
pub(crate) fn encode(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether `text` is `len` lowercase hex digits.
pub(crate) fn is_token(text: &str, len: usize) -> bool {
    text.len() == len && text.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}
