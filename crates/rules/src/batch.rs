//! Scoring many applications at once, column by column.
//!
//! [`Regulation::evaluate_into`] walks every expression once per application; most of its time is the
//! interpreter's own overhead (see `docs/performance.md`). Here each expression node is evaluated once
//! per *chunk* of applications, over a column of values, so that overhead is paid once per chunk. The
//! semantics are the row evaluator's, operator by operator ([`crate::expr::eval::apply`]): `and`, `or`,
//! `if` and `??` evaluate their second operand only for the applications that need it, as the row
//! evaluator does. `any`/`all` are evaluated over every record, which can only add errors (division by
//! zero, overflow) that the row evaluator would not meet; when a chunk meets any error it is evaluated
//! again application by application, so results and errors are exactly the row evaluator's.
//!
//! The output, [`BatchScores`], keeps what a ranking needs (no explanations): eligibility, section,
//! tiers, points per criterion, subtotals, total, tie-break values, and the same per preferred facility
//! when points depend on it.

use rust_decimal::Decimal;

use crate::evaluate::{Eligibility, Evaluation, EvaluationError};
use crate::expr::Expr;
use crate::expr::eval::FacilityLists;
use crate::expr::eval::{self, EvalError, add_present, apply};
use crate::facts_batch::FactsBatch;
use crate::model::{Criterion, Regulation, TieKind};
use crate::value::Value;

/// Applications scored together; small enough for the columns to stay in the processor's cache.
const CHUNK: usize = 1024;

/// Scores of a batch of applications, one row per application (and per preferred facility).
#[derive(Debug, Clone, Default)]
pub struct BatchScores {
    /// Number of applications.
    pub len: usize,
    levels: usize,
    n_criteria: usize,
    n_subtotals: usize,
    n_ties: usize,
    /// Excluded by an eligibility rule.
    pub excluded: Vec<bool>,
    /// Admitted *con riserva*.
    pub reserve: Vec<bool>,
    /// Age section.
    pub section: Vec<Option<u16>>,
    /// The neighbouring section whose spare seats the child may take (border ages).
    pub border: Vec<Option<u16>>,
    tier: Vec<u16>,
    points: Vec<Decimal>,
    subtotals: Vec<Decimal>,
    /// Total of the criteria that do not depend on the facility.
    pub total: Vec<Decimal>,
    tie_keys: Vec<Value>,
    facility_start: Vec<u32>,
    /// Per preferred facility: (facility, rank, total).
    facilities: Vec<(u32, u32, Decimal)>,
    facility_points: Vec<Decimal>,
    facility_subtotals: Vec<Decimal>,
    facility_ties: Vec<Value>,
}

impl BatchScores {
    /// Group per tier level of application `i`.
    pub fn tier(&self, i: usize) -> &[u16] {
        self.tier
            .get(i * self.levels..(i + 1) * self.levels)
            .unwrap_or(&[])
    }
    /// Points per criterion of application `i` (zero for criteria that depend on the facility).
    pub fn points(&self, i: usize) -> &[Decimal] {
        self.points
            .get(i * self.n_criteria..(i + 1) * self.n_criteria)
            .unwrap_or(&[])
    }
    /// Subtotals of application `i`.
    pub fn subtotals(&self, i: usize) -> &[Decimal] {
        self.subtotals
            .get(i * self.n_subtotals..(i + 1) * self.n_subtotals)
            .unwrap_or(&[])
    }
    /// Tie-break values of application `i`.
    pub fn tie_keys(&self, i: usize) -> &[Value] {
        self.tie_keys
            .get(i * self.n_ties..(i + 1) * self.n_ties)
            .unwrap_or(&[])
    }
    /// Rows of application `i` per preferred facility: indexes for [`BatchScores::facility`].
    pub fn facility_rows(&self, i: usize) -> std::ops::Range<usize> {
        let start = self.facility_start.get(i).copied().unwrap_or(0) as usize;
        let end = self
            .facility_start
            .get(i + 1)
            .copied()
            .map_or(start, |e| e as usize);
        start..end
    }
    /// Facility, rank, total, points per criterion, subtotals and tie-break values of a facility row.
    pub fn facility(&self, row: usize) -> (u32, u32, Decimal, &[Decimal], &[Decimal], &[Value]) {
        let (f, r, t) = self.facilities.get(row).copied().unwrap_or((0, 0, Decimal::ZERO));
        let points = self
            .facility_points
            .get(row * self.n_criteria..(row + 1) * self.n_criteria)
            .unwrap_or(&[]);
        let subtotals = self
            .facility_subtotals
            .get(row * self.n_subtotals..(row + 1) * self.n_subtotals)
            .unwrap_or(&[]);
        let ties = self
            .facility_ties
            .get(row * self.n_ties..(row + 1) * self.n_ties)
            .unwrap_or(&[]);
        (f, r, t, points, subtotals, ties)
    }

