//! The Italian tax code (*codice fiscale*) of a person, checked when it enters the system.
//!
//! Two shapes exist:
//! - the ordinary 16-character code (`RSSMRA85T10A562S`): surname and name letters, birth year, month
//!   letter, day (plus 40 for women), the *Belfiore* code of the birth place and a check letter. When two
//!   people would get the same code (*omocodia*) the Agenzia delle Entrate replaces digits, from the right,
//!   with the letters `L M N P Q R S T U V` (standing for 0–9) and recomputes the check letter;
//! - the provisional 11-digit numeric code (*codice fiscale provvisorio*) given to some newborns and
//!   foreigners, with the same check digit as a VAT number.
//!
//! Error messages name the rule that was broken and the position, never the value: a codice fiscale is
//! personal data and must not end up in logs or error pages.

use std::fmt;

use jiff::civil::Date;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A syntactically valid codice fiscale, normalised to upper case without spaces.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CodiceFiscale(String);

/// Sex as encoded in an ordinary codice fiscale (day of birth plus 40 for women).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Sex {
    /// Male: day of birth written as 01–31.
    M,
    /// Female: day of birth written as 41–71.
    F,
}

/// Why a string is not a codice fiscale. Positions are 1-based, as a person would count them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodiceFiscaleError {
    /// Neither 16 characters nor 11 digits.
    #[error("codice fiscale: must be 16 characters (or 11 digits for a provisional code), found {0}")]
    Length(usize),
    /// A character of the wrong class at some position.
    #[error("codice fiscale: character {position} must be {expected}")]
    Character {
        /// 1-based position.
        position: usize,
        /// What the position accepts, in words.
        expected: &'static str,
    },
    /// The month letter is not one of `A B C D E H L M P R S T`.
    #[error("codice fiscale: character 9 is not a valid month letter")]
    Month,
    /// Day of birth outside 1–31 / 41–71, or not a day of that month.
    #[error("codice fiscale: characters 10-11 are not a valid day of birth")]
    Day,
    /// The check character does not match the other fifteen (or ten) characters.
    #[error("codice fiscale: wrong check character")]
    Check,
}

impl CodiceFiscaleError {
    /// The same reason in Italian, for families (the `Display` text is English).
    pub fn italian(&self) -> String {
        match self {
            Self::Length(n) => {
                format!("il codice fiscale deve avere 16 caratteri (o 11 cifre se provvisorio), ne ha {n}")
            }
            Self::Character { position, expected } => {
                let expected = match *expected {
                    "a digit" => "una cifra",
                    "a letter" => "una lettera",
                    "a letter or a digit" => "una lettera o una cifra",
                    "a digit (or one of L M N P Q R S T U V)" => "una cifra (o una tra L M N P Q R S T U V)",
                    other => other,
                };
                format!("il carattere {position} del codice fiscale deve essere {expected}")
            }
            Self::Month => "il carattere 9 del codice fiscale non è una lettera di mese valida".into(),
            Self::Day => "i caratteri 10-11 del codice fiscale non sono un giorno di nascita valido".into(),
            Self::Check => "il carattere di controllo del codice fiscale è sbagliato".into(),
        }
    }
}

const MONTH_LETTERS: &[u8; 12] = b"ABCDEHLMPRST";
const OMOCODIA_LETTERS: &[u8; 10] = b"LMNPQRSTUV";
/// Positions (0-based) that hold digits in an ordinary code and may hold omocodia letters instead.
const NUMERIC_POSITIONS: [usize; 7] = [6, 7, 9, 10, 12, 13, 14];
/// Value of a character in an odd (1st, 3rd, …) position, for digits `0-9` and letters `A-Z` alike.
const ODD_VALUES: [u8; 26] = [
    1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 2, 4, 18, 20, 11, 3, 6, 8, 12, 14, 16, 10, 22, 25, 24, 23,
];

