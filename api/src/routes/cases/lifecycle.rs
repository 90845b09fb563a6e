//! The lifecycle endpoints of a case: erasure by two people and legal holds. They parse and
//! call `crate::cases::erasure` and `crate::cases::legal_hold`.

use actix_web::{HttpRequest, HttpResponse, delete, get, post, put, web};
use tumaini_db::ids::{CaseId, ErasureRequestId};
use utoipa_actix_web::service_config::ServiceConfig;

use super::parse;
use crate::auth::Caller;
use crate::cases::erasure::{self, Decision, ErasureInput, ErasureRequestList, ErasureRequestView};
use crate::cases::legal_hold::{self, LegalHoldInput, LegalHoldView};
use crate::cases::{self as service};
use crate::http::{ApiError, Problem};
use crate::state::AppState;

pub(super) fn register(cfg: &mut ServiceConfig) {
    cfg.service(request_erasure)
        .service(approve_erasure)
        .service(refuse_erasure)
        .service(cancel_erasure)
        .service(pending_erasures)
        .service(place_legal_hold)
        .service(lift_legal_hold);
}

/// Ask for a case's erasure (a supervisor of the owning organisation). A second person must
/// approve it before anything is erased.
#[utoipa::path(
    tag = "cases",
    security(("bearer" = [])),
    params(("id" = String, Path), crate::routes::contract::IdempotencyKey),
    request_body = ErasureInput,
    responses(
        (status = 201, description = "Waiting for a second person until `expires_at`", body = ErasureRequestView),
        (status = 403, description = "Only a supervisor of the owning organisation asks for erasure", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such case, or none you may see", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "A request is already waiting, a legal hold is in force, or the case is erased", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid reason or scope", body = Problem, content_type = "application/problem+json"),
    ),
)]
#[post("/api/v1/cases/{id}/erasure-requests")]
pub async fn request_erasure(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    id: web::Path<CaseId>,
    body: web::Json<serde_json::Value>,
) -> Result<HttpResponse, ApiError> {
    let idempotency = service::idempotency(&state, &req, &body)?;
    let input: ErasureInput = parse(&body)?;
    let reply = erasure::request(&state, caller, id.into_inner(), idempotency, input).await?;
    Ok(reply.into_response())
}

async fn decide(
    state: &AppState,
    caller: Caller,
    path: (CaseId, ErasureRequestId),
    decision: Decision,
) -> Result<HttpResponse, ApiError> {
    let (id, request) = path;
    let reply = erasure::decide(state, caller, id, request, decision).await?;
    Ok(reply.into_response())
}

/// Approve an erasure request: the case's personal data (or whole record) is erased at once,
/// for good. A second person: a coordinator of the case's country, or another supervisor of the
/// owning organisation where the deployment allows it; never the requester.
#[utoipa::path(
    tag = "cases",
    security(("bearer" = [])),
    params(("id" = String, Path), ("request" = String, Path)),
    responses(
        (status = 200, description = "Approved and executed", body = ErasureRequestView),
        (status = 403, description = "You asked for it, or your role may not approve erasures here", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such request you may see", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already decided, expired, or a legal hold is in force", body = Problem, content_type = "application/problem+json"),
    ),
)]
#[post("/api/v1/cases/{id}/erasure-requests/{request}/approve")]
pub async fn approve_erasure(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(CaseId, ErasureRequestId)>,
) -> Result<HttpResponse, ApiError> {
    decide(&state, caller, path.into_inner(), Decision::Approve).await
}

/// Refuse an erasure request (the second person).
#[utoipa::path(
    tag = "cases",
    security(("bearer" = [])),
    params(("id" = String, Path), ("request" = String, Path)),
    responses(
        (status = 200, description = "Refused", body = ErasureRequestView),
        (status = 403, description = "You asked for it, or your role may not decide erasures here", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such request you may see", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already decided or expired", body = Problem, content_type = "application/problem+json"),
    ),
)]
#[post("/api/v1/cases/{id}/erasure-requests/{request}/refuse")]
pub async fn refuse_erasure(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(CaseId, ErasureRequestId)>,
) -> Result<HttpResponse, ApiError> {
    decide(&state, caller, path.into_inner(), Decision::Refuse).await
}

/// Withdraw a pending erasure request (a supervisor of the owning organisation).
#[utoipa::path(
    tag = "cases",
    security(("bearer" = [])),
    params(("id" = String, Path), ("request" = String, Path)),
    responses(
        (status = 200, description = "Cancelled", body = ErasureRequestView),
        (status = 403, description = "Only a supervisor of the owning organisation cancels", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such request you may see", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already decided or expired", body = Problem, content_type = "application/problem+json"),
    ),
)]
#[post("/api/v1/cases/{id}/erasure-requests/{request}/cancel")]
pub async fn cancel_erasure(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(CaseId, ErasureRequestId)>,
) -> Result<HttpResponse, ApiError> {
    decide(&state, caller, path.into_inner(), Decision::Cancel).await
}

/// The erasure requests waiting for your decision (coordinators: your country's; supervisors:
/// your organisation's, where supervisors approve), never your own.
#[utoipa::path(
    tag = "cases",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Pending requests, oldest first", body = ErasureRequestList),
    ),
)]
#[get("/api/v1/erasure-requests")]
pub async fn pending_erasures(
    state: web::Data<AppState>,
    caller: Caller,
) -> Result<HttpResponse, ApiError> {
    let list = erasure::pending_for(&state, caller).await?;
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(list))
}

/// Place a legal hold on a case (a coordinator of its country): it is not erased, by
/// retention or on request, until the hold is lifted.
#[utoipa::path(
    tag = "cases",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    request_body = LegalHoldInput,
    responses(
        (status = 201, description = "In force", body = LegalHoldView),
        (status = 403, description = "Only a coordinator places legal holds", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such case, or none you may see", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "A hold is already in force, or the case is erased", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid reason", body = Problem, content_type = "application/problem+json"),
    ),
)]
#[put("/api/v1/cases/{id}/legal-hold")]
pub async fn place_legal_hold(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<CaseId>,
    body: web::Json<serde_json::Value>,
) -> Result<HttpResponse, ApiError> {
    let input: LegalHoldInput = parse(&body)?;
    let reply = legal_hold::place(&state, caller, id.into_inner(), input).await?;
    Ok(reply.into_response())
}

/// Lift the legal hold in force on a case (a coordinator of its country).
#[utoipa::path(
    tag = "cases",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    responses(
        (status = 200, description = "Lifted", body = LegalHoldView),
        (status = 403, description = "Only a coordinator lifts legal holds", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such case, or none you may see", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "No hold is in force", body = Problem, content_type = "application/problem+json"),
    ),
)]
#[delete("/api/v1/cases/{id}/legal-hold")]
pub async fn lift_legal_hold(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<CaseId>,
) -> Result<HttpResponse, ApiError> {
    let reply = legal_hold::lift(&state, caller, id.into_inner()).await?;
    Ok(reply.into_response())
}
