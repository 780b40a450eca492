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
