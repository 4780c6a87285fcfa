use crate::carts::add;
use crate::checkout::{drop_tee, guest_checkout};
use crate::support::TestApp;
use crate::support::process::ServerProcess;

/// The sum of the samples of `family` (`name` or `name{…}` lines) in a Prometheus text exposition.
fn total(exposition: &str, family: &str) -> Option<f64> {
    let samples: Vec<f64> = exposition
        .lines()
        .filter(|line| {
            line.strip_prefix(family).is_some_and(|rest| rest.starts_with(' ') || rest.starts_with('{'))
        })
        .filter_map(|line| line.rsplit(' ').next()?.parse().ok())
        .collect();
    (!samples.is_empty()).then(|| samples.iter().sum())
}

#[tokio::test]
async fn metrics_cover_requests_errors_cache_databases_redis_carts_and_checkouts() {
    let app = TestApp::spawn().await;
    let (medium, _) = drop_tee(&app, 10).await;
    let server = ServerProcess::start(&app.db, &[]).await;
    for _ in 0..2 {
        server.post_graphql(None, r#"query ProductPage { product(slug: "drop-tee") { name } }"#).await;
    }
    server.post_graphql(None, "{ shops { name } }").await;
    let added = server.post_graphql(None, &add(&medium, 1)).await;
    let token = added["data"]["addToCart"]["token"].as_str().unwrap().to_owned();
    let placed = server.post_graphql(Some(&token), &guest_checkout("tok_visa", "metrics")).await;
    assert!(placed["data"]["checkout"]["order"].is_object(), "{placed}");

    let exposition = reqwest::get(format!("http://127.0.0.1:{}/metrics", server.admin_port))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();

    for family in [
        "graphql_requests_total",
        "graphql_request_duration_seconds_count",
        "graphql_errors_total",
        "cache_requests_total",
        "db_reads_total",
        "db_statements_total",
        "db_pool_connections",
        "redis_command_duration_seconds_count",
        "cart_changes_total",
        "checkouts_total",
    ] {
        assert!(total(&exposition, family).is_some_and(|n| n > 0.0), "{family} in:\n{exposition}");
    }
    assert!(
        exposition.contains(r#"graphql_requests_total{operation="ProductPage",outcome="ok"} 2"#),
        "{exposition}"
    );
    assert!(
        exposition.contains(r#"graphql_errors_total{code="GRAPHQL_VALIDATION_FAILED"} 1"#),
        "{exposition}"
    );
    assert!(exposition.contains(r#"checkouts_total{outcome="PLACED"} 1"#));
    assert!(total(&exposition, "db_replica_lag_bytes").is_some_and(|lag| lag >= 0.0), "a lag per replica");
}
