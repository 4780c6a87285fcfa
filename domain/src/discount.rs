//! Discount codes: what one takes off, which lines it applies to, and whether a cart may use it now.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::catalog_edit::{FieldProblem, Problem, Problems};

/// A code as shoppers type it: compared without regard to case or surrounding blanks.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Code(String);

impl Code {
    pub const MAX_CHARS: usize = 40;

    /// `text` as a code: 1 to 40 letters, digits, `-` or `_`, upper-cased. None when no code could
    /// look like it (it then matches no code).
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim();
        let fits = (1..=Self::MAX_CHARS).contains(&text.len())
            && text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        fits.then(|| Self(text.to_ascii_uppercase()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What a code takes off the lines it applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum DiscountValue {
    /// Hundredths of a percent of the lines' total: 15 % is 1500.
    Percentage(u32),
    /// Minor units, at most the lines' total.
    Fixed(i64),
}

impl DiscountValue {
    /// What it takes off lines worth `eligible_minor`: never more than they cost, a percentage
    /// rounded to the minor unit half to even.
    pub fn amount_off(self, eligible_minor: i64) -> i64 {
        match self {
            Self::Percentage(points) => {
                let exact = i128::from(eligible_minor) * i128::from(points);
                let (quotient, remainder) = (exact / 10_000, exact % 10_000);
                let rounded = match (2 * remainder).cmp(&10_000) {
                    std::cmp::Ordering::Greater => quotient + 1,
                    std::cmp::Ordering::Equal => quotient + quotient % 2,
                    std::cmp::Ordering::Less => quotient,
                };
                i64::try_from(rounded).expect("a share of an amount fits where the amount does")
            }
            Self::Fixed(minor) => minor.min(eligible_minor),
        }
    }
}

/// Which lines a code applies to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum DiscountScope {
    /// Every line.
    Cart,
    /// Lines of products in a category or any category under it (`within`, the category too).
    Category { id: Uuid, within: Vec<Uuid> },
    /// Lines of products of this brand.
    Brand(Uuid),
}

impl DiscountScope {
    pub fn covers(&self, brand: Uuid, category: Uuid) -> bool {
        match self {
            Self::Cart => true,
            Self::Category { within, .. } => within.contains(&category),
            Self::Brand(id) => *id == brand,
        }
    }
}

/// Why a cart may not use a code. A code that does not exist, is disabled or has not started yet is
/// unknown alike, so that trying codes tells nothing of the ones that are not open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeRefusal {
    UnknownCode,
    Expired,
    /// Its total usage limit, or the customer's own, is reached.
    UsedUp,
    /// The cart's subtotal is below the code's minimum.
    MinimumNotMet,
    /// No line of the cart is one it applies to.
    NotApplicable,
}

/// A code's rules.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Discount {
    pub id: Uuid,
    pub code: Code,
    pub value: DiscountValue,
    pub scope: DiscountScope,
    /// The cart's subtotal must be at least this (minor units).
    pub minimum_subtotal_minor: i64,
    /// Seconds since the epoch; open from `starts_at`, until before `ends_at` when set.
    pub starts_at: i64,
    pub ends_at: Option<i64>,
    pub usage_limit: Option<i32>,
    pub per_customer_limit: Option<i32>,
    pub times_used: i32,
    pub active: bool,
}

/// A cart line as a code sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineOf {
    pub total_minor: i64,
    pub brand: Uuid,
    pub category: Uuid,
}

impl Discount {
    /// What the code takes off `lines` at `now` (seconds since the epoch), its customer having used
    /// it `used_by_customer` times; or why it may not be used. It always leaves a minor unit of the
    /// lines to pay, so that every order has a payment (a provider takes no payment of nothing).
    pub fn amount_for(&self, lines: &[LineOf], now: i64, used_by_customer: i64) -> Result<i64, CodeRefusal> {
        if !self.active || now < self.starts_at {
            return Err(CodeRefusal::UnknownCode);
        }
        if self.ends_at.is_some_and(|end| now >= end) {
            return Err(CodeRefusal::Expired);
        }
        let reached = |limit: Option<i32>, used: i64| limit.is_some_and(|limit| used >= i64::from(limit));
        if reached(self.usage_limit, i64::from(self.times_used))
            || reached(self.per_customer_limit, used_by_customer)
        {
            return Err(CodeRefusal::UsedUp);
        }
        let subtotal: i64 = lines.iter().map(|line| line.total_minor).sum();
        if subtotal < self.minimum_subtotal_minor {
            return Err(CodeRefusal::MinimumNotMet);
        }
        let eligible: i64 = self.eligible(lines).map(|line| line.total_minor).sum();
        if eligible == 0 {
            return Err(CodeRefusal::NotApplicable);
        }
        Ok(self.value.amount_off(eligible).min(subtotal - 1))
    }

    /// The lines of `lines` it applies to.
    pub fn eligible<'a>(&'a self, lines: &'a [LineOf]) -> impl Iterator<Item = &'a LineOf> {
        lines.iter().filter(|line| self.scope.covers(line.brand, line.category))
    }
}

/// The raw input of a code's rules.
#[derive(Debug, Clone, Copy)]
pub struct DiscountInput<'a> {
    pub code: &'a str,
    /// Exactly one of a percentage ("15", "12.5") and a fixed amount in minor units.
    pub percent: Option<&'a str>,
    pub amount: Option<i64>,
    pub minimum_subtotal: i64,
    pub usage_limit: Option<i32>,
    pub per_customer_limit: Option<i32>,
}

/// A code's rules as staff set them, checked; the scope and window are checked where they are read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiscountDraft {
    pub code: Code,
    pub value: DiscountValue,
    pub minimum_subtotal_minor: i64,
    pub usage_limit: Option<i32>,
    pub per_customer_limit: Option<i32>,
}

