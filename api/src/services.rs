//! The application's services, built once at start-up from the configuration and shared by every
//! request.

use std::sync::Arc;

use anyhow::Context;
use infra::catalog::CatalogRepository;
use infra::db::DbRouter;
use infra::redis::RedisStore;
use infra::shop::ShopRepository;

use crate::config::ServeConfig;

pub struct Services {
    pub db: Arc<DbRouter>,
    pub redis: RedisStore,
    pub shop: ShopRepository,
    pub catalog: CatalogRepository,
}

impl Services {
    pub async fn connect(config: &ServeConfig) -> anyhow::Result<Self> {
        let db = Arc::new(DbRouter::connect(&config.db).await.context("cannot prepare the database pools")?);
        Ok(Self {
            redis: RedisStore::connect(&config.redis)?,
            shop: ShopRepository::new(db.clone()),
            catalog: CatalogRepository::new(db.clone()),
            db,
        })
    }
}
