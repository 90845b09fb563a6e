//! The audit trail's endpoints: each parses its input and calls one query of
//! `crate::audit::queries`, which decides, redacts and audits the reading itself.

use actix_web::{HttpResponse, get, web};
use tumaini_db::ids::CaseId;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::audit::queries::{self, EventQuery};
use crate::auth::Principal;
use crate::http::{ApiError, Problem};
use crate::state::AppState;

/// Registers the routes of this module.
pub fn register(cfg: &mut ServiceConfig) {
    cfg.service(list_events)
        .service(disclosures)
        .service(verify_chain);
}

/// Audit events, oldest first, cursor-paginated (the cursor is signed). Coordinators see the
/// events of their country (by people of its organisations, about the cases owned there and
/// their referrals); supervisors those of their organisation's people and about its cases. A
/// refusal by someone in scope about a case or referral outside it (another organisation's,
/// another country's, or none at all) shows without the id: whether it exists is not the
/// caller's to learn.
#[utoipa::path(
    tag = "audit",
    security(("bearer" = [])),
    params(EventQuery),
    responses(
        (status = 200, description = "A page of events and the next cursor"),
        (
            status = 403,
            description = "Coordinators and supervisors only",
            body = Problem,
            content_type = "application/problem+json",
        ),
    ),
)]
#[get("/api/v1/audit/events")]
pub async fn list_events(
    state: web::Data<AppState>,
    caller: Principal,
    query: web::Query<EventQuery>,
) -> Result<HttpResponse, ApiError> {
    let body = queries::events(&state, caller, query.into_inner()).await?;
    Ok(HttpResponse::Ok().json(body))
}

/// Who accessed this case: every person who read or changed it or was refused, with when,
/// which field groups, for which purposes. Coordinators for any case; supervisors for the
/// cases their organisation owns.
#[utoipa::path(
    tag = "audit",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    responses(
        (status = 200, description = "The disclosure report"),
        (
            status = 404,
            description = "No such case, or none whose audit you may read",
            body = Problem,
            content_type = "application/problem+json",
        ),
    ),
)]
#[get("/api/v1/audit/cases/{id}/disclosures")]
pub async fn disclosures(
    state: web::Data<AppState>,
    caller: Principal,
    id: web::Path<CaseId>,
) -> Result<HttpResponse, ApiError> {
    let body = queries::disclosures(&state, caller, id.into_inner()).await?;
    Ok(HttpResponse::Ok().json(body))
}

/// Recompute the chain and check every signed checkpoint (coordinators). Reports the first
/// broken position, not only "broken".
#[utoipa::path(
    tag = "audit",
    security(("bearer" = [])),
    responses(
        (
            status = 200,
            description = "The verification report; `intact` says whether the chain holds",
        ),
        (
            status = 403,
            description = "Coordinators only",
            body = Problem,
            content_type = "application/problem+json",
        ),
    ),
)]
#[get("/api/v1/audit/verify")]
pub async fn verify_chain(
    state: web::Data<AppState>,
    caller: Principal,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(queries::verify(&state, caller).await?))
}
