//! Checkout's payment as a saga: no lock held while the provider thinks, an order left pending by a
//! silent provider or a crash finished by the reconciler, never two authorisations for one order.

use std::sync::Arc;
use std::time::{Duration, Instant};

use infra::carts::CartStore;
use infra::orders::PaymentReconciler;
use infra::write_path::WritePath;
use sea_orm::ConnectionTrait;
use serde_json::Value;

use crate::carts::{CART, add, codes, lines};
use crate::checkout::{count, drop_tee, guest_checkout, guest_with, stock_of};
use crate::support::TestApp;
use crate::support::process::{ServerProcess, WorkerProcess};

const PENDING: &str = "SELECT count(*) AS n FROM orders WHERE status = 'pending_payment'";

/// Waits (at most 10 s) until `sql` counts `n`.
pub async fn until_counted(app: &TestApp, sql: &str, n: i64) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while count(app, sql).await != n {
        assert!(Instant::now() < deadline, "{sql} did not count {n} within 10 s");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The status of the order `checkout` answered with, read back as its buyer reads it once the replica
/// has caught up.
pub async fn status_now(app: &TestApp, checkout: &Value) -> String {
    app.wait_for_replica().await;
    let (number, key) = (&checkout["order"]["number"], &checkout["accessToken"]);
    let query = format!(r#"{{ order(number: {number}, accessToken: {key}) {{ status }} }}"#);
    let body = app.post_graphql(&query).await;
    body["data"]["order"]["status"].as_str().unwrap_or_else(|| panic!("the order: {body}")).to_owned()
}

/// A reconciler in this process, with the app's own provider (a sandbox remembers its answers).
pub fn reconciler(app: &TestApp) -> PaymentReconciler {
    let services = &app.services;
    let write_path = WritePath::new(services.db.clone(), services.cache.clone(), services.sessions.clone());
    let carts = Arc::new(CartStore::new(services.redis.clone(), Duration::from_secs(60)));
    PaymentReconciler::new(
        services.db.clone(),
        services.payments.clone(),
        carts,
        write_path,
        Duration::from_secs(5),
    )
}

#[tokio::test]
async fn a_checkout_waiting_on_a_slow_provider_holds_no_lock_on_the_stock() {
    let app = TestApp::spawn_with(&["--sandbox-latency", "2s"]).await;
    let admin = app.admin_token().await;
    let (medium, _) = drop_tee(&app, 10).await;
    let (first, second) = (guest_with(&app, &medium, 1).await, guest_with(&app, &medium, 1).await);

    let first_checkout = guest_checkout("tok_visa", "first");
    let waiting = app.post_graphql_as(&first, &first_checkout);
    let meanwhile = async {
        until_counted(&app, PENDING, 1).await;
        let adjusting = Instant::now();
        let adjust =
            format!(r#"mutation {{ adjustStock(variantId: "{medium}", delta: 5) {{ variant {{ id }} }} }}"#);
        let adjusted = app.post_graphql_as(&admin, &adjust).await;
        assert!(adjusted["data"]["adjustStock"]["variant"].is_object(), "{adjusted}");
        let adjusted_in = adjusting.elapsed();
        let checking_out = Instant::now();
        let other = app.post_graphql_as(&second, &guest_checkout("tok_visa", "second")).await;
        (adjusted_in, checking_out.elapsed(), other)
    };
    let (first, (adjusted_in, second_in, second)) = tokio::join!(waiting, meanwhile);

    assert!(adjusted_in < Duration::from_secs(1), "the stock change waited {adjusted_in:?}");
    // Its own payment takes 2 s; waiting for the first one's as well would take 3.5 s or more.
    assert!(second_in < Duration::from_millis(3200), "the second checkout took {second_in:?}");
    for placed in [&first, &second] {
        assert_eq!(placed["data"]["checkout"]["order"]["status"], "PLACED", "{placed}");
    }
    assert_eq!(stock_of(&app, "DROP-TEE-M-BLACK").await, 13);
}

#[tokio::test]
async fn a_provider_that_answers_too_late_leaves_the_order_pending_until_the_reconciler_places_it() {
    let app = TestApp::spawn_with(&["--sandbox-latency", "1500ms", "--payment-timeout", "1s"]).await;
    let (medium, large) = drop_tee(&app, 10).await;
    let guest = guest_with(&app, &medium, 2).await;
    let reconciler = reconciler(&app);

    let body = app.post_graphql_as(&guest, &guest_checkout("tok_visa", "late")).await;

    assert_eq!(reconciler.reconcile_once().await.unwrap(), 0, "not due while its checkout may still decide");
    let checkout = &body["data"]["checkout"];
    assert_eq!(checkout["order"]["status"], "PENDING_PAYMENT", "{body}");
    assert_eq!(status_now(&app, checkout).await, "PENDING_PAYMENT");
    assert_eq!(stock_of(&app, "DROP-TEE-M-BLACK").await, 8, "reserved while the payment is undecided");
    let cart = app.post_graphql_as(&guest, &format!("{{ {CART} }}")).await;
    assert_eq!(lines(&cart["data"]["cart"]), [("DROP-TEE-M-BLACK".to_owned(), 2)]);
    app.post_graphql_as(&guest, &add(&large, 1)).await;

    // Due three times the timeout after the checkout began, which answered after the timeout.
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_eq!(reconciler.reconcile_once().await.unwrap(), 1);

    assert_eq!(status_now(&app, checkout).await, "PLACED");
    let cart = app.post_graphql_as(&guest, &format!("{{ {CART} }}")).await;
    assert_eq!(
        lines(&cart["data"]["cart"]),
        [("DROP-TEE-L-BLACK".to_owned(), 1)],
        "the ordered lines left it"
    );
    assert_eq!(app.sandbox().authorizations(), 1, "the provider had authorised before it answered");
    assert_eq!(stock_of(&app, "DROP-TEE-M-BLACK").await, 8);
    assert_eq!(count(&app, "SELECT count(*) AS n FROM outbox WHERE event_type = 'order.placed'").await, 1);
    assert_eq!(reconciler.reconcile_once().await.unwrap(), 0);
}

#[tokio::test]
async fn a_retry_while_the_payment_is_pending_gets_the_pending_order_and_no_second_authorisation() {
    let app = TestApp::spawn_with(&["--sandbox-latency", "1s"]).await;
    retried_while_pending(&app, 10).await;
    assert_eq!(stock_of(&app, "DROP-TEE-M-BLACK").await, 9);
}

/// The retry finds no stock left to reserve, yet it is the same checkout: it gets the order too.
#[tokio::test]
async fn a_retry_while_the_order_holds_the_last_of_the_stock_gets_that_order() {
    let app = TestApp::spawn_with(&["--sandbox-latency", "1s"]).await;
    retried_while_pending(&app, 1).await;
    assert_eq!(stock_of(&app, "DROP-TEE-M-BLACK").await, 0);
}

/// A guest's checkout of one tee of `stock`, retried with the same key while the provider thinks:
/// both answers are the one order, authorised once.
async fn retried_while_pending(app: &TestApp, stock: i32) {
    let (medium, _) = drop_tee(app, stock).await;
    let guest = guest_with(app, &medium, 1).await;
    let same = guest_checkout("tok_visa", "double-click");

    let first = app.post_graphql_as(&guest, &same);
    let retry = async {
        until_counted(app, PENDING, 1).await;
        app.post_graphql_as(&guest, &same).await
    };
    let (first, retry) = tokio::join!(first, retry);

    let (first, retry) = (&first["data"]["checkout"]["order"], &retry["data"]["checkout"]["order"]);
    assert_eq!(first["status"], "PLACED", "{first}");
    assert_eq!(retry["status"], "PENDING_PAYMENT", "{retry}");
    assert_eq!(first["number"], retry["number"]);
    assert_eq!(app.sandbox().authorizations(), 1);
}

/// `kill -9` while the provider thinks: the worker's reconciler finishes both orders by asking the
/// provider where their payments stand. This sandbox's payments lived in the killed process, so the
/// worker's finds them open: it voids them and fails both orders, their stock back, and the same
/// keys may be tried again.
#[tokio::test]
async fn checkouts_of_a_killed_instance_are_finished_by_the_workers_reconciler() {
    let app = TestApp::spawn().await;
    let (medium, large) = drop_tee(&app, 10).await;
    let (paying, declined) = (guest_with(&app, &medium, 2).await, guest_with(&app, &large, 3).await);
    let mut server =
        ServerProcess::start(&app.db, &["--sandbox-latency", "10s", "--payment-timeout", "1s"]).await;
    let (visa, declining) =
        (guest_checkout("tok_visa", "crash-visa"), guest_checkout("tok_declined", "crash-declined"));
    let crashing = async {
        let paid = server.post_graphql(Some(&paying), &visa);
        let refused = server.post_graphql(Some(&declined), &declining);
        tokio::join!(paid, refused)
    };
    let opened =
        "SELECT count(*) AS n FROM orders WHERE status = 'pending_payment' AND payment_reference IS NOT NULL";
    tokio::select! {
        _ = crashing => panic!("the checkouts answered before the instance was killed"),
        () = until_counted(&app, opened, 2) => {}
    }
    server.kill();
    assert_eq!(stock_of(&app, "DROP-TEE-M-BLACK").await, 8);
    assert_eq!(stock_of(&app, "DROP-TEE-L-BLACK").await, 7);

    let _worker = WorkerProcess::start(&app.db, "reconciler", &["--reconcile-every", "100ms"]);

    until_counted(&app, PENDING, 0).await;
    let failed = "SELECT count(*) AS n FROM orders WHERE status = 'payment_failed' AND payment_failure = 'unavailable'";
    assert_eq!(count(&app, failed).await, 2);
    assert_eq!(stock_of(&app, "DROP-TEE-M-BLACK").await, 10);
    assert_eq!(stock_of(&app, "DROP-TEE-L-BLACK").await, 10);

    let retried = app.post_graphql_as(&paying, &visa).await;
    assert_eq!(retried["data"]["checkout"]["order"]["status"], "PLACED", "{retried}");
    let tried_again = app.post_graphql_as(&declined, &declining).await;
    assert_eq!(codes(&tried_again["data"]["checkout"]), ["PAYMENT_DECLINED"], "{tried_again}");
    assert_eq!(count(&app, "SELECT count(*) AS n FROM orders").await, 4);
}

const PAYMENTS: &str = "payments { kind amount { amount } pending } refunded { amount } total { amount }";

/// Order `number` paid: its payment captured by a worker.
async fn paid_order(app: &TestApp, key: &str) -> String {
    let number = crate::worker::order(app, 10, key).await;
    crate::worker::work_off(&crate::worker::worker(app, "capturer")).await;
    number
}

async fn refund(app: &TestApp, admin: &str, number: &str, amount: Option<i64>) -> Value {
    let amount = amount.map(|a| format!(", amount: {a}")).unwrap_or_default();
    let mutation = format!(
        r#"mutation {{ refundOrder(number: "{number}"{amount}) {{ order {{ status {PAYMENTS} }} userErrors {{ field code message }} }} }}"#
    );
    app.post_graphql_as(admin, &mutation).await["data"]["refundOrder"].clone()
}

fn kinds(order: &Value) -> Vec<(String, String, bool)> {
    let payments = order["payments"].as_array().unwrap_or_else(|| panic!("payments: {order}"));
    payments
        .iter()
        .map(|p| {
            let amount = p["amount"]["amount"].as_str().unwrap().to_owned();
            (p["kind"].as_str().unwrap().to_owned(), amount, p["pending"].as_bool().unwrap())
        })
        .collect()
}

fn entry(kind: &str, amount: &str) -> (String, String, bool) {
    (kind.to_owned(), amount.to_owned(), false)
}

#[tokio::test]
async fn staff_refund_part_then_the_rest_of_a_captured_payment_and_never_more() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let number = paid_order(&app, "refunds").await;

    let part = refund(&app, &admin, &number, Some(1500)).await;
    assert_eq!(part["order"]["status"], "PAID", "{part}");
    assert_eq!(
        kinds(&part["order"]),
        [entry("AUTHORIZATION", "44.90"), entry("CAPTURE", "44.90"), entry("REFUND", "15.00")]
    );
    assert_eq!(part["order"]["refunded"]["amount"], "15.00");

    let too_much = refund(&app, &admin, &number, Some(2991)).await;
    assert_eq!(too_much["userErrors"][0]["code"], "AMOUNT_NOT_REFUNDABLE", "{too_much}");
    assert!(too_much["userErrors"][0]["message"].as_str().unwrap().contains("29.90 EUR"), "{too_much}");

    let rest = refund(&app, &admin, &number, None).await;
    assert_eq!(rest["order"]["refunded"]["amount"], "44.90", "{rest}");
    assert_eq!(kinds(&rest["order"])[3], entry("REFUND", "29.90"));

    let nothing_left = refund(&app, &admin, &number, None).await;
    assert_eq!(nothing_left["userErrors"][0]["code"], "AMOUNT_NOT_REFUNDABLE", "{nothing_left}");
    let zero = refund(&app, &admin, &number, Some(0)).await;
    assert_eq!(zero["userErrors"][0]["code"], "INVALID_VALUE", "{zero}");
    let shopper = app.post_graphql("mutation { startSession { token } }").await;
    let shopper = shopper["data"]["startSession"]["token"].as_str().unwrap().to_owned();
    assert_eq!(refund(&app, &shopper, &number, None).await, Value::Null, "staff only");
}

#[tokio::test]
async fn refunds_at_once_never_return_more_than_was_captured() {
    let app = TestApp::spawn_with(&["--sandbox-latency", "100ms"]).await;
    let admin = app.admin_token().await;
    let number = paid_order(&app, "racing-refunds").await;

    let answers = futures::future::join_all((0..5).map(|_| refund(&app, &admin, &number, Some(1500)))).await;

    let made = answers.iter().filter(|a| a["order"].is_object()).count();
    let refused = answers.iter().filter(|a| a["userErrors"][0]["code"] == "AMOUNT_NOT_REFUNDABLE").count();
    assert_eq!((made, refused), (2, 3), "{answers:?}");
    let refunded = "SELECT coalesce(sum(amount_minor), 0)::bigint AS n FROM payments WHERE kind = 'refund'";
    assert_eq!(count(&app, refunded).await, 3000);
}

#[tokio::test]
async fn a_cancellation_voids_an_uncaptured_payment_and_refunds_a_captured_one() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let (medium, _) = drop_tee(&app, 10).await;
    let buy = async |quantity, key| {
        let guest = guest_with(&app, &medium, quantity).await;
        let placed = app.post_graphql_as(&guest, &guest_checkout("tok_visa", key)).await;
        placed["data"]["checkout"]["order"]["number"].as_str().unwrap().to_owned()
    };
    let paid = buy(2, "refund-me").await;
    crate::worker::work_off(&crate::worker::worker(&app, "capturer")).await;
    let placed = buy(1, "void-me").await;
    let cancel = |number: &str| {
        format!(
            r#"mutation {{ setOrderStatus(number: "{number}", status: CANCELLED) {{ order {{ {PAYMENTS} }} userErrors {{ code }} }} }}"#
        )
    };

    let voided = app.post_graphql_as(&admin, &cancel(&placed)).await;
    let refunded = app.post_graphql_as(&admin, &cancel(&paid)).await;

    let voided = &voided["data"]["setOrderStatus"]["order"];
    assert_eq!(kinds(voided), [entry("AUTHORIZATION", "24.90"), entry("VOID", "24.90")], "{voided}");
    let refunded = &refunded["data"]["setOrderStatus"]["order"];
    let (authorized, captured, returned) =
        (entry("AUTHORIZATION", "44.90"), entry("CAPTURE", "44.90"), entry("REFUND", "44.90"));
    assert_eq!(kinds(refunded), [authorized, captured, returned], "{refunded}");
    assert_eq!(app.sandbox().authorizations(), 1, "the voided one is released");
}

/// A refund whose asker died before the provider's answer was recorded is finished by the reconciler.
#[tokio::test]
async fn a_refund_left_pending_is_finished_by_the_reconciler() {
    let app = TestApp::spawn().await;
    let number = paid_order(&app, "pending-refund").await;
    let left_pending = format!(
        "INSERT INTO payments (order_id, kind, amount_minor, pending_until) \
         SELECT id, 'refund', 1200, now() - interval '1 second' FROM orders WHERE number = {}",
        number.trim_start_matches("MC-").parse::<i64>().unwrap()
    );
    app.primary.execute_unprepared(&left_pending).await.unwrap();

    assert_eq!(reconciler(&app).reconcile_once().await.unwrap(), 1);

    let confirmed = "SELECT count(*) AS n FROM payments WHERE kind = 'refund' AND pending_until IS NULL \
        AND reference LIKE 're_%' AND amount_minor = 1200";
    assert_eq!(count(&app, confirmed).await, 1);
    assert_eq!(reconciler(&app).reconcile_once().await.unwrap(), 0);
}
