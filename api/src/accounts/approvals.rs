//! The second person on a grant of a role that reads cases. An administrator runs the system but
//! may never read case content (`guard.admin-never-touches-cases`); an administrator who could
//! give themself (an address they control) a case worker's or a coordinator's account would get
//! round that. So a role that reads cases, asked for by an administrator, waits until a
//! supervisor of the account's organisation (staff roles) or a coordinator of its country (any
//! role) approves; the one who asked never approves. Every step is audited, and the approvers
//! are told by e-mail (the organisation and the role, nothing else).

use serde::Deserialize;
use tumaini_db::ids::UserId;
use tumaini_db::models::{Organisation, Session, User};
use tumaini_db::vocabulary::{Role, UserStatus};
use tumaini_db::{DbConn, DbError};
use utoipa::ToSchema;

use super::administration::UserView;
use super::invitations::send_invitation;
use super::may_approve;
use crate::audit::{self, AuditAction, Event, Outcome};
use crate::auth::{AuthService, Caller, RequestContext};
use crate::authz::{Action, Decision, OrganisationFacts};
use crate::guarded::authorize;
use crate::http::{ApiError, ProblemType, with_conn};
use crate::state::AppState;

/// Tells those who may approve a grant of `role` in `org` that one waits: the organisation's
/// supervisors (for a staff role) and the coordinators of its country. `current` is the role an
/// existing account holds (none for an invitation).
pub fn tell_approvers(
    conn: &mut DbConn,
    org: &Organisation,
    role: Role,
    current: Option<Role>,
    public_url: &str,
) -> Result<(), DbError> {
    let mut approvers =
        User::notification_recipients(conn, &[Role::Coordinator], None, Some(&org.country))?;
    if may_approve(Role::Supervisor, role) {
        approvers.extend(
            User::notification_recipients(conn, &[Role::Supervisor], None, None)?
                .into_iter()
                .filter(|u| u.organisation_id == org.id),
        );
    }
    crate::notifications::notify(
        conn,
        &approvers,
        "An account waits for your approval in Tumaini",
        &format!(
            "{} It reads case records, so it takes effect only once a second person approves.\n\n\
             Sign in to Tumaini to see who asked, and to approve or refuse it: \
             {public_url}/users/approvals\n",
            match current {
                None => format!(
                    "An administrator invited a new account at {} with the {} role.",
                    org.name,
                    role.label().to_lowercase()
                ),
                Some(held) => format!(
                    "An administrator asked that an account at {} holding the {} role be given the \
                     {} role.",
                    org.name,
                    held.label().to_lowercase(),
                    role.label().to_lowercase()
                ),
            }
        ),
    )?;
    Ok(())
}

/// Grants that wait for the caller's approval: of their organisation (a supervisor) or of
/// their country (a coordinator), only those of roles the caller may approve.
pub async fn pending(state: &AppState, caller: Caller) -> Result<Vec<UserView>, ApiError> {
    let own = OrganisationFacts::from(&caller.organisation);
    let decision = authorize(
        state,
        &caller,
        Action::ApproveAccountGrant,
        &own,
        AuditAction::UserGrantList,
        || ApiError::problem(ProblemType::Forbidden, "your role may not approve grants"),
    )
    .await?;
    let (organisation, country) = if caller.user.role == Role::Coordinator {
        (None, Some(caller.organisation.country))
    } else {
        (Some(caller.organisation.id.clone()), None)
    };
    let approver = caller.user.role;
    let pending = with_conn(&state.pool, move |conn| {
        let pending = User::awaiting_approval(conn, organisation.as_ref(), country.as_ref())?;
        audit::record_read(conn, &caller, AuditAction::UserGrantList, None, &decision)?;
        Ok(pending)
    })
    .await?;
    Ok(pending
        .into_iter()
        .filter(|u| u.requested_role.is_some_and(|r| may_approve(approver, r)))
        .map(UserView::from)
        .collect())
}

/// What the approver saw and decides on: the role waiting on the account. A decision on any
/// other request (one changed since it was read) is refused, so nobody approves what they did
/// not see.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GrantDecision {
    /// The role waiting for approval, as listed by `GET /api/v1/users/approvals`.
    #[schema(example = "case_worker")]
    pub role: Role,
}

/// The account's organisation and the policy decision, when the caller may decide on grants
/// there; 404 otherwise (an account the caller may not approve for is none of theirs to know
/// of).
async fn decidable(
    state: &AppState,
    caller: &Caller,
    id: &UserId,
    audited_as: AuditAction,
) -> Result<(Organisation, Decision), ApiError> {
    let id = id.clone();
    let org = with_conn(&state.pool, move |conn| {
        let target = match User::find(conn, &id) {
            Ok(user) => user,
            Err(DbError::NotFound) => return Err(ApiError::bare(ProblemType::NotFound)),
            Err(other) => return Err(other.into()),
        };
        Ok(Organisation::find(conn, &target.organisation_id)?)
    })
    .await?;
    let facts = OrganisationFacts::from(&org);
    let decision = authorize(
        state,
        caller,
        Action::ApproveAccountGrant,
        &facts,
        audited_as,
        || ApiError::bare(ProblemType::NotFound),
    )
    .await?;
    Ok((org, decision))
}

