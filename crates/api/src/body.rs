//! Request bodies: JSON only, of bounded size, parsed into a typed struct and checked with `validator`
//! before any work. Errors name the place (line and column, or the field as a JSON pointer) and never
//! repeat what was typed.

use actix_web::HttpRequest;
use actix_web::http::header;
use serde::de::DeserializeOwned;
use validator::{Validate, ValidationErrors, ValidationErrorsKind};

use crate::problem::{FieldError, Kind, Lang, Problem};

/// The largest body accepted (an application with many list rows is a few kilobytes).
pub const MAX_BODY: usize = 256 * 1024;

/// Parses and validates a JSON body.
pub fn parse<T: DeserializeOwned + Validate>(req: &HttpRequest, bytes: &[u8]) -> Result<T, Problem> {
    let lang = Lang::of(req);
    let json = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"));
    if !json {
        return Err(Problem::new(
            Kind::UnsupportedMediaType,
            lang,
            "Il corpo della richiesta deve essere JSON (`Content-Type: application/json`).",
            "The request body must be JSON (`Content-Type: application/json`).",
        ));
    }
    // Every body is an object. serde would also read a struct from an array of its fields in order
    // (and `[]` as one whose fields are all optional), which the documented schema does not allow.
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[') {
        return Err(Problem::new(
            Kind::BadRequest,
            lang,
            "Il corpo deve essere un oggetto JSON (`{…}`), non un elenco.",
            "The body must be a JSON object (`{…}`), not an array.",
        ));
    }
    let value: T = serde_json::from_slice(bytes).map_err(|e| json_problem(lang, &e))?;
    value
        .validate()
        .map_err(|e| Problem::invalid(lang, field_errors(&e, lang)))?;
    Ok(value)
}

fn json_problem(lang: Lang, e: &serde_json::Error) -> Problem {
    use serde_json::error::Category;
    let (line, column) = (e.line(), e.column());
    let message = e.to_string();
    // serde names missing and unknown fields (names are ours); other messages may quote the value.
    let about_a_field = message.starts_with("missing field") || message.starts_with("unknown field");
    let what = message.split(" at line").next().unwrap_or_default();
    let (it, en) = match e.classify() {
        Category::Syntax | Category::Eof | Category::Io => (
            format!("Il corpo non è JSON valido (riga {line}, colonna {column})."),
            format!("The body is not valid JSON (line {line}, column {column})."),
        ),
        Category::Data if about_a_field => (
            format!("Il corpo non ha la forma attesa (riga {line}, colonna {column}): {what}."),
            format!("The body does not have the expected shape (line {line}, column {column}): {what}."),
        ),
        Category::Data => (
            format!("Un valore ha un tipo sbagliato (riga {line}, colonna {column}): vedere docs/api.md."),
            format!("A value has the wrong type (line {line}, column {column}): see docs/api.md."),
        ),
    };
    Problem::new(Kind::BadRequest, lang, &it, &en)
}

/// `validator`'s errors as JSON pointers with reasons in `lang`, written from the rule that failed
/// (its code and bounds), never from the value.
pub fn field_errors(errors: &ValidationErrors, lang: Lang) -> Vec<FieldError> {
    let mut out = Vec::new();
    collect(errors, "", lang, &mut out);
    out.sort_by(|a, b| a.pointer.cmp(&b.pointer));
    out
}

/// The reason of one failed rule, in Italian and English.
fn reason(e: &validator::ValidationError) -> (String, String) {
    let bound = |name: &str| e.params.get(name).and_then(serde_json::Value::as_u64);
    match e.code.as_ref() {
        "email" => (
            "non è un indirizzo e-mail valido".into(),
            "not a valid e-mail address".into(),
        ),
        "length" => {
            // A list counts its items, a text its characters.
            let items = e.params.get("value").is_some_and(serde_json::Value::is_array);
            let (it, en) = if items {
                ("elementi", "items")
            } else {
                ("caratteri", "characters")
            };
            match (bound("min"), bound("max")) {
                (Some(a), Some(b)) => (format!("da {a} a {b} {it}"), format!("{a} to {b} {en}")),
                (Some(a), None) => (format!("almeno {a} {it}"), format!("at least {a} {en}")),
                (None, Some(b)) => (format!("al massimo {b} {it}"), format!("at most {b} {en}")),
                (None, None) => ("lunghezza non ammessa".into(), "length not allowed".into()),
            }
        }
        code => (format!("non valido ({code})"), format!("not valid ({code})")),
    }
}

fn collect(errors: &ValidationErrors, prefix: &str, lang: Lang, out: &mut Vec<FieldError>) {
    for (field, kind) in errors.errors() {
        let pointer = format!("{prefix}/{field}");
        match kind {
            ValidationErrorsKind::Field(list) => {
                for e in list {
                    let (it, en) = reason(e);
                    out.push(FieldError::new(lang, pointer.clone(), it, en));
                }
            }
            ValidationErrorsKind::Struct(inner) => collect(inner, &pointer, lang, out),
            ValidationErrorsKind::List(items) => {
                for (i, inner) in items {
                    collect(inner, &format!("{pointer}/{i}"), lang, out);
                }
            }
        }
    }
}

/// Reads a whole number as JSON Schema counts one: `7`, and also `7.0` or `7e0` (a number whose
/// fraction is zero), which some clients send for integers. Anything else is the usual type error.
pub fn whole_number<'de, D: serde::Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    use serde::Deserialize as _;
    use serde::de::Error as _;
    let n = serde_json::Number::deserialize(d)?;
    if let Some(i) = n.as_i64() {
        return Ok(i);
    }
    let text = n.to_string();
    let exact = if text.contains(['e', 'E']) {
        rust_decimal::Decimal::from_scientific(&text).ok()
    } else {
        text.parse::<rust_decimal::Decimal>().ok()
    };
    exact
        .filter(|d| d.fract().is_zero())
        .and_then(|d| rust_decimal::prelude::ToPrimitive::to_i64(&d))
        .ok_or_else(|| D::Error::custom("expected a whole number"))
}

/// [`whole_number`] for an optional field (absent or `null` is `None`).
pub fn optional_whole_number<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    #[derive(serde::Deserialize)]
    struct Whole(#[serde(deserialize_with = "whole_number")] i64);
    use serde::Deserialize as _;
    Ok(Option::<Whole>::deserialize(d)?.map(|w| w.0))
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "tests")]
mod tests {
    #[derive(Debug, serde::Deserialize)]
    struct Body {
        #[serde(default, deserialize_with = "super::optional_whole_number")]
        n: Option<i64>,
    }

    fn n(json: &str) -> Result<Option<i64>, String> {
        serde_json::from_str::<Body>(json)
            .map(|b| b.n)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn whole_numbers_may_be_written_with_a_zero_fraction() {
        assert_eq!(n(r#"{"n": 7}"#).unwrap(), Some(7));
        assert_eq!(n(r#"{"n": 7.0}"#).unwrap(), Some(7));
        assert_eq!(n(r#"{"n": -11060.0}"#).unwrap(), Some(-11060));
        assert_eq!(n(r#"{"n": 1e3}"#).unwrap(), Some(1000));
        assert_eq!(n(r#"{"n": null}"#).unwrap(), None);
        assert_eq!(n("{}").unwrap(), None);
        for bad in [
            r#"{"n": 7.5}"#,
            r#"{"n": "7"}"#,
            r#"{"n": 1e40}"#,
            r#"{"n": true}"#,
        ] {
            assert!(n(bad).is_err(), "{bad}");
        }
    }
}
