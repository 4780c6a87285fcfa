use std::time::Duration;

use infra::rate_limits::{Admission, CHARGED_WITHIN, FLUSH_EVERY, Rate};
use serde_json::{Value, json};

use crate::support::TestApp;
use crate::support::process::ServerProcess;

const SHOP: &str = r#"{"query":"{ shop { name } }"}"#;

/// Status, `Retry-After` and body of `{ shop { name } }` posted to `base` with `headers`.
async fn shop(base: &str, headers: &[(&str, &str)]) -> (u16, Option<String>, Value) {
    let mut request = reqwest::Client::new()
        .post(format!("{base}/graphql"))
        .header("content-type", "application/json")
        .body(SHOP);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.unwrap();
    let retry_after = response.headers().get("retry-after").map(|v| v.to_str().unwrap().to_owned());
    (response.status().as_u16(), retry_after, response.json().await.unwrap())
}

fn assert_limited((status, retry_after, body): &(u16, Option<String>, Value)) {
    assert_eq!(*status, 429, "{body}");
    assert!(retry_after.as_deref().is_some_and(|s| s.parse::<u64>().unwrap() >= 1), "{retry_after:?}");
    assert_eq!(body["errors"][0]["extensions"]["code"], "RATE_LIMITED", "{body}");
}

/// Two instances of one shop with the per-address rate limit `rate`, and the second's address.
async fn two_instances(rate: &str) -> (TestApp, ServerProcess, String) {
    let limits = ["--ip-rate-limit", rate];
    let first = TestApp::spawn_with(&limits).await;
    let second = ServerProcess::start(&first.db, &limits).await;
    let second_base = format!("http://127.0.0.1:{}", second.port);
    (first, second, second_base)
}

#[tokio::test]
async fn two_instances_share_one_budget_per_address() {
    let (first, _second, second_base) = two_instances("1/min:5").await;

    for base in [&first.address, &first.address, &first.address, &second_base, &second_base] {
        assert_eq!(shop(base, &[]).await.0, 200);
    }
    // Once what each admitted on its own is charged to the shared bucket, neither has room left.
    tokio::time::sleep(CHARGED_WITHIN + FLUSH_EVERY * 5).await;

    assert_limited(&shop(&first.address, &[]).await);
    assert_limited(&shop(&second_base, &[]).await);
}

/// `count` requests sent at once to `bases` in turn; how many were admitted.
async fn admitted_of_a_rush(bases: &[&str], count: usize) -> usize {
    let rush = (0..count).map(|i| shop(bases[i % bases.len()], &[]));
    let statuses: Vec<u16> =
        futures::future::join_all(rush).await.into_iter().map(|(status, _, _)| status).collect();
    assert!(statuses.iter().all(|status| [200, 429].contains(status)), "{statuses:?}");
    statuses.iter().filter(|status| **status == 200).count()
}

/// An instance admits a share of a client's burst on its own, so one instance alone gives exactly the
/// budget, decided in Redis beyond that share.
#[tokio::test]
async fn one_instance_admits_exactly_the_burst_of_a_rush() {
    let app = TestApp::spawn_with(&["--ip-rate-limit", "1/min:20"]).await;

    assert_eq!(admitted_of_a_rush(&[&app.address], 60).await, 20);
}

/// A rush that reaches two instances at once may be admitted up to half a burst more than its budget
/// (what the other admitted on its own and had not charged yet), never more; the shared bucket then
/// owes it, and both instances refuse the client.
#[tokio::test]
async fn a_rush_across_two_instances_gets_at_most_half_a_burst_more() {
    let (first, _second, second_base) = two_instances("1/min:20").await;

    let admitted = admitted_of_a_rush(&[&first.address, &second_base], 120).await;

    assert!((20..=30).contains(&admitted), "{admitted} admitted of a burst of 20");
    tokio::time::sleep(CHARGED_WITHIN + FLUSH_EVERY * 5).await;
    assert_limited(&shop(&first.address, &[]).await);
    assert_limited(&shop(&second_base, &[]).await);
}

/// An IPv6 client usually has a whole /64: its addresses share one budget.
#[tokio::test]
async fn an_ipv6_client_has_one_budget_for_its_64() {
    let app = TestApp::spawn_with(&["--ip-rate-limit", "1/min:3", "--trusted-proxies", "127.0.0.1"]).await;
    let from = |address: &'static str| [("x-forwarded-for", address)];

    for address in ["2001:db8:1:2::1", "2001:db8:1:2::2", "2001:db8:1:2:ffff::3"] {
        assert_eq!(shop(&app.address, &from(address)).await.0, 200);
    }

    assert_limited(&shop(&app.address, &from("2001:db8:1:2::4")).await);
    assert_eq!(shop(&app.address, &from("2001:db8:1:3::1")).await.0, 200, "another /64");
}

