use serde_json::{Value, json};

use crate::carts::{CART, add, codes, lines, shop};
use crate::support::TestApp;

const PASSWORD: &str = "correct horse battery";

fn register(email: &str, password: &str, name: &str) -> String {
    format!(
        r#"mutation {{ register(input: {{ email: "{email}", password: "{password}", name: "{name}" }}) {{
            token customer {{ id email name }} userErrors {{ field code message }} }} }}"#
    )
}

fn login(email: &str, password: &str) -> String {
    format!(
        r#"mutation {{ login(input: {{ email: "{email}", password: "{password}" }}) {{
            token customer {{ email }} userErrors {{ field code message }} }} }}"#
    )
}

/// The token of a newly registered customer.
async fn registered(app: &TestApp, email: &str) -> String {
    let body = app.post_graphql(&register(email, PASSWORD, "Ada Lovelace")).await;
    token_of(&body["data"]["register"])
}

fn token_of(payload: &Value) -> String {
    payload["token"].as_str().unwrap_or_else(|| panic!("signed in: {payload}")).to_owned()
}

async fn customers(app: &TestApp) -> i64 {
    use sea_orm::{EntityTrait, PaginatorTrait};
    infra::entities::customer::Entity::find().count(app.services.db.write()).await.unwrap() as i64
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
