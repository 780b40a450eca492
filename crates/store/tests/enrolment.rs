//! What online enrolment adds: the applicant and municipality of an application, idempotency keys
//! and receipts written with the submission (on the single and on the grouped path), drafts, sessions.

use graduatorie_domain::{CodiceFiscale, OrganisationId};
use graduatorie_store::applications::{self, DeskQuery, IdempotencyKey, RECEIPT_MESSAGE};
use graduatorie_store::batch::SubmissionWriter;
use graduatorie_store::drafts::{self, DraftContent};
use graduatorie_store::orgs::{self, OrganisationKind};
use graduatorie_store::sessions::{self, SessionOwner};
use graduatorie_store::{StoreError, calls, outbox};

use crate::support::*;

const ROSSI: &str = "RSSMRA80A01H501U";
const BIANCHI: &str = "RSSMRA85T10A562S";

fn cf(s: &str) -> CodiceFiscale {
    CodiceFiscale::parse(s).unwrap()
}

fn key(owner: &str, k: &str, body: &str) -> IdempotencyKey {
    IdempotencyKey {
        owner: owner.into(),
        key: k.into(),
        request_sha256: calls::sha256_hex(body),
    }
}

on_both!(
    submissions_remember_owner_key_and_queue_a_receipt,
    |db: &TestDb| {
        let f = fixture(db);
        let mut conn = db.store.conn().unwrap();
        let town = orgs::create_organisation(
            &mut conn,
            OrganisationKind::Municipality,
            "Comune di Sopra",
            None,
            at("2026-09-01T00:00:00Z"),
        )
        .unwrap();
        let mut s = submission(f.call, 1);
        s.owner = Some(cf(ROSSI));
        s.municipality = Some(town);
        s.contact_email = Some("famiglia@example.invalid".into());
        s.idempotency = Some(key("f:1", "k-1", "body one"));
        let t = at("2026-10-15T09:00:00Z");
        let done = applications::submit(&mut conn, &s, t).unwrap();

        let app = applications::get(&mut conn, done.application).unwrap();
        assert_eq!(app.owner.as_deref(), Some(ROSSI));
        assert_eq!(app.municipality, Some(town));
        assert_eq!(app.contact_email.as_deref(), Some("famiglia@example.invalid"));
        let (hash, id) = applications::by_idempotency_key(&mut conn, "f:1", "k-1")
            .unwrap()
            .unwrap();
        assert_eq!(
            (hash.as_str(), id),
            (calls::sha256_hex("body one").as_str(), done.application)
        );
        // Keys are scoped to whoever sent them.
        assert!(
            applications::by_idempotency_key(&mut conn, "f:2", "k-1")
                .unwrap()
                .is_none()
        );
        let mails = outbox::due(&mut conn, t, 10).unwrap();
        assert_eq!(mails.len(), 1);
        assert_eq!(mails[0].kind, RECEIPT_MESSAGE);
        assert_eq!(mails[0].recipient, "famiglia@example.invalid");
        let payload: serde_json::Value = serde_json::from_str(&mails[0].payload).unwrap();
        assert_eq!(payload["application"], done.application.get());

        // The same key again is refused by the database: the API answers from the first.
        let again = applications::submit(&mut conn, &s, t);
        assert!(again.is_err(), "{again:?}");
        assert_eq!(applications::for_ranking(&mut conn, f.call).unwrap().len(), 1);

        // Owners and front desks find their own applications only.
        let mut other = submission(f.call, 2);
        other.owner = Some(cf(BIANCHI));
        applications::submit(&mut conn, &other, t).unwrap();
        let mine = applications::of_owner(&mut conn, &cf(ROSSI)).unwrap();
        assert_eq!(
            mine.iter().map(|a| a.id).collect::<Vec<_>>(),
            vec![done.application]
        );
        let desk = applications::of_municipalities(&mut conn, &[town], &DeskQuery::default(), 50).unwrap();
        assert_eq!(
            desk.iter().map(|a| a.id).collect::<Vec<_>>(),
            vec![done.application]
        );
        let by_protocol = DeskQuery {
            protocol: Some(done.protocol),
            ..DeskQuery::default()
        };
        assert_eq!(
            applications::of_municipalities(&mut conn, &[town], &by_protocol, 50)
                .unwrap()
                .len(),
            1
        );
        let by_owner = DeskQuery {
            owner: Some(cf(BIANCHI)),
            ..DeskQuery::default()
        };
        assert!(
            applications::of_municipalities(&mut conn, &[town], &by_owner, 50)
                .unwrap()
                .is_empty()
        );
        assert!(
            applications::of_municipalities(
                &mut conn,
                &[OrganisationId::new(f.org.get())],
                &DeskQuery::default(),
                50
            )
            .unwrap()
            .is_empty()
        );
    }
);

