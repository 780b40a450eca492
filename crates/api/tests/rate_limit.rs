//! Rate limiting per client: 429 with `Retry-After` as a problem, `/status` never limited, the login's
//! own slower allowance, and `X-Forwarded-For` believed only from a trusted proxy.

use graduatorie_store::Backend;
use serde_json::Value;

use crate::support::{TestServer, client};

const TIGHT: [(&str, &str); 4] = [
    ("GRADUATORIE__RATE_LIMIT__PER_SECOND", "1"),
    ("GRADUATORIE__RATE_LIMIT__BURST", "5"),
    ("GRADUATORIE__RATE_LIMIT__LOGIN_PER_MINUTE", "1"),
    ("GRADUATORIE__RATE_LIMIT__LOGIN_BURST", "2"),
];

fn calls(s: &TestServer, forwarded_for: Option<&str>) -> u16 {
    let mut req = client().get(s.url("/api/v1/calls"));
    if let Some(xff) = forwarded_for {
        req = req.header("X-Forwarded-For", xff);
    }
    req.call().unwrap().status().as_u16()
}

#[test]
fn a_client_over_its_allowance_gets_429_with_retry_after_and_status_stays_open() {
    let s = TestServer::start_with(Backend::Sqlite, &TIGHT);
    // A burst of 5 at 1 per second: the 5 pass, the 6th and 7th sent at once are refused (the
    // refill of one per second cannot fit two).
    let statuses: Vec<u16> = (0..7).map(|_| calls(&s, None)).collect();
    assert_eq!(&statuses[..5], &[200; 5], "{statuses:?}");
    assert_eq!(statuses[6], 429, "{statuses:?}");
    let mut r = client()
        .get(s.url("/api/v1/calls"))
        .header("Accept-Language", "en")
        .call()
        .unwrap();
    assert_eq!(r.status(), 429);
    let wait: u64 = r
        .headers()
        .get("retry-after")
        .unwrap()
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(wait, 1, "one request per second comes back within a second");
    assert_eq!(
        r.headers().get("content-type").unwrap(),
        "application/problem+json"
    );
    let body: Value = r.body_mut().read_json().unwrap();
    assert_eq!(body["type"], "urn:graduatorie:problem:too-many-requests");
    assert!(
        body["detail"].as_str().unwrap().contains("retry in 1 seconds"),
        "{body}"
    );
    // Health checks are never limited.
    for _ in 0..20 {
        assert_eq!(client().get(s.url("/status")).call().unwrap().status(), 200);
    }
    // Waiting as told is enough.
    std::thread::sleep(std::time::Duration::from_millis(1_100));
    assert_eq!(calls(&s, None), 200);
}

#[test]
fn login_attempts_have_their_own_slower_allowance() {
    let s = TestServer::start_with(Backend::Sqlite, &TIGHT);
    let login = |password: &str| {
        client()
            .post(s.url("/api/v1/auth/login"))
            .send_json(serde_json::json!({ "login": "nobody", "password": password }))
            .unwrap()
            .status()
            .as_u16()
    };
    assert_eq!(login("a"), 401);
    assert_eq!(login("b"), 401);
    let mut r = client()
        .post(s.url("/api/v1/auth/login"))
        .send_json(serde_json::json!({ "login": "nobody", "password": "c" }))
        .unwrap();
    assert_eq!(r.status(), 429, "the third guess within a minute is refused");
    let wait: u64 = r
        .headers()
        .get("retry-after")
        .unwrap()
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
    let _: Value = r.body_mut().read_json().unwrap();
    // Reading the calls is counted apart from logging in.
    assert_eq!(calls(&s, None), 200);
}

#[test]
fn forwarded_for_is_believed_only_from_a_trusted_proxy() {
    // Untrusted: a client cannot escape its limit by writing another address in the header.
    let s = TestServer::start_with(Backend::Sqlite, &TIGHT);
    let statuses: Vec<u16> = (0..7)
        .map(|i| calls(&s, Some(&format!("198.51.100.{i}"))))
        .collect();
    assert_eq!(statuses[6], 429, "{statuses:?}");
    drop(s);

    // Behind a trusted proxy (the tests' connections come from 127.0.0.1), each forwarded client
    // has its own allowance.
    let mut settings = TIGHT.to_vec();
    settings.push(("GRADUATORIE__RATE_LIMIT__TRUSTED_PROXIES", "127.0.0.1"));
    let s = TestServer::start_with(Backend::Sqlite, &settings);
    let statuses: Vec<u16> = (0..7)
        .map(|i| calls(&s, Some(&format!("198.51.100.{i}"))))
        .collect();
    assert_eq!(statuses, vec![200; 7]);
    let statuses: Vec<u16> = (0..7).map(|_| calls(&s, Some("203.0.113.5"))).collect();
    assert_eq!(statuses[6], 429, "{statuses:?}");
}
