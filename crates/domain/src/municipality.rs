//! Municipalities, identified by their ISTAT code.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The six-digit ISTAT code of a municipality (three digits of province, three of municipality),
/// e.g. `037006` for Bologna.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct IstatCode(String);

/// Why a text is not an ISTAT municipality code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("istat_code: must be exactly 6 digits")]
pub struct IstatCodeError;

impl IstatCode {
    /// Parses a six-digit code; leading zeros matter and are kept.
    pub fn parse(input: &str) -> Result<Self, IstatCodeError> {
        let s = input.trim();
        if s.len() == 6 && s.bytes().all(|b| b.is_ascii_digit()) && s != "000000" {
            Ok(Self(s.to_owned()))
        } else {
            Err(IstatCodeError)
        }
    }
    /// The code as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for IstatCode {
    type Error = IstatCodeError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<IstatCode> for String {
    fn from(c: IstatCode) -> Self {
        c.0
    }
}

impl fmt::Display for IstatCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for IstatCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IstatCode({})", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn keeps_leading_zeros() {
        assert_eq!(
            IstatCode::parse("037006").map(|c| c.to_string()),
            Ok("037006".to_owned())
        );
        assert_eq!(IstatCode::parse("37006"), Err(IstatCodeError));
        assert_eq!(IstatCode::parse("03700A"), Err(IstatCodeError));
    }

    proptest! {
        #[test]
        fn six_digits_round_trip(s in "[0-9]{6}") {
            prop_assume!(s != "000000");
            prop_assert_eq!(IstatCode::parse(&s).map(|c| c.to_string()), Ok(s));
        }
        #[test]
        fn never_panics(s in "\\PC{0,12}") {
            let _ = IstatCode::parse(&s);
        }

        #[test]
        fn other_lengths_and_letters_are_refused(s in "[0-9A-Z]{0,12}") {
            prop_assume!(s.len() != 6 || s.bytes().any(|b| !b.is_ascii_digit()));
            prop_assert_eq!(IstatCode::parse(&s), Err(IstatCodeError));
        }
    }
}
