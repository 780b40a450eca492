//! Logging in: staff passwords, the development login (only when configured, and announced), sessions
//! that end on logout, and bearer JWTs from an OpenID Connect issuer checked against its keys.

use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

use crate::support::*;

on_both!(staff_log_in_with_passwords_and_out_again, |s: &TestServer| {
    world(s);
    let token = staff_login(s, "sportello.a");
    let mut r = client()
        .get(s.url("/api/v1/me"))
        .header("Authorization", format!("Bearer {token}"))
        .call()
        .unwrap();
    assert_eq!(r.status(), 200);
    let me: Value = r.body_mut().read_json().unwrap();
    assert_eq!(me["kind"], "staff");
    assert_eq!(me["roles"][0]["role"], "operator");
    // The session token is random, and only its hash is stored.
    let store = s.store();
    let mut conn = store.conn().unwrap();
    let now = jiff::Timestamp::now();
    let hash = graduatorie_api::auth::token_hash(&token);
    assert!(
        graduatorie_store::sessions::find(&mut conn, &hash, now)
            .unwrap()
            .is_some()
    );
    assert!(
        graduatorie_store::sessions::find(&mut conn, &token, now)
            .unwrap()
            .is_none()
    );
    drop(conn);

    for (login, password) in [("sportello.a", "sbagliata"), ("nessuno", PASSWORD)] {
        let mut r = client()
            .post(s.url("/api/v1/auth/login"))
            .send_json(json!({ "login": login, "password": password }))
            .unwrap();
        assert_eq!(r.status(), 401);
        assert_eq!(r.headers().get("www-authenticate").unwrap(), "Bearer");
        let p: Value = r.body_mut().read_json().unwrap();
        assert_eq!(p["type"], "urn:graduatorie:problem:unauthenticated");
    }
    // The development login is off by default: it does not exist, and no warning header is sent.
    let r = client()
        .post(s.url("/api/v1/auth/dev-login"))
        .send_json(json!({ "codice_fiscale": FAMILY_1 }))
        .unwrap();
    assert_eq!(r.status(), 404);
    assert!(r.headers().get(graduatorie_api::DEV_LOGIN_HEADER).is_none());

    let r = client()
        .post(s.url("/api/v1/auth/logout"))
        .header("Authorization", format!("Bearer {token}"))
        .send_empty()
        .unwrap();
    assert_eq!(r.status(), 204);
    let r = client()
        .get(s.url("/api/v1/me"))
        .header("Authorization", format!("Bearer {token}"))
        .call()
        .unwrap();
    assert_eq!(r.status(), 401);
});

on_both!(
    requests_without_valid_credentials_are_refused,
    dev,
    |s: &TestServer| {
        world(s);
        for header in [
            None,
            Some("Bearer"),
            Some("Bearer nonsense"),
            Some("Basic dXNlcjpwYXNz"),
            Some("Bearer a.b.c"),
        ] {
            let mut req = client().get(s.url("/api/v1/applications"));
            if let Some(h) = header {
                req = req.header("Authorization", h);
            }
            let r = req.call().unwrap();
            assert_eq!(r.status(), 401, "{header:?}");
        }
        let mut r = client()
            .post(s.url("/api/v1/auth/dev-login"))
            .send_json(json!({ "codice_fiscale": "RSSMRA80A01H501X" }))
            .unwrap();
        assert_eq!(r.status(), 422);
        let p: Value = r.body_mut().read_json().unwrap();
        assert_eq!(p["errors"][0]["pointer"], "/codice_fiscale");
        assert!(!p.to_string().contains("RSSMRA80A01H501X"), "{p}");
    }
);

