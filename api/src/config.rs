//! Every setting, read once at start-up from `MYCLOTHES_*` variables or the matching flags, validated
//! here and passed down as typed values. The development profile fills in the local stack's addresses
//! (`scripts/stack.env`); the production profile has no defaults for anything secret.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::{Args, ValueEnum};
use domain::account::Email;
use infra::cache::CacheSettings;
use infra::db::DbSettings;
use infra::mail::Storefront;
use infra::mail::smtp::{SmtpSettings, SmtpSettingsError};
use infra::order_events::StockAlerts;
use infra::payments::SandboxSettings;
use infra::redis::{RedisSettings, ReplicaAcks, SentinelSettings, Topology};
use infra::stripe::StripeSettings;
use infra::tokens::{TokenKey, TokenSettings};
use infra::worker::WorkerSettings;

use infra::rate_limits::Rate;

use crate::client_ip::{Network, TrustedProxies};
use secrecy::SecretString;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Profile {
    Development,
    Production,
}

/// Who takes the payments.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PaymentProvider {
    /// The built-in sandbox: its documented test tokens never move money.
    Sandbox,
    /// Stripe's API (`MYCLOTHES_STRIPE_SECRET_KEY`, `MYCLOTHES_STRIPE_API_BASE`).
    Stripe,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Json,
    Text,
}

/// The settings as given on the command line or in the environment, before validation.
#[derive(Debug, Args)]
pub struct Settings {
    /// `development` supplies the local stack's addresses and keys; `production` requires them all.
    #[arg(long, env = "MYCLOTHES_PROFILE", value_enum, default_value = "production", global = true)]
    pub profile: Profile,

    /// Address the HTTP server listens on.
    #[arg(long, env = "MYCLOTHES_LISTEN", default_value = "127.0.0.1:8000", global = true)]
    pub listen: String,

    /// Address of the operators' listener: the detailed readiness report and the metrics. Keep it off
    /// the public network.
    #[arg(long, env = "MYCLOTHES_ADMIN_LISTEN", default_value = "127.0.0.1:9000", global = true)]
    pub admin_listen: String,

    /// PostgreSQL primary URL for the api's writer role (postgres://user:password@host:port/db); after
    /// it, comma-separated, the servers that may be promoted in its place: writes go to whichever
    /// of them is writable.
    #[arg(long, env = "MYCLOTHES_DATABASE_URL", hide_env_values = true, global = true)]
    pub database_url: Option<String>,

