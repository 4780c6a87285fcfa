//! The one way to write on the primary. A command runs in a `WriteTx`, says what it changes with
//! `touch` in the transaction that changes it, and `commit` hands back a `Committed<T>`: its answer
//! and what it touched. The answer comes out only through `WritePath::apply`, which reads where the
//! primary's WAL ends (past the command's commits), first makes the cache forget what the write
//! touched, and lets the writer's session read at least that far. So no code invalidates or records
//! a position by hand, and neither writing around the write path nor taking an answer without
//! applying it compiles:
//!
//! ```compile_fail
//! fn peek(committed: infra::write_path::Committed<u32>) -> u32 {
//!     committed.value
//! }
//! ```
//!
//! ```compile_fail
//! async fn write_around(db: &infra::db::DbRouter) {
//!     let _ = db.begin_write().await;
//! }
//! ```
//!
//! (Outside `infra`, the answer is reachable only through `apply`:)
//!
//! ```
//! async fn answer(path: &infra::write_path::WritePath, committed: infra::write_path::Committed<u32>) -> u32 {
//!     path.apply(committed, None).await
//! }
//! ```

use std::sync::Arc;
use std::time::Duration;

use domain::session::SessionId;
use sea_orm::{DatabaseTransaction, QueryResult, Statement};
use uuid::Uuid;

use crate::cache::{ReadCache, Scope, Tag};
use crate::db::{DbRouter, WalPosition};
use crate::session_registry::{LastWrite, SessionRegistry};

/// Something a command changed that readers may have cached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Touch {
    /// A variant's stock; `crossed_zero` when it ran out or came back.
    Stock { variant: Uuid, product: Uuid, crossed_zero: bool },
    /// A variant's price.
    Price { variant: Uuid, product: Uuid },
    /// Anything else of the catalogue: brands, categories, products, variants' names and sizes.
    Catalog,
    /// A customer's account or address book.
    Profile(Uuid),
    /// An order.
    Order(Uuid),
    /// The shipping zones and methods, or the VAT table.
    Shipping,
    /// A discount code's rules.
    DiscountCode,
}

/// A transaction on the primary for one command. Dropped without `commit`, it rolls back.
pub struct WriteTx {
    txn: DatabaseTransaction,
    touched: Vec<Touch>,
}

impl WriteTx {
    pub(crate) async fn begin(db: &DbRouter) -> Result<Self, crate::Error> {
        Ok(Self { txn: db.begin_write().await?, touched: Vec::new() })
    }

    /// The transaction, for statements.
    pub(crate) fn conn(&self) -> &DatabaseTransaction {
        &self.txn
    }

    pub(crate) fn touch(&mut self, touch: Touch) {
        self.touched.push(touch);
    }

    /// Commits, and answers `value` with what it touched.
    pub(crate) async fn commit<T>(self, value: T) -> Result<Committed<T>, crate::Error> {
        self.txn.commit().await?;
        Ok(Committed { value, touched: self.touched })
    }
}

/// A write of one statement that touches nothing a reader caches, so that it has no reader to tell:
/// run on its own, committed as it ends (a round trip, where a transaction takes three). How many
/// rows it changed.
pub(crate) async fn write_untouched(db: &DbRouter, statement: Statement) -> Result<u64, crate::Error> {
    Ok(db.write_alone(statement).await?.rows_affected())
}

/// As `write_untouched`, for a statement whose rows are its answer (`RETURNING`).
pub(crate) async fn write_untouched_returning(
    db: &DbRouter,
    statement: Statement,
) -> Result<Vec<QueryResult>, crate::Error> {
    db.write_alone_returning(statement).await
}

/// A write of one statement, committed as it ends (a round trip, where a transaction takes three),
/// that touches `touch` when it returns rows (`RETURNING`): its rows.
pub(crate) async fn write_returning(
    db: &DbRouter,
    statement: Statement,
    touch: Touch,
) -> Result<Committed<Vec<QueryResult>>, crate::Error> {
    let rows = db.write_alone_returning(statement).await?;
    let touched = if rows.is_empty() { Vec::new() } else { vec![touch] };
    Ok(Committed { value: rows, touched })
}