/// Approving or refusing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The role takes effect: a new account is sent its invitation; an existing one's sessions
    /// end, to start again with the new role.
    Approve,
    /// The role is dropped: an account that was only waiting is disabled; an existing one keeps
    /// the role it had.
    Reject,
}

impl Verdict {
    const fn action(self) -> AuditAction {
        match self {
            Self::Approve => AuditAction::UserGrantApprove,
            Self::Reject => AuditAction::UserGrantReject,
        }
    }
}

/// The account as it is now, inside the deciding transaction, when the request on it is the one
/// `expected` and `approver` may decide on it. A request on an administrator's account (one
/// left from before that was refused, or one that raced a role change) may only be refused.
fn waiting_request(
    conn: &mut DbConn,
    id: &UserId,
    expected: Role,
    approver: &User,
    verdict: Verdict,
) -> Result<User, ApiError> {
    let target = User::find(conn, id)?;
    if verdict == Verdict::Approve
        && target.role == Role::Admin
        && target.status != UserStatus::AwaitingApproval
    {
        return Err(ApiError::problem(
            ProblemType::Conflict,
            "an administrator's account is not given a role that reads cases; refuse the request",
        ));
    }
    let Some(role) = target.requested_role else {
        return Err(ApiError::problem(
            ProblemType::Conflict,
            "no role waits for approval on this account",
        ));
    };
    if role != expected {
        return Err(ApiError::problem(
            ProblemType::Conflict,
            "the role waiting on this account is not the one in `role`; read the request again",
        ));
    }
    if !may_approve(approver.role, role) {
        return Err(ApiError::problem(
            ProblemType::Forbidden,
            "this role is approved by a coordinator of the country",
        ));
    }
    if target.requested_by.as_ref() == Some(&approver.id) || target.id == approver.id {
        return Err(ApiError::problem(
            ProblemType::Forbidden,
            "a grant is approved by someone other than who asked for it, or whom it is for",
        ));
    }
    Ok(target)
}

/// Decides the request waiting on account `id`, which must be for the role `expected`: one
/// write transaction that reads the account, checks the approver, changes it only if the very
/// request read still waits (conditional updates: two approvals at once, or an approval racing
/// a new request, cannot grant what nobody saw) and writes the audit event. A refusal the rules
/// make here (the approver asked for it, or may not approve the role) is audited as one.
pub async fn decide(
    state: &AppState,
    caller: Caller,
    id: UserId,
    expected: Role,
    verdict: Verdict,
) -> Result<UserView, ApiError> {
    let (org, decision) = decidable(state, &caller, &id, verdict.action()).await?;
    let auth = state.auth.clone();
    let Caller { user, context, .. } = caller;
    let decided = with_conn(&state.pool, move |conn| {
        let outcome = conn.write_transaction(|conn| {
            let decided = carry_out(conn, &auth, &org, &user, &id, expected, verdict)?;
            record_verdict(
                conn,
                &context,
                &user,
                verdict,
                Outcome::Success,
                &id,
                &decision,
            )?;
            Ok(decided)
        });
        if let Err(ApiError::Problem {
            kind: ProblemType::Forbidden,
            ..
        }) = &outcome
        {
            conn.write_transaction(|conn| {
                record_verdict(
                    conn,
                    &context,
                    &user,
                    verdict,
                    Outcome::Denied,
                    &id,
                    &decision,
                )
            })?;
        }
        outcome
    })
    .await?;
    Ok(decided.into())
}

/// Applies the verdict to the request waiting on account `id`, if it is still the one
/// `expected` and `approver` may decide on it, and returns the account as decided. An approved
/// account that was only waiting is sent its invitation; an account in use loses its sessions.
fn carry_out(
    conn: &mut DbConn,
    auth: &AuthService,
    org: &Organisation,
    approver: &User,
    id: &UserId,
    expected: Role,
    verdict: Verdict,
) -> Result<User, ApiError> {
    let target = waiting_request(conn, id, expected, approver, verdict)?;
    // Whether the account was only waiting (to be invited) or is in use (its sessions end) is
    // read here, in the transaction that decides.
    let waiting = target.status == UserStatus::AwaitingApproval;
    let changed = match verdict {
        Verdict::Approve => User::grant_requested_role(conn, &target)?,
        Verdict::Reject => User::drop_requested_role(conn, &target)?,
    };
    if !changed {
        return Err(changed_meanwhile());
    }
    let decided = User::find(conn, &target.id)?;
    match verdict {
        Verdict::Approve if waiting => send_invitation(conn, auth, org, &decided)?,
        Verdict::Approve => {
            Session::revoke_all(conn, &target.id, "role_changed", None)?;
        }
        Verdict::Reject => {}
    }
    Ok(decided)
}

/// Audits a verdict on the account `id` with its outcome and the policy decision.
fn record_verdict(
    conn: &mut DbConn,
    context: &RequestContext,
    approver: &User,
    verdict: Verdict,
    outcome: Outcome,
    id: &UserId,
    decision: &Decision,
) -> Result<(), DbError> {
    audit::record_decided(
        conn,
        context,
        Some(approver),
        Event {
            action: verdict.action(),
            outcome,
            resource: Some(("user", id.to_string())),
        },
        decision,
    )
}

/// The answer when a conditional update found the request changed at the same moment.
fn changed_meanwhile() -> ApiError {
    ApiError::problem(
        ProblemType::Conflict,
        "the request changed at the same moment; read it again",
    )
}
