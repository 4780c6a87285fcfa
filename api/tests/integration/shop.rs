use serde_json::json;

use crate::support::TestApp;

#[tokio::test]
async fn shop_query_is_served_by_a_replica() {
    let app = TestApp::spawn().await;

    let body = app.post_graphql("{ shop { name currency } }").await;

    assert_eq!(body, json!({ "data": { "shop": { "name": "MyClothes", "currency": "EUR" } } }));
    assert_eq!(app.reads_served_by("replica-1"), 1);
    assert_eq!(app.reads_served_by("primary"), 0);
}

#[tokio::test]
async fn get_runs_queries_but_refuses_mutations() {
    let app = TestApp::spawn().await;

    let query = app.get("/graphql?query=%7Bshop%7Bname%7D%7D").await;
    assert_eq!(query.status(), 200);
    assert_eq!(
        query.json::<serde_json::Value>().await.unwrap(),
        json!({ "data": { "shop": { "name": "MyClothes" } } })
    );

    let mutation = app.get("/graphql?query=mutation%7B__typename%7D").await;
    assert_eq!(mutation.status(), 405);
    assert_eq!(mutation.headers()["allow"], "POST");
    let body: serde_json::Value = mutation.json().await.unwrap();
    assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_REQUEST");

    let named = app
        .get("/graphql?query=query%20A%7B__typename%7D%20mutation%20B%7B__typename%7D&operationName=B")
        .await;
    assert_eq!(named.status(), 405);
    let chosen_query = app
        .get("/graphql?query=query%20A%7B__typename%7D%20mutation%20B%7B__typename%7D&operationName=A")
        .await;
    assert_eq!(chosen_query.status(), 200);

    let variables =
        app.get("/graphql?query=query%20A(%24x%3AInt)%7B__typename%7D&variables=%7B%22x%22%3A1%7D").await;
    assert_eq!(variables.status(), 200);
    let bad_variables = app.get("/graphql?query=%7B__typename%7D&variables=%7Bnot-json").await;
    assert_eq!(bad_variables.status(), 400);
    let body: serde_json::Value = bad_variables.json().await.unwrap();
    assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_REQUEST");
}

#[tokio::test]
async fn a_syntax_error_is_a_graphql_error_not_a_500() {
    let app = TestApp::spawn().await;

    let body = app.post_graphql("{ shop { name ").await;

    assert!(body["errors"][0]["message"].as_str().unwrap().contains("expected"), "{body}");
}
