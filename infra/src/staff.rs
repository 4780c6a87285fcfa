//! Staff accounts: created and removed from the command line, authenticated on the primary.

use std::sync::Arc;

use domain::account::{Email, Password};
use domain::session::Session;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QuerySelect, SqlErr,
};
use uuid::Uuid;

use crate::db::{Consistency, DbRouter};
use crate::entities::staff;
use crate::passwords;
use crate::session_registry::SessionRegistry;
use crate::write_path::WriteTx;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("a staff account with this email exists already")]
pub struct EmailTaken;

pub struct StaffRepository {
    db: Arc<DbRouter>,
}

impl StaffRepository {
    pub fn new(db: Arc<DbRouter>) -> Self {
        Self { db }
    }

    pub async fn create(
        &self,
        email: &Email,
        password: &Password,
    ) -> Result<Result<Uuid, EmailTaken>, crate::Error> {
        let id = Uuid::now_v7();
        let account = staff::ActiveModel {
            id: Set(id),
            email: Set(email.to_string()),
            password_hash: Set(passwords::hash(password).await?),
            created_at: Set(chrono::Utc::now().fixed_offset()),
        };
        let tx = WriteTx::begin(&self.db).await?;
        match account.insert(tx.conn()).await {
            Ok(_) => Ok(Ok(tx.commit(id).await?.into_unobserved())),
            Err(err) if matches!(err.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
                Ok(Err(EmailTaken))
            }
            Err(err) => Err(err.into()),
        }
    }

    /// Removes the staff account with `email`, ending its sessions first: the answer is its id, or
    /// none when there is no such account. A failure after the sessions ended leaves the account in
    /// place but signed out everywhere, never signed in after its removal.
    pub async fn remove(
        &self,
        email: &Email,
        sessions: &SessionRegistry,
    ) -> Result<Option<Uuid>, crate::Error> {
        let tx = WriteTx::begin(&self.db).await?;
        let account = staff::Entity::find()
            .filter(staff::Column::Email.eq(email.to_string()))
            .lock_exclusive()
            .one(tx.conn())
            .await?;
        let Some(account) = account else { return Ok(None) };
        sessions.end_all(&Session::staff_subject(account.id)).await?;
        staff::Entity::delete_by_id(account.id).exec(tx.conn()).await?;
        Ok(Some(tx.commit(account.id).await?.into_unobserved()))
    }

    /// The id of the staff account with `email` and `password`. Read on the primary (a login must see
    /// an account created a moment ago); an unknown email costs the same hashing time as a wrong
    /// password.
    pub async fn authenticate(&self, email: &str, password: &str) -> Result<Option<Uuid>, crate::Error> {
        let account = match Email::parse(email) {
            Ok(email) => {
                let email = email.to_string();
                self.db
                    .read_at(&Consistency::Primary, |db| {
                        let email = email.clone();
                        async move { staff::Entity::find().filter(staff::Column::Email.eq(email)).one(&db).await }
                    })
                    .await?
            }
            Err(_) => None,
        };
        let matches = passwords::verify(password, account.as_ref().map(|a| a.password_hash.as_str())).await;
        Ok(account.filter(|_| matches).map(|a| a.id))
    }
}
