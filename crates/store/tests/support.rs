//! Test databases, one per test, and a small fixture (a municipality, a user, an open call).

use graduatorie_domain::{CallId, FacilityCode, OrganisationId, UserId};
use graduatorie_store::applications::Submission;
use graduatorie_store::calls::{self, CallStatus, NewCall, Seats};
use graduatorie_store::orgs::{self, OrganisationKind, Role};
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

/// A municipality with a manager, a nursery service and a call open from 1 October 2026 to
/// 1 March 2027 (UTC instants), with two facilities.
pub struct Fixture {
    pub org: OrganisationId,
    pub manager: UserId,
    pub call: CallId,
}

pub const RULES: &str = "# a regulation\n[call]\nservice = \"nidi\"\n";

pub fn fixture(db: &TestDb) -> Fixture {
    let mut conn = db.store.conn().unwrap();
    let t0 = at("2026-09-01T08:00:00Z");
    let org = orgs::create_organisation(
        &mut conn,
        OrganisationKind::Municipality,
        "Comune di Prova",
        None,
        t0,
    )
    .unwrap();
    let manager = orgs::create_user(&mut conn, "manager@example.invalid", "Responsabile", t0).unwrap();
    orgs::grant_role(&mut conn, manager, org, Role::Manager).unwrap();
    let service = calls::create_service(&mut conn, org, "nidi", "Nidi d'infanzia").unwrap();
    let call = calls::create_call(
        &mut conn,
        &NewCall {
            service,
            school_year: "2026/2027",
            opens_at: at("2026-10-01T00:00:00Z"),
            closes_at: at("2027-03-01T00:00:00Z"),
            rules_toml: RULES,
        },
        t0,
    )
    .unwrap();
    for code in ["girasole", "arcobaleno"] {
        let seats = vec![Seats {
            section: "piccoli".into(),
            time_slot: String::new(),
            seats: 10,
        }];
        calls::add_facility(&mut conn, call, &FacilityCode::parse(code).unwrap(), code, &seats).unwrap();
    }
    calls::set_status(&mut conn, call, CallStatus::Open).unwrap();
    Fixture { org, manager, call }
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
    }
}
