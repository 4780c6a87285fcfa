use serde_json::{Value, json};

use crate::support::TestApp;

async fn limited_app() -> TestApp {
    TestApp::spawn_with(&[
        "--max-depth",
        "5",
        "--max-complexity",
        "100",
        "--max-document-bytes",
        "500",
        "--max-aliases",
        "3",
        "--max-batch",
        "2",
    ])
    .await
}

/// The POST's status and body.
async fn post(app: &TestApp, body: Value) -> (u16, Value) {
    let response = app.client.post(format!("{}/graphql", app.address)).json(&body).send().await.unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

fn refused_for(body: &Value) -> Option<&str> {
    let error = &body["errors"][0];
    (error["extensions"]["code"] == "BAD_REQUEST" && body["data"].is_null())
        .then(|| error["extensions"]["limit"].as_str())
        .flatten()
}

/// `{ categories { children { … name } } }`, `depth` fields deep.
fn nested(depth: usize) -> String {
    format!("{{ categories {}name{} }}", "{ children ".repeat(depth - 2) + "{ ", " }".repeat(depth - 1))
}

#[tokio::test]
async fn a_query_may_be_as_deep_as_the_limit_and_no_deeper() {
    let app = limited_app().await;

    let (_, at_limit) = post(&app, json!({ "query": nested(5) })).await;
    let (_, over) = post(&app, json!({ "query": nested(6) })).await;

    assert!(at_limit["errors"].is_null(), "{at_limit}");
    assert_eq!(refused_for(&over), Some("depth"), "{over}");
}

#[tokio::test]
async fn a_document_nested_past_what_the_parser_takes_is_a_parse_failure() {
    let app = TestApp::spawn().await;

    let (_, body) = post(&app, json!({ "query": nested(40) })).await;

    assert_eq!(body["errors"][0]["extensions"]["code"], "GRAPHQL_PARSE_FAILED", "{body}");
    assert!(body["data"].is_null(), "{body}");
}

#[tokio::test]
async fn a_list_costs_its_page_size_times_what_it_selects() {
    let app = limited_app().await;
    // Each product selects 3 fields (edges, node, name): 33 cost 99, 34 cost 102.
    let page = |first: u32| json!({ "query": format!("{{ products(first: {first}) {{ edges {{ node {{ name }} }} }} }}") });

    let (_, under) = post(&app, page(33)).await;
    let (_, over) = post(&app, page(34)).await;

    assert!(under["errors"].is_null(), "{under}");
    assert_eq!(refused_for(&over), Some("complexity"), "{over}");
}

#[tokio::test]
async fn a_document_may_have_as_many_bytes_and_aliases_as_the_limits() {
    let app = limited_app().await;
    let padded = |bytes: usize| {
        let query = "{ shop { name } }";
        format!("{query}{}", " ".repeat(bytes - query.len()))
    };
    let aliased = |count: usize| {
        format!(
            "{{ {} }}",
            (0..count).map(|i| format!("a{i}: shop {{ name }}")).collect::<Vec<_>>().join(" ")
        )
    };

    let (_, size_ok) = post(&app, json!({ "query": padded(500) })).await;
    let (_, size_over) = post(&app, json!({ "query": padded(501) })).await;
    let (_, aliases_ok) = post(&app, json!({ "query": aliased(3) })).await;
    let (_, aliases_over) = post(&app, json!({ "query": aliased(4) })).await;

    assert!(size_ok["errors"].is_null(), "{size_ok}");
    assert_eq!(refused_for(&size_over), Some("documentBytes"), "{size_over}");
    assert!(aliases_ok["errors"].is_null(), "{aliases_ok}");
    assert_eq!(refused_for(&aliases_over), Some("aliases"), "{aliases_over}");
}

#[tokio::test]
async fn a_batch_may_hold_as_many_operations_as_the_limit_and_is_refused_whole_beyond() {
    let app = limited_app().await;
    let start = json!({ "query": "mutation { startSession { token } }" });

    let (status_ok, two) = post(&app, json!([start, start])).await;
    let (status_over, three) = post(&app, json!([start, start, start])).await;

    assert_eq!((status_ok, two.as_array().map(Vec::len)), (200, Some(2)), "{two}");
    assert_eq!(status_over, 400);
    assert_eq!(refused_for(&three), Some("batch"), "{three}");
}

#[tokio::test]
async fn an_over_limit_mutation_runs_no_resolver() {
    let app = limited_app().await;
    let four_sessions = "mutation { a: startSession { token } b: startSession { token } c: startSession { token } d: startSession { token } }";

    let response = app
        .client
        .post(format!("{}/graphql", app.address))
        .json(&json!({ "query": four_sessions }))
        .send()
        .await
        .unwrap();

    assert!(response.headers().get("set-cookie").is_none(), "no session was started");
    assert_eq!(refused_for(&response.json().await.unwrap()), Some("aliases"));
}
