//! The referral endpoints: each parses its input, calls one function of the referral service
//! (`crate::referrals`) and shapes the answer.

use actix_web::{HttpRequest, HttpResponse, get, post, web};
use serde::Deserialize;
use tumaini_db::ids::{CaseId, ReferralId};
use tumaini_db::vocabulary::ReferralState;
use utoipa::IntoParams;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::auth::{Caller, Principal};
use crate::cases as service;
use crate::http::{ApiError, Problem, ProblemType};
use crate::referrals::{
    self, CaseReferrals, DeclineInput, MAX_PAGE, MailboxPage, ReferralInput, ReferralOverview,
    ReferralPage, ReferralView, Side,
};
use crate::routes::cases::parse;
use crate::rules::referral::Step;
use crate::state::AppState;

/// Registers the routes of this module (the fixed paths before `{id}`).
pub fn register(cfg: &mut ServiceConfig) {
    cfg.service(create_referral)
        .service(case_referrals)
        .service(list_referrals)
        .service(referral_overview)
        .service(read_referral)
        .service(accept_referral)
        .service(decline_referral)
        .service(start_service)
        .service(complete_referral)
        .service(withdraw_referral);
}

/// Refer a case to another organisation for named services. The consent in force must cover
/// referral to the receiving organisation's kind and every group shared (for a child, a
/// guardian's consent or a best-interest basis; abroad, consent to transfer abroad).
#[utoipa::path(
    tag = "referrals",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The case"), crate::routes::contract::IdempotencyKey),
    request_body = ReferralInput,
    responses(
        (
            status = 201,
            description = "Sent; the receiving organisation is told",
            body = ReferralView,
        ),
        (
            status = 404,
            description = "No such case, or none you may see",
            body = Problem,
            content_type = "application/problem+json",
        ),
        (
            status = 409,
            description = "Refused: the detail names the missing consent or the rule",
            body = Problem,
            content_type = "application/problem+json",
        ),
        (
            status = 422,
            description = "The referral is not valid (no such receiving organisation, more groups than the services need)",
            body = Problem,
            content_type = "application/problem+json",
        ),
    ),
)]
#[post("/api/v1/cases/{id}/referrals")]
pub async fn create_referral(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    id: web::Path<CaseId>,
    body: web::Json<serde_json::Value>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let idempotency = service::idempotency(&state, &req, &body)?;
    let input = parse::<ReferralInput>(&body)?;
    let reply = referrals::create(&state, caller, id.into_inner(), input, idempotency).await?;
    Ok(reply.into_response())
}

/// A case's referrals and their timelines (whoever may see the case: the owning organisation
/// sees all of them, anyone else those their organisation is party to).
#[utoipa::path(
    tag = "referrals",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The case")),
    responses(
        (status = 200, description = "The case's referrals, oldest first", body = CaseReferrals),
        (
            status = 404,
            description = "No such case, or none you may see",
            body = Problem,
            content_type = "application/problem+json",
        ),
    ),
)]
#[get("/api/v1/cases/{id}/referrals")]
pub async fn case_referrals(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<CaseId>,
) -> Result<HttpResponse, ApiError> {
    let reply = referrals::of_case(&state, caller, id.into_inner()).await?;
    Ok(reply.into_response())
}

/// Which referrals to list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct MailboxQuery {
    /// `inbox` (to your organisation, the default) or `outbox` (from it).
    #[serde(rename = "box")]
    #[param(rename = "box", inline)]
    pub side: Option<Side>,
    /// Only this state.
    pub state: Option<ReferralState>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<ReferralId>,
    /// Page size (1 to 100, default 50).
    pub limit: Option<i64>,
}

/// Your organisation's inbox or outbox of referrals, newest first.
#[utoipa::path(
    tag = "referrals",
    security(("bearer" = [])),
    params(MailboxQuery),
    responses(
        (status = 200, description = "A page", body = ReferralPage),
        (
            status = 400,
            description = "A criterion is not valid",
            body = Problem,
            content_type = "application/problem+json",
        ),
    ),
)]
#[get("/api/v1/referrals")]
pub async fn list_referrals(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<MailboxQuery>,
) -> Result<web::Json<ReferralPage>, ApiError> {
    let query = query.into_inner();
    let limit = query.limit.unwrap_or(50);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(ApiError::problem(
            ProblemType::BadRequest,
            format!("`limit` must be 1 to {MAX_PAGE}"),
        ));
    }
    let page = MailboxPage {
        side: query.side.unwrap_or(Side::Inbox),
        state: query.state,
        cursor: query.cursor,
        limit,
    };
    Ok(web::Json(referrals::mailbox(&state, caller, page).await?))
}

/// Referral performance per receiving organisation: open, overdue, outcomes and the mean time
/// to answer. Coordinators see every organisation; a supervisor sees their own.
#[utoipa::path(
    tag = "referrals",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The figures", body = ReferralOverview),
        (
            status = 403,
            description = "Your role may not read statistics",
            body = Problem,
            content_type = "application/problem+json",
        ),
    ),
)]
#[get("/api/v1/referrals/overview")]
pub async fn referral_overview(
    state: web::Data<AppState>,
    caller: Principal,
) -> Result<web::Json<ReferralOverview>, ApiError> {
    Ok(web::Json(referrals::overview(&state, caller).await?))
}

