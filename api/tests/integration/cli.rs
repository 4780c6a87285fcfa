use std::process::Command;

use crate::support::stack::repo_root;

fn myclothes() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_myclothes"));
    command.env_clear().env("PATH", std::env::var_os("PATH").unwrap_or_default());
    command
}

#[test]
fn a_malformed_setting_stops_start_up_with_one_line_naming_it() {
    for (variable, value) in [
        ("MYCLOTHES_DATABASE_URL", "postgres//missing-colon"),
        ("MYCLOTHES_CORS_ORIGINS", "shop.example.com"),
    ] {
        let output = myclothes()
            .args(["serve"])
            .env("MYCLOTHES_PROFILE", "development")
            .env(variable, value)
            .output()
            .expect("myclothes runs");

        assert!(!output.status.success());
        let stderr = String::from_utf8(output.stderr).unwrap();
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(stderr.contains(variable), "{stderr}");
    }
}

#[test]
fn production_refuses_to_start_without_explicit_secrets() {
    let output = myclothes().args(["serve"]).output().expect("myclothes runs");

    assert!(!output.status.success());
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("MYCLOTHES_DATABASE_URL") && stderr.contains("production"), "{stderr}");
}

#[test]
fn help_and_the_readme_list_every_setting() {
    let output = myclothes().arg("--help").output().expect("myclothes runs");
    let help = String::from_utf8(output.stdout).unwrap();
    let readme = std::fs::read_to_string(repo_root().join("README.md")).unwrap();

    let variables: std::collections::BTreeSet<&str> = help
        .split(|c: char| !(c.is_ascii_uppercase() || c == '_'))
        .filter(|word| word.starts_with("MYCLOTHES_") && word.len() > "MYCLOTHES_".len())
        .collect();
    assert!(variables.len() >= 25, "--help lists the settings: {variables:?}");
    for variable in variables {
        assert!(readme.contains(&format!("`{variable}`")), "README.md does not document {variable}");
    }
}

#[test]
fn schema_graphql_is_what_myclothes_schema_prints() {
    let output = myclothes().arg("schema").output().expect("myclothes runs");
    assert!(output.status.success());
    let checked_in =
        std::fs::read_to_string(repo_root().join("schema.graphql")).expect("schema.graphql exists");

    assert!(
        String::from_utf8(output.stdout).unwrap() == checked_in,
        "schema.graphql is out of date: run `cargo run -p api -- schema > schema.graphql`"
    );
}

#[tokio::test]
async fn admin_create_makes_an_administrator_who_can_sign_in() {
    let db = crate::support::TestDatabase::create().await;
    let create = |password: &str| {
        myclothes()
            .args(["--profile", "development", "--database-url", &db.writer_url()])
            .args(["admin", "create", "--email", "Boss@MyClothes.test"])
            .env("MYCLOTHES_ADMIN_PASSWORD", password)
            .output()
            .expect("myclothes runs")
    };

    let weak = create("short");
    assert!(!weak.status.success());
    assert!(String::from_utf8_lossy(&weak.stderr).contains("password"));
    assert!(create("a very long password").status.success());
    let again = create("a very long password");
    assert!(!again.status.success(), "the same email twice");
    assert!(String::from_utf8_lossy(&again.stderr).contains("exists already"));

    let app = crate::support::TestApp::spawn_on(db, &[]).await;
    let login = app
        .post_graphql(r#"mutation { staffLogin(input: { email: "boss@myclothes.test", password: "a very long password" }) { token } }"#)
        .await;
    let token = login["data"]["staffLogin"]["token"].as_str().expect("the administrator signs in");
    let created = app
        .post_graphql_as(token, r#"mutation { createBrand(input: { name: "Bossware" }) { brand { slug } } }"#)
        .await;
    assert_eq!(created["data"]["createBrand"]["brand"]["slug"], "bossware");
}

/// Removing a staff account ends its sessions at once: its token no longer does anything.
#[tokio::test]
async fn admin_remove_ends_the_administrators_sessions() {
    let app = crate::support::TestApp::spawn().await;
    let token = app.admin_token().await;
    let redis_prefix = format!("{}:", app.db.name);
    let remove = |email: &str| {
        myclothes()
            .args(["--profile", "development", "--database-url", &app.db.writer_url()])
            .args(crate::support::suite_redis_args())
            .args(["--redis-key-prefix", &redis_prefix])
            .args(["admin", "remove", "--email", email])
            .output()
            .expect("myclothes runs")
    };

    let removed = remove("Admin@MyClothes.test");

    assert!(removed.status.success(), "{}", String::from_utf8_lossy(&removed.stderr));
    let refused = app
        .post_graphql_as(
            &token,
            r#"mutation { createBrand(input: { name: "Leftover" }) { brand { slug } } }"#,
        )
        .await;
    assert_eq!(refused["errors"][0]["extensions"]["code"], "UNAUTHENTICATED", "{refused}");
    let unknown = remove("admin@myclothes.test");
    assert!(!unknown.status.success());
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("no such staff account"));
}
