//! Cart rules: whose cart it is, how much of a variant one line may hold and how many lines a cart
//! may have.

use std::fmt;

use uuid::Uuid;

use crate::session::{Session, SessionId};

/// Whose cart: a guest's is the session's; a customer's follows the customer to every device.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum CartOwner {
    Guest(SessionId),
    Customer(Uuid),
}

impl CartOwner {
    /// Whose cart `session` shows: the signed-in customer's, else the session's own.
    pub fn of(session: &Session) -> Self {
        match session.customer() {
            Some(customer) => Self::Customer(customer),
            None => Self::Guest(session.id.clone()),
        }
    }

    /// The owner written as `Display` writes it.
    pub fn parse(owner: &str) -> Option<Self> {
        match owner.split_once(':')? {
            ("session", session) => SessionId::parse(session).ok().map(Self::Guest),
            ("customer", id) => Uuid::parse_str(id).ok().map(Self::Customer),
            _ => None,
        }
    }

    pub fn customer(&self) -> Option<Uuid> {
        match self {
            Self::Guest(_) => None,
            Self::Customer(id) => Some(*id),
        }
    }
}

impl fmt::Display for CartOwner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Guest(session) => write!(f, "session:{session}"),
            Self::Customer(id) => write!(f, "customer:{id}"),
        }
    }
}

/// A line's quantity: 1 to `MAX`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Quantity(u32);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("a quantity is between 1 and {}", Quantity::MAX)]
pub struct InvalidQuantity;

impl Quantity {
    pub const MAX: u32 = 99;

    pub fn parse(quantity: i32) -> Result<Self, InvalidQuantity> {
        u32::try_from(quantity).ok().filter(|q| (1..=Self::MAX).contains(q)).map(Self).ok_or(InvalidQuantity)
    }

    pub fn get(self) -> u32 {
        self.0
    }
}

/// The most lines a cart may have.
pub const MAX_LINES: u32 = 100;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_customer_session_shows_the_customers_cart_and_any_other_its_own() {
        let customer = Uuid::now_v7();
        let signed_in = Session::of_customer(SessionId::from_random([1; 16]), customer, 0);
        assert_eq!(CartOwner::of(&signed_in), CartOwner::Customer(customer));
        let guest = Session { id: SessionId::from_random([2; 16]), subject: None, role: None, generation: 0 };
        assert_eq!(CartOwner::of(&guest), CartOwner::Guest(guest.id.clone()));
    }

    #[test]
    fn an_owner_reads_back_as_it_was_written() {
        for owner in [CartOwner::Guest(SessionId::from_random([3; 16])), CartOwner::Customer(Uuid::now_v7())]
        {
            assert_eq!(CartOwner::parse(&owner.to_string()), Some(owner));
        }
        for bad in ["", "session:", "session:xyz", "customer:42", "staff:1", "customer"] {
            assert_eq!(CartOwner::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn quantities_run_from_1_to_99() {
        assert_eq!(Quantity::parse(1).unwrap().get(), 1);
        assert_eq!(Quantity::parse(99).unwrap().get(), 99);
        for bad in [0, -1, 100, i32::MAX] {
            assert_eq!(Quantity::parse(bad), Err(InvalidQuantity), "{bad}");
        }
    }
}

/// What a shopper should know about a line before checking out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineWarning {
    /// The product was taken off sale (or the variant removed).
    Unavailable,
    /// None left.
    OutOfStock,
    /// Fewer left than the line holds.
    InsufficientStock { available: u32 },
    /// The unit price is not what it was when the line was added.
    PriceChanged { was: i64 },
}

/// The state of a line now, against the catalogue.
pub struct LineState {
    pub quantity: u32,
    pub available: bool,
    pub stock: u32,
    pub price_now: i64,
    pub price_when_added: i64,
}

pub fn warnings(line: &LineState) -> Vec<LineWarning> {
    if !line.available {
        return vec![LineWarning::Unavailable];
    }
    let mut warnings = Vec::new();
    match line.stock {
        0 => warnings.push(LineWarning::OutOfStock),
        stock if stock < line.quantity => warnings.push(LineWarning::InsufficientStock { available: stock }),
        _ => {}
    }
    if line.price_now != line.price_when_added {
        warnings.push(LineWarning::PriceChanged { was: line.price_when_added });
    }
    warnings
}

#[cfg(test)]
mod warning_tests {
    use super::*;

    fn state(quantity: u32, stock: u32, price_now: i64) -> LineState {
        LineState { quantity, available: true, stock, price_now, price_when_added: 1000 }
    }

    #[test]
    fn a_line_warns_about_stock_and_price() {
        assert_eq!(warnings(&state(2, 5, 1000)), []);
        assert_eq!(warnings(&state(2, 0, 1000)), [LineWarning::OutOfStock]);
        assert_eq!(
            warnings(&state(3, 2, 900)),
            [LineWarning::InsufficientStock { available: 2 }, LineWarning::PriceChanged { was: 1000 }]
        );
        let gone = LineState { available: false, ..state(1, 5, 900) };
        assert_eq!(warnings(&gone), [LineWarning::Unavailable]);
    }
}
