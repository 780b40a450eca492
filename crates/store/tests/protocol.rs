//! The protocol register: progressive per organisation and Italian calendar year, gapless, immutable,
//! annulment kept.

use diesel::connection::TransactionManager;
use diesel::prelude::*;
use graduatorie_domain::ProtocolNumber;
use graduatorie_store::orgs::{self, OrganisationKind};
use graduatorie_store::protocol::{self, Subject};
use graduatorie_store::{StoreError, write_tx};

use crate::support::{TestDb, at, on_both};

on_both!(
    numbers_start_at_one_per_organisation_and_year_in_rome,
    |db: &TestDb| {
        let mut conn = db.store.conn().unwrap();
        let t0 = at("2026-01-01T00:00:00Z");
        let a = orgs::create_organisation(&mut conn, OrganisationKind::Municipality, "A", None, t0).unwrap();
        let b = orgs::create_organisation(&mut conn, OrganisationKind::Union, "B", None, t0).unwrap();
        let reg = |conn: &mut graduatorie_store::AnyConnection, org, t: &str| {
            write_tx(conn, |c| {
                protocol::register(c, org, at(t), Subject::Application, None)
            })
            .unwrap()
            .to_string()
        };
        assert_eq!(reg(&mut conn, a, "2026-05-01T10:00:00Z"), "2026/000001");
        assert_eq!(reg(&mut conn, a, "2026-05-01T10:00:01Z"), "2026/000002");
        // Another organisation keeps its own register.
        assert_eq!(reg(&mut conn, b, "2026-05-01T10:00:02Z"), "2026/000001");
        // 31 December 23:30 UTC is already 1 January in Rome: the register of 2027 starts.
        assert_eq!(reg(&mut conn, a, "2026-12-31T23:30:00Z"), "2027/000001");
        // 22:59 UTC on 31 December is still 2026 in Rome (UTC+1).
        assert_eq!(reg(&mut conn, a, "2026-12-31T22:59:00Z"), "2026/000003");
        assert_eq!(protocol::numbers(&mut conn, a, 2026).unwrap(), vec![1, 2, 3]);
    }
);

on_both!(
    a_rolled_back_or_abandoned_transaction_leaves_no_hole,
    |db: &TestDb| {
        let mut conn = db.store.conn().unwrap();
        let t = at("2026-05-01T10:00:00Z");
        let org = orgs::create_organisation(&mut conn, OrganisationKind::Municipality, "A", None, t).unwrap();
        write_tx(&mut conn, |c| {
            protocol::register(c, org, t, Subject::Application, None)
        })
        .unwrap();
        // A submission that fails after taking its number: everything is rolled back, the number too.
        let failed: Result<(), StoreError> = write_tx(&mut conn, |c| {
            let n = protocol::register(c, org, t, Subject::Application, None)?;
            assert_eq!(n.number(), 2);
            Err(StoreError::Conflict("something failed after numbering".into()))
        });
        assert!(failed.is_err());
        // A connection that dies in the middle of its transaction (a crashed worker).
        {
            let url = graduatorie_store::DatabaseUrl::parse(&db.url).unwrap();
            let mut dying = url.connect().unwrap();
            // Diesel's own BEGIN (deferred on SQLite: the first statement is the counter's UPDATE).
            <graduatorie_store::AnyConnection as Connection>::TransactionManager::begin_transaction(
                &mut dying,
            )
            .unwrap();
            let number = protocol::register(&mut dying, org, t, Subject::Application, None).unwrap();
            assert_eq!(number.number(), 2);
            drop(dying); // closed without COMMIT
        }
        let next = write_tx(&mut conn, |c| {
            protocol::register(c, org, t, Subject::Application, None)
        })
        .unwrap();
        assert_eq!(next.to_string(), "2026/000002");
        assert_eq!(protocol::numbers(&mut conn, org, 2026).unwrap(), vec![1, 2]);
    }
);

on_both!(annulment_keeps_the_entry_and_happens_once, |db: &TestDb| {
    let mut conn = db.store.conn().unwrap();
    let t = at("2026-05-01T10:00:00Z");
    let org = orgs::create_organisation(&mut conn, OrganisationKind::Municipality, "A", None, t).unwrap();
    let user = orgs::create_user(&mut conn, "op", "Operatore", t).unwrap();
    let n = write_tx(&mut conn, |c| {
        protocol::register(c, org, t, Subject::Application, None)
    })
    .unwrap();
    assert!(matches!(
        protocol::annul(&mut conn, org, n, user, "  ", t),
        Err(StoreError::Conflict(_))
    ));
    protocol::annul(
        &mut conn,
        org,
        n,
        user,
        "registered twice by mistake",
        at("2026-05-02T09:00:00Z"),
    )
    .unwrap();
    let entry = protocol::find(&mut conn, org, n).unwrap().unwrap();
    assert_eq!(entry.number, 1);
    assert_eq!(entry.annulled_by, Some(user.get()));
    assert_eq!(
        entry.annulled_reason.as_deref(),
        Some("registered twice by mistake")
    );
    assert_eq!(entry.registered_at, graduatorie_store::time::to_db(t));
    let again = protocol::annul(&mut conn, org, n, user, "again", t);
    assert!(
        matches!(again, Err(StoreError::Conflict(ref m)) if m.contains("already annulled")),
        "{again:?}"
    );
    // The number is not reused.
    let next = write_tx(&mut conn, |c| {
        protocol::register(c, org, t, Subject::Application, None)
    })
    .unwrap();
    assert_eq!(next, ProtocolNumber::new(2026, 2).unwrap());
    let audit =
        graduatorie_store::audit::for_subject(&mut conn, &format!("protocol:{}:2026/000001", org.get()));
    assert_eq!(audit.unwrap().len(), 1);
});

on_both!(
    entries_cannot_be_altered_even_by_hand_written_sql,
    |db: &TestDb| {
        let mut conn = db.store.conn().unwrap();
        let t = at("2026-05-01T10:00:00Z");
        let org = orgs::create_organisation(&mut conn, OrganisationKind::Municipality, "A", None, t).unwrap();
        let user = orgs::create_user(&mut conn, "op", "Operatore", t).unwrap();
        let n = write_tx(&mut conn, |c| {
            protocol::register(c, org, t, Subject::Application, None)
        })
        .unwrap();
        use graduatorie_store::schema::{protocol_counters as pc, protocol_entries as pe};
        let refused = |r: QueryResult<usize>| {
            let e = StoreError::from(r.expect_err("the database must refuse"));
            assert!(matches!(e, StoreError::Refused(_)), "{e:?}");
        };
        refused(
            diesel::update(pe::table)
                .set(pe::number.eq(7_i64))
                .execute(&mut *conn),
        );
        refused(
            diesel::update(pe::table)
                .set(pe::registered_at.eq(0_i64))
                .execute(&mut *conn),
        );
        refused(diesel::delete(pe::table).execute(&mut *conn));
        refused(
            diesel::update(pc::table)
                .set(pc::last_number.eq(0_i64))
                .execute(&mut *conn),
        );
        refused(diesel::delete(pc::table).execute(&mut *conn));
        // An annulment is the one change allowed, once; after it the entry is frozen too.
        protocol::annul(&mut conn, org, n, user, "error", t).unwrap();
        refused(
            diesel::update(pe::table)
                .set(pe::annulled_reason.eq("rewritten"))
                .execute(&mut *conn),
        );
        assert_eq!(protocol::numbers(&mut conn, org, 2026).unwrap(), vec![1]);
    }
);
