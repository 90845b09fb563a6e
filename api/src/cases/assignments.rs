//! Who works on a case inside an organisation: a lead case worker and others, assigned by a
//! supervisor of the organisation that owns the case or serves it through an accepted referral
//! (`AssignStaff`). Where the organisation works on a need-to-know basis (its `case_access`),
//! only the assigned case workers and its supervisors read the case's personal groups
//! (`guard.need-to-know`); an assignment takes effect on the next request, as every fact the
//! policies read is loaded per request. Each organisation sees and changes only its own staff's
//! assignments.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tumaini_db::ids::{CaseId, UserId};
use tumaini_db::models::User;
use tumaini_db::models::assignment::{self, NamedAssignment};
use tumaini_db::vocabulary::{Role, UserStatus};
use tumaini_db::{DbConn, DbError};
use utoipa::ToSchema;

use crate::audit::{AuditAction, Entry, Outcome};
use crate::auth::{Caller, RequestContext};
use crate::authz::Action;
use crate::cases::documents::as_body;
use crate::cases::{self as service, CaseRequest, Reply};
use crate::http::{ApiError, ProblemType};
use crate::state::AppState;

/// The purpose recorded with assignment reads and changes.
const PURPOSE: &str = "case_management";

/// An assignment to make or change.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[schema(example = json!({"lead": true}))]
#[serde(deny_unknown_fields)]
pub struct AssignmentInput {
    /// `true`: make them the organisation's lead case worker for the case (the previous lead
    /// stays assigned); `false`: assigned, not leading. Absent: a new assignment does not lead,
    /// an existing one keeps what it was.
    #[serde(default)]
    pub lead: Option<bool>,
}

/// One member of staff assigned to a case.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AssignmentView {
    /// The member of staff.
    pub user_id: UserId,
    /// Their display name.
    pub display_name: String,
    /// The organisation's lead for the case.
    pub lead: bool,
    /// Who assigned them (absent: the system, when they registered the case or accepted a
    /// referral of it).
    pub assigned_by: Option<UserId>,
    /// When.
    pub assigned_at: DateTime<Utc>,
}

impl AssignmentView {
    fn of(named: NamedAssignment) -> Self {
        Self {
            user_id: named.assignment.user_id,
            display_name: named.display_name,
            lead: named.assignment.lead,
            assigned_by: named.assignment.assigned_by,
            assigned_at: named.assignment.assigned_at.and_utc(),
        }
    }
}

/// The staff of the caller's organisation assigned to a case.
#[derive(Debug, Serialize, ToSchema)]
pub struct AssignmentList {
    /// The case.
    pub case_id: CaseId,
    /// Assigned staff of the caller's organisation, the lead first.
    pub items: Vec<AssignmentView>,
}

fn list_of(conn: &mut DbConn, case: &CaseId, caller: &User) -> Result<AssignmentList, DbError> {
    Ok(AssignmentList {
        case_id: case.clone(),
        items: assignment::of_case(conn, case, &caller.organisation_id)?
            .into_iter()
            .map(AssignmentView::of)
            .collect(),
    })
}

/// The staff of the caller's organisation assigned to a case (whoever may see the case).
pub async fn list(state: &AppState, caller: Caller, id: CaseId) -> Result<Reply, ApiError> {
    let user = caller.user.clone();
    let request = CaseRequest {
        id,
        action: Action::ReadSummary,
        audited_as: AuditAction::CaseAssignmentsRead,
        purpose: PURPOSE,
        idempotency: None,
    };
    service::act_on_case(state, &caller, request, move |conn, access| {
        Ok(Reply::ok(as_body(&list_of(conn, &access.case.id, &user)?)))
    })
    .await
}

/// Assigns a member of the caller's organisation to a case, or changes whether they lead it.
pub async fn assign(
    state: &AppState,
    caller: Caller,
    id: CaseId,
    assignee: UserId,
    input: AssignmentInput,
) -> Result<Reply, ApiError> {
    let (user, context) = (caller.user.clone(), caller.context.clone());
    let request = CaseRequest {
        id,
        action: Action::AssignStaff,
        audited_as: AuditAction::CaseAssign,
        purpose: PURPOSE,
        idempotency: None,
    };
    service::act_on_case(state, &caller, request, move |conn, access| {
        let target = staff_member(conn, &user, &assignee)?;
        let current = assignment::of_case(conn, &access.case.id, &user.organisation_id)?
            .into_iter()
            .find(|a| a.assignment.user_id == target.id);
        let lead = input
            .lead
            .unwrap_or_else(|| current.is_some_and(|a| a.assignment.lead));
        assignment::assign(
            conn,
            &access.case.id,
            &target.id,
            &user.organisation_id,
            lead,
            Some(&user.id),
        )?;
        audit_assignee(conn, &context, &user, AuditAction::CaseAssign, &target.id)?;
        Ok(Reply::ok(as_body(&list_of(conn, &access.case.id, &user)?)))
    })
    .await
}

/// Ends a member of the caller's organisation's assignment to a case.
pub async fn unassign(
    state: &AppState,
    caller: Caller,
    id: CaseId,
    assignee: UserId,
) -> Result<Reply, ApiError> {
    let (user, context) = (caller.user.clone(), caller.context.clone());
    let request = CaseRequest {
        id,
        action: Action::AssignStaff,
        audited_as: AuditAction::CaseUnassign,
        purpose: PURPOSE,
        idempotency: None,
    };
    service::act_on_case(state, &caller, request, move |conn, access| {
        let mine = assignment::of_case(conn, &access.case.id, &user.organisation_id)?
            .iter()
            .any(|a| a.assignment.user_id == assignee);
        if !mine || !assignment::unassign(conn, &access.case.id, &assignee)? {
            return Err(ApiError::problem(
                ProblemType::Conflict,
                "that member of staff is not assigned to this case for your organisation",
            ));
        }
        audit_assignee(conn, &context, &user, AuditAction::CaseUnassign, &assignee)?;
        Ok(Reply::ok(as_body(&list_of(conn, &access.case.id, &user)?)))
    })
    .await
}

/// The companion of an assignment's audit event (which names the case): the same action about
/// the member of staff given or denied access, in the same request and transaction, so the trail
/// says who gained or lost access to the case.
fn audit_assignee(
    conn: &mut DbConn,
    context: &RequestContext,
    by: &User,
    action: AuditAction,
    assignee: &UserId,
) -> Result<(), DbError> {
    Entry::new(action, Outcome::Success)
        .in_request(context)
        .by(Some(by))
        .on("user", assignee)
        .purpose(PURPOSE)
        .write(conn)
}

/// The member of staff to assign: an active (or invited) case worker or supervisor of the
/// caller's own organisation. Anyone else is refused alike, whether or not they exist.
fn staff_member(conn: &mut DbConn, caller: &User, id: &UserId) -> Result<User, ApiError> {
    let refused = || {
        ApiError::problem(
            ProblemType::InvalidBody,
            "`user_id` is not a case worker or supervisor of your organisation",
        )
    };
    let user = match User::find(conn, id) {
        Ok(user) => user,
        Err(DbError::NotFound) => return Err(refused()),
        Err(other) => return Err(other.into()),
    };
    if user.organisation_id != caller.organisation_id
        || !matches!(user.role, Role::CaseWorker | Role::Supervisor)
        || !matches!(user.status, UserStatus::Active | UserStatus::Invited)
    {
        return Err(refused());
    }
    Ok(user)
}
