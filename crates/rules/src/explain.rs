//! The breakdown of an evaluation, for people (`rules explain`) and machines (`--json`).
//!
//! It says, criterion by criterion, how many points were given and why, so that any family's score can
//! be checked line by line against the regulation.

use rust_decimal::Decimal;
use serde::Serialize;

use crate::evaluate::{CriterionResult, Eligibility, Evaluation};
use crate::facts::FacilityTable;
use crate::fee::FeePart;
use crate::model::Regulation;
use crate::value::Value;

/// An evaluation with names instead of indexes.
#[derive(Debug, Clone, Serialize)]
pub struct Explanation {
    /// Regulation id.
    pub regulation: String,
    /// Regulation hash.
    pub rules_hash: String,
    /// Eligibility.
    pub eligibility: Eligibility,
    /// Age section.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub section: Option<Named>,
    /// Group in each tier level.
    pub tiers: Vec<TierLine>,
    /// Criteria independent of the facility.
    pub criteria: Vec<CriterionLine>,
    /// Subtotals.
    pub subtotals: Vec<SubtotalLine>,
    /// Total.
    pub total: Decimal,
    /// Per preferred facility, when points depend on it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub facilities: Vec<FacilityLine>,
    /// Tie-break values.
    pub tie_break: Vec<TieLine>,
    /// Fee, when the regulation has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fee: Option<Vec<FeePart>>,
}

/// An id with its label.
#[derive(Debug, Clone, Serialize)]
pub struct Named {
    /// Id.
    pub id: String,
    /// Label.
    pub label: String,
}

/// Group of one tier level.
#[derive(Debug, Clone, Serialize)]
pub struct TierLine {
    /// Level label.
    pub level: String,
    /// Group id.
    pub group: String,
    /// Group label.
    pub label: String,
}

/// One criterion's points.
#[derive(Debug, Clone, Serialize)]
pub struct CriterionLine {
    /// Criterion id.
    pub id: String,
    /// Label.
    pub label: String,
    /// Subtotal id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subtotal: Option<String>,
    /// Points.
    pub points: Decimal,
    /// Why.
    pub why: Vec<String>,
}

/// One subtotal.
#[derive(Debug, Clone, Serialize)]
pub struct SubtotalLine {
    /// Id.
    pub id: String,
    /// Label.
    pub label: String,
    /// Points.
    pub points: Decimal,
}

/// Scores for one preferred facility.
#[derive(Debug, Clone, Serialize)]
pub struct FacilityLine {
    /// Facility code.
    pub facility: String,
    /// Position in the preferences.
    pub rank: u32,
    /// Facility-dependent criteria.
    pub criteria: Vec<CriterionLine>,
    /// Total for this facility.
    pub total: Decimal,
}

/// One tie-break value.
#[derive(Debug, Clone, Serialize)]
pub struct TieLine {
    /// Label.
    pub label: String,
    /// Value, as text (`null` when missing or computed at ranking time).
    pub value: Option<String>,
}

impl Regulation {
    /// Names every part of an evaluation.
    pub fn explain(
        &self,
        ev: &Evaluation,
        facilities: &FacilityTable,
        fee: Option<Vec<FeePart>>,
    ) -> Explanation {
        let criterion_line = |r: &CriterionResult| {
            let c = self.criteria.get(usize::from(r.criterion));
            CriterionLine {
                id: c.map_or_else(String::new, |c| c.id.clone()),
                label: c.map_or_else(String::new, |c| c.label.clone()),
                subtotal: c
                    .and_then(|c| c.subtotal)
                    .and_then(|s| self.subtotals.get(usize::from(s)))
                    .map(|s| s.id.clone()),
                points: r.points.normalize(),
                why: r.why.clone(),
            }
        };
        Explanation {
            regulation: self.identity.id.clone(),
            rules_hash: self.hash.clone(),
            eligibility: ev.eligibility.clone(),
            section: ev
                .section
                .and_then(|s| self.sections.get(usize::from(s)))
                .map(|s| Named {
                    id: s.id.clone(),
                    label: s.label.clone(),
                }),
            tiers: self
                .tiers
                .iter()
                .zip(&ev.tier)
                .filter_map(|(level, &g)| {
                    let (group, _) = level.groups.get(usize::from(g))?;
                    Some(TierLine {
                        level: level.label.clone(),
                        group: group.id.clone(),
                        label: group.label.clone(),
                    })
                })
                .collect(),
            criteria: ev.criteria.iter().map(criterion_line).collect(),
            subtotals: self
                .subtotals
                .iter()
                .zip(&ev.subtotals)
                .map(|(s, p)| SubtotalLine {
                    id: s.id.clone(),
                    label: s.label.clone(),
                    points: *p,
                })
                .collect(),
            total: ev.total.normalize(),
            facilities: ev
                .facilities
                .iter()
                .map(|f| FacilityLine {
                    facility: facilities.code(f.facility).to_owned(),
                    rank: f.rank,
                    criteria: f.criteria.iter().map(criterion_line).collect(),
                    total: f.total.normalize(),
                })
                .collect(),
            tie_break: self
                .tie_breaks
                .iter()
                .zip(&ev.tie_keys)
                .map(|(t, v)| TieLine {
                    label: t.label.clone(),
                    value: value_text(*v),
                })
                .collect(),
            fee,
        }
    }
}

