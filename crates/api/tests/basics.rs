//! Start-up, `/status`, problems for unknown addresses, and the refusal to start on an old schema.

use graduatorie_store::testing::TestDatabase;
use graduatorie_store::{Backend, DurabilityCheck};
use serde_json::Value;

use crate::support::{TestServer, client, on_both, settings};

on_both!(
    status_says_the_database_is_reachable_and_current,
    |s: &TestServer| {
        let mut r = client().get(s.url("/status")).call().unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers().get("cache-control").unwrap(), "no-store");
        let body: Value = r.body_mut().read_json().unwrap();
        assert_eq!(body["status"], "ok");
        assert_eq!(body["migrations"], "current");
        assert_eq!(body["version"], env!("CARGO_PKG_VERSION"));
    }
);

on_both!(
    unknown_addresses_are_problems_in_the_callers_language,
    |s: &TestServer| {
        let mut r = client().get(s.url("/api/v1/nothing-here")).call().unwrap();
        assert_eq!(r.status(), 404);
        assert_eq!(
            r.headers().get("content-type").unwrap(),
            "application/problem+json"
        );
        let body: Value = r.body_mut().read_json().unwrap();
        assert_eq!(body["type"], "urn:graduatorie:problem:not-found");
        assert_eq!(body["status"], 404);
        assert_eq!(body["title"], "Risorsa non trovata");
        let mut r = client()
            .post(s.url("/status/../../etc/passwd"))
            .header("Accept-Language", "en-GB,en;q=0.9,it;q=0.5")
            .send("x")
            .unwrap();
        assert_eq!(r.status(), 404);
        let body: Value = r.body_mut().read_json().unwrap();
        assert_eq!(body["title"], "Not found");
    }
);

#[test]
fn an_embedded_sqlite_database_is_created_and_migrated_on_start() {
    let db = TestDatabase::new(Backend::Sqlite, "ga").unwrap();
    let store = graduatorie_api::open_store(&settings(&db.url), DurabilityCheck::Enforce).unwrap();
    assert!(store.pending_migrations().unwrap().is_empty());
}

#[test]
fn postgres_on_an_older_schema_refuses_to_start_and_says_what_to_run() {
    let db = TestDatabase::new(Backend::Postgres, "ga").unwrap_or_else(|e| panic!("{e}"));
    let e = graduatorie_api::open_store(&settings(&db.url), DurabilityCheck::SkipForTestsOnly)
        .unwrap_err()
        .to_string();
    assert!(e.contains("graduatorie migrate --database postgres://"), "{e}");
    assert!(e.contains("20261124000001"), "{e}");
    // Nothing was created behind the administrator's back.
    crate::support::migrate(&db.url);
    assert!(graduatorie_api::open_store(&settings(&db.url), DurabilityCheck::SkipForTestsOnly).is_ok());
}

#[test]
fn a_method_an_address_does_not_take_is_405_with_allow() {
    let s = TestServer::start(Backend::Sqlite);
    for (method, path, allow) in [
        ("PATCH", "/api/v1/drafts/1", "GET, PUT, DELETE"),
        ("DELETE", "/api/v1/calls", "GET"),
        ("GET", "/api/v1/auth/login", "POST"),
        ("TRACE", "/status", "GET"),
    ] {
        let request = ureq::http::Request::builder()
            .method(method)
            .uri(s.url(path))
            .body(())
            .unwrap();
        let mut r = client().run(request).unwrap();
        assert_eq!(r.status(), 405, "{method} {path}");
        assert_eq!(r.headers().get("allow").unwrap(), allow, "{method} {path}");
        let body: Value = r.body_mut().read_json().unwrap();
        assert_eq!(body["type"], "urn:graduatorie:problem:method-not-allowed");
    }
}
