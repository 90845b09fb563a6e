//! Organisations and user accounts: administrators manage every organisation; a supervisor
//! manages the accounts of their own organisation. Every change is audited, and a role change
//! or a disabled account ends the user's sessions at once.

use actix_web::{HttpResponse, get, post, put, web};
use serde::{Deserialize, Serialize};
use tumaini_db::country::CountryCode;
use tumaini_db::ids::{OrgId, UserId};
use tumaini_db::models::account_token::{self, TokenPurpose};
use tumaini_db::models::{
    EmailAddress, NewOrganisation, NewUser, Organisation, Session, User, outbox,
};
use tumaini_db::time::now_utc;
use tumaini_db::vocabulary::{OrganisationKind, Role, ServiceType, UserStatus};
use tumaini_db::{DbConn, DbError};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;

use crate::accounts::{check_role_for, needs_approval};
use crate::audit::AuditAction;
use crate::audit::{self, Event, Outcome};
use crate::auth::Caller;
use crate::authz::{AccessContext, Action, Decision, OrganisationFacts, Resource};
use crate::guarded::authorize;
use crate::http::{ApiError, Problem, ProblemType, with_conn};
use crate::routes::auth::INVITATION_TTL;
use crate::state::AppState;

/// Registers the routes of this module.
pub fn register(cfg: &mut ServiceConfig) {
    cfg.service(create_organisation)
        .service(list_organisations)
        .service(deactivate_organisation)
        .service(list_users)
        .service(invite_user)
        .service(change_role)
        .service(disable_user);
}

fn forbidden() -> ApiError {
    ApiError::problem(ProblemType::Forbidden, "your role may not do this")
}

/// Loads an organisation's facts; 404 when there is none.
async fn organisation_facts(state: &AppState, id: OrgId) -> Result<OrganisationFacts, ApiError> {
    with_conn(&state.pool, move |conn| {
        Ok(OrganisationFacts::from(&Organisation::find(conn, &id)?))
    })
    .await
}

/// An organisation.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrganisationView {
    /// Identifier.
    pub id: OrgId,
    /// Name.
    pub name: String,
    /// Kind.
    pub kind: OrganisationKind,
    /// Country.
    pub country: CountryCode,
    /// Region or district.
    pub region: String,
    /// Whether its users can act.
    pub active: bool,
    /// Services offered.
    pub services: Vec<ServiceType>,
}

fn organisation_view(conn: &mut DbConn, org: Organisation) -> Result<OrganisationView, DbError> {
    let services = org.services(conn)?;
    Ok(OrganisationView {
        id: org.id,
        name: org.name,
        kind: org.kind,
        country: org.country,
        region: org.region,
        active: org.active,
        services,
    })
}

/// A new organisation.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrganisationInput {
    /// Public name.
    #[schema(example = "Kampala Women's Shelter")]
    pub name: String,
    /// Kind.
    pub kind: OrganisationKind,
    /// ISO 3166-1 alpha-2 country code.
    pub country: CountryCode,
    /// Region or district.
    #[schema(example = "Central")]
    pub region: String,
    /// Services offered.
    #[serde(default)]
    pub services: Vec<ServiceType>,
}

/// A field of free text an administrator enters (a name): trimmed, 1 to `max` characters, no
/// control characters; 422 naming the field otherwise.
pub(crate) fn text(field: &str, value: &str, max: usize) -> Result<String, ApiError> {
    let value = value.trim();
    if value.is_empty() || value.chars().count() > max || value.chars().any(char::is_control) {
        return Err(ApiError::problem(
            ProblemType::InvalidBody,
            format!("`{field}` must be 1 to {max} characters without control characters"),
        ));
    }
    Ok(value.to_owned())
}

/// Register an organisation (administrators).
#[utoipa::path(
    tag = "administration",
    security(("bearer" = [])),
    request_body = OrganisationInput,
    responses(
        (status = 201, description = "Created", body = OrganisationView),
        (status = 403, description = "Your role may not do this", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The name is taken in that country", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/api/v1/organisations")]
