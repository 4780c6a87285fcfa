use futures::future::join_all;
use sea_orm::ConnectionTrait;
use serde_json::{Value, json};

use crate::carts::{CART, add, lines};
use crate::support::catalog::CatalogFixture;
use crate::support::process::ServerProcess;
use crate::support::{TestApp, statement};

const ORDER: &str = "order { id number status email lines { sku productName size quantity unitPrice { amount } \
                     lineTotal { amount } } total { amount currencyCode } shippingAddress { name city country } \
                     payments { kind amount { amount } } }";

pub const ADDRESS: &str = r#"{ name: "Ada Lovelace", line1: "12 Rue de la Paix", city: "Paris", postalCode: "75002", country: "FR" }"#;

/// A shop selling one tee in two sizes, `stock` of each, at 20.00 and 22.00; their global variant IDs.
/// The default replica has replayed it.
pub async fn drop_tee(app: &TestApp, stock: i32) -> (String, String) {
    let mut catalog = CatalogFixture::new(&app.primary);
    let (brand, category) = (catalog.brand("Drop").await, catalog.category("Tees", None).await);
    let sizes = [("M", "Black", 2000, stock), ("L", "Black", 2200, stock)];
    catalog.product("Drop Tee", brand, category.0, &sizes).await;
    app.wait_for_replica().await;
    let id = |size: &str| {
        let sku = format!("DROP-TEE-{size}-BLACK");
        async move {
            let sql = format!("SELECT id FROM variants WHERE sku = '{sku}'");
            let row = &app.primary.query_one_raw(statement(&sql)).await.unwrap().unwrap();
            crate::carts::base64_global_id("Variant", row.try_get("", "id").unwrap())
        }
    };
    (id("M").await, id("L").await)
}

pub fn checkout(extra: &str, token: &str, key: &str) -> String {
    format!(
        r#"mutation {{ checkout(input: {{ {extra} paymentToken: "{token}", idempotencyKey: "{key}" }}) {{
            {ORDER} accessToken paymentAction {{ clientSecret }} userErrors {{ field code message variantId }} }} }}"#
    )
}

