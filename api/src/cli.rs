//! The `myclothes` command: `serve`, `worker`, `persist`, `migrate`, `seed`, `schema`, `admin`.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use std::sync::Arc;

use domain::account::{Email, Password};
use futures::FutureExt;
use infra::account_events::AccountEvents;
use infra::cache::ReadCache;
use infra::carts::CartStore;
use infra::db::{DbRouter, DbSettings};
use infra::mail::smtp::SmtpSender;
use infra::order_events::OrderEvents;
use infra::orders::PaymentReconciler;
use infra::persisted_queries::PersistedQueries;
use infra::redis::RedisStore;
use infra::seed;
use infra::session_registry::SessionRegistry;
use infra::staff::StaffRepository;
use infra::worker::{Handlers, Worker};
use infra::write_path::WritePath;
use migrations::{Migrator, MigratorTrait};
use sea_orm::{ConnectOptions, Database};
use secrecy::{ExposeSecret, SecretString};

use crate::config::{ConfigError, Settings, WorkerConfig};
use crate::startup::{Application, shutdown_signal};

#[derive(Debug, Parser)]
#[command(name = "myclothes", version, about = "The MyClothes GraphQL backend", max_term_width = 110)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    #[command(flatten)]
    pub settings: Settings,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the GraphQL API until SIGTERM or Ctrl-C, then drain and exit.
    Serve,
    /// Relay outbox events through the Redis stream and handle them (order follow-up) until SIGTERM
    /// or Ctrl-C.
    Worker,
    /// Register GraphQL documents (one per file) as persisted queries for good, printing each hash:
    /// the allow-list of `--persisted-queries-only`.
    Persist {
        #[arg(required = true)]
        files: Vec<std::path::PathBuf>,
    },
    /// Apply pending database migrations as the owner role.
    Migrate,
    /// Fill an empty catalogue with the generated development catalogue.
    Seed,
    /// Print the GraphQL schema (SDL); `schema.graphql` is this output.
    Schema,
    /// Manage staff accounts.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Create an administrator.
    Create {
        #[arg(long)]
        email: String,
        /// The password; without it, the first line of standard input.
        #[arg(long, env = "MYCLOTHES_ADMIN_PASSWORD", hide_env_values = true)]
        password: Option<String>,
    },
    /// Remove an administrator; their sessions end at once.
    Remove {
        #[arg(long)]
        email: String,
    },
}

pub fn run() -> ExitCode {
    let cli = Cli::parse();
    let _logging = crate::telemetry::init(&cli.settings);
    // Resolving a deep GraphQL selection nests many futures; unoptimised builds keep them on the stack
    // and overflow the 2 MiB Tokio gives a worker by default. The room is reserved, not used.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_stack_size(8 * 1024 * 1024)
        .build()
        .expect("the Tokio runtime starts");
    match runtime.block_on(execute(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Config(err)) => {
            eprintln!("myclothes: {err}");
            ExitCode::from(2)
        }
        Err(Failure::Runtime(err)) => {
            eprintln!("myclothes: {err:#}");
            ExitCode::FAILURE
        }
    }
}

enum Failure {
    Config(ConfigError),
    Runtime(anyhow::Error),
}

impl From<ConfigError> for Failure {
    fn from(err: ConfigError) -> Self {
        Self::Config(err)
    }
}

impl From<anyhow::Error> for Failure {
    fn from(err: anyhow::Error) -> Self {
        Self::Runtime(err)
    }
}

async fn execute(cli: Cli) -> Result<(), Failure> {
    match cli.command {
        Command::Serve => {
            let app = Application::build(cli.settings.serve_config()?).await?;
            app.run_until(shutdown_signal()).await.map_err(anyhow::Error::from)?;
        }
        Command::Worker => run_worker(cli.settings.worker_config()?).await?,
        Command::Persist { files } => persist(&cli.settings, &files).await?,
        Command::Migrate => {
            let db = connect(&cli.settings.owner_database_url()?).await?;
            Migrator::up(&db, None).await.map_err(anyhow::Error::from)?;
            tracing::info!("migrations applied");
        }
        Command::Seed => {
            let db = connect(&cli.settings.database_url()?).await?;
            match seed::seed_catalog(&db, seed::PRODUCT_COUNT).await.map_err(anyhow::Error::from)? {
                Some(report) => tracing::info!(?report, "catalogue seeded"),
                None => tracing::info!("catalogue already has products; seed skipped"),
            }
            if seed::seed_discount_code(&db).await.map_err(anyhow::Error::from)? {
                tracing::info!(code = seed::WELCOME_CODE, "discount code seeded");
            }
        }
        Command::Schema => print!("{}", crate::graphql::sdl()),
        Command::Admin { command: AdminCommand::Create { email, password } } => {
            create_admin(&cli.settings, &email, password).await?
        }
        Command::Admin { command: AdminCommand::Remove { email } } => {
            remove_admin(&cli.settings, &email).await?
        }
    }
    Ok(())
}

