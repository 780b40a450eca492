//! Bearer tokens from an OpenID Connect issuer: SPID and CIE logins reach a municipal service through
//! a gateway that signs a JWT for the citizen. The token's signature is checked against the issuer's
//! published keys (a JWKS file, read at start-up), then its issuer, audience and validity period, and
//! the codice fiscale is read from a configured claim (`fiscal_number` by default; SPID gateways send
//! it as `TINIT-RSSMRA80A01H501U`).

use std::path::Path;

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

/// Checks tokens of one issuer.
#[derive(Debug)]
pub struct Verifier {
    issuer: String,
    audience: String,
    claim: String,
    keys: JwkSet,
}

impl Verifier {
    /// Reads the issuer's keys.
    pub fn from_settings(s: &OidcSettings) -> Result<Self, SettingsError> {
        if s.audience.is_empty() {
            return Err(SettingsError::from_message(
                "auth.oidc.audience: required when auth.oidc.issuer is set".into(),
            ));
        }
        if s.jwks_file.is_empty() {
            return Err(SettingsError::from_message(
                "auth.oidc.jwks_file: required when auth.oidc.issuer is set (the issuer's keys, as published at its jwks_uri)".into(),
            ));
        }
        let keys = read_jwks(Path::new(&s.jwks_file))?;
        Ok(Self {
            issuer: s.issuer.clone(),
            audience: s.audience.clone(),
            claim: s.cf_claim.clone(),
            keys,
        })
    }

    /// The codice fiscale of a valid token, or why the token is refused (the reason names no value).
    pub fn verify(&self, token: &str, now: Timestamp) -> Result<CodiceFiscale, String> {
        let header = jsonwebtoken::decode_header(token).map_err(|e| format!("header: {e}"))?;
        if !ALGORITHMS.contains(&header.alg) {
            return Err(format!("algorithm {:?} is not accepted", header.alg));
        }
        let jwk = match &header.kid {
            Some(kid) => self.keys.find(kid),
            None if self.keys.keys.len() == 1 => self.keys.keys.first(),
            None => None,
        }
        .ok_or("no key of the issuer matches the token's kid")?;
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
        CodiceFiscale::parse(raw).map_err(|_| format!("claim {} is not a valid codice fiscale", self.claim))
    }
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
