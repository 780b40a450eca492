//! Tie-break outcomes, worked by hand: which of two applications comes first, and why.

use serde_json::{Value, json};

use crate::helpers::{HEAD, load, ranked};

/// A Bologna application: two parents, overrides applied to the inputs; `protocol` and `submitted_at`
/// given separately.
fn bologna(protocol: &str, submitted: &str, overrides: Value) -> String {
    let mut inputs = json!({
        "residence": "resident", "vaccinated": true, "child_birth_date": "2025-05-10",
        "child_disability": false, "social_services": false, "family_situation": "two_parents",
        "parents": [
            {"work": "employed", "shift_work": false, "far_workplace": false, "severe_disability": false},
            {"work": "employed", "shift_work": false, "far_workplace": false, "severe_disability": false}
        ],
        "disabled_siblings": 0, "invalid_cohabitants": 0, "twins": 0, "other_children_0_5": 0,
        "isee": "20000.00"
    });
    crate::helpers::override_inputs(&mut inputs, &overrides);
    json!({"protocol": protocol, "submitted_at": submitted, "inputs": inputs}).to_string()
}

const ON_TIME: &str = "2026-03-02T09:00:00+01:00";

#[test]
fn bologna_isee_threshold_before_subtotals() {
    let reg = load("bologna-nidi.toml");
    // Both 40 points (two employed parents). A has ISEE 60,000.00 (> 50,000), B 50,000.00 (≤ 50,000):
    // the first step puts B first although its protocol is later.
    let a = bologna("2026/000001", ON_TIME, json!({"isee": "60000.00"}));
    let b = bologna("2026/000002", ON_TIME, json!({"isee": "50000.00"}));
    assert_eq!(ranked(&reg, &[a, b], None), vec!["2026/000002", "2026/000001"]);
}

#[test]
fn bologna_work_subtotal_then_lower_isee() {
    let reg = load("bologna-nidi.toml");
    // Every Bologna criterion counts towards "work" or "household", so total = work + household: with
    // equal totals and equal work, household is equal too, and the third step can never decide.
    // Three applications with 39 points each, ISEE ≤ 50,000 (first step ties):
    // C: single parent 15 + other children 2 × 2 = 4 → household 19; one employed parent → work 20.
    let c = bologna(
        "2026/000003",
        ON_TIME,
        json!({"family_situation": "single_parent", "other_children_0_5": 2,
               "parents": [{"work": "employed", "shift_work": false, "far_workplace": false, "severe_disability": false}]}),
    );
    // F: employed 20 + shifts 2 + occasional 10 → work 32; other child 2 + invalid cohabitant 5 →
    //    household 7; total 39.
    let f = bologna(
        "2026/000004",
        ON_TIME,
        json!({"other_children_0_5": 1, "invalid_cohabitants": 1, "parents": [
            {"work": "employed", "shift_work": true, "far_workplace": false, "severe_disability": false},
            {"work": "occasional", "shift_work": false, "far_workplace": false, "severe_disability": false}
        ]}),
    );
    // Both 39, both ISEE 20,000.00 ≤ 50,000: the higher work subtotal (F: 32 > C: 20) comes first.
    assert_eq!(
        ranked(&reg, &[c.clone(), f], None),
        vec!["2026/000004", "2026/000003"]
    );
    // G: exclusive custody 12 + cohabitant 5 + other child 2 → household 19; employed 20 → work 20.
    // C and G tie on total (39), work (20) and household (19); next step: lower ISEE (19,999.99) first.
    let g = bologna(
        "2026/000005",
        ON_TIME,
        json!({"family_situation": "exclusive_custody", "invalid_cohabitants": 1, "other_children_0_5": 1,
               "isee": "19999.99",
               "parents": [{"work": "employed", "shift_work": false, "far_workplace": false, "severe_disability": false}]}),
    );
    assert_eq!(ranked(&reg, &[c, g], None), vec!["2026/000005", "2026/000003"]);
}

#[test]
fn bologna_missing_isee_last_then_older_child_then_protocol() {
    let reg = load("bologna-nidi.toml");
    // All 40 points. H has no ISEE: "no" on the first step → after everyone with ISEE ≤ 50,000.
    let h = bologna("2026/000001", ON_TIME, json!({"isee": null}));
    // I and J: same ISEE, I born 10/1/2025, J born 1/3/2025: the older child (I) first.
    let i = bologna("2026/000009", ON_TIME, json!({"child_birth_date": "2025-01-10"}));
    let j = bologna("2026/000002", ON_TIME, json!({"child_birth_date": "2025-03-01"}));
    // K: identical to J but protocol 2026/000008: J (000002) before K.
    let k = bologna("2026/000008", ON_TIME, json!({"child_birth_date": "2025-03-01"}));
    assert_eq!(
        ranked(&reg, &[h, k, j, i], None),
        vec!["2026/000009", "2026/000002", "2026/000008", "2026/000001"]
    );
}

