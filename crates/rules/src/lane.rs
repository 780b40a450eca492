//! A column of an expression's values over a chunk of applications, typed where the kind allows.
//!
//! The batch evaluator ([`crate::batch`]) computes each expression node over a whole chunk. Holding
//! those columns as [`Value`]s (24 bytes each, the kind matched at every element) made scoring a
//! million applications spend most of its time moving and matching values. A lane keeps yes/no
//! answers, whole numbers, choices, dates, instants and decimals of one scale as the plain codes
//! [`crate::column`] stores them in (one reserved code meaning missing), so that reading an input is a
//! copy and a comparison or a sum is a loop over numbers. Any other kind, or a mix of kinds, is held
//! as values. The operators here answer `None` for the shapes they do not type (and `select` works
//! value by value), and the caller then applies the row evaluator's own operators to the values, so a
//! typed loop can only be a faster way to the same value.

use std::cmp::Ordering;

use jiff::Timestamp;

use crate::column::{
    NO_BOOL, NO_CHOICE, NO_DATE, NO_DEC, NO_INT, NO_TIME, bool_value, choice_value, date_code, date_value,
    dec_value, int_value, time_code, time_value,
};
use crate::expr::eval::EvalError;
use crate::expr::{ArithOp, CmpOp};
use crate::value::{Value, whole_units};

/// A column of values (see the module documentation).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Lane {
    /// 0 for no, 1 for yes, [`NO_BOOL`] for missing.
    Bools(Vec<u8>),
    /// Whole numbers; [`NO_INT`] for missing.
    Ints(Vec<i64>),
    /// Option indexes; [`NO_CHOICE`] for missing.
    Choices(Vec<u16>),
    /// Dates as [`date_code`]s, in date order; [`NO_DATE`] for missing.
    Dates(Vec<i32>),
    /// Instants in whole seconds since 1970; [`NO_TIME`] for missing.
    Times(Vec<i64>),
    /// Decimals with `scale` places, as their mantissas; [`NO_DEC`] for missing.
    Decs { scale: u32, mantissas: Vec<i64> },
    /// Anything else, value by value.
    Values(Vec<Value>),
}

/// One side of an operator as evaluated: a constant (read once), a lane made for it, or a lane held
/// elsewhere (a derived value over the whole chunk, read by several conditions without a copy each).
#[derive(Debug)]
pub(crate) enum Operand<'a> {
    Const(Value),
    Lane(Lane),
    Held(&'a Lane),
}

/// What the typed operators read of an operand.
#[derive(Debug, Clone, Copy)]
enum Side<'a> {
    Const(Value),
    Lane(&'a Lane),
}

impl Lane {
    /// `n` copies of `v`.
    pub(crate) fn splat(v: Value, n: usize) -> Lane {
        match v {
            Value::Bool(b) => Lane::Bools(vec![u8::from(b); n]),
            Value::Int(x) if x != NO_INT => Lane::Ints(vec![x; n]),
            Value::Choice(c) if c != NO_CHOICE => Lane::Choices(vec![c; n]),
            Value::Date(d) => Lane::Dates(vec![date_code(d); n]),
            Value::Time(t) if time_code(t).is_some() => Lane::Times(vec![t.as_second(); n]),
            v => Lane::Values(vec![v; n]),
        }
    }

    pub(crate) fn len(&self) -> usize {
        match self {
            Lane::Bools(c) => c.len(),
            Lane::Ints(c) => c.len(),
            Lane::Choices(c) => c.len(),
            Lane::Dates(c) => c.len(),
            Lane::Times(c) => c.len(),
            Lane::Decs { mantissas, .. } => mantissas.len(),
            Lane::Values(c) => c.len(),
        }
    }

    /// Value `i` (missing beyond the end).
    #[inline]
    pub(crate) fn get(&self, i: usize) -> Value {
        fn at<T: Copy>(c: &[T], i: usize, value: fn(T) -> Value) -> Value {
            c.get(i).map_or(Value::Missing, |&x| value(x))
        }
        match self {
            Lane::Bools(c) => at(c, i, bool_value),
            Lane::Ints(c) => at(c, i, int_value),
            Lane::Choices(c) => at(c, i, choice_value),
            Lane::Dates(c) => at(c, i, date_value),
            Lane::Times(c) => at(c, i, time_value),
            Lane::Decs { scale, mantissas } => {
                mantissas.get(i).map_or(Value::Missing, |&x| dec_value(x, *scale))
            }
            Lane::Values(c) => c.get(i).copied().unwrap_or(Value::Missing),
        }
    }

