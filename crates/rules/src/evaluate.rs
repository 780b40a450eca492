//! Evaluating one application: eligibility, section, tiers, points per criterion, subtotals, tie-break
//! values, and — for regulations whose points depend on the facility — all of it per preferred facility.
//!
//! [`Regulation::evaluate_into`] reuses the buffers of a previous [`Evaluation`], so a batch of a million
//! applications allocates nothing per criterion; with `explain` it also records why each criterion gave
//! its points, in words a family can read.

use rust_decimal::{Decimal, RoundingStrategy};
use serde::Serialize;

use crate::expr::Expr;
use crate::expr::eval::{Env, EvalError};
use crate::facts::Facts;
use crate::model::*;
use crate::value::Value;

/// Whether an application enters the ranking.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
#[serde(tag = "status", content = "reasons", rename_all = "snake_case")]
pub enum Eligibility {
    /// Admitted.
    #[default]
    Eligible,
    /// Admitted *con riserva*: ranked, but the reasons must be resolved before admission.
    Reserve(Vec<String>),
    /// Excluded, with the reasons.
    Excluded(Vec<String>),
}

/// Points of one criterion for one application.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CriterionResult {
    /// Index in [`Regulation::criteria`].
    pub criterion: u16,
    /// Points given (after multiplier, cap and rounding).
    pub points: Decimal,
    /// Why, line by line (only when explaining).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub why: Vec<String>,
}

/// Scores for one preferred facility, when points depend on the facility.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct FacilityScore {
    /// Facility index in the batch's table.
    pub facility: u32,
    /// 1-based position in the family's preferences.
    pub rank: u32,
    /// Results of the facility-dependent criteria.
    pub criteria: Vec<CriterionResult>,
    /// Subtotals including those criteria.
    pub subtotals: Vec<Decimal>,
    /// Total including those criteria.
    pub total: Decimal,
    /// Tie-break values for this facility.
    #[serde(skip)]
    pub tie_keys: Vec<Value>,
}

/// Everything a regulation says about one application.
#[derive(Debug, Clone, Default)]
pub struct Evaluation {
    /// Admitted, *con riserva*, or excluded.
    pub eligibility: Eligibility,
    /// Index of the age section, when the regulation has sections.
    pub section: Option<u16>,
    /// The neighbouring section whose spare seats this child may take (its section's `spare_to`,
    /// when `spare_if` holds).
    pub border: Option<u16>,
    /// Group index for each tier level (0 = best).
    pub tier: Vec<u16>,
    /// Results of the criteria that do not depend on the facility.
    pub criteria: Vec<CriterionResult>,
    /// Subtotals of those criteria.
    pub subtotals: Vec<Decimal>,
    /// Total of those criteria.
    pub total: Decimal,
    /// Tie-break values (draw and protocol are filled in by the ranker).
    pub tie_keys: Vec<Value>,
    /// Per preferred facility, when the regulation is per facility.
    pub facilities: Vec<FacilityScore>,
    /// Derived values.
    pub derived: Vec<Value>,
}

/// A failure while evaluating, naming what was being computed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what}: {error}")]
pub struct EvaluationError {
    /// Which criterion, derived value or rule.
    pub what: String,
    /// What went wrong.
    pub error: EvalError,
}

impl Regulation {
    /// Evaluates an application into a new [`Evaluation`] with explanations.
    pub fn evaluate(&self, facts: &Facts) -> Result<Evaluation, EvaluationError> {
        let mut out = Evaluation::default();
        self.evaluate_into(facts, &mut out, true)?;
        Ok(out)
    }

    /// Whether an application belongs to the group the regulation reserves seats for
    /// (`[allocation.reserve]`); `false` when it reserves none. `derived` is a reusable buffer.
    pub fn in_reserve_group(&self, facts: &Facts, derived: &mut Vec<Value>) -> Result<bool, EvaluationError> {
        let Some(reserve) = &self.reserve else {
            return Ok(false);
        };
        self.with_rows(|rows| {
            self.derived_values(facts, rows, derived)
                .map_err(|(d, error)| EvaluationError {
                    what: d.label.clone(),
                    error,
                })?;
            let mut env = Env::new(facts, derived, rows);
            reserve
                .condition
                .eval(&mut env)
                .map(Value::truthy)
                .map_err(|error| EvaluationError {
                    what: reserve.label.clone(),
                    error,
                })
        })
    }

