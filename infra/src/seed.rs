//! A realistic development catalogue, generated deterministically (the same rows on every machine, no
//! downloads): brands, a two-level category tree, and products with size × colour variants; and a
//! discount code to try.

use std::collections::HashSet;

use chrono::{DateTime, Duration, FixedOffset, TimeZone, Utc};
use domain::catalog::{Sku, Slug};
use rand::seq::{IndexedRandom, SliceRandom};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sea_orm::{
    ActiveValue::Set, ConnectionTrait, DatabaseConnection, DbBackend, DbErr, EntityTrait, PaginatorTrait,
    Statement, TransactionTrait,
};
use uuid::Uuid;

use crate::entities::{brand, category, product, variant};

/// How many products the development seed makes.
pub const PRODUCT_COUNT: usize = 240;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeedReport {
    pub brands: usize,
    pub categories: usize,
    pub products: usize,
    pub variants: usize,
}

/// Fills an empty catalogue with `product_count` generated products; does nothing when the catalogue
/// already has products, so it can run on every start of the development server.
pub async fn seed_catalog(
    db: &DatabaseConnection,
    product_count: usize,
) -> Result<Option<SeedReport>, DbErr> {
    if product::Entity::find().count(db).await? > 0 {
        return Ok(None);
    }
    let catalogue = generate(product_count);
    let report = catalogue.report();
    let txn = db.begin().await?;
    brand::Entity::insert_many(catalogue.brands).exec(&txn).await?;
    category::Entity::insert_many(catalogue.categories).exec(&txn).await?;
    for chunk in catalogue.products.chunks(500) {
        product::Entity::insert_many(chunk.to_vec()).exec(&txn).await?;
    }
    for chunk in catalogue.variants.chunks(1000) {
        variant::Entity::insert_many(chunk.to_vec()).exec(&txn).await?;
    }
    txn.commit().await?;
    Ok(Some(report))
}

/// A code to try discounts with in development: 10 % off the whole cart, once per customer.
pub const WELCOME_CODE: &str = "WELCOME10";

/// Adds `WELCOME_CODE` unless a code of that name exists; whether it was added.
pub async fn seed_discount_code(db: &DatabaseConnection) -> Result<bool, DbErr> {
    let insert = "INSERT INTO discount_codes (id, code, percent_basis_points, per_customer_limit) \
        VALUES ($1, $2, 1000, 1) ON CONFLICT (code) DO NOTHING";
    let values = [Uuid::now_v7().into(), WELCOME_CODE.into()];
    let added = db.execute_raw(Statement::from_sql_and_values(DbBackend::Postgres, insert, values)).await?;
    Ok(added.rows_affected() == 1)
}

struct Catalogue {
    brands: Vec<brand::ActiveModel>,
    categories: Vec<category::ActiveModel>,
    products: Vec<product::ActiveModel>,
    variants: Vec<variant::ActiveModel>,
}

impl Catalogue {
    fn report(&self) -> SeedReport {
        SeedReport {
            brands: self.brands.len(),
            categories: self.categories.len(),
            products: self.products.len(),
            variants: self.variants.len(),
        }
    }
}

/// A kind of garment within a department: what it is called, how it is sized, what it costs.
struct Kind {
    department: &'static str,
    category: &'static str,
    nouns: &'static [&'static str],
    sizes: &'static [&'static str],
    materials: &'static [&'static str],
    /// Price range in whole currency units.
    price: (i64, i64),
}

const LETTER_SIZES: &[&str] = &["XS", "S", "M", "L", "XL"];
const WAIST_SIZES: &[&str] = &["26", "28", "30", "32", "34"];
const MENS_WAIST_SIZES: &[&str] = &["30", "32", "34", "36", "38"];
const KIDS_SIZES: &[&str] = &["4Y", "6Y", "8Y", "10Y", "12Y"];

