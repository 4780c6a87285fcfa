//! The shop's settings, read through the router.

use std::sync::Arc;

use anyhow::Context;
use domain::currency::CurrencyCode;
use domain::shop::{Shop, ShopName};
use sea_orm::EntityTrait;

use crate::db::DbRouter;
use crate::entities::shop;

pub struct ShopRepository {
    db: Arc<DbRouter>,
}

impl ShopRepository {
    pub fn new(db: Arc<DbRouter>) -> Self {
        Self { db }
    }

    /// The shop, read from a replica (or the primary when no replica answers).
    pub async fn get(&self) -> Result<Shop, crate::Error> {
        let row = self.db.read(|db| async move { shop::Entity::find().one(&db).await }).await?;
        let row = row.context("the shop row is missing: run `myclothes migrate`")?;
        Ok(Shop {
            name: ShopName::parse(&row.name).context("the stored shop name is invalid")?,
            currency: CurrencyCode::parse(&row.currency).context("the stored shop currency is invalid")?,
        })
    }
}