on_both!(the_grouped_path_writes_keys_and_receipts_too, 4, |db: &TestDb| {
    let f = fixture(db);
    let writer = std::sync::Arc::new(SubmissionWriter::start(db.store.clone(), 64).unwrap());
    let t = at("2026-10-15T09:00:00Z");
    let handles: Vec<_> = (0..8_u32)
        .map(|n| {
            let writer = writer.clone();
            let mut s = submission(f.call, n);
            s.owner = Some(cf(ROSSI));
            s.contact_email = (n % 2 == 0).then(|| format!("f{n}@example.invalid"));
            // Two submissions share a key: exactly one of them is kept.
            let k = if n == 7 { 6 } else { n };
            s.idempotency = Some(key("f:1", &format!("k{k}"), &format!("body {k}")));
            std::thread::spawn(move || writer.submit(s, t))
        })
        .collect();
    let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 7, "{results:?}");
    let mut conn = db.store.conn().unwrap();
    for k in 0..7 {
        let (_, id) = applications::by_idempotency_key(&mut conn, "f:1", &format!("k{k}"))
            .unwrap()
            .unwrap();
        assert!(results.iter().any(|r| matches!(r, Ok(s) if s.application == id)));
    }
    let mails = outbox::due(&mut conn, t, 100).unwrap();
    // n = 0, 2, 4, 6 asked for a receipt; n = 6 or 7 won key k6 (only n = 6 has an address).
    let kept_six = results[6].is_ok();
    assert_eq!(mails.len(), if kept_six { 4 } else { 3 });
    assert!(mails.iter().all(|m| m.kind == RECEIPT_MESSAGE));
});

on_both!(drafts_change_until_submitted, |db: &TestDb| {
    let f = fixture(db);
    let mut conn = db.store.conn().unwrap();
    let t = at("2026-10-10T10:00:00Z");
    let mut content = DraftContent {
        answers: serde_json::json!({ "children": 1 }),
        preferences: vec!["girasole".into()],
        family: None,
        contact_email: None,
        municipality: None,
    };
    let id = drafts::create(&mut conn, f.call, &cf(ROSSI), &content, None, t).unwrap();
    content.answers = serde_json::json!({ "children": 2 });
    drafts::update(&mut conn, id, &content, at("2026-10-10T11:00:00Z")).unwrap();
    let d = drafts::get(&mut conn, id).unwrap();
    assert_eq!(d.content.answers["children"], 2);
    assert_eq!(d.owner, ROSSI);
    assert!(d.updated_at > d.created_at);
    assert_eq!(drafts::of_owner(&mut conn, &cf(ROSSI)).unwrap().len(), 1);
    assert!(drafts::of_owner(&mut conn, &cf(BIANCHI)).unwrap().is_empty());

    let app = applications::submit(&mut conn, &submission(f.call, 1), t).unwrap();
    drafts::mark_submitted(&mut conn, id, app.application).unwrap();
    assert!(matches!(
        drafts::update(&mut conn, id, &content, t),
        Err(StoreError::Conflict(_))
    ));
    assert!(matches!(
        drafts::delete(&mut conn, id),
        Err(StoreError::Conflict(_))
    ));
    assert!(matches!(
        drafts::mark_submitted(&mut conn, id, app.application),
        Err(StoreError::Conflict(_))
    ));
    assert!(drafts::of_owner(&mut conn, &cf(ROSSI)).unwrap().is_empty());

    let other = drafts::create(&mut conn, f.call, &cf(ROSSI), &content, None, t).unwrap();
    drafts::delete(&mut conn, other).unwrap();
    assert!(matches!(
        drafts::get(&mut conn, other),
        Err(StoreError::NotFound(_))
    ));
    content.answers = serde_json::json!([1]);
    assert!(drafts::create(&mut conn, f.call, &cf(ROSSI), &content, None, t).is_err());
});

on_both!(sessions_expire_and_are_revoked, |db: &TestDb| {
    let f = fixture(db);
    let mut conn = db.store.conn().unwrap();
    let t = at("2026-10-10T10:00:00Z");
    let until = at("2026-10-10T18:00:00Z");
    let staff = calls::sha256_hex("staff token");
    let family = calls::sha256_hex("family token");
    sessions::create(&mut conn, &staff, &SessionOwner::User(f.manager), t, until).unwrap();
    sessions::create(&mut conn, &family, &SessionOwner::Family(cf(ROSSI)), t, until).unwrap();
    assert_eq!(
        sessions::find(&mut conn, &staff, t).unwrap(),
        Some(SessionOwner::User(f.manager))
    );
    assert_eq!(
        sessions::find(&mut conn, &family, t).unwrap(),
        Some(SessionOwner::Family(cf(ROSSI)))
    );
    assert_eq!(
        sessions::find(&mut conn, &calls::sha256_hex("other"), t).unwrap(),
        None
    );
    assert_eq!(sessions::find(&mut conn, &staff, until).unwrap(), None, "expired");
    sessions::revoke(&mut conn, &family, t).unwrap();
    sessions::revoke(&mut conn, &family, t).unwrap();
    assert_eq!(sessions::find(&mut conn, &family, t).unwrap(), None, "revoked");
});

