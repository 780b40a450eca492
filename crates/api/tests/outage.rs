//! PostgreSQL unreachable or saturated: every answer is `503` with `Retry-After`, quickly, and nothing
//! is stored half (SQLite's busy database is in `enrolment.rs`).

use std::time::{Duration, Instant};

use graduatorie_store::{Backend, applications};
use serde_json::Value;

use crate::proxy::{Proxy, target_of};
use crate::support::{FAMILY_1, TestServer, application, client, dev_login, world};

fn assert_unavailable(mut r: ureq::http::Response<ureq::Body>, what: &str) {
    assert_eq!(
        r.status(),
        503,
        "{what}: {}",
        r.body_mut().read_to_string().unwrap()
    );
    assert!(r.headers().get("retry-after").is_some(), "{what}");
    let body: Value = r.body_mut().read_json().unwrap();
    if body.get("type").is_some() {
        assert_eq!(body["type"], "urn:graduatorie:problem:unavailable", "{what}");
    }
}

fn submit(
    s: &TestServer,
    token: &str,
    call: i64,
    body: &Value,
    key: &str,
) -> ureq::http::Response<ureq::Body> {
    client()
        .post(s.url(&format!("/api/v1/calls/{call}/applications")))
        .header("Authorization", &format!("Bearer {token}"))
        .header("Idempotency-Key", key)
        .send_json(body)
        .unwrap()
}

#[test]
fn postgres_unreachable_is_503_with_retry_after_and_nothing_is_half_stored() {
    let url = std::env::var("GRADUATORIE_TEST_POSTGRES").unwrap_or_else(|_| {
        panic!("GRADUATORIE_TEST_POSTGRES is not set: run through scripts/with-postgres.sh")
    });
    let proxy = Proxy::start(target_of(&url));
    let s = TestServer::start_with_url(
        Backend::Postgres,
        &[
            ("GRADUATORIE__AUTH__DEV_LOGIN", "true"),
            ("GRADUATORIE__DATABASE__POOL_SIZE", "2"),
        ],
        |u| proxy.url_for(u),
    );
    let w = world(&s);
    let token = dev_login(&s, FAMILY_1);
    let body = application(w.town_a);
    let call = w.call.get();
    assert_eq!(submit(&s, &token, call, &body, "before").status(), 201);

    proxy.cut();
    let started = Instant::now();
    assert_unavailable(submit(&s, &token, call, &body, "during-outage"), "submit");
    assert_unavailable(
        client()
            .get(s.url("/api/v1/applications"))
            .header("Authorization", &format!("Bearer {token}"))
            .call()
            .unwrap(),
        "a logged-in read (the session cannot be checked: 503, not 401)",
    );
    assert_unavailable(
        client().get(s.url("/api/v1/calls")).call().unwrap(),
        "public read",
    );
    assert_unavailable(client().get(s.url("/status")).call().unwrap(), "status");
    assert!(
        started.elapsed() < Duration::from_secs(40),
        "each answer within the pool's 5 s wait and the connect: {:?}",
        started.elapsed()
    );

    proxy.restore();
    // The same key again: nothing was stored under it, so this is a new submission, not a replay.
    let mut again = submit(&s, &token, call, &body, "during-outage");
    assert_eq!(
        again.status(),
        201,
        "{}",
        again.body_mut().read_to_string().unwrap()
    );
    let again: Value = again.body_mut().read_json().unwrap();

    let mut conn = s.store().conn().unwrap();
    let stored = applications::for_ranking(&mut conn, w.call).unwrap();
    assert_eq!(
        stored.len(),
        2,
        "the submission refused during the outage left nothing"
    );
    let protocol = |p: &str| p.split('/').nth(1).unwrap().parse::<u32>().unwrap();
    let numbers: Vec<u32> = stored.iter().map(|a| protocol(&a.protocol.to_string())).collect();
    assert_eq!(numbers[1], numbers[0] + 1, "no protocol number lost: {numbers:?}");
    assert_eq!(protocol(again["protocol"].as_str().unwrap()), numbers[1]);
}

#[test]
fn postgres_saturated_is_503_and_the_waiting_request_completes_once_the_lock_is_gone() {
    let s = TestServer::start_with(Backend::Postgres, &[("GRADUATORIE__DATABASE__POOL_SIZE", "1")]);
    let w = world(&s);
    let store = s.store();
    let mut locker = store.conn().unwrap();
    use diesel::connection::SimpleConnection;
    locker
        .batch_execute("BEGIN; LOCK TABLE calls IN ACCESS EXCLUSIVE MODE;")
        .unwrap();
    // This request takes the service's only connection and waits for the lock…
    let form_url = s.url(&format!("/api/v1/calls/{}/form", w.call));
    let waiting = std::thread::spawn({
        let form_url = form_url.clone();
        move || client().get(&form_url).call().unwrap().status().as_u16()
    });
    std::thread::sleep(Duration::from_millis(500));
    // …so this one finds no free connection within the pool's wait: 503.
    let started = Instant::now();
    assert_unavailable(
        client().get(s.url("/api/v1/calls")).call().unwrap(),
        "pool exhausted",
    );
    assert!(
        started.elapsed() < Duration::from_secs(9),
        "{:?}",
        started.elapsed()
    );
    locker.batch_execute("COMMIT;").unwrap();
    assert_eq!(
        waiting.join().unwrap(),
        200,
        "the waiting request is served, not lost"
    );
    assert_eq!(client().get(s.url("/api/v1/calls")).call().unwrap().status(), 200);

    // A lock held past the service's lock timeout (10 s): 503, not 500, and not a hang.
    locker
        .batch_execute("BEGIN; LOCK TABLE calls IN ACCESS EXCLUSIVE MODE;")
        .unwrap();
    let started = Instant::now();
    assert_unavailable(client().get(&form_url).call().unwrap(), "lock timeout");
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_secs(9) && waited < Duration::from_secs(20),
        "{waited:?}"
    );
    locker.batch_execute("COMMIT;").unwrap();
    assert_eq!(client().get(&form_url).call().unwrap().status(), 200);
}
