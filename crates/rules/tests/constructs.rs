//! Constructs of the format that the encoded regulations do not all use, each checked on a small inline
//! regulation, including the "edge cases seen in other towns" of shared/regolamenti/README.md.

use graduatorie_rules::model::Order;
use graduatorie_rules::{ApplicationJson, Eligibility, FacilityTable};
use serde_json::json;

use crate::helpers::{HEAD, d, n, points};

fn reg(body: &str) -> graduatorie_rules::Regulation {
    graduatorie_rules::compile_str("t.toml", &format!("{HEAD}{body}")).unwrap_or_else(|e| panic!("{e}"))
}

fn run(r: &graduatorie_rules::Regulation, app: serde_json::Value) -> graduatorie_rules::explain::Explanation {
    crate::helpers::explain(r, &app.to_string())
}

const PARENTS: &str = r#"
[inputs.parents]
type = "list"
label = "Genitori"
item = "parent"
min_items = 1
max_items = 2

[inputs.parents.fields.hours]
type = "integer"
label = "Ore settimanali"
min = 0
max = 80
"#;

#[test]
fn capannori_single_parent_points_times_three() {
    let r = reg(&format!(
        "{PARENTS}
[criteria.work]
label = \"Lavoro\"
for_each = \"parents\"
when = \"parent.hours >= 30\"
points = 10
multiplier = \"if count(parents) == 1 then 3 else 1\"
max = 25
"
    ));
    // Two full-time parents: 10 + 10 = 20, multiplier 1.
    let e = run(&r, json!({"inputs": {"parents": [{"hours": 36}, {"hours": 40}]}}));
    assert_eq!(points(&e, "work"), n(20));
    // One parent: 10 × 3 = 30, capped at 25.
    let e = run(&r, json!({"inputs": {"parents": [{"hours": 36}]}}));
    assert_eq!(points(&e, "work"), n(25));
    assert_eq!(
        e.criteria[0].why,
        vec![
            "parent 1: sì → 10",
            "moltiplicato per 3",
            "limitato al massimo di 25"
        ]
    );
}

#[test]
fn bondeno_total_hours_then_children_then_time() {
    let r = reg(&format!(
        "{PARENTS}
[inputs.children_0_6]
type = \"integer\"
label = \"Figli 0-6\"
min = 0

[[tie_break]]
label = \"Ore settimanali totali dei genitori\"
by = \"sum(parents, parent.hours)\"
order = \"desc\"

[[tie_break]]
by = \"children_0_6\"
order = \"desc\"

[[tie_break]]
by = \"submitted_at\"
"
    ));
    let e = run(
        &r,
        json!({"submitted_at": "2026-02-01T08:00:00Z", "inputs": {"parents": [{"hours": 36}, {"hours": 18}], "children_0_6": 2}}),
    );
    let values: Vec<_> = e.tie_break.iter().map(|t| t.value.clone()).collect();
    assert_eq!(
        values,
        vec![
            Some("54".into()),
            Some("2".into()),
            Some("2026-02-01T08:00:00Z".into())
        ]
    );
}

