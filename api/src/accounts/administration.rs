//! User accounts administered: administrators manage every organisation's accounts, a
//! supervisor those of their own organisation (as the policies say: `managed_scope`). Listing,
//! inviting, changing a role and disabling; every change is audited, and a role change or a
//! disabled account ends the user's sessions at once. An administrator giving a role that reads
//! cases only asks for it: a second person approves ([`super::approvals`]).

use serde::{Deserialize, Serialize};
use tumaini_db::DbConn;
use tumaini_db::DbError;
use tumaini_db::ids::{OrgId, UserId};
use tumaini_db::models::{EmailAddress, NewUser, Organisation, Session, User};
use tumaini_db::vocabulary::{OrganisationKind, Role, UserStatus};
use utoipa::ToSchema;

use super::approvals::tell_approvers;
use super::invitations::send_invitation;
use super::{check_role_for, forbidden, needs_approval};
use crate::audit::{self, AuditAction, Event, Outcome};
use crate::auth::{Caller, RequestContext};
use crate::authz::{AccessContext, Action, Decision, OrganisationFacts, Resource};
use crate::guarded::authorize;
use crate::http::{ApiError, ProblemType, with_conn};
use crate::state::AppState;

/// A field of free text an administrator enters (a name): trimmed, 1 to `max` characters, no
/// control characters; 422 naming the field otherwise.
pub fn text(field: &str, value: &str, max: usize) -> Result<String, ApiError> {
    let value = value.trim();
    if value.is_empty() || value.chars().count() > max || value.chars().any(char::is_control) {
        return Err(ApiError::problem(
            ProblemType::InvalidBody,
            format!("`{field}` must be 1 to {max} characters without control characters"),
        ));
    }
    Ok(value.to_owned())
}

/// A user account as administrators see it.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserView {
    /// Identifier.
    pub id: UserId,
    /// Organisation.
    pub organisation_id: OrgId,
    /// Role.
    pub role: Role,
    /// E-mail address.
    #[schema(value_type = String)]
    pub email: EmailAddress,
    /// Display name.
    pub display_name: String,
    /// Status.
    pub status: UserStatus,
    /// Whether a second factor is enrolled.
    pub mfa_enabled: bool,
    /// A role an administrator asked for, waiting for a second person's approval
    /// (`POST /api/v1/users/{id}/approve`).
    pub requested_role: Option<Role>,
    /// Who asked for it.
    pub requested_by: Option<UserId>,
    /// When it was asked for (UTC).
    pub requested_at: Option<chrono::DateTime<chrono::Utc>>,
}

impl From<User> for UserView {
    fn from(user: User) -> Self {
        Self {
            id: user.id,
            organisation_id: user.organisation_id,
            role: user.role,
            email: user.email,
            display_name: user.display_name,
            status: user.status,
            mfa_enabled: user.mfa_enabled,
            requested_role: user.requested_role,
            requested_by: user.requested_by,
            requested_at: user.requested_at.map(|t| t.and_utc()),
        }
    }
}

/// The organisation whose accounts the caller manages, as the policies say: they must allow
/// `ManageUsers` on the caller's own organisation (else 403, audited); a caller they also allow
/// on any other organisation manages every organisation (`None`), anyone else only their own.
async fn managed_scope(
    state: &AppState,
    caller: &Caller,
    audited_as: AuditAction,
) -> Result<(Option<OrgId>, Decision), ApiError> {
    let own = OrganisationFacts::from(&caller.organisation);
    let decision = authorize(
        state,
        caller,
        Action::ManageUsers,
        &own,
        audited_as,
        forbidden,
    )
    .await?;
    let elsewhere = OrganisationFacts {
        id: "(any other organisation)".to_owned(),
        kind: OrganisationKind::Other,
        country: own.country.clone(),
        active: true,
        need_to_know: false,
    };
    let national = state
        .authz
        .decide(
            &caller.principal(),
            Action::ManageUsers,
            &Resource::Organisation(&elsewhere),
            &AccessContext::now("administration"),
        )
        .allowed;
    let scope = (!national).then(|| caller.user.organisation_id.clone());
    Ok((scope, decision))
}

/// Roles a supervisor may give within their organisation.
const SUPERVISOR_GRANTS: &[Role] = &[Role::CaseWorker, Role::FirstResponder, Role::Supervisor];

fn may_grant(caller: &Caller, role: Role) -> bool {
    caller.user.role == Role::Admin || SUPERVISOR_GRANTS.contains(&role)
}

/// A supervisor may not act on an account holding a role they could not give.
fn may_grant_over(actor: &User, target_role: Role) -> bool {
    actor.role == Role::Admin || SUPERVISOR_GRANTS.contains(&target_role)
}

