//! Figures for monitoring, read at scrape time: counts and ages only, never a row's content or
//! id. Each is one aggregate query over an indexed or small set of rows; all are read in one
//! read-only snapshot.

use chrono::NaiveDateTime;
use diesel::dsl::{count_star, max, min};
use diesel::prelude::*;

use crate::schema::{audit_chain, audit_checkpoints, audit_events, cases, outbox, users};
use crate::vocabulary::IdentificationStage;
use crate::{DbConn, DbError};

/// The state of the background work and the accounts, as counts and times.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Backlog {
    /// Messages not yet delivered (waiting, retrying or claimed).
    pub outbox_pending: i64,
    /// When the oldest undelivered message was queued.
    pub outbox_oldest_pending: Option<NaiveDateTime>,
    /// Undelivered messages that have failed at least once.
    pub outbox_failing: i64,
    /// Audit events not yet sealed into the hash chain.
    pub audit_unsealed: i64,
    /// When the newest signed checkpoint of the chain was signed.
    pub audit_last_checkpoint: Option<NaiveDateTime>,
    /// Cases whose reasonable-grounds decision is marked overdue and still not made.
    pub overdue_reasonable_grounds: i64,
    /// Cases whose conclusive-grounds decision is marked overdue and still not made.
    pub overdue_conclusive_grounds: i64,
    /// Accounts whose lock after failed attempts is in force at `now`.
    pub accounts_locked: i64,
}

impl Backlog {
    /// Reads every figure at `now`, in one consistent snapshot.
    pub fn read(conn: &mut DbConn, now: NaiveDateTime) -> Result<Self, DbError> {
        conn.read_transaction(|conn| {
            let (outbox_pending, outbox_oldest_pending) = outbox::table
                .filter(outbox::sent_at.is_null())
                .select((count_star(), min(outbox::created_at)))
                .get_result::<(i64, Option<NaiveDateTime>)>(conn)?;
            Ok(Self {
                outbox_pending,
                outbox_oldest_pending,
                outbox_failing: outbox::table
                    .filter(outbox::sent_at.is_null())
                    .filter(outbox::attempts.gt(0))
                    .count()
                    .get_result(conn)?,
                audit_unsealed: audit_events::table
                    .left_join(audit_chain::table)
                    .filter(audit_chain::event_id.is_null())
                    .count()
                    .get_result(conn)?,
                audit_last_checkpoint: audit_checkpoints::table
                    .select(max(audit_checkpoints::signed_at))
                    .get_result(conn)?,
                overdue_reasonable_grounds: cases::table
                    .filter(cases::erased_at.is_null())
                    .filter(cases::identification_stage.eq(IdentificationStage::ReferredToNrm))
                    .filter(cases::reasonable_grounds_overdue_at.is_not_null())
                    .filter(cases::reasonable_grounds_decided_at.is_null())
                    .count()
                    .get_result(conn)?,
                overdue_conclusive_grounds: cases::table
                    .filter(cases::erased_at.is_null())
                    .filter(
                        cases::identification_stage
                            .eq(IdentificationStage::ReasonableGroundsPositive),
                    )
                    .filter(cases::conclusive_grounds_overdue_at.is_not_null())
                    .filter(cases::conclusive_grounds_decided_at.is_null())
                    .count()
                    .get_result(conn)?,
                accounts_locked: users::table
                    .filter(users::locked_until.gt(now))
                    .count()
                    .get_result(conn)?,
            })
        })
    }
}
