//! `/metrics`: the server's Prometheus metrics, for the monitoring system's scraper.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, get, web};

use crate::http::{ApiError, Problem};
use crate::metrics::{CONTENT_TYPE, Listener, scrape};
use crate::state::AppState;

/// The bearer token of the request, if it sent one.
fn bearer(req: &HttpRequest) -> Option<&str> {
    req.headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
}

/// The metrics in the Prometheus text format, on the listener `listener`.
async fn answer(
    state: &AppState,
    req: &HttpRequest,
    listener: Listener,
) -> Result<HttpResponse, ApiError> {
    let text = scrape(&state.metrics, &state.pool, listener, bearer(req)).await?;
    Ok(HttpResponse::Ok().content_type(CONTENT_TYPE).body(text))
}

/// Prometheus metrics: requests by route pattern, method and status with latency histograms,
/// the connection pool, the outbox, the audit chain, the deadline scanner, refused sign-ins and
/// locks, misuse alerts and break-glass openings. No label or value carries an id, an address
/// or a personal value. Served here only when `TUMAINI_METRICS_TOKEN` is set and
/// `TUMAINI_METRICS_BIND` is not (404 otherwise); the scraper sends the token as a bearer
/// token.
#[utoipa::path(
    tag = "operations",
    security(("metrics_token" = [])),
    responses(
        (
            status = 200,
            description = "The metrics, in the Prometheus text exposition format 0.0.4",
            body = String,
            content_type = "text/plain; version=0.0.4",
        ),
        (
            status = 401,
            description = "No scrape token, or not the configured one",
            body = Problem,
            content_type = "application/problem+json",
        ),
        (
            status = 404,
            description = "Metrics are not served on this listener",
            body = Problem,
            content_type = "application/problem+json",
        ),
    ),
)]
#[get("/metrics")]
pub async fn metrics(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    answer(&state, &req, Listener::Main).await
}

/// `/metrics` on the listener of its own (`TUMAINI_METRICS_BIND`), which serves nothing else.
/// Not part of the API description: it is not on the API's listener.
pub async fn metrics_listener(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    answer(&state, &req, Listener::Dedicated).await
}
