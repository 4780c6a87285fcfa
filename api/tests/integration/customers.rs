use serde_json::{Value, json};

use crate::carts::{CART, add, codes, lines, shop};
use crate::support::TestApp;

pub const PASSWORD: &str = "correct horse battery";

fn register(email: &str, password: &str, name: &str) -> String {
    format!(
        r#"mutation {{ register(input: {{ email: "{email}", password: "{password}", name: "{name}" }}) {{
            token customer {{ id email name }} userErrors {{ field code message }} }} }}"#
    )
}

pub fn login(email: &str, password: &str) -> String {
    format!(
        r#"mutation {{ login(input: {{ email: "{email}", password: "{password}" }}) {{
            token customer {{ email }} userErrors {{ field code message }} }} }}"#
    )
}

/// The token of a newly registered customer.
pub async fn registered(app: &TestApp, email: &str) -> String {
    let body = app.post_graphql(&register(email, PASSWORD, "Ada Lovelace")).await;
    token_of(&body["data"]["register"])
}

pub fn token_of(payload: &Value) -> String {
    payload["token"].as_str().unwrap_or_else(|| panic!("signed in: {payload}")).to_owned()
}

async fn customers(app: &TestApp) -> i64 {
    use sea_orm::{EntityTrait, PaginatorTrait};
    infra::entities::customer::Entity::find().count(&app.primary).await.unwrap() as i64
}

#[tokio::test]
async fn a_new_customer_is_signed_in_and_sees_their_profile_at_once() {
    let app = TestApp::spawn().await;

    let body = app.post_graphql(&register("  Ada@Example.COM ", PASSWORD, " Ada Lovelace ")).await;

    let payload = &body["data"]["register"];
    assert_eq!(payload["userErrors"], json!([]), "{body}");
    assert_eq!(payload["customer"]["email"], "ada@example.com", "normalised");
    assert_eq!(payload["customer"]["name"], "Ada Lovelace");
    let me = app.post_graphql_as(&token_of(payload), "{ me { id email name } }").await;
    assert_eq!(me["data"]["me"], payload["customer"], "read-your-writes: {me}");
    assert_eq!(app.post_graphql("{ me { id } }").await["data"]["me"], Value::Null, "a guest has no profile");
}

#[tokio::test]
async fn registration_refuses_a_taken_email_in_any_case_a_weak_password_and_bad_fields() {
    let app = TestApp::spawn().await;
    registered(&app, "ada@example.com").await;

    let cases = [
        (register("ADA@example.com", PASSWORD, "Ada"), "input.email", "EMAIL_TAKEN"),
        (register("grace@example.com", "short", "Grace"), "input.password", "WEAK_PASSWORD"),
        (register("not an email", PASSWORD, "Grace"), "input.email", "INVALID_VALUE"),
        (register("grace@example.com", PASSWORD, "  "), "input.name", "INVALID_VALUE"),
    ];
    for (mutation, field, code) in cases {
        let body = app.post_graphql(&mutation).await;
        let payload = &body["data"]["register"];
        assert_eq!(payload["userErrors"][0]["field"], field, "{body}");
        assert_eq!(payload["userErrors"][0]["code"], code, "{body}");
        assert_eq!((&payload["token"], &payload["customer"]), (&Value::Null, &Value::Null));
    }
    assert_eq!(customers(&app).await, 1, "no partial write");
}

#[tokio::test]
async fn a_wrong_password_and_an_unknown_email_get_the_same_answer() {
    let app = TestApp::spawn().await;
    registered(&app, "ada@example.com").await;

    let wrong_password = app.post_graphql(&login("ada@example.com", "not the password")).await;
    let unknown_email = app.post_graphql(&login("nobody@example.com", PASSWORD)).await;

    assert_eq!(wrong_password, unknown_email);
    assert_eq!(codes(&wrong_password["data"]["login"]), ["INVALID_CREDENTIALS"]);
    assert_eq!(wrong_password["data"]["login"]["token"], Value::Null);
    let right = app.post_graphql(&login("Ada@Example.com", PASSWORD)).await;
    let me = app.post_graphql_as(&token_of(&right["data"]["login"]), "{ me { email } }").await;
    assert_eq!(me["data"]["me"]["email"], "ada@example.com");
}

