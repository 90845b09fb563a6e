//! The deadline scanner: a background thread that finds NRM decisions past their deadline,
//! marks them overdue and e-mails the coordinators of the case's country through the outbox,
//! once per deadline; and referrals left unanswered past their response deadline, which it
//! marks expired, escalating to the coordinators of the country that owns the case (once) and
//! telling the referring organisation; and follow-ups whose reminder is due, whose assignee it
//! e-mails once.
//!
//! What is due and when is defined once, in `tumaini_db::models::case::Deadline` and
//! `tumaini_db::models::referral::Referral` (which cases await a decision, which referrals an
//! answer, and the overdue comparison): "my work" (`crate::work`) lists from the same
//! definitions, so the two cannot disagree.
//!
//! Safe with several replicas: each case is marked by a conditional UPDATE (`... WHERE
//! overdue_at IS NULL`) in the same transaction as its messages and its audit event, so when
//! two scanners find the same case only the one whose UPDATE changed the row notifies; the
//! other's transaction sees zero rows changed and does nothing.

use std::time::Duration;

use chrono::NaiveDateTime;
use tumaini_db::models::case::Deadline;
use tumaini_db::models::referral::Referral;
use tumaini_db::time::now_utc;
use tumaini_db::{DbConn, DbError, Pool};

use crate::jobs::{Job, Round};
use crate::metrics::{self, Metrics};
use crate::{cases, referrals};

const BATCH: i64 = 100;

/// The running scanner; stops when dropped.
#[derive(Debug)]
pub struct DeadlineScanner {
    job: Job,
}

impl DeadlineScanner {
    /// Starts the scanner thread, scanning every `interval`; runs and marks are counted in
    /// `metrics`.
    pub fn start(
        pool: Pool,
        interval: Duration,
        public_url: String,
        audit_events: tumaini_db::audit_chain::EventKey,
        metrics: Metrics,
    ) -> anyhow::Result<Self> {
        let job = Job::spawn("deadline-scan", interval, move || {
            let scanned = pool
                .get()
                .map_err(DbError::from)
                .and_then(|mut conn| scan(&mut conn, now_utc(), &public_url, &audit_events));
            match &scanned {
                Ok(0) => {}
                Ok(marked) => tracing::info!(marked, "deadline scan: decisions overdue"),
                Err(err) => tracing::warn!(error = %err, "deadline scan failed"),
            }
            metrics.deadline_scan(
                metrics::Outcome::of(&scanned),
                scanned.as_ref().copied().unwrap_or(0),
            );
            Round::Rest
        })?;
        Ok(Self { job })
    }

    /// Stops the scanner after its current round.
    pub fn stop(&mut self) {
        self.job.stop();
    }
}

/// One round at `now`: marks every newly overdue decision and expires every unanswered
/// referral past its deadline, notifying once each, and sends the follow-up reminders that are
/// due (`crate::cases::follow_ups`). Returns how many this call marked, expired or reminded.
pub fn scan(
    conn: &mut DbConn,
    now: NaiveDateTime,
    public_url: &str,
    audit_events: &tumaini_db::audit_chain::EventKey,
) -> Result<usize, DbError> {
    let mut marked = 0;
    for deadline in Deadline::ALL {
        loop {
            let due = deadline.newly_overdue(conn, now, BATCH)?;
            let found = due.len();
            for case in due {
                if cases::mark_decision_overdue(
                    conn,
                    deadline,
                    &case,
                    now,
                    public_url,
                    audit_events,
                )? {
                    marked += 1;
                }
            }
            if found < usize::try_from(BATCH).unwrap_or(usize::MAX) {
                break;
            }
        }
    }
    loop {
        let due = Referral::newly_overdue(conn, now, BATCH)?;
        let found = due.len();
        for referral in due {
            if referrals::expire_unanswered(conn, &referral, now, public_url, audit_events)? {
                marked += 1;
            }
        }
        if found < usize::try_from(BATCH).unwrap_or(usize::MAX) {
            break;
        }
    }
    marked += cases::follow_ups::send_due_reminders(conn, now, public_url, audit_events)?;
    Ok(marked)
}
