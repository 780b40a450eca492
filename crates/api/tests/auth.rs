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