    /// The values, one by one.
    pub(crate) fn into_values(self) -> Vec<Value> {
        fn all<T: Copy>(c: &[T], value: fn(T) -> Value) -> Vec<Value> {
            c.iter().map(|&x| value(x)).collect()
        }
        match self {
            Lane::Bools(c) => all(&c, bool_value),
            Lane::Ints(c) => all(&c, int_value),
            Lane::Choices(c) => all(&c, choice_value),
            Lane::Dates(c) => all(&c, date_value),
            Lane::Times(c) => all(&c, time_value),
            Lane::Decs { scale, mantissas } => mantissas.iter().map(|&x| dec_value(x, scale)).collect(),
            Lane::Values(c) => c,
        }
    }

    /// The values at positions `at` (missing beyond the end).
    pub(crate) fn gather(&self, at: &[u32]) -> Lane {
        fn pick<T: Copy>(c: &[T], at: &[u32], missing: T) -> Vec<T> {
            at.iter()
                .map(|&i| c.get(i as usize).copied().unwrap_or(missing))
                .collect()
        }
        match self {
            Lane::Bools(c) => Lane::Bools(pick(c, at, NO_BOOL)),
            Lane::Ints(c) => Lane::Ints(pick(c, at, NO_INT)),
            Lane::Choices(c) => Lane::Choices(pick(c, at, NO_CHOICE)),
            Lane::Dates(c) => Lane::Dates(pick(c, at, NO_DATE)),
            Lane::Times(c) => Lane::Times(pick(c, at, NO_TIME)),
            Lane::Decs { scale, mantissas } => Lane::Decs {
                scale: *scale,
                mantissas: pick(mantissas, at, NO_DEC),
            },
            Lane::Values(c) => Lane::Values(pick(c, at, Value::Missing)),
        }
    }

    /// Per element, 1 where the value is true and 0 elsewhere (missing counts as false); yes/no
    /// answers in place.
    pub(crate) fn truth(self) -> Vec<u8> {
        match self {
            Lane::Bools(c) => c.into_iter().map(|b| u8::from(b == 1)).collect(),
            Lane::Values(c) => c.iter().map(|v| u8::from(v.truthy())).collect(),
            other => vec![0; other.len()],
        }
    }

    /// False for values held one by one.
    fn typed(&self) -> bool {
        !matches!(self, Lane::Values(_))
    }

    /// A lane of this one's kind and length holding only missing values.
    fn missing_like(&self) -> Lane {
        let n = self.len();
        match self {
            Lane::Bools(_) => Lane::Bools(vec![NO_BOOL; n]),
            Lane::Ints(_) => Lane::Ints(vec![NO_INT; n]),
            Lane::Choices(_) => Lane::Choices(vec![NO_CHOICE; n]),
            Lane::Dates(_) => Lane::Dates(vec![NO_DATE; n]),
            Lane::Times(_) => Lane::Times(vec![NO_TIME; n]),
            Lane::Decs { scale, .. } => Lane::Decs {
                scale: *scale,
                mantissas: vec![NO_DEC; n],
            },
            Lane::Values(_) => Lane::Values(vec![Value::Missing; n]),
        }
    }

    /// Per element, 1 where the value is given.
    pub(crate) fn present(&self) -> Vec<u8> {
        fn given<T: Copy + PartialEq>(c: &[T], missing: T) -> Vec<u8> {
            c.iter().map(|&x| u8::from(x != missing)).collect()
        }
        match self {
            Lane::Bools(c) => given(c, NO_BOOL),
            Lane::Ints(c) => given(c, NO_INT),
            Lane::Choices(c) => given(c, NO_CHOICE),
            Lane::Dates(c) => given(c, NO_DATE),
            Lane::Times(c) => given(c, NO_TIME),
            Lane::Decs { mantissas, .. } => given(mantissas, NO_DEC),
            Lane::Values(c) => given(c, Value::Missing),
        }
    }
}

