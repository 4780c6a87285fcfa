//! Customer accounts: registration, authentication (on the primary), and profiles (the account with
//! its address book) read through the cache, which every profile write updates (write-through).

use std::sync::Arc;

use chrono::{DateTime, FixedOffset, Utc};
use domain::account::{Email, Password};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder,
    SqlErr,
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::cache::{CacheKey, ReadCache};
use crate::db::{Consistency, DbRouter};
use crate::entities::{address, customer};
use crate::passwords;

/// What a customer sees of their account: never the password hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Profile {
    pub id: Uuid,
    pub email: String,
    pub name: String,
    pub created_at: DateTime<FixedOffset>,
    /// Oldest first.
    pub addresses: Vec<address::Model>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("an account with this email exists already")]
pub struct EmailTaken;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("the current password is wrong")]
pub struct WrongPassword;

pub struct CustomerRepository {
    db: Arc<DbRouter>,
    cache: Arc<ReadCache>,
}

impl CustomerRepository {
    pub fn new(db: Arc<DbRouter>, cache: Arc<ReadCache>) -> Self {
        Self { db, cache }
    }

    pub async fn register(
        &self,
        email: &Email,
        password: &Password,
        name: &str,
    ) -> Result<Result<customer::Model, EmailTaken>, crate::Error> {
        let now = Utc::now().fixed_offset();
        let account = customer::ActiveModel {
            id: Set(Uuid::now_v7()),
            email: Set(email.to_string()),
            password_hash: Set(passwords::hash(password).await?),
            name: Set(name.to_owned()),
            created_at: Set(now),
            updated_at: Set(now),
        };
        match account.insert(self.db.write()).await {
            Ok(customer) => {
                self.profile_written(customer.id).await;
                Ok(Ok(customer))
            }
            Err(err) if matches!(err.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
                Ok(Err(EmailTaken))
            }
            Err(err) => Err(err.into()),
        }
    }

    /// The customer with `email` and `password`, read on the primary; an unknown email costs the same
    /// hashing time as a wrong password.
    pub async fn authenticate(
        &self,
        email: &Email,
        password: &str,
    ) -> Result<Option<customer::Model>, crate::Error> {
        let account = customer::Entity::find()
            .filter(customer::Column::Email.eq(email.as_str()))
            .one(self.db.write())
            .await?;
        let matches = passwords::verify(password, account.as_ref().map(|a| a.password_hash.as_str())).await;
        Ok(account.filter(|_| matches))
    }

    /// The profile of customer `id`, from the cache or else read with consistency `at` (or stricter).
    pub async fn profile(&self, id: Uuid, at: &Consistency) -> Result<Option<Profile>, crate::Error> {
        self.cache
            .get_or_load(CacheKey::Profile(id), |cache_at| {
                let at = if matches!(at, Consistency::Eventual) { cache_at } else { at.clone() };
                self.load_profile(id, at)
            })
            .await
    }

    /// After a write to customer `id`'s profile on the primary: the cache holds the written profile.
    /// When Redis cannot be told, the old entry lives out its TTL; the write stands.
    pub async fn profile_written(&self, id: Uuid) {
        let refreshed = match self.db.write_position().await {
            Ok(position) => {
                self.cache
                    .write_through(CacheKey::Profile(id), &position, |at| self.load_profile(id, at))
                    .await
            }
            Err(err) => Err(err.into()),
        };
        if let Err(err) = refreshed {
            tracing::warn!(error = %err, "the profile cache could not be updated");
        }
    }

    async fn load_profile(&self, id: Uuid, at: Consistency) -> Result<Option<Profile>, crate::Error> {
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
        Ok(account.map(|account| Profile {
            id: account.id,
            email: account.email,
            name: account.name,
            created_at: account.created_at,
            addresses,
        }))
    }

    pub async fn change_password(
        &self,
        id: Uuid,
        current: &str,
        new: &Password,
    ) -> Result<Result<(), WrongPassword>, crate::Error> {
        let account = customer::Entity::find_by_id(id).one(self.db.write()).await?;
        let Some(account) = account else { return Ok(Err(WrongPassword)) };
        if !passwords::verify(current, Some(&account.password_hash)).await {
            return Ok(Err(WrongPassword));
        }
        let mut account = account.into_active_model();
        account.password_hash = Set(passwords::hash(new).await?);
        account.updated_at = Set(Utc::now().fixed_offset());
        account.update(self.db.write()).await?;
        Ok(Ok(()))
    }
}
