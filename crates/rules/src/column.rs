//! One input's answers for a whole batch, stored as compactly as their kind allows.
//!
//! A [`Value`] takes 24 bytes whatever it holds; a million applications with a dozen inputs are
//! hundreds of megabytes, most of them yes/no answers and choices. A column stores yes/no answers in a
//! byte, choices in two, dates and lists of facilities in four, whole numbers, instants to the second
//! and decimals of one number of places (money: always two) in eight, with one reserved code for a
//! missing answer; any other kind, or a column mixing kinds, keeps the values as they are. The kind is
//! found from the first answer given, and reading gives back exactly the values pushed.

use jiff::Timestamp;
use jiff::civil::Date;
use rust_decimal::Decimal;

use crate::lane::Lane;
use crate::value::{Ordinal, OrdinalKind, Value, date_ordinal};

pub(crate) const NO_BOOL: u8 = 2;
pub(crate) const NO_CHOICE: u16 = u16::MAX;
pub(crate) const NO_INT: i64 = i64::MIN;
const NO_LIST: u32 = u32::MAX;
pub(crate) const NO_DATE: i32 = i32::MIN;
pub(crate) const NO_TIME: i64 = i64::MIN;
pub(crate) const NO_DEC: i64 = i64::MIN;

#[derive(Debug, Clone)]
enum Store {
    /// Only missing answers so far (their number): the kind is not known yet.
    Missing(usize),
    Bools(Vec<u8>),
    Choices(Vec<u16>),
    Ints(Vec<i64>),
    Lists(Vec<u32>),
    /// Year, month and day packed in order ([`date_code`]).
    Dates(Vec<i32>),
    /// Whole seconds since 1970.
    Times(Vec<i64>),
    /// Mantissas of decimals with `scale` places.
    Decs {
        scale: u32,
        mantissas: Vec<i64>,
    },
    Values(Vec<Value>),
}

/// A column of values (see the module documentation).
#[derive(Debug, Clone)]
pub(crate) struct Column {
    store: Store,
    /// Room to make when the kind becomes known.
    capacity: usize,
}

impl Column {
    /// A column of `missing` missing answers, with room for `capacity` in all.
    pub(crate) fn new(missing: usize, capacity: usize) -> Self {
        Column {
            store: Store::Missing(missing),
            capacity,
        }
    }

    /// Number of values.
    pub(crate) fn len(&self) -> usize {
        match &self.store {
            Store::Missing(n) => *n,
            Store::Bools(v) => v.len(),
            Store::Choices(v) => v.len(),
            Store::Ints(v) => v.len(),
            Store::Lists(v) => v.len(),
            Store::Dates(v) => v.len(),
            Store::Times(v) => v.len(),
            Store::Decs { mantissas, .. } => mantissas.len(),
            Store::Values(v) => v.len(),
        }
    }

    /// Adds a value at the end.
    #[inline]
    pub(crate) fn push(&mut self, v: Value) {
        let pushed = match (&mut self.store, v) {
            (Store::Missing(n), Value::Missing) => {
                *n += 1;
                true
            }
            (Store::Bools(c), Value::Missing) => push(c, NO_BOOL),
            (Store::Bools(c), Value::Bool(b)) => push(c, u8::from(b)),
            (Store::Choices(c), Value::Missing) => push(c, NO_CHOICE),
            (Store::Choices(c), Value::Choice(x)) if x != NO_CHOICE => push(c, x),
            (Store::Ints(c), Value::Missing) => push(c, NO_INT),
            (Store::Ints(c), Value::Int(x)) if x != NO_INT => push(c, x),
            (Store::Lists(c), Value::Missing) => push(c, NO_LIST),
            (Store::Lists(c), Value::Facilities(x)) if x != NO_LIST => push(c, x),
            (Store::Dates(c), Value::Missing) => push(c, NO_DATE),
            (Store::Dates(c), Value::Date(d)) => push(c, date_code(d)),
            (Store::Times(c), Value::Missing) => push(c, NO_TIME),
            (Store::Times(c), Value::Time(t)) => time_code(t).is_some_and(|x| push(c, x)),
            (Store::Decs { mantissas, .. }, Value::Missing) => push(mantissas, NO_DEC),
            (Store::Decs { scale, mantissas }, Value::Dec(d)) => {
                dec_code(d, *scale).is_some_and(|x| push(mantissas, x))
            }
            (Store::Values(c), v) => push(c, v),
            _ => false,
        };
        if !pushed {
            self.push_other(v);
        }
    }

