//! `POST /api/v1/auth/login` (staff), `POST /api/v1/auth/dev-login` (families, development only),
//! `POST /api/v1/auth/logout`, `GET /api/v1/me`.

use actix_web::{HttpMessage, HttpRequest, HttpResponse, web};
use graduatorie_domain::CodiceFiscale;
use graduatorie_store::orgs;
use graduatorie_store::sessions::{self, SessionOwner};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::json;
use validator::Validate;

use super::{Principal, bearer, open_session, passwords, token_hash};
use crate::problem::{Kind, Lang, Problem};
use crate::{AppState, blocking, body};

/// Staff login.
#[derive(Debug, Deserialize, Validate)]
#[serde(deny_unknown_fields)]
pub struct LoginBody {
    /// Login name.
    #[validate(length(min = 1, max = 200, message = "da 1 a 200 caratteri"))]
    pub login: String,
    /// Password.
    #[validate(length(min = 1, max = 1024, message = "da 1 a 1024 caratteri"))]
    pub password: String,
}

/// Development login.
#[derive(Debug, Deserialize, Validate)]
#[serde(deny_unknown_fields)]
pub struct DevLoginBody {
    /// The codice fiscale to log in as.
    #[validate(length(min = 1, max = 32, message = "da 1 a 32 caratteri"))]
    pub codice_fiscale: String,
}

/// A new session.
#[derive(Debug, Serialize)]
pub struct SessionOut {
    /// Bearer token: send it as `Authorization: Bearer TOKEN`.
    pub token: String,
    /// When it stops working.
    pub expires_at: String,
}

/// `POST /api/v1/auth/login`.
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
        .map_err(|e| Problem::invalid_field(lang, "/codice_fiscale", e.to_string()))?;
    let (token, expires) = open_session(&state, lang, SessionOwner::Family(cf)).await?;
    Ok(HttpResponse::Ok().json(SessionOut {
        token,
        expires_at: expires.to_string(),
    }))
}

/// `POST /api/v1/auth/logout`: ends the session of the token sent (a JWT ends at the issuer).
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

/// `GET /api/v1/me`: who the token belongs to.
pub async fn me(
    req: HttpRequest,
    state: web::Data<AppState>,
    who: Principal,
) -> Result<HttpResponse, Problem> {
    let lang = Lang::of(&req);
    let body = match &who {
        Principal::Family { cf, .. } => json!({
            "kind": "family",
            "codice_fiscale": cf.as_str(),
            "pseudonym": who.pseudonym(),
        }),
        Principal::Staff { user, roles } => {
            let user = *user;
            let name = blocking::run(&state, lang, move |conn, lang| {
                orgs::display_name(conn, user).map_err(blocking::store(lang))
            })
            .await?;
            json!({
                "kind": "staff",
                "user": user,
                "display_name": name,
                "pseudonym": who.pseudonym(),
                "roles": roles.iter().map(|(o, r)| json!({ "organisation": o, "role": r.as_str() })).collect::<Vec<_>>(),
            })
        }
    };
    Ok(HttpResponse::Ok().json(body))
}
