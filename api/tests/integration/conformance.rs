//! The GraphQL-over-HTTP spec: content negotiation and status codes.

use serde_json::{Value, json};

use crate::support::TestApp;

const SPEC: &str = "application/graphql-response+json";

async fn post(app: &TestApp, accept: Option<&str>, body: &str) -> (u16, String, Value) {
    let mut request = app
        .client
        .post(format!("{}/graphql", app.address))
        .header("content-type", "application/json")
        .body(body.to_owned());
    if let Some(accept) = accept {
        request = request.header("accept", accept);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let content_type =
        response.headers().get("content-type").map_or(String::new(), |t| t.to_str().unwrap().to_owned());
    (status, content_type, response.json().await.unwrap_or(Value::Null))
}

fn query(document: &str) -> String {
    json!({ "query": document }).to_string()
}

#[tokio::test]
async fn a_client_of_the_spec_format_gets_it_with_400_for_request_errors() {
    let app = TestApp::spawn().await;
    let spec = Some("application/graphql-response+json, application/json;q=0.9");

    let (status, content_type, body) = post(&app, spec, &query("{ shop { name } }")).await;
    assert_eq!((status, body["data"]["shop"]["name"].as_str()), (200, Some("MyClothes")));
    assert!(content_type.starts_with(SPEC), "{content_type}");

    for (document, code) in
        [("{ shop { name ", "GRAPHQL_PARSE_FAILED"), ("{ shop { nope } }", "GRAPHQL_VALIDATION_FAILED")]
    {
        let (status, content_type, body) = post(&app, spec, &query(document)).await;
        assert_eq!(status, 400, "{document}: {body}");
        assert!(content_type.starts_with(SPEC));
        assert!(body.get("data").is_none(), "a request error has no data: {body}");
        assert_eq!(body["errors"][0]["extensions"]["code"], code);
    }
    let unknown_operation = json!({ "query": "query A { shop { name } }", "operationName": "B" }).to_string();
    let (status, _, body) = post(&app, spec, &unknown_operation).await;
    assert_eq!(status, 400, "an operation the document lacks is a request error: {body}");
    assert_eq!(body["errors"][0]["extensions"]["code"], "GRAPHQL_VALIDATION_FAILED");

    let (status, _, body) =
        post(&app, spec, &query("{ shop { name } orders(first: 1) { edges { cursor } } }")).await;
    assert_eq!(status, 200, "a field error is still a 200: {body}");
    assert_eq!(body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED");
}

/// A document validated once is not validated in full again, unless the values of its variables,
/// which differ from request to request, are validated with it.
#[tokio::test]
async fn a_document_with_variables_is_validated_in_full_every_time() {
    let app = TestApp::spawn().await;
    let count = |variables: Value| json!({ "query": "query Count($n: Int!) { products(first: $n) { totalCount } }", "variables": variables });
    let code = |body: &Value| body["errors"][0]["extensions"]["code"].as_str().map(str::to_owned);

    for _ in 0..2 {
        let body = app.post_graphql_with(count(json!({ "n": 2 }))).await;
        assert!(body["data"]["products"]["totalCount"].is_number(), "{body}");
        let body = app.post_graphql_with(count(json!({ "n": "two" }))).await;
        assert_eq!(code(&body).as_deref(), Some("GRAPHQL_VALIDATION_FAILED"), "{body}");
        assert!(body["data"].is_null(), "refused before running: {body}");
    }
    for _ in 0..2 {
        let body = app.post_graphql("{ products(first: 2) { totalCount } }").await;
        assert!(body["data"]["products"]["totalCount"].is_number(), "{body}");
        let body = app.post_graphql(r#"{ products(first: "two") { totalCount } }"#).await;
        assert_eq!(code(&body).as_deref(), Some("GRAPHQL_VALIDATION_FAILED"), "{body}");
    }
}

#[tokio::test]
async fn a_legacy_client_gets_json_and_200() {
    let app = TestApp::spawn().await;

    for accept in [None, Some("application/json"), Some("*/*")] {
        let (status, content_type, body) = post(&app, accept, &query("{ shop { name ")).await;
        assert_eq!(status, 200, "{accept:?}");
        assert!(content_type.starts_with("application/json"), "{content_type}");
        assert_eq!(body["errors"][0]["extensions"]["code"], "GRAPHQL_PARSE_FAILED");
    }
}

#[tokio::test]
async fn unacceptable_formats_and_malformed_bodies_are_refused() {
    let app = TestApp::spawn().await;

    let (status, _, not_acceptable) = post(&app, Some("text/html"), &query("{ shop { name } }")).await;
    assert_eq!(status, 406);
    assert_eq!(not_acceptable["errors"][0]["extensions"]["code"], "BAD_REQUEST", "{not_acceptable}");
    assert_eq!(post(&app, None, "{ this is not json").await.0, 400);
    let by_get = app
        .client
        .get(format!("{}/graphql", app.address))
        .query(&[("query", "{ shop { name } }")])
        .header("accept", SPEC)
        .send()
        .await
        .unwrap();
    assert!(by_get.headers()["content-type"].to_str().unwrap().starts_with(SPEC));
}