    /// [`Column::push`] of a value the column's store does not take: the first answer given (which
    /// decides the kind), another kind or the reserved code itself.
    #[cold]
    fn push_other(&mut self, v: Value) {
        if let Store::Missing(n) = self.store {
            let room = self.capacity.max(n + 1);
            self.store = match v {
                Value::Bool(_) => Store::Bools(filled(room, n, NO_BOOL)),
                Value::Choice(c) if c != NO_CHOICE => Store::Choices(filled(room, n, NO_CHOICE)),
                Value::Int(i) if i != NO_INT => Store::Ints(filled(room, n, NO_INT)),
                Value::Facilities(l) if l != NO_LIST => Store::Lists(filled(room, n, NO_LIST)),
                Value::Date(_) => Store::Dates(filled(room, n, NO_DATE)),
                Value::Time(t) if time_code(t).is_some() => Store::Times(filled(room, n, NO_TIME)),
                Value::Dec(d) if dec_code(d, d.scale()).is_some() => Store::Decs {
                    scale: d.scale(),
                    mantissas: filled(room, n, NO_DEC),
                },
                _ => Store::Values(filled(room, n, Value::Missing)),
            };
            // A store of the value's kind now: it takes the value.
            self.push(v);
            return;
        }
        // Another kind, or the reserved code itself: keep the values as they are from now on.
        let mut values = Vec::with_capacity(self.capacity.max(self.len() + 1));
        self.extend(0, self.len(), &mut values);
        values.push(v);
        self.store = Store::Values(values);
    }

    /// Value `i` (missing beyond the end).
    #[inline]
    pub(crate) fn get(&self, i: usize) -> Value {
        match &self.store {
            Store::Missing(_) => Value::Missing,
            Store::Bools(c) => c.get(i).map_or(Value::Missing, |&x| bool_value(x)),
            Store::Choices(c) => c.get(i).map_or(Value::Missing, |&x| choice_value(x)),
            Store::Ints(c) => c.get(i).map_or(Value::Missing, |&x| int_value(x)),
            Store::Lists(c) => c.get(i).map_or(Value::Missing, |&x| list_value(x)),
            Store::Dates(c) => c.get(i).map_or(Value::Missing, |&x| date_value(x)),
            Store::Times(c) => c.get(i).map_or(Value::Missing, |&x| time_value(x)),
            Store::Decs { scale, mantissas } => {
                mantissas.get(i).map_or(Value::Missing, |&x| dec_value(x, *scale))
            }
            Store::Values(c) => c.get(i).copied().unwrap_or(Value::Missing),
        }
    }

    /// The `i`th value as [`Value::ordinal`] gives it, read from its code without making the value
    /// (making it, a decimal or a checked date, was a tenth of ranking a million).
    #[inline]
    pub(crate) fn ordinal(&self, i: usize) -> Ordinal {
        fn at<T: Copy>(codes: &[T], i: usize, ordinal: impl Fn(T) -> Ordinal) -> Ordinal {
            codes.get(i).map_or(Ordinal::Missing, |&x| ordinal(x))
        }
        match &self.store {
            Store::Missing(_) => Ordinal::Missing,
            Store::Bools(c) => at(c, i, bool_ordinal),
            Store::Choices(c) => at(c, i, choice_ordinal),
            Store::Ints(c) => at(c, i, int_ordinal),
            Store::Lists(c) => at(c, i, list_ordinal),
            Store::Dates(c) => at(c, i, date_code_ordinal),
            Store::Times(c) => at(c, i, time_ordinal),
            Store::Decs { scale, mantissas } => at(mantissas, i, |x| dec_ordinal(x, *scale)),
            Store::Values(c) => at(c, i, Value::ordinal),
        }
    }

