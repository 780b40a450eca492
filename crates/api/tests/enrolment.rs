//! A family's way through the service: log in, find the call, read its form, submit (with an
//! idempotency key), read back, amend, withdraw; and what is stored on the way.

use graduatorie_store::{applications, outbox};
use serde_json::{Value, json};

use crate::support::*;

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

on_both!(a_family_submits_amends_and_withdraws, dev, |s: &TestServer| {
    let w = world(s);
    let token = dev_login(s, FAMILY_1);
    let auth = bearer(&token);

    let mut r = client()
        .get(s.url("/api/v1/me"))
        .header("Authorization", &auth)
        .call()
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers().get("cache-control").unwrap(), "no-store");
    assert!(r.headers().get(graduatorie_api::DEV_LOGIN_HEADER).is_some());
    let me: Value = r.body_mut().read_json().unwrap();
    assert_eq!(me["kind"], "family");
    assert_eq!(me["codice_fiscale"], FAMILY_1);

    // Open calls and the form need no login.
    let mut r = client().get(s.url("/api/v1/calls")).call().unwrap();
    assert_eq!(r.status(), 200);
    let calls: Value = r.body_mut().read_json().unwrap();
    let ids: Vec<i64> = calls["calls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_i64().unwrap())
        .collect();
    assert!(
        ids.contains(&w.call.get()) && ids.contains(&w.call_b.get()),
        "{calls}"
    );
    let mut r = client()
        .get(s.url(&format!("/api/v1/calls/{}/form", w.call)))
        .call()
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers().get("cache-control").unwrap(), "public, max-age=60");
    let form: Value = r.body_mut().read_json().unwrap();
    let fields: Vec<&str> = form["form"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert!(
        fields.contains(&"child_birth_date") && fields.contains(&"parents"),
        "{fields:?}"
    );
    assert_eq!(form["facilities"].as_array().unwrap().len(), 2);
    assert_eq!(form["facilities"][0]["name"], "Nido arcobaleno");
    let towns: Vec<i64> = form["municipalities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_i64().unwrap())
        .collect();
    assert_eq!(towns, vec![w.town_a.get(), w.town_b.get()]);

    // Submit, with an idempotency key.
    let submit = s.url(&format!("/api/v1/calls/{}/applications", w.call));
    let body = application(w.town_a);
    let mut r = client()
        .post(&submit)
        .header("Authorization", &auth)
        .header("Idempotency-Key", "domanda-1")
        .send_json(&body)
        .unwrap();
    let text = r.body_mut().read_to_string().unwrap();
    assert_eq!(r.status(), 201, "{text}");
    let receipt: Value = serde_json::from_str(&text).unwrap();
    let id = receipt["application"].as_i64().unwrap();
    assert_eq!(
        r.headers().get("location").unwrap(),
        &format!("/api/v1/applications/{id}")
    );
    let year = graduatorie_store::time::rome_year(jiff::Timestamp::now()).unwrap();
    assert_eq!(receipt["protocol"], format!("{year}/000001"));
    assert_eq!(receipt["version"], 1);
    assert_eq!(receipt["status"], "submitted");
    assert_eq!(receipt["receipt_sha256"].as_str().unwrap().len(), 64);

    // The same key and body: the same receipt, nothing new stored.
    let mut r = client()
        .post(&submit)
        .header("Authorization", &auth)
        .header("Idempotency-Key", "domanda-1")
        .send_json(&body)
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers().get("idempotent-replayed").unwrap(), "true");
    let again: Value = r.body_mut().read_json().unwrap();
    assert_eq!(again, receipt);
    // The same key, another body: refused.
    let mut other = body.clone();
    other["preferences"] = json!(["arcobaleno"]);
    let mut r = client()
        .post(&submit)
        .header("Authorization", &auth)
        .header("Idempotency-Key", "domanda-1")
        .send_json(&other)
        .unwrap();
    assert_eq!(r.status(), 422);
    let p: Value = r.body_mut().read_json().unwrap();
    assert_eq!(p["type"], "urn:graduatorie:problem:idempotency-key-reused");
    let store = s.store();
    let mut conn = store.conn().unwrap();
    assert_eq!(applications::for_ranking(&mut conn, w.call).unwrap().len(), 1);

    // What was stored: the applicant, the town, the answers as sent, a receipt mail queued.
    let stored = applications::get(&mut conn, graduatorie_domain::ApplicationId::new(id)).unwrap();
    assert_eq!(stored.owner.as_deref(), Some(FAMILY_1));
    assert_eq!(stored.municipality, Some(w.town_a));
    assert_eq!(stored.answers, body["inputs"]);
    assert_eq!(stored.preferences, vec!["girasole", "arcobaleno"]);
    let mails = outbox::due(&mut conn, jiff::Timestamp::now(), 10).unwrap();
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].recipient, "famiglia@example.invalid");

    // My applications, and one in full.
    let mut r = client()
        .get(s.url("/api/v1/applications"))
        .header("Authorization", &auth)
        .call()
        .unwrap();
    assert_eq!(r.status(), 200);
    let mine: Value = r.body_mut().read_json().unwrap();
    assert_eq!(mine["applications"].as_array().unwrap().len(), 1);
    assert_eq!(mine["applications"][0]["protocol"], receipt["protocol"]);
    let one = s.url(&format!("/api/v1/applications/{id}"));
    let mut r = client().get(&one).header("Authorization", &auth).call().unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers().get("cache-control").unwrap(), "no-store");
    let full: Value = r.body_mut().read_json().unwrap();
    assert_eq!(full["inputs"], body["inputs"]);
    assert_eq!(full["history"][0]["status"], "submitted");

    // Amend: a new version, the same protocol number.
    let mut changed = body.clone();
    changed["preferences"] = json!(["arcobaleno", "girasole"]);
    changed.as_object_mut().unwrap().remove("municipality");
    let mut r = client()
        .put(&one)
        .header("Authorization", &auth)
        .send_json(&changed)
        .unwrap();
    let text = r.body_mut().read_to_string().unwrap();
    assert_eq!(r.status(), 200, "{text}");
    let amended: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(amended["version"], 2);
    assert_eq!(amended["protocol"], receipt["protocol"]);
    assert_ne!(amended["receipt_sha256"], receipt["receipt_sha256"]);
    let mut r = client().get(&one).header("Authorization", &auth).call().unwrap();
    let full: Value = r.body_mut().read_json().unwrap();
    assert_eq!(full["preferences"], json!(["arcobaleno", "girasole"]));
    assert_eq!(full["versions"].as_array().unwrap().len(), 2);

    // Withdraw; then nothing more can change.
    let mut r = client()
        .post(s.url(&format!("/api/v1/applications/{id}/withdraw")))
        .header("Authorization", &auth)
        .send_empty()
        .unwrap();
    assert_eq!(r.status(), 200);
    let w_body: Value = r.body_mut().read_json().unwrap();
    assert_eq!(w_body["status"], "withdrawn");
    let r = client()
        .put(&one)
        .header("Authorization", &auth)
        .send_json(&changed)
        .unwrap();
    assert_eq!(r.status(), 409);
    assert!(applications::for_ranking(&mut conn, w.call).unwrap().is_empty());
});

