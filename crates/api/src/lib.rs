//! The HTTP service. Handlers only translate HTTP: the work lives in the crates below (`store`,
//! `rules`, `ranker`). Database calls are blocking (diesel), so they run on actix's blocking thread
//! pool (`web::block`), never on the async workers.

mod access_log;
pub mod problem;
pub mod settings;
mod status;

use std::net::SocketAddr;

use actix_web::{App, HttpServer, web};
use graduatorie_store::{Backend, DatabaseUrl, DurabilityCheck, Store, StoreConfig};
use tracing_actix_web::TracingLogger;

pub use settings::{LogFormat, Overrides, Settings, SettingsError};

/// What every handler can reach.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The database.
    pub store: Store,
}

/// Why the service did not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// A setting is wrong.
    #[error(transparent)]
    Settings(#[from] SettingsError),
    /// The database cannot be used.
    #[error("database: {0}")]
    Store(#[from] graduatorie_store::StoreError),
    /// The database is behind this binary.
    #[error(
        "database: the schema is behind this version of graduatorie (missing {0}): run `graduatorie migrate --database {1}` first (docs/operations.md)"
    )]
    SchemaBehind(String, String),
    /// The address cannot be listened on.
    #[error("server.bind: cannot listen on {0}: {1}")]
    Bind(String, std::io::Error),
}

/// Sets up logging for the process (once, at start-up): JSON lines or text on standard error, with
/// UTC times.
pub fn init_logging(log: &settings::Log) {
    let filter = tracing_subscriber::EnvFilter::new(format!(
        "{level},actix_server=warn,actix_web=warn",
        level = log.level
    ));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false);
    // A second call (tests start several servers in one process) keeps the first subscriber.
    let _ = match log.format {
        // Events carry what they need; spans are not repeated on every line.
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .with_span_list(false)
            .try_init(),
        LogFormat::Text => builder.try_init(),
    };
}

/// Opens the database and brings its schema up to date: the embedded SQLite database is migrated on
/// start; a PostgreSQL database must have been migrated by `graduatorie migrate` (an administrator's
/// act, often with other rights), and the service refuses to start on an older schema.
pub fn open_store(settings: &Settings, durability: DurabilityCheck) -> Result<Store, StartError> {
    let url = DatabaseUrl::parse(&settings.database.url)
        .map_err(|e| SettingsError::from_message(format!("database.url: {e}")))?;
    let mut config = StoreConfig::new(url.clone());
    config.pool_size = settings.database.pool_size;
    config.durability = durability;
    let store = Store::open(&config)?;
    match store.backend() {
        Backend::Sqlite => {
            let applied = store.migrate()?;
            if !applied.is_empty() {
                tracing::info!(operation = "migrate", versions = %applied.join(","), "schema migrated");
            }
        }
        Backend::Postgres => {
            let pending = store.pending_migrations()?;
            if !pending.is_empty() {
                return Err(StartError::SchemaBehind(pending.join(", "), url.redacted()));
            }
        }
    }
    Ok(store)
}

/// The routes, for the server and for tests.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/status", web::get().to(status::status));
}

/// A server bound to its address, not yet running.
pub struct Bound {
    /// The address actually bound (a port of 0 in the settings gets a free one).
    pub addr: SocketAddr,
    /// The server; await it to run until SIGTERM or Ctrl-C.
    pub server: actix_web::dev::Server,
}

/// Binds the server. On SIGTERM or Ctrl-C it stops accepting connections and gives requests in flight
/// `server.shutdown_timeout_seconds` to finish; a submission's transaction either commits before its
/// answer is sent or is rolled back, so nothing is half-written.
pub fn bind(settings: &Settings, store: Store) -> Result<Bound, StartError> {
    let addr = settings.bind_address()?;
    let state = web::Data::new(AppState { store });
    let mut server = HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            // The last `wrap` is the outermost: the request id exists before the access log runs.
            .wrap(actix_web::middleware::from_fn(access_log::log_request))
            .wrap(TracingLogger::<access_log::RequestSpan>::new())
            .configure(routes)
            .default_service(web::to(problem::not_found))
    })
    .shutdown_timeout(settings.server.shutdown_timeout_seconds);
    if settings.server.workers > 0 {
        server = server.workers(settings.server.workers);
    }
    let server = server
        .bind(addr)
        .map_err(|e| StartError::Bind(addr.to_string(), e))?;
    let addr = server.addrs().first().copied().unwrap_or(addr);
    Ok(Bound {
        addr,
        server: server.run(),
    })
}