pub async fn create_organisation(
    state: web::Data<AppState>,
    caller: Caller,
    body: web::Json<OrganisationInput>,
) -> Result<HttpResponse, ApiError> {
    let input = body.into_inner();
    let target = OrganisationFacts {
        id: "(new)".to_owned(),
        kind: input.kind,
        country: input.country.to_string(),
        active: true,
    };
    let decision = authorize(
        &state,
        &caller,
        Action::ManageOrganisations,
        &target,
        AuditAction::OrganisationCreate,
        forbidden,
    )
    .await?;
    let new = NewOrganisation {
        name: text("name", &input.name, 200)?,
        kind: input.kind,
        country: input.country,
        region: text("region", &input.region, 100)?,
        services: input.services,
    };
    let Caller { user, context, .. } = caller;
    let view = with_conn(&state.pool, move |conn| {
        conn.write_transaction(|conn| {
            let org = Organisation::create(conn, &new)?;
            audit::record_decided(
                conn,
                &context,
                Some(&user),
                Event {
                    action: AuditAction::OrganisationCreate,
                    outcome: Outcome::Success,
                    resource: Some(("organisation", org.id.to_string())),
                },
                &decision,
            )?;
            Ok::<_, ApiError>(organisation_view(conn, org)?)
        })
    })
    .await?;
    Ok(HttpResponse::Created().json(view))
}

/// Every organisation (administrators and national coordinators).
#[utoipa::path(tag = "administration", security(("bearer" = [])), responses((status = 200, description = "Success", body = Vec<OrganisationView>), (status = 403, description = "Your role may not do this", body = Problem, content_type = "application/problem+json")))]
#[get("/api/v1/organisations")]
pub async fn list_organisations(
    state: web::Data<AppState>,
    caller: Caller,
) -> Result<web::Json<Vec<OrganisationView>>, ApiError> {
    let own = OrganisationFacts::from(&caller.organisation);
    authorize(
        &state,
        &caller,
        Action::ReadOrganisations,
        &own,
        AuditAction::OrganisationList,
        forbidden,
    )
    .await?;
    let views = with_conn(&state.pool, |conn| {
        Organisation::list(conn)?
            .into_iter()
            .map(|org| organisation_view(conn, org).map_err(ApiError::from))
            .collect::<Result<Vec<_>, _>>()
    })
    .await?;
    Ok(web::Json(views))
}

/// Switch an organisation off (administrators): its users' sessions stop working at once.
#[utoipa::path(tag = "administration", security(("bearer" = [])), params(("id" = String, Path)), responses((status = 204, description = "Done"), (status = 403, description = "Your role may not do this", body = Problem, content_type = "application/problem+json"), (status = 404, description = "No such object, or none you may see", body = Problem, content_type = "application/problem+json")))]
#[post("/api/v1/organisations/{id}/deactivate")]
pub async fn deactivate_organisation(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<OrgId>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let target = organisation_facts(&state, id.clone()).await?;
    let decision = authorize(
        &state,
        &caller,
        Action::ManageOrganisations,
        &target,
        AuditAction::OrganisationDeactivate,
        forbidden,
    )
    .await?;
    if id == caller.user.organisation_id {
        return Err(ApiError::problem(
            ProblemType::Conflict,
            "you cannot deactivate your own organisation",
        ));
    }
    let Caller { user, context, .. } = caller;
    with_conn(&state.pool, move |conn| {
        conn.write_transaction(|conn| {
            Organisation::set_active(conn, &id, false)?;
            audit::record_decided(
                conn,
                &context,
                Some(&user),
                Event {
                    action: AuditAction::OrganisationDeactivate,
                    outcome: Outcome::Success,
                    resource: Some(("organisation", id.to_string())),
                },
                &decision,
            )?;
            Ok::<_, ApiError>(())
        })
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
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
    pub requested_at: Option<chrono::NaiveDateTime>,
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
            requested_at: user.requested_at,
        }
    }
}