    /// `f(m, ordinal)` for the value of each row `rows[m]`, in order, as [`Column::ordinal`] reads
    /// it: the kind is matched once for the whole column, not at every value.
    pub(crate) fn each_ordinal(&self, rows: &[u32], mut f: impl FnMut(usize, Ordinal)) {
        fn each<T: Copy>(
            codes: &[T],
            rows: &[u32],
            ordinal: impl Fn(T) -> Ordinal,
            f: &mut impl FnMut(usize, Ordinal),
        ) {
            for (m, &r) in rows.iter().enumerate() {
                f(m, codes.get(r as usize).map_or(Ordinal::Missing, |&x| ordinal(x)));
            }
        }
        match &self.store {
            Store::Missing(_) => (0..rows.len()).for_each(|m| f(m, Ordinal::Missing)),
            Store::Bools(c) => each(c, rows, bool_ordinal, &mut f),
            Store::Choices(c) => each(c, rows, choice_ordinal, &mut f),
            Store::Ints(c) => each(c, rows, int_ordinal, &mut f),
            Store::Lists(c) => each(c, rows, list_ordinal, &mut f),
            Store::Dates(c) => each(c, rows, date_code_ordinal, &mut f),
            Store::Times(c) => each(c, rows, time_ordinal, &mut f),
            Store::Decs { scale, mantissas } => each(mantissas, rows, |x| dec_ordinal(x, *scale), &mut f),
            Store::Values(c) => each(c, rows, Value::ordinal, &mut f),
        }
    }

    /// Appends the values of `other` at the end, as pushing them one by one would. Columns of the
    /// same kind are joined code by code (joining the two halves of a million applications value by
    /// value was a tenth of reading them).
    pub(crate) fn append(&mut self, other: &Column) {
        let done = match (&mut self.store, &other.store) {
            (Store::Missing(n), Store::Missing(m)) => {
                *n += m;
                true
            }
            (Store::Bools(a), Store::Bools(b)) => extend(a, b),
            (Store::Choices(a), Store::Choices(b)) => extend(a, b),
            (Store::Ints(a), Store::Ints(b)) => extend(a, b),
            (Store::Lists(a), Store::Lists(b)) => extend(a, b),
            (Store::Dates(a), Store::Dates(b)) => extend(a, b),
            (Store::Times(a), Store::Times(b)) => extend(a, b),
            (
                Store::Decs { scale, mantissas },
                Store::Decs {
                    scale: s,
                    mantissas: b,
                },
            ) if scale == s => extend(mantissas, b),
            (Store::Values(a), Store::Values(b)) => extend(a, b),
            _ => false,
        };
        if !done {
            for i in 0..other.len() {
                self.push(other.get(i));
            }
        }
    }

    /// Values `from..from + len` as a lane: the codes themselves for the kinds a lane types, `None`
    /// when they are not all stored.
    pub(crate) fn lane(&self, from: usize, len: usize) -> Option<Lane> {
        let to = from.checked_add(len).filter(|&to| to <= self.len())?;
        fn codes<T: Copy>(c: &[T], range: std::ops::Range<usize>) -> Vec<T> {
            c.get(range).unwrap_or(&[]).to_vec()
        }
        Some(match &self.store {
            Store::Bools(c) => Lane::Bools(codes(c, from..to)),
            Store::Choices(c) => Lane::Choices(codes(c, from..to)),
            Store::Ints(c) => Lane::Ints(codes(c, from..to)),
            Store::Dates(c) => Lane::Dates(codes(c, from..to)),
            Store::Times(c) => Lane::Times(codes(c, from..to)),
            Store::Decs { scale, mantissas } => Lane::Decs {
                scale: *scale,
                mantissas: codes(mantissas, from..to),
            },
            _ => {
                let mut values = Vec::with_capacity(len);
                self.extend(from, len, &mut values);
                Lane::Values(values)
            }
        })
    }

    /// The values at positions `base + at[i]` as a lane (missing beyond the end).
    pub(crate) fn lane_at(&self, base: usize, at: &[u32]) -> Lane {
        fn pick<T: Copy>(c: &[T], base: usize, at: &[u32], missing: T) -> Vec<T> {
            at.iter()
                .map(|&i| c.get(base + i as usize).copied().unwrap_or(missing))
                .collect()
        }
        match &self.store {
            Store::Bools(c) => Lane::Bools(pick(c, base, at, NO_BOOL)),
            Store::Choices(c) => Lane::Choices(pick(c, base, at, NO_CHOICE)),
            Store::Ints(c) => Lane::Ints(pick(c, base, at, NO_INT)),
            Store::Dates(c) => Lane::Dates(pick(c, base, at, NO_DATE)),
            Store::Times(c) => Lane::Times(pick(c, base, at, NO_TIME)),
            Store::Decs { scale, mantissas } => Lane::Decs {
                scale: *scale,
                mantissas: pick(mantissas, base, at, NO_DEC),
            },
            _ => Lane::Values(at.iter().map(|&i| self.get(base + i as usize)).collect()),
        }
    }

