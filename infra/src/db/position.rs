//! Positions in the primary's write-ahead log: where a commit ends, how far a replica has replayed.

use std::fmt;

/// A position in the primary's write-ahead log, such as `16/B374D848`. A replica that has replayed
/// up to a commit's position shows that commit. Positions only grow.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct WalPosition(u64);

impl WalPosition {
    /// PostgreSQL's text form: the high and low 32 bits in hex, `HIGH/LOW`.
    pub fn parse(text: &str) -> Option<Self> {
        let (high, low) = text.split_once('/')?;
        let (high, low) = (u32::from_str_radix(high, 16).ok()?, u32::from_str_radix(low, 16).ok()?);
        Some(Self((u64::from(high) << 32) | u64::from(low)))
    }

    /// Sixteen hex digits, the form kept in Redis: positions in it compare as strings, in Lua too.
    pub fn sortable(self) -> String {
        format!("{:016X}", self.0)
    }

    pub fn from_sortable(text: &str) -> Option<Self> {
        (text.len() == 16).then(|| u64::from_str_radix(text, 16).ok().map(Self)).flatten()
    }

    /// Bytes from the start of the WAL.
    pub(super) fn offset(self) -> u64 {
        self.0
    }

    /// How many bytes of WAL lie between `earlier` and this position (zero when it is not later).
    pub fn bytes_after(self, earlier: Self) -> u64 {
        self.0.saturating_sub(earlier.0)
    }
}

impl fmt::Display for WalPosition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:X}/{:X}", self.0 >> 32, self.0 & 0xFFFF_FFFF)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_compare_as_numbers_and_round_trip() {
        let small = WalPosition::parse("0/16B3748").unwrap();
        let large = WalPosition::parse("1/0").unwrap();
        assert!(large > WalPosition::parse("0/FFFFFFFF").unwrap());
        assert!(small < large);
        assert_eq!(small.to_string(), "0/16B3748");
        assert_eq!(large.to_string(), "1/0");
        assert_eq!(WalPosition::from_sortable(&small.sortable()), Some(small));
        assert_eq!(large.bytes_after(small), 0x1_0000_0000 - 0x16B3748);
        assert_eq!(small.bytes_after(large), 0);
    }

    #[test]
    fn the_sortable_form_sorts_like_the_positions() {
        let positions = ["0/FF", "0/100", "A/0", "1F/3"].map(|p| WalPosition::parse(p).unwrap());
        let mut by_text = positions.map(WalPosition::sortable);
        by_text.sort();
        assert_eq!(by_text, positions.map(WalPosition::sortable));
    }

    #[test]
    fn nonsense_is_no_position() {
        for text in ["nonsense", "0/XYZ", "1/2/3", "100000000/0", ""] {
            assert_eq!(WalPosition::parse(text), None, "{text}");
        }
        assert_eq!(WalPosition::from_sortable("16B3748"), None);
    }
}
