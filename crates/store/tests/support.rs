//! Test databases, one per test, and a small fixture (a municipality, a user, an open call).

use graduatorie_domain::{CallId, FacilityCode};
use graduatorie_store::applications::Submission;
use graduatorie_store::testing::TestDatabase;
use graduatorie_store::{Backend, DatabaseUrl, DurabilityCheck, Store, StoreConfig};
use jiff::Timestamp;

/// A database that exists for one test.
pub struct TestDb {
    pub store: Store,
    pub url: String,
    _database: TestDatabase,
}

fn open(url: &str, pool_size: u32) -> Store {
    let mut config = StoreConfig::new(DatabaseUrl::parse(url).unwrap());
    config.pool_size = pool_size;
    // The throwaway test server runs without fsync for speed (scripts/with-postgres.sh).
    config.durability = DurabilityCheck::SkipForTestsOnly;
    let store = Store::open(&config).unwrap();
    store.migrate().unwrap();
    store
}

fn test_db(backend: Backend, pool_size: u32) -> TestDb {
    let database = TestDatabase::new(backend, "gt").unwrap_or_else(|e| panic!("{e}"));
    TestDb {
        store: open(&database.url, pool_size),
        url: database.url.clone(),
        _database: database,
    }
}

/// A migrated SQLite database in a temporary file (a file, not memory: WAL and locking as in
/// production).
pub fn sqlite(pool_size: u32) -> TestDb {
    test_db(Backend::Sqlite, pool_size)
}

/// A migrated PostgreSQL database created for this test.
pub fn postgres(pool_size: u32) -> TestDb {
    test_db(Backend::Postgres, pool_size)
}

/// Declares a test that runs on both backends: `on_both!(name, |db| { ... })`.
macro_rules! on_both {
    ($name:ident, $body:expr) => {
        on_both!($name, 4, $body);
    };
    ($name:ident, $pool:expr, $body:expr) => {
        mod $name {
            use super::*;
            #[test]
            fn sqlite() {
                let db = $crate::support::sqlite($pool);
                let f: fn(&$crate::support::TestDb) = $body;
                f(&db);
            }
            #[test]
            fn postgres() {
                let db = $crate::support::postgres($pool);
                let f: fn(&$crate::support::TestDb) = $body;
                f(&db);
            }
        }
    };
}
pub(crate) use on_both;

pub fn at(s: &str) -> Timestamp {
    s.parse().unwrap()
}

pub use graduatorie_store::testing::{Fixture, RULES};

pub fn fixture(db: &TestDb) -> Fixture {
    graduatorie_store::testing::fixture(&mut db.store.conn().unwrap()).unwrap()
}

pub fn submission(call: CallId, n: u32) -> Submission {
    Submission {
        call,
        answers: serde_json::json!({ "children": n % 4, "isee": format!("{}.00", 10_000 + n) }),
        preferences: vec![
            FacilityCode::parse("girasole").unwrap(),
            FacilityCode::parse("arcobaleno").unwrap(),
        ],
        family: None,
        by: None,
        owner: None,
        municipality: None,
        contact_email: None,
        idempotency: None,
    }
}

/// Records a computed (unpublished) first-round run of the fixture's call, started by its manager.
pub fn computed_run(
    conn: &mut graduatorie_store::AnyConnection,
    f: &Fixture,
    results: &[graduatorie_store::runs::ResultRow],
    when: Timestamp,
) -> graduatorie_domain::RankingId {
    let hash = "c".repeat(64);
    let run = graduatorie_store::runs::NewRun {
        call: f.call,
        round: 1,
        inputs_hash: &hash,
        rules_hash: &hash,
        seed: "2026",
        engine_version: "0.1.0",
        triggered_by: Some(f.manager),
        manifest: &serde_json::json!({ "seed": "2026" }),
    };
    graduatorie_store::runs::record(conn, &run, results, when).unwrap()
}
