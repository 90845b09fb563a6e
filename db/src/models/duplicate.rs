//! Possible duplicates found through the vault's blind indexes when a case is registered. They
//! are reported, never merged: a supervisor links (same person) or dismisses them.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::ids::{CaseId, UserId};
use crate::schema::case_duplicates;
use crate::time::now_utc;
use crate::vocabulary::DuplicateStatus;
use crate::{DbConn, DbError};

/// A possible duplicate, seen from one of its two cases.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = case_duplicates)]
pub struct PossibleDuplicate {
    /// The case registered later.
    pub case_id: CaseId,
    /// The earlier case it may duplicate.
    pub other_case_id: CaseId,
    /// Open, linked or dismissed.
    pub status: DuplicateStatus,
    /// When it was found.
    pub found_at: NaiveDateTime,
    /// Who resolved it.
    pub resolved_by: Option<UserId>,
    /// When.
    pub resolved_at: Option<NaiveDateTime>,
}

/// Records that `case` may duplicate `other` (idempotent).
pub fn record(conn: &mut DbConn, case: &CaseId, other: &CaseId) -> Result<(), DbError> {
    let exists = diesel::select(diesel::dsl::exists(
        case_duplicates::table
            .filter(case_duplicates::case_id.eq(case))
            .filter(case_duplicates::other_case_id.eq(other)),
    ))
    .get_result::<bool>(conn)?;
    if !exists {
        diesel::insert_into(case_duplicates::table)
            .values((
                case_duplicates::case_id.eq(case),
                case_duplicates::other_case_id.eq(other),
                case_duplicates::status.eq(DuplicateStatus::Open),
                case_duplicates::found_at.eq(now_utc()),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// Every possible duplicate involving `case`, from either side.
pub fn involving(conn: &mut DbConn, case: &CaseId) -> Result<Vec<PossibleDuplicate>, DbError> {
    Ok(case_duplicates::table
        .filter(
            case_duplicates::case_id
                .eq(case)
                .or(case_duplicates::other_case_id.eq(case)),
        )
        .order(case_duplicates::found_at)
        .select(PossibleDuplicate::as_select())
        .load(conn)?)
}

/// Resolves the open pair `{a, b}` (either order). `Ok(false)`: no open pair.
pub fn resolve(
    conn: &mut DbConn,
    a: &CaseId,
    b: &CaseId,
    status: DuplicateStatus,
    by: &UserId,
) -> Result<bool, DbError> {
    let updated = diesel::update(
        case_duplicates::table
            .filter(
                (case_duplicates::case_id
                    .eq(a)
                    .and(case_duplicates::other_case_id.eq(b)))
                .or(case_duplicates::case_id
                    .eq(b)
                    .and(case_duplicates::other_case_id.eq(a))),
            )
            .filter(case_duplicates::status.eq(DuplicateStatus::Open)),
    )
    .set((
        case_duplicates::status.eq(status),
        case_duplicates::resolved_by.eq(by),
        case_duplicates::resolved_at.eq(now_utc()),
    ))
    .execute(conn)?;
    Ok(updated > 0)
}

/// Queues a possible duplicate the registering organisation may not see, for the background
/// job to confirm and tell its holders (idempotent).
pub fn queue_check(conn: &mut DbConn, case: &CaseId, candidate: &CaseId) -> Result<(), DbError> {
    use crate::schema::duplicate_checks;
    let queued = diesel::select(diesel::dsl::exists(
        duplicate_checks::table.find((case, candidate)),
    ))
    .get_result::<bool>(conn)?;
    if !queued {
        diesel::insert_into(duplicate_checks::table)
            .values((
                duplicate_checks::case_id.eq(case),
                duplicate_checks::candidate_id.eq(candidate),
                duplicate_checks::queued_at.eq(now_utc()),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// The oldest queued checks, at most `limit`: (the new case, the candidate).
pub fn queued_checks(conn: &mut DbConn, limit: i64) -> Result<Vec<(CaseId, CaseId)>, DbError> {
    use crate::schema::duplicate_checks;
    Ok(duplicate_checks::table
        .order(duplicate_checks::queued_at)
        .limit(limit)
        .select((duplicate_checks::case_id, duplicate_checks::candidate_id))
        .load(conn)?)
}

/// Takes a queued check off the queue; `false` when another replica took it first.
pub fn take_check(conn: &mut DbConn, case: &CaseId, candidate: &CaseId) -> Result<bool, DbError> {
    use crate::schema::duplicate_checks;
    Ok(diesel::delete(duplicate_checks::table.find((case, candidate))).execute(conn)? == 1)
}