impl CodiceFiscale {
    /// Parses a codice fiscale, accepting lower case and surrounding or inner spaces.
    pub fn parse(input: &str) -> Result<Self, CodiceFiscaleError> {
        let normalised: String = input
            .chars()
            .filter(|c| !c.is_whitespace())
            .map(|c| c.to_ascii_uppercase())
            .collect();
        let count = normalised.chars().count();
        if !normalised.is_ascii() {
            // Report the first non-ASCII position rather than a byte length.
            let position = normalised
                .chars()
                .position(|c| !c.is_ascii())
                .map_or(1, |p| p + 1);
            let expected = if count == 11 {
                "a digit"
            } else {
                "a letter or a digit"
            };
            return Err(CodiceFiscaleError::Character { position, expected });
        }
        let bytes = normalised.as_bytes();
        match bytes.len() {
            16 => check_ordinary(bytes)?,
            11 => check_provisional(bytes)?,
            n => return Err(CodiceFiscaleError::Length(n)),
        }
        Ok(Self(normalised))
    }

    /// The code as a string, upper case.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// True for the provisional 11-digit numeric code, which encodes no birth date or sex.
    pub fn is_provisional(&self) -> bool {
        self.0.len() == 11
    }

    /// True when at least one digit was replaced by a letter because of omocodia.
    pub fn is_omocodic(&self) -> bool {
        let bytes = self.0.as_bytes();
        !self.is_provisional()
            && NUMERIC_POSITIONS
                .iter()
                .any(|&i| bytes.get(i).is_some_and(u8::is_ascii_uppercase))
    }

    /// Sex, for ordinary codes.
    pub fn sex(&self) -> Option<Sex> {
        let (_, _, day) = self.encoded_date()?;
        Some(if day > 40 { Sex::F } else { Sex::M })
    }

    /// Birth date, for ordinary codes. The code holds only two digits of the year, so the century is
    /// chosen as the latest one that puts the birth on or before `reference` (the date of the application).
    pub fn birth_date(&self, reference: Date) -> Option<Date> {
        let (yy, month, day) = self.encoded_date()?;
        let day = if day > 40 { day - 40 } else { day };
        let ref_year = i32::from(reference.year());
        let mut year = ref_year - (ref_year.rem_euclid(100)) + i32::from(yy);
        if year > ref_year {
            year -= 100;
        }
        for candidate in [year, year - 100] {
            let y = i16::try_from(candidate).ok()?;
            if let Ok(date) = Date::new(y, month, day)
                && date <= reference
            {
                return Some(date);
            }
        }
        None
    }

    /// (two-digit year, month 1–12, day as encoded 1–31 or 41–71) of an ordinary code.
    fn encoded_date(&self) -> Option<(u8, i8, i8)> {
        if self.is_provisional() {
            return None;
        }
        let b = self.0.as_bytes();
        let yy = digit_value(*b.get(6)?)? * 10 + digit_value(*b.get(7)?)?;
        let month = MONTH_LETTERS.iter().position(|&m| Some(&m) == b.get(8))?;
        let day = digit_value(*b.get(9)?)? * 10 + digit_value(*b.get(10)?)?;
        Some((yy, i8::try_from(month + 1).ok()?, i8::try_from(day).ok()?))
    }
}

/// The numeric value of a digit or of an omocodia letter standing for a digit.
fn digit_value(c: u8) -> Option<u8> {
    if c.is_ascii_digit() {
        Some(c - b'0')
    } else {
        OMOCODIA_LETTERS
            .iter()
            .position(|&l| l == c)
            .and_then(|p| u8::try_from(p).ok())
    }
}

fn check_ordinary(b: &[u8]) -> Result<(), CodiceFiscaleError> {
    for (i, &c) in b.iter().enumerate() {
        let position = i + 1;
        let ok = match i {
            0..=5 | 8 | 11 | 15 => c.is_ascii_uppercase(),
            _ => c.is_ascii_digit() || OMOCODIA_LETTERS.contains(&c),
        };
        if !ok {
            let expected = match i {
                0..=5 | 8 | 11 | 15 => "a letter",
                _ => "a digit (or one of L M N P Q R S T U V)",
            };
            return Err(CodiceFiscaleError::Character { position, expected });
        }
    }
    let month = b.get(8).copied().unwrap_or_default();
    let month = MONTH_LETTERS
        .iter()
        .position(|&m| m == month)
        .ok_or(CodiceFiscaleError::Month)?
        + 1;
    let day_of = |i: usize| b.get(i).copied().and_then(digit_value);
    let day = match (day_of(9), day_of(10)) {
        (Some(t), Some(u)) => t * 10 + u,
        _ => return Err(CodiceFiscaleError::Day),
    };
    let day = match day {
        1..=31 => day,
        41..=71 => day - 40,
        _ => return Err(CodiceFiscaleError::Day),
    };
    // Without the century the year is unknown; a leap year is possible when the two digits are a
    // multiple of 4 (2000 was leap, and 1900 is outside any applicant's life).
    let yy = match (day_of(6), day_of(7)) {
        (Some(t), Some(u)) => u32::from(t) * 10 + u32::from(u),
        _ => return Err(CodiceFiscaleError::Day),
    };
    let max_day = match month {
        2 if yy % 4 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    };
    if day > max_day {
        return Err(CodiceFiscaleError::Day);
    }
    let (body, check) = b.split_at(15);
    if check.first().copied() != Some(check_character(body)) {
        return Err(CodiceFiscaleError::Check);
    }
    Ok(())
}

