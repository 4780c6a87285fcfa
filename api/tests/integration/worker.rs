use std::sync::Arc;
use std::time::{Duration, Instant};

use infra::account_events::AccountEvents;
use infra::mail::Storefront;
use infra::order_events::{OrderEvents, StockAlerts};
use infra::payments::TestPaymentProvider;
use infra::worker::{Handlers, Worker, WorkerSettings};
use sea_orm::{ConnectionTrait, TransactionTrait};

use crate::checkout::{count, drop_tee, guest_checkout, guest_with};
use crate::support::process::WorkerProcess;
use crate::support::{TestApp, statement};

/// A worker in this process, on the app's database and Redis key prefix.
pub fn worker(app: &TestApp, name: &str) -> Worker {
    worker_with(app, name, 8, Duration::from_secs(1))
}

/// A worker that lets an event fail `max_attempts` times, pausing `retry_backoff` after the first.
fn worker_with(app: &TestApp, name: &str, max_attempts: u32, retry_backoff: Duration) -> Worker {
    let services = &app.services;
    let alerts = StockAlerts { level: 3, recipient: "stock@example.com".to_owned() };
    let storefront = Storefront { url: "https://shop.example.com/".parse().unwrap() };
    let payments = Arc::new(TestPaymentProvider::default());
    let events = Handlers {
        orders: OrderEvents::new(services.db.clone(), payments, alerts, storefront.clone()),
        accounts: AccountEvents::new(services.db.clone(), storefront),
    };
    let settings = WorkerSettings {
        name: name.to_owned(),
        claim_after: Duration::from_secs(30),
        redeliver_after: Duration::from_secs(600),
        max_attempts,
        retry_backoff,
    };
    Worker::new(services.db.clone(), services.redis.clone(), events, settings)
}

/// Works until there is nothing left to do (at most 50 rounds).
pub async fn work_off(worker: &Worker) {
    for _ in 0..50 {
        if worker.work_once().await.unwrap() == 0 {
            return;
        }
    }
    panic!("the worker never ran out of work");
}

/// A guest order of 2 tees out of `stock`; its number.
pub async fn order(app: &TestApp, stock: i32, key: &str) -> String {
    let (medium, _) = drop_tee(app, stock).await;
    let guest = guest_with(app, &medium, 2).await;
    let body = app.post_graphql_as(&guest, &guest_checkout("tok_visa", key)).await;
    body["data"]["checkout"]["order"]["number"].as_str().unwrap_or_else(|| panic!("{body}")).to_owned()
}

async fn order_status(app: &TestApp) -> String {
    let row = app
        .primary
        .query_one_raw(statement("SELECT status::text AS status FROM orders"))
        .await
        .unwrap()
        .unwrap();
    row.try_get("", "status").unwrap()
}