    /// The scores of applications evaluated one by one (by [`Regulation::evaluate`]).
    pub fn from_evaluations(reg: &Regulation, evaluations: &[Evaluation]) -> Self {
        let mut out = BatchScores::empty(reg);
        for ev in evaluations {
            out.push_row(reg, ev);
        }
        out
    }

    fn empty(reg: &Regulation) -> Self {
        BatchScores {
            levels: reg.tiers.len(),
            n_criteria: reg.criteria.len(),
            n_subtotals: reg.subtotals.len(),
            n_ties: reg.tie_breaks.len(),
            facility_start: vec![0],
            ..BatchScores::default()
        }
    }

    fn push_row(&mut self, reg: &Regulation, ev: &Evaluation) {
        self.len += 1;
        self.excluded
            .push(matches!(ev.eligibility, Eligibility::Excluded(_)));
        self.reserve
            .push(matches!(ev.eligibility, Eligibility::Reserve(_)));
        self.section.push(ev.section);
        self.border.push(ev.border);
        self.tier.extend_from_slice(&ev.tier);
        let mut points = vec![Decimal::ZERO; self.n_criteria];
        for r in &ev.criteria {
            if let Some(p) = points.get_mut(usize::from(r.criterion)) {
                *p = r.points;
            }
        }
        self.points.extend_from_slice(&points);
        self.subtotals.extend_from_slice(&ev.subtotals);
        self.total.push(ev.total);
        self.tie_keys.extend_from_slice(&ev.tie_keys);
        for f in &ev.facilities {
            self.facilities.push((f.facility, f.rank, f.total));
            let mut points = vec![Decimal::ZERO; reg.criteria.len()];
            for r in &f.criteria {
                if let Some(p) = points.get_mut(usize::from(r.criterion)) {
                    *p = r.points;
                }
            }
            self.facility_points.extend_from_slice(&points);
            self.facility_subtotals.extend_from_slice(&f.subtotals);
            self.facility_ties.extend_from_slice(&f.tie_keys);
        }
        self.facility_start
            .push(u32::try_from(self.facilities.len()).unwrap_or(u32::MAX));
    }
}

/// The applications (or records, or preferred facilities) an expression is evaluated for.
#[derive(Debug, Clone, Default)]
struct Domain {
    /// Application index in the batch, per element.
    app: Vec<u32>,
    /// Per list input: the record bound for each element (empty when the list is not bound).
    rows: Vec<Vec<u32>>,
    /// Facility and rank, per element (empty outside per-facility evaluation).
    facility: Vec<(u32, i64)>,
    /// Row of the scores (subtotals, total) each element reads in tie-breaks.
    score: Vec<u32>,
}

impl Domain {
    fn len(&self) -> usize {
        self.app.len()
    }

    /// The elements at positions `keep`.
    fn subset(&self, keep: &[u32]) -> Domain {
        let pick = |v: &Vec<u32>| {
            if v.is_empty() {
                Vec::new()
            } else {
                keep.iter()
                    .map(|&k| v.get(k as usize).copied().unwrap_or(0))
                    .collect()
            }
        };
        Domain {
            app: pick(&self.app),
            rows: self.rows.iter().map(pick).collect(),
            facility: if self.facility.is_empty() {
                Vec::new()
            } else {
                keep.iter()
                    .map(|&k| self.facility.get(k as usize).copied().unwrap_or((0, 0)))
                    .collect()
            },
            score: pick(&self.score),
        }
    }

    /// One element per record of `list` of each element's application; also returns each new element's
    /// parent position.
    fn expand(&self, list: u16, facts: Chunk<'_>) -> (Domain, Vec<u32>) {
        let mut parent = Vec::new();
        let mut item_rows = Vec::new();
        for (i, &a) in self.app.iter().enumerate() {
            let n = facts.list_len(a, list);
            for r in 0..n {
                parent.push(u32::try_from(i).unwrap_or(u32::MAX));
                item_rows.push(r);
            }
        }
        let mut d = self.subset(&parent);
        if let Some(rows) = d.rows.get_mut(usize::from(list)) {
            *rows = item_rows;
        }
        (d, parent)
    }
}

