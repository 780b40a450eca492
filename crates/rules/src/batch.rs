//! Scoring many applications at once, column by column.
//!
//! [`Regulation::evaluate_into`] walks every expression once per application; most of its time is the
//! interpreter's own overhead (see `docs/performance.md`). Here each expression node is evaluated once
//! per *chunk* of applications, over a column of values (`lane.rs`: typed codes where the kind
//! allows), so that overhead is paid once per chunk. The semantics are the row evaluator's, operator
//! by operator ([`crate::expr::eval::apply`] where a column is not typed). `and`, `or`, `if`, `??` and
//! a criterion's `when` evaluate both sides for every application of the chunk, except an operand
//! that divides, which is evaluated only for the applications that need it, as the row evaluator
//! does; `any`/`all` are evaluated over every record. Both can only add errors (overflow, or a
//! division by zero in `any`/`all`) that the row evaluator would not meet; when a chunk meets any error
//! it is evaluated again application by application, so results and errors are exactly the row
//! evaluator's.
//!
//! The output, [`BatchScores`], keeps what a ranking needs (no explanations): eligibility, section,
//! tiers, points per criterion, subtotals, total, tie-break values, and the same per preferred facility
//! when points depend on it.
//!
//! Points are whole numbers of the regulation's smallest unit (`10^-points_decimals`), which is exact:
//! every criterion's points are rounded to that many decimals, and sums of such numbers stay at that
//! scale. Adding them is one machine instruction, where a decimal addition is a few dozen; a criterion
//! whose values are not exact at that scale before its rounding (a formula, a multiplier, a cap) is
//! computed in decimals as the row evaluator does and converted at the end.

use rust_decimal::Decimal;

use crate::column::NO_INT;
use crate::evaluate::{Evaluation, EvaluationError};
use crate::expr::eval::FacilityLists;
use crate::expr::eval::{self, EvalError, add_present, apply};
use crate::expr::{ArithOp, Expr};
use crate::facts_batch::FactsBatch;
use crate::lane::{self, Lane, Operand};
use crate::model::{Band, BandValue, Criterion, PointsRule, Regulation, TieKind};
use crate::scores::{BatchScores, TieColumns, to_units};
use crate::value::{Value, from_units, whole_units};

/// Applications scored together; small enough for the columns to stay in the processor's cache.
const CHUNK: usize = 1024;

/// The applications (or records, or preferred facilities) an expression is evaluated for.
#[derive(Debug, Clone, Default)]
struct Domain {
    /// Application index in the batch, per element.
    app: Vec<u32>,
    /// Per list input: where the values of the record bound for each element start in the list's
    /// table (empty when the list is not bound), so that a field is read with one index.
    rows: Vec<Vec<u32>>,
    /// Facility and rank, per element (empty outside per-facility evaluation).
    facility: Vec<(u32, i64)>,
    /// Row of the scores (subtotals, total) each element reads in tie-breaks.
    score: Vec<u32>,
    /// True for the chunk's whole domain: every application once, in order, no record or facility
    /// bound. Inputs and derived values are then copied as runs, and lists expanded once.
    whole: bool,
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
            whole: false,
        }
    }

    /// One element per record of `list` of each element's application; also returns each new element's
    /// parent position.
    fn expand(&self, list: u16, facts: Chunk<'_>) -> (Domain, Vec<u32>) {
        let mut parent = Vec::new();
        let mut item_rows = Vec::new();
        for (i, &a) in self.app.iter().enumerate() {
            let (from, to, width) = facts.list_span(a, list);
            let records = (to - from).checked_div(width).unwrap_or(0);
            for r in 0..records {
                parent.push(u32::try_from(i).unwrap_or(u32::MAX));
                item_rows.push(from + r * width);
            }
        }
        let mut d = self.subset(&parent);
        if let Some(rows) = d.rows.get_mut(usize::from(list)) {
            *rows = item_rows;
        }
        (d, parent)
    }
}

/// A band of whole-number bounds giving a fixed number of points: `(from, to, points in units)`.
type WholeBand = (Option<i64>, Option<i64>, i64);