const KINDS: &[Kind] = &[
    Kind {
        department: "Women",
        category: "Dresses",
        nouns: &["Midi Dress", "Wrap Dress", "Slip Dress", "Shirt Dress", "Maxi Dress"],
        sizes: LETTER_SIZES,
        materials: &["Linen", "Viscose", "Cotton Poplin", "Silk Blend"],
        price: (39, 149),
    },
    Kind {
        department: "Women",
        category: "Tops",
        nouns: &["Blouse", "Tank Top", "Boxy Tee", "Camisole", "Peplum Top"],
        sizes: LETTER_SIZES,
        materials: &["Organic Cotton", "Modal", "Linen", "Jersey"],
        price: (15, 59),
    },
    Kind {
        department: "Women",
        category: "Knitwear",
        nouns: &["Cardigan", "Crew Jumper", "Roll-Neck", "Knitted Vest"],
        sizes: LETTER_SIZES,
        materials: &["Merino", "Cashmere Blend", "Lambswool", "Cotton Knit"],
        price: (35, 169),
    },
    Kind {
        department: "Women",
        category: "Jeans",
        nouns: &["Straight Jeans", "Wide-Leg Jeans", "Mom Jeans", "Skinny Jeans"],
        sizes: WAIST_SIZES,
        materials: &["Rigid Denim", "Stretch Denim", "Organic Denim"],
        price: (45, 119),
    },
    Kind {
        department: "Women",
        category: "Coats",
        nouns: &["Trench Coat", "Wool Coat", "Puffer Jacket", "Denim Jacket"],
        sizes: LETTER_SIZES,
        materials: &["Wool Blend", "Cotton Gabardine", "Recycled Nylon", "Denim"],
        price: (79, 299),
    },
    Kind {
        department: "Women",
        category: "Skirts",
        nouns: &["Midi Skirt", "Pleated Skirt", "Mini Skirt", "Wrap Skirt"],
        sizes: LETTER_SIZES,
        materials: &["Satin", "Linen", "Corduroy", "Denim"],
        price: (29, 89),
    },
    Kind {
        department: "Men",
        category: "Shirts",
        nouns: &["Oxford Shirt", "Linen Shirt", "Overshirt", "Flannel Shirt"],
        sizes: LETTER_SIZES,
        materials: &["Cotton Oxford", "Linen", "Brushed Cotton", "Chambray"],
        price: (29, 99),
    },
    Kind {
        department: "Men",
        category: "T-Shirts",
        nouns: &["Crew Tee", "Pocket Tee", "Henley", "Long-Sleeve Tee"],
        sizes: LETTER_SIZES,
        materials: &["Organic Cotton", "Slub Jersey", "Heavyweight Cotton"],
        price: (12, 45),
    },
    Kind {
        department: "Men",
        category: "Knitwear",
        nouns: &["Crew Jumper", "Half-Zip", "Cardigan", "Cable Knit"],
        sizes: LETTER_SIZES,
        materials: &["Merino", "Lambswool", "Cotton Knit", "Cashmere Blend"],
        price: (39, 179),
    },
    Kind {
        department: "Men",
        category: "Jeans",
        nouns: &["Slim Jeans", "Straight Jeans", "Tapered Jeans", "Relaxed Jeans"],
        sizes: MENS_WAIST_SIZES,
        materials: &["Selvedge Denim", "Stretch Denim", "Organic Denim"],
        price: (49, 139),
    },
    Kind {
        department: "Men",
        category: "Jackets",
        nouns: &["Field Jacket", "Bomber", "Overcoat", "Harrington"],
        sizes: LETTER_SIZES,
        materials: &["Waxed Cotton", "Wool Blend", "Recycled Nylon", "Canvas"],
        price: (89, 329),
    },
    Kind {
        department: "Men",
        category: "Trousers",
        nouns: &["Chinos", "Pleated Trousers", "Cargo Trousers", "Drawstring Trousers"],
        sizes: MENS_WAIST_SIZES,
        materials: &["Cotton Twill", "Linen", "Ripstop", "Wool Blend"],
        price: (35, 109),
    },
    Kind {
        department: "Kids",
        category: "T-Shirts",
        nouns: &["Graphic Tee", "Striped Tee", "Long-Sleeve Tee"],
        sizes: KIDS_SIZES,
        materials: &["Organic Cotton", "Jersey"],
        price: (8, 25),
    },
    Kind {
        department: "Kids",
        category: "Hoodies",
        nouns: &["Zip Hoodie", "Pullover Hoodie", "Sweatshirt"],
        sizes: KIDS_SIZES,
        materials: &["Brushed Fleece", "Loopback Cotton"],
        price: (18, 45),
    },
    Kind {
        department: "Kids",
        category: "Jeans",
        nouns: &["Pull-On Jeans", "Slim Jeans", "Dungarees"],
        sizes: KIDS_SIZES,
        materials: &["Stretch Denim", "Organic Denim"],
        price: (15, 39),
    },
];

const BRANDS: &[&str] = &[
    "Northbound",
    "Atelier Nine",
    "Linnea",
    "Harbour & Co",
    "Fieldstone",
    "Kestrel",
    "Maison Ardent",
    "Tidewater",
    "Oakhaven",
    "Ribbon Row",
    "Sable & Thread",
    "Common Ground",
];

