//! Shipping and VAT: what shipping costs to each country, the method an order ships with, the VAT
//! of its destination in each part of it, and staff's set-up of zones, methods and the VAT table.

use serde_json::{Value, json};

use crate::carts::{add, codes};
use crate::checkout::{count, drop_tee, guest_with, stock_of};
use crate::support::TestApp;

/// The cart's shipping options to `country`: (method, price for this cart) by name.
async fn options(app: &TestApp, token: &str, country: &str) -> Vec<(String, String)> {
    let query = format!(
        r#"{{ cart {{ availableShippingMethods(country: "{country}") {{ method {{ name }} price {{ amount }} }} }} }}"#
    );
    let body = app.post_graphql_as(token, &query).await;
    let options =
        body["data"]["cart"]["availableShippingMethods"].as_array().unwrap_or_else(|| panic!("{body}"));
    options
        .iter()
        .map(|o| {
            (
                o["method"]["name"].as_str().unwrap().to_owned(),
                o["price"]["amount"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// The global ID of the method named `name` that ships to `country`.
async fn method_id(app: &TestApp, token: &str, country: &str, name: &str) -> String {
    let query = format!(
        r#"{{ cart {{ availableShippingMethods(country: "{country}") {{ method {{ id name }} }} }} }}"#
    );
    let body = app.post_graphql_as(token, &query).await;
    let options = body["data"]["cart"]["availableShippingMethods"].as_array().unwrap();
    let found =
        options.iter().find(|o| o["method"]["name"] == name).unwrap_or_else(|| panic!("{name}: {body}"));
    found["method"]["id"].as_str().unwrap().to_owned()
}

const ORDER: &str = "order { status subtotal { amount } shippingMethod shippingPrice { amount } \
    shippingVat { percent amount { amount } } vatIncluded { amount } total { amount } \
    lines { sku lineTotal { amount } vat { percent amount { amount } } } }";

/// A guest checkout shipping to `country`, with `method` (a global ID) when given.
fn checkout_to(country: &str, method: Option<&str>, key: &str) -> String {
    let method = method.map(|id| format!(r#"shippingMethodId: "{id}","#)).unwrap_or_default();
    format!(
        r#"mutation {{ checkout(input: {{ email: "guest@example.com", {method} paymentToken: "tok_visa",
            idempotencyKey: "{key}", shippingAddress: {{ name: "Ada", line1: "1 Main St", city: "Town",
            postalCode: "1000", country: "{country}" }} }}) {{ {ORDER} userErrors {{ field code message }} }} }}"#
    )
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect()
}

#[tokio::test]
async fn a_cart_shows_what_shipping_to_each_country_costs_it() {
    let app = TestApp::spawn().await;
    let (medium, _) = drop_tee(&app, 10).await;
    let guest = guest_with(&app, &medium, 1).await;

    assert_eq!(options(&app, &guest, "fr").await, pairs(&[("Standard", "4.90"), ("Express", "9.90")]));
    assert_eq!(options(&app, &guest, "DE").await, pairs(&[("Standard", "9.90")]));
    assert_eq!(options(&app, &guest, "US").await, pairs(&[("International", "19.90")]));
    app.post_graphql_as(&guest, &add(&medium, 2)).await;
    assert_eq!(
        options(&app, &guest, "FR").await,
        pairs(&[("Standard", "0.00"), ("Express", "9.90")]),
        "standard shipping is free from 50.00"
    );

    let bad = app
        .post_graphql_as(
            &guest,
            r#"{ cart { availableShippingMethods(country: "XX") { price { amount } } } }"#,
        )
        .await;
    assert_eq!(bad["errors"][0]["extensions"]["code"], "BAD_USER_INPUT", "{bad}");
}

#[tokio::test]
async fn an_order_records_its_shipping_and_the_vat_of_its_destination_in_every_part() {
    let app = TestApp::spawn().await;
    let (medium, large) = drop_tee(&app, 10).await;
    let guest = guest_with(&app, &medium, 1).await;
    app.post_graphql_as(&guest, &add(&large, 1)).await;

    let body = app.post_graphql_as(&guest, &checkout_to("DE", None, "to-germany")).await;

    let order = &body["data"]["checkout"]["order"];
    assert_eq!(order["status"], "PLACED", "{body}");
    // 20.00 and 22.00 at 19 %: 3.19 and 3.51; shipping 9.90: 1.58.
    assert_eq!(
        order["lines"],
        json!([
            { "sku": "DROP-TEE-M-BLACK", "lineTotal": { "amount": "20.00" }, "vat": { "percent": "19", "amount": { "amount": "3.19" } } },
            { "sku": "DROP-TEE-L-BLACK", "lineTotal": { "amount": "22.00" }, "vat": { "percent": "19", "amount": { "amount": "3.51" } } }
        ])
    );
    assert_eq!(order["subtotal"]["amount"], "42.00");
    assert_eq!(order["shippingMethod"], "Standard");
    assert_eq!(order["shippingPrice"]["amount"], "9.90");
    assert_eq!(order["shippingVat"], json!({ "percent": "19", "amount": { "amount": "1.58" } }));
    assert_eq!(order["vatIncluded"]["amount"], "8.28");
    assert_eq!(order["total"]["amount"], "51.90");
    let authorised = "SELECT amount_minor AS n FROM payments WHERE kind = 'authorization'";
    assert_eq!(count(&app, authorised).await, 5190, "the total is what is authorised");

    let guest = guest_with(&app, &medium, 1).await;
    let abroad = app.post_graphql_as(&guest, &checkout_to("US", None, "to-the-us")).await;
    let order = &abroad["data"]["checkout"]["order"];
    assert_eq!(
        (&order["shippingMethod"], &order["total"]["amount"]),
        (&json!("International"), &json!("39.90"))
    );
    assert_eq!(
        (&order["vatIncluded"]["amount"], &order["lines"][0]["vat"]["percent"]),
        (&json!("0.00"), &json!("0"))
    );
}

#[tokio::test]
async fn an_order_ships_with_the_method_chosen_and_never_with_one_that_does_not_ship_there() {
    let app = TestApp::spawn().await;
    let (medium, _) = drop_tee(&app, 10).await;
    let guest = guest_with(&app, &medium, 1).await;
    let express = method_id(&app, &guest, "FR", "Express").await;

    for (method, key) in [(express.as_str(), "express-to-spain"), ("not-an-id", "garbage")] {
        let refused = app.post_graphql_as(&guest, &checkout_to("ES", Some(method), key)).await;
        assert_eq!(codes(&refused["data"]["checkout"]), ["UNAVAILABLE_SHIPPING_METHOD"], "{refused}");
        assert_eq!(refused["data"]["checkout"]["userErrors"][0]["field"], "input.shippingMethodId");
    }
    assert_eq!(stock_of(&app, "DROP-TEE-M-BLACK").await, 10);
    assert_eq!(count(&app, "SELECT count(*) AS n FROM orders").await, 0);

    let placed = app.post_graphql_as(&guest, &checkout_to("FR", Some(&express), "express")).await;
    let order = &placed["data"]["checkout"]["order"];
    assert_eq!(
        (&order["shippingMethod"], &order["total"]["amount"]),
        (&json!("Express"), &json!("29.90")),
        "{placed}"
    );
    assert_eq!(order["shippingVat"], json!({ "percent": "20", "amount": { "amount": "1.65" } }));
}

/// `mutation` as the admin: its payload.
async fn as_admin(app: &TestApp, admin: &str, mutation: &str, field: &str) -> Value {
    let body = app.post_graphql_as(admin, mutation).await;
    body["data"][field].clone()
}

const ZONE: &str = "zone { id name countries restOfWorld methods { method { id name price { amount } } active } } \
    userErrors { field code }";

#[tokio::test]
async fn staff_set_up_zones_methods_and_vat_rates_and_shoppers_see_them_at_once() {
    let app = TestApp::spawn().await;
    let (medium, _) = drop_tee(&app, 10).await;
    let guest = guest_with(&app, &medium, 1).await;
    let admin = app.admin_token().await;
    assert_eq!(options(&app, &guest, "CH").await, pairs(&[("International", "19.90")]), "cached now");

    let created = as_admin(
        &app,
        &admin,
        &format!(r#"mutation {{ createShippingZone(input: {{ name: "Switzerland", countries: ["ch", "LI"] }}) {{ {ZONE} }} }}"#),
        "createShippingZone",
    )
    .await;
    assert_eq!(created["userErrors"], json!([]), "{created}");
    assert_eq!(created["zone"]["countries"], json!(["CH", "LI"]));
    let zone = created["zone"]["id"].as_str().unwrap();
    let method = as_admin(
        &app,
        &admin,
        &format!(
            r#"mutation {{ createShippingMethod(zoneId: "{zone}", input: {{ name: "Post CH", price: 1490,
                freeFrom: 15000, minDeliveryDays: 2, maxDeliveryDays: 4 }}) {{ method {{ method {{ id }} active }} userErrors {{ code }} }} }}"#
        ),
        "createShippingMethod",
    )
    .await;
    assert_eq!(method["method"]["active"], true, "{method}");
    let vat = as_admin(&app, &admin, r#"mutation { setVatRate(country: "CH", percent: "8.1") { vatRate { country percent } userErrors { code } } }"#, "setVatRate").await;
    assert_eq!(vat["vatRate"], json!({ "country": "CH", "percent": "8.1" }), "{vat}");
    app.wait_for_replica().await;

    assert_eq!(options(&app, &guest, "CH").await, pairs(&[("Post CH", "14.90")]), "the cached answer went");
    let placed = app.post_graphql_as(&guest, &checkout_to("CH", None, "to-switzerland")).await;
    let order = &placed["data"]["checkout"]["order"];
    // 14.90 at 8.1 %: 1.1166… → 1.12; 20.00: 1.4986… → 1.50.
    assert_eq!(order["shippingVat"], json!({ "percent": "8.1", "amount": { "amount": "1.12" } }), "{placed}");
    assert_eq!(order["vatIncluded"]["amount"], "2.62");

    let method_id = method["method"]["method"]["id"].as_str().unwrap();
    let withdrawn = as_admin(
        &app,
        &admin,
        &format!(
            r#"mutation {{ updateShippingMethod(id: "{method_id}", active: false, input: {{ name: "Post CH",
                price: 1490, minDeliveryDays: 2, maxDeliveryDays: 4 }}) {{ method {{ active }} userErrors {{ code }} }} }}"#
        ),
        "updateShippingMethod",
    )
    .await;
    assert_eq!(withdrawn["method"]["active"], false, "{withdrawn}");
    let removed = as_admin(
        &app,
        &admin,
        r#"mutation { removeVatRate(country: "CH") { vatRate { country } userErrors { code } } }"#,
        "removeVatRate",
    )
    .await;
    assert_eq!(removed, json!({ "vatRate": null, "userErrors": [] }));
    app.wait_for_replica().await;
    assert_eq!(options(&app, &guest, "CH").await, pairs(&[]), "the zone has no method left to offer");
    let rates = app.post_graphql(r#"{ vatRates { country percent } }"#).await;
    let rates = rates["data"]["vatRates"].as_array().unwrap();
    assert_eq!(rates.len(), 27, "the EU's, without CH");
    assert!(rates.contains(&json!({ "country": "FI", "percent": "25.5" })));

    let zones = app.post_graphql_as(&admin, "{ shippingZones { name countries restOfWorld } }").await;
    let names: Vec<&str> = zones["data"]["shippingZones"]
        .as_array()
        .unwrap()
        .iter()
        .map(|z| z["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["European Union", "France", "Switzerland", "Rest of the world"]);
}

#[tokio::test]
async fn a_country_is_in_one_zone_and_only_one_zone_is_the_rest_of_the_world() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let create = |input: &str| format!("mutation {{ createShippingZone(input: {input}) {{ {ZONE} }} }}");
    let user_errors = |payload: &Value| payload["userErrors"].clone();

    let taken = as_admin(
        &app,
        &admin,
        &create(r#"{ name: "DACH", countries: ["DE", "AT", "CH"] }"#),
        "createShippingZone",
    )
    .await;
    assert_eq!(user_errors(&taken), json!([{ "field": "input.countries", "code": "COUNTRY_TAKEN" }]));
    let rest =
        as_admin(&app, &admin, &create(r#"{ name: "Elsewhere", restOfWorld: true }"#), "createShippingZone")
            .await;
    assert_eq!(user_errors(&rest), json!([{ "field": "input.restOfWorld", "code": "REST_OF_WORLD_TAKEN" }]));
    let bad =
        as_admin(&app, &admin, &create(r#"{ name: " ", countries: ["XX"] }"#), "createShippingZone").await;
    assert_eq!(
        user_errors(&bad),
        json!([{ "field": "input.name", "code": "INVALID_VALUE" }, { "field": "input.countries", "code": "INVALID_VALUE" }])
    );
    assert_eq!(count(&app, "SELECT count(*) AS n FROM shipping_zones").await, 3, "nothing was written");

    let guest = app
        .post_graphql(
            r#"mutation { createShippingZone(input: { name: "Mine", countries: ["CH"] }) { zone { id } } }"#,
        )
        .await;
    assert_eq!(guest["errors"][0]["extensions"]["code"], "UNAUTHENTICATED", "{guest}");
    let zones = app.post_graphql(r#"{ shippingZones { name } }"#).await;
    assert_eq!(zones["errors"][0]["extensions"]["code"], "UNAUTHENTICATED", "{zones}");
}

#[tokio::test]
async fn a_vat_rate_is_refused_for_a_bad_country_or_percent_and_nothing_is_written() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let set = |country: &str, percent: &str| {
        format!(
            r#"mutation {{ setVatRate(country: "{country}", percent: "{percent}") {{ vatRate {{ country }} userErrors {{ field code }} }} }}"#
        )
    };
    let rates = "SELECT count(*) AS n FROM vat_rates";
    let before = count(&app, rates).await;

    let both = as_admin(&app, &admin, &set("XX", "-1"), "setVatRate").await;
    assert_eq!(
        both,
        json!({ "vatRate": null, "userErrors": [{ "field": "country", "code": "INVALID_VALUE" }, { "field": "percent", "code": "INVALID_VALUE" }] })
    );
    for percent in ["100.5", "20.123", "twenty", ""] {
        let refused = as_admin(&app, &admin, &set("CH", percent), "setVatRate").await;
        assert_eq!(
            refused["userErrors"],
            json!([{ "field": "percent", "code": "INVALID_VALUE" }]),
            "{percent:?}"
        );
    }
    let unknown = as_admin(
        &app,
        &admin,
        r#"mutation { removeVatRate(country: "X1") { vatRate { country } userErrors { field code } } }"#,
        "removeVatRate",
    )
    .await;
    assert_eq!(unknown["userErrors"], json!([{ "field": "country", "code": "INVALID_VALUE" }]));
    assert_eq!(count(&app, rates).await, before, "nothing was written");
    let guest = app.post_graphql(&set("CH", "8.1")).await;
    assert_eq!(guest["errors"][0]["extensions"]["code"], "UNAUTHENTICATED", "{guest}");
}
