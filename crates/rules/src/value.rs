//! Values an application carries and their types.
//!
//! A value is small and `Copy`: choices are indexes into their option list, facilities are indexes into
//! the facility table of the batch, so evaluating a regulation never allocates.

use std::cmp::Ordering;

use jiff::Timestamp;
use jiff::civil::Date;
use rust_decimal::Decimal;

/// One value of an input, a derived value or an expression.
///
/// `repr(C, u8)` puts every payload at offset 8: with the default layout the compiler copied values as
/// overlapping unaligned words, and the resulting store-forwarding stalls were a third of scoring time.
#[derive(Debug, Clone, Copy, PartialEq)]
#[repr(C, u8)]
pub enum Value {
    /// Not given (an optional input left empty, or a question not asked).
    Missing,
    /// Yes/no.
    Bool(bool),
    /// Whole number.
    Int(i64),
    /// Exact decimal (money, percentages, points).
    Dec(Decimal),
    /// Calendar date.
    Date(Date),
    /// Instant (submission time).
    Time(Timestamp),
    /// Index of an option in its choice list.
    Choice(u16),
    /// Index of a facility in the batch's facility table.
    Facility(u32),
    /// Index of a list of facilities in the application's facts.
    Facilities(u32),
}

/// Types of values, checked when a rules file is compiled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Ty {
    /// Yes/no.
    Bool,
    /// Whole number.
    Int,
    /// Exact decimal (money too).
    Dec,
    /// Calendar date.
    Date,
    /// Instant.
    Time,
    /// One option of the choice list with this index.
    Choice(u16),
    /// A facility.
    Facility,
    /// An ordered list of facilities.
    Facilities,
    /// A repeated input (list of records) with this index; only usable inside `count`, `sum`, `any`, `all`.
    List(u16),
    /// One record of the list with this index (the name bound by `count(parents, parent.…)`).
    Item(u16),
}

impl Ty {
    /// True for whole and decimal numbers.
    pub fn is_number(self) -> bool {
        matches!(self, Ty::Int | Ty::Dec)
    }
}

impl Value {
    /// The value as a decimal, for numbers.
    #[inline]
    pub fn as_dec(self) -> Option<Decimal> {
        match self {
            Value::Int(n) => Some(Decimal::from(n)),
            Value::Dec(d) => Some(d),
            _ => None,
        }
    }

    /// Truth of a condition: a missing value counts as false.
    #[inline]
    pub fn truthy(self) -> bool {
        matches!(self, Value::Bool(true))
    }

    /// Orders two present values of the same type (numbers of either kind compare by value).
    /// Returns `None` when either is missing or the kinds differ.
    #[inline]
    pub fn compare(self, other: Value) -> Option<Ordering> {
        match (self, other) {
            (Value::Int(a), Value::Int(b)) => Some(a.cmp(&b)),
            (Value::Bool(a), Value::Bool(b)) => Some(a.cmp(&b)),
            (Value::Date(a), Value::Date(b)) => Some(a.cmp(&b)),
            (Value::Time(a), Value::Time(b)) => Some(a.cmp(&b)),
            (Value::Choice(a), Value::Choice(b)) => Some(a.cmp(&b)),
            (Value::Facility(a), Value::Facility(b)) => Some(a.cmp(&b)),
            (a, b) => Some(a.as_dec()?.cmp(&b.as_dec()?)),
        }
    }
}

/// A value as sorting keys read it: a whole number in the order of its kind (see
/// [`Value::ordinal`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ordinal {
    /// No value.
    Missing,
    /// The number `units × 10^-scale`.
    Number {
        /// Whole units.
        units: i64,
        /// Decimal places of a unit.
        scale: u32,
    },
    /// A value of another kind as a whole number that orders as the value does.
    Whole {
        /// The kind: values of different kinds do not compare.
        kind: OrdinalKind,
        /// The number.
        code: i64,
    },
    /// A value no whole number of 64 bits carries (a list of facilities, a number or an instant too
    /// large).
    Unordered,
}

