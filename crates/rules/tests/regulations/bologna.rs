//! Bologna nidi (config/rules/bologna-nidi.toml). Points from shared/regolamenti/README.md:
//! single parent 15, exclusive custody 12, parent severe disability or 100% invalid 20, invalid >65% and
//! <100% 15, invalid 33–65% 5, disabled sibling 15 each, other cohabitant 100% invalid 5 (A3: each),
//! twin 4 each, other child 0–5: 2 each (A1); work: steady 20, occasional 10, student 20, shift +2 and
//! workplace >50 km +2 (A2). Sections by months at 1/9/2026 (A5).

use graduatorie_rules::Eligibility;
use serde_json::{Value, json};

use crate::helpers::{d, explain, load, n, points, subtotal, tier};

const FILE: &str = "bologna-nidi.toml";

/// A complete on-time application of a two-parent family with nothing to score; tests override fields.
fn app(overrides: Value) -> String {
    let mut inputs = json!({
        "residence": "resident",
        "vaccinated": true,
        "child_birth_date": "2025-05-10",
        "child_disability": false,
        "social_services": false,
        "family_situation": "two_parents",
        "parents": [
            {"work": "none", "severe_disability": false},
            {"work": "none", "severe_disability": false}
        ],
        "disabled_siblings": 0,
        "invalid_cohabitants": 0,
        "twins": 0,
        "other_children_0_5": 0,
        "isee": "18500.00"
    });
    let mut submitted = json!("2026-03-02T09:15:00+01:00");
    let mut overrides = overrides;
    if let Some(t) = overrides.as_object_mut().and_then(|o| o.remove("submitted_at")) {
        submitted = t;
    }
    crate::helpers::override_inputs(&mut inputs, &overrides);
    json!({"protocol": "2026/000001", "submitted_at": submitted, "preferences": ["n1"], "inputs": inputs})
        .to_string()
}

#[test]
fn two_employed_parents() {
    let reg = load(FILE);
    let e = explain(
        &reg,
        &app(json!({"parents": [
            {"work": "employed", "shift_work": false, "far_workplace": false, "severe_disability": false},
            {"work": "employed", "shift_work": false, "far_workplace": false, "severe_disability": false}
        ]})),
    );
    // Work: 20 + 20 = 40; household: nothing applies = 0.
    assert_eq!(points(&e, "parent_work"), n(20 + 20));
    assert_eq!(subtotal(&e, "work"), n(40));
    assert_eq!(subtotal(&e, "household"), n(0));
    assert_eq!(e.total, n(40));
    assert_eq!(e.eligibility, Eligibility::Eligible);
    // Born 10/5/2025; at 1/9/2026: (2026−2025)×12 + (9−5) = 16 months, minus 1 because day 1 < 10 → 15:
    // piccoli (12–17).
    assert_eq!(e.section.as_ref().unwrap().id, "piccoli");
    assert_eq!(tier(&e, "Presentazione"), "on_time");
    assert_eq!(tier(&e, "Precedenza"), "none");
}

#[test]
fn single_parent_with_a_twin() {
    let reg = load(FILE);
    let e = explain(
        &reg,
        &app(json!({
            "family_situation": "single_parent",
            "parents": [{"work": "employed", "shift_work": false, "far_workplace": false, "severe_disability": false}],
            "twins": 1
        })),
    );
    // Household: single parent 15 + one twin 4 × 1 = 19; work: 20. Total 39.
    assert_eq!(points(&e, "family_situation"), n(15));
    assert_eq!(points(&e, "twins"), n(4));
    assert_eq!(subtotal(&e, "household"), n(15 + 4));
    assert_eq!(subtotal(&e, "work"), n(20));
    assert_eq!(e.total, n(39));
}

#[test]
fn exclusive_custody_occasional_work_with_extras() {
    let reg = load(FILE);
    let e = explain(
        &reg,
        &app(json!({
            "family_situation": "exclusive_custody",
            "parents": [{"work": "occasional", "shift_work": true, "far_workplace": true, "severe_disability": false}],
            "other_children_0_5": 2
        })),
    );
    // Household: custody 12 + other children 2 × 2 = 16; work: occasional 10 + shifts 2 + far 2 = 14.
    assert_eq!(points(&e, "family_situation"), n(12));
    assert_eq!(points(&e, "other_children"), n(2 * 2));
    assert_eq!(points(&e, "shift_work"), n(2));
    assert_eq!(points(&e, "far_workplace"), n(2));
    assert_eq!(subtotal(&e, "household"), n(12 + 4));
    assert_eq!(subtotal(&e, "work"), n(10 + 2 + 2));
    assert_eq!(e.total, n(30));
}