/// An Ed25519 key pair made for this test: the encoding key and its public JWK with a key id.
fn key_pair(kid: &str) -> (EncodingKey, Jwk) {
    let seed = graduatorie_api::auth::random_bytes::<32>().unwrap();
    // PKCS#8 wrapping of an Ed25519 private key: a fixed 16-byte header, then the 32-byte seed.
    let mut der = vec![
        0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
    ];
    der.extend_from_slice(&seed);
    let key = EncodingKey::from_ed_der(&der);
    let mut jwk = Jwk::from_encoding_key(&key, Algorithm::EdDSA).unwrap();
    jwk.common.key_id = Some(kid.to_owned());
    (key, jwk)
}

fn token(key: &EncodingKey, kid: &str, claims: &Value) -> String {
    let mut header = Header::new(Algorithm::EdDSA);
    header.kid = Some(kid.to_owned());
    jsonwebtoken::encode(&header, claims, key).unwrap()
}

fn oidc_server(backend: graduatorie_store::Backend, jwks: &JwkSet) -> (TestServer, std::path::PathBuf) {
    let path = std::env::temp_dir().join(format!(
        "graduatorie-jwks-{}-{}.json",
        std::process::id(),
        graduatorie_api::auth::hex(&graduatorie_api::auth::random_bytes::<8>().unwrap())
    ));
    std::fs::write(&path, serde_json::to_string(jwks).unwrap()).unwrap();
    let server = TestServer::start_with(
        backend,
        &[
            ("GRADUATORIE__AUTH__OIDC__ISSUER", "https://login.example.invalid"),
            ("GRADUATORIE__AUTH__OIDC__AUDIENCE", "graduatorie-test"),
            ("GRADUATORIE__AUTH__OIDC__JWKS_FILE", path.to_str().unwrap()),
        ],
    );
    (server, path)
}

fn oidc_tokens_are_checked_against_the_issuers_keys(backend: graduatorie_store::Backend) {
    let (key, jwk) = key_pair("k1");
    let (stranger, _) = key_pair("k1");
    let (server, path) = oidc_server(backend, &JwkSet { keys: vec![jwk] });
    let s = &server;
    let now = jiff::Timestamp::now().as_second();
    let claims = |iss: &str, aud: &str, exp: i64, cf: &str| json!({ "iss": iss, "aud": aud, "exp": exp, "iat": now, "sub": "x", "fiscal_number": cf });
    let good = claims(
        "https://login.example.invalid",
        "graduatorie-test",
        now + 300,
        &format!("TINIT-{FAMILY_2}"),
    );
    let me = |t: &str| {
        let mut r = client()
            .get(s.url("/api/v1/me"))
            .header("Authorization", format!("Bearer {t}"))
            .call()
            .unwrap();
        let status = r.status().as_u16();
        (status, r.body_mut().read_json::<Value>().unwrap())
    };
    let (status, body) = me(&token(&key, "k1", &good));
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["codice_fiscale"], FAMILY_2);
    assert!(body["pseudonym"].as_str().unwrap().starts_with("f-"));

    let refused = [
        ("another key", token(&stranger, "k1", &good)),
        ("unknown kid", token(&key, "k2", &good)),
        (
            "another issuer",
            token(
                &key,
                "k1",
                &claims(
                    "https://evil.example.invalid",
                    "graduatorie-test",
                    now + 300,
                    FAMILY_2,
                ),
            ),
        ),
        (
            "another audience",
            token(
                &key,
                "k1",
                &claims(
                    "https://login.example.invalid",
                    "someone-else",
                    now + 300,
                    FAMILY_2,
                ),
            ),
        ),
        (
            "expired",
            token(
                &key,
                "k1",
                &claims(
                    "https://login.example.invalid",
                    "graduatorie-test",
                    now - 600,
                    FAMILY_2,
                ),
            ),
        ),
        (
            "bad codice fiscale",
            token(
                &key,
                "k1",
                &claims(
                    "https://login.example.invalid",
                    "graduatorie-test",
                    now + 300,
                    "RSSMRA80A01H501X",
                ),
            ),
        ),
        (
            "HS256 signed with the public key",
            jsonwebtoken::encode(
                &Header::new(Algorithm::HS256),
                &good,
                &EncodingKey::from_secret(b"k1"),
            )
            .unwrap(),
        ),
    ];
    for (what, t) in refused {
        let (status, body) = me(&t);
        assert_eq!(status, 401, "{what}: {body}");
    }
    drop(server);
    let _ = std::fs::remove_file(path);
}

