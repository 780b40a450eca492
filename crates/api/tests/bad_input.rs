//! Bad input, field by field: every refusal is a problem document naming the place (a JSON pointer,
//! or line and column), never repeating what was typed, and nothing is stored.

use serde_json::{Value, json};

use crate::support::*;

const SECRET: &str = "RSSMRA80A01H501U-SEGRETO";

fn pointers(p: &Value) -> Vec<String> {
    p["errors"].as_array().map_or_else(Vec::new, |e| {
        e.iter()
            .map(|x| x["pointer"].as_str().unwrap().to_owned())
            .collect()
    })
}

on_both!(
    bad_submissions_are_refused_field_by_field,
    dev,
    |s: &TestServer| {
        let w = world(s);
        let auth = format!("Bearer {}", dev_login(s, FAMILY_1));
        let submit = s.url(&format!("/api/v1/calls/{}/applications", w.call));
        let post = |body: &Value| {
            let mut r = client()
                .post(&submit)
                .header("Authorization", &auth)
                .send_json(body)
                .unwrap();
            let status = r.status().as_u16();
            let text = r.body_mut().read_to_string().unwrap();
            assert!(
                !text.contains(SECRET) && !text.contains("SEGRETO"),
                "echoed: {text}"
            );
            (status, serde_json::from_str::<Value>(&text).unwrap())
        };
        let with = |pointer: &str, value: Value| {
            let mut b = application(w.town_a);
            match b.pointer_mut(pointer) {
                Some(slot) => *slot = value,
                None => b[pointer.trim_start_matches('/')] = value,
            }
            b
        };
        let cases: Vec<(Value, &str)> = vec![
            (
                with("/inputs/child_birth_date", json!(SECRET)),
                "/inputs/child_birth_date",
            ),
            (
                with("/inputs/child_birth_date", json!("2010-01-01")),
                "/inputs/child_birth_date",
            ),
            (with("/inputs/multiple_birth", json!(0)), "/inputs/multiple_birth"),
            (
                with("/inputs/multiple_birth", json!("due")),
                "/inputs/multiple_birth",
            ),
            (
                with("/inputs/parent_absent", json!(SECRET)),
                "/inputs/parent_absent",
            ),
            (with("/inputs/pregnancy", json!("forse")), "/inputs/pregnancy"),
            (with("/inputs/parents", json!([])), "/inputs/parents"),
            (
                with("/inputs/parents/0/weekly_hours", json!(200)),
                "/inputs/parents/0/weekly_hours",
            ),
            (
                with("/preferences", json!(["girasole", "girasole"])),
                "/preferences/1",
            ),
            (with("/preferences", json!(["nessuno"])), "/preferences/0"),
            (
                with("/preferences", json!(["spazi non ammessi"])),
                "/preferences/0",
            ),
            (with("/contact_email", json!("non-una-mail")), "/contact_email"),
            (with("/municipality", json!(w.union.get())), "/municipality"),
            (with("/municipality", json!(999_999)), "/municipality"),
            (with("/family", json!("")), "/family"),
            (with("/codice_fiscale", json!(FAMILY_2)), "/codice_fiscale"),
        ];
        for (body, pointer) in &cases {
            let (status, p) = post(body);
            assert_eq!(status, 422, "{pointer}: {p}");
            assert_eq!(p["type"], "urn:graduatorie:problem:invalid");
            assert!(pointers(&p).contains(&(*pointer).to_owned()), "{pointer}: {p}");
        }
        let mut unknown = application(w.town_a);
        unknown["inputs"]["shoe_size"] = json!(38);
        let (status, p) = post(&unknown);
        assert_eq!(status, 422);
        assert_eq!(pointers(&p), vec!["/inputs/shoe_size"]);
        let mut no_town = application(w.town_a);
        no_town.as_object_mut().unwrap().remove("municipality");
        assert_eq!(pointers(&post(&no_town).1), vec!["/municipality"]);

        // Shapes serde refuses: a 400 with line and column, the value not repeated.
        for body in [
            json!({ "inputs": [] }),
            json!({ "preferences": SECRET }),
            json!({ "municipality": SECRET }),
            json!({ "colour": 1 }),
        ] {
            let (status, p) = post(&body);
            assert_eq!(status, 400, "{body}: {p}");
            assert_eq!(p["type"], "urn:graduatorie:problem:bad-request");
            assert!(p["detail"].as_str().unwrap().contains(", colonna "), "{p}");
        }
        // Not JSON, not declared as JSON, too large, a malformed key.
        let raw = |content_type: &str, body: &[u8]| {
            let mut r = client()
                .post(&submit)
                .header("Authorization", &auth)
                .header("Content-Type", content_type)
                .send(body)
                .unwrap();
            let status = r.status().as_u16();
            let text = r.body_mut().read_to_string().unwrap();
            assert!(!text.contains("SEGRETO"), "{text}");
            (status, text)
        };
        assert_eq!(
            raw(
                "application/json",
                format!("{{\"inputs\": {{\"x\": \"{SECRET}\"").as_bytes()
            )
            .0,
            400
        );
        assert_eq!(raw("application/json", b"\xff\xfe").0, 400);
        assert_eq!(raw("text/plain", b"{}").0, 415);
        let big = format!("{{\"family\": \"{}\"}}", "x".repeat(300 * 1024));
        assert_eq!(raw("application/json", big.as_bytes()).0, 413);
        let r = client()
            .post(&submit)
            .header("Authorization", &auth)
            .header("Idempotency-Key", "")
            .send_json(application(w.town_a))
            .unwrap();
        assert_eq!(r.status(), 400);

        // Ids and queries that are not ids.
        for path in [
            "/api/v1/applications/abc",
            "/api/v1/applications/99999999999999999999999",
            "/api/v1/calls/-/form",
            "/api/v1/drafts/1.5",
        ] {
            let r = client()
                .get(s.url(path))
                .header("Authorization", &auth)
                .call()
                .unwrap();
            assert_eq!(r.status(), 404, "{path}");
        }
        let op = format!("Bearer {}", staff_login(s, "sportello.a"));
        for (query, pointer) in [
            ("protocol=2026-1", "/protocol"),
            ("codice_fiscale=RSSMRA80A01H501X", "/codice_fiscale"),
            ("limit=0", "/limit"),
        ] {
            let mut r = client()
                .get(s.url(&format!("/api/v1/desk/applications?{query}")))
                .header("Authorization", &op)
                .call()
                .unwrap();
            assert_eq!(r.status(), 422, "{query}");
            assert_eq!(pointers(&r.body_mut().read_json().unwrap()), vec![pointer]);
        }
        let r = client()
            .get(s.url("/api/v1/desk/applications?call=abc"))
            .header("Authorization", &op)
            .call()
            .unwrap();
        assert_eq!(r.status(), 400);

        // None of it stored anything.
        let store = s.store();
        let mut conn = store.conn().unwrap();
        assert!(
            graduatorie_store::applications::for_ranking(&mut conn, w.call)
                .unwrap()
                .is_empty()
        );
        // And the English version of a problem.
        let mut r = client()
            .post(&submit)
            .header("Authorization", &auth)
            .header("Accept-Language", "en")
            .send_json(&no_town)
            .unwrap();
        assert_eq!(
            r.body_mut().read_json::<Value>().unwrap()["title"],
            "Invalid data"
        );
    }
);

