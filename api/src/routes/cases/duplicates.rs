//! Possible duplicates: found through the vault's blind indexes at registration, reported to
//! the caller only as cases it may see, and resolved by a person (a supervisor of the owning
//! organisation, or a coordinator): linked as the same person or dismissed. Never merged.
//!
//! A possible duplicate the registering caller may not see is never mentioned to it, not even
//! as a count (`crate::cases::duplicates` says where it goes instead).

use actix_web::{HttpResponse, get, post, web};
use tumaini_db::DbError;
use tumaini_db::ids::CaseId;
use tumaini_db::models::duplicate;
use tumaini_db::vocabulary::DuplicateStatus;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::audit::AuditAction;
use crate::auth::Caller;
use crate::authz::Action;
use crate::cases::documents::{DuplicateList, DuplicateResolved, DuplicateView, as_body};
use crate::cases::{self as service, CaseRequest, Reply};
use crate::http::{ApiError, Problem, ProblemType};
use crate::state::AppState;

pub(super) fn register(cfg: &mut ServiceConfig) {
    cfg.service(list_duplicates)
        .service(link_duplicate)
        .service(dismiss_duplicate);
}

/// The case's possible duplicates whose other case you may see, by reference. Of the others
/// nothing is said (a coordinator of the case's country sees the pairs in that country).
#[utoipa::path(
    tag = "cases",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    responses(
        (status = 200, description = "Possible duplicates", body = DuplicateList),
        (
            status = 404,
            description = "No such case, or none you may see",
            body = Problem,
            content_type = "application/problem+json",
        ),
    ),
)]
#[get("/api/v1/cases/{id}/duplicates")]
pub async fn list_duplicates(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<CaseId>,
) -> Result<HttpResponse, ApiError> {
    let request = CaseRequest {
        id: id.into_inner(),
        action: Action::ReadSummary,
        audited_as: AuditAction::CaseDuplicatesRead,
        purpose: "case_management",
        idempotency: None,
    };
    let reply = service::act_on_case(&state, &caller, request, move |conn, access| {
        let mut visible = Vec::new();
        for pair in duplicate::involving(conn, &access.case.id)? {
            let other = if pair.case_id == access.case.id {
                pair.other_case_id.clone()
            } else {
                pair.case_id.clone()
            };
            let (other_case, facts, _) = service::load_facts(conn, &other)?;
            if access.decide_on(Action::ReadSummary, &facts).allowed {
                visible.push(DuplicateView::of(
                    &pair,
                    other_case.id,
                    other_case.reference,
                ));
            }
        }
        Ok(Reply::ok(as_body(&DuplicateList { items: visible })))
    })
    .await?;
    Ok(reply.into_response())
}

async fn resolve(
    state: &AppState,
    caller: &Caller,
    ids: (CaseId, CaseId),
    status: DuplicateStatus,
    audited_as: AuditAction,
) -> Result<HttpResponse, ApiError> {
    let (id, other) = ids;
    let user_id = caller.user.id.clone();
    let request = CaseRequest {
        id,
        action: Action::ResolveDuplicate,
        audited_as,
        purpose: "case_management",
        idempotency: None,
    };
    let reply = service::act_on_case(state, caller, request, move |conn, access| {
        let not_found = || {
            ApiError::problem(
                ProblemType::NotFound,
                "no open possible duplicate with that case that you may see",
            )
        };
        // The other case must be one the caller may see: nobody resolves blind.
        let facts = match service::load_facts(conn, &other) {
            Ok((_, facts, _)) => facts,
            Err(DbError::NotFound) => return Err(not_found()),
            Err(other) => return Err(other.into()),
        };
        if !access.decide_on(Action::ReadSummary, &facts).allowed {
            return Err(not_found());
        }
        if !duplicate::resolve(conn, &access.case.id, &other, status, &user_id)? {
            return Err(not_found());
        }
        Ok(Reply::ok(as_body(&DuplicateResolved {
            case_id: access.case.id.clone(),
            other_case_id: other,
            status,
        })))
    })
    .await?;
    Ok(reply.into_response())
}

/// Link a possible duplicate as the same person (both records stay; never merged).
#[utoipa::path(
    tag = "cases",
    security(("bearer" = [])),
    params(("id" = String, Path), ("other" = String, Path)),
    responses(
        (status = 200, description = "Linked", body = DuplicateResolved),
        (
            status = 403,
            description = "Only a supervisor of the owning organisation or a coordinator resolves duplicates",
            body = Problem,
            content_type = "application/problem+json",
        ),
        (
            status = 404,
            description = "No such open pair you may see",
            body = Problem,
            content_type = "application/problem+json",
        ),
    ),
)]
#[post("/api/v1/cases/{id}/duplicates/{other}/link")]
pub async fn link_duplicate(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(CaseId, CaseId)>,
) -> Result<HttpResponse, ApiError> {
    resolve(
        &state,
        &caller,
        path.into_inner(),
        DuplicateStatus::Linked,
        AuditAction::CaseDuplicateLink,
    )
    .await
}

/// Dismiss a possible duplicate: they are different people.
#[utoipa::path(
    tag = "cases",
    security(("bearer" = [])),
    params(("id" = String, Path), ("other" = String, Path)),
    responses(
        (status = 200, description = "Dismissed", body = DuplicateResolved),
        (
            status = 403,
            description = "Only a supervisor of the owning organisation or a coordinator resolves duplicates",
            body = Problem,
            content_type = "application/problem+json",
        ),
        (
            status = 404,
            description = "No such open pair you may see",
            body = Problem,
            content_type = "application/problem+json",
        ),
    ),
)]
#[post("/api/v1/cases/{id}/duplicates/{other}/dismiss")]
pub async fn dismiss_duplicate(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(CaseId, CaseId)>,
) -> Result<HttpResponse, ApiError> {
    resolve(
        &state,
        &caller,
        path.into_inner(),
        DuplicateStatus::Dismissed,
        AuditAction::CaseDuplicateDismiss,
    )
    .await
}
