//! The outermost middleware: gives every request an id, runs it inside a span that carries the
//! id, writes one access-log line, and turns every error response into problem+json carrying
//! the id.

use std::time::Instant;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage};
use tracing::Instrument;

use super::problem::{PROBLEM_JSON, Problem, ProblemType};

/// The header that carries the request id, in both directions.
pub const REQUEST_ID_HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// Largest error body the middleware will read back to add the request id.
const MAX_ERROR_BODY: usize = 64 * 1024;

/// The id of the request being served: always the server's own, a fresh UUID v7, so that no
/// client can choose what the audit trail and the logs file a request under. Handlers read it
/// from the request extensions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestId(pub String);

/// The `X-Request-Id` a client (or its gateway) sent, when it is a plain token of 8 to 64
/// letters, digits, `-`, `_` or `.`: recorded beside the server's id, for correlation, never in
/// its place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientRequestId(pub String);

impl ClientRequestId {
    fn from_request(req: &ServiceRequest) -> Option<Self> {
        req.headers()
            .get(&REQUEST_ID_HEADER)
            .and_then(|v| v.to_str().ok())
            .filter(|v| {
                (8..=64).contains(&v.len())
                    && v.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
            })
            .map(|v| Self(v.to_owned()))
    }
}

/// See the module documentation. Wrap it outermost so that it sees every response.
pub async fn request_context(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let request_id = RequestId(uuid::Uuid::now_v7().to_string());
    req.extensions_mut().insert(request_id.clone());
    let client_request_id = ClientRequestId::from_request(&req);
    if let Some(client) = &client_request_id {
        req.extensions_mut().insert(client.clone());
    }
    let method = req.method().to_string();
    let span = tracing::info_span!(
        "request",
        request_id = %request_id.0,
        client_request_id = client_request_id.as_ref().map(|c| c.0.as_str())
    );
    let started = Instant::now();

    // Handlers' and extractors' errors arrive here already turned into responses; an `Err`
    // can only come from a middleware, and the inner ones answer with responses instead.
    // All of the request's database work shares one bound (`with_conn`).
    let database_bound = req
        .app_data::<actix_web::web::Data<crate::state::AppState>>()
        .map(|state| state.pool.connection_timeout());
    let serving = next.call(req).instrument(span.clone());
    let served = match database_bound {
        Some(bound) => super::with_database_deadline(bound, serving).await,
        None => serving.await,
    };
    let response = match served {
        Ok(response) => response.map_into_boxed_body(),
        Err(err) => {
            span.in_scope(|| tracing::error!(method, error = %err, "middleware failed"));
            return Err(err);
        }
    };
    let status = response.status();
    // The web console's pages (its error pages, a form shown again with a 422) are HTML for a
    // person, already in their language: only the API's errors become problem documents.
    let is_page = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"text/html"));
    let mut response = if (status.is_client_error() || status.is_server_error()) && !is_page {
        as_problem(response, &request_id).await
    } else {
        response
    };
    if let Ok(value) = HeaderValue::from_str(&request_id.0) {
        response.headers_mut().insert(REQUEST_ID_HEADER, value);
    }

    // The matched pattern (`/api/v1/cases/{id}`), never the raw path or query: a mistyped URL
    // may hold anything, including a name.
    let route = response
        .request()
        .match_pattern()
        .unwrap_or_else(|| "(unmatched)".to_owned());
    let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
    span.in_scope(|| {
        tracing::info!(
            method,
            route,
            status = status.as_u16(),
            latency_ms,
            "request completed"
        );
    });
    Ok(response)
}

/// Rewrites an error response as problem+json with the request id, keeping its status and its
/// other headers (`Allow`, `Retry-After`, `WWW-Authenticate`). A problem produced by a handler
/// keeps its type and detail; anything else (a framework 404 or 405) gets the type for its
/// status and no detail.
async fn as_problem(response: ServiceResponse<BoxBody>, request_id: &RequestId) -> ServiceResponse {
    let (request, response) = response.into_parts();
    let status = response.status();
    let is_problem = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes() == PROBLEM_JSON.as_bytes());
    let (head, body) = response.into_parts();
    let mut problem = if is_problem {
        actix_web::body::to_bytes_limited(body, MAX_ERROR_BODY)
            .await
            .ok()
            .and_then(Result::ok)
            .and_then(|bytes| serde_json::from_slice::<Problem>(&bytes).ok())
    } else {
        None
    }
    .unwrap_or_else(|| Problem::new(ProblemType::for_status(status), None));
    problem.status = status.as_u16();
    problem.request_id = Some(request_id.0.clone());

    let mut rewritten = problem.into_response();
    let kept = |name: &HeaderName| name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH;
    // The handler's own headers win over the defaults of `into_response` (a `Retry-After`).
    for name in head.headers().keys().filter(|name| kept(name)) {
        rewritten.headers_mut().remove(name);
    }
    for (name, value) in head.headers() {
        if kept(name) {
            rewritten.headers_mut().append(name.clone(), value.clone());
        }
    }
    ServiceResponse::new(request, rewritten)
}
