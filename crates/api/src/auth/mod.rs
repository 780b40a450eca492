//! Who is calling. Every protected route takes a [`Principal`], read from `Authorization: Bearer`:
//! - a JWT signed by the configured OpenID Connect issuer (the SPID/CIE gateway), verified against its
//!   keys, carrying the family's codice fiscale ([`oidc`]);
//! - otherwise an opaque session token from `POST /api/v1/auth/login` (staff, argon2 passwords) or
//!   `POST /api/v1/auth/dev-login` (families, only when the development login is enabled), of which the
//!   database keeps only the SHA-256 ([`graduatorie_store::sessions`]).
//!
//! The access log records a pseudonym of the caller, never the codice fiscale ([`Principal::pseudonym`]).

pub mod oidc;
pub mod passwords;
pub mod routes;

use std::future::Future;
use std::pin::Pin;

use actix_web::{FromRequest, HttpMessage, HttpRequest, dev::Payload, http::header, web};
use graduatorie_domain::{CodiceFiscale, OrganisationId, UserId};
use graduatorie_store::orgs::{self, Role};
use graduatorie_store::sessions::{self, SessionOwner};
use jiff::Timestamp;
use sha2::{Digest, Sha256};

use crate::AppState;
use crate::blocking;
use crate::problem::{Kind, Lang, Problem};

/// The authentication settings in force.
#[derive(Debug)]
pub struct Auth {
    /// Whether `POST /api/v1/auth/dev-login` works.
    pub dev_login: bool,
    /// How long a session lasts.
    pub session_ttl: jiff::SignedDuration,
    /// Key of the pseudonyms in logs.
    pseudonym_key: Vec<u8>,
    /// The OpenID Connect issuer's verifier, when configured.
    pub oidc: Option<std::sync::Arc<oidc::Verifier>>,
}

impl Auth {
    /// From the settings (the JWKS file is read here, once).
    pub fn new(settings: &crate::settings::AuthSettings) -> Result<Self, crate::settings::SettingsError> {
        let pseudonym_key = if settings.pseudonym_key.is_empty() {
            // Pseudonyms then change at each start: still pseudonymous, only less useful to follow
            // one caller across restarts.
            tracing::warn!(
                operation = "start",
                "auth.pseudonym_key is not set: log pseudonyms will change at every start (docs/configuration.md)"
            );
            random_bytes::<32>()
                .map_err(|e| {
                    crate::settings::SettingsError::from_message(format!("auth.pseudonym_key: {e}"))
                })?
                .to_vec()
        } else {
            settings.pseudonym_key.as_bytes().to_vec()
        };
        let oidc = if settings.oidc.issuer.is_empty() {
            None
        } else {
            Some(oidc::Verifier::from_settings(&settings.oidc)?)
        };
        Ok(Self {
            dev_login: settings.dev_login,
            session_ttl: jiff::SignedDuration::from_hours(i64::from(settings.session_hours)),
            pseudonym_key,
            oidc,
        })
    }

    fn family_pseudonym(&self, cf: &CodiceFiscale) -> String {
        let mut h = Sha256::new();
        h.update(&self.pseudonym_key);
        h.update([0]);
        h.update(cf.as_str().as_bytes());
        format!("f-{}", &hex(&h.finalize())[..16])
    }
}

/// A caller who proved who they are.
#[derive(Debug, Clone)]
pub enum Principal {
    /// A family (the applicant), by codice fiscale.
    Family {
        /// The applicant's codice fiscale.
        cf: CodiceFiscale,
        /// Pseudonym for logs and idempotency keys.
        pseudonym: String,
    },
    /// A member of staff with their roles.
    Staff {
        /// User id.
        user: UserId,
        /// Roles by organisation.
        roles: Vec<(OrganisationId, Role)>,
    },
}

impl Principal {
    /// A stable pseudonymous id: `f-` and 16 hex digits of a keyed hash for families, `u-ID` for staff.
    pub fn pseudonym(&self) -> String {
        match self {
            Principal::Family { pseudonym, .. } => pseudonym.clone(),
            Principal::Staff { user, .. } => format!("u-{user}"),
        }
    }