#[tokio::test]
async fn a_placed_order_is_confirmed_paid_and_its_low_stock_noticed_once_even_when_relayed_twice() {
    let app = TestApp::spawn().await;
    let number = order(&app, 4, "k").await;
    let worker = worker(&app, "w1");

    // The relay repeats itself, as after a crash between writing to the stream and marking the rows.
    worker.relay().await.unwrap();
    app.primary.execute_unprepared("UPDATE outbox SET relay_after = now()").await.unwrap();
    work_off(&worker).await;

    assert_eq!(count(&app, "SELECT count(*) AS n FROM mail WHERE key LIKE 'order-confirmation:%' AND recipient = 'guest@example.com'").await, 1);
    let mail = app
        .primary
        .query_one_raw(statement("SELECT subject, body FROM mail WHERE key LIKE 'order-confirmation:%'"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(mail.try_get::<String>("", "subject").unwrap(), format!("Your MyClothes order {number}"));
    let token =
        app.primary.query_one_raw(statement("SELECT access_token FROM orders")).await.unwrap().unwrap();
    let token: String = token.try_get("", "access_token").unwrap();
    let link = format!("https://shop.example.com/#/order/{number}?key={token}");
    let body: String = mail.try_get("", "body").unwrap();
    assert!(body.contains(&link), "the order-status link: {link}");
    // Two tees at 20.00 and standard shipping to France, 20 % VAT in each part (6.67 and 0.82).
    let totals = "Shipping (Standard): 4.90 EUR\r\nTotal: 44.90 EUR\r\nIncluding VAT: 7.49 EUR";
    assert!(body.contains(totals), "{body}");
    assert_eq!(
        count(
            &app,
            "SELECT count(*) AS n FROM mail WHERE key LIKE 'low-stock:%' AND recipient = 'stock@example.com'"
        )
        .await,
        1
    );
    assert_eq!(order_status(&app).await, "paid");
    assert_eq!(
        count(&app, "SELECT count(*) AS n FROM outbox").await,
        0,
        "every event was handled, order.paid too"
    );
}

#[tokio::test]
async fn an_event_of_a_worker_killed_before_acknowledging_is_finished_by_another_exactly_once() {
    let app = TestApp::spawn().await;
    order(&app, 10, "k").await;
    let stream = format!("{}:events", app.db.name);
    let redis = &app.services.redis;
    let pending = |consumer: &'static str| {
        let xpending = deadpool_redis::redis::cmd("XPENDING").arg(&stream).arg("workers").clone();
        async move {
            // [count, first id, last id, [[consumer, count]…]], or an error before the group exists.
            type Summary = (i64, Option<String>, Option<String>, Option<Vec<(String, String)>>);
            let summary: Option<Summary> =
                redis.run(|mut c| async move { xpending.query_async(&mut c).await }).await.ok();
            summary.and_then(|s| s.3).unwrap_or_default().iter().any(|(name, _)| name == consumer)
        }
    };
    // Holding the order's row makes the first worker stop inside the event, after reading it.
    let hold = app.primary.begin().await.unwrap();
    hold.execute_unprepared("SELECT 1 FROM orders FOR UPDATE").await.unwrap();
    let mut first = WorkerProcess::start(&app.db, "first", &["--claim-after", "1s"]);
    let deadline = Instant::now() + Duration::from_secs(15);
    while !pending("first").await {
        assert!(Instant::now() < deadline, "the first worker never read the event");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    first.kill();
    let _second = WorkerProcess::start(&app.db, "second", &["--claim-after", "1s"]);
    hold.rollback().await.unwrap();

    let deadline = Instant::now() + Duration::from_secs(20);
    while order_status(&app).await != "paid" {
        assert!(Instant::now() < deadline, "the second worker never finished the event");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let confirmations = "SELECT count(*) AS n FROM mail WHERE key LIKE 'order-confirmation:%'";
    assert_eq!(count(&app, confirmations).await, 1);
    let deadline = Instant::now() + Duration::from_secs(10);
    while pending("first").await || pending("second").await {
        assert!(Instant::now() < deadline, "the event was never acknowledged");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A guest order of one `variant` for each idempotency key of `keys`; their numbers.
async fn guest_orders(app: &TestApp, variant: &str, keys: &[&str]) -> Vec<String> {
    let mut numbers = Vec::new();
    for key in keys {
        let guest = guest_with(app, variant, 1).await;
        let body = app.post_graphql_as(&guest, &guest_checkout("tok_visa", key)).await;
        let number = body["data"]["checkout"]["order"]["number"].as_str().unwrap_or_else(|| panic!("{body}"));
        numbers.push(number.to_owned());
    }
    numbers
}

#[tokio::test]
async fn several_workers_at_once_handle_every_order_exactly_once() {
    let app = TestApp::spawn().await;
    let (medium, _) = drop_tee(&app, 50).await;
    guest_orders(&app, &medium, &["a", "b", "c", "d", "e", "f"]).await;
    let (first, second, third) = (worker(&app, "w1"), worker(&app, "w2"), worker(&app, "w3"));

    tokio::join!(work_off(&first), work_off(&second), work_off(&third));

    let confirmations = "SELECT count(*) AS n FROM mail WHERE key LIKE 'order-confirmation:%'";
    assert_eq!(count(&app, confirmations).await, 6);
    assert_eq!(count(&app, "SELECT count(*) AS n FROM orders WHERE status = 'paid'").await, 6);
    assert_eq!(count(&app, "SELECT count(*) AS n FROM outbox").await, 0, "every event was handled");
}

/// The orders placed among the events of one read are followed up in one transaction: three cost
/// the statements one does.
#[tokio::test]
async fn the_orders_of_one_read_are_followed_up_in_one_transaction() {
    let app = TestApp::spawn().await;
    let (medium, _) = drop_tee(&app, 50).await;
    let worker = worker(&app, "w1");
    let statements_of_a_round = || async {
        let before = app.statements_sent_to("primary");
        worker.work_once().await.unwrap();
        app.statements_sent_to("primary") - before
    };

    guest_orders(&app, &medium, &["a"]).await;
    let for_one = statements_of_a_round().await;
    guest_orders(&app, &medium, &["b", "c", "d"]).await;
    let for_three = statements_of_a_round().await;

    assert_eq!(for_three, for_one, "the statements of one order's round");
    assert_eq!(count(&app, "SELECT count(*) AS n FROM orders WHERE status = 'paid'").await, 4);
}

/// Places three orders, `breaks` the second (an update of its row), and has one round of a worker
/// read their events together: the first and the third are confirmed and paid, and the second fails
/// alone, left placed and unconfirmed, its event to be tried again after its failure, `error_like`.
async fn only_the_broken_one_of_three_orders_fails(breaks: &str, error_like: &str) {
    let app = TestApp::spawn().await;
    let (medium, _) = drop_tee(&app, 50).await;
    let numbers = guest_orders(&app, &medium, &["a", "b", "c"]).await;
    let second = "(SELECT id FROM orders ORDER BY number LIMIT 1 OFFSET 1)";
    app.primary.execute_unprepared(&format!("UPDATE orders SET {breaks} WHERE id = {second}")).await.unwrap();

    worker(&app, "w1").work_once().await.unwrap();

    let mut found = Vec::new();
    for number in &numbers {
        let digits: i64 = number.trim_start_matches("MC-").parse().unwrap();
        let status = format!("SELECT status::text AS status FROM orders WHERE number = {digits}");
        let row = app.primary.query_one_raw(statement(&status)).await.unwrap().unwrap();
        let status: String = row.try_get("", "status").unwrap();
        let mailed =
            format!("SELECT count(*) AS n FROM mail WHERE subject = 'Your MyClothes order {number}'");
        found.push((status, count(&app, &mailed).await));
    }
    let expected =
        [("paid", 1), ("placed", 0), ("paid", 1)].map(|(status, mailed)| (status.to_owned(), mailed));
    assert_eq!(found, expected, "each order's status and confirmations");
    let failing = format!(
        "SELECT count(*) AS n FROM outbox WHERE event_type = 'order.placed' AND attempts = 1 \
        AND last_error LIKE '{error_like}' AND dead_at IS NULL"
    );
    assert_eq!(count(&app, &failing).await, 1, "the failure is recorded and the retry waits");
}

/// The orders of one read are handled together; one whose payment cannot be captured fails alone.
#[tokio::test]
async fn of_orders_handled_together_one_whose_capture_fails_fails_alone() {
    // The sandbox captures only the references it made.
    only_the_broken_one_of_three_orders_fails(
        "payment_reference = 'ref_of_another_provider'",
        "capturing the payment of order %",
    )
    .await;
}

/// Should the transaction of the orders read together fail, they are handled one by one: only the
/// order that made it fail fails.
#[tokio::test]
async fn orders_whose_transaction_fails_together_are_handled_one_by_one() {
    // A currency code its confirmation cannot write.
    only_the_broken_one_of_three_orders_fails("currency = 'e1r'", "%e1r%").await;
}

/// A worker told to stop (SIGTERM, as a deploy sends) finishes the round it began: cut off, it would
/// leave what it had relayed for `--redeliver-after`.
#[tokio::test]
async fn a_worker_told_to_stop_finishes_its_round_first() {
    let app = TestApp::spawn().await;
    order(&app, 10, "k").await;
    let worker = worker(&app, "w1");
    // Holding the order's row keeps the worker's round waiting inside the event.
    let hold = app.primary.begin().await.unwrap();
    hold.execute_unprepared("SELECT 1 FROM orders FOR UPDATE").await.unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();

    let release = async {
        let relayed = "SELECT count(*) AS n FROM outbox WHERE relayed_at IS NOT NULL";
        let deadline = Instant::now() + Duration::from_secs(10);
        while count(&app, relayed).await == 0 {
            assert!(Instant::now() < deadline, "the worker never relayed the event");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        // Time for the round to reach the order's row.
        tokio::time::sleep(Duration::from_millis(300)).await;
        stop.send(()).unwrap();
        tokio::time::sleep(Duration::from_millis(300)).await;
        hold.rollback().await.unwrap();
    };
    let run = worker.run_until(async {
        let _ = stopped.await;
    });
    tokio::time::timeout(Duration::from_secs(30), async { tokio::join!(run, release) })
        .await
        .expect("the worker stopped once its round was over");

    assert_eq!(order_status(&app).await, "paid");
    assert_eq!(count(&app, "SELECT count(*) AS n FROM outbox WHERE event_type = 'order.placed'").await, 0);
}

/// `XLEN` of `key` under the app's Redis key prefix.
async fn stream_length(app: &TestApp, key: &str) -> i64 {
    app.redis(deadpool_redis::redis::cmd("XLEN").arg(format!("{}:{key}", app.db.name))).await
}

/// An event that cannot be handled is retried with a growing pause while the events after it are
/// handled; after the last attempt it is dead: kept in the outbox with its error, copied to the
/// dead-letter stream, and counted on `/metrics`. The stream keeps only what is still pending.
#[tokio::test]
async fn a_poison_event_is_retried_then_dead_lettered_without_holding_up_the_others() {
    let app = TestApp::spawn().await;
    let poison =
        "INSERT INTO outbox (event_type, payload) VALUES ('order.placed', '{\"orderId\": \"not an id\"}')";
    app.primary.execute_unprepared(poison).await.unwrap();
    let number = order(&app, 10, "k").await;
    // A pause long enough that the first one is still running when it is checked, on a busy machine.
    let worker = worker_with(&app, "w1", 3, Duration::from_secs(1));

    worker.work_once().await.unwrap();

    assert_eq!(order_status(&app).await, "paid", "the order after the poison event was handled");
    let failing = "SELECT count(*) AS n FROM outbox WHERE attempts = 1 AND dead_at IS NULL \
        AND last_error LIKE '%without an order id%' AND relay_after > now()";
    assert_eq!(count(&app, failing).await, 1, "the failure is recorded and the retry waits");
    let deadline = Instant::now() + Duration::from_secs(10);
    while count(&app, "SELECT count(*) AS n FROM outbox WHERE dead_at IS NOT NULL").await == 0 {
        assert!(Instant::now() < deadline, "the poison event never died");
        worker.work_once().await.unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    work_off(&worker).await;
    let dead = "SELECT count(*) AS n FROM outbox WHERE attempts = 3 AND dead_at IS NOT NULL";
    assert_eq!(count(&app, dead).await, 1);
    assert_eq!(count(&app, "SELECT count(*) AS n FROM outbox WHERE dead_at IS NULL").await, 0);
    assert_eq!(stream_length(&app, "events:dead").await, 1);
    assert_eq!(stream_length(&app, "events").await, 1, "only the last entry delivered is kept");
    let confirmations =
        format!("SELECT count(*) AS n FROM mail WHERE subject = 'Your MyClothes order {number}'");
    assert_eq!(count(&app, &confirmations).await, 1);
    let metrics = app.get_admin("/metrics").await.text().await.unwrap();
    assert!(metrics.contains("outbox_events{state=\"dead\"} 1"), "{metrics}");
}

/// Redis answers a write before it reaches the disk: an event it loses after the relay is relayed
/// again from the outbox, which keeps it until it is handled.
#[tokio::test]
async fn an_event_lost_by_redis_after_the_relay_is_relayed_again() {
    let app = TestApp::spawn().await;
    order(&app, 10, "k").await;
    let worker = worker(&app, "w1");
    worker.relay().await.unwrap();
    let _: () = app.redis(deadpool_redis::redis::cmd("DEL").arg(format!("{}:events", app.db.name))).await;

    work_off(&worker).await;
    assert_eq!(order_status(&app).await, "placed", "not yet: the relay waits for --redeliver-after");
    app.primary.execute_unprepared("UPDATE outbox SET relay_after = now()").await.unwrap();
    work_off(&worker).await;

    assert_eq!(order_status(&app).await, "paid");
    assert_eq!(count(&app, "SELECT count(*) AS n FROM outbox").await, 0);
}

/// The relay marks its rows before they go into the stream: rows the stream refuses are relayed at
/// the next chance, not after --redeliver-after.
#[tokio::test]
async fn events_the_stream_refuses_are_relayed_at_the_next_chance() {
    let app = TestApp::spawn().await;
    order(&app, 10, "k").await;
    let worker = worker(&app, "w1");
    let stream = format!("{}:events", app.db.name);
    // A key of another type where the stream should be: Redis refuses every XADD to it.
    let _: () = app.redis(deadpool_redis::redis::cmd("SET").arg(&stream).arg("not a stream")).await;

    assert!(worker.relay().await.is_err());
    let due = "SELECT count(*) AS n FROM outbox WHERE relay_after <= now() AND relayed_at IS NOT NULL";
    assert_eq!(count(&app, due).await, 1, "marked relayed, and due again at once");

    let _: () = app.redis(deadpool_redis::redis::cmd("DEL").arg(&stream)).await;
    work_off(&worker).await;
    assert_eq!(order_status(&app).await, "paid");
    assert_eq!(count(&app, "SELECT count(*) AS n FROM outbox").await, 0);
}
