//! The isolation matrix: every endpoint that takes an id, for every role, on another family's or
//! another municipality's application or draft → 404 and no data; and the same endpoints for the
//! caller's own records → allowed. Front-desk operators submit for families of their own town only.

use serde_json::{Value, json};

use crate::support::*;

/// What a caller may do with an application.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum May {
    Nothing,
    Read,
    Act,
}

on_both!(
    every_role_sees_only_its_own_tenants_records,
    dev,
    |s: &TestServer| {
        let w = world(s);
        let family_1 = format!("Bearer {}", dev_login(s, FAMILY_1));
        let family_2 = format!("Bearer {}", dev_login(s, FAMILY_2));
        let staff: Vec<String> = STAFF
            .iter()
            .map(|l| format!("Bearer {}", staff_login(s, l)))
            .collect();
        let (op_a, op_b, manager, auditor, admin) = (&staff[0], &staff[1], &staff[2], &staff[3], &staff[4]);

        // Family 1 applies online in town A; the front desk of B enters family 2's application.
        let submit = s.url(&format!("/api/v1/calls/{}/applications", w.call));
        let mut r = client()
            .post(&submit)
            .header("Authorization", &family_1)
            .send_json(application(w.town_a))
            .unwrap();
        assert_eq!(r.status(), 201);
        let app_1 = r.body_mut().read_json::<Value>().unwrap()["application"]
            .as_i64()
            .unwrap();
        let mut at_desk = application(w.town_b);
        at_desk["codice_fiscale"] = json!(FAMILY_2);
        // The desk of A cannot enter it for town B, nor can the manager (not an operator).
        for who in [op_a, manager] {
            let r = client()
                .post(&submit)
                .header("Authorization", who.as_str())
                .send_json(&at_desk)
                .unwrap();
            assert!([403, 422].contains(&r.status().as_u16()), "{}", r.status());
        }
        let mut r = client()
            .post(&submit)
            .header("Authorization", op_b)
            .send_json(&at_desk)
            .unwrap();
        assert_eq!(r.status(), 201, "{}", r.body_mut().read_to_string().unwrap());
        let app_2 = r.body_mut().read_json::<Value>().unwrap()["application"]
            .as_i64()
            .unwrap();
        // A family sees the desk's application as its own.
        let mut r = client()
            .get(s.url("/api/v1/applications"))
            .header("Authorization", &family_2)
            .call()
            .unwrap();
        let mine: Value = r.body_mut().read_json().unwrap();
        assert_eq!(mine["applications"][0]["application"], app_2);

        let expected = |who: &str, app: i64| -> May {
            match (who, app == app_1) {
                ("family_1", true) | ("family_2", false) | ("op_a", true) | ("op_b", false) => May::Act,
                ("manager" | "auditor" | "admin", _) => May::Read,
                _ => May::Nothing,
            }
        };
        let callers = [
            ("family_1", family_1.as_str()),
            ("family_2", family_2.as_str()),
            ("op_a", op_a.as_str()),
            ("op_b", op_b.as_str()),
            ("manager", manager.as_str()),
            ("auditor", auditor.as_str()),
            ("admin", admin.as_str()),
        ];
        let mut amend = application(w.town_a);
        amend.as_object_mut().unwrap().remove("municipality");
        for (name, auth) in callers {
            for app in [app_1, app_2] {
                let may = expected(name, app);
                let url = s.url(&format!("/api/v1/applications/{app}"));
                let mut r = client().get(&url).header("Authorization", auth).call().unwrap();
                let body = r.body_mut().read_to_string().unwrap();
                if may == May::Nothing {
                    assert_eq!(r.status(), 404, "{name} GET {app}");
                    assert!(
                        !body.contains(FAMILY_1) && !body.contains(FAMILY_2) && !body.contains("inputs"),
                        "{body}"
                    );
                } else {
                    assert_eq!(r.status(), 200, "{name} GET {app}: {body}");
                }
                // Amending: only who may act; the others get 404 and nothing changes.
                let r = client()
                    .put(&url)
                    .header("Authorization", auth)
                    .send_json(&amend)
                    .unwrap();
                let want = if may == May::Act { 200 } else { 404 };
                assert_eq!(r.status(), want, "{name} PUT {app}");
            }
            // Another tenant's id that does not exist at all answers exactly the same.
            let r = client()
                .get(s.url("/api/v1/applications/999999"))
                .header("Authorization", auth)
                .call()
                .unwrap();
            assert_eq!(r.status(), 404);
        }
        // Withdrawing: the others first (404, still active), then the owner.
        for (name, auth) in callers {
            if expected(name, app_1) != May::Act {
                let r = client()
                    .post(s.url(&format!("/api/v1/applications/{app_1}/withdraw")))
                    .header("Authorization", auth)
                    .send_empty()
                    .unwrap();
                assert_eq!(r.status(), 404, "{name} withdraw");
            }
        }
        let store = s.store();
        let mut conn = store.conn().unwrap();
        assert_eq!(
            graduatorie_store::applications::for_ranking(&mut conn, w.call)
                .unwrap()
                .len(),
            2
        );

        // The front desk's search: each operator finds the applications of their own town only.
        for (auth, want) in [(op_a, app_1), (op_b, app_2)] {
            let mut r = client()
                .get(s.url("/api/v1/desk/applications"))
                .header("Authorization", auth.as_str())
                .call()
                .unwrap();
            assert_eq!(r.status(), 200);
            let found: Value = r.body_mut().read_json().unwrap();
            let ids: Vec<i64> = found["applications"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a["application"].as_i64().unwrap())
                .collect();
            assert_eq!(ids, vec![want]);
        }
        let mut r = client()
            .get(s.url(&format!("/api/v1/desk/applications?codice_fiscale={FAMILY_2}")))
            .header("Authorization", op_a.as_str())
            .call()
            .unwrap();
        let found: Value = r.body_mut().read_json().unwrap();
        assert!(found["applications"].as_array().unwrap().is_empty());
        for auth in [family_1.as_str(), manager.as_str()] {
            let r = client()
                .get(s.url("/api/v1/desk/applications"))
                .header("Authorization", auth)
                .call()
                .unwrap();
            assert_eq!(r.status(), 403);
        }

        // Drafts: only their author.
        let mut r = client()
            .post(s.url(&format!("/api/v1/calls/{}/drafts", w.call)))
            .header("Authorization", &family_1)
            .send_json(json!({ "inputs": { "pregnancy": true } }))
            .unwrap();
        assert_eq!(r.status(), 201);
        let draft = r.body_mut().read_json::<Value>().unwrap()["draft"]
            .as_i64()
            .unwrap();
        let url = s.url(&format!("/api/v1/drafts/{draft}"));
        for (name, auth) in callers.iter().filter(|(n, _)| *n != "family_1") {
            assert_eq!(
                client()
                    .get(&url)
                    .header("Authorization", *auth)
                    .call()
                    .unwrap()
                    .status(),
                404,
                "{name}"
            );
            assert_eq!(
                client()
                    .put(&url)
                    .header("Authorization", *auth)
                    .send_json(json!({}))
                    .unwrap()
                    .status(),
                404,
                "{name}"
            );
            assert_eq!(
                client()
                    .delete(&url)
                    .header("Authorization", *auth)
                    .call()
                    .unwrap()
                    .status(),
                404,
                "{name}"
            );
            let r = client()
                .post(format!("{url}/submit"))
                .header("Authorization", *auth)
                .send_empty()
                .unwrap();
            assert_eq!(r.status(), 404, "{name}");
        }
        let mut r = client()
            .get(&url)
            .header("Authorization", &family_1)
            .call()
            .unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(
            r.body_mut().read_json::<Value>().unwrap()["inputs"]["pregnancy"],
            true
        );

        // Town B's own call: the union's staff have no role there.
        let mut on_b = application(w.town_b);
        on_b.as_object_mut().unwrap().remove("municipality");
        let mut r = client()
            .post(s.url(&format!("/api/v1/calls/{}/applications", w.call_b)))
            .header("Authorization", &family_1)
            .send_json(&on_b)
            .unwrap();
        assert_eq!(r.status(), 201);
        let app_3 = r.body_mut().read_json::<Value>().unwrap()["application"]
            .as_i64()
            .unwrap();
        for auth in [manager, auditor, admin, op_a] {
            let r = client()
                .get(s.url(&format!("/api/v1/applications/{app_3}")))
                .header("Authorization", auth.as_str())
                .call()
                .unwrap();
            assert_eq!(r.status(), 404);
        }
        let _ = w.union;
    }
);
