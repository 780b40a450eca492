//! Evaluation of compiled expressions against one application.
//!
//! Missing values follow three simple rules, documented in `docs/rules.md`: arithmetic on a missing value
//! is missing; a comparison involving a missing value is false; a missing yes/no counts as false.

use std::cmp::Ordering;

use jiff::tz::TimeZone;
use rust_decimal::Decimal;

use super::{ArithOp, CmpOp, Expr};
use crate::facts::Facts;
use crate::value::Value;

/// An evaluation that cannot give a value. One byte, so that `Result<Value, EvalError>` is no larger
/// than a `Value` on the hot path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum EvalError {
    /// A division whose divisor is zero.
    #[error("division by zero")]
    DivisionByZero,
    /// A result beyond the range of exact numbers.
    #[error("number too large")]
    Overflow,
}

/// What an expression can see while it is evaluated.
pub struct Env<'a> {
    /// The application.
    pub facts: &'a Facts,
    /// Derived values computed so far.
    pub derived: &'a [Value],
    /// Current record of each list (valid only inside an aggregate or a `for_each` over it).
    pub rows: &'a mut [u32],
    /// The facility being ranked and its 1-based rank in the preferences.
    pub facility: Option<(u32, i64)>,
    /// Subtotals (tie-breaks only).
    pub subtotals: &'a [Decimal],
    /// Total score (tie-breaks only).
    pub total: Decimal,
}

impl<'a> Env<'a> {
    /// An environment outside any facility and before points are known (derived values, eligibility,
    /// tiers, fees).
    pub fn new(facts: &'a Facts, derived: &'a [Value], rows: &'a mut [u32]) -> Self {
        Env {
            facts,
            derived,
            rows,
            facility: None,
            subtotals: &[],
            total: Decimal::ZERO,
        }
    }
}

type R = Result<Value, EvalError>;

/// Where the lists of facilities an application's values refer to (`Value::Facilities(i)`) are kept.
pub(crate) trait FacilityLists {
    /// The `i`-th list of facilities.
    fn facility_list(&self, i: u32) -> &[u32];
}

impl FacilityLists for Facts {
    fn facility_list(&self, i: u32) -> &[u32] {
        Facts::facility_list(self, i)
    }
}

impl Expr {
    /// Evaluates the expression.
    pub fn eval(&self, env: &mut Env<'_>) -> R {
        Ok(match self {
            Expr::Const(v) => *v,
            Expr::Input(slot) => env.facts.scalar(*slot),
            Expr::Derived(i) => env
                .derived
                .get(usize::from(*i))
                .copied()
                .unwrap_or(Value::Missing),
            Expr::ItemField { list, field } => {
                let row = env.rows.get(usize::from(*list)).copied().unwrap_or(0);
                env.facts.list_value(*list, row, *field)
            }
            Expr::ItemIndex(list) => {
                Value::Int(i64::from(env.rows.get(usize::from(*list)).copied().unwrap_or(0)) + 1)
            }
            Expr::Subtotal(i) => Value::Dec(env.subtotals.get(usize::from(*i)).copied().unwrap_or_default()),
            Expr::Total => Value::Dec(env.total),
            Expr::Facility => env.facility.map_or(Value::Missing, |(f, _)| Value::Facility(f)),
            Expr::PreferenceRank => env.facility.map_or(Value::Missing, |(_, r)| Value::Int(r)),
            Expr::Not(a) => not(a.eval(env)?),
            Expr::Present(a) => present(a.eval(env)?),
            Expr::InSet(a, set) => in_set(a.eval(env)?, set),
            Expr::Cmp(op, a, b) => cmp(*op, a.eval(env)?, b.eval(env)?),
            Expr::Arith(op, a, b) => arith(*op, a.eval(env)?, b.eval(env)?)?,
            Expr::Neg(a) | Expr::FacilityCount(a) | Expr::DateOf(a) => {
                apply(self, a.eval(env)?, Value::Missing, env.facts)?
            }
            Expr::InFacilities(a, b)
            | Expr::Months(a, b)
            | Expr::Years(a, b)
            | Expr::Min(a, b)
            | Expr::Max(a, b) => apply(self, a.eval(env)?, b.eval(env)?, env.facts)?,
            Expr::And(a, b) => Value::Bool(a.eval(env)?.truthy() && b.eval(env)?.truthy()),
            Expr::Or(a, b) => Value::Bool(a.eval(env)?.truthy() || b.eval(env)?.truthy()),
            Expr::Coalesce(a, b) => match a.eval(env)? {
                Value::Missing => b.eval(env)?,
                v => v,
            },
            Expr::If(c, y, n) => {
                if c.eval(env)?.truthy() {
                    y.eval(env)?
                } else {
                    n.eval(env)?
                }
            }
            Expr::Count(list, cond) => {
                let mut n: i64 = 0;
                for_each_row(env, *list, |env| {
                    if cond
                        .as_ref()
                        .map_or(Ok(true), |c| c.eval(env).map(Value::truthy))?
                    {
                        n += 1;
                    }
                    Ok(true)
                })?;
                Value::Int(n)
            }
            Expr::Sum(list, body) => {
                let mut total = Value::Int(0);
                for_each_row(env, *list, |env| {
                    total = add_present(total, body.eval(env)?)?;
                    Ok(true)
                })?;
                total
            }
            Expr::Any(list, cond) => {
                let mut found = false;
                for_each_row(env, *list, |env| {
                    found = cond.eval(env)?.truthy();
                    Ok(!found)
                })?;
                Value::Bool(found)
            }
            Expr::All(list, cond) => {
                let mut all = true;
                for_each_row(env, *list, |env| {
                    all = cond.eval(env)?.truthy();
                    Ok(all)
                })?;
                Value::Bool(all)
            }
        })
    }
}

