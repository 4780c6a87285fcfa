//! Staff's edits of shipping and the VAT table: each one transaction on the primary, touching what
//! the cached answers about shipping show. Zone edits queue behind each other (an advisory lock), so
//! that the checks of which countries are free hold until they commit.

use std::sync::Arc;

use domain::shipping::{MethodDraft, ZoneDraft};
use domain::vat::VatRate;
use sea_orm::{ConnectionTrait, DatabaseTransaction, DbBackend, Statement, Value};
use uuid::Uuid;

use super::read_models::{MethodSetting, ZoneView};
use crate::db::DbRouter;
use crate::write_path::{Committed, Touch, WriteTx, refused};

/// Why a well-formed edit was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ShippingRejection {
    UnknownZone,
    UnknownMethod,
    /// These countries are in another zone already.
    CountriesTaken(Vec<String>),
    /// Another zone is the rest of the world.
    RestOfWorldTaken,
}

pub type Edited<T> = Result<Committed<Result<T, ShippingRejection>>, crate::Error>;

pub struct ShippingCommands {
    db: Arc<DbRouter>,
}

impl ShippingCommands {
    pub fn new(db: Arc<DbRouter>) -> Self {
        Self { db }
    }

    pub async fn create_zone(&self, draft: ZoneDraft) -> Edited<ZoneView> {
        self.save_zone(Uuid::now_v7(), draft, true).await
    }

    /// Replaces zone `id`'s name and countries; its methods stay.
    pub async fn update_zone(&self, id: Uuid, draft: ZoneDraft) -> Edited<ZoneView> {
        self.save_zone(id, draft, false).await
    }

    async fn save_zone(&self, id: Uuid, draft: ZoneDraft, new: bool) -> Edited<ZoneView> {
        let mut tx = WriteTx::begin(&self.db).await?;
        run(tx.conn(), "SELECT pg_advisory_xact_lock(hashtextextended('shipping zones', 0))", []).await?;
        if let Some(rejection) = conflicts(tx.conn(), id, &draft).await? {
            return refused(rejection);
        }
        let save = if new {
            "INSERT INTO shipping_zones (id, name, rest_of_world) VALUES ($1, $2, $3)"
        } else {
            "UPDATE shipping_zones SET name = $2, rest_of_world = $3 WHERE id = $1"
        };
        let values = [id.into(), draft.name.clone().into(), draft.rest_of_world.into()];
        if run(tx.conn(), save, values).await? == 0 {
            return refused(ShippingRejection::UnknownZone);
        }
        run(tx.conn(), "DELETE FROM shipping_zone_countries WHERE zone_id = $1", [id.into()]).await?;
        let place = "INSERT INTO shipping_zone_countries (country, zone_id) SELECT unnest($2::text[]), $1";
        run(tx.conn(), place, [id.into(), draft.countries.clone().into()]).await?;
        let methods = zone_methods(tx.conn(), id).await?;
        tx.touch(Touch::Shipping);
        let ZoneDraft { name, countries, rest_of_world } = draft;
        tx.commit(Ok(ZoneView { id, name, countries, rest_of_world, methods })).await
    }

    pub async fn create_method(&self, zone: Uuid, draft: MethodDraft) -> Edited<MethodSetting> {
        let create = "INSERT INTO shipping_methods (id, zone_id, name, price_minor, free_from_minor, min_days, \
            max_days) SELECT $1, id, $3, $4, $5, $6, $7 FROM shipping_zones WHERE id = $2";
        self.save_method(create, Uuid::now_v7(), zone.into(), draft, ShippingRejection::UnknownZone).await
    }

    /// Replaces method `id`'s name, rate and delivery window, and whether it is offered.
    pub async fn update_method(&self, id: Uuid, draft: MethodDraft, active: bool) -> Edited<MethodSetting> {
        let update = "UPDATE shipping_methods SET active = $2, name = $3, price_minor = $4, \
            free_from_minor = $5, min_days = $6, max_days = $7 WHERE id = $1";
        self.save_method(update, id, active.into(), draft, ShippingRejection::UnknownMethod).await
    }