impl Operand<'_> {
    /// The operand's values, `n` of them.
    pub(crate) fn into_values(self, n: usize) -> Vec<Value> {
        match self {
            Operand::Const(v) => vec![v; n],
            Operand::Lane(l) => l.into_values(),
            Operand::Held(l) => l.clone().into_values(),
        }
    }

    fn side(&self) -> Side<'_> {
        match self {
            Operand::Const(v) => Side::Const(*v),
            Operand::Lane(l) => Side::Lane(l),
            Operand::Held(l) => Side::Lane(l),
        }
    }
}

/// The codes of one kind on both sides of an operator: a column of each, or a column and a constant.
enum Pair<'a, T> {
    Both(&'a [T], &'a [T]),
    Left(&'a [T], T),
    Right(T, &'a [T]),
}

impl<T: Copy> Pair<'_, T> {
    /// `f(x, y)` element by element.
    fn map<U>(&self, mut f: impl FnMut(T, T) -> U) -> Vec<U> {
        match *self {
            Pair::Both(a, b) => a.iter().zip(b).map(|(&x, &y)| f(x, y)).collect(),
            Pair::Left(a, y) => a.iter().map(|&x| f(x, y)).collect(),
            Pair::Right(x, b) => b.iter().map(|&y| f(x, y)).collect(),
        }
    }
}

/// Whole numbers on both sides, with a constant read as a code.
fn ints<'a>(x: Side<'a>, y: Side<'a>) -> Option<Pair<'a, i64>> {
    Some(match (x, y) {
        (Side::Lane(Lane::Ints(a)), Side::Lane(Lane::Ints(b))) if a.len() == b.len() => Pair::Both(a, b),
        (Side::Lane(Lane::Ints(a)), Side::Const(Value::Int(c))) if c != NO_INT => Pair::Left(a, c),
        (Side::Const(Value::Int(c)), Side::Lane(Lane::Ints(b))) if c != NO_INT => Pair::Right(c, b),
        _ => return None,
    })
}

/// Codes of one kind compared as the values compare: [`Value::compare`] orders yes/no answers,
/// choices and dates by their codes, and is false when either side is missing.
fn compare_codes<T: Copy + Ord>(op: CmpOp, pair: &Pair<'_, T>, missing: T) -> Vec<u8> {
    pair.map(|a, b| u8::from(a != missing && b != missing && op.holds(a.cmp(&b))))
}

/// `x op y` (a comparison) for the typed shapes: numbers, yes/no answers, choices, dates, and instants
/// against an instant constant.
pub(crate) fn compare(op: CmpOp, x: &Operand<'_>, y: &Operand<'_>) -> Option<Vec<u8>> {
    use Side::{Const, Lane as L};
    let (x, y) = (&x.side(), &y.side());
    if let Some(pair) = ints(*x, *y) {
        return Some(compare_codes(op, &pair, NO_INT));
    }
    let out = match (x, y) {
        (L(Lane::Bools(a)), L(Lane::Bools(b))) if a.len() == b.len() => {
            compare_codes(op, &Pair::Both(a, b), NO_BOOL)
        }
        (L(Lane::Bools(a)), Const(Value::Bool(c))) => {
            compare_codes(op, &Pair::Left(a, u8::from(*c)), NO_BOOL)
        }
        (Const(Value::Bool(c)), L(Lane::Bools(b))) => {
            compare_codes(op, &Pair::Right(u8::from(*c), b), NO_BOOL)
        }
        (L(Lane::Choices(a)), L(Lane::Choices(b))) if a.len() == b.len() => {
            compare_codes(op, &Pair::Both(a, b), NO_CHOICE)
        }
        (L(Lane::Choices(a)), Const(Value::Choice(c))) if *c != NO_CHOICE => {
            compare_codes(op, &Pair::Left(a, *c), NO_CHOICE)
        }
        (Const(Value::Choice(c)), L(Lane::Choices(b))) if *c != NO_CHOICE => {
            compare_codes(op, &Pair::Right(*c, b), NO_CHOICE)
        }
        (L(Lane::Dates(a)), L(Lane::Dates(b))) if a.len() == b.len() => {
            compare_codes(op, &Pair::Both(a, b), NO_DATE)
        }
        (L(Lane::Dates(a)), Const(Value::Date(c))) => {
            compare_codes(op, &Pair::Left(a, date_code(*c)), NO_DATE)
        }
        (Const(Value::Date(c)), L(Lane::Dates(b))) => {
            compare_codes(op, &Pair::Right(date_code(*c), b), NO_DATE)
        }
        (L(Lane::Times(a)), Const(Value::Time(c))) => a
            .iter()
            .map(|&s| u8::from(s != NO_TIME && op.holds(seconds_cmp(s, *c))))
            .collect(),
        (Const(Value::Time(c)), L(Lane::Times(b))) => b
            .iter()
            .map(|&s| u8::from(s != NO_TIME && op.holds(seconds_cmp(s, *c).reverse())))
            .collect(),
        // Decimals of one scale compare as their mantissas; a constant is read at that scale when
        // it has no more places.
        (
            L(Lane::Decs { scale, mantissas: a }),
            L(Lane::Decs {
                scale: s,
                mantissas: b,
            }),
        ) if scale == s && a.len() == b.len() => compare_codes(op, &Pair::Both(a, b), NO_DEC),
        (L(Lane::Decs { scale, mantissas }), Const(c)) => {
            compare_codes(op, &Pair::Left(mantissas, units_at(*c, *scale)?), NO_DEC)
        }
        (Const(c), L(Lane::Decs { scale, mantissas })) => {
            compare_codes(op, &Pair::Right(units_at(*c, *scale)?, mantissas), NO_DEC)
        }
        _ => return None,
    };
    Some(out)
}