#[test]
fn invalid_parents_siblings_and_cohabitants() {
    let reg = load(FILE);
    let e = explain(
        &reg,
        &app(json!({
            "parents": [
                {"work": "none", "severe_disability": false, "invalidity_percent": 100},
                {"work": "none", "severe_disability": true}
            ],
            "disabled_siblings": 1,
            "invalid_cohabitants": 2
        })),
    );
    // 100% invalid → 20; severe disability → 20; one disabled sibling 15; two cohabitants 2 × 5 = 10.
    assert_eq!(points(&e, "parent_invalidity"), n(20 + 20));
    assert_eq!(points(&e, "disabled_siblings"), n(15));
    assert_eq!(points(&e, "invalid_cohabitants"), n(2 * 5));
    assert_eq!(e.total, n(40 + 15 + 10));
}

#[test]
fn invalidity_band_edges() {
    let reg = load(FILE);
    let with = |a: i64, b: i64| {
        explain(
            &reg,
            &app(json!({"parents": [
                {"work": "student", "severe_disability": false, "invalidity_percent": a},
                {"work": "student", "severe_disability": false, "invalidity_percent": b}
            ]})),
        )
    };
    // 65% is in 33–65 → 5; 66% is in ">65% and <100%" → 15.
    let e = with(65, 66);
    assert_eq!(points(&e, "parent_invalidity"), n(5 + 15));
    // Two students: 20 + 20.
    assert_eq!(subtotal(&e, "work"), n(40));
    assert_eq!(e.total, n(20 + 40));
    // 32% is below every band → 0; 33% → 5; 99% → 15.
    assert_eq!(points(&with(32, 33), "parent_invalidity"), n(5));
    assert_eq!(points(&with(99, 0), "parent_invalidity"), n(15));
}

#[test]
fn precedence_and_reserve() {
    let reg = load(FILE);
    let e = explain(
        &reg,
        &app(json!({"child_disability": true, "residence": "pending"})),
    );
    assert_eq!(tier(&e, "Precedenza"), "disability");
    assert!(matches!(e.eligibility, Eligibility::Reserve(ref r) if r[0].contains("31 agosto")));
    let e = explain(&reg, &app(json!({"social_services": true})));
    assert_eq!(tier(&e, "Precedenza"), "social_services");
    // Disability is listed first, so it wins when both hold.
    let e = explain(
        &reg,
        &app(json!({"social_services": true, "child_disability": true})),
    );
    assert_eq!(tier(&e, "Precedenza"), "disability");
}

#[test]
fn excluded_with_every_reason() {
    let reg = load(FILE);
    let e = explain(&reg, &app(json!({"residence": "none", "vaccinated": false})));
    let Eligibility::Excluded(reasons) = e.eligibility else {
        panic!("not excluded")
    };
    assert_eq!(reasons.len(), 2);
    assert!(reasons[0].contains("residente"));
    assert!(reasons[1].contains("vaccinazioni"));
    // The birth-date bounds (1/9/2023 to 1/6/2026) are the section limits: 36 and 3 months at 1/9/2026.
    // A child born on 2/6/2026 (2 months old) is refused at the input, naming it.
    let app_json: graduatorie_rules::ApplicationJson =
        serde_json::from_str(&app(json!({"child_birth_date": "2026-06-02"}))).unwrap();
    let err = reg
        .facts(&app_json, &mut graduatorie_rules::FacilityTable::open())
        .unwrap_err();
    assert_eq!(err.errors.len(), 1);
    assert_eq!(err.errors[0].pointer, "/inputs/child_birth_date");
    assert_eq!(err.errors[0].message, "must be between 2023-09-01 and 2026-06-01");
    // Born 1/9/2023: (2026 − 2023) × 12 + 0 = 36 months → grandi (24–36).
    let e = explain(&reg, &app(json!({"child_birth_date": "2023-09-01"})));
    assert_eq!(e.section.as_ref().unwrap().id, "grandi");
    // Born 1/6/2026: (9 − 6) = 3 months exactly on 1/9 → lattanti.
    let e = explain(&reg, &app(json!({"child_birth_date": "2026-06-01"})));
    assert_eq!(e.section.as_ref().unwrap().id, "lattanti");
}

