//! The application's services, built once at start-up from the configuration and shared by every
//! request: the query side (`Queries`), the command side (`Commands`) and the write path between the
//! commands and the readers.

use std::sync::Arc;

use anyhow::Context;
use infra::cache::ReadCache;
use infra::carts::{CartCommands, CartQueries, CartStore};
use infra::catalog::{CatalogCommands, CatalogQueries};
use infra::customers::{AccountCommands, AddressBook, CustomerQueries};
use infra::db::DbRouter;
use infra::discounts::{DiscountCommands, DiscountQueries};
use infra::login_limits::LoginLimits;
use infra::orders::{Checkout, OrderCommands, OrderQueries, PaymentEvents};
use infra::payments::{PaymentProvider, TestPaymentProvider};
use infra::persisted_queries::PersistedQueries;
use infra::rate_limits::RateLimiter;
use infra::redis::RedisStore;
use infra::session_registry::SessionRegistry;
use infra::shipping::{ShippingCommands, ShippingQueries};
use infra::shop::ShopRepository;
use infra::staff::StaffRepository;
use infra::stripe::Stripe;
use infra::tokens::Tokens;
use infra::write_path::WritePath;
use secrecy::SecretString;

use crate::client_ip::TrustedProxies;
use crate::config::{PaymentConfig, ProviderConfig, RateLimits, ServeConfig};

pub struct Services {
    pub db: Arc<DbRouter>,
    /// Carts, sessions, rate limits, persisted queries: what must never be evicted.
    pub redis: Arc<RedisStore>,
    /// The read cache's Redis: `redis` itself, unless the cache has one of its own.
    pub cache_redis: Arc<RedisStore>,
    pub cache: Arc<ReadCache>,
    pub shop: ShopRepository,
    pub queries: Queries,
    pub commands: Commands,
    /// What every command's commit goes through before its mutation answers.
    pub write_path: WritePath,
    pub staff: StaffRepository,
    pub tokens: Tokens,
    pub sessions: Arc<SessionRegistry>,
    pub login_limits: LoginLimits,
    pub payments: Arc<dyn PaymentProvider>,
    /// The built-in sandbox payment provider (see `infra::payments`), when it is the provider.
    pub sandbox: Option<Arc<TestPaymentProvider>>,
    /// Stripe's webhook deliveries are taken when signed with this.
    pub stripe_webhook_secret: Option<SecretString>,
    pub cookies: CookiePolicy,
    pub rate_limiter: RateLimiter,
    pub persisted_queries: PersistedQueries,
    /// Run only documents registered beforehand (`myclothes persist`).
    pub persisted_queries_only: bool,
    pub rates: RateLimits,
    pub trusted_proxies: TrustedProxies,
}

/// The read side: replicas, through the cache where the data is cacheable.
pub struct Queries {
    pub catalog: Arc<CatalogQueries>,
    pub customers: CustomerQueries,
    pub orders: OrderQueries,
    pub carts: CartQueries,
    pub shipping: ShippingQueries,
    pub discounts: DiscountQueries,
}

/// The write side. Commands on the primary answer a `Committed` value, whose answer only the write
/// path hands out; carts are written in Redis.
pub struct Commands {
    pub catalog: CatalogCommands,
    pub accounts: AccountCommands,
    pub addresses: AddressBook,
    pub checkout: Checkout,
    pub orders: OrderCommands,
    /// What the payment provider tells of payments on its own (`POST /webhooks/stripe`).
    pub payment_events: PaymentEvents,
    pub carts: CartCommands,
    pub shipping: ShippingCommands,
    pub discounts: DiscountCommands,
}

/// How the session cookie is set.
pub struct CookiePolicy {
    pub secure: bool,
    pub max_age: std::time::Duration,
}

/// A payment provider, and the sandbox when that is the one.
pub struct Payments {
    pub provider: Arc<dyn PaymentProvider>,
    pub sandbox: Option<Arc<TestPaymentProvider>>,
}

