//! `graduatorie serve`: reads the settings, opens (and on SQLite migrates) the database, and serves
//! HTTP until SIGTERM or Ctrl-C.

use std::path::PathBuf;

use clap::Args;
use graduatorie_api::{Overrides, Settings};

/// The settings shipped with the binary (`config/default.toml`).
const DEFAULTS: &str = include_str!("../../../config/default.toml");

/// `graduatorie serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address and port to listen on (overrides `server.bind`).
    #[arg(long)]
    pub bind: Option<String>,
    /// Database URL (overrides `database.url`).
    #[arg(long, env = "GRADUATORIE_DATABASE_URL")]
    pub database_url: Option<String>,
    /// A settings file layered over `config/default.toml`.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Demonstration mode: loads demo data into an empty database (a union of three towns, two open
    /// calls, synthetic applications, one member of staff per role) and turns the development login
    /// on. Never on a database with real data.
    #[arg(long)]
    pub demo: bool,
}

/// Starts the service; returns when it has stopped.
pub fn serve(args: &ServeArgs) -> Result<(), String> {
    let overrides = Overrides {
        bind: args.bind.clone(),
        database_url: args.database_url.clone(),
        dev_login: args.demo.then_some(true),
    };
    let settings = Settings::load(DEFAULTS, args.config.as_deref(), std::env::vars(), &overrides)
        .map_err(|e| e.to_string())?;
    graduatorie_api::init_logging(&settings.log);
    let store = graduatorie_api::open_store(&settings, crate::db_cmd::durability_from_env())
        .map_err(|e| e.to_string())?;
    if args.demo {
        match crate::demo::load(&store, jiff::Timestamp::now())? {
            Some(loaded) => tracing::info!(
                operation = "demo",
                applications = loaded.applications,
                nidi_call = loaded.nidi_call,
                voucher_call = loaded.voucher_call,
                "demo data loaded"
            ),
            None => tracing::info!(operation = "demo", "demo data already present: nothing loaded"),
        }
        let logins: Vec<String> = crate::demo::STAFF
            .iter()
            .map(|(login, role, _)| format!("  {login:<22} {}", role.as_str()))
            .collect();
        crate::println_out(&format!(
            "DEMO MODE (development login on; never with real data)\n\
             Staff logins, password \"{}\" (POST /api/v1/auth/login):\n{}\n\
             Families: POST /api/v1/auth/dev-login with any valid codice fiscale, e.g. RSSMRA80A01H501U",
            crate::demo::PASSWORD,
            logins.join("\n")
        ));
    }
    actix_web::rt::System::new().block_on(async move {
        let bound = graduatorie_api::bind(&settings, store).map_err(|e| e.to_string())?;
        // The one line a person or a test script waits for.
        crate::println_out(&format!("graduatorie listening on http://{}", bound.addr));
        tracing::info!(operation = "serve", address = %bound.addr, "listening");
        bound.server.await.map_err(|e| format!("server: {e}"))?;
        tracing::info!(operation = "serve", "stopped");
        Ok(())
    })
}
