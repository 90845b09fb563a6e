//! The endpoints of screening, risk assessments and the assistance plan: each parses its input
//! and calls one function of `crate::cases::assessments`; the indicator catalogue is static.

use actix_web::{HttpRequest, HttpResponse, get, post, put, web};
use tumaini_db::ids::CaseId;
use utoipa_actix_web::service_config::ServiceConfig;

use super::parse;
use crate::auth::Caller;
use crate::cases::assessments::{
    CatalogueQuery, DimensionView, IndicatorCatalogue, IndicatorView, PlanInput, RiskInput,
    ScreeningInput,
};
use crate::cases::documents;
use crate::cases::{self, self as service};
use crate::http::{ApiError, Problem, ProblemType};
use crate::rules::screening::{self, Dimension, IndicatorList};
use crate::state::AppState;

pub(super) fn register(cfg: &mut ServiceConfig) {
    cfg.service(indicator_catalogue)
        .service(record_screening)
        .service(list_screenings)
        .service(record_risk)
        .service(list_risk)
        .service(read_plan)
        .service(put_plan);
}

/// The trafficking indicators a screening answers, by list (ILO / European Commission
/// operational indicators, 2009), with the dimensions and the rule.
#[utoipa::path(
    tag = "cases",
    security(("bearer" = [])),
    params(CatalogueQuery),
    responses(
        (status = 200, description = "The list's indicators, by dimension", body = IndicatorCatalogue),
        (
            status = 400,
            description = "Unknown list",
            body = Problem,
            content_type = "application/problem+json",
        ),
    ),
)]
#[get("/api/v1/screening-indicators")]
pub async fn indicator_catalogue(
    _caller: Caller,
    query: web::Query<CatalogueQuery>,
) -> Result<HttpResponse, ApiError> {
    let list = match query.list.as_deref() {
        None | Some("adult") => IndicatorList::Adult,
        Some("child") => IndicatorList::Child,
        Some(_) => {
            return Err(ApiError::problem(
                ProblemType::BadRequest,
                "`list` is adult or child",
            ));
        }
    };
    let dimensions = Dimension::ALL
        .iter()
        .map(|d| DimensionView {
            code: d.code(),
            label: d.label(),
            indicators: screening::indicators(list)
                .filter(|(i, _)| i.dimension == *d)
                .map(|(i, strength)| IndicatorView {
                    code: i.code,
                    dimension: i.dimension,
                    strength,
                    label: i.label,
                })
                .collect(),
        })
        .collect();
    Ok(HttpResponse::Ok().json(IndicatorCatalogue {
        list,
        dimensions,
        rule: match list {
            IndicatorList::Adult => "presumed when a recruitment dimension, the exploitation dimension and a destination dimension are each met",
            IndicatorList::Child => "presumed when the exploitation dimension is met (the means are not required for a child)",
        },
        dimension_rule: "a dimension is met by two strong indicators, one strong and one medium or weak, three medium, or two medium and one weak",
        source: "ILO and European Commission, Operational indicators of trafficking in human beings (2009)",
    }))
}

/// Screen a case with trafficking indicators. The presumption is computed and stored; a
/// professional judgement may override it, with a reason. The case's identification stage
/// follows (`presumed` or `screened_not_presumed`) until it enters the NRM.
#[utoipa::path(
    tag = "cases",
    security(("bearer" = [])),
    params(("id" = String, Path), crate::routes::contract::IdempotencyKey),
    request_body = ScreeningInput,
    responses(
        (status = 201, description = "Screened", body = documents::ScreeningRecorded, headers(("ETag" = String, description = "The record's version, to send as `If-Match`"))),
        (
            status = 404,
            description = "No such case, or none you may see",
            body = Problem,
            content_type = "application/problem+json",
        ),
        (
            status = 409,
            description = "The case is already in the NRM",
            body = Problem,
            content_type = "application/problem+json",
        ),
        (
            status = 422,
            description = "An unknown indicator",
            body = Problem,
            content_type = "application/problem+json",
        ),
    ),
)]
#[post("/api/v1/cases/{id}/screenings")]
pub async fn record_screening(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    id: web::Path<CaseId>,
    body: web::Json<serde_json::Value>,
) -> Result<HttpResponse, ApiError> {
    let idempotency = service::idempotency(&state, &req, &body)?;
    let input: ScreeningInput = parse(&body)?;
    let reply =
        cases::assessments::record_screening(&state, caller, id.into_inner(), idempotency, input)
            .await?;
    Ok(reply.into_response())
}