#[test]
fn bagheria_younger_first_in_one_section_older_in_another() {
    let r = reg(r#"
[inputs.born]
type = "date"
label = "Nascita"

[derived.age_months]
expr = "months(born, reference_date)"

[sections.lattanti]
label = "Lattanti"
when = "age_months >= 3 and age_months <= 12"

[sections.divezzi]
label = "Divezzi"
when = "age_months >= 13 and age_months <= 36"

[[tie_break]]
label = "Età"
by = "born"
order = "asc"
section_order = { lattanti = "desc" }
"#);
    let t = &r.tie_breaks()[0];
    assert_eq!(t.order, Order::Asc);
    assert_eq!(t.section_order, vec![(0, Order::Desc)]);
    // Born 1/9/2026 is 0 months old: outside every section → excluded.
    let e = run(&r, json!({"inputs": {"born": "2026-09-01"}}));
    assert!(matches!(e.eligibility, Eligibility::Excluded(ref r) if r[0].contains("sezione")));
    let e = run(&r, json!({"inputs": {"born": "2025-09-01"}}));
    assert_eq!(e.section.unwrap().id, "lattanti");
}

#[test]
fn trento_icef_below_threshold_with_four_decimals() {
    let r = reg(r#"
[inputs.icef]
type = "decimal"
label = "ICEF"
min = 0
max = 1

[criteria.icef]
label = "ICEF"
value = "icef"
bands = [
  { to = "0.1999", points = 10 },
  { from = "0.2000", to = "0.3847", points = 5 },
  { from = "0.3848", points = 0 },
]
"#);
    let p = |v: &str| points(&run(&r, json!({"inputs": {"icef": v}})), "icef");
    assert_eq!(p("0.1999"), n(10));
    assert_eq!(p("0.2"), n(5));
    assert_eq!(p("0.38479"), n(5));
    assert_eq!(p("0.3848"), n(0));
}

#[test]
fn residence_tiers_and_anticipatari_last() {
    // Modena/Sant'Ilario: residents, then neighbouring union, then a parent working in town, then others;
    // Roma/Firenze: children turning 3 only by 30 April of the next year (anticipatari) after all others.
    let r = reg(r#"
[inputs.born]
type = "date"
label = "Nascita"

[inputs.residence]
type = "choice"
label = "Residenza"
options = { town = "Comune", union = "Unione", works_here = "Genitore che lavora nel comune", other = "Altro" }

[tiers.anticipatari]
label = "Anticipatari"
groups = [
  { id = "regular", label = "Tre anni entro il 31 dicembre", when = "born <= '2023-12-31'" },
  { id = "early", label = "Anticipatari" },
]

[tiers.residence]
label = "Residenza"
groups = [
  { id = "town", label = "Residenti", when = "residence == 'town'" },
  { id = "union", label = "Unione", when = "residence == 'union'" },
  { id = "works", label = "Lavoro nel comune", when = "residence == 'works_here'" },
  { id = "other", label = "Altri" },
]
"#);
    let e = run(
        &r,
        json!({"inputs": {"born": "2024-03-10", "residence": "works_here"}}),
    );
    let groups: Vec<_> = e.tiers.iter().map(|t| t.group.as_str()).collect();
    assert_eq!(groups, vec!["early", "works"]);
}

#[test]
fn facility_dependent_sibling_and_first_choice_and_preference_tie_break() {
    let r = reg(r#"
[inputs.siblings_at]
type = "facilities"
label = "Nidi frequentati da fratelli"
max_items = 3

[criteria.sibling]
label = "Fratello nella stessa struttura"
when = "facility in siblings_at"
points = 8

[criteria.first]
label = "Solo sulla prima scelta"
when = "preference_rank == 1"
points = "2.5"

[[tie_break]]
label = "Ordine di preferenza"
by = "preference_rank"
"#);
    assert!(r.is_per_facility());
    let e = run(
        &r,
        json!({"preferences": ["a", "b", "c"], "inputs": {"siblings_at": ["c"]}}),
    );
    let totals: Vec<_> = e
        .facilities
        .iter()
        .map(|f| (f.facility.as_str(), f.rank, f.total))
        .collect();
    assert_eq!(totals, vec![("a", 1, d("2.5")), ("b", 2, n(0)), ("c", 3, n(8))]);
    assert_eq!(e.total, n(0), "no facility-independent points");
}

#[test]
fn missing_values_defaults_and_aggregates() {
    let r = reg(&format!(
        "{PARENTS}
[inputs.isee]
type = \"money\"
label = \"ISEE\"
optional = true

[params]
cap = \"40000.00\"

[derived.all_work]
expr = \"all(parents, parent.hours > 0)\"

[derived.any_full]
expr = \"any(parents, parent.hours >= 36)\"

[derived.level]
cases = [{{ when = \"isee ?? 99999 <= 10000\", value = 3 }}, {{ when = \"isee <= cap\", value = 1 }}]
otherwise = 0

[criteria.level]
label = \"Livello\"
points = \"level * 2 + min(count(parents), 1)\"

[criteria.both]
label = \"Entrambi lavorano\"
when = \"all_work and any_full and present(isee)\"
points = 1
"
    ));
    let e = run(
        &r,
        json!({"inputs": {"parents": [{"hours": 36}, {"hours": 10}], "isee": "9999.99"}}),
    );
    // level 3 → 3 × 2 + min(2, 1) = 7; both work, one full time, ISEE present → 1.
    assert_eq!(points(&e, "level"), n(7));
    assert_eq!(points(&e, "both"), n(1));
    // Without ISEE: ?? gives 99999 → not ≤ 10000; isee <= cap is false when missing → level 0 → 0 + 1.
    let e = run(&r, json!({"inputs": {"parents": [{"hours": 36}, {"hours": 0}]}}));
    assert_eq!(points(&e, "level"), n(1));
    assert_eq!(points(&e, "both"), n(0));
}

#[test]
fn points_are_rounded_to_the_declared_decimals() {
    let r = reg(r#"
[inputs.x]
type = "integer"
label = "X"

[criteria.third]
label = "Un terzo"
points = "x / 3"
"#);
    // 1 / 3 = 0.333… → 0.33 (2 decimals by default); 2 / 3 = 0.666… → 0.67 (half away from zero).
    assert_eq!(points(&run(&r, json!({"inputs": {"x": 1}})), "third"), d("0.33"));
    assert_eq!(points(&run(&r, json!({"inputs": {"x": 2}})), "third"), d("0.67"));
}

#[test]
fn linear_points_between_two_isee_values() {
    let r = reg(r#"
[inputs.isee]
type = "money"
label = "ISEE"

[criteria.isee]
label = "ISEE"
value = "isee"
bands = [
  { to = "5000.00", points = 10 },
  { from = "5000.01", to = "25000.00", linear = [10, 0] },
  { from = "25000.01", points = 0 },
]
"#);
    // 15,000.00: 10 + (15,000.00 − 5,000.01) × (0 − 10) / (25,000.00 − 5,000.01)
    // = 10 − 99,999.9 / 19,999.99 = 10 − 4.99999… = 5.00000… → 5.
    assert_eq!(
        points(&run(&r, json!({"inputs": {"isee": "15000.00"}})), "isee"),
        n(5)
    );
    assert_eq!(
        points(&run(&r, json!({"inputs": {"isee": "25000.00"}})), "isee"),
        n(0)
    );
}

#[test]
fn division_by_zero_is_an_error_naming_the_criterion() {
    let r = reg(r#"
[inputs.x]
type = "integer"
label = "X"

[criteria.ratio]
label = "Rapporto"
points = "10 / x"
"#);
    let app: ApplicationJson = serde_json::from_value(json!({"inputs": {"x": 0}})).unwrap();
    let facts = r.facts(&app, &mut FacilityTable::open()).unwrap();
    let err = r.evaluate(&facts).unwrap_err();
    assert_eq!(err.to_string(), "Rapporto: division by zero");
}

#[test]
fn answers_are_checked_without_echoing_them() {
    let r = reg(r#"
[inputs.isee]
type = "money"
label = "ISEE"

[inputs.kind]
type = "choice"
label = "Tipo"
options = { a = "A", b = "B" }

[criteria.low_isee_a]
label = "ISEE basso, tipo A"
when = "isee <= 10000 and kind == 'a'"
points = 1
"#);
    let app: ApplicationJson = serde_json::from_value(json!({
        "inputs": {"isee": "12.345,00", "kind": "c", "extra": 1}
    }))
    .unwrap();
    let err = r.facts(&app, &mut FacilityTable::open()).unwrap_err();
    let pointers: Vec<_> = err
        .errors
        .iter()
        .map(|e| (e.pointer.as_str(), e.message.as_str()))
        .collect();
    assert_eq!(
        pointers,
        vec![
            (
                "/inputs/isee",
                "amount must be written with digits and at most one decimal separator, e.g. 12500.50"
            ),
            ("/inputs/kind", "must be one of: a, b"),
            ("/inputs/extra", "this regulation does not ask for it"),
        ]
    );
    assert!(!err.to_string().contains("12.345"));
}

#[test]
fn flattening_is_a_fixed_point() {
    // The flattened text compiles to a regulation with the same flattened text, so its hash can be
    // recomputed from the stored flattened rules alone.
    for name in std::fs::read_dir(crate::helpers::rules_dir()).unwrap() {
        let name = name.unwrap().file_name().to_string_lossy().into_owned();
        let reg = crate::helpers::load(&name);
        let again = graduatorie_rules::compile_str("flat.toml", &reg.flattened)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(again.flattened, reg.flattened, "{name}");
        assert_eq!(again.hash, reg.hash, "{name}");
    }
}
