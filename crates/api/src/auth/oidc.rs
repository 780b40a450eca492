//! Bearer tokens from an OpenID Connect issuer: SPID and CIE logins reach a municipal service through
//! a gateway that signs a JWT for the citizen. The token's signature is checked against the issuer's
//! published keys, then its issuer, audience and validity period, and the codice fiscale is read from
//! a configured claim (`fiscal_number` by default; SPID gateways send it as `TINIT-RSSMRA80A01H501U`).
//!
//! The keys come from a JWKS file read at start-up, or from the issuer's `jwks_uri`, fetched at
//! start-up and then refreshed by a thread of its own: every `jwks_refresh_minutes`, every 5 seconds
//! while no keys could be fetched yet, and soon after a token names a key id not seen before (an
//! issuer rotating its keys), at most every 30 seconds. Without keys a token is answered `503`
//! (retry), not `401`: the family did nothing wrong.

use std::path::Path;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex, RwLock, Weak};
use std::time::{Duration, Instant};

use graduatorie_domain::CodiceFiscale;
use jiff::Timestamp;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{DecodingKey, Validation};

use crate::settings::{OidcSettings, SettingsError};

/// Algorithms accepted from an issuer: asymmetric only, so a token can never be signed with a key
/// the service itself holds.
const ALGORITHMS: [jsonwebtoken::Algorithm; 6] = [
    jsonwebtoken::Algorithm::RS256,
    jsonwebtoken::Algorithm::RS384,
    jsonwebtoken::Algorithm::RS512,
    jsonwebtoken::Algorithm::ES256,
    jsonwebtoken::Algorithm::ES384,
    jsonwebtoken::Algorithm::EdDSA,
];

/// While no keys could be fetched, try again this often.
const RETRY_WITHOUT_KEYS: Duration = Duration::from_secs(5);
/// A token with an unknown key id asks for a refresh at most this often.
const MIN_REFRESH_ON_DEMAND: Duration = Duration::from_secs(30);
/// A JWKS document larger than this is refused.
const MAX_JWKS_BYTES: u64 = 1 << 20;

/// Why a token was not accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    /// The issuer's keys are not available yet: retry later.
    NoKeys,
    /// The token is not valid (the reason names no value).
    Invalid(String),
}

impl From<String> for Refused {
    fn from(reason: String) -> Self {
        Refused::Invalid(reason)
    }
}

impl From<&str> for Refused {
    fn from(reason: &str) -> Self {
        Refused::Invalid(reason.to_owned())
    }
}

/// Checks tokens of one issuer.
#[derive(Debug)]
pub struct Verifier {
    issuer: String,
    audience: String,
    claim: String,
    keys: RwLock<Option<Arc<JwkSet>>>,
    /// Wakes the fetching thread (a URL source only); dropping it stops the thread.
    wake: Option<Mutex<mpsc::Sender<()>>>,
    last_wake: Mutex<Option<Instant>>,
}

