//! A server per test: a throwaway database (migrated as an administrator would), the service bound to
//! 127.0.0.1 on a free port in its own thread, and an HTTP client that reports every status.

use std::net::SocketAddr;

use graduatorie_api::{Overrides, Settings};
use graduatorie_store::testing::TestDatabase;
use graduatorie_store::{Backend, DatabaseUrl, DurabilityCheck, Store, StoreConfig};

pub const DEFAULTS: &str = include_str!("../../../config/default.toml");

pub struct TestServer {
    pub base: String,
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
    let overrides = Overrides {
        bind: Some("127.0.0.1:0".into()),
        database_url: Some(url.to_owned()),
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
        let db = TestDatabase::new(backend, "ga").unwrap_or_else(|e| panic!("{e}"));
        if backend == Backend::Postgres {
            migrate(&db.url);
        }
        let settings = settings(&db.url);
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
            _db: db,
            handle,
            thread: Some(thread),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

/// An HTTP client that returns 4xx and 5xx answers instead of failing on them.
pub fn client() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into()
}

/// Declares a test that runs against a server on each backend.
macro_rules! on_both {
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