async fn run_worker(config: WorkerConfig) -> Result<(), Failure> {
    let db = Arc::new(DbRouter::connect(&config.db).await.map_err(anyhow::Error::from)?);
    db.watch_primary().await;
    let redis = Arc::new(RedisStore::connect(&config.redis).map_err(anyhow::Error::from)?);
    let payments = crate::services::payment_provider(&config.payments)?.provider;
    let reconciler = PaymentReconciler::new(
        db.clone(),
        payments.clone(),
        Arc::new(CartStore::new(redis.clone(), config.cart_expiry)),
        write_path(&config, &db, &redis)?,
        config.payments.timeout,
    );
    let events = Handlers {
        orders: OrderEvents::new(db.clone(), payments, config.alerts, config.storefront.clone()),
        accounts: AccountEvents::new(db.clone(), config.storefront),
    };
    let sender = match config.smtp {
        Some(smtp) => Some(SmtpSender::new(db.clone(), smtp)),
        None => {
            tracing::warn!("no SMTP server is set (MYCLOTHES_SMTP_URL): mail stays in the mail sink");
            None
        }
    };
    tracing::info!(name = %config.worker.name, "worker started");
    let stop = shutdown_signal().shared();
    let worker = Worker::new(db, redis, events, config.worker);
    let sending = async {
        if let Some(sender) = &sender {
            sender.run_until(stop.clone()).await;
        }
    };
    tokio::join!(
        worker.run_until(stop.clone()),
        reconciler.run_until(config.reconcile_every, stop.clone()),
        sending
    );
    tracing::info!("worker stopped");
    Ok(())
}

/// The write path of the worker's own commands: the reconciler returns stock, which the cache shows.
fn write_path(
    config: &WorkerConfig,
    db: &Arc<DbRouter>,
    redis: &Arc<RedisStore>,
) -> Result<WritePath, Failure> {
    let cache_redis = match &config.cache_redis {
        Some(settings) => Arc::new(RedisStore::connect(settings).map_err(anyhow::Error::from)?),
        None => redis.clone(),
    };
    let cache = Arc::new(ReadCache::new(cache_redis, config.cache.clone()));
    let sessions = Arc::new(SessionRegistry::new(redis.clone(), config.token_lifetime));
    Ok(WritePath::new(db.clone(), cache, sessions))
}

async fn persist(settings: &Settings, files: &[std::path::PathBuf]) -> Result<(), Failure> {
    let store = PersistedQueries::new(Arc::new(
        RedisStore::connect(&settings.redis_settings()?).map_err(anyhow::Error::from)?,
    ));
    for file in files {
        let document =
            std::fs::read_to_string(file).map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
        async_graphql::parser::parse_query(&document)
            .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
        let hash = store.register(&document, None).await.map_err(anyhow::Error::from)?;
        println!("{hash}  {}", file.display());
    }
    Ok(())
}

async fn create_admin(settings: &Settings, email: &str, password: Option<String>) -> Result<(), Failure> {
    let email = Email::parse(email).map_err(|e| anyhow::anyhow!("--email: {e}"))?;
    let password = match password {
        Some(password) => password,
        None => {
            let mut line = String::new();
            std::io::stdin().read_line(&mut line).map_err(anyhow::Error::from)?;
            line.trim_end_matches(['\r', '\n']).to_owned()
        }
    };
    let password = Password::parse(&password).map_err(|e| anyhow::anyhow!("the password: {e}"))?;
    match staff_accounts(settings).await?.create(&email, &password).await.map_err(anyhow::Error::from)? {
        Ok(id) => tracing::info!(%email, %id, "administrator created"),
        Err(taken) => return Err(anyhow::anyhow!("{email}: {taken}").into()),
    }
    Ok(())
}

async fn remove_admin(settings: &Settings, email: &str) -> Result<(), Failure> {
    let email = Email::parse(email).map_err(|e| anyhow::anyhow!("--email: {e}"))?;
    let redis = Arc::new(RedisStore::connect(&settings.redis_settings()?).map_err(anyhow::Error::from)?);
    let sessions = SessionRegistry::new(redis, settings.session_lifetime);
    match staff_accounts(settings).await?.remove(&email, &sessions).await.map_err(anyhow::Error::from)? {
        Some(id) => tracing::info!(%email, %id, "administrator removed; their sessions have ended"),
        None => return Err(anyhow::anyhow!("{email}: no such staff account").into()),
    }
    Ok(())
}

/// The staff accounts, on a pool of one connection to the primary.
async fn staff_accounts(settings: &Settings) -> Result<StaffRepository, Failure> {
    let db = DbSettings {
        primary_urls: settings.database_urls()?,
        replica_urls: vec![],
        primary_pool_size: 1,
        replica_pool_size: 1,
        timeout: settings.db_timeout,
        replica_backoff: settings.replica_backoff,
    };
    let router = Arc::new(DbRouter::connect(&db).await.map_err(anyhow::Error::from)?);
    Ok(StaffRepository::new(router))
}

/// A one-off connection for the administrative commands; the server uses `infra::db::DbRouter`.
async fn connect(url: &SecretString) -> anyhow::Result<sea_orm::DatabaseConnection> {
    let mut options = ConnectOptions::new(url.expose_secret().to_owned());
    options.sqlx_logging(false);
    Ok(Database::connect(options).await?)
}