/// Finds a user the caller manages; others answer 404.
fn managed_user(conn: &mut DbConn, scope: Option<&OrgId>, id: &UserId) -> Result<User, ApiError> {
    let user = User::find(conn, id)?;
    match scope {
        Some(org) if *org != user.organisation_id => Err(ApiError::bare(ProblemType::NotFound)),
        _ => Ok(user),
    }
}

/// Audits a change `actor` made to the account `user`, with the policy decision that allowed
/// it.
fn record_success(
    conn: &mut DbConn,
    context: &RequestContext,
    actor: &User,
    action: AuditAction,
    user: &UserId,
    decision: &Decision,
) -> Result<(), DbError> {
    audit::record_decided(
        conn,
        context,
        Some(actor),
        Event {
            action,
            outcome: Outcome::Success,
            resource: Some(("user", user.to_string())),
        },
        decision,
    )
}

/// Accounts: all of them (administrators; or one `organisation`'s) or the caller's
/// organisation's (supervisors, whatever `organisation` says).
pub async fn list(
    state: &AppState,
    caller: Caller,
    organisation: Option<OrgId>,
) -> Result<Vec<UserView>, ApiError> {
    let (scope, decision) = managed_scope(state, &caller, AuditAction::UserList).await?;
    let scope = scope.or(organisation);
    let users = with_conn(&state.pool, move |conn| {
        let users = User::list(conn, scope.as_ref())?;
        let resource = scope.map(|id| ("organisation", id.to_string()));
        audit::record_read(conn, &caller, AuditAction::UserList, resource, &decision)?;
        Ok(users)
    })
    .await?;
    Ok(users.into_iter().map(UserView::from).collect())
}

/// A new account.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InviteInput {
    /// The organisation (supervisors: their own, which is the default).
    pub organisation_id: Option<OrgId>,
    /// Role.
    pub role: Role,
    /// E-mail address; the invitation goes there.
    #[schema(value_type = String, example = "amina@shelter.example")]
    pub email: EmailAddress,
    /// Display name.
    #[schema(example = "Amina Okello")]
    pub display_name: String,
}

/// The organisation an invitation is for: the caller's own when they manage only theirs (404
/// when they asked for another), else the one asked for, which is then required.
fn invited_organisation(scope: Option<OrgId>, asked: Option<OrgId>) -> Result<OrgId, ApiError> {
    match (scope, asked) {
        (Some(own), Some(asked)) if own != asked => Err(ApiError::bare(ProblemType::NotFound)),
        (Some(own), _) => Ok(own),
        (None, Some(asked)) => Ok(asked),
        (None, None) => Err(ApiError::problem(
            ProblemType::InvalidBody,
            "`organisation_id` is required",
        )),
    }
}

/// Invites a user: the account is created without a password and an e-mail carries a
/// single-use link to set one. An administrator inviting to a role that reads cases does not
/// invite yet: the account waits (`awaiting_approval`) until a second person approves, and the
/// approvers are told. 409 when the address has an account; 422 when the role does not fit the
/// organisation.
pub async fn invite(
    state: &AppState,
    caller: Caller,
    input: InviteInput,
) -> Result<UserView, ApiError> {
    let (scope, decision) = managed_scope(state, &caller, AuditAction::UserInvite).await?;
    if !may_grant(&caller, input.role) {
        return Err(forbidden());
    }
    let organisation_id = invited_organisation(scope, input.organisation_id)?;
    let display_name = text("display_name", &input.display_name, 200)?;
    let auth = state.auth.clone();
    let Caller {
        user: actor,
        context,
        ..
    } = caller;
    let public_url = state.public_url.clone();
    let created = with_conn(&state.pool, move |conn| {
        conn.write_transaction(|conn| {
            let org = Organisation::find(conn, &organisation_id)?;
            check_role_for(org.kind, input.role)
                .map_err(|e| ApiError::problem(ProblemType::InvalidBody, e.to_string()))?;
            let held = needs_approval(actor.role, input.role);
            let user = create_account(conn, &org, input.role, input.email, display_name, held)?;
            if held {
                // Sent once a second person approves (`super::approvals`).
                if !User::request_role(conn, &user, input.role, &actor.id)? {
                    return Err(ApiError::Internal(anyhow::anyhow!(
                        "an account created in this transaction changed"
                    )));
                }
                tell_approvers(conn, &org, input.role, None, &public_url)?;
            } else {
                send_invitation(conn, &auth, &org, &user)?;
            }
            let invited = AuditAction::UserInvite;
            record_success(conn, &context, &actor, invited, &user.id, &decision)?;
            Ok::<_, ApiError>(User::find(conn, &user.id)?)
        })
    })
    .await?;
    Ok(UserView::from(created))
}

