//! Customer accounts: registration, authentication (on the primary) and profile reads.

use std::sync::Arc;

use chrono::Utc;
use domain::account::{Email, Password};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter, SqlErr,
};
use uuid::Uuid;

use crate::db::{Consistency, DbRouter};
use crate::entities::customer;
use crate::passwords;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("an account with this email exists already")]
pub struct EmailTaken;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("the current password is wrong")]
pub struct WrongPassword;

pub struct CustomerRepository {
    db: Arc<DbRouter>,
}

impl CustomerRepository {
    pub fn new(db: Arc<DbRouter>) -> Self {
        Self { db }
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
            Ok(customer) => Ok(Ok(customer)),
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

    pub async fn get(&self, id: Uuid, at: &Consistency) -> Result<Option<customer::Model>, crate::Error> {
        Ok(self.db.read_at(at, |db| async move { customer::Entity::find_by_id(id).one(&db).await }).await?)
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
