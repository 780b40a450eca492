//! Why an answer of an application is refused, as data: the engine's own message is English (CLI,
//! CSV files, logs of the offline tools), and the service shows families the same reason in Italian
//! (or English), so every case is written out once in each language here. No reason repeats the
//! value that was typed.

/// Why an answer is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InputReason {
    /// A required answer is missing.
    Required,
    /// Answered although the question's condition does not hold.
    NotAsked,
    /// A record's field answered although its condition does not hold.
    NotAskedInRecord,
    /// The regulation does not ask this.
    Unknown,
    /// A list item is not an object.
    NotARecord,
    /// A list answer is not a list.
    NotAList,
    /// The number of records is outside the regulation's bounds.
    Records {
        /// Fewest.
        min: u32,
        /// Most.
        max: u32,
    },
    /// Not yes or no.
    NotBool,
    /// Not a whole number.
    NotWholeNumber,
    /// Not a number.
    NotNumber,
    /// Not an amount of money, and why.
    Money(graduatorie_domain::MoneyError),
    /// Not a date.
    NotDate,
    /// Outside the allowed range (bounds as written in the regulation).
    OutOfRange {
        /// Lower bound.
        min: Option<String>,
        /// Upper bound.
        max: Option<String>,
    },
    /// Not one of the options (their values).
    NotAnOption(Vec<String>),
    /// Not a facility code.
    NotAFacilityCode,
    /// A facility code that is not one of the call's.
    UnknownFacility,
    /// Not a list of facility codes.
    NotFacilityList,
    /// More facilities than allowed.
    TooManyFacilities(u32),
    /// The n-th facility (from 1) is not one of the call's.
    UnknownFacilityAt(usize),
    /// The n-th facility (from 1) is listed twice.
    FacilityTwice(usize),
    /// A protocol number that is not one.
    NotAProtocol,
    /// A submission time that is not one.
    NotATime,
}

impl InputReason {
    /// In English (the engine's messages).
    pub fn en(&self) -> String {
        match self {
            Self::Required => "required".into(),
            Self::NotAsked => "not asked for this application (its condition does not hold)".into(),
            Self::NotAskedInRecord => "not asked for this record (its condition does not hold)".into(),
            Self::Unknown => "this regulation does not ask for it".into(),
            Self::NotARecord => "must be an object with the fields of the record".into(),
            Self::NotAList => "must be a list of records".into(),
            Self::Records { min, max } if min == max => format!("must have exactly {min} records"),
            Self::Records { min, max } => format!("must have from {min} to {max} records"),
            Self::NotBool => "must be true or false (sì/no)".into(),
            Self::NotWholeNumber => "must be a whole number".into(),
            Self::NotNumber => "must be a number such as 12.5".into(),
            Self::Money(e) => e.to_string(),
            Self::NotDate => "must be a date written as YYYY-MM-DD".into(),
            Self::OutOfRange { min, max } => match (min, max) {
                (Some(a), Some(b)) => format!("must be between {a} and {b}"),
                (Some(a), None) => format!("must be at least {a}"),
                (None, Some(b)) => format!("must be at most {b}"),
                (None, None) => "out of range".into(),
            },
            Self::NotAnOption(options) => format!("must be one of: {}", options.join(", ")),
            Self::NotAFacilityCode => "must be a facility code".into(),
            Self::UnknownFacility => "is not a facility of this call".into(),
            Self::NotFacilityList => "must be a list of facility codes".into(),
            Self::TooManyFacilities(n) => format!("at most {n} facilities"),
            Self::UnknownFacilityAt(i) => format!("facility number {i} is not a facility of this call"),
            Self::FacilityTwice(i) => format!("facility number {i} is listed twice"),
            Self::NotAProtocol => "must be a protocol number such as 2026/000123".into(),
            Self::NotATime => "must be a date and time such as 2026-03-01T10:00:00+01:00".into(),
        }
    }

