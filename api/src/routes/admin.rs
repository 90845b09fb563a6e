//! The administration endpoints: organisations and user accounts. Administrators manage every
//! organisation; a supervisor manages the accounts of their own organisation. Each handler
//! calls one function of the account service (`crate::accounts::organisations`,
//! `crate::accounts::administration`) and shapes the answer.

use actix_web::{HttpResponse, get, post, put, web};
use serde::Deserialize;
use tumaini_db::ids::{OrgId, UserId};
use utoipa::IntoParams;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::accounts::UserView;
use crate::accounts::administration::{self, InviteInput, RoleInput};
use crate::accounts::organisations::{self, CaseAccessInput, OrganisationInput, OrganisationView};
use crate::auth::Caller;
use crate::http::{ApiError, Problem};
use crate::state::AppState;

/// Registers the routes of this module.
pub fn register(cfg: &mut ServiceConfig) {
    cfg.service(create_organisation)
        .service(list_organisations)
        .service(deactivate_organisation)
        .service(set_case_access)
        .service(list_users)
        .service(invite_user)
        .service(change_role)
        .service(disable_user);
}

/// Filters for the user list.
#[derive(Debug, Deserialize, IntoParams)]
pub struct UserFilter {
    /// Only this organisation's users (administrators; supervisors always see their own).
    pub organisation_id: Option<OrgId>,
}

/// Register an organisation (administrators).
#[utoipa::path(
    tag = "administration",
    security(("bearer" = [])),
    request_body = OrganisationInput,
    responses(
        (status = 201, description = "Created", body = OrganisationView),
        (
            status = 403,
            description = "Your role may not do this",
            body = Problem,
            content_type = "application/problem+json",
        ),
        (
            status = 409,
            description = "The name is taken in that country",
            body = Problem,
            content_type = "application/problem+json",
        ),
    ),
)]
#[post("/api/v1/organisations")]
pub async fn create_organisation(
    state: web::Data<AppState>,
    caller: Caller,
    body: web::Json<OrganisationInput>,
) -> Result<HttpResponse, ApiError> {
    let view = organisations::create(&state, caller, body.into_inner()).await?;
    Ok(HttpResponse::Created().json(view))
}

/// Every organisation (administrators and national coordinators).
#[utoipa::path(
    tag = "administration",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Success", body = Vec<OrganisationView>),
        (
            status = 403,
            description = "Your role may not do this",
            body = Problem,
            content_type = "application/problem+json",
        ),
    ),
)]
#[get("/api/v1/organisations")]
pub async fn list_organisations(
    state: web::Data<AppState>,
    caller: Caller,
) -> Result<web::Json<Vec<OrganisationView>>, ApiError> {
    Ok(web::Json(organisations::list(&state, caller).await?))
}

/// Switch an organisation off (administrators): its users' sessions stop working at once.
#[utoipa::path(
    tag = "administration",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    responses(
        (status = 204, description = "Done"),
        (
            status = 403,
            description = "Your role may not do this",
            body = Problem,
            content_type = "application/problem+json",
        ),
        (
            status = 404,
            description = "No such object, or none you may see",
            body = Problem,
            content_type = "application/problem+json",
        ),
    ),
)]
#[post("/api/v1/organisations/{id}/deactivate")]
pub async fn deactivate_organisation(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<OrgId>,
) -> Result<HttpResponse, ApiError> {
    organisations::deactivate(&state, caller, id.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Choose who inside an organisation reads the personal groups of its cases: the staff
/// assigned to a case and the organisation's supervisors (`need_to_know`, the default for a new
/// organisation), or every case worker and supervisor (`all_staff`, for a small organisation).
/// Its supervisors (not an administrator, who never touches case content); takes effect on each
/// member's next request.
#[utoipa::path(
    tag = "administration",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    request_body = CaseAccessInput,
    responses(
        (status = 200, description = "Changed", body = OrganisationView),
        (
            status = 403,
            description = "Your role may not do this",
            body = Problem,
            content_type = "application/problem+json",
        ),
        (
            status = 404,
            description = "No such object, or none you may see",
            body = Problem,
            content_type = "application/problem+json",
        ),
        (
            status = 422,
            description = "Not a `case_access` code",
            body = Problem,
            content_type = "application/problem+json",
        ),
    ),
)]
#[put("/api/v1/organisations/{id}/case-access")]
pub async fn set_case_access(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<OrgId>,
    body: web::Json<serde_json::Value>,
) -> Result<web::Json<OrganisationView>, ApiError> {
    let input: CaseAccessInput = crate::http::json_body::parse(&body)?;
    Ok(web::Json(
        organisations::set_case_access(&state, caller, id.into_inner(), input).await?,
    ))
}