    /// Appends the values of `lane`, as pushing them one by one would: code by code when the lane
    /// holds the store's kind.
    pub(crate) fn push_lane(&mut self, lane: &Lane) {
        let done = match (&mut self.store, lane) {
            (Store::Bools(a), Lane::Bools(b)) => extend(a, b),
            (Store::Choices(a), Lane::Choices(b)) => extend(a, b),
            (Store::Ints(a), Lane::Ints(b)) => extend(a, b),
            (Store::Dates(a), Lane::Dates(b)) => extend(a, b),
            (Store::Times(a), Lane::Times(b)) => extend(a, b),
            (
                Store::Decs { scale, mantissas },
                Lane::Decs {
                    scale: s,
                    mantissas: b,
                },
            ) if scale == s => extend(mantissas, b),
            _ => false,
        };
        if !done {
            for i in 0..lane.len() {
                self.push(lane.get(i));
            }
        }
    }

    /// Appends values `from..from + len` to `out`; false (nothing appended) when they are not all
    /// stored.
    pub(crate) fn extend(&self, from: usize, len: usize, out: &mut Vec<Value>) -> bool {
        let Some(to) = from.checked_add(len).filter(|&to| to <= self.len()) else {
            return false;
        };
        match &self.store {
            Store::Missing(_) => out.resize(out.len() + len, Value::Missing),
            Store::Bools(c) => decode(c, from..to, bool_value, out),
            Store::Choices(c) => decode(c, from..to, choice_value, out),
            Store::Ints(c) => decode(c, from..to, int_value, out),
            Store::Lists(c) => decode(c, from..to, list_value, out),
            Store::Dates(c) => decode(c, from..to, date_value, out),
            Store::Times(c) => decode(c, from..to, time_value, out),
            Store::Decs { scale, mantissas } => out.extend(
                mantissas
                    .get(from..to)
                    .unwrap_or(&[])
                    .iter()
                    .map(|&x| dec_value(x, *scale)),
            ),
            Store::Values(c) => out.extend_from_slice(c.get(from..to).unwrap_or(&[])),
        }
        true
    }
}

/// Appends the values of `codes[range]`, decoded by `value`.
fn decode<T: Copy>(codes: &[T], range: std::ops::Range<usize>, value: fn(T) -> Value, out: &mut Vec<Value>) {
    out.extend(codes.get(range).unwrap_or(&[]).iter().map(|&x| value(x)));
}

fn filled<T: Clone>(capacity: usize, n: usize, missing: T) -> Vec<T> {
    let mut v = Vec::with_capacity(capacity);
    v.resize(n, missing);
    v
}

fn extend<T: Copy>(c: &mut Vec<T>, more: &[T]) -> bool {
    c.extend_from_slice(more);
    true
}

fn push<T>(c: &mut Vec<T>, x: T) -> bool {
    c.push(x);
    true
}

#[inline]
pub(crate) fn bool_value(b: u8) -> Value {
    match b {
        0 => Value::Bool(false),
        1 => Value::Bool(true),
        _ => Value::Missing,
    }
}

#[inline]
pub(crate) fn choice_value(x: u16) -> Value {
    if x == NO_CHOICE {
        Value::Missing
    } else {
        Value::Choice(x)
    }
}

#[inline]
pub(crate) fn int_value(x: i64) -> Value {
    if x == NO_INT {
        Value::Missing
    } else {
        Value::Int(x)
    }
}

#[inline]
fn list_value(x: u32) -> Value {
    if x == NO_LIST {
        Value::Missing
    } else {
        Value::Facilities(x)
    }
}

