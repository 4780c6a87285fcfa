//! Cancelling an order before it ships, as its customer or with its access token: the stock goes back
//! and the payment is released, once; nobody else can cancel it, and a shipped order stays shipped.

use serde_json::Value;

use crate::carts::add;
use crate::checkout::{ADDRESS, checkout, drop_tee, guest_checkout, guest_with, stock_of};
use crate::support::TestApp;

const SKU: &str = "DROP-TEE-M-BLACK";

fn cancel(number: &str, access_token: Option<&str>) -> String {
    let token = access_token.map(|token| format!(r#", accessToken: "{token}""#)).unwrap_or_default();
    format!(
        r#"mutation {{ cancelOrder(number: "{number}"{token}) {{ order {{ number status }} userErrors {{ field code }} }} }}"#
    )
}

fn outcome(body: &Value) -> (Value, Vec<String>) {
    let payload = &body["data"]["cancelOrder"];
    let codes = payload["userErrors"].as_array().unwrap_or_else(|| panic!("{body}"));
    (
        payload["order"]["status"].clone(),
        codes.iter().map(|e| e["code"].as_str().unwrap().to_owned()).collect(),
    )
}

async fn register(app: &TestApp, email: &str) -> String {
    let register = format!(
        r#"mutation {{ register(input: {{ email: "{email}", password: "correct horse battery", name: "Ada" }}) {{ token }} }}"#
    );
    app.post_graphql(&register).await["data"]["register"]["token"].as_str().unwrap().to_owned()
}

/// A placed order's number and access token.
fn placed(body: &Value) -> (String, String) {
    let checkout = &body["data"]["checkout"];
    let number = checkout["order"]["number"].as_str().unwrap_or_else(|| panic!("an order: {body}"));
    (number.to_owned(), checkout["accessToken"].as_str().unwrap().to_owned())
}

#[tokio::test]
async fn a_customer_cancels_their_order_before_it_ships_and_the_stock_and_payment_go_back() {
    let app = TestApp::spawn().await;
    let (medium, _) = drop_tee(&app, 10).await;
    let ada = register(&app, "ada@example.com").await;
    app.post_graphql_as(&ada, &add(&medium, 3)).await;
    let shipping = format!("shippingAddress: {ADDRESS},");
    let (number, _) = placed(&app.post_graphql_as(&ada, &checkout(&shipping, "tok_visa", "k1")).await);
    assert_eq!((stock_of(&app, SKU).await, app.sandbox().authorizations()), (7, 1));

    let someone_else = register(&app, "eve@example.com").await;
    let refused = app.post_graphql_as(&someone_else, &cancel(&number, None)).await;
    assert_eq!(outcome(&refused), (Value::Null, vec!["UNKNOWN_ORDER".to_owned()]), "not theirs");
    assert_eq!(outcome(&app.post_graphql(&cancel(&number, None)).await).1, ["UNKNOWN_ORDER"], "a guest");

    let cancelled = app.post_graphql_as(&ada, &cancel(&number, None)).await;

    assert_eq!(outcome(&cancelled), ("CANCELLED".into(), vec![]));
    assert_eq!(stock_of(&app, SKU).await, 10);
    assert_eq!(app.sandbox().authorizations(), 0, "the authorisation was voided");
    let again = app.post_graphql_as(&ada, &cancel(&number, None)).await;
    assert_eq!(outcome(&again).1, ["INVALID_TRANSITION"]);
    assert_eq!(stock_of(&app, SKU).await, 10, "the stock went back once");
}

#[tokio::test]
async fn a_guest_cancels_with_the_access_token_and_a_shipped_order_stays_shipped() {
    let app = TestApp::spawn().await;
    let (medium, _) = drop_tee(&app, 10).await;
    let guest = guest_with(&app, &medium, 2).await;
    let (number, token) = placed(&app.post_graphql_as(&guest, &guest_checkout("tok_visa", "g1")).await);
    let wrong = "0".repeat(32);
    assert_eq!(outcome(&app.post_graphql(&cancel(&number, Some(&wrong))).await).1, ["UNKNOWN_ORDER"]);

    let cancelled = app.post_graphql(&cancel(&number, Some(&token))).await;
    assert_eq!(outcome(&cancelled), ("CANCELLED".into(), vec![]));
    assert_eq!(stock_of(&app, SKU).await, 10);

    let guest = guest_with(&app, &medium, 1).await;
    let (shipped, token) = placed(&app.post_graphql_as(&guest, &guest_checkout("tok_visa", "g2")).await);
    let admin = app.admin_token().await;
    for status in ["PAID", "FULFILLED"] {
        let moved = format!(
            r#"mutation {{ setOrderStatus(number: "{shipped}", status: {status}) {{ userErrors {{ code }} }} }}"#
        );
        app.post_graphql_as(&admin, &moved).await;
    }
    let refused = app.post_graphql(&cancel(&shipped, Some(&token))).await;
    assert_eq!(outcome(&refused), (Value::Null, vec!["INVALID_TRANSITION".to_owned()]));
    assert_eq!(stock_of(&app, SKU).await, 9);
}

fn numbers(body: &Value) -> Vec<String> {
    let edges = body["data"]["orders"]["edges"].as_array().unwrap_or_else(|| panic!("{body}"));
    edges.iter().map(|edge| edge["node"]["number"].as_str().unwrap().to_owned()).collect()
}

/// Staff run the shop from the list of every order, by status; a customer's list holds their own.
#[tokio::test]
async fn staff_list_every_order_by_status_and_customers_only_their_own() {
    let app = TestApp::spawn().await;
    let (medium, _) = drop_tee(&app, 10).await;
    let admin = app.admin_token().await;
    let customer = register(&app, "ada@example.com").await;
    app.post_graphql_as(&customer, &add(&medium, 1)).await;
    let theirs = placed(
        &app.post_graphql_as(&customer, &checkout(&format!("shippingAddress: {ADDRESS},"), "tok_visa", "c1"))
            .await,
    );
    let guest = guest_with(&app, &medium, 1).await;
    app.post_graphql_as(&guest, &guest_checkout("tok_declined", "g1")).await;
    let cancelled = placed(&app.post_graphql_as(&guest, &guest_checkout("tok_visa", "g1")).await);
    app.post_graphql_as(&guest, &cancel(&cancelled.0, Some(&cancelled.1))).await;
    // Staff read the others' writes from the replica.
    app.wait_for_replica().await;

    let list =
        |status: &str| format!("{{ orders(first: 10{status}) {{ edges {{ node {{ number status }} }} }} }}");
    let everything = numbers(&app.post_graphql_as(&admin, &list("")).await);
    assert_eq!(everything.len(), 3, "two orders and the failed attempt: {everything:?}");
    assert_eq!(everything[0], cancelled.0, "newest first");
    assert_eq!(
        numbers(&app.post_graphql_as(&admin, &list(", status: CANCELLED")).await),
        [cancelled.0.as_str()]
    );
    assert_eq!(numbers(&app.post_graphql_as(&admin, &list(", status: PAYMENT_FAILED")).await).len(), 1);
    assert_eq!(numbers(&app.post_graphql_as(&customer, &list("")).await), [theirs.0.as_str()]);
    assert_eq!(
        numbers(&app.post_graphql_as(&customer, &list(", status: CANCELLED")).await),
        Vec::<String>::new()
    );
    let anonymous = app.post_graphql(&list("")).await;
    assert_eq!(anonymous["errors"][0]["extensions"]["code"], "UNAUTHENTICATED", "{anonymous}");
}
