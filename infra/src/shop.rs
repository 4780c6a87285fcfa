//! The shop's settings, read through the router.

use std::sync::Arc;

use anyhow::Context;
use domain::currency::CurrencyCode;
use domain::shop::{Shop, ShopName};
use sea_orm::EntityTrait;
use tokio::sync::OnceCell;

use crate::db::DbRouter;
use crate::entities::shop;

pub struct ShopRepository {
    db: Arc<DbRouter>,
    currency: OnceCell<CurrencyCode>,
}

impl ShopRepository {
    pub fn new(db: Arc<DbRouter>) -> Self {
        Self { db, currency: OnceCell::new() }
    }

    /// The currency of every price, read once per instance: prices are stored in its minor units,
    /// so changing it means repricing the catalogue and restarting the api.
    pub async fn currency(&self) -> Result<CurrencyCode, crate::Error> {
        self.currency.get_or_try_init(|| async { Ok(self.get().await?.currency) }).await.copied()
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
