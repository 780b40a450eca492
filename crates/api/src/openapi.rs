//! The OpenAPI 3 document of `/api/v1`, generated from the handlers' annotations and the request and
//! response types (utoipa), served at `/api/v1/openapi.json` and browsable at `/api/v1/docs/` with the
//! Swagger UI files embedded in the binary. A snapshot test (`tests/openapi.rs`) shows every change of
//! the contract as a diff.

use std::collections::BTreeMap;

use utoipa::openapi::response::{Response, ResponseBuilder};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, RefOr};
use utoipa::{IntoResponses, Modify, OpenApi};

use crate::auth::routes as auth;
use crate::families::{applications, body, calls, drafts, outcomes};
use crate::problem::{FieldError, Problem};
use crate::status;

/// Problem answers an operation can give, as one `responses(...)` entry.
macro_rules! problems {
    ($(#[$doc:meta])* $name:ident: $($status:literal => $description:expr),+ $(,)?) => {
        $(#[$doc])*
        pub struct $name;
        impl IntoResponses for $name {
            fn responses() -> BTreeMap<String, RefOr<Response>> {
                [$(($status, $description)),+]
                    .into_iter()
                    .map(|(status, description): (&str, &str)| (status.to_owned(), problem(description)))
                    .collect()
            }
        }
    };
}

fn problem(description: &str) -> RefOr<Response> {
    let content = ContentBuilder::new()
        .schema(Some(Ref::from_schema_name("Problem")))
        .build();
    ResponseBuilder::new()
        .description(description)
        .content("application/problem+json", content)
        .build()
        .into()
}

const MALFORMED: &str = "Malformed JSON body, header or parameter";
const UNAUTHENTICATED: &str = "No valid session or token (`WWW-Authenticate: Bearer`)";
const NOT_FOUND: &str = "No such thing, or not the caller's (never 403 for someone else's data)";
const CONFLICT: &str = "Not possible in the current state (call closed, application withdrawn…)";
const INVALID: &str = "Invalid fields, listed in `errors` as JSON pointers with the reason";
const FORBIDDEN: &str = "The caller's role cannot use this operation";
const TOO_LARGE: &str = "Body over 256 KiB";
const UNSUPPORTED: &str = "Body not `application/json`";
const LIMITED: &str = "Too many requests from this client: retry after `Retry-After` seconds";
const UNAVAILABLE: &str =
    "Database unreachable or saturated: nothing was saved, retry after `Retry-After` seconds";

problems!(
    /// A public read.
    PublicRead: "429" => LIMITED, "503" => UNAVAILABLE
);
problems!(
    /// A public read of one thing.
    PublicGet: "404" => NOT_FOUND, "429" => LIMITED, "503" => UNAVAILABLE
);
problems!(
    /// A read needing a login.
    AuthRead: "401" => UNAUTHENTICATED, "429" => LIMITED, "503" => UNAVAILABLE
);
problems!(
    /// A read of one thing needing a login.
    AuthGet: "401" => UNAUTHENTICATED, "404" => NOT_FOUND, "429" => LIMITED, "503" => UNAVAILABLE
);
problems!(
    /// A family-only read.
    FamilyRead: "401" => UNAUTHENTICATED, "403" => FORBIDDEN, "429" => LIMITED, "503" => UNAVAILABLE
);
problems!(
    /// An action without a body on one thing.
    Act: "401" => UNAUTHENTICATED, "404" => NOT_FOUND, "409" => CONFLICT, "429" => LIMITED,
    "503" => UNAVAILABLE
);
problems!(
    /// A write with a JSON body.
    Write: "400" => MALFORMED, "401" => UNAUTHENTICATED, "404" => NOT_FOUND, "409" => CONFLICT,
    "413" => TOO_LARGE, "415" => UNSUPPORTED, "422" => INVALID, "429" => LIMITED, "503" => UNAVAILABLE
);
problems!(
    /// The front desk's search.
    Desk: "400" => MALFORMED, "401" => UNAUTHENTICATED, "403" => FORBIDDEN, "422" => INVALID,
    "429" => LIMITED, "503" => UNAVAILABLE
);
problems!(
    /// A login.
    Login: "400" => MALFORMED, "401" => UNAUTHENTICATED, "413" => TOO_LARGE, "415" => UNSUPPORTED,
    "422" => INVALID, "429" => LIMITED, "503" => UNAVAILABLE
);
problems!(
    /// The development login.
    DevLogin: "400" => MALFORMED, "404" => "Development login is off", "413" => TOO_LARGE,
    "415" => UNSUPPORTED, "422" => INVALID, "429" => LIMITED, "503" => UNAVAILABLE
);

/// The document.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "graduatorie",
        description = "Online enrolment to municipal services and their admission rankings. Errors are `application/problem+json` (RFC 9457) in Italian, or English by `Accept-Language`. Personal responses carry `Cache-Control: no-store`. See docs/api.md.",
        license(name = "EUPL-1.2", identifier = "EUPL-1.2")
    ),
    paths(
        status::status,
        auth::login, auth::dev_login, auth::logout, auth::me,
        calls::list, calls::form,
        applications::submit, applications::mine, applications::get, applications::amend,
        applications::withdraw, applications::desk_search,
        drafts::create, drafts::list, drafts::get, drafts::update, drafts::delete, drafts::submit,
        outcomes::results, outcomes::offers_of, outcomes::answer, outcomes::object,
        outcomes::objections_of,
    ),
    components(schemas(Problem, FieldError, body::ApplicationBody)),
    modifiers(&Bearer),
    tags(
        (name = "service", description = "Health"),
        (name = "auth", description = "Logins and sessions"),
        (name = "calls", description = "Open calls and their forms (public)"),
        (name = "applications", description = "Submitting, reading, amending and withdrawing applications"),
        (name = "drafts", description = "Applications in progress"),
        (name = "outcomes", description = "Scores, positions, offers and objections once a ranking is published"),
        (name = "front desk", description = "Operators acting for families of their municipality"),
    )
)]
pub struct ApiDoc;

/// Declares the `bearer` security scheme the operations name.
struct Bearer;

impl Modify for Bearer {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "A session token from `POST /api/v1/auth/login` (staff) or `/auth/dev-login` (development), or a JWT from the configured OpenID Connect issuer (families)",
                    ))
                    .build(),
            ),
        );
    }
}

/// The example of an application: a complete one for the demo's nursery call (call 1, in `make run`),
/// the same file the README submits.
pub fn application_example() -> serde_json::Value {
    serde_json::from_str(include_str!("../../../docs/examples/application.json")).unwrap_or_default()
}

/// The document as JSON, as served.
pub fn document() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}