on_both!(open_calls_are_listed_until_their_deadline, |db: &TestDb| {
    let f = fixture(db);
    let mut conn = db.store.conn().unwrap();
    let listed = calls::accepting(&mut conn, at("2026-10-15T00:00:00Z")).unwrap();
    assert_eq!(listed.iter().map(|c| c.id).collect::<Vec<_>>(), vec![f.call]);
    assert_eq!(listed[0].service_code, "nidi");
    assert_eq!(listed[0].organisation_name, "Comune di Prova");
    assert!(
        calls::accepting(&mut conn, at("2026-09-15T00:00:00Z"))
            .unwrap()
            .is_empty()
    );
    assert!(
        calls::accepting(&mut conn, at("2027-03-01T00:00:00Z"))
            .unwrap()
            .is_empty()
    );
    calls::add_late_batch(&mut conn, f.call, 1, at("2027-05-01T00:00:00Z")).unwrap();
    assert_eq!(
        calls::accepting(&mut conn, at("2027-04-01T00:00:00Z"))
            .unwrap()
            .len(),
        1
    );
    let names = calls::facility_names(&mut conn, f.call).unwrap();
    assert_eq!(names.len(), 3);
});

on_both!(
    an_amendment_queues_the_receipt_of_its_version_and_may_change_the_address,
    |db: &TestDb| {
        let f = fixture(db);
        let mut conn = db.store.conn().unwrap();
        let mut s = submission(f.call, 1);
        s.contact_email = Some("prima@example.invalid".into());
        let t = at("2026-10-15T09:00:00Z");
        let done = applications::submit(&mut conn, &s, t).unwrap();
        // Amended without a new address: the receipt goes where the first one went.
        s.contact_email = None;
        applications::amend(&mut conn, done.application, &s, at("2026-10-16T09:00:00Z")).unwrap();
        s.contact_email = Some("dopo@example.invalid".into());
        applications::amend(&mut conn, done.application, &s, at("2026-10-17T09:00:00Z")).unwrap();
        let mails = outbox::all(&mut conn).unwrap();
        let sent: Vec<(String, i64)> = mails
            .iter()
            .map(|m| {
                let p: serde_json::Value = serde_json::from_str(&m.payload).unwrap();
                (m.recipient.clone(), p["version"].as_i64().unwrap())
            })
            .collect();
        assert_eq!(
            sent,
            vec![
                ("prima@example.invalid".to_owned(), 1),
                ("prima@example.invalid".to_owned(), 2),
                ("dopo@example.invalid".to_owned(), 3),
            ]
        );
        let app = applications::get(&mut conn, done.application).unwrap();
        assert_eq!(app.contact_email.as_deref(), Some("dopo@example.invalid"));
    }
);

on_both!(
    one_sender_claims_a_message_and_an_abandoned_one_is_never_due_again,
    |db: &TestDb| {
        let mut conn = db.store.conn().unwrap();
        let t = at("2026-10-15T09:00:00Z");
        let lease = at("2026-10-15T09:10:00Z");
        let id = outbox::enqueue(
            &mut conn,
            RECEIPT_MESSAGE,
            "a@example.invalid",
            &serde_json::json!({}),
            t,
        )
        .unwrap();
        assert!(outbox::claim(&mut conn, id, t, lease).unwrap());
        assert!(!outbox::claim(&mut conn, id, t, lease).unwrap(), "taken once");
        assert!(outbox::due(&mut conn, t, 10).unwrap().is_empty(), "leased");
        // A sender that died: after the lease the message is due again.
        assert_eq!(outbox::due(&mut conn, lease, 10).unwrap().len(), 1);
        outbox::mark_sent(&mut conn, id, lease).unwrap();
        assert!(
            !outbox::claim(&mut conn, id, lease, lease).unwrap(),
            "sent messages are not taken"
        );

        let other = outbox::enqueue(
            &mut conn,
            RECEIPT_MESSAGE,
            "b@example.invalid",
            &serde_json::json!({}),
            t,
        )
        .unwrap();
        outbox::abandon(&mut conn, other, "refused 550").unwrap();
        assert!(
            outbox::due(&mut conn, at("2099-01-01T00:00:00Z"), 10)
                .unwrap()
                .is_empty()
        );
        let m = outbox::get(&mut conn, other).unwrap();
        assert_eq!(m.last_error.as_deref(), Some("abandoned: refused 550"));
        assert_eq!(m.sent_at, None);
    }
);