const COLOURS: &[&str] = &[
    "Black",
    "White",
    "Navy",
    "Grey Marl",
    "Ecru",
    "Olive",
    "Burgundy",
    "Camel",
    "Sky Blue",
    "Rust",
    "Forest Green",
    "Blush",
];

const STYLES: &[&str] = &[
    "Relaxed",
    "Slim",
    "Oversized",
    "Classic",
    "Cropped",
    "Tailored",
    "Everyday",
    "Soft",
    "Heritage",
    "Easy",
    "Structured",
    "Washed",
];

const CARE: &[&str] = &[
    "Machine wash at 30°C. Do not tumble dry.",
    "Hand wash cold. Dry flat.",
    "Dry clean only.",
    "Machine wash at 40°C inside out. Iron on low heat.",
];

fn generate(product_count: usize) -> Catalogue {
    let mut rng = ChaCha8Rng::seed_from_u64(0x4d79_436c_6f74_6865); // "MyClothe"
    let epoch =
        Utc.with_ymd_and_hms(2025, 1, 1, 9, 0, 0).single().expect("a valid fixed date").fixed_offset();
    let mut ids = UuidV7s { rng: ChaCha8Rng::seed_from_u64(7) };

    let brands: Vec<(Uuid, &str)> = BRANDS.iter().map(|name| (ids.at(epoch), *name)).collect();
    let (categories, leaf_ids) = category_tree(&mut ids, epoch);

    let mut products = Vec::with_capacity(product_count);
    let mut variants = Vec::new();
    let mut slugs = HashSet::new();
    for number in 1..=product_count {
        let kind = &KINDS[(number - 1) % KINDS.len()];
        let created_at = epoch + Duration::minutes(97 * number as i64);
        let product_id = ids.at(created_at);
        let (brand_id, brand_name) = *brands.choose(&mut rng).expect("brands are listed");
        let material = *kind.materials.choose(&mut rng).expect("every kind lists materials");
        let noun = *kind.nouns.choose(&mut rng).expect("every kind lists nouns");
        let name = format!("{} {material} {noun}", STYLES.choose(&mut rng).expect("styles are listed"));
        let slug = unique_slug(&name, &mut slugs);

        let base_price = rng.random_range(kind.price.0..=kind.price.1) * 100 + 99 - 100;
        let on_sale = rng.random_ratio(1, 6);
        let mut colours = COLOURS.to_vec();
        colours.shuffle(&mut rng);
        let colours = &colours[..rng.random_range(2..=4)];

        for (position, (colour, size)) in
            colours.iter().flat_map(|c| kind.sizes.iter().map(move |s| (*c, *s))).enumerate()
        {
            let sku =
                Sku::parse(&format!("MC-{number:05}-{size}-{}", colour.replace(' ', "").to_uppercase()))
                    .expect("generated SKUs follow the SKU rule");
            let stock = if rng.random_ratio(1, 8) { 0 } else { rng.random_range(1..=40) };
            variants.push(variant::ActiveModel {
                id: Set(ids.at(created_at)),
                product_id: Set(product_id),
                sku: Set(sku.as_str().to_owned()),
                size: Set(size.to_owned()),
                colour: Set(colour.to_owned()),
                price_minor: Set(if on_sale { base_price * 4 / 5 } else { base_price }),
                compare_at_minor: Set(on_sale.then_some(base_price)),
                stock_on_hand: Set(stock),
                position: Set(position as i32),
                created_at: Set(created_at),
                updated_at: Set(created_at),
            });
        }
        products.push(product::ActiveModel {
            id: Set(product_id),
            slug: Set(slug.as_str().to_owned()),
            description: Set(format!(
                "A {} {} in {}, cut for every day and made to last. Designed by {brand_name}.",
                STYLES.choose(&mut rng).expect("styles are listed").to_lowercase(),
                noun.to_lowercase(),
                material.to_lowercase(),
            )),
            name: Set(name),
            brand_id: Set(brand_id),
            category_id: Set(leaf_ids[(number - 1) % KINDS.len()]),
            material: Set(Some(material.to_owned())),
            care: Set(Some(CARE.choose(&mut rng).expect("care texts are listed").to_string())),
            images: Set((1..=3).map(|n| format!("/images/products/{slug}/{n}.jpg")).collect()),
            created_at: Set(created_at),
            updated_at: Set(created_at),
            archived_at: Set(None),
            price_from_minor: sea_orm::ActiveValue::NotSet,
        });
    }

    Catalogue {
        brands: brands
            .into_iter()
            .map(|(id, name)| brand::ActiveModel {
                id: Set(id),
                slug: Set(Slug::from_text(name).expect("brand names have letters").as_str().to_owned()),
                name: Set(name.to_owned()),
            })
            .collect(),
        categories,
        products,
        variants,
    }
}