/// A value as text, `None` when missing.
pub fn value_text(v: Value) -> Option<String> {
    let mut out = String::new();
    write_value(v, &mut out).then_some(out)
}

/// Appends [`value_text`]'s text for `v` to `out` without allocating (files of a million rows print
/// millions of values); false, and nothing appended, when it has none.
pub fn write_value(v: Value, out: &mut String) -> bool {
    use std::fmt::Write as _;
    // Writing into a `String` cannot fail.
    let _ = match v {
        Value::Missing | Value::Facilities(_) => return false,
        Value::Bool(b) => {
            out.push_str(if b { "sì" } else { "no" });
            Ok(())
        }
        Value::Int(n) => {
            if n < 0 {
                out.push('-');
            }
            crate::scores::push_digits(n.unsigned_abs(), 1, out);
            Ok(())
        }
        Value::Dec(d) => {
            let d = d.normalize();
            match u64::try_from(d.mantissa().unsigned_abs()) {
                Ok(m) if d.scale() <= 19 => {
                    if d.is_sign_negative() && m != 0 {
                        out.push('-');
                    }
                    // 10^scale fits in u64 up to scale 19.
                    let one = 10u64.pow(d.scale());
                    crate::scores::push_digits(m / one, 1, out);
                    if d.scale() > 0 {
                        out.push('.');
                        crate::scores::push_digits(m % one, d.scale(), out);
                    }
                    Ok(())
                }
                _ => write!(out, "{d}"),
            }
        }
        Value::Date(d) => write!(out, "{d}"),
        Value::Time(t) => write!(out, "{t}"),
        Value::Choice(i) => write!(out, "opzione {}", u32::from(i) + 1),
        Value::Facility(f) => write!(out, "struttura {f}"),
    };
    true
}

impl Explanation {
    /// The breakdown as text, one line per fact.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let mut line = |s: String| {
            out.push_str(&s);
            out.push('\n');
        };
        line(format!(
            "Regolamento {} (impronta {})",
            self.regulation, self.rules_hash
        ));
        match &self.eligibility {
            Eligibility::Eligible => line("Ammissibilità: ammessa".into()),
            Eligibility::Reserve(r) => line(format!("Ammissibilità: ammessa con riserva — {}", r.join("; "))),
            Eligibility::Excluded(r) => line(format!("Ammissibilità: esclusa — {}", r.join("; "))),
        }
        if let Some(s) = &self.section {
            line(format!("Sezione: {}", s.label));
        }
        for t in &self.tiers {
            line(format!("{}: {}", t.level, t.label));
        }
        line("Punteggio:".into());
        let criteria = |c: &CriterionLine, line: &mut dyn FnMut(String)| {
            line(format!("  {:>8}  {}", c.points.to_string(), c.label));
            for w in &c.why {
                line(format!("            {w}"));
            }
        };
        for c in &self.criteria {
            criteria(c, &mut line);
        }
        for s in &self.subtotals {
            line(format!("  Subtotale {}: {}", s.label, s.points));
        }
        line(format!("  Totale: {}", self.total));
        for f in &self.facilities {
            line(format!("Struttura {} (preferenza {}):", f.facility, f.rank));
            for c in &f.criteria {
                criteria(c, &mut line);
            }
            line(format!("  Totale per questa struttura: {}", f.total));
        }
        if !self.tie_break.is_empty() {
            line("Criteri di parità:".into());
            for t in &self.tie_break {
                line(format!("  {}: {}", t.label, t.value.as_deref().unwrap_or("—")));
            }
        }
        if let Some(fee) = &self.fee {
            line("Retta:".into());
            for p in fee {
                line(format!("  {}: {} € al {}", p.label, p.amount, p.per));
            }
        }
        out
    }
}
