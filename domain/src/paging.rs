//! Relay cursor pagination requests: `first`/`after` pages forward, `last`/`before` backward.

use serde::Serialize;

/// A page request that is known to be valid.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PageRequest {
    pub direction: Direction,
    /// How many items, 1 to `MAX_PAGE_SIZE`.
    pub size: u32,
    /// The opaque cursor to start after (forward) or end before (backward).
    pub cursor: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Direction {
    Forward,
    Backward,
}

pub const DEFAULT_PAGE_SIZE: u32 = 20;
pub const MAX_PAGE_SIZE: u32 = 100;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PagingError {
    #[error("give either first/after or last/before, not both")]
    BothDirections,
    #[error("{0} must be between 1 and {MAX_PAGE_SIZE}")]
    SizeOutOfRange(&'static str),
}

impl PageRequest {
    pub fn parse(
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<Self, PagingError> {
        let size = |value: i32, name| {
            u32::try_from(value)
                .ok()
                .filter(|n| (1..=MAX_PAGE_SIZE).contains(n))
                .ok_or(PagingError::SizeOutOfRange(name))
        };
        match (first, after, last, before) {
            (first, after, None, None) => Ok(Self {
                direction: Direction::Forward,
                size: first.map(|n| size(n, "first")).transpose()?.unwrap_or(DEFAULT_PAGE_SIZE),
                cursor: after,
            }),
            (None, None, last, before) => Ok(Self {
                direction: Direction::Backward,
                size: last.map(|n| size(n, "last")).transpose()?.unwrap_or(DEFAULT_PAGE_SIZE),
                cursor: before,
            }),
            _ => Err(PagingError::BothDirections),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_to_the_first_twenty() {
        let page = PageRequest::parse(None, None, None, None).unwrap();
        assert_eq!(page, PageRequest { direction: Direction::Forward, size: 20, cursor: None });
    }

    #[test]
    fn last_and_before_page_backward() {
        let page = PageRequest::parse(None, None, Some(5), Some("c".into())).unwrap();
        assert_eq!(page, PageRequest { direction: Direction::Backward, size: 5, cursor: Some("c".into()) });
    }

    #[test]
    fn refuses_mixed_directions_and_sizes_out_of_range() {
        assert_eq!(PageRequest::parse(Some(5), None, Some(5), None), Err(PagingError::BothDirections));
        assert_eq!(
            PageRequest::parse(Some(1), None, None, Some("c".into())),
            Err(PagingError::BothDirections)
        );
        assert_eq!(PageRequest::parse(Some(0), None, None, None), Err(PagingError::SizeOutOfRange("first")));
        assert_eq!(PageRequest::parse(None, None, Some(101), None), Err(PagingError::SizeOutOfRange("last")));
        assert!(PageRequest::parse(Some(100), None, None, None).is_ok());
    }
}