#[tokio::test]
async fn five_failed_logins_lock_the_account_out_even_for_the_right_password() {
    let app = TestApp::spawn().await;
    registered(&app, "ada@example.com").await;

    for _ in 0..5 {
        let body = app.post_graphql(&login("ada@example.com", "not the password")).await;
        assert_eq!(codes(&body["data"]["login"]), ["INVALID_CREDENTIALS"]);
    }
    let locked = app.post_graphql(&login("ada@example.com", PASSWORD)).await;

    assert_eq!(codes(&locked["data"]["login"]), ["TOO_MANY_ATTEMPTS"]);
    assert_eq!(locked["data"]["login"]["token"], Value::Null);
    let other = registered(&app, "grace@example.com").await;
    assert!(!other.is_empty(), "other accounts are not locked");
    let grace = app.post_graphql(&login("grace@example.com", PASSWORD)).await;
    assert_eq!(codes(&grace["data"]["login"]), Vec::<String>::new());
}

/// `login` sent from `address` (through a trusted balancer's `X-Forwarded-For`).
async fn login_from(app: &TestApp, address: &str, email: &str, password: &str) -> Vec<String> {
    let response = app
        .client
        .post(format!("{}/graphql", app.address))
        .header("x-forwarded-for", address)
        .json(&json!({ "query": login(email, password) }))
        .send()
        .await
        .unwrap();
    let body: Value = response.json().await.unwrap();
    codes(&body["data"]["login"])
}

/// Guesses sent all at once are counted as they start, not as they fail: no more than five get to
/// try a password.
#[tokio::test]
async fn guesses_sent_at_once_get_no_more_tries_than_guesses_sent_one_by_one() {
    let app = TestApp::spawn().await;
    registered(&app, "ada@example.com").await;

    let guess = login("ada@example.com", "not the password");
    let answers = futures::future::join_all((0..20).map(|_| app.post_graphql(&guess))).await;

    let tried = answers.iter().filter(|a| codes(&a["data"]["login"]) == ["INVALID_CREDENTIALS"]).count();
    let refused = answers.iter().filter(|a| codes(&a["data"]["login"]) == ["TOO_MANY_ATTEMPTS"]).count();
    assert_eq!((tried, refused), (5, 15));
}

/// Failures lock an account out for the address they come from (and, past 50, that address for
/// every account), so that nobody can lock a customer out by guessing from elsewhere; an IPv6
/// client counts for its whole /64.
#[tokio::test]
async fn failures_lock_the_account_out_for_their_address_only_an_ipv6_one_by_its_64() {
    let app = TestApp::spawn_with(&["--trusted-proxies", "127.0.0.1"]).await;
    registered(&app, "ada@example.com").await;

    for host in 1..=5 {
        let guess = login_from(&app, &format!("2001:db8:1:2::{host}"), "ada@example.com", "wrong").await;
        assert_eq!(guess, ["INVALID_CREDENTIALS"]);
    }

    let same_network = login_from(&app, "2001:db8:1:2::ffff", "ada@example.com", PASSWORD).await;
    assert_eq!(same_network, ["TOO_MANY_ATTEMPTS"], "the /64 is locked out of this account");
    assert_eq!(login_from(&app, "2001:db8:1:3::1", "ada@example.com", PASSWORD).await, Vec::<String>::new());
    assert_eq!(login_from(&app, "198.51.100.7", "ada@example.com", PASSWORD).await, Vec::<String>::new());
}

#[tokio::test]
async fn a_logged_out_token_is_refused() {
    let app = TestApp::spawn().await;
    let token = registered(&app, "ada@example.com").await;

    let body = app.post_graphql_as(&token, "mutation { logout { loggedOut } }").await;

    assert_eq!(body["data"]["logout"]["loggedOut"], true);
    let after = app.post_graphql_as(&token, "{ me { email } }").await;
    assert_eq!(after["errors"][0]["extensions"]["code"], "UNAUTHENTICATED", "{after}");
}

#[tokio::test]
async fn changing_the_password_needs_the_current_one_and_a_strong_new_one() {
    let app = TestApp::spawn().await;
    let token = registered(&app, "ada@example.com").await;
    let change = |current: &str, new: &str| {
        format!(
            r#"mutation {{ changePassword(input: {{ currentPassword: "{current}", newPassword: "{new}" }}) {{
                userErrors {{ field code }} }} }}"#
        )
    };

    let wrong = app.post_graphql_as(&token, &change("not the password", "a new long password")).await;
    assert_eq!(
        wrong["data"]["changePassword"]["userErrors"],
        json!([{ "field": "input.currentPassword", "code": "INVALID_CREDENTIALS" }])
    );
    let weak = app.post_graphql_as(&token, &change(PASSWORD, "short")).await;
    assert_eq!(
        weak["data"]["changePassword"]["userErrors"],
        json!([{ "field": "input.newPassword", "code": "WEAK_PASSWORD" }])
    );
    let guest = app.post_graphql(&change(PASSWORD, "a new long password")).await;
    assert_eq!(guest["errors"][0]["extensions"]["code"], "UNAUTHENTICATED");

    let changed = app.post_graphql_as(&token, &change(PASSWORD, "a new long password")).await;
    assert_eq!(changed["data"]["changePassword"]["userErrors"], json!([]));
    let old = app.post_graphql(&login("ada@example.com", PASSWORD)).await;
    assert_eq!(codes(&old["data"]["login"]), ["INVALID_CREDENTIALS"]);
    let new = app.post_graphql(&login("ada@example.com", "a new long password")).await;
    assert_eq!(codes(&new["data"]["login"]), Vec::<String>::new());
}

