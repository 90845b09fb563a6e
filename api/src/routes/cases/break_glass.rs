//! The break-glass endpoint: parses the opening and calls `crate::cases::break_glass`.

use actix_web::{HttpRequest, HttpResponse, post, web};
use tumaini_db::ids::CaseId;
use utoipa_actix_web::service_config::ServiceConfig;

use super::parse;
use crate::auth::Caller;
use crate::cases::break_glass::BreakGlassInput;
use crate::cases::documents;
use crate::cases::{self, self as service};
use crate::http::{ApiError, Problem};
use crate::state::AppState;

pub(super) fn register(cfg: &mut ServiceConfig) {
    cfg.service(open_break_glass);
}

/// Open personal groups of a case by break-glass, for a limited time.
#[utoipa::path(
    tag = "cases",
    security(("bearer" = [])),
    params(("id" = String, Path), crate::routes::contract::IdempotencyKey),
    request_body = BreakGlassInput,
    responses(
        (status = 201, description = "Opened until `expires_at`", body = documents::BreakGlassGranted),
        (
            status = 403,
            description = "Your role may not open this case",
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
            status = 422,
            description = "No groups, no justification, or too long",
            body = Problem,
            content_type = "application/problem+json",
        ),
    ),
)]
#[post("/api/v1/cases/{id}/break-glass")]
pub async fn open_break_glass(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    id: web::Path<CaseId>,
    body: web::Json<serde_json::Value>,
) -> Result<HttpResponse, ApiError> {
    let idempotency = service::idempotency(&state, &req, &body)?;
    let input: BreakGlassInput = parse(&body)?;
    let reply =
        cases::break_glass::open_break_glass(&state, caller, id.into_inner(), idempotency, input)
            .await?;
    Ok(reply.into_response())
}