on_both!(drafts_are_kept_until_submitted, dev, |s: &TestServer| {
    let w = world(s);
    let auth = bearer(&dev_login(s, FAMILY_1));
    let mut partial = application(w.town_a);
    partial["inputs"].as_object_mut().unwrap().remove("parents");
    let mut r = client()
        .post(s.url(&format!("/api/v1/calls/{}/drafts", w.call)))
        .header("Authorization", &auth)
        .send_json(&partial)
        .unwrap();
    assert_eq!(r.status(), 201);
    let draft: Value = r.body_mut().read_json().unwrap();
    let url = s.url(&format!("/api/v1/drafts/{}", draft["draft"]));
    // An incomplete draft is saved as it is, and refused on submission with the missing field.
    let mut r = client()
        .post(format!("{url}/submit"))
        .header("Authorization", &auth)
        .send_empty()
        .unwrap();
    assert_eq!(r.status(), 422);
    let p: Value = r.body_mut().read_json().unwrap();
    let pointers: Vec<&str> = p["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["pointer"].as_str().unwrap())
        .collect();
    assert!(pointers.contains(&"/inputs/parents"), "{p}");
    // A body is an object: an array (which serde would read as the fields in order, and `[]` as a
    // draft with nothing in it) is refused and the draft left as it was (found by schemathesis).
    for body in [json!([]), json!([{}, []])] {
        let r = client()
            .put(&url)
            .header("Authorization", &auth)
            .send_json(&body)
            .unwrap();
        assert_eq!(r.status(), 400, "{body}");
    }
    let mut r = client().get(&url).header("Authorization", &auth).call().unwrap();
    let kept: Value = r.body_mut().read_json().unwrap();
    assert_eq!(kept["municipality"], partial["municipality"]);
    let r = client()
        .put(&url)
        .header("Authorization", &auth)
        .send_json(application(w.town_a))
        .unwrap();
    assert_eq!(r.status(), 200);
    let mut r = client()
        .get(s.url("/api/v1/drafts"))
        .header("Authorization", &auth)
        .call()
        .unwrap();
    let list: Value = r.body_mut().read_json().unwrap();
    assert_eq!(list["drafts"].as_array().unwrap().len(), 1);
    let mut r = client()
        .post(format!("{url}/submit"))
        .header("Authorization", &auth)
        .header("Idempotency-Key", "bozza-1")
        .send_empty()
        .unwrap();
    let text = r.body_mut().read_to_string().unwrap();
    assert_eq!(r.status(), 201, "{text}");
    // A retry with the same key gets the same receipt; a new key does not make a second application.
    let mut r = client()
        .post(format!("{url}/submit"))
        .header("Authorization", &auth)
        .header("Idempotency-Key", "bozza-1")
        .send_empty()
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.body_mut().read_to_string().unwrap(), text);
    let r = client()
        .post(format!("{url}/submit"))
        .header("Authorization", &auth)
        .header("Idempotency-Key", "bozza-2")
        .send_empty()
        .unwrap();
    assert_eq!(r.status(), 409);
    let mut r = client().get(&url).header("Authorization", &auth).call().unwrap();
    let d: Value = r.body_mut().read_json().unwrap();
    assert_eq!(
        d["submitted_as"],
        serde_json::from_str::<Value>(&text).unwrap()["application"]
    );
    // Submitted once: not again, not changed, not deleted; no longer listed.
    assert_eq!(
        client()
            .post(format!("{url}/submit"))
            .header("Authorization", &auth)
            .send_empty()
            .unwrap()
            .status(),
        409
    );
    assert_eq!(
        client()
            .put(&url)
            .header("Authorization", &auth)
            .send_json(&partial)
            .unwrap()
            .status(),
        409
    );
    assert_eq!(
        client()
            .delete(&url)
            .header("Authorization", &auth)
            .call()
            .unwrap()
            .status(),
        409
    );
    let mut r = client()
        .get(s.url("/api/v1/drafts"))
        .header("Authorization", &auth)
        .call()
        .unwrap();
    let list: Value = r.body_mut().read_json().unwrap();
    assert!(list["drafts"].as_array().unwrap().is_empty());
});

