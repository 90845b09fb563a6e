//! The retention job: applies the retention schedule every interval (default hourly), and marks
//! the erasure requests nobody approved in time as expired. Safe with several replicas: a case
//! is claimed for erasure by a conditional update (the second replica finds it erased), the
//! other records are deleted by age (each row once), and an expiry is a conditional update.

use std::sync::Arc;
use std::time::Duration;

use tumaini_db::Pool;
use tumaini_db::audit_chain::EventKey;
use tumaini_db::time::now_utc;
use tumaini_db::vault::Vault;

use crate::config::RetentionSchedule;
use crate::jobs::{Job, Round};

/// The running job; stops when dropped.
#[derive(Debug)]
pub struct RetentionJob {
    job: Job,
}

impl RetentionJob {
    /// Starts the job in a background thread, running a first round at once.
    pub fn start(
        pool: Pool,
        vault: Arc<Vault>,
        schedule: RetentionSchedule,
        interval: Duration,
        public_url: String,
        audit_events: EventKey,
    ) -> anyhow::Result<Self> {
        let context = crate::auth::RequestContext::system(&audit_events);
        let job = Job::spawn("retention", interval, move || {
            let mut conn = match pool.get() {
                Ok(conn) => conn,
                Err(err) => {
                    tracing::warn!(error = %err, "retention: no connection");
                    return Round::Rest;
                }
            };
            match crate::retention::run(
                &mut conn,
                &vault,
                &schedule,
                now_utc(),
                &public_url,
                &context,
                false,
                &mut |_, _| {},
            ) {
                Ok(tally) if tally.total() > 0 || tally.held > 0 || tally.failed > 0 => {
                    let counts: Vec<String> = tally
                        .by_kind
                        .iter()
                        .filter(|(_, n)| **n > 0)
                        .map(|(kind, n)| format!("{}={n}", kind.code()))
                        .collect();
                    tracing::info!(
                        erased = %counts.join(" "),
                        held = tally.held,
                        failed = tally.failed,
                        "retention: records past their period erased"
                    );
                }
                Ok(_) => {}
                Err(err) => tracing::warn!(error = %err, "retention: run failed"),
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