/// A number as a mantissa of `scale` places, when it is exactly one and not the missing code.
fn units_at(v: Value, scale: u32) -> Option<i64> {
    whole_units(v.as_dec()?, scale).filter(|&u| u != NO_DEC)
}

/// Whole seconds since 1970 against an instant, to the nanosecond.
fn seconds_cmp(s: i64, t: Timestamp) -> Ordering {
    (i128::from(s) * 1_000_000_000).cmp(&t.as_nanosecond())
}

/// `x op y` for whole numbers other than division (missing when either side is); an overflow is an
/// error, as in [`crate::expr::eval::arith`]. A result equal to the missing code is reported as an
/// overflow too: the chunk is then evaluated row by row, which holds any whole number.
pub(crate) fn arith(op: ArithOp, x: &Operand<'_>, y: &Operand<'_>) -> Option<Result<Vec<i64>, EvalError>> {
    if op == ArithOp::Div {
        return None;
    }
    let pair = ints(x.side(), y.side())?;
    let mut failed = false;
    let out = pair.map(|a, b| {
        if a == NO_INT || b == NO_INT {
            return NO_INT;
        }
        let r = match op {
            ArithOp::Add => a.checked_add(b),
            ArithOp::Sub => a.checked_sub(b),
            _ => a.checked_mul(b),
        };
        match r {
            Some(r) if r != NO_INT => r,
            _ => {
                failed = true;
                NO_INT
            }
        }
    });
    Some(if failed { Err(EvalError::Overflow) } else { Ok(out) })
}

/// Per element, `yes` where `cond` is 1 and `no` elsewhere, typed when both are of one kind.
pub(crate) fn select(cond: &[u8], yes: Lane, no: Lane) -> Lane {
    // Written over `no`, which is then returned: no new column, and a blend the processor does many
    // values at a time.
    fn pick<T: Copy>(cond: &[u8], yes: &[T], mut no: Vec<T>) -> Vec<T> {
        for ((n, &y), &c) in no.iter_mut().zip(yes).zip(cond) {
            *n = if c == 1 { y } else { *n };
        }
        no
    }
    match (yes, no) {
        (Lane::Bools(a), Lane::Bools(b)) => Lane::Bools(pick(cond, &a, b)),
        (Lane::Ints(a), Lane::Ints(b)) => Lane::Ints(pick(cond, &a, b)),
        (Lane::Choices(a), Lane::Choices(b)) => Lane::Choices(pick(cond, &a, b)),
        (Lane::Dates(a), Lane::Dates(b)) => Lane::Dates(pick(cond, &a, b)),
        (Lane::Times(a), Lane::Times(b)) => Lane::Times(pick(cond, &a, b)),
        (
            Lane::Decs { scale, mantissas: a },
            Lane::Decs {
                scale: s,
                mantissas: b,
            },
        ) if scale == s => Lane::Decs {
            scale,
            mantissas: pick(cond, &a, b),
        },
        // A branch with no value anywhere (`if … then x`, the last case of a list) takes the other's
        // kind, so that a chain of cases stays typed.
        (Lane::Values(v), other) if other.typed() && v.iter().all(|v| *v == Value::Missing) => {
            select(cond, other.missing_like(), other)
        }
        (other, Lane::Values(v)) if other.typed() && v.iter().all(|v| *v == Value::Missing) => {
            let missing = other.missing_like();
            select(cond, other, missing)
        }
        (yes, no) => Lane::Values(pick(cond, &yes.into_values(), no.into_values())),
    }
}