/// The kind of an [`Ordinal::Whole`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrdinalKind {
    /// Yes/no: 0 or 1.
    Bool,
    /// A date: year, month and day packed in order.
    Date,
    /// An instant: nanoseconds since 1970.
    Time,
    /// A choice: the option's index.
    Choice,
    /// A facility: its index.
    Facility,
}

impl Value {
    /// The value as a whole number in its kind's order: what the ranking's keys are made of. Reading a
    /// stored column gives the same without making the value (`Column::ordinal`).
    pub fn ordinal(self) -> Ordinal {
        let whole = |kind, code| Ordinal::Whole { kind, code };
        match self {
            Value::Missing => Ordinal::Missing,
            Value::Int(i) => Ordinal::Number { units: i, scale: 0 },
            Value::Dec(d) => match i64::try_from(d.mantissa()) {
                Ok(units) => Ordinal::Number {
                    units,
                    scale: d.scale(),
                },
                Err(_) => Ordinal::Unordered,
            },
            Value::Bool(b) => whole(OrdinalKind::Bool, i64::from(b)),
            Value::Date(d) => whole(
                OrdinalKind::Date,
                date_ordinal(i64::from(d.year()), i64::from(d.month()), i64::from(d.day())),
            ),
            Value::Time(t) => match i64::try_from(t.as_nanosecond()) {
                Ok(n) => whole(OrdinalKind::Time, n),
                Err(_) => Ordinal::Unordered,
            },
            Value::Choice(c) => whole(OrdinalKind::Choice, i64::from(c)),
            Value::Facility(f) => whole(OrdinalKind::Facility, i64::from(f)),
            Value::Facilities(_) => Ordinal::Unordered,
        }
    }
}

/// A date's year, month and day as one number in date order.
#[inline]
pub(crate) fn date_ordinal(year: i64, month: i64, day: i64) -> i64 {
    (year << 9) | (month << 5) | day
}

/// Powers of ten up to the largest decimal scale (28).
#[expect(clippy::indexing_slicing, reason = "a constant table, checked when compiled")]
const POW10: [i128; 29] = {
    let mut p = [1i128; 29];
    let mut i = 1;
    while i < 29 {
        p[i] = p[i - 1] * 10;
        i += 1;
    }
    p
};

/// `d` as a whole number of `10^-scale` units (`12.5` at scale 2 is `1250`), when `d` has at most
/// `scale` decimals and the result fits in 64 bits.
pub fn whole_units(d: Decimal, scale: u32) -> Option<i64> {
    let up = scale.checked_sub(d.scale())?;
    let factor = POW10.get(usize::try_from(up).ok()?)?;
    i64::try_from(d.mantissa().checked_mul(*factor)?).ok()
}

/// A whole number of `10^-scale` units as a decimal without trailing zeros (the inverse of
/// [`whole_units`]); `scale` at most 28, the most a decimal has (beyond: zero).
pub fn from_units(units: i64, scale: u32) -> Decimal {
    // Trailing zeros stripped from the 64-bit number: `normalize` works on 96 bits and took a sixth of
    // ranking a million, where every standing's total and subtotals come through here.
    let (mut units, mut scale) = (units, scale);
    while scale > 0 && units % 10 == 0 {
        units /= 10;
        scale -= 1;
    }
    Decimal::try_new(units, scale).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Exactly what normalizing the decimal gives (same digits, same scale, no negative zero),
        /// and the inverse of `whole_units`.
        #[test]
        fn from_units_is_the_normalized_decimal(units in any::<i64>(), scale in 0u32..=28) {
            let d = from_units(units, scale);
            let expected = Decimal::new(units, scale).normalize();
            prop_assert_eq!(format!("{d:?} {}", d.scale()), format!("{expected:?} {}", expected.scale()));
            prop_assert_eq!(d.is_sign_negative(), expected.is_sign_negative());
            prop_assert_eq!(whole_units(d, scale), Some(units));
        }

        #[test]
        fn from_units_strips_whole_zeros(units in -1_000_000i64..1_000_000, scale in 0u32..=6) {
            let d = from_units(units * 10i64.pow(scale), scale);
            prop_assert_eq!(d.scale(), 0);
            prop_assert_eq!(d, Decimal::from(units));
        }
    }
}
