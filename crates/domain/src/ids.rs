//! Identifiers: database ids as newtypes (so an application id cannot be passed where a facility id is
//! expected), facility codes chosen by the municipality, and protocol numbers.

use std::fmt;

use crate::digits::push_digits;

use serde::{Deserialize, Serialize};

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(i64);

        impl $name {
            /// Wraps a database id.
            pub fn new(id: i64) -> Self {
                Self(id)
            }
            /// The raw id, for storage.
            pub fn get(self) -> i64 {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}", self.0)
            }
        }
    };
}

id_type!(
    /// An application (*domanda*), stable across its amended versions.
    ApplicationId
);
id_type!(
    /// One ranking run.
    RankingId
);
id_type!(
    /// A call (*bando*): one service, one school year.
    CallId
);
id_type!(
    /// A municipality or a union of municipalities (the body that keeps a protocol register).
    OrganisationId
);
id_type!(
    /// A member of staff (operator, manager, auditor, administrator).
    UserId
);
id_type!(
    /// A service of an organisation (nurseries, school meals, a voucher…).
    ServiceId
);
id_type!(
    /// A seat offered to a family after a ranking, to be accepted or refused by a deadline.
    OfferId
);
id_type!(
    /// An objection (*ricorso*, *osservazione*) to a provisional ranking.
    ObjectionId
);
id_type!(
    /// A draft application, before it is submitted.
    DraftId
);

/// A facility's code, chosen by the municipality and used in preferences and CSV files
/// (`nido-girasole`, `N03`): 1–64 letters, digits, `-`, `_` or `.`.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct FacilityCode(String);

/// Why a text is not a facility code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("facility code: must be 1 to 64 letters, digits, '-', '_' or '.'")]
pub struct FacilityCodeError;

impl FacilityCode {
    /// Parses a facility code.
    pub fn parse(input: &str) -> Result<Self, FacilityCodeError> {
        let ok = (1..=64).contains(&input.len())
            && input
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
        if ok {
            Ok(Self(input.to_owned()))
        } else {
            Err(FacilityCodeError)
        }
    }
    /// The code as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for FacilityCode {
    type Error = FacilityCodeError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<FacilityCode> for String {
    fn from(c: FacilityCode) -> Self {
        c.0
    }
}

impl fmt::Display for FacilityCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for FacilityCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FacilityCode({})", self.0)
    }
}

/// A protocol number (*numero di protocollo*): progressive within an organisation and a calendar year,
/// written `2026/000123`. It is the only identifier shown in published rankings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ProtocolNumber {
    year: i16,
    number: u32,
}

/// Why a text is not a protocol number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("protocol: must be YEAR/NUMBER, e.g. 2026/000123, with a number from 1 to 999999999")]
pub struct ProtocolNumberError;

impl ProtocolNumber {
    /// A protocol number; numbering starts at 1 each year.
    pub fn new(year: i16, number: u32) -> Result<Self, ProtocolNumberError> {
        if (1900..=9999).contains(&year) && (1..=999_999_999).contains(&number) {
            Ok(Self { year, number })
        } else {
            Err(ProtocolNumberError)
        }
    }
    /// Parses `2026/123` or `2026/000123`.
    pub fn parse(input: &str) -> Result<Self, ProtocolNumberError> {
        let (y, n) = input.trim().split_once('/').ok_or(ProtocolNumberError)?;
        let digits = |s: &str| !s.is_empty() && s.len() <= 9 && s.bytes().all(|b| b.is_ascii_digit());
        if y.len() != 4 || !digits(y) || !digits(n) {
            return Err(ProtocolNumberError);
        }
        let year = y.parse().map_err(|_| ProtocolNumberError)?;
        let number = n.parse().map_err(|_| ProtocolNumberError)?;
        Self::new(year, number)
    }
    /// Calendar year of registration.
    pub fn year(self) -> i16 {
        self.year
    }
    /// Progressive number within the year.
    pub fn number(self) -> u32 {
        self.number
    }
    /// Appends the number as [`Display`](fmt::Display) writes it (`2026/000123`), without the general
    /// formatter: a ranking of a million applications writes a few million of them.
    pub fn push_to(self, out: &mut String) {
        // The year is always 1900..=9999 (see `new`): four digits.
        push_digits(u64::from(self.year.unsigned_abs()), 4, out);
        out.push('/');
        push_digits(u64::from(self.number), 6, out);
    }
}

impl fmt::Display for ProtocolNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{:06}", self.year, self.number)
    }
}

impl TryFrom<String> for ProtocolNumber {
    type Error = ProtocolNumberError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<ProtocolNumber> for String {
    fn from(p: ProtocolNumber) -> Self {
        p.to_string()
    }
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn protocol_orders_by_year_then_number() {
        let a = ProtocolNumber::parse("2025/999").unwrap();
        let b = ProtocolNumber::parse("2026/1").unwrap();
        assert!(a < b);
        assert_eq!(b.to_string(), "2026/000001");
        assert!(ProtocolNumber::parse("2026/0").is_err());
        assert!(ProtocolNumber::parse("26/12").is_err());
    }

    #[test]
    fn facility_codes() {
        assert!(FacilityCode::parse("nido-girasole").is_ok());
        assert!(FacilityCode::parse("").is_err());
        assert!(FacilityCode::parse("nido girasole").is_err());
    }

    proptest! {
        #[test]
        fn protocol_round_trips(year in 1900i16..=9999, number in 1u32..=999_999_999) {
            let p = ProtocolNumber::new(year, number).unwrap();
            prop_assert_eq!(ProtocolNumber::parse(&p.to_string()).unwrap(), p);
            let mut pushed = "x".to_owned();
            p.push_to(&mut pushed);
            prop_assert_eq!(pushed, format!("x{p}"));
        }
        #[test]
        fn protocol_pushed_as_displayed_at_the_edges(number in prop_oneof![1u32..=1000, 999_990u32..=1_000_010, 999_999_990u32..=999_999_999]) {
            for year in [1900, 2026, 9999] {
                let p = ProtocolNumber::new(year, number).unwrap();
                let mut pushed = String::new();
                p.push_to(&mut pushed);
                prop_assert_eq!(pushed, p.to_string());
            }
        }
        #[test]
        fn protocol_never_panics(s in "\\PC{0,20}") {
            let _ = ProtocolNumber::parse(&s);
        }
        #[test]
        fn facility_never_panics(s in "\\PC{0,80}") {
            let _ = FacilityCode::parse(&s);
        }

        #[test]
        fn facility_round_trips(s in "[A-Za-z0-9._-]{1,64}") {
            let code = FacilityCode::parse(&s).unwrap();
            prop_assert_eq!(code.as_str(), s.as_str());
        }

        #[test]
        fn facility_with_other_characters_is_refused(a in "[a-z]{0,10}", c in "[ /àè@#:]", b in "[a-z]{0,10}") {
            let code = format!("{a}{c}{b}");
            prop_assert_eq!(FacilityCode::parse(&code), Err(FacilityCodeError));
        }

        #[test]
        fn protocol_without_slash_or_zero_is_refused(year in 1900i16..=9999, n in 0u32..1000) {
            let dashed = format!("{year}-{n}");
            let zero = format!("{year}/0");
            prop_assert!(ProtocolNumber::parse(&dashed).is_err());
            prop_assert!(ProtocolNumber::parse(&zero).is_err());
        }
    }
}