#[inline]
fn bool_ordinal(b: u8) -> Ordinal {
    match b {
        0 | 1 => Ordinal::Whole {
            kind: OrdinalKind::Bool,
            code: i64::from(b),
        },
        _ => Ordinal::Missing,
    }
}

#[inline]
fn choice_ordinal(x: u16) -> Ordinal {
    if x == NO_CHOICE {
        return Ordinal::Missing;
    }
    Ordinal::Whole {
        kind: OrdinalKind::Choice,
        code: i64::from(x),
    }
}

#[inline]
fn int_ordinal(x: i64) -> Ordinal {
    if x == NO_INT {
        return Ordinal::Missing;
    }
    Ordinal::Number { units: x, scale: 0 }
}

#[inline]
fn list_ordinal(x: u32) -> Ordinal {
    if x == NO_LIST {
        Ordinal::Missing
    } else {
        Ordinal::Unordered
    }
}

/// The ordinal of a date code: codes are made from valid dates only, so their parts fit.
#[inline]
fn date_code_ordinal(x: i32) -> Ordinal {
    if x == NO_DATE {
        return Ordinal::Missing;
    }
    Ordinal::Whole {
        kind: OrdinalKind::Date,
        code: date_ordinal(
            i64::from(x >> 16),
            i64::from((x >> 8) & 0xff),
            i64::from(x & 0xff),
        ),
    }
}

#[inline]
fn time_ordinal(x: i64) -> Ordinal {
    if x == NO_TIME {
        return Ordinal::Missing;
    }
    match x.checked_mul(1_000_000_000) {
        Some(code) => Ordinal::Whole {
            kind: OrdinalKind::Time,
            code,
        },
        None => Ordinal::Unordered,
    }
}

#[inline]
fn dec_ordinal(x: i64, scale: u32) -> Ordinal {
    if x == NO_DEC {
        return Ordinal::Missing;
    }
    Ordinal::Number { units: x, scale }
}

/// A date as a number in date order: year, month and day in 16, 8 and 8 bits (jiff's years fit in
/// 16 bits, so no date takes the reserved code).
pub(crate) fn date_code(d: Date) -> i32 {
    (i32::from(d.year()) << 16) | (i32::from(d.month()) << 8) | i32::from(d.day())
}

#[inline]
pub(crate) fn date_value(x: i32) -> Value {
    let (year, month, day) = (x >> 16, (x >> 8) & 0xff, x & 0xff);
    match (i16::try_from(year), i8::try_from(month), i8::try_from(day)) {
        (Ok(y), Ok(m), Ok(d)) if x != NO_DATE => Date::new(y, m, d).map_or(Value::Missing, Value::Date),
        _ => Value::Missing,
    }
}

/// An instant on a whole second as seconds since 1970 (`None` for fractions of a second, kept as
/// values).
pub(crate) fn time_code(t: Timestamp) -> Option<i64> {
    (t.subsec_nanosecond() == 0).then(|| t.as_second())
}

#[inline]
pub(crate) fn time_value(x: i64) -> Value {
    if x == NO_TIME {
        return Value::Missing;
    }
    Timestamp::from_second(x).map_or(Value::Missing, Value::Time)
}

/// The mantissa of a decimal with exactly `scale` places that a mantissa of 64 bits gives back
/// unchanged (not the reserved code, not a negative zero).
fn dec_code(d: Decimal, scale: u32) -> Option<i64> {
    let m = i64::try_from(d.mantissa()).ok()?;
    (d.scale() == scale && m != NO_DEC && (m != 0 || !d.is_sign_negative())).then_some(m)
}

#[inline]
pub(crate) fn dec_value(x: i64, scale: u32) -> Value {
    if x == NO_DEC {
        return Value::Missing;
    }
    Decimal::try_new(x, scale).map_or(Value::Missing, Value::Dec)
}

