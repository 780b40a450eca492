//! `graduatorie migrate` and `graduatorie copy-db` as an administrator runs them.
#![expect(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

use std::process::{Command, Output};

use graduatorie_store::calls;
use graduatorie_store::orgs::{self, OrganisationKind};
use graduatorie_store::{DatabaseUrl, DurabilityCheck, Store, StoreConfig, applications};

fn run(args: &[&str], envs: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_graduatorie"));
    cmd.args(args)
        .env_remove("GRADUATORIE_DATABASE_URL")
        .env_remove("GRADUATORIE_TEST_ONLY_SKIP_DURABILITY_CHECK");
    for (k, v) in envs {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8(b.to_vec()).unwrap()
}

fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("graduatorie-db-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn migrate_creates_the_sqlite_file_and_is_idempotent() {
    let dir = temp_dir("migrate");
    let url = format!("sqlite://{}/sub/folder/g.db", dir.display());
    let first = run(&["migrate", "--database", &url], &[]);
    assert!(first.status.success(), "{}", text(&first.stderr));
    assert!(
        text(&first.stdout).contains("applied 20261124000001"),
        "{}",
        text(&first.stdout)
    );
    assert!(dir.join("sub/folder/g.db").exists(), "the folder is created");
    let second = run(&["migrate"], &[("GRADUATORIE_DATABASE_URL", url.as_str())]);
    assert!(second.status.success());
    assert!(
        text(&second.stdout).contains("schema up to date"),
        "{}",
        text(&second.stdout)
    );
}

#[test]
fn wrong_urls_are_refused_with_a_clear_message() {
    let out = run(&["migrate", "--database", "mysql://localhost/db"], &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("must start with sqlite:// or postgres://"),
        "{}",
        text(&out.stderr)
    );
}

/// A new, empty PostgreSQL database on the test server.
fn postgres_database() -> String {
    use diesel::connection::SimpleConnection;
    let admin = std::env::var("GRADUATORIE_TEST_POSTGRES")
        .expect("GRADUATORIE_TEST_POSTGRES is not set: run `make test` (it finds or starts PostgreSQL)");
    let name = format!("gcli_{}", std::process::id());
    let mut conn = DatabaseUrl::parse(&admin).unwrap().connect().unwrap();
    // Two statements, two calls: PostgreSQL runs a multi-statement string as one transaction
    // block, where CREATE DATABASE is not allowed.
    conn.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .unwrap();
    conn.batch_execute(&format!("CREATE DATABASE {name}")).unwrap();
    format!("{}/{name}", admin.rsplit_once('/').unwrap().0)
}

#[test]
fn postgres_migrate_and_copy_from_sqlite() {
    let pg = postgres_database();
    let skip = [("GRADUATORIE_TEST_ONLY_SKIP_DURABILITY_CHECK", "1")];
    if std::env::var("GRADUATORIE_TEST_POSTGRES_THROWAWAY").is_ok() {
        // The throwaway test server runs without fsync: refused unless the test-only setting says so.
        let out = run(&["migrate", "--database", &pg], &[]);
        assert_eq!(out.status.code(), Some(1));
        assert!(text(&out.stderr).contains("fsync = off"), "{}", text(&out.stderr));
    }
    let out = run(&["migrate", "--database", &pg], &skip);
    assert!(out.status.success(), "{}", text(&out.stderr));

    // A small town's SQLite file with one submitted application.
    let dir = temp_dir("copy");
    let from = format!("sqlite://{}/town.db", dir.display());
    let store = Store::open(&StoreConfig::new(DatabaseUrl::parse(&from).unwrap())).unwrap();
    store.migrate().unwrap();
    let protocol = {
        let mut conn = store.conn().unwrap();
        let t: jiff::Timestamp = "2026-10-15T09:00:00Z".parse().unwrap();
        let org =
            orgs::create_organisation(&mut conn, OrganisationKind::Municipality, "Comune", None, t).unwrap();
        let service = calls::create_service(&mut conn, org, "nidi", "Nidi").unwrap();
        let call = calls::create_call(
            &mut conn,
            &calls::NewCall {
                service,
                school_year: "2026/2027",
                opens_at: "2026-10-01T00:00:00Z".parse().unwrap(),
                closes_at: "2027-03-01T00:00:00Z".parse().unwrap(),
                rules_toml: "x",
            },
            t,
        )
        .unwrap();
        calls::set_status(&mut conn, call, calls::CallStatus::Open).unwrap();
        let submission = applications::Submission {
            call,
            answers: serde_json::json!({ "isee": "12000,00" }),
            preferences: vec![],
            family: None,
            by: None,
        };
        applications::submit(&mut conn, &submission, t).unwrap().protocol
    };
    drop(store);
    let out = run(&["copy-db", "--from", &from, "--to", &pg], &skip);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("applications: 1 rows"),
        "{}",
        text(&out.stdout)
    );
    let mut config = StoreConfig::new(DatabaseUrl::parse(&pg).unwrap());
    config.durability = DurabilityCheck::SkipForTestsOnly;
    let target = Store::open(&config).unwrap();
    let mut conn = target.conn().unwrap();
    let app = applications::get(&mut conn, graduatorie_domain::ApplicationId::new(1)).unwrap();
    assert_eq!(app.protocol, protocol);
    assert_eq!(app.answers.get("isee").and_then(|v| v.as_str()), Some("12000,00"));
    // Copying again into a database that now has rows is refused, and changes nothing.
    let out = run(&["copy-db", "--from", &from, "--to", &pg], &skip);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("not empty"), "{}", text(&out.stderr));
}
