//! The service's settings: `config/default.toml`, then an optional file, then environment variables
//! `GRADUATORIE__SECTION__KEY`, then the command line. Everything is checked before the server starts,
//! and a wrong value is reported with the name of its key.

use std::net::{IpAddr, SocketAddr};
use std::path::Path;

use serde::Deserialize;

/// Why the settings cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("settings: {0}")]
pub struct SettingsError(String);

impl SettingsError {
    /// An error with its message (which names the key).
    pub fn from_message(message: String) -> Self {
        Self(message)
    }
}

/// All settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// `[server]`.
    pub server: Server,
    /// `[database]`.
    pub database: Database,
    /// `[log]`.
    pub log: Log,
    /// `[auth]`.
    pub auth: AuthSettings,
    /// `[rate_limit]`.
    pub rate_limit: RateLimitSettings,
    /// `[mail]`.
    pub mail: MailSettings,
}

/// `[mail]`: receipts by e-mail.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MailSettings {
    /// `smtp://…` or `smtps://…`; empty = receipts stay queued.
    pub smtp_url: String,
    /// The sender.
    pub from: String,
    /// The service's public address, named in receipts.
    pub public_url: String,
    /// Seconds between looks at the outbox.
    pub poll_seconds: u64,
    /// Seconds an SMTP exchange may take.
    pub timeout_seconds: u64,
}

/// `[rate_limit]`: requests allowed per client.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimitSettings {
    /// Off only for load tests.
    pub enabled: bool,
    /// Sustained requests per second per client.
    pub per_second: u32,
    /// Requests a client may make at once before the sustained rate applies.
    pub burst: u32,
    /// Sustained login attempts per minute per client.
    pub login_per_minute: u32,
    /// Login attempts a client may make at once.
    pub login_burst: u32,
    /// Addresses of reverse proxies whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<String>,
}

impl RateLimitSettings {
    /// The trusted proxies as addresses, or the first that is not one.
    pub fn trusted_proxy_addresses(&self) -> Result<Vec<IpAddr>, SettingsError> {
        self.trusted_proxies
            .iter()
            .map(|p| {
                p.trim().parse().map_err(|_| {
                    SettingsError(format!(
                        "rate_limit.trusted_proxies: {p:?} is not an IP address such as 10.0.0.1"
                    ))
                })
            })
            .collect()
    }
}

/// `[auth]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthSettings {
    /// Development login: anyone may log in as any codice fiscale. Never in production.
    pub dev_login: bool,
    /// Hours a login session lasts.
    pub session_hours: u32,
    /// Secret key of the pseudonyms written in logs instead of codici fiscali.
    pub pseudonym_key: String,
    /// `[auth.oidc]`.
    pub oidc: OidcSettings,
}

/// `[auth.oidc]`: the OpenID Connect issuer whose bearer tokens identify families.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OidcSettings {
    /// The issuer (`iss`); empty = no OpenID Connect login.
    pub issuer: String,
    /// The audience this service expects (`aud`).
    pub audience: String,
    /// The issuer's JSON Web Key Set, as a file.
    pub jwks_file: String,
    /// The issuer's JSON Web Key Set, at its `jwks_uri`.
    pub jwks_url: String,
    /// Minutes between fetches of `jwks_url`.
    pub jwks_refresh_minutes: u32,
    /// The claim holding the codice fiscale.
    pub cf_claim: String,
}

/// `[server]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Server {
    /// Address and port to listen on.
    pub bind: String,
    /// HTTP worker threads (0 = one per core).
    pub workers: usize,
    /// Grace period for requests in flight on shutdown.
    pub shutdown_timeout_seconds: u64,
}

/// `[database]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Database {
    /// `sqlite://…` or `postgres://…`.
    pub url: String,
    /// Pooled connections.
    pub pool_size: u32,
}

/// `[log]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Log {
    /// `json` or `text`.
    pub format: LogFormat,
    /// `error`, `warn`, `info`, `debug`, `trace`.
    pub level: String,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// One JSON object per line.
    Json,
    /// Human-readable lines.
    Text,
}

