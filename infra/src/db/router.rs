//! The one place that opens database connections. Commands get the primary (`write`); queries go
//! round-robin over healthy replicas (`read`), skipping a replica that failed for a backoff period
//! that doubles with each failure, and fall back to the primary when no replica answers.
//!
//! Given several primary candidates (the primary and the servers that may be promoted in its place),
//! `watch_primary` asks them which are writable (`pg_is_in_recovery()`, as libpq's
//! `target_session_attrs=read-write` does) and on which timeline, and moves writes to the right one
//! after a failover, without a restart; a former primary back on an older timeline gets none
//! (`candidates`).

use std::future::Future;
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DatabaseTransaction, DbBackend, DbErr,
    ExecResult, QueryResult, Statement, TransactionTrait,
};
use secrecy::{ExposeSecret, SecretString};

use super::candidates::{self, Standing};
use super::is_unreachable;
use super::position::WalPosition;
use crate::probe::Probe;

/// What a read must see.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Consistency {
    /// Whatever a healthy replica has (it may lag behind the primary).
    #[default]
    Eventual,
    /// Every write up to this position of the primary's WAL: the caller's own writes.
    AtLeast(WalPosition),
    /// Everything committed: for the answers of mutations.
    Primary,
}

/// How to reach the databases. URLs carry credentials and so are secrets.
pub struct DbSettings {
    /// The primary first, then the servers that may be promoted in its place, as the writer role.
    pub primary_urls: Vec<SecretString>,
    pub replica_urls: Vec<SecretString>,
    pub primary_pool_size: u32,
    pub replica_pool_size: u32,
    /// Bounds connecting, taking a connection from a pool, and a health probe.
    pub timeout: Duration,
    /// How long a replica that failed is skipped the first time; doubled on each further failure.
    pub replica_backoff: Duration,
}

const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// The longest a primary candidate may take to say where it stands before it counts as not writable.
const STANDING_TIMEOUT: Duration = Duration::from_secs(1);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetRole {
    Primary,
    Replica,
}

/// Counters of one database server, for health reports, metrics and tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetStats {
    pub name: String,
    pub role: TargetRole,
    pub address: String,
    pub reads_served: u64,
    /// Every statement sent to this server by this instance, reads and writes.
    pub statements: u64,
    pub in_backoff: bool,
}

pub struct DbRouter {
    /// Candidates for the primary; `writable` is the index of the one that takes writes.
    primaries: Vec<Target>,
    writable: AtomicUsize,
    /// The highest timeline a writable candidate was seen on.
    highest_timeline: AtomicU32,
    /// Writable candidates that get no writes (a split brain), as of the last look.
    stale: Mutex<Vec<usize>>,
    replicas: Vec<Target>,
    next_replica: AtomicUsize,
    backoff: Duration,
    probe_timeout: Duration,
}

struct Target {
    name: String,
    role: TargetRole,
    address: String,
    conn: DatabaseConnection,
    reads_served: AtomicU64,
    statements: Arc<AtomicU64>,
    /// How far this replica is known to have replayed the primary's WAL (a `WalPosition`'s offset);
    /// it only grows.
    replayed: AtomicU64,
    health: Mutex<Health>,
}

#[derive(Default)]
struct Health {
    consecutive_failures: u32,
    skip_until: Option<Instant>,
}