/// Where the WAL ends, after a command's commits: a position read after a commit covers it. The
/// write stands whatever happens next: without its position, readers are told of it all the same,
/// only without the guard against lagging replicas (see `WritePath::apply`).
async fn commit_position(db: &DbRouter) -> Option<WalPosition> {
    match db.write_position().await {
        Ok(position) => Some(position),
        Err(err) => {
            tracing::error!(error = %err, "a commit's WAL position could not be read");
            None
        }
    }
}

/// What a command committed: its answer, and what it touched (nothing, when it wrote nothing readers
/// must see).
#[must_use = "a command's answer is reached through WritePath::apply, which tells the readers of the write"]
pub struct Committed<T> {
    value: T,
    touched: Vec<Touch>,
}

impl<T> Committed<T> {
    /// An answer for which nothing was written: a refusal.
    pub(crate) fn nothing(value: T) -> Self {
        Self { value, touched: Vec::new() }
    }

    pub(crate) fn map<U>(self, change: impl FnOnce(T) -> U) -> Committed<U> {
        Committed { value: change(self.value), touched: self.touched }
    }

    /// The answer, apart from the commit that tells readers of the write.
    pub(crate) fn split(self) -> (T, Committed<()>) {
        (self.value, Committed { value: (), touched: self.touched })
    }

    /// The answer of `next`, a command that went on from this one in a transaction of its own: its
    /// readers are told of both commits.
    pub(crate) fn followed_by<U>(self, next: Committed<U>) -> Committed<U> {
        let mut touched = self.touched;
        touched.extend(next.touched);
        Committed { value: next.value, touched }
    }

    /// The answer of a write made outside any request, that touched nothing a reader caches: staff
    /// accounts made from the command line, the worker's outbox relay and order follow-up. A write
    /// that touches what is cached goes through `WritePath::apply`.
    pub(crate) fn into_unobserved(self) -> T {
        debug_assert!(invalidations(&self.touched).is_empty(), "{:?} needs the write path", self.touched);
        self.value
    }
}

/// The answer of a command refused before it wrote anything (its transaction rolls back as it is
/// dropped).
pub(crate) fn refused<T, R>(rejection: R) -> Result<Committed<Result<T, R>>, crate::Error> {
    Ok(Committed::nothing(Err(rejection)))
}

/// Tells the readers of each commit: the cache (in every instance, through Redis) and the session
/// that wrote.
pub struct WritePath {
    db: Arc<DbRouter>,
    cache: Arc<ReadCache>,
    sessions: Arc<SessionRegistry>,
}

/// How often a failed invalidation is tried again, until the entries it is about have expired.
const RETRY_EVERY: Duration = Duration::from_millis(250);

impl WritePath {
    pub fn new(db: Arc<DbRouter>, cache: Arc<ReadCache>, sessions: Arc<SessionRegistry>) -> Self {
        Self { db, cache, sessions }
    }

    /// The answer of `committed`, once the cache has forgotten what it touched and `session` (the
    /// writer's) will read at least as far as its commit: through the cache, which has forgotten,
    /// or, if it could not be told, around it. Neither can fail the write, which stands: an
    /// invalidation that cannot reach Redis is retried in the background until the entries it is
    /// about expire (while Redis is down, nobody reads them), and a session whose write cannot be
    /// kept reads like any other.
    pub async fn apply<T>(&self, committed: Committed<T>, session: Option<&SessionId>) -> T {
        let Committed { value, touched } = committed;
        if touched.is_empty() {
            return value;
        }
        let position = commit_position(&self.db).await;
        let (mut cache_told, mut published) = (true, 0);
        for invalidation in invalidations(&touched) {
            match invalidation.run(&self.cache, position).await {
                Ok(number) => published = published.max(number),
                Err(err) => {
                    tracing::warn!(error = %err, "the cache could not be told of a write; retrying");
                    tokio::spawn(invalidation.retry(self.cache.clone(), position));
                    cache_told = false;
                }
            }
        }
        if let (Some(session), Some(position)) = (session, position) {
            let write = LastWrite { position, cache_told, published: Some(published) };
            if let Err(err) = self.sessions.record_write(session, write).await {
                tracing::warn!(error = %err, "could not remember a session's write");
            }
        }
        value
    }
}

