//! Ravarino nidi through the union-wide regulation (config/rules/unione-sorbara-nidi.toml, extended by
//! ravarino-nidi.toml) and a member town's overrides (bomporto-nidi.toml). Points from
//! shared/regolamenti/README.md ("Ravarino"): parent absent widowed/unmarried 35, separated 25; other
//! children 0–8: 1→5, 2→10, 3→15, ≥4→20; 9–16: 1→2, 2→5, 3→8, ≥4→11; twins 5, more than two 15;
//! pregnancy 5; invalid parent/sibling 100% 15, 67–99% 10, under 67% 3; other relative over 67% 5;
//! work: self-employed/contract ≥1 year 13, contract <1 year 10, student 3, unemployed 8, substitute
//! lists 8, not employed for invalidity 12; extras: working student 3, ≥30 h 12, 21–29 h 8, ≤20 h 6,
//! project 6, away all week 5, a week a month 2, commute >25 km 3, night work 6, night shifts 4.

use graduatorie_rules::{ApplicationJson, FacilityTable};
use serde_json::{Value, json};

use crate::helpers::{explain, load, n, points, subtotal, tier};

fn worker(hours: i64) -> Value {
    json!({"work": "self_employed_or_long_contract", "weekly_hours": hours, "working_student": false,
           "project_worker": false, "away": "no", "commute_over_25km": false, "night": "no"})
}

fn app(overrides: Value) -> String {
    let mut inputs = json!({
        "child_birth_date": "2025-01-15",
        "parent_absent": "no",
        "multiple_birth": 1,
        "pregnancy": false,
        "other_children": [],
        "invalid_members": [],
        "parents": [{"work": "none"}, {"work": "none"}]
    });
    crate::helpers::override_inputs(&mut inputs, &overrides);
    json!({"protocol": "2026/000003", "preferences": ["n1", "n2", "n3"], "inputs": inputs}).to_string()
}

#[test]
fn widowed_parent_working_full_time_with_extras() {
    let mut w = worker(36);
    w["commute_over_25km"] = json!(true);
    w["night"] = json!("night_shifts");
    let e = explain(
        &load("ravarino-nidi.toml"),
        &app(json!({"parent_absent": "widowed_or_unmarried", "parents": [w]})),
    );
    // Household 35; work: contract 13 + 36 h ≥ 30 → 12 + commute 3 + night shifts 4 = 32.
    assert_eq!(points(&e, "parent_absent"), n(35));
    assert_eq!(points(&e, "hours"), n(12));
    assert_eq!(subtotal(&e, "work"), n(13 + 12 + 3 + 4));
    assert_eq!(e.total, n(35 + 32));
}

#[test]
fn children_counted_by_age_at_the_reference_date() {
    let mut student_worker = json!({"work": "short_contract", "weekly_hours": 20, "working_student": true,
        "project_worker": false, "away": "no", "commute_over_25km": false, "night": "no"});
    student_worker["working_student"] = json!(true);
    let e = explain(
        &load("ravarino-nidi.toml"),
        &app(json!({
            "parent_absent": "separated",
            "other_children": [
                {"birth_date": "2019-09-01"}, // 7 years on 1/9/2026 → 0–8
                {"birth_date": "2017-09-02"}, // 8 years (9 only on 2/9/2026) → 0–8
                {"birth_date": "2017-09-01"}, // 9 years → 9–16
                {"birth_date": "2010-08-31"}, // 16 years → 9–16
                {"birth_date": "2009-09-01"}  // 17 years → neither
            ],
            "parents": [student_worker, {"work": "unemployed"}]
        })),
    );
    // Household: separated 25 + two children 0–8 → 10 + two children 9–16 → 5 = 40.
    assert_eq!(points(&e, "children_0_8"), n(10));
    assert_eq!(points(&e, "children_9_16"), n(5));
    assert_eq!(subtotal(&e, "household"), n(25 + 10 + 5));
    // Work: short contract 10 + 20 h → 6 + working student 3; unemployed 8. Total 27.
    assert_eq!(subtotal(&e, "work"), n(10 + 6 + 3 + 8));
    assert_eq!(e.total, n(40 + 27));
}

#[test]
fn four_or_more_children_cap_the_band() {
    let kids: Vec<Value> = [
        "2020-01-01",
        "2021-01-01",
        "2022-01-01",
        "2023-01-01",
        "2024-01-01",
    ]
    .iter()
    .map(|d| json!({"birth_date": d}))
    .collect();
    let e = explain(&load("ravarino-nidi.toml"), &app(json!({"other_children": kids})));
    // Five children aged 2–6: "4 or more" → 20.
    assert_eq!(points(&e, "children_0_8"), n(20));
    assert_eq!(e.total, n(20));
}

#[test]
fn twins_triplets_and_pregnancy() {
    let reg = load("ravarino-nidi.toml");
    let e = explain(
        &reg,
        &app(json!({"multiple_birth": 2, "pregnancy": true,
        "parents": [{"work": "student"}, {"work": "substitute_teacher"}]})),
    );
    // Twins 5 + pregnancy 5; work: student 3 + substitute lists 8.
    assert_eq!(points(&e, "twins"), n(5));
    assert_eq!(points(&e, "pregnancy"), n(5));
    assert_eq!(e.total, n(5 + 5 + 3 + 8));
    let e = explain(&reg, &app(json!({"multiple_birth": 3})));
    // More than two → 15.
    assert_eq!(points(&e, "twins"), n(15));
}