    /// Read-replica URLs for the api's read-only role, comma-separated; empty sends reads to the primary.
    #[arg(
        long,
        env = "MYCLOTHES_REPLICA_URLS",
        hide_env_values = true,
        value_delimiter = ',',
        global = true
    )]
    pub replica_urls: Option<Vec<String>>,

    /// PostgreSQL primary URL for the owner role, used only by `migrate`.
    #[arg(long, env = "MYCLOTHES_OWNER_DATABASE_URL", hide_env_values = true, global = true)]
    pub owner_database_url: Option<String>,

    /// Redis URL with its password (redis://:password@host:port/db): carts, sessions, rate limits and
    /// persisted queries, which must never be evicted.
    #[arg(long, env = "MYCLOTHES_REDIS_URL", hide_env_values = true, global = true)]
    pub redis_url: Option<String>,

    /// A Redis of its own for the read cache, which may evict (allkeys-lru); without it, the cache
    /// shares MYCLOTHES_REDIS_URL.
    #[arg(long, env = "MYCLOTHES_CACHE_REDIS_URL", hide_env_values = true, global = true)]
    pub cache_redis_url: Option<String>,

    /// Redis Sentinel: `host:port` of each sentinel, comma-separated. The Redis of MYCLOTHES_REDIS_URL is
    /// then the primary they name, followed through failovers; the URL gives its password, database
    /// and TLS (the sentinels are reached over TLS too when it says rediss://), not its address.
    #[arg(long, env = "MYCLOTHES_REDIS_SENTINELS", value_delimiter = ',', global = true)]
    pub redis_sentinels: Option<Vec<String>>,

    /// Redis Cluster (ElastiCache's cluster mode): `host:port` of some of its nodes, comma-separated;
    /// the cluster's other nodes are learned from them. MYCLOTHES_REDIS_URL then gives the nodes'
    /// password and TLS, not an address. Keys used together get a hash tag, so a deployment moved
    /// between a single Redis and a cluster starts with empty Redis data.
    #[arg(long, env = "MYCLOTHES_REDIS_CLUSTER", value_delimiter = ',', global = true)]
    pub redis_cluster: Option<Vec<String>>,

    /// The name the sentinels monitor the primary under.
    #[arg(long, env = "MYCLOTHES_REDIS_MASTER_NAME", default_value = "myclothes", global = true)]
    pub redis_master_name: String,

    /// Replicas that must have a cart change before the shopper is told it is made (`WAIT`); 0
    /// acknowledges it once the primary has it.
    #[arg(long, env = "MYCLOTHES_REDIS_WAIT_REPLICAS", default_value_t = 0, global = true)]
    pub redis_wait_replicas: u32,

    /// The longest a cart change waits for those replicas; then it is acknowledged with the primary
    /// alone holding it.
    #[arg(long, env = "MYCLOTHES_REDIS_WAIT_TIMEOUT", default_value = "100ms", value_parser = humantime::parse_duration, global = true)]
    pub redis_wait_timeout: Duration,

    /// A certificate authority (PEM file) for PostgreSQL: every database URL without an `sslmode` of
    /// its own then connects with `sslmode=verify-full`, the server's certificate checked against it.
    #[arg(long, env = "MYCLOTHES_DATABASE_CA_FILE", global = true)]
    pub database_ca_file: Option<PathBuf>,

    /// A certificate authority (PEM file) that the certificates of `rediss://` servers must chain to,
    /// in place of the system's roots.
    #[arg(long, env = "MYCLOTHES_REDIS_CA_FILE", global = true)]
    pub redis_ca_file: Option<PathBuf>,

    /// In the production profile, let a database or Redis on another machine be reached without TLS
    /// (refused at start-up otherwise).
    #[arg(long, env = "MYCLOTHES_ALLOW_PLAINTEXT_STORES", default_value_t = false, action = clap::ArgAction::Set, global = true)]
    pub allow_plaintext_stores: bool,

    /// Prefix of every Redis key this deployment writes.
    #[arg(long, env = "MYCLOTHES_REDIS_KEY_PREFIX", default_value = "myclothes:", global = true)]
    pub redis_key_prefix: String,

    /// JWT keys as `kid:secret` pairs, comma-separated; the first signs, all verify (rotation).
    /// Secrets are at least 32 bytes.
    #[arg(long, env = "MYCLOTHES_JWT_KEYS", hide_env_values = true, global = true)]
    pub jwt_keys: Option<String>,

    /// A cart expires this long after its last change.
    #[arg(long, env = "MYCLOTHES_CART_EXPIRY", default_value = "30days", value_parser = humantime::parse_duration, global = true)]
    pub cart_expiry: Duration,

    /// How long a session token is valid.
    #[arg(long, env = "MYCLOTHES_SESSION_LIFETIME", default_value = "30days", value_parser = humantime::parse_duration, global = true)]
    pub session_lifetime: Duration,

    /// Connections in the pool to the primary, per instance.
    #[arg(long, env = "MYCLOTHES_PRIMARY_POOL_SIZE", default_value_t = 16, global = true)]
    pub primary_pool_size: u32,

    /// Connections in the pool to each replica, per instance.
    #[arg(long, env = "MYCLOTHES_REPLICA_POOL_SIZE", default_value_t = 16, global = true)]
    pub replica_pool_size: u32,

    /// Connections in the Redis pool, per instance.
    #[arg(long, env = "MYCLOTHES_REDIS_POOL_SIZE", default_value_t = 32, global = true)]
    pub redis_pool_size: u32,

    /// Bound on connecting to PostgreSQL, waiting for a pooled connection, and a health probe.
    #[arg(long, env = "MYCLOTHES_DB_TIMEOUT", default_value = "2s", value_parser = humantime::parse_duration, global = true)]
    pub db_timeout: Duration,

    /// Bound on every Redis call, so that a Redis that hangs fails calls (a stopped one fails them at
    /// once). Not a latency target: a healthy Redis stalls for hundreds of milliseconds now and then
    /// (the fsync that starts an append-only-file rewrite, a fork), and calls must ride that out.
    #[arg(long, env = "MYCLOTHES_REDIS_TIMEOUT", default_value = "1s", value_parser = humantime::parse_duration, global = true)]
    pub redis_timeout: Duration,

    /// How long catalogue reads stay in the Redis cache (each entry ± 10% at random).
    #[arg(long, env = "MYCLOTHES_CACHE_TTL", default_value = "60s", value_parser = humantime::parse_duration, global = true)]
    pub cache_ttl: Duration,

    /// How much of the cached catalogue each instance also keeps in its own memory (MB), kept
    /// coherent by invalidations Redis pushes; 0 turns this near cache off.
    #[arg(long, env = "MYCLOTHES_NEAR_CACHE_MB", default_value = "32", global = true)]
    pub near_cache_mb: u64,

    /// How long a replica that failed is skipped at first (doubling on each further failure, up to 30s).
    #[arg(long, env = "MYCLOTHES_REPLICA_BACKOFF", default_value = "1s", value_parser = humantime::parse_duration, global = true)]
    pub replica_backoff: Duration,

    /// On SIGTERM, how long readiness reports 503 while still serving, so the load balancer stops
    /// sending new requests before the listener closes.
    #[arg(long, env = "MYCLOTHES_SHUTDOWN_DELAY", default_value = "5s", value_parser = humantime::parse_duration, global = true)]
    pub shutdown_delay: Duration,

    /// After the listener closes, how long in-flight requests may take before they are cut off.
    #[arg(long, env = "MYCLOTHES_DRAIN_TIMEOUT", default_value = "20s", value_parser = humantime::parse_duration, global = true)]
    pub drain_timeout: Duration,

    /// Browser origins (`https://shop.example.com`) allowed to call the API from another site, with
    /// credentials, comma-separated; none by default (same-origin only).
    #[arg(long, env = "MYCLOTHES_CORS_ORIGINS", value_delimiter = ',', global = true)]
    pub cors_origins: Option<Vec<String>>,

    /// Load balancers and proxies whose `X-Forwarded-For` names the client: addresses or networks
    /// (`10.0.0.0/8`), comma-separated. Nobody else's is believed.
    #[arg(long, env = "MYCLOTHES_TRUSTED_PROXIES", value_delimiter = ',', global = true)]
    pub trusted_proxies: Option<Vec<String>>,

    /// Requests per client address, shared by all instances: `N/s` or `N/min`, and `:burst`.
    #[arg(long, env = "MYCLOTHES_IP_RATE_LIMIT", default_value = "100/s:200", global = true)]
    pub ip_rate_limit: String,

    /// Requests per session, shared by all instances.
    #[arg(long, env = "MYCLOTHES_SESSION_RATE_LIMIT", default_value = "30/s:60", global = true)]
    pub session_rate_limit: String,

    /// Sign-in attempts (login, register, staffLogin) per client address.
    #[arg(long, env = "MYCLOTHES_LOGIN_RATE_LIMIT", default_value = "10/min:10", global = true)]
    pub login_rate_limit: String,

    /// Order look-ups by number and email (no access token), per client address and per email.
    #[arg(long, env = "MYCLOTHES_ORDER_LOOKUP_RATE_LIMIT", default_value = "10/h:5", global = true)]
    pub order_lookup_rate_limit: String,

    /// Password-reset requests and verification mails asked for again, per client address and per
    /// account.
    #[arg(long, env = "MYCLOTHES_ACCOUNT_MAIL_RATE_LIMIT", default_value = "5/h:3", global = true)]
    pub account_mail_rate_limit: String,

    /// Run only GraphQL documents registered beforehand with `myclothes persist` and sent by hash
    /// (persisted queries); refuse any other.
    #[arg(long, env = "MYCLOTHES_PERSISTED_QUERIES_ONLY", default_value_t = false, action = clap::ArgAction::Set, global = true)]
    pub persisted_queries_only: bool,

    /// Whether the schema can be introspected (GraphiQL needs it); on in development, off in production.
    #[arg(long, env = "MYCLOTHES_INTROSPECTION", action = clap::ArgAction::Set, global = true)]
    pub introspection: Option<bool>,

    /// Whether validation errors suggest field names ("did you mean …?"); on in development, off in
    /// production.
    #[arg(long, env = "MYCLOTHES_FIELD_SUGGESTIONS", action = clap::ArgAction::Set, global = true)]
    pub field_suggestions: Option<bool>,

    /// Deepest field nesting a query may have.
    #[arg(long, env = "MYCLOTHES_MAX_DEPTH", default_value_t = 15, global = true)]
    pub max_depth: usize,

    /// Most a query may cost: each field costs 1, a list field its `first`/`last` times what it selects.
    #[arg(long, env = "MYCLOTHES_MAX_COMPLEXITY", default_value_t = 5000, global = true)]
    pub max_complexity: usize,

    /// Largest GraphQL document, in bytes.
    #[arg(long, env = "MYCLOTHES_MAX_DOCUMENT_BYTES", default_value_t = 32 * 1024, global = true)]
    pub max_document_bytes: usize,

    /// Most aliases in one document.
    #[arg(long, env = "MYCLOTHES_MAX_ALIASES", default_value_t = 30, global = true)]
    pub max_aliases: usize,

    /// Most operations in one batched request (an array of requests); 1 turns batching off.
    #[arg(long, env = "MYCLOTHES_MAX_BATCH", default_value_t = 10, global = true)]
    pub max_batch: usize,

    /// `worker`: this worker's name in the consumer group, unique among running workers (default
    /// `worker-<pid>`).
    #[arg(long, env = "MYCLOTHES_WORKER_NAME", global = true)]
    pub worker_name: Option<String>,

    /// `worker`: an event another worker read but did not finish within this time is taken over.
    #[arg(long, env = "MYCLOTHES_CLAIM_AFTER", default_value = "30s", value_parser = humantime::parse_duration, global = true)]
    pub claim_after: Duration,

    /// `worker`: an event relayed this long ago and not handled yet is relayed again (Redis may have
    /// lost it).
    #[arg(long, env = "MYCLOTHES_REDELIVER_AFTER", default_value = "10min", value_parser = humantime::parse_duration, global = true)]
    pub redeliver_after: Duration,

    /// `worker`: handlings of an event that may fail before it is dead (kept in the outbox and the
    /// dead-letter stream).
    #[arg(long, env = "MYCLOTHES_EVENT_ATTEMPTS", default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=100), global = true)]
    pub event_attempts: u32,

    /// `worker`: the pause after an event's first failed handling; it doubles with each further one.
    #[arg(long, env = "MYCLOTHES_EVENT_RETRY_BACKOFF", default_value = "1s", value_parser = humantime::parse_duration, global = true)]
    pub event_retry_backoff: Duration,

    /// `worker`: a variant with this many or fewer left after an order gets a low-stock notice.
    #[arg(long, env = "MYCLOTHES_LOW_STOCK_LEVEL", default_value_t = 3, global = true)]
    pub low_stock_level: i32,

    /// `worker`: the storefront's address, to which the order-status links of the mails point
    /// (`<url>#/order/<number>?key=<access token>`).
    #[arg(long, env = "MYCLOTHES_STOREFRONT_URL", global = true)]
    pub storefront_url: Option<String>,

    /// Who takes the payments: `sandbox`, whose test tokens never move money, or `stripe`. The
    /// development profile uses the sandbox unless told otherwise; the production profile must be
    /// told, and on the sandbox says at start-up that no money is taken.
    #[arg(long, env = "MYCLOTHES_PAYMENT_PROVIDER", value_enum, global = true)]
    pub payment_provider: Option<PaymentProvider>,

    /// How long each call to the sandbox provider takes, to model a real provider.
    #[arg(long, env = "MYCLOTHES_SANDBOX_LATENCY", default_value = "0s", value_parser = humantime::parse_duration, global = true)]
    pub sandbox_latency: Duration,

    /// The share of the sandbox provider's authorisations, from 0 to 1, that fail as if it were down.
    #[arg(long, env = "MYCLOTHES_SANDBOX_FAILURE_RATE", default_value_t = 0.0, global = true)]
    pub sandbox_failure_rate: f64,

    /// `stripe`: the secret API key (`sk_…`). The development profile uses the local stack's
    /// localstripe's.
    #[arg(long, env = "MYCLOTHES_STRIPE_SECRET_KEY", global = true, hide_env_values = true)]
    pub stripe_secret_key: Option<String>,

    /// `stripe`: the secret Stripe signs the deliveries to `POST /webhooks/stripe` with (`whsec_…`);
    /// without it the endpoint takes none.
    #[arg(long, env = "MYCLOTHES_STRIPE_WEBHOOK_SECRET", global = true, hide_env_values = true)]
    pub stripe_webhook_secret: Option<String>,

    /// `stripe`: where Stripe's API is. The development profile uses the local stack's localstripe.
    #[arg(long, env = "MYCLOTHES_STRIPE_API_BASE", global = true)]
    pub stripe_api_base: Option<String>,

    /// How long each call to the payment provider may take. A checkout it leaves without an answer
    /// answers with the order pending; the order's stock stays reserved until, three times this long
    /// after the checkout, the worker's reconciler asks the provider where the payment stands.
    #[arg(long, env = "MYCLOTHES_PAYMENT_TIMEOUT", default_value = "10s", value_parser = positive_duration, global = true)]
    pub payment_timeout: Duration,

    /// How long a shopper has to authenticate a payment the provider asks them to (3-D Secure) before
    /// the order is given up, its payment voided and its stock returned.
    #[arg(long, env = "MYCLOTHES_PAYMENT_ACTION_WINDOW", default_value = "10m", value_parser = positive_duration, global = true)]
    pub payment_action_window: Duration,

    /// `worker`: how often it looks for orders whose payment a checkout left undecided.
    #[arg(long, env = "MYCLOTHES_RECONCILE_EVERY", default_value = "5s", value_parser = positive_duration, global = true)]
    pub reconcile_every: Duration,

    /// `worker`: who low-stock notices go to.
    #[arg(
        long,
        env = "MYCLOTHES_STOCK_ALERT_EMAIL",
        default_value = "stock-alerts@myclothes.localhost",
        global = true
    )]
    pub stock_alert_email: String,

    /// `worker`: the SMTP server that delivers the mail sink's messages (`smtp://host:25`,
    /// `smtp://user:password@host:587?tls=required` for STARTTLS, `smtps://host:465`). Without it the
    /// messages stay in the sink (the `mail` table) only.
    #[arg(long, env = "MYCLOTHES_SMTP_URL", global = true)]
    pub smtp_url: Option<String>,

    /// `worker`: who the messages sent by SMTP are from.
    #[arg(
        long,
        env = "MYCLOTHES_MAIL_FROM",
        default_value = "MyClothes <shop@myclothes.localhost>",
        global = true
    )]
    pub mail_from: String,

    /// Log format; JSON unless the development profile is used.
    #[arg(long, env = "MYCLOTHES_LOG_FORMAT", value_enum, global = true)]
    pub log_format: Option<LogFormat>,

    /// Log filter in tracing's EnvFilter syntax.
    #[arg(long, env = "MYCLOTHES_LOG", default_value = "info", global = true)]
    pub log: String,
}

