//! Opaque keyset cursors of product listings: the sort they belong to and the sort key of the row,
//! as base64url JSON. A cursor only continues the sort it came from.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, FixedOffset};
use domain::listing::ProductSort;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The position of a row in a sorted listing: its sort value and its id, which breaks ties.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "sort", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ProductCursor {
    Relevance { rank: f32, id: Uuid },
    Newest { created_at: DateTime<FixedOffset>, id: Uuid },
    PriceAsc { price: i64, id: Uuid },
    PriceDesc { price: i64, id: Uuid },
    Name { name: String, id: Uuid },
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CursorError {
    #[error("the cursor is not one this API made")]
    Malformed,
    #[error("the cursor belongs to another sort order")]
    OtherSort,
}

impl ProductCursor {
    pub fn sort(&self) -> ProductSort {
        match self {
            Self::Relevance { .. } => ProductSort::Relevance,
            Self::Newest { .. } => ProductSort::Newest,
            Self::PriceAsc { .. } => ProductSort::PriceAsc,
            Self::PriceDesc { .. } => ProductSort::PriceDesc,
            Self::Name { .. } => ProductSort::Name,
        }
    }

    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(self).expect("a cursor serialises"))
    }

    /// Decodes `text`, which must continue a listing sorted by `sort`.
    pub fn decode(text: &str, sort: ProductSort) -> Result<Self, CursorError> {
        let bytes = URL_SAFE_NO_PAD.decode(text).map_err(|_| CursorError::Malformed)?;
        let cursor: Self = serde_json::from_slice(&bytes).map_err(|_| CursorError::Malformed)?;
        if cursor.sort() != sort {
            return Err(CursorError::OtherSort);
        }
        Ok(cursor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_every_sort() {
        let id = Uuid::now_v7();
        let at = DateTime::parse_from_rfc3339("2026-11-22T10:00:00.123456+00:00").unwrap();
        for cursor in [
            ProductCursor::Relevance { rank: 0.0759_f32, id },
            ProductCursor::Newest { created_at: at, id },
            ProductCursor::PriceAsc { price: 3899, id },
            ProductCursor::PriceDesc { price: 3899, id },
            ProductCursor::Name { name: "Slim \"Oxford\" Shirt".into(), id },
        ] {
            assert_eq!(ProductCursor::decode(&cursor.encode(), cursor.sort()), Ok(cursor));
        }
    }

    #[test]
    fn refuses_another_sorts_cursor_and_garbage() {
        let cursor = ProductCursor::PriceAsc { price: 1, id: Uuid::nil() }.encode();
        assert_eq!(ProductCursor::decode(&cursor, ProductSort::PriceDesc), Err(CursorError::OtherSort));
        assert_eq!(ProductCursor::decode("not a cursor!", ProductSort::Name), Err(CursorError::Malformed));
        assert_eq!(ProductCursor::decode("e30", ProductSort::Name), Err(CursorError::Malformed));
    }
}
