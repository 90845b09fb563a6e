//! The history of a case's personal groups, and restriction of processing: parse, call
//! `crate::cases::history` or `crate::cases::restriction`, answer.

use actix_web::{HttpRequest, HttpResponse, delete, get, post, web};
use serde::Deserialize;
use tumaini_db::ids::CaseId;
use utoipa::IntoParams;
use utoipa_actix_web::service_config::ServiceConfig;

use super::{parse, parse_groups};
use crate::auth::Caller;
use crate::cases::history::{self, CaseHistory};
use crate::cases::restriction::{self, RestrictionInput};
use crate::cases::views::{AccessPurpose, CaseSummaryView};
use crate::cases::{self as service};
use crate::http::{ApiError, Problem, ProblemType};
use crate::state::AppState;

pub(super) fn register(cfg: &mut ServiceConfig) {
    cfg.service(read_history)
        .service(place_restriction)
        .service(lift_restriction);
}

/// Which earlier values to show.
#[derive(Debug, Deserialize, IntoParams)]
pub struct HistoryQuery {
    /// Personal groups whose earlier values you want, comma-separated (`identity,notes`); the
    /// list of versions always comes, never with values otherwise.
    pub groups: Option<String>,
    /// Why (required with `groups`): assistance, case_management, referral, identification,
    /// safeguarding, supervision or restriction_dispute.
    #[param(value_type = Option<String>)]
    pub purpose: Option<AccessPurpose>,
}

/// The versions of a case's personal groups: who changed which group (user, role and
/// organisation, as the audit trail names them), when, the version number and the
/// rectification reason given, never a value. With `groups` and a `purpose`, each version of
/// those groups carries its value where the rules let you read that group (the same rules as
/// a case read; groups refused are listed in `withheld_groups`). Audited as
/// `case.history.read`, with the groups whose values were shown.
#[utoipa::path(
    tag = "cases",
    security(("bearer" = [])),
    params(("id" = String, Path), HistoryQuery),
    responses(
        (status = 200, description = "The versions, and the values you asked for and may read", body = CaseHistory),
        (
            status = 400,
            description = "An unknown group, or groups without a purpose",
            body = Problem,
            content_type = "application/problem+json",
        ),
        (
            status = 403,
            description = "You see the case but your role may not read its history",
            body = Problem,
            content_type = "application/problem+json",
        ),
        (
            status = 404,
            description = "No such case, or none you may see",
            body = Problem,
            content_type = "application/problem+json",
        ),
    ),
)]
#[get("/api/v1/cases/{id}/history")]
pub async fn read_history(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<CaseId>,
    query: web::Query<HistoryQuery>,
) -> Result<HttpResponse, ApiError> {
    let query = query.into_inner();
    let wanted = parse_groups(query.groups.as_deref())?;
    if !wanted.is_empty() && query.purpose.is_none() {
        return Err(ApiError::problem(
            ProblemType::BadRequest,
            "reading personal groups needs a `purpose`",
        ));
    }
    let purpose = query.purpose.map_or("case_management", AccessPurpose::code);
    let reply = history::read(&state, caller, id.into_inner(), wanted, purpose).await?;
    Ok(reply.into_response())
}

/// Restrict processing of a case (Uganda DPPA 2019 s.17-18, GDPR art. 18), with a reason: no
/// new referrals and no acceptance of a pending one; its personal groups are read only by a
/// supervisor of the owning organisation with purpose `restriction_dispute`; assistance under
/// way goes on. A supervisor of the owning organisation or a national coordinator of its
/// country. The case summary shows `restricted` and `restriction` (since, by, reason).
#[utoipa::path(
    tag = "cases",
    security(("bearer" = [])),
    params(("id" = String, Path), crate::routes::contract::IdempotencyKey),
    request_body = RestrictionInput,
    responses(
        (status = 200, description = "Restricted", body = CaseSummaryView, headers(("ETag" = String, description = "The record's version, to send as `If-Match`"))),
        (
            status = 403,
            description = "Your role may not restrict this case",
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
            description = "The case is already restricted (nothing changed)",
            body = Problem,
            content_type = "application/problem+json",
        ),
        (
            status = 422,
            description = "No reason, or one not in the vocabulary",
            body = Problem,
            content_type = "application/problem+json",
        ),
    ),
)]
#[post("/api/v1/cases/{id}/restriction")]
pub async fn place_restriction(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    id: web::Path<CaseId>,
    body: web::Json<serde_json::Value>,
) -> Result<HttpResponse, ApiError> {
    let idempotency = service::idempotency(&state, &req, &body)?;
    let input: RestrictionInput = parse(&body)?;
    let reply = restriction::place(&state, caller, id.into_inner(), idempotency, input).await?;
    Ok(reply.into_response())
}

/// Lift the restriction of processing of a case: everything works again. Who may restrict
/// may lift.
#[utoipa::path(
    tag = "cases",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    responses(
        (status = 200, description = "Lifted", body = CaseSummaryView, headers(("ETag" = String, description = "The record's version, to send as `If-Match`"))),
        (
            status = 403,
            description = "Your role may not lift this case's restriction",
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
            description = "The case is not restricted (nothing changed)",
            body = Problem,
            content_type = "application/problem+json",
        ),
    ),
)]
#[delete("/api/v1/cases/{id}/restriction")]
pub async fn lift_restriction(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<CaseId>,
) -> Result<HttpResponse, ApiError> {
    let reply = restriction::lift(&state, caller, id.into_inner()).await?;
    Ok(reply.into_response())
}
