use serde_json::{Value, json};

use crate::support::{TestApp, free_port};

fn check<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no check named {name} in {report}"))
}

#[tokio::test]
async fn live_answers() {
    let app = TestApp::spawn().await;

    let live = app.get("/health/live").await;

    assert_eq!(live.status(), 200);
    assert_eq!(live.json::<Value>().await.unwrap(), json!({ "status": "ok" }));
}

#[tokio::test]
async fn ready_names_every_dependency_with_its_status_and_latency() {
    let app = TestApp::spawn().await;

    let ready = app.get_admin("/health/ready").await;

    assert_eq!(ready.status(), 200);
    let report: Value = ready.json().await.unwrap();
    assert_eq!(report["status"], "ok", "{report}");
    for (name, role) in [("primary", "primary"), ("replica-1", "replica"), ("redis", "cache")] {
        let check = check(&report, name);
        assert_eq!(check["role"], role);
        assert_eq!(check["status"], "ok", "{report}");
        assert!(check["latencyMs"].as_f64().unwrap() >= 0.0);
    }
}

#[tokio::test]
async fn without_redis_ready_is_degraded_but_the_catalog_still_answers() {
    let unreachable_redis = format!("redis://:pw@127.0.0.1:{}/0", free_port());
    let app = TestApp::spawn_with(&["--redis-url", &unreachable_redis]).await;

    let ready = app.get_admin("/health/ready").await;
    assert_eq!(ready.status(), 200);
    let report: Value = ready.json().await.unwrap();
    assert_eq!(report["status"], "degraded", "{report}");
    assert_eq!(check(&report, "redis")["status"], "down");

    let shop = app.post_graphql("{ shop { name } }").await;
    assert_eq!(shop, json!({ "data": { "shop": { "name": "MyClothes" } } }));
}

#[tokio::test]
async fn without_any_database_ready_is_503_and_queries_say_service_unavailable() {
    let nowhere = |role: &str| format!("postgres://{role}:pw@127.0.0.1:{}/db", free_port());
    let app = TestApp::spawn_with(&["--database-url", &nowhere("w"), "--replica-urls", &nowhere("r")]).await;

    let ready = app.get_admin("/health/ready").await;
    assert_eq!(ready.status(), 503);
    let report: Value = ready.json().await.unwrap();
    assert_eq!(report["status"], "down", "{report}");
    assert_eq!(check(&report, "primary")["status"], "down");
    assert_eq!(check(&report, "replica-1")["status"], "down");

    let shop = app.post_graphql("{ shop { name } }").await;
    assert_eq!(shop["errors"][0]["extensions"]["code"], "SERVICE_UNAVAILABLE", "{shop}");
    assert_eq!(shop["data"], Value::Null);
}

/// What a load balancer needs is public: whether the instance is ready. What operators need (the
/// databases' addresses, the probes' errors, the metrics) is on the admin listener only.
#[tokio::test]
async fn the_public_listener_tells_readiness_and_nothing_about_the_insides() {
    let unreachable_redis = format!("redis://:pw@127.0.0.1:{}/0", free_port());
    let app = TestApp::spawn_with(&["--redis-url", &unreachable_redis]).await;

    let ready = app.get("/health/ready").await;
    assert_eq!(ready.status(), 200);
    assert_eq!(ready.json::<Value>().await.unwrap(), json!({ "status": "degraded" }));
    assert_eq!(app.get("/metrics").await.status(), 404);

    let report: Value = app.get_admin("/health/ready").await.json().await.unwrap();
    assert!(check(&report, "primary")["address"].is_string(), "{report}");
    assert!(check(&report, "redis")["error"].is_string(), "{report}");
    assert_eq!(app.get_admin("/metrics").await.status(), 200);
}
