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
use crate::payments::{reconciler, status_now, until_counted};
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
        (Some("requires_capture"), Some(4490)),
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
    assert_eq!(rest["data"]["refundOrder"]["order"]["refunded"]["amount"], "44.90", "{rest}");
    let more = app.post_graphql_as(&admin, &refund(", amount: 1")).await;
    assert_eq!(more["data"]["refundOrder"]["userErrors"][0]["code"], "AMOUNT_NOT_REFUNDABLE", "{more}");

    let refunds = stripe_get(&format!("refunds?payment_intent={reference}")).await;
    let mut amounts: Vec<i64> =
        refunds["data"].as_array().unwrap().iter().map(|r| r["amount"].as_i64().unwrap()).collect();
    amounts.sort();
    assert_eq!(amounts, [1500, 2990], "{refunds}");
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

/// An instance on Stripe, with the settings `more`, that takes webhook deliveries signed with
/// `WEBHOOK_SECRET`.
async fn taking_webhooks(more: &[&str]) -> TestApp {
    let stripe = on_stripe(&Stack::get().stripe_url());
    let settings = [&args(&stripe)[..], &["--stripe-webhook-secret", WEBHOOK_SECRET], more].concat();
    TestApp::spawn_with(&settings).await
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
    let app = taking_webhooks(&[]).await;
    let (guest, checkout) = authorised_by_a_killed_instance(&app).await;
    let event = event_of(&reference_of(&app).await, "payment_intent.amount_capturable_updated");
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
    let app = taking_webhooks(&[]).await;
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

/// A card whose bank asks for 3-D Secure, as Stripe's test card 4000 0027 6000 3184.
async fn card_needing_authentication() -> String {
    let url = format!("{}/v1/payment_methods", Stack::get().stripe_url());
    let form = [
        ("type", "card"),
        ("card[number]", "4000002760003184"),
        ("card[exp_month]", "12"),
        ("card[exp_year]", "2030"),
        ("card[cvc]", "123"),
    ];
    let response = reqwest::Client::new().post(url).bearer_auth(Stack::get().stripe_secret_key()).form(&form);
    let method: Value =
        response.send().await.expect("localstripe answers").json().await.expect("a JSON body");
    method["id"].as_str().unwrap_or_else(|| panic!("a payment method: {method}")).to_owned()
}

/// The shopper authenticates (or fails to) the payment of `checkout`'s answer, as Stripe.js does with
/// its client secret; the PaymentIntent's id.
async fn authenticate(checkout: &Value, success: bool) -> String {
    let secret = checkout["paymentAction"]["clientSecret"].as_str().unwrap_or_else(|| panic!("{checkout}"));
    let (intent, _) = secret.split_once("_secret_").expect("a PaymentIntent's client secret");
    let url = format!("{}/v1/payment_intents/{intent}/_authenticate", Stack::get().stripe_url());
    // Stripe.js sends the shop's publishable key, not its secret one.
    let form = [
        ("key", "pk_test_myclothes"),
        ("client_secret", secret),
        ("success", if success { "true" } else { "false" }),
    ];
    let response = reqwest::Client::new().post(url).form(&form).send().await.expect("localstripe answers");
    assert!(response.status().is_success(), "{}", response.text().await.unwrap_or_default());
    intent.to_owned()
}

/// The event Stripe sends of `intent`: `kind` is its type.
fn event_of(intent: &str, kind: &str) -> Value {
    serde_json::json!({
        "id": format!("evt_{kind}_{intent}"),
        "type": kind,
        "data": { "object": { "object": "payment_intent", "id": intent } },
    })
}

/// A card that needs 3-D Secure: checkout answers with the order pending, its stock reserved and the
/// cart kept, and the client secret the storefront has the shopper authenticate with. Stripe's
/// webhook then places it (authenticated: its lines leave the cart) or fails it (not: stock back,
/// cart kept); one nobody authenticates is given up by the reconciler once the window has passed.
#[tokio::test]
async fn a_payment_the_shopper_must_authenticate_waits_for_stripes_word() {
    let app = taking_webhooks(&["--payment-action-window", "2s"]).await;
    let (medium, large) = drop_tee(&app, 10).await;
    let (passes, fails, idle) = (
        guest_with(&app, &medium, 1).await,
        guest_with(&app, &large, 2).await,
        guest_with(&app, &medium, 3).await,
    );
    let card = card_needing_authentication().await;

    let mut answers = Vec::new();
    for (guest, key) in [(&passes, "3ds-passes"), (&fails, "3ds-fails"), (&idle, "3ds-idle")] {
        let body = app.post_graphql_as(guest, &guest_checkout(&card, key)).await;
        let checkout = body["data"]["checkout"].clone();
        assert_eq!(checkout["order"]["status"], "PENDING_PAYMENT", "{body}");
        answers.push(checkout);
    }
    assert_eq!((stock_of(&app, "DROP-TEE-M-BLACK").await, stock_of(&app, "DROP-TEE-L-BLACK").await), (6, 8));
    let cart = app.post_graphql_as(&passes, &format!("{{ {CART} }}")).await;
    assert_eq!(lines(&cart["data"]["cart"]), [("DROP-TEE-M-BLACK".to_owned(), 1)], "kept while it waits");
    let retried = app.post_graphql_as(&idle, &guest_checkout(&card, "3ds-idle")).await;
    let retried = &retried["data"]["checkout"];
    assert_eq!(retried["order"]["number"], answers[2]["order"]["number"], "{retried}");
    assert_eq!(retried["paymentAction"], answers[2]["paymentAction"], "a retry may still authenticate");

    let intent = authenticate(&answers[0], true).await;
    assert_eq!(stripe_get(&format!("payment_intents/{intent}")).await["status"], "requires_capture");
    let event = event_of(&intent, "payment_intent.amount_capturable_updated");
    assert_eq!(deliver(&app, &event, WEBHOOK_SECRET, chrono::Utc::now().timestamp()).await.0, 200);
    assert_eq!(status_now(&app, &answers[0]).await, "PLACED");
    let cart = app.post_graphql_as(&passes, &format!("{{ {CART} }}")).await;
    assert_eq!(lines(&cart["data"]["cart"]), [], "the ordered line left the cart");

    let intent = authenticate(&answers[1], false).await;
    let event = event_of(&intent, "payment_intent.payment_failed");
    assert_eq!(deliver(&app, &event, WEBHOOK_SECRET, chrono::Utc::now().timestamp()).await.0, 200);
    let failed =
        "SELECT count(*) AS n FROM orders WHERE status = 'payment_failed' AND payment_failure = 'declined'";
    assert_eq!(count(&app, failed).await, 1);
    assert_eq!(stock_of(&app, "DROP-TEE-L-BLACK").await, 10);
    let cart = app.post_graphql_as(&fails, &format!("{{ {CART} }}")).await;
    assert_eq!(lines(&cart["data"]["cart"]), [("DROP-TEE-L-BLACK".to_owned(), 2)]);

    let reconciler = reconciler(&app);
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_eq!(reconciler.reconcile_once().await.unwrap(), 1, "the idle one, once its window passed");
    assert_eq!(count(&app, failed.replace("declined", "unavailable").as_str()).await, 1);
    assert_eq!(stock_of(&app, "DROP-TEE-M-BLACK").await, 9);
    let idle_intent =
        answers[2]["paymentAction"]["clientSecret"].as_str().unwrap().split("_secret_").next().unwrap();
    assert_eq!(stripe_get(&format!("payment_intents/{idle_intent}")).await["status"], "canceled");
}