#[test]
fn bologna_tiers_come_before_points() {
    let reg = load("bologna-nidi.toml");
    // L: late (June batch) with disability precedence and 40 points; M: on time, no precedence, 0 points
    // (no parent works); N: on time, social services, 0 points.
    let none =
        json!([{"work": "none", "severe_disability": false}, {"work": "none", "severe_disability": false}]);
    let l = bologna(
        "2026/000001",
        "2026-05-10T10:00:00+02:00",
        json!({"child_disability": true}),
    );
    let m = bologna("2026/000002", ON_TIME, json!({"parents": none.clone()}));
    let n = bologna(
        "2026/000003",
        ON_TIME,
        json!({"parents": none, "social_services": true}),
    );
    // The batch level is written first: on-time N and M before late L; among on-time, precedence first.
    assert_eq!(
        ranked(&reg, &[l, m, n], None),
        vec!["2026/000003", "2026/000002", "2026/000001"]
    );
}

#[test]
fn pescia_public_draw_is_the_sha256_of_seed_and_protocol() {
    let reg = load("pescia-nido.toml");
    let app = |p: &str| {
        json!({"protocol": p, "inputs": {
            "child_birth_date": "2025-03-01", "hardship": false, "child_disability": false,
            "disabled_member": false, "single_parent": false, "parents": [{"hours": "over_6"}, {"hours": "over_6"}],
            "children_under_14": 0, "no_grandparents": false, "sibling_attending": false, "twins": 0,
            "isee": "15000.00"
        }})
        .to_string()
    };
    let apps = [app("2026/000001"), app("2026/000002"), app("2026/000003")];
    // Same points, ISEE and birth date: the draw decides. Computed with the system's sha256sum:
    //   printf '%s\0%s' seme-pubblico-2026 2026/000001 | sha256sum → b2f0cd19…
    //   printf '%s\0%s' seme-pubblico-2026 2026/000002 | sha256sum → 1f73a163…
    //   printf '%s\0%s' seme-pubblico-2026 2026/000003 | sha256sum → cdb0db86…
    // Ascending: 000002, 000001, 000003.
    assert_eq!(
        ranked(&reg, &apps, Some("seme-pubblico-2026")),
        vec!["2026/000002", "2026/000001", "2026/000003"]
    );
    let p = graduatorie_domain::ProtocolNumber::parse("2026/000001").unwrap();
    let hex: String = graduatorie_rules::draw_value("seme-pubblico-2026", p)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(
        hex,
        "b2f0cd19d0ed778c5e686db7ea96de41c38e3ab46bf199cbcb23b532a918c783"
    );
    // Without a seed the draw step ties and the protocol decides.
    assert_eq!(
        ranked(&reg, &apps, None),
        vec!["2026/000001", "2026/000002", "2026/000003"]
    );
}

#[test]
fn section_specific_direction_and_missing_first() {
    let reg = graduatorie_rules::compile_str(
        "t.toml",
        &format!(
            "{HEAD}
[inputs.born]
type = \"date\"
label = \"Nascita\"

[inputs.isee]
type = \"money\"
label = \"ISEE\"
optional = true

[derived.age_months]
expr = \"months(born, reference_date)\"

[sections.lattanti]
label = \"Lattanti\"
when = \"age_months >= 3 and age_months <= 12\"

[sections.divezzi]
label = \"Divezzi\"
when = \"age_months >= 13 and age_months <= 36\"

[[tie_break]]
by = \"isee\"
missing = \"first\"

[[tie_break]]
by = \"born\"
order = \"asc\"
section_order = {{ lattanti = \"desc\" }}
"
        ),
    )
    .unwrap();
    let app = |p: &str, born: &str| json!({"protocol": p, "inputs": {"born": born}}).to_string();
    // Lattanti (Bagheria): younger first, so born 1/3/2026 before born 1/1/2026.
    assert_eq!(
        ranked(
            &reg,
            &[app("2026/000001", "2026-01-01"), app("2026/000002", "2026-03-01")],
            None
        ),
        vec!["2026/000002", "2026/000001"]
    );
    // Divezzi: older first.
    assert_eq!(
        ranked(
            &reg,
            &[app("2026/000001", "2024-03-01"), app("2026/000002", "2024-01-01")],
            None
        ),
        vec!["2026/000002", "2026/000001"]
    );
    // `missing = "first"`: without ISEE before an ISEE of 0.
    let with_isee =
        json!({"protocol": "2026/000001", "inputs": {"born": "2024-03-01", "isee": "0"}}).to_string();
    assert_eq!(
        ranked(&reg, &[with_isee, app("2026/000002", "2024-03-01")], None),
        vec!["2026/000002", "2026/000001"]
    );
}