/// A setting that is missing or invalid, named as the operator spells it.
#[derive(Debug, thiserror::Error)]
#[error("invalid configuration: {env} (--{flag}): {message}")]
pub struct ConfigError {
    pub env: &'static str,
    pub flag: &'static str,
    pub message: String,
}

impl ConfigError {
    fn new(env: &'static str, message: impl Into<String>) -> Self {
        let flag = FLAGS.iter().find(|(e, _)| *e == env).map(|(_, f)| *f).expect("every setting has a flag");
        Self { env, flag, message: message.into() }
    }
}

const FLAGS: &[(&str, &str)] = &[
    ("MYCLOTHES_LISTEN", "listen"),
    ("MYCLOTHES_DATABASE_URL", "database-url"),
    ("MYCLOTHES_REPLICA_URLS", "replica-urls"),
    ("MYCLOTHES_OWNER_DATABASE_URL", "owner-database-url"),
    ("MYCLOTHES_REDIS_URL", "redis-url"),
    ("MYCLOTHES_CACHE_REDIS_URL", "cache-redis-url"),
    ("MYCLOTHES_DATABASE_CA_FILE", "database-ca-file"),
    ("MYCLOTHES_REDIS_CA_FILE", "redis-ca-file"),
    ("MYCLOTHES_REDIS_SENTINELS", "redis-sentinels"),
    ("MYCLOTHES_REDIS_CLUSTER", "redis-cluster"),
    ("MYCLOTHES_REDIS_WAIT_TIMEOUT", "redis-wait-timeout"),
    ("MYCLOTHES_REDIS_KEY_PREFIX", "redis-key-prefix"),
    ("MYCLOTHES_JWT_KEYS", "jwt-keys"),
    ("MYCLOTHES_PRIMARY_POOL_SIZE", "primary-pool-size"),
    ("MYCLOTHES_REPLICA_POOL_SIZE", "replica-pool-size"),
    ("MYCLOTHES_REDIS_POOL_SIZE", "redis-pool-size"),
    ("MYCLOTHES_STOCK_ALERT_EMAIL", "stock-alert-email"),
    ("MYCLOTHES_CORS_ORIGINS", "cors-origins"),
    ("MYCLOTHES_TRUSTED_PROXIES", "trusted-proxies"),
    ("MYCLOTHES_IP_RATE_LIMIT", "ip-rate-limit"),
    ("MYCLOTHES_SESSION_RATE_LIMIT", "session-rate-limit"),
    ("MYCLOTHES_LOGIN_RATE_LIMIT", "login-rate-limit"),
    ("MYCLOTHES_ORDER_LOOKUP_RATE_LIMIT", "order-lookup-rate-limit"),
    ("MYCLOTHES_ACCOUNT_MAIL_RATE_LIMIT", "account-mail-rate-limit"),
    ("MYCLOTHES_SMTP_URL", "smtp-url"),
    ("MYCLOTHES_MAIL_FROM", "mail-from"),
    ("MYCLOTHES_STOREFRONT_URL", "storefront-url"),
    ("MYCLOTHES_PAYMENT_PROVIDER", "payment-provider"),
    ("MYCLOTHES_SANDBOX_FAILURE_RATE", "sandbox-failure-rate"),
    ("MYCLOTHES_STRIPE_SECRET_KEY", "stripe-secret-key"),
    ("MYCLOTHES_STRIPE_API_BASE", "stripe-api-base"),
    ("MYCLOTHES_STRIPE_WEBHOOK_SECRET", "stripe-webhook-secret"),
];

/// What `myclothes serve` runs with.
pub struct ServeConfig {
    pub profile: Profile,
    pub listen: SocketAddr,
    pub admin_listen: SocketAddr,
    pub db: DbSettings,
    pub redis: RedisSettings,
    /// The read cache's own Redis; none when it shares `redis`.
    pub cache_redis: Option<RedisSettings>,
    pub cache: CacheSettings,
    pub tokens: TokenSettings,
    pub cart_expiry: Duration,
    /// Whether the session cookie is `Secure` (HTTPS only): everywhere but the development profile.
    pub secure_cookies: bool,
    pub http: HttpSettings,
    pub trusted_proxies: TrustedProxies,
    pub rates: RateLimits,
    pub persisted_queries_only: bool,
    pub payments: PaymentConfig,
    pub shutdown_delay: Duration,
    pub drain_timeout: Duration,
}

/// How the GraphQL schema treats the documents it is sent.
#[derive(Debug, Clone, Copy)]
pub struct SchemaSettings {
    pub limits: QueryLimits,
    pub introspection: bool,
    /// "Did you mean …?" in validation errors.
    pub field_suggestions: bool,
}

