use sea_orm::{ConnectionTrait, DbErr};

use crate::support::{Stack, TestApp, TestDatabase, connect, statement};

/// The SQLSTATE of a failed statement.
fn sqlstate(err: DbErr) -> String {
    match err {
        DbErr::Exec(sea_orm::RuntimeErr::SqlxError(e)) | DbErr::Query(sea_orm::RuntimeErr::SqlxError(e)) => {
            e.as_database_error().and_then(|d| d.code()).map(|c| c.into_owned()).unwrap_or_default()
        }
        other => panic!("expected a database error, got {other}"),
    }
}

const INSUFFICIENT_PRIVILEGE: &str = "42501";
const READ_ONLY_TRANSACTION: &str = "25006";

#[tokio::test]
async fn the_writer_role_writes_rows_but_cannot_create_or_drop_tables() {
    let db = TestDatabase::create().await;
    let writer = connect(&db.writer_url()).await;

    writer.execute_unprepared("UPDATE shop SET name = 'Writable'").await.expect("the writer updates rows");
    let create = writer.execute_unprepared("CREATE TABLE intruder (id int)").await.unwrap_err();
    assert_eq!(sqlstate(create), INSUFFICIENT_PRIVILEGE);
    let drop = writer.execute_unprepared("DROP TABLE shop").await.unwrap_err();
    assert_eq!(sqlstate(drop), INSUFFICIENT_PRIVILEGE);
    let schema = writer.execute_unprepared("CREATE SCHEMA intruder").await.unwrap_err();
    assert_eq!(sqlstate(schema), INSUFFICIENT_PRIVILEGE);
}

#[tokio::test]
async fn the_reader_role_cannot_write_even_on_the_primary() {
    let db = TestDatabase::create().await;
    let stack = Stack::get();

    for port in [stack.replica_port, stack.primary_port] {
        let reader = connect(&stack.reader_url(&db.name, port)).await;
        reader.execute_unprepared("SELECT name FROM shop").await.expect("the reader reads");
        let update = reader.execute_unprepared("UPDATE shop SET name = 'Nope'").await.unwrap_err();
        assert_eq!(sqlstate(update), READ_ONLY_TRANSACTION, "port {port}");
        let create = reader.execute_unprepared("CREATE TABLE intruder (id int)").await.unwrap_err();
        assert_eq!(sqlstate(create), READ_ONLY_TRANSACTION, "port {port}");
    }
    let reader_on_primary = connect(&stack.reader_url(&db.name, stack.primary_port)).await;
    let sneaky = reader_on_primary
        .execute_unprepared("BEGIN READ WRITE; UPDATE shop SET name = 'Nope'; COMMIT")
        .await
        .unwrap_err();
    assert_eq!(
        sqlstate(sneaky),
        INSUFFICIENT_PRIVILEGE,
        "without the read-only default, privileges still refuse"
    );
}

#[tokio::test]
async fn the_api_never_connects_as_a_superuser_or_the_owner() {
    let app = TestApp::spawn().await;
    let who = "SELECT current_user::text AS name, rolsuper FROM pg_roles WHERE rolname = current_user";

    let on_primary = &app.primary.query_one_raw(statement(who)).await.unwrap().unwrap();
    let on_replica = app
        .services
        .db
        .read(|db| async move { db.query_one_raw(statement(who)).await })
        .await
        .unwrap()
        .unwrap();

    assert_eq!(on_primary.try_get::<String>("", "name").unwrap(), "myclothes_writer");
    assert_eq!(on_replica.try_get::<String>("", "name").unwrap(), "myclothes_reader");
    assert!(!on_primary.try_get::<bool>("", "rolsuper").unwrap());
    assert!(!on_replica.try_get::<bool>("", "rolsuper").unwrap());
}
