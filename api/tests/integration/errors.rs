use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

use crate::carts::guest_cart_of;
use crate::support::TestApp;
use crate::support::process::ServerProcess;

#[tokio::test]
async fn every_response_carries_the_request_id_given_or_made() {
    let app = TestApp::spawn().await;
    let shop = |id: Option<&'static str>| {
        let mut request = app
            .client
            .post(format!("{}/graphql", app.address))
            .json(&json!({ "query": "{ shop { name } }" }));
        if let Some(id) = id {
            request = request.header("x-request-id", id);
        }
        async move { request.send().await.unwrap().headers()["x-request-id"].to_str().unwrap().to_owned() }
    };

    assert_eq!(shop(Some("checkout-7f3a.1")).await, "checkout-7f3a.1");
    let made = shop(None).await;
    assert!(made.len() == 32 && made.chars().all(|c| c.is_ascii_hexdigit()), "{made}");
    assert_ne!(shop(Some("has space")).await, "has space", "an unusable id is replaced");
    assert!(app.get("/health/live").await.headers().contains_key("x-request-id"));
}

async fn new_session(app: &TestApp) -> String {
    let body = app.post_graphql("mutation { startSession { token } }").await;
    body["data"]["startSession"]["token"].as_str().unwrap().to_owned()
}

/// A Redis command that fails because of what it was asked (here a cart key of the wrong type) is a
/// bug: `INTERNAL_SERVER_ERROR`, and Redis stays in use for every other call, without the pause an
/// outage gets.
#[tokio::test]
async fn a_failing_redis_command_is_an_internal_error_and_redis_stays_in_use() {
    let app = TestApp::spawn().await;
    let token = new_session(&app).await;
    let cart = app.cart_key(&guest_cart_of(&token));
    let _: () = app.redis(deadpool_redis::redis::cmd("SET").arg(&cart).arg("not a cart")).await;
    let variant = URL_SAFE_NO_PAD.encode(format!("Variant:{}", uuid::Uuid::now_v7()));

    let failed = app
        .post_graphql_as(
            &token,
            &format!(r#"mutation {{ updateCartLine(variantId: "{variant}", quantity: 0) {{ cart {{ totalQuantity }} }} }}"#),
        )
        .await;
    let other = new_session(&app).await;
    let other_cart = app.post_graphql_as(&other, "{ cart { totalQuantity } }").await;

    assert_eq!(failed["errors"][0]["extensions"]["code"], "INTERNAL_SERVER_ERROR", "{failed}");
    assert_eq!(
        other_cart,
        json!({ "data": { "cart": { "totalQuantity": 0 } } }),
        "Redis is still used at once"
    );
}

/// Colour codes are for a terminal; a log file is read by people and collectors that would have to
/// strip them.
#[tokio::test]
async fn text_log_lines_written_to_a_file_carry_no_colour_codes() {
    let app = TestApp::spawn().await;
    let log = std::env::temp_dir().join(format!("{}-text.log", app.db.name));
    let mut server =
        ServerProcess::start_logging(&app.db, &["--log", "info", "--log-format", "text"], &log).await;
    server.post_graphql(None, "{ shop { name } }").await;

    let logged = server.stop_and_read_log(&log).await;
    assert!(logged.lines().count() >= 2, "the start and the request are logged:\n{logged}");
    assert!(!logged.contains('\u{1b}'), "no escape sequences:\n{logged}");
}

#[tokio::test]
async fn an_internal_error_shows_only_its_code_and_request_id_and_logs_the_details() {
    let app = TestApp::spawn().await;
    let log = std::env::temp_dir().join(format!("{}.log", app.db.name));
    let mut server =
        ServerProcess::start_logging(&app.db, &["--log", "info", "--log-format", "json"], &log).await;
    let token = server.post_graphql(None, "mutation { startSession { token } }").await["data"]["startSession"]["token"]
        .as_str()
        .unwrap()
        .to_owned();
    // A cart line no version of the server ever wrote: reading it is a bug, not the shopper's fault.
    let cart = app.cart_key(&guest_cart_of(&token));
    let _: () =
        app.redis(deadpool_redis::redis::cmd("HSET").arg(&cart).arg("not-a-variant").arg("garbled")).await;

    let response = reqwest::Client::new()
        .post(format!("http://127.0.0.1:{}/graphql", server.port))
        .bearer_auth(&token)
        .json(&json!({ "query": "{ cart { totalQuantity } }" }))
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), 200);
    let request_id = response.headers()["x-request-id"].to_str().unwrap().to_owned();
    let body: Value = response.json().await.unwrap();
    let error = &body["errors"][0];
    assert_eq!(error["message"], "internal error");
    assert_eq!(error["extensions"], json!({ "code": "INTERNAL_SERVER_ERROR", "requestId": request_id }));
    assert!(!body.to_string().contains("garbled") && !body.to_string().contains("malformed"), "{body}");
    let logged = server.stop_and_read_log(&log).await;
    let line = logged
        .lines()
        .find(|line| line.contains(&request_id) && line.contains("unexpected error"))
        .unwrap_or_else(|| panic!("no log line of the error with the request id in:\n{logged}"));
    assert!(line.contains("malformed") && line.contains("garbled"), "the details are in the log: {line}");
    assert!(!logged.contains(&token), "tokens are never logged");
}

#[tokio::test]
async fn introspection_and_field_suggestions_can_be_switched_off() {
    let open = TestApp::spawn().await;
    let closed = TestApp::spawn_with(&["--introspection", "false", "--field-suggestions", "false"]).await;
    let introspect = "{ __schema { queryType { name } } }";

    assert_eq!(open.post_graphql(introspect).await["data"]["__schema"]["queryType"]["name"], "Query");
    assert!(
        open.post_graphql("{ shops { name } }").await["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("Did you mean")
    );
    assert!(closed.post_graphql(introspect).await["data"]["__schema"].is_null(), "the schema is not shown");
    let typo = closed.post_graphql("{ shops { name } }").await;
    assert!(!typo["errors"][0]["message"].as_str().unwrap().contains("Did you mean"), "{typo}");
}
