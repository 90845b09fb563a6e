//! Housekeeping: a background job that forgets what must not be kept longer than it is needed.
//! Today that is the first answers to idempotent POSTs, kept for a retry for the configured
//! lifetime (`TUMAINI_IDEMPOTENCY_HOURS`) and then deleted. Safe with several replicas: a
//! delete by age deletes each row once, whoever runs it.

use std::time::Duration;

use tumaini_db::models::idempotency;
use tumaini_db::time::now_utc;
use tumaini_db::{DbConn, DbError, Pool};

use crate::jobs::{Job, Round};

/// How often housekeeping runs.
const EVERY: Duration = Duration::from_secs(600);

/// The running job; stops when dropped.
#[derive(Debug)]
pub struct Housekeeping {
    job: Job,
}

impl Housekeeping {
    /// Starts housekeeping in a background thread: one round at once, then every ten minutes.
    pub fn start(pool: Pool, idempotency_ttl: Duration) -> anyhow::Result<Self> {
        let job = Job::spawn("housekeeping", EVERY, move || {
            match pool.get() {
                Ok(mut conn) => match sweep(&mut conn, idempotency_ttl) {
                    Ok(0) => {}
                    Ok(pruned) => tracing::info!(pruned, "housekeeping: idempotent answers pruned"),
                    Err(err) => tracing::warn!(error = %err, "housekeeping failed"),
                },
                Err(err) => tracing::warn!(error = %err, "housekeeping: no connection"),
            }
            Round::Rest
        })?;
        Ok(Self { job })
    }

    /// Stops the job after its current round.
    pub fn stop(&mut self) {
        self.job.stop();
    }
}

/// One round: deletes the idempotent answers older than `ttl`. Returns how many.
pub fn sweep(conn: &mut DbConn, ttl: Duration) -> Result<usize, DbError> {
    let before = now_utc() - chrono::Duration::from_std(ttl).unwrap_or(chrono::Duration::hours(72));
    idempotency::prune(conn, before)
}
