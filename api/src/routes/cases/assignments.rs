//! Assignment of staff to a case: who of the caller's organisation works on it. They parse and
//! call `crate::cases::assignments`.

use actix_web::{HttpResponse, delete, get, put, web};
use tumaini_db::ids::{CaseId, UserId};
use utoipa_actix_web::service_config::ServiceConfig;

use super::parse;
use crate::auth::Caller;
use crate::cases::assignments::{self, AssignmentInput, AssignmentList};
use crate::http::{ApiError, Problem};
use crate::state::AppState;

pub(super) fn register(cfg: &mut ServiceConfig) {
    cfg.service(list_assignments)
        .service(assign_staff)
        .service(unassign_staff);
}

/// The staff of your organisation assigned to a case, the lead first. Inside an organisation
/// that works on a need-to-know basis, only they and its supervisors read the case's personal
/// groups.
#[utoipa::path(
    tag = "cases",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    responses(
        (status = 200, description = "Your organisation's assigned staff", body = AssignmentList),
        (status = 404, description = "No such case, or none you may see", body = Problem, content_type = "application/problem+json"),
    ),
)]
#[get("/api/v1/cases/{id}/assignments")]
pub async fn list_assignments(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<CaseId>,
) -> Result<HttpResponse, ApiError> {
    Ok(assignments::list(&state, caller, id.into_inner())
        .await?
        .into_response())
}

/// Assign a case worker or supervisor of your organisation to a case, or make them its lead
/// (supervisors of the owning organisation, or of one serving the case through an accepted
/// referral). Takes effect on the assignee's next request.
#[utoipa::path(
    tag = "cases",
    security(("bearer" = [])),
    params(("id" = String, Path), ("user_id" = String, Path)),
    request_body = AssignmentInput,
    responses(
        (status = 200, description = "Assigned: your organisation's assigned staff", body = AssignmentList),
        (status = 403, description = "Only a supervisor assigns", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such case, or none you may see", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Not a case worker or supervisor of your organisation, or an invalid body", body = Problem, content_type = "application/problem+json"),
    ),
)]
#[put("/api/v1/cases/{id}/assignments/{user_id}")]
pub async fn assign_staff(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(CaseId, UserId)>,
    body: web::Json<serde_json::Value>,
) -> Result<HttpResponse, ApiError> {
    let input: AssignmentInput = parse(&body)?;
    let (id, user) = path.into_inner();
    Ok(assignments::assign(&state, caller, id, user, input)
        .await?
        .into_response())
}

/// End the assignment of a member of your organisation to a case. Takes effect on their next
/// request.
#[utoipa::path(
    tag = "cases",
    security(("bearer" = [])),
    params(("id" = String, Path), ("user_id" = String, Path)),
    responses(
        (status = 200, description = "Unassigned: your organisation's assigned staff", body = AssignmentList),
        (status = 403, description = "Only a supervisor unassigns", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such case, or none you may see", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not assigned to this case for your organisation", body = Problem, content_type = "application/problem+json"),
    ),
)]
#[delete("/api/v1/cases/{id}/assignments/{user_id}")]
pub async fn unassign_staff(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(CaseId, UserId)>,
) -> Result<HttpResponse, ApiError> {
    let (id, user) = path.into_inner();
    Ok(assignments::unassign(&state, caller, id, user)
        .await?
        .into_response())
}
