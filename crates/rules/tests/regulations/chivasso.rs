//! Chivasso nido (config/rules/chivasso-nido.toml). Points from shared/regolamenti/README.md: orphan of
//! both parents 44; one parent with the child dependent 30; parent invalid ≥75% 35, <75% 20 (C1: each);
//! other member invalid ≥75% 10 (C2: each); twins 6 (C3: once); last year's waiting list 3; each sibling
//! attending 3; each other child 3.

use graduatorie_rules::{ApplicationJson, FacilityTable};
use serde_json::{Value, json};

use crate::helpers::{explain, load, n, points};

const FILE: &str = "chivasso-nido.toml";

fn app(overrides: Value) -> String {
    let mut inputs = json!({
        "child_birth_date": "2025-02-01",
        "household": "both_parents",
        "parent_invalidity": [],
        "invalid_members_75": 0,
        "twins": false,
        "waiting_list_last_year": false,
        "siblings_attending": 0,
        "other_children": 0,
        "isee": "9800.00"
    });
    crate::helpers::override_inputs(&mut inputs, &overrides);
    json!({"protocol": "2026/000042", "inputs": inputs}).to_string()
}

#[test]
fn orphan_twin() {
    let e = explain(
        &load(FILE),
        &app(json!({"household": "orphan", "twins": true, "parent_invalidity": null})),
    );
    // 44 + 6.
    assert_eq!(points(&e, "household"), n(44));
    assert_eq!(points(&e, "twins"), n(6));
    assert_eq!(e.total, n(50));
}

#[test]
fn single_parent_invalid() {
    let e = explain(
        &load(FILE),
        &app(json!({"household": "single_parent", "parent_invalidity": [{"percent": 80}]})),
    );
    // 30 + (80% ≥ 75% → 35).
    assert_eq!(e.total, n(30 + 35));
}

#[test]
fn invalidity_edges_and_members() {
    let e = explain(
        &load(FILE),
        &app(json!({"parent_invalidity": [{"percent": 74}, {"percent": 75}], "invalid_members_75": 2})),
    );
    // 74% → 20; 75% → 35; two members 2 × 10 = 20.
    assert_eq!(points(&e, "parent_invalidity"), n(20 + 35));
    assert_eq!(points(&e, "invalid_members"), n(20));
    assert_eq!(e.total, n(75));
    let e = explain(
        &load(FILE),
        &app(json!({"parent_invalidity": [{"percent": 1}, {"percent": 100}]})),
    );
    assert_eq!(e.total, n(20 + 35));
}

#[test]
fn waiting_list_siblings_and_children() {
    let e = explain(
        &load(FILE),
        &app(json!({"waiting_list_last_year": true, "siblings_attending": 2, "other_children": 3})),
    );
    // 3 + 2 × 3 + 3 × 3 = 18.
    assert_eq!(points(&e, "waiting_list"), n(3));
    assert_eq!(points(&e, "siblings_attending"), n(6));
    assert_eq!(points(&e, "other_children"), n(9));
    assert_eq!(e.total, n(18));
}

#[test]
fn nothing_to_score_and_missing_isee() {
    let e = explain(&load(FILE), &app(json!({"isee": null})));
    assert_eq!(e.total, n(0));
    assert_eq!(e.tie_break[0].value, None);
    assert_eq!(e.tie_break[1].value.as_deref(), Some("2025-02-01"));
}

#[test]
fn an_orphan_is_not_asked_about_parents() {
    let reg = load(FILE);
    let app: ApplicationJson = serde_json::from_str(&app(
        json!({"household": "orphan", "parent_invalidity": [{"percent": 50}]}),
    ))
    .unwrap();
    let err = reg.facts(&app, &mut FacilityTable::open()).unwrap_err();
    assert_eq!(err.errors[0].pointer, "/inputs/parent_invalidity");
}

#[test]
fn too_many_parents_is_refused() {
    let reg = load(FILE);
    let three = json!([{"percent": 50}, {"percent": 50}, {"percent": 50}]);
    let app: ApplicationJson = serde_json::from_str(&app(json!({"parent_invalidity": three}))).unwrap();
    let err = reg.facts(&app, &mut FacilityTable::open()).unwrap_err();
    assert_eq!(err.errors[0].pointer, "/inputs/parent_invalidity");
    assert_eq!(err.errors[0].message, "must have from 0 to 2 records");
}

#[test]
fn isee_is_a_tie_break_value() {
    let e = explain(&load(FILE), &app(json!({"isee": "12345.67"})));
    assert_eq!(e.tie_break[0].value.as_deref(), Some("12345.67"));
}
