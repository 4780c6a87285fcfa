use std::time::{Duration, Instant};

use deadpool_redis::redis::cmd;
use infra::cache::{CacheKey, Scope};
use serde_json::{Value, json};

use crate::support::TestApp;
use crate::support::catalog::CatalogFixture;

/// The payload of mutation `name` in `body`.
fn payload<'a>(body: &'a Value, name: &str) -> &'a Value {
    assert!(body["errors"].is_null(), "{body}");
    &body["data"][name]
}

fn codes(payload: &Value) -> Vec<(String, String)> {
    payload["userErrors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["field"].as_str().unwrap_or("").to_owned(), e["code"].as_str().unwrap().to_owned()))
        .collect()
}

fn pair(field: &str, code: &str) -> (String, String) {
    (field.to_owned(), code.to_owned())
}

#[tokio::test]
async fn catalogue_mutations_need_the_admin_role() {
    let app = TestApp::spawn().await;
    let create = r#"mutation { createBrand(input: { name: "Sneaky" }) { brand { slug } } }"#;

    let anonymous = app.post_graphql(create).await;
    assert_eq!(anonymous["errors"][0]["extensions"]["code"], "UNAUTHENTICATED");
    let guest = app.post_graphql("mutation { startSession { token } }").await;
    let guest_token = guest["data"]["startSession"]["token"].as_str().unwrap();
    let as_guest = app.post_graphql_as(guest_token, create).await;
    assert_eq!(as_guest["errors"][0]["extensions"]["code"], "FORBIDDEN");

    let as_admin = app.post_graphql_as(&app.admin_token().await, create).await;
    assert_eq!(payload(&as_admin, "createBrand")["brand"]["slug"], "sneaky");
}

#[tokio::test]
async fn an_admin_builds_a_product_that_the_storefront_then_lists() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let before = app.post_graphql("{ products { totalCount } }").await; // fills the cache
    assert_eq!(before["data"]["products"]["totalCount"], 0);

    let run = |query: String| {
        let (app, admin) = (&app, &admin);
        async move { app.post_graphql_as(admin, &query).await }
    };
    run(r#"mutation { createBrand(input: { name: "Fjord & Co" }) { brand { slug } } }"#.into()).await;
    run(r#"mutation { createCategory(input: { name: "Outerwear" }) { category { slug } } }"#.into()).await;
    let jackets = run(r#"mutation { createCategory(input: { name: "Rain Jackets", parent: "outerwear" }) { category { path } } }"#.into()).await;
    assert_eq!(payload(&jackets, "createCategory")["category"]["path"], "outerwear/rain-jackets");
    let created = run(r#"mutation { createProduct(input: { name: "Storm Shell", brand: "fjord-co", category: "rain-jackets",
        description: "Taped seams.", material: "Recycled nylon", images: ["/images/storm/1.jpg"] }) { product { id slug } userErrors { code } } }"#.into())
        .await;
    let product = &payload(&created, "createProduct")["product"];
    assert_eq!(product["slug"], "storm-shell");
    let id = product["id"].as_str().unwrap();
    let added = run(format!(
        r#"mutation {{ addVariant(productId: "{id}", input: {{ sku: "SS-M-NAVY", size: "M", colour: "Navy", price: 12900, compareAtPrice: 15900, stock: 7 }})
           {{ variant {{ id sku price {{ amount }} compareAtPrice {{ amount }} quantityAvailable product {{ name }} }} userErrors {{ code }} }} }}"#
    ))
    .await;
    let variant = &payload(&added, "addVariant")["variant"];
    assert_eq!(variant["price"]["amount"], "129.00");
    assert_eq!(variant["product"]["name"], "Storm Shell", "the payload reads the primary");

    let listed = app
        .post_graphql(
            "{ products { totalCount edges { node { name category { path } variants { sku } } } } }",
        )
        .await;
    assert_eq!(
        listed["data"]["products"]["totalCount"], 1,
        "the cached empty listing was invalidated: {listed}"
    );
    assert_eq!(listed["data"]["products"]["edges"][0]["node"]["category"]["path"], "outerwear/rain-jackets");

    let variant_id = variant["id"].as_str().unwrap();
    let stocked = run(format!(r#"mutation {{ adjustStock(variantId: "{variant_id}", delta: -7) {{ variant {{ quantityAvailable inStock }} }} }}"#)).await;
    assert_eq!(
        payload(&stocked, "adjustStock")["variant"],
        json!({ "quantityAvailable": 0, "inStock": false })
    );
    let renamed = run(format!(r#"mutation {{ updateProduct(id: "{id}", input: {{ name: "Storm Shell 2", slug: "storm-shell-2" }}) {{ product {{ slug name description }} }} }}"#)).await;
    assert_eq!(
        payload(&renamed, "updateProduct")["product"],
        json!({ "slug": "storm-shell-2", "name": "Storm Shell 2", "description": "Taped seams." })
    );
    let archived =
        run(format!(r#"mutation {{ archiveProduct(id: "{id}") {{ product {{ slug }} }} }}"#)).await;
    assert_eq!(payload(&archived, "archiveProduct")["product"]["slug"], "storm-shell-2");
    let gone =
        app.post_graphql(r#"{ product(slug: "storm-shell-2") { name } products { totalCount } }"#).await;
    assert_eq!(gone["data"], json!({ "product": null, "products": { "totalCount": 0 } }));
}

#[tokio::test]
async fn every_bad_field_and_refused_write_is_a_user_error() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let run = |query: String| {
        let (app, admin) = (&app, &admin);
        async move { app.post_graphql_as(admin, &query).await }
    };
    run(r#"mutation { createBrand(input: { name: "Acme" }) { brand { slug } } }"#.into()).await;
    run(r#"mutation { createCategory(input: { name: "Tops" }) { category { slug } } }"#.into()).await;

    let bad = run(r#"mutation { createProduct(input: { name: " ", slug: "Bad Slug", brand: "acme", category: "tops" }) { product { id } userErrors { field code } } }"#.into()).await;
    assert_eq!(
        codes(payload(&bad, "createProduct")),
        [pair("input.name", "INVALID_VALUE"), pair("input.slug", "INVALID_VALUE")]
    );
    let unknown = run(r#"mutation { createProduct(input: { name: "Tee", brand: "nobody", category: "tops" }) { product { id } userErrors { field code } } }"#.into()).await;
    assert_eq!(codes(payload(&unknown, "createProduct")), [pair("input", "UNKNOWN_BRAND")]);
    let tee = run(r#"mutation { createProduct(input: { name: "Tee", brand: "acme", category: "tops" }) { product { id } } }"#.into()).await;
    let id = payload(&tee, "createProduct")["product"]["id"].as_str().unwrap().to_owned();
    let again = run(r#"mutation { createProduct(input: { name: "Tee", brand: "acme", category: "tops" }) { product { id } userErrors { field code } } }"#.into()).await;
    assert_eq!(codes(payload(&again, "createProduct")), [pair("input", "SLUG_TAKEN")]);

    let variant = |sku: &str, size: &str, price: i32, stock: i32| {
        format!(
            r#"mutation {{ addVariant(productId: "{id}", input: {{ sku: "{sku}", size: "{size}", colour: "Red", price: {price}, stock: {stock} }}) {{ variant {{ id }} userErrors {{ field code }} }} }}"#
        )
    };
    let negative = run(variant("TEE-M", "M", -100, -1)).await;
    assert_eq!(
        codes(payload(&negative, "addVariant")),
        [pair("input.price", "INVALID_PRICE"), pair("input.stock", "INVALID_STOCK")]
    );
    let first = run(variant("TEE-M", "M", 1500, 2)).await;
    let variant_id = payload(&first, "addVariant")["variant"]["id"].as_str().unwrap().to_owned();
    assert_eq!(
        codes(payload(&run(variant("TEE-M", "L", 1500, 2)).await, "addVariant")),
        [pair("input", "SKU_TAKEN")]
    );
    assert_eq!(
        codes(payload(&run(variant("TEE-M2", "M", 1500, 2)).await, "addVariant")),
        [pair("input", "VARIANT_TAKEN")]
    );

    let below_zero = run(format!(r#"mutation {{ adjustStock(variantId: "{variant_id}", delta: -3) {{ variant {{ id }} userErrors {{ field code }} }} }}"#)).await;
    assert_eq!(codes(payload(&below_zero, "adjustStock")), [pair("delta", "INVALID_STOCK")]);
    let crossed = run(format!(r#"mutation {{ setPrice(variantId: "{variant_id}", price: 2000, compareAtPrice: 1000) {{ variant {{ id }} userErrors {{ field code }} }} }}"#)).await;
    assert_eq!(codes(payload(&crossed, "setPrice")), [pair("compareAtPrice", "INVALID_PRICE")]);
    let malformed_id =
        run(r#"mutation { setPrice(variantId: "nope", price: 1) { variant { id } } }"#.into()).await;
    assert_eq!(malformed_id["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");

    let stock = app.post_graphql(&format!(r#"{{ node(id: "{variant_id}") {{ ... on Variant {{ quantityAvailable price {{ amount }} }} }} }}"#)).await;
    assert_eq!(
        stock["data"]["node"],
        json!({ "quantityAvailable": 2, "price": { "amount": "15.00" } }),
        "refused writes changed nothing"
    );
}

#[tokio::test]
async fn a_price_change_removes_the_products_cached_entry() {
    let app = TestApp::spawn().await;
    let mut catalog = CatalogFixture::new(&app.primary);
    let (brand, category) = (catalog.brand("Kite").await, catalog.category("Hats", None).await);
    catalog.product("Bucket Hat", brand, category.0, &[("M", "Sand", 2500, 3)]).await;
    app.wait_for_replica().await;
    let product = app.post_graphql(r#"{ product(slug: "bucket-hat") { variants { id } } }"#).await;
    let variant_id = product["data"]["product"]["variants"][0]["id"].as_str().unwrap().to_owned();
    let cache = &app.services.cache;
    let generation_key = cache.generation_key(Scope::Catalog);
    let generation =
        app.redis::<Option<String>>(cmd("GET").arg(&generation_key)).await.unwrap_or_else(|| "0".into());
    let entry = cache.redis_key(&generation, CacheKey::ProductBySlug("bucket-hat"));
    assert!(app.redis::<bool>(cmd("EXISTS").arg(&entry)).await);

    let admin = app.admin_token().await;
    app.post_graphql_as(
        &admin,
        &format!(r#"mutation {{ setPrice(variantId: "{variant_id}", price: 1999) {{ variant {{ id }} }} }}"#),
    )
    .await;

    assert!(!app.redis::<bool>(cmd("EXISTS").arg(&entry)).await, "{entry} is gone");
    let same_generation =
        app.redis::<Option<String>>(cmd("GET").arg(&generation_key)).await.unwrap_or_else(|| "0".into());
    assert_eq!(same_generation, generation, "a price change keeps the rest of the catalogue cached");
    let fresh = app.post_graphql(r#"{ product(slug: "bucket-hat") { priceFrom { amount } } }"#).await;
    assert_eq!(fresh["data"]["product"]["priceFrom"]["amount"], "19.99");
}

#[tokio::test]
async fn the_writer_reads_its_write_at_once_while_the_replica_lags_two_seconds() {
    let (app, replica) = TestApp::spawn_with_delayed_replica("2s").await;
    let port = replica.port;
    let mut catalog = CatalogFixture::new(&app.primary);
    let (brand, category) = (catalog.brand("Kite").await, catalog.category("Hats", None).await);
    catalog.product("Bucket Hat", brand, category.0, &[("M", "Sand", 2500, 3)]).await;
    let admin = app.admin_token().await;
    app.wait_for_replica_on(port).await;
    let product =
        app.post_graphql(r#"{ product(slug: "bucket-hat") { priceFrom { amount } variants { id } } }"#).await;
    assert_eq!(product["data"]["product"]["priceFrom"]["amount"], "25.00");
    let variant_id = product["data"]["product"]["variants"][0]["id"].as_str().unwrap().to_owned();
    let price_query = r#"{ product(slug: "bucket-hat") { priceFrom { amount } } }"#;

    let written_at = Instant::now();
    app.post_graphql_as(
        &admin,
        &format!(r#"mutation {{ setPrice(variantId: "{variant_id}", price: 1999) {{ variant {{ id }} }} }}"#),
    )
    .await;

    // The writer sees its write at once, although the only replica is two seconds behind.
    let own_read = app.post_graphql_as(&admin, price_query).await;
    assert_eq!(own_read["data"]["product"]["priceFrom"]["amount"], "19.99");
    // A plain replica read, as any other session's uncached read, still sees the old price …
    let replica_read = || async {
        let row = app
            .services
            .db
            .read(|db| async move {
                use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
                infra::entities::product::Entity::find()
                    .filter(infra::entities::product::Column::Slug.eq("bucket-hat"))
                    .one(&db)
                    .await
            })
            .await
            .unwrap()
            .unwrap();
        row.price_from_minor.unwrap()
    };
    assert_eq!(replica_read().await, 2500, "the replica lags");
    assert!(written_at.elapsed() < Duration::from_secs(2), "the check ran within the lag");
    // … and the cache never keeps it: other sessions get the new price from the primary meanwhile.
    assert_eq!(app.post_graphql(price_query).await["data"]["product"]["priceFrom"]["amount"], "19.99");
    // Once the delay has passed, the replica has it too.
    tokio::time::sleep(
        Duration::from_secs(2).saturating_sub(written_at.elapsed()) + Duration::from_millis(500),
    )
    .await;
    app.wait_for_replica_on(port).await;
    assert_eq!(replica_read().await, 1999);
}

/// Five wrong passwords lock a staff account out for the address they came from, not for its owner
/// elsewhere.
#[tokio::test]
async fn five_failed_staff_logins_lock_the_account_out_for_their_address() {
    let app = TestApp::spawn_with(&["--trusted-proxies", "127.0.0.1"]).await;
    app.admin_token().await;
    let login = |password: &str| {
        format!(
            r#"mutation {{ staffLogin(input: {{ email: "admin@myclothes.test", password: "{password}" }}) {{ token userErrors {{ code }} }} }}"#
        )
    };

    for _ in 0..5 {
        let wrong = app.post_graphql(&login("not the password")).await;
        assert_eq!(wrong["data"]["staffLogin"]["userErrors"], json!([{ "code": "INVALID_CREDENTIALS" }]));
    }
    let locked = app.post_graphql(&login("a long admin password")).await;

    assert_eq!(
        locked["data"]["staffLogin"],
        json!({ "token": null, "userErrors": [{ "code": "TOO_MANY_ATTEMPTS" }] })
    );
    let elsewhere = app
        .client
        .post(format!("{}/graphql", app.address))
        .header("x-forwarded-for", "203.0.113.50")
        .json(&json!({ "query": login("a long admin password") }))
        .send()
        .await
        .unwrap()
        .json::<serde_json::Value>()
        .await
        .unwrap();
    assert!(elsewhere["data"]["staffLogin"]["token"].is_string(), "{elsewhere}");
}