/// Departments with one leaf category per kind, in `KINDS` order; returns the rows and the leaf ids.
fn category_tree(ids: &mut UuidV7s, at: DateTime<FixedOffset>) -> (Vec<category::ActiveModel>, Vec<Uuid>) {
    let mut rows = Vec::new();
    let mut departments: Vec<(&str, Uuid, String)> = Vec::new();
    let mut leaves = Vec::with_capacity(KINDS.len());
    for kind in KINDS {
        let department = match departments.iter().find(|(name, ..)| *name == kind.department) {
            Some(found) => found.clone(),
            None => {
                let slug = Slug::from_text(kind.department).expect("department names have letters");
                let id = ids.at(at);
                rows.push(category::ActiveModel {
                    id: Set(id),
                    parent_id: Set(None),
                    slug: Set(slug.as_str().to_owned()),
                    name: Set(kind.department.to_owned()),
                    path: Set(slug.as_str().to_owned()),
                    position: Set(departments.len() as i32),
                });
                departments.push((kind.department, id, slug.as_str().to_owned()));
                departments.last().expect("just pushed").clone()
            }
        };
        let (_, parent_id, parent_path) = department;
        let slug = Slug::from_text(&format!("{} {}", kind.department, kind.category))
            .expect("category names have letters");
        let id = ids.at(at);
        rows.push(category::ActiveModel {
            id: Set(id),
            parent_id: Set(Some(parent_id)),
            slug: Set(slug.as_str().to_owned()),
            name: Set(kind.category.to_owned()),
            path: Set(format!("{parent_path}/{slug}")),
            position: Set(leaves.len() as i32),
        });
        leaves.push(id);
    }
    (rows, leaves)
}

/// The slug of `name`, with a counter added when an earlier product already took it.
fn unique_slug(name: &str, taken: &mut HashSet<String>) -> Slug {
    let base = Slug::from_text(name).expect("generated names have letters");
    let slug = (1..)
        .map(|n| if n == 1 { base.to_string() } else { format!("{base}-{n}") })
        .find(|candidate| !taken.contains(candidate))
        .expect("some counter is free");
    taken.insert(slug.clone());
    Slug::parse(&slug).expect("a slug plus a counter is a slug")
}

/// Time-ordered UUIDv7 keys whose random part comes from a seeded generator, so the seed is the same
/// on every run.
struct UuidV7s {
    rng: ChaCha8Rng,
}

impl UuidV7s {
    fn at(&mut self, at: DateTime<FixedOffset>) -> Uuid {
        let random: [u8; 10] = self.rng.random();
        uuid::Builder::from_unix_timestamp_millis(at.timestamp_millis() as u64, &random).into_uuid()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_seed_is_the_same_on_every_run() {
        let skus = |c: &Catalogue| c.variants.iter().map(|v| v.sku.clone().unwrap()).collect::<Vec<_>>();
        let (a, b) = (generate(50), generate(50));
        assert_eq!(skus(&a), skus(&b));
        assert_eq!(
            a.products.iter().map(|p| p.id.clone().unwrap()).collect::<Vec<_>>(),
            b.products.iter().map(|p| p.id.clone().unwrap()).collect::<Vec<_>>()
        );
    }

    #[test]
    fn every_product_has_sizes_in_several_colours_and_unique_slugs() {
        let catalogue = generate(PRODUCT_COUNT);
        assert_eq!(catalogue.products.len(), PRODUCT_COUNT);
        let slugs: HashSet<_> = catalogue.products.iter().map(|p| p.slug.clone().unwrap()).collect();
        assert_eq!(slugs.len(), PRODUCT_COUNT);
        for product in &catalogue.products {
            let id = product.id.clone().unwrap();
            let variants: Vec<_> =
                catalogue.variants.iter().filter(|v| v.product_id.clone().unwrap() == id).collect();
            let colours: HashSet<_> = variants.iter().map(|v| v.colour.clone().unwrap()).collect();
            assert!(
                colours.len() >= 2 && variants.len() >= 10,
                "{} has {} variants",
                product.slug.clone().unwrap(),
                variants.len()
            );
        }
    }

    #[test]
    fn prices_are_positive_and_sales_are_cheaper() {
        for v in generate(PRODUCT_COUNT).variants {
            let price = v.price_minor.unwrap();
            assert!(price > 0);
            if let Some(was) = v.compare_at_minor.unwrap() {
                assert!(was > price);
            }
        }
    }
}
