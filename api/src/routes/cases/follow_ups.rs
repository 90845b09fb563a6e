//! The endpoints of a case's follow-ups: each parses its input and calls one function of
//! `crate::cases::follow_ups`.

use actix_web::{HttpRequest, HttpResponse, get, post, web};
use tumaini_db::ids::{CaseId, FollowUpId};
use tumaini_db::vocabulary::FollowUpStatus;
use utoipa_actix_web::service_config::ServiceConfig;

use super::parse;
use crate::auth::Caller;
use crate::cases::follow_ups::{self, FollowUpInput, FollowUpList, FollowUpView};
use crate::cases::{self as service};
use crate::http::{ApiError, Problem};
use crate::state::AppState;

pub(super) fn register(cfg: &mut ServiceConfig) {
    cfg.service(schedule_follow_up)
        .service(list_follow_ups)
        .service(follow_up_done)
        .service(cancel_follow_up);
}

/// Schedule a follow-up on a case (a visit, a call, a court date, a medical appointment, a
/// review) for you or a colleague assigned to it, with an optional encrypted note and an
/// optional reminder e-mail the day before (reference and link only).
#[utoipa::path(
    tag = "cases",
    security(("bearer" = [])),
    params(("id" = String, Path), crate::routes::contract::IdempotencyKey),
    request_body = FollowUpInput,
    responses(
        (status = 201, description = "Scheduled", body = FollowUpView),
        (status = 404, description = "No such case, or none you may see", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The case is closed or withdrawn", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A date in the past, an unknown kind, or an assignee who is not assigned to the case", body = Problem, content_type = "application/problem+json"),
    ),
)]
#[post("/api/v1/cases/{id}/follow-ups")]
pub async fn schedule_follow_up(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    id: web::Path<CaseId>,
    body: web::Json<serde_json::Value>,
) -> Result<HttpResponse, ApiError> {
    let idempotency = service::idempotency(&state, &req, &body)?;
    let input: FollowUpInput = parse(&body)?;
    let reply = follow_ups::schedule(&state, caller, id.into_inner(), idempotency, input).await?;
    Ok(reply.into_response())
}

/// The case's follow-ups, soonest due first; notes only for callers who may read the `notes`
/// group.
#[utoipa::path(
    tag = "cases",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    responses(
        (status = 200, description = "Follow-ups", body = FollowUpList),
        (status = 404, description = "No such case, or none you may see", body = Problem, content_type = "application/problem+json"),
    ),
)]
#[get("/api/v1/cases/{id}/follow-ups")]
pub async fn list_follow_ups(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<CaseId>,
) -> Result<HttpResponse, ApiError> {
    let reply = follow_ups::list(&state, caller, id.into_inner()).await?;
    Ok(reply.into_response())
}

/// Mark a follow-up of your organisation done.
#[utoipa::path(
    tag = "cases",
    security(("bearer" = [])),
    params(("id" = String, Path), ("follow_up" = String, Path)),
    responses(
        (status = 200, description = "Done", body = FollowUpView),
        (status = 403, description = "Another organisation's follow-up", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such follow-up you may see", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already done or cancelled", body = Problem, content_type = "application/problem+json"),
    ),
)]
#[post("/api/v1/cases/{id}/follow-ups/{follow_up}/done")]
pub async fn follow_up_done(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(CaseId, FollowUpId)>,
) -> Result<HttpResponse, ApiError> {
    let (id, follow_up) = path.into_inner();
    let reply = follow_ups::close(&state, caller, id, follow_up, FollowUpStatus::Done).await?;
    Ok(reply.into_response())
}

/// Call off a follow-up of your organisation (its reminder, if not yet sent, is not sent).
#[utoipa::path(
    tag = "cases",
    security(("bearer" = [])),
    params(("id" = String, Path), ("follow_up" = String, Path)),
    responses(
        (status = 200, description = "Cancelled", body = FollowUpView),
        (status = 403, description = "Another organisation's follow-up", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such follow-up you may see", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already done or cancelled", body = Problem, content_type = "application/problem+json"),
    ),
)]
#[post("/api/v1/cases/{id}/follow-ups/{follow_up}/cancel")]
pub async fn cancel_follow_up(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(CaseId, FollowUpId)>,
) -> Result<HttpResponse, ApiError> {
    let (id, follow_up) = path.into_inner();
    let reply = follow_ups::close(&state, caller, id, follow_up, FollowUpStatus::Cancelled).await?;
    Ok(reply.into_response())
}
