//! Expected business outcomes of mutations, returned in the payload's `userErrors`, each with a code
//! a client can act on.

use async_graphql::{Enum, ID, SimpleObject};
use domain::catalog_edit::{FieldProblem, Problem};
use infra::catalog::Rejection;

#[derive(Enum, Clone, Copy, PartialEq, Eq, Debug)]
pub enum UserErrorCode {
    /// A field is empty, too long or not of the required form.
    InvalidValue,
    InvalidPrice,
    InvalidStock,
    SlugTaken,
    SkuTaken,
    /// The product already has a variant of this size and colour.
    VariantTaken,
    UnknownBrand,
    UnknownCategory,
    UnknownProduct,
    UnknownVariant,
    InvalidCredentials,
    /// A cart line holds 1 to 99.
    InvalidQuantity,
    /// A cart holds at most 100 lines.
    CartLimit,
    OutOfStock,
    EmailTaken,
    WeakPassword,
    /// Too many failed logins for the account or from the address; wait and try again.
    TooManyAttempts,
    /// The address book is full.
    AddressLimit,
    UnknownAddress,
    EmptyCart,
    PaymentDeclined,
    /// The payment provider could not be reached; nothing was charged, try again.
    PaymentUnavailable,
    /// The idempotency key already placed an order for another cart.
    IdempotencyConflict,
    /// The cart's total is not the `expectedTotal` the shopper was shown; nothing was charged.
    PriceChanged,
    UnknownOrder,
    /// The order's status cannot move to the one asked for.
    InvalidTransition,
    /// More than may still be refunded (what was captured, less what was refunded), which the
    /// message says.
    AmountNotRefundable,
    /// The shipping method chosen does not ship to the address's country, or none does.
    UnavailableShippingMethod,
    UnknownShippingZone,
    UnknownShippingMethod,
    /// A country is in another shipping zone already.
    CountryTaken,
    /// Another shipping zone is the rest of the world already.
    RestOfWorldTaken,
    /// No discount code open to shoppers is spelt so.
    UnknownCode,
    CodeExpired,
    /// The code's usage limit, or the customer's own, is reached.
    CodeUsedUp,
    /// The cart's subtotal is below the code's minimum.
    MinimumNotMet,
    /// No line of the cart is one the code applies to.
    NotApplicable,
    /// Another discount code is spelt so.
    CodeTaken,
    UnknownDiscountCode,
    /// A link mailed to a customer that was used already, has expired, or was never sent.
    InvalidLink,
    /// The customer's email address is verified already.
    AlreadyVerified,
}

#[derive(SimpleObject, Clone, Debug)]
pub struct UserError {
    /// The argument or input field at fault, such as `input.price`; null when it is the whole call.
    pub field: Option<String>,
    pub code: UserErrorCode,
    pub message: String,
    /// The variant at fault, for errors about a cart line.
    pub variant_id: Option<ID>,
}

impl UserError {
    pub fn new(field: Option<&str>, code: UserErrorCode, message: impl Into<String>) -> Self {
        Self { field: field.map(str::to_owned), code, message: message.into(), variant_id: None }
    }

    pub fn for_variant(self, variant_id: ID) -> Self {
        Self { variant_id: Some(variant_id), ..self }
    }

    /// Problems with the fields of the input argument `input`, or of arguments themselves when
    /// `input` is empty.
    pub fn from_problems(input: &str, problems: Vec<FieldProblem>) -> Vec<Self> {
        problems
            .into_iter()
            .map(|p| {
                let code = match p.problem {
                    Problem::InvalidValue => UserErrorCode::InvalidValue,
                    Problem::InvalidPrice => UserErrorCode::InvalidPrice,
                    Problem::InvalidStock => UserErrorCode::InvalidStock,
                    Problem::WeakPassword => UserErrorCode::WeakPassword,
                };
                let field = match input {
                    "" => p.field.to_owned(),
                    input => format!("{input}.{}", p.field),
                };
                Self::new(Some(&field), code, p.message)
            })
            .collect()
    }

    /// A refused write, blamed on `field`.
    pub fn rejected(field: &str, rejection: Rejection) -> Self {
        let (code, message) = match rejection {
            Rejection::SlugTaken => (UserErrorCode::SlugTaken, "another item has this slug"),
            Rejection::SkuTaken => (UserErrorCode::SkuTaken, "another variant has this SKU"),
            Rejection::VariantTaken => {
                (UserErrorCode::VariantTaken, "the product has a variant of this size and colour")
            }
            Rejection::UnknownBrand => (UserErrorCode::UnknownBrand, "no brand has this slug"),
            Rejection::UnknownCategory => (UserErrorCode::UnknownCategory, "no such category"),
            Rejection::UnknownProduct => (UserErrorCode::UnknownProduct, "no such product"),
            Rejection::UnknownVariant => (UserErrorCode::UnknownVariant, "no such variant"),
            Rejection::InsufficientStock => (UserErrorCode::InvalidStock, "stock cannot go below zero"),
        };
        Self::new(Some(field), code, message)
    }
}
