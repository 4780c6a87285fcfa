//! Mail. Every message goes into the mail sink, a table on the primary, in the transaction of what it
//! is about, under a key of what it is about (so that an event handled twice sends it once). The sink
//! is the record of what was sent; `smtp` delivers its messages when an SMTP server is configured.

pub mod smtp;

use sea_orm::{ConnectionTrait, DatabaseTransaction, DbBackend, Statement};

/// The storefront, whose pages the mails link to.
#[derive(Debug, Clone)]
pub struct Storefront {
    /// Without a fragment: its pages are `#/<route>` under it.
    pub url: url::Url,
}

impl Storefront {
    /// The link to the storefront's page at `route`.
    pub(crate) fn page(&self, route: &str) -> String {
        format!("{}#/{route}", self.url)
    }
}

pub(crate) struct Message {
    pub subject: String,
    /// Plain text, lines ended by CRLF.
    pub body: String,
}

/// A message on its way into the mail sink.
pub(crate) struct Posting {
    /// What it is about: a second posting with the same key is not kept.
    pub key: String,
    pub recipient: String,
    pub message: Message,
}

/// Puts `postings` into the mail sink in one statement, each unless one with its key is there already.
pub(crate) async fn post(txn: &DatabaseTransaction, postings: &[Posting]) -> Result<(), crate::Error> {
    if postings.is_empty() {
        return Ok(());
    }
    let insert = "INSERT INTO mail (key, recipient, subject, body) \
        SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) ON CONFLICT (key) DO NOTHING";
    let column =
        |field: fn(&Posting) -> &String| postings.iter().map(field).cloned().collect::<Vec<_>>().into();
    let values = [
        column(|p| &p.key),
        column(|p| &p.recipient),
        column(|p| &p.message.subject),
        column(|p| &p.message.body),
    ];
    txn.execute_raw(Statement::from_sql_and_values(DbBackend::Postgres, insert, values)).await?;
    Ok(())
}