impl Verifier {
    /// Reads the issuer's keys from the file, or fetches them from the URL (once now, then in the
    /// background).
    pub fn from_settings(s: &OidcSettings) -> Result<Arc<Self>, SettingsError> {
        if s.audience.is_empty() {
            return Err(SettingsError::from_message(
                "auth.oidc.audience: required when auth.oidc.issuer is set".into(),
            ));
        }
        let base = |keys, wake| Self {
            issuer: s.issuer.clone(),
            audience: s.audience.clone(),
            claim: s.cf_claim.clone(),
            keys: RwLock::new(keys),
            wake,
            last_wake: Mutex::new(None),
        };
        match (s.jwks_file.is_empty(), s.jwks_url.is_empty()) {
            (false, true) => {
                let keys = read_jwks(Path::new(&s.jwks_file))?;
                Ok(Arc::new(base(Some(Arc::new(keys)), None)))
            }
            (true, false) => {
                check_url(&s.jwks_url)?;
                if !(1..=10_080).contains(&s.jwks_refresh_minutes) {
                    return Err(SettingsError::from_message(
                        "auth.oidc.jwks_refresh_minutes: must be between 1 and 10080 (a week)".into(),
                    ));
                }
                let first = fetch_jwks(&s.jwks_url)
                    .map_err(|e| {
                        tracing::warn!(operation = "oidc.jwks", outcome = "unavailable", error = %e,
                            "the issuer's keys could not be fetched at start: tokens get 503 until they are");
                    })
                    .ok();
                let (tx, rx) = mpsc::channel();
                let verifier = Arc::new(base(first.map(Arc::new), Some(Mutex::new(tx))));
                let refresh = Duration::from_secs(u64::from(s.jwks_refresh_minutes) * 60);
                spawn_fetcher(Arc::downgrade(&verifier), s.jwks_url.clone(), refresh, rx)
                    .map_err(|e| SettingsError::from_message(format!("auth.oidc.jwks_url: cannot start the fetcher: {e}")))?;
                Ok(verifier)
            }
            (false, false) => Err(SettingsError::from_message(
                "auth.oidc.jwks_file and auth.oidc.jwks_url: set one, not both".into(),
            )),
            (true, true) => Err(SettingsError::from_message(
                "auth.oidc.jwks_url: required when auth.oidc.issuer is set (the issuer's jwks_uri), or auth.oidc.jwks_file with the keys saved as a file".into(),
            )),
        }
    }

    fn current_keys(&self) -> Option<Arc<JwkSet>> {
        self.keys
            .read()
            .map_or_else(|p| p.into_inner().clone(), |k| k.clone())
    }

    fn set_keys(&self, keys: JwkSet) {
        let mut slot = self
            .keys
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *slot = Some(Arc::new(keys));
    }

    /// Asks the fetcher for fresh keys, at most every [`MIN_REFRESH_ON_DEMAND`].
    fn ask_refresh(&self) {
        let Some(wake) = &self.wake else {
            return;
        };
        let mut last = self
            .last_wake
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if last.is_some_and(|t| t.elapsed() < MIN_REFRESH_ON_DEMAND) {
            return;
        }
        *last = Some(Instant::now());
        let sender = wake.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let _ = sender.send(());
    }

    /// The codice fiscale of a valid token, or why the token is refused.
    pub fn verify(&self, token: &str, now: Timestamp) -> Result<CodiceFiscale, Refused> {
        let header = jsonwebtoken::decode_header(token).map_err(|e| format!("header: {e}"))?;
        if !ALGORITHMS.contains(&header.alg) {
            return Err(format!("algorithm {:?} is not accepted", header.alg).into());
        }
        let Some(keys) = self.current_keys() else {
            self.ask_refresh();
            return Err(Refused::NoKeys);
        };
        let jwk = match &header.kid {
            Some(kid) => keys.find(kid),
            None if keys.keys.len() == 1 => keys.keys.first(),
            None => None,
        };
        let Some(jwk) = jwk else {
            // Perhaps the issuer has rotated its keys: look again soon.
            self.ask_refresh();
            return Err("no key of the issuer matches the token's kid".into());
        };
        let key = DecodingKey::from_jwk(jwk).map_err(|e| format!("key: {e}"))?;
        let mut validation = Validation::new(header.alg);
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[&self.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud"]);
        validation.leeway = 30;
        let data =
            jsonwebtoken::decode::<serde_json::Map<String, serde_json::Value>>(token, &key, &validation)
                .map_err(|e| format!("token: {e}"))?;
        // jsonwebtoken checks `exp` against the system clock; `now` is checked too so that callers
        // (and tests) state the instant they mean.
        let exp = data
            .claims
            .get("exp")
            .and_then(serde_json::Value::as_i64)
            .unwrap_or(0);
        if exp.saturating_add(30) < now.as_second() {
            return Err("token: expired".into());
        }
        let raw = data
            .claims
            .get(&self.claim)
            .and_then(serde_json::Value::as_str)
            .ok_or_else(|| format!("claim {} is missing", self.claim))?;
        let raw = raw.strip_prefix("TINIT-").unwrap_or(raw);
        CodiceFiscale::parse(raw)
            .map_err(|_| Refused::Invalid(format!("claim {} is not a valid codice fiscale", self.claim)))
    }
}

/// `https://…`, or `http://` to the machine itself (a gateway on the same host, tests).
fn check_url(url: &str) -> Result<(), SettingsError> {
    let local = ["http://127.0.0.1", "http://localhost", "http://[::1]"]
        .iter()
        .any(|p| {
            url.strip_prefix(p)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with([':', '/']))
        });
    if url.starts_with("https://") || local {
        Ok(())
    } else {
        Err(SettingsError::from_message(
            "auth.oidc.jwks_url: must be an https:// address (http:// only to this machine)".into(),
        ))
    }
}