#[test]
fn late_batches() {
    let reg = load(FILE);
    // 1/4/2026 00:00:01 Rome time is after the deadline (31/3 23:59:59) → first late batch (June).
    let e = explain(&reg, &app(json!({"submitted_at": "2026-04-01T00:00:01+02:00"})));
    assert_eq!(tier(&e, "Presentazione"), "late_june");
    // Exactly at the deadline is on time.
    let e = explain(&reg, &app(json!({"submitted_at": "2026-03-31T21:59:59Z"})));
    assert_eq!(tier(&e, "Presentazione"), "on_time");
    let e = explain(&reg, &app(json!({"submitted_at": "2026-08-15T10:00:00+02:00"})));
    assert_eq!(tier(&e, "Presentazione"), "late_september");
    let e = explain(&reg, &app(json!({"submitted_at": "2026-10-05T10:00:00+02:00"})));
    assert_eq!(tier(&e, "Presentazione"), "late_other");
}

#[test]
fn tie_break_values() {
    let reg = load(FILE);
    let keys = |isee: Value| {
        let e = explain(&reg, &app(json!({"isee": isee})));
        e.tie_break.iter().map(|t| t.value.clone()).collect::<Vec<_>>()
    };
    // ISEE ≤ 50,000.00 first: 50,000.00 is "sì", 50,000.01 is "no", a missing ISEE is "no" too.
    assert_eq!(keys(json!("50000.00"))[0].as_deref(), Some("sì"));
    assert_eq!(keys(json!("50000.01"))[0].as_deref(), Some("no"));
    let missing = keys(Value::Null);
    assert_eq!(missing[0].as_deref(), Some("no"));
    // The ISEE key itself is missing (ranked last), the birth date is the child's.
    assert_eq!(missing[3], None);
    assert_eq!(missing[4].as_deref(), Some("2025-05-10"));
    let order: Vec<_> = reg
        .tie_breaks()
        .iter()
        .map(|t| (t.label.as_str(), t.order))
        .collect();
    use graduatorie_rules::model::Order::{Asc, Desc};
    assert_eq!(
        order,
        vec![
            ("ISEE fino a 50.000 €", Desc),
            ("Punteggio lavoro/studio più alto", Desc),
            ("Punteggio nucleo familiare più alto", Desc),
            ("ISEE più basso", Asc),
            ("Bambino più grande", Asc),
            ("Numero di domanda crescente", Asc),
        ]
    );
}

#[test]
fn explanation_says_why() {
    let reg = load(FILE);
    let e = explain(
        &reg,
        &app(json!({"parents": [
            {"work": "employed", "shift_work": false, "far_workplace": false, "severe_disability": false, "invalidity_percent": 70}
        ]})),
    );
    let work = e.criteria.iter().find(|c| c.id == "parent_work").unwrap();
    assert_eq!(
        work.why,
        vec!["Genitore 1: Lavoro stabile (dipendente o autonomo, tempo pieno o part time oltre il 75%) → 20"]
    );
    let inv = e.criteria.iter().find(|c| c.id == "parent_invalidity").unwrap();
    assert_eq!(
        inv.why,
        vec!["Genitore 1: valore 70 nella fascia da 66 a 99 → 15"]
    );
    assert_eq!(d("15"), inv.points);
}

#[test]
fn form_asks_only_what_the_criteria_use() {
    let reg = load(FILE);
    let form = reg.form();
    let names: Vec<_> = form.fields.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(
        names,
        vec![
            "residence",
            "vaccinated",
            "child_birth_date",
            "child_disability",
            "social_services",
            "family_situation",
            "disabled_siblings",
            "invalid_cohabitants",
            "twins",
            "other_children_0_5",
            "isee",
            "parents"
        ]
    );
    let isee = form.fields.iter().find(|f| f.name == "isee").unwrap();
    assert!(!isee.required);
    let disability = form.fields.iter().find(|f| f.name == "child_disability").unwrap();
    assert!(disability.sensitive);
}