    /// What [`Regulation::evaluate_into`] finds before the tiers (derived values, age section, border
    /// age, eligibility), and nothing after: the reasons of an exclusion, or of an admission *con
    /// riserva*, without the points (reports need them for a tenth of a call's applications).
    pub fn eligibility_into(&self, facts: &Facts, out: &mut Evaluation) -> Result<(), EvaluationError> {
        self.with_rows(|rows| self.eligibility_with(facts, out, rows))
    }

    /// Calls `f` with a record index per list, on the stack for the usual few lists (an evaluation
    /// otherwise allocates them).
    fn with_rows<R>(&self, f: impl FnOnce(&mut [u32]) -> R) -> R {
        let mut stack = [0u32; 16];
        if self.lists.len() <= stack.len() {
            f(&mut stack)
        } else {
            f(&mut vec![0u32; self.lists.len()])
        }
    }

    fn eligibility_with(
        &self,
        facts: &Facts,
        out: &mut Evaluation,
        rows: &mut [u32],
    ) -> Result<(), EvaluationError> {
        self.derived_values(facts, rows, &mut out.derived)
            .map_err(|(d, error)| EvaluationError {
                what: d.label.clone(),
                error,
            })?;
        let mut env = Env::new(facts, &out.derived, rows);
        out.section = self
            .section_slot
            .and_then(|s| match env.derived.get(usize::from(s)) {
                Some(Value::Choice(i)) => Some(*i),
                _ => None,
            });
        out.border = None;
        if let Some(Some((to, condition))) = out.section.and_then(|s| self.borders.get(usize::from(s))) {
            let holds = condition
                .eval(&mut env)
                .map_err(|error| EvaluationError {
                    what: "spare_if".into(),
                    error,
                })?
                .truthy();
            out.border = holds.then_some(*to);
        }
        // Eligibility.
        let mut excluded = Vec::new();
        let mut reserve = Vec::new();
        for rule in &self.eligibility {
            let holds = rule
                .condition
                .eval(&mut env)
                .map_err(|error| EvaluationError {
                    what: rule.id.clone(),
                    error,
                })?
                .truthy();
            match (rule.reserve, holds) {
                (false, false) => excluded.push(rule.reason.clone()),
                (true, true) => reserve.push(rule.reason.clone()),
                _ => {}
            }
        }
        out.eligibility = if !excluded.is_empty() {
            Eligibility::Excluded(excluded)
        } else if !reserve.is_empty() {
            Eligibility::Reserve(reserve)
        } else {
            Eligibility::Eligible
        };
        Ok(())
    }

    /// Evaluates an application, reusing `out`'s buffers; `explain` adds the reasons of each criterion.
    pub fn evaluate_into(
        &self,
        facts: &Facts,
        out: &mut Evaluation,
        explain: bool,
    ) -> Result<(), EvaluationError> {
        self.with_rows(|rows| self.evaluate_with(facts, out, explain, rows))
    }