/// Values given on the command line; they win over every file and variable.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// `--bind`.
    pub bind: Option<String>,
    /// `--database-url`.
    pub database_url: Option<String>,
    /// `--demo` turns the development login on.
    pub dev_login: Option<bool>,
}

impl Settings {
    /// Reads the layers. `defaults` is the text of `config/default.toml` (embedded in the binary, so
    /// the service starts from any directory); `file` is the optional `--config` file; `env` the
    /// process environment (passed in, so tests need not change the real one).
    pub fn load(
        defaults: &str,
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
        overrides: &Overrides,
    ) -> Result<Self, SettingsError> {
        let mut builder =
            config::Config::builder().add_source(config::File::from_str(defaults, config::FileFormat::Toml));
        if let Some(path) = file {
            if !path.is_file() {
                return Err(SettingsError(format!(
                    "--config {}: no such file",
                    path.display()
                )));
            }
            builder = builder.add_source(config::File::from(path).format(config::FileFormat::Toml));
        }
        let env: config::Map<String, String> = env
            .into_iter()
            .filter(|(k, _)| k.starts_with("GRADUATORIE__"))
            .collect();
        builder = builder.add_source(
            config::Environment::with_prefix("GRADUATORIE")
                .separator("__")
                .try_parsing(true)
                .list_separator(",")
                .with_list_parse_key("rate_limit.trusted_proxies")
                .source(Some(env)),
        );
        if let Some(bind) = &overrides.bind {
            builder = builder
                .set_override("server.bind", bind.as_str())
                .map_err(|e| SettingsError(e.to_string()))?;
        }
        if let Some(on) = overrides.dev_login {
            builder = builder
                .set_override("auth.dev_login", on)
                .map_err(|e| SettingsError(e.to_string()))?;
        }
        if let Some(url) = &overrides.database_url {
            builder = builder
                .set_override("database.url", url.as_str())
                .map_err(|e| SettingsError(e.to_string()))?;
        }
        let settings: Settings = builder
            .build()
            .and_then(config::Config::try_deserialize)
            .map_err(|e| SettingsError(e.to_string()))?;
        settings.check()?;
        Ok(settings)
    }

    fn check(&self) -> Result<(), SettingsError> {
        self.bind_address()?;
        graduatorie_store::DatabaseUrl::parse(&self.database.url)
            .map_err(|e| SettingsError(format!("database.url: {e}")))?;
        if !(1..=1_000).contains(&self.database.pool_size) {
            return Err(SettingsError(
                "database.pool_size: must be between 1 and 1000".into(),
            ));
        }
        if !(1..=72).contains(&self.auth.session_hours) {
            return Err(SettingsError(
                "auth.session_hours: must be between 1 and 72".into(),
            ));
        }
        if !self.auth.pseudonym_key.is_empty() && self.auth.pseudonym_key.len() < 16 {
            return Err(SettingsError(
                "auth.pseudonym_key: must be at least 16 characters (or empty)".into(),
            ));
        }
        let r = &self.rate_limit;
        for (key, value, max) in [
            ("rate_limit.per_second", r.per_second, 100_000),
            ("rate_limit.burst", r.burst, 1_000_000),
            ("rate_limit.login_per_minute", r.login_per_minute, 100_000),
            ("rate_limit.login_burst", r.login_burst, 1_000_000),
        ] {
            if !(1..=max).contains(&value) {
                return Err(SettingsError(format!("{key}: must be between 1 and {max}")));
            }
        }
        r.trusted_proxy_addresses()?;
        if !(1..=3_600).contains(&self.mail.poll_seconds) {
            return Err(SettingsError(
                "mail.poll_seconds: must be between 1 and 3600".into(),
            ));
        }
        if !(1..=600).contains(&self.mail.timeout_seconds) {
            return Err(SettingsError(
                "mail.timeout_seconds: must be between 1 and 600".into(),
            ));
        }
        if !["error", "warn", "info", "debug", "trace"].contains(&self.log.level.as_str()) {
            return Err(SettingsError(
                "log.level: must be one of error, warn, info, debug, trace".into(),
            ));
        }
        Ok(())
    }

