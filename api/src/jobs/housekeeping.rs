//! Housekeeping: a background job for the work that follows an answer rather than delaying it,
//! and for forgetting what must not be kept longer than it is needed.
//!
//! - Possible duplicates the registering organisation may not see, queued at registration, are
//!   confirmed and told to their holders (`crate::cases::duplicates::check_queued`) within
//!   seconds; a check is taken off the queue in the transaction that records it, so none is
//!   lost if the server stops, and one replica does each.
//! - The first answers to idempotent POSTs, kept for a retry for the configured lifetime
//!   (`TUMAINI_IDEMPOTENCY_HOURS`), are then deleted (a delete by age deletes each row once,
//!   whoever runs it).
//! - Document content nothing refers to (abandoned uploads, content an erasure or retention
//!   discarded from an object store) is removed (`crate::documents::sweep`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use tumaini_db::models::idempotency;
use tumaini_db::time::now_utc;
use tumaini_db::vault::Vault;
use tumaini_db::{DbConn, DbError, Pool};

use crate::documents::store::DocumentStore;
use crate::jobs::{Job, Round};

/// How often the queue of duplicate checks is looked at.
const EVERY: Duration = Duration::from_secs(5);
/// How often old idempotent answers are pruned.
const PRUNE_EVERY: Duration = Duration::from_secs(600);
/// Duplicate checks per round.
const CHECKS: i64 = 100;

/// The running job; stops when dropped.
#[derive(Debug)]
pub struct Housekeeping {
    job: Job,
}

impl Housekeeping {
    /// Starts housekeeping in a background thread.
    pub fn start(
        pool: Pool,
        vault: Arc<Vault>,
        idempotency_ttl: Duration,
        public_url: String,
        audit_events: tumaini_db::audit_chain::EventKey,
        documents: DocumentStore,
        abandoned_upload: Duration,
    ) -> anyhow::Result<Self> {
        let mut pruned_at: Option<Instant> = None;
        // Object stores are asynchronous; this job's thread drives them on a runtime of its own.
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let job = Job::spawn("housekeeping", EVERY, move || {
            let mut conn = match pool.get() {
                Ok(conn) => conn,
                Err(err) => {
                    tracing::warn!(error = %err, "housekeeping: no connection");
                    return Round::Rest;
                }
            };
            let mut round = Round::Rest;
            match crate::cases::duplicates::check_queued(
                &mut conn,
                &vault,
                &public_url,
                &audit_events,
                CHECKS,
            ) {
                Ok(0) => {}
                Ok(confirmed) => {
                    tracing::info!(
                        confirmed,
                        "housekeeping: possible duplicates told to holders"
                    );
                }
                Err(err) => tracing::warn!(error = %err, "housekeeping: duplicate checks failed"),
            }
            if tumaini_db::models::duplicate::queued_checks(&mut conn, 1)
                .is_ok_and(|left| !left.is_empty())
            {
                round = Round::Again;
            }
            match crate::documents::sweep::sweep(&mut conn, &documents, &runtime, abandoned_upload)
            {
                Ok(0) => {}
                Ok(removed) => tracing::info!(
                    removed,
                    "housekeeping: unreferenced document content removed"
                ),
                Err(err) => {
                    tracing::warn!(error = %err, "housekeeping: document content sweep failed")
                }
            }
            if pruned_at.is_none_or(|at| at.elapsed() >= PRUNE_EVERY) {
                match sweep(&mut conn, idempotency_ttl) {
                    Ok(0) => {}
                    Ok(pruned) => tracing::info!(pruned, "housekeeping: idempotent answers pruned"),
                    Err(err) => tracing::warn!(error = %err, "housekeeping: pruning failed"),
                }
                pruned_at = Some(Instant::now());
            }
            round
        })?;
        Ok(Self { job })
    }

    /// Stops the job after its current round.
    pub fn stop(&mut self) {
        self.job.stop();
    }
}

/// Deletes the idempotent answers older than `ttl`. Returns how many.
pub fn sweep(conn: &mut DbConn, ttl: Duration) -> Result<usize, DbError> {
    let before = now_utc() - chrono::Duration::from_std(ttl).unwrap_or(chrono::Duration::hours(72));
    idempotency::prune(conn, before)
}
