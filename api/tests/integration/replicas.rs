use std::time::Duration;

use infra::entities::shop;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, EntityTrait};
use serde_json::{Value, json};

use crate::support::{Stack, TestApp, TestDatabase, free_port, stack_script};

#[tokio::test]
async fn a_row_written_on_the_primary_is_read_back_from_the_replica_through_the_router() {
    let app = TestApp::spawn().await;
    let router = &app.services.db;

    let written =
        shop::ActiveModel { id: Set(true), name: Set("Replicated Threads".to_owned()), ..Default::default() };
    written.update(&app.primary).await.expect("the writer updates the shop");

    let mut seen = String::new();
    for _ in 0..100 {
        let row = router.read(|db| async move { shop::Entity::find().one(&db).await }).await.unwrap();
        seen = row.expect("the shop row exists").name;
        if seen == "Replicated Threads" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(seen, "Replicated Threads");
    assert_eq!(app.reads_served_by("primary"), 0, "every read was served by the replica");
    assert!(app.reads_served_by("replica-1") >= 1);
}

/// A replica of this test's own, so that stopping it disturbs no other test.
struct OwnReplica {
    name: String,
    port: u16,
}

impl OwnReplica {
    fn start() -> Self {
        let replica = Self { name: format!("t{}", uuid::Uuid::new_v4().simple()), port: free_port() };
        stack_script(&["replica", "up", &replica.name, &replica.port.to_string()]);
        replica
    }

    fn stop(&self) {
        stack_script(&["replica", "stop", &self.name]);
    }

    fn restart(&self) {
        stack_script(&["replica", "up", &self.name, &self.port.to_string()]);
    }
}

impl Drop for OwnReplica {
    fn drop(&mut self) {
        stack_script(&["replica", "rm", &self.name]);
    }
}

#[tokio::test]
async fn a_stopped_replica_is_routed_around_and_used_again_once_back() {
    let db = TestDatabase::create().await;
    let replica = OwnReplica::start();
    let replica_url = Stack::get().reader_url(&db.name, replica.port);
    let app = TestApp::spawn_on(db, &["--replica-urls", &replica_url]).await;
    // A new alias each time makes a new document, so no answer comes from the response cache.
    let queries = std::sync::atomic::AtomicU32::new(0);
    let shop = || async {
        let n = queries.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let body = app.post_graphql(&format!("{{ s{n}: shop {{ name }} }}")).await;
        body["data"][format!("s{n}")].clone()
    };
    let expected = json!({ "name": "MyClothes" });

    assert_eq!(shop().await, expected);
    assert_eq!(app.reads_served_by("replica-1"), 1);

    replica.stop();
    assert_eq!(shop().await, expected, "the first query after the stop still answers");
    assert_eq!(app.reads_served_by("primary"), 1);
    let ready = app.get_admin("/health/ready").await;
    assert_eq!(ready.status(), 200);
    let report: Value = ready.json().await.unwrap();
    assert_eq!(report["status"], "degraded", "{report}");
    let replica_check =
        report["checks"].as_array().unwrap().iter().find(|c| c["name"] == "replica-1").unwrap();
    assert_eq!(replica_check["status"], "down", "{report}");

    replica.restart();
    let mut served_after_restart = false;
    for _ in 0..100 {
        assert_eq!(shop().await, expected);
        if app.reads_served_by("replica-1") > 1 {
            served_after_restart = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(served_after_restart, "the replica was not used again within 10 s of its restart");
    assert_eq!(app.get_admin("/health/ready").await.json::<Value>().await.unwrap()["status"], "ok");
}
