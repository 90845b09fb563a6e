//! The endpoints of assistance records and case notes: each parses its input and calls one
//! function of `crate::cases::records`.

use actix_web::{HttpRequest, HttpResponse, get, post, web};
use tumaini_db::ids::CaseId;
use utoipa_actix_web::service_config::ServiceConfig;

use super::parse;
use crate::auth::Caller;
use crate::cases::documents;
use crate::cases::records::{AssistanceInput, NoteInput};
use crate::cases::{self, self as service};
use crate::http::{ApiError, Problem};
use crate::state::AppState;

pub(super) fn register(cfg: &mut ServiceConfig) {
    cfg.service(record_assistance)
        .service(list_assistance)
        .service(write_note)
        .service(list_notes);
}

/// Record assistance for a case.
#[utoipa::path(
    tag = "cases",
    security(("bearer" = [])),
    params(("id" = String, Path), crate::routes::contract::IdempotencyKey),
    request_body = AssistanceInput,
    responses(
        (status = 201, description = "Recorded", body = documents::RecordCreated),
        (
            status = 404,
            description = "No such case, or none you may see",
            body = Problem,
            content_type = "application/problem+json",
        ),
        (
            status = 409,
            description = "The case is closed or withdrawn",
            body = Problem,
            content_type = "application/problem+json",
        ),
    ),
)]
#[post("/api/v1/cases/{id}/assistance")]
pub async fn record_assistance(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    id: web::Path<CaseId>,
    body: web::Json<serde_json::Value>,
) -> Result<HttpResponse, ApiError> {
    let idempotency = service::idempotency(&state, &req, &body)?;
    let input: AssistanceInput = parse(&body)?;
    let reply =
        cases::records::record_assistance(&state, caller, id.into_inner(), idempotency, input)
            .await?;
    Ok(reply.into_response())
}

/// The case's assistance records; details only for callers who may read the `notes` group.
#[utoipa::path(
    tag = "cases",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    responses(
        (status = 200, description = "Assistance records, oldest first", body = documents::AssistanceList),
        (
            status = 404,
            description = "No such case, or none you may see",
            body = Problem,
            content_type = "application/problem+json",
        ),
    ),
)]
#[get("/api/v1/cases/{id}/assistance")]
pub async fn list_assistance(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<CaseId>,
) -> Result<HttpResponse, ApiError> {
    let reply = cases::records::list_assistance(&state, caller, id.into_inner()).await?;
    Ok(reply.into_response())
}

/// Write a case note.
#[utoipa::path(
    tag = "cases",
    security(("bearer" = [])),
    params(("id" = String, Path), crate::routes::contract::IdempotencyKey),
    request_body = NoteInput,
    responses(
        (status = 201, description = "Written", body = documents::RecordCreated),
        (
            status = 404,
            description = "No such case, or none you may see",
            body = Problem,
            content_type = "application/problem+json",
        ),
    ),
)]
#[post("/api/v1/cases/{id}/notes")]
pub async fn write_note(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    id: web::Path<CaseId>,
    body: web::Json<serde_json::Value>,
) -> Result<HttpResponse, ApiError> {
    let idempotency = service::idempotency(&state, &req, &body)?;
    let input: NoteInput = parse(&body)?;
    let reply =
        cases::records::write_note(&state, caller, id.into_inner(), idempotency, input).await?;
    Ok(reply.into_response())
}

/// The case's notes (the `notes` group).
#[utoipa::path(
    tag = "cases",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    responses(
        (status = 200, description = "Notes, oldest first", body = documents::NoteList),
        (
            status = 404,
            description = "No such case, or none you may see",
            body = Problem,
            content_type = "application/problem+json",
        ),
    ),
)]
#[get("/api/v1/cases/{id}/notes")]
pub async fn list_notes(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<CaseId>,
) -> Result<HttpResponse, ApiError> {
    let reply = cases::records::list_notes(&state, caller, id.into_inner()).await?;
    Ok(reply.into_response())
}
