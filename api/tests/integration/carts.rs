use std::time::{Duration, Instant};

use domain::cart::CartOwner;
use domain::session::{Role, Session};
use infra::carts::CartStore;
use infra::session_registry::Liveness;
use sea_orm::ConnectionTrait;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::support::catalog::CatalogFixture;
use crate::support::process::ServerProcess;
use crate::support::redis::OwnRedis;
use crate::support::{TestApp, TestDatabase};

/// Global variant IDs of a shop with a tee (S, M, L; M has 200 in stock), a sold-out cap and an
/// archived bag.
pub struct Shop {
    pub tee_s: String,
    pub tee_m: String,
    pub tee_l: String,
    pub cap: String,
    pub bag: String,
}

pub async fn shop(app: &TestApp) -> Shop {
    let mut catalog = CatalogFixture::new(&app.primary);
    let (brand, category) = (catalog.brand("Loom").await, catalog.category("Basics", None).await);
    let tee = [("S", "White", 1500, 5), ("M", "White", 1500, 200), ("L", "White", 1700, 5)];
    catalog.product("Loom Tee", brand, category.0, &tee).await;
    catalog.product("Loom Cap", brand, category.0, &[("One", "Black", 900, 0)]).await;
    catalog.product("Loom Bag", brand, category.0, &[("One", "Tan", 2500, 4)]).await;
    app.primary
        .execute_unprepared("UPDATE products SET archived_at = now() WHERE slug = 'loom-bag'")
        .await
        .unwrap();
    app.wait_for_replica().await;
    let body = app.post_graphql(r#"{ t: product(slug: "loom-tee") { variants { id } } c: product(slug: "loom-cap") { variants { id } } }"#).await;
    let variant = |product: &str, index: usize| {
        body["data"][product]["variants"][index]["id"].as_str().unwrap().to_owned()
    };
    let bag = variant_id_of(app, "loom-bag").await;
    Shop { tee_s: variant("t", 0), tee_m: variant("t", 1), tee_l: variant("t", 2), cap: variant("c", 0), bag }
}

/// The global ID of the first variant of a product, archived or not, read on the primary.
async fn variant_id_of(app: &TestApp, slug: &str) -> String {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    let product = infra::entities::product::Entity::find()
        .filter(infra::entities::product::Column::Slug.eq(slug))
        .one(&app.primary)
        .await
        .unwrap()
        .unwrap();
    let variant = infra::entities::variant::Entity::find()
        .filter(infra::entities::variant::Column::ProductId.eq(product.id))
        .one(&app.primary)
        .await
        .unwrap()
        .unwrap();
    base64_global_id("Variant", variant.id)
}

pub fn base64_global_id(kind: &str, id: Uuid) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{kind}:{id}"))
}

pub const CART: &str = "cart { lines { variant { sku product { name } } quantity unitPrice { amount } lineTotal { amount } \
                    warnings { code } } totalQuantity subtotal { amount currencyCode } }";

pub fn add(variant: &str, quantity: i32) -> String {
    format!(
        r#"mutation {{ addToCart(variantId: "{variant}", quantity: {quantity}) {{ token {CART} userErrors {{ field code }} }} }}"#
    )
}