/// A password change ends every session of the account but the one that made it, which goes on
/// under the new token it is given.
#[tokio::test]
async fn changing_the_password_ends_the_accounts_other_sessions() {
    let app = TestApp::spawn().await;
    let changing = registered(&app, "ada@example.com").await;
    let elsewhere = token_of(&app.post_graphql(&login("ada@example.com", PASSWORD)).await["data"]["login"]);
    let change = format!(
        r#"mutation {{ changePassword(input: {{ currentPassword: "{PASSWORD}", newPassword: "a new long password" }}) {{
            token userErrors {{ code }} }} }}"#
    );

    let changed = app.post_graphql_as(&changing, &change).await;

    let renewed = token_of(&changed["data"]["changePassword"]);
    for ended in [&changing, &elsewhere] {
        let me = app.post_graphql_as(ended, "{ me { email } }").await;
        assert_eq!(me["errors"][0]["extensions"]["code"], "UNAUTHENTICATED", "{me}");
    }
    let me = app.post_graphql_as(&renewed, "{ me { email } }").await;
    assert_eq!(me["data"]["me"]["email"], "ada@example.com", "{me}");
    let later =
        token_of(&app.post_graphql(&login("ada@example.com", "a new long password")).await["data"]["login"]);
    let me = app.post_graphql_as(&later, "{ me { email } }").await;
    assert_eq!(me["data"]["me"]["email"], "ada@example.com", "a session begun after the change: {me}");
}

#[tokio::test]
async fn logging_in_merges_the_guest_cart_into_the_cart_that_follows_the_customer() {
    let app = TestApp::spawn().await;
    let shop = shop(&app).await;
    registered(&app, "ada@example.com").await;
    // On her phone, Ada signs in and puts a large tee in her cart.
    let phone = token_of(&app.post_graphql(&login("ada@example.com", PASSWORD)).await["data"]["login"]);
    app.post_graphql_as(&phone, &add(&shop.tee_l, 1)).await;
    // On her laptop, as a guest, she adds two mediums and a large, then signs in.
    let guest = token_of(&app.post_graphql(&add(&shop.tee_m, 2)).await["data"]["addToCart"]);
    app.post_graphql_as(&guest, &add(&shop.tee_l, 1)).await;

    let laptop =
        token_of(&app.post_graphql_as(&guest, &login("ada@example.com", PASSWORD)).await["data"]["login"]);

    let expected = [("LOOM-TEE-L-WHITE".to_owned(), 2), ("LOOM-TEE-M-WHITE".to_owned(), 2)];
    let on_laptop = app.post_graphql_as(&laptop, &format!("{{ {CART} }}")).await;
    let mut merged = lines(&on_laptop["data"]["cart"]);
    merged.sort();
    assert_eq!(merged, expected, "{on_laptop}");
    let on_phone = app.post_graphql_as(&phone, &format!("{{ {CART} }}")).await;
    assert_eq!(on_phone["data"]["cart"], on_laptop["data"]["cart"], "one cart on every device");
    let left_behind = app.post_graphql_as(&guest, &format!("{{ {CART} }}")).await;
    assert_eq!(left_behind["data"]["cart"]["lines"], json!([]), "the guest cart was emptied into hers");
}

fn address(name: &str, country: &str) -> String {
    format!(
        r#"{{ name: "{name}", line1: "12 Rue de la Paix", city: "Paris", postalCode: "75002", country: "{country}" }}"#
    )
}

const ADDRESS: &str =
    "address { id name country isDefaultShipping isDefaultBilling } userErrors { field code }";

fn create_address(address: &str, extra: &str) -> String {
    format!("mutation {{ createAddress(address: {address}{extra}) {{ {ADDRESS} }} }}")
}