/// The case's screenings, oldest first; the answers only for callers who may read `notes`.
#[utoipa::path(
    tag = "cases",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    responses(
        (status = 200, description = "Screenings", body = documents::ScreeningList),
        (
            status = 404,
            description = "No such case, or none you may see",
            body = Problem,
            content_type = "application/problem+json",
        ),
    ),
)]
#[get("/api/v1/cases/{id}/screenings")]
pub async fn list_screenings(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<CaseId>,
) -> Result<HttpResponse, ApiError> {
    let reply = cases::assessments::list_screenings(&state, caller, id.into_inner()).await?;
    Ok(reply.into_response())
}

/// Record a risk assessment (individual, household, community) with its review date.
#[utoipa::path(
    tag = "cases",
    security(("bearer" = [])),
    params(("id" = String, Path), crate::routes::contract::IdempotencyKey),
    request_body = RiskInput,
    responses(
        (status = 201, description = "Recorded", body = documents::RiskRecorded),
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
#[post("/api/v1/cases/{id}/risk-assessments")]
pub async fn record_risk(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    id: web::Path<CaseId>,
    body: web::Json<serde_json::Value>,
) -> Result<HttpResponse, ApiError> {
    let idempotency = service::idempotency(&state, &req, &body)?;
    let input: RiskInput = parse(&body)?;
    let reply =
        cases::assessments::record_risk(&state, caller, id.into_inner(), idempotency, input)
            .await?;
    Ok(reply.into_response())
}

/// The case's risk assessments, oldest first (the levels and review dates are shown to anyone
/// who sees the case's summary; details only with the `notes` group).
#[utoipa::path(
    tag = "cases",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    responses(
        (status = 200, description = "Risk assessments", body = documents::RiskList),
        (
            status = 404,
            description = "No such case, or none you may see",
            body = Problem,
            content_type = "application/problem+json",
        ),
    ),
)]
#[get("/api/v1/cases/{id}/risk-assessments")]
pub async fn list_risk(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<CaseId>,
) -> Result<HttpResponse, ApiError> {
    let reply = cases::assessments::list_risk(&state, caller, id.into_inner()).await?;
    Ok(reply.into_response())
}

/// The case's individual assistance plan (the `notes` group).
#[utoipa::path(
    tag = "cases",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    responses(
        (status = 200, description = "The plan, with its ETag", body = documents::PlanView, headers(("ETag" = String, description = "The record's version, to send as `If-Match`"))),
        (
            status = 404,
            description = "No such case, none you may see, or no plan yet",
            body = Problem,
            content_type = "application/problem+json",
        ),
    ),
)]
#[get("/api/v1/cases/{id}/plan")]
pub async fn read_plan(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<CaseId>,
) -> Result<HttpResponse, ApiError> {
    let reply = cases::assessments::read_plan(&state, caller, id.into_inner()).await?;
    Ok(reply.into_response())
}

/// Write or replace the individual assistance plan. Replacing needs `If-Match` with the plan's
/// `ETag`; the first plan is written without it (or with `If-None-Match: *`).
#[utoipa::path(
    tag = "cases",
    security(("bearer" = [])),
    params(("id" = String, Path), crate::routes::contract::IfMatch),
    request_body = PlanInput,
    responses(
        (status = 200, description = "Written, with the new ETag", body = documents::PlanSaved, headers(("ETag" = String, description = "The record's version, to send as `If-Match`"))),
        (
            status = 404,
            description = "No such case, or none you may see",
            body = Problem,
            content_type = "application/problem+json",
        ),
        (
            status = 412,
            description = "The plan changed since you read it",
            body = Problem,
            content_type = "application/problem+json",
        ),
        (
            status = 428,
            description = "If-Match is needed to replace a plan",
            body = Problem,
            content_type = "application/problem+json",
        ),
    ),
)]
#[put("/api/v1/cases/{id}/plan")]
pub async fn put_plan(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    id: web::Path<CaseId>,
    body: web::Json<serde_json::Value>,
) -> Result<HttpResponse, ApiError> {
    let input: PlanInput = parse(&body)?;
    let expected = if req
        .headers()
        .contains_key(actix_web::http::header::IF_MATCH)
    {
        Some(crate::cases::if_match(&req)?)
    } else {
        None
    };
    let reply =
        cases::assessments::put_plan(&state, caller, id.into_inner(), input, expected).await?;
    Ok(reply.into_response())
}
