//! The endpoints of consent, referral into the NRM, identification decisions and status
//! changes: each parses its input and calls one function of `crate::cases::nrm`.

use actix_web::{HttpRequest, HttpResponse, get, post, web};
use serde_json::json;
use tumaini_db::ids::CaseId;
use utoipa_actix_web::service_config::ServiceConfig;

use super::parse;
use crate::auth::Caller;
use crate::cases::documents;
use crate::cases::nrm::{ConsentInput, DecisionInput, StatusInput, WithdrawalInput};
use crate::cases::views::CaseSummaryView;
use crate::cases::{self, self as service};
use crate::http::{ApiError, Problem};
use crate::state::AppState;

pub(super) fn register(cfg: &mut ServiceConfig) {
    cfg.service(record_consent)
        .service(withdraw_consent)
        .service(consent_history)
        .service(refer_to_nrm)
        .service(decide_identification)
        .service(change_status);
}

/// Record a new version of the person's consent. It replaces the one in force.
#[utoipa::path(
    tag = "cases",
    security(("bearer" = [])),
    params(("id" = String, Path), crate::routes::contract::IdempotencyKey),
    request_body = ConsentInput,
    responses(
        (status = 201, description = "Recorded", body = documents::ConsentRecorded),
        (
            status = 404,
            description = "No such case, or none you may see",
            body = Problem,
            content_type = "application/problem+json",
        ),
        (
            status = 422,
            description = "Refused: the detail names the rule",
            body = Problem,
            content_type = "application/problem+json",
        ),
    ),
)]
#[post("/api/v1/cases/{id}/consents")]
pub async fn record_consent(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    id: web::Path<CaseId>,
    body: web::Json<serde_json::Value>,
) -> Result<HttpResponse, ApiError> {
    let idempotency = service::idempotency(&state, &req, &body)?;
    let input: ConsentInput = parse(&body)?;
    let reply =
        cases::nrm::record_consent(&state, caller, id.into_inner(), idempotency, input).await?;
    Ok(reply.into_response())
}

/// Record that the person (or guardian) withdrew consent: all sharing stops on the next
/// request.
#[utoipa::path(
    tag = "cases",
    security(("bearer" = [])),
    params(("id" = String, Path), crate::routes::contract::IdempotencyKey),
    request_body = WithdrawalInput,
    responses(
        (status = 201, description = "Recorded", body = documents::ConsentRecorded),
        (
            status = 404,
            description = "No such case, or none you may see",
            body = Problem,
            content_type = "application/problem+json",
        ),
        (
            status = 409,
            description = "No consent in force",
            body = Problem,
            content_type = "application/problem+json",
        ),
    ),
)]
#[post("/api/v1/cases/{id}/consents/withdrawal")]
pub async fn withdraw_consent(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    id: web::Path<CaseId>,
    body: web::Json<serde_json::Value>,
) -> Result<HttpResponse, ApiError> {
    let idempotency = service::idempotency(&state, &req, &body)?;
    let input: WithdrawalInput = parse(&body)?;
    let reply =
        cases::nrm::withdraw_consent(&state, caller, id.into_inner(), idempotency, input).await?;
    Ok(reply.into_response())
}

/// The consent history and the consent in force (details stay encrypted: they are personal).
#[utoipa::path(
    tag = "cases",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    responses(
        (status = 200, description = "History, oldest first, and the consent in force", body = documents::ConsentHistory),
        (
            status = 404,
            description = "No such case, or none you may see",
            body = Problem,
            content_type = "application/problem+json",
        ),
    ),
)]
#[get("/api/v1/cases/{id}/consents")]
pub async fn consent_history(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<CaseId>,
) -> Result<HttpResponse, ApiError> {
    let reply = cases::nrm::consent_history(&state, caller, id.into_inner()).await?;
    Ok(reply.into_response())
}

/// Refer a presumed victim into the NRM for an identification decision. An adult needs consent
/// for identification; a child's guardian or best-interest basis gives it.
#[utoipa::path(
    tag = "cases",
    security(("bearer" = [])),
    params(("id" = String, Path), crate::routes::contract::IdempotencyKey),
    responses(
        (
            status = 200,
            description = "Referred; the reasonable-grounds decision is due",
            body = CaseSummaryView,
            headers(("ETag" = String, description = "The record's version, to send as `If-Match`")),
        ),
        (
            status = 404,
            description = "No such case, or none you may see",
            body = Problem,
            content_type = "application/problem+json",
        ),
        (
            status = 409,
            description = "Refused: the detail names the rule or the missing consent",
            body = Problem,
            content_type = "application/problem+json",
        ),
    ),
)]
#[post("/api/v1/cases/{id}/nrm-referral")]
pub async fn refer_to_nrm(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    id: web::Path<CaseId>,
) -> Result<HttpResponse, ApiError> {
    let idempotency = service::idempotency(&state, &req, &json!({}))?;
    let reply = cases::nrm::refer_to_nrm(&state, caller, id.into_inner(), idempotency).await?;
    Ok(reply.into_response())
}

/// Record an identification decision (the competent authority only).
#[utoipa::path(
    tag = "cases",
    security(("bearer" = [])),
    params(("id" = String, Path), crate::routes::contract::IdempotencyKey),
    request_body = DecisionInput,
    responses(
        (status = 200, description = "Decided", body = CaseSummaryView, headers(("ETag" = String, description = "The record's version, to send as `If-Match`"))),
        (
            status = 403,
            description = "Only the competent authority decides",
            body = Problem,
            content_type = "application/problem+json",
        ),
        (
            status = 404,
            description = "No such case, or none you may see",
            body = Problem,
            content_type = "application/problem+json",
        ),
        (
            status = 409,
            description = "Refused: the detail names the rule",
            body = Problem,
            content_type = "application/problem+json",
        ),
    ),
)]
#[post("/api/v1/cases/{id}/identification-decisions")]
pub async fn decide_identification(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    id: web::Path<CaseId>,
    body: web::Json<serde_json::Value>,
) -> Result<HttpResponse, ApiError> {
    let idempotency = service::idempotency(&state, &req, &body)?;
    let input: DecisionInput = parse(&body)?;
    let reply =
        cases::nrm::decide_identification(&state, caller, id.into_inner(), idempotency, input)
            .await?;
    Ok(reply.into_response())
}

/// Change the case status. Closing needs a request and then a supervisor's approval.
#[utoipa::path(
    tag = "cases",
    security(("bearer" = [])),
    params(("id" = String, Path), crate::routes::contract::IdempotencyKey),
    request_body = StatusInput,
    responses(
        (status = 200, description = "Changed", body = CaseSummaryView, headers(("ETag" = String, description = "The record's version, to send as `If-Match`"))),
        (
            status = 404,
            description = "No such case, or none you may see",
            body = Problem,
            content_type = "application/problem+json",
        ),
        (
            status = 409,
            description = "Refused: the detail names the rule",
            body = Problem,
            content_type = "application/problem+json",
        ),
    ),
)]
#[post("/api/v1/cases/{id}/status")]
pub async fn change_status(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    id: web::Path<CaseId>,
    body: web::Json<serde_json::Value>,
) -> Result<HttpResponse, ApiError> {
    let idempotency = service::idempotency(&state, &req, &body)?;
    let input: StatusInput = parse(&body)?;
    let reply =
        cases::nrm::change_status(&state, caller, id.into_inner(), idempotency, input).await?;
    Ok(reply.into_response())
}
