//! Random and malformed GraphQL documents, variables and bodies, from a fixed seed so a failure can be
//! replayed: the server never answers 5xx, and keeps answering.

use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{Value, json};

use crate::support::TestApp;
use crate::support::process::ServerProcess;

const TOKENS: &[&str] = &[
    "{",
    "}",
    "(",
    ")",
    "[",
    "]",
    ":",
    "$",
    "!",
    "=",
    "@",
    "...",
    "|",
    "&",
    ",",
    "query",
    "mutation",
    "subscription",
    "fragment",
    "on",
    "shop",
    "name",
    "products",
    "product",
    "first",
    "after",
    "last",
    "filter",
    "sort",
    "edges",
    "node",
    "id",
    "slug",
    "variants",
    "cart",
    "lines",
    "addToCart",
    "variantId",
    "quantity",
    "checkout",
    "input",
    "login",
    "register",
    "me",
    "orders",
    "order",
    "number",
    "categories",
    "children",
    "__schema",
    "__type",
    "__typename",
    "PRICE_ASC",
    "true",
    "null",
    "0",
    "-1",
    "99999999999999999999",
    "1.5e308",
    "\"\"",
    "\"x\"",
    "\"\\u0000\"",
    "\"é漢\"",
    "#comment\n",
    "\n",
    " ",
    "a:",
    "$v",
    "$v: Int",
    "ID!",
];

fn document(rng: &mut ChaCha8Rng) -> String {
    let length = rng.random_range(0..80);
    (0..length).map(|_| *TOKENS.choose(rng).unwrap()).collect::<Vec<_>>().join(" ")
}

fn value(rng: &mut ChaCha8Rng, depth: u32) -> Value {
    match rng.random_range(0..if depth > 2 { 5 } else { 7 }) {
        0 => Value::Null,
        1 => json!(rng.random::<bool>()),
        2 => json!(rng.random::<i64>()),
        3 => json!(rng.random::<f64>() * 1e300),
        4 => json!(TOKENS.choose(rng).unwrap()),
        5 => Value::Array((0..rng.random_range(0..4)).map(|_| value(rng, depth + 1)).collect()),
        _ => {
            let fields = (0..rng.random_range(0..4))
                .map(|_| (TOKENS.choose(rng).unwrap().to_string(), value(rng, depth + 1)));
            Value::Object(fields.collect())
        }
    }
}

/// A request body: mostly GraphQL requests with random parts, sometimes not even JSON.
fn body(rng: &mut ChaCha8Rng) -> String {
    match rng.random_range(0..10) {
        0 => (0..rng.random_range(0..200)).map(|_| rng.random::<char>()).collect(),
        1 => json!([{ "query": document(rng) }, { "query": document(rng), "variables": value(rng, 0) }])
            .to_string(),
        2 => value(rng, 0).to_string(),
        _ => {
            let mut request = json!({ "query": document(rng) });
            if rng.random() {
                request["variables"] = value(rng, 0);
            }
            if rng.random() {
                request["operationName"] = value(rng, 2);
            }
            if rng.random_ratio(1, 5) {
                request["extensions"] = json!({ "persistedQuery": value(rng, 1) });
            }
            request.to_string()
        }
    }
}

#[tokio::test]
async fn random_and_malformed_requests_never_get_a_5xx() {
    let app = TestApp::spawn().await;
    let server = ServerProcess::start(&app.db, &[]).await;
    let client = reqwest::Client::new();
    let url = format!("http://127.0.0.1:{}/graphql", server.port);
    let mut rng = ChaCha8Rng::seed_from_u64(20261122);

    for round in 0..1500 {
        let body = body(&mut rng);
        let response = if rng.random_ratio(1, 4) {
            client.get(&url).query(&[("query", body.as_str())]).send().await
        } else {
            client.post(&url).header("content-type", "application/json").body(body.clone()).send().await
        };
        let status =
            response.unwrap_or_else(|e| panic!("round {round}: no answer to {body:?}: {e}")).status();
        assert!(status.as_u16() < 500, "round {round}: {status} for {body:?}");
    }

    let alive = server.post_graphql(None, "{ shop { name } }").await;
    assert_eq!(alive["data"]["shop"]["name"], "MyClothes");
}
