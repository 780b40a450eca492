//! `GET /status`: whether the service can do its work (database reachable, schema current), for load
//! balancers and monitoring. It says nothing about anyone's data.

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use serde_json::json;

use crate::AppState;

/// 200 when the database answers and its schema is current; 503 with `Retry-After` otherwise.
pub async fn status(state: web::Data<AppState>) -> HttpResponse {
    let store = state.store.clone();
    let checked = web::block(move || store.pending_migrations()).await;
    let version = env!("CARGO_PKG_VERSION");
    let (ok, body) = match checked {
        Ok(Ok(pending)) if pending.is_empty() => (
            true,
            json!({ "status": "ok", "version": version, "database": "reachable", "migrations": "current" }),
        ),
        Ok(Ok(pending)) => (
            false,
            json!({ "status": "unavailable", "version": version, "database": "reachable",
                    "migrations": "pending", "pending": pending }),
        ),
        Ok(Err(e)) => {
            tracing::warn!(operation = "status", outcome = "database_unreachable", error = %e);
            (
                false,
                json!({ "status": "unavailable", "version": version, "database": "unreachable" }),
            )
        }
        Err(_) => (
            false,
            json!({ "status": "unavailable", "version": version, "database": "unknown" }),
        ),
    };
    let mut response = if ok {
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
