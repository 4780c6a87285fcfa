//! The integration-test harness: every test gets its own database, cloned from a migrated template on
//! the real primary (so the real replica streams it too), its own Redis key prefix, and a real server
//! on a free port. Tests read like the behaviour they check.

pub mod catalog;
pub mod process;
pub mod redis;
pub mod stack;
pub mod tcp_proxy;

use std::sync::Arc;
use std::time::Duration;

use api::cli::Cli;
use api::services::Services;
use api::startup::Application;
use clap::Parser;
use migrations::{Migrator, MigratorTrait};
use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection};
use serde_json::{Value, json};
use tokio::sync::{OnceCell, oneshot};

pub use stack::{DelayedReplica, Stack, free_port, repo_root, stack_script};

const TEMPLATE: &str = "mc_template";
static TEMPLATE_READY: OnceCell<()> = OnceCell::const_new();

/// A database of the test's own on the local stack, cloned from the migrated template.
pub struct TestDatabase {
    pub name: String,
}

impl TestDatabase {
    pub async fn create() -> Self {
        TEMPLATE_READY.get_or_init(migrate_template).await;
        let name = format!("mc_test_{}", uuid::Uuid::new_v4().simple());
        let admin = connect(&Stack::get().owner_url("postgres")).await;
        clone_template(&admin, &name).await;
        admin.close().await.expect("the admin connection closes");
        wait_until_server_has(&name, Stack::get().replica_port).await;
        Self { name }
    }

    pub fn writer_url(&self) -> String {
        Stack::get().writer_url(&self.name)
    }

    pub fn reader_url(&self) -> String {
        Stack::get().reader_url(&self.name, Stack::get().replica_port)
    }
}

impl Drop for TestDatabase {
    /// Drops the database (and any connection still open to it), so that the cluster stays small for
    /// the tests that clone it. A thread of its own, because `Drop` cannot wait on the test's runtime.
    fn drop(&mut self) {
        let name = self.name.clone();
        let dropped = std::thread::spawn(move || {
            let runtime =
                tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
            runtime.block_on(async {
                let admin = connect(&Stack::get().owner_url("postgres")).await;
                let dropped =
                    admin.execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await;
                admin.close().await.ok();
                dropped
            })
        })
        .join();
        if let Ok(Err(err)) = dropped {
            eprintln!("could not drop test database {}: {err}", self.name);
        }
    }
}

/// Brings the template up to the latest migration, once per test process. An advisory lock keeps
/// test processes from migrating it at the same time.
async fn migrate_template() {
    let admin = connect(&Stack::get().owner_url("postgres")).await;
    admin.execute_unprepared("SELECT pg_advisory_lock(20261122)").await.expect("the advisory lock is taken");
    let exists = admin
        .query_one_raw(statement(&format!("SELECT 1 FROM pg_database WHERE datname = '{TEMPLATE}'")))
        .await
        .expect("pg_database is readable")
        .is_some();
    if !exists {
        admin
            .execute_unprepared(&format!("CREATE DATABASE {TEMPLATE}"))
            .await
            .expect("the template is created");
    }
    let template = connect(&Stack::get().owner_url(TEMPLATE)).await;
    Migrator::up(&template, None).await.expect("the migrations apply to the template");
    template.close().await.expect("the template connection closes");
    admin
        .execute_unprepared("SELECT pg_advisory_unlock(20261122)")
        .await
        .expect("the advisory lock is released");
    admin.close().await.expect("the admin connection closes");
}

async fn clone_template(admin: &DatabaseConnection, name: &str) {
    for _ in 0..100 {
        match admin.execute_unprepared(&format!("CREATE DATABASE {name} TEMPLATE {TEMPLATE}")).await {
            Ok(_) => return,
            // Another test process is migrating the template right now.
            Err(err) if err.to_string().contains("is being accessed by other users") => {
                tokio::time::sleep(Duration::from_millis(100)).await
            }
            Err(err) => panic!("cannot clone the template into {name}: {err}"),
        }
    }
    panic!("the template stayed busy for 10 s");
}