    /// The organisations where the caller holds `role`.
    pub fn orgs_with(&self, role: Role) -> Vec<OrganisationId> {
        match self {
            Principal::Family { .. } => Vec::new(),
            Principal::Staff { roles, .. } => roles
                .iter()
                .filter(|(_, r)| *r == role)
                .map(|(o, _)| *o)
                .collect(),
        }
    }
}

/// The pseudonym of the caller, left in the request for the access log.
#[derive(Debug, Clone)]
pub struct Actor(pub String);

/// Lowercase hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// SHA-256 of a token, as stored.
pub fn token_hash(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

/// Cryptographically random bytes from the operating system.
pub fn random_bytes<const N: usize>() -> Result<[u8; N], String> {
    let mut buf = [0_u8; N];
    getrandom::fill(&mut buf).map_err(|e| format!("no randomness from the operating system: {e}"))?;
    Ok(buf)
}

/// A new session token (256 random bits, hex) and its expiry, recorded for `owner`.
pub async fn open_session(
    state: &AppState,
    lang: Lang,
    owner: SessionOwner,
) -> Result<(String, Timestamp), Problem> {
    let token = hex(&random_bytes::<32>().map_err(|_| blocking::unavailable(lang))?);
    let now = Timestamp::now();
    let expires = now
        .checked_add(state.auth.session_ttl)
        .map_err(|_| blocking::unavailable(lang))?;
    let hash = token_hash(&token);
    blocking::run(state, lang, move |conn, lang| {
        sessions::create(conn, &hash, &owner, now, expires).map_err(blocking::store(lang))
    })
    .await?;
    Ok((token, expires))
}

fn unauthenticated(lang: Lang) -> Problem {
    Problem::new(
        Kind::Unauthenticated,
        lang,
        "Accesso richiesto: inviare `Authorization: Bearer` con un token valido (scaduto o revocato non vale).",
        "Authentication required: send `Authorization: Bearer` with a valid token (expired or revoked ones are not).",
    )
}

/// The bearer token of a request, if any.
pub fn bearer(req: &HttpRequest) -> Option<String> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_owned())
        .filter(|t| !t.is_empty() && t.len() <= 8192)
}

async fn authenticate(req: HttpRequest) -> Result<Principal, Problem> {
    let lang = Lang::of(&req);
    let state = req
        .app_data::<web::Data<AppState>>()
        .cloned()
        .ok_or_else(|| blocking::unavailable(lang))?;
    let token = bearer(&req).ok_or_else(|| unauthenticated(lang))?;
    let principal = if token.split('.').count() == 3 {
        let verifier = state.auth.oidc.as_ref().ok_or_else(|| unauthenticated(lang))?;
        let cf = verifier
            .verify(&token, Timestamp::now())
            .map_err(|refused| match refused {
                oidc::Refused::NoKeys => {
                    tracing::warn!(
                        operation = "authenticate",
                        outcome = "unavailable",
                        reason = "issuer keys not fetched yet"
                    );
                    blocking::unavailable(lang)
                }
                oidc::Refused::Invalid(reason) => {
                    tracing::info!(operation = "authenticate", outcome = "refused", reason = %reason);
                    unauthenticated(lang)
                }
            })?;
        let pseudonym = state.auth.family_pseudonym(&cf);
        Principal::Family { cf, pseudonym }
    } else {
        let hash = token_hash(&token);
        let owner = blocking::run(&state, lang, move |conn, lang| {
            let owner = sessions::find(conn, &hash, Timestamp::now()).map_err(blocking::store(lang))?;
            match owner {
                Some(SessionOwner::User(user)) => {
                    let roles = orgs::roles_of(conn, user).map_err(blocking::store(lang))?;
                    Ok(Some((SessionOwner::User(user), roles)))
                }
                Some(family) => Ok(Some((family, Vec::new()))),
                None => Ok(None),
            }
        })
        .await?;
        match owner {
            Some((SessionOwner::User(user), roles)) => Principal::Staff { user, roles },
            Some((SessionOwner::Family(cf), _)) => {
                let pseudonym = state.auth.family_pseudonym(&cf);
                Principal::Family { cf, pseudonym }
            }
            None => return Err(unauthenticated(lang)),
        }
    };
    req.extensions_mut().insert(Actor(principal.pseudonym()));
    Ok(principal)
}

impl FromRequest for Principal {
    type Error = Problem;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        Box::pin(authenticate(req.clone()))
    }
}