    /// The address to listen on.
    pub fn bind_address(&self) -> Result<SocketAddr, SettingsError> {
        self.server.bind.parse().map_err(|_| {
            SettingsError(format!(
                "server.bind: {:?} is not an address and port such as 127.0.0.1:8080",
                self.server.bind
            ))
        })
    }
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;

    const DEFAULTS: &str = include_str!("../../../config/default.toml");

    fn load(env: &[(&str, &str)], overrides: &Overrides) -> Result<Settings, SettingsError> {
        let env = env.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned()));
        Settings::load(DEFAULTS, None, env, overrides)
    }

    #[test]
    fn the_shipped_defaults_load() {
        let s = load(&[], &Overrides::default()).unwrap();
        assert_eq!(s.bind_address().unwrap().to_string(), "127.0.0.1:8080");
        assert_eq!(s.database.url, "sqlite://data/graduatorie.db");
        assert_eq!(s.log.format, LogFormat::Json);
    }

    #[test]
    fn environment_then_command_line_override_the_file() {
        let env = [
            ("GRADUATORIE__SERVER__BIND", "0.0.0.0:9000"),
            ("GRADUATORIE__DATABASE__POOL_SIZE", "3"),
            ("GRADUATORIE__LOG__FORMAT", "text"),
            ("OTHER__SERVER__BIND", "1.2.3.4:1"),
        ];
        let s = load(&env, &Overrides::default()).unwrap();
        assert_eq!(s.server.bind, "0.0.0.0:9000");
        assert_eq!(s.database.pool_size, 3);
        assert_eq!(s.log.format, LogFormat::Text);
        let cli = Overrides {
            bind: Some("127.0.0.1:0".into()),
            database_url: Some("postgres://u@h/db".into()),
            dev_login: Some(true),
        };
        let s = load(&env, &cli).unwrap();
        assert_eq!(s.server.bind, "127.0.0.1:0");
        assert_eq!(s.database.url, "postgres://u@h/db");
        assert!(s.auth.dev_login, "--demo turns the development login on");
        assert!(
            !load(&env, &Overrides::default()).unwrap().auth.dev_login,
            "off by default"
        );
    }

    #[test]
    fn wrong_values_are_named() {
        let cases: [(&[(&str, &str)], &str); 8] = [
            (&[("GRADUATORIE__RATE_LIMIT__BURST", "0")], "rate_limit.burst"),
            (
                &[("GRADUATORIE__RATE_LIMIT__TRUSTED_PROXIES", "10.0.0.1,proxy.local")],
                "rate_limit.trusted_proxies",
            ),
            (&[("GRADUATORIE__SERVER__BIND", "localhost")], "server.bind"),
            (&[("GRADUATORIE__DATABASE__URL", "mysql://x")], "database.url"),
            (&[("GRADUATORIE__DATABASE__POOL_SIZE", "0")], "database.pool_size"),
            (&[("GRADUATORIE__DATABASE__POOL_SIZE", "many")], "pool_size"),
            (&[("GRADUATORIE__LOG__LEVEL", "loud")], "log.level"),
            (&[("GRADUATORIE__SERVER__COLOUR", "blue")], "colour"),
        ];
        for (env, key) in cases {
            let e = load(env, &Overrides::default()).unwrap_err().to_string();
            assert!(e.contains(key), "{env:?}: {e}");
        }
    }

    #[test]
    fn trusted_proxies_are_a_comma_separated_list_in_the_environment() {
        let s = load(
            &[("GRADUATORIE__RATE_LIMIT__TRUSTED_PROXIES", "10.0.0.1, ::1")],
            &Overrides::default(),
        )
        .unwrap();
        assert_eq!(
            s.rate_limit.trusted_proxy_addresses().unwrap(),
            vec![IpAddr::from([10, 0, 0, 1]), "::1".parse::<IpAddr>().unwrap()]
        );
        assert!(load(&[], &Overrides::default()).unwrap().rate_limit.enabled);
    }

    #[test]
    fn a_missing_config_file_is_named() {
        let e = Settings::load(
            DEFAULTS,
            Some(Path::new("/nonexistent/x.toml")),
            [],
            &Overrides::default(),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("/nonexistent/x.toml"), "{e}");
    }
}
