//! The customers' query side: profiles (the account with its address book) through the cache, and
//! the check of a customer's credentials, on the primary (a login must see an account made a moment
//! ago).

use std::future::Future;
use std::sync::Arc;

use domain::account::Email;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use uuid::Uuid;

use super::read_models::Profile;
use crate::cache::{CacheKey, CachedQuery, ReadCache, Reads};
use crate::db::{Consistency, DbRouter};
use crate::entities::{address, customer};
use crate::passwords;

pub struct CustomerQueries {
    db: Arc<DbRouter>,
    cache: Arc<ReadCache>,
}

impl CustomerQueries {
    pub fn new(db: Arc<DbRouter>, cache: Arc<ReadCache>) -> Self {
        Self { db, cache }
    }

    pub async fn profile(&self, id: Uuid, reads: &Reads) -> Result<Option<Profile>, crate::Error> {
        self.cache.fetch(&ProfileQuery { db: &self.db, id }, reads).await
    }

    /// The id of the customer with `email` and `password`. An unknown email costs the same hashing
    /// time as a wrong password.
    pub async fn authenticate(&self, email: &Email, password: &str) -> Result<Option<Uuid>, crate::Error> {
        let email = email.to_string();
        let account =
            self.db
                .read_at(&Consistency::Primary, |db| {
                    let email = email.clone();
                    async move {
                        customer::Entity::find().filter(customer::Column::Email.eq(email)).one(&db).await
                    }
                })
                .await?;
        let matches = passwords::verify(password, account.as_ref().map(|a| a.password_hash.as_str())).await;
        Ok(account.filter(|_| matches).map(|account| account.id))
    }
}

/// A profile is in a scope of its own, which every write to it renews: it has no tags.
struct ProfileQuery<'a> {
    db: &'a DbRouter,
    id: Uuid,
}

impl CachedQuery for ProfileQuery<'_> {
    type Value = Option<Profile>;

    fn key(&self) -> CacheKey<'_> {
        CacheKey::Profile(self.id)
    }

    fn load(&self, at: Consistency) -> impl Future<Output = Result<Self::Value, crate::Error>> + Send {
        let id = self.id;
        async move {
            let (account, addresses) = self
                .db
                .read_at(&at, |db| async move {
                    let account = customer::Entity::find_by_id(id).one(&db).await?;
                    let addresses = address::Entity::find()
                        .filter(address::Column::CustomerId.eq(id))
                        .order_by_asc(address::Column::CreatedAt)
                        .order_by_asc(address::Column::Id)
                        .all(&db)
                        .await?;
                    Ok((account, addresses))
                })
                .await?;
            Ok(account.map(|account| Profile::of(account, addresses)))
        }
    }
}
