//! The body of a submission, an amendment or a draft, and its check against the call's regulation.

use std::collections::HashSet;

use graduatorie_domain::FacilityCode;
use graduatorie_rules::model::Regulation;
use graduatorie_rules::{ApplicationJson, FacilityTable};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;

use crate::problem::{FieldError, Lang};

/// An application as a family sends it: the answers the form asks for, the facilities in order of
/// preference, and where to send the receipt. See `GET /api/v1/calls/{id}/form`.
#[derive(Debug, Clone, Default, Deserialize, Serialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApplicationBody {
    /// Answers by the form's field names.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub inputs: serde_json::Map<String, serde_json::Value>,
    /// Facility codes, most wanted first.
    #[serde(default)]
    #[validate(length(max = 100))]
    #[schema(max_items = 100)]
    pub preferences: Vec<String>,
    /// The same key on siblings' applications (twins placed together where the rules say so).
    #[serde(default)]
    #[validate(length(min = 1, max = 64))]
    #[schema(min_length = 1, max_length = 64)]
    pub family: Option<String>,
    /// Where the receipt is sent.
    #[serde(default)]
    #[validate(email, length(max = 254))]
    #[schema(format = Email, max_length = 254)]
    pub contact_email: Option<String>,
    /// For a union's call: the family's municipality (an id from the form's `municipalities`).
    #[serde(default, deserialize_with = "crate::body::optional_whole_number")]
    pub municipality: Option<i64>,
    /// Front desk only: the applicant's codice fiscale.
    #[serde(default)]
    #[validate(length(min = 11, max = 16))]
    #[schema(pattern = "^([A-Za-z0-9]{16}|[0-9]{11})$", example = "RSSMRA80A01H501U")]
    pub codice_fiscale: Option<String>,
}

/// An amendment: the answers, preferences and contact of a new version. The applicant and the
/// municipality do not change (withdraw and apply again instead).
#[derive(Debug, Clone, Default, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AmendmentBody {
    /// Answers by the form's field names.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub inputs: serde_json::Map<String, serde_json::Value>,
    /// Facility codes, most wanted first.
    #[serde(default)]
    #[validate(length(max = 100))]
    #[schema(max_items = 100)]
    pub preferences: Vec<String>,
    /// The same key on siblings' applications.
    #[serde(default)]
    #[validate(length(min = 1, max = 64))]
    #[schema(min_length = 1, max_length = 64)]
    pub family: Option<String>,
    /// Where this version's receipt is sent (and later ones); absent keeps the address on record.
    #[serde(default)]
    #[validate(email, length(max = 254))]
    #[schema(format = Email, max_length = 254)]
    pub contact_email: Option<String>,
}

impl From<AmendmentBody> for ApplicationBody {
    fn from(a: AmendmentBody) -> Self {
        Self {
            inputs: a.inputs,
            preferences: a.preferences,
            family: a.family,
            contact_email: a.contact_email,
            municipality: None,
            codice_fiscale: None,
        }
    }
}

impl ApplicationBody {
    /// The parts that make up the application itself (the body without who and where), for
    /// idempotency and receipts.
    pub fn content(&self) -> serde_json::Value {
        serde_json::json!({
            "inputs": self.inputs,
            "preferences": self.preferences,
            "family": self.family,
            "contact_email": self.contact_email,
            "municipality": self.municipality,
            "codice_fiscale": self.codice_fiscale,
        })
    }
}

/// Checks the answers and preferences against the regulation and the call's facilities; returns the
/// preferences as codes, or every problem with its JSON pointer and the reason in `lang`.
pub fn check(
    regulation: &Regulation,
    facilities: &[String],
    b: &ApplicationBody,
    lang: Lang,
) -> Result<Vec<FacilityCode>, Vec<FieldError>> {
    let mut errors = Vec::new();
    let mut codes = Vec::new();
    let mut seen = HashSet::new();
    for (i, p) in b.preferences.iter().enumerate() {
        let refuse = |it: &str, en: &str| FieldError::new(lang, format!("/preferences/{i}"), it, en);
        match FacilityCode::parse(p) {
            Ok(code) if !facilities.iter().any(|f| f == code.as_str()) => errors.push(refuse(
                "struttura non prevista da questo bando",
                "not a facility of this call",
            )),
            Ok(code) if !seen.insert(code.as_str().to_owned()) => {
                errors.push(refuse("struttura indicata due volte", "facility listed twice"));
            }
            Ok(code) => codes.push(code),
            Err(_) => errors.push(refuse(
                "codice di struttura non valido",
                "not a valid facility code",
            )),
        }
    }
    let app = ApplicationJson {
        protocol: None,
        submitted_at: None,
        preferences: b.preferences.clone(),
        family: b.family.clone(),
        inputs: b.inputs.clone(),
    };
    let mut table = FacilityTable::closed(facilities.iter().cloned());
    if let Err(e) = regulation.facts(&app, &mut table) {
        for problem in e.errors {
            // Preference problems were reported above, with their position.
            if problem.pointer == "/preferences" && !errors.is_empty() {
                continue;
            }
            errors.push(FieldError::new(
                lang,
                problem.pointer,
                problem.reason.it(),
                problem.message,
            ));
        }
    }
    if errors.is_empty() {
        Ok(codes)
    } else {
        errors.sort_by(|a, b| a.pointer.cmp(&b.pointer));
        Err(errors)
    }
}
