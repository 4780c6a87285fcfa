//! Discount codes: staff make them, shoppers apply them to their cart, and checkout redeems them
//! within their rules, never more often than their usage limit allows.

use futures::future::join_all;
use serde_json::{Value, json};

use crate::carts::{add, codes};
use crate::checkout::{ADDRESS, count, drop_tee, guest_with, stock_of};
use crate::support::TestApp;
use crate::support::catalog::CatalogFixture;

const CODE: &str =
    "discountCode { id code percent amount { amount } timesUsed active } userErrors { field code }";

/// Creates a discount code from the fields of `input` (GraphQL); its payload.
async fn create(app: &TestApp, admin: &str, input: &str) -> Value {
    let body = app
        .post_graphql_as(
            admin,
            &format!("mutation {{ createDiscountCode(input: {{ {input} }}) {{ {CODE} }} }}"),
        )
        .await;
    body["data"]["createDiscountCode"].clone()
}

/// Applies `code` to the cart of `token`: the cart's discount, and the error codes.
async fn apply(app: &TestApp, token: &str, code: &str) -> (Value, Vec<String>) {
    let mutation = format!(
        r#"mutation {{ applyDiscountCode(code: "{code}") {{ cart {{ discount {{ code amount {{ amount }} problem }} }} userErrors {{ field code }} }} }}"#
    );
    let body = app.post_graphql_as(token, &mutation).await;
    let payload = &body["data"]["applyDiscountCode"];
    assert!(payload.is_object(), "{body}");
    (payload["cart"]["discount"].clone(), codes(payload))
}

const ORDER: &str = "order { discountCode discount { amount } subtotal { amount } shippingPrice { amount } \
    total { amount } vatIncluded { amount } lines { discount { amount } vat { amount { amount } } } }";

/// A guest's checkout shipping to France: its payload.
async fn check_out(app: &TestApp, token: &str, card: &str, key: &str) -> Value {
    let checkout = format!(
        r#"mutation {{ checkout(input: {{ email: "Guest@Example.com", shippingAddress: {ADDRESS}, paymentToken: "{card}",
            idempotencyKey: "{key}" }}) {{ {ORDER} userErrors {{ field code message }} }} }}"#
    );
    let body = app.post_graphql_as(token, &checkout).await;
    assert!(body["data"]["checkout"].is_object(), "{body}");
    body["data"]["checkout"].clone()
}

async fn times_used(app: &TestApp, code: &str) -> i64 {
    count(app, &format!("SELECT times_used::bigint AS n FROM discount_codes WHERE code = '{code}'")).await
}