/// The check letter of the first fifteen characters of an ordinary code.
fn check_character(body: &[u8]) -> u8 {
    let sum: u32 = body
        .iter()
        .enumerate()
        .map(|(i, &c)| {
            let index = if c.is_ascii_digit() {
                c - b'0'
            } else {
                c.wrapping_sub(b'A')
            };
            let value = if i % 2 == 0 {
                ODD_VALUES.get(usize::from(index)).copied().unwrap_or(0)
            } else {
                index
            };
            u32::from(value)
        })
        .sum();
    // sum % 26 < 26, so the result is an upper-case letter.
    b'A' + u8::try_from(sum % 26).unwrap_or(0)
}

fn check_provisional(b: &[u8]) -> Result<(), CodiceFiscaleError> {
    if let Some(i) = b.iter().position(|c| !c.is_ascii_digit()) {
        return Err(CodiceFiscaleError::Character {
            position: i + 1,
            expected: "a digit",
        });
    }
    let (body, check) = b.split_at(10);
    if check.first().copied() != Some(b'0' + vat_check_digit(body)) {
        return Err(CodiceFiscaleError::Check);
    }
    Ok(())
}

/// The check digit of a VAT number (*partita IVA*), also used by provisional tax codes.
fn vat_check_digit(body: &[u8]) -> u8 {
    let sum: u32 = body
        .iter()
        .enumerate()
        .map(|(i, &c)| {
            let d = u32::from(c - b'0');
            if i % 2 == 0 {
                d
            } else if d * 2 > 9 {
                d * 2 - 9
            } else {
                d * 2
            }
        })
        .sum();
    u8::try_from((10 - sum % 10) % 10).unwrap_or(0)
}

