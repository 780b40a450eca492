//! `POST /api/v1/auth/login` (staff), `POST /api/v1/auth/dev-login` (families, development only),
//! `POST /api/v1/auth/logout`, `GET /api/v1/me`.

use actix_web::{HttpMessage, HttpRequest, HttpResponse, web};
use graduatorie_domain::CodiceFiscale;
use graduatorie_store::orgs;
use graduatorie_store::sessions::{self, SessionOwner};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;

use super::{Principal, bearer, open_session, passwords, token_hash};
use crate::problem::{Kind, Lang, Problem};
use crate::{AppState, blocking, body};

/// Staff login.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginBody {
    /// Login name.
    #[validate(length(min = 1, max = 200))]
    #[schema(min_length = 1, max_length = 200)]
    pub login: String,
    /// Password.
    #[validate(length(min = 1, max = 1024))]
    #[schema(min_length = 1, max_length = 1024, format = Password)]
    pub password: String,
}

/// Development login.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DevLoginBody {
    /// The codice fiscale to log in as.
    #[validate(length(min = 1, max = 32))]
    #[schema(pattern = "^([A-Za-z0-9]{16}|[0-9]{11})$", example = "RSSMRA80A01H501U")]
    pub codice_fiscale: String,
}

/// A new session.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionOut {
    /// Bearer token: send it as `Authorization: Bearer TOKEN`.
    pub token: String,
    /// When it stops working (RFC 3339, UTC).
    #[schema(format = DateTime)]
    pub expires_at: String,
}

/// `POST /api/v1/auth/login`.
#[utoipa::path(post, operation_id = "login", path = "/api/v1/auth/login", tag = "auth", request_body = LoginBody,
    responses((status = 200, description = "A session for a staff user", body = SessionOut), crate::openapi::Login))]
pub async fn login(
    req: HttpRequest,
    state: web::Data<AppState>,
    bytes: web::Bytes,
) -> Result<HttpResponse, Problem> {
    let lang = Lang::of(&req);
    let b: LoginBody = body::parse(&req, &bytes)?;
    let found = blocking::run(&state, lang, {
        let login = b.login.clone();
        move |conn, lang| orgs::find_login(conn, &login).map_err(blocking::store(lang))
    })
    .await?;
    let user = blocking::run_plain(lang, move || {
        Ok(match found {
            Some(l) if !l.disabled => l
                .password_hash
                .as_deref()
                .is_some_and(|h| passwords::verify(&b.password, h))
                .then_some(l.user),
            _ => {
                passwords::verify_nothing(&b.password);
                None
            }
        })
    })
    .await?;
    let Some(user) = user else {
        tracing::info!(operation = "auth.login", outcome = "refused");
        return Err(Problem::new(
            Kind::Unauthenticated,
            lang,
            "Nome utente o password errati.",
            "Wrong login or password.",
        ));
    };
    let (token, expires) = open_session(&state, lang, SessionOwner::User(user)).await?;
    req.extensions_mut().insert(super::Actor(format!("u-{user}")));
    Ok(HttpResponse::Ok().json(SessionOut {
        token,
        expires_at: expires.to_string(),
    }))
}

/// `POST /api/v1/auth/dev-login`: 404 unless `auth.dev_login` is on.
#[utoipa::path(post, operation_id = "devLogin", path = "/api/v1/auth/dev-login", tag = "auth", request_body = DevLoginBody,
    responses((status = 200, description = "A family session (development login only)", body = SessionOut),
        crate::openapi::DevLogin))]
pub async fn dev_login(
    req: HttpRequest,
    state: web::Data<AppState>,
    bytes: web::Bytes,
) -> Result<HttpResponse, Problem> {
    let lang = Lang::of(&req);
    if !state.auth.dev_login {
        return Err(blocking::not_found(lang));
    }
    let b: DevLoginBody = body::parse(&req, &bytes)?;
    let cf = CodiceFiscale::parse(&b.codice_fiscale)
        .map_err(|e| Problem::invalid_cf(lang, "/codice_fiscale", &e))?;
    let (token, expires) = open_session(&state, lang, SessionOwner::Family(cf)).await?;
    Ok(HttpResponse::Ok().json(SessionOut {
        token,
        expires_at: expires.to_string(),
    }))
}

/// `POST /api/v1/auth/logout`: ends the session of the token sent (a JWT ends at the issuer).
#[utoipa::path(post, operation_id = "logout", path = "/api/v1/auth/logout", tag = "auth", security(("bearer" = [])),
    responses((status = 204, description = "Session ended"), crate::openapi::AuthRead))]
pub async fn logout(
    req: HttpRequest,
    state: web::Data<AppState>,
    _who: Principal,
) -> Result<HttpResponse, Problem> {
    let lang = Lang::of(&req);
    if let Some(token) = bearer(&req) {
        let hash = token_hash(&token);
        blocking::run(&state, lang, move |conn, lang| {
            sessions::revoke(conn, &hash, Timestamp::now()).map_err(blocking::store(lang))
        })
        .await?;
    }
    Ok(HttpResponse::NoContent().finish())
}

/// Who a token belongs to.
#[derive(Debug, Serialize, ToSchema)]
pub struct Me {
    /// `family` or `staff`.
    pub kind: &'static str,
    /// A family's codice fiscale (its own, from its login).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub codice_fiscale: Option<String>,
    /// A staff user's id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<i64>,
    /// A staff user's name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// The pseudonymous id that logs and audit records use for this person.
    pub pseudonym: String,
    /// A staff user's roles by organisation.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<RoleView>,
}

/// A role in an organisation.
#[derive(Debug, Serialize, ToSchema)]
pub struct RoleView {
    /// The organisation.
    pub organisation: i64,
    /// `operator`, `manager`, `auditor`, `admin`.
    pub role: &'static str,
}

/// `GET /api/v1/me`: who the token belongs to.
#[utoipa::path(get, operation_id = "getMe", path = "/api/v1/me", tag = "auth", security(("bearer" = [])),
    responses((status = 200, description = "Who the token belongs to", body = Me), crate::openapi::AuthRead))]
pub async fn me(
    req: HttpRequest,
    state: web::Data<AppState>,
    who: Principal,
) -> Result<HttpResponse, Problem> {
    let lang = Lang::of(&req);
    let body = match &who {
        Principal::Family { cf, .. } => Me {
            kind: "family",
            codice_fiscale: Some(cf.as_str().to_owned()),
            user: None,
            display_name: None,
            pseudonym: who.pseudonym(),
            roles: Vec::new(),
        },
        Principal::Staff { user, roles } => {
            let user = *user;
            let name = blocking::run(&state, lang, move |conn, lang| {
                orgs::display_name(conn, user).map_err(blocking::store(lang))
            })
            .await?;
            Me {
                kind: "staff",
                codice_fiscale: None,
                user: Some(user.get()),
                display_name: Some(name),
                pseudonym: who.pseudonym(),
                roles: roles
                    .iter()
                    .map(|(o, r)| RoleView {
                        organisation: o.get(),
                        role: r.as_str(),
                    })
                    .collect(),
            }
        }
    };
    Ok(HttpResponse::Ok().json(body))
}