/// Bands whose bounds are whole numbers and whose points are fixed and exact at `scale`, as whole
/// numbers (`None` when one is not), so that a whole-number value finds its band by comparing
/// integers rather than decimals.
fn whole_bands(bands: &[Band], scale: u32) -> Option<Vec<WholeBand>> {
    let whole = |d: Option<Decimal>| match d {
        None => Some(None),
        Some(d) => whole_units(d.normalize(), 0).map(Some),
    };
    bands
        .iter()
        .map(|b| match b.gives {
            BandValue::Fixed(p) => Some((whole(b.from)?, whole(b.to)?, whole_units(p, scale)?)),
            BandValue::Linear(..) => None,
        })
        .collect()
}

/// The points of whole number `x` in `bands`, chosen as [`crate::evaluate::band_value`] chooses: the
/// last band starting at or below `x`, nothing beyond the last band's end or before the first band.
fn whole_band(bands: &[WholeBand], x: i64) -> i64 {
    let Some(i) = bands.iter().rposition(|b| b.0.is_none_or(|from| x >= from)) else {
        return 0;
    };
    match bands.get(i) {
        Some(&(_, to, _)) if i + 1 == bands.len() && to.is_some_and(|to| x > to) => 0,
        Some(&(_, _, points)) => points,
        None => 0,
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

/// `points(v)` for each value of `lane`; `None` when it is `None` for one of them.
fn each_value<T>(
    lane: &Lane,
    mut points: impl FnMut(Value) -> Result<Option<T>, EvalError>,
) -> Result<Option<Vec<T>>, EvalError> {
    let mut out = Vec::with_capacity(lane.len());
    for i in 0..lane.len() {
        let Some(p) = points(lane.get(i))? else {
            return Ok(None);
        };
        out.push(p);
    }
    Ok(Some(out))
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
    /// Per list, the whole domain expanded to one element per record, and each element's parent.
    expanded: Vec<std::cell::OnceCell<(Domain, Vec<u32>)>>,
    /// Derived values, per derived value, per application of the chunk.
    derived: Vec<Lane>,
    /// Subtotals and total per score row (tie-breaks only), in units of `10^-points_decimals`.
    score_subtotals: &'a [i64],
    score_totals: &'a [i64],
}

type Column = Result<Vec<Value>, EvalError>;

/// Whether evaluating `e` can fail for a value it meets (a division by zero). `and`, `or`, `if` and
/// `??` then evaluate such an operand only for the elements that need it, as the row evaluator does;
/// other operands are evaluated for every element, which is faster and gives the same values.
fn guarded(e: &Expr) -> bool {
    let mut divides = false;
    e.visit(&mut |x| divides |= matches!(x, Expr::Arith(ArithOp::Div, ..)));
    divides
}

impl Batch<'_> {
    /// The values of `e` for each element of `d`.
    fn eval(&self, e: &Expr, d: &Domain) -> Column {
        self.lane(e, d).map(Lane::into_values)
    }

    /// Derived value `i` when `d` is the whole chunk, as it is held.
    fn derived_whole(&self, i: u16, d: &Domain) -> Option<&Lane> {
        self.derived
            .get(usize::from(i))
            .filter(|col| d.whole && col.len() == d.len())
    }

    /// `e` as an operator's operand: a constant is read once, a derived value where it is held.
    fn operand(&self, e: &Expr, d: &Domain) -> Result<Operand<'_>, EvalError> {
        Ok(match e {
            Expr::Const(v) => Operand::Const(*v),
            Expr::Derived(i) if let Some(col) = self.derived_whole(*i, d) => Operand::Held(col),
            _ => Operand::Lane(self.lane(e, d)?),
        })
    }

    /// Binary operator `e` over `a` and `b`: by `typed` where it types the operands, otherwise value
    /// by value with the row evaluator's operator.
    fn binary(
        &self,
        e: &Expr,
        (a, b): (&Expr, &Expr),
        d: &Domain,
        typed: impl FnOnce(&Operand<'_>, &Operand<'_>) -> Option<Result<Lane, EvalError>>,
    ) -> Result<Lane, EvalError> {
        let (x, y) = (self.operand(a, d)?, self.operand(b, d)?);
        match typed(&x, &y) {
            Some(lane) => lane,
            None => {
                let n = d.len();
                Ok(Lane::Values(self.map(
                    e,
                    d,
                    x.into_values(n),
                    Some(y.into_values(n)),
                )?))
            }
        }
    }

    /// The values of `e` for each element of `d`, typed where the kinds allow (see [`crate::lane`]).
    fn lane(&self, e: &Expr, d: &Domain) -> Result<Lane, EvalError> {
        let n = d.len();
        Ok(match e {
            Expr::Const(v) => Lane::splat(*v, n),
            Expr::Input(slot) => match d.whole.then(|| self.facts.scalar_lane(n, *slot)).flatten() {
                Some(run) => run,
                None => self.facts.scalar_lane_at(&d.app, *slot),
            },
            Expr::Derived(i) => match (self.derived_whole(*i, d), self.derived.get(usize::from(*i))) {
                (Some(col), _) => col.clone(),
                (None, Some(col)) => col.gather(&d.app),
                (None, None) => Lane::Values(vec![Value::Missing; n]),
            },
            Expr::ItemField { list, field } => match d.rows.get(usize::from(*list)) {
                Some(offsets) if offsets.len() == n => self.facts.batch.list_lane_at(*list, *field, offsets),
                _ => Lane::Values(self.generic(e, d)?),
            },
            Expr::Cmp(op, a, b) => self.binary(e, (a, b), d, |x, y| {
                lane::compare(*op, x, y).map(|holds| Ok(Lane::Bools(holds)))
            })?,
            Expr::Arith(op, a, b) => self.binary(e, (a, b), d, |x, y| {
                lane::arith(*op, x, y).map(|ints| ints.map(Lane::Ints))
            })?,
            Expr::Months(a, b) | Expr::Years(a, b) => self.binary(e, (a, b), d, |x, y| {
                lane::months(x, y, matches!(e, Expr::Years(..))).map(|ints| Ok(Lane::Ints(ints)))
            })?,
            // `not x` is true where x is not true, missing included.
            Expr::Not(a) => Lane::Bools(self.lane(a, d)?.truth().into_iter().map(|t| t ^ 1).collect()),
            Expr::Present(a) => Lane::Bools(self.lane(a, d)?.present()),
            Expr::InSet(a, set) => match self.lane(a, d)? {
                Lane::Choices(c) => Lane::Bools(lane::in_choices(&c, set)),
                x => Lane::Values(self.map(e, d, x.into_values(), None)?),
            },
            Expr::And(a, b) | Expr::Or(a, b) if !guarded(b) => {
                let mut x = self.lane(a, d)?.truth();
                let y = self.lane(b, d)?.truth();
                if matches!(e, Expr::And(..)) {
                    x.iter_mut().zip(&y).for_each(|(p, q)| *p &= q);
                } else {
                    x.iter_mut().zip(&y).for_each(|(p, q)| *p |= q);
                }
                Lane::Bools(x)
            }
            Expr::If(c, y, no) if !guarded(y) && !guarded(no) => {
                let cond = self.lane(c, d)?.truth();
                lane::select(&cond, self.lane(y, d)?, self.lane(no, d)?)
            }
            Expr::Coalesce(a, b) if !guarded(b) => lane::coalesce(self.lane(a, d)?, self.lane(b, d)?),
            Expr::Count(list, cond) => {
                let expanded = self.expand(d, *list);
                let (items, parent) = &*expanded;
                let mut counts = vec![0i64; n];
                let holds = match cond {
                    Some(c) => self.lane(c, items)?.truth(),
                    None => vec![1; items.len()],
                };
                for (p, h) in parent.iter().zip(holds) {
                    if let (1, Some(c)) = (h, counts.get_mut(*p as usize)) {
                        *c += 1;
                    }
                }
                Lane::Ints(counts)
            }
            Expr::Sum(list, body) => {
                let expanded = self.expand(d, *list);
                let (items, parent) = &*expanded;
                match self.lane(body, items)? {
                    Lane::Ints(values) => Lane::Ints(lane::sum_ints(n, parent, &values)?),
                    values => {
                        let mut totals = vec![Value::Int(0); n];
                        for (p, v) in parent.iter().zip(values.into_values()) {
                            if let Some(t) = totals.get_mut(*p as usize) {
                                *t = add_present(*t, v)?;
                            }
                        }
                        Lane::Values(totals)
                    }
                }
            }
            Expr::Any(list, c) | Expr::All(list, c) => {
                let is_any = matches!(e, Expr::Any(..));
                let expanded = self.expand(d, *list);
                let (items, parent) = &*expanded;
                let holds = self.lane(c, items)?.truth();
                let mut out = vec![u8::from(!is_any); n];
                for (p, h) in parent.iter().zip(holds) {
                    if let Some(slot) = out.get_mut(*p as usize)
                        && (h == 1) == is_any
                    {
                        *slot = h;
                    }
                }
                Lane::Bools(out)
            }
            _ => Lane::Values(self.generic(e, d)?),
        })
    }

    /// The values of the nodes [`Batch::lane`] does not type, value by value.
    fn generic(&self, e: &Expr, d: &Domain) -> Column {
        let n = d.len();
        let missing = Value::Missing;
        Ok(match e {
            // Outside an aggregate (the checker does not allow it): the first record, as the row
            // evaluator reads it.
            Expr::ItemField { list, field } => d
                .app
                .iter()
                .map(|&a| self.facts.list_value(a, *list, 0, *field))
                .collect(),
            Expr::ItemIndex(list) => {
                let offsets = d.rows.get(usize::from(*list));
                d.app
                    .iter()
                    .enumerate()
                    .map(|(i, &a)| {
                        let (from, _, width) = self.facts.list_span(a, *list);
                        let offset = offsets.and_then(|o| o.get(i)).copied().unwrap_or(from);
                        let row = offset.saturating_sub(from).checked_div(width).unwrap_or(0);
                        Value::Int(i64::from(row) + 1)
                    })
                    .collect()
            }
            Expr::Subtotal(s) => {
                let k = self.reg.subtotals.len();
                d.score
                    .iter()
                    .map(|&r| {
                        let units = self
                            .score_subtotals
                            .get(r as usize * k + usize::from(*s))
                            .copied()
                            .unwrap_or_default();
                        Value::Dec(from_units(units, self.reg.points_decimals))
                    })
                    .collect()
            }
            Expr::Total => d
                .score
                .iter()
                .map(|&r| {
                    let units = self.score_totals.get(r as usize).copied().unwrap_or_default();
                    Value::Dec(from_units(units, self.reg.points_decimals))
                })
                .collect(),
            Expr::Facility => (0..n)
                .map(|i| d.facility.get(i).map_or(missing, |(f, _)| Value::Facility(*f)))
                .collect(),
            Expr::PreferenceRank => (0..n)
                .map(|i| d.facility.get(i).map_or(missing, |(_, r)| Value::Int(*r)))
                .collect(),
            Expr::Neg(a) | Expr::FacilityCount(a) | Expr::DateOf(a) => {
                let x = self.eval(a, d)?;
                self.map(e, d, x, None)?
            }
            Expr::InFacilities(a, b) | Expr::Min(a, b) | Expr::Max(a, b) => {
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
            // Typed by `lane`, which never comes back here for them.
            Expr::Const(_)
            | Expr::Input(_)
            | Expr::Derived(_)
            | Expr::Not(_)
            | Expr::Present(_)
            | Expr::InSet(..)
            | Expr::Cmp(..)
            | Expr::Arith(..)
            | Expr::Months(..)
            | Expr::Years(..)
            | Expr::Count(..)
            | Expr::Sum(..)
            | Expr::Any(..)
            | Expr::All(..) => self.lane(e, d)?.into_values(),
        })
    }

    /// One element per record of `list` for each element of `d`, and each one's parent position;
    /// computed once per chunk for the whole domain (several criteria often go over the same list).
    fn expand<'s>(&'s self, d: &Domain, list: u16) -> std::borrow::Cow<'s, (Domain, Vec<u32>)> {
        if d.whole
            && let Some(cell) = self.expanded.get(usize::from(list))
        {
            return std::borrow::Cow::Borrowed(cell.get_or_init(|| d.expand(list, self.facts)));
        }
        std::borrow::Cow::Owned(d.expand(list, self.facts))
    }

    /// Applies an operator element by element. The common operators get a loop of their own, so the
    /// operator is chosen once per column rather than once per value.
    fn map(&self, e: &Expr, d: &Domain, x: Vec<Value>, y: Option<Vec<Value>>) -> Column {
        let y = y.unwrap_or_default();
        match e {
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

    /// Points of one criterion for each element of `d` (after multiplier, cap and rounding), in units
    /// of `10^-points_decimals`.
    fn criterion(&self, c: &Criterion, d: &Domain) -> Result<Vec<i64>, EvalError> {
        if c.multiplier.is_none()
            && let Some(units) = self.criterion_units(c, d)?
        {
            return Ok(units);
        }
        let scale = self.reg.points_decimals;
        self.criterion_decimal(c, d)?
            .into_iter()
            .map(|p| to_units(p, scale))
            .collect()
    }

    /// A criterion without multiplier summed in units, when every value it gives (and its cap) is
    /// exact at the regulation's decimals: then no rounding can apply and the sums are exact. `None`
    /// when some value is not (the decimal route decides).
    fn criterion_units(&self, c: &Criterion, d: &Domain) -> Result<Option<Vec<i64>>, EvalError> {
        let scale = self.reg.points_decimals;
        let one = 10i64.pow(scale);
        let cap = match c.max {
            None => None,
            Some(m) => match whole_units(m, scale) {
                Some(u) => Some(u),
                None => return Ok(None),
            },
        };
        let table: Option<Vec<Option<i64>>> = match &c.rule {
            PointsRule::Table { points, .. } => Some(points.iter().map(|&p| whole_units(p, scale)).collect()),
            _ => None,
        };
        let bands = match &c.rule {
            PointsRule::Bands { bands, .. } => whole_bands(bands, scale),
            _ => None,
        };
        let value_units = |v: Value| -> Result<Option<i64>, EvalError> {
            Ok(match (&c.rule, v) {
                (PointsRule::Table { .. }, Value::Choice(i)) => table
                    .as_ref()
                    .and_then(|t| t.get(usize::from(i)).copied())
                    .unwrap_or(Some(0)),
                (PointsRule::Table { .. }, _) => Some(0),
                (PointsRule::Formula(_), Value::Int(n)) => n.checked_mul(one),
                (PointsRule::Bands { .. }, Value::Int(n)) if bands.is_some() => {
                    Some(bands.as_deref().map_or(0, |b| whole_band(b, n)))
                }
                _ => whole_units(c.rule.points_for(v)?.0, scale),
            })
        };
        // The same for a whole lane, the rule matched once for the common kinds (a missing value's
        // points are the rule's own for a missing value).
        let missing = value_units(Value::Missing)?;
        let units = |lane: &Lane| -> Result<Option<Vec<i64>>, EvalError> {
            let of = |x: i64, units: Option<i64>| if x == NO_INT { missing } else { units };
            Ok(match (&c.rule, lane, &table, &bands) {
                (PointsRule::Table { .. }, Lane::Choices(cs), Some(t), _) => cs
                    .iter()
                    .map(|&x| t.get(usize::from(x)).copied().unwrap_or(Some(0)))
                    .collect(),
                (PointsRule::Formula(_), Lane::Ints(xs), _, _) => {
                    xs.iter().map(|&x| of(x, x.checked_mul(one))).collect()
                }
                (PointsRule::Bands { .. }, Lane::Ints(xs), _, Some(b)) => {
                    xs.iter().map(|&x| of(x, Some(whole_band(b, x)))).collect()
                }
                _ => each_value(lane, value_units)?,
            })
        };
        let mut points = match c.for_each {
            None => match self.points_once(c, d, units)? {
                Some(p) => p,
                None => return Ok(None),
            },
            Some(list) => {
                let expanded = self.expand(d, list);
                let (items, parent) = &*expanded;
                let Some(per_item) = self.points_once(c, items, units)? else {
                    return Ok(None);
                };
                let mut sums = vec![0i64; d.len()];
                for (p, v) in parent.iter().zip(per_item) {
                    if let Some(s) = sums.get_mut(*p as usize) {
                        let Some(sum) = s.checked_add(v) else {
                            return Ok(None);
                        };
                        *s = sum;
                    }
                }
                sums
            }
        };
        if let Some(cap) = cap {
            for p in &mut points {
                *p = (*p).min(cap);
            }
        }
        Ok(Some(points))
    }

    /// A criterion in decimals, exactly as the row evaluator computes it.
    fn criterion_decimal(&self, c: &Criterion, d: &Domain) -> Result<Vec<Decimal>, EvalError> {
        let points = |lane: &Lane| each_value(lane, |v| c.rule.points_for(v).map(|(p, _)| Some(p)));
        let mut points = match c.for_each {
            None => self.points_once(c, d, points)?.unwrap_or_default(),
            Some(list) => {
                let expanded = self.expand(d, list);
                let (items, parent) = &*expanded;
                let per_item = self.points_once(c, items, points)?.unwrap_or_default();
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

    /// Points of a criterion's rule where its condition holds, zero elsewhere, as `points` gives them
    /// for the rule's value (`None` from `points` gives `None` for the whole column).
    fn points_once<T: Copy + Default>(
        &self,
        c: &Criterion,
        d: &Domain,
        points: impl Fn(&Lane) -> Result<Option<Vec<T>>, EvalError>,
    ) -> Result<Option<Vec<T>>, EvalError> {
        // The rule's value is read where the condition holds: for every element, then kept where it
        // holds, unless reading it can fail where the condition does not hold.
        let (sub, at, holds) = match &c.when {
            None => (None, None, None),
            Some(w) if !c.rule.value().is_some_and(guarded) => (None, None, Some(self.lane(w, d)?.truth())),
            Some(w) => {
                let holds = positions(&self.eval(w, d)?, true);
                (Some(d.subset(&holds)), Some(holds), None)
            }
        };
        let dom = sub.as_ref().unwrap_or(d);
        let values = match c.rule.value() {
            // Fixed points: the same for every element.
            None => points(&Lane::splat(Value::Missing, 1))?
                .and_then(|p| p.first().copied())
                .map(|p| vec![p; dom.len()]),
            Some(e) => points(&self.lane(e, dom)?)?,
        };
        let Some(mut values) = values else {
            return Ok(None);
        };
        if let Some(holds) = holds {
            for (v, h) in values.iter_mut().zip(holds) {
                if h == 0 {
                    *v = T::default();
                }
            }
        }
        Ok(Some(match at {
            None => values,
            Some(at) => {
                let mut out = vec![T::default(); d.len()];
                for (&i, v) in at.iter().zip(values) {
                    if let Some(slot) = out.get_mut(i as usize) {
                        *slot = v;
                    }
                }
                out
            }
        }))
    }

    /// The values of the tie-break steps `columns` keeps, per step (empty for the others: they read
    /// the scores, or nothing).
    fn tie_keys(&self, d: &Domain, columns: &TieColumns) -> Result<Vec<Lane>, EvalError> {
        let mut out = Vec::with_capacity(self.reg.tie_breaks.len());
        for (k, t) in self.reg.tie_breaks.iter().enumerate() {
            out.push(match &t.kind {
                TieKind::Value(e) if columns.keeps(k) => self.lane(e, d)?,
                _ => Lane::Values(Vec::new()),
            });
        }
        Ok(out)
    }
}

impl Regulation {
    /// Scores a batch of applications column by column. Results equal [`Regulation::evaluate_into`]'s
    /// (without explanations); an error names the first application whose evaluation fails.
    pub fn score_batch(&self, facts: &FactsBatch) -> Result<BatchScores, (usize, EvaluationError)> {
        self.score_batch_range(facts, 0..facts.len())
    }

    /// [`Regulation::score_batch`] of the applications `range` only (their rows, in order; an error
    /// names the application by its index in `facts`): parts of a batch scored apart, for instance on
    /// two threads, and joined with [`BatchScores::append`], give what scoring the whole batch gives.
    pub fn score_batch_range(
        &self,
        facts: &FactsBatch,
        range: std::ops::Range<usize>,
    ) -> Result<BatchScores, (usize, EvaluationError)> {
        let (first, last) = (range.start.min(facts.len()), range.end.min(facts.len()));
        // Reserved once: growing the columns by chunks copied them over and over (a tenth of the work).
        let rows = if self.is_per_facility() {
            (first..last).map(|a| facts.preferences(a).len()).sum()
        } else {
            0
        };
        let mut out = BatchScores::with_capacity(self, last.saturating_sub(first), rows);
        let mut start = first;
        while start < last {
            let end = (start + CHUNK).min(last);
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
                    out.push_row(self, &ev).map_err(|e| (i, e))?;
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
            whole: true,
        };
        let mut b = Batch {
            reg: self,
            facts,
            expanded: (0..self.lists.len())
                .map(|_| std::cell::OnceCell::new())
                .collect(),
            derived: Vec::with_capacity(self.derived.len()),
            score_subtotals: &[],
            score_totals: &[],
        };
        for d in &self.derived {
            let column = b.lane(&d.expr, &all)?;
            b.derived.push(column);
        }
        let section: Vec<Option<u16>> = match self.section_slot.and_then(|s| b.derived.get(usize::from(s))) {
            Some(col) => (0..n)
                .map(|i| {
                    if let Value::Choice(c) = col.get(i) {
                        Some(c)
                    } else {
                        None
                    }
                })
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
            for (i, holds) in b.lane(&rule.condition, &all)?.truth().into_iter().enumerate() {
                let flag = match (rule.reserve, holds == 1) {
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
            // Each group's condition for every application at once, unless one can fail where an
            // earlier group already holds (the row evaluator stops at the first group that holds).
            if !level.groups.iter().any(|(_, c)| c.as_ref().is_some_and(guarded)) {
                let mut group = vec![None; n];
                let mut open = n;
                for (g, (_, cond)) in level.groups.iter().enumerate() {
                    let Some(cond) = cond else { break };
                    if open == 0 {
                        break;
                    }
                    for (slot, h) in group.iter_mut().zip(b.lane(cond, &all)?.truth()) {
                        if slot.is_none() && h == 1 {
                            *slot = Some(u16::try_from(g).unwrap_or(u16::MAX));
                            open -= 1;
                        }
                    }
                }
                for (a, g) in group.into_iter().enumerate() {
                    if let Some(t) = tier.get_mut(a * levels + l) {
                        *t = g.unwrap_or(last_group(level.groups.len()));
                    }
                }
                continue;
            }
            let mut remaining: Vec<u32> = all.app.clone();
            let last = last_group(level.groups.len());
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
        let mut points = vec![0i64; n * c];
        let mut subtotals = vec![0i64; n * k];
        let mut totals = vec![0i64; n];
        for (ci, crit) in self.criteria.iter().enumerate() {
            if crit.per_facility {
                continue;
            }
            let column = b.criterion(crit, &all)?;
            add(&mut totals, &mut subtotals, k, crit.subtotal, &column)?;
            place(&mut points, c, ci, &column);
        }
        b.score_subtotals = &subtotals;
        b.score_totals = &totals;
        let tie_keys = b.tie_keys(&all, &out.ties)?;
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
        // Only the criteria that depend on the facility (`BatchScores::facility_slots`).
        let width = out.per_facility_criteria();
        let mut f_points = vec![0i64; m * width];
        let mut f_subtotals: Vec<i64> = Vec::with_capacity(m * k);
        let mut f_totals: Vec<i64> = Vec::with_capacity(m);
        for &a in &fac.app {
            let a = a as usize;
            f_subtotals.extend_from_slice(subtotals.get(a * k..(a + 1) * k).unwrap_or(&[]));
            f_totals.push(totals.get(a).copied().unwrap_or_default());
        }
        let mut f_ties = Vec::new();
        if m > 0 {
            for (ci, crit) in self.criteria.iter().enumerate() {
                if !crit.per_facility {
                    continue;
                }
                let column = b.criterion(crit, &fac)?;
                add(&mut f_totals, &mut f_subtotals, k, crit.subtotal, &column)?;
                if let Some(&slot) = out.facility_slots.get(ci) {
                    place(&mut f_points, width, usize::from(slot), &column);
                }
            }
            b.score_subtotals = &f_subtotals;
            b.score_totals = &f_totals;
            f_ties = b.tie_keys(&fac, &out.facility_ties)?;
        }
        // Nothing failed: append.
        let base = out.facilities.len();
        let first = u32::try_from(out.len).unwrap_or(u32::MAX);
        out.facility_app
            .extend(fac.app.iter().map(|&a| a.saturating_add(first)));
        out.len += n;
        out.excluded.extend(excluded);
        out.reserve.extend(reserve);
        out.section.extend(section);
        out.border.extend(border);
        out.tier.extend(tier);
        out.points.extend(&points);
        out.subtotals.extend(subtotals);
        out.total.extend(totals);
        for (k, values) in tie_keys.iter().enumerate() {
            out.ties.push_lane(k, values);
        }
        for (i, &(f, r)) in fac.facility.iter().enumerate() {
            out.facilities.push((
                f,
                u32::try_from(r).unwrap_or(u32::MAX),
                f_totals.get(i).copied().unwrap_or_default(),
            ));
        }
        out.facility_points.extend(&f_points);
        out.facility_subtotals.extend(f_subtotals);
        for (k, values) in f_ties.iter().enumerate() {
            out.facility_ties.push_lane(k, values);
        }
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
    /// The values of `slot` for the first `len` applications of the chunk, if all are stored.
    fn scalar_lane(&self, len: usize, slot: u16) -> Option<Lane> {
        self.batch.scalar_lane(self.base, len, slot)
    }
    /// The values of `slot` for applications `at` of the chunk.
    fn scalar_lane_at(&self, at: &[u32], slot: u16) -> Lane {
        self.batch.scalar_lane_at(self.base, at, slot)
    }
    fn list_span(&self, a: u32, list: u16) -> (u32, u32, u32) {
        self.batch.list_span(self.base + a as usize, list)
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

/// The group of a tier level that takes the applications no condition holds for: the last.
fn last_group(groups: usize) -> u16 {
    u16::try_from(groups.saturating_sub(1)).unwrap_or(u16::MAX)
}

/// Adds a criterion's points, one per element, to the totals and to their subtotal.
fn add(
    totals: &mut [i64],
    subtotals: &mut [i64],
    k: usize,
    subtotal: Option<u16>,
    points: &[i64],
) -> Result<(), EvalError> {
    let mut overflow = false;
    for (t, &p) in totals.iter_mut().zip(points) {
        let (sum, o) = t.overflowing_add(p);
        *t = sum;
        overflow |= o;
    }
    if let Some(s) = subtotal.map(usize::from).filter(|_| k > 0) {
        for (row, &p) in subtotals.chunks_exact_mut(k).zip(points) {
            if let Some(t) = row.get_mut(s) {
                let (sum, o) = t.overflowing_add(p);
                *t = sum;
                overflow |= o;
            }
        }
    }
    if overflow {
        return Err(EvalError::Overflow);
    }
    Ok(())
}

/// Writes criterion `ci`'s points, one per element, into rows of `c` criteria.
fn place(points: &mut [i64], c: usize, ci: usize, column: &[i64]) {
    if c == 0 {
        return;
    }
    for (row, &p) in points.chunks_exact_mut(c).zip(column) {
        if let Some(slot) = row.get_mut(ci) {
            *slot = p;
        }
    }
}