/// Bounds on what one request may ask (enforced by `graphql::limits`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueryLimits {
    pub depth: usize,
    pub complexity: usize,
    pub document_bytes: usize,
    pub aliases: usize,
    pub batch: usize,
}

/// How the GraphQL endpoint treats what it is sent.
#[derive(Debug, Clone)]
pub struct HttpSettings {
    pub schema: SchemaSettings,
    /// Origins allowed by CORS; empty for same-origin only.
    pub cors_origins: Vec<String>,
}

/// The rate limits of `serve`, each shared by all instances through Redis.
#[derive(Debug, Clone, Copy)]
pub struct RateLimits {
    pub per_ip: Rate,
    pub per_session: Rate,
    /// Sign-in attempts per client address.
    pub login: Rate,
    /// Order look-ups by number and email, per client address and per email.
    pub order_lookup: Rate,
    /// Mails asked for (password resets, verification again), per client address and per account.
    pub account_mail: Rate,
}

/// `N/s`, `N/min` or `N/h`, then `:burst` (the burst defaults to `N`).
fn rate(env: &'static str, text: &str) -> Result<Rate, ConfigError> {
    let invalid =
        || ConfigError::new(env, format!("{text} is not a rate such as 100/s:200, 10/min or 10/h:5"));
    let (rate, burst) = text.trim().split_once(':').map_or((text.trim(), None), |(r, b)| (r, Some(b)));
    let (requests, unit) = rate.split_once('/').ok_or_else(invalid)?;
    let requests: u32 = requests.trim().parse().ok().filter(|n| *n > 0).ok_or_else(invalid)?;
    let period = match unit.trim() {
        "s" => Duration::from_secs(1),
        "min" => Duration::from_secs(60),
        "h" => Duration::from_secs(3600),
        _ => return Err(invalid()),
    };
    let burst = match burst {
        Some(burst) => burst.trim().parse().ok().filter(|n| *n > 0).ok_or_else(invalid)?,
        None => requests,
    };
    Ok(Rate { requests, period, burst })
}

/// The payment provider of `serve` and `worker`, and how long each call to it may take.
#[derive(Debug, Clone)]
pub struct PaymentConfig {
    pub provider: ProviderConfig,
    pub timeout: Duration,
    pub action_window: Duration,
}

#[derive(Debug, Clone)]
pub enum ProviderConfig {
    /// `in_production`: chosen in the production profile, where it takes no money, which start-up
    /// says.
    Sandbox {
        settings: SandboxSettings,
        in_production: bool,
    },
    Stripe(StripeSettings),
}

/// What `myclothes worker` runs with.
pub struct WorkerConfig {
    pub db: DbSettings,
    pub redis: RedisSettings,
    /// The read cache the reconciler tells of the stock it returns.
    pub cache_redis: Option<RedisSettings>,
    pub cache: CacheSettings,
    pub token_lifetime: Duration,
    /// How long a cart the reconciler takes an order's lines from lives on.
    pub cart_expiry: Duration,
    pub worker: WorkerSettings,
    pub payments: PaymentConfig,
    pub reconcile_every: Duration,
    pub storefront: Storefront,
    pub alerts: StockAlerts,
    /// Where the mail sink's messages are sent, if anywhere.
    pub smtp: Option<SmtpSettings>,
}

/// The local stack of `scripts/stack`, for the development profile; `scripts/stack.env` is the source.
mod local_stack {
    pub const DATABASE_URL: &str =
        "postgres://myclothes_writer:writer-dev-password@127.0.0.1:55432/myclothes";
    pub const REPLICA_URL: &str = "postgres://myclothes_reader:reader-dev-password@127.0.0.1:55433/myclothes";
    pub const OWNER_DATABASE_URL: &str =
        "postgres://myclothes_owner:owner-dev-password@127.0.0.1:55432/myclothes";
    pub const REDIS_URL: &str = "redis://:redis-dev-password@127.0.0.1:56379/0";
    pub const JWT_KEYS: &str = "dev:development-only-signing-key-0123456789";
    pub const STOREFRONT_URL: &str = "http://127.0.0.1:8000/";
    pub const STRIPE_API_BASE: &str = "http://127.0.0.1:58420";
    pub const STRIPE_SECRET_KEY: &str = "sk_test_myclothes_dev";
}

impl Settings {
    pub fn serve_config(&self) -> Result<ServeConfig, ConfigError> {
        let replica_urls = match (&self.replica_urls, self.profile) {
            (Some(urls), _) => urls.iter().filter(|u| !u.trim().is_empty()).cloned().collect(),
            (None, Profile::Development) => vec![local_stack::REPLICA_URL.to_owned()],
            (None, Profile::Production) => Vec::new(),
        };
        Ok(ServeConfig {
            profile: self.profile,
            listen: socket_address("MYCLOTHES_LISTEN", &self.listen)?,
            admin_listen: socket_address("MYCLOTHES_ADMIN_LISTEN", &self.admin_listen)?,
            db: DbSettings {
                primary_urls: self.database_urls()?,
                replica_urls: replica_urls
                    .iter()
                    .map(|url| self.postgres_url("MYCLOTHES_REPLICA_URLS", url))
                    .collect::<Result<_, _>>()?,
                primary_pool_size: pool_size("MYCLOTHES_PRIMARY_POOL_SIZE", self.primary_pool_size)?,
                replica_pool_size: pool_size("MYCLOTHES_REPLICA_POOL_SIZE", self.replica_pool_size)?,
                timeout: self.db_timeout,
                replica_backoff: self.replica_backoff,
            },
            redis: self.redis_settings()?,
            cache_redis: self.cache_redis_settings()?,
            cache: self.cache_settings(),
            tokens: TokenSettings {
                keys: jwt_keys(self.with_default(
                    &self.jwt_keys,
                    local_stack::JWT_KEYS,
                    "MYCLOTHES_JWT_KEYS",
                )?)?,
                lifetime: self.session_lifetime,
            },
            secure_cookies: self.profile != Profile::Development,
            http: HttpSettings {
                schema: SchemaSettings {
                    limits: QueryLimits {
                        depth: self.max_depth,
                        complexity: self.max_complexity,
                        document_bytes: self.max_document_bytes,
                        aliases: self.max_aliases,
                        batch: self.max_batch.max(1),
                    },
                    introspection: self.introspection.unwrap_or(self.profile == Profile::Development),
                    field_suggestions: self.field_suggestions.unwrap_or(self.profile == Profile::Development),
                },
                cors_origins: self.cors_origins()?,
            },
            persisted_queries_only: self.persisted_queries_only,
            trusted_proxies: self.trusted_proxies()?,
            rates: RateLimits {
                per_ip: rate("MYCLOTHES_IP_RATE_LIMIT", &self.ip_rate_limit)?,
                per_session: rate("MYCLOTHES_SESSION_RATE_LIMIT", &self.session_rate_limit)?,
                login: rate("MYCLOTHES_LOGIN_RATE_LIMIT", &self.login_rate_limit)?,
                order_lookup: rate("MYCLOTHES_ORDER_LOOKUP_RATE_LIMIT", &self.order_lookup_rate_limit)?,
                account_mail: rate("MYCLOTHES_ACCOUNT_MAIL_RATE_LIMIT", &self.account_mail_rate_limit)?,
            },
            cart_expiry: self.cart_expiry,
            payments: self.payments()?,
            shutdown_delay: self.shutdown_delay,
            drain_timeout: self.drain_timeout,
        })
    }