/// Positions of the elements whose value is true (or, with `want = false`, not true).
fn positions(values: &[Value], want: bool) -> Vec<u32> {
    values
        .iter()
        .enumerate()
        .filter(|(_, v)| v.truthy() == want)
        .map(|(i, _)| u32::try_from(i).unwrap_or(u32::MAX))
        .collect()
}

/// Writes `values` (one per position of `at`) into `out`.
fn scatter(out: &mut [Value], at: &[u32], values: Vec<Value>) {
    for (&i, v) in at.iter().zip(values) {
        if let Some(slot) = out.get_mut(i as usize) {
            *slot = v;
        }
    }
}

struct Batch<'a> {
    reg: &'a Regulation,
    facts: Chunk<'a>,
    /// Derived values, per derived value, per application of the batch.
    derived: Vec<Vec<Value>>,
    /// Subtotals and total per score row (tie-breaks only).
    score_subtotals: &'a [Decimal],
    score_totals: &'a [Decimal],
}

type Column = Result<Vec<Value>, EvalError>;

impl Batch<'_> {
    fn eval(&self, e: &Expr, d: &Domain) -> Column {
        let n = d.len();
        let missing = Value::Missing;
        Ok(match e {
            Expr::Const(v) => vec![*v; n],
            Expr::Input(slot) => d.app.iter().map(|&a| self.facts.scalar(a, *slot)).collect(),
            Expr::Derived(i) => {
                let col = self.derived.get(usize::from(*i));
                d.app
                    .iter()
                    .map(|&a| col.and_then(|c| c.get(a as usize)).copied().unwrap_or(missing))
                    .collect()
            }
            Expr::ItemField { list, field } => {
                let rows = d.rows.get(usize::from(*list));
                d.app
                    .iter()
                    .enumerate()
                    .map(|(i, &a)| {
                        let row = rows.and_then(|r| r.get(i)).copied().unwrap_or(0);
                        self.facts.list_value(a, *list, row, *field)
                    })
                    .collect()
            }
            Expr::ItemIndex(list) => {
                let rows = d.rows.get(usize::from(*list));
                (0..n)
                    .map(|i| Value::Int(i64::from(rows.and_then(|r| r.get(i)).copied().unwrap_or(0)) + 1))
                    .collect()
            }
            Expr::Subtotal(s) => {
                let k = self.reg.subtotals.len();
                d.score
                    .iter()
                    .map(|&r| {
                        Value::Dec(
                            self.score_subtotals
                                .get(r as usize * k + usize::from(*s))
                                .copied()
                                .unwrap_or_default(),
                        )
                    })
                    .collect()
            }
            Expr::Total => d
                .score
                .iter()
                .map(|&r| Value::Dec(self.score_totals.get(r as usize).copied().unwrap_or_default()))
                .collect(),
            Expr::Facility => (0..n)
                .map(|i| d.facility.get(i).map_or(missing, |(f, _)| Value::Facility(*f)))
                .collect(),
            Expr::PreferenceRank => (0..n)
                .map(|i| d.facility.get(i).map_or(missing, |(_, r)| Value::Int(*r)))
                .collect(),
            Expr::Not(a)
            | Expr::Neg(a)
            | Expr::Present(a)
            | Expr::InSet(a, _)
            | Expr::FacilityCount(a)
            | Expr::DateOf(a) => {
                let x = self.eval(a, d)?;
                self.map(e, d, x, None)?
            }
            Expr::Cmp(_, a, b)
            | Expr::Arith(_, a, b)
            | Expr::InFacilities(a, b)
            | Expr::Months(a, b)
            | Expr::Years(a, b)
            | Expr::Min(a, b)
            | Expr::Max(a, b) => {
                let x = self.eval(a, d)?;
                let y = self.eval(b, d)?;
                self.map(e, d, x, Some(y))?
            }
            Expr::And(a, b) | Expr::Or(a, b) => {
                let is_and = matches!(e, Expr::And(..));
                let x = self.eval(a, d)?;
                // `and` needs the second operand where the first is true; `or` where it is not.
                let need = positions(&x, is_and);
                let mut out: Vec<Value> = x.iter().map(|v| Value::Bool(!is_and && v.truthy())).collect();
                if !need.is_empty() {
                    let y = self.eval(b, &d.subset(&need))?;
                    scatter(
                        &mut out,
                        &need,
                        y.into_iter().map(|v| Value::Bool(v.truthy())).collect(),
                    );
                }
                out
            }
            Expr::Coalesce(a, b) => {
                let mut out = self.eval(a, d)?;
                let need: Vec<u32> = out
                    .iter()
                    .enumerate()
                    .filter(|(_, v)| **v == Value::Missing)
                    .map(|(i, _)| u32::try_from(i).unwrap_or(u32::MAX))
                    .collect();
                if !need.is_empty() {
                    let y = self.eval(b, &d.subset(&need))?;
                    scatter(&mut out, &need, y);
                }
                out
            }
            Expr::If(c, y, no) => {
                let cond = self.eval(c, d)?;
                let mut out = vec![missing; n];
                let yes = positions(&cond, true);
                let not = positions(&cond, false);
                if !yes.is_empty() {
                    scatter(&mut out, &yes, self.eval(y, &d.subset(&yes))?);
                }
                if !not.is_empty() {
                    scatter(&mut out, &not, self.eval(no, &d.subset(&not))?);
                }
                out
            }
            Expr::Count(list, cond) => {
                let (items, parent) = d.expand(*list, self.facts);
                let mut counts = vec![0i64; n];
                let holds = match cond {
                    Some(c) => self.eval(c, &items)?,
                    None => vec![Value::Bool(true); items.len()],
                };
                for (p, v) in parent.iter().zip(holds) {
                    if let (true, Some(c)) = (v.truthy(), counts.get_mut(*p as usize)) {
                        *c += 1;
                    }
                }
                counts.into_iter().map(Value::Int).collect()
            }
            Expr::Sum(list, body) => {
                let (items, parent) = d.expand(*list, self.facts);
                let values = self.eval(body, &items)?;
                let mut totals = vec![Value::Int(0); n];
                for (p, v) in parent.iter().zip(values) {
                    if let Some(t) = totals.get_mut(*p as usize) {
                        *t = add_present(*t, v)?;
                    }
                }
                totals
            }
            Expr::Any(list, c) | Expr::All(list, c) => {
                let is_any = matches!(e, Expr::Any(..));
                let (items, parent) = d.expand(*list, self.facts);
                let values = self.eval(c, &items)?;
                let mut out = vec![Value::Bool(!is_any); n];
                for (p, v) in parent.iter().zip(values) {
                    if let Some(slot) = out.get_mut(*p as usize) {
                        if is_any && v.truthy() {
                            *slot = Value::Bool(true);
                        } else if !is_any && !v.truthy() {
                            *slot = Value::Bool(false);
                        }
                    }
                }
                out
            }
        })
    }

    /// Applies an operator element by element. The common operators get a loop of their own, so the
    /// operator is chosen once per column rather than once per value.
    fn map(&self, e: &Expr, d: &Domain, x: Vec<Value>, y: Option<Vec<Value>>) -> Column {
        let y = y.unwrap_or_default();
        match e {
            Expr::Not(_) => return Ok(x.into_iter().map(eval::not).collect()),
            Expr::Present(_) => return Ok(x.into_iter().map(eval::present).collect()),
            Expr::InSet(_, set) => return Ok(x.into_iter().map(|v| eval::in_set(v, set)).collect()),
            Expr::Cmp(op, ..) => {
                return Ok(x.into_iter().zip(y).map(|(a, b)| eval::cmp(*op, a, b)).collect());
            }
            Expr::Arith(op, ..) => {
                return x
                    .into_iter()
                    .zip(y)
                    .map(|(a, b)| eval::arith(*op, a, b))
                    .collect();
            }
            _ => {}
        }
        let mut out = Vec::with_capacity(x.len());
        for (i, v) in x.into_iter().enumerate() {
            let w = y.get(i).copied().unwrap_or(Value::Missing);
            let app = AppLists {
                facts: self.facts,
                app: d.app.get(i).copied().unwrap_or(u32::MAX),
            };
            out.push(apply(e, v, w, &app)?);
        }
        Ok(out)
    }

    /// Points of one criterion for each element of `d` (after multiplier, cap and rounding).
    fn criterion(&self, c: &Criterion, d: &Domain) -> Result<Vec<Decimal>, EvalError> {
        let mut points = match c.for_each {
            None => self.points_once(c, d)?,
            Some(list) => {
                let (items, parent) = d.expand(list, self.facts);
                let per_item = self.points_once(c, &items)?;
                let mut sums = vec![Decimal::ZERO; d.len()];
                for (p, v) in parent.iter().zip(per_item) {
                    if let Some(s) = sums.get_mut(*p as usize) {
                        *s = s.checked_add(v).ok_or(EvalError::Overflow)?;
                    }
                }
                sums
            }
        };
        let factors = match &c.multiplier {
            Some(m) => Some(self.eval(m, d)?),
            None => None,
        };
        for (i, p) in points.iter_mut().enumerate() {
            let factor = factors
                .as_ref()
                .map(|f| f.get(i).copied().unwrap_or(Value::Missing));
            *p = self.reg.finish_points(c, *p, factor)?.points;
        }
        Ok(points)
    }

    /// Points of a criterion's rule where its condition holds, zero elsewhere.
    fn points_once(&self, c: &Criterion, d: &Domain) -> Result<Vec<Decimal>, EvalError> {
        let mut out = vec![Decimal::ZERO; d.len()];
        let (sub, at) = match &c.when {
            None => (None, None),
            Some(w) => {
                let holds = positions(&self.eval(w, d)?, true);
                (Some(d.subset(&holds)), Some(holds))
            }
        };
        let dom = sub.as_ref().unwrap_or(d);
        let values: Vec<Decimal> = match c.rule.value() {
            None => c
                .rule
                .points_for(Value::Missing)
                .map(|(p, _)| vec![p; dom.len()])?,
            Some(e) => {
                let mut out = Vec::with_capacity(dom.len());
                for v in self.eval(e, dom)? {
                    out.push(c.rule.points_for(v)?.0);
                }
                out
            }
        };
        match at {
            None => out = values,
            Some(at) => {
                for (&i, v) in at.iter().zip(values) {
                    if let Some(slot) = out.get_mut(i as usize) {
                        *slot = v;
                    }
                }
            }
        }
        Ok(out)
    }

    fn tie_keys(&self, d: &Domain, out: &mut Vec<Value>) -> Result<(), EvalError> {
        let k = self.reg.tie_breaks.len();
        let mut columns = Vec::with_capacity(k);
        for t in &self.reg.tie_breaks {
            columns.push(match &t.kind {
                TieKind::Value(e) => self.eval(e, d)?,
                TieKind::Draw | TieKind::Protocol => vec![Value::Missing; d.len()],
            });
        }
        for i in 0..d.len() {
            out.extend(
                columns
                    .iter()
                    .map(|c| c.get(i).copied().unwrap_or(Value::Missing)),
            );
        }
        Ok(())
    }
}