/// Read one referral (its two organisations and coordinators).
#[utoipa::path(
    tag = "referrals",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    responses(
        (status = 200, description = "The referral and its timeline", body = ReferralView),
        (
            status = 404,
            description = "No such referral, or none you may see",
            body = Problem,
            content_type = "application/problem+json",
        ),
    ),
)]
#[get("/api/v1/referrals/{id}")]
pub async fn read_referral(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<ReferralId>,
) -> Result<web::Json<ReferralView>, ApiError> {
    let view = referrals::act(&state, caller, id.into_inner(), None, None).await?;
    Ok(web::Json(view))
}

/// Accept a referral (the receiving organisation's case workers and supervisors, before its
/// deadline): the organisation then sees the groups it shares, while the consent in force
/// covers them.
#[utoipa::path(
    tag = "referrals",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    responses(
        (status = 200, description = "Accepted", body = ReferralView),
        (
            status = 403,
            description = "Your organisation or role may not take this step",
            body = Problem,
            content_type = "application/problem+json",
        ),
        (
            status = 404,
            description = "No such referral, or none you may see",
            body = Problem,
            content_type = "application/problem+json",
        ),
        (
            status = 409,
            description = "The step does not follow from the referral's state, or its deadline passed",
            body = Problem,
            content_type = "application/problem+json",
        ),
    ),
)]
#[post("/api/v1/referrals/{id}/accept")]
pub async fn accept_referral(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<ReferralId>,
) -> Result<web::Json<ReferralView>, ApiError> {
    let view = referrals::act(&state, caller, id.into_inner(), Some(Step::Accept), None).await?;
    Ok(web::Json(view))
}

/// Record that the referred service started (the receiving organisation).
#[utoipa::path(
    tag = "referrals",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    responses(
        (status = 200, description = "In service", body = ReferralView),
        (
            status = 403,
            description = "Your organisation or role may not take this step",
            body = Problem,
            content_type = "application/problem+json",
        ),
        (
            status = 404,
            description = "No such referral, or none you may see",
            body = Problem,
            content_type = "application/problem+json",
        ),
        (
            status = 409,
            description = "The step does not follow from the referral's state, or its deadline passed",
            body = Problem,
            content_type = "application/problem+json",
        ),
    ),
)]
#[post("/api/v1/referrals/{id}/start")]
pub async fn start_service(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<ReferralId>,
) -> Result<web::Json<ReferralView>, ApiError> {
    let view = referrals::act(&state, caller, id.into_inner(), Some(Step::Start), None).await?;
    Ok(web::Json(view))
}

/// Complete a referral (the receiving organisation): its access ends at once.
#[utoipa::path(
    tag = "referrals",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    responses(
        (status = 200, description = "Completed", body = ReferralView),
        (
            status = 403,
            description = "Your organisation or role may not take this step",
            body = Problem,
            content_type = "application/problem+json",
        ),
        (
            status = 404,
            description = "No such referral, or none you may see",
            body = Problem,
            content_type = "application/problem+json",
        ),
        (
            status = 409,
            description = "The step does not follow from the referral's state, or its deadline passed",
            body = Problem,
            content_type = "application/problem+json",
        ),
    ),
)]
#[post("/api/v1/referrals/{id}/complete")]
pub async fn complete_referral(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<ReferralId>,
) -> Result<web::Json<ReferralView>, ApiError> {
    let view = referrals::act(&state, caller, id.into_inner(), Some(Step::Complete), None).await?;
    Ok(web::Json(view))
}

/// Withdraw a referral that is still open (the referring organisation): any access it gave
/// ends at once.
#[utoipa::path(
    tag = "referrals",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    responses(
        (status = 200, description = "Withdrawn", body = ReferralView),
        (
            status = 403,
            description = "Your organisation or role may not take this step",
            body = Problem,
            content_type = "application/problem+json",
        ),
        (
            status = 404,
            description = "No such referral, or none you may see",
            body = Problem,
            content_type = "application/problem+json",
        ),
        (
            status = 409,
            description = "The step does not follow from the referral's state, or its deadline passed",
            body = Problem,
            content_type = "application/problem+json",
        ),
    ),
)]
#[post("/api/v1/referrals/{id}/withdraw")]
pub async fn withdraw_referral(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<ReferralId>,
) -> Result<web::Json<ReferralView>, ApiError> {
    let view = referrals::act(&state, caller, id.into_inner(), Some(Step::Withdraw), None).await?;
    Ok(web::Json(view))
}

/// Decline a referral, with a reason (the receiving organisation, before its deadline).
#[utoipa::path(
    tag = "referrals",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    request_body = DeclineInput,
    responses(
        (status = 200, description = "Declined", body = ReferralView),
        (
            status = 403,
            description = "Your organisation or role may not take this step",
            body = Problem,
            content_type = "application/problem+json",
        ),
        (
            status = 404,
            description = "No such referral, or none you may see",
            body = Problem,
            content_type = "application/problem+json",
        ),
        (
            status = 409,
            description = "The step does not follow from the referral's state, or its deadline passed",
            body = Problem,
            content_type = "application/problem+json",
        ),
        (
            status = 422,
            description = "No reason from the vocabulary",
            body = Problem,
            content_type = "application/problem+json",
        ),
    ),
)]
#[post("/api/v1/referrals/{id}/decline")]
pub async fn decline_referral(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<ReferralId>,
    body: web::Json<serde_json::Value>,
) -> Result<web::Json<ReferralView>, ApiError> {
    let input = parse::<DeclineInput>(&body.into_inner())?;
    let view = referrals::act(
        &state,
        caller,
        id.into_inner(),
        Some(Step::Decline),
        Some(input.reason),
    )
    .await?;
    Ok(web::Json(view))
}