/// While another writer holds the database (here SQLite's write lock, longer than its busy timeout),
/// a submission is answered 503 with `Retry-After`, and nothing is stored.
#[test]
fn a_busy_database_gives_503_and_stores_nothing() {
    let s = TestServer::start_with(
        graduatorie_store::Backend::Sqlite,
        &[("GRADUATORIE__AUTH__DEV_LOGIN", "true")],
    );
    let w = world(&s);
    let auth = format!("Bearer {}", dev_login(&s, FAMILY_1));
    let store = s.store();
    let (locked, wait_locked) = std::sync::mpsc::channel();
    let (release, wait_release) = std::sync::mpsc::channel::<()>();
    let holder = {
        let store = store.clone();
        std::thread::spawn(move || {
            let mut conn = store.conn().unwrap();
            graduatorie_store::write_tx(&mut conn, |_| {
                locked.send(()).unwrap();
                let _ = wait_release.recv();
                Ok(())
            })
            .unwrap();
        })
    };
    wait_locked.recv().unwrap();
    let mut r = client()
        .post(s.url(&format!("/api/v1/calls/{}/applications", w.call)))
        .header("Authorization", &auth)
        .send_json(application(w.town_a))
        .unwrap();
    let status = r.status().as_u16();
    let retry = r
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_owned());
    let p: Value = r.body_mut().read_json().unwrap();
    release.send(()).unwrap();
    holder.join().unwrap();
    assert_eq!(status, 503, "{p}");
    assert_eq!(retry.as_deref(), Some("5"));
    assert_eq!(p["type"], "urn:graduatorie:problem:unavailable");
    let mut conn = store.conn().unwrap();
    assert!(applications::for_ranking(&mut conn, w.call).unwrap().is_empty());
    // Once the database is free, the same submission goes through.
    let r = client()
        .post(s.url(&format!("/api/v1/calls/{}/applications", w.call)))
        .header("Authorization", &auth)
        .send_json(application(w.town_a))
        .unwrap();
    assert_eq!(r.status(), 201);
}

