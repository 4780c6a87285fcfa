use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use infra::session_registry::LastWrite;
use serde_json::{Value, json};

use crate::support::tcp_proxy::TcpProxy;
use crate::support::{Stack, TestApp};

async fn start_session(app: &TestApp) -> (String, String) {
    let response = app
        .client
        .post(format!("{}/graphql", app.address))
        .json(&json!({ "query": "mutation { startSession { token } }" }))
        .send()
        .await
        .unwrap();
    let cookie = response.headers()["set-cookie"].to_str().unwrap().to_owned();
    let body: Value = response.json().await.unwrap();
    (body["data"]["startSession"]["token"].as_str().unwrap().to_owned(), cookie)
}

async fn code_with_header(app: &TestApp, name: &str, value: &str) -> Value {
    let body = shop_with_header(app, name, value).await;
    assert!(body["data"].is_null(), "{body}");
    body["errors"][0]["extensions"]["code"].clone()
}

#[tokio::test]
async fn a_session_token_comes_in_the_payload_and_an_http_only_cookie() {
    let app = TestApp::spawn().await;

    let (token, cookie) = start_session(&app).await;

    assert!(cookie.starts_with(&format!("mc_session={token};")), "{cookie}");
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/", "Max-Age="] {
        assert!(cookie.contains(attribute), "{cookie} lacks {attribute}");
    }
    assert!(!cookie.contains("Secure"), "the development profile serves plain HTTP: {cookie}");
    let claims: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(token.split('.').nth(1).unwrap()).unwrap()).unwrap();
    assert_eq!(claims["sid"].as_str().unwrap().len(), 32);
    assert!(claims.get("cart").is_none());

    let as_bearer = app.post_graphql_as(&token, "{ shop { name } }").await;
    assert_eq!(as_bearer["data"]["shop"]["name"], "MyClothes");
    let as_cookie = shop_with_header(&app, "cookie", &format!("theme=dark; mc_session={token}")).await;
    assert_eq!(as_cookie["data"]["shop"]["name"], "MyClothes");
}

/// `{ shop { name } }` sent with the header `name: value`.
async fn shop_with_header(app: &TestApp, name: &str, value: &str) -> Value {
    let response = app
        .client
        .post(format!("{}/graphql", app.address))
        .header(name, value)
        .json(&json!({ "query": "{ shop { name } }" }))
        .send()
        .await
        .unwrap();
    response.json().await.unwrap()
}

