//! After publication: results with the score's breakdown, offers and their answers, objections within
//! the provisional ranking's window; each only for the application's own family.

use graduatorie_domain::{ApplicationId, FacilityCode};
use graduatorie_store::offers::{self, NewOffer};
use graduatorie_store::orgs;
use graduatorie_store::runs::{self, NewRun, Publication, ResultRow};
use serde_json::{Value, json};

use crate::support::*;

on_both!(
    families_follow_their_results_offers_and_objections,
    dev,
    |s: &TestServer| {
        let w = world(s);
        let f1 = format!("Bearer {}", dev_login(s, FAMILY_1));
        let f2 = format!("Bearer {}", dev_login(s, FAMILY_2));
        let submit = s.url(&format!("/api/v1/calls/{}/applications", w.call));
        let mut ids = Vec::new();
        for auth in [&f1, &f2] {
            let mut r = client()
                .post(&submit)
                .header("Authorization", auth.as_str())
                .send_json(application(w.town_a))
                .unwrap();
            assert_eq!(r.status(), 201);
            ids.push(
                r.body_mut().read_json::<Value>().unwrap()["application"]
                    .as_i64()
                    .unwrap(),
            );
        }
        let (app_1, app_2) = (ids[0], ids[1]);
        let results_1 = s.url(&format!("/api/v1/applications/{app_1}/results"));

        // Nothing published yet: no rankings, no breakdown.
        let mut r = client()
            .get(&results_1)
            .header("Authorization", &f1)
            .call()
            .unwrap();
        assert_eq!(r.status(), 200);
        let body: Value = r.body_mut().read_json().unwrap();
        assert_eq!(body["rankings"], json!([]));
        assert_eq!(body["breakdown"], Value::Null);

        // The office ranks and publishes a provisional ranking, and offers family 1 a seat.
        let store = s.store();
        let mut conn = store.conn().unwrap();
        let manager = orgs::find_login(&mut conn, "responsabile").unwrap().unwrap().user;
        let now = jiff::Timestamp::now();
        let day = jiff::SignedDuration::from_hours(24);
        let hash = "a".repeat(64);
        let line = |app: i64, position: i64, points: i64, outcome: &str, facility: Option<&str>| ResultRow {
            run_id: 0,
            application_id: app,
            list: "global".into(),
            position,
            points_scaled: points,
            points_scale: 2,
            tier: String::new(),
            outcome: outcome.into(),
            facility_code: facility.map(str::to_owned),
        };
        let run = runs::record(
            &mut conn,
            &NewRun {
                call: w.call,
                round: 1,
                inputs_hash: &hash,
                rules_hash: &hash,
                seed: "2026",
                engine_version: "test",
                triggered_by: Some(manager),
                manifest: &json!({}),
            },
            &[
                line(app_1, 1, 1250, "admitted", Some("girasole")),
                line(app_2, 2, 900, "waiting", None),
            ],
            now,
        )
        .unwrap();
        runs::publish(
            &mut conn,
            run,
            Publication::Provisional {
                objections_until: now.checked_add(day * 7).unwrap(),
            },
            manager,
            now,
        )
        .unwrap();
        let offer = offers::create(
            &mut conn,
            run,
            &[NewOffer {
                application: ApplicationId::new(app_1),
                facility: FacilityCode::parse("girasole").unwrap(),
                section: String::new(),
                time_slot: String::new(),
            }],
            now.checked_add(day * 3).unwrap(),
            manager,
            now,
        )
        .unwrap()[0];

        let mut r = client()
            .get(&results_1)
            .header("Authorization", &f1)
            .call()
            .unwrap();
        let body: Value = r.body_mut().read_json().unwrap();
        let ranking = &body["rankings"][0];
        assert_eq!(ranking["ranking"], run.get());
        assert_eq!(ranking["kind"], "provisional");
        assert_eq!(ranking["lists"][0]["position"], 1);
        // 1250 hundredths of a point.
        assert_eq!(ranking["lists"][0]["points"], "12.50");
        assert_eq!(ranking["lists"][0]["outcome"], "admitted");
        let breakdown = &body["breakdown"];
        assert!(
            !breakdown["criteria"].as_array().unwrap().is_empty(),
            "{breakdown}"
        );
        // The lines add up to the total (this regulation's points do not depend on the facility).
        let dec = |v: &Value| v.as_str().unwrap().parse::<rust_decimal::Decimal>().unwrap();
        let sum: rust_decimal::Decimal = breakdown["criteria"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| dec(&c["points"]))
            .sum();
        assert_eq!(sum, dec(&breakdown["total"]), "{breakdown}");
        assert!(sum > rust_decimal::Decimal::ZERO, "{breakdown}");
        // Another family's results, offers and objections do not exist for family 2.
        for path in ["results", "offers", "objections"] {
            let r = client()
                .get(s.url(&format!("/api/v1/applications/{app_1}/{path}")))
                .header("Authorization", &f2)
                .call()
                .unwrap();
            assert_eq!(r.status(), 404, "{path}");
        }

        // Offers: family 2 cannot answer family 1's; family 1 answers once.
        let mut r = client()
            .get(s.url(&format!("/api/v1/applications/{app_1}/offers")))
            .header("Authorization", &f1)
            .call()
            .unwrap();
        let listed: Value = r.body_mut().read_json().unwrap();
        assert_eq!(listed["offers"][0]["facility"], "girasole");
        assert_eq!(listed["offers"][0]["answer"], Value::Null);
        let answer = s.url(&format!("/api/v1/offers/{offer}/answer"));
        let r = client()
            .post(&answer)
            .header("Authorization", &f2)
            .send_json(json!({ "answer": "accept" }))
            .unwrap();
        assert_eq!(r.status(), 404);
        let mut r = client()
            .post(&answer)
            .header("Authorization", &f1)
            .send_json(json!({ "answer": "maybe" }))
            .unwrap();
        assert_eq!(r.status(), 422);
        assert_eq!(
            r.body_mut().read_json::<Value>().unwrap()["errors"][0]["pointer"],
            "/answer"
        );
        let mut r = client()
            .post(&answer)
            .header("Authorization", &f1)
            .send_json(json!({ "answer": "accept" }))
            .unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(r.body_mut().read_json::<Value>().unwrap()["answer"], "accepted");
        let r = client()
            .post(&answer)
            .header("Authorization", &f1)
            .send_json(json!({ "answer": "refuse" }))
            .unwrap();
        assert_eq!(r.status(), 409);

        // Objections to the provisional ranking, by the application's family only.
        let objections_2 = s.url(&format!("/api/v1/applications/{app_2}/objections"));
        let text = json!({ "ranking": run.get(), "text": "Il punteggio del lavoro non considera il secondo genitore." });
        let r = client()
            .post(s.url(&format!("/api/v1/applications/{app_1}/objections")))
            .header("Authorization", &f2)
            .send_json(&text)
            .unwrap();
        assert_eq!(r.status(), 404);
        let mut r = client()
            .post(&objections_2)
            .header("Authorization", &f2)
            .send_json(json!({ "ranking": 999_999, "text": "x" }))
            .unwrap();
        assert_eq!(r.status(), 422);
        assert_eq!(
            r.body_mut().read_json::<Value>().unwrap()["errors"][0]["pointer"],
            "/ranking"
        );
        let mut r = client()
            .post(&objections_2)
            .header("Authorization", &f2)
            .send_json(&text)
            .unwrap();
        assert_eq!(r.status(), 201);
        assert_eq!(r.body_mut().read_json::<Value>().unwrap()["status"], "filed");
        let mut r = client()
            .get(&objections_2)
            .header("Authorization", &f2)
            .call()
            .unwrap();
        let listed: Value = r.body_mut().read_json().unwrap();
        assert_eq!(listed["objections"].as_array().unwrap().len(), 1);
        assert_eq!(listed["objections"][0]["text"], text["text"]);
    }
);
