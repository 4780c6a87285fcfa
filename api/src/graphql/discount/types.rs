//! A discount code as staff see it.

use async_graphql::{ID, Object};
use chrono::{DateTime, Utc};
use domain::currency::CurrencyCode;
use domain::discount::{Discount, DiscountScope, DiscountValue};
use domain::vat::VatRate;

use crate::graphql::global_id::{NodeKind, global_id};
use crate::graphql::money::Money;

pub struct DiscountCode {
    pub discount: Discount,
    pub currency: CurrencyCode,
}

impl DiscountCode {
    fn money(&self, minor: i64) -> Money {
        Money(domain::money::Money::new(minor, self.currency))
    }
}

fn time(seconds: i64) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(seconds, 0)
}

#[Object]
impl DiscountCode {
    async fn id(&self) -> ID {
        global_id(NodeKind::DiscountCode, self.discount.id)
    }

    /// Upper-cased; shoppers may type it in any case.
    async fn code(&self) -> &str {
        self.discount.code.as_str()
    }

    /// The percentage it takes off, such as "15"; null for a fixed amount.
    async fn percent(&self) -> Option<String> {
        match self.discount.value {
            DiscountValue::Percentage(points) => {
                VatRate::from_basis_points(points as i32).ok().map(|p| p.to_string())
            }
            DiscountValue::Fixed(_) => None,
        }
    }

    /// The amount it takes off; null for a percentage.
    async fn amount(&self) -> Option<Money> {
        match self.discount.value {
            DiscountValue::Fixed(minor) => Some(self.money(minor)),
            DiscountValue::Percentage(_) => None,
        }
    }

    /// The brand whose lines it applies to; null when it is not for one brand.
    async fn brand_id(&self) -> Option<ID> {
        match self.discount.scope {
            DiscountScope::Brand(id) => Some(global_id(NodeKind::Brand, id)),
            _ => None,
        }
    }

    /// The category whose lines (and those of the categories under it) it applies to.
    async fn category_id(&self) -> Option<ID> {
        match self.discount.scope {
            DiscountScope::Category { id, .. } => Some(global_id(NodeKind::Category, id)),
            _ => None,
        }
    }

    async fn minimum_subtotal(&self) -> Money {
        self.money(self.discount.minimum_subtotal_minor)
    }

    async fn starts_at(&self) -> Option<DateTime<Utc>> {
        time(self.discount.starts_at)
    }

    /// It may be used until just before then; null when it never expires.
    async fn ends_at(&self) -> Option<DateTime<Utc>> {
        self.discount.ends_at.and_then(time)
    }

    async fn usage_limit(&self) -> Option<i32> {
        self.discount.usage_limit
    }

    async fn per_customer_limit(&self) -> Option<i32> {
        self.discount.per_customer_limit
    }

    /// By orders placed or waiting for their payment; a failed payment gives its use back.
    async fn times_used(&self) -> i32 {
        self.discount.times_used
    }

    /// Whether shoppers may use it.
    async fn active(&self) -> bool {
        self.discount.active
    }
}
