//! The HTTP service. Handlers only translate HTTP: the work lives in the crates below (`store`,
//! `rules`, `ranker`). Database calls are blocking (diesel), so they run on actix's blocking thread
//! pool (`web::block`), never on the async workers.

mod access_log;
pub mod auth;
pub mod blocking;
pub mod body;
pub mod families;
pub mod mail;
pub mod openapi;
pub mod problem;
pub mod rate_limit;
pub mod rules_cache;
pub mod settings;
pub mod status;

use std::net::SocketAddr;
use std::sync::Arc;

use actix_web::http::header;
use actix_web::middleware::{Condition, DefaultHeaders};
use actix_web::{App, HttpServer, web};
use graduatorie_store::batch::SubmissionWriter;
use graduatorie_store::{Backend, DatabaseUrl, DurabilityCheck, Store, StoreConfig};
use tracing_actix_web::TracingLogger;

pub use settings::{LogFormat, Overrides, Settings, SettingsError};

/// What every handler can reach.
#[derive(Debug)]
pub struct AppState {
    /// The database.
    pub store: Store,
    /// Authentication settings and keys.
    pub auth: auth::Auth,
    /// Compiled regulations of the calls.
    pub rules: rules_cache::RulesCache,
    /// The single writer that commits submissions in groups.
    pub writer: Arc<SubmissionWriter>,
}

/// The header every response carries while the development login is on.
pub const DEV_LOGIN_HEADER: &str = "X-Graduatorie-Dev-Login";

/// Submissions committed together at most (one commit each group).
const MAX_GROUP: usize = 64;

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
            if let Some(language) = graduatorie_store::durability::non_english_messages(&mut *store.conn()?)?
            {
                tracing::warn!(
                    operation = "start",
                    lc_messages = %language,
                    "PostgreSQL writes its messages in another language than English: some lock timeouts and dropped connections will be answered 500 instead of 503 with Retry-After. Set lc_messages = 'C' (docs/operations.md)"
                );
            }
            let pending = store.pending_migrations()?;
            if !pending.is_empty() {
                return Err(StartError::SchemaBehind(pending.join(", "), url.redacted()));
            }
        }
    }
    Ok(store)
}

/// An address and the methods it takes; any other method is `405` with `Allow`.
fn resource(path: &str, allow: &'static str) -> actix_web::Resource {
    web::resource(path).default_service(web::to(move |req: actix_web::HttpRequest| async move {
        problem::method_not_allowed(&req, allow)
    }))
}

/// The routes, for the server and for tests.
pub fn routes(cfg: &mut web::ServiceConfig) {
    use families::{applications, calls, drafts, outcomes};
    use web::{delete, get, post, put};
    cfg.service(resource("/status", "GET").route(get().to(status::status)));
    cfg.service(
        web::scope("/api/v1")
            // Personal by default: a response that may be cached says so itself.
            .wrap(DefaultHeaders::new().add((header::CACHE_CONTROL, "no-store")))
            .service(resource("/auth/login", "POST").route(post().to(auth::routes::login)))
            .service(resource("/auth/dev-login", "POST").route(post().to(auth::routes::dev_login)))
            .service(resource("/auth/logout", "POST").route(post().to(auth::routes::logout)))
            .service(resource("/me", "GET").route(get().to(auth::routes::me)))
            .service(resource("/calls", "GET").route(get().to(calls::list)))
            .service(resource("/calls/{call}/form", "GET").route(get().to(calls::form)))
            .service(resource("/calls/{call}/applications", "POST").route(post().to(applications::submit)))
            .service(resource("/calls/{call}/drafts", "POST").route(post().to(drafts::create)))
            .service(resource("/drafts", "GET").route(get().to(drafts::list)))
            .service(
                resource("/drafts/{draft}", "GET, PUT, DELETE")
                    .route(get().to(drafts::get))
                    .route(put().to(drafts::update))
                    .route(delete().to(drafts::delete)),
            )
            .service(resource("/drafts/{draft}/submit", "POST").route(post().to(drafts::submit)))
            .service(resource("/applications", "GET").route(get().to(applications::mine)))
            .service(
                resource("/applications/{application}", "GET, PUT")
                    .route(get().to(applications::get))
                    .route(put().to(applications::amend)),
            )
            .service(
                resource("/applications/{application}/withdraw", "POST")
                    .route(post().to(applications::withdraw)),
            )
            .service(
                resource("/applications/{application}/results", "GET").route(get().to(outcomes::results)),
            )
            .service(
                resource("/applications/{application}/offers", "GET").route(get().to(outcomes::offers_of)),
            )
            .service(
                resource("/applications/{application}/objections", "GET, POST")
                    .route(get().to(outcomes::objections_of))
                    .route(post().to(outcomes::object)),
            )
            .service(resource("/offers/{offer}/answer", "POST").route(post().to(outcomes::answer)))
            .service(resource("/desk/applications", "GET").route(get().to(applications::desk_search)))
            .service(resource("/openapi.json", "GET").route(get().to(openapi_json)))
            .service(
                utoipa_swagger_ui::SwaggerUi::new("/docs/{_:.*}")
                    .url("/api/v1/openapi.json", openapi::document())
                    // Swagger UI would otherwise send the document's address to validator.swagger.io
                    // from every visitor's browser: nothing leaves for a third party.
                    .config(utoipa_swagger_ui::Config::default().validator_url("none")),
            ),
    );
}