pub fn guest_checkout(token: &str, key: &str) -> String {
    checkout(&format!(r#"email: "Guest@Example.com", shippingAddress: {ADDRESS},"#), token, key)
}

/// A guest session with `quantity` of `variant` in its cart.
pub async fn guest_with(app: &TestApp, variant: &str, quantity: i32) -> String {
    let body = app.post_graphql(&add(variant, quantity)).await;
    body["data"]["addToCart"]["token"].as_str().unwrap_or_else(|| panic!("a guest cart: {body}")).to_owned()
}

pub async fn stock_of(app: &TestApp, sku: &str) -> i64 {
    let row = app
        .primary
        .query_one_raw(statement(&format!(
            "SELECT stock_on_hand::bigint AS n FROM variants WHERE sku = '{sku}'"
        )))
        .await
        .unwrap()
        .unwrap();
    row.try_get("", "n").unwrap()
}

pub async fn count(app: &TestApp, sql: &str) -> i64 {
    let row = &app.primary.query_one_raw(statement(sql)).await.unwrap().unwrap();
    row.try_get("", "n").unwrap()
}

fn codes(payload: &Value) -> Vec<String> {
    crate::carts::codes(payload)
}

#[tokio::test]
async fn a_guest_checks_out_and_finds_the_order_by_number_and_email() {
    let app = TestApp::spawn().await;
    let (medium, large) = drop_tee(&app, 10).await;
    let guest = guest_with(&app, &medium, 2).await;
    app.post_graphql_as(&guest, &add(&large, 1)).await;

    let body = app.post_graphql_as(&guest, &guest_checkout("tok_visa", "key-1")).await;

    let payload = &body["data"]["checkout"];
    assert_eq!(payload["userErrors"], json!([]), "{body}");
    let order = &payload["order"];
    let number = order["number"].as_str().unwrap().to_owned();
    assert!(number.starts_with("MC-") && number.len() == 9, "{number}");
    assert_eq!(order["status"], "PLACED");
    assert_eq!(order["email"], "guest@example.com");
    assert_eq!(order["total"], json!({ "amount": "62.00", "currencyCode": "EUR" }));
    assert_eq!(
        order["lines"][0],
        json!({ "sku": "DROP-TEE-M-BLACK", "productName": "Drop Tee", "size": "M", "quantity": 2, "unitPrice": { "amount": "20.00" }, "lineTotal": { "amount": "40.00" } })
    );
    assert_eq!(order["lines"][1]["sku"], "DROP-TEE-L-BLACK", "{body}");
    assert_eq!(order["payments"], json!([{ "kind": "AUTHORIZATION", "amount": { "amount": "62.00" } }]));
    assert_eq!(order["shippingAddress"], json!({ "name": "Ada Lovelace", "city": "Paris", "country": "FR" }));
    assert_eq!((stock_of(&app, "DROP-TEE-M-BLACK").await, stock_of(&app, "DROP-TEE-L-BLACK").await), (8, 9));
    let cart = app.post_graphql_as(&guest, &format!("{{ {CART} }}")).await;
    assert_eq!(cart["data"]["cart"]["lines"], json!([]), "the ordered lines left the cart");
    let placed = format!(
        "SELECT count(*) AS n FROM outbox WHERE event_type = 'order.placed' AND payload = jsonb_build_object(\
         'orderId', (SELECT id FROM orders), 'number', {}, 'status', 'placed')",
        number.trim_start_matches("MC-").trim_start_matches('0')
    );
    assert_eq!(count(&app, &placed).await, 1, "one event, in the shape the worker reads");

    // The guest's own session sees its order at once (read-your-writes), on the confirmation page.
    let access_token = payload["accessToken"].as_str().unwrap();
    let by_token = format!(
        r#"{{ order(number: "{number}", accessToken: "{access_token}") {{ number lines {{ sku }} }} }}"#
    );
    let found = app.post_graphql_as(&guest, &by_token).await;
    assert_eq!(found["data"]["order"]["number"], number.as_str(), "{found}");
    let elsewhere = app.post_graphql(&by_token).await;
    assert_eq!(elsewhere["data"]["order"]["number"], number.as_str(), "the link works in any browser");
    let other_token = "0".repeat(32);
    for lookup in [
        format!(r#"number: "{number}", accessToken: "{other_token}""#),
        format!(r#"number: "{number}", accessToken: "not a token""#),
        format!(r#"number: "{number}", email: "other@example.com""#),
        format!(r#"number: "{number}""#),
    ] {
        let hidden = app.post_graphql_as(&guest, &format!("{{ order({lookup}) {{ number }} }}")).await;
        assert_eq!(hidden["data"]["order"], Value::Null, "{lookup}");
    }
    let by_email = app
        .post_graphql(&format!(r#"{{ order(number: "{number}", email: "guest@example.com") {{ number }} }}"#))
        .await;
    assert_eq!(by_email["data"]["order"]["number"], number.as_str(), "{by_email}");
}

/// `order(number, email)` from `address`: the numbers of the orders shown, and the error codes.
async fn look_up_from(app: &TestApp, address: &str, numbers: &[String], email: &str) -> (usize, Vec<String>) {
    let lookups: String = numbers
        .iter()
        .enumerate()
        .map(|(i, number)| format!(r#"o{i}: order(number: "{number}", email: "{email}") {{ number }} "#))
        .collect();
    let response = app
        .client
        .post(format!("{}/graphql", app.address))
        .header("x-forwarded-for", address)
        .json(&json!({ "query": format!("{{ {lookups} }}") }))
        .send()
        .await
        .unwrap();
    let body: Value = response.json().await.unwrap();
    let shown = body["data"].as_object().map_or(0, |data| data.values().filter(|o| o.is_object()).count());
    let codes = body["errors"].as_array().into_iter().flatten();
    (shown, codes.map(|e| e["extensions"]["code"].as_str().unwrap().to_owned()).collect())
}

/// Knowing an email is not enough to walk the order numbers: look-ups by email are budgeted per
/// client address and per email, whichever runs out first, while the access token is not.
#[tokio::test]
async fn order_lookups_by_email_are_on_a_strict_budget_per_address_and_per_email() {
    let app =
        TestApp::spawn_with(&["--order-lookup-rate-limit", "4/h:4", "--trusted-proxies", "127.0.0.1"]).await;
    let (medium, _) = drop_tee(&app, 10).await;
    let guest = guest_with(&app, &medium, 1).await;
    let placed = app.post_graphql_as(&guest, &guest_checkout("tok_visa", "key-1")).await;
    let number = placed["data"]["checkout"]["order"]["number"].as_str().unwrap().to_owned();
    let walk: Vec<String> = (2..=6).map(|n| format!("MC-{n:06}")).collect();
    // Another client reads from the replica, which may not have the order yet.
    app.wait_for_replica().await;

    let found = look_up_from(&app, "198.51.100.1", std::slice::from_ref(&number), "guest@example.com").await;
    assert_eq!(found, (1, vec![]));
    let (shown, refused) = look_up_from(&app, "198.51.100.1", &walk, "guest@example.com").await;
    assert_eq!((shown, refused.len()), (0, 2), "3 more look-ups charged, the 2 others refused: {refused:?}");
    assert!(refused.iter().all(|code| code == "RATE_LIMITED"), "{refused:?}");
    let (shown, refused) = look_up_from(&app, "198.51.100.2", &walk[..1], "guest@example.com").await;
    assert_eq!((shown, refused), (0, vec!["RATE_LIMITED".to_owned()]), "the email's budget is spent");
    let (shown, refused) = look_up_from(&app, "198.51.100.1", &walk[..1], "someone@example.com").await;
    assert_eq!((shown, refused), (0, vec!["RATE_LIMITED".to_owned()]), "the address's budget is spent");
    let (_, refused) = look_up_from(&app, "198.51.100.3", &walk[..1], "someone@example.com").await;
    assert_eq!(refused, Vec::<String>::new(), "another address, another email");

    let access_token = placed["data"]["checkout"]["accessToken"].as_str().unwrap();
    let by_token = app
        .post_graphql(&format!(
            r#"{{ order(number: "{number}", accessToken: "{access_token}") {{ number }} }}"#
        ))
        .await;
    assert_eq!(by_token["data"]["order"]["number"], number.as_str(), "{by_token}");
}

/// A failed payment places no order: the attempt is kept for staff, its stock goes back, the cart
/// stays, and the same key may try again with another card.
#[tokio::test]
async fn a_declined_or_failing_payment_places_no_order_and_its_key_may_try_another_card() {
    let app = TestApp::spawn().await;
    let (medium, _) = drop_tee(&app, 10).await;
    let guest = guest_with(&app, &medium, 3).await;

    for (token, code) in [("tok_declined", "PAYMENT_DECLINED"), ("tok_unavailable", "PAYMENT_UNAVAILABLE")] {
        let body = app.post_graphql_as(&guest, &guest_checkout(token, "one-key")).await;
        assert_eq!(codes(&body["data"]["checkout"]), [code], "{body}");
        assert_eq!(body["data"]["checkout"]["order"], Value::Null);
    }

    assert_eq!(stock_of(&app, "DROP-TEE-M-BLACK").await, 10);
    let cart = app.post_graphql_as(&guest, &format!("{{ {CART} }}")).await;
    assert_eq!(lines(&cart["data"]["cart"]), [("DROP-TEE-M-BLACK".to_owned(), 3)]);
    let attempts = "SELECT count(*) AS n FROM orders WHERE status = 'payment_failed' \
        AND payment_failure IN ('declined', 'unavailable') AND payment_due_by IS NULL";
    assert_eq!(count(&app, attempts).await, 2);
    assert_eq!(count(&app, "SELECT count(*) AS n FROM orders WHERE status <> 'payment_failed'").await, 0);
    assert_eq!(count(&app, "SELECT count(*) AS n FROM outbox WHERE event_type = 'order.placed'").await, 0);
    let attempt = "SELECT 'MC-' || lpad(number::text, 6, '0') AS number, access_token FROM orders LIMIT 1";
    let attempt = app.primary.query_one_raw(statement(attempt)).await.unwrap().unwrap();
    let (number, token): (String, String) =
        (attempt.try_get("", "number").unwrap(), attempt.try_get("", "access_token").unwrap());
    let shown = app
        .post_graphql(&format!(r#"{{ order(number: "{number}", accessToken: "{token}") {{ number }} }}"#))
        .await;
    assert_eq!(shown["data"]["order"], Value::Null, "a failed attempt is no order of the shopper's: {shown}");
    assert_eq!(app.sandbox().authorizations(), 0);

    let placed = app.post_graphql_as(&guest, &guest_checkout("tok_visa", "one-key")).await;
    assert_eq!(placed["data"]["checkout"]["order"]["status"], "PLACED", "{placed}");
    assert_eq!(stock_of(&app, "DROP-TEE-M-BLACK").await, 7);
    assert_eq!(app.sandbox().authorizations(), 1);
}

/// A shopper who says which total they were shown is charged that or nothing: a price that moved
/// since is refused with the total as it is now, and changes neither stock nor cart.
#[tokio::test]
async fn a_checkout_at_a_total_the_shopper_was_not_shown_is_refused() {
    let app = TestApp::spawn().await;
    let (medium, _) = drop_tee(&app, 10).await;
    let guest = guest_with(&app, &medium, 3).await;
    let shown = app.post_graphql_as(&guest, "{ cart { subtotal { amount } } }").await;
    let shown = shown["data"]["cart"]["subtotal"]["amount"].as_str().unwrap().replace('.', "");
    app.primary.execute_unprepared("UPDATE variants SET price_minor = price_minor + 100").await.unwrap();
    let at = |total: &str| {
        guest_checkout("tok_visa", &format!("at-{total}"))
            .replace("idempotencyKey:", &format!("expectedTotal: {total}, idempotencyKey:"))
    };

    let refused = app.post_graphql_as(&guest, &at(&shown)).await;

    assert_eq!(codes(&refused["data"]["checkout"]), ["PRICE_CHANGED"], "{refused}");
    let message = refused["data"]["checkout"]["userErrors"][0]["message"].as_str().unwrap();
    assert!(message.contains("63.00 EUR"), "the total now: {message}");
    assert_eq!(stock_of(&app, "DROP-TEE-M-BLACK").await, 10);
    let cart = app.post_graphql_as(&guest, &format!("{{ {CART} }}")).await;
    assert_eq!(lines(&cart["data"]["cart"]), [("DROP-TEE-M-BLACK".to_owned(), 3)]);
    assert_eq!(app.sandbox().authorizations(), 0);

    let placed = app.post_graphql_as(&guest, &at("6300")).await;
    assert_eq!(placed["data"]["checkout"]["order"]["total"]["amount"], "63.00", "{placed}");
}

/// The sandbox provider can be told to fail like a real provider that is down, whatever the token.
#[tokio::test]
async fn a_sandbox_told_to_fail_leaves_the_stock_and_the_cart_as_they_were() {
    let app = TestApp::spawn_with(&["--sandbox-failure-rate", "1", "--sandbox-latency", "20ms"]).await;
    let (medium, _) = drop_tee(&app, 10).await;
    let guest = guest_with(&app, &medium, 3).await;

    let body = app.post_graphql_as(&guest, &guest_checkout("tok_visa", "down")).await;

    assert_eq!(codes(&body["data"]["checkout"]), ["PAYMENT_UNAVAILABLE"], "{body}");
    assert_eq!(stock_of(&app, "DROP-TEE-M-BLACK").await, 10);
    let cart = app.post_graphql_as(&guest, &format!("{{ {CART} }}")).await;
    assert_eq!(lines(&cart["data"]["cart"]), [("DROP-TEE-M-BLACK".to_owned(), 3)]);
    assert_eq!(count(&app, "SELECT count(*) AS n FROM orders WHERE status <> 'payment_failed'").await, 0);
}

/// In production the sandbox is used only when named, and start-up says that it takes no money.
#[tokio::test]
async fn a_production_server_on_the_sandbox_warns_that_no_money_is_taken() {
    let db = crate::support::TestDatabase::create().await;
    let log = std::env::temp_dir().join(format!("{}-sandbox.log", db.name));
    let production = [
        "--profile",
        "production",
        "--payment-provider",
        "sandbox",
        "--jwt-keys",
        "k1:a-production-secret-of-at-least-32-bytes",
        "--log",
        "warn",
    ];
    let mut server = ServerProcess::start_logging(&db, &production, &log).await;
    assert_eq!(server.ready_status().await, Some(200));

    let written = server.stop_and_read_log(&log).await;
    assert!(written.contains("sandbox provider, which takes no money"), "{written}");
}

#[tokio::test]
async fn one_idempotency_key_sent_five_times_at_once_makes_one_order_and_one_charge() {
    let app = TestApp::spawn().await;
    let (medium, large) = drop_tee(&app, 10).await;
    let guest = guest_with(&app, &medium, 1).await;

    let same = guest_checkout("tok_visa", "once");
    let answers = join_all((0..5).map(|_| app.post_graphql_as(&guest, &same))).await;

    let numbers: Vec<&Value> = answers.iter().map(|a| &a["data"]["checkout"]["order"]["number"]).collect();
    assert!(numbers.iter().all(|n| n.is_string() && *n == numbers[0]), "{answers:?}");
    assert_eq!(count(&app, "SELECT count(*) AS n FROM orders").await, 1);
    assert_eq!(app.sandbox().authorizations(), 1);
    assert_eq!(stock_of(&app, "DROP-TEE-M-BLACK").await, 9);
    // Once more, the cart now empty (the order took its lines): the same order.
    let again = app.post_graphql_as(&guest, &same).await;
    assert_eq!(&again["data"]["checkout"]["order"]["number"], numbers[0], "{again}");

    app.post_graphql_as(&guest, &add(&large, 1)).await;
    let reused = app.post_graphql_as(&guest, &same).await;
    assert_eq!(codes(&reused["data"]["checkout"]), ["IDEMPOTENCY_CONFLICT"]);
    assert_eq!(count(&app, "SELECT count(*) AS n FROM orders").await, 1);
}

#[tokio::test]
async fn two_hundred_shoppers_racing_for_ten_shirts_make_ten_orders() {
    // 200 requests at once on the test's one thread take longer than the fail-fast timeouts; this test
    // is about overselling, not latency.
    let app =
        TestApp::spawn_with(&["--primary-pool-size", "16", "--db-timeout", "10s", "--redis-timeout", "2s"])
            .await;
    let (medium, _) = drop_tee(&app, 10).await;
    let guests = join_all((0..200).map(|_| guest_with(&app, &medium, 1))).await;

    let mutations: Vec<String> = (0..200).map(|i| guest_checkout("tok_visa", &format!("race-{i}"))).collect();
    let answers =
        join_all(guests.iter().zip(&mutations).map(|(guest, m)| app.post_graphql_as(guest, m))).await;

    let failed: Vec<&Value> = answers.iter().filter_map(|a| a.get("errors")).collect();
    assert!(failed.is_empty(), "{} requests failed, first: {:?}", failed.len(), failed.first());
    let placed = answers.iter().filter(|a| a["data"]["checkout"]["order"].is_object()).count();
    let sold_out: Vec<&Value> =
        answers.iter().flat_map(|a| a["data"]["checkout"]["userErrors"].as_array().unwrap()).collect();
    assert_eq!(placed, 10);
    assert_eq!(sold_out.len(), 190);
    assert!(
        sold_out.iter().all(|e| e["code"] == "OUT_OF_STOCK" && e["variantId"] == medium.as_str()),
        "{:?}",
        sold_out[0]
    );
    assert!(sold_out[0]["message"].as_str().unwrap().contains("DROP-TEE-M-BLACK"));
    assert_eq!(stock_of(&app, "DROP-TEE-M-BLACK").await, 0);
    assert_eq!(count(&app, "SELECT count(*) AS n FROM orders").await, 10);
    assert_eq!(app.sandbox().authorizations(), 10);
}

#[tokio::test]
async fn bad_checkouts_are_user_errors() {
    let app = TestApp::spawn().await;
    let (medium, _) = drop_tee(&app, 10).await;
    let guest = guest_with(&app, &medium, 1).await;
    let cases = [
        (checkout(r#"email: "a@example.com","#, "tok_visa", "k"), "input.shippingAddress", "INVALID_VALUE"),
        (checkout(&format!("shippingAddress: {ADDRESS},"), "tok_visa", "k"), "input.email", "INVALID_VALUE"),
        (
            checkout(
                &format!(r#"email: "a@example.com", shippingAddress: {ADDRESS},"#),
                "tok_visa",
                "has space",
            ),
            "input.idempotencyKey",
            "INVALID_VALUE",
        ),
        (
            checkout(
                &format!(r#"email: "a@example.com", shippingAddress: {},"#, ADDRESS.replace("FR", "ZZ")),
                "tok_visa",
                "k",
            ),
            "input.shippingAddress.country",
            "INVALID_VALUE",
        ),
    ];
    for (mutation, field, code) in cases {
        let body = app.post_graphql_as(&guest, &mutation).await;
        assert_eq!(body["data"]["checkout"]["userErrors"][0]["field"], field, "{body}");
        assert_eq!(body["data"]["checkout"]["userErrors"][0]["code"], code, "{body}");
    }
    let no_cart = app.post_graphql(&guest_checkout("tok_visa", "k")).await;
    assert_eq!(codes(&no_cart["data"]["checkout"]), ["EMPTY_CART"]);
    assert_eq!(count(&app, "SELECT count(*) AS n FROM orders").await, 0);
}

#[tokio::test]
async fn a_customer_sees_the_new_order_at_once_while_the_replica_lags_two_seconds() {
    let (app, replica) = TestApp::spawn_with_delayed_replica("2s").await;
    let (medium, _) = drop_tee(&app, 10).await;
    app.wait_for_replica_on(replica.port).await;
    let register = r#"mutation { register(input: { email: "ada@example.com", password: "correct horse battery", name: "Ada" }) { token } }"#;
    let ada = app.post_graphql(register).await["data"]["register"]["token"].as_str().unwrap().to_owned();
    let saved = app
        .post_graphql_as(
            &ada,
            &format!("mutation {{ createAddress(address: {ADDRESS}) {{ address {{ id }} }} }}"),
        )
        .await;
    let address_id = saved["data"]["createAddress"]["address"]["id"].as_str().unwrap().to_owned();
    app.post_graphql_as(&ada, &add(&medium, 1)).await;
    let written_at = std::time::Instant::now();

    let placed = app
        .post_graphql_as(&ada, &checkout(&format!(r#"shippingAddressId: "{address_id}","#), "tok_visa", "k1"))
        .await;

    let number = placed["data"]["checkout"]["order"]["number"]
        .as_str()
        .unwrap_or_else(|| panic!("{placed}"))
        .to_owned();
    assert_eq!(placed["data"]["checkout"]["order"]["email"], "ada@example.com");
    let history = app
        .post_graphql_as(
            &ada,
            "{ orders(first: 5) { edges { node { number status } } pageInfo { hasNextPage } } }",
        )
        .await;
    let page = app
        .post_graphql_as(
            &ada,
            &format!(r#"{{ order(number: "{number}") {{ number shippingAddress {{ name }} }} }}"#),
        )
        .await;
    assert!(written_at.elapsed() < std::time::Duration::from_secs(2), "the reads ran within the lag");
    assert_eq!(
        history["data"]["orders"]["edges"],
        json!([{ "node": { "number": number, "status": "PLACED" } }]),
        "{history}"
    );
    assert_eq!(page["data"]["order"]["shippingAddress"]["name"], "Ada Lovelace");
    let guest = app.post_graphql("{ orders(first: 5) { edges { cursor } } }").await;
    assert_eq!(guest["errors"][0]["extensions"]["code"], "UNAUTHENTICATED");
}

#[tokio::test]
async fn staff_move_orders_along_the_status_machine_and_a_cancellation_returns_stock_and_voids_the_payment_once()
 {
    let app = TestApp::spawn().await;
    let (medium, _) = drop_tee(&app, 10).await;
    let admin = app.admin_token().await;
    let mut numbers = Vec::new();
    for key in ["a", "b"] {
        let guest = guest_with(&app, &medium, 2).await;
        let body = app.post_graphql_as(&guest, &guest_checkout("tok_visa", key)).await;
        numbers.push(body["data"]["checkout"]["order"]["number"].as_str().unwrap().to_owned());
    }
    assert_eq!(stock_of(&app, "DROP-TEE-M-BLACK").await, 6);
    let set = |number: &str, status: &str| {
        format!(
            r#"mutation {{ setOrderStatus(number: "{number}", status: {status}) {{ order {{ status }} userErrors {{ field code }} }} }}"#
        )
    };

    for status in ["PAID", "FULFILLED"] {
        let moved = app.post_graphql_as(&admin, &set(&numbers[0], status)).await;
        assert_eq!(moved["data"]["setOrderStatus"]["order"]["status"], status, "{moved}");
    }
    let too_late = app.post_graphql_as(&admin, &set(&numbers[0], "CANCELLED")).await;
    assert_eq!(
        too_late["data"]["setOrderStatus"]["userErrors"],
        json!([{ "field": "status", "code": "INVALID_TRANSITION" }])
    );

    assert_eq!(app.sandbox().authorizations(), 2);
    let cancel = set(&numbers[1], "CANCELLED");
    let cancels = join_all((0..3).map(|_| app.post_graphql_as(&admin, &cancel))).await;
    let done = cancels.iter().filter(|c| c["data"]["setOrderStatus"]["userErrors"] == json!([])).count();
    assert_eq!(done, 1, "{cancels:?}");
    assert_eq!(stock_of(&app, "DROP-TEE-M-BLACK").await, 8, "the stock came back once");
    assert_eq!(app.sandbox().authorizations(), 1, "the cancelled order's payment was voided");
    let unknown = app.post_graphql_as(&admin, &set("MC-999999", "PAID")).await;
    assert_eq!(unknown["data"]["setOrderStatus"]["userErrors"][0]["code"], "UNKNOWN_ORDER");
    let customer = app.post_graphql(&set(&numbers[1], "PAID")).await;
    assert_eq!(customer["errors"][0]["extensions"]["code"], "UNAUTHENTICATED");
}

/// Every statement of a checkout is a round trip on the way to every order: one that goes through
/// spends none on its idempotency key, which the unique index on it guards.
#[tokio::test]
async fn a_guest_checkout_sends_the_primary_seven_statements() {
    let app = TestApp::spawn().await;
    let (medium, _) = drop_tee(&app, 10).await;
    let guest = guest_with(&app, &medium, 1).await;

    let before = app.statements_sent_to("primary");
    let placed = app.post_graphql_as(&guest, &guest_checkout("tok_visa", "counted")).await;
    assert_eq!(placed["data"]["checkout"]["order"]["status"], "PLACED", "{placed}");
    assert_eq!(app.statements_sent_to("primary") - before, 7);
}
