//! Errors as `application/problem+json` (RFC 9457): a stable `type` per kind of problem, a title and
//! a detail in Italian or English (by `Accept-Language`), and for invalid input the offending fields as
//! JSON pointers. Never a stack trace, an SQL message or a value the family typed.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, ResponseError};
use serde::Serialize;
use utoipa::ToSchema;

/// The language of a response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    /// Italian, the default.
    It,
    /// English.
    En,
}

impl Lang {
    /// From `Accept-Language`: English when it is preferred to Italian, Italian otherwise.
    pub fn of(req: &HttpRequest) -> Self {
        let Some(value) = req
            .headers()
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok())
        else {
            return Lang::It;
        };
        let mut best: Option<(Lang, u16)> = None;
        for part in value.split(',') {
            let mut fields = part.split(';');
            let tag = fields.next().unwrap_or_default().trim().to_ascii_lowercase();
            let quality = fields
                .find_map(|f| f.trim().strip_prefix("q="))
                .map_or(1000, parse_quality);
            let lang = match tag.split('-').next() {
                Some("it") => Lang::It,
                Some("en") => Lang::En,
                _ => continue,
            };
            if best.is_none_or(|(_, q)| quality > q) {
                best = Some((lang, quality));
            }
        }
        best.map_or(Lang::It, |(l, _)| l)
    }
}

/// A quality value as thousandths (`0.8` → 800), without floating point.
fn parse_quality(q: &str) -> u16 {
    let (int, frac) = q.split_once('.').unwrap_or((q, ""));
    let int: u16 = if int == "1" { 1000 } else { 0 };
    let frac: String = frac.chars().chain("000".chars()).take(3).collect();
    int.saturating_add(frac.parse().unwrap_or(0)).min(1000)
}

/// What went wrong, each with a stable `type` URI.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// No such resource (or not yours: we never say which).
    NotFound,
    /// The method is not allowed on this resource.
    MethodNotAllowed,
    /// The service or its database cannot answer now; retry later.
    Unavailable,
    /// A fault of ours.
    Internal,
    /// The body is not JSON of the expected shape, or a header or parameter is malformed.
    BadRequest,
    /// No valid credentials (missing, expired or revoked token, wrong password).
    Unauthenticated,
    /// Logged in, but this role cannot use this operation.
    Forbidden,
    /// The request is well formed but some fields are wrong: see `errors`.
    Invalid,
    /// The same `Idempotency-Key` came with a different request.
    IdempotencyMismatch,
    /// The request contradicts the state of things (a closed call, a withdrawn application…).
    Conflict,
    /// Too many requests from this client; retry after `Retry-After` seconds.
    TooManyRequests,
    /// The body is larger than the service accepts.
    PayloadTooLarge,
    /// The body is not `application/json`.
    UnsupportedMediaType,
}

impl Kind {
    fn parts(self) -> (StatusCode, &'static str, &'static str, &'static str) {
        match self {
            Kind::NotFound => (
                StatusCode::NOT_FOUND,
                "not-found",
                "Risorsa non trovata",
                "Not found",
            ),
            Kind::MethodNotAllowed => (
                StatusCode::METHOD_NOT_ALLOWED,
                "method-not-allowed",
                "Metodo non consentito",
                "Method not allowed",
            ),
            Kind::Unavailable => (
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "Servizio momentaneamente non disponibile",
                "Service temporarily unavailable",
            ),
            Kind::Internal => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "Errore interno",
                "Internal error",
            ),
            Kind::BadRequest => (
                StatusCode::BAD_REQUEST,
                "bad-request",
                "Richiesta non valida",
                "Bad request",
            ),
            Kind::Unauthenticated => (
                StatusCode::UNAUTHORIZED,
                "unauthenticated",
                "Accesso richiesto",
                "Authentication required",
            ),
            Kind::Forbidden => (
                StatusCode::FORBIDDEN,
                "forbidden",
                "Operazione non consentita",
                "Operation not allowed",
            ),
            Kind::Invalid => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid",
                "Dati non validi",
                "Invalid data",
            ),
            Kind::IdempotencyMismatch => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "idempotency-key-reused",
                "Chiave di idempotenza già usata",
                "Idempotency key already used",
            ),
            Kind::Conflict => (
                StatusCode::CONFLICT,
                "conflict",
                "Operazione non possibile",
                "Operation not possible",
            ),
            Kind::TooManyRequests => (
                StatusCode::TOO_MANY_REQUESTS,
                "too-many-requests",
                "Troppe richieste",
                "Too many requests",
            ),
            Kind::PayloadTooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload-too-large",
                "Richiesta troppo grande",
                "Request too large",
            ),
            Kind::UnsupportedMediaType => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported-media-type",
                "Formato non supportato",
                "Unsupported media type",
            ),
        }
    }

    /// The `type` URI, a URN that never changes (no web address is implied); each is documented in
    /// docs/api.md.
    pub fn type_uri(self) -> String {
        format!("urn:graduatorie:problem:{}", self.parts().1)
    }
}

