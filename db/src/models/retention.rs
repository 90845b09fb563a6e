//! The queries of the retention schedule: which cases have reached the end of their retention
//! (the caller decides, from the schedule, which are due), and the deletions by age of the
//! records that are not cases. Every deletion is by age, so two replicas running it at once
//! delete each row once.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::ids::CaseId;
use crate::schema::{
    account_tokens, anonymous_notification_exploitation_types, anonymous_notifications, cases,
    idempotency_keys, legal_holds, outbox, refresh_tokens, sessions, users,
};
use crate::vocabulary::{CaseStatus, ClosureReason, IdentificationStage};
use crate::{DbConn, DbError};

/// The identification stages of a person who was not identified: screened and not presumed a
/// victim, or decided not a victim.
pub const NOT_IDENTIFIED: [IdentificationStage; 4] = [
    IdentificationStage::ScreenedNotPresumed,
    IdentificationStage::NotAVictim,
    IdentificationStage::ReasonableGroundsNegative,
    IdentificationStage::ConclusiveGroundsNegative,
];

/// A case the retention schedule may reach: not erased, and closed, withdrawn, or of a person
/// not identified to whom no assistance was ever recorded (still `open`).
#[derive(Debug, Clone, PartialEq, Eq, Queryable)]
pub struct CaseCandidate {
    /// The case.
    pub id: CaseId,
    /// Its status.
    pub status: CaseStatus,
    /// Why it was closed.
    pub closure_reason: Option<ClosureReason>,
    /// When it was closed.
    pub closed_at: Option<NaiveDateTime>,
    /// When the person withdrew.
    pub withdrawn_at: Option<NaiveDateTime>,
    /// Its identification stage.
    pub identification_stage: IdentificationStage,
    /// When it last changed.
    pub updated_at: NaiveDateTime,
}

/// The cases not yet erased that are closed, withdrawn or of a person not identified, oldest
/// first, with whether a legal hold is in force on each.
pub fn case_candidates(conn: &mut DbConn) -> Result<Vec<(CaseCandidate, bool)>, DbError> {
    let rows: Vec<CaseCandidate> = cases::table
        .filter(cases::erased_at.is_null())
        .filter(
            cases::status
                .eq_any([CaseStatus::Closed, CaseStatus::Withdrawn])
                .or(cases::status
                    .eq(CaseStatus::Open)
                    .and(cases::identification_stage.eq_any(NOT_IDENTIFIED))),
        )
        .order(cases::id)
        .select((
            cases::id,
            cases::status,
            cases::closure_reason,
            cases::closed_at,
            cases::withdrawn_at,
            cases::identification_stage,
            cases::updated_at,
        ))
        .load(conn)?;
    let held: std::collections::HashSet<CaseId> = legal_holds::table
        .filter(legal_holds::lifted_at.is_null())
        .select(legal_holds::case_id)
        .load::<CaseId>(conn)?
        .into_iter()
        .collect();
    Ok(rows
        .into_iter()
        .map(|row| {
            let is_held = held.contains(&row.id);
            (row, is_held)
        })
        .collect())
}

/// The records other than cases that a retention period ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sweep {
    /// Anonymous notifications reported before the cut-off.
    AnonymousNotifications,
    /// Outbox messages delivered before the cut-off, or queued before it and never delivered.
    Outbox,
    /// Sessions that ended (revoked or expired) before the cut-off, with their refresh tokens.
    Sessions,
    /// Stored first answers of idempotent requests made before the cut-off.
    IdempotencyResponses,
    /// Single-use account links used or expired before the cut-off, and the record of a last
    /// failed sign-in older than it (on an account not locked now).
    SignInRecords,
    /// Documents deleted before the cut-off: their rows, versions and stored content (content
    /// in an object store is queued for housekeeping to remove).
    DeletedDocuments,
}

/// The deleted documents one transaction of [`delete_due`] removes at most.
pub const DELETED_DOCUMENTS_BATCH: i64 = 20;

/// How many records `sweep` would delete at `cutoff`.
pub fn count_due(
    conn: &mut DbConn,
    sweep: Sweep,
    cutoff: NaiveDateTime,
    now: NaiveDateTime,
) -> Result<i64, DbError> {
    Ok(match sweep {
        Sweep::AnonymousNotifications => anonymous_notifications::table
            .filter(anonymous_notifications::reported_at.lt(cutoff))
            .count()
            .get_result(conn)?,
        Sweep::Outbox => outbox::table
            .filter(outbox_due(cutoff))
            .count()
            .get_result(conn)?,
        Sweep::Sessions => sessions::table
            .filter(session_due(cutoff))
            .count()
            .get_result(conn)?,
        Sweep::IdempotencyResponses => idempotency_keys::table
            .filter(idempotency_keys::created_at.lt(cutoff))
            .count()
            .get_result(conn)?,
        Sweep::SignInRecords => {
            let links: i64 = account_tokens::table
                .filter(token_due(cutoff))
                .count()
                .get_result(conn)?;
            let failures: i64 = users::table
                .filter(failure_due(cutoff, now))
                .count()
                .get_result(conn)?;
            links + failures
        }
        Sweep::DeletedDocuments => super::document::count_deleted_before(conn, cutoff)?,
    })
}