impl Regulation {
    /// Scores a batch of applications column by column. Results equal [`Regulation::evaluate_into`]'s
    /// (without explanations); an error names the first application whose evaluation fails.
    pub fn score_batch(&self, facts: &FactsBatch) -> Result<BatchScores, (usize, EvaluationError)> {
        let mut out = BatchScores::empty(self);
        // Reserved once: growing these by chunks copied them over and over (a tenth of the work).
        let n = facts.len();
        out.excluded.reserve(n);
        out.reserve.reserve(n);
        out.section.reserve(n);
        out.border.reserve(n);
        out.tier.reserve(n * self.tiers.len());
        out.points.reserve(n * self.criteria.len());
        out.subtotals.reserve(n * self.subtotals.len());
        out.total.reserve(n);
        out.tie_keys.reserve(n * self.tie_breaks.len());
        out.facility_start.reserve(n);
        let mut start = 0;
        while start < facts.len() {
            let end = (start + CHUNK).min(facts.len());
            let chunk = Chunk {
                batch: facts,
                base: start,
                len: end - start,
            };
            if self.score_chunk(chunk, &mut out).is_err() {
                // Exact semantics and the failing application: evaluate this chunk row by row.
                let mut ev = Evaluation::default();
                for i in start..end {
                    self.evaluate_into(&facts.get(i), &mut ev, false)
                        .map_err(|e| (i, e))?;
                    out.push_row(self, &ev);
                }
            }
            start = end;
        }
        Ok(out)
    }

