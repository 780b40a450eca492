//! Submitting, amending, withdrawing, and reading back applications.

use graduatorie_domain::FacilityCode;
use graduatorie_store::applications;
use graduatorie_store::calls::{self, CallStatus};
use graduatorie_store::{StoreError, audit, protocol};

use crate::support::{TestDb, at, fixture, on_both, submission};

on_both!(
    submission_registers_protocol_version_history_and_audit,
    |db: &TestDb| {
        let f = fixture(db);
        let mut conn = db.store.conn().unwrap();
        let t = at("2026-10-15T09:30:00.123456Z");
        let s = applications::submit(&mut conn, &submission(f.call, 1), t).unwrap();
        assert_eq!(s.protocol.to_string(), "2026/000001");
        assert_eq!((s.batch, s.version), (0, 1));
        let app = applications::get(&mut conn, s.application).unwrap();
        assert_eq!(app.protocol, s.protocol);
        assert_eq!(app.status, "submitted");
        assert_eq!(
            app.submitted_at, t,
            "microseconds are kept exactly on both backends"
        );
        assert_eq!(app.answers["isee"], "10001.00");
        assert_eq!(app.preferences, vec!["girasole", "arcobaleno"]);
        let entry = protocol::find(&mut conn, f.org, s.protocol).unwrap().unwrap();
        assert_eq!(entry.subject, "application");
        assert_eq!(entry.application_id, Some(s.application.get()));
        let history = applications::history(&mut conn, s.application).unwrap();
        assert_eq!(history, vec![("submitted".to_owned(), t)]);
        let trail = audit::for_subject(&mut conn, &format!("application:{}", s.application)).unwrap();
        assert_eq!(trail.len(), 1);
        assert_eq!(trail[0].action, "application.submit");
        assert_eq!(trail[0].actor, "family");
        // No personal data in the audit trail: the answers are not copied there.
        assert!(!trail[0].detail.contains("10001"), "{}", trail[0].detail);
    }
);

on_both!(amendments_keep_every_version_until_the_deadline, |db: &TestDb| {
    let f = fixture(db);
    let mut conn = db.store.conn().unwrap();
    let s = applications::submit(&mut conn, &submission(f.call, 1), at("2026-10-15T09:00:00Z")).unwrap();
    let mut changed = submission(f.call, 2);
    changed.preferences.reverse();
    changed.by = Some(f.manager);
    let a = applications::amend(&mut conn, s.application, &changed, at("2026-11-02T09:00:00Z")).unwrap();
    assert_eq!(a.version, 2);
    assert_eq!(
        a.protocol, s.protocol,
        "the application keeps the protocol number of its submission"
    );
    let app = applications::get(&mut conn, s.application).unwrap();
    assert_eq!(app.version, 2);
    assert_eq!(app.preferences, vec!["arcobaleno", "girasole"]);
    let versions = applications::versions(&mut conn, s.application).unwrap();
    assert_eq!(versions.len(), 2);
    assert_eq!(
        versions[0].1["isee"], "10001.00",
        "the first version is kept as submitted"
    );
    assert_eq!(versions[1].1["isee"], "10002.00");
    // The amendment is itself registered: 2026/000002.
    assert_eq!(protocol::numbers(&mut conn, f.org, 2026).unwrap(), vec![1, 2]);
    // After the deadline (1 March 2027) nothing changes.
    let late = applications::amend(
        &mut conn,
        s.application,
        &submission(f.call, 3),
        at("2027-03-01T00:00:00Z"),
    );
    assert!(
        matches!(late, Err(StoreError::Conflict(ref m)) if m.contains("deadline")),
        "{late:?}"
    );
    assert_eq!(applications::versions(&mut conn, s.application).unwrap().len(), 2);
});

