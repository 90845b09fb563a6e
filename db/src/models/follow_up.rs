//! Follow-ups scheduled on a case: a visit, a call, a court date, a medical appointment or a
//! review, due on a date, assigned to one member of staff, with an optional note sealed under
//! the case's key and an optional reminder e-mail the day before.
//!
//! Closing one and claiming its reminder are conditional UPDATEs (`... WHERE status =
//! 'scheduled'`, `... WHERE reminded_at IS NULL`), so of two concurrent closers, or two
//! replicas' reminder rounds, exactly one changes the row.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use crate::ids::{CaseId, FollowUpId, OrgId, UserId};
use crate::schema::follow_ups;
use crate::vocabulary::{FollowUpKind, FollowUpStatus};
use crate::{DbConn, DbError};

/// A follow-up as stored.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = follow_ups)]
pub struct FollowUp {
    /// Identifier.
    pub id: FollowUpId,
    /// The case.
    pub case_id: CaseId,
    /// The organisation whose work it is (the scheduler's).
    pub organisation_id: OrgId,
    /// Who is to do it.
    pub assigned_to: UserId,
    /// Who scheduled it.
    pub created_by: UserId,
    /// When.
    pub created_at: NaiveDateTime,
    /// The day it is due.
    pub due_on: NaiveDate,
    /// What it is.
    pub kind: FollowUpKind,
    /// A note, sealed under the case's key (`notes` group).
    pub note: Option<Vec<u8>>,
    /// Scheduled, done or cancelled.
    pub status: FollowUpStatus,
    /// When it was done or cancelled.
    pub closed_at: Option<NaiveDateTime>,
    /// By whom.
    pub closed_by: Option<UserId>,
    /// When the reminder is due (`None`: no reminder).
    pub remind_at: Option<NaiveDateTime>,
    /// When the reminder went out.
    pub reminded_at: Option<NaiveDateTime>,
    /// Bumped by every change.
    pub version: i32,
}

impl FollowUp {
    /// Stores a new follow-up (inside the action's transaction).
    pub fn insert(&self, conn: &mut DbConn) -> Result<(), DbError> {
        diesel::insert_into(follow_ups::table)
            .values(self)
            .execute(conn)?;
        Ok(())
    }

    /// The follow-up `id` of `case`; `NotFound` when there is none (or it is another case's).
    pub fn find_of_case(
        conn: &mut DbConn,
        case: &CaseId,
        id: &FollowUpId,
    ) -> Result<FollowUp, DbError> {
        Ok(follow_ups::table
            .filter(follow_ups::id.eq(id))
            .filter(follow_ups::case_id.eq(case))
            .select(FollowUp::as_select())
            .first(conn)?)
    }

    /// The case's follow-ups, soonest due first.
    pub fn for_case(conn: &mut DbConn, case: &CaseId) -> Result<Vec<FollowUp>, DbError> {
        Ok(follow_ups::table
            .filter(follow_ups::case_id.eq(case))
            .order((follow_ups::due_on, follow_ups::id))
            .select(FollowUp::as_select())
            .load(conn)?)
    }

    /// Moves a scheduled follow-up to `to` (done or cancelled). `Ok(false)`: it was no longer
    /// scheduled; nothing changed.
    pub fn close(
        conn: &mut DbConn,
        id: &FollowUpId,
        to: FollowUpStatus,
        by: &UserId,
        at: NaiveDateTime,
    ) -> Result<bool, DbError> {
        let changed = diesel::update(
            follow_ups::table
                .filter(follow_ups::id.eq(id))
                .filter(follow_ups::status.eq(FollowUpStatus::Scheduled)),
        )
        .set((
            follow_ups::status.eq(to),
            follow_ups::closed_at.eq(at),
            follow_ups::closed_by.eq(by),
            follow_ups::version.eq(follow_ups::version + 1),
        ))
        .execute(conn)?;
        Ok(changed == 1)
    }

    /// Scheduled follow-ups assigned to `user`.
    pub fn scheduled_for(conn: &mut DbConn, user: &UserId) -> Result<Vec<FollowUp>, DbError> {
        Ok(follow_ups::table
            .filter(follow_ups::assigned_to.eq(user))
            .filter(follow_ups::status.eq(FollowUpStatus::Scheduled))
            .order((follow_ups::due_on, follow_ups::id))
            .select(FollowUp::as_select())
            .load(conn)?)
    }

    /// Scheduled follow-ups of `organisation`'s staff.
    pub fn scheduled_in(conn: &mut DbConn, organisation: &OrgId) -> Result<Vec<FollowUp>, DbError> {
        Ok(follow_ups::table
            .filter(follow_ups::organisation_id.eq(organisation))
            .filter(follow_ups::status.eq(FollowUpStatus::Scheduled))
            .order((follow_ups::due_on, follow_ups::id))
            .select(FollowUp::as_select())
            .load(conn)?)
    }

    /// Scheduled follow-ups whose reminder is due at `now` and has not gone out, at most
    /// `limit`, the earliest first.
    pub fn due_reminders(
        conn: &mut DbConn,
        now: NaiveDateTime,
        limit: i64,
    ) -> Result<Vec<FollowUp>, DbError> {
        Ok(follow_ups::table
            .filter(follow_ups::status.eq(FollowUpStatus::Scheduled))
            .filter(follow_ups::reminded_at.is_null())
            .filter(follow_ups::remind_at.le(now))
            .order((follow_ups::remind_at, follow_ups::id))
            .limit(limit)
            .select(FollowUp::as_select())
            .load(conn)?)
    }

    /// Claims the reminder of `id` for this caller unless another replica did first, or the
    /// follow-up was closed or its reminder withdrawn meanwhile. `Ok(true)`: this call claimed
    /// it and sends the one message.
    pub fn claim_reminder(
        conn: &mut DbConn,
        id: &FollowUpId,
        now: NaiveDateTime,
    ) -> Result<bool, DbError> {
        let changed = diesel::update(
            follow_ups::table
                .filter(follow_ups::id.eq(id))
                .filter(follow_ups::status.eq(FollowUpStatus::Scheduled))
                .filter(follow_ups::reminded_at.is_null())
                .filter(follow_ups::remind_at.le(now)),
        )
        .set(follow_ups::reminded_at.eq(now))
        .execute(conn)?;
        Ok(changed == 1)
    }
}
