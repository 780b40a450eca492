//! A server per test: a throwaway database (migrated as an administrator would), the service bound to
//! 127.0.0.1 on a free port in its own thread, and an HTTP client that reports every status.

use std::net::SocketAddr;

use graduatorie_api::{Overrides, Settings};
use graduatorie_store::testing::TestDatabase;
use graduatorie_store::{Backend, DatabaseUrl, DurabilityCheck, Store, StoreConfig};

pub const DEFAULTS: &str = include_str!("../../../config/default.toml");

pub struct TestServer {
    pub base: String,
    pub db_url: String,
    _db: TestDatabase,
    handle: actix_web::dev::ServerHandle,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        actix_web::rt::System::new().block_on(self.handle.stop(true));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The settings a test server runs with: defaults, a free port, the test database.
pub fn settings(url: &str) -> Settings {
    settings_with(url, &[])
}

/// [`settings`] with more `GRADUATORIE__…` variables.
pub fn settings_with(url: &str, extra: &[(&str, &str)]) -> Settings {
    let overrides = Overrides {
        bind: Some("127.0.0.1:0".into()),
        database_url: Some(url.to_owned()),
        dev_login: None,
    };
    let env = [
        ("GRADUATORIE__LOG__FORMAT".to_owned(), "text".to_owned()),
        ("GRADUATORIE__LOG__LEVEL".to_owned(), "warn".to_owned()),
        ("GRADUATORIE__SERVER__WORKERS".to_owned(), "2".to_owned()),
        (
            "GRADUATORIE__SERVER__SHUTDOWN_TIMEOUT_SECONDS".to_owned(),
            "5".to_owned(),
        ),
    ];
    let env = env
        .into_iter()
        .chain(extra.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
    Settings::load(DEFAULTS, None, env, &overrides).unwrap()
}

/// `graduatorie migrate` on a database, as an administrator does before the first start on
/// PostgreSQL.
pub fn migrate(url: &str) {
    let mut config = StoreConfig::new(DatabaseUrl::parse(url).unwrap());
    config.durability = DurabilityCheck::SkipForTestsOnly;
    Store::open(&config).unwrap().migrate().unwrap();
}

impl TestServer {
    pub fn start(backend: Backend) -> Self {
        Self::start_with(backend, &[])
    }

    /// A server with more settings (as environment variables).
    pub fn start_with(backend: Backend, extra: &[(&str, &str)]) -> Self {
        Self::start_with_url(backend, extra, str::to_owned)
    }

    /// A server that reaches its database at another URL than the tests do (through a proxy).
    pub fn start_with_url(
        backend: Backend,
        extra: &[(&str, &str)],
        server_url: impl FnOnce(&str) -> String,
    ) -> Self {
        let db = TestDatabase::new(backend, "ga").unwrap_or_else(|e| panic!("{e}"));
        if backend == Backend::Postgres {
            migrate(&db.url);
        }
        let settings = settings_with(&server_url(&db.url), extra);
        graduatorie_api::init_logging(&settings.log);
        let store = graduatorie_api::open_store(&settings, DurabilityCheck::SkipForTestsOnly).unwrap();
        let (tx, rx) = std::sync::mpsc::channel::<(SocketAddr, actix_web::dev::ServerHandle)>();
        let thread = std::thread::spawn(move || {
            actix_web::rt::System::new().block_on(async move {
                let bound = graduatorie_api::bind(&settings, store).unwrap();
                tx.send((bound.addr, bound.server.handle())).unwrap();
                bound.server.await.unwrap();
            });
        });
        let (addr, handle) = rx.recv().unwrap();
        Self {
            base: format!("http://{addr}"),
            db_url: db.url.clone(),
            _db: db,
            handle,
            thread: Some(thread),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A direct connection to the server's database, to set up fixtures and check what was stored.
    pub fn store(&self) -> Store {
        let mut config = StoreConfig::new(DatabaseUrl::parse(&self.db_url).unwrap());
        config.durability = DurabilityCheck::SkipForTestsOnly;
        config.pool_size = 2;
        Store::open(&config).unwrap()
    }
}

/// An HTTP client that returns 4xx and 5xx answers instead of failing on them.
pub fn client() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into()
}

/// Declares a test that runs against a server on each backend (with the development login on, when
/// asked: `on_both!(name, dev, |s| ...)`).
macro_rules! on_both {
    ($name:ident, dev, $body:expr) => {
        mod $name {
            use super::*;
            #[test]
            fn sqlite() {
                let server = $crate::support::TestServer::start_with(
                    graduatorie_store::Backend::Sqlite,
                    &[("GRADUATORIE__AUTH__DEV_LOGIN", "true")],
                );
                let f: fn(&$crate::support::TestServer) = $body;
                f(&server);
            }
            #[test]
            fn postgres() {
                let server = $crate::support::TestServer::start_with(
                    graduatorie_store::Backend::Postgres,
                    &[("GRADUATORIE__AUTH__DEV_LOGIN", "true")],
                );
                let f: fn(&$crate::support::TestServer) = $body;
                f(&server);
            }
        }
    };
    ($name:ident, $body:expr) => {
        mod $name {
            use super::*;
            #[test]
            fn sqlite() {
                let server = $crate::support::TestServer::start(graduatorie_store::Backend::Sqlite);
                let f: fn(&$crate::support::TestServer) = $body;
                f(&server);
            }
            #[test]
            fn postgres() {
                let server = $crate::support::TestServer::start(graduatorie_store::Backend::Postgres);
                let f: fn(&$crate::support::TestServer) = $body;
                f(&server);
            }
        }
    };
}
pub(crate) use on_both;

/// A union of two towns running a nursery call open now, with staff of every role.
pub struct World {
    pub union: graduatorie_domain::OrganisationId,
    pub town_a: graduatorie_domain::OrganisationId,
    pub town_b: graduatorie_domain::OrganisationId,
    pub call: graduatorie_domain::CallId,
    /// Another call, of town B alone.
    pub call_b: graduatorie_domain::CallId,
}

/// The union's regulation (a real one, from config/rules).
pub const UNION_RULES: &str = include_str!("../../../config/rules/unione-sorbara-nidi.toml");

/// Password of every staff user of [`world`].
pub const PASSWORD: &str = "una password lunga per i test";

/// Staff logins of [`world`]: operator of A, operator of B, manager, auditor and admin of the union.
pub const STAFF: [&str; 5] = [
    "sportello.a",
    "sportello.b",
    "responsabile",
    "revisore",
    "amministratore",
];

pub fn world(s: &TestServer) -> World {
    use graduatorie_store::calls::{self, CallStatus, NewCall, Seats};
    use graduatorie_store::orgs::{self, OrganisationKind, Role};
    let store = s.store();
    let mut conn = store.conn().unwrap();
    let now = jiff::Timestamp::now();
    let day = jiff::SignedDuration::from_hours(24);
    let t0 = now.checked_sub(day * 2).unwrap();
    let union =
        orgs::create_organisation(&mut conn, OrganisationKind::Union, "Unione di Prova", None, t0).unwrap();
    let istat_a = graduatorie_domain::IstatCode::parse("036001").unwrap();
    let istat_b = graduatorie_domain::IstatCode::parse("036002").unwrap();
    let town_a = orgs::create_organisation(
        &mut conn,
        OrganisationKind::Municipality,
        "Comune A",
        Some(&istat_a),
        t0,
    )
    .unwrap();
    let town_b = orgs::create_organisation(
        &mut conn,
        OrganisationKind::Municipality,
        "Comune B",
        Some(&istat_b),
        t0,
    )
    .unwrap();
    orgs::add_union_member(&mut conn, union, town_a).unwrap();
    orgs::add_union_member(&mut conn, union, town_b).unwrap();
    let hash = graduatorie_api::auth::passwords::hash(PASSWORD).unwrap();
    let grants = [
        (town_a, Role::Operator),
        (town_b, Role::Operator),
        (union, Role::Manager),
        (union, Role::Auditor),
        (union, Role::Admin),
    ];
    for (login, (org, role)) in STAFF.iter().zip(grants) {
        let user = orgs::create_user(&mut conn, login, login, t0).unwrap();
        orgs::grant_role(&mut conn, user, org, role).unwrap();
        orgs::set_password_hash(&mut conn, user, &hash).unwrap();
    }
    let mut open_call = |org, code: &str| {
        let service = calls::create_service(&mut conn, org, code, "Nidi d'infanzia").unwrap();
        let call = calls::create_call(
            &mut conn,
            &NewCall {
                service,
                school_year: "2026/2027",
                opens_at: now.checked_sub(day).unwrap(),
                closes_at: now.checked_add(day * 30).unwrap(),
                rules_toml: UNION_RULES,
            },
            t0,
        )
        .unwrap();
        for code in ["girasole", "arcobaleno"] {
            let seats = [Seats {
                section: String::new(),
                time_slot: String::new(),
                seats: 20,
            }];
            let code = graduatorie_domain::FacilityCode::parse(code).unwrap();
            calls::add_facility(&mut conn, call, &code, &format!("Nido {code}"), &seats).unwrap();
        }
        calls::set_status(&mut conn, call, CallStatus::Open).unwrap();
        call
    };
    let call = open_call(union, "nidi");
    let call_b = open_call(town_b, "nidi-b");
    World {
        union,
        town_a,
        town_b,
        call,
        call_b,
    }
}

/// Logs in with the development login; returns the bearer token.
pub fn dev_login(s: &TestServer, cf: &str) -> String {
    let mut r = client()
        .post(s.url("/api/v1/auth/dev-login"))
        .send_json(serde_json::json!({ "codice_fiscale": cf }))
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.body_mut().read_to_string().unwrap());
    let body: serde_json::Value = r.body_mut().read_json().unwrap();
    body["token"].as_str().unwrap().to_owned()
}

/// Logs a member of staff in; returns the bearer token.
pub fn staff_login(s: &TestServer, login: &str) -> String {
    let mut r = client()
        .post(s.url("/api/v1/auth/login"))
        .send_json(serde_json::json!({ "login": login, "password": PASSWORD }))
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.body_mut().read_to_string().unwrap());
    let body: serde_json::Value = r.body_mut().read_json().unwrap();
    body["token"].as_str().unwrap().to_owned()
}

/// A complete, valid application for the union's regulation.
pub fn application(municipality: graduatorie_domain::OrganisationId) -> serde_json::Value {
    serde_json::json!({
        "inputs": {
            "child_birth_date": "2025-03-10",
            "parent_absent": "no",
            "multiple_birth": 1,
            "pregnancy": false,
            "other_children": [{ "birth_date": "2020-05-01" }],
            "invalid_members": [],
            "parents": [
                { "work": "self_employed_or_long_contract", "weekly_hours": 36, "working_student": false,
                  "project_worker": false, "away": "no", "commute_over_25km": true, "night": "no" },
                { "work": "unemployed" }
            ]
        },
        "preferences": ["girasole", "arcobaleno"],
        "contact_email": "famiglia@example.invalid",
        "municipality": municipality,
    })
}

/// Codici fiscali of two families (valid check characters).
pub const FAMILY_1: &str = "RSSMRA80A01H501U";
pub const FAMILY_2: &str = "RSSMRA85T10A562S";
