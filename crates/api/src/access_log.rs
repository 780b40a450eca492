//! One structured log line per request: request id, method, route pattern (never the raw path, which
//! could carry something a person typed), actor (a pseudonym), status, outcome and duration. Bodies, queries and headers
//! are never logged.

use std::time::Instant;

use actix_web::HttpMessage;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;

/// The span of a request holds its id only. tracing-actix-web's default span records the raw path,
/// the client's IP address and its user agent: personal data, or places where personal data can hide.
pub struct RequestSpan;

impl tracing_actix_web::RootSpanBuilder for RequestSpan {
    fn on_request_start(request: &ServiceRequest) -> tracing::Span {
        let request_id = request
            .extensions()
            .get::<tracing_actix_web::RequestId>()
            .map(ToString::to_string)
            .unwrap_or_default();
        tracing::info_span!("request", request_id)
    }

    fn on_request_end<B: MessageBody>(
        _span: tracing::Span,
        _outcome: &Result<ServiceResponse<B>, actix_web::Error>,
    ) {
    }
}

/// The middleware (wrapped inside `TracingLogger`, which assigns the request id).
pub async fn log_request(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let method = req.method().to_string();
    let request_id = req
        .extensions()
        .get::<tracing_actix_web::RequestId>()
        .map(ToString::to_string)
        .unwrap_or_default();
    let res = next.call(req).await?;
    let route = res
        .request()
        .match_pattern()
        .unwrap_or_else(|| "unmatched".to_owned());
    let actor = res
        .request()
        .extensions()
        .get::<crate::auth::Actor>()
        .map_or_else(|| "anonymous".to_owned(), |a| a.0.clone());
    let status = res.status().as_u16();
    let outcome = match status {
        0..400 => "ok",
        400..500 => "refused",
        _ => "failed",
    };
    let elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    tracing::info!(
        request_id, method, route, actor, status, outcome, elapsed_ms, "request"
    );
    Ok(res)
}