/// Filters for the user list.
#[derive(Debug, Deserialize, IntoParams)]
pub struct UserFilter {
    /// Only this organisation's users (administrators; supervisors always see their own).
    pub organisation_id: Option<OrgId>,
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

/// Accounts: all of them (administrators) or the caller's organisation's (supervisors).
#[utoipa::path(tag = "administration", security(("bearer" = [])), params(UserFilter), responses((status = 200, description = "Success", body = Vec<UserView>), (status = 403, description = "Your role may not do this", body = Problem, content_type = "application/problem+json")))]
#[get("/api/v1/users")]
pub async fn list_users(
    state: web::Data<AppState>,
    caller: Caller,
    filter: web::Query<UserFilter>,
) -> Result<web::Json<Vec<UserView>>, ApiError> {
    let (scope, _) = managed_scope(&state, &caller, AuditAction::UserList).await?;
    let scope = scope.or(filter.into_inner().organisation_id);
    let users = with_conn(&state.pool, move |conn| {
        Ok(User::list(conn, scope.as_ref())?)
    })
    .await?;
    Ok(web::Json(users.into_iter().map(UserView::from).collect()))
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

/// Invite a user: the account is created without a password and an e-mail carries a
/// single-use link (valid 72 hours) to set one. An administrator inviting to a role that reads
/// cases (any role but an administrator's) does not invite yet: the account waits
/// (`awaiting_approval`) until a supervisor of its organisation or a coordinator of its
/// country approves (`POST /api/v1/users/{id}/approve`), and only then is the invitation sent.
#[utoipa::path(
    tag = "administration",
    security(("bearer" = [])),
    request_body = InviteInput,
    responses(
        (status = 201, description = "Created", body = UserView),
        (status = 403, description = "Your role may not do this", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such organisation", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The e-mail address has an account", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The role does not fit the organisation", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/api/v1/users")]
pub async fn invite_user(
    state: web::Data<AppState>,
    caller: Caller,
    body: web::Json<InviteInput>,
) -> Result<HttpResponse, ApiError> {
    let (scope, decision) = managed_scope(&state, &caller, AuditAction::UserInvite).await?;
    let input = body.into_inner();
    if !may_grant(&caller, input.role) {
        return Err(forbidden());
    }
    let organisation_id = match (&scope, input.organisation_id) {
        (Some(own), Some(asked)) if *own != asked => {
            return Err(ApiError::bare(ProblemType::NotFound));
        }
        (Some(own), _) => own.clone(),
        (None, Some(asked)) => asked,
        (None, None) => {
            return Err(ApiError::problem(
                ProblemType::InvalidBody,
                "`organisation_id` is required",
            ));
        }
    };
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
            let user = User::create(
                conn,
                &NewUser {
                    organisation_id: org.id.clone(),
                    role: input.role,
                    email: input.email,
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
            })?;
            if held {
                // Sent once a second person approves (routes::approvals).
                if !User::request_role(conn, &user, input.role, &actor.id)? {
                    return Err(ApiError::Internal(anyhow::anyhow!(
                        "an account created in this transaction changed"
                    )));
                }
                crate::routes::approvals::tell_approvers(
                    conn,
                    &org,
                    input.role,
                    None,
                    &public_url,
                )?;
            } else {
                send_invitation(conn, &auth, &org, &user)?;
            }
            audit::record_decided(
                conn,
                &context,
                Some(&actor),
                Event {
                    action: AuditAction::UserInvite,
                    outcome: Outcome::Success,
                    resource: Some(("user", user.id.to_string())),
                },
                &decision,
            )?;
            Ok::<_, ApiError>(User::find(conn, &user.id)?)
        })
    })
    .await?;
    Ok(HttpResponse::Created().json(UserView::from(created)))
}

/// Issues an invitation (a single-use link, valid for 72 hours) and e-mails it.
pub(crate) fn send_invitation(
    conn: &mut DbConn,
    auth: &crate::auth::AuthService,
    org: &Organisation,
    user: &User,
) -> Result<(), ApiError> {
    let (token, hash) = auth.keys.new_opaque_token();
    let expires = now_utc() + chrono::Duration::from_std(INVITATION_TTL).unwrap_or_default();
    account_token::issue(conn, &user.id, TokenPurpose::Invitation, &hash, expires)?;
    outbox::enqueue(
        conn,
        &user.email,
        "Your Tumaini account",
        &format!(
            "An account has been created for you in Tumaini, for {}.\n\n\
             To choose your password, open this link within 72 hours:\n\n\
             {}/accept-invitation#token={}\n\n\
             If you did not expect this, ignore this message.\n",
            org.name,
            auth.public_url,
            token.as_str()
        ),
    )?;
    Ok(())
}

