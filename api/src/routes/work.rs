//! "My work": the caller's items due, soonest first. Parses the filters and calls
//! `crate::work`.

use actix_web::{HttpResponse, get, web};
use utoipa_actix_web::service_config::ServiceConfig;

use crate::auth::Caller;
use crate::http::ApiError;
use crate::state::AppState;
use crate::work::{self, WorkFilter, WorkList};

pub(super) fn register(cfg: &mut ServiceConfig) {
    cfg.service(my_work);
}

/// Your work, soonest due first: follow-ups, reviews of risk assessments and plans, NRM
/// decisions awaited and recovery periods ending, referrals and transfers to answer, referrals
/// sent still unanswered, and for supervisors closures to approve, duplicates to resolve and
/// erasures to approve (with who holds each case); for coordinators their country's NRM
/// deadlines. Each item names the case by id and reference and links to where the work is
/// done; never a personal value. Overdue is decided as the deadline scanner decides it.
#[utoipa::path(
    tag = "cases",
    security(("bearer" = [])),
    params(WorkFilter),
    responses(
        (status = 200, description = "Your items, soonest due first", body = WorkList),
    ),
)]
#[get("/api/v1/work")]
pub async fn my_work(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<WorkFilter>,
) -> Result<HttpResponse, ApiError> {
    let list = work::for_caller(&state, caller, query.into_inner()).await?;
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(list))
}