on_both!(
    a_draft_submitted_twice_at_once_without_a_key_makes_one_application,
    dev,
    |s: &TestServer| {
        let w = world(s);
        let auth = bearer(&dev_login(s, FAMILY_1));
        let mut r = client()
            .post(s.url(&format!("/api/v1/calls/{}/drafts", w.call)))
            .header("Authorization", &auth)
            .send_json(application(w.town_a))
            .unwrap();
        assert_eq!(r.status(), 201);
        let draft: Value = r.body_mut().read_json().unwrap();
        let url = s.url(&format!("/api/v1/drafts/{}/submit", draft["draft"]));
        // Two clicks: two requests released together.
        let barrier = std::sync::Arc::new(std::sync::Barrier::new(2));
        let answers: Vec<(u16, Value)> = (0..2)
            .map(|_| {
                let (url, auth, barrier) = (url.clone(), auth.clone(), barrier.clone());
                std::thread::spawn(move || {
                    barrier.wait();
                    let mut r = client()
                        .post(&url)
                        .header("Authorization", &auth)
                        .send_empty()
                        .unwrap();
                    let status = r.status().as_u16();
                    (status, r.body_mut().read_json::<Value>().unwrap())
                })
            })
            .collect::<Vec<_>>()
            .into_iter()
            .map(|t| t.join().unwrap())
            .collect();
        let store = s.store();
        let stored =
            graduatorie_store::applications::for_ranking(&mut store.conn().unwrap(), w.call).unwrap();
        assert_eq!(stored.len(), 1, "one application: {answers:?}");
        let protocol = stored[0].protocol.to_string();
        for (status, body) in &answers {
            // The one that lost the race either waited and got the receipt (200/201), or came
            // after the draft was marked submitted (409): never a second application.
            assert!([200, 201, 409].contains(status), "{status}: {body}");
            if *status != 409 {
                assert_eq!(body["protocol"], protocol.as_str(), "{body}");
            }
        }
        assert!(answers.iter().any(|(s, _)| *s == 201), "{answers:?}");
    }
);
