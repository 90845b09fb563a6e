//! Legal holds: a national coordinator of a case's country holds it from erasure while a
//! prosecution, an investigation, a court order or a claim needs the record, and lifts the hold
//! when it ends. A held case is skipped by the retention job and cannot be erased on request.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tumaini_db::DbError;
use tumaini_db::ids::{CaseId, LegalHoldId, UserId};
use tumaini_db::models::lifecycle::LegalHold;
use tumaini_db::time::now_utc;
use tumaini_db::vocabulary::LegalHoldReason;
use utoipa::ToSchema;

use crate::audit::AuditAction;
use crate::auth::Caller;
use crate::authz::Action;
use crate::cases::documents::as_body;
use crate::cases::{self as service, CaseRequest, Reply};
use crate::http::{ApiError, ProblemType};
use crate::state::AppState;

/// A legal hold to place.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"reason": "prosecution"}))]
#[serde(deny_unknown_fields)]
pub struct LegalHoldInput {
    /// Why (vocabulary `legal_hold_reason`).
    pub reason: LegalHoldReason,
}

/// A legal hold in force.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LegalHoldView {
    /// Its id.
    pub id: LegalHoldId,
    /// The case.
    pub case_id: CaseId,
    /// Why.
    pub reason: LegalHoldReason,
    /// Who placed it.
    pub placed_by: UserId,
    /// When.
    pub placed_at: DateTime<Utc>,
    /// When it was lifted (absent while in force).
    pub lifted_at: Option<DateTime<Utc>>,
}

impl LegalHoldView {
    fn of(hold: &LegalHold) -> Self {
        Self {
            id: hold.id.clone(),
            case_id: hold.case_id.clone(),
            reason: hold.reason,
            placed_by: hold.placed_by.clone(),
            placed_at: hold.placed_at.and_utc(),
            lifted_at: hold.lifted_at.map(|t| t.and_utc()),
        }
    }
}

/// Place a legal hold on a case.
pub async fn place(
    state: &AppState,
    caller: Caller,
    id: CaseId,
    input: LegalHoldInput,
) -> Result<Reply, ApiError> {
    let user_id = caller.user.id.clone();
    let request = CaseRequest {
        id,
        action: Action::ManageLegalHold,
        audited_as: AuditAction::CaseLegalHoldPlace,
        purpose: "legal_hold",
        idempotency: None,
    };
    service::act_on_case(state, &caller, request, move |conn, access| {
        let hold = LegalHold {
            id: LegalHoldId::generate(),
            case_id: access.case.id.clone(),
            reason: input.reason,
            placed_by: user_id,
            placed_at: now_utc(),
            lifted_by: None,
            lifted_at: None,
        };
        match hold.insert(conn) {
            Ok(()) => {}
            Err(DbError::Conflict { .. }) => {
                return Err(ApiError::problem(
                    ProblemType::Conflict,
                    "a legal hold is already in force on this case",
                ));
            }
            Err(DbError::NotFound) => {
                return Err(ApiError::problem(
                    ProblemType::Conflict,
                    "the case was erased at the same moment",
                ));
            }
            Err(other) => return Err(other.into()),
        }
        Ok(Reply::created(
            format!("/api/v1/cases/{}/legal-hold", access.case.id),
            as_body(&LegalHoldView::of(&hold)),
        ))
    })
    .await
}

/// Lift the legal hold in force on a case.
pub async fn lift(state: &AppState, caller: Caller, id: CaseId) -> Result<Reply, ApiError> {
    let user_id = caller.user.id.clone();
    let request = CaseRequest {
        id,
        action: Action::ManageLegalHold,
        audited_as: AuditAction::CaseLegalHoldLift,
        purpose: "legal_hold",
        idempotency: None,
    };
    service::act_on_case(state, &caller, request, move |conn, access| {
        let Some(hold) = LegalHold::in_force(conn, &access.case.id)? else {
            return Err(ApiError::problem(
                ProblemType::Conflict,
                "no legal hold is in force on this case",
            ));
        };
        if !LegalHold::lift(conn, &access.case.id, &user_id, now_utc())? {
            return Err(ApiError::problem(
                ProblemType::Conflict,
                "the legal hold was lifted at the same moment",
            ));
        }
        let mut lifted = hold;
        lifted.lifted_by = Some(user_id);
        lifted.lifted_at = Some(now_utc());
        Ok(Reply::ok(as_body(&LegalHoldView::of(&lifted))))
    })
    .await
}
