use serde_json::{Value, json};

use crate::support::TestApp;

const START_QUERY: &str = "mutation { startSession { token } }";
const START: &str = r#"{"query":"mutation { startSession { token } }"}"#;

#[tokio::test]
async fn a_post_a_browser_could_send_from_another_site_is_refused() {
    let app = TestApp::spawn().await;
    let cookie = format!(
        "mc_session={}",
        app.post_graphql(START_QUERY).await["data"]["startSession"]["token"].as_str().unwrap()
    );

    for content_type in ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"]
    {
        let response = app
            .client
            .post(format!("{}/graphql", app.address))
            .header("content-type", content_type)
            .header("cookie", &cookie)
            .body(START)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 415, "{content_type}");
        assert!(response.headers().get("set-cookie").is_none(), "{content_type}: nothing ran");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_REQUEST");
    }
    let json = app
        .client
        .post(format!("{}/graphql", app.address))
        .header("content-type", "application/json; charset=utf-8")
        .header("cookie", &cookie)
        .body(START)
        .send()
        .await
        .unwrap();
    assert_eq!(json.status(), 200);
}

#[tokio::test]
async fn a_mutation_over_get_is_refused() {
    let app = TestApp::spawn().await;

    let response = app.get("/graphql?query=mutation%20%7B%20startSession%20%7B%20token%20%7D%20%7D").await;

    assert_eq!(response.status(), 405);
    assert!(response.headers().get("set-cookie").is_none());
}

/// The preflight a browser sends before a cross-site JSON POST.
async fn preflight(app: &TestApp, origin: &str) -> reqwest::Response {
    app.client
        .request(reqwest::Method::OPTIONS, format!("{}/graphql", app.address))
        .header("origin", origin)
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "content-type")
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn only_the_configured_origins_may_call_across_sites() {
    let app =
        TestApp::spawn_with(&["--cors-origins", "https://shop.example.com,http://localhost:3000"]).await;

    let allowed = preflight(&app, "https://shop.example.com").await;
    let other = preflight(&app, "https://evil.example.net").await;

    assert_eq!(allowed.headers()["access-control-allow-origin"], "https://shop.example.com");
    assert_eq!(allowed.headers()["access-control-allow-credentials"], "true");
    assert!(other.headers().get("access-control-allow-origin").is_none(), "{:?}", other.headers());
    let same_origin_only = TestApp::spawn().await;
    let none = preflight(&same_origin_only, "https://shop.example.com").await;
    assert!(none.headers().get("access-control-allow-origin").is_none());
    let post = app
        .client
        .post(format!("{}/graphql", app.address))
        .header("origin", "https://shop.example.com")
        .json(&json!({ "query": "{ shop { name } }" }))
        .send()
        .await
        .unwrap();
    assert_eq!(post.headers()["access-control-allow-origin"], "https://shop.example.com");
}