    /// Scores one chunk into `out`; on error nothing is appended.
    fn score_chunk(&self, facts: Chunk<'_>, out: &mut BatchScores) -> Result<(), EvalError> {
        let n = facts.len;
        let all = Domain {
            app: (0..u32::try_from(n).unwrap_or(u32::MAX)).collect(),
            rows: vec![Vec::new(); self.lists.len()],
            facility: Vec::new(),
            score: (0..u32::try_from(n).unwrap_or(u32::MAX)).collect(),
        };
        let mut b = Batch {
            reg: self,
            facts,
            derived: Vec::with_capacity(self.derived.len()),
            score_subtotals: &[],
            score_totals: &[],
        };
        for d in &self.derived {
            let column = b.eval(&d.expr, &all)?;
            b.derived.push(column);
        }
        let section: Vec<Option<u16>> = match self.section_slot.and_then(|s| b.derived.get(usize::from(s))) {
            Some(col) => col
                .iter()
                .map(|v| if let Value::Choice(i) = v { Some(*i) } else { None })
                .collect(),
            None => vec![None; n],
        };
        // Border ages: each section's condition over the chunk, kept where the child is in it.
        let mut border: Vec<Option<u16>> = vec![None; n];
        for (s, rule) in self.borders.iter().enumerate() {
            let Some((to, condition)) = rule else { continue };
            let s = u16::try_from(s).unwrap_or(u16::MAX);
            let keep: Vec<u32> = (0..u32::try_from(n).unwrap_or(u32::MAX))
                .filter(|&i| section.get(i as usize).copied().flatten() == Some(s))
                .collect();
            if keep.is_empty() {
                continue;
            }
            let values = b.eval(condition, &all.subset(&keep))?;
            for (&i, v) in keep.iter().zip(&values) {
                if v.truthy()
                    && let Some(slot) = border.get_mut(i as usize)
                {
                    *slot = Some(*to);
                }
            }
        }
        let mut excluded = vec![false; n];
        let mut reserve = vec![false; n];
        for rule in &self.eligibility {
            for (i, v) in b.eval(&rule.condition, &all)?.iter().enumerate() {
                let flag = match (rule.reserve, v.truthy()) {
                    (false, false) => excluded.get_mut(i),
                    (true, true) => reserve.get_mut(i),
                    _ => None,
                };
                if let Some(flag) = flag {
                    *flag = true;
                }
            }
        }
        // As in `Eligibility`, an excluded application is only excluded, not also *con riserva*.
        for (r, e) in reserve.iter_mut().zip(&excluded) {
            *r &= !*e;
        }
        let levels = self.tiers.len();
        let mut tier = vec![0u16; n * levels];
        for (l, level) in self.tiers.iter().enumerate() {
            let mut remaining: Vec<u32> = all.app.clone();
            let last = u16::try_from(level.groups.len().saturating_sub(1)).unwrap_or(u16::MAX);
            for (g, (_, cond)) in level.groups.iter().enumerate() {
                let Some(cond) = cond else { break };
                if remaining.is_empty() {
                    break;
                }
                let holds = b.eval(cond, &all.subset(&remaining))?;
                let mut still = Vec::with_capacity(remaining.len());
                for (&a, v) in remaining.iter().zip(holds) {
                    if v.truthy() {
                        if let Some(t) = tier.get_mut(a as usize * levels + l) {
                            *t = u16::try_from(g).unwrap_or(u16::MAX);
                        }
                    } else {
                        still.push(a);
                    }
                }
                remaining = still;
            }
            for a in remaining {
                if let Some(t) = tier.get_mut(a as usize * levels + l) {
                    *t = last;
                }
            }
        }
        let k = self.subtotals.len();
        let c = self.criteria.len();
        let mut points = vec![Decimal::ZERO; n * c];
        let mut subtotals = vec![Decimal::ZERO; n * k];
        let mut totals = vec![Decimal::ZERO; n];
        for (ci, crit) in self.criteria.iter().enumerate() {
            if crit.per_facility {
                continue;
            }
            for (i, p) in b.criterion(crit, &all)?.into_iter().enumerate() {
                add(&mut totals, &mut subtotals, k, i, crit.subtotal, p)?;
                if let Some(slot) = points.get_mut(i * c + ci) {
                    *slot = p;
                }
            }
        }
        let mut tie_keys = Vec::with_capacity(n * self.tie_breaks.len());
        b.score_subtotals = &subtotals;
        b.score_totals = &totals;
        b.tie_keys(&all, &mut tie_keys)?;
        // Per preferred facility.
        let mut fac = Domain {
            rows: vec![Vec::new(); self.lists.len()],
            ..Domain::default()
        };
        let mut facility_start = Vec::with_capacity(n);
        if self.is_per_facility() {
            for a in 0..n {
                for (r, &facility) in facts.preferences(a).iter().enumerate() {
                    fac.app.push(u32::try_from(a).unwrap_or(u32::MAX));
                    fac.facility
                        .push((facility, i64::try_from(r + 1).unwrap_or(i64::MAX)));
                }
                facility_start.push(fac.app.len());
            }
        } else {
            facility_start.resize(n, 0);
        }
        let m = fac.len();
        fac.score = (0..u32::try_from(m).unwrap_or(u32::MAX)).collect();
        let mut f_points = vec![Decimal::ZERO; m * c];
        let mut f_subtotals: Vec<Decimal> = Vec::with_capacity(m * k);
        let mut f_totals: Vec<Decimal> = Vec::with_capacity(m);
        for &a in &fac.app {
            let a = a as usize;
            f_subtotals.extend_from_slice(subtotals.get(a * k..(a + 1) * k).unwrap_or(&[]));
            f_totals.push(totals.get(a).copied().unwrap_or_default());
        }
        let mut f_ties = Vec::with_capacity(m * self.tie_breaks.len());
        if m > 0 {
            for (ci, crit) in self.criteria.iter().enumerate() {
                if !crit.per_facility {
                    continue;
                }
                for (i, p) in b.criterion(crit, &fac)?.into_iter().enumerate() {
                    add(&mut f_totals, &mut f_subtotals, k, i, crit.subtotal, p)?;
                    if let Some(slot) = f_points.get_mut(i * c + ci) {
                        *slot = p;
                    }
                }
            }
            b.score_subtotals = &f_subtotals;
            b.score_totals = &f_totals;
            b.tie_keys(&fac, &mut f_ties)?;
        }
        // Nothing failed: append.
        let base = out.facilities.len();
        out.len += n;
        out.excluded.extend(excluded);
        out.reserve.extend(reserve);
        out.section.extend(section);
        out.border.extend(border);
        out.tier.extend(tier);
        out.points.extend(points);
        out.subtotals.extend(subtotals);
        out.total.extend(totals);
        out.tie_keys.extend(tie_keys);
        for (i, &(f, r)) in fac.facility.iter().enumerate() {
            out.facilities.push((
                f,
                u32::try_from(r).unwrap_or(u32::MAX),
                f_totals.get(i).copied().unwrap_or_default(),
            ));
        }
        out.facility_points.extend(f_points);
        out.facility_subtotals.extend(f_subtotals);
        out.facility_ties.extend(f_ties);
        out.facility_start.extend(
            facility_start
                .into_iter()
                .map(|s| u32::try_from(base + s).unwrap_or(u32::MAX)),
        );
        Ok(())
    }
}

