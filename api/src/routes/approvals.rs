//! The endpoints of the second person on a grant of a role that reads cases: the grants waiting
//! for the caller's approval, approving and refusing one. The rule and its workflow are in the
//! account service (`crate::accounts::approvals`); each handler calls one of its functions.

use actix_web::{get, post, web};
use tumaini_db::ids::UserId;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::accounts::UserView;
use crate::accounts::approvals::{self, GrantDecision, Verdict};
use crate::auth::Caller;
use crate::http::{ApiError, Problem};
use crate::state::AppState;

/// Registers the routes of this module (the fixed path before `{id}`).
pub fn register(cfg: &mut ServiceConfig) {
    cfg.service(pending_grants)
        .service(approve_grant)
        .service(reject_grant);
}

/// Grants that wait for the caller's approval: of their organisation (a supervisor) or of
/// their country (a coordinator).
#[utoipa::path(
    tag = "administration",
    security(("bearer" = [])),
    responses(
        (
            status = 200,
            description = "Accounts with a role waiting for approval",
            body = Vec<UserView>,
        ),
        (
            status = 403,
            description = "Your role may not approve grants",
            body = Problem,
            content_type = "application/problem+json",
        ),
    ),
)]
#[get("/api/v1/users/approvals")]
pub async fn pending_grants(
    state: web::Data<AppState>,
    caller: Caller,
) -> Result<web::Json<Vec<UserView>>, ApiError> {
    Ok(web::Json(approvals::pending(&state, caller).await?))
}

/// Approve the role waiting on an account: it takes effect now (a new account is sent its
/// invitation; an existing one's sessions end, to start again with the new role). The body
/// names the role approved, which must be the one waiting.
#[utoipa::path(
    tag = "administration",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    request_body = GrantDecision,
    responses(
        (status = 200, description = "Approved", body = UserView),
        (
            status = 403,
            description = "You asked for this grant, or the role needs a coordinator",
            body = Problem,
            content_type = "application/problem+json",
        ),
        (
            status = 404,
            description = "No such account you may approve for",
            body = Problem,
            content_type = "application/problem+json",
        ),
        (
            status = 409,
            description = "No role, or another role, waits for approval",
            body = Problem,
            content_type = "application/problem+json",
        ),
    ),
)]
#[post("/api/v1/users/{id}/approve")]
pub async fn approve_grant(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<UserId>,
    body: web::Json<GrantDecision>,
) -> Result<web::Json<UserView>, ApiError> {
    let role = body.into_inner().role;
    let approved =
        approvals::decide(&state, caller, id.into_inner(), role, Verdict::Approve).await?;
    Ok(web::Json(approved))
}

/// Refuse the role waiting on an account: an account that was only waiting is disabled; an
/// existing one keeps the role it had. The body names the role refused, which must be the one
/// waiting.
#[utoipa::path(
    tag = "administration",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    request_body = GrantDecision,
    responses(
        (status = 200, description = "Refused", body = UserView),
        (
            status = 403,
            description = "You asked for this grant, or the role needs a coordinator",
            body = Problem,
            content_type = "application/problem+json",
        ),
        (
            status = 404,
            description = "No such account you may approve for",
            body = Problem,
            content_type = "application/problem+json",
        ),
        (
            status = 409,
            description = "No role, or another role, waits for approval",
            body = Problem,
            content_type = "application/problem+json",
        ),
    ),
)]
#[post("/api/v1/users/{id}/reject")]
pub async fn reject_grant(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<UserId>,
    body: web::Json<GrantDecision>,
) -> Result<web::Json<UserView>, ApiError> {
    let role = body.into_inner().role;
    let refused = approvals::decide(&state, caller, id.into_inner(), role, Verdict::Reject).await?;
    Ok(web::Json(refused))
}