/// The payment provider `config` sets up.
pub fn payment_provider(config: &PaymentConfig) -> anyhow::Result<Payments> {
    match &config.provider {
        ProviderConfig::Sandbox { settings, in_production } => {
            if *in_production {
                tracing::warn!(
                    "payments go to the sandbox provider, which takes no money: no order is really paid"
                );
            }
            let sandbox = Arc::new(TestPaymentProvider::new(*settings));
            Ok(Payments { provider: sandbox.clone(), sandbox: Some(sandbox) })
        }
        ProviderConfig::Stripe(settings) => {
            let stripe = Stripe::new(settings.clone(), config.timeout)?;
            Ok(Payments { provider: Arc::new(stripe), sandbox: None })
        }
    }
}

impl Services {
    pub async fn connect(config: &ServeConfig) -> anyhow::Result<Self> {
        let db = Arc::new(DbRouter::connect(&config.db).await.context("cannot prepare the database pools")?);
        db.watch_primary().await;
        let redis = Arc::new(RedisStore::connect(&config.redis)?);
        let cache_redis = match &config.cache_redis {
            Some(settings) => Arc::new(RedisStore::connect(settings)?),
            None => redis.clone(),
        };
        let cache = Arc::new(ReadCache::new(cache_redis.clone(), config.cache.clone()));
        cache.follow_invalidations();
        let sessions = Arc::new(SessionRegistry::new(redis.clone(), config.tokens.lifetime));
        let catalog = Arc::new(CatalogQueries::new(db.clone(), cache.clone()));
        let carts = Arc::new(CartStore::new(redis.clone(), config.cart_expiry));
        let Payments { provider: payments, sandbox } = payment_provider(&config.payments)?;
        let rate_limiter = RateLimiter::new(redis.clone());
        rate_limiter.start_flushing();
        Ok(Self {
            shop: ShopRepository::new(db.clone()),
            queries: Queries {
                customers: CustomerQueries::new(db.clone(), cache.clone()),
                orders: OrderQueries::new(db.clone()),
                carts: CartQueries::new(carts.clone(), catalog.clone()),
                catalog: catalog.clone(),
                shipping: ShippingQueries::new(db.clone(), cache.clone()),
                discounts: DiscountQueries::new(db.clone(), cache.clone()),
            },
            commands: Commands {
                catalog: CatalogCommands::new(db.clone()),
                accounts: AccountCommands::new(db.clone(), carts.clone(), sessions.clone()),
                addresses: AddressBook::new(db.clone()),
                checkout: Checkout::new(
                    db.clone(),
                    carts.clone(),
                    payments.clone(),
                    config.payments.timeout,
                    config.payments.action_window,
                ),
                orders: OrderCommands::new(db.clone(), payments.clone(), config.payments.timeout),
                payment_events: PaymentEvents::new(
                    db.clone(),
                    payments.clone(),
                    carts.clone(),
                    config.payments.timeout,
                ),
                carts: CartCommands::new(carts, catalog, DiscountQueries::new(db.clone(), cache.clone())),
                shipping: ShippingCommands::new(db.clone()),
                discounts: DiscountCommands::new(db.clone()),
            },
            write_path: WritePath::new(db.clone(), cache.clone(), sessions.clone()),
            staff: StaffRepository::new(db.clone()),
            tokens: Tokens::new(&config.tokens),
            sessions,
            login_limits: LoginLimits::new(redis.clone()),
            payments,
            sandbox,
            stripe_webhook_secret: match &config.payments.provider {
                ProviderConfig::Stripe(stripe) => stripe.webhook_secret.clone(),
                ProviderConfig::Sandbox { .. } => None,
            },
            cookies: CookiePolicy { secure: config.secure_cookies, max_age: config.tokens.lifetime },
            rate_limiter,
            persisted_queries: PersistedQueries::new(redis.clone()),
            persisted_queries_only: config.persisted_queries_only,
            rates: config.rates,
            trusted_proxies: config.trusted_proxies.clone(),
            cache,
            cache_redis,
            redis,
            db,
        })
    }
}