#[tokio::test]
async fn a_code_comes_off_the_lines_it_applies_to_and_checkout_redeems_it() {
    let app = TestApp::spawn().await;
    let (medium, large) = drop_tee(&app, 10).await;
    let admin = app.admin_token().await;
    let created = create(&app, &admin, r#"code: "spring10", percent: "10", brand: "drop""#).await;
    assert_eq!(created["discountCode"]["code"], "SPRING10", "{created}");
    let guest = guest_with(&app, &medium, 2).await;
    app.post_graphql_as(&guest, &add(&large, 1)).await;
    app.wait_for_replica().await;

    let (discount, errors) = apply(&app, &guest, " Spring10").await;
    assert_eq!(errors, Vec::<String>::new());
    assert_eq!(discount, json!({ "code": "SPRING10", "amount": { "amount": "6.20" }, "problem": null }));

    let placed = check_out(&app, &guest, "tok_visa", "with-a-code").await;
    let order = &placed["order"];
    assert_eq!(order["discountCode"], "SPRING10", "{placed}");
    // 6.20 shared 4.00 / 2.20 over 40.00 and 22.00; 20 % VAT on what is paid: 36.00 → 6.00, 19.80 → 3.30.
    assert_eq!(
        order["lines"],
        json!([
            { "discount": { "amount": "4.00" }, "vat": { "amount": { "amount": "6.00" } } },
            { "discount": { "amount": "2.20" }, "vat": { "amount": { "amount": "3.30" } } }
        ])
    );
    let totals = ["discount", "subtotal", "shippingPrice", "total", "vatIncluded"]
        .map(|part| order[part]["amount"].clone());
    assert_eq!(totals, ["6.20", "62.00", "0.00", "55.80", "9.30"].map(|amount| json!(amount)));
    assert_eq!(
        count(&app, "SELECT amount_minor AS n FROM payments WHERE kind = 'authorization'").await,
        5580
    );
    assert_eq!(times_used(&app, "SPRING10").await, 1);
    let cart = app.post_graphql_as(&guest, "{ cart { discount { code } } }").await;
    assert_eq!(cart["data"]["cart"]["discount"], Value::Null, "the code went with the order");
}

#[tokio::test]
async fn each_rule_a_cart_breaks_refuses_the_code_with_its_own_error() {
    let app = TestApp::spawn().await;
    let (medium, _) = drop_tee(&app, 10).await;
    CatalogFixture::new(&app.primary).brand("Other").await;
    let admin = app.admin_token().await;
    for input in [
        r#"code: "LATER", percent: "5", startsAt: "2999-01-01T00:00:00Z""#,
        r#"code: "PAST", percent: "5", startsAt: "2020-01-01T00:00:00Z", endsAt: "2020-02-01T00:00:00Z""#,
        r#"code: "BIG", amount: 500, minimumSubtotal: 10000"#,
        r#"code: "ELSEWHERE", amount: 500, brand: "other""#,
        r#"code: "CLOSED", percent: "50""#,
    ] {
        assert_eq!(create(&app, &admin, input).await["userErrors"], json!([]), "{input}");
    }
    let closed = app.post_graphql_as(&admin, "{ discountCodes { id code } }").await;
    let closed = closed["data"]["discountCodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["code"] == "CLOSED")
        .unwrap()["id"]
        .clone();
    app.post_graphql_as(
        &admin,
        &format!(r#"mutation {{ setDiscountCodeActive(id: {closed}, active: false) {{ {CODE} }} }}"#),
    )
    .await;
    let guest = guest_with(&app, &medium, 1).await;
    app.wait_for_replica().await;

    for (code, refusal) in [
        ("NOPE", "UNKNOWN_CODE"),
        ("not a code!", "UNKNOWN_CODE"),
        ("later", "UNKNOWN_CODE"),
        ("closed", "UNKNOWN_CODE"),
        ("past", "CODE_EXPIRED"),
        ("big", "MINIMUM_NOT_MET"),
        ("elsewhere", "NOT_APPLICABLE"),
    ] {
        let (discount, errors) = apply(&app, &guest, code).await;
        assert_eq!((discount, errors), (Value::Null, vec![refusal.to_owned()]), "{code}");
    }

    // A code that applied when it was applied is checked again at checkout.
    let brief = create(&app, &admin, r#"code: "BRIEF", percent: "20""#).await["discountCode"]["id"].clone();
    app.wait_for_replica().await;
    assert_eq!(apply(&app, &guest, "brief").await.1, Vec::<String>::new());
    let ended =
        r#"code: "BRIEF", percent: "20", startsAt: "2020-01-01T00:00:00Z", endsAt: "2020-02-01T00:00:00Z""#;
    let updated = app
        .post_graphql_as(
            &admin,
            &format!("mutation {{ updateDiscountCode(id: {brief}, input: {{ {ended} }}) {{ {CODE} }} }}"),
        )
        .await;
    assert_eq!(updated["data"]["updateDiscountCode"]["userErrors"], json!([]), "{updated}");
    app.wait_for_replica().await;
    let cart = app.post_graphql_as(&guest, "{ cart { discount { code amount { amount } problem } } }").await;
    assert_eq!(
        cart["data"]["cart"]["discount"],
        json!({ "code": "BRIEF", "amount": { "amount": "0.00" }, "problem": "CODE_EXPIRED" })
    );
    let refused = check_out(&app, &guest, "tok_visa", "expired").await;
    assert_eq!(refused["userErrors"][0]["code"], "CODE_EXPIRED", "{refused}");
    assert_eq!(refused["userErrors"][0]["field"], Value::Null, "about the cart's code, no argument");
    assert_eq!(stock_of(&app, "DROP-TEE-M-BLACK").await, 10);
    app.post_graphql_as(&guest, "mutation { removeDiscountCode { cart { discount { code } } } }").await;
    let placed = check_out(&app, &guest, "tok_visa", "expired").await;
    assert_eq!(placed["order"]["discount"]["amount"], "0.00", "{placed}");
}

#[tokio::test]
async fn a_customer_uses_a_code_as_often_as_it_allows_and_a_failed_payment_gives_its_use_back() {
    let app = TestApp::spawn().await;
    let (medium, _) = drop_tee(&app, 10).await;
    let admin = app.admin_token().await;
    create(&app, &admin, r#"code: "ONCE", amount: 500, perCustomerLimit: 1"#).await;
    let guest = guest_with(&app, &medium, 1).await;
    app.wait_for_replica().await;
    apply(&app, &guest, "once").await;

    let declined = check_out(&app, &guest, "tok_declined", "first").await;
    assert_eq!(declined["userErrors"][0]["code"], "PAYMENT_DECLINED", "{declined}");
    assert_eq!(times_used(&app, "ONCE").await, 0, "the failed payment gave it back");
    let placed = check_out(&app, &guest, "tok_visa", "first").await;
    assert_eq!(placed["order"]["discount"]["amount"], "5.00", "{placed}");
    assert_eq!(times_used(&app, "ONCE").await, 1);

    // The same buyer (by email) again: its one use is spent.
    app.post_graphql_as(&guest, &add(&medium, 1)).await;
    assert_eq!(
        apply(&app, &guest, "once").await.1,
        Vec::<String>::new(),
        "a guest's email is known at checkout only"
    );
    let again = check_out(&app, &guest, "tok_visa", "second").await;
    assert_eq!(again["userErrors"][0]["code"], "CODE_USED_UP", "{again}");
}

#[tokio::test]
async fn two_hundred_checkouts_racing_for_a_code_of_ten_uses_make_exactly_ten_discounted_orders() {
    // They queue for the hot variant's and the code's rows: room for the queue.
    let app = TestApp::spawn_with(&["--primary-pool-size", "16", "--db-timeout", "20s"]).await;
    let (medium, _) = drop_tee(&app, 300).await;
    let admin = app.admin_token().await;
    create(&app, &admin, r#"code: "TEN", percent: "25", usageLimit: 10"#).await;
    app.wait_for_replica().await;
    let guests = join_all((0..200).map(|_| async {
        let guest = guest_with(&app, &medium, 1).await;
        assert_eq!(apply(&app, &guest, "ten").await.1, Vec::<String>::new());
        guest
    }))
    .await;

    let answers = join_all(guests.iter().map(|guest| check_out(&app, guest, "tok_visa", "race"))).await;

    let placed = answers.iter().filter(|answer| answer["order"]["discount"]["amount"] == "5.00").count();
    let used_up = answers.iter().filter(|answer| answer["userErrors"][0]["code"] == "CODE_USED_UP").count();
    assert_eq!((placed, used_up), (10, 190));
    assert_eq!(times_used(&app, "TEN").await, 10);
    assert_eq!(count(&app, "SELECT count(*) AS n FROM orders WHERE discount_code = 'TEN'").await, 10);
    assert_eq!(stock_of(&app, "DROP-TEE-M-BLACK").await, 290, "refused checkouts took no stock");
}

#[tokio::test]
async fn staff_make_codes_that_follow_the_rules_and_nobody_else_sees_them() {
    let app = TestApp::spawn().await;
    drop_tee(&app, 1).await;
    let admin = app.admin_token().await;
    let refused = |payload: Value| payload["userErrors"].clone();

    assert_eq!(
        refused(create(&app, &admin, r#"code: "x y", percent: "10", amount: 100, usageLimit: 0"#).await),
        json!([
            { "field": "input.code", "code": "INVALID_VALUE" },
            { "field": "input.percent", "code": "INVALID_VALUE" },
            { "field": "input.usageLimit", "code": "INVALID_VALUE" }
        ])
    );
    assert_eq!(
        refused(create(&app, &admin, r#"code: "W", percent: "10", endsAt: "2020-01-01T00:00:00Z""#).await),
        json!([{ "field": "input.endsAt", "code": "INVALID_VALUE" }])
    );
    assert_eq!(
        refused(create(&app, &admin, r#"code: "W", amount: 100, brand: "nobody""#).await)[0]["code"],
        "UNKNOWN_BRAND"
    );
    assert_eq!(refused(create(&app, &admin, r#"code: "W", amount: 100, category: "tees""#).await), json!([]));
    assert_eq!(refused(create(&app, &admin, r#"code: "w", amount: 100"#).await)[0]["code"], "CODE_TAKEN");

    let listed = app
        .post_graphql_as(&admin, "{ discountCodes { code amount { amount } categoryId timesUsed active } }")
        .await;
    assert_eq!(listed["data"]["discountCodes"].as_array().map(Vec::len), Some(1), "{listed}");
    let guest = app.post_graphql("{ discountCodes { code } }").await;
    assert_eq!(guest["errors"][0]["extensions"]["code"], "UNAUTHENTICATED", "{guest}");
    let made = app.post_graphql(r#"mutation { createDiscountCode(input: { code: "MINE", percent: "90" }) { discountCode { code } } }"#).await;
    assert_eq!(made["errors"][0]["extensions"]["code"], "UNAUTHENTICATED", "{made}");
}