/// One problem, ready to be sent (RFC 9457).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Problem {
    /// Stable URN naming the kind of problem (`urn:graduatorie:problem:invalid`…), listed in docs/api.md.
    #[serde(rename = "type")]
    type_uri: String,
    /// Short title in the response's language.
    title: &'static str,
    /// The HTTP status.
    status: u16,
    /// What happened and what to do, in the response's language.
    detail: String,
    /// The offending fields, for [`Kind::Invalid`].
    #[serde(skip_serializing_if = "Vec::is_empty")]
    errors: Vec<FieldError>,
    #[serde(skip)]
    retry_after: Option<u32>,
    #[serde(skip)]
    www_authenticate: bool,
    #[serde(skip)]
    allow: Option<&'static str>,
}

/// One offending field: where (a JSON pointer into the request body) and why, never its value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct FieldError {
    /// JSON pointer, e.g. `/inputs/isee`.
    pub pointer: String,
    /// What is wrong, in the response's language.
    pub reason: String,
}

impl FieldError {
    /// A field's problem, with its reason in the request's language.
    pub fn new(lang: Lang, pointer: impl Into<String>, it: impl Into<String>, en: impl Into<String>) -> Self {
        Self {
            pointer: pointer.into(),
            reason: match lang {
                Lang::It => it.into(),
                Lang::En => en.into(),
            },
        }
    }

    /// A codice fiscale's problem.
    pub fn codice_fiscale(
        lang: Lang,
        pointer: impl Into<String>,
        e: &graduatorie_domain::CodiceFiscaleError,
    ) -> Self {
        Self::new(lang, pointer, e.italian(), e.to_string())
    }
}

impl Problem {
    /// A problem with a detail in the request's language.
    pub fn new(kind: Kind, lang: Lang, detail_it: &str, detail_en: &str) -> Self {
        let (status, _, title_it, title_en) = kind.parts();
        let (title, detail) = match lang {
            Lang::It => (title_it, detail_it),
            Lang::En => (title_en, detail_en),
        };
        Self {
            type_uri: kind.type_uri(),
            title,
            status: status.as_u16(),
            detail: detail.to_owned(),
            errors: Vec::new(),
            retry_after: None,
            www_authenticate: kind == Kind::Unauthenticated,
            allow: None,
        }
    }

    /// 422 with the offending fields.
    pub fn invalid(lang: Lang, errors: Vec<FieldError>) -> Self {
        let mut p = Self::new(
            Kind::Invalid,
            lang,
            "Alcuni campi non sono validi: vedere `errors`.",
            "Some fields are not valid: see `errors`.",
        );
        p.errors = errors;
        p
    }

    /// 422 for one offending field, its reason in Italian and English.
    pub fn invalid_field(lang: Lang, pointer: impl Into<String>, it: &str, en: &str) -> Self {
        Self::invalid(lang, vec![FieldError::new(lang, pointer, it, en)])
    }

