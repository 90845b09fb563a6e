//! Liveness and readiness, for load balancers and orchestrators.

use std::time::Duration;

use actix_web::{get, web};
use serde::Serialize;
use tumaini_db::{DbError, migrations};
use utoipa::ToSchema;

use crate::http::{ApiError, Problem};
use crate::state::AppState;

/// The process answers.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// Always `alive`.
    #[schema(example = "alive")]
    pub status: &'static str,
}

/// The service can take traffic.
#[derive(Debug, Serialize, ToSchema)]
pub struct Readiness {
    /// Always `ready` (otherwise the answer is a 503 problem).
    #[schema(example = "ready")]
    pub status: &'static str,
    /// The storage engine in use: `sqlite` or `postgres`.
    #[schema(example = "sqlite")]
    pub database: &'static str,
    /// Always `current`: every migration has been applied.
    #[schema(example = "current")]
    pub migrations: &'static str,
}

/// Liveness: the process is running and serving HTTP. Touches no database.
#[utoipa::path(
    tag = "operations",
    responses((status = 200, description = "The process is alive", body = Health)),
)]
#[get("/healthz")]
pub async fn healthz() -> web::Json<Health> {
    web::Json(Health { status: "alive" })
}

/// How long readiness waits for a database connection.
const READY_TIMEOUT: Duration = Duration::from_secs(2);

/// Readiness: the database answers and its schema is current.
#[utoipa::path(
    tag = "operations",
    responses(
        (status = 200, description = "Ready for traffic", body = Readiness),
        (
            status = 503,
            description = "The database is unreachable or migrations are pending",
            body = Problem,
            content_type = "application/problem+json",
        ),
    ),
)]
#[get("/readyz")]
pub async fn readyz(state: web::Data<AppState>) -> Result<web::Json<Readiness>, ApiError> {
    let pool = state.pool.clone();
    let pending = web::block(move || -> Result<Vec<String>, DbError> {
        let mut conn = pool.get_timeout(READY_TIMEOUT)?;
        migrations::pending(&mut conn)
    })
    .await
    .map_err(|e| ApiError::Internal(e.into()))?;
    match pending {
        Ok(pending) if pending.is_empty() => Ok(web::Json(Readiness {
            status: "ready",
            database: state.engine.name(),
            migrations: "current",
        })),
        Ok(pending) => Err(ApiError::unavailable(format!(
            "{} database migration(s) pending: run `tumaini migrate`",
            pending.len()
        ))),
        Err(err) => {
            tracing::warn!(error = %err, "readiness check failed");
            Err(ApiError::unavailable("the database is not reachable"))
        }
    }
}