/// Per element, `first` where it is given and `other` elsewhere (`??`).
pub(crate) fn coalesce(first: Lane, other: Lane) -> Lane {
    let given = first.present();
    select(&given, first, other)
}

/// Whole months (or, with `years`, years) between dates, as [`graduatorie_domain::months_between`]
/// counts them; missing where either date is.
pub(crate) fn months(x: &Operand<'_>, y: &Operand<'_>, years: bool) -> Option<Vec<i64>> {
    use Side::{Const, Lane as L};
    let pair = match (&x.side(), &y.side()) {
        (L(Lane::Dates(a)), L(Lane::Dates(b))) if a.len() == b.len() => Pair::Both(a, b),
        (L(Lane::Dates(a)), Const(Value::Date(c))) => Pair::Left(a, date_code(*c)),
        (Const(Value::Date(c)), L(Lane::Dates(b))) => Pair::Right(date_code(*c), b),
        _ => return None,
    };
    Some(pair.map(|a, b| match (date_value(a), date_value(b)) {
        (Value::Date(a), Value::Date(b)) => {
            let m = graduatorie_domain::months_between(a, b);
            i64::from(if years { m.div_euclid(12) } else { m })
        }
        _ => NO_INT,
    }))
}

/// Per choice, 1 where it is one of `set` (missing is in no set).
pub(crate) fn in_choices(choices: &[u16], set: &[Value]) -> Vec<u8> {
    let listed: Vec<u16> = set
        .iter()
        .filter_map(|v| match v {
            Value::Choice(c) if *c != NO_CHOICE => Some(*c),
            _ => None,
        })
        .collect();
    choices.iter().map(|c| u8::from(listed.contains(c))).collect()
}

/// `sum()` of whole numbers per parent: missing values are left out; an overflow (or a total equal to
/// the missing code, see [`arith`]) is an error.
pub(crate) fn sum_ints(n: usize, parent: &[u32], values: &[i64]) -> Result<Vec<i64>, EvalError> {
    let mut totals = vec![0i64; n];
    for (&p, &v) in parent.iter().zip(values) {
        if let (true, Some(t)) = (v != NO_INT, totals.get_mut(p as usize)) {
            *t = t.checked_add(v).ok_or(EvalError::Overflow)?;
        }
    }
    if totals.contains(&NO_INT) {
        return Err(EvalError::Overflow);
    }
    Ok(totals)
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;

    /// `sum()` leaves missing values out, as the row evaluator's `add_present` does, and an overflow is
    /// an error (which sends the chunk to row evaluation).
    #[test]
    fn sums_leave_missing_values_out() {
        // Parents 0, 0, 1, 2: 3 + missing = 3; 5; a parent with only a missing value sums to 0.
        let totals = sum_ints(3, &[0, 0, 1, 2], &[3, NO_INT, 5, NO_INT]).unwrap();
        assert_eq!(totals, [3, 5, 0]);
        assert_eq!(sum_ints(1, &[0, 0], &[i64::MAX, 1]), Err(EvalError::Overflow));
    }

    /// A branch with no value anywhere takes the other's kind: the result stays typed and reads back
    /// as the values would.
    #[test]
    fn a_missing_branch_keeps_the_other_kind() {
        let cond = [1, 0, 1];
        let yes = Lane::Choices(vec![4, 5, 6]);
        let out = select(&cond, yes, Lane::splat(Value::Missing, 3));
        assert_eq!(out, Lane::Choices(vec![4, NO_CHOICE, 6]));
        let out = select(&cond, Lane::splat(Value::Missing, 3), Lane::Ints(vec![1, 2, 3]));
        assert_eq!(out.into_values(), [Value::Missing, Value::Int(2), Value::Missing]);
    }
}
