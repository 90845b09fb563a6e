//! Restriction of processing (Uganda DPPA 2019 s.17-18, GDPR art. 18). A supervisor of the
//! owning organisation or a national coordinator of its country (`RestrictProcessing`) marks a
//! case while a dispute is resolved (its accuracy contested, an objection), and lifts the mark
//! after. What the mark does is in the policies (`policies/guards.cedar`): no new referral, no
//! acceptance of a pending one, and the personal groups read only by a supervisor of the owning
//! organisation with purpose `restriction_dispute`; assistance under way goes on. Placing on a
//! restricted case, or lifting an unrestricted one, is a 409 that changes nothing.

use serde::Deserialize;
use tumaini_db::ids::CaseId;
use tumaini_db::models::case::Case;
use tumaini_db::time::now_utc;
use tumaini_db::vocabulary::RestrictionReason;
use utoipa::ToSchema;

use crate::audit::AuditAction;
use crate::auth::Caller;
use crate::authz::Action;
use crate::cases::views::CaseSummaryView;
use crate::cases::{self as service, CaseRequest, Idempotency, Reply};
use crate::http::{ApiError, ProblemType};
use crate::state::AppState;

/// A restriction of processing.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"reason": "accuracy_contested"}))]
#[serde(deny_unknown_fields)]
pub struct RestrictionInput {
    /// Why (vocabulary `restriction_reason`).
    pub reason: RestrictionReason,
}

/// The purpose recorded with a restriction placed or lifted.
const PURPOSE: &str = "restriction";

/// Marks the case restricted; 409 when it already is.
pub async fn place(
    state: &AppState,
    caller: Caller,
    id: CaseId,
    idempotency: Option<Idempotency>,
    input: RestrictionInput,
) -> Result<Reply, ApiError> {
    let user = caller.user.id.clone();
    let request = CaseRequest {
        id,
        action: Action::RestrictProcessing,
        audited_as: AuditAction::CaseRestrict,
        purpose: PURPOSE,
        idempotency,
    };
    service::act_on_case(state, &caller, request, move |conn, access| {
        let case = Case::restrict(conn, &access.case.id, &user, input.reason, now_utc())?
            .ok_or_else(|| {
                ApiError::problem(ProblemType::Conflict, "the case is already restricted")
            })?;
        summary(conn, &case)
    })
    .await
}

/// Lifts the case's restriction; 409 when it is not restricted.
pub async fn lift(state: &AppState, caller: Caller, id: CaseId) -> Result<Reply, ApiError> {
    let request = CaseRequest {
        id,
        action: Action::RestrictProcessing,
        audited_as: AuditAction::CaseRestrictionLift,
        purpose: PURPOSE,
        idempotency: None,
    };
    service::act_on_case(state, &caller, request, move |conn, access| {
        let case = Case::lift_restriction(conn, &access.case.id, now_utc())?.ok_or_else(|| {
            ApiError::problem(ProblemType::Conflict, "the case is not restricted")
        })?;
        summary(conn, &case)
    })
    .await
}

fn summary(conn: &mut tumaini_db::DbConn, case: &Case) -> Result<Reply, ApiError> {
    let view = serde_json::to_value(CaseSummaryView::load(conn, case)?)
        .map_err(|e| ApiError::Internal(e.into()))?;
    Ok(Reply::ok(view).with_version(case.version))
}