#[cfg(test)]
#[expect(clippy::indexing_slicing, clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;
    use jiff::civil::date;

    /// Whatever is pushed, in whatever order, reads back the same, one by one and as runs.
    #[test]
    fn values_read_back_as_pushed() {
        let kinds = [
            Value::Missing,
            Value::Bool(true),
            Value::Bool(false),
            Value::Choice(3),
            Value::Choice(u16::MAX),
            Value::Int(-7),
            Value::Int(i64::MIN),
            Value::Facilities(2),
            Value::Facilities(u32::MAX),
            Value::Date(date(2026, 9, 1)),
            Value::Date(date(-9999, 1, 1)),
            Value::Date(date(9999, 12, 31)),
            Value::Time(Timestamp::from_second(1_780_000_000).unwrap()),
            Value::Time(Timestamp::new(1_780_000_000, 5).unwrap()),
            Value::Time(Timestamp::MIN),
            Value::Dec(Decimal::new(12_345, 2)),
            Value::Dec(Decimal::new(-7, 2)),
            Value::Dec(Decimal::new(12_345, 1)),
            Value::Dec(Decimal::new(0, 2)),
            Value::Dec(-Decimal::new(0, 2)),
            Value::Dec(Decimal::new(i64::MIN, 2)),
            Value::Dec(Decimal::MAX),
        ];
        // Exactly the values pushed: `==` on decimals compares amounts (1.0 == 1.00, -0 == 0).
        let exact = |v: &[Value]| format!("{v:?}");
        // Every pair of kinds, each run starting with some missing values.
        for a in kinds {
            for b in kinds {
                for lead in 0..2 {
                    let pushed: Vec<Value> = std::iter::repeat_n(Value::Missing, lead)
                        .chain([a, a, Value::Missing, b, a])
                        .collect();
                    let mut c = Column::new(0, 4);
                    for &v in &pushed {
                        c.push(v);
                    }
                    assert_eq!(c.len(), pushed.len());
                    let one: Vec<Value> = (0..pushed.len()).map(|i| c.get(i)).collect();
                    assert_eq!(exact(&one), exact(&pushed), "{a:?} {b:?}");
                    let mut run = Vec::new();
                    assert!(c.extend(1, pushed.len() - 1, &mut run));
                    assert_eq!(exact(&run), exact(&pushed[1..]), "{a:?} {b:?}");
                    assert!(!c.extend(1, pushed.len(), &mut run));
                    let at: Vec<u32> = (0..=pushed.len() as u32).rev().collect();
                    let mut back: Vec<Value> = pushed.iter().rev().copied().collect();
                    back.insert(0, Value::Missing);
                    assert_eq!(
                        exact(&c.lane_at(0, &at).into_values()),
                        exact(&back),
                        "{a:?} {b:?}"
                    );
                    // As lanes: a run, positions after a base, and pushed into another column.
                    let lane = c.lane(1, pushed.len() - 1).unwrap();
                    assert_eq!(
                        exact(&lane.clone().into_values()),
                        exact(&pushed[1..]),
                        "{a:?} {b:?}"
                    );
                    assert!(c.lane(1, pushed.len()).is_none());
                    assert_eq!(
                        exact(&c.lane_at(1, &at[1..]).into_values()),
                        exact(&back[..back.len() - 1])
                    );
                    let mut again = Column::new(1, 4);
                    again.push_lane(&lane);
                    again.push_lane(&c.lane(0, 1).unwrap());
                    let read: Vec<Value> = (0..again.len()).map(|i| again.get(i)).collect();
                    let wanted: Vec<Value> = std::iter::once(Value::Missing)
                        .chain(pushed[1..].iter().copied())
                        .chain([pushed[0]])
                        .collect();
                    assert_eq!(exact(&read), exact(&wanted), "{a:?} {b:?}");
                    assert_eq!(c.get(pushed.len()), Value::Missing);
                    // Read as the ranking's keys read them: what the values themselves give.
                    let ordinals: Vec<Ordinal> = (0..=pushed.len()).map(|i| c.ordinal(i)).collect();
                    let wanted: Vec<Ordinal> = pushed
                        .iter()
                        .map(|v| v.ordinal())
                        .chain([Ordinal::Missing])
                        .collect();
                    assert_eq!(ordinals, wanted, "{a:?} {b:?}");
                    let rows: Vec<u32> = (0..=pushed.len() as u32).rev().collect();
                    let mut each = Vec::new();
                    c.each_ordinal(&rows, |m, o| each.push((m, o)));
                    let wanted: Vec<(usize, Ordinal)> =
                        rows.iter().map(|&r| ordinals[r as usize]).enumerate().collect();
                    assert_eq!(each, wanted, "{a:?} {b:?}");
                }
            }
        }
    }

    /// Two columns joined read as one column given all their values; same kinds are joined code by
    /// code, anything else value by value.
    #[test]
    fn appended_columns_read_as_one() {
        let kinds = [
            Value::Missing,
            Value::Bool(true),
            Value::Choice(3),
            Value::Int(-7),
            Value::Facilities(2),
            Value::Date(date(2026, 9, 1)),
            Value::Time(Timestamp::from_second(1_780_000_000).unwrap()),
            Value::Dec(Decimal::new(12_345, 2)),
            Value::Dec(Decimal::new(12_345, 1)),
            Value::Dec(Decimal::MAX),
        ];
        let exact = |v: &[Value]| format!("{v:?}");
        for a in kinds {
            for b in kinds {
                for (x, y) in [(a, b), (Value::Missing, b), (a, Value::Missing)] {
                    let first = [x, Value::Missing, x];
                    let second = [y, y, Value::Missing, x];
                    let mut one = Column::new(0, 2);
                    let (mut left, mut right) = (Column::new(0, 2), Column::new(0, 2));
                    for &v in &first {
                        one.push(v);
                        left.push(v);
                    }
                    for &v in &second {
                        one.push(v);
                        right.push(v);
                    }
                    left.append(&right);
                    assert_eq!(left.len(), one.len());
                    let got: Vec<Value> = (0..left.len()).map(|i| left.get(i)).collect();
                    let want: Vec<Value> = (0..one.len()).map(|i| one.get(i)).collect();
                    assert_eq!(exact(&got), exact(&want), "{x:?} {y:?}");
                    assert_eq!(
                        std::mem::discriminant(&left.store),
                        std::mem::discriminant(&one.store),
                        "{x:?} {y:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn yes_no_and_choice_columns_are_compact() {
        let mut c = Column::new(2, 10);
        c.push(Value::Bool(true));
        assert!(matches!(c.store, Store::Bools(_)));
        let mut c = Column::new(0, 10);
        c.push(Value::Choice(1));
        c.push(Value::Missing);
        assert!(matches!(c.store, Store::Choices(_)));
        c.push(Value::Bool(false));
        assert!(matches!(c.store, Store::Values(_)));
        assert_eq!(c.get(0), Value::Choice(1));
        assert_eq!(c.get(1), Value::Missing);
        assert_eq!(c.get(2), Value::Bool(false));
    }

    #[test]
    fn dates_instants_and_money_columns_are_compact() {
        let mut c = Column::new(1, 10);
        c.push(Value::Date(date(2024, 2, 29)));
        assert!(matches!(c.store, Store::Dates(_)));
        let mut c = Column::new(0, 10);
        c.push(Value::Time(Timestamp::from_second(1_780_000_000).unwrap()));
        assert!(matches!(c.store, Store::Times(_)));
        let mut c = Column::new(0, 10);
        c.push(Value::Dec(Decimal::new(1_500_000, 2)));
        c.push(Value::Dec(Decimal::new(0, 2)));
        assert!(matches!(c.store, Store::Decs { scale: 2, .. }));
        // Another number of places: kept as it is.
        c.push(Value::Dec(Decimal::new(15, 0)));
        assert!(matches!(c.store, Store::Values(_)));
        assert_eq!(
            format!("{:?}", c.get(2)),
            format!("{:?}", Value::Dec(Decimal::new(15, 0)))
        );
    }

    /// Dates keep their order as codes, so a column of them could be compared code by code.
    #[test]
    fn date_codes_follow_date_order() {
        let dates = [
            date(-9999, 1, 1),
            date(-1, 12, 31),
            date(0, 1, 1),
            date(2024, 2, 29),
            date(2024, 3, 1),
            date(2025, 1, 1),
            date(9999, 12, 31),
        ];
        for w in dates.windows(2) {
            assert!(date_code(w[0]) < date_code(w[1]), "{:?}", w);
            let ordinal = |d| match Value::Date(d).ordinal() {
                Ordinal::Whole { code, .. } => Some(code),
                _ => None,
            };
            assert!(
                ordinal(w[0]).is_some() && ordinal(w[0]) < ordinal(w[1]),
                "{:?}",
                w
            );
            assert!(date_code(w[0]) != NO_DATE);
        }
    }
}