    /// In Italian (what families read).
    pub fn it(&self) -> String {
        match self {
            Self::Required => "obbligatorio".into(),
            Self::NotAsked => {
                "non richiesto per questa domanda (la condizione della domanda non è soddisfatta)".into()
            }
            Self::NotAskedInRecord => {
                "non richiesto per questa voce (la condizione della domanda non è soddisfatta)".into()
            }
            Self::Unknown => "il regolamento non lo chiede".into(),
            Self::NotARecord => "deve essere un oggetto con i campi della voce".into(),
            Self::NotAList => "deve essere un elenco di voci".into(),
            Self::Records { min, max } if min == max => format!("servono esattamente {min} voci"),
            Self::Records { min, max } => format!("servono da {min} a {max} voci"),
            Self::NotBool => "deve essere sì o no (true o false)".into(),
            Self::NotWholeNumber => "deve essere un numero intero".into(),
            Self::NotNumber => "deve essere un numero, ad es. 12,5".into(),
            Self::Money(e) => {
                use graduatorie_domain::MoneyError as M;
                match e {
                    M::Empty => "l'importo è vuoto",
                    M::Syntax => {
                        "l'importo va scritto con cifre e al più un separatore decimale, ad es. 12500,50"
                    }
                    M::TooPrecise => "l'importo ha più di due decimali",
                    M::Negative => "l'importo non può essere negativo",
                    M::TooLarge => "l'importo è troppo grande",
                }
                .into()
            }
            Self::NotDate => "deve essere una data nel formato AAAA-MM-GG".into(),
            Self::OutOfRange { min, max } => match (min, max) {
                (Some(a), Some(b)) => format!("deve essere compreso tra {a} e {b}"),
                (Some(a), None) => format!("deve essere almeno {a}"),
                (None, Some(b)) => format!("deve essere al massimo {b}"),
                (None, None) => "fuori dai limiti ammessi".into(),
            },
            Self::NotAnOption(options) => format!("deve essere uno tra: {}", options.join(", ")),
            Self::NotAFacilityCode => "deve essere il codice di una struttura".into(),
            Self::UnknownFacility => "non è una struttura di questo bando".into(),
            Self::NotFacilityList => "deve essere un elenco di codici di strutture".into(),
            Self::TooManyFacilities(n) => format!("al massimo {n} strutture"),
            Self::UnknownFacilityAt(i) => format!("la struttura n. {i} non è di questo bando"),
            Self::FacilityTwice(i) => format!("la struttura n. {i} è indicata due volte"),
            Self::NotAProtocol => "deve essere un numero di protocollo, ad es. 2026/000123".into(),
            Self::NotATime => "deve essere una data e ora, ad es. 2026-03-01T10:00:00+01:00".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reason_reads_in_both_languages_without_the_typed_value() {
        let all = [
            InputReason::Required,
            InputReason::NotAsked,
            InputReason::NotAskedInRecord,
            InputReason::Unknown,
            InputReason::NotARecord,
            InputReason::NotAList,
            InputReason::Records { min: 1, max: 2 },
            InputReason::Records { min: 2, max: 2 },
            InputReason::NotBool,
            InputReason::NotWholeNumber,
            InputReason::NotNumber,
            InputReason::Money(graduatorie_domain::MoneyError::Syntax),
            InputReason::Money(graduatorie_domain::MoneyError::TooPrecise),
            InputReason::NotDate,
            InputReason::OutOfRange {
                min: Some("0".into()),
                max: Some("12".into()),
            },
            InputReason::OutOfRange { min: None, max: None },
            InputReason::NotAnOption(vec!["no".into(), "separated".into()]),
            InputReason::NotAFacilityCode,
            InputReason::UnknownFacility,
            InputReason::NotFacilityList,
            InputReason::TooManyFacilities(3),
            InputReason::UnknownFacilityAt(2),
            InputReason::FacilityTwice(2),
            InputReason::NotAProtocol,
            InputReason::NotATime,
        ];
        for r in &all {
            assert!(!r.en().is_empty() && !r.it().is_empty(), "{r:?}");
            assert_ne!(r.en(), r.it(), "{r:?} is translated");
        }
        assert_eq!(
            InputReason::Records { min: 1, max: 2 }.it(),
            "servono da 1 a 2 voci"
        );
        assert_eq!(
            InputReason::OutOfRange {
                min: Some("0".into()),
                max: Some("12".into())
            }
            .it(),
            "deve essere compreso tra 0 e 12"
        );
    }
}
