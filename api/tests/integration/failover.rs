use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::tcp_proxy::TcpProxy;
use crate::support::{DelayedReplica, Stack, TestApp, TestDatabase};

fn register(email: &str) -> String {
    format!(
        r#"mutation {{ register(input: {{ email: "{email}", password: "correct horse battery", name: "Ada" }}) {{ customer {{ email }} userErrors {{ code }} }} }}"#
    )
}

fn registered(body: &Value) -> bool {
    body["data"]["register"]["customer"]["email"].is_string()
}

#[tokio::test]
async fn after_the_primary_dies_and_a_replica_is_promoted_writes_resume_without_a_restart() {
    let db = TestDatabase::create().await;
    let standby = DelayedReplica::start("0s");
    let stack = Stack::get();
    // The api reaches the primary through a proxy the test can cut, as if the primary had died.
    let mut primary = TcpProxy::start(stack.primary_port).await;
    let candidates = format!(
        "{},{}",
        stack.writer_url_on(&db.name, primary.port),
        stack.writer_url_on(&db.name, standby.port)
    );
    let replicas = stack.reader_url(&db.name, standby.port);
    let app = TestApp::spawn_on(db, &["--database-url", &candidates, "--replica-urls", &replicas]).await;
    assert!(registered(&app.post_graphql(&register("before@example.com")).await));
    app.wait_for_replica_on(standby.port).await;

    primary.cut();
    let refused_at = Instant::now();
    let refused = app.post_graphql(&register("during@example.com")).await;
    assert_eq!(refused["errors"][0]["extensions"]["code"], "SERVICE_UNAVAILABLE", "{refused}");
    assert!(refused_at.elapsed() < Duration::from_secs(3), "writes fail fast");
    assert_eq!(
        app.post_graphql("{ shop { name } }").await["data"]["shop"]["name"],
        "MyClothes",
        "reads go on"
    );

    standby.promote();
    let promoted_at = Instant::now();
    let mut attempt = 0;
    loop {
        attempt += 1;
        if registered(&app.post_graphql(&register(&format!("after{attempt}@example.com"))).await) {
            break;
        }
        assert!(promoted_at.elapsed() < Duration::from_secs(10), "writes did not resume within 10 s");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    let before = app.post_graphql(r#"mutation { login(input: { email: "before@example.com", password: "correct horse battery" }) { token } }"#).await;
    assert!(
        before["data"]["login"]["token"].is_string(),
        "the write committed before the failover survived: {before}"
    );
}
