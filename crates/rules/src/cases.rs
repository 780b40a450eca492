//! Worked examples as data: applications with the results their author computed by hand from the act,
//! checked against a regulation (`graduatorie rules test`). The officer who writes a rules file can
//! verify it on real cases without writing Rust.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use serde::Deserialize;

use crate::evaluate::Eligibility;
use crate::facts::{ApplicationJson, FacilityTable};
use crate::model::Regulation;

/// A file of cases (see `docs/rules.md`, "Checking a regulation on worked examples").
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaseFile {
    /// The cases, in order.
    pub cases: Vec<Case>,
}

/// One application and what the regulation must say about it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    /// A name to recognise it by.
    pub name: String,
    /// The application, as in `docs/formats.md`.
    pub application: ApplicationJson,
    /// The expected results; only what is written is checked.
    pub expect: Expect,
}

/// Expected results. Points and amounts are written as text (`"15"`, `"83.92"`), compared as numbers.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// `eligible`, `reserve` or `excluded`.
    pub eligibility: Option<String>,
    /// Section id.
    pub section: Option<String>,
    /// Tier level id → group id.
    #[serde(default)]
    pub tiers: BTreeMap<String, String>,
    /// Criterion id → points.
    #[serde(default)]
    pub points: BTreeMap<String, Decimal>,
    /// Subtotal id → points.
    #[serde(default)]
    pub subtotals: BTreeMap<String, Decimal>,
    /// Total.
    pub total: Option<Decimal>,
    /// Fee component id → amount.
    #[serde(default)]
    pub fee: BTreeMap<String, Decimal>,
    /// The application must be refused, with a problem at each of these JSON pointers.
    #[serde(default)]
    pub invalid: Vec<String>,
}

impl Regulation {
    /// Checks one case; returns what differs, in words (empty when the case passes).
    pub fn check_case(&self, case: &Case) -> Vec<String> {
        let mut diffs = Vec::new();
        let mut table = FacilityTable::open();
        let facts = match self.facts(&case.application, &mut table) {
            Ok(f) => f,
            Err(e) if !case.expect.invalid.is_empty() => {
                for pointer in &case.expect.invalid {
                    if !e.errors.iter().any(|i| &i.pointer == pointer) {
                        diffs.push(format!("expected a problem at {pointer}, found none there"));
                    }
                }
                return diffs;
            }
            Err(e) => return vec![format!("the application is refused: {e}")],
        };
        if !case.expect.invalid.is_empty() {
            return vec!["expected the application to be refused, but it is accepted".into()];
        }
        let ev = match self.evaluate(&facts) {
            Ok(ev) => ev,
            Err(e) => return vec![format!("evaluation failed: {e}")],
        };
        let x = &case.expect;
        let mut check = |what: String, expected: String, found: String| {
            if expected != found {
                diffs.push(format!("{what}: expected {expected}, found {found}"));
            }
        };
        if let Some(e) = &x.eligibility {
            let found = match ev.eligibility {
                Eligibility::Eligible => "eligible",
                Eligibility::Reserve(_) => "reserve",
                Eligibility::Excluded(_) => "excluded",
            };
            check("eligibility".into(), e.clone(), found.into());
        }
        if let Some(s) = &x.section {
            let found = ev
                .section
                .and_then(|i| self.sections.get(usize::from(i)))
                .map_or("none", |s| s.id.as_str());
            check("section".into(), s.clone(), found.into());
        }
        for (level, group) in &x.tiers {
            let found = self
                .tiers
                .iter()
                .position(|l| &l.id == level)
                .and_then(|l| Some((self.tiers.get(l)?, ev.tier.get(l)?)))
                .and_then(|(l, &g)| l.groups.get(usize::from(g)))
                .map_or_else(|| format!("no tier level '{level}'"), |(g, _)| g.id.clone());
            check(format!("tier {level}"), group.clone(), found);
        }
        let per_facility: Vec<_> = ev.facilities.iter().flat_map(|f| f.criteria.iter()).collect();
        for (id, points) in &x.points {
            let index = self.criteria.iter().position(|c| &c.id == id);
            let found = index
                .and_then(|i| {
                    ev.criteria
                        .iter()
                        .chain(per_facility.iter().copied())
                        .find(|r| usize::from(r.criterion) == i)
                })
                .map_or_else(
                    || format!("no criterion '{id}'"),
                    |r| r.points.normalize().to_string(),
                );
            check(format!("points {id}"), points.normalize().to_string(), found);
        }
        for (id, points) in &x.subtotals {
            let found = self
                .subtotals
                .iter()
                .position(|s| &s.id == id)
                .and_then(|i| ev.subtotals.get(i))
                .map_or_else(|| format!("no subtotal '{id}'"), |p| p.normalize().to_string());
            check(format!("subtotal {id}"), points.normalize().to_string(), found);
        }
        if let Some(t) = x.total {
            check(
                "total".into(),
                t.normalize().to_string(),
                ev.total.normalize().to_string(),
            );
        }
        if !x.fee.is_empty() {
            match self.fee_for(&facts) {
                Ok(parts) => {
                    for (id, amount) in &x.fee {
                        let found = parts.iter().find(|p| &p.id == id).map_or_else(
                            || format!("no fee component '{id}'"),
                            |p| p.amount.normalize().to_string(),
                        );
                        check(format!("fee {id}"), amount.normalize().to_string(), found);
                    }
                }
                Err(e) => diffs.push(format!("fee: {e}")),
            }
        }
        diffs
    }
}