    /// 422 for one field holding a wrong codice fiscale.
    pub fn invalid_cf(lang: Lang, pointer: &str, e: &graduatorie_domain::CodiceFiscaleError) -> Self {
        Self::invalid(lang, vec![FieldError::codice_fiscale(lang, pointer, e)])
    }

    /// Adds `Allow` (the methods the address takes), for 405.
    pub fn allow(mut self, methods: &'static str) -> Self {
        self.allow = Some(methods);
        self
    }

    /// Adds `Retry-After` (seconds).
    pub fn retry_after(mut self, seconds: u32) -> Self {
        self.retry_after = Some(seconds);
        self
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.status, self.title)
    }
}

impl ResponseError for Problem {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status_code());
        response
            .insert_header((header::CONTENT_TYPE, "application/problem+json"))
            .insert_header((header::CACHE_CONTROL, HeaderValue::from_static("no-store")));
        if let Some(seconds) = self.retry_after {
            response.insert_header((header::RETRY_AFTER, seconds.to_string()));
        }
        if let Some(methods) = self.allow {
            response.insert_header((header::ALLOW, methods));
        }
        if self.www_authenticate {
            response.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
        }
        response.json(self)
    }
}

impl actix_web::Responder for Problem {
    type Body = actix_web::body::BoxBody;

    fn respond_to(self, _req: &HttpRequest) -> HttpResponse {
        self.error_response()
    }
}

/// 405 for a method an address does not take, with the methods it does.
pub fn method_not_allowed(req: &HttpRequest, allow: &'static str) -> Problem {
    Problem::new(
        Kind::MethodNotAllowed,
        Lang::of(req),
        &format!("Metodo non consentito a questo indirizzo; consentiti: {allow}."),
        &format!("Method not allowed at this address; allowed: {allow}."),
    )
    .allow(allow)
}

/// The answer for any path or method no route takes.
pub async fn not_found(req: HttpRequest) -> Problem {
    Problem::new(
        Kind::NotFound,
        Lang::of(&req),
        "Nessuna risorsa a questo indirizzo.",
        "There is nothing at this address.",
    )
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    fn lang(header: &str) -> Lang {
        Lang::of(
            &TestRequest::default()
                .insert_header((header::ACCEPT_LANGUAGE, header))
                .to_http_request(),
        )
    }

    #[test]
    fn accept_language_picks_the_preferred_of_italian_and_english() {
        assert_eq!(Lang::of(&TestRequest::default().to_http_request()), Lang::It);
        assert_eq!(lang("en"), Lang::En);
        assert_eq!(lang("en-GB,en;q=0.9"), Lang::En);
        assert_eq!(lang("it-IT,it;q=0.9,en;q=0.8"), Lang::It);
        assert_eq!(lang("de,en;q=0.5,it;q=0.7"), Lang::It);
        assert_eq!(lang("de,it;q=0.5,en;q=0.7"), Lang::En);
        assert_eq!(lang("fr"), Lang::It);
        assert_eq!(lang(";;;,q=,en;q=abc"), Lang::En);
    }

    #[test]
    fn qualities_are_read_without_floats() {
        assert_eq!(parse_quality("1"), 1000);
        assert_eq!(parse_quality("0.8"), 800);
        assert_eq!(parse_quality("0.125"), 125);
        assert_eq!(parse_quality("0.1259"), 125);
        assert_eq!(parse_quality("x"), 0);
    }

    #[test]
    fn a_problem_is_problem_json_without_caching() {
        let p = Problem::new(Kind::Unavailable, Lang::En, "it", "en").retry_after(5);
        let r = p.error_response();
        assert_eq!(r.status(), 503);
        assert_eq!(
            r.headers().get(header::CONTENT_TYPE).unwrap(),
            "application/problem+json"
        );
        assert_eq!(r.headers().get(header::RETRY_AFTER).unwrap(), "5");
        assert_eq!(r.headers().get(header::CACHE_CONTROL).unwrap(), "no-store");
    }
}
