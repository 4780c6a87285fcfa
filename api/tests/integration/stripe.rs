//! The Stripe adapter against localstripe, the local stack's stand-in for Stripe's API: an order's
//! PaymentIntent authorised at checkout, captured by the worker, refunded in parts; a declined card;
//! Stripe unreachable; and an instance killed after Stripe authorised but before the order recorded it.

use std::time::{Duration, Instant};

use infra::stripe::webhook;
use sea_orm::ConnectionTrait;
use secrecy::SecretString;
use serde_json::Value;

use crate::carts::{CART, codes, lines};
use crate::checkout::{count, drop_tee, guest_checkout, guest_with, stock_of};
use crate::payments::until_counted;
use crate::support::process::{ServerProcess, WorkerProcess};
use crate::support::tcp_proxy::TcpProxy;
use crate::support::{Stack, TestApp, free_port};

/// The settings of an instance on Stripe, at `api_base`.
fn on_stripe(api_base: &str) -> Vec<String> {
    let key = Stack::get().stripe_secret_key();
    ["--payment-provider", "stripe", "--stripe-api-base", api_base, "--stripe-secret-key", key]
        .map(str::to_owned)
        .to_vec()
}

fn args(settings: &[String]) -> Vec<&str> {
    settings.iter().map(String::as_str).collect()
}

/// An object of localstripe's, as Stripe's API answers it.
async fn stripe_get(path: &str) -> Value {
    let url = format!("{}/v1/{path}", Stack::get().stripe_url());
    let response = reqwest::Client::new().get(url).bearer_auth(Stack::get().stripe_secret_key()).send().await;
    response.expect("localstripe answers").json().await.expect("a JSON body")
}

async fn reference_of(app: &TestApp) -> String {
    let row = "SELECT payment_reference AS n FROM orders WHERE payment_reference IS NOT NULL";
    let row = app
        .primary
        .query_one_raw(crate::support::statement(row))
        .await
        .unwrap()
        .expect("a payment reference");
    row.try_get("", "n").unwrap()
}

/// How many of localstripe's PaymentIntents (of every test) were opened with `key`.
async fn intents_with_key(key: &str) -> usize {
    let (mut found, mut after) = (0, String::new());
    for _ in 0..1000 {
        let page = stripe_get(&format!("payment_intents?limit=100{after}")).await;
        let intents = page["data"].as_array().unwrap();
        found += intents.iter().filter(|intent| intent["metadata"]["payment_key"] == key).count();
        match (page["has_more"].as_bool(), intents.last()) {
            (Some(true), Some(last)) => after = format!("&starting_after={}", last["id"].as_str().unwrap()),
            _ => return found,
        }
    }
    panic!("more than 100,000 PaymentIntents")
}