/// Fetches and checks a JWKS document.
fn fetch_jwks(url: &str) -> Result<JwkSet, String> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(10)))
        .http_status_as_error(false)
        .build()
        .into();
    let mut response = agent.get(url).call().map_err(|e| format!("{url}: {e}"))?;
    if response.status() != 200 {
        return Err(format!("{url}: HTTP {}", response.status().as_u16()));
    }
    let text = response
        .body_mut()
        .with_config()
        .limit(MAX_JWKS_BYTES)
        .read_to_string()
        .map_err(|e| format!("{url}: {e}"))?;
    let keys: JwkSet = serde_json::from_str(&text).map_err(|e| {
        format!(
            "{url}: not a JWKS document (line {}, column {})",
            e.line(),
            e.column()
        )
    })?;
    if keys.keys.is_empty() {
        return Err(format!("{url}: holds no keys"));
    }
    Ok(keys)
}

/// The thread that keeps the keys fresh; it ends when the verifier is dropped.
fn spawn_fetcher(
    verifier: Weak<Verifier>,
    url: String,
    refresh: Duration,
    wake: mpsc::Receiver<()>,
) -> std::io::Result<()> {
    std::thread::Builder::new()
        .name("graduatorie-jwks".into())
        .spawn(move || {
            loop {
                let has_keys = match verifier.upgrade() {
                    Some(v) => v.current_keys().is_some(),
                    None => return,
                };
                let wait = if has_keys { refresh } else { RETRY_WITHOUT_KEYS };
                match wake.recv_timeout(wait) {
                    Ok(()) | Err(RecvTimeoutError::Timeout) => {}
                    Err(RecvTimeoutError::Disconnected) => return,
                }
                match fetch_jwks(&url) {
                    Ok(keys) => {
                        let Some(v) = verifier.upgrade() else { return };
                        tracing::info!(
                            operation = "oidc.jwks",
                            outcome = "refreshed",
                            keys = keys.keys.len()
                        );
                        v.set_keys(keys);
                    }
                    // Keys already held stay in use.
                    Err(e) => tracing::warn!(operation = "oidc.jwks", outcome = "unavailable", error = %e),
                }
            }
        })
        .map(|_| ())
}

fn read_jwks(path: &Path) -> Result<JwkSet, SettingsError> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        SettingsError::from_message(format!(
            "auth.oidc.jwks_file: cannot read {}: {e}",
            path.display()
        ))
    })?;
    let keys: JwkSet = serde_json::from_str(&text).map_err(|e| {
        SettingsError::from_message(format!(
            "auth.oidc.jwks_file: {} is not a JWKS document (line {}, column {})",
            path.display(),
            e.line(),
            e.column()
        ))
    })?;
    if keys.keys.is_empty() {
        return Err(SettingsError::from_message(format!(
            "auth.oidc.jwks_file: {} holds no keys",
            path.display()
        )));
    }
    Ok(keys)
}
