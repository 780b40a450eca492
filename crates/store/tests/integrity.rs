//! Constraints in the database itself: foreign keys, CHECKs on statuses, an append-only audit log.

use diesel::prelude::*;
use graduatorie_store::schema::{applications as a, audit_log as al, calls as c};
use graduatorie_store::{StoreError, applications, audit};

use crate::support::{TestDb, at, fixture, on_both, submission};

fn refused(r: QueryResult<usize>) -> String {
    match StoreError::from(r.expect_err("the database must refuse")) {
        StoreError::Refused(m) => m,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

on_both!(
    statuses_and_references_are_checked_by_the_database,
    |db: &TestDb| {
        let f = fixture(db);
        let mut conn = db.store.conn().unwrap();
        let s = applications::submit(&mut conn, &submission(f.call, 1), at("2026-10-15T09:00:00Z")).unwrap();
        refused(
            diesel::update(a::table.find(s.application.get()))
                .set(a::status.eq("approved"))
                .execute(&mut *conn),
        );
        refused(
            diesel::update(c::table.find(f.call.get()))
                .set(c::status.eq("paused"))
                .execute(&mut *conn),
        );
        // An application of a call that does not exist (foreign keys are on for SQLite too).
        refused(
            diesel::update(a::table.find(s.application.get()))
                .set(a::call_id.eq(999_999_i64))
                .execute(&mut *conn),
        );
        // Two applications cannot share a protocol number.
        let t = applications::submit(&mut conn, &submission(f.call, 2), at("2026-10-15T09:01:00Z")).unwrap();
        refused(
            diesel::update(a::table.find(t.application.get()))
                .set(a::protocol_number.eq(i64::from(s.protocol.number())))
                .execute(&mut *conn),
        );
        assert_eq!(
            applications::get(&mut conn, s.application).unwrap().status,
            "submitted"
        );
    }
);

on_both!(the_audit_log_is_append_only, |db: &TestDb| {
    let f = fixture(db);
    let mut conn = db.store.conn().unwrap();
    applications::submit(&mut conn, &submission(f.call, 1), at("2026-10-15T09:00:00Z")).unwrap();
    let m = refused(
        diesel::update(al::table)
            .set(al::actor.eq("someone else"))
            .execute(&mut *conn),
    );
    assert!(m.contains("append-only"), "{m}");
    refused(diesel::delete(al::table).execute(&mut *conn));
    assert_eq!(audit::count(&mut conn).unwrap(), 1);
});

on_both!(application_versions_are_kept_as_submitted, |db: &TestDb| {
    use graduatorie_store::schema::application_versions as av;
    let f = fixture(db);
    let mut conn = db.store.conn().unwrap();
    let s = applications::submit(&mut conn, &submission(f.call, 1), at("2026-10-15T09:00:00Z")).unwrap();
    refused(
        diesel::update(av::table)
            .set(av::answers.eq("{}"))
            .execute(&mut *conn),
    );
    refused(diesel::delete(av::table).execute(&mut *conn));
    assert_eq!(applications::versions(&mut conn, s.application).unwrap().len(), 1);
});