impl AsRef<str> for CodiceFiscale {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CodiceFiscale {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Debug output masks the code so that a stray `{:?}` in a log line leaks nothing.
impl fmt::Debug for CodiceFiscale {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CodiceFiscale(***)")
    }
}

impl std::str::FromStr for CodiceFiscale {
    type Err = CodiceFiscaleError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl Serialize for CodiceFiscale {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for CodiceFiscale {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// Builds a valid ordinary code from its first fifteen characters; for tests and synthetic data.
pub fn with_check_character(body15: &str) -> Option<String> {
    let bytes = body15.as_bytes();
    if bytes.len() != 15 || !bytes.iter().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit()) {
        return None;
    }
    let mut s = body15.to_owned();
    s.push(char::from(check_character(bytes)));
    Some(s)
}

/// Builds a valid provisional code from its first ten digits; for tests and synthetic data.
pub fn provisional_with_check_digit(body10: &str) -> Option<String> {
    let bytes = body10.as_bytes();
    if bytes.len() != 10 || !bytes.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut s = body10.to_owned();
    s.push(char::from(b'0' + vat_check_digit(bytes)));
    Some(s)
}

#[cfg(test)]
#[expect(clippy::unwrap_used, clippy::indexing_slicing, reason = "tests")]
mod tests {
    use super::*;
    use proptest::prelude::*;

    // The usual textbook example: Mario Rossi, born in Rome (H501) on 1 January 1980.
    // Check letter by hand: odd positions R S R 8 A 1 5 1 → 8+12+8+19+1+0+13+0 = 61;
    // even positions S M A 0 0 H 0 → 18+12+0+0+0+7+0 = 37; 98 mod 26 = 20 → U.
    const MARIO_ROSSI: &str = "RSSMRA80A01H501U";

    #[test]
    fn accepts_a_known_code_and_derives_date_and_sex() {
        let cf = CodiceFiscale::parse(MARIO_ROSSI).unwrap();
        assert_eq!(cf.sex(), Some(Sex::M));
        let on = Date::new(2026, 11, 24).unwrap();
        assert_eq!(cf.birth_date(on), Some(Date::new(1980, 1, 1).unwrap()));
        assert!(!cf.is_omocodic());
    }

    #[test]
    fn normalises_case_and_spaces() {
        let cf = CodiceFiscale::parse(" rssmra 80a01 h501u ").unwrap();
        assert_eq!(cf.as_str(), MARIO_ROSSI);
    }

    #[test]
    fn rejects_wrong_check_character() {
        assert_eq!(
            CodiceFiscale::parse("RSSMRA80A01H501X"),
            Err(CodiceFiscaleError::Check)
        );
    }

    #[test]
    fn female_day_is_plus_forty() {
        let cf = CodiceFiscale::parse(&with_check_character("BNCLRA25D55F205").unwrap()).unwrap();
        assert_eq!(cf.sex(), Some(Sex::F));
        let on = Date::new(2026, 1, 1).unwrap();
        assert_eq!(cf.birth_date(on), Some(Date::new(2025, 4, 15).unwrap()));
    }

    #[test]
    fn omocodia_letters_stand_for_digits() {
        // 80 → 8 stays, 0 → L at position 8 (0-based 7); the check letter is recomputed.
        let code = with_check_character("RSSMRA8LA01H501").unwrap();
        let cf = CodiceFiscale::parse(&code).unwrap();
        assert!(cf.is_omocodic());
        let on = Date::new(2026, 1, 1).unwrap();
        assert_eq!(cf.birth_date(on), Some(Date::new(1980, 1, 1).unwrap()));
    }

    #[test]
    fn century_follows_the_reference_date() {
        let cf = CodiceFiscale::parse(&with_check_character("BNCLRA25D55F205").unwrap()).unwrap();
        // Before 15 April 2025 the same code must be someone born in 1925.
        let on = Date::new(2025, 4, 14).unwrap();
        assert_eq!(cf.birth_date(on), Some(Date::new(1925, 4, 15).unwrap()));
    }

    #[test]
    fn rejects_impossible_days() {
        // 31 April and 30 February do not exist.
        let code = with_check_character("RSSMRA80D31H501").unwrap();
        assert_eq!(CodiceFiscale::parse(&code), Err(CodiceFiscaleError::Day));
        let code = with_check_character("RSSMRA80B30H501").unwrap();
        assert_eq!(CodiceFiscale::parse(&code), Err(CodiceFiscaleError::Day));
        let code = with_check_character("RSSMRA80A35H501").unwrap();
        assert_eq!(CodiceFiscale::parse(&code), Err(CodiceFiscaleError::Day));
        // 29 February only in years that can be leap.
        let code = with_check_character("RSSMRA81B29H501").unwrap();
        assert_eq!(CodiceFiscale::parse(&code), Err(CodiceFiscaleError::Day));
        let code = with_check_character("RSSMRA80B29H501").unwrap();
        assert!(CodiceFiscale::parse(&code).is_ok());
    }

    #[test]
    fn rejects_bad_month_letter() {
        let code = with_check_character("RSSMRA80F01H501").unwrap();
        assert_eq!(CodiceFiscale::parse(&code), Err(CodiceFiscaleError::Month));
    }

    #[test]
    fn provisional_code_uses_vat_check_digit() {
        // Body 1234567890: odd-position digits 1+3+5+7+9 = 25; even-position digits doubled
        // 2→4, 4→8, 6→12-9=3, 8→16-9=7, 0→0 = 22; total 47; (10 - 7) mod 10 = 3.
        let cf = CodiceFiscale::parse("12345678903").unwrap();
        assert!(cf.is_provisional());
        assert_eq!(cf.sex(), None);
        assert_eq!(
            CodiceFiscale::parse("12345678904"),
            Err(CodiceFiscaleError::Check)
        );
    }

    #[test]
    fn errors_never_echo_the_code() {
        let err = CodiceFiscale::parse("RSSMRA80A01H501X").unwrap_err().to_string();
        assert!(!err.contains("RSSMRA"));
        assert_eq!(
            format!("{:?}", CodiceFiscale::parse(MARIO_ROSSI).unwrap()),
            "CodiceFiscale(***)"
        );
    }

    #[test]
    fn wrong_length_and_characters() {
        assert_eq!(CodiceFiscale::parse("ABC"), Err(CodiceFiscaleError::Length(3)));
        assert!(matches!(
            CodiceFiscale::parse("RSSMRA80A01H5é1U"),
            Err(CodiceFiscaleError::Character { position: 14, .. })
        ));
        assert!(matches!(
            CodiceFiscale::parse("1SSMRA80A01H501U"),
            Err(CodiceFiscaleError::Character { position: 1, .. })
        ));
    }

    fn valid_body() -> impl Strategy<Value = (String, u8, u8, u8, bool)> {
        (
            "[A-Z]{6}",
            0u8..100,
            1u8..=12,
            1u8..=28,
            any::<bool>(),
            "[A-Z][0-9]{3}",
        )
            .prop_map(|(names, yy, m, d, female, place)| {
                let month = char::from(MONTH_LETTERS[usize::from(m - 1)]);
                let day = if female { d + 40 } else { d };
                (format!("{names}{yy:02}{month}{day:02}{place}"), yy, m, d, female)
            })
    }

    proptest! {
        #[test]
        fn valid_codes_round_trip((body, yy, m, d, female) in valid_body()) {
            let code = with_check_character(&body).unwrap();
            let cf = CodiceFiscale::parse(&code).unwrap();
            prop_assert_eq!(cf.as_str(), code.as_str());
            prop_assert_eq!(cf.sex(), Some(if female { Sex::F } else { Sex::M }));
            let on = Date::new(2099, 12, 31).unwrap();
            let born = cf.birth_date(on).unwrap();
            prop_assert_eq!(
                (born.year(), born.month(), born.day()),
                (2000 + i16::from(yy), i8::try_from(m).unwrap(), i8::try_from(d).unwrap())
            );
        }

        #[test]
        fn omocodic_variants_keep_date_and_sex((body, _yy, _m, _d, _f) in valid_body(), mask in 1u8..128) {
            let plain = CodiceFiscale::parse(&with_check_character(&body).unwrap()).unwrap();
            let mut bytes = body.into_bytes();
            for (bit, &pos) in NUMERIC_POSITIONS.iter().enumerate() {
                if mask & (1 << bit) != 0 {
                    bytes[pos] = OMOCODIA_LETTERS[usize::from(bytes[pos] - b'0')];
                }
            }
            let omo = CodiceFiscale::parse(&with_check_character(&String::from_utf8(bytes).unwrap()).unwrap()).unwrap();
            prop_assert!(omo.is_omocodic());
            prop_assert_eq!(omo.sex(), plain.sex());
            let on = Date::new(2099, 12, 31).unwrap();
            prop_assert_eq!(omo.birth_date(on), plain.birth_date(on));
        }

        #[test]
        fn any_single_substitution_is_rejected((body, ..) in valid_body(), pos in 0usize..16, c in "[A-Z0-9]") {
            let code = with_check_character(&body).unwrap();
            let mut bytes = code.clone().into_bytes();
            let c = c.as_bytes()[0];
            prop_assume!(bytes[pos] != c);
            bytes[pos] = c;
            let mutated = String::from_utf8(bytes).unwrap();
            prop_assert!(CodiceFiscale::parse(&mutated).is_err());
        }

        #[test]
        fn provisional_codes_round_trip(body in "[0-9]{10}", wrong in 0u8..10) {
            let code = provisional_with_check_digit(&body).unwrap();
            prop_assert!(CodiceFiscale::parse(&code).is_ok());
            let right = code.as_bytes()[10] - b'0';
            prop_assume!(wrong != right);
            let bad = format!("{body}{wrong}");
            prop_assert_eq!(CodiceFiscale::parse(&bad), Err(CodiceFiscaleError::Check));
        }

        #[test]
        fn never_panics(s in "\\PC{0,40}") {
            let _ = CodiceFiscale::parse(&s);
        }
    }
}
