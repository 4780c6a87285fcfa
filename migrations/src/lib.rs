//! The database schema, as sea-orm migrations written in plain SQL (one `.sql` file per direction).
//! Run as the owner role by `myclothes migrate`; the api's roles get their privileges from here.

use sea_orm_migration::prelude::*;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            sql_migration!("m20261122_000001_api_role_privileges"),
            sql_migration!("m20261122_000002_shop"),
            sql_migration!("m20261122_000003_catalog"),
            sql_migration!("m20261122_000004_catalog_listing"),
            sql_migration!("m20261122_000005_staff"),
            sql_migration!("m20261122_000006_customers"),
            sql_migration!("m20261122_000007_orders"),
            sql_migration!("m20261122_000008_mail"),
            sql_migration!("m20261201_000009_order_status_type"),
            sql_migration!("m20261201_000010_order_access_tokens"),
            sql_migration!("m20261201_000011_outbox_until_handled"),
            sql_migration!("m20261201_000012_checkout_saga"),
            sql_migration!("m20261201_000013_payments"),
            sql_migration!("m20261201_000014_payment_references"),
            sql_migration!("m20261201_000015_payment_events"),
            sql_migration!("m20261202_000016_shipping_and_vat"),
            sql_migration!("m20261202_000017_discount_codes"),
            sql_migration!("m20261202_000018_account_tokens_and_mail_delivery"),
            sql_migration!("m20261202_000019_stock_updates_in_place"),
        ]
    }
}

/// A migration whose `up` and `down` are the SQL files `sql/NAME.up.sql` and `sql/NAME.down.sql`.
struct SqlMigration {
    name: &'static str,
    up: &'static str,
    down: &'static str,
}

macro_rules! sql_migration {
    ($name:literal) => {
        Box::new(SqlMigration {
            name: $name,
            up: include_str!(concat!("sql/", $name, ".up.sql")),
            down: include_str!(concat!("sql/", $name, ".down.sql")),
        })
    };
}
use sql_migration;

impl MigrationName for SqlMigration {
    fn name(&self) -> &str {
        self.name
    }
}

#[async_trait::async_trait]
impl MigrationTrait for SqlMigration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.get_connection().execute_unprepared(self.up).await.map(drop)
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.get_connection().execute_unprepared(self.down).await.map(drop)
    }
}
pub use sea_orm_migration::MigratorTrait;
