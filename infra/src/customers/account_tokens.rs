//! The tokens of the links mailed to customers (`domain::account_token`), stored as their SHA-256:
//! issued by the worker as it writes the mail, redeemed once by the command the link leads to.

use domain::account_token::{AccountToken, TokenPurpose};
use sea_orm::{ConnectionTrait, DatabaseTransaction, DbBackend, Statement, Value};
use uuid::Uuid;

/// Whose account a new token opens.
pub(crate) enum Holder<'a> {
    /// The customer, if their email is not verified yet.
    Unverified(Uuid),
    /// The customer with this email, if there is one.
    Email(&'a str),
}

/// Whom a new token was issued to, for the mail that carries it.
pub(crate) struct Issued {
    pub token: AccountToken,
    pub email: String,
    pub name: String,
}

/// Issues a token for `purpose` as asked by `request`, to the account of `holder`: none when there is
/// no such account, or when `request` issued one already (a request handled twice makes one token, so
/// one mail). The account's expired tokens are deleted as it goes.
pub(crate) async fn issue(
    txn: &DatabaseTransaction,
    request: Uuid,
    purpose: TokenPurpose,
    holder: Holder<'_>,
) -> Result<Option<Issued>, crate::Error> {
    let token = AccountToken::from_random(rand::random());
    let (account, key): (&str, Value) = match holder {
        Holder::Unverified(id) => ("id = $5 AND email_verified_at IS NULL", id.into()),
        Holder::Email(email) => ("email = $5", email.into()),
    };
    let issue = format!(
        "WITH account AS (SELECT id, email, name FROM customers WHERE {account}),
         expired AS (DELETE FROM account_tokens WHERE customer_id IN (SELECT id FROM account) AND expires_at < now()),
         issued AS (INSERT INTO account_tokens (id, customer_id, purpose, token_hash, expires_at)
             SELECT $1, id, $2, $3, now() + make_interval(secs => $4) FROM account
             ON CONFLICT (id) DO NOTHING RETURNING customer_id)
         SELECT email, name FROM account JOIN issued ON issued.customer_id = account.id"
    );
    let values = [
        request.into(),
        purpose.as_str().into(),
        digest(&token).into(),
        purpose.lifetime().as_secs_f64().into(),
        key,
    ];
    let Some(row) =
        txn.query_one_raw(Statement::from_sql_and_values(DbBackend::Postgres, issue, values)).await?
    else {
        return Ok(None);
    };
    Ok(Some(Issued { token, email: row.try_get("", "email")?, name: row.try_get("", "name")? }))
}

/// Uses `token` for `purpose` if it is valid (issued for it, unused, not expired): the customer it
/// was issued to. Every other unused token of theirs for `purpose` is used up with it, so that one
/// reset ends every reset link mailed before.
pub(crate) async fn redeem(
    txn: &DatabaseTransaction,
    token: &AccountToken,
    purpose: TokenPurpose,
) -> Result<Option<Uuid>, crate::Error> {
    let redeem = "WITH redeemed AS (
            SELECT customer_id FROM account_tokens
            WHERE token_hash = $1 AND purpose = $2 AND used_at IS NULL AND expires_at > now()
            FOR UPDATE)
        UPDATE account_tokens SET used_at = now()
        WHERE customer_id IN (SELECT customer_id FROM redeemed) AND purpose = $2 AND used_at IS NULL
        RETURNING customer_id";
    let values = [digest(token).into(), purpose.as_str().into()];
    let rows = txn.query_all_raw(Statement::from_sql_and_values(DbBackend::Postgres, redeem, values)).await?;
    rows.first().map(|row| row.try_get("", "customer_id")).transpose().map_err(Into::into)
}

fn digest(token: &AccountToken) -> String {
    crate::digest::sha256_hex(token.as_str().as_bytes(), 32)
}