#[tokio::test]
async fn a_bad_bearer_token_is_unauthenticated_never_a_new_session() {
    let app = TestApp::spawn().await;
    let (token, _) = start_session(&app).await;
    let [header, claims, signature]: [&str; 3] = token.split('.').collect::<Vec<_>>().try_into().unwrap();
    let forged_claims = URL_SAFE_NO_PAD
        .encode(r#"{"sid":"00000000000000000000000000000000","iat":1,"exp":99999999999,"role":"admin"}"#);
    let none_header = URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT","kid":"dev"}"#);
    let unknown_kid = URL_SAFE_NO_PAD.encode(r#"{"alg":"HS256","typ":"JWT","kid":"elsewhere"}"#);

    for bad in [
        "garbage".to_owned(),
        format!("{header}.{forged_claims}.{signature}"),
        format!("{none_header}.{forged_claims}."),
        format!("{unknown_kid}.{claims}.{signature}"),
        format!("{header}.{claims}.{}", URL_SAFE_NO_PAD.encode("wrong signature")),
    ] {
        assert_eq!(
            code_with_header(&app, "authorization", &format!("Bearer {bad}")).await,
            "UNAUTHENTICATED",
            "{bad}"
        );
    }
    assert_eq!(code_with_header(&app, "authorization", &format!("Basic {token}")).await, "UNAUTHENTICATED");
}

#[tokio::test]
async fn staff_login_answers_a_wrong_password_and_an_unknown_email_alike() {
    let app = TestApp::spawn().await;
    app.admin_token().await;
    let login = |email: &str, password: &str| {
        format!(
            r#"mutation {{ staffLogin(input: {{ email: "{email}", password: "{password}" }}) {{ token userErrors {{ field code message }} }} }}"#
        )
    };

    let wrong_password = app.post_graphql(&login("admin@myclothes.test", "not the password")).await;
    let unknown_email = app.post_graphql(&login("nobody@myclothes.test", "not the password")).await;
    let malformed_email = app.post_graphql(&login("nobody", "not the password")).await;

    assert_eq!(wrong_password, unknown_email);
    assert_eq!(wrong_password, malformed_email);
    assert_eq!(
        wrong_password["data"]["staffLogin"],
        json!({ "token": null, "userErrors": [{ "field": null, "code": "INVALID_CREDENTIALS", "message": "the email or the password is wrong" }] })
    );
    let right = app.post_graphql(&login(" Admin@MyClothes.test ", "a long admin password")).await;
    assert!(right["data"]["staffLogin"]["token"].is_string(), "{right}");
}

/// POSTs `query` with the session cookie holding `token`: the body and every `Set-Cookie`.
async fn with_cookie(app: &TestApp, token: &str, query: &str) -> (Value, Vec<String>) {
    let response = app
        .client
        .post(format!("{}/graphql", app.address))
        .header("cookie", format!("mc_session={token}"))
        .json(&json!({ "query": query }))
        .send()
        .await
        .unwrap();
    let cookies = response.headers().get_all("set-cookie").iter().map(|v| v.to_str().unwrap().to_owned());
    let cookies = cookies.collect();
    (response.json().await.unwrap(), cookies)
}

/// A browser cannot drop an HttpOnly cookie by itself: one that no longer verifies (its key retired,
/// its value damaged) or whose session was logged out is cleared by the server, and the request is
/// served as a guest's, so that the shop, a new session and a login all work again.
#[tokio::test]
async fn a_stale_session_cookie_is_cleared_and_the_request_served_as_a_guest() {
    let (old, new) = ("old:an-old-secret-of-at-least-32-bytes!!", "new:a-new-secret-of-at-least-32-bytes!!!");
    let before = TestApp::spawn_with(&["--jwt-keys", old]).await;
    let (retired, _) = start_session(&before).await;
    let app = TestApp::spawn_with(&["--jwt-keys", new]).await;
    let (logged_out, _) = start_session(&app).await;
    app.post_graphql_as(&logged_out, "mutation { logout { loggedOut } }").await;

    for stale in [retired.as_str(), "garbage", logged_out.as_str()] {
        let (shop, cookies) = with_cookie(&app, stale, "{ shop { name } }").await;
        assert_eq!(shop["data"]["shop"]["name"], "MyClothes", "{shop}");
        assert_eq!(cookies.len(), 1, "{cookies:?}");
        assert!(cookies[0].starts_with("mc_session=;") && cookies[0].contains("Max-Age=0"), "{cookies:?}");

        let (started, cookies) = with_cookie(&app, stale, "mutation { startSession { token } }").await;
        let token = started["data"]["startSession"]["token"].as_str().unwrap_or_else(|| panic!("{started}"));
        assert_eq!(cookies.len(), 1, "only the new session's cookie, not its clearing: {cookies:?}");
        assert!(cookies[0].starts_with(&format!("mc_session={token};")), "{cookies:?}");
    }
}

#[tokio::test]
async fn a_token_of_a_rotated_out_key_is_accepted_while_the_key_is_still_listed() {
    let old = "old:an-old-secret-of-at-least-32-bytes!!";
    let new = "new:a-new-secret-of-at-least-32-bytes!!!";
    let before = TestApp::spawn_with(&["--jwt-keys", old]).await;
    let (token, _) = start_session(&before).await;

    let rotated = TestApp::spawn_with(&["--jwt-keys", &format!("{new},{old}")]).await;
    let accepted = rotated.post_graphql_as(&token, "{ shop { name } }").await;
    assert_eq!(accepted["data"]["shop"]["name"], "MyClothes", "{accepted}");
    let (fresh, _) = start_session(&rotated).await;
    let header: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(fresh.split('.').next().unwrap()).unwrap()).unwrap();
    assert_eq!(header["kid"], "new", "the first key signs");

    let retired = TestApp::spawn_with(&["--jwt-keys", new]).await;
    assert_eq!(
        code_with_header(&retired, "authorization", &format!("Bearer {token}")).await,
        "UNAUTHENTICATED"
    );
}

#[tokio::test]
async fn an_expired_token_is_unauthenticated() {
    let app = TestApp::spawn_with(&["--session-lifetime", "1s"]).await;
    let (token, _) = start_session(&app).await;
    assert_eq!(app.post_graphql_as(&token, "{ shop { name } }").await["data"]["shop"]["name"], "MyClothes");

    // Past the lifetime and the 5 s allowance for clock skew between instances. Claims count whole
    // seconds and a token is refused only once `exp + leeway` is strictly behind, hence 1 + 5 + 1 and a margin.
    tokio::time::sleep(std::time::Duration::from_millis(7500)).await;

    assert_eq!(code_with_header(&app, "authorization", &format!("Bearer {token}")).await, "UNAUTHENTICATED");
}

/// Two writes of one session may be recorded in either order: the session reads as its later write
/// says, at least as far as it and around the cache if the cache was not told of it, and from memory
/// only once every one of its writes' invalidations is applied there (a write that invalidated
/// nothing there, numbered 0, does not let it skip an earlier one).
#[tokio::test]
async fn of_writes_recorded_out_of_order_the_later_one_stays() {
    let app = TestApp::spawn().await;
    let sessions = &app.services.sessions;
    let session = infra::tokens::Tokens::new_session();
    let at = |text| infra::db::WalPosition::parse(text).unwrap();
    let write =
        |position, cache_told, published| LastWrite { position, cache_told, published: Some(published) };

    sessions.record_write(&session.id, write(at("0/200"), true, 7)).await.unwrap();
    sessions.record_write(&session.id, write(at("0/100"), false, 9)).await.unwrap();
    assert_eq!(sessions.state(&session).await.unwrap().last_write, Some(write(at("0/200"), true, 9)));
    sessions.record_write(&session.id, write(at("0/300"), false, 0)).await.unwrap();
    assert_eq!(sessions.state(&session).await.unwrap().last_write, Some(write(at("0/300"), false, 9)));
}

/// Without Redis, whether a signed-in session has ended cannot be checked: it is not trusted with
/// what needs the sign-in (a logged-out token must not come back to life), while the catalogue keeps
/// answering it.
#[tokio::test]
async fn without_redis_a_signed_in_session_is_not_trusted_and_the_catalogue_still_answers() {
    let proxy = TcpProxy::start(Stack::get().redis_port()).await;
    let proxied = Stack::get().redis_url_on(proxy.port);
    let app = TestApp::spawn_with(&["--redis-url", &proxied, "--redis-timeout", "200ms"]).await;
    let register = r#"mutation { register(input: { email: "ada@example.com", password: "correct horse battery", name: "Ada" }) { token } }"#;
    let signed_in =
        app.post_graphql(register).await["data"]["register"]["token"].as_str().unwrap().to_owned();
    let login = r#"mutation { login(input: { email: "ada@example.com", password: "correct horse battery" }) { token } }"#;
    let logged_out = app.post_graphql(login).await["data"]["login"]["token"].as_str().unwrap().to_owned();
    app.post_graphql_as(&logged_out, "mutation { logout { loggedOut } }").await;

    proxy.pause();
    for token in [&signed_in, &logged_out] {
        let me = app.post_graphql_as(token, "{ me { email } }").await;
        assert_eq!(me["errors"][0]["extensions"]["code"], "SERVICE_UNAVAILABLE", "{me}");
        let shop = app.post_graphql_as(token, "{ shop { name } }").await;
        assert_eq!(shop["data"]["shop"]["name"], "MyClothes", "{shop}");
    }
    proxy.resume();

    let mut answered = Value::Null;
    for _ in 0..40 {
        answered = app.post_graphql_as(&signed_in, "{ me { email } }").await;
        if answered["data"]["me"]["email"] == "ada@example.com" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(answered["data"]["me"]["email"], "ada@example.com", "{answered}");
    let ended = app.post_graphql_as(&logged_out, "{ me { email } }").await;
    assert_eq!(ended["errors"][0]["extensions"]["code"], "UNAUTHENTICATED", "{ended}");
}

const CART_QUANTITY: &str = "{ cart { totalQuantity } }";

fn cart_change(mutation: &str, variant: &str) -> String {
    match mutation {
        "addToCart" => crate::carts::add(variant, 1),
        "updateCartLine" => format!(
            r#"mutation {{ updateCartLine(variantId: "{variant}", quantity: 3) {{ token cart {{ totalQuantity }} userErrors {{ code }} }} }}"#
        ),
        "removeFromCart" => format!(
            r#"mutation {{ removeFromCart(variantId: "{variant}") {{ cart {{ totalQuantity }} userErrors {{ code }} }} }}"#
        ),
        _ => "mutation { clearCart { cart { totalQuantity } userErrors { code } } }".to_owned(),
    }
}

/// A shop, and the token of a guest who put two tees in their cart and then logged out.
async fn logged_out_guest_with_two_tees(app: &TestApp) -> (crate::carts::Shop, String) {
    let shop = crate::carts::shop(app).await;
    let (logged_out, _) = start_session(app).await;
    app.post_graphql_as(&logged_out, &crate::carts::add(&shop.tee_m, 2)).await;
    app.post_graphql_as(&logged_out, "mutation { logout { loggedOut } }").await;
    (shop, logged_out)
}

/// How many items the cart of the session of `token` holds, read in the store.
async fn items_in_the_cart_of(app: &TestApp, token: &str) -> u32 {
    let owner = domain::cart::CartOwner::of(&app.services.tokens.verify(token).unwrap());
    let cart = app.services.queries.carts.get(&owner).await.unwrap();
    cart.lines.iter().map(|line| line.quantity).sum()
}

/// A cart change checks the session in the cart store, in the change's own round trip: a bearer token
/// whose session has ended (logged out, or all of its account's sessions) is refused, even for a
/// change that is refused anyway, and its cart is neither changed nor shown.
#[tokio::test]
async fn a_cart_change_with_an_ended_sessions_token_is_refused_and_touches_nothing() {
    let app = TestApp::spawn().await;
    let (shop, logged_out) = logged_out_guest_with_two_tees(&app).await;
    let register = r#"mutation { register(input: { email: "ada@example.com", password: "correct horse battery", name: "Ada" }) { token } }"#;
    let superseded =
        app.post_graphql(register).await["data"]["register"]["token"].as_str().unwrap().to_owned();
    app.post_graphql_as(&superseded, &crate::carts::add(&shop.tee_m, 2)).await;
    let change = r#"mutation { changePassword(input: { currentPassword: "correct horse battery", newPassword: "another long password" }) { token } }"#;
    let current = app.post_graphql_as(&superseded, change).await["data"]["changePassword"]["token"]
        .as_str()
        .unwrap()
        .to_owned();

    for token in [&logged_out, &superseded] {
        for mutation in ["addToCart", "updateCartLine", "removeFromCart", "clearCart"] {
            let refused = app.post_graphql_as(token, &cart_change(mutation, &shop.tee_m)).await;
            assert_eq!(
                refused["errors"][0]["extensions"]["code"], "UNAUTHENTICATED",
                "{mutation}: {refused}"
            );
        }
        let sold_out = app.post_graphql_as(token, &crate::carts::add(&shop.cap, 1)).await;
        assert_eq!(sold_out["errors"][0]["extensions"]["code"], "UNAUTHENTICATED", "{sold_out}");
    }

    let customer_cart = app.post_graphql_as(&current, CART_QUANTITY).await;
    assert_eq!(customer_cart["data"]["cart"]["totalQuantity"], 2, "{customer_cart}");
    assert_eq!(items_in_the_cart_of(&app, &logged_out).await, 2);
}

/// From a cookie, an ended session's cart change goes on as a guest's: an addition or a new quantity
/// goes to the cart of a new session (whose cookie replaces the old one), a removal or a clearing
/// finds no cart (and the cookie is cleared); the old session's cart is left alone.
#[tokio::test]
async fn a_cart_change_with_an_ended_sessions_cookie_goes_on_as_a_guests() {
    let app = TestApp::spawn().await;
    let (shop, logged_out) = logged_out_guest_with_two_tees(&app).await;

    for (mutation, quantity) in [("addToCart", 1), ("updateCartLine", 3)] {
        let (changed, cookies) = with_cookie(&app, &logged_out, &cart_change(mutation, &shop.tee_m)).await;
        assert_eq!(changed["data"][mutation]["cart"]["totalQuantity"], quantity, "{changed}");
        let token =
            changed["data"][mutation]["token"].as_str().unwrap_or_else(|| panic!("a new session: {changed}"));
        assert_eq!(cookies.len(), 1, "{cookies:?}");
        assert!(cookies[0].starts_with(&format!("mc_session={token};")), "{cookies:?}");
    }
    for mutation in ["removeFromCart", "clearCart"] {
        let (changed, cookies) = with_cookie(&app, &logged_out, &cart_change(mutation, &shop.tee_m)).await;
        assert_eq!(changed["data"][mutation]["cart"]["totalQuantity"], 0, "{changed}");
        assert!(
            cookies.iter().any(|c| c.starts_with("mc_session=;") && c.contains("Max-Age=0")),
            "{cookies:?}"
        );
    }

    assert_eq!(items_in_the_cart_of(&app, &logged_out).await, 2, "the old session's cart is left alone");
}