/// Waits (at most 10 s) until Stripe has authorised the PaymentIntent `reference`.
async fn until_authorised(reference: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while stripe_get(&format!("payment_intents/{reference}")).await["status"] != "requires_capture" {
        assert!(Instant::now() < deadline, "{reference} was not authorised within 10 s");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn an_order_is_authorised_at_checkout_captured_by_the_worker_and_refunded_in_parts() {
    let stripe = on_stripe(&Stack::get().stripe_url());
    let app = TestApp::spawn_with(&args(&stripe)).await;
    let admin = app.admin_token().await;
    let (medium, _) = drop_tee(&app, 10).await;
    let guest = guest_with(&app, &medium, 2).await;

    let placed = app.post_graphql_as(&guest, &guest_checkout("pm_card_visa", "stripe-visa")).await;

    let number = placed["data"]["checkout"]["order"]["number"]
        .as_str()
        .unwrap_or_else(|| panic!("{placed}"))
        .to_owned();
    let reference = reference_of(&app).await;
    let intent = stripe_get(&format!("payment_intents/{reference}")).await;
    assert_eq!(
        (intent["status"].as_str(), intent["amount"].as_i64()),
        (Some("requires_capture"), Some(4000)),
        "{intent}"
    );
    assert_eq!(intent["currency"], "eur");
    assert_eq!(intent["capture_method"], "manual");

    let _worker = WorkerProcess::start(&app.db, "capturer", &args(&stripe));
    until_counted(&app, "SELECT count(*) AS n FROM orders WHERE status = 'paid'", 1).await;
    assert_eq!(stripe_get(&format!("payment_intents/{reference}")).await["status"], "succeeded");

    let refund = |amount: &str| {
        format!(
            r#"mutation {{ refundOrder(number: "{number}"{amount}) {{ order {{ refunded {{ amount }} payments {{ kind pending }} }} userErrors {{ code message }} }} }}"#
        )
    };
    let part = app.post_graphql_as(&admin, &refund(", amount: 1500")).await;
    assert_eq!(part["data"]["refundOrder"]["order"]["refunded"]["amount"], "15.00", "{part}");
    let rest = app.post_graphql_as(&admin, &refund("")).await;
    assert_eq!(rest["data"]["refundOrder"]["order"]["refunded"]["amount"], "40.00", "{rest}");
    let more = app.post_graphql_as(&admin, &refund(", amount: 1")).await;
    assert_eq!(more["data"]["refundOrder"]["userErrors"][0]["code"], "AMOUNT_NOT_REFUNDABLE", "{more}");

    let refunds = stripe_get(&format!("refunds?payment_intent={reference}")).await;
    let mut amounts: Vec<i64> =
        refunds["data"].as_array().unwrap().iter().map(|r| r["amount"].as_i64().unwrap()).collect();
    amounts.sort();
    assert_eq!(amounts, [1500, 2500], "{refunds}");
}

#[tokio::test]
async fn a_card_stripe_declines_places_no_order_and_leaves_stock_and_cart() {
    let app = TestApp::spawn_with(&args(&on_stripe(&Stack::get().stripe_url()))).await;
    let (medium, _) = drop_tee(&app, 10).await;
    let guest = guest_with(&app, &medium, 3).await;

    let body =
        app.post_graphql_as(&guest, &guest_checkout("pm_card_chargeCustomerFail", "stripe-declined")).await;

    assert_eq!(codes(&body["data"]["checkout"]), ["PAYMENT_DECLINED"], "{body}");
    assert_eq!(stock_of(&app, "DROP-TEE-M-BLACK").await, 10);
    let cart = app.post_graphql_as(&guest, &format!("{{ {CART} }}")).await;
    assert_eq!(lines(&cart["data"]["cart"]), [("DROP-TEE-M-BLACK".to_owned(), 3)]);
    let intent = stripe_get(&format!("payment_intents/{}", reference_of(&app).await)).await;
    assert_eq!(intent["status"], "requires_payment_method", "nothing held: {intent}");
}

#[tokio::test]
async fn with_stripe_unreachable_a_checkout_fails_fast_and_leaves_stock_and_cart() {
    let nowhere = format!("http://127.0.0.1:{}", free_port());
    let app = TestApp::spawn_with(&args(&on_stripe(&nowhere))).await;
    let (medium, _) = drop_tee(&app, 10).await;
    let guest = guest_with(&app, &medium, 3).await;

    let started = Instant::now();
    let body = app.post_graphql_as(&guest, &guest_checkout("pm_card_visa", "stripe-down")).await;

    assert!(started.elapsed() < Duration::from_secs(2), "failed fast: {:?}", started.elapsed());
    assert_eq!(codes(&body["data"]["checkout"]), ["PAYMENT_UNAVAILABLE"], "{body}");
    assert_eq!(stock_of(&app, "DROP-TEE-M-BLACK").await, 10);
    let cart = app.post_graphql_as(&guest, &format!("{{ {CART} }}")).await;
    assert_eq!(lines(&cart["data"]["cart"]), [("DROP-TEE-M-BLACK".to_owned(), 3)]);
    assert_eq!(count(&app, "SELECT count(*) AS n FROM orders WHERE status = 'pending_payment'").await, 0);
}

/// A guest's checkout (its token and mutation) left pending by an instance killed after Stripe
/// authorised it and before the instance heard it (Stripe's answers were delayed by a proxy).
async fn authorised_by_a_killed_instance(app: &TestApp) -> (String, String) {
    let (medium, _) = drop_tee(app, 10).await;
    let guest = guest_with(app, &medium, 2).await;
    let slow_answers = TcpProxy::start(Stack::get().stripe_port()).await;
    slow_answers.delay_answers(Duration::from_millis(600));
    let via_proxy = on_stripe(&format!("http://127.0.0.1:{}", slow_answers.port));
    let mut server =
        ServerProcess::start(&app.db, &[&args(&via_proxy)[..], &["--payment-timeout", "1s"]].concat()).await;
    let checkout = guest_checkout("pm_card_visa", "stripe-crash");
    let recorded =
        "SELECT count(*) AS n FROM orders WHERE status = 'pending_payment' AND payment_reference IS NOT NULL";
    tokio::select! {
        answer = server.post_graphql(Some(&guest), &checkout) => panic!("answered before the kill: {answer}"),
        () = async {
            until_counted(app, recorded, 1).await;
            // Stripe has authorised; its answer is 600 ms away.
            until_authorised(&reference_of(app).await).await;
        } => {}
    }
    server.kill();
    (guest, checkout)
}

/// The reconciler finds the PaymentIntent of an order whose instance died authorised, and places the
/// order with that one authorisation.
#[tokio::test]
async fn an_authorisation_whose_answer_died_with_its_instance_places_the_order_once() {
    let app = TestApp::spawn().await;
    let (guest, checkout) = authorised_by_a_killed_instance(&app).await;

    let _worker = WorkerProcess::start(
        &app.db,
        "reconciler",
        &[&args(&on_stripe(&Stack::get().stripe_url()))[..], &["--reconcile-every", "100ms"]].concat(),
    );

    until_counted(&app, "SELECT count(*) AS n FROM orders WHERE status = 'paid'", 1).await;
    assert_eq!(count(&app, "SELECT count(*) AS n FROM orders").await, 1);
    assert_eq!(stock_of(&app, "DROP-TEE-M-BLACK").await, 8);
    let key = "SELECT 'order-' || replace(id::text, '-', '') AS n FROM orders";
    let key = app.primary.query_one_raw(crate::support::statement(key)).await.unwrap().unwrap();
    assert_eq!(intents_with_key(&key.try_get::<String>("", "n").unwrap()).await, 1, "one PaymentIntent");
    let retried = app.post_graphql_as(&guest, &checkout).await;
    assert_eq!(retried["data"]["checkout"]["order"]["status"], "PAID", "the same order: {retried}");
}

const WEBHOOK_SECRET: &str = "whsec_myclothes_test";

/// An instance on Stripe that takes webhook deliveries signed with `WEBHOOK_SECRET`.
async fn taking_webhooks() -> TestApp {
    let settings = [
        &on_stripe(&Stack::get().stripe_url())[..],
        &["--stripe-webhook-secret".to_owned(), WEBHOOK_SECRET.to_owned()],
    ]
    .concat();
    TestApp::spawn_with(&args(&settings)).await
}

/// Delivers `event` to the app's webhook endpoint, signed at `time` with `secret`; the status and body.
async fn deliver(app: &TestApp, event: &Value, secret: &str, time: i64) -> (u16, Value) {
    let body = event.to_string();
    let signature = webhook::sign(&SecretString::from(secret.to_owned()), body.as_bytes(), time);
    let response = reqwest::Client::new()
        .post(format!("{}/webhooks/stripe", app.address))
        .header("stripe-signature", signature)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .expect("the app answers");
    (response.status().as_u16(), response.json().await.unwrap_or_default())
}

/// A webhook moves an order waiting for its payment at once (its instance died after Stripe
/// authorised), once however often it is delivered; forged or late deliveries change nothing.
#[tokio::test]
async fn a_signed_webhook_settles_a_waiting_order_once_and_forged_ones_are_refused() {
    let app = taking_webhooks().await;
    let (guest, checkout) = authorised_by_a_killed_instance(&app).await;
    let reference = reference_of(&app).await;
    let event = serde_json::json!({
        "id": format!("evt_{reference}"),
        "type": "payment_intent.amount_capturable_updated",
        "data": { "object": { "object": "payment_intent", "id": reference } },
    });
    let now = chrono::Utc::now().timestamp();

    for (secret, time) in [("whsec_forged", now), (WEBHOOK_SECRET, now - 600)] {
        let (status, _) = deliver(&app, &event, secret, time).await;
        assert_eq!(status, 400, "signed with {secret} at {time}");
    }
    assert_eq!(count(&app, "SELECT count(*) AS n FROM orders WHERE status = 'pending_payment'").await, 1);

    let (status, body) = deliver(&app, &event, WEBHOOK_SECRET, now).await;
    assert_eq!((status, &body["duplicate"]), (200, &Value::Bool(false)), "{body}");
    let placed = app.post_graphql_as(&guest, &checkout).await;
    assert_eq!(placed["data"]["checkout"]["order"]["status"], "PLACED", "{placed}");
    let outbox = "SELECT count(*) AS n FROM outbox WHERE event_type = 'order.placed'";
    assert_eq!(count(&app, outbox).await, 1);

    let (status, body) = deliver(&app, &event, WEBHOOK_SECRET, now).await;
    assert_eq!((status, &body["duplicate"]), (200, &Value::Bool(true)), "{body}");
    assert_eq!(count(&app, outbox).await, 1, "the delivery again changed nothing");
}

/// localstripe signs its deliveries as Stripe does: the shop takes them.
#[tokio::test]
async fn the_events_localstripe_delivers_are_taken() {
    let app = taking_webhooks().await;
    let (medium, _) = drop_tee(&app, 10).await;
    let guest = guest_with(&app, &medium, 1).await;
    let register = reqwest::Client::new()
        .post(format!("{}/_config/webhooks/{}", Stack::get().stripe_url(), app.db.name))
        .form(&[
            ("url", format!("{}/webhooks/stripe", app.address)),
            ("secret", WEBHOOK_SECRET.to_owned()),
            ("events[]", "payment_intent.payment_failed".to_owned()),
        ])
        .send()
        .await
        .expect("localstripe answers");
    assert!(register.status().is_success(), "{}", register.text().await.unwrap_or_default());

    let body = app.post_graphql_as(&guest, &guest_checkout("pm_card_chargeCustomerFail", "declined")).await;
    assert_eq!(codes(&body["data"]["checkout"]), ["PAYMENT_DECLINED"], "{body}");

    // localstripe delivers a second after the event (and those of other tests' declines too).
    let taken =
        "SELECT least(count(*), 1) AS n FROM payment_events WHERE type = 'payment_intent.payment_failed'";
    until_counted(&app, taken, 1).await;
}
