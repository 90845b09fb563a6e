//! Break-glass openings: a coordinator, or a supervisor of an organisation that owns or serves a
//! case, opens named personal groups of that one case outside the normal rules, with a sealed
//! justification, until a time. The policies see an opening in force through the request's
//! `break_glass` context; nothing else changes.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::ids::{CaseId, RecordId, UserId};
use crate::schema::break_glass_grants;
use crate::vocabulary::FieldGroup;
use crate::{DbConn, DbError};

/// One opening.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = break_glass_grants)]
pub struct BreakGlassGrant {
    /// Identifier (the justification is sealed bound to it).
    pub id: RecordId,
    /// The case.
    pub case_id: CaseId,
    /// Who may read under it.
    pub user_id: UserId,
    /// The groups opened, comma-separated codes.
    pub field_groups: String,
    /// When.
    pub opened_at: NaiveDateTime,
    /// Until when.
    pub expires_at: NaiveDateTime,
    /// Why, sealed under the case's data key.
    pub justification: Vec<u8>,
}

impl BreakGlassGrant {
    /// Stores the opening (inside the action's transaction).
    pub fn insert(&self, conn: &mut DbConn) -> Result<(), DbError> {
        diesel::insert_into(break_glass_grants::table)
            .values(self)
            .execute(conn)?;
        Ok(())
    }

    /// The groups `user` holds open on `case` at `now`.
    pub fn open_groups(
        conn: &mut DbConn,
        case: &CaseId,
        user: &UserId,
        now: NaiveDateTime,
    ) -> Result<Vec<FieldGroup>, DbError> {
        let rows: Vec<String> = break_glass_grants::table
            .filter(break_glass_grants::case_id.eq(case))
            .filter(break_glass_grants::user_id.eq(user))
            .filter(break_glass_grants::expires_at.gt(now))
            .select(break_glass_grants::field_groups)
            .load(conn)?;
        let mut groups: Vec<FieldGroup> = rows
            .iter()
            .flat_map(|r| r.split(','))
            .filter_map(|code| code.parse().ok())
            .collect();
        groups.sort();
        groups.dedup();
        Ok(groups)
    }

    /// Openings of a case, newest first (for its supervisors and the coordinators).
    pub fn for_case(conn: &mut DbConn, case: &CaseId) -> Result<Vec<BreakGlassGrant>, DbError> {
        Ok(break_glass_grants::table
            .filter(break_glass_grants::case_id.eq(case))
            .order((
                break_glass_grants::opened_at.desc(),
                break_glass_grants::id.desc(),
            ))
            .select(BreakGlassGrant::as_select())
            .load(conn)?)
    }
}