    /// Runs `save` with $1 the method's id, $2 `second`, and the draft's fields from $3.
    async fn save_method(
        &self,
        save: &str,
        id: Uuid,
        second: Value,
        draft: MethodDraft,
        missing: ShippingRejection,
    ) -> Edited<MethodSetting> {
        let mut tx = WriteTx::begin(&self.db).await?;
        let MethodDraft { name, rate, delivery } = draft;
        let values = [
            id.into(),
            second,
            name.into(),
            rate.price_minor.into(),
            rate.free_from_minor.into(),
            delivery.min_days.into(),
            delivery.max_days.into(),
        ];
        if run(tx.conn(), save, values).await? == 0 {
            return refused(missing);
        }
        let saved = method_settings(tx.conn(), "m.id = $1", id).await?.pop();
        let saved = saved.ok_or_else(|| anyhow::anyhow!("shipping method {id} vanished as it was saved"))?;
        tx.touch(Touch::Shipping);
        tx.commit(Ok(saved)).await
    }

    /// Sets `country`'s VAT rate (a checked ISO code), adding it to the table if it was not there.
    pub async fn set_vat_rate(&self, country: &str, rate: VatRate) -> Result<Committed<()>, crate::Error> {
        let set = "INSERT INTO vat_rates (country, basis_points) VALUES ($1, $2) \
            ON CONFLICT (country) DO UPDATE SET basis_points = excluded.basis_points";
        self.edit_vat(set, [country.into(), rate.basis_points().into()]).await
    }

    /// Takes `country` out of the VAT table: orders shipped there bear no VAT.
    pub async fn remove_vat_rate(&self, country: &str) -> Result<Committed<()>, crate::Error> {
        self.edit_vat("DELETE FROM vat_rates WHERE country = $1", [country.into()]).await
    }

    async fn edit_vat<const N: usize>(
        &self,
        edit: &str,
        values: [Value; N],
    ) -> Result<Committed<()>, crate::Error> {
        let mut tx = WriteTx::begin(&self.db).await?;
        run(tx.conn(), edit, values).await?;
        tx.touch(Touch::Shipping);
        tx.commit(()).await
    }
}

/// Why zone `id` cannot be saved as `draft`: countries of other zones, or a second rest of the world.
async fn conflicts(
    txn: &DatabaseTransaction,
    id: Uuid,
    draft: &ZoneDraft,
) -> Result<Option<ShippingRejection>, crate::Error> {
    let taken = "SELECT country::text AS country FROM shipping_zone_countries \
        WHERE country = ANY($2::text[]) AND zone_id <> $1 ORDER BY country";
    let statement = Statement::from_sql_and_values(
        DbBackend::Postgres,
        taken,
        [id.into(), draft.countries.clone().into()],
    );
    let taken: Vec<String> = txn
        .query_all_raw(statement)
        .await?
        .iter()
        .map(|row| row.try_get("", "country"))
        .collect::<Result<_, _>>()?;
    if !taken.is_empty() {
        return Ok(Some(ShippingRejection::CountriesTaken(taken)));
    }
    let other_rest = "SELECT 1 FROM shipping_zones WHERE rest_of_world AND id <> $1";
    let statement = Statement::from_sql_and_values(DbBackend::Postgres, other_rest, [id.into()]);
    if draft.rest_of_world && txn.query_one_raw(statement).await?.is_some() {
        return Ok(Some(ShippingRejection::RestOfWorldTaken));
    }
    Ok(None)
}

async fn zone_methods(txn: &DatabaseTransaction, zone: Uuid) -> Result<Vec<MethodSetting>, crate::Error> {
    method_settings(txn, "m.zone_id = $1", zone).await
}

/// The methods `condition` ($1 `id`) picks, with their settings.
async fn method_settings(
    txn: &DatabaseTransaction,
    condition: &str,
    id: Uuid,
) -> Result<Vec<MethodSetting>, crate::Error> {
    let select = format!(
        "SELECT m.id, m.zone_id, m.name, m.price_minor, m.free_from_minor, m.min_days, m.max_days, m.active \
         FROM shipping_methods m WHERE {condition} ORDER BY m.price_minor, m.name, m.id"
    );
    let rows =
        txn.query_all_raw(Statement::from_sql_and_values(DbBackend::Postgres, select, [id.into()])).await?;
    rows.iter()
        .map(|row| {
            let method = super::queries::method_of(row)?.expect("every row has a method");
            Ok(MethodSetting {
                method,
                zone_id: row.try_get("", "zone_id")?,
                active: row.try_get("", "active")?,
            })
        })
        .collect()
}

/// Runs `sql` with `values`; how many rows it changed.
async fn run<const N: usize>(
    txn: &DatabaseTransaction,
    sql: &str,
    values: [Value; N],
) -> Result<u64, crate::Error> {
    let statement = Statement::from_sql_and_values(DbBackend::Postgres, sql, values);
    Ok(txn.execute_raw(statement).await?.rows_affected())
}
