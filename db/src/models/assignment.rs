//! The staff assigned to a case: per organisation, a lead and any number of others. Inside an
//! organisation that works on a need-to-know basis only they (and its supervisors) read the
//! case's personal groups.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::ids::{CaseId, OrgId, UserId};
use crate::schema::{case_assignments, users};
use crate::time::now_utc;
use crate::{DbConn, DbError};

/// One member of staff assigned to a case.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = case_assignments)]
pub struct Assignment {
    /// The case.
    pub case_id: CaseId,
    /// The member of staff.
    pub user_id: UserId,
    /// Their organisation (the case's owner, or a referral's holder).
    pub organisation_id: OrgId,
    /// The organisation's lead case worker for the case.
    pub lead: bool,
    /// Who assigned them (`None`: the system, at registration or acceptance of a referral).
    pub assigned_by: Option<UserId>,
    /// When.
    pub assigned_at: NaiveDateTime,
}

/// An assignment with the assignee's display name, for lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamedAssignment {
    /// The assignment.
    pub assignment: Assignment,
    /// The assignee's display name.
    pub display_name: String,
}

/// The registering member of staff as the lead of a case registered in the same transaction
/// (by nobody: the system): one `INSERT`, as the case has no assignment yet to replace.
pub fn lead_of_new_case(
    conn: &mut DbConn,
    case: &CaseId,
    user: &UserId,
    organisation: &OrgId,
) -> Result<(), DbError> {
    diesel::insert_into(case_assignments::table)
        .values((
            case_assignments::case_id.eq(case),
            case_assignments::user_id.eq(user),
            case_assignments::organisation_id.eq(organisation),
            case_assignments::lead.eq(true),
            case_assignments::assigned_by.eq(None::<&UserId>),
            case_assignments::assigned_at.eq(now_utc()),
        ))
        .execute(conn)?;
    Ok(())
}

/// Assigns `user` of `organisation` to `case` (again: updates the lead flag). A new lead of the
/// organisation replaces the previous one, who stays assigned.
pub fn assign(
    conn: &mut DbConn,
    case: &CaseId,
    user: &UserId,
    organisation: &OrgId,
    lead: bool,
    by: Option<&UserId>,
) -> Result<(), DbError> {
    if lead {
        diesel::update(
            case_assignments::table
                .filter(case_assignments::case_id.eq(case))
                .filter(case_assignments::organisation_id.eq(organisation))
                .filter(case_assignments::lead.eq(true))
                .filter(case_assignments::user_id.ne(user)),
        )
        .set(case_assignments::lead.eq(false))
        .execute(conn)?;
    }
    let updated = diesel::update(
        case_assignments::table
            .filter(case_assignments::case_id.eq(case))
            .filter(case_assignments::user_id.eq(user)),
    )
    .set((
        case_assignments::lead.eq(lead),
        case_assignments::organisation_id.eq(organisation),
        case_assignments::assigned_by.eq(by),
        case_assignments::assigned_at.eq(now_utc()),
    ))
    .execute(conn)?;
    if updated == 0 {
        diesel::insert_into(case_assignments::table)
            .values((
                case_assignments::case_id.eq(case),
                case_assignments::user_id.eq(user),
                case_assignments::organisation_id.eq(organisation),
                case_assignments::lead.eq(lead),
                case_assignments::assigned_by.eq(by),
                case_assignments::assigned_at.eq(now_utc()),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// Assigns `user` unless already assigned (a member, not the lead, unless the organisation has
/// no lead for the case yet). Returns whether a row was added.
pub fn ensure(
    conn: &mut DbConn,
    case: &CaseId,
    user: &UserId,
    organisation: &OrgId,
) -> Result<bool, DbError> {
    // The case's row locked (PostgreSQL) as a supervisor's assignment locks it: two
    // assignments of one case never both find it without a lead.
    crate::models::case::Case::find_for_update(conn, case)?;
    let assigned: i64 = case_assignments::table
        .filter(case_assignments::case_id.eq(case))
        .filter(case_assignments::user_id.eq(user))
        .count()
        .get_result(conn)?;
    if assigned > 0 {
        return Ok(false);
    }
    let has_lead: i64 = case_assignments::table
        .filter(case_assignments::case_id.eq(case))
        .filter(case_assignments::organisation_id.eq(organisation))
        .filter(case_assignments::lead.eq(true))
        .count()
        .get_result(conn)?;
    assign(conn, case, user, organisation, has_lead == 0, None)?;
    Ok(true)
}

/// Removes `user` from `case`; returns whether they were assigned.
pub fn unassign(conn: &mut DbConn, case: &CaseId, user: &UserId) -> Result<bool, DbError> {
    Ok(diesel::delete(
        case_assignments::table
            .filter(case_assignments::case_id.eq(case))
            .filter(case_assignments::user_id.eq(user)),
    )
    .execute(conn)?
        > 0)
}

/// The user ids assigned to `case` (every organisation).
pub fn assigned_users(conn: &mut DbConn, case: &CaseId) -> Result<Vec<UserId>, DbError> {
    Ok(case_assignments::table
        .filter(case_assignments::case_id.eq(case))
        .order(case_assignments::user_id)
        .select(case_assignments::user_id)
        .load(conn)?)
}

/// The assignments of `case` within `organisation`, the lead first, with display names.
pub fn of_case(
    conn: &mut DbConn,
    case: &CaseId,
    organisation: &OrgId,
) -> Result<Vec<NamedAssignment>, DbError> {
    let rows: Vec<(Assignment, String)> = case_assignments::table
        .inner_join(users::table.on(users::id.eq(case_assignments::user_id)))
        .filter(case_assignments::case_id.eq(case))
        .filter(case_assignments::organisation_id.eq(organisation))
        .order((
            case_assignments::lead.desc(),
            case_assignments::assigned_at,
            case_assignments::user_id,
        ))
        .select((Assignment::as_select(), users::display_name))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(assignment, display_name)| NamedAssignment {
            assignment,
            display_name,
        })
        .collect())
}

/// The cases `user` is assigned to.
pub fn cases_of_user(conn: &mut DbConn, user: &UserId) -> Result<Vec<CaseId>, DbError> {
    Ok(case_assignments::table
        .filter(case_assignments::user_id.eq(user))
        .order(case_assignments::case_id)
        .select(case_assignments::case_id)
        .load(conn)?)
}

/// Ends every assignment of `organisation`'s staff to `case` (it no longer works on the case:
/// the case was transferred away). Returns how many ended.
pub fn end_for_organisation(
    conn: &mut DbConn,
    case: &CaseId,
    organisation: &OrgId,
) -> Result<usize, DbError> {
    Ok(diesel::delete(
        case_assignments::table
            .filter(case_assignments::case_id.eq(case))
            .filter(case_assignments::organisation_id.eq(organisation)),
    )
    .execute(conn)?)
}
