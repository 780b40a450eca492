//! The two migration sets are kept in step, apply cleanly, are idempotent, and match `schema.rs`.

use diesel::prelude::*;
use graduatorie_store::migrate;
use graduatorie_store::schema::*;

use crate::support::{TestDb, on_both};

#[test]
fn both_backends_have_the_same_migration_versions() {
    let sqlite = migrate::embedded_versions(&migrate::SQLITE).unwrap();
    let postgres = migrate::embedded_versions(&migrate::POSTGRES).unwrap();
    assert!(!sqlite.is_empty());
    assert_eq!(
        sqlite, postgres,
        "migrations/sqlite and migrations/postgres must have the same versions"
    );
}

#[test]
fn both_backends_create_the_same_tables_and_triggers() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../../migrations");
    let names = |backend: &str, what: &str| {
        let mut out = Vec::new();
        for entry in std::fs::read_dir(format!("{root}/{backend}")).unwrap() {
            let up = std::fs::read_to_string(entry.unwrap().path().join("up.sql")).unwrap();
            for line in up.lines() {
                if let Some(rest) = line.strip_prefix(&format!("CREATE {what} ")) {
                    out.push(rest.split([' ', '(']).next().unwrap().to_owned());
                }
            }
        }
        out.sort();
        out
    };
    assert_eq!(names("sqlite", "TABLE"), names("postgres", "TABLE"));
    // copy-db copies the tables it lists: a table missing there would be dropped silently.
    let mut copied: Vec<String> = graduatorie_store::copy::TABLES
        .iter()
        .map(|t| (*t).to_owned())
        .collect();
    copied.sort();
    assert_eq!(
        names("sqlite", "TABLE"),
        copied,
        "copy::TABLES must list every table"
    );
    assert_eq!(names("sqlite", "INDEX"), names("postgres", "INDEX"));
    // PostgreSQL has one trigger for all three kinds of change on results, and two TRUNCATE guards.
    let mut sqlite_triggers = names("sqlite", "TRIGGER");
    sqlite_triggers.retain(|t| !t.starts_with("ranking_results_frozen_"));
    let mut pg_triggers = names("postgres", "TRIGGER");
    pg_triggers.retain(|t| t != "ranking_results_frozen" && !t.ends_with("_no_truncate"));
    assert_eq!(sqlite_triggers, pg_triggers);
}

on_both!(migrating_twice_changes_nothing, |db: &TestDb| {
    // The fixture database is already migrated by the harness.
    assert!(db.store.migrate().unwrap().is_empty());
});

macro_rules! columns_exist {
    ($conn:expr, $($table:ident),* $(,)?) => {
        $(
            $table::table.select($table::all_columns).limit(0).execute($conn)
                .unwrap_or_else(|e| panic!("schema.rs and the migrations disagree on {}: {e}", stringify!($table)));
        )*
    };
}

on_both!(schema_rs_matches_the_migrated_database, |db: &TestDb| {
    let mut conn = db.store.conn().unwrap();
    let conn = &mut *conn;
    columns_exist!(
        conn,
        organisations,
        union_members,
        users,
        user_roles,
        services,
        calls,
        late_batches,
        facilities,
        facility_seats,
        protocol_counters,
        applications,
        protocol_entries,
        application_versions,
        application_events,
        ranking_runs,
        ranking_results,
        objections,
        offers,
        audit_log,
        outbox,
    );
});
