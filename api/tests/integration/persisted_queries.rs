use serde_json::{Value, json};

use crate::support::TestApp;
use crate::support::process::ServerProcess;

const SHOP: &str = "{ shop { name currency } }";

fn sha256(document: &str) -> String {
    infra::persisted_queries::hash_of(document)
}

fn by_hash(document: &str) -> Value {
    json!({ "extensions": { "persistedQuery": { "version": 1, "sha256Hash": sha256(document) } } })
}

fn with_hash(document: &str) -> Value {
    let mut body = by_hash(document);
    body["query"] = json!(document);
    body
}

/// `GET /graphql` with only the persisted-query extension naming `document`.
async fn get_by_hash(app: &TestApp, document: &str) -> reqwest::Response {
    let extensions = by_hash(document)["extensions"].to_string();
    let url = format!("{}/graphql", app.address);
    app.client.get(url).query(&[("extensions", extensions)]).send().await.unwrap()
}

fn code(body: &Value) -> &str {
    body["errors"][0]["extensions"]["code"].as_str().unwrap_or_default()
}

#[tokio::test]
async fn a_hash_learned_by_one_instance_is_served_by_another() {
    let app = TestApp::spawn().await;
    let other = ServerProcess::start(&app.db, &[]).await;

    let unknown = app.post_graphql_with(by_hash(SHOP)).await;
    assert_eq!(unknown["errors"][0]["message"], "PersistedQueryNotFound");
    assert_eq!(code(&unknown), "PERSISTED_QUERY_NOT_FOUND");
    let registered = app.post_graphql_with(with_hash(SHOP)).await;
    assert_eq!(registered["data"]["shop"]["name"], "MyClothes", "{registered}");

    let response = reqwest::Client::new()
        .post(format!("http://127.0.0.1:{}/graphql", other.port))
        .json(&by_hash(SHOP))
        .send()
        .await
        .unwrap();
    let served: Value = response.json().await.unwrap();
    assert_eq!(served["data"]["shop"]["currency"], "EUR", "{served}");
    let by_get = get_by_hash(&app, SHOP).await;
    assert_eq!(by_get.json::<Value>().await.unwrap()["data"]["shop"]["name"], "MyClothes");
}

#[tokio::test]
async fn a_batch_of_hashes_runs_every_document_and_one_unknown_hash_refuses_it() {
    let app = TestApp::spawn().await;
    let name = "{ shop { name } }";
    app.post_graphql_with(with_hash(SHOP)).await;
    app.post_graphql_with(with_hash(name)).await;

    let batch = app.post_graphql_with(json!([by_hash(SHOP), by_hash(name)])).await;
    assert_eq!(batch[0]["data"]["shop"]["currency"], "EUR", "{batch}");
    assert_eq!(batch[1]["data"]["shop"]["name"], "MyClothes", "{batch}");
    let unknown = app.post_graphql_with(json!([by_hash(SHOP), by_hash("{ __typename }")])).await;
    assert_eq!(code(&unknown), "PERSISTED_QUERY_NOT_FOUND", "{unknown}");
}

#[tokio::test]
async fn a_wrong_hash_is_refused_and_a_persisted_mutation_never_runs_over_get() {
    let app = TestApp::spawn().await;
    let mut wrong = with_hash(SHOP);
    wrong["query"] = json!("{ shop { name } }");

    assert_eq!(code(&app.post_graphql_with(wrong).await), "BAD_REQUEST");

    let start = "mutation { startSession { token } }";
    app.post_graphql_with(with_hash(start)).await;
    assert_eq!(get_by_hash(&app, start).await.status(), 405);
}

#[tokio::test]
async fn with_persisted_queries_only_just_the_registered_documents_run() {
    let app = TestApp::spawn_with(&["--persisted-queries-only", "true"]).await;
    let file = std::env::temp_dir().join(format!("{}-shop.graphql", app.db.name));
    std::fs::write(&file, SHOP).unwrap();
    let persisted = std::process::Command::new(env!("CARGO_BIN_EXE_myclothes"))
        .args(["--profile", "development"])
        .args(crate::support::suite_redis_args())
        .args(["--redis-key-prefix", &format!("{}:", app.db.name), "persist"])
        .arg(&file)
        .output()
        .unwrap();
    std::fs::remove_file(&file).unwrap();
    assert!(persisted.status.success(), "{}", String::from_utf8_lossy(&persisted.stderr));
    assert!(String::from_utf8(persisted.stdout).unwrap().starts_with(&sha256(SHOP)));

    let served = app.post_graphql_with(by_hash(SHOP)).await;
    let with_text = app.post_graphql_with(with_hash(SHOP)).await;
    let plain = app.post_graphql(SHOP).await;
    let unregistered = app.post_graphql_with(with_hash("{ shop { name } }")).await;

    assert_eq!(served["data"]["shop"]["name"], "MyClothes", "{served}");
    assert_eq!(with_text["data"]["shop"]["name"], "MyClothes", "{with_text}");
    assert_eq!(code(&plain), "PERSISTED_QUERY_REQUIRED");
    assert_eq!(code(&unregistered), "PERSISTED_QUERY_REQUIRED");
}

/// Only documents that could run are stored: one that does not parse, or that is over the document
/// limit, is answered as any such document is, and its hash stays unknown. A hash that is not one
/// is refused before anything is looked up.
#[tokio::test]
async fn only_documents_that_parse_and_fit_the_limit_are_stored() {
    let app = TestApp::spawn_with(&["--max-document-bytes", "200"]).await;
    let broken = "{ shop { name ";
    let oversized = format!("{{ shop {{ name {} }} }}", "currency ".repeat(30));

    for document in [broken, oversized.as_str()] {
        let sent = app.post_graphql_with(with_hash(document)).await;
        assert!(sent["data"].is_null(), "{sent}");
        let replayed = app.post_graphql_with(by_hash(document)).await;
        assert_eq!(code(&replayed), "PERSISTED_QUERY_NOT_FOUND", "{document}: {replayed}");
    }
    let not_a_hash =
        json!({ "extensions": { "persistedQuery": { "version": 1, "sha256Hash": "x".repeat(10_000) } } });
    assert_eq!(code(&app.post_graphql_with(not_a_hash).await), "BAD_REQUEST");
}