/// Deletes (or, for a failed sign-in's record, clears) what `sweep` names at `cutoff`, in the
/// caller's transaction. Returns how many records.
pub fn delete_due(
    conn: &mut DbConn,
    sweep: Sweep,
    cutoff: NaiveDateTime,
    now: NaiveDateTime,
) -> Result<usize, DbError> {
    Ok(match sweep {
        Sweep::AnonymousNotifications => {
            let due = anonymous_notifications::table
                .filter(anonymous_notifications::reported_at.lt(cutoff))
                .select(anonymous_notifications::id);
            diesel::delete(
                anonymous_notification_exploitation_types::table
                    .filter(anonymous_notification_exploitation_types::notification_id.eq_any(due)),
            )
            .execute(conn)?;
            diesel::delete(
                anonymous_notifications::table
                    .filter(anonymous_notifications::reported_at.lt(cutoff)),
            )
            .execute(conn)?
        }
        Sweep::Outbox => diesel::delete(outbox::table.filter(outbox_due(cutoff))).execute(conn)?,
        Sweep::Sessions => {
            let due = sessions::table
                .filter(session_due(cutoff))
                .select(sessions::id);
            diesel::delete(refresh_tokens::table.filter(refresh_tokens::session_id.eq_any(due)))
                .execute(conn)?;
            diesel::delete(sessions::table.filter(session_due(cutoff))).execute(conn)?
        }
        Sweep::IdempotencyResponses => {
            diesel::delete(idempotency_keys::table.filter(idempotency_keys::created_at.lt(cutoff)))
                .execute(conn)?
        }
        Sweep::SignInRecords => {
            let links =
                diesel::delete(account_tokens::table.filter(token_due(cutoff))).execute(conn)?;
            let failures = diesel::update(users::table.filter(failure_due(cutoff, now)))
                .set((
                    users::last_failed_login_at.eq(None::<NaiveDateTime>),
                    users::failed_logins.eq(0),
                ))
                .execute(conn)?;
            links + failures
        }
        // A bounded batch per transaction (each document may hold many chunks): the caller
        // runs the sweep again while a whole batch was deleted.
        Sweep::DeletedDocuments => {
            let due = super::document::deleted_before(conn, cutoff, DELETED_DOCUMENTS_BATCH)?;
            super::document::purge_deleted(conn, &due, now)?.documents
        }
    })
}

type OutboxDue = diesel::dsl::Or<
    diesel::dsl::Lt<outbox::sent_at, NaiveDateTime>,
    diesel::dsl::And<
        diesel::dsl::IsNull<outbox::sent_at>,
        diesel::dsl::Lt<outbox::created_at, NaiveDateTime>,
    >,
>;

fn outbox_due(cutoff: NaiveDateTime) -> OutboxDue {
    outbox::sent_at
        .lt(cutoff)
        .or(outbox::sent_at.is_null().and(outbox::created_at.lt(cutoff)))
}

type SessionDue = diesel::dsl::Or<
    diesel::dsl::Lt<sessions::revoked_at, NaiveDateTime>,
    diesel::dsl::And<
        diesel::dsl::IsNull<sessions::revoked_at>,
        diesel::dsl::Lt<sessions::expires_at, NaiveDateTime>,
    >,
>;

fn session_due(cutoff: NaiveDateTime) -> SessionDue {
    sessions::revoked_at.lt(cutoff).or(sessions::revoked_at
        .is_null()
        .and(sessions::expires_at.lt(cutoff)))
}

type TokenDue = diesel::dsl::Or<
    diesel::dsl::Lt<account_tokens::used_at, NaiveDateTime>,
    diesel::dsl::Lt<account_tokens::expires_at, NaiveDateTime>,
>;

fn token_due(cutoff: NaiveDateTime) -> TokenDue {
    account_tokens::used_at
        .lt(cutoff)
        .or(account_tokens::expires_at.lt(cutoff))
}

type FailureDue = diesel::dsl::And<
    diesel::dsl::Lt<users::last_failed_login_at, NaiveDateTime>,
    diesel::dsl::Or<
        diesel::dsl::IsNull<users::locked_until>,
        diesel::dsl::Lt<users::locked_until, NaiveDateTime>,
    >,
>;

fn failure_due(cutoff: NaiveDateTime, now: NaiveDateTime) -> FailureDue {
    users::last_failed_login_at.lt(cutoff).and(
        users::locked_until
            .is_null()
            .or(users::locked_until.lt(now)),
    )
}
