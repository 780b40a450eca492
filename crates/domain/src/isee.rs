//! ISEE, the national means-test indicator, as a family declares it.
//!
//! INPS computes the ISEE from a declaration (DSU) that is valid until 31 December of the year it was
//! filed. Services for children use the *minorenni* variant. The value is exact money; the protocol of
//! the DSU lets the municipality check it with INPS.

use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use crate::money::Money;

/// Which ISEE variant the attestation is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IseeKind {
    /// *ISEE ordinario*.
    Ordinario,
    /// *ISEE minorenni*, required for services to children when the parents do not live together.
    Minorenni,
}

/// The protocol number of a DSU as printed by INPS (for example `INPS-ISEE-2026-00012345A-00`).
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct DsuProtocol(String);

/// Why an ISEE declaration is not acceptable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IseeError {
    /// The DSU protocol has characters other than letters, digits and dashes, or a wrong length.
    #[error("dsu_protocol: must be 5 to 40 letters, digits or dashes")]
    Protocol,
    /// The DSU was filed after the date it is used on.
    #[error("dsu_filed_on: the declaration is dated after the application")]
    FiledInFuture,
}

impl DsuProtocol {
    /// Parses a DSU protocol number, upper-casing it.
    pub fn parse(input: &str) -> Result<Self, IseeError> {
        let s = input.trim().to_ascii_uppercase();
        let ok = (5..=40).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
        if ok { Ok(Self(s)) } else { Err(IseeError::Protocol) }
    }
    /// The protocol as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for DsuProtocol {
    type Error = IseeError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<DsuProtocol> for String {
    fn from(p: DsuProtocol) -> Self {
        p.0
    }
}

impl std::fmt::Debug for DsuProtocol {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DsuProtocol(***)")
    }
}

/// An ISEE attestation: value, variant, and the DSU it comes from.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Isee {
    /// The indicator, in euro.
    pub value: Money,
    /// Ordinary or for minors.
    pub kind: IseeKind,
    /// Protocol of the declaration, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dsu_protocol: Option<DsuProtocol>,
    /// Day the declaration was filed.
    pub dsu_filed_on: Date,
}

impl Isee {
    /// Last day on which the attestation is valid: 31 December of the filing year.
    pub fn valid_until(&self) -> Date {
        Date::new(self.dsu_filed_on.year(), 12, 31).unwrap_or(self.dsu_filed_on)
    }

    /// Whether the attestation can be used on `day`: filed on or before it, and not expired.
    pub fn is_valid_on(&self, day: Date) -> bool {
        self.dsu_filed_on <= day && day <= self.valid_until()
    }

    /// Checks that the declaration is not dated after the day it is presented.
    pub fn check_presented_on(&self, day: Date) -> Result<(), IseeError> {
        if self.dsu_filed_on > day {
            Err(IseeError::FiledInFuture)
        } else {
            Ok(())
        }
    }
}

/// The value is personal data: debug output hides it.
impl std::fmt::Debug for Isee {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Isee")
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn protocol_round_trips(s in "[A-Z0-9-]{5,40}") {
            let protocol = DsuProtocol::parse(&s).unwrap();
            prop_assert_eq!(protocol.as_str(), s.as_str());
        }

        #[test]
        fn protocol_never_panics(s in "\\PC{0,60}") {
            let _ = DsuProtocol::parse(&s);
        }

        #[test]
        fn valid_exactly_until_the_end_of_the_filing_year(y in 2000i16..2100, doy in 0i16..365, later in 1i32..800) {
            let filed = Date::new(y, 1, 1).unwrap().checked_add(jiff::Span::new().days(doy)).unwrap();
            let i = Isee { value: Money::ZERO, kind: IseeKind::Ordinario, dsu_protocol: None, dsu_filed_on: filed };
            prop_assert!(i.is_valid_on(filed));
            let day = filed.checked_add(jiff::Span::new().days(later)).unwrap();
            prop_assert_eq!(i.is_valid_on(day), day.year() == filed.year());
        }
    }

    fn isee(filed: Date) -> Isee {
        Isee {
            value: Money::parse("8750.25").unwrap(),
            kind: IseeKind::Minorenni,
            dsu_protocol: Some(DsuProtocol::parse("INPS-ISEE-2026-00012345A-00").unwrap()),
            dsu_filed_on: filed,
        }
    }

    #[test]
    fn valid_until_end_of_filing_year() {
        let i = isee(Date::new(2026, 2, 10).unwrap());
        assert_eq!(i.valid_until(), Date::new(2026, 12, 31).unwrap());
        assert!(i.is_valid_on(Date::new(2026, 12, 31).unwrap()));
        assert!(!i.is_valid_on(Date::new(2027, 1, 1).unwrap()));
        assert!(!i.is_valid_on(Date::new(2026, 2, 9).unwrap()));
    }

    #[test]
    fn protocol_shape() {
        assert!(DsuProtocol::parse("inps-isee-2026-1").is_ok());
        assert_eq!(DsuProtocol::parse("abc"), Err(IseeError::Protocol));
        assert_eq!(DsuProtocol::parse("INPS ISEE 2026"), Err(IseeError::Protocol));
    }

    #[test]
    fn debug_hides_value() {
        let text = format!("{:?}", isee(Date::new(2026, 2, 10).unwrap()));
        assert!(!text.contains("8750"));
    }

    #[test]
    fn json_round_trip() {
        let i = isee(Date::new(2026, 2, 10).unwrap());
        let json = serde_json::to_string(&i).unwrap();
        assert_eq!(
            json,
            r#"{"value":"8750.25","kind":"minorenni","dsu_protocol":"INPS-ISEE-2026-00012345A-00","dsu_filed_on":"2026-02-10"}"#
        );
        let back: Isee = serde_json::from_str(&json).unwrap();
        assert!(back == i);
    }
}