    fn evaluate_with(
        &self,
        facts: &Facts,
        out: &mut Evaluation,
        explain: bool,
        rows: &mut [u32],
    ) -> Result<(), EvaluationError> {
        self.eligibility_with(facts, out, rows)?;
        let mut env = Env::new(facts, &out.derived, rows);
        // Tiers.
        out.tier.clear();
        for level in &self.tiers {
            let mut chosen = level.groups.len().saturating_sub(1);
            for (i, (_, cond)) in level.groups.iter().enumerate() {
                let Some(cond) = cond else { break };
                if cond
                    .eval(&mut env)
                    .map_err(|error| EvaluationError {
                        what: level.label.clone(),
                        error,
                    })?
                    .truthy()
                {
                    chosen = i;
                    break;
                }
            }
            out.tier.push(u16::try_from(chosen).unwrap_or(u16::MAX));
        }
        // Criteria that do not depend on the facility.
        out.criteria.clear();
        out.subtotals.clear();
        out.subtotals.resize(self.subtotals.len(), Decimal::ZERO);
        out.total = Decimal::ZERO;
        for (i, c) in self.criteria.iter().enumerate() {
            if c.per_facility {
                continue;
            }
            let r = self.criterion(i, c, &mut env, explain)?;
            let subtotal = c.subtotal.and_then(|s| out.subtotals.get_mut(usize::from(s)));
            add_points(&mut out.total, subtotal, r.points).map_err(|error| EvaluationError {
                what: c.label.clone(),
                error,
            })?;
            out.criteria.push(r);
        }
        out.tie_keys.clear();
        self.tie_keys(&mut env, &out.subtotals, out.total, &mut out.tie_keys)?;
        // Per facility.
        out.facilities.clear();
        if self.is_per_facility() {
            for (rank, &facility) in facts.preferences().iter().enumerate() {
                let rank = u32::try_from(rank + 1).unwrap_or(u32::MAX);
                env.facility = Some((facility, i64::from(rank)));
                let mut fs = FacilityScore {
                    facility,
                    rank,
                    criteria: Vec::new(),
                    subtotals: out.subtotals.clone(),
                    total: out.total,
                    tie_keys: Vec::new(),
                };
                for (i, c) in self.criteria.iter().enumerate() {
                    if !c.per_facility {
                        continue;
                    }
                    let r = self.criterion(i, c, &mut env, explain)?;
                    let subtotal = c.subtotal.and_then(|s| fs.subtotals.get_mut(usize::from(s)));
                    add_points(&mut fs.total, subtotal, r.points).map_err(|error| EvaluationError {
                        what: c.label.clone(),
                        error,
                    })?;
                    fs.criteria.push(r);
                }
                self.tie_keys(&mut env, &fs.subtotals, fs.total, &mut fs.tie_keys)?;
                out.facilities.push(fs);
            }
        }
        Ok(())
    }

    /// Computes the derived values in dependency order into `out`; on failure, which one failed.
    pub(crate) fn derived_values(
        &self,
        facts: &Facts,
        rows: &mut [u32],
        out: &mut Vec<Value>,
    ) -> Result<(), (&DerivedDef, EvalError)> {
        out.clear();
        for d in &self.derived {
            let v = d.expr.eval(&mut Env::new(facts, out, rows)).map_err(|e| (d, e))?;
            out.push(v);
        }
        Ok(())
    }

    fn tie_keys(
        &self,
        env: &mut Env<'_>,
        subtotals: &[Decimal],
        total: Decimal,
        keys: &mut Vec<Value>,
    ) -> Result<(), EvaluationError> {
        let mut env = Env {
            facts: env.facts,
            derived: env.derived,
            rows: env.rows,
            facility: env.facility,
            subtotals,
            total,
        };
        for t in &self.tie_breaks {
            let v = match &t.kind {
                TieKind::Value(e) => e.eval(&mut env).map_err(|error| EvaluationError {
                    what: t.label.clone(),
                    error,
                })?,
                TieKind::Draw | TieKind::Protocol => Value::Missing,
            };
            keys.push(v);
        }
        Ok(())
    }

    fn criterion(
        &self,
        index: usize,
        c: &Criterion,
        env: &mut Env<'_>,
        explain: bool,
    ) -> Result<CriterionResult, EvaluationError> {
        let fail = |error| EvaluationError {
            what: c.label.clone(),
            error,
        };
        let mut why = Vec::new();
        let mut points = Decimal::ZERO;
        match c.for_each {
            None => {
                if let Some(p) = self.points_once(c, env, explain, &mut why, None).map_err(fail)? {
                    points = p;
                }
            }
            Some(list) => {
                let n = env.facts.list_len(list);
                let slot = usize::from(list);
                let item = self.lists.get(slot).map_or("", |l| l.item_label.as_str());
                for row in 0..n {
                    if let Some(r) = env.rows.get_mut(slot) {
                        *r = row;
                    }
                    let prefix = explain.then(|| format!("{item} {}", row + 1));
                    if let Some(p) = self
                        .points_once(c, env, explain, &mut why, prefix.as_deref())
                        .map_err(fail)?
                    {
                        points = points.checked_add(p).ok_or_else(|| fail(EvalError::Overflow))?;
                    }
                }
            }
        }
        let factor = c
            .multiplier
            .as_ref()
            .map(|m| m.eval(env))
            .transpose()
            .map_err(fail)?;
        let done = self.finish_points(c, points, factor).map_err(fail)?;
        if explain {
            if let Some(f) = done.multiplied_by {
                why.push(format!("moltiplicato per {}", f.normalize()));
            }
            if let Some(max) = done.capped_at {
                why.push(format!("limitato al massimo di {}", max.normalize()));
            }
        }
        let points = done.points;
        if explain && why.is_empty() {
            why.push("non si applica".into());
        }
        Ok(CriterionResult {
            criterion: u16::try_from(index).unwrap_or(u16::MAX),
            points,
            why,
        })
    }