/// Finds a user the caller manages; others answer 404.
pub(crate) fn managed_user(
    conn: &mut DbConn,
    scope: Option<&OrgId>,
    id: &UserId,
) -> Result<User, ApiError> {
    let user = User::find(conn, id)?;
    match scope {
        Some(org) if *org != user.organisation_id => Err(ApiError::bare(ProblemType::NotFound)),
        _ => Ok(user),
    }
}

/// A role change.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleInput {
    /// The new role.
    pub role: Role,
}

/// Change a user's role; the user's sessions end at once. An administrator giving a role that
/// reads cases only asks for it (`requested_role`): it takes effect once a supervisor of the
/// account's organisation or a coordinator of its country approves.
#[utoipa::path(
    tag = "administration",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    request_body = RoleInput,
    responses((status = 200, description = "Success", body = UserView), (status = 403, description = "Your role may not do this", body = Problem, content_type = "application/problem+json"), (status = 404, description = "No such object, or none you may see", body = Problem, content_type = "application/problem+json"))
)]
#[put("/api/v1/users/{id}/role")]
pub async fn change_role(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<UserId>,
    body: web::Json<RoleInput>,
) -> Result<web::Json<UserView>, ApiError> {
    let (scope, decision) = managed_scope(&state, &caller, AuditAction::UserRoleChange).await?;
    let role = body.into_inner().role;
    if !may_grant(&caller, role) {
        return Err(forbidden());
    }
    let id = id.into_inner();
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
            if !may_grant_over(&actor, target.role) {
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
            if held {
                // The role is asked for; it is granted once a second person approves.
                if !User::request_role(conn, &target, role, &actor.id)? {
                    return Err(ApiError::problem(
                        ProblemType::Conflict,
                        "the account changed at the same moment; read it again",
                    ));
                }
                crate::routes::approvals::tell_approvers(
                    conn,
                    &org,
                    role,
                    Some(target.role),
                    &public_url,
                )?;
            } else {
                User::set_role(conn, &target.id, role)?;
                Session::revoke_all(conn, &target.id, "role_changed", None)?;
            }
            audit::record_decided(
                conn,
                &context,
                Some(&actor),
                Event {
                    action: if held {
                        AuditAction::UserRoleRequest
                    } else {
                        AuditAction::UserRoleChange
                    },
                    outcome: Outcome::Success,
                    resource: Some(("user", target.id.to_string())),
                },
                &decision,
            )?;
            Ok(User::find(conn, &target.id)?)
        })
    })
    .await?;
    Ok(web::Json(updated.into()))
}

/// A supervisor may not act on an account holding a role they could not give.
fn may_grant_over(actor: &User, target_role: Role) -> bool {
    actor.role == Role::Admin || SUPERVISOR_GRANTS.contains(&target_role)
}

/// Disable an account; its sessions end at once.
#[utoipa::path(tag = "administration", security(("bearer" = [])), params(("id" = String, Path)), responses((status = 204, description = "Done"), (status = 403, description = "Your role may not do this", body = Problem, content_type = "application/problem+json"), (status = 404, description = "No such object, or none you may see", body = Problem, content_type = "application/problem+json")))]
#[post("/api/v1/users/{id}/disable")]
pub async fn disable_user(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<UserId>,
) -> Result<HttpResponse, ApiError> {
    let (scope, decision) = managed_scope(&state, &caller, AuditAction::UserDisable).await?;
    let id = id.into_inner();
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
            audit::record_decided(
                conn,
                &context,
                Some(&actor),
                Event {
                    action: AuditAction::UserDisable,
                    outcome: Outcome::Success,
                    resource: Some(("user", target.id.to_string())),
                },
                &decision,
            )?;
            Ok::<_, ApiError>(())
        })
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