/// The value of an operator node from the values of its operands (`y` is `Missing` for one-operand
/// nodes). The row evaluator and the batch evaluator both use it, so an operator has one definition.
pub(crate) fn apply(e: &Expr, x: Value, y: Value, facts: &impl FacilityLists) -> R {
    Ok(match e {
        Expr::Not(_) => not(x),
        Expr::Neg(_) => match x {
            Value::Int(n) => Value::Int(n.checked_neg().ok_or(EvalError::Overflow)?),
            Value::Dec(d) => Value::Dec(-d),
            _ => Value::Missing,
        },
        Expr::Present(_) => present(x),
        Expr::InSet(_, set) => in_set(x, set),
        Expr::FacilityCount(_) => match x {
            Value::Facilities(l) => Value::Int(i64::try_from(facts.facility_list(l).len()).unwrap_or(0)),
            _ => Value::Int(0),
        },
        Expr::DateOf(_) => match x {
            Value::Time(t) => Value::Date(t.to_zoned_datetime(rome()).date()),
            _ => Value::Missing,
        },
        Expr::Cmp(op, ..) => cmp(*op, x, y),
        Expr::Arith(op, ..) => arith(*op, x, y)?,
        Expr::InFacilities(..) => match (x, y) {
            (Value::Facility(f), Value::Facilities(l)) => Value::Bool(facts.facility_list(l).contains(&f)),
            _ => Value::Bool(false),
        },
        Expr::Months(..) | Expr::Years(..) => match (x, y) {
            (Value::Date(a), Value::Date(b)) => {
                let m = graduatorie_domain::months_between(a, b);
                Value::Int(i64::from(if matches!(e, Expr::Years(..)) {
                    m.div_euclid(12)
                } else {
                    m
                }))
            }
            _ => Value::Missing,
        },
        Expr::Min(..) | Expr::Max(..) => match x.compare(y) {
            None => Value::Missing,
            Some(o) => {
                let first = if matches!(e, Expr::Min(..)) {
                    o != Ordering::Greater
                } else {
                    o != Ordering::Less
                };
                if first { x } else { y }
            }
        },
        _ => Value::Missing,
    })
}

/// `not`: a missing value counts as false, so its negation is true.
#[inline]
pub(crate) fn not(x: Value) -> Value {
    Value::Bool(!x.truthy())
}

/// `present(x)`.
#[inline]
pub(crate) fn present(x: Value) -> Value {
    Value::Bool(x != Value::Missing)
}

/// `x in [..]`.
#[inline]
pub(crate) fn in_set(x: Value, set: &[Value]) -> Value {
    Value::Bool(x != Value::Missing && set.contains(&x))
}

/// A comparison: false when either side is missing.
#[inline]
pub(crate) fn cmp(op: CmpOp, x: Value, y: Value) -> Value {
    Value::Bool(x.compare(y).is_some_and(|o| op.holds(o)))
}

/// `sum()` adds the values that are present.
pub(crate) fn add_present(total: Value, v: Value) -> R {
    if v == Value::Missing {
        Ok(total)
    } else {
        arith(ArithOp::Add, total, v)
    }
}

impl CmpOp {
    /// Whether the comparison holds for an ordering of its operands.
    pub(crate) fn holds(self, o: Ordering) -> bool {
        match self {
            CmpOp::Eq => o == Ordering::Equal,
            CmpOp::Ne => o != Ordering::Equal,
            CmpOp::Lt => o == Ordering::Less,
            CmpOp::Le => o != Ordering::Greater,
            CmpOp::Gt => o == Ordering::Greater,
            CmpOp::Ge => o != Ordering::Less,
        }
    }
}

/// Europe/Rome, from the time zone database bundled in the binary (the same on every machine).
pub fn rome() -> TimeZone {
    TimeZone::get("Europe/Rome").unwrap_or(TimeZone::UTC)
}

/// Runs `f` for each record of `list` with the record bound; `f` returns `false` to stop early.
fn for_each_row(
    env: &mut Env<'_>,
    list: u16,
    mut f: impl FnMut(&mut Env<'_>) -> Result<bool, EvalError>,
) -> Result<(), EvalError> {
    let rows = env.facts.list_len(list);
    let slot = usize::from(list);
    let saved = env.rows.get(slot).copied().unwrap_or(0);
    let mut result = Ok(());
    for row in 0..rows {
        if let Some(r) = env.rows.get_mut(slot) {
            *r = row;
        }
        match f(env) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => {
                result = Err(e);
                break;
            }
        }
    }
    if let Some(r) = env.rows.get_mut(slot) {
        *r = saved;
    }
    result
}

pub(crate) fn arith(op: ArithOp, a: Value, b: Value) -> R {
    const OVERFLOW: EvalError = EvalError::Overflow;
    if let (Value::Int(x), Value::Int(y), false) = (a, b, op == ArithOp::Div) {
        let r = match op {
            ArithOp::Add => x.checked_add(y),
            ArithOp::Sub => x.checked_sub(y),
            _ => x.checked_mul(y),
        };
        return r.map(Value::Int).ok_or(OVERFLOW);
    }
    let (Some(x), Some(y)) = (a.as_dec(), b.as_dec()) else {
        return Ok(Value::Missing);
    };
    let r = match op {
        ArithOp::Add => x.checked_add(y),
        ArithOp::Sub => x.checked_sub(y),
        ArithOp::Mul => x.checked_mul(y),
        ArithOp::Div => {
            if y.is_zero() {
                return Err(EvalError::DivisionByZero);
            }
            x.checked_div(y)
        }
    };
    r.map(|d| Value::Dec(d.normalize())).ok_or(OVERFLOW)
}
