//! The links mailed to customers: password reset and email verification, through the worker and the
//! mail sink; and the sink's delivery by SMTP, to aiosmtpd (an SMTP server from PyPI that the stack's
//! scripts install).

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use infra::mail::smtp::{SmtpSender, SmtpSettings};
use sea_orm::ConnectionTrait;
use serde_json::{Value, json};

use crate::checkout::count;
use crate::customers::{PASSWORD, login, registered, token_of};
use crate::support::{TestApp, free_port, repo_root, statement};
use crate::worker::{work_off, worker};

const NEW_PASSWORD: &str = "a brand new passphrase";

fn request_reset(email: &str) -> String {
    format!(
        r#"mutation {{ requestPasswordReset(email: "{email}") {{ accepted userErrors {{ field code }} }} }}"#
    )
}

fn reset(token: &str, password: &str) -> String {
    format!(
        r#"mutation {{ resetPassword(input: {{ token: "{token}", newPassword: "{password}" }}) {{
            passwordReset userErrors {{ field code }} }} }}"#
    )
}

fn verify(token: &str) -> String {
    format!(r#"mutation {{ verifyEmail(token: "{token}") {{ verified userErrors {{ field code }} }} }}"#)
}

const RESEND: &str = "mutation { resendVerificationEmail { sent userErrors { code } } }";

/// The tokens of the links to `page` in the mail sink's messages to `recipient`, oldest first.
async fn links(app: &TestApp, recipient: &str, page: &str) -> Vec<String> {
    let query = format!("SELECT body FROM mail WHERE recipient = '{recipient}' ORDER BY created_at, key");
    let rows = app.primary.query_all_raw(statement(&query)).await.unwrap();
    let prefix = format!("https://shop.example.com/#/{page}?token=");
    rows.iter()
        .filter_map(|row| {
            let body: String = row.try_get("", "body").unwrap();
            let start = body.find(&prefix)? + prefix.len();
            Some(body[start..start + 64].to_owned())
        })
        .collect()
}

/// Runs the worker, then the tokens of the links to `page` mailed to `recipient`.
async fn mailed(app: &TestApp, recipient: &str, page: &str) -> Vec<String> {
    work_off(&worker(app, "mailer")).await;
    links(app, recipient, page).await
}

fn user_errors(body: &Value, mutation: &str) -> Value {
    body["data"][mutation]["userErrors"].clone()
}

#[tokio::test]
async fn a_reset_link_sets_a_new_password_once_and_ends_every_session_of_the_account() {
    let app = TestApp::spawn().await;
    let registering = registered(&app, "ada@example.com").await;
    let elsewhere = token_of(&app.post_graphql(&login("ada@example.com", PASSWORD)).await["data"]["login"]);

    let asked = app.post_graphql(&request_reset(" ADA@example.com ")).await;
    assert_eq!(asked["data"]["requestPasswordReset"], json!({ "accepted": true, "userErrors": [] }));
    let [token] = &mailed(&app, "ada@example.com", "reset-password").await[..] else {
        panic!("one reset link is mailed")
    };
    let stored = "SELECT count(*) AS n FROM account_tokens WHERE purpose = 'reset_password' \
        AND expires_at - created_at = interval '1 hour'";
    assert_eq!(count(&app, stored).await, 1, "valid for an hour");
    let plain = format!("SELECT count(*) AS n FROM account_tokens WHERE token_hash = '{token}'");
    assert_eq!(count(&app, &plain).await, 0, "the token is stored hashed");

    let weak = app.post_graphql(&reset(token, "short")).await;
    assert_eq!(
        user_errors(&weak, "resetPassword"),
        json!([{ "field": "input.newPassword", "code": "WEAK_PASSWORD" }])
    );
    let done = app.post_graphql(&reset(token, NEW_PASSWORD)).await;
    assert_eq!(done["data"]["resetPassword"], json!({ "passwordReset": true, "userErrors": [] }), "{done}");

    for ended in [&registering, &elsewhere] {
        let me = app.post_graphql_as(ended, "{ me { email } }").await;
        assert_eq!(me["errors"][0]["extensions"]["code"], "UNAUTHENTICATED", "{me}");
    }
    let old = app.post_graphql(&login("ada@example.com", PASSWORD)).await;
    assert_eq!(old["data"]["login"]["userErrors"][0]["code"], "INVALID_CREDENTIALS");
    let signed_in =
        token_of(&app.post_graphql(&login("ada@example.com", NEW_PASSWORD)).await["data"]["login"]);
    let me = app.post_graphql_as(&signed_in, "{ me { emailVerified } }").await;
    assert_eq!(me["data"]["me"]["emailVerified"], true, "the link proved the address: {me}");

    let again = app.post_graphql(&reset(token, "yet another passphrase")).await;
    assert_eq!(
        user_errors(&again, "resetPassword"),
        json!([{ "field": "input.token", "code": "INVALID_LINK" }])
    );
}

#[tokio::test]
async fn a_reset_for_an_email_without_an_account_gets_the_same_answer_and_mails_nothing() {
    let app = TestApp::spawn().await;
    registered(&app, "ada@example.com").await;

    let known = app.post_graphql(&request_reset("ada@example.com")).await;
    let unknown = app.post_graphql(&request_reset("nobody@example.com")).await;

    assert_eq!(known, unknown);
    assert_eq!(mailed(&app, "ada@example.com", "reset-password").await.len(), 1);
    assert_eq!(count(&app, "SELECT count(*) AS n FROM mail WHERE recipient = 'nobody@example.com'").await, 0);
    assert_eq!(
        count(&app, "SELECT count(*) AS n FROM account_tokens WHERE purpose = 'reset_password'").await,
        1
    );
    let malformed = app.post_graphql(&request_reset("not an email")).await;
    assert_eq!(
        malformed["data"]["requestPasswordReset"],
        json!({ "accepted": false, "userErrors": [{ "field": "email", "code": "INVALID_VALUE" }] })
    );
}

#[tokio::test]
async fn an_expired_or_unknown_reset_link_is_refused_and_a_used_one_ends_the_others() {
    let app = TestApp::spawn().await;
    registered(&app, "ada@example.com").await;
    for _ in 0..3 {
        app.post_graphql(&request_reset("ada@example.com")).await;
    }
    let [expired, used, other] = &mailed(&app, "ada@example.com", "reset-password").await[..] else {
        panic!("three reset links are mailed")
    };
    let expire = format!(
        "UPDATE account_tokens SET expires_at = now() - interval '1 second' WHERE token_hash = '{}'",
        sha256_hex(expired)
    );
    app.primary.execute_unprepared(&expire).await.unwrap();

    for refused in [expired.as_str(), &"0".repeat(64), "not a token"] {
        let body = app.post_graphql(&reset(refused, NEW_PASSWORD)).await;
        assert_eq!(user_errors(&body, "resetPassword")[0]["code"], "INVALID_LINK", "{refused}: {body}");
    }
    let body = app.post_graphql(&reset(used, NEW_PASSWORD)).await;
    assert_eq!(body["data"]["resetPassword"]["passwordReset"], true, "{body}");
    let body = app.post_graphql(&reset(other, "yet another passphrase")).await;
    assert_eq!(
        user_errors(&body, "resetPassword")[0]["code"],
        "INVALID_LINK",
        "used up with the other: {body}"
    );
    let signed_in = app.post_graphql(&login("ada@example.com", NEW_PASSWORD)).await;
    assert_eq!(signed_in["data"]["login"]["userErrors"], json!([]), "{signed_in}");
}

/// A link raced from two tabs sets one password.
#[tokio::test]
async fn a_reset_link_used_twice_at_once_works_once() {
    let app = TestApp::spawn().await;
    registered(&app, "ada@example.com").await;
    app.post_graphql(&request_reset("ada@example.com")).await;
    let [token] = &mailed(&app, "ada@example.com", "reset-password").await[..] else { panic!("one link") };

    let (first, second) =
        (reset(token, "the first new passphrase"), reset(token, "the second new passphrase"));
    let (first, second) = tokio::join!(app.post_graphql(&first), app.post_graphql(&second));

    let results = [&first, &second].map(|body| body["data"]["resetPassword"]["passwordReset"] == true);
    assert_eq!(results.iter().filter(|worked| **worked).count(), 1, "{first} {second}");
}

#[tokio::test]
async fn reset_requests_are_budgeted_per_email_and_per_address() {
    let app =
        TestApp::spawn_with(&["--trusted-proxies", "127.0.0.1", "--account-mail-rate-limit", "2/h:2"]).await;
    let from = |address: &'static str, email: &'static str| {
        let app = &app;
        async move {
            let response = app
                .client
                .post(format!("{}/graphql", app.address))
                .header("x-forwarded-for", address)
                .json(&json!({ "query": request_reset(email) }))
                .send()
                .await
                .unwrap();
            let status = response.status();
            let body: Value = response.json().await.unwrap();
            (status.as_u16(), body["errors"][0]["extensions"]["code"].as_str().map(str::to_owned))
        }
    };

    assert_eq!(from("10.0.0.1", "ada@example.com").await, (200, None));
    assert_eq!(from("10.0.0.1", "ada@example.com").await, (200, None));
    assert_eq!(from("10.0.0.2", "ada@example.com").await.1.as_deref(), Some("RATE_LIMITED"), "per email");
    assert_eq!(from("10.0.0.1", "grace@example.com").await.1.as_deref(), Some("RATE_LIMITED"), "per address");
    assert_eq!(from("10.0.0.3", "grace@example.com").await, (200, None));
}

#[tokio::test]
async fn registering_mails_a_verification_link_that_verifies_the_email_once() {
    let app = TestApp::spawn().await;
    let ada = registered(&app, "ada@example.com").await;
    let me = app.post_graphql_as(&ada, "{ me { emailVerified } }").await;
    assert_eq!(me["data"]["me"]["emailVerified"], false, "{me}");
    let [token] = &mailed(&app, "ada@example.com", "verify-email").await[..] else {
        panic!("one verification link is mailed")
    };
    let lifetime = "SELECT count(*) AS n FROM account_tokens WHERE purpose = 'verify_email' \
        AND expires_at - created_at = interval '1 day'";
    assert_eq!(count(&app, lifetime).await, 1);

    let verified = app.post_graphql_as(&ada, &verify(token)).await;

    assert_eq!(verified["data"]["verifyEmail"], json!({ "verified": true, "userErrors": [] }), "{verified}");
    let me = app.post_graphql_as(&ada, "{ me { emailVerified } }").await;
    assert_eq!(me["data"]["me"]["emailVerified"], true, "at once: {me}");
    for refused in [token.as_str(), "garbage"] {
        let body = app.post_graphql(&verify(refused)).await;
        assert_eq!(user_errors(&body, "verifyEmail"), json!([{ "field": "token", "code": "INVALID_LINK" }]));
    }
    let resend = app.post_graphql_as(&ada, RESEND).await;
    assert_eq!(
        resend["data"]["resendVerificationEmail"],
        json!({ "sent": false, "userErrors": [{ "code": "ALREADY_VERIFIED" }] })
    );
    let reset_link = "SELECT count(*) AS n FROM account_tokens WHERE purpose = 'reset_password'";
    assert_eq!(count(&app, reset_link).await, 0, "a verification link resets no password");
}

#[tokio::test]
async fn a_verification_mail_can_be_asked_for_again_within_a_budget() {
    let app = TestApp::spawn_with(&["--account-mail-rate-limit", "2/h:2"]).await;
    let ada = registered(&app, "ada@example.com").await;

    for _ in 0..2 {
        let resend = app.post_graphql_as(&ada, RESEND).await;
        assert_eq!(resend["data"]["resendVerificationEmail"], json!({ "sent": true, "userErrors": [] }));
    }
    let over = app.post_graphql_as(&ada, RESEND).await;
    assert_eq!(over["errors"][0]["extensions"]["code"], "RATE_LIMITED", "{over}");
    let guest = app.post_graphql(RESEND).await;
    assert_eq!(guest["errors"][0]["extensions"]["code"], "UNAUTHENTICATED", "{guest}");

    let tokens = mailed(&app, "ada@example.com", "verify-email").await;
    assert_eq!(tokens.len(), 3, "one on registering and two asked for");
    let verified = app.post_graphql(&verify(&tokens[0])).await;
    assert_eq!(verified["data"]["verifyEmail"]["verified"], true, "an earlier link still works: {verified}");
}

/// aiosmtpd on a port of its own, keeping what it receives in a maildir.
struct SmtpServer {
    port: u16,
    maildir: PathBuf,
    process: Child,
}

impl SmtpServer {
    async fn start(port: u16, maildir: PathBuf) -> Self {
        let process = Command::new(repo_root().join("scripts/stack"))
            .args(["smtp", &port.to_string(), maildir.to_str().unwrap()])
            .stdout(Stdio::null())
            .spawn()
            .expect("scripts/stack smtp starts");
        // Stopped on drop, should it never listen.
        let server = Self { port, maildir, process };
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
                return server;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("aiosmtpd did not listen on {port} within 10 s");
    }

    /// The messages received so far, as sent.
    fn messages(&self) -> Vec<String> {
        let Ok(files) = std::fs::read_dir(self.maildir.join("new")) else { return Vec::new() };
        files.map(|file| std::fs::read_to_string(file.unwrap().path()).unwrap()).collect()
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

fn temporary_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("myclothes-{name}-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The text of a message's body, decoded from its transfer encoding.
fn body_text(message: &str) -> String {
    let (headers, body) = message.split_once("\n\n").or_else(|| message.split_once("\r\n\r\n")).unwrap();
    let encoding = headers
        .lines()
        .find_map(|line| line.strip_prefix("Content-Transfer-Encoding: "))
        .unwrap_or("7bit")
        .trim();
    match encoding {
        "quoted-printable" => {
            let bytes = quoted_printable::decode(body, quoted_printable::ParseMode::Robust).unwrap();
            String::from_utf8(bytes).unwrap()
        }
        "base64" => {
            use base64::Engine;
            let joined: String = body.split_whitespace().collect();
            String::from_utf8(base64::engine::general_purpose::STANDARD.decode(joined).unwrap()).unwrap()
        }
        _ => body.to_owned(),
    }
}

#[tokio::test]
async fn the_mail_sink_is_delivered_by_smtp_once_retried_while_the_server_is_away() {
    let app = TestApp::spawn().await;
    registered(&app, "ada@example.com").await;
    let [token] = &mailed(&app, "ada@example.com", "verify-email").await[..] else { panic!("one link") };
    let (port, dir) = (free_port(), temporary_dir("smtp"));
    let url = format!("smtp://127.0.0.1:{port}");
    let settings = SmtpSettings::parse(&url, "MyClothes <shop@myclothes.test>").unwrap();
    let sender = SmtpSender::new(app.services.db.clone(), settings);

    assert_eq!(sender.send_due().await.unwrap(), 1, "tried while no server listens");
    let waiting = "SELECT count(*) AS n FROM mail WHERE sent_at IS NULL AND attempts = 1 \
        AND last_error IS NOT NULL AND next_attempt_at > now()";
    assert_eq!(count(&app, waiting).await, 1, "to be tried again after a pause");
    assert_eq!(sender.send_due().await.unwrap(), 0, "not before the pause is over");

    let server = SmtpServer::start(port, dir.join("maildir")).await;
    app.primary.execute_unprepared("UPDATE mail SET next_attempt_at = now()").await.unwrap();
    assert_eq!(sender.send_due().await.unwrap(), 1);
    assert_eq!(sender.send_due().await.unwrap(), 0, "sent once");

    let sent = "SELECT count(*) AS n FROM mail WHERE sent_at IS NOT NULL AND last_error IS NULL";
    assert_eq!(count(&app, sent).await, 1);
    let [message] = &server.messages()[..] else { panic!("one message arrives at {}", server.port) };
    assert!(message.contains("X-RcptTo: ada@example.com"), "{message}");
    assert!(message.contains("From: MyClothes <shop@myclothes.test>"), "{message}");
    assert!(message.contains("Subject: Confirm your email address"), "{message}");
    assert!(
        body_text(message).contains(&format!("https://shop.example.com/#/verify-email?token={token}")),
        "{message}"
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn a_message_the_server_refuses_for_good_is_given_up() {
    let app = TestApp::spawn().await;
    let insert =
        "INSERT INTO mail (key, recipient, subject, body) VALUES ('bad', 'not an address', 'Hi', 'Hello')";
    app.primary.execute_unprepared(insert).await.unwrap();
    let settings = SmtpSettings::parse("smtp://127.0.0.1:9", "shop@myclothes.test").unwrap();
    let sender = SmtpSender::new(app.services.db.clone(), settings);

    assert_eq!(sender.send_due().await.unwrap(), 1);

    let given_up =
        "SELECT count(*) AS n FROM mail WHERE next_attempt_at = 'infinity' AND last_error IS NOT NULL";
    assert_eq!(count(&app, given_up).await, 1);
}

#[test]
fn smtp_settings_refuse_a_bad_url_or_sender_without_showing_the_url() {
    let bad_url = SmtpSettings::parse("smtp://user:secret@exa mple:x", "shop@myclothes.test").unwrap_err();
    assert!(!bad_url.to_string().contains("secret"), "{bad_url}");
    assert!(SmtpSettings::parse("smtp://127.0.0.1:25", "not a sender").is_err());
    let settings = SmtpSettings::parse("smtp://user:secret@127.0.0.1:25", "shop@myclothes.test").unwrap();
    assert!(!format!("{settings:?}").contains("secret"));
}

fn sha256_hex(text: &str) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(text.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}
