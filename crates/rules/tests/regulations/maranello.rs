//! Maranello (config/rules/maranello-prima-infanzia.toml): ordered groups instead of points —
//! disability → social services → one adult → both parents employed → one parent employed →
//! grandparents not available (M1) → others.

use serde_json::{Value, json};

use crate::helpers::{explain, load, n, tier};

const FILE: &str = "maranello-prima-infanzia.toml";

fn group(overrides: Value) -> String {
    let mut inputs = json!({
        "child_birth_date": "2024-11-20",
        "child_disability": false,
        "social_services_report": false,
        "adults_in_household": 2,
        "employed_parents": 0,
        "grandparents_available": true,
        "isee": "21000.00"
    });
    crate::helpers::override_inputs(&mut inputs, &overrides);
    let e = explain(&load(FILE), &json!({"inputs": inputs}).to_string());
    assert_eq!(e.total, n(0), "Maranello gives no points");
    tier(&e, "Gruppo di priorità")
}

#[test]
fn disability_comes_first_whatever_else_holds() {
    assert_eq!(
        group(json!({"child_disability": true, "social_services_report": true, "employed_parents": 2})),
        "disability"
    );
}

#[test]
fn social_services_second() {
    assert_eq!(
        group(json!({"social_services_report": true, "adults_in_household": 1})),
        "social_services"
    );
}

#[test]
fn one_adult_third() {
    assert_eq!(
        group(json!({"adults_in_household": 1, "employed_parents": 1})),
        "one_adult"
    );
}

#[test]
fn both_employed_fourth() {
    assert_eq!(
        group(json!({"employed_parents": 2, "grandparents_available": false})),
        "both_employed"
    );
}

#[test]
fn one_employed_fifth() {
    assert_eq!(
        group(json!({"employed_parents": 1, "grandparents_available": false})),
        "one_employed"
    );
}

#[test]
fn grandparents_not_available_sixth() {
    assert_eq!(group(json!({"grandparents_available": false})), "no_grandparents");
}

#[test]
fn everyone_else_last() {
    assert_eq!(group(json!({})), "others");
}

#[test]
fn ties_by_isee_then_age_then_protocol() {
    let reg = load(FILE);
    let labels: Vec<_> = reg.tie_breaks().iter().map(|t| t.label.as_str()).collect();
    assert_eq!(
        labels,
        vec![
            "ISEE più basso (M2)",
            "Bambino più grande",
            "Numero di protocollo (M2)"
        ]
    );
    assert!(
        reg.tie_breaks()[0].order == graduatorie_rules::model::Order::Asc
            && !reg.tie_breaks()[0].missing_first
    );
}