    /// Points of one application (or one record of a `for_each`); `None` when the condition fails.
    fn points_once(
        &self,
        c: &Criterion,
        env: &mut Env<'_>,
        explain: bool,
        why: &mut Vec<String>,
        prefix: Option<&str>,
    ) -> Result<Option<Decimal>, EvalError> {
        if let Some(w) = &c.when
            && !w.eval(env)?.truthy()
        {
            return Ok(None);
        }
        let v = match c.rule.value() {
            Some(e) => e.eval(env)?,
            None => Value::Missing,
        };
        let (points, band) = c.rule.points_for(v)?;
        let reason = explain.then(|| match (&c.rule, v) {
            (PointsRule::Fixed(_), _) => "sì".to_owned(),
            (PointsRule::Formula(_), _) => "calcolato dalla formula".to_owned(),
            (PointsRule::Table { value, .. }, Value::Choice(i)) => self
                .choice_label(value, i)
                .unwrap_or_else(|| format!("opzione {}", i + 1)),
            (PointsRule::Bands { .. }, v) if v.as_dec().is_some() => {
                let x = v.as_dec().unwrap_or_default().normalize();
                match band {
                    Some(b) => format!("valore {x} nella fascia {}", band_text(b)),
                    None => format!("valore {x} fuori da ogni fascia"),
                }
            }
            _ => "valore non indicato".to_owned(),
        });
        if let Some(reason) = reason {
            let points_text = self.round_points(points).normalize();
            why.push(match prefix {
                Some(p) => format!("{p}: {reason} → {points_text}"),
                None => format!("{reason} → {points_text}"),
            });
        }
        Ok(Some(points))
    }

    /// Rounds a criterion's points to the declared decimals (half away from zero); exact values, the
    /// common case, are returned untouched.
    pub(crate) fn round_points(&self, points: Decimal) -> Decimal {
        if points.scale() > self.points_decimals {
            points.round_dp_with_strategy(self.points_decimals, RoundingStrategy::MidpointAwayFromZero)
        } else {
            points
        }
    }

    /// The label of an option, when the expression is a plain choice input or field.
    fn choice_label(&self, value: &Expr, i: u16) -> Option<String> {
        let set = match value {
            Expr::Input(slot) => match self.inputs.get(usize::from(*slot))?.kind {
                InputKind::Choice(s) => s,
                _ => return None,
            },
            Expr::ItemField { list, field } => match self
                .lists
                .get(usize::from(*list))?
                .fields
                .get(usize::from(*field))?
                .kind
            {
                InputKind::Choice(s) => s,
                _ => return None,
            },
            Expr::Derived(d) => {
                let name = &self.derived.get(usize::from(*d))?.id;
                let pos = self.choices.iter().position(|c| &c.name == name)?;
                u16::try_from(pos).ok()?
            }
            _ => return None,
        };
        self.option_label(set, Value::Choice(i)).map(str::to_owned)
    }
}

/// Adds a criterion's points to the total and to its subtotal; checked, since a formula can produce
/// numbers near the limit of exact decimals.
pub(crate) fn add_points(
    total: &mut Decimal,
    subtotal: Option<&mut Decimal>,
    points: Decimal,
) -> Result<(), EvalError> {
    // Most criteria give nothing to most applications; a decimal addition is not free.
    if points.is_zero() {
        return Ok(());
    }
    *total = total.checked_add(points).ok_or(EvalError::Overflow)?;
    if let Some(s) = subtotal {
        *s = s.checked_add(points).ok_or(EvalError::Overflow)?;
    }
    Ok(())
}

