//! Pescia nido (config/rules/pescia-nido.toml). Points from shared/regolamenti/README.md: disabled child
//! 40; disabled member 20 (P3: once); single parent 15; other child under 14: 2 (P4: each); both parents
//! over 6 h 40; single parent working 40; one over 6 h and the other not always 30; both not always 26;
//! one full time and one part time 20; no grandparents 5; sibling attending 5; twin 5 (P4: each);
//! ISEE bands P1: ≤6,000 → 10, ≤12,000 → 8, ≤18,000 → 6, ≤24,000 → 4, above → 3.

use serde_json::{Value, json};

use crate::helpers::{explain, load, n, points, subtotal, tier};

const FILE: &str = "pescia-nido.toml";

fn app(hours: &[&str], overrides: Value) -> String {
    let parents: Vec<Value> = hours.iter().map(|h| json!({"hours": h})).collect();
    let mut inputs = json!({
        "child_birth_date": "2025-03-01",
        "hardship": false,
        "child_disability": false,
        "disabled_member": false,
        "single_parent": false,
        "parents": parents,
        "children_under_14": 0,
        "no_grandparents": false,
        "sibling_attending": false,
        "twins": 0,
        "isee": "15000.00"
    });
    crate::helpers::override_inputs(&mut inputs, &overrides);
    json!({"protocol": "2026/000007", "submitted_at": "2026-04-10T10:00:00+02:00", "inputs": inputs})
        .to_string()
}

#[test]
fn both_parents_over_six_hours() {
    let e = explain(
        &load(FILE),
        &app(&["over_6", "over_6"], json!({"isee": "5000.00"})),
    );
    // Work 40; ISEE 5,000.00 ≤ 6,000.00 → 10. Total 40 + 10 = 50.
    assert_eq!(points(&e, "work"), n(40));
    assert_eq!(points(&e, "isee"), n(10));
    assert_eq!(e.total, n(50));
}

#[test]
fn single_parent_working() {
    let e = explain(
        &load(FILE),
        &app(&["over_6"], json!({"single_parent": true, "isee": "12000.00"})),
    );
    // Single parent 15 + single parent working 40; ISEE 12,000.00 is the top of 6,000.01–12,000.00 → 8.
    assert_eq!(points(&e, "single_parent"), n(15));
    assert_eq!(points(&e, "work"), n(40));
    assert_eq!(points(&e, "isee"), n(8));
    assert_eq!(e.total, n(15 + 40 + 8));
}

#[test]
fn one_over_six_other_not_always_with_children() {
    let e = explain(
        &load(FILE),
        &app(
            &["over_6", "not_always_over_6"],
            json!({"children_under_14": 2, "isee": "12000.01"}),
        ),
    );
    // Work 30; two children under 14: 2 × 2 = 4; ISEE 12,000.01 → band 12,000.01–18,000.00 → 6.
    assert_eq!(points(&e, "work"), n(30));
    assert_eq!(points(&e, "children_under_14"), n(4));
    assert_eq!(points(&e, "isee"), n(6));
    assert_eq!(subtotal(&e, "household"), n(4));
    assert_eq!(e.total, n(30 + 4 + 6));
}

#[test]
fn both_not_always_twin_no_grandparents_no_isee() {
    let e = explain(
        &load(FILE),
        &app(
            &["not_always_over_6", "not_always_over_6"],
            json!({"twins": 1, "no_grandparents": true, "isee": null}),
        ),
    );
    // Work 26; one twin 5; no grandparents 5; no ISEE → 0 (P1). Total 36.
    assert_eq!(points(&e, "work"), n(26));
    assert_eq!(points(&e, "twins"), n(5));
    assert_eq!(points(&e, "no_grandparents"), n(5));
    assert_eq!(points(&e, "isee"), n(0));
    assert_eq!(e.total, n(26 + 5 + 5));
    // Missing ISEE is a missing tie-break value (ranked last).
    assert_eq!(e.tie_break[0].value, None);
}

#[test]
fn full_time_and_part_time_with_sibling() {
    let e = explain(
        &load(FILE),
        &app(
            &["part_time", "over_6"],
            json!({"sibling_attending": true, "isee": "24000.01"}),
        ),
    );
    // Work 20 (order of parents does not matter); sibling 5; ISEE 24,000.01 → 3. Total 28.
    assert_eq!(points(&e, "work"), n(20));
    assert_eq!(points(&e, "sibling_attending"), n(5));
    assert_eq!(points(&e, "isee"), n(3));
    assert_eq!(e.total, n(28));
}

#[test]
fn disabilities_without_work() {
    let e = explain(
        &load(FILE),
        &app(
            &["none", "none"],
            json!({"child_disability": true, "disabled_member": true, "isee": "6000.00"}),
        ),
    );
    // Child 40 + member 20; nobody works → 0 (P2); ISEE 6,000.00 → 10. Total 70.
    assert_eq!(points(&e, "child_disability"), n(40));
    assert_eq!(points(&e, "disabled_member"), n(20));
    assert_eq!(points(&e, "work"), n(0));
    assert_eq!(e.total, n(40 + 20 + 10));
}

#[test]
fn unlisted_work_situation_gives_nothing() {
    let e = explain(
        &load(FILE),
        &app(&["not_always_over_6", "none"], json!({"isee": "18000.00"})),
    );
    // One parent not always over 6 h and one not working is not in the list → 0 (P2); ISEE 18,000.00 → 6.
    assert_eq!(points(&e, "work"), n(0));
    assert_eq!(points(&e, "isee"), n(6));
    assert_eq!(e.total, n(6));
    assert_eq!(tier(&e, "Precedenza"), "none");
}

#[test]
fn hardship_is_a_reserved_precedence() {
    let e = explain(
        &load(FILE),
        &app(
            &["over_6", "over_6"],
            json!({"hardship": true, "isee": "30000.00"}),
        ),
    );
    // Precedence group first; points still computed: 40 + ISEE 30,000.00 > 24,000.00 → 3.
    assert_eq!(tier(&e, "Precedenza"), "hardship");
    assert_eq!(e.total, n(43));
    // The draw is computed by the ranker from the seed, not here.
    assert_eq!(e.tie_break[2].label, "Sorteggio pubblico (P5)");
    assert_eq!(e.tie_break[2].value, None);
}