/// Waits until the replica on `port` has received database `name` (a loaded machine's replica may
/// take seconds to replay the clone of a template).
pub async fn wait_until_server_has(name: &str, port: u16) {
    let replica = connect(&Stack::get().reader_url("postgres", port)).await;
    let query = format!("SELECT 1 FROM pg_database WHERE datname = '{name}'");
    for _ in 0..1200 {
        let found = replica.query_one_raw(statement(&query)).await.expect("the replica answers");
        if found.is_some() {
            replica.close().await.expect("the replica connection closes");
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("the replica did not receive database {name} within 30 s");
}

pub fn statement(sql: &str) -> sea_orm::Statement {
    sea_orm::Statement::from_string(sea_orm::DbBackend::Postgres, sql.to_owned())
}

pub async fn connect(url: &str) -> DatabaseConnection {
    let mut options = ConnectOptions::new(url.to_owned());
    options.max_connections(2).sqlx_logging(false);
    Database::connect(options).await.unwrap_or_else(|e| panic!("cannot connect to {url}: {e}"))
}

/// The server, running in this process on a free port against the test's own database.
pub struct TestApp {
    pub address: String,
    /// The admin listener: health reports and metrics.
    pub admin_address: String,
    pub client: reqwest::Client,
    pub services: Arc<Services>,
    pub db: Arc<TestDatabase>,
    /// The test's own connection to the primary, as the api's writer role, for fixtures and checks.
    pub primary: DatabaseConnection,
    _shutdown: oneshot::Sender<()>,
}

impl TestApp {
    pub async fn spawn() -> Self {
        Self::spawn_with(&[]).await
    }

    /// Starts the server with `extra` command-line settings after the test's own (later flags win).
    pub async fn spawn_with(extra: &[&str]) -> Self {
        Self::spawn_on(TestDatabase::create().await, extra).await
    }

    /// Starts the server with a replica of its own, replaying `delay` behind the primary, as its only one.
    pub async fn spawn_with_delayed_replica(delay: &str) -> (Self, DelayedReplica) {
        let db = TestDatabase::create().await;
        let replica = DelayedReplica::start(delay);
        let delayed = Stack::get().reader_url(&db.name, replica.port);
        (Self::spawn_on(db, &["--replica-urls", &delayed]).await, replica)
    }

    /// Starts the server on an existing test database.
    pub async fn spawn_on(db: impl Into<Arc<TestDatabase>>, extra: &[&str]) -> Self {
        let db = db.into();
        let args = serve_args(&db, extra);
        let cli =
            Cli::try_parse_from(["myclothes".to_owned()].into_iter().chain(args).chain(["serve".to_owned()]))
                .expect("the test settings parse");
        let config = cli.settings.serve_config().expect("the test settings are valid");
        let app = Application::build(config).await.expect("the application builds");
        let address = format!("http://{}", app.local_addr());
        let admin_address = format!("http://{}", app.admin_addr());
        let services = app.services();
        let (shutdown, stopped) = oneshot::channel::<()>();
        tokio::spawn(app.run_until(async move {
            let _ = stopped.await;
        }));
        let primary = connect(&db.writer_url()).await;
        Self {
            address,
            admin_address,
            client: reqwest::Client::new(),
            services,
            db,
            primary,
            _shutdown: shutdown,
        }
    }

    /// A second instance on the same database and Redis key prefix, as behind a load balancer, with
    /// `extra` settings.
    pub async fn beside(&self, extra: &[&str]) -> Self {
        Self::spawn_on(self.db.clone(), extra).await
    }

    pub async fn post_graphql(&self, query: &str) -> Value {
        self.post_graphql_with(json!({ "query": query })).await
    }

    /// POSTs `query` as a browser does, taking gzip: whether the answer came gzipped (and said that
    /// it depends on `Accept-Encoding`), and the answer.
    pub async fn post_graphql_taking_gzip(&self, query: &str) -> (bool, Value) {
        let response = self.post_graphql_accepting("gzip, deflate, br", query).await;
        assert_eq!(response.status(), 200, "POST /graphql");
        let gzipped = response.headers().get("content-encoding").is_some_and(|coding| coding == "gzip");
        assert!(!gzipped || response.headers()["vary"] == "accept-encoding", "a gzipped answer says why");
        let body = response.bytes().await.expect("a body");
        let mut unzipped = Vec::new();
        if gzipped {
            let mut decoder = flate2::read::GzDecoder::new(&body[..]);
            std::io::Read::read_to_end(&mut decoder, &mut unzipped).expect("the body unzips");
        }
        let json = if gzipped { &unzipped[..] } else { &body[..] };
        (gzipped, serde_json::from_slice(json).expect("the body is JSON"))
    }

    /// POSTs `query` saying `Accept-Encoding: accept_encoding`.
    pub async fn post_graphql_accepting(&self, accept_encoding: &str, query: &str) -> reqwest::Response {
        self.client
            .post(format!("{}/graphql", self.address))
            .header("accept-encoding", accept_encoding)
            .json(&json!({ "query": query }))
            .send()
            .await
            .expect("the server answers")
    }

    pub async fn post_graphql_with(&self, body: Value) -> Value {
        let response = self
            .client
            .post(format!("{}/graphql", self.address))
            .json(&body)
            .send()
            .await
            .expect("the server answers");
        assert_eq!(response.status(), 200, "POST /graphql");
        response.json().await.expect("the body is JSON")
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(format!("{}{path}", self.address)).send().await.expect("the server answers")
    }

    /// `GET path` on the admin listener.
    pub async fn get_admin(&self, path: &str) -> reqwest::Response {
        self.client.get(format!("{}{path}", self.admin_address)).send().await.expect("the server answers")
    }

    /// Waits until the test's replica has replayed everything written on the primary so far.
    /// The sandbox payment provider the app runs with.
    pub fn sandbox(&self) -> &infra::payments::TestPaymentProvider {
        self.services.sandbox.as_deref().expect("the app runs on the sandbox provider")
    }

    pub async fn wait_for_replica(&self) {
        self.wait_for_replica_on(Stack::get().replica_port).await;
    }

    /// Waits until the replica on `port` has replayed everything written on the primary so far.
    pub async fn wait_for_replica_on(&self, port: u16) {
        // Read on the test's own connection: the app's small pool may be busy or still connecting.
        let position = statement("SELECT pg_current_wal_lsn()::text AS lsn");
        let row = self.primary.query_one_raw(position).await.expect("the primary answers");
        let lsn: String = row.expect("one row").try_get("", "lsn").expect("a position");
        let replica = connect(&Stack::get().reader_url(&self.db.name, port)).await;
        let caught_up = format!("SELECT pg_last_wal_replay_lsn() >= '{lsn}'::pg_lsn AS done");
        for _ in 0..1000 {
            let row = replica.query_one_raw(statement(&caught_up)).await.unwrap().unwrap();
            if row.try_get::<bool>("", "done").unwrap() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("the replica on port {port} did not catch up with {lsn} within 10 s");
    }

    /// A token of a signed-in administrator (a staff account made for the test).
    pub async fn admin_token(&self) -> String {
        let email = domain::account::Email::parse("admin@myclothes.test").unwrap();
        let password = domain::account::Password::parse("a long admin password").unwrap();
        let _ = infra::staff::StaffRepository::new(self.services.db.clone())
            .create(&email, &password)
            .await
            .unwrap();
        let body = self
            .post_graphql(r#"mutation { staffLogin(input: { email: "admin@myclothes.test", password: "a long admin password" }) { token userErrors { code } } }"#)
            .await;
        body["data"]["staffLogin"]["token"]
            .as_str()
            .unwrap_or_else(|| panic!("the admin logs in: {body}"))
            .to_owned()
    }

    /// POSTs `query` with `Authorization: Bearer token`.
    pub async fn post_graphql_as(&self, token: &str, query: &str) -> Value {
        let response = self
            .client
            .post(format!("{}/graphql", self.address))
            .bearer_auth(token)
            .json(&json!({ "query": query }))
            .send()
            .await
            .expect("the server answers");
        assert_eq!(response.status(), 200, "POST /graphql");
        response.json().await.expect("the body is JSON")
    }

    /// Waits until this instance's near cache may answer (its channel of invalidations is on time).
    pub async fn wait_for_near_cache(&self) {
        for _ in 0..500 {
            if self.services.cache.near_cache_serving() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("the near cache did not start serving within 5 s");
    }

    /// The answer of `command` from the app's Redis, reached as the app reaches it (the stack's, the
    /// primary sentinels name, or a cluster, which sends it to the node of its key).
    pub async fn redis<T: deadpool_redis::redis::FromRedisValue>(
        &self,
        command: &deadpool_redis::redis::Cmd,
    ) -> T {
        let command = command.clone();
        self.services
            .redis
            .run(|mut connection| async move { command.query_async(&mut connection).await })
            .await
            .unwrap_or_else(|e| panic!("the app's Redis answers: {e}"))
    }

    /// The Redis key of the cart of `owner` in the app's Redis.
    pub fn cart_key(&self, owner: &domain::cart::CartOwner) -> String {
        infra::carts::CartStore::new(self.services.redis.clone(), Duration::from_secs(1)).key(owner)
    }

    /// Statements this instance has sent to the database server named `name`.
    pub fn statements_sent_to(&self, name: &str) -> u64 {
        self.services.db.stats().into_iter().find(|t| t.name == name).expect("a known server").statements
    }

    /// Reads served so far by the database server named `name` (`primary`, `replica-1`, …).
    pub fn reads_served_by(&self, name: &str) -> u64 {
        self.services
            .db
            .stats()
            .into_iter()
            .find(|t| t.name == name)
            .unwrap_or_else(|| panic!("no database server named {name}"))
            .reads_served
    }
}

/// The settings that reach the suite's Redis from a command of the app's (`persist`, `admin`): the
/// stack's URL, and the sentinels or the cluster when the suite runs behind them.
pub fn suite_redis_args() -> Vec<String> {
    [["--redis-url".to_owned(), Stack::get().redis_url()]]
        .into_iter()
        .chain(suite_redis_topology())
        .collect::<Vec<_>>()
        .concat()
}

/// The settings that put an app's Redis behind the suite's sentinels, or in its cluster, when the
/// suite runs so (the URL then gives only the password); each cart change then waits for a replica.
fn suite_redis_topology() -> Vec<[String; 2]> {
    let stack = Stack::get();
    let found_by = match (stack.redis_sentinels(), stack.redis_cluster()) {
        (Some(sentinels), _) => ["--redis-sentinels", sentinels],
        (None, Some(nodes)) => ["--redis-cluster", nodes],
        (None, None) => return Vec::new(),
    };
    [found_by, ["--redis-wait-replicas", "1"]].map(|pair| pair.map(str::to_owned)).to_vec()
}

/// The settings of a server for `db`: the development profile, a free port, small pools, short
/// timeouts, and a Redis key prefix of its own; each `--flag value` pair of `overrides` replaces the
/// default of that flag.
pub fn serve_args(db: &TestDatabase, overrides: &[&str]) -> Vec<String> {
    let mut args: Vec<[String; 2]> = [
        "--profile",
        "development",
        "--listen",
        "127.0.0.1:0",
        "--admin-listen",
        "127.0.0.1:0",
        "--database-url",
        &db.writer_url(),
        "--replica-urls",
        &db.reader_url(),
        "--redis-url",
        &Stack::get().redis_url(),
        "--redis-key-prefix",
        &format!("{}:", db.name),
        "--primary-pool-size",
        "4",
        "--replica-pool-size",
        "4",
        "--redis-pool-size",
        "4",
        "--db-timeout",
        "1s",
        "--replica-backoff",
        "100ms",
        "--shutdown-delay",
        "0s",
        "--log",
        "warn",
        // Tests send many requests from one address; the rate-limit tests set their own limits.
        "--ip-rate-limit",
        "100000/s:100000",
        "--session-rate-limit",
        "100000/s:100000",
        "--login-rate-limit",
        "100000/s:100000",
        "--order-lookup-rate-limit",
        "100000/s:100000",
        "--account-mail-rate-limit",
        "100000/s:100000",
    ]
    .chunks(2)
    .map(|pair| [pair[0].to_owned(), pair[1].to_owned()])
    .collect();
    // Behind sentinels or in a cluster, unless the test chose a Redis of its own (a proxy, a server
    // it stops).
    let own_redis = overrides
        .chunks(2)
        .any(|pair| ["--redis-url", "--redis-sentinels", "--redis-cluster"].contains(&pair[0]));
    if !own_redis {
        args.extend(suite_redis_topology());
    }
    for pair in overrides.chunks(2) {
        let [flag, value] = pair else { panic!("overrides come in --flag value pairs: {overrides:?}") };
        match args.iter_mut().find(|[f, _]| f == flag) {
            Some(existing) => existing[1] = value.to_string(),
            None => args.push([flag.to_string(), value.to_string()]),
        }
    }
    args.concat()
}
