//! The `myclothes` command: `serve`, `migrate`, `seed`, `schema`.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use infra::seed;
use migrations::{Migrator, MigratorTrait};
use sea_orm::{ConnectOptions, Database};
use secrecy::{ExposeSecret, SecretString};

use crate::config::{ConfigError, Settings};
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
    /// Apply pending database migrations as the owner role.
    Migrate,
    /// Fill an empty catalogue with the generated development catalogue.
    Seed,
    /// Print the GraphQL schema (SDL); `schema.graphql` is this output.
    Schema,
}

pub fn run() -> ExitCode {
    let cli = Cli::parse();
    crate::telemetry::init(&cli.settings);
    let runtime = tokio::runtime::Runtime::new().expect("the Tokio runtime starts");
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
        }
        Command::Schema => print!("{}", crate::graphql::sdl()),
    }
    Ok(())
}

/// A one-off connection for the administrative commands; the server uses `infra::db::DbRouter`.
async fn connect(url: &SecretString) -> anyhow::Result<sea_orm::DatabaseConnection> {
    let mut options = ConnectOptions::new(url.expose_secret().to_owned());
    options.sqlx_logging(false);
    Ok(Database::connect(options).await?)
}