impl DbRouter {
    /// Prepares pools to every server without connecting yet, so the api starts (and reports what is
    /// down) even while a database is unreachable.
    pub async fn connect(settings: &DbSettings) -> Result<Self, DbErr> {
        let mut primaries = Vec::with_capacity(settings.primary_urls.len());
        for (i, url) in settings.primary_urls.iter().enumerate() {
            let name = if i == 0 { "primary".to_owned() } else { format!("primary-candidate-{}", i + 1) };
            let pool = settings.primary_pool_size;
            primaries.push(Target::lazy(&name, TargetRole::Primary, url, pool, settings.timeout).await?);
        }
        if primaries.is_empty() {
            return Err(DbErr::Custom("no primary database URL".into()));
        }
        let mut replicas = Vec::with_capacity(settings.replica_urls.len());
        for (i, url) in settings.replica_urls.iter().enumerate() {
            let name = format!("replica-{}", i + 1);
            replicas.push(
                Target::lazy(&name, TargetRole::Replica, url, settings.replica_pool_size, settings.timeout)
                    .await?,
            );
        }
        Ok(Self {
            primaries,
            writable: AtomicUsize::new(0),
            highest_timeline: AtomicU32::new(0),
            stale: Mutex::default(),
            replicas,
            next_replica: AtomicUsize::new(0),
            backoff: settings.replica_backoff,
            probe_timeout: settings.timeout,
        })
    }

    fn primary(&self) -> &Target {
        &self.primaries[self.writable.load(Ordering::Relaxed)]
    }

