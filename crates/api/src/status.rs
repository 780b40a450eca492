//! `GET /status`: whether the service can do its work (database reachable, schema current), for load
//! balancers and monitoring. It says nothing about anyone's data.

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use serde::Serialize;
use utoipa::ToSchema;

use crate::AppState;

/// The health of the service.
#[derive(Debug, Serialize, ToSchema)]
pub struct StatusView {
    /// `ok` or `unavailable`.
    pub status: &'static str,
    /// The version of graduatorie.
    pub version: &'static str,
    /// `reachable`, `unreachable` or `unknown`.
    pub database: &'static str,
    /// `current` or `pending`, when the database is reachable.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub migrations: Option<&'static str>,
    /// The migrations not applied yet.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub pending: Vec<String>,
}

/// 200 when the database answers and its schema is current; 503 with `Retry-After` otherwise.
#[utoipa::path(get, operation_id = "getStatus", path = "/status", tag = "service",
    responses((status = 200, description = "Database reachable, schema current", body = StatusView),
        (status = 503, description = "Database unreachable or schema behind; `Retry-After` set", body = StatusView)))]
pub async fn status(state: web::Data<AppState>) -> HttpResponse {
    let store = state.store.clone();
    let checked = web::block(move || store.pending_migrations()).await;
    let view = |status, database, migrations, pending| StatusView {
        status,
        version: env!("CARGO_PKG_VERSION"),
        database,
        migrations,
        pending,
    };
    let body = match checked {
        Ok(Ok(pending)) if pending.is_empty() => view("ok", "reachable", Some("current"), pending),
        Ok(Ok(pending)) => view("unavailable", "reachable", Some("pending"), pending),
        Ok(Err(e)) => {
            tracing::warn!(operation = "status", outcome = "database_unreachable", error = %e);
            view("unavailable", "unreachable", None, Vec::new())
        }
        Err(_) => view("unavailable", "unknown", None, Vec::new()),
    };
    let mut response = if body.status == "ok" {
        HttpResponse::Ok()
    } else {
        let mut r = HttpResponse::ServiceUnavailable();
        r.insert_header((header::RETRY_AFTER, "10"));
        r
    };
    response
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(body)
}
