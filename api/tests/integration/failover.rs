use std::time::{Duration, Instant};

use sea_orm::ConnectionTrait;

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
    let (candidates, replicas) = candidates_and_replica(&db, primary.port, &standby);
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

/// `SELECT count(*)` of customers with `email` in the test's database on the server on `port`.
async fn customers_on(db: &TestDatabase, port: u16, email: &str) -> i64 {
    let server = crate::support::connect(&Stack::get().writer_url_on(&db.name, port)).await;
    let sql = format!("SELECT count(*) AS n FROM customers WHERE email = '{email}'");
    let row = server.query_one_raw(crate::support::statement(&sql)).await.unwrap().unwrap();
    row.try_get("", "n").unwrap()
}

/// A test database with a standby of its own that has it already.
async fn database_with_a_standby() -> (std::sync::Arc<TestDatabase>, DelayedReplica) {
    let db = std::sync::Arc::new(TestDatabase::create().await);
    let standby = DelayedReplica::start("0s");
    crate::support::wait_until_server_has(&db.name, standby.port).await;
    (db, standby)
}

/// The primary candidates (the primary reached on `primary_port`, then the standby) and the replica
/// (the standby) of an instance of `db`.
fn candidates_and_replica(
    db: &TestDatabase,
    primary_port: u16,
    standby: &DelayedReplica,
) -> (String, String) {
    let stack = Stack::get();
    let candidates = format!(
        "{},{}",
        stack.writer_url_on(&db.name, primary_port),
        stack.writer_url_on(&db.name, standby.port)
    );
    (candidates, stack.reader_url(&db.name, standby.port))
}

/// After a promotion the former primary may come back writable: an instance started then (it has no
/// memory of the failover) must still write to the promoted server only, and report the split brain.
#[tokio::test]
async fn an_instance_started_beside_a_former_primary_writable_again_writes_to_the_promoted_one_only() {
    let (db, standby) = database_with_a_standby().await;
    let stack = Stack::get();
    // The stack's primary stays writable: it plays the former primary, restarted after the promotion.
    standby.promote();
    let (candidates, replicas) = candidates_and_replica(&db, stack.primary_port, &standby);

    let app =
        TestApp::spawn_on(db.clone(), &["--database-url", &candidates, "--replica-urls", &replicas]).await;
    assert!(registered(&app.post_graphql(&register("fresh@example.com")).await));

    assert_eq!(customers_on(&db, standby.port, "fresh@example.com").await, 1, "on the promoted server");
    assert_eq!(
        customers_on(&db, stack.primary_port, "fresh@example.com").await,
        0,
        "not on the former primary"
    );
    let report: Value = app.get_admin("/health/ready").await.json().await.unwrap();
    assert_eq!(report["status"], "degraded", "{report}");
    let former = report["checks"].as_array().unwrap().iter().find(|c| c["name"] == "primary").unwrap();
    assert!(former["error"].as_str().unwrap().contains("split brain"), "{report}");
}

/// A write that chose the primary before a failover and waited for it (here: the primary hangs) must
/// not go on there once it answers again: writes have moved to the promoted server meanwhile.
#[tokio::test]
async fn a_write_that_waited_for_the_former_primary_is_refused_once_writes_moved() {
    let (db, standby) = database_with_a_standby().await;
    let stack = Stack::get();
    let primary = TcpProxy::start(stack.primary_port).await;
    let (candidates, replicas) = candidates_and_replica(&db, primary.port, &standby);
    let flags = ["--database-url", &candidates, "--replica-urls", &replicas, "--db-timeout", "10s"];
    let app = TestApp::spawn_on(db.clone(), &flags).await;
    let token = app.admin_token().await;

    primary.pause();
    let create = r#"mutation { createBrand(input: { name: "Waited" }) { brand { slug } } }"#;
    let (client, address) = (app.client.clone(), app.address.clone());
    let waiting = tokio::spawn(async move {
        let body = serde_json::json!({ "query": create });
        let response = client.post(format!("{address}/graphql")).bearer_auth(token).json(&body).send().await;
        response.unwrap().json::<Value>().await.unwrap()
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    standby.promote();
    app.services.db.find_primary().await;
    primary.resume();

    let refused = waiting.await.unwrap();
    assert_eq!(refused["errors"][0]["extensions"]["code"], "SERVICE_UNAVAILABLE", "{refused}");
    let former = crate::support::connect(&stack.writer_url_on(&db.name, stack.primary_port)).await;
    let brands = "SELECT count(*) AS n FROM brands WHERE name = 'Waited'";
    let row = former.query_one_raw(crate::support::statement(brands)).await.unwrap().unwrap();
    assert_eq!(row.try_get::<i64>("", "n").unwrap(), 0, "nothing was written on the former primary");
}