    /// Finds the primary among the candidates, then keeps writes on it, looking again every second
    /// while the router is in use, and at once (at most five times a second) when a statement finds a
    /// server unreachable. With a single candidate there is nothing to choose.
    pub async fn watch_primary(self: &Arc<Self>) {
        if self.primaries.len() < 2 {
            return;
        }
        self.find_primary().await;
        let router = Arc::downgrade(self);
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis(200)).await;
                tokio::select! {
                    () = tokio::time::sleep(Duration::from_millis(800)) => {}
                    () = super::SERVER_UNREACHABLE.notified() => {}
                }
                let Some(router) = router.upgrade() else { return };
                router.find_primary().await;
            }
        });
    }

    /// Asks every candidate whether it is writable and on which timeline, and moves writes to the one
    /// `candidates::choose` picks: never to a former primary back on an older timeline.
    pub async fn find_primary(&self) {
        let standings = futures::future::join_all(
            self.primaries.iter().map(|candidate| candidate.standing(self.probe_timeout)),
        )
        .await;
        let current = self.writable.load(Ordering::Relaxed);
        let choice = candidates::choose(current, &standings, self.highest_timeline.load(Ordering::Relaxed));
        self.highest_timeline.fetch_max(choice.highest_timeline, Ordering::Relaxed);
        if choice.writable != current {
            let primary = &self.primaries[choice.writable];
            self.writable.store(choice.writable, Ordering::Relaxed);
            tracing::warn!(primary = %primary.name, address = %primary.address, "writes move to the new primary");
        }
        let mut stale = self.stale.lock().expect("never poisoned");
        if choice.stale != *stale {
            for candidate in choice.stale.iter().map(|&i| &self.primaries[i]) {
                tracing::error!(candidate = %candidate.name, address = %candidate.address,
                    "split brain: a former primary is writable again; it gets no writes");
            }
        }
        *stale = choice.stale;
    }

    /// The names of writable candidates that get no writes (split brain), as of the last look.
    pub fn stale_primaries(&self) -> Vec<String> {
        let stale = self.stale.lock().expect("never poisoned");
        stale.iter().map(|&i| self.primaries[i].name.clone()).collect()
    }

    /// A transaction on the primary, for the write path (`write_path::WriteTx`): nothing else writes.
    /// A transaction that waited for its server's connection while writes moved to another server is
    /// refused (retry later): the server it waited for may be a former primary coming back.
    pub(crate) async fn begin_write(&self) -> Result<DatabaseTransaction, crate::Error> {
        let chosen = self.writable.load(Ordering::Relaxed);
        let txn = self.primaries[chosen].conn.begin().await?;
        if self.writable.load(Ordering::Relaxed) != chosen {
            let moved = "writes moved to another server while this transaction waited for a connection";
            return Err(crate::Error::DatabaseUnavailable(DbErr::Custom(moved.into())));
        }
        Ok(txn)
    }

    /// Runs `statement` on the primary on its own, committed as it ends, for the write path: a write
    /// that needs no transaction. When writes moved to another server meanwhile, it is refused (retry
    /// later), though it may have been made on the server it went to.
    pub(crate) async fn write_alone(&self, statement: Statement) -> Result<ExecResult, crate::Error> {
        self.on_writable(|conn| async move { conn.execute_raw(statement).await }).await
    }

    /// As `write_alone`, for a statement whose rows are its answer (`RETURNING`).
    pub(crate) async fn write_alone_returning(
        &self,
        statement: Statement,
    ) -> Result<Vec<QueryResult>, crate::Error> {
        self.on_writable(|conn| async move { conn.query_all_raw(statement).await }).await
    }

    async fn on_writable<T, Fut>(
        &self,
        write: impl FnOnce(DatabaseConnection) -> Fut,
    ) -> Result<T, crate::Error>
    where
        Fut: Future<Output = Result<T, DbErr>>,
    {
        let chosen = self.writable.load(Ordering::Relaxed);
        let done = write(self.primaries[chosen].conn.clone()).await?;
        if self.writable.load(Ordering::Relaxed) != chosen {
            let moved = "writes moved to another server while this statement was on its way";
            return Err(crate::Error::DatabaseUnavailable(DbErr::Custom(moved.into())));
        }
        Ok(done)
    }

    /// Runs the read-only `query` on a healthy replica, round-robin, retrying on the next replica and
    /// then on the primary when a server cannot be reached. Errors in the query itself are returned
    /// at once.
    pub async fn read<T, F, Fut>(&self, query: F) -> Result<T, DbErr>
    where
        F: Fn(DatabaseConnection) -> Fut,
        Fut: Future<Output = Result<T, DbErr>>,
    {
        let count = self.replicas.len();
        let first = self.next_replica.fetch_add(1, Ordering::Relaxed);
        for replica in (0..count).map(|i| &self.replicas[(first + i) % count]) {
            if replica.in_backoff() {
                continue;
            }
            if let Some(answer) = self.on_replica(replica, &query).await {
                return answer;
            }
        }
        if count > 0 {
            tracing::debug!("no replica available; reading from the primary");
        }
        self.read_primary(query).await
    }

    /// Runs the read-only `query` where it sees every write up to `consistency`: any healthy replica
    /// for `Eventual`; for `AtLeast(lsn)` a replica that has replayed the primary's WAL up to `lsn`
    /// (checked with one statement), else the primary, or while the primary is unreachable whatever a
    /// replica has; for `Primary`, the primary.
    pub async fn read_at<T, F, Fut>(&self, consistency: &Consistency, query: F) -> Result<T, DbErr>
    where
        F: Fn(DatabaseConnection) -> Fut,
        Fut: Future<Output = Result<T, DbErr>>,
    {
        match consistency {
            Consistency::Eventual => self.read(query).await,
            Consistency::Primary => self.read_primary(query).await,
            Consistency::AtLeast(required) => {
                let count = self.replicas.len();
                let first = self.next_replica.fetch_add(1, Ordering::Relaxed);
                for replica in (0..count).map(|i| &self.replicas[(first + i) % count]) {
                    if replica.in_backoff() || !replica.has_replayed(*required).await {
                        continue;
                    }
                    if let Some(answer) = self.on_replica(replica, &query).await {
                        return answer;
                    }
                }
                match self.read_primary(&query).await {
                    // Queries go on while the primary is down, with what the replicas have.
                    Err(err) if is_unreachable(&err) && count > 0 => {
                        tracing::warn!(error = %err, "the primary is unreachable; reading what the replicas have");
                        self.read(query).await
                    }
                    answer => answer,
                }
            }
        }
    }

    /// Runs `query` on `replica`; `None` when the replica cannot be reached (it is then skipped for a
    /// while), so that the caller tries the next server.
    async fn on_replica<T, F, Fut>(&self, replica: &Target, query: &F) -> Option<Result<T, DbErr>>
    where
        F: Fn(DatabaseConnection) -> Fut,
        Fut: Future<Output = Result<T, DbErr>>,
    {
        match query(replica.conn.clone()).await {
            Ok(rows) => {
                replica.succeeded();
                Some(Ok(rows))
            }
            Err(err) if is_unreachable(&err) => {
                let skip_for = replica.failed(self.backoff);
                tracing::warn!(replica = %replica.name, error = %err, ?skip_for, "replica unreachable; trying the next server");
                None
            }
            Err(err) => Some(Err(err)),
        }
    }

    /// The primary's current WAL position, taken after a commit so that later reads can wait for it
    /// (`Consistency::AtLeast`).
    pub async fn write_position(&self) -> Result<WalPosition, DbErr> {
        let row = self
            .primary()
            .conn
            .query_one_raw(Statement::from_string(
                DbBackend::Postgres,
                "SELECT pg_current_wal_lsn()::text AS lsn",
            ))
            .await?
            .ok_or_else(|| DbErr::Custom("pg_current_wal_lsn() returned no row".into()))?;
        let lsn: String = row.try_get("", "lsn")?;
        WalPosition::parse(&lsn).ok_or_else(|| DbErr::Custom(format!("pg_current_wal_lsn() returned {lsn}")))
    }

    async fn read_primary<T, F, Fut>(&self, query: F) -> Result<T, DbErr>
    where
        F: Fn(DatabaseConnection) -> Fut,
        Fut: Future<Output = Result<T, DbErr>>,
    {
        let primary = self.primary();
        let rows = query(primary.conn.clone()).await?;
        primary.reads_served.fetch_add(1, Ordering::Relaxed);
        Ok(rows)
    }

    /// Probes every server at once with `SELECT 1`, primary first.
    pub async fn probe(&self) -> Vec<(TargetStats, Probe)> {
        let targets = self.primaries.iter().chain(&self.replicas);
        let probes = targets.map(|target| async move {
            let probe = Probe::run(self.probe_timeout, target.conn.execute_unprepared("SELECT 1")).await;
            (target.stats(), probe)
        });
        futures::future::join_all(probes).await
    }

    /// Connections of each server's pool: (server, open, idle).
    pub fn pool_usage(&self) -> Vec<(String, u32, u32)> {
        self.primaries
            .iter()
            .chain(&self.replicas)
            .map(|target| {
                let pool = target.conn.get_postgres_connection_pool();
                (target.name.clone(), pool.size(), pool.num_idle() as u32)
            })
            .collect()
    }

    /// How many bytes of the primary's WAL each replica has yet to replay; `None` for a replica (or a
    /// primary) that did not answer within the probe timeout.
    pub async fn replica_lag_bytes(&self) -> Vec<(String, Option<f64>)> {
        let position = tokio::time::timeout(self.probe_timeout, self.write_position()).await;
        let position = position.ok().and_then(Result::ok);
        let lags = self.replicas.iter().map(|replica| async move {
            let replayed = tokio::time::timeout(self.probe_timeout, replica.replayed()).await.ok().flatten();
            let lag =
                position.zip(replayed).map(|(position, replayed)| position.bytes_after(replayed) as f64);
            (replica.name.clone(), lag)
        });
        futures::future::join_all(lags).await
    }

    pub fn stats(&self) -> Vec<TargetStats> {
        self.primaries.iter().chain(&self.replicas).map(Target::stats).collect()
    }
}