/// `GET /api/v1/openapi.json`: public, cacheable.
async fn openapi_json() -> actix_web::HttpResponse {
    actix_web::HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
        .json(openapi::document())
}

/// Extractor settings: malformed paths are "not found", malformed queries and oversized bodies get
/// problems that say so.
fn extractor_config(cfg: &mut web::ServiceConfig) {
    cfg.app_data(
        web::PathConfig::default().error_handler(|_, req| blocking::not_found(problem::Lang::of(req)).into()),
    )
    .app_data(web::QueryConfig::default().error_handler(|e, req| {
        let lang = problem::Lang::of(req);
        // serde_urlencoded names unknown fields; values are not repeated.
        let detail = match &e {
            actix_web::error::QueryPayloadError::Deserialize(d)
                if d.to_string().starts_with("unknown field") =>
            {
                d.to_string()
            }
            _ => "parametri non validi".to_owned(),
        };
        problem::Problem::new(
            problem::Kind::BadRequest,
            lang,
            &format!("Parametri della richiesta non validi: {detail}."),
            &format!("Invalid query parameters: {detail}."),
        )
        .into()
    }))
    .app_data(web::PayloadConfig::new(body::MAX_BODY));
}

/// A server bound to its address, not yet running.
pub struct Bound {
    /// The address actually bound (a port of 0 in the settings gets a free one).
    pub addr: SocketAddr,
    /// The server; await it to run until SIGTERM or Ctrl-C.
    pub server: actix_web::dev::Server,
    /// The receipt sender, when `mail.smtp_url` is set; it stops when dropped.
    pub mailer: Option<mail::Worker>,
}

/// Binds the server. On SIGTERM or Ctrl-C it stops accepting connections and gives requests in flight
/// `server.shutdown_timeout_seconds` to finish; a submission's transaction either commits before its
/// answer is sent or is rolled back, so nothing is half-written.
pub fn bind(settings: &Settings, store: Store) -> Result<Bound, StartError> {
    let addr = settings.bind_address()?;
    let auth = auth::Auth::new(&settings.auth)?;
    let dev_login = auth.dev_login;
    if dev_login {
        tracing::warn!(
            operation = "start",
            "DEVELOPMENT LOGIN ENABLED (auth.dev_login): anyone can log in as any codice fiscale. Never enable it on a server with real data."
        );
    }
    let mailer = match mail::Mailer::new(&settings.mail)? {
        Some(m) => Some(
            mail::Worker::start(
                store.clone(),
                m,
                std::time::Duration::from_secs(settings.mail.poll_seconds),
            )
            .map_err(|e| SettingsError::from_message(format!("mail: cannot start the sender: {e}")))?,
        ),
        None => {
            tracing::warn!(
                operation = "start",
                "mail.smtp_url is empty: receipt e-mails are queued in the database and sent once it is set"
            );
            None
        }
    };
    let limits = web::Data::new(rate_limit::Limits::new(&settings.rate_limit));
    let writer = SubmissionWriter::start(store.clone(), MAX_GROUP)?;
    let state = web::Data::new(AppState {
        store,
        auth,
        rules: rules_cache::RulesCache::default(),
        writer: Arc::new(writer),
    });
    let mut server = HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .app_data(limits.clone())
            .configure(extractor_config)
            .wrap(Condition::new(
                dev_login,
                DefaultHeaders::new().add((DEV_LOGIN_HEADER, "enabled: for demonstrations and tests only")),
            ))
            .wrap(actix_web::middleware::from_fn(rate_limit::limit))
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
        mailer,
    })
}