pub fn lines(cart: &Value) -> Vec<(String, i64)> {
    cart["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| (l["variant"]["sku"].as_str().unwrap().to_owned(), l["quantity"].as_i64().unwrap()))
        .collect()
}

pub fn codes(payload: &Value) -> Vec<String> {
    payload["userErrors"].as_array().unwrap().iter().map(|e| e["code"].as_str().unwrap().to_owned()).collect()
}

/// The guest cart of the session of `token`.
pub fn guest_cart_of(token: &str) -> CartOwner {
    use base64::Engine;
    let payload =
        base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(token.split('.').nth(1).unwrap()).unwrap();
    let claims: Value = serde_json::from_slice(&payload).unwrap();
    CartOwner::parse(&format!("session:{}", claims["sid"].as_str().unwrap())).expect("a session id")
}

/// The cart of a new session, a guest's or `customer`'s, and what a change to it checks of the
/// session, as the storefront's calls have them.
fn shopper(app: &TestApp, customer: Option<Uuid>) -> (CartOwner, Liveness) {
    let mut session = infra::tokens::Tokens::new_session();
    if let Some(customer) = customer {
        session = Session::of_customer(session.id, customer, 0);
    }
    (CartOwner::of(&session), app.services.sessions.liveness(&session))
}

#[tokio::test]
async fn a_guest_cart_starts_a_session_and_is_priced_from_the_catalogue() {
    let app = TestApp::spawn().await;
    let shop = shop(&app).await;

    let first = app.post_graphql(&add(&shop.tee_m, 2)).await;
    let token = first["data"]["addToCart"]["token"].as_str().expect("a session was started").to_owned();
    let second = app.post_graphql_as(&token, &add(&shop.tee_l, 1)).await;
    assert!(second["data"]["addToCart"]["token"].is_null(), "the session is reused");
    let again = app.post_graphql_as(&token, &add(&shop.tee_m, 1)).await;

    let cart = &again["data"]["addToCart"]["cart"];
    assert_eq!(lines(cart), [("LOOM-TEE-M-WHITE".to_owned(), 3), ("LOOM-TEE-L-WHITE".to_owned(), 1)]);
    assert_eq!(cart["lines"][0]["lineTotal"]["amount"], "45.00");
    assert_eq!(cart["lines"][0]["variant"]["product"]["name"], "Loom Tee");
    assert_eq!(cart["totalQuantity"], 4);
    assert_eq!(cart["subtotal"], json!({ "amount": "62.00", "currencyCode": "EUR" }));
    let read = app.post_graphql_as(&token, &format!("{{ {CART} }}")).await;
    assert_eq!(&read["data"]["cart"], cart);
    assert_eq!(
        app.post_graphql(&format!("{{ {CART} }}")).await["data"]["cart"]["lines"],
        json!([]),
        "no session, no cart"
    );
}

#[tokio::test]
async fn fifty_concurrent_adds_to_one_cart_lose_no_update() {
    let app = TestApp::spawn().await;
    let shop = shop(&app).await;
    let token =
        app.post_graphql("mutation { startSession { token } }").await["data"]["startSession"]["token"]
            .as_str()
            .unwrap()
            .to_owned();

    let one_more = add(&shop.tee_m, 1);
    let adds = (0..50).map(|_| app.post_graphql_as(&token, &one_more));
    let answers = futures::future::join_all(adds).await;

    assert!(answers.iter().all(|a| a["data"]["addToCart"]["userErrors"] == json!([])));
    let cart = app.post_graphql_as(&token, &format!("{{ {CART} }}")).await;
    assert_eq!(lines(&cart["data"]["cart"]), [("LOOM-TEE-M-WHITE".to_owned(), 50)]);
}

#[tokio::test]
async fn limits_and_unknown_variants_are_user_errors_that_leave_the_cart_unchanged() {
    let app = TestApp::spawn().await;
    let shop = shop(&app).await;
    let token = app.post_graphql(&add(&shop.tee_s, 98)).await["data"]["addToCart"]["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let unknown = base64_global_id("Variant", Uuid::now_v7());

    for (query, code) in [
        (add(&shop.tee_s, 2), "INVALID_QUANTITY"),
        (add(&shop.tee_m, 0), "INVALID_QUANTITY"),
        (add(&shop.tee_m, 100), "INVALID_QUANTITY"),
        (add(&unknown, 1), "UNKNOWN_VARIANT"),
        (add(&shop.bag, 1), "UNKNOWN_VARIANT"),
        (add(&shop.cap, 1), "OUT_OF_STOCK"),
        (
            format!(
                r#"mutation {{ updateCartLine(variantId: "{}", quantity: 100) {{ {CART} userErrors {{ code }} }} }}"#,
                shop.tee_s
            ),
            "INVALID_QUANTITY",
        ),
    ] {
        let body = app.post_graphql_as(&token, &query).await;
        let payload = body["data"].as_object().unwrap().values().next().unwrap();
        assert_eq!(codes(payload), [code], "{query}");
        assert_eq!(lines(&payload["cart"]), [("LOOM-TEE-S-WHITE".to_owned(), 98)], "{query}");
    }
    let malformed = app.post_graphql_as(&token, &add("not-an-id", 1)).await;
    assert_eq!(malformed["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
    let over_get = app.get(&format!("/graphql?query={}", urlencode(&add(&shop.tee_m, 1)))).await;
    assert_eq!(over_get.status(), 405, "a cart mutation over GET is refused");
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") })
        .collect()
}

#[tokio::test]
async fn a_cart_holds_at_most_100_lines() {
    let app = TestApp::spawn().await;
    let store = CartStore::new(app.services.redis.clone(), Duration::from_secs(60));
    let (session, live) = shopper(&app, None);
    let quantity = domain::cart::Quantity::parse(1).unwrap();
    for _ in 0..100 {
        store.add(&session, &live, Uuid::now_v7(), quantity, 100).await.unwrap().unwrap();
    }

    let refused = store.add(&session, &live, Uuid::now_v7(), quantity, 100).await.unwrap();

    let Err(infra::carts::CartRejection::LineLimit(shown)) = refused else { panic!("{refused:?}") };
    let held = store.get(&session).await.unwrap();
    assert_eq!((held.lines.len(), shown), (100, held), "the refusal shows the cart as it is");
}

/// The script that refuses a line past its limit answers with the cart as it is, so the refusal needs
/// no second look at the cart.
#[tokio::test]
async fn a_line_past_its_limit_is_refused_with_the_cart_as_it_is() {
    let app = TestApp::spawn().await;
    let store = CartStore::new(app.services.redis.clone(), Duration::from_secs(60));
    let (session, live) = shopper(&app, None);
    let (variant, q) = (Uuid::now_v7(), |n| domain::cart::Quantity::parse(n).unwrap());
    store.add(&session, &live, variant, q(98), 100).await.unwrap().unwrap();

    let refused = store.add(&session, &live, variant, q(2), 100).await.unwrap();

    let Err(infra::carts::CartRejection::QuantityLimit(shown)) = refused else { panic!("{refused:?}") };
    let lines: Vec<(Uuid, u32)> = shown.lines.iter().map(|line| (line.variant_id, line.quantity)).collect();
    assert_eq!(lines, [(variant, 98)]);
    assert_eq!(shown, store.get(&session).await.unwrap());
}

/// The code applied to a cart lives in the cart's hash without being one of its lines: a full cart
/// still takes it, a sign-in's merge carries it over, and the order it went with takes it away.
#[tokio::test]
async fn a_carts_discount_code_is_no_line_follows_a_merge_and_leaves_with_the_order() {
    let app = TestApp::spawn().await;
    let store = CartStore::new(app.services.redis.clone(), Duration::from_secs(60));
    let ((guest, live), (customer, _)) = (shopper(&app, None), shopper(&app, Some(Uuid::now_v7())));
    let quantity = domain::cart::Quantity::parse(1).unwrap();
    let code = domain::discount::Code::parse("welcome10").unwrap();
    store.set_code(&guest, &live, &code).await.unwrap().unwrap();
    let variants: Vec<Uuid> = (0..100).map(|_| Uuid::now_v7()).collect();
    for variant in &variants {
        store.add(&guest, &live, *variant, quantity, 100).await.unwrap().unwrap();
    }

    let merged = store.merge(&guest, &customer).await.unwrap();

    assert_eq!((merged.lines.len(), merged.discount_code.as_ref()), (100, Some(&code)));
    let ordered: Vec<(Uuid, u32)> = variants.iter().map(|variant| (*variant, 1)).collect();
    let left = store.take(&customer, &ordered).await.unwrap();
    assert_eq!(left, infra::carts::StoredCart::default(), "no line and no code left");
}

/// Two merges of one guest cart at once (a login retried while the first is under way) move its
/// lines once, also where the two carts are in different slots and a merge takes several steps.
#[tokio::test]
async fn a_guest_cart_merged_twice_at_once_is_added_once() {
    let app = TestApp::spawn().await;
    let store = CartStore::new(app.services.redis.clone(), Duration::from_secs(60));
    let ((guest, live), (customer, _)) = (shopper(&app, None), shopper(&app, Some(Uuid::now_v7())));
    let variant = Uuid::now_v7();
    store.add(&guest, &live, variant, domain::cart::Quantity::parse(2).unwrap(), 100).await.unwrap().unwrap();

    let (first, second) = tokio::join!(store.merge(&guest, &customer), store.merge(&guest, &customer));

    assert!(first.is_ok() && second.is_ok(), "{first:?} {second:?}");
    let cart = store.get(&customer).await.unwrap();
    assert_eq!(
        cart.lines.iter().map(|line| (line.variant_id, line.quantity)).collect::<Vec<_>>(),
        [(variant, 2)]
    );
    assert!(store.get(&guest).await.unwrap().lines.is_empty(), "the guest cart is gone");
}

/// A staff member's session shows a guest cart of its own; once every session of the account is
/// ended (the account removed), its cart changes are refused, also where the account's generation is
/// in another slot than the cart (a cluster).
#[tokio::test]
async fn a_staff_sessions_cart_changes_end_with_its_account() {
    let app = TestApp::spawn().await;
    let store = CartStore::new(app.services.redis.clone(), Duration::from_secs(60));
    let subject = Session::staff_subject(Uuid::now_v7());
    let id = infra::tokens::Tokens::new_session().id;
    let session = Session { id, subject: Some(subject.clone()), role: Some(Role::Admin), generation: 0 };
    let (owner, live) = (CartOwner::of(&session), app.services.sessions.liveness(&session));
    let one = domain::cart::Quantity::parse(1).unwrap();
    assert!(store.add(&owner, &live, Uuid::now_v7(), one, 100).await.unwrap().is_ok());

    app.services.sessions.end_all(&subject).await.unwrap();

    let refused = store.add(&owner, &live, Uuid::now_v7(), one, 100).await.unwrap();
    assert_eq!(refused, Err(infra::carts::CartRejection::SessionEnded));
    let looked = store.look(&owner, &live).await.unwrap();
    assert_eq!(looked, Err(infra::carts::CartRejection::SessionEnded));
}

#[tokio::test]
async fn lines_change_are_removed_and_cleared_and_warn_about_price_and_stock() {
    let app = TestApp::spawn().await;
    let shop = shop(&app).await;
    let token = app.post_graphql(&add(&shop.tee_s, 3)).await["data"]["addToCart"]["token"]
        .as_str()
        .unwrap()
        .to_owned();
    app.post_graphql_as(&token, &add(&shop.tee_l, 1)).await;
    let run = |query: String| {
        let (app, token) = (&app, &token);
        async move { app.post_graphql_as(token, &query).await }
    };

    let updated = run(format!(
        r#"mutation {{ updateCartLine(variantId: "{}", quantity: 4) {{ {CART} }} }}"#,
        shop.tee_s
    ))
    .await;
    assert_eq!(
        lines(&updated["data"]["updateCartLine"]["cart"]),
        [("LOOM-TEE-S-WHITE".to_owned(), 4), ("LOOM-TEE-L-WHITE".to_owned(), 1)]
    );

    let admin = app.admin_token().await;
    let tee_s = shop.tee_s.clone();
    app.post_graphql_as(
        &admin,
        &format!(r#"mutation {{ setPrice(variantId: "{tee_s}", price: 1200) {{ variant {{ id }} }} }}"#),
    )
    .await;
    app.post_graphql_as(
        &admin,
        &format!(r#"mutation {{ adjustStock(variantId: "{tee_s}", delta: -2) {{ variant {{ id }} }} }}"#),
    )
    .await;
    let warned = run(format!("{{ {CART} }}")).await;
    let line = &warned["data"]["cart"]["lines"][0];
    assert_eq!(line["warnings"], json!([{ "code": "INSUFFICIENT_STOCK" }, { "code": "PRICE_CHANGED" }]));
    assert_eq!(line["unitPrice"]["amount"], "12.00", "priced at today's price");

    let removed =
        run(format!(r#"mutation {{ removeFromCart(variantId: "{}") {{ {CART} }} }}"#, shop.tee_l)).await;
    assert_eq!(lines(&removed["data"]["removeFromCart"]["cart"]), [("LOOM-TEE-S-WHITE".to_owned(), 4)]);
    let zero = run(format!(
        r#"mutation {{ updateCartLine(variantId: "{}", quantity: 0) {{ {CART} }} }}"#,
        shop.tee_s
    ))
    .await;
    assert_eq!(zero["data"]["updateCartLine"]["cart"]["lines"], json!([]));
    run(add(&shop.tee_m, 1)).await;
    let cleared = run(format!("mutation {{ clearCart {{ {CART} }} }}")).await;
    assert_eq!(cleared["data"]["clearCart"]["cart"]["totalQuantity"], 0);
    assert_eq!(run(format!("{{ {CART} }}")).await["data"]["cart"]["lines"], json!([]));
}

#[tokio::test]
async fn a_cart_survives_switching_instances_and_a_kill_9() {
    let db = TestDatabase::create().await;
    let prefix = format!("{}:", db.name);
    let app = TestApp::spawn_on(db, &[]).await;
    let shop = shop(&app).await;
    let shared = ["--redis-key-prefix", prefix.as_str()];
    let mut a = ServerProcess::start(&app.db, &shared).await;
    let b = ServerProcess::start(&app.db, &shared).await;

    let first = a.post_graphql(None, &add(&shop.tee_m, 2)).await;
    let token = first["data"]["addToCart"]["token"].as_str().unwrap().to_owned();
    let on_b = b.post_graphql(Some(&token), &format!("{{ {CART} }}")).await;
    assert_eq!(lines(&on_b["data"]["cart"]), [("LOOM-TEE-M-WHITE".to_owned(), 2)]);

    a.kill();
    b.post_graphql(Some(&token), &add(&shop.tee_l, 1)).await;
    let whole = b.post_graphql(Some(&token), &format!("{{ {CART} }}")).await;
    assert_eq!(
        lines(&whole["data"]["cart"]),
        [("LOOM-TEE-M-WHITE".to_owned(), 2), ("LOOM-TEE-L-WHITE".to_owned(), 1)]
    );
}

#[tokio::test]
async fn a_cart_survives_a_redis_restart() {
    let mut redis = OwnRedis::start_persistent().await;
    let app = TestApp::spawn_with(&["--redis-url", &redis.url()]).await;
    let shop = shop(&app).await;
    let token = app.post_graphql(&add(&shop.tee_m, 3)).await["data"]["addToCart"]["token"]
        .as_str()
        .unwrap()
        .to_owned();

    redis.shut_down();
    redis.restart().await;

    let mut cart = Value::Null;
    for _ in 0..30 {
        cart = app.post_graphql_as(&token, &format!("{{ {CART} }}")).await;
        if cart["errors"].is_null() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await; // the breaker's pause after the restart
    }
    assert_eq!(lines(&cart["data"]["cart"]), [("LOOM-TEE-M-WHITE".to_owned(), 3)], "{cart}");
}

#[tokio::test]
async fn with_redis_down_cart_calls_fail_fast_and_work_again_when_it_returns() {
    let mut redis = OwnRedis::start().await;
    let app = TestApp::spawn_with(&["--redis-url", &redis.url()]).await;
    let shop = shop(&app).await;
    let token = app.post_graphql(&add(&shop.tee_m, 1)).await["data"]["addToCart"]["token"]
        .as_str()
        .unwrap()
        .to_owned();

    redis.stop();
    for _ in 0..3 {
        let started = Instant::now();
        let body = app.post_graphql_as(&token, &add(&shop.tee_m, 1)).await;
        assert_eq!(body["errors"][0]["extensions"]["code"], "SERVICE_UNAVAILABLE", "{body}");
        assert!(started.elapsed() < Duration::from_secs(2), "a cart call hung for {:?}", started.elapsed());
    }

    redis.restart().await;
    let mut recovered = false;
    for _ in 0..30 {
        let body = app.post_graphql_as(&token, &add(&shop.tee_m, 1)).await;
        if body["errors"].is_null() {
            recovered = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(recovered, "cart calls did not work again within 3 s of Redis returning");
}

#[tokio::test]
async fn merging_adds_quantities_caps_them_and_loses_no_concurrent_add() {
    let app = TestApp::spawn().await;
    let store = CartStore::new(app.services.redis.clone(), Duration::from_secs(60));
    let ((guest, guest_live), (customer, live)) = (shopper(&app, None), shopper(&app, Some(Uuid::now_v7())));
    let (shared, guest_only, nearly_full) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
    let q = |n| domain::cart::Quantity::parse(n).unwrap();
    store.add(&guest, &guest_live, shared, q(2), 100).await.unwrap().unwrap();
    store.add(&guest, &guest_live, guest_only, q(1), 100).await.unwrap().unwrap();
    store.add(&guest, &guest_live, nearly_full, q(60), 100).await.unwrap().unwrap();
    store.add(&customer, &live, shared, q(3), 100).await.unwrap().unwrap();
    store.add(&customer, &live, nearly_full, q(60), 100).await.unwrap().unwrap();

    // Twenty adds to the customer's cart race the merge; none may be lost.
    let racing = (0..20).map(|_| store.add(&customer, &live, shared, q(1), 100));
    let (merged, adds) = tokio::join!(store.merge(&guest, &customer), futures::future::join_all(racing));
    assert!(merged.is_ok() && adds.iter().all(|a| matches!(a, Ok(Ok(_)))));

    let cart = store.get(&customer).await.unwrap();
    let quantity = |variant| cart.lines.iter().find(|l| l.variant_id == variant).map(|l| l.quantity);
    assert_eq!(quantity(shared), Some(2 + 3 + 20));
    assert_eq!(quantity(guest_only), Some(1));
    assert_eq!(quantity(nearly_full), Some(domain::cart::Quantity::MAX), "capped at the line limit");
    assert!(store.get(&guest).await.unwrap().lines.is_empty(), "the guest cart is gone");
}

#[tokio::test]
async fn every_change_renews_the_carts_expiry() {
    let app = TestApp::spawn().await;
    let store = CartStore::new(app.services.redis.clone(), Duration::from_secs(3));
    let (session, live) = shopper(&app, None);
    let key = app.cart_key(&session);
    assert!(key.contains(&format!("cart:{session}")), "{key}");
    let pttl = deadpool_redis::redis::cmd("PTTL").arg(&key).clone();
    let ttl = || app.redis::<i64>(&pttl);
    let one = domain::cart::Quantity::parse(1).unwrap();
    let variant = Uuid::now_v7();

    store.add(&session, &live, variant, one, 100).await.unwrap().unwrap();
    assert!((2000..=3000).contains(&ttl().await));
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(ttl().await <= 1600, "the expiry runs down");
    store.add(&session, &live, variant, one, 100).await.unwrap().unwrap();
    assert!(ttl().await > 2000, "a change renews it");
    tokio::time::sleep(Duration::from_millis(3200)).await;
    assert!(store.get(&session).await.unwrap().lines.is_empty(), "an untouched cart expires");
}