impl Target {
    async fn lazy(
        name: &str,
        role: TargetRole,
        url: &SecretString,
        pool_size: u32,
        timeout: Duration,
    ) -> Result<Self, DbErr> {
        let mut options = ConnectOptions::new(url.expose_secret().to_owned());
        options
            .max_connections(pool_size)
            .min_connections(0)
            .connect_timeout(timeout)
            .acquire_timeout(timeout)
            .test_before_acquire(false)
            .connect_lazy(true)
            .sqlx_logging(false);
        let mut conn = Database::connect(options).await?;
        let statements = Arc::new(AtomicU64::new(0));
        let counter = statements.clone();
        conn.set_metric_callback(move |_| {
            counter.fetch_add(1, Ordering::Relaxed);
        });
        Ok(Self {
            name: name.to_owned(),
            role,
            address: address_of(url),
            conn,
            reads_served: AtomicU64::new(0),
            statements,
            replayed: AtomicU64::new(0),
            health: Mutex::new(Health::default()),
        })
    }

    /// Where this candidate stands if it is writable: its timeline (the first eight hex digits of its
    /// current WAL file's name) and WAL position; none in recovery or without an answer in `timeout`.
    async fn standing(&self, timeout: Duration) -> Option<Standing> {
        // A look at the candidates lasts as long as its slowest answer: it must stay short, so that a
        // promotion is seen before a former primary can come back.
        let timeout = timeout.min(STANDING_TIMEOUT);
        const ASK: &str = "SELECT substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8) AS timeline, \
            pg_current_wal_lsn()::text AS position WHERE NOT pg_is_in_recovery()";
        let ask = self.conn.query_one_raw(Statement::from_string(DbBackend::Postgres, ASK));
        let row = tokio::time::timeout(timeout, ask).await.ok()?.ok()??;
        let timeline: String = row.try_get("", "timeline").ok()?;
        let position: String = row.try_get("", "position").ok()?;
        Some(Standing {
            timeline: u32::from_str_radix(&timeline, 16).ok()?,
            position: WalPosition::parse(&position)?,
        })
    }