    pub fn worker_config(&self) -> Result<WorkerConfig, ConfigError> {
        Ok(WorkerConfig {
            db: DbSettings {
                primary_urls: self.database_urls()?,
                replica_urls: vec![],
                primary_pool_size: pool_size("MYCLOTHES_PRIMARY_POOL_SIZE", self.primary_pool_size)?,
                replica_pool_size: 1,
                timeout: self.db_timeout,
                replica_backoff: self.replica_backoff,
            },
            redis: self.redis_settings()?,
            worker: WorkerSettings {
                name: self.worker_name.clone().unwrap_or_else(|| format!("worker-{}", std::process::id())),
                claim_after: self.claim_after,
                redeliver_after: self.redeliver_after,
                max_attempts: self.event_attempts,
                retry_backoff: self.event_retry_backoff,
            },
            cache_redis: self.cache_redis_settings()?,
            // The worker reads nothing through the cache: it keeps no near cache.
            cache: CacheSettings { near_capacity_bytes: 0, ..self.cache_settings() },
            token_lifetime: self.session_lifetime,
            cart_expiry: self.cart_expiry,
            payments: self.payments()?,
            reconcile_every: self.reconcile_every,
            storefront: Storefront { url: self.storefront_url()? },
            alerts: StockAlerts {
                level: self.low_stock_level,
                recipient: Email::parse(&self.stock_alert_email)
                    .map_err(|e| ConfigError::new("MYCLOTHES_STOCK_ALERT_EMAIL", e.to_string()))?
                    .to_string(),
            },
            smtp: self.smtp()?,
        })
    }

    fn smtp(&self) -> Result<Option<SmtpSettings>, ConfigError> {
        let Some(url) = &self.smtp_url else { return Ok(None) };
        SmtpSettings::parse(url, &self.mail_from).map(Some).map_err(|err| match err {
            SmtpSettingsError::Url => ConfigError::new("MYCLOTHES_SMTP_URL", err.to_string()),
            SmtpSettingsError::From(_) => ConfigError::new("MYCLOTHES_MAIL_FROM", err.to_string()),
        })
    }

    fn trusted_proxies(&self) -> Result<TrustedProxies, ConfigError> {
        let networks = self.trusted_proxies.iter().flatten().filter(|n| !n.trim().is_empty());
        networks
            .map(|network| {
                Network::parse(network).ok_or_else(|| {
                    ConfigError::new(
                        "MYCLOTHES_TRUSTED_PROXIES",
                        format!("{network} is not an address or a network such as 10.0.0.0/8"),
                    )
                })
            })
            .collect::<Result<_, _>>()
            .map(TrustedProxies)
    }

    fn cors_origins(&self) -> Result<Vec<String>, ConfigError> {
        let origins = self.cors_origins.iter().flatten().map(|o| o.trim()).filter(|o| !o.is_empty());
        origins
            .map(|origin| match url::Url::parse(origin) {
                Ok(url)
                    if matches!(url.scheme(), "http" | "https")
                        && url.host().is_some()
                        && url.path() == "/"
                        && !origin.ends_with('/') =>
                {
                    Ok(origin.to_owned())
                }
                _ => Err(ConfigError::new(
                    "MYCLOTHES_CORS_ORIGINS",
                    format!("{origin} is not an origin such as https://shop.example.com"),
                )),
            })
            .collect()
    }

    /// The durable Redis: carts, sessions, rate limits, events; behind sentinels, or a cluster, when
    /// they are set.
    pub fn redis_settings(&self) -> Result<RedisSettings, ConfigError> {
        let url = self.with_default(&self.redis_url, local_stack::REDIS_URL, "MYCLOTHES_REDIS_URL")?;
        // The servers are wherever the sentinels say, or the cluster's nodes; they and the sentinels
        // are reached over TLS when the URL says rediss://, so these addresses are what the plaintext
        // rule is about.
        let encrypted = url.trim_start().starts_with("rediss://");
        let sentinels =
            self.redis_addresses("MYCLOTHES_REDIS_SENTINELS", &self.redis_sentinels, encrypted)?;
        let cluster = self.redis_addresses("MYCLOTHES_REDIS_CLUSTER", &self.redis_cluster, encrypted)?;
        let topology = match (sentinels.is_empty(), cluster.is_empty()) {
            (true, true) => Topology::Single,
            (false, true) => Topology::Sentinel(SentinelSettings {
                addresses: sentinels,
                master_name: self.redis_master_name.clone(),
            }),
            (true, false) => Topology::Cluster(cluster),
            (false, false) => {
                return Err(ConfigError::new(
                    "MYCLOTHES_REDIS_CLUSTER",
                    "a Redis Cluster has no sentinels: set MYCLOTHES_REDIS_SENTINELS or this, not both",
                ));
            }
        };
        if self.redis_wait_replicas > 0 && self.redis_wait_timeout >= self.redis_timeout {
            return Err(ConfigError::new(
                "MYCLOTHES_REDIS_WAIT_TIMEOUT",
                "must be shorter than MYCLOTHES_REDIS_TIMEOUT",
            ));
        }
        Ok(RedisSettings {
            topology,
            replicated_writes: (self.redis_wait_replicas > 0).then_some(ReplicaAcks {
                replicas: self.redis_wait_replicas,
                timeout: self.redis_wait_timeout,
            }),
            ..self.redis_settings_at(self.redis_url("MYCLOTHES_REDIS_URL", url)?)?
        })
    }