#[tokio::test]
async fn the_address_book_keeps_one_default_of_each_kind() {
    let app = TestApp::spawn().await;
    let token = registered(&app, "ada@example.com").await;

    let home = app.post_graphql_as(&token, &create_address(&address("Home", "fr"), "")).await;
    let home = &home["data"]["createAddress"]["address"];
    assert_eq!(
        (&home["country"], &home["isDefaultShipping"], &home["isDefaultBilling"]),
        (&json!("FR"), &json!(true), &json!(true)),
        "the first address is the default"
    );
    let work =
        app.post_graphql_as(&token, &create_address(&address("Work", "FR"), ", defaultShipping: true")).await;
    let work_id = work["data"]["createAddress"]["address"]["id"].as_str().unwrap().to_owned();
    let renamed = app
        .post_graphql_as(&token, &format!(r#"mutation {{ updateAddress(id: "{work_id}", address: {}, defaultBilling: true) {{ {ADDRESS} }} }}"#, address("Office", "DE")))
        .await;
    assert_eq!(renamed["data"]["updateAddress"]["address"]["name"], "Office", "{renamed}");

    let me = app
        .post_graphql_as(
            &token,
            "{ me { addresses { name } defaultShippingAddress { name } defaultBillingAddress { name } } }",
        )
        .await;
    assert_eq!(
        me["data"]["me"],
        json!({ "addresses": [{ "name": "Home" }, { "name": "Office" }], "defaultShippingAddress": { "name": "Office" }, "defaultBillingAddress": { "name": "Office" } })
    );
    let deleted = app
        .post_graphql_as(
            &token,
            &format!(
                r#"mutation {{ deleteAddress(id: "{work_id}") {{ deletedId userErrors {{ code }} }} }}"#
            ),
        )
        .await;
    assert_eq!(deleted["data"]["deleteAddress"]["deletedId"], work_id);
    let me =
        app.post_graphql_as(&token, "{ me { addresses { name } defaultShippingAddress { name } } }").await;
    assert_eq!(
        me["data"]["me"],
        json!({ "addresses": [{ "name": "Home" }], "defaultShippingAddress": null })
    );
}

#[tokio::test]
async fn addresses_are_checked_capped_and_private() {
    let app = TestApp::spawn().await;
    let ada = registered(&app, "ada@example.com").await;
    let grace = registered(&app, "grace@example.com").await;

    let bad = app.post_graphql_as(&ada, &create_address(&address("Home", "XX"), "")).await;
    assert_eq!(
        bad["data"]["createAddress"]["userErrors"],
        json!([{ "field": "address.country", "code": "INVALID_VALUE" }])
    );
    for n in 0..20 {
        let created =
            app.post_graphql_as(&ada, &create_address(&address(&format!("Home {n}"), "GB"), "")).await;
        assert_eq!(created["data"]["createAddress"]["userErrors"], json!([]), "{created}");
    }
    let full = app.post_graphql_as(&ada, &create_address(&address("One too many", "GB"), "")).await;
    assert_eq!(
        full["data"]["createAddress"]["userErrors"],
        json!([{ "field": null, "code": "ADDRESS_LIMIT" }])
    );

    let hers =
        app.post_graphql_as(&ada, "{ me { addresses { id } } }").await["data"]["me"]["addresses"][0]["id"]
            .clone();
    let stolen = app
        .post_graphql_as(
            &grace,
            &format!(
                r#"mutation {{ deleteAddress(id: {hers}) {{ deletedId userErrors {{ field code }} }} }}"#
            ),
        )
        .await;
    assert_eq!(
        stolen["data"]["deleteAddress"],
        json!({ "deletedId": null, "userErrors": [{ "field": "id", "code": "UNKNOWN_ADDRESS" }] })
    );
    let guest = app.post_graphql(&create_address(&address("Home", "GB"), "")).await;
    assert_eq!(guest["errors"][0]["extensions"]["code"], "UNAUTHENTICATED");
    assert_eq!(
        app.post_graphql_as(&ada, "{ me { addresses { id } } }").await["data"]["me"]["addresses"]
            .as_array()
            .unwrap()
            .len(),
        20
    );
}

#[tokio::test]
async fn a_profile_write_reaches_the_customers_other_devices_at_once_through_the_cache() {
    let (app, _replica) = TestApp::spawn_with_delayed_replica("2s").await;
    let laptop = registered(&app, "ada@example.com").await;
    let phone = token_of(&app.post_graphql(&login("ada@example.com", PASSWORD)).await["data"]["login"]);
    assert_eq!(
        app.post_graphql_as(&phone, "{ me { addresses { name } } }").await["data"]["me"]["addresses"],
        json!([])
    );
    let written_at = std::time::Instant::now();

    app.post_graphql_as(&laptop, &create_address(&address("Home", "FR"), "")).await;

    // The phone's session never wrote, so it may read the lagging replica: only the cache, which the
    // laptop's write told to read this profile again at least as far as the write, can show it the
    // new address before the replica replays it.
    let on_phone = app.post_graphql_as(&phone, "{ me { addresses { name } } }").await;
    assert!(written_at.elapsed() < std::time::Duration::from_secs(2), "the check ran within the lag");
    assert_eq!(on_phone["data"]["me"]["addresses"], json!([{ "name": "Home" }]));
}
