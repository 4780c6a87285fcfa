//! The carts' command side: a shopper's changes to their cart. Each is checked against the catalogue
//! (through the cache: a variant must be on sale and in stock to be added) and then made in one atomic
//! cart-store operation, which also checks that the shopper's session has not ended.

use std::sync::Arc;

use domain::cart::{CartOwner, Quantity};
use domain::discount::{Code, CodeRefusal};
use uuid::Uuid;

use super::queries::CartQueries;
use super::store::{CartRejection, CartStore, StoredCart, StoredChange};
use crate::cache::{ReadPolicy, Reads};
use crate::catalog::{CatalogQueries, VariantsForSale};
use crate::discounts::DiscountQueries;
use crate::session_registry::Liveness;

/// Why a change was refused; the cart is as it was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CartRefusal {
    /// A line holds 1 to `Quantity::MAX`.
    InvalidQuantity,
    /// No such variant is for sale.
    UnknownVariant,
    OutOfStock,
    /// The cart has `MAX_LINES` lines already.
    LineLimit,
    /// The shopper's session has ended; the cart is not theirs to see.
    SessionEnded,
    /// The discount code may not be used with this cart now.
    Discount(CodeRefusal),
}

/// The cart after a change, and why the change was refused if it was.
#[derive(Debug)]
pub struct CartChange {
    pub cart: StoredCart,
    pub refused: Option<CartRefusal>,
    /// What the change read of the catalogue, a moment ago: it prices the cart when it has every
    /// line's variant (`CartQueries::price`).
    pub read: Option<VariantsForSale>,
}

pub struct CartCommands {
    store: Arc<CartStore>,
    catalog: Arc<CatalogQueries>,
    carts: CartQueries,
    discounts: DiscountQueries,
}

impl CartCommands {
    pub fn new(store: Arc<CartStore>, catalog: Arc<CatalogQueries>, discounts: DiscountQueries) -> Self {
        let carts = CartQueries::new(store.clone(), catalog.clone());
        Self { store, catalog, carts, discounts }
    }

    /// Adds `quantity` of a variant; a line of the same variant grows.
    pub async fn add(
        &self,
        owner: &CartOwner,
        liveness: &Liveness,
        variant: Uuid,
        quantity: i32,
    ) -> Result<CartChange, crate::Error> {
        let Ok(quantity) = Quantity::parse(quantity) else {
            return self.refuse(owner, liveness, CartRefusal::InvalidQuantity).await;
        };
        let read = self.catalog.variants_for_sale(&[variant]).await?;
        let price = match price_for_sale(&read, variant) {
            Ok(price) => price,
            Err(refusal) => return self.refuse(owner, liveness, refusal).await,
        };
        let added = self.store.add(owner, liveness, variant, quantity, price).await;
        changed(added, Some(read))
    }

    /// Sets the quantity of a variant's line; 0 removes it.
    pub async fn set_quantity(
        &self,
        owner: &CartOwner,
        liveness: &Liveness,
        variant: Uuid,
        quantity: i32,
    ) -> Result<CartChange, crate::Error> {
        if quantity == 0 {
            return self.remove(owner, liveness, variant).await;
        }
        let Ok(quantity) = Quantity::parse(quantity) else {
            return self.refuse(owner, liveness, CartRefusal::InvalidQuantity).await;
        };
        let read = self.catalog.variants_for_sale(&[variant]).await?;
        let price = match price_for_sale(&read, variant) {
            Ok(price) => price,
            Err(refusal) => return self.refuse(owner, liveness, refusal).await,
        };
        let set = self.store.set_quantity(owner, liveness, variant, quantity, price).await;
        changed(set, Some(read))
    }

    pub async fn remove(
        &self,
        owner: &CartOwner,
        liveness: &Liveness,
        variant: Uuid,
    ) -> Result<CartChange, crate::Error> {
        changed(self.store.remove(owner, liveness, variant).await, None)
    }

    pub async fn clear(&self, owner: &CartOwner, liveness: &Liveness) -> Result<CartChange, crate::Error> {
        changed(self.store.clear(owner, liveness).await, None)
    }

    /// Applies the discount code `code` (as the shopper typed it) to the cart, if the cart may use it
    /// now; it is checked again at checkout.
    pub async fn apply_code(
        &self,
        owner: &CartOwner,
        liveness: &Liveness,
        code: &str,
    ) -> Result<CartChange, crate::Error> {
        let refuse = |refusal| self.refuse(owner, liveness, CartRefusal::Discount(refusal));
        let Some(code) = Code::parse(code) else { return refuse(CodeRefusal::UnknownCode).await };
        let stored = match self.store.look(owner, liveness).await? {
            Ok(stored) => stored,
            Err(_) => return Ok(session_ended()),
        };
        let reads = Reads::new(ReadPolicy::EVENTUAL);
        let lines = self.carts.price(stored, None).await?.lines_for_discount(&reads);
        if let Err(refusal) = self.discounts.check(&code, &lines, owner.customer(), &reads).await? {
            return refuse(refusal).await;
        }
        changed(self.store.set_code(owner, liveness, &code).await, None)
    }

    pub async fn remove_code(
        &self,
        owner: &CartOwner,
        liveness: &Liveness,
    ) -> Result<CartChange, crate::Error> {
        changed(self.store.remove_code(owner, liveness).await, None)
    }

    /// The cart as it is, with `refusal`.
    async fn refuse(
        &self,
        owner: &CartOwner,
        liveness: &Liveness,
        refusal: CartRefusal,
    ) -> Result<CartChange, crate::Error> {
        Ok(match self.store.look(owner, liveness).await? {
            Ok(cart) => refused(cart, refusal),
            Err(_) => session_ended(),
        })
    }
}

/// The answer to a change the store made or refused; `read` is what the change read of the catalogue.
fn changed(stored: StoredChange, read: Option<VariantsForSale>) -> Result<CartChange, crate::Error> {
    Ok(match stored? {
        Ok(cart) => CartChange { cart, refused: None, read },
        Err(CartRejection::SessionEnded) => session_ended(),
        Err(CartRejection::QuantityLimit(cart)) => refused(cart, CartRefusal::InvalidQuantity),
        Err(CartRejection::LineLimit(cart)) => refused(cart, CartRefusal::LineLimit),
    })
}

fn refused(cart: StoredCart, refusal: CartRefusal) -> CartChange {
    CartChange { cart, refused: Some(refusal), read: None }
}

/// The live price of `variant`, as `read`, if it can be bought; or why it cannot.
fn price_for_sale(read: &VariantsForSale, variant: Uuid) -> Result<i64, CartRefusal> {
    match read.find(variant) {
        None | Some((_, false)) => Err(CartRefusal::UnknownVariant),
        Some((found, true)) if found.stock <= 0 => Err(CartRefusal::OutOfStock),
        Some((found, true)) => Ok(found.price_minor),
    }
}

fn session_ended() -> CartChange {
    refused(StoredCart::default(), CartRefusal::SessionEnded)
}
