//! After a ranking is published: objections within the window of a provisional ranking, offers and
//! their answers before the deadline, and the triggers that keep both as given.

use diesel::prelude::*;
use graduatorie_domain::{ApplicationId, FacilityCode, ObjectionId, OfferId, RankingId};
use graduatorie_store::audit::Actor;
use graduatorie_store::offers::{Answer, NewOffer};
use graduatorie_store::runs::{self, Publication};
use graduatorie_store::schema::{objections as ob, offers as of};
use graduatorie_store::{StoreError, applications, audit, objections, offers};

use crate::support::{Fixture, TestDb, at, computed_run, fixture, on_both, submission};

/// Three applications and a computed (unpublished) run over them.
fn ranked(db: &TestDb) -> (Fixture, Vec<ApplicationId>, RankingId) {
    let f = fixture(db);
    let mut conn = db.store.conn().unwrap();
    let ids: Vec<_> = (0..3)
        .map(|n| {
            applications::submit(&mut conn, &submission(f.call, n), at("2026-10-15T09:00:00Z"))
                .unwrap()
                .application
        })
        .collect();
    let run = computed_run(&mut conn, &f, &[], at("2027-03-10T09:00:00Z"));
    (f, ids, run)
}

fn conflict<T: std::fmt::Debug>(r: Result<T, StoreError>, words: &str) {
    assert!(
        matches!(r, Err(StoreError::Conflict(ref m)) if m.contains(words)),
        "expected a conflict mentioning {words:?}, got {r:?}"
    );
}

fn refused(r: QueryResult<usize>) {
    let r = r.map_err(StoreError::from);
    assert!(matches!(r, Err(StoreError::Refused(_))), "{r:?}");
}

const WINDOW_END: &str = "2027-03-21T23:00:00Z";

on_both!(
    objections_only_within_the_window_of_a_provisional_ranking,
    |db: &TestDb| {
        let (f, ids, run) = ranked(db);
        let mut conn = db.store.conn().unwrap();
        let text = "Il secondo figlio non è stato contato.";
        let file =
            |conn: &mut _, when: &str| objections::file(conn, run, ids[1], text, &Actor::Family, at(when));
        // Not yet published: nothing to object to.
        conflict(
            file(&mut conn, "2027-03-10T10:00:00Z"),
            "does not accept objections",
        );
        // A window that ends before publication is refused.
        let bad = Publication::Provisional {
            objections_until: at("2027-03-11T08:00:00Z"),
        };
        conflict(
            runs::publish(&mut conn, run, bad, f.manager, at("2027-03-11T09:00:00Z")),
            "objections_until",
        );
        let window = Publication::Provisional {
            objections_until: at(WINDOW_END),
        };
        runs::publish(&mut conn, run, window, f.manager, at("2027-03-11T09:00:00Z")).unwrap();
        let stored = runs::get(&mut conn, run).unwrap();
        assert_eq!(
            (stored.kind.as_str(), stored.objections_until),
            ("provisional", Some(at(WINDOW_END)))
        );
        assert_eq!(runs::published(&mut conn, f.call).unwrap(), vec![stored]);
        // Within the window: filed.
        let id = file(&mut conn, "2027-03-21T22:59:59.999999Z").unwrap();
        // The window's end is exclusive.
        conflict(file(&mut conn, WINDOW_END), "does not accept objections");
        // Empty text, and an application that is not in this call, are refused.
        conflict(
            objections::file(
                &mut conn,
                run,
                ids[1],
                "  \n",
                &Actor::Family,
                at("2027-03-12T09:00:00Z"),
            ),
            "body",
        );
        let stranger = objections::file(
            &mut conn,
            run,
            ApplicationId::new(999),
            text,
            &Actor::Family,
            at("2027-03-12T09:00:00Z"),
        );
        assert!(
            matches!(stranger, Err(StoreError::NotFound("application"))),
            "{stranger:?}"
        );
        let mine = objections::of_application(&mut conn, ids[1]).unwrap();
        assert_eq!(mine.len(), 1);
        assert_eq!(
            (mine[0].id, mine[0].status.as_str(), mine[0].body.as_str()),
            (id, "filed", text)
        );
        // Decided once, with a written decision.
        objections::decide(
            &mut conn,
            id,
            true,
            "Accolta: +2 punti.",
            f.manager,
            at("2027-03-25T09:00:00Z"),
        )
        .unwrap();
        conflict(
            objections::decide(
                &mut conn,
                id,
                false,
                "Respinta.",
                f.manager,
                at("2027-03-26T09:00:00Z"),
            ),
            "already been decided",
        );
        assert!(matches!(
            objections::decide(
                &mut conn,
                ObjectionId::new(77),
                true,
                "x",
                f.manager,
                at("2027-03-26T09:00:00Z")
            ),
            Err(StoreError::NotFound("objection"))
        ));
        let decided = &objections::of_run(&mut conn, run).unwrap()[0];
        assert_eq!(decided.status, "accepted");
        assert_eq!(decided.decided_by, Some(f.manager));
        assert_eq!(decided.decision.as_deref(), Some("Accolta: +2 punti."));
        // The audit log names the objection but never copies the family's text.
        let trail = audit::for_subject(&mut conn, &format!("objection:{id}")).unwrap();
        assert_eq!(trail.len(), 2);
        assert!(trail.iter().all(|e| !e.detail.contains("figlio")), "{trail:?}");
        // Kept as given, even against hand-typed SQL.
        refused(
            diesel::update(ob::table.find(id.get()))
                .set(ob::body.eq("altro"))
                .execute(&mut *conn),
        );
        refused(
            diesel::update(ob::table.find(id.get()))
                .set(ob::status.eq("rejected"))
                .execute(&mut *conn),
        );
        refused(diesel::delete(ob::table.find(id.get())).execute(&mut *conn));
    }
);