#[test]
fn invalid_members_by_relation_and_percentage() {
    let e = explain(
        &load("ravarino-nidi.toml"),
        &app(json!({
            "invalid_members": [
                {"relation": "parent_or_sibling", "percent": 100}, // 15
                {"relation": "parent_or_sibling", "percent": 67},  // 67–99 → 10
                {"relation": "parent_or_sibling", "percent": 66},  // under 67 → 3
                {"relation": "other_relative", "percent": 67},     // not over 67 (R2) → 0
                {"relation": "other_relative", "percent": 68}      // over 67 → 5
            ],
            "parents": [{"work": "invalid"}]
        })),
    );
    assert_eq!(points(&e, "invalid_parent_or_sibling"), n(15 + 10 + 3));
    assert_eq!(points(&e, "invalid_other_relative"), n(5));
    // Work: not employed because of invalidity 12.
    assert_eq!(points(&e, "parent_work"), n(12));
    assert_eq!(e.total, n(28 + 5 + 12));
}

#[test]
fn hours_band_edges() {
    let reg = load("ravarino-nidi.toml");
    let hours = |a: i64, b: i64| {
        points(
            &explain(&reg, &app(json!({"parents": [worker(a), worker(b)]}))),
            "hours",
        )
    };
    // ≤20 → 6; 21–29 → 8; ≥30 → 12.
    assert_eq!(hours(20, 30), n(6 + 12));
    assert_eq!(hours(21, 29), n(8 + 8));
    assert_eq!(hours(1, 80), n(6 + 12));
}

#[test]
fn away_project_and_night_work() {
    let mut a = worker(25);
    a["away"] = json!("all_week");
    a["project_worker"] = json!(true);
    let mut b = worker(30);
    b["away"] = json!("week_a_month");
    b["night"] = json!("night_work");
    let e = explain(&load("ravarino-nidi.toml"), &app(json!({"parents": [a, b]})));
    // a: 13 + 8 (25 h) + project 6 + away all week 5 = 32; b: 13 + 12 + week a month 2 + night 6 = 33.
    assert_eq!(points(&e, "away"), n(5 + 2));
    assert_eq!(points(&e, "project_worker"), n(6));
    assert_eq!(points(&e, "night"), n(6));
    assert_eq!(subtotal(&e, "work"), n(32 + 33));
    assert_eq!(e.total, n(65));
}

#[test]
fn questions_not_asked_are_refused() {
    let reg = load("ravarino-nidi.toml");
    let text = app(json!({"parents": [{"work": "student", "weekly_hours": 10}]}));
    let app: ApplicationJson = serde_json::from_str(&text).unwrap();
    let err = reg.facts(&app, &mut FacilityTable::open()).unwrap_err();
    assert_eq!(err.errors.len(), 1);
    assert_eq!(err.errors[0].pointer, "/inputs/parents/0/weekly_hours");
    assert!(err.errors[0].message.starts_with("not asked"));
    // And a worker must say the hours.
    let text = self::app(
        json!({"parents": [{"work": "short_contract", "working_student": false,
        "project_worker": false, "away": "no", "commute_over_25km": false, "night": "no"}]}),
    );
    let app: ApplicationJson = serde_json::from_str(&text).unwrap();
    let err = reg.facts(&app, &mut FacilityTable::open()).unwrap_err();
    assert_eq!(err.errors[0].pointer, "/inputs/parents/0/weekly_hours");
    assert_eq!(err.errors[0].message, "required");
}

#[test]
fn ravarino_is_the_union_regulation_under_its_own_name() {
    let union = load("unione-sorbara-nidi.toml");
    let town = load("ravarino-nidi.toml");
    assert_eq!(town.identity.authority, "Comune di Ravarino");
    assert_eq!(town.identity.school_year, union.identity.school_year);
    assert_eq!(town.identity.files.len(), 2);
    assert_ne!(town.hash, union.hash, "the identity is part of the hashed text");
    let text = app(json!({"parent_absent": "separated", "pregnancy": true}));
    assert_eq!(explain(&union, &text).total, explain(&town, &text).total);
}

#[test]
fn member_town_overrides() {
    let reg = load("bomporto-nidi.toml");
    let mut w = worker(36);
    w["commute_over_25km"] = json!(true);
    let mut inputs = json!({"parent_absent": "widowed_or_unmarried", "parents": [w], "residence": "union", "sibling_facility": "n2"});
    let mut text: Value = serde_json::from_str(&app(inputs.take())).unwrap();
    text["inputs"].as_object_mut().unwrap().remove("pregnancy");
    let e = explain(&reg, &text.to_string());
    // Commute is worth 4 here (3 in the union); pregnancy is switched off, and so is its question.
    assert_eq!(points(&e, "commute"), n(4));
    assert!(e.criteria.iter().all(|c| c.id != "pregnancy"));
    assert!(reg.form().fields.iter().all(|f| f.name != "pregnancy"));
    text["inputs"]["pregnancy"] = json!(true);
    let app: ApplicationJson = serde_json::from_value(text).unwrap();
    let err = reg.facts(&app, &mut FacilityTable::open()).unwrap_err();
    assert_eq!(err.errors[0].pointer, "/inputs/pregnancy");
    // Base: 35 + (13 + 12 + 4) = 64, independent of the facility.
    assert_eq!(e.total, n(35 + 29));
    assert_eq!(tier(&e, "Residenza"), "union");
    // Per facility: n1 is the first choice (+1); n2 is the sibling's nido (+4); n3 neither.
    let totals: Vec<_> = e
        .facilities
        .iter()
        .map(|f| (f.facility.as_str(), f.total))
        .collect();
    assert_eq!(totals, vec![("n1", n(64 + 1)), ("n2", n(64 + 4)), ("n3", n(64))]);
    assert!(reg.is_per_facility());
    // The flattened regulation shows the effective values.
    assert!(reg.flattened.contains("[criteria.commute]"));
    assert!(reg.flattened.contains("Comune di Bomporto"));
}