/// Creates an invited account without a password: waiting for approval when `held`, else
/// invited. 409 when the address has an account.
fn create_account(
    conn: &mut DbConn,
    org: &Organisation,
    role: Role,
    email: EmailAddress,
    display_name: String,
    held: bool,
) -> Result<User, ApiError> {
    User::create(
        conn,
        &NewUser {
            organisation_id: org.id.clone(),
            role,
            email,
            display_name,
            status: if held {
                UserStatus::AwaitingApproval
            } else {
                UserStatus::Invited
            },
            password_hash: None,
            password_must_change: false,
        },
    )
    .map_err(|e| match e {
        DbError::Conflict { .. } => ApiError::problem(
            ProblemType::Conflict,
            "that e-mail address already has an account",
        ),
        other => other.into(),
    })
}

/// A role change.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleInput {
    /// The new role.
    pub role: Role,
}

/// Changes a user's role; the user's sessions end at once. An administrator giving a role that
/// reads cases only asks for it (`requested_role`): it takes effect once a second person
/// approves, and the approvers are told.
pub async fn change_role(
    state: &AppState,
    caller: Caller,
    id: UserId,
    role: Role,
) -> Result<UserView, ApiError> {
    let (scope, decision) = managed_scope(state, &caller, AuditAction::UserRoleChange).await?;
    if !may_grant(&caller, role) {
        return Err(forbidden());
    }
    if id == caller.user.id {
        return Err(ApiError::problem(
            ProblemType::Conflict,
            "you cannot change your own role",
        ));
    }
    let Caller {
        user: actor,
        context,
        ..
    } = caller;
    let public_url = state.public_url.clone();
    let updated = with_conn(&state.pool, move |conn| {
        conn.write_transaction(|conn| {
            let target = managed_user(conn, scope.as_ref(), &id)?;
            let (org, held) = role_change_allowed(conn, &actor, &target, role)?;
            if held {
                // The role is asked for; it is granted once a second person approves.
                if !User::request_role(conn, &target, role, &actor.id)? {
                    return Err(ApiError::problem(
                        ProblemType::Conflict,
                        "the account changed at the same moment; read it again",
                    ));
                }
                tell_approvers(conn, &org, role, Some(target.role), &public_url)?;
            } else {
                User::set_role(conn, &target.id, role)?;
                Session::revoke_all(conn, &target.id, "role_changed", None)?;
            }
            let action = if held {
                AuditAction::UserRoleRequest
            } else {
                AuditAction::UserRoleChange
            };
            record_success(conn, &context, &actor, action, &target.id, &decision)?;
            Ok(User::find(conn, &target.id)?)
        })
    })
    .await?;
    Ok(updated.into())
}

/// Whether `actor` may give `target` the `role`: the account's organisation, and whether the
/// change waits for a second person's approval. Refused for an account holding a role the actor
/// could not give (403), one waiting for its invitation to be approved (409), a role that does
/// not fit the organisation (422), and a role that reads cases for an administrator's account
/// (409).
fn role_change_allowed(
    conn: &mut DbConn,
    actor: &User,
    target: &User,
    role: Role,
) -> Result<(Organisation, bool), ApiError> {
    if !may_grant_over(actor, target.role) {
        return Err(forbidden());
    }
    if target.status == UserStatus::AwaitingApproval {
        return Err(ApiError::problem(
            ProblemType::Conflict,
            "this account waits for its invitation to be approved; it is approved or refused first",
        ));
    }
    let org = Organisation::find(conn, &target.organisation_id)?;
    check_role_for(org.kind, role)
        .map_err(|e| ApiError::problem(ProblemType::InvalidBody, e.to_string()))?;
    let held = needs_approval(actor.role, role);
    if held && target.role == Role::Admin {
        // An administrator's own account never comes to read cases, approved or not:
        // the person is invited to an account of their own for that work.
        return Err(ApiError::problem(
            ProblemType::Conflict,
            "an administrator's account is not given a role that reads cases; invite the person to a new account",
        ));
    }
    Ok((org, held))
}

/// Disables an account (never one's own); its sessions end at once.
pub async fn disable(state: &AppState, caller: Caller, id: UserId) -> Result<(), ApiError> {
    let (scope, decision) = managed_scope(state, &caller, AuditAction::UserDisable).await?;
    if id == caller.user.id {
        return Err(ApiError::problem(
            ProblemType::Conflict,
            "you cannot disable your own account",
        ));
    }
    let Caller {
        user: actor,
        context,
        ..
    } = caller;
    with_conn(&state.pool, move |conn| {
        conn.write_transaction(|conn| {
            let target = managed_user(conn, scope.as_ref(), &id)?;
            if !may_grant_over(&actor, target.role) {
                return Err(forbidden());
            }
            User::set_status(conn, &target.id, UserStatus::Disabled)?;
            Session::revoke_all(conn, &target.id, "disabled", None)?;
            let disabled = AuditAction::UserDisable;
            record_success(conn, &context, &actor, disabled, &target.id, &decision)?;
            Ok::<_, ApiError>(())
        })
    })
    .await
}