/// What one scope of the cache must forget.
#[derive(Debug, PartialEq, Eq)]
struct Invalidation {
    scope: Scope,
    tags: Vec<Tag>,
    new_generation: bool,
}

impl Invalidation {
    /// The number of the invalidation on the near caches' channel (0 when it published none there).
    async fn run(&self, cache: &ReadCache, position: Option<WalPosition>) -> Result<u64, crate::Error> {
        cache.invalidate(self.scope, &self.tags, self.new_generation, position).await
    }

    async fn retry(self, cache: Arc<ReadCache>, position: Option<WalPosition>) {
        let attempts = cache.longest_lifetime().as_millis() / RETRY_EVERY.as_millis() + 1;
        for _ in 0..attempts {
            tokio::time::sleep(RETRY_EVERY).await;
            if self.run(&cache, position).await.is_ok() {
                return;
            }
        }
        tracing::warn!(scope = ?self.scope, "the cache was never told of a write; its entries have expired since");
    }
}

/// The invalidations that make the cache forget everything in `touched`, one per scope.
fn invalidations(touched: &[Touch]) -> Vec<Invalidation> {
    let mut catalog = Invalidation { scope: Scope::Catalog, tags: Vec::new(), new_generation: false };
    let mut profiles = Vec::new();
    for touch in touched {
        match *touch {
            Touch::Stock { product, crossed_zero, .. } => {
                catalog.tags.push(Tag::Stock(product));
                if crossed_zero {
                    catalog.tags.extend([Tag::Availability(product), Tag::StockedListings]);
                }
            }
            Touch::Price { product, .. } => catalog.tags.extend([Tag::Price(product), Tag::PricedListings]),
            Touch::Catalog => catalog.new_generation = true,
            Touch::Shipping => catalog.tags.push(Tag::Shipping),
            Touch::DiscountCode => catalog.tags.push(Tag::Discounts),
            Touch::Profile(customer) => profiles.push(Invalidation {
                scope: Scope::Profile(customer),
                tags: Vec::new(),
                new_generation: true,
            }),
            // Orders are never cached: their reads follow the session's consistency.
            Touch::Order(_) => {}
        }
    }
    catalog.tags.sort();
    catalog.tags.dedup();
    profiles.dedup();
    let catalog_changed = catalog.new_generation || !catalog.tags.is_empty();
    catalog_changed.then_some(catalog).into_iter().chain(profiles).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stock_change_forgets_its_stock_and_only_a_crossing_of_zero_its_availability() {
        let (variant, product) = (Uuid::now_v7(), Uuid::now_v7());
        let sold = invalidations(&[Touch::Stock { variant, product, crossed_zero: false }]);
        let only_stock =
            Invalidation { scope: Scope::Catalog, tags: vec![Tag::Stock(product)], new_generation: false };
        assert_eq!(sold, [only_stock]);
        let sold_out = invalidations(&[Touch::Stock { variant, product, crossed_zero: true }]);
        assert_eq!(sold_out[0].tags, [Tag::Stock(product), Tag::Availability(product), Tag::StockedListings]);
        assert!(!sold_out[0].new_generation, "the rest of the catalogue stays cached");
    }

    #[test]
    fn a_price_forgets_its_prices_and_the_price_ordered_listings() {
        let (variant, product) = (Uuid::now_v7(), Uuid::now_v7());
        let repriced = invalidations(&[Touch::Price { variant, product }]);
        assert_eq!(repriced[0].tags, [Tag::Price(product), Tag::PricedListings]);
        assert!(!repriced[0].new_generation);
    }

    #[test]
    fn one_invalidation_per_scope_and_none_for_orders() {
        let (a, b, customer) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        let touched = [
            Touch::Stock { variant: a, product: a, crossed_zero: false },
            Touch::Stock { variant: b, product: a, crossed_zero: false },
            Touch::Order(b),
            Touch::Profile(customer),
            Touch::Catalog,
        ];
        assert_eq!(
            invalidations(&touched),
            [
                Invalidation { scope: Scope::Catalog, tags: vec![Tag::Stock(a)], new_generation: true },
                Invalidation { scope: Scope::Profile(customer), tags: vec![], new_generation: true },
            ]
        );
        assert_eq!(invalidations(&[Touch::Order(a)]), []);
    }
}