    /// The `host:port` addresses of setting `env`, each refused in the clear as a URL would be.
    fn redis_addresses(
        &self,
        env: &'static str,
        addresses: &Option<Vec<String>>,
        encrypted: bool,
    ) -> Result<Vec<String>, ConfigError> {
        let addresses: Vec<String> =
            addresses.iter().flatten().map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()).collect();
        for address in &addresses {
            let parsed = url::Url::parse(&format!("redis://{address}"))
                .ok()
                .filter(|parsed| parsed.port().is_some())
                .ok_or_else(|| ConfigError::new(env, format!("{address} is not host:port")))?;
            self.refuse_plaintext(env, &parsed, encrypted)?;
        }
        Ok(addresses)
    }

    /// The read cache's own Redis, if it has one.
    fn cache_redis_settings(&self) -> Result<Option<RedisSettings>, ConfigError> {
        let url = self.cache_redis_url.as_deref().map(|url| self.redis_url("MYCLOTHES_CACHE_REDIS_URL", url));
        url.transpose()?.map(|url| self.redis_settings_at(url)).transpose()
    }

    fn redis_settings_at(&self, url: SecretString) -> Result<RedisSettings, ConfigError> {
        let ca = self.redis_ca_file.as_deref().map(|path| {
            std::fs::read(path).map_err(|e| {
                ConfigError::new("MYCLOTHES_REDIS_CA_FILE", format!("cannot read {} ({e})", path.display()))
            })
        });
        Ok(RedisSettings {
            url,
            ca: ca.transpose()?,
            topology: Topology::Single,
            replicated_writes: None,
            pool_size: pool_size("MYCLOTHES_REDIS_POOL_SIZE", self.redis_pool_size)? as usize,
            timeout: self.redis_timeout,
            key_prefix: key_prefix(&self.redis_key_prefix)?,
        })
    }

    /// The writer role's URL on the primary (for `seed` and `admin`): the first candidate.
    pub fn database_url(&self) -> Result<SecretString, ConfigError> {
        Ok(self.database_urls()?.swap_remove(0))
    }

    /// The writer role's URLs on the primary candidates (for `serve` and `worker`).
    pub fn database_urls(&self) -> Result<Vec<SecretString>, ConfigError> {
        let urls =
            self.with_default(&self.database_url, local_stack::DATABASE_URL, "MYCLOTHES_DATABASE_URL")?;
        let urls: Vec<&str> = urls.split(',').map(str::trim).filter(|url| !url.is_empty()).collect();
        if urls.is_empty() {
            return Err(ConfigError::new("MYCLOTHES_DATABASE_URL", "no URL given"));
        }
        urls.into_iter().map(|url| self.postgres_url("MYCLOTHES_DATABASE_URL", url)).collect()
    }

    /// The owner role's URL on the primary (for `migrate`).
    pub fn owner_database_url(&self) -> Result<SecretString, ConfigError> {
        let url = self.with_default(
            &self.owner_database_url,
            local_stack::OWNER_DATABASE_URL,
            "MYCLOTHES_OWNER_DATABASE_URL",
        )?;
        self.postgres_url("MYCLOTHES_OWNER_DATABASE_URL", url)
    }

    /// A PostgreSQL URL, with the certificate authority of `MYCLOTHES_DATABASE_CA_FILE` when it
    /// names no `sslmode` of its own.
    fn postgres_url(&self, env: &'static str, value: &str) -> Result<SecretString, ConfigError> {
        let mut url = postgres_url(env, value)?;
        let sslmode =
            |url: &url::Url| url.query_pairs().find(|(key, _)| key == "sslmode").map(|(_, v)| v.into_owned());
        if let Some(ca) = &self.database_ca_file
            && sslmode(&url).is_none()
        {
            let ca = ca_file("MYCLOTHES_DATABASE_CA_FILE", ca)?;
            url.query_pairs_mut().append_pair("sslmode", "verify-full").append_pair("sslrootcert", &ca);
        }
        let encrypted = matches!(sslmode(&url).as_deref(), Some("require" | "verify-ca" | "verify-full"));
        self.refuse_plaintext(env, &url, encrypted)?;
        Ok(SecretString::from(String::from(url)))
    }

    fn redis_url(&self, env: &'static str, value: &str) -> Result<SecretString, ConfigError> {
        let url = redis_url(env, value)?;
        self.refuse_plaintext(env, &url, url.scheme() == "rediss")?;
        Ok(SecretString::from(String::from(url)))
    }

    /// In production, a store on another machine is reached over TLS, unless
    /// `MYCLOTHES_ALLOW_PLAINTEXT_STORES` says otherwise: passwords and shoppers' data would cross the
    /// network in the clear.
    fn refuse_plaintext(
        &self,
        env: &'static str,
        url: &url::Url,
        encrypted: bool,
    ) -> Result<(), ConfigError> {
        // postgres:// and redis:// are not special schemes to the URL standard: their hosts are names.
        let host = url.host_str().unwrap_or_default();
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        let loopback =
            bare == "localhost" || bare.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback());
        if encrypted || loopback || self.allow_plaintext_stores || self.profile == Profile::Development {
            return Ok(());
        }
        Err(ConfigError::new(
            env,
            format!(
                "reaches {host} without TLS: use sslmode=verify-full (or MYCLOTHES_DATABASE_CA_FILE) for \
                 PostgreSQL and rediss:// for Redis, or set MYCLOTHES_ALLOW_PLAINTEXT_STORES=true"
            ),
        ))
    }

    fn storefront_url(&self) -> Result<url::Url, ConfigError> {
        const ENV: &str = "MYCLOTHES_STOREFRONT_URL";
        let text = self.with_default(&self.storefront_url, local_stack::STOREFRONT_URL, ENV)?;
        match url::Url::parse(text.trim()) {
            Ok(url) if matches!(url.scheme(), "http" | "https") && url.fragment().is_none() => Ok(url),
            _ => Err(ConfigError::new(ENV, format!("{text} is not an http(s) URL without a fragment"))),
        }
    }

    pub fn log_format(&self) -> LogFormat {
        self.log_format.unwrap_or(match self.profile {
            Profile::Development => LogFormat::Text,
            Profile::Production => LogFormat::Json,
        })
    }

    fn cache_settings(&self) -> CacheSettings {
        CacheSettings {
            ttl: self.cache_ttl,
            jitter: 0.1,
            near_capacity_bytes: self.near_cache_mb.saturating_mul(1 << 20),
        }
    }

    fn payments(&self) -> Result<PaymentConfig, ConfigError> {
        let provider = match (self.payment_provider, self.profile) {
            (Some(provider), _) => provider,
            (None, Profile::Development) => PaymentProvider::Sandbox,
            (None, Profile::Production) => {
                return Err(ConfigError::new(
                    "MYCLOTHES_PAYMENT_PROVIDER",
                    "is required in the production profile (`sandbox` takes no money)",
                ));
            }
        };
        if !(0.0..=1.0).contains(&self.sandbox_failure_rate) {
            return Err(ConfigError::new("MYCLOTHES_SANDBOX_FAILURE_RATE", "must be from 0 to 1"));
        }
        let provider = match provider {
            PaymentProvider::Sandbox => ProviderConfig::Sandbox {
                settings: SandboxSettings {
                    latency: self.sandbox_latency,
                    failure_rate: self.sandbox_failure_rate,
                },
                in_production: self.profile == Profile::Production,
            },
            PaymentProvider::Stripe => ProviderConfig::Stripe(self.stripe()?),
        };
        Ok(PaymentConfig {
            provider,
            timeout: self.payment_timeout,
            action_window: self.payment_action_window,
        })
    }

    fn stripe(&self) -> Result<StripeSettings, ConfigError> {
        let (key, base) = ("MYCLOTHES_STRIPE_SECRET_KEY", "MYCLOTHES_STRIPE_API_BASE");
        let secret_key = self.with_default(&self.stripe_secret_key, local_stack::STRIPE_SECRET_KEY, key)?;
        if !secret_key.starts_with("sk_") {
            return Err(ConfigError::new(key, "is not a Stripe secret key (sk_…)"));
        }
        let api_base = match (&self.stripe_api_base, self.profile) {
            (Some(url), _) => url.as_str(),
            (None, Profile::Development) => local_stack::STRIPE_API_BASE,
            (None, Profile::Production) => "https://api.stripe.com",
        };
        let api_base = url::Url::parse(api_base)
            .ok()
            .filter(|url| matches!(url.scheme(), "http" | "https"))
            .ok_or_else(|| ConfigError::new(base, format!("{api_base} is not an http(s) URL")))?;
        let webhook_secret = self.stripe_webhook_secret.clone().map(SecretString::from);
        Ok(StripeSettings { api_base, secret_key: SecretString::from(secret_key.to_owned()), webhook_secret })
    }

    fn with_default<'a>(
        &self,
        value: &'a Option<String>,
        development: &'static str,
        env: &'static str,
    ) -> Result<&'a str, ConfigError> {
        match (value, self.profile) {
            (Some(value), _) => Ok(value),
            (None, Profile::Development) => Ok(development),
            (None, Profile::Production) => {
                Err(ConfigError::new(env, "is required in the production profile"))
            }
        }
    }
}

/// `value` parsed as a PostgreSQL URL naming a host and a database.
fn postgres_url(env: &'static str, value: &str) -> Result<url::Url, ConfigError> {
    let url = url::Url::parse(value).map_err(|e| ConfigError::new(env, format!("not a URL ({e})")))?;
    if !matches!(url.scheme(), "postgres" | "postgresql") {
        return Err(ConfigError::new(env, "must start with postgres://"));
    }
    if url.host_str().is_none_or(str::is_empty) || url.path().trim_start_matches('/').is_empty() {
        return Err(ConfigError::new(
            env,
            "must name a host and a database, as in postgres://user:password@host:5432/db",
        ));
    }
    Ok(url)
}

fn socket_address(env: &'static str, value: &str) -> Result<SocketAddr, ConfigError> {
    value.parse().map_err(|e| ConfigError::new(env, format!("not an address such as 127.0.0.1:8000 ({e})")))
}

fn redis_url(env: &'static str, value: &str) -> Result<url::Url, ConfigError> {
    let url = url::Url::parse(value).map_err(|e| ConfigError::new(env, format!("not a URL ({e})")))?;
    if !matches!(url.scheme(), "redis" | "rediss") || url.host_str().is_none_or(str::is_empty) {
        return Err(ConfigError::new(
            env,
            "must be redis://[:password@]host[:port][/db], or rediss:// for TLS",
        ));
    }
    Ok(url)
}

/// The path of a certificate authority's file, which must be readable.
fn ca_file(env: &'static str, path: &Path) -> Result<String, ConfigError> {
    std::fs::File::open(path)
        .map_err(|e| ConfigError::new(env, format!("cannot read {} ({e})", path.display())))?;
    path.to_str().map(str::to_owned).ok_or_else(|| ConfigError::new(env, "must be a UTF-8 path"))
}

/// A duration longer than zero, such as `10s`.
fn positive_duration(text: &str) -> Result<Duration, String> {
    match humantime::parse_duration(text) {
        Ok(duration) if duration.is_zero() => Err("must be longer than zero".to_owned()),
        parsed => parsed.map_err(|err| err.to_string()),
    }
}

fn pool_size(env: &'static str, size: u32) -> Result<u32, ConfigError> {
    if (1..=1000).contains(&size) {
        Ok(size)
    } else {
        Err(ConfigError::new(env, "must be between 1 and 1000"))
    }
}

