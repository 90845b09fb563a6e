//! The audit trail's endpoints: each parses its input and calls one query of
//! `crate::audit::queries`, which decides, redacts and audits the reading itself.

use actix_web::{HttpResponse, get, web};
use serde::Deserialize;
use tumaini_db::ids::CaseId;
use utoipa::IntoParams;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::audit::queries::{self, EventQuery, Format};
use crate::audit::views::{CheckpointPage, DisclosureReport, EventPage, PublicKey, VerifyReport};
use crate::auth::Principal;
use crate::http::{ApiError, Problem};
use crate::state::AppState;

/// The media type of a pull of events, one per line.
const NDJSON: &str = "application/x-ndjson";

/// Registers the routes of this module.
pub fn register(cfg: &mut ServiceConfig) {
    cfg.service(list_events)
        .service(disclosures)
        .service(verify_chain)
        .service(list_checkpoints)
        .service(public_key);
}

/// Audit events. By time, oldest first and cursor-paginated (the cursor is signed); or, with
/// `after`, the sealed events after a chain position in chain order, the same on every
/// replica: keep the answer's `next_after` and pull from it next time, as JSON pages or, with
/// `format=ndjson`, one event per line. Coordinators see the events of their country (by
/// people of its organisations, about the cases owned there and their referrals);
/// supervisors those of their organisation's people and about its cases. A refusal by
/// someone in scope about a case or referral outside it shows without the id: whether it
/// exists is not the caller's to learn.
#[utoipa::path(
    tag = "audit",
    security(("bearer" = [])),
    params(EventQuery),
    responses(
        (
            status = 200,
            description = "A page of events, or with `format=ndjson` one `AuditEventView` per line",
            content(
                (EventPage = "application/json"),
                (String = "application/x-ndjson"),
            ),
        ),
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
    let query = query.into_inner();
    let format = query.format()?;
    let page = queries::events(&state, caller, query).await?;
    Ok(match format {
        Format::Json => HttpResponse::Ok().json(page),
        Format::Ndjson => {
            let mut body = String::new();
            for item in &page.items {
                body.push_str(&serde_json::to_string(item).map_err(anyhow::Error::from)?);
                body.push('\n');
            }
            HttpResponse::Ok().content_type(NDJSON).body(body)
        }
    })
}

/// Who accessed this case: every person who read or changed it or was refused, with when,
/// which field groups, for which purposes. Coordinators for any case; supervisors for the
/// cases their organisation owns.
#[utoipa::path(
    tag = "audit",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    responses(
        (status = 200, description = "The disclosure report", body = DisclosureReport),
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
            body = VerifyReport,
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

/// Which checkpoints to list.
#[derive(Debug, Deserialize, IntoParams)]
pub struct CheckpointQuery {
    /// Only checkpoints after this chain position (default 0: from the first).
    #[param(minimum = 0)]
    pub after: Option<i64>,
    /// At most this many (default 100, at most 1,000).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<i64>,
}

/// The signed checkpoints of the audit chain, oldest first (coordinators): each signs the
/// chain hash at a position, as a C2SP signed note. An outside witness keeps them and checks
/// each new one against the chain hashes of the events it pulled (`after=`): a trail that was
/// rewritten cannot match both.
#[utoipa::path(
    tag = "audit",
    security(("bearer" = [])),
    params(CheckpointQuery),
    responses(
        (status = 200, description = "A page of checkpoints", body = CheckpointPage),
        (
            status = 403,
            description = "Coordinators only",
            body = Problem,
            content_type = "application/problem+json",
        ),
    ),
)]
#[get("/api/v1/audit/checkpoints")]
pub async fn list_checkpoints(
    state: web::Data<AppState>,
    caller: Principal,
    query: web::Query<CheckpointQuery>,
) -> Result<HttpResponse, ApiError> {
    let query = query.into_inner();
    let page = queries::checkpoints(
        &state,
        caller,
        query.after.unwrap_or(0),
        query.limit.unwrap_or(100),
    )
    .await?;
    Ok(HttpResponse::Ok().json(page))
}

/// The Ed25519 key that signs the audit checkpoints, raw and in the C2SP verifier format.
/// Public, so that anyone handed a checkpoint can verify it.
#[utoipa::path(
    tag = "audit",
    responses((status = 200, description = "The signing key", body = PublicKey)),
)]
#[get("/api/v1/audit/public-key")]
pub async fn public_key(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok().json(queries::public_key(&state))
}
