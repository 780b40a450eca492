//! Amounts in euro, exact to the cent.
//!
//! Stored as a whole number of cents (`i64`), the representation the database uses on both backends
//! (SQLite has no exact decimal type). Converted to [`rust_decimal::Decimal`] for arithmetic that needs
//! more precision (fee interpolation), never to floating point.

use std::fmt;

use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A non-negative amount of money in euro with cents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Money(i64);

/// Why a text is not an amount of money.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    /// Empty input.
    #[error("amount is empty")]
    Empty,
    /// Characters other than digits and one decimal separator.
    #[error("amount must be written with digits and at most one decimal separator, e.g. 12500.50")]
    Syntax,
    /// More than two decimals.
    #[error("amount has more than two decimals")]
    TooPrecise,
    /// Negative amount.
    #[error("amount cannot be negative")]
    Negative,
    /// Larger than any amount the system handles (10^13 euro).
    #[error("amount is too large")]
    TooLarge,
}

/// The largest accepted amount in cents: ten trillion euro, far above any ISEE or budget.
const MAX_CENTS: i64 = 1_000_000_000_000_000;

impl Money {
    /// Zero euro.
    pub const ZERO: Money = Money(0);

    /// An amount from whole cents.
    pub fn from_cents(cents: i64) -> Result<Self, MoneyError> {
        if cents < 0 {
            Err(MoneyError::Negative)
        } else if cents > MAX_CENTS {
            Err(MoneyError::TooLarge)
        } else {
            Ok(Money(cents))
        }
    }

    /// Parses `12500`, `12500.5`, `12500.50` or the Italian `12500,50`. Thousands separators are
    /// refused because `12.500` would be ambiguous.
    pub fn parse(input: &str) -> Result<Self, MoneyError> {
        let s = input.trim();
        if s.is_empty() {
            return Err(MoneyError::Empty);
        }
        if s.starts_with('-') {
            return Err(MoneyError::Negative);
        }
        let s = s.strip_prefix('+').unwrap_or(s);
        let (whole, frac) = match s.find(['.', ',']) {
            Some(i) => (s.get(..i).unwrap_or(""), s.get(i + 1..).unwrap_or("")),
            None => (s, ""),
        };
        let digits = |t: &str| t.bytes().all(|b| b.is_ascii_digit());
        if whole.is_empty() || !digits(whole) || !digits(frac) || (s.len() > whole.len() && frac.is_empty()) {
            return Err(MoneyError::Syntax);
        }
        if frac.len() > 2 {
            return Err(MoneyError::TooPrecise);
        }
        if whole.len() > 16 {
            return Err(MoneyError::TooLarge);
        }
        let mut cents: i64 = 0;
        for b in whole
            .bytes()
            .chain(frac.bytes())
            .chain(std::iter::repeat_n(b'0', 2 - frac.len()))
        {
            cents = cents
                .checked_mul(10)
                .and_then(|c| c.checked_add(i64::from(b - b'0')))
                .ok_or(MoneyError::TooLarge)?;
        }
        Self::from_cents(cents)
    }

    /// Whole cents.
    pub fn cents(self) -> i64 {
        self.0
    }

    /// The amount as an exact decimal with two places.
    pub fn to_decimal(self) -> Decimal {
        Decimal::new(self.0, 2)
    }

    /// An exact decimal with at most two places and not negative; anything else is refused.
    pub fn from_decimal(d: Decimal) -> Result<Self, MoneyError> {
        if d.is_sign_negative() && !d.is_zero() {
            return Err(MoneyError::Negative);
        }
        let scaled = d.checked_mul(Decimal::ONE_HUNDRED).ok_or(MoneyError::TooLarge)?;
        if scaled.fract() != Decimal::ZERO {
            return Err(MoneyError::TooPrecise);
        }
        let cents: i64 = scaled.trunc().try_into().map_err(|_| MoneyError::TooLarge)?;
        Self::from_cents(cents)
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:02}", self.0 / 100, self.0 % 100)
    }
}