on_both!(a_final_ranking_takes_no_objections, |db: &TestDb| {
    let (f, ids, run) = ranked(db);
    let mut conn = db.store.conn().unwrap();
    runs::publish(
        &mut conn,
        run,
        Publication::Final,
        f.manager,
        at("2027-03-11T09:00:00Z"),
    )
    .unwrap();
    assert_eq!(runs::get(&mut conn, run).unwrap().objections_until, None);
    conflict(
        objections::file(
            &mut conn,
            run,
            ids[0],
            "x",
            &Actor::Family,
            at("2027-03-12T09:00:00Z"),
        ),
        "does not accept objections",
    );
    assert!(objections::of_run(&mut conn, run).unwrap().is_empty());
});

fn offer(application: ApplicationId, facility: &str) -> NewOffer {
    NewOffer {
        application,
        facility: FacilityCode::parse(facility).unwrap(),
        section: "piccoli".into(),
        time_slot: String::new(),
    }
}

const DEADLINE: &str = "2027-03-20T12:00:00Z";

on_both!(
    offers_come_from_a_published_run_and_are_answered_once_before_the_deadline,
    |db: &TestDb| {
        let (f, ids, run) = ranked(db);
        let mut conn = db.store.conn().unwrap();
        let made = at("2027-03-11T10:00:00Z");
        let two = [offer(ids[0], "girasole"), offer(ids[1], "arcobaleno")];
        conflict(
            offers::create(&mut conn, run, &two, at(DEADLINE), f.manager, made),
            "not published",
        );
        runs::publish(
            &mut conn,
            run,
            Publication::Final,
            f.manager,
            at("2027-03-11T09:00:00Z"),
        )
        .unwrap();
        // All or none: an unknown facility in the second offer leaves the first unwritten too.
        conflict(
            offers::create(
                &mut conn,
                run,
                &[offer(ids[0], "girasole"), offer(ids[1], "luna")],
                at(DEADLINE),
                f.manager,
                made,
            ),
            "offer 2: facility luna",
        );
        assert!(offers::of_run(&mut conn, run).unwrap().is_empty());
        conflict(
            offers::create(&mut conn, run, &two, made, f.manager, made),
            "expires_at",
        );
        let created = offers::create(&mut conn, run, &two, at(DEADLINE), f.manager, made).unwrap();
        assert_eq!(created.len(), 2);
        // One offer per application and run.
        let again = offers::create(
            &mut conn,
            run,
            &[offer(ids[0], "arcobaleno")],
            at(DEADLINE),
            f.manager,
            made,
        );
        assert!(matches!(again, Err(StoreError::Refused(_))), "{again:?}");
        // Only the application the offer was made to may answer it.
        let wrong = offers::answer(
            &mut conn,
            created[0],
            ids[1],
            Answer::Accepted,
            &Actor::Family,
            at("2027-03-12T09:00:00Z"),
        );
        assert!(matches!(wrong, Err(StoreError::NotFound("offer"))), "{wrong:?}");
        offers::answer(
            &mut conn,
            created[0],
            ids[0],
            Answer::Refused,
            &Actor::Family,
            at("2027-03-12T09:00:00Z"),
        )
        .unwrap();
        conflict(
            offers::answer(
                &mut conn,
                created[0],
                ids[0],
                Answer::Accepted,
                &Actor::Family,
                at("2027-03-12T10:00:00Z"),
            ),
            "already answered (refused)",
        );
        // The deadline is exclusive.
        conflict(
            offers::answer(
                &mut conn,
                created[1],
                ids[1],
                Answer::Accepted,
                &Actor::Family,
                at(DEADLINE),
            ),
            "deadline",
        );
        let all = offers::of_run(&mut conn, run).unwrap();
        assert_eq!(all.len(), 2);
        assert_eq!(
            (all[0].answer, all[0].answered_at),
            (Some(Answer::Refused), Some(at("2027-03-12T09:00:00Z")))
        );
        assert_eq!((all[1].answer, all[1].expires_at), (None, at(DEADLINE)));
        assert_eq!(
            offers::of_application(&mut conn, ids[1]).unwrap(),
            vec![all[1].clone()]
        );
        assert!(matches!(
            offers::get(&mut conn, OfferId::new(999)),
            Err(StoreError::NotFound("offer"))
        ));
        // Kept as given, even against hand-typed SQL: no second answer, no new terms, no deletion.
        refused(
            diesel::update(of::table.find(created[0].get()))
                .set(of::answer.eq("accepted"))
                .execute(&mut *conn),
        );
        refused(
            diesel::update(of::table.find(created[1].get()))
                .set(of::expires_at.eq(i64::MAX))
                .execute(&mut *conn),
        );
        refused(diesel::delete(of::table).execute(&mut *conn));
        // An unanswered offer can still get its answer directly: the triggers allow exactly that.
        assert_eq!(
            diesel::update(of::table.find(created[1].get()))
                .set((of::answer.eq("accepted"), of::answered_at.eq(1_i64)))
                .execute(&mut *conn)
                .unwrap(),
            1
        );
    }
);
