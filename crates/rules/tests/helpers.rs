//! Shared helpers: loading files from config/rules, building applications, reading results by id.

use std::path::PathBuf;

use graduatorie_rules::explain::Explanation;
use graduatorie_rules::{ApplicationJson, FacilityTable, Regulation};
use rust_decimal::Decimal;

/// The repository's `config/rules` folder.
pub fn rules_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../config/rules")
}

/// Loads a regulation from config/rules, panicking with the located errors.
pub fn load(name: &str) -> Regulation {
    let path = rules_dir().join(name);
    let path = path.to_string_lossy().into_owned();
    graduatorie_rules::load(&path, &mut |p| {
        std::fs::read_to_string(p).map_err(|e| e.to_string())
    })
    .unwrap_or_else(|e| panic!("{e}"))
}

/// The `[regulation]` table every inline test regulation starts with: 8 lines, so the first line
/// after it is line 9.
pub const HEAD: &str = r#"[regulation]
id = "t"
title = "T"
service = "nido"
school_year = "2026/2027"
authority = "Comune di Prova"
source = "Delibera 1"
reference_date = 2026-09-01
"#;

/// Error lines for a rules text, with the file named `t.toml`.
pub fn errors(text: &str) -> Vec<String> {
    match graduatorie_rules::compile_str("t.toml", text) {
        Ok(_) => vec![],
        Err(e) => e.lines(),
    }
}

/// Evaluates an application given as JSON text and names every part.
pub fn explain(reg: &Regulation, json: &str) -> Explanation {
    let app: ApplicationJson = serde_json::from_str(json).unwrap();
    let mut facilities = FacilityTable::open();
    let facts = reg.facts(&app, &mut facilities).unwrap_or_else(|e| panic!("{e}"));
    let ev = reg.evaluate(&facts).unwrap();
    let fee = reg.fee().map(|_| reg.fee_for(&facts).unwrap());
    reg.explain(&ev, &facilities, fee)
}

/// Points of criterion `id` (0 when it is absent from the breakdown).
pub fn points(e: &Explanation, id: &str) -> Decimal {
    e.criteria
        .iter()
        .find(|c| c.id == id)
        .map_or(Decimal::ZERO, |c| c.points)
}

/// A subtotal by id.
pub fn subtotal(e: &Explanation, id: &str) -> Decimal {
    e.subtotals.iter().find(|s| s.id == id).map(|s| s.points).unwrap()
}

/// The group id of a tier level by label.
pub fn tier(e: &Explanation, level: &str) -> String {
    e.tiers
        .iter()
        .find(|t| t.level == level)
        .map(|t| t.group.clone())
        .unwrap()
}

/// Decimal from text.
pub fn d(s: &str) -> Decimal {
    s.parse().unwrap()
}

/// Decimal from an integer.
pub fn n(v: i64) -> Decimal {
    Decimal::from(v)
}

/// Evaluates an application (JSON text) and returns the evaluation with its protocol number.
pub fn evaluation(
    reg: &Regulation,
    json: &str,
) -> (
    graduatorie_rules::Evaluation,
    Option<graduatorie_domain::ProtocolNumber>,
) {
    let app: ApplicationJson = serde_json::from_str(json).unwrap();
    let facts = reg
        .facts(&app, &mut FacilityTable::open())
        .unwrap_or_else(|e| panic!("{e}"));
    (reg.evaluate(&facts).unwrap(), facts.protocol)
}

/// Sorts applications (JSON texts) as the regulation orders them and returns their protocol numbers.
pub fn ranked(reg: &Regulation, apps: &[String], seed: Option<&str>) -> Vec<String> {
    let evs: Vec<_> = apps.iter().map(|a| evaluation(reg, a)).collect();
    let mut order: Vec<usize> = (0..evs.len()).collect();
    order.sort_by(|&i, &j| {
        let a = graduatorie_rules::Standing::of(&evs[i].0, evs[i].1);
        let b = graduatorie_rules::Standing::of(&evs[j].0, evs[j].1);
        reg.compare(&a, &b, seed)
    });
    order
        .iter()
        .map(|&i| evs[i].1.map(|p| p.to_string()).unwrap_or_default())
        .collect()
}

/// Applies `overrides` to a JSON object of answers: a `null` removes the answer, anything else replaces
/// it.
pub fn override_inputs(inputs: &mut serde_json::Value, overrides: &serde_json::Value) {
    for (k, v) in overrides.as_object().into_iter().flatten() {
        match inputs.as_object_mut() {
            Some(obj) if v.is_null() => {
                obj.remove(k);
            }
            Some(obj) => {
                obj.insert(k.clone(), v.clone());
            }
            None => {}
        }
    }
}
