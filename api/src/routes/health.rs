//! Liveness and readiness, for load balancers and orchestrators.

use std::sync::Arc;
use std::time::Duration;

use actix_web::{get, web};
use serde::Serialize;
use tumaini_db::models::outbox;
use tumaini_db::time::now_utc;
use tumaini_db::{Unavailability, migrations};
use utoipa::ToSchema;

use crate::http::{ApiError, Problem, with_conn_within};
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

/// How long readiness may take in all: the wait for a connection, the database's answers and
/// the look at its disk. A database that has not answered by then is not ready.
pub const READY_TIMEOUT: Duration = Duration::from_secs(2);

/// What readiness learns from the database and its disk.
struct Findings {
    pending_migrations: usize,
    oldest_unsent_mail: Option<chrono::NaiveDateTime>,
    free_disk_bytes: Option<u64>,
}

/// Readiness: the database answers within [`READY_TIMEOUT`] and its schema is current; for
/// SQLite, its disk has room; the audit sealer has finished a round recently; no e-mail has
/// waited too long to be sent. Each limit is a setting (`TUMAINI_READY_*`). When the fault
/// clears, the next check says ready: nothing is latched.
#[utoipa::path(
    tag = "operations",
    responses(
        (status = 200, description = "Ready for traffic", body = Readiness),
        (
            status = 503,
            description = "Not ready: the database is unreachable or too slow, migrations are \
                           pending, the database's disk is nearly full, the audit sealer is \
                           behind, or e-mail is not being sent",
            body = Problem,
            content_type = "application/problem+json",
        ),
    ),
)]
#[get("/readyz")]
pub async fn readyz(state: web::Data<AppState>) -> Result<web::Json<Readiness>, ApiError> {
    let settings = Arc::clone(&state.readiness);
    let disk_dir = settings
        .sqlite_dir
        .clone()
        .filter(|_| settings.min_free_disk_bytes > 0);
    let findings = with_conn_within(&state.pool, READY_TIMEOUT, move |conn| {
        let pending_migrations = migrations::pending(conn)?.len();
        // The outbox may not exist yet in a schema that is not current.
        let oldest_unsent_mail = if pending_migrations == 0 {
            outbox::oldest_unsent_queued_at(conn)?
        } else {
            None
        };
        Ok(Findings {
            pending_migrations,
            oldest_unsent_mail,
            free_disk_bytes: disk_dir.as_deref().and_then(free_disk_bytes),
        })
    })
    .await
    .map_err(|err| {
        tracing::warn!(error = %err, "readiness check failed");
        let why = err
            .unavailability()
            .map_or("the database is not reachable", Unavailability::explanation);
        ApiError::unavailable(format!("database: {why}"))
    })?;
    let mut faults = Vec::new();
    if findings.pending_migrations > 0 {
        faults.push(format!(
            "{} database migration(s) pending: run `tumaini migrate`",
            findings.pending_migrations
        ));
    }
    if let Some(free) = findings.free_disk_bytes
        && free < settings.min_free_disk_bytes
    {
        faults.push(format!(
            "the database's disk has {} MB free, less than the {} MB required \
             (TUMAINI_READY_MIN_FREE_DISK_MB)",
            free / MB,
            settings.min_free_disk_bytes / MB
        ));
    }
    let since_seal = state.metrics.since_last_seal();
    if since_seal > settings.audit_seal_lag {
        faults.push(format!(
            "the audit sealer has not completed a round for {} s (TUMAINI_READY_AUDIT_SEAL_LAG_SECS)",
            since_seal.as_secs()
        ));
    }
    if let Some(queued) = findings.oldest_unsent_mail {
        let waited = (now_utc() - queued).to_std().unwrap_or_default();
        if waited > settings.outbox_max_age {
            faults.push(format!(
                "an e-mail has waited {} s to be sent (TUMAINI_READY_OUTBOX_MAX_AGE_SECS)",
                waited.as_secs()
            ));
        }
    }
    if !faults.is_empty() {
        tracing::warn!(faults = %faults.join("; "), "not ready");
        return Err(ApiError::unavailable(faults.join("; ")));
    }
    Ok(web::Json(Readiness {
        status: "ready",
        database: state.engine.name(),
        migrations: "current",
    }))
}

const MB: u64 = 1024 * 1024;

/// The space an unprivileged writer may still use on the file system holding `dir`.
#[cfg(unix)]
fn free_disk_bytes(dir: &std::path::Path) -> Option<u64> {
    let stat = rustix::fs::statvfs(dir).ok()?;
    Some(stat.f_bavail.saturating_mul(stat.f_frsize))
}

/// Not measured on this platform.
#[cfg(not(unix))]
fn free_disk_bytes(_dir: &std::path::Path) -> Option<u64> {
    None
}