fn key_prefix(prefix: &str) -> Result<String, ConfigError> {
    // A brace would be the hash tag of every key, putting all of them in one slot of a Redis Cluster.
    let unusable = |c: char| c.is_whitespace() || c == '{' || c == '}';
    if prefix.is_empty() || prefix.len() > 64 || prefix.contains(unusable) {
        return Err(ConfigError::new(
            "MYCLOTHES_REDIS_KEY_PREFIX",
            "must be 1 to 64 characters without spaces or braces",
        ));
    }
    Ok(prefix.to_owned())
}

fn jwt_keys(value: &str) -> Result<Vec<TokenKey>, ConfigError> {
    let env = "MYCLOTHES_JWT_KEYS";
    let keys = value
        .split(',')
        .map(|pair| {
            let (kid, secret) =
                pair.split_once(':').ok_or_else(|| ConfigError::new(env, "each key is kid:secret"))?;
            if kid.is_empty()
                || kid.len() > 64
                || !kid.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            {
                return Err(ConfigError::new(env, "a kid is 1 to 64 letters, digits, - or _"));
            }
            if secret.len() < 32 {
                return Err(ConfigError::new(
                    env,
                    format!("the secret of kid {kid:?} is shorter than 32 bytes"),
                ));
            }
            Ok(TokenKey { kid: kid.to_owned(), secret: SecretString::from(secret) })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut kids: Vec<_> = keys.iter().map(|k| &k.kid).collect();
    kids.sort();
    if kids.windows(2).any(|w| w[0] == w[1]) {
        return Err(ConfigError::new(env, "two keys share a kid"));
    }
    Ok(keys)
}

#[cfg(test)]
mod tests {
    use clap::Parser;
    use secrecy::ExposeSecret;

    use super::*;
    use crate::cli::Cli;

    fn settings(args: &[&str]) -> Settings {
        Cli::try_parse_from(["myclothes"].iter().chain(args).chain(&["schema"]))
            .expect("arguments parse")
            .settings
    }

    #[test]
    fn rates_read_like_requests_per_period_and_a_burst() {
        let second = Duration::from_secs(1);
        assert_eq!(
            rate("MYCLOTHES_IP_RATE_LIMIT", "100/s:200").unwrap(),
            Rate { requests: 100, period: second, burst: 200 }
        );
        let minute = Duration::from_secs(60);
        assert_eq!(
            rate("MYCLOTHES_IP_RATE_LIMIT", "10/min").unwrap(),
            Rate { requests: 10, period: minute, burst: 10 }
        );
        let hour = Duration::from_secs(3600);
        assert_eq!(
            rate("MYCLOTHES_ORDER_LOOKUP_RATE_LIMIT", "10/h:5").unwrap(),
            Rate { requests: 10, period: hour, burst: 5 }
        );
        for bad in ["", "10", "0/s", "10/d", "10/s:0", "ten/s"] {
            assert!(rate("MYCLOTHES_IP_RATE_LIMIT", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn development_profile_points_at_the_local_stack() {
        let config = settings(&["--profile", "development"]).serve_config().unwrap();
        assert_eq!(config.db.primary_urls[0].expose_secret(), local_stack::DATABASE_URL);
        assert_eq!(config.db.replica_urls.len(), 1);
        assert_eq!(config.tokens.keys[0].kid, "dev");
        assert!(!config.secure_cookies);
    }

    #[test]
    fn production_profile_requires_the_database_url() {
        let err = settings(&["--profile", "production"]).serve_config().err().unwrap();
        assert_eq!(err.env, "MYCLOTHES_DATABASE_URL");
        assert!(err.to_string().contains("--database-url"), "{err}");
    }

    #[test]
    fn production_profile_requires_redis_and_jwt_keys() {
        let base =
            ["--profile", "production", "--database-url", "postgres://u:p@db:5432/shop?sslmode=verify-full"];
        let err = settings(&base).serve_config().err().unwrap();
        assert_eq!(err.env, "MYCLOTHES_REDIS_URL");
        let with_redis = [&base[..], &["--redis-url", "rediss://:pw@cache:6379"]].concat();
        assert_eq!(settings(&with_redis).serve_config().err().unwrap().env, "MYCLOTHES_JWT_KEYS");
    }

    #[test]
    fn production_requires_the_payment_provider_to_be_named_and_development_uses_the_sandbox() {
        let production = [
            "--profile",
            "production",
            "--database-url",
            "postgres://u:p@db:5432/shop?sslmode=verify-full",
            "--redis-url",
            "rediss://:pw@cache:6379",
            "--jwt-keys",
            "k1:a-production-secret-of-at-least-32-bytes",
        ];
        let err = settings(&production).serve_config().err().unwrap();
        assert_eq!(err.env, "MYCLOTHES_PAYMENT_PROVIDER", "{err}");
        let named = [&production[..], &["--payment-provider", "sandbox"]].concat();
        let named = settings(&named).serve_config().unwrap().payments.provider;
        assert!(matches!(named, ProviderConfig::Sandbox { in_production: true, .. }), "{named:?}");
        let development = settings(&["--profile", "development"]).serve_config().unwrap().payments.provider;
        let sandbox = ProviderConfig::Sandbox { settings: SandboxSettings::default(), in_production: false };
        assert_eq!(format!("{development:?}"), format!("{sandbox:?}"));
    }

    #[test]
    fn stripe_needs_a_secret_key_in_production_and_uses_localstripe_in_development() {
        let production = ["--profile", "production", "--payment-provider", "stripe"];
        let err = settings(&production).payments().err().unwrap();
        assert_eq!(err.env, "MYCLOTHES_STRIPE_SECRET_KEY", "{err}");
        let not_secret = settings(&[&production[..], &["--stripe-secret-key", "pk_live_x"]].concat());
        assert_eq!(not_secret.payments().err().unwrap().env, "MYCLOTHES_STRIPE_SECRET_KEY");
        let live = settings(&[&production[..], &["--stripe-secret-key", "sk_live_x"]].concat());
        let ProviderConfig::Stripe(stripe) = live.payments().unwrap().provider else { panic!("not Stripe") };
        assert_eq!(stripe.api_base.as_str(), "https://api.stripe.com/");
        assert!(!format!("{stripe:?}").contains("sk_live_x"), "the key stays out of logs");
        let development = settings(&["--profile", "development", "--payment-provider", "stripe"]);
        let ProviderConfig::Stripe(local) = development.payments().unwrap().provider else {
            panic!("not Stripe")
        };
        assert_eq!(local.api_base.as_str(), "http://127.0.0.1:58420/");
    }

    #[test]
    fn production_refuses_a_store_on_another_machine_without_tls() {
        let serve = |extra: &[&str]| {
            let base =
                ["--profile", "production", "--jwt-keys", "k1:a-production-secret-of-at-least-32-bytes"];
            let payments = ["--payment-provider", "sandbox"];
            settings(&[&base[..], &payments, extra].concat()).serve_config()
        };
        let (tls_db, tls_redis) =
            ("postgres://u:p@db:5432/shop?sslmode=verify-full", "rediss://:pw@cache:6379");
        assert!(serve(&["--database-url", tls_db, "--redis-url", tls_redis]).is_ok());
        let plain_db = serve(&["--database-url", "postgres://u:p@db:5432/shop", "--redis-url", tls_redis]);
        let plain_db = plain_db.err().unwrap();
        assert_eq!(plain_db.env, "MYCLOTHES_DATABASE_URL");
        assert!(
            plain_db.to_string().contains("db without TLS") && !plain_db.to_string().contains("u:p"),
            "{plain_db}"
        );
        let prefer =
            serve(&["--database-url", "postgres://u:p@db/shop?sslmode=prefer", "--redis-url", tls_redis]);
        assert_eq!(prefer.err().unwrap().env, "MYCLOTHES_DATABASE_URL", "prefer falls back to plaintext");
        let replica = serve(&[
            "--database-url",
            tls_db,
            "--replica-urls",
            "postgres://r@replica/shop",
            "--redis-url",
            tls_redis,
        ]);
        assert_eq!(replica.err().unwrap().env, "MYCLOTHES_REPLICA_URLS");
        let plain_redis = serve(&["--database-url", tls_db, "--redis-url", "redis://:pw@cache:6379"]);
        assert_eq!(plain_redis.err().unwrap().env, "MYCLOTHES_REDIS_URL");
        let cache = serve(&[
            "--database-url",
            tls_db,
            "--redis-url",
            tls_redis,
            "--cache-redis-url",
            "redis://c:6379",
        ]);
        assert_eq!(cache.err().unwrap().env, "MYCLOTHES_CACHE_REDIS_URL");
        let loopback =
            ["--database-url", "postgres://u:p@127.0.0.1/shop", "--redis-url", "redis://:pw@localhost:6379"];
        assert!(serve(&loopback).is_ok(), "this machine's stores need no TLS");
        let ipv6 = ["--database-url", "postgres://u:p@[::1]/shop", "--redis-url", "redis://[::1]:6379"];
        assert!(serve(&ipv6).is_ok());
        let behind_sentinels = [
            "--database-url",
            tls_db,
            "--redis-url",
            "redis://:pw@localhost",
            "--redis-sentinels",
            "s1:26379",
        ];
        let behind_sentinels = serve(&behind_sentinels).err().unwrap();
        assert_eq!(
            behind_sentinels.env, "MYCLOTHES_REDIS_SENTINELS",
            "the primary they name is reached in the clear"
        );
        let cluster =
            |url| serve(&["--database-url", tls_db, "--redis-url", url, "--redis-cluster", "n1:6379"]);
        assert_eq!(cluster("redis://:pw@localhost").err().unwrap().env, "MYCLOTHES_REDIS_CLUSTER");
        assert!(cluster(tls_redis).is_ok(), "its nodes are reached over TLS");
        let allowed = [
            "--database-url",
            "postgres://u:p@db/shop",
            "--redis-url",
            "redis://cache",
            "--allow-plaintext-stores",
            "true",
        ];
        assert!(serve(&allowed).is_ok());
    }

    #[test]
    fn certificate_authorities_are_files_that_turn_verification_on() {
        let ca = std::env::temp_dir().join(format!("myclothes-config-ca-{}.pem", std::process::id()));
        std::fs::write(&ca, "-----BEGIN CERTIFICATE-----\n").unwrap();
        let ca_path = ca.to_str().unwrap();
        let with_ca = |extra: &[&str]| {
            settings(
                &[
                    &["--profile", "development", "--database-ca-file", ca_path, "--redis-ca-file", ca_path]
                        [..],
                    extra,
                ]
                .concat(),
            )
            .serve_config()
        };
        let config = with_ca(&["--replica-urls", "postgres://r@replica/shop?sslmode=require"]).unwrap();
        let primary = config.db.primary_urls[0].expose_secret().to_owned();
        let expected = format!("?sslmode=verify-full&sslrootcert={}", ca_path.replace('/', "%2F"));
        assert!(primary.ends_with(&expected), "{primary}");
        assert!(
            config.db.replica_urls[0].expose_secret().ends_with("?sslmode=require"),
            "its own sslmode is kept"
        );
        assert_eq!(config.redis.ca.as_deref(), Some(&b"-----BEGIN CERTIFICATE-----\n"[..]));
        std::fs::remove_file(&ca).unwrap();
        let missing = with_ca(&[]).err().unwrap();
        assert_eq!(missing.env, "MYCLOTHES_DATABASE_CA_FILE", "{missing}");
    }

    #[test]
    fn sentinels_name_the_redis_primary_and_a_wait_for_replicas_ends_before_the_redis_timeout() {
        let plain = settings(&["--profile", "development"]).serve_config().unwrap().redis;
        assert_eq!((plain.topology, plain.replicated_writes), (Topology::Single, None));
        let sentinels =
            ["--redis-sentinels", "127.0.0.1:26379, 127.0.0.1:26380", "--redis-wait-replicas", "1"];
        let ha =
            settings(&[&["--profile", "development"][..], &sentinels].concat()).serve_config().unwrap().redis;
        let addresses = vec!["127.0.0.1:26379".to_owned(), "127.0.0.1:26380".to_owned()];
        let named = SentinelSettings { addresses, master_name: "myclothes".to_owned() };
        assert_eq!(ha.topology, Topology::Sentinel(named));
        let acks = ReplicaAcks { replicas: 1, timeout: Duration::from_millis(100) };
        assert_eq!(ha.replicated_writes, Some(acks));
        for bad in ["sentinel-without-port", "s1:port", "s1:70000"] {
            let bad = settings(&["--profile", "development", "--redis-sentinels", bad]);
            assert_eq!(bad.serve_config().err().unwrap().env, "MYCLOTHES_REDIS_SENTINELS");
        }
        let too_long =
            ["--profile", "development", "--redis-wait-replicas", "1", "--redis-wait-timeout", "1s"];
        assert_eq!(settings(&too_long).serve_config().err().unwrap().env, "MYCLOTHES_REDIS_WAIT_TIMEOUT");
    }

    #[test]
    fn a_redis_cluster_is_named_by_its_nodes_without_sentinels_and_over_tls_in_production() {
        let nodes = ["--redis-cluster", "127.0.0.1:7000,127.0.0.1:7001"];
        let cluster =
            settings(&[&["--profile", "development"][..], &nodes].concat()).serve_config().unwrap().redis;
        let addresses = vec!["127.0.0.1:7000".to_owned(), "127.0.0.1:7001".to_owned()];
        assert_eq!(cluster.topology, Topology::Cluster(addresses));
        let both =
            settings(&["--profile", "development", "--redis-cluster", "a:1", "--redis-sentinels", "b:2"]);
        assert_eq!(both.serve_config().err().unwrap().env, "MYCLOTHES_REDIS_CLUSTER");
        let no_port = settings(&["--profile", "development", "--redis-cluster", "node-without-port"]);
        assert_eq!(no_port.serve_config().err().unwrap().env, "MYCLOTHES_REDIS_CLUSTER");
        let tagged_prefix = settings(&["--profile", "development", "--redis-key-prefix", "shop{1}:"]);
        assert_eq!(tagged_prefix.serve_config().err().unwrap().env, "MYCLOTHES_REDIS_KEY_PREFIX");
    }

    #[test]
    fn the_sandbox_failure_rate_is_a_share() {
        for bad in ["-0.1", "1.5", "NaN"] {
            let rate = format!("--sandbox-failure-rate={bad}");
            let err = settings(&["--profile", "development", &rate]).serve_config().err().unwrap();
            assert_eq!(err.env, "MYCLOTHES_SANDBOX_FAILURE_RATE", "{bad}");
        }
    }

    #[test]
    fn malformed_database_url_is_named() {
        for bad in ["not a url", "mysql://u:p@h/db", "postgres://u:p@h:5432/"] {
            let err =
                settings(&["--profile", "development", "--database-url", bad]).serve_config().err().unwrap();
            assert_eq!(err.env, "MYCLOTHES_DATABASE_URL", "{bad}");
        }
    }

    #[test]
    fn replica_urls_are_a_list_and_may_be_empty() {
        let two =
            settings(&["--profile", "development", "--replica-urls", "postgres://r@a/db,postgres://r@b/db"]);
        assert_eq!(two.serve_config().unwrap().db.replica_urls.len(), 2);
        let none = settings(&["--profile", "development", "--replica-urls", ""]);
        assert!(none.serve_config().unwrap().db.replica_urls.is_empty());
    }

    #[test]
    fn jwt_keys_need_long_unique_secrets() {
        let long = "x".repeat(32);
        assert!(jwt_keys(&format!("a:{long},b:{long}")).is_ok());
        assert!(jwt_keys("a:short").is_err());
        assert!(jwt_keys(&format!("a:{long},a:{long}")).is_err());
        assert!(jwt_keys(&format!("bad kid:{long}")).is_err());
        assert!(jwt_keys(&long).is_err());
    }

    #[test]
    fn zero_pool_size_is_refused() {
        let err =
            settings(&["--profile", "development", "--primary-pool-size", "0"]).serve_config().err().unwrap();
        assert_eq!(err.env, "MYCLOTHES_PRIMARY_POOL_SIZE");
    }
}
