//! Ranking runs: recorded with their provenance, frozen once published.

use diesel::prelude::*;
use graduatorie_domain::{ApplicationId, RankingId};
use graduatorie_store::runs::{self, NewRun, Publication, ResultRow};
use graduatorie_store::schema::{ranking_results as rr, ranking_runs as rn};
use graduatorie_store::{StoreError, applications};

use crate::support::{TestDb, at, fixture, on_both, submission};

fn rows(ids: &[ApplicationId]) -> Vec<ResultRow> {
    ids.iter()
        .enumerate()
        .map(|(i, id)| ResultRow {
            run_id: 0,
            application_id: id.get(),
            list: "global".into(),
            position: i64::try_from(i).unwrap() + 1,
            // 12.5 points at scale 3: exactly 12500, whatever the backend.
            points_scaled: 12_500 - i64::try_from(i).unwrap() * 1_000,
            points_scale: 3,
            tier: "residenti".into(),
            outcome: if i == 0 {
                "admitted".into()
            } else {
                "waiting".into()
            },
            facility_code: (i == 0).then(|| "girasole".into()),
        })
        .collect()
}

on_both!(a_published_run_and_its_results_cannot_change, |db: &TestDb| {
    let f = fixture(db);
    let mut conn = db.store.conn().unwrap();
    let ids: Vec<_> = (0..3)
        .map(|n| applications::submit(&mut conn, &submission(f.call, n), at("2026-10-15T09:00:00Z")).unwrap())
        .map(|s| s.application)
        .collect();
    let manifest = serde_json::json!({ "engine": "test" });
    let hash = "a".repeat(64);
    let new = NewRun {
        call: f.call,
        round: 1,
        inputs_hash: &hash,
        rules_hash: &hash,
        seed: "2026",
        engine_version: "0.1.0",
        triggered_by: Some(f.manager),
        manifest: &manifest,
    };
    let run = runs::record(&mut conn, &new, &rows(&ids), at("2027-03-10T09:00:00Z")).unwrap();
    let stored = runs::results(&mut conn, run).unwrap();
    assert_eq!(stored.len(), 3);
    assert_eq!((stored[0].points_scaled, stored[0].points_scale), (12_500, 3));
    assert_eq!(stored[0].facility_code.as_deref(), Some("girasole"));
    // Before publication a computed run may still be corrected (control for the triggers below).
    diesel::update(
        rr::table
            .filter(rr::run_id.eq(run.get()))
            .filter(rr::position.eq(3_i64)),
    )
    .set(rr::outcome.eq("not_eligible"))
    .execute(&mut *conn)
    .unwrap();
    runs::publish(
        &mut conn,
        run,
        Publication::Final,
        f.manager,
        at("2027-03-11T09:00:00Z"),
    )
    .unwrap();
    assert_eq!(runs::status(&mut conn, run).unwrap(), "published");
    let refused = |r: QueryResult<usize>| {
        assert!(matches!(r.map_err(StoreError::from), Err(StoreError::Refused(_))));
    };
    refused(
        diesel::update(rn::table.find(run.get()))
            .set(rn::seed.eq("other"))
            .execute(&mut *conn),
    );
    refused(
        diesel::update(rn::table.find(run.get()))
            .set(rn::status.eq("computed"))
            .execute(&mut *conn),
    );
    refused(diesel::delete(rn::table.find(run.get())).execute(&mut *conn));
    refused(
        diesel::update(rr::table)
            .set(rr::position.eq(1_i64))
            .execute(&mut *conn),
    );
    refused(diesel::delete(rr::table).execute(&mut *conn));
    refused(
        diesel::insert_into(rr::table)
            .values((
                rr::run_id.eq(run.get()),
                rr::application_id.eq(ids[0].get()),
                rr::list.eq("extra"),
                rr::position.eq(1_i64),
                rr::points_scaled.eq(0_i64),
                rr::points_scale.eq(0),
                rr::tier.eq("x"),
                rr::outcome.eq("admitted"),
            ))
            .execute(&mut *conn),
    );
    assert!(
        runs::publish(
            &mut conn,
            run,
            Publication::Final,
            f.manager,
            at("2027-03-12T09:00:00Z")
        )
        .is_err()
    );
    let after = runs::results(&mut conn, run).unwrap();
    assert_eq!(after.len(), 3);
    assert_eq!(after[2].outcome, "not_eligible");
    let mine = runs::results_of(&mut conn, run, ids[0]).unwrap();
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0].position, 1);
    assert!(runs::status(&mut conn, RankingId::new(999)).is_err());
});

on_both!(runs_need_real_hashes, |db: &TestDb| {
    let f = fixture(db);
    let mut conn = db.store.conn().unwrap();
    let manifest = serde_json::json!({});
    let new = NewRun {
        call: f.call,
        round: 1,
        inputs_hash: "not-a-hash",
        rules_hash: &"b".repeat(64),
        seed: "s",
        engine_version: "0.1.0",
        triggered_by: None,
        manifest: &manifest,
    };
    let r = runs::record(&mut conn, &new, &[], at("2027-03-10T09:00:00Z"));
    assert!(
        matches!(r, Err(StoreError::Conflict(ref m)) if m.contains("hashes")),
        "{r:?}"
    );
});
