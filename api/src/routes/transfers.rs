//! The transfer endpoints: each parses its input, calls one function of the transfer service
//! (`crate::transfers`) and shapes the answer.

use actix_web::{HttpRequest, HttpResponse, get, post, web};
use serde::Deserialize;
use tumaini_db::ids::{CaseId, TransferId};
use tumaini_db::vocabulary::TransferState;
use utoipa::IntoParams;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::auth::Caller;
use crate::cases as service;
use crate::http::{ApiError, Problem, ProblemType};
use crate::routes::cases::parse;
use crate::rules::transfer::Step;
use crate::state::AppState;
use crate::transfers::{
    self, DeclineInput, MAX_PAGE, OwnershipHistory, Side, TransferInput, TransferPage,
    TransferQuery, TransferView,
};

/// Registers the routes of this module (the fixed paths before `{id}`).
pub fn register(cfg: &mut ServiceConfig) {
    cfg.service(request_transfer)
        .service(case_ownership)
        .service(list_transfers)
        .service(read_transfer)
        .service(accept_transfer)
        .service(decline_transfer)
        .service(withdraw_transfer);
}

/// Ask another organisation to take a case over (case workers and supervisors of its owner).
/// The consent in force must cover the receiver's kind and every group handed over (for a
/// child, a guardian's consent or a best-interest basis; across a border, transfer abroad).
#[utoipa::path(
    tag = "transfers",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The case"), crate::routes::contract::IdempotencyKey),
    request_body = TransferInput,
    responses(
        (status = 201, description = "Asked; the receiving organisation is told", body = TransferView),
        (status = 403, description = "Your role may not transfer this case", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such case, or none you may see", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Refused: the detail names the missing consent, or a transfer already waits, or the case is not in progress", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The transfer is not valid (your own, an inactive or unsuitable organisation; a group your organisation does not hold)", body = Problem, content_type = "application/problem+json"),
    ),
)]
#[post("/api/v1/cases/{id}/transfers")]
pub async fn request_transfer(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    id: web::Path<CaseId>,
    body: web::Json<serde_json::Value>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let idempotency = service::idempotency(&state, &req, &body)?;
    let input = parse::<TransferInput>(&body)?;
    let reply = transfers::request(&state, caller, id.into_inner(), input, idempotency).await?;
    Ok(reply.into_response())
}

/// A case's ownership history: the organisation that registered it, then each organisation
/// an accepted transfer moved it to (whoever may read the case's summary).
#[utoipa::path(
    tag = "transfers",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The case")),
    responses(
        (status = 200, description = "Its owners, oldest first", body = OwnershipHistory),
        (status = 404, description = "No such case, or none you may see", body = Problem, content_type = "application/problem+json"),
    ),
)]
#[get("/api/v1/cases/{id}/ownership")]
pub async fn case_ownership(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<CaseId>,
) -> Result<HttpResponse, ApiError> {
    let reply = transfers::history(&state, caller, id.into_inner()).await?;
    Ok(reply.into_response())
}

/// Which transfers to list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct TransferListQuery {
    /// `incoming` (asked of your organisation, the default) or `outgoing` (asked by it).
    #[param(inline)]
    pub direction: Option<Side>,
    /// Only this state.
    pub state: Option<TransferState>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<TransferId>,
    /// Page size (1 to 100, default 50).
    pub limit: Option<i64>,
}

/// Your organisation's incoming or outgoing transfers, newest first.
#[utoipa::path(
    tag = "transfers",
    security(("bearer" = [])),
    params(TransferListQuery),
    responses(
        (status = 200, description = "A page", body = TransferPage),
        (status = 400, description = "A criterion is not valid", body = Problem, content_type = "application/problem+json"),
    ),
)]
#[get("/api/v1/transfers")]
pub async fn list_transfers(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<TransferListQuery>,
) -> Result<web::Json<TransferPage>, ApiError> {
    let query = query.into_inner();
    let limit = query.limit.unwrap_or(50);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(ApiError::problem(
            ProblemType::BadRequest,
            format!("`limit` must be 1 to {MAX_PAGE}"),
        ));
    }
    let page = TransferQuery {
        direction: query.direction.unwrap_or(Side::Incoming),
        state: query.state,
        cursor: query.cursor,
        limit,
    };
    Ok(web::Json(transfers::list(&state, caller, page).await?))
}

/// Read one transfer (its two organisations; coordinators of the countries it leaves or
/// enters). The sender's note is shown to the two organisations only, and its reading audited.
#[utoipa::path(
    tag = "transfers",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    responses(
        (status = 200, description = "The transfer", body = TransferView),
        (status = 404, description = "No such transfer, or none you may see", body = Problem, content_type = "application/problem+json"),
    ),
)]
#[get("/api/v1/transfers/{id}")]
pub async fn read_transfer(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<TransferId>,
) -> Result<web::Json<TransferView>, ApiError> {
    let view = transfers::act(&state, caller, id.into_inner(), None, None).await?;
    Ok(web::Json(view))
}

/// Accept a transfer (the receiving organisation's case workers and supervisors, while it
/// waits): the case becomes your organisation's, with the groups the transfer hands over, and
/// you its lead. The consent is checked again: if it no longer covers the transfer, nothing
/// changes.
#[utoipa::path(
    tag = "transfers",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    responses(
        (status = 200, description = "Accepted: the case is yours", body = TransferView),
        (status = 403, description = "Your organisation or role may not take this step", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such transfer, or none you may see", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already answered, the consent no longer covers it, or the case changed at the same moment", body = Problem, content_type = "application/problem+json"),
    ),
)]
#[post("/api/v1/transfers/{id}/accept")]
pub async fn accept_transfer(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<TransferId>,
) -> Result<web::Json<TransferView>, ApiError> {
    let view = transfers::act(&state, caller, id.into_inner(), Some(Step::Accept), None).await?;
    Ok(web::Json(view))
}

/// Decline a transfer, with a reason (the receiving organisation, while it waits).
#[utoipa::path(
    tag = "transfers",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    request_body = DeclineInput,
    responses(
        (status = 200, description = "Declined", body = TransferView),
        (status = 403, description = "Your organisation or role may not take this step", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such transfer, or none you may see", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already answered or withdrawn", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "No reason from the vocabulary", body = Problem, content_type = "application/problem+json"),
    ),
)]
#[post("/api/v1/transfers/{id}/decline")]
pub async fn decline_transfer(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<TransferId>,
    body: web::Json<serde_json::Value>,
) -> Result<web::Json<TransferView>, ApiError> {
    let input = parse::<DeclineInput>(&body.into_inner())?;
    let view = transfers::act(
        &state,
        caller,
        id.into_inner(),
        Some(Step::Decline),
        Some(input.reason),
    )
    .await?;
    Ok(web::Json(view))
}

/// Withdraw a transfer still waiting (the sending organisation).
#[utoipa::path(
    tag = "transfers",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    responses(
        (status = 200, description = "Withdrawn", body = TransferView),
        (status = 403, description = "Your organisation or role may not take this step", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such transfer, or none you may see", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already answered", body = Problem, content_type = "application/problem+json"),
    ),
)]
#[post("/api/v1/transfers/{id}/withdraw")]
pub async fn withdraw_transfer(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<TransferId>,
) -> Result<web::Json<TransferView>, ApiError> {
    let view = transfers::act(&state, caller, id.into_inner(), Some(Step::Withdraw), None).await?;
    Ok(web::Json(view))
}