impl PointsRule {
    /// The points a rule gives for its evaluated value (ignored by fixed points), with the band used
    /// when the rule is a table of bands. One definition for the row and the batch evaluators.
    #[inline]
    pub(crate) fn points_for(&self, v: Value) -> Result<(Decimal, Option<&Band>), EvalError> {
        Ok(match self {
            PointsRule::Fixed(p) => (*p, None),
            PointsRule::Formula(_) => (v.as_dec().unwrap_or(Decimal::ZERO), None),
            PointsRule::Table { points, .. } => match v {
                Value::Choice(i) => (points.get(usize::from(i)).copied().unwrap_or(Decimal::ZERO), None),
                _ => (Decimal::ZERO, None),
            },
            PointsRule::Bands { bands, .. } => match v.as_dec() {
                Some(x) => band_value(bands, x)?.map_or((Decimal::ZERO, None), |(b, p)| (p, Some(b))),
                None => (Decimal::ZERO, None),
            },
        })
    }

    /// The expression whose value the rule reads (none for fixed points).
    #[inline]
    pub(crate) fn value(&self) -> Option<&Expr> {
        match self {
            PointsRule::Fixed(_) => None,
            PointsRule::Formula(e)
            | PointsRule::Table { value: e, .. }
            | PointsRule::Bands { value: e, .. } => Some(e),
        }
    }
}

/// A criterion's points after its multiplier, cap and rounding, and which of them applied.
pub(crate) struct Finished {
    pub(crate) points: Decimal,
    pub(crate) multiplied_by: Option<Decimal>,
    pub(crate) capped_at: Option<Decimal>,
}

impl Regulation {
    /// Applies a criterion's multiplier (`factor`, the multiplier's value when it has one), cap and
    /// rounding to its summed points. One definition for the row and the batch evaluators.
    #[inline]
    pub(crate) fn finish_points(
        &self,
        c: &Criterion,
        mut points: Decimal,
        factor: Option<Value>,
    ) -> Result<Finished, EvalError> {
        // Most criteria have neither multiplier nor cap: only rounding.
        if factor.is_none() && c.max.is_none() {
            return Ok(Finished {
                points: self.round_points(points),
                multiplied_by: None,
                capped_at: None,
            });
        }
        let mut multiplied_by = None;
        if let Some(f) = factor {
            let f = f.as_dec().unwrap_or(Decimal::ONE);
            if f != Decimal::ONE && !points.is_zero() {
                points = points.checked_mul(f).ok_or(EvalError::Overflow)?;
                multiplied_by = Some(f);
            }
        }
        let mut capped_at = None;
        if let Some(max) = c.max
            && points > max
        {
            points = max;
            capped_at = Some(max);
        }
        Ok(Finished {
            points: self.round_points(points),
            multiplied_by,
            capped_at,
        })
    }
}

/// The band containing `x` and what it gives there.
///
/// Bands are checked to meet exactly at the precision written in their bounds (`to = 0.3847`,
/// `from = 0.3848`); a value more precise than that (0.38479) lies between them and belongs to the lower
/// band, since it has not reached the next band's `from`. Below the first band or above the last there
/// is no band.
pub(crate) fn band_value(bands: &[Band], x: Decimal) -> Result<Option<(&Band, Decimal)>, EvalError> {
    let Some(i) = bands.iter().rposition(|b| b.from.is_none_or(|f| x >= f)) else {
        return Ok(None);
    };
    let Some(b) = bands.get(i) else { return Ok(None) };
    if i + 1 == bands.len() && b.to.is_some_and(|t| x > t) {
        return Ok(None);
    }
    // Between this band's `to` and the next band's `from`: the value of this band at its `to`.
    let x = match b.to {
        Some(t) if x > t => t,
        _ => x,
    };
    let v = match (b.gives, b.from, b.to) {
        (BandValue::Fixed(p), _, _) => p,
        (BandValue::Linear(a, z), Some(from), Some(to)) => {
            // a + (x − from) × (z − a) / (to − from), multiplying before dividing to keep every digit.
            let num = (x - from).checked_mul(z - a).ok_or(EvalError::Overflow)?;
            let den = to - from;
            if den.is_zero() {
                return Err(EvalError::DivisionByZero);
            }
            a + num.checked_div(den).ok_or(EvalError::Overflow)?
        }
        (BandValue::Linear(a, _), _, _) => a,
    };
    Ok(Some((b, v)))
}

fn band_text(b: &Band) -> String {
    match (b.from, b.to) {
        (Some(f), Some(t)) => format!("da {} a {}", f.normalize(), t.normalize()),
        (Some(f), None) => format!("da {} in su", f.normalize()),
        (None, Some(t)) => format!("fino a {}", t.normalize()),
        (None, None) => "unica".into(),
    }
}
