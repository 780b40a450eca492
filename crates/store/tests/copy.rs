//! Moving a town between backends: everything arrives, published runs stay published and frozen,
//! numbering continues where it stopped.

use graduatorie_domain::FacilityCode;
use graduatorie_store::audit::Actor;
use graduatorie_store::offers::{Answer, NewOffer};
use graduatorie_store::runs::{self, NewRun, Publication, ResultRow};
use graduatorie_store::{StoreError, applications, audit, copy, objections, offers, protocol};

use crate::support::{TestDb, at, computed_run, fixture, postgres, sqlite, submission};

/// Fills a database: applications (one amended, one withdrawn), an annulled protocol entry, a
/// published run with results, a queued message.
fn fill(db: &TestDb) -> crate::support::Fixture {
    let f = fixture(db);
    let mut conn = db.store.conn().unwrap();
    let mut ids = Vec::new();
    for n in 0..5 {
        ids.push(
            applications::submit(
                &mut conn,
                &submission(f.call, n),
                at("2026-10-15T09:00:00.000001Z"),
            )
            .unwrap(),
        );
    }
    applications::amend(
        &mut conn,
        ids[2].application,
        &submission(f.call, 42),
        at("2026-10-16T09:00:00Z"),
    )
    .unwrap();
    applications::withdraw(
        &mut conn,
        ids[4].application,
        None,
        "moved",
        at("2026-10-17T09:00:00Z"),
    )
    .unwrap();
    protocol::annul(
        &mut conn,
        f.org,
        ids[3].protocol,
        f.manager,
        "duplicate",
        at("2026-10-18T09:00:00Z"),
    )
    .unwrap();
    let manifest = serde_json::json!({ "seed": "2026" });
    let run = computed_run(
        &mut conn,
        &f,
        &[ResultRow {
            run_id: 0,
            application_id: ids[0].application.get(),
            list: "global".into(),
            position: 1,
            points_scaled: 9_223_372_036_854_775_807,
            points_scale: 3,
            tier: "residenti".into(),
            outcome: "admitted".into(),
            facility_code: Some("girasole".into()),
        }],
        at("2027-03-10T09:00:00Z"),
    );
    runs::publish(
        &mut conn,
        run,
        Publication::Provisional {
            objections_until: at("2027-03-21T23:00:00Z"),
        },
        f.manager,
        at("2027-03-11T09:00:00Z"),
    )
    .unwrap();
    objections::file(
        &mut conn,
        run,
        ids[1].application,
        "Il punteggio non conta il secondo figlio.",
        &Actor::Family,
        at("2027-03-12T09:00:00Z"),
    )
    .unwrap();
    let offer = offers::create(
        &mut conn,
        run,
        &[NewOffer {
            application: ids[0].application,
            facility: FacilityCode::parse("girasole").unwrap(),
            section: "piccoli".into(),
            time_slot: String::new(),
        }],
        at("2027-03-20T12:00:00Z"),
        f.manager,
        at("2027-03-11T10:00:00Z"),
    )
    .unwrap();
    offers::answer(
        &mut conn,
        offer[0],
        ids[0].application,
        Answer::Accepted,
        &Actor::Family,
        at("2027-03-13T09:00:00Z"),
    )
    .unwrap();
    graduatorie_store::outbox::enqueue(
        &mut conn,
        "receipt",
        "famiglia@example.invalid",
        &manifest,
        at("2026-10-15T09:00:00Z"),
    )
    .unwrap();
    f
}

fn check_copy(from: &TestDb, to: &TestDb) {
    let f = fill(from);
    let mut src = from.store.conn().unwrap();
    let mut dst = to.store.conn().unwrap();
    let report = copy::copy(&mut src, &mut dst).unwrap();
    assert!(
        report.iter().any(|(t, n)| *t == "applications" && *n == 5),
        "{report:?}"
    );
    assert_eq!(
        applications::for_ranking(&mut src, f.call).unwrap(),
        applications::for_ranking(&mut dst, f.call).unwrap()
    );
    assert_eq!(audit::count(&mut src).unwrap(), audit::count(&mut dst).unwrap());
    let annulled = protocol::find(&mut dst, f.org, protocol::protocol_number(2026, 4).unwrap())
        .unwrap()
        .unwrap();
    assert_eq!(annulled.annulled_reason.as_deref(), Some("duplicate"));
    let run = graduatorie_domain::RankingId::new(1);
    assert_eq!(runs::status(&mut dst, run).unwrap(), "published");
    assert_eq!(
        runs::get(&mut src, run).unwrap(),
        runs::get(&mut dst, run).unwrap()
    );
    assert!(runs::get(&mut dst, run).unwrap().objections_until.is_some());
    assert_eq!(
        objections::of_run(&mut src, run).unwrap(),
        objections::of_run(&mut dst, run).unwrap()
    );
    assert_eq!(
        offers::of_run(&mut src, run).unwrap(),
        offers::of_run(&mut dst, run).unwrap()
    );
    assert_eq!(
        offers::of_run(&mut dst, run).unwrap()[0].answer,
        Some(Answer::Accepted)
    );
    assert_eq!(
        runs::results(&mut src, run).unwrap(),
        runs::results(&mut dst, run).unwrap()
    );
    // Still frozen on the target.
    let again = runs::record(
        &mut dst,
        &NewRun {
            call: f.call,
            round: 2,
            inputs_hash: &"d".repeat(64),
            rules_hash: &"d".repeat(64),
            seed: "x",
            engine_version: "0.1.0",
            triggered_by: None,
            manifest: &serde_json::json!({}),
        },
        &[],
        at("2027-04-01T00:00:00Z"),
    )
    .unwrap();
    assert_eq!(again.get(), 2, "new ids continue after the copied ones");
    // Numbering continues: 5 applications + 1 amendment were registered in 2026.
    let next = applications::submit(&mut dst, &submission(f.call, 7), at("2026-11-01T00:00:00Z")).unwrap();
    assert_eq!(next.protocol.to_string(), "2026/000007");
    assert_eq!(next.application.get(), 6);
    // A second copy into the same, now non-empty, database is refused.
    let twice = copy::copy(&mut src, &mut dst);
    assert!(
        matches!(twice, Err(StoreError::Conflict(ref m)) if m.contains("not empty")),
        "{twice:?}"
    );
}

#[test]
fn sqlite_to_postgres() {
    check_copy(&sqlite(2), &postgres(2));
}

#[test]
fn postgres_to_sqlite() {
    check_copy(&postgres(2), &sqlite(2));
}