#[tokio::test]
async fn each_session_has_its_own_budget() {
    let app = TestApp::spawn_with(&["--session-rate-limit", "1/min:3"]).await;
    let start = || async {
        app.post_graphql("mutation { startSession { token } }").await["data"]["startSession"]["token"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let (busy, quiet) = (start().await, start().await);
    let bearer = |token: &str| format!("Bearer {token}");

    for _ in 0..3 {
        assert_eq!(shop(&app.address, &[("authorization", &bearer(&busy))]).await.0, 200);
    }

    assert_limited(&shop(&app.address, &[("authorization", &bearer(&busy))]).await);
    assert_eq!(shop(&app.address, &[("authorization", &bearer(&quiet))]).await.0, 200);
}

#[tokio::test]
async fn forwarded_addresses_count_only_from_trusted_proxies() {
    let behind_proxy =
        TestApp::spawn_with(&["--ip-rate-limit", "1/min:2", "--trusted-proxies", "127.0.0.1"]).await;
    let direct = TestApp::spawn_with(&["--ip-rate-limit", "1/min:2"]).await;
    let from = |ip: &'static str| [("x-forwarded-for", ip)];

    for _ in 0..2 {
        assert_eq!(shop(&behind_proxy.address, &from("203.0.113.1")).await.0, 200);
    }
    assert_limited(&shop(&behind_proxy.address, &from("203.0.113.1")).await);
    assert_eq!(shop(&behind_proxy.address, &from("203.0.113.2")).await.0, 200, "another client");

    // Without a trusted proxy the header is the client's own claim, and changes nothing.
    for ip in ["198.51.100.1", "198.51.100.2"] {
        assert_eq!(shop(&direct.address, &from(ip)).await.0, 200);
    }
    assert_limited(&shop(&direct.address, &from("198.51.100.3")).await);
}

/// A balancer (HAProxy) adds its own `X-Forwarded-For` line after whatever the client sent: that line
/// names the client, and the client's own lines change nothing.
#[tokio::test]
async fn a_client_cannot_claim_another_address_before_the_balancers_line() {
    let behind_proxy =
        TestApp::spawn_with(&["--ip-rate-limit", "1/min:2", "--trusted-proxies", "127.0.0.1"]).await;
    let forged = |claim: &'static str| [("x-forwarded-for", claim), ("x-forwarded-for", "203.0.113.7")];

    for claim in ["198.51.100.1", "198.51.100.2"] {
        assert_eq!(shop(&behind_proxy.address, &forged(claim)).await.0, 200);
    }
    assert_limited(&shop(&behind_proxy.address, &forged("198.51.100.3")).await);
}

#[tokio::test]
async fn sign_in_attempts_have_a_stricter_budget_of_their_own() {
    let app = TestApp::spawn_with(&["--login-rate-limit", "2/min:2"]).await;
    let login = json!({ "query": r#"mutation { login(input: { email: "ada@example.com", password: "not the password" }) { token userErrors { code } } }"# });

    for _ in 0..2 {
        let body = app.post_graphql_with(login.clone()).await;
        assert_eq!(body["data"]["login"]["userErrors"][0]["code"], "INVALID_CREDENTIALS", "{body}");
    }
    let response = app.client.post(format!("{}/graphql", app.address)).json(&login).send().await.unwrap();

    assert!(response.headers().get("retry-after").is_some());
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["errors"][0]["extensions"]["code"], "RATE_LIMITED", "{body}");
    assert_eq!(
        app.post_graphql("{ shop { name } }").await["data"]["shop"]["name"],
        "MyClothes",
        "other requests go on"
    );
}

/// A batch and a mutation's aliased fields are as many operations as they hold, each charged to the
/// budget, as if sent one by one.
#[tokio::test]
async fn a_batch_and_an_aliased_mutation_are_charged_per_operation() {
    let app = TestApp::spawn_with(&["--ip-rate-limit", "1/min:3"]).await;
    let post = |body: Value| {
        let request = app.client.post(format!("{}/graphql", app.address)).json(&body);
        async move { request.send().await.unwrap().status().as_u16() }
    };

    assert_eq!(post(json!([{ "query": "{ shop { name } }" }, { "query": "{ shop { name } }" }])).await, 200);
    let aliased = "mutation { a: clearCart { userErrors { code } } b: clearCart { userErrors { code } } }";
    assert_eq!(post(json!({ "query": aliased })).await, 429, "2 + 2 operations are over a burst of 3");
    assert_eq!(post(json!({ "query": "{ shop { name } }" })).await, 200, "the third still fits");
}

/// Changing a password costs two password hashes: it is a sign-in attempt for the budget.
#[tokio::test]
async fn changing_a_password_is_charged_to_the_sign_in_budget() {
    let app = TestApp::spawn_with(&["--login-rate-limit", "2/min:2"]).await;
    let register = r#"mutation { register(input: { email: "ada@example.com", password: "correct horse battery", name: "Ada" }) { token } }"#;
    let token = app.post_graphql(register).await["data"]["register"]["token"].as_str().unwrap().to_owned();
    let change = r#"mutation { changePassword(input: { currentPassword: "wrong password", newPassword: "another long one" }) { userErrors { code } } }"#;

    let first = app.post_graphql_as(&token, change).await;
    assert_eq!(first["data"]["changePassword"]["userErrors"][0]["code"], "INVALID_CREDENTIALS", "{first}");
    let second = app.post_graphql_as(&token, change).await;

    assert_eq!(second["errors"][0]["extensions"]["code"], "RATE_LIMITED", "{second}");
}

/// A request that one of its buckets refuses costs the others nothing, also where they are charged by
/// calls of their own (in a Redis Cluster, buckets of other slots are refunded).
#[tokio::test]
async fn a_request_refused_by_one_bucket_costs_the_others_nothing() {
    let app = TestApp::spawn().await;
    let limiter = &app.services.rate_limiter;
    let rate = Rate { requests: 1, period: Duration::from_secs(60), burst: 2 };
    for _ in 0..2 {
        assert_eq!(limiter.admit(&[("full", rate)], 1).await.unwrap(), Admission::Allowed);
    }
    // Several, so that in a cluster some are in another slot than the full one.
    let others: Vec<String> = (0..4).map(|i| format!("other-{i}")).collect();

    for other in &others {
        let refused = limiter.admit(&[(other, rate), ("full", rate)], 1).await.unwrap();
        assert!(matches!(refused, Admission::Limited(_)), "{other}: {refused:?}");
    }

    for other in &others {
        for _ in 0..2 {
            let admitted = limiter.admit(&[(other, rate)], 1).await.unwrap();
            assert_eq!(admitted, Admission::Allowed, "{other} keeps its whole burst");
        }
    }
}
