//! Many writers at once: protocol numbers stay exactly 1..N with no duplicate and no hole, on both
//! backends, including when a transaction dies halfway; the batching writer keeps the same promise.

use std::sync::Arc;

use diesel::connection::TransactionManager;
use diesel::prelude::*;
use graduatorie_store::applications::{self, Submitted};
use graduatorie_store::batch::SubmissionWriter;
use graduatorie_store::calls::{self, NewCall};
use graduatorie_store::protocol::{self, Subject};
use graduatorie_store::{AnyConnection, DatabaseUrl, DurabilityCheck, StoreError, durability};

use crate::support::{TestDb, at, fixture, on_both, submission};

const WRITERS: u32 = 16;
const EACH: u32 = 500;

on_both!(
    sixteen_writers_get_exactly_one_to_eight_thousand,
    16,
    |db: &TestDb| {
        let f = fixture(db);
        let t = at("2026-10-15T09:00:00Z");
        std::thread::scope(|scope| {
            for w in 0..WRITERS {
                let store = db.store.clone();
                let url = db.url.clone();
                scope.spawn(move || {
                    let mut conn = store.conn().unwrap();
                    for i in 0..EACH {
                        if w == 0 && i == EACH / 2 {
                            // A worker dies in the middle of a submission: it has taken a number, then its
                            // connection closes without COMMIT.
                            let mut dying = DatabaseUrl::parse(&url).unwrap().connect().unwrap();
                            <AnyConnection as Connection>::TransactionManager::begin_transaction(&mut dying)
                                .unwrap();
                            protocol::register(&mut dying, f.org, t, Subject::Application, None).unwrap();
                            drop(dying);
                        }
                        // SQLite's busy handler is not fair: with 16 writers on 2 cores one of them can
                        // wait past the 10 s busy timeout and get "database is locked" (it failed so in
                        // CI). That is the 503 + Retry-After a family's client retries after; the
                        // attempt rolled back, and the numbers checked below must show no hole for it.
                        let mut attempts = 0;
                        loop {
                            match applications::submit(&mut conn, &submission(f.call, w * EACH + i), t) {
                                Ok(_) => break,
                                Err(e) if e.is_transient() && attempts < 10 => attempts += 1,
                                Err(e) => panic!("writer {w}, submission {i}: {e}"),
                            }
                        }
                    }
                });
            }
        });
        let mut conn = db.store.conn().unwrap();
        let numbers = protocol::numbers(&mut conn, f.org, 2026).unwrap();
        let expected: Vec<i64> = (1..=i64::from(WRITERS * EACH)).collect();
        assert_eq!(numbers, expected, "protocol numbers must be exactly 1..=8000");
        let apps = applications::for_ranking(&mut conn, f.call).unwrap();
        assert_eq!(apps.len(), 8_000);
        let mut app_numbers: Vec<u32> = apps.iter().map(|a| a.protocol.number()).collect();
        app_numbers.dedup();
        assert_eq!(app_numbers.len(), 8_000, "every application has its own number");
        assert_eq!(graduatorie_store::audit::count(&mut conn).unwrap(), 8_000);
    }
);