#[test]
fn field_reasons_are_in_italian_or_in_english_by_accept_language() {
    let s = TestServer::start_with(
        graduatorie_store::Backend::Sqlite,
        &[("GRADUATORIE__AUTH__DEV_LOGIN", "true")],
    );
    let w = world(&s);
    let auth = format!("Bearer {}", dev_login(&s, FAMILY_1));
    let mut body = application(w.town_a);
    body["inputs"].as_object_mut().unwrap().remove("child_birth_date");
    body["inputs"]["multiple_birth"] = json!(9);
    body["inputs"]["parent_absent"] = json!("forse");
    body["preferences"] = json!(["girasole", "girasole"]);
    let reasons_of = |body: &Value, language: &str| {
        let mut r = client()
            .post(s.url(&format!("/api/v1/calls/{}/applications", w.call)))
            .header("Authorization", &auth)
            .header("Accept-Language", language)
            .send_json(body)
            .unwrap();
        assert_eq!(r.status(), 422);
        let p: Value = r.body_mut().read_json().unwrap();
        p["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                (
                    e["pointer"].as_str().unwrap().to_owned(),
                    e["reason"].as_str().unwrap().to_owned(),
                )
            })
            .collect::<Vec<_>>()
    };
    let reasons = |language: &str| reasons_of(&body, language);
    // The bounds and options are the union regulation's: 1–6 children of one birth; the three
    // values of "Genitore assente".
    let expected = |required: &str, range: &str, options: &str, twice: &str| {
        vec![
            ("/inputs/child_birth_date".to_owned(), required.to_owned()),
            ("/inputs/multiple_birth".to_owned(), range.to_owned()),
            ("/inputs/parent_absent".to_owned(), options.to_owned()),
            ("/preferences/1".to_owned(), twice.to_owned()),
        ]
    };
    assert_eq!(
        reasons("it-IT,it;q=0.9"),
        expected(
            "obbligatorio",
            "deve essere compreso tra 1 e 6",
            "deve essere uno tra: no, widowed_or_unmarried, separated",
            "struttura indicata due volte"
        )
    );
    assert_eq!(
        reasons("en"),
        expected(
            "required",
            "must be between 1 and 6",
            "must be one of: no, widowed_or_unmarried, separated",
            "facility listed twice"
        )
    );

    // The service's own checks of the body's shape speak both languages too.
    let mut shape = application(w.town_a);
    shape["contact_email"] = json!("non-una-mail");
    shape["family"] = json!("");
    shape["preferences"] = json!(vec!["girasole"; 101]);
    let expected = |email: &str, family: &str, preferences: &str| {
        vec![
            ("/contact_email".to_owned(), email.to_owned()),
            ("/family".to_owned(), family.to_owned()),
            ("/preferences".to_owned(), preferences.to_owned()),
        ]
    };
    assert_eq!(
        reasons_of(&shape, "it"),
        expected(
            "non è un indirizzo e-mail valido",
            "da 1 a 64 caratteri",
            "al massimo 100 elementi"
        )
    );
    assert_eq!(
        reasons_of(&shape, "en"),
        expected(
            "not a valid e-mail address",
            "1 to 64 characters",
            "at most 100 items"
        )
    );
    let mut cf = application(w.town_a);
    cf["codice_fiscale"] = json!("RSSMRA80A01H501X");
    let op = format!("Bearer {}", staff_login(&s, "sportello.a"));
    let cf_reason = |language: &str| {
        let mut r = client()
            .post(s.url(&format!("/api/v1/calls/{}/applications", w.call)))
            .header("Authorization", &op)
            .header("Accept-Language", language)
            .send_json(&cf)
            .unwrap();
        assert_eq!(r.status(), 422);
        let p: Value = r.body_mut().read_json().unwrap();
        p["errors"][0]["reason"].as_str().unwrap().to_owned()
    };
    assert_eq!(
        cf_reason("it"),
        "il carattere di controllo del codice fiscale è sbagliato"
    );
    assert_eq!(cf_reason("en"), "codice fiscale: wrong check character");
}
