//! The shipping side's reads: what ships to a country through the cache, and the set-up for staff.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;

use domain::shipping::{DeliveryWindow, ShippingMethod, ShippingRate};
use domain::vat::VatRate;
use sea_orm::{ConnectionTrait, DbBackend, DbErr, QueryResult, Statement};
use uuid::Uuid;

use super::read_models::{Destination, MethodSetting, ZoneView};
use crate::cache::{CacheKey, CachedQuery, ReadCache, Reads, Tag};
use crate::db::{Consistency, DbRouter};

pub struct ShippingQueries {
    db: Arc<DbRouter>,
    cache: Arc<ReadCache>,
}

impl ShippingQueries {
    pub fn new(db: Arc<DbRouter>, cache: Arc<ReadCache>) -> Self {
        Self { db, cache }
    }

    /// What ships to `country` (an ISO 3166-1 alpha-2 code), and its VAT rate.
    pub async fn destination(&self, country: &str, reads: &Reads) -> Result<Destination, crate::Error> {
        self.cache.fetch(&DestinationQuery { db: &self.db, country }, reads).await
    }

    /// Every zone with all its methods, offered or not, the rest of the world last.
    pub async fn zones(&self, reads: &Reads) -> Result<Vec<ZoneView>, crate::Error> {
        const ZONES: &str = "SELECT z.id AS zone_id, z.name AS zone_name, z.rest_of_world, \
            coalesce((SELECT array_agg(c.country::text ORDER BY c.country) FROM shipping_zone_countries c \
            WHERE c.zone_id = z.id), '{}') AS countries, m.id, m.name, m.price_minor, m.free_from_minor, \
            m.min_days, m.max_days, m.active \
            FROM shipping_zones z LEFT JOIN shipping_methods m ON m.zone_id = z.id \
            ORDER BY z.rest_of_world, z.name, z.id, m.price_minor, m.name, m.id";
        let rows = self
            .db
            .read_at(&reads.consistency(), |db| async move {
                db.query_all_raw(Statement::from_string(DbBackend::Postgres, ZONES)).await
            })
            .await?;
        let mut zones: Vec<ZoneView> = Vec::new();
        for row in rows {
            let id: Uuid = row.try_get("", "zone_id")?;
            if zones.last().is_none_or(|zone| zone.id != id) {
                zones.push(ZoneView {
                    id,
                    name: row.try_get("", "zone_name")?,
                    countries: row.try_get("", "countries")?,
                    rest_of_world: row.try_get("", "rest_of_world")?,
                    methods: Vec::new(),
                });
            }
            if let Some(method) = method_of(&row)? {
                let active = row.try_get("", "active")?;
                let zone = zones.last_mut().expect("a zone was pushed for this row");
                zone.methods.push(MethodSetting { method, zone_id: id, active });
            }
        }
        Ok(zones)
    }

    /// The VAT table: the rate of each country whose VAT the shop charges.
    pub async fn vat_rates(&self, reads: &Reads) -> Result<BTreeMap<String, VatRate>, crate::Error> {
        const RATES: &str = "SELECT country::text AS country, basis_points FROM vat_rates";
        let rows = self
            .db
            .read_at(&reads.consistency(), |db| async move {
                db.query_all_raw(Statement::from_string(DbBackend::Postgres, RATES)).await
            })
            .await?;
        rows.iter()
            .map(|row| Ok((row.try_get("", "country")?, vat_rate_of(row.try_get("", "basis_points")?)?)))
            .collect()
    }
}

/// What ships to `country`, cheapest first, and its VAT rate (none when the table has no rate for
/// it), in one statement.
pub(crate) async fn destination(conn: &impl ConnectionTrait, country: &str) -> Result<Destination, DbErr> {
    const DESTINATION: &str = "SELECT v.basis_points, m.id, m.name, m.price_minor, m.free_from_minor, \
        m.min_days, m.max_days \
        FROM (SELECT $1::text AS country) d \
        LEFT JOIN vat_rates v ON v.country = d.country \
        LEFT JOIN shipping_methods m ON m.active AND m.zone_id = coalesce( \
            (SELECT zone_id FROM shipping_zone_countries WHERE country = d.country), \
            (SELECT id FROM shipping_zones WHERE rest_of_world)) \
        ORDER BY m.price_minor, m.max_days, m.name, m.id";
    let statement = Statement::from_sql_and_values(DbBackend::Postgres, DESTINATION, [country.into()]);
    let rows = conn.query_all_raw(statement).await?;
    let points: Option<i32> = match rows.first() {
        Some(row) => row.try_get("", "basis_points")?,
        None => None,
    };
    Ok(Destination {
        methods: rows.iter().map(method_of).filter_map(Result::transpose).collect::<Result<_, _>>()?,
        vat_rate: points.map(vat_rate_of).transpose()?.unwrap_or(VatRate::NONE),
    })
}

/// The method in `row`, if the row has one.
pub(super) fn method_of(row: &QueryResult) -> Result<Option<ShippingMethod>, DbErr> {
    let Some(id) = row.try_get::<Option<Uuid>>("", "id")? else { return Ok(None) };
    Ok(Some(ShippingMethod {
        id,
        name: row.try_get("", "name")?,
        rate: ShippingRate {
            price_minor: row.try_get("", "price_minor")?,
            free_from_minor: row.try_get("", "free_from_minor")?,
        },
        delivery: DeliveryWindow {
            min_days: row.try_get("", "min_days")?,
            max_days: row.try_get("", "max_days")?,
        },
    }))
}

fn vat_rate_of(points: i32) -> Result<VatRate, DbErr> {
    VatRate::from_basis_points(points).map_err(|e| DbErr::Type(format!("a stored VAT rate: {e}")))
}

struct DestinationQuery<'a> {
    db: &'a DbRouter,
    country: &'a str,
}

impl CachedQuery for DestinationQuery<'_> {
    type Value = Destination;

    fn key(&self) -> CacheKey<'_> {
        CacheKey::ShippingTo(self.country)
    }

    fn shows(&self) -> Vec<Tag> {
        vec![Tag::Shipping]
    }

    fn load(&self, at: Consistency) -> impl Future<Output = Result<Self::Value, crate::Error>> + Send {
        let (db, country) = (self.db, self.country);
        async move { Ok(db.read_at(&at, |db| async move { destination(&db, country).await }).await?) }
    }
}
