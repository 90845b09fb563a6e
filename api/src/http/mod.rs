//! HTTP plumbing shared by every route: errors as RFC 9457 problems, request ids and access
//! logs, body limits, security headers, extractor configuration.

pub mod client_address;
mod guards;
pub mod json_body;
pub mod problem;
mod request_context;

pub use client_address::{ClientKey, ForwardedHeader, InvalidNetwork, IpNetwork, ProxySettings};
pub use guards::{TOKEN_PATH, body_guard, extractor_configs, is_form, security_headers};
pub use problem::{ApiError, Problem, ProblemType};
pub use request_context::{ClientRequestId, REQUEST_ID_HEADER, RequestId, request_context};

/// Runs database work on the blocking pool with a pooled connection, so that a query never
/// blocks an async worker.
pub async fn with_conn<T: Send + 'static>(
    pool: &tumaini_db::Pool,
    work: impl FnOnce(&mut tumaini_db::DbConn) -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    let pool = pool.clone();
    actix_web::web::block(move || {
        let mut conn = pool.get().map_err(tumaini_db::DbError::from)?;
        work(&mut conn)
    })
    .await
    .map_err(|e| ApiError::Internal(e.into()))?
}
