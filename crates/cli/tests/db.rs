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

#[test]
fn copy_from_a_missing_file_creates_nothing() {
    let dir = temp_dir("copy-missing");
    let from = dir.join("typo.db");
    let to = dir.join("to.db");
    let out = run(
        &[
            "copy-db",
            "--from",
            &format!("sqlite://{}", from.display()),
            "--to",
            &format!("sqlite://{}", to.display()),
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("no such database file"),
        "{}",
        text(&out.stderr)
    );
    assert!(!from.exists() && !to.exists());
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
            owner: None,
            municipality: None,
            contact_email: None,
            idempotency: None,
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
    drop(conn);
    restore_drill(&pg, &dir, protocol);
}

/// A PostgreSQL client program: on PATH, or in the newest /usr/lib/postgresql/N/bin.
fn pg_program(name: &str) -> std::path::PathBuf {
    let on_path = Command::new(name)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if on_path {
        return name.into();
    }
    let mut dirs: Vec<_> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|d| {
            d.filter_map(Result::ok)
                .map(|e| e.path().join("bin").join(name))
                .collect()
        })
        .unwrap_or_default();
    dirs.retain(|p: &std::path::PathBuf| p.is_file());
    dirs.sort_by_key(|p| {
        p.components()
            .nth(4)
            .and_then(|c| c.as_os_str().to_str()?.parse::<u32>().ok())
    });
    dirs.pop()
        .expect("pg_dump or pg_restore not found: install Debian's postgresql-client (make test does)")
}

/// The backup and restore drill of docs/operations.md, step by step: pg_dump in the custom format,
/// pg_restore into a new database, `graduatorie migrate` finds nothing to do, the data and the
/// triggers that freeze the register are back.
fn restore_drill(pg: &str, dir: &std::path::Path, protocol: graduatorie_domain::ProtocolNumber) {
    use diesel::connection::SimpleConnection;
    let dump = dir.join("graduatorie.dump");
    let out = Command::new(pg_program("pg_dump"))
        .args(["--format=custom", "--file"])
        .arg(&dump)
        .arg(pg)
        .output()
        .unwrap();
    assert!(out.status.success(), "pg_dump: {}", text(&out.stderr));
    let restored = format!("{pg}_restored");
    let name = restored.rsplit_once('/').unwrap().1;
    let admin = std::env::var("GRADUATORIE_TEST_POSTGRES").unwrap();
    let mut conn = DatabaseUrl::parse(&admin).unwrap().connect().unwrap();
    conn.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .unwrap();
    conn.batch_execute(&format!("CREATE DATABASE {name}")).unwrap();
    let out = Command::new(pg_program("pg_restore"))
        .args([
            "--no-owner",
            "--exit-on-error",
            "--single-transaction",
            "--dbname",
        ])
        .arg(&restored)
        .arg(&dump)
        .output()
        .unwrap();
    assert!(out.status.success(), "pg_restore: {}", text(&out.stderr));
    let skip = [("GRADUATORIE_TEST_ONLY_SKIP_DURABILITY_CHECK", "1")];
    let out = run(&["migrate", "--database", &restored], &skip);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("schema up to date"),
        "{}",
        text(&out.stdout)
    );
    let mut config = StoreConfig::new(DatabaseUrl::parse(&restored).unwrap());
    config.durability = DurabilityCheck::SkipForTestsOnly;
    let store = Store::open(&config).unwrap();
    let mut db = store.conn().unwrap();
    let app = applications::get(&mut db, graduatorie_domain::ApplicationId::new(1)).unwrap();
    assert_eq!(app.protocol, protocol);
    let tamper = db.batch_execute("DELETE FROM protocol_entries");
    assert!(
        tamper
            .as_ref()
            .is_err_and(|e| e.to_string().contains("immutable")),
        "{tamper:?}"
    );
    // New applications continue the numbering of the restored register.
    let next = applications::Submission {
        call: app.call,
        answers: serde_json::json!({ "isee": "1,00" }),
        preferences: vec![],
        family: None,
        by: None,
        owner: None,
        municipality: None,
        contact_email: None,
        idempotency: None,
    };
    let t: jiff::Timestamp = "2026-10-16T09:00:00Z".parse().unwrap();
    let again = applications::submit(&mut db, &next, t).unwrap();
    assert_eq!(again.protocol.number(), protocol.number() + 1);
    drop(db);
    drop(store);
    conn.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .unwrap();
}