#[test]
fn oidc_tokens_are_checked_against_the_issuers_keys_sqlite() {
    oidc_tokens_are_checked_against_the_issuers_keys(graduatorie_store::Backend::Sqlite);
}

#[test]
fn oidc_tokens_are_checked_against_the_issuers_keys_postgres() {
    oidc_tokens_are_checked_against_the_issuers_keys(graduatorie_store::Backend::Postgres);
}

/// A tiny HTTP server publishing a JWKS document (or failing with a status), counting requests.
struct JwksServer {
    addr: std::net::SocketAddr,
    answer: std::sync::Arc<std::sync::Mutex<(u16, String)>>,
    hits: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl JwksServer {
    fn start(status: u16, jwks: &JwkSet) -> Self {
        use std::io::{BufRead, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let answer = std::sync::Arc::new(std::sync::Mutex::new((
            status,
            serde_json::to_string(jwks).unwrap(),
        )));
        let hits = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let (a, h) = (answer.clone(), hits.clone());
        std::thread::spawn(move || {
            for mut stream in listener.incoming().flatten() {
                let mut reader = std::io::BufReader::new(stream.try_clone().unwrap());
                let mut line = String::new();
                while reader.read_line(&mut line).is_ok_and(|n| n > 0) && line != "\r\n" {
                    line.clear();
                }
                h.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let (status, body) = a.lock().unwrap().clone();
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        });
        Self { addr, answer, hits }
    }

    fn set(&self, status: u16, jwks: &JwkSet) {
        *self.answer.lock().unwrap() = (status, serde_json::to_string(jwks).unwrap());
    }

    fn url(&self) -> String {
        format!("http://{}/.well-known/jwks.json", self.addr)
    }
}

fn jwks_url_server(url: &str) -> TestServer {
    TestServer::start_with(
        graduatorie_store::Backend::Sqlite,
        &[
            ("GRADUATORIE__AUTH__OIDC__ISSUER", "https://login.example.invalid"),
            ("GRADUATORIE__AUTH__OIDC__AUDIENCE", "graduatorie-test"),
            ("GRADUATORIE__AUTH__OIDC__JWKS_URL", url),
        ],
    )
}

fn good_claims() -> Value {
    let now = jiff::Timestamp::now().as_second();
    json!({ "iss": "https://login.example.invalid", "aud": "graduatorie-test", "exp": now + 300,
            "iat": now, "sub": "x", "fiscal_number": FAMILY_1 })
}

fn me_status(s: &TestServer, token: &str) -> u16 {
    client()
        .get(s.url("/api/v1/me"))
        .header("Authorization", format!("Bearer {token}"))
        .call()
        .unwrap()
        .status()
        .as_u16()
}

/// Asks until the answer is `want` (at most 15 s); returns the statuses seen.
fn until_status(s: &TestServer, token: &str, want: u16) -> Vec<u16> {
    let until = std::time::Instant::now() + std::time::Duration::from_secs(15);
    let mut seen = Vec::new();
    loop {
        let status = me_status(s, token);
        seen.push(status);
        if status == want || std::time::Instant::now() > until {
            return seen;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}

#[test]
fn oidc_keys_come_from_the_issuers_jwks_url_and_follow_a_rotation() {
    let (k1, jwk1) = key_pair("k1");
    let (k2, jwk2) = key_pair("k2");
    let issuer = JwksServer::start(
        200,
        &JwkSet {
            keys: vec![jwk1.clone()],
        },
    );
    let s = jwks_url_server(&issuer.url());
    assert_eq!(
        me_status(&s, &token(&k1, "k1", &good_claims())),
        200,
        "keys fetched at start"
    );
    // The issuer rotates: a token signed by the new key is refused once, prompts a fetch, and is
    // accepted as soon as the new keys are in.
    issuer.set(
        200,
        &JwkSet {
            keys: vec![jwk1, jwk2],
        },
    );
    let seen = until_status(&s, &token(&k2, "k2", &good_claims()), 200);
    assert_eq!(seen.first(), Some(&401), "{seen:?}");
    assert_eq!(seen.last(), Some(&200), "{seen:?}");
    assert!(issuer.hits.load(std::sync::atomic::Ordering::SeqCst) >= 2);
    // A stream of tokens with unknown key ids does not become a stream of fetches.
    let before = issuer.hits.load(std::sync::atomic::Ordering::SeqCst);
    let (k3, _) = key_pair("k3");
    for _ in 0..20 {
        assert_eq!(me_status(&s, &token(&k3, "k3", &good_claims())), 401);
    }
    std::thread::sleep(std::time::Duration::from_millis(300));
    let after = issuer.hits.load(std::sync::atomic::Ordering::SeqCst);
    assert!(after - before <= 1, "{before} → {after}");
}

#[test]
fn without_the_issuers_keys_tokens_get_503_until_they_arrive() {
    let (k1, jwk1) = key_pair("k1");
    let jwks = JwkSet { keys: vec![jwk1] };
    let issuer = JwksServer::start(500, &jwks);
    // The service starts all the same: staff and everything else work meanwhile.
    let s = jwks_url_server(&issuer.url());
    let t = token(&k1, "k1", &good_claims());
    let mut r = client()
        .get(s.url("/api/v1/me"))
        .header("Authorization", format!("Bearer {t}"))
        .call()
        .unwrap();
    assert_eq!(r.status(), 503);
    assert!(r.headers().get("retry-after").is_some());
    let p: Value = r.body_mut().read_json().unwrap();
    assert_eq!(p["type"], "urn:graduatorie:problem:unavailable");
    issuer.set(200, &jwks);
    let seen = until_status(&s, &t, 200);
    assert_eq!(seen.last(), Some(&200), "{seen:?}");
}

#[test]
fn wrong_key_sources_stop_the_start_naming_the_setting() {
    let db = graduatorie_store::testing::TestDatabase::new(graduatorie_store::Backend::Sqlite, "ga").unwrap();
    let cases: [(&[(&str, &str)], &str); 4] = [
        (&[], "auth.oidc.jwks_url: required"),
        (
            &[
                (
                    "GRADUATORIE__AUTH__OIDC__JWKS_URL",
                    "https://login.example.invalid/jwks",
                ),
                ("GRADUATORIE__AUTH__OIDC__JWKS_FILE", "/tmp/x.json"),
            ],
            "set one, not both",
        ),
        (
            &[(
                "GRADUATORIE__AUTH__OIDC__JWKS_URL",
                "http://login.example.invalid/jwks",
            )],
            "must be an https://",
        ),
        (
            &[
                (
                    "GRADUATORIE__AUTH__OIDC__JWKS_URL",
                    "https://login.example.invalid/jwks",
                ),
                ("GRADUATORIE__AUTH__OIDC__JWKS_REFRESH_MINUTES", "0"),
            ],
            "auth.oidc.jwks_refresh_minutes",
        ),
    ];
    for (extra, expected) in cases {
        let mut env = vec![
            ("GRADUATORIE__AUTH__OIDC__ISSUER", "https://login.example.invalid"),
            ("GRADUATORIE__AUTH__OIDC__AUDIENCE", "graduatorie-test"),
        ];
        env.extend_from_slice(extra);
        let settings = settings_with(&db.url, &env);
        let e = graduatorie_api::auth::Auth::new(&settings.auth)
            .unwrap_err()
            .to_string();
        assert!(e.contains(expected), "{extra:?}: {e}");
    }
}