/// The applications of one chunk: `len` applications of the batch from `base`, numbered from 0.
#[derive(Debug, Clone, Copy)]
struct Chunk<'a> {
    batch: &'a FactsBatch,
    base: usize,
    len: usize,
}

impl Chunk<'_> {
    fn scalar(&self, a: u32, slot: u16) -> Value {
        self.batch.scalar(self.base + a as usize, slot)
    }
    fn list_len(&self, a: u32, list: u16) -> u32 {
        self.batch.list_len(self.base + a as usize, list)
    }
    fn list_value(&self, a: u32, list: u16, row: u32, field: u16) -> Value {
        self.batch.list_value(self.base + a as usize, list, row, field)
    }
    fn preferences(&self, a: usize) -> &[u32] {
        self.batch.preferences(self.base + a)
    }
}

/// The lists of facilities of one application of a chunk.
struct AppLists<'a> {
    facts: Chunk<'a>,
    app: u32,
}

impl FacilityLists for AppLists<'_> {
    fn facility_list(&self, i: u32) -> &[u32] {
        self.facts
            .batch
            .facility_list(self.facts.base + self.app as usize, i)
    }
}

fn add(
    totals: &mut [Decimal],
    subtotals: &mut [Decimal],
    k: usize,
    i: usize,
    subtotal: Option<u16>,
    p: Decimal,
) -> Result<(), EvalError> {
    if let Some(t) = totals.get_mut(i) {
        crate::evaluate::add_points(
            t,
            subtotal.and_then(|s| subtotals.get_mut(i * k + usize::from(s))),
            p,
        )?;
    }
    Ok(())
}