on_both!(
    the_batching_writer_commits_groups_without_gaps,
    4,
    |db: &TestDb| {
        let f = fixture(db);
        let draft = {
            let mut conn = db.store.conn().unwrap();
            let call = calls::get(&mut conn, f.call).unwrap();
            calls::create_call(
                &mut conn,
                &NewCall {
                    service: call.service,
                    school_year: "2027/2028",
                    opens_at: at("2027-10-01T00:00:00Z"),
                    closes_at: at("2028-03-01T00:00:00Z"),
                    rules_toml: "x",
                },
                at("2026-09-01T00:00:00Z"),
            )
            .unwrap()
        };
        let writer = Arc::new(SubmissionWriter::start(db.store.clone(), 64).unwrap());
        let t = at("2026-10-15T09:00:00Z");
        let results: Vec<Vec<Result<Submitted, StoreError>>> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..8_u32)
                .map(|w| {
                    let writer = Arc::clone(&writer);
                    scope.spawn(move || {
                        (0..100_u32)
                            .map(|i| {
                                // Every tenth submission is for a call still in draft: refused alone.
                                let call = if i % 10 == 9 { draft } else { f.call };
                                writer.submit(submission(call, w * 100 + i), t)
                            })
                            .collect()
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let all: Vec<_> = results.into_iter().flatten().collect();
        let refused = all
            .iter()
            .filter(|r| matches!(r, Err(StoreError::Conflict(m)) if m.contains("not open")))
            .count();
        assert_eq!(refused, 80);
        let mut numbers: Vec<u32> = all
            .iter()
            .filter_map(|r| r.as_ref().ok())
            .map(|s| s.protocol.number())
            .collect();
        numbers.sort_unstable();
        assert_eq!(numbers, (1..=720).collect::<Vec<u32>>());
        let mut conn = db.store.conn().unwrap();
        assert_eq!(protocol::numbers(&mut conn, f.org, 2026).unwrap().len(), 720);
        assert_eq!(applications::for_ranking(&mut conn, f.call).unwrap().len(), 720);
    }
);

#[test]
fn postgres_durability_check_refuses_unsafe_settings() {
    let db = crate::support::postgres(1);
    let mut conn = db.store.conn().unwrap();
    let fsync: String = diesel::select(diesel::dsl::sql::<diesel::sql_types::Text>(
        "current_setting('fsync')",
    ))
    .get_result(&mut *conn)
    .unwrap();
    diesel::connection::SimpleConnection::batch_execute(&mut *conn, "SET synchronous_commit = off").unwrap();
    let e = durability::check(&mut conn, DurabilityCheck::Enforce).unwrap_err();
    assert!(e.to_string().contains("synchronous_commit = off"), "{e}");
    assert!(durability::check(&mut conn, DurabilityCheck::SkipForTestsOnly).is_ok());
    diesel::connection::SimpleConnection::batch_execute(&mut *conn, "SET synchronous_commit = on").unwrap();
    let result = durability::check(&mut conn, DurabilityCheck::Enforce);
    if fsync == "off" {
        let e = result.unwrap_err();
        assert!(
            e.to_string().contains("fsync = off") && !e.to_string().contains("synchronous_commit = off"),
            "{e}"
        );
    } else {
        assert!(result.is_ok(), "{result:?}");
    }
}

on_both!(
    a_group_is_numbered_in_queue_order_like_one_by_one,
    |db: &TestDb| {
        let f = fixture(db);
        let t = at("2026-10-15T09:00:00Z");
        let mut conn = db.store.conn().unwrap();
        // One submission first, the classic way: the group continues from 2.
        applications::submit(&mut conn, &submission(f.call, 0), t).unwrap();
        let mut twice = submission(f.call, 2);
        twice.preferences.push(twice.preferences[0].clone());
        let mut elsewhere = submission(f.call, 3);
        elsewhere.call = graduatorie_domain::CallId::new(404);
        let jobs_owned = [
            submission(f.call, 1),
            twice,
            elsewhere,
            submission(f.call, 4),
            submission(f.call, 5),
        ];
        // The fourth arrives after new year's midnight in Rome (23:30 UTC on 31 December): next
        // year's register, number 1; the fifth, in 2026 again, follows the first in queue order.
        let times = [t, t, t, at("2026-12-31T23:30:00Z"), t];
        let jobs: Vec<_> = jobs_owned.iter().zip(times).collect();
        let out = graduatorie_store::connection::write_tx(&mut conn, |tx| {
            applications::submit_group_in_tx(tx, &jobs)
        })
        .unwrap();
        assert_eq!(out[0].as_ref().unwrap().protocol.to_string(), "2026/000002");
        assert!(
            matches!(&out[1], Err(StoreError::Conflict(m)) if m.contains("listed twice")),
            "{:?}",
            out[1]
        );
        assert!(
            matches!(&out[2], Err(StoreError::NotFound("call"))),
            "{:?}",
            out[2]
        );
        assert_eq!(out[3].as_ref().unwrap().protocol.to_string(), "2027/000001");
        assert_eq!(out[4].as_ref().unwrap().protocol.to_string(), "2026/000003");
        assert_eq!(protocol::numbers(&mut conn, f.org, 2026).unwrap(), vec![1, 2, 3]);
        assert_eq!(protocol::numbers(&mut conn, f.org, 2027).unwrap(), vec![1]);
        // What the group stored reads back exactly as a one-by-one submission of the same data.
        let grouped = applications::get(&mut conn, out[0].as_ref().unwrap().application).unwrap();
        let single = applications::submit(&mut conn, &submission(f.call, 1), t).unwrap();
        let single = applications::get(&mut conn, single.application).unwrap();
        assert_eq!(
            (
                &grouped.answers,
                &grouped.preferences,
                grouped.batch,
                grouped.version,
                &grouped.status,
                grouped.submitted_at
            ),
            (
                &single.answers,
                &single.preferences,
                single.batch,
                single.version,
                &single.status,
                single.submitted_at
            )
        );
        let id = out[0].as_ref().unwrap().application;
        assert_eq!(
            applications::history(&mut conn, id).unwrap(),
            vec![("submitted".to_owned(), t)]
        );
        let trail = graduatorie_store::audit::for_subject(&mut conn, &format!("application:{id}")).unwrap();
        assert_eq!(trail.len(), 1);
        assert!(trail[0].detail.contains("2026/000002"), "{}", trail[0].detail);
        let entry = protocol::find(&mut conn, f.org, out[0].as_ref().unwrap().protocol)
            .unwrap()
            .unwrap();
        assert_eq!(entry.application_id, Some(id.get()));
    }
);

on_both!(
    a_group_the_database_refuses_is_retried_one_by_one,
    4,
    |db: &TestDb| {
        let f = fixture(db);
        let t = at("2026-10-15T09:00:00Z");
        let writer = Arc::new(SubmissionWriter::start(db.store.clone(), 64).unwrap());
        // An operator id that does not exist passes the checks but breaks a foreign key: the
        // database refuses the whole group, and the retry refuses only that submission.
        let results: Vec<Result<Submitted, StoreError>> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..4_u32)
                .map(|w| {
                    let writer = Arc::clone(&writer);
                    scope.spawn(move || {
                        (0..50_u32)
                            .map(|i| {
                                let mut s = submission(f.call, w * 50 + i);
                                if i == 25 {
                                    s.by = Some(graduatorie_domain::UserId::new(9_999));
                                }
                                writer.submit(s, t)
                            })
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            handles.into_iter().flat_map(|h| h.join().unwrap()).collect()
        });
        let refused = results
            .iter()
            .filter(|r| matches!(r, Err(StoreError::Refused(_))))
            .count();
        assert_eq!(refused, 4);
        let mut numbers: Vec<u32> = results
            .iter()
            .filter_map(|r| r.as_ref().ok())
            .map(|s| s.protocol.number())
            .collect();
        numbers.sort_unstable();
        assert_eq!(numbers, (1..=196).collect::<Vec<u32>>());
        let mut conn = db.store.conn().unwrap();
        assert_eq!(
            protocol::numbers(&mut conn, f.org, 2026).unwrap(),
            (1..=196).collect::<Vec<i64>>()
        );
    }
);
