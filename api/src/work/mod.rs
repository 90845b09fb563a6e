//! "My work": what is due for the caller, soonest first, from every kind of record that sets a
//! deadline or waits for them (`GET /api/v1/work`).
//!
//! - A case worker sees the cases assigned to them (reviews of the risk assessment and the
//!   assistance plan, the NRM decision awaited, the end of the recovery period), the
//!   follow-ups assigned to them, the referrals and transfers their organisation received and
//!   has not answered, and the referrals they sent that are still unanswered.
//! - A supervisor sees the same for every case their organisation owns or serves through an
//!   accepted referral, every follow-up of its staff and every referral it sent, plus the
//!   closures to approve, the possible duplicates to resolve and the erasures to approve
//!   (where the deployment lets a supervisor approve), each with who holds the case.
//! - A coordinator (and a competent authority) sees their country's NRM decisions awaited;
//!   a coordinator also the erasures of their country to approve.
//! - A first responder sees their follow-ups and the referrals they sent still unanswered.
//!
//! Every item is also allowed by the policies: a case item only when the caller may read the
//! case's summary, a referral or transfer item only when they may read the referral or
//! transfer. An item names the case by id and reference and links to where the work is done;
//! never a personal value. Due dates come from the records through the definitions the
//! deadline scanner uses (`tumaini_db::models::case::Deadline`,
//! `tumaini_db::models::referral::Referral`), so the scanner and this list agree on what is
//! overdue. Reading the list is one audit event, `work.read`.

mod gather;

use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use tumaini_db::ids::{CaseId, ErasureRequestId, FollowUpId, ReferralId, TransferId, UserId};
use tumaini_db::time::now_utc;
use utoipa::{IntoParams, ToSchema};

use crate::audit::{AuditAction, Entry, Outcome};
use crate::auth::Caller;
use crate::cases as service;
use crate::http::{ApiError, with_conn};
use crate::state::AppState;

/// The purpose recorded with a read of the work list.
const PURPOSE: &str = "case_management";

/// The most items one answer holds.
pub const MAX_ITEMS: usize = 500;

/// The items an answer holds when the caller names no limit.
pub const DEFAULT_ITEMS: usize = 100;

/// What a work item is.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum WorkItemKind {
    /// A follow-up (visit, call, court date, appointment, review) to do.
    FollowUp,
    /// The newest risk assessment of a case is due for review.
    RiskAssessmentReview,
    /// The assistance plan of a case is due for review.
    PlanReview,
    /// The recovery and reflection period of a case ends (the conclusive decision is due).
    RecoveryPeriodEnd,
    /// A reasonable-grounds decision is awaited.
    ReasonableGroundsDecision,
    /// A conclusive-grounds decision is awaited.
    ConclusiveGroundsDecision,
    /// A case worker asked to close a case: a supervisor approves or rejects.
    ClosureApproval,
    /// A referral your organisation received waits for its answer.
    ReferralToAnswer,
    /// A referral sent is still unanswered.
    ReferralUnanswered,
    /// A possible duplicate of a case waits to be linked or dismissed.
    DuplicateToResolve,
    /// An erasure request waits for a second person.
    ErasureApproval,
    /// A transfer of a case to your organisation waits for its answer.
    TransferToAnswer,
}

/// The case an item is about: its id and reference, nothing else.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct CaseRef {
    /// The case's id.
    pub id: CaseId,
    /// Its reference.
    pub reference: String,
}

/// A member of staff who holds a case (or a follow-up).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Holder {
    /// Their id.
    pub user_id: UserId,
    /// Their display name.
    pub display_name: String,
    /// The organisation's lead for the case.
    pub lead: bool,
}

/// One thing to do.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WorkItem {
    /// What it is.
    pub kind: WorkItemKind,
    /// When it is due (a date falls due at the end of that day, East Africa Time); an item
    /// without a deadline (a closure, a duplicate) is due from when it arose, and an erasure
    /// request when it expires.
    pub due_at: DateTime<Utc>,
    /// Past due, as the deadline scanner decides it.
    pub overdue: bool,
    /// The case.
    pub case: CaseRef,
    /// Where the work is done (an API path).
    pub link: String,
    /// The referral.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub referral_id: Option<ReferralId>,
    /// The follow-up.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub follow_up_id: Option<FollowUpId>,
    /// The transfer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transfer_id: Option<TransferId>,
    /// The erasure request.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub erasure_request_id: Option<ErasureRequestId>,
    /// Supervisors: who of their organisation holds the case (the lead first), or the
    /// follow-up's assignee.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub held_by: Option<Vec<Holder>>,
}

/// The caller's work.
#[derive(Debug, Serialize, ToSchema)]
pub struct WorkList {
    /// Soonest due first.
    pub items: Vec<WorkItem>,
}

/// Filters of the work list.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct WorkFilter {
    /// Only items of this kind.
    pub kind: Option<WorkItemKind>,
    /// Only overdue items (`true`) or only those not yet overdue (`false`).
    pub overdue: Option<bool>,
    /// Only items due before this day begins (East Africa Time).
    pub due_before: Option<NaiveDate>,
    /// Only items held by (or follow-ups assigned to) this member of staff.
    pub assignee: Option<UserId>,
    /// At most this many items (1 to [`MAX_ITEMS`], default [`DEFAULT_ITEMS`]).
    pub limit: Option<usize>,
}

impl WorkFilter {
    fn keeps(&self, item: &WorkItem, holders: &[Holder]) -> bool {
        self.kind.is_none_or(|kind| item.kind == kind)
            && self.overdue.is_none_or(|overdue| item.overdue == overdue)
            && self.due_before.is_none_or(|day| {
                item.due_at.naive_utc() < crate::rules::deadlines::start_of_day(day)
            })
            && self
                .assignee
                .as_ref()
                .is_none_or(|user| holders.iter().any(|h| h.user_id == *user))
    }
}

/// The caller's work list, filtered, soonest due first.
pub async fn for_caller(
    state: &AppState,
    caller: Caller,
    filter: WorkFilter,
) -> Result<WorkList, ApiError> {
    let authz = Arc::clone(&state.authz);
    let context = service::access_context(&state.cases, PURPOSE);
    let principal = caller.principal();
    let supervisors_approve = state.lifecycle.erasure_supervisor_approval;
    let Caller {
        user,
        organisation,
        context: request,
        ..
    } = caller;
    with_conn(&state.pool, move |conn| {
        // Read without the write lock; then one short write for the audit event, as the
        // referral mailboxes do.
        let items = conn.read_transaction(|conn| {
            let mut gatherer = gather::Gatherer {
                authz: &authz,
                principal: &principal,
                context: &context,
                user: &user,
                organisation: &organisation,
                now: now_utc(),
                supervisors_approve,
                found: gather::Found::default(),
            };
            gatherer.gather(conn)?;
            Ok::<_, ApiError>(gatherer.found.finish(&filter, user.role))
        })?;
        conn.write_transaction(|conn| {
            Entry::new(AuditAction::WorkRead, Outcome::Success)
                .in_request(&request)
                .by(Some(&user))
                .on("organisation", &organisation.id)
                .purpose(PURPOSE)
                .write(conn)
        })?;
        Ok(WorkList { items })
    })
    .await
}
