//! Restriction of processing (Uganda DPPA 2019 s.17-18, GDPR art. 18): a case is marked while
//! a dispute is resolved, and the mark lifted after. The policies read the mark
//! (`CaseFacts.restricted`); these statements only set and clear it, each in one conditional
//! update so that two people placing (or lifting) at once cannot both succeed.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::case::Case;
use crate::ids::{CaseId, UserId};
use crate::schema::cases;
use crate::vocabulary::RestrictionReason;
use crate::{DbConn, DbError};

impl Case {
    /// Marks the case restricted by `by` for `reason`, bumping its version; `None` when it was
    /// already restricted (nothing changed).
    pub fn restrict(
        conn: &mut DbConn,
        id: &CaseId,
        by: &UserId,
        reason: RestrictionReason,
        now: NaiveDateTime,
    ) -> Result<Option<Case>, DbError> {
        let updated = diesel::update(
            cases::table
                .filter(cases::id.eq(id))
                .filter(cases::restricted_at.is_null()),
        )
        .set((
            cases::restricted_at.eq(now),
            cases::restricted_by.eq(by),
            cases::restriction_reason.eq(reason),
            cases::version.eq(cases::version + 1),
            cases::updated_at.eq(now),
        ))
        .execute(conn)?;
        if updated == 0 {
            return Ok(None);
        }
        Self::find(conn, id).map(Some)
    }

    /// Lifts the case's restriction, bumping its version; `None` when it was not restricted
    /// (nothing changed).
    pub fn lift_restriction(
        conn: &mut DbConn,
        id: &CaseId,
        now: NaiveDateTime,
    ) -> Result<Option<Case>, DbError> {
        let updated = diesel::update(
            cases::table
                .filter(cases::id.eq(id))
                .filter(cases::restricted_at.is_not_null()),
        )
        .set((
            cases::restricted_at.eq(None::<NaiveDateTime>),
            cases::restricted_by.eq(None::<UserId>),
            cases::restriction_reason.eq(None::<RestrictionReason>),
            cases::version.eq(cases::version + 1),
            cases::updated_at.eq(now),
        ))
        .execute(conn)?;
        if updated == 0 {
            return Ok(None);
        }
        Self::find(conn, id).map(Some)
    }
}
