//! The carts' command side: a shopper's changes to their cart. Each is checked against the catalogue
//! (through the cache: a variant must be on sale and in stock to be added) and then made in one atomic
//! cart-store operation.

use std::sync::Arc;

use domain::cart::{CartOwner, Quantity};
use uuid::Uuid;

use super::store::{CartRejection, CartStore, StoredCart};
use crate::catalog::CatalogQueries;

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
}

/// The cart after a change, and why the change was refused if it was.
#[derive(Debug)]
pub struct CartChange {
    pub cart: StoredCart,
    pub refused: Option<CartRefusal>,
}

pub struct CartCommands {
    store: Arc<CartStore>,
    catalog: Arc<CatalogQueries>,
}

impl CartCommands {
    pub fn new(store: Arc<CartStore>, catalog: Arc<CatalogQueries>) -> Self {
        Self { store, catalog }
    }

    /// Adds `quantity` of a variant; a line of the same variant grows.
    pub async fn add(
        &self,
        owner: &CartOwner,
        variant: Uuid,
        quantity: i32,
    ) -> Result<CartChange, crate::Error> {
        let Ok(quantity) = Quantity::parse(quantity) else {
            return self.refuse(owner, CartRefusal::InvalidQuantity).await;
        };
        let price = match self.price_for_sale(variant).await? {
            Ok(price) => price,
            Err(refusal) => return self.refuse(owner, refusal).await,
        };
        self.changed(owner, self.store.add(owner, variant, quantity, price).await?).await
    }

    /// Sets the quantity of a variant's line; 0 removes it.
    pub async fn set_quantity(
        &self,
        owner: &CartOwner,
        variant: Uuid,
        quantity: i32,
    ) -> Result<CartChange, crate::Error> {
        if quantity == 0 {
            return self.remove(owner, variant).await;
        }
        let Ok(quantity) = Quantity::parse(quantity) else {
            return self.refuse(owner, CartRefusal::InvalidQuantity).await;
        };
        let price = match self.price_for_sale(variant).await? {
            Ok(price) => price,
            Err(refusal) => return self.refuse(owner, refusal).await,
        };
        self.changed(owner, self.store.set_quantity(owner, variant, quantity.get(), price).await?).await
    }

    pub async fn remove(&self, owner: &CartOwner, variant: Uuid) -> Result<CartChange, crate::Error> {
        Ok(CartChange { cart: self.store.remove(owner, variant).await?, refused: None })
    }

    pub async fn clear(&self, owner: &CartOwner) -> Result<CartChange, crate::Error> {
        Ok(CartChange { cart: self.store.clear(owner).await?, refused: None })
    }

    /// The live price of a variant that can be bought, or why it cannot.
    async fn price_for_sale(&self, variant: Uuid) -> Result<Result<i64, CartRefusal>, crate::Error> {
        let for_sale = self.catalog.variants_for_sale(&[variant]).await?;
        Ok(match for_sale.find(variant) {
            None | Some((_, false)) => Err(CartRefusal::UnknownVariant),
            Some((found, true)) if found.stock <= 0 => Err(CartRefusal::OutOfStock),
            Some((found, true)) => Ok(found.price_minor),
        })
    }

    async fn changed(
        &self,
        owner: &CartOwner,
        stored: Result<StoredCart, CartRejection>,
    ) -> Result<CartChange, crate::Error> {
        match stored {
            Ok(cart) => Ok(CartChange { cart, refused: None }),
            Err(CartRejection::QuantityLimit) => self.refuse(owner, CartRefusal::InvalidQuantity).await,
            Err(CartRejection::LineLimit) => self.refuse(owner, CartRefusal::LineLimit).await,
        }
    }

    /// The cart as it is, with `refusal`.
    async fn refuse(&self, owner: &CartOwner, refusal: CartRefusal) -> Result<CartChange, crate::Error> {
        Ok(CartChange { cart: self.store.get(owner).await?, refused: Some(refusal) })
    }
}