impl std::str::FromStr for Money {
    type Err = MoneyError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// Serialised as a string (`"12500.50"`) so that no JSON reader turns it into a float.
impl Serialize for Money {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Money {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(MoneyVisitor)
    }
}

struct MoneyVisitor;

impl serde::de::Visitor<'_> for MoneyVisitor {
    type Value = Money;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an amount in euro such as \"12500.50\"")
    }
    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Money, E> {
        Money::parse(v).map_err(E::custom)
    }
    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Money, E> {
        let cents = i64::try_from(v).ok().and_then(|v| v.checked_mul(100));
        cents
            .ok_or(MoneyError::TooLarge)
            .and_then(Money::from_cents)
            .map_err(E::custom)
    }
    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Money, E> {
        v.checked_mul(100)
            .ok_or(MoneyError::TooLarge)
            .and_then(Money::from_cents)
            .map_err(E::custom)
    }
    /// A JSON number with a fraction: its shortest decimal text (what the sender wrote) is parsed exactly.
    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Money, E> {
        Money::parse(&v.to_string()).map_err(E::custom)
    }
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_common_spellings() {
        assert_eq!(Money::parse("12500").unwrap().cents(), 1_250_000);
        assert_eq!(Money::parse("12500.5").unwrap().cents(), 1_250_050);
        assert_eq!(Money::parse("12500,50").unwrap().cents(), 1_250_050);
        assert_eq!(Money::parse(" 0.01 ").unwrap().cents(), 1);
    }

    #[test]
    fn rejects_ambiguous_or_inexact() {
        assert_eq!(Money::parse("12.500,00"), Err(MoneyError::Syntax));
        assert_eq!(Money::parse("1.005"), Err(MoneyError::TooPrecise));
        assert_eq!(Money::parse("-3"), Err(MoneyError::Negative));
        assert_eq!(Money::parse("12."), Err(MoneyError::Syntax));
        assert_eq!(Money::parse(".5"), Err(MoneyError::Syntax));
        assert_eq!(Money::parse(""), Err(MoneyError::Empty));
        assert_eq!(Money::parse("99999999999999999"), Err(MoneyError::TooLarge));
    }

    #[test]
    fn json_accepts_strings_integers_and_short_decimals() {
        let m: Money = serde_json::from_str("\"4500.01\"").unwrap();
        assert_eq!(m.cents(), 450_001);
        let m: Money = serde_json::from_str("4500.01").unwrap();
        assert_eq!(m.cents(), 450_001);
        let m: Money = serde_json::from_str("4500").unwrap();
        assert_eq!(m.cents(), 450_000);
        assert!(serde_json::from_str::<Money>("4500.001").is_err());
        assert_eq!(serde_json::to_string(&m).unwrap(), "\"4500.00\"");
    }

    proptest! {
        #[test]
        fn round_trips(cents in 0i64..MAX_CENTS) {
            let m = Money::from_cents(cents).unwrap();
            prop_assert_eq!(Money::parse(&m.to_string()).unwrap(), m);
            prop_assert_eq!(Money::from_decimal(m.to_decimal()).unwrap(), m);
        }

        #[test]
        fn never_panics(s in "\\PC{0,30}") {
            let _ = Money::parse(&s);
        }

        #[test]
        fn more_than_two_decimals_is_refused(whole in 0u32..1_000_000, frac in "[0-9]{3,6}") {
            let text = format!("{whole}.{frac}");
            prop_assert_eq!(Money::parse(&text), Err(MoneyError::TooPrecise));
        }

        #[test]
        fn negative_amounts_are_refused(cents in 1i64..MAX_CENTS) {
            prop_assert_eq!(Money::from_cents(-cents), Err(MoneyError::Negative));
            let text = format!("-{}", Money::from_cents(cents).unwrap());
            prop_assert_eq!(Money::parse(&text), Err(MoneyError::Negative));
        }
    }
}
