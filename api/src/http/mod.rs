//! HTTP plumbing shared by every route: errors as RFC 9457 problems, request ids and access
//! logs, body limits, security headers, extractor configuration.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

pub mod client_address;
mod guards;
pub mod html;
pub mod json_body;
pub mod problem;
mod request_context;

pub use client_address::{ClientKey, ForwardedHeader, InvalidNetwork, IpNetwork, ProxySettings};
pub use guards::{TOKEN_PATH, body_guard, extractor_configs, is_form, security_headers};
pub use problem::{ApiError, Problem, ProblemType};
pub use request_context::{ClientRequestId, REQUEST_ID_HEADER, RequestId, request_context};

tokio::task_local! {
    /// When the request being served must be done with the database, so that several pieces
    /// of database work (authentication, then the handler's) share one bound.
    static DATABASE_DEADLINE: Instant;
}

/// Serves a request with `bound` on all of its database work together (see [`with_conn`]).
pub(crate) async fn with_database_deadline<F: Future>(bound: Duration, serve: F) -> F::Output {
    DATABASE_DEADLINE.scope(Instant::now() + bound, serve).await
}

/// Runs database work on the blocking pool with a pooled connection, so that a query never
/// blocks an async worker. The wait for a connection and the work together are bounded by the
/// pool's connection timeout (`TUMAINI_DB_TIMEOUT_MS`), and so is all of a request's database
/// work together: see [`with_conn_within`].
pub async fn with_conn<T: Send + 'static>(
    pool: &tumaini_db::Pool,
    work: impl FnOnce(&mut tumaini_db::DbConn) -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    with_conn_within(pool, pool.connection_timeout(), work).await
}

/// Runs database work on the blocking pool with a pooled connection, and answers 503 (a
/// database timeout) when the wait for a connection and the work have not finished within
/// `bound` (or by the request's deadline, if sooner), whatever the database does: a stopped or
/// frozen server enforces none of its own timeouts, and the thread waiting on its socket cannot
/// be interrupted.
///
/// That thread finishes when the database answers or the connection breaks; its connection
/// is then closed rather than returned to the pool (it was given up on, in whatever state it
/// was). So is a connection whose work failed because the database could not serve (a
/// connection the server cut stays dead: libpq does not reconnect).
///
/// A change whose request was answered 503 for lack of time may still be made when a frozen
/// database resumes; clients repeat it with the same `Idempotency-Key`.
pub async fn with_conn_within<T: Send + 'static>(
    pool: &tumaini_db::Pool,
    bound: Duration,
    work: impl FnOnce(&mut tumaini_db::DbConn) -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    let bound = match DATABASE_DEADLINE.try_with(|at| at.saturating_duration_since(Instant::now()))
    {
        Ok(left) if left.is_zero() => {
            return Err(ApiError::from(tumaini_db::DbError::deadline_passed(bound)));
        }
        Ok(left) => bound.min(left),
        Err(_) => bound,
    };
    let pool = pool.clone();
    let given_up = Arc::new(AtomicBool::new(false));
    let abandoned = Arc::clone(&given_up);
    let task = actix_web::web::block(move || {
        // The wait for a connection ends a little before the bound, so that a database that
        // refuses connections is reported as unreachable, not as slow.
        let mut conn = pool
            .get_timeout(bound - bound / 10)
            .map_err(tumaini_db::DbError::from)?;
        let result = work(&mut conn);
        let abandoned = abandoned.load(Ordering::Acquire);
        let failed = result
            .as_ref()
            .err()
            .is_some_and(|err| err.unavailability().is_some());
        if abandoned || failed {
            tumaini_db::discard(conn);
        }
        result
    });
    match actix_web::rt::time::timeout(bound, task).await {
        Ok(joined) => joined.map_err(|e| ApiError::Internal(e.into()))?,
        Err(_) => {
            given_up.store(true, Ordering::Release);
            Err(ApiError::from(tumaini_db::DbError::deadline_passed(bound)))
        }
    }
}
