//! Catalogue fixtures: small, exact catalogues written on the primary through the api's writer role.

use chrono::{DateTime, Duration, FixedOffset};
use infra::entities::{brand, category, product, variant};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, DatabaseConnection, NotSet};
use uuid::Uuid;

pub struct CatalogFixture<'a> {
    db: &'a DatabaseConnection,
    products: i64,
}

/// One variant: size, colour, price in minor units, stock.
pub type V<'a> = (&'a str, &'a str, i64, i32);

impl<'a> CatalogFixture<'a> {
    pub fn new(db: &'a DatabaseConnection) -> Self {
        Self { db, products: 0 }
    }

    pub async fn brand(&self, name: &str) -> Uuid {
        let id = Uuid::now_v7();
        brand::ActiveModel { id: Set(id), slug: Set(slug(name)), name: Set(name.to_owned()) }
            .insert(self.db)
            .await
            .expect("the brand is inserted");
        id
    }

    /// A category under `parent` (its id and path), or at the top.
    pub async fn category(&self, name: &str, parent: Option<&(Uuid, String)>) -> (Uuid, String) {
        let id = Uuid::now_v7();
        let path = match parent {
            Some((_, parent_path)) => format!("{parent_path}/{}", slug(name)),
            None => slug(name),
        };
        category::ActiveModel {
            id: Set(id),
            parent_id: Set(parent.map(|(id, _)| *id)),
            slug: Set(slug(name)),
            name: Set(name.to_owned()),
            path: Set(path.clone()),
            position: Set(0),
        }
        .insert(self.db)
        .await
        .expect("the category is inserted");
        (id, path)
    }

    /// A product made a minute after the previous one, so that NEWEST is the reverse of creation.
    pub async fn product(&mut self, name: &str, brand: Uuid, category: Uuid, variants: &[V<'_>]) -> Uuid {
        self.products += 1;
        let created_at = epoch() + Duration::minutes(self.products);
        let id = Uuid::now_v7();
        product::ActiveModel {
            id: Set(id),
            slug: Set(slug(name)),
            name: Set(name.to_owned()),
            description: Set(format!("The {name}.")),
            brand_id: Set(brand),
            category_id: Set(category),
            material: Set(None),
            care: Set(None),
            images: Set(vec![]),
            created_at: Set(created_at),
            updated_at: Set(created_at),
            archived_at: Set(None),
            price_from_minor: NotSet,
        }
        .insert(self.db)
        .await
        .expect("the product is inserted");
        for (position, (size, colour, price, stock)) in variants.iter().enumerate() {
            variant::ActiveModel {
                id: Set(Uuid::now_v7()),
                product_id: Set(id),
                sku: Set(format!("{}-{size}-{colour}", slug(name)).to_uppercase()),
                size: Set(size.to_string()),
                colour: Set(colour.to_string()),
                price_minor: Set(*price),
                compare_at_minor: Set(None),
                stock_on_hand: Set(*stock),
                position: Set(position as i32),
                created_at: Set(created_at),
                updated_at: Set(created_at),
            }
            .insert(self.db)
            .await
            .expect("the variant is inserted");
        }
        id
    }
}

fn epoch() -> DateTime<FixedOffset> {
    DateTime::parse_from_rfc3339("2026-01-01T09:00:00+00:00").expect("a valid date")
}

pub fn slug(name: &str) -> String {
    domain::catalog::Slug::from_text(name).expect("fixture names have letters").to_string()
}