    /// Whether this replica has replayed the WAL up to `position`, asking it only when what is
    /// already known falls short.
    async fn has_replayed(&self, position: WalPosition) -> bool {
        let required = position.offset();
        if self.replayed.load(Ordering::Relaxed) >= required {
            return true;
        }
        let replayed = self.replayed().await.unwrap_or_default().offset();
        self.replayed.fetch_max(replayed, Ordering::Relaxed);
        replayed >= required
    }

    /// How far this replica has replayed the primary's WAL; `None` when it does not say.
    async fn replayed(&self) -> Option<WalPosition> {
        let asked =
            Statement::from_string(DbBackend::Postgres, "SELECT pg_last_wal_replay_lsn()::text AS replayed");
        match self.conn.query_one_raw(asked).await {
            Ok(Some(row)) => {
                row.try_get::<String>("", "replayed").ok().as_deref().and_then(WalPosition::parse)
            }
            _ => None,
        }
    }

    fn in_backoff(&self) -> bool {
        let health = self.health.lock().expect("health lock is never held across a panic");
        health.skip_until.is_some_and(|until| Instant::now() < until)
    }

    fn succeeded(&self) {
        self.reads_served.fetch_add(1, Ordering::Relaxed);
        let mut health = self.health.lock().expect("health lock is never held across a panic");
        *health = Health::default();
    }

    fn failed(&self, base: Duration) -> Duration {
        let mut health = self.health.lock().expect("health lock is never held across a panic");
        let skip_for = base.saturating_mul(1 << health.consecutive_failures.min(16)).min(MAX_BACKOFF);
        health.consecutive_failures += 1;
        health.skip_until = Some(Instant::now() + skip_for);
        skip_for
    }

    fn stats(&self) -> TargetStats {
        TargetStats {
            name: self.name.clone(),
            role: self.role,
            address: self.address.clone(),
            reads_served: self.reads_served.load(Ordering::Relaxed),
            statements: self.statements.load(Ordering::Relaxed),
            in_backoff: self.in_backoff(),
        }
    }
}

/// `host:port` of a database URL, without credentials.
fn address_of(url: &SecretString) -> String {
    url::Url::parse(url.expose_secret())
        .map(|u| format!("{}:{}", u.host_str().unwrap_or("?"), u.port().unwrap_or(5432)))
        .unwrap_or_else(|_| "?".to_owned())
}