impl DiscountDraft {
    pub fn parse(input: DiscountInput<'_>) -> Result<Self, Vec<FieldProblem>> {
        let mut problems = Problems::default();
        let code = Code::parse(input.code);
        if code.is_none() {
            problems.add("code", Problem::InvalidValue, "must have 1 to 40 letters, digits, - or _");
        }
        let value = match (input.percent, input.amount) {
            (Some(percent), None) => match crate::vat::VatRate::parse_percent(percent) {
                Ok(rate) if rate.basis_points() > 0 => {
                    Some(DiscountValue::Percentage(rate.basis_points() as u32))
                }
                _ => {
                    problems.add(
                        "percent",
                        Problem::InvalidValue,
                        "must be a percentage above 0 and at most 100",
                    );
                    None
                }
            },
            (None, Some(amount)) if amount > 0 => Some(DiscountValue::Fixed(amount)),
            (None, Some(_)) => {
                problems.add("amount", Problem::InvalidPrice, "must be more than zero");
                None
            }
            _ => {
                problems.add("percent", Problem::InvalidValue, "give exactly one of percent and amount");
                None
            }
        };
        let minimum_subtotal_minor = problems.price("minimumSubtotal", input.minimum_subtotal);
        for (field, limit) in
            [("usageLimit", input.usage_limit), ("perCustomerLimit", input.per_customer_limit)]
        {
            if limit.is_some_and(|limit| limit < 1) {
                problems.add(field, Problem::InvalidValue, "must be at least 1 when given");
            }
        }
        problems.finish(|| Self {
            code: code.expect("no problems means a code"),
            value: value.expect("no problems means a value"),
            minimum_subtotal_minor,
            usage_limit: input.usage_limit,
            per_customer_limit: input.per_customer_limit,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn discount(value: DiscountValue, scope: DiscountScope) -> Discount {
        Discount {
            id: Uuid::now_v7(),
            code: Code::parse("summer").unwrap(),
            value,
            scope,
            minimum_subtotal_minor: 5000,
            starts_at: 100,
            ends_at: Some(200),
            usage_limit: Some(10),
            per_customer_limit: Some(1),
            times_used: 0,
            active: true,
        }
    }

    #[test]
    fn codes_are_compared_without_case_or_blanks() {
        assert_eq!(Code::parse(" summer-25 "), Code::parse("SUMMER-25"));
        for bad in ["", "two words", "a;b", &"x".repeat(41)] {
            assert_eq!(Code::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn a_percentage_rounds_half_to_even_and_an_amount_never_exceeds_the_lines() {
        assert_eq!(DiscountValue::Percentage(1500).amount_off(1990), 298, "298.5 → 298");
        assert_eq!(DiscountValue::Percentage(1000).amount_off(1995), 200, "199.5 → 200");
        assert_eq!(DiscountValue::Fixed(1000).amount_off(600), 600);
    }

    #[test]
    fn a_code_is_refused_for_each_rule_a_cart_breaks() {
        let (brand, category, other) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        let lines = [LineOf { total_minor: 6000, brand, category }];
        let code = discount(DiscountValue::Percentage(1000), DiscountScope::Brand(brand));
        assert_eq!(code.amount_for(&lines, 150, 0), Ok(600));
        assert_eq!(code.amount_for(&lines, 99, 0), Err(CodeRefusal::UnknownCode), "not started");
        assert_eq!(
            Discount { active: false, ..code.clone() }.amount_for(&lines, 150, 0),
            Err(CodeRefusal::UnknownCode)
        );
        assert_eq!(code.amount_for(&lines, 200, 0), Err(CodeRefusal::Expired));
        assert_eq!(
            Discount { times_used: 10, ..code.clone() }.amount_for(&lines, 150, 0),
            Err(CodeRefusal::UsedUp)
        );
        assert_eq!(code.amount_for(&lines, 150, 1), Err(CodeRefusal::UsedUp), "once per customer");
        let small = [LineOf { total_minor: 4999, brand, category }];
        assert_eq!(code.amount_for(&small, 150, 0), Err(CodeRefusal::MinimumNotMet));
        let elsewhere =
            discount(DiscountValue::Fixed(500), DiscountScope::Category { id: other, within: vec![other] });
        assert_eq!(elsewhere.amount_for(&lines, 150, 0), Err(CodeRefusal::NotApplicable));
    }

    #[test]
    fn a_code_always_leaves_something_to_pay() {
        let (brand, category) = (Uuid::now_v7(), Uuid::now_v7());
        let lines = [LineOf { total_minor: 6000, brand, category }];
        let everything = Discount {
            minimum_subtotal_minor: 0,
            ..discount(DiscountValue::Percentage(10_000), DiscountScope::Cart)
        };
        assert_eq!(everything.amount_for(&lines, 150, 0), Ok(5999));
        let more = Discount { value: DiscountValue::Fixed(10_000), ..everything };
        assert_eq!(more.amount_for(&lines, 150, 0), Ok(5999));
    }

    #[test]
    fn staff_give_one_value_and_sensible_limits() {
        let input = DiscountInput {
            code: "welcome10",
            percent: Some("10"),
            amount: None,
            minimum_subtotal: 0,
            usage_limit: None,
            per_customer_limit: Some(1),
        };
        let draft = DiscountDraft::parse(input).unwrap();
        assert_eq!((draft.code.as_str(), draft.value), ("WELCOME10", DiscountValue::Percentage(1000)));
        let both = DiscountInput { amount: Some(500), usage_limit: Some(0), ..input };
        let fields: Vec<_> = DiscountDraft::parse(both).unwrap_err().into_iter().map(|p| p.field).collect();
        assert_eq!(fields, ["percent", "usageLimit"]);
    }
}
