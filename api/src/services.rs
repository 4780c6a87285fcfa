//! The application's services, built once at start-up from the configuration and shared by every
//! request.

use std::sync::Arc;

use anyhow::Context;
use infra::addresses::AddressBook;
use infra::cache::ReadCache;
use infra::cart_store::CartStore;
use infra::catalog::{CachedCatalog, CatalogRepository, CatalogWriter};
use infra::checkout::Checkout;
use infra::customers::CustomerRepository;
use infra::db::DbRouter;
use infra::login_limits::LoginLimits;
use infra::orders::OrderRepository;
use infra::payments::TestPaymentProvider;
use infra::persisted_queries::PersistedQueries;
use infra::rate_limits::RateLimiter;
use infra::redis::RedisStore;
use infra::session_registry::SessionRegistry;
use infra::shop::ShopRepository;
use infra::staff::StaffRepository;
use infra::tokens::Tokens;

use crate::client_ip::TrustedProxies;
use crate::config::{RateLimits, ServeConfig};

pub struct Services {
    pub db: Arc<DbRouter>,
    pub redis: Arc<RedisStore>,
    pub shop: ShopRepository,
    /// Uncached catalogue reads, for the per-request batch loaders.
    pub catalog: Arc<CatalogRepository>,
    /// Catalogue reads through the cache, for the storefront's product and listing queries.
    pub cached_catalog: CachedCatalog,
    pub catalog_writer: CatalogWriter,
    pub staff: StaffRepository,
    pub tokens: Tokens,
    pub sessions: SessionRegistry,
    pub customers: Arc<CustomerRepository>,
    pub addresses: AddressBook,
    pub login_limits: LoginLimits,
    pub carts: Arc<CartStore>,
    /// The built-in sandbox payment provider (see `infra::payments`).
    pub payments: Arc<TestPaymentProvider>,
    pub checkout: Checkout,
    pub orders: OrderRepository,
    pub cookies: CookiePolicy,
    pub rate_limiter: RateLimiter,
    pub persisted_queries: PersistedQueries,
    /// Run only documents registered beforehand (`myclothes persist`).
    pub persisted_queries_only: bool,
    pub rates: RateLimits,
    pub trusted_proxies: TrustedProxies,
}

/// How the session cookie is set.
pub struct CookiePolicy {
    pub secure: bool,
    pub max_age: std::time::Duration,
}

impl Services {
    pub async fn connect(config: &ServeConfig) -> anyhow::Result<Self> {
        let db = Arc::new(DbRouter::connect(&config.db).await.context("cannot prepare the database pools")?);
        db.watch_primary();
        let redis = Arc::new(RedisStore::connect(&config.redis)?);
        let catalog = Arc::new(CatalogRepository::new(db.clone()));
        let cache = Arc::new(ReadCache::new(redis.clone(), config.cache.clone()));
        let customers = Arc::new(CustomerRepository::new(db.clone(), cache.clone()));
        let carts = Arc::new(CartStore::new(redis.clone(), config.cart_expiry));
        let payments = Arc::new(TestPaymentProvider::default());
        Ok(Self {
            shop: ShopRepository::new(db.clone()),
            cached_catalog: CachedCatalog::new(catalog.clone(), cache.clone()),
            catalog_writer: CatalogWriter::new(db.clone(), cache),
            addresses: AddressBook::new(db.clone(), customers.clone()),
            customers,
            staff: StaffRepository::new(db.clone()),
            tokens: Tokens::new(&config.tokens),
            sessions: SessionRegistry::new(redis.clone(), config.tokens.lifetime),
            login_limits: LoginLimits::new(redis.clone()),
            checkout: Checkout::new(db.clone(), carts.clone(), payments.clone()),
            orders: OrderRepository::new(db.clone()),
            carts,
            payments,
            cookies: CookiePolicy { secure: config.secure_cookies, max_age: config.tokens.lifetime },
            rate_limiter: RateLimiter::new(redis.clone()),
            persisted_queries: PersistedQueries::new(redis.clone()),
            persisted_queries_only: config.persisted_queries_only,
            rates: config.rates,
            trusted_proxies: config.trusted_proxies.clone(),
            catalog,
            redis,
            db,
        })
    }
}