on_both!(closed_calls_and_bad_submissions_change_nothing, |db: &TestDb| {
    let f = fixture(db);
    let mut conn = db.store.conn().unwrap();
    let before = applications::submit(&mut conn, &submission(f.call, 1), at("2026-09-15T00:00:00Z"));
    assert!(
        matches!(before, Err(StoreError::Conflict(ref m)) if m.contains("not open yet")),
        "{before:?}"
    );
    let mut twice = submission(f.call, 1);
    twice.preferences.push(FacilityCode::parse("girasole").unwrap());
    let dup = applications::submit(&mut conn, &twice, at("2026-10-15T00:00:00Z"));
    assert!(
        matches!(dup, Err(StoreError::Conflict(ref m)) if m.contains("girasole")),
        "{dup:?}"
    );
    let mut not_object = submission(f.call, 1);
    not_object.answers = serde_json::json!([1, 2]);
    assert!(applications::submit(&mut conn, &not_object, at("2026-10-15T00:00:00Z")).is_err());
    let after = applications::submit(&mut conn, &submission(f.call, 1), at("2027-03-01T00:00:00Z"));
    assert!(
        matches!(after, Err(StoreError::Conflict(ref m)) if m.contains("closed")),
        "{after:?}"
    );
    // No number was consumed by the refusals.
    let ok = applications::submit(&mut conn, &submission(f.call, 1), at("2026-10-15T00:00:00Z")).unwrap();
    assert_eq!(ok.protocol.number(), 1);
    assert_eq!(audit::count(&mut conn).unwrap(), 1);
});

on_both!(
    late_batches_accept_applications_after_the_deadline,
    |db: &TestDb| {
        let f = fixture(db);
        let mut conn = db.store.conn().unwrap();
        calls::add_late_batch(&mut conn, f.call, 1, at("2027-05-01T00:00:00Z")).unwrap();
        let on_time =
            applications::submit(&mut conn, &submission(f.call, 1), at("2026-12-15T10:00:00Z")).unwrap();
        calls::set_status(&mut conn, f.call, CallStatus::Closed).unwrap();
        let late =
            applications::submit(&mut conn, &submission(f.call, 2), at("2027-04-01T10:00:00Z")).unwrap();
        assert_eq!((on_time.batch, late.batch), (0, 1));
        assert_eq!(on_time.protocol.to_string(), "2026/000001");
        assert_eq!(
            late.protocol.to_string(),
            "2027/000001",
            "a new calendar year, a new register year"
        );
        let too_late = applications::submit(&mut conn, &submission(f.call, 3), at("2027-05-01T00:00:00Z"));
        assert!(too_late.is_err());
    }
);

on_both!(
    ranking_reads_current_versions_of_active_applications_in_protocol_order,
    |db: &TestDb| {
        let f = fixture(db);
        let mut conn = db.store.conn().unwrap();
        let mut ids = Vec::new();
        for n in 0..5 {
            let t = at("2026-10-15T09:00:00Z")
                .checked_add(jiff::SignedDuration::from_secs(i64::from(n)))
                .unwrap();
            ids.push(
                applications::submit(&mut conn, &submission(f.call, n), t)
                    .unwrap()
                    .application,
            );
        }
        applications::withdraw(&mut conn, ids[1], None, "moved away", at("2026-10-20T00:00:00Z")).unwrap();
        let again = applications::withdraw(&mut conn, ids[1], None, "twice", at("2026-10-20T00:00:00Z"));
        assert!(again.is_err());
        applications::amend(
            &mut conn,
            ids[3],
            &submission(f.call, 99),
            at("2026-10-21T00:00:00Z"),
        )
        .unwrap();
        let list = applications::for_ranking(&mut conn, f.call).unwrap();
        let got: Vec<_> = list
            .iter()
            .map(|a| (a.id, a.protocol.number(), a.answers["isee"].clone()))
            .collect();
        assert_eq!(
            got,
            vec![
                (ids[0], 1, "10000.00".into()),
                (ids[2], 3, "10002.00".into()),
                (ids[3], 4, "10099.00".into()),
                (ids[4], 5, "10004.00".into()),
            ]
        );
    }
);

on_both!(rules_are_frozen_once_the_call_opens, |db: &TestDb| {
    use diesel::prelude::*;
    use graduatorie_store::schema::calls as c;
    let f = fixture(db);
    let mut conn = db.store.conn().unwrap();
    let r = diesel::update(c::table.find(f.call.get()))
        .set(c::rules_toml.eq("changed"))
        .execute(&mut *conn);
    assert!(matches!(r.map_err(StoreError::from), Err(StoreError::Refused(ref m)) if m.contains("frozen")));
    let call = calls::get(&mut conn, f.call).unwrap();
    assert_eq!(call.rules_toml, crate::support::RULES);
    assert_eq!(call.rules_hash, calls::sha256_hex(crate::support::RULES));
    // Status moves forward only.
    assert!(calls::set_status(&mut conn, f.call, CallStatus::Draft).is_err());
});