/// Accounts: all of them (administrators) or the caller's organisation's (supervisors).
#[utoipa::path(
    tag = "administration",
    security(("bearer" = [])),
    params(UserFilter),
    responses(
        (status = 200, description = "Success", body = Vec<UserView>),
        (
            status = 403,
            description = "Your role may not do this",
            body = Problem,
            content_type = "application/problem+json",
        ),
    ),
)]
#[get("/api/v1/users")]
pub async fn list_users(
    state: web::Data<AppState>,
    caller: Caller,
    filter: web::Query<UserFilter>,
) -> Result<web::Json<Vec<UserView>>, ApiError> {
    let organisation = filter.into_inner().organisation_id;
    Ok(web::Json(
        administration::list(&state, caller, organisation).await?,
    ))
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
        (
            status = 403,
            description = "Your role may not do this",
            body = Problem,
            content_type = "application/problem+json",
        ),
        (
            status = 404,
            description = "No such organisation",
            body = Problem,
            content_type = "application/problem+json",
        ),
        (
            status = 409,
            description = "The e-mail address has an account",
            body = Problem,
            content_type = "application/problem+json",
        ),
        (
            status = 422,
            description = "The role does not fit the organisation",
            body = Problem,
            content_type = "application/problem+json",
        ),
    ),
)]
#[post("/api/v1/users")]
pub async fn invite_user(
    state: web::Data<AppState>,
    caller: Caller,
    body: web::Json<InviteInput>,
) -> Result<HttpResponse, ApiError> {
    let view = administration::invite(&state, caller, body.into_inner()).await?;
    Ok(HttpResponse::Created().json(view))
}

/// Change a user's role; the user's sessions end at once. An administrator giving a role that
/// reads cases only asks for it (`requested_role`): it takes effect once a supervisor of the
/// account's organisation or a coordinator of its country approves.
#[utoipa::path(
    tag = "administration",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    request_body = RoleInput,
    responses(
        (status = 200, description = "Success", body = UserView),
        (
            status = 403,
            description = "Your role may not do this",
            body = Problem,
            content_type = "application/problem+json",
        ),
        (
            status = 404,
            description = "No such object, or none you may see",
            body = Problem,
            content_type = "application/problem+json",
        ),
    ),
)]
#[put("/api/v1/users/{id}/role")]
pub async fn change_role(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<UserId>,
    body: web::Json<RoleInput>,
) -> Result<web::Json<UserView>, ApiError> {
    let role = body.into_inner().role;
    let view = administration::change_role(&state, caller, id.into_inner(), role).await?;
    Ok(web::Json(view))
}

/// Disable an account; its sessions end at once.
#[utoipa::path(
    tag = "administration",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    responses(
        (status = 204, description = "Done"),
        (
            status = 403,
            description = "Your role may not do this",
            body = Problem,
            content_type = "application/problem+json",
        ),
        (
            status = 404,
            description = "No such object, or none you may see",
            body = Problem,
            content_type = "application/problem+json",
        ),
    ),
)]
#[post("/api/v1/users/{id}/disable")]
pub async fn disable_user(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<UserId>,
) -> Result<HttpResponse, ApiError> {
    administration::disable(&state, caller, id.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}
