//! Erasure by two people, carried out by destroying keys.
//!
//! A supervisor of the organisation that owns a case asks for its erasure, with a reason and a
//! scope; a second person approves it within the configured time (a coordinator of the case's
//! country, or another supervisor of the owning organisation where the deployment allows it);
//! the requester cannot approve their own request. Approval executes the erasure in the same
//! transaction as its audit event: open referrals are ended and their receivers told (the
//! referral's reference only), the case's data key is destroyed with its groups, index terms
//! and blind indexes (`Vault::shred_in`), and everything else that could re-identify the
//! person is deleted (`tumaini_db::models::lifecycle::purge_case`). The retention job erases
//! through [`execute`] too, without a second person. Audit events stay: they hold no personal
//! value.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tumaini_db::ids::{CaseId, ErasureRequestId, UserId};
use tumaini_db::models::Organisation;
use tumaini_db::models::User;
use tumaini_db::models::case::Case;
use tumaini_db::models::lifecycle::{self as store, Claim, ErasureRequest, LegalHold, Purged};
use tumaini_db::models::referral::Referral;
use tumaini_db::time::now_utc;
use tumaini_db::vault::Vault;
use tumaini_db::vocabulary::{ErasureReason, ErasureScope, ErasureState, ReferralState, Role};
use tumaini_db::{DbConn, DbError};
use utoipa::ToSchema;

use crate::audit::{AuditAction, Entry, Outcome};
use crate::auth::Caller;
use crate::authz::{Action, FieldGroup, Resource};
use crate::cases::documents::as_body;
use crate::cases::{self as service, CaseRequest, Idempotency, Reply, vault_error};
use crate::http::{ApiError, ProblemType, with_conn};
use crate::notifications::{notify, tell_receiver};
use crate::state::AppState;

/// The purpose an erasure's events record.
const PURPOSE: &str = "erasure";

/// A request to erase a case.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"reason": "persons_request", "scope": "personal_data"}))]
#[serde(deny_unknown_fields)]
pub struct ErasureInput {
    /// Why (vocabulary `erasure_reason`).
    pub reason: ErasureReason,
    /// What to erase (vocabulary `erasure_scope`); by default the personal data only, so the
    /// coarse summary is still counted in the national figures.
    #[serde(default)]
    pub scope: Option<ErasureScope>,
}

/// An erasure request, as its parties see it (never a personal value).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ErasureRequestView {
    /// Its id.
    pub id: ErasureRequestId,
    /// The case.
    pub case_id: CaseId,
    /// The case's reference.
    pub case_reference: String,
    /// What it erases.
    pub scope: ErasureScope,
    /// Why.
    pub reason: ErasureReason,
    /// Where it stands.
    pub state: ErasureState,
    /// Who asked (absent: the retention job).
    pub requested_by: Option<UserId>,
    /// When.
    pub requested_at: DateTime<Utc>,
    /// Unapproved by then, it expires.
    pub expires_at: DateTime<Utc>,
    /// Who approved, refused or cancelled it.
    pub decided_by: Option<UserId>,
    /// When.
    pub decided_at: Option<DateTime<Utc>>,
    /// When it was carried out.
    pub executed_at: Option<DateTime<Utc>>,
}

impl ErasureRequestView {
    fn of(request: &ErasureRequest, reference: &str) -> Self {
        Self {
            id: request.id.clone(),
            case_id: request.case_id.clone(),
            case_reference: reference.to_owned(),
            scope: request.scope,
            reason: request.reason,
            state: request.state,
            requested_by: request.requested_by.clone(),
            requested_at: request.requested_at.and_utc(),
            expires_at: request.expires_at.and_utc(),
            decided_by: request.decided_by.clone(),
            decided_at: request.decided_at.map(|t| t.and_utc()),
            executed_at: request.executed_at.map(|t| t.and_utc()),
        }
    }
}

/// The pending requests the caller may decide.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ErasureRequestList {
    /// Oldest first.
    pub items: Vec<ErasureRequestView>,
}

fn conflict(detail: &str) -> ApiError {
    ApiError::problem(ProblemType::Conflict, detail.to_owned())
}

fn held() -> ApiError {
    conflict("a legal hold is in force on this case: it cannot be erased until the hold is lifted")
}

/// Ask for a case's erasure.
pub async fn request(
    state: &AppState,
    caller: Caller,
    id: CaseId,
    idempotency: Option<Idempotency>,
    input: ErasureInput,
) -> Result<Reply, ApiError> {
    let scope = input.scope.unwrap_or(ErasureScope::PersonalData);
    let window = chrono::Duration::from_std(state.lifecycle.erasure_approval_window)
        .unwrap_or(chrono::Duration::days(14));
    let supervisors_approve = state.lifecycle.erasure_supervisor_approval;
    let public_url = state.public_url.clone();
    let user_id = caller.user.id.clone();
    let context = caller.context.clone();
    let request = CaseRequest {
        id,
        action: Action::RequestErasure,
        audited_as: AuditAction::CaseErasureRequest,
        purpose: PURPOSE,
        idempotency,
    };
    service::act_on_case(state, &caller, request, move |conn, access| {
        let case = &access.case;
        if LegalHold::in_force(conn, &case.id)?.is_some() {
            return Err(held());
        }
        let now = now_utc();
        // A request whose time passed is expired now, not at the next retention round: it
        // would otherwise still count as the one pending request of the case.
        for expired in ErasureRequest::expire_for_case(conn, &case.id, now)? {
            Entry::new(AuditAction::CaseErasureExpired, Outcome::Success)
                .in_request(&context)
                .on("case", &expired.case_id)
                .purpose(PURPOSE)
                .write(conn)?;
        }
        let pending = ErasureRequest {
            id: ErasureRequestId::generate(),
            case_id: case.id.clone(),
            scope,
            reason: input.reason,
            state: ErasureState::Pending,
            requested_by: Some(user_id.clone()),
            requested_at: now,
            expires_at: now + window,
            decided_by: None,
            decided_at: None,
            executed_at: None,
        };
        match pending.insert(conn) {
            Ok(()) => {}
            Err(DbError::Conflict { .. }) => {
                return Err(conflict(
                    "an erasure request for this case is already waiting for approval",
                ));
            }
            Err(other) => return Err(other.into()),
        }
        // The second people: the coordinators of the case's country, and the owning
        // organisation's other supervisors where they may approve.
        let owner = Organisation::find(conn, &case.owner_organisation_id)?;
        let mut approvers =
            User::notification_recipients(conn, &[Role::Coordinator], None, Some(&owner.country))?;
        if supervisors_approve {
            approvers.extend(
                User::notification_recipients(conn, &[Role::Supervisor], None, None)?
                    .into_iter()
                    .filter(|u| u.organisation_id == owner.id && u.id != user_id),
            );
        }
        notify(
            conn,
            &approvers,
            "An erasure awaits a second person in Tumaini",
            &format!(
                "The erasure of case {} was requested and needs a second person's approval by {} UTC.\n\nSign in to Tumaini to decide: {public_url}/erasure-requests\n",
                case.reference,
                pending.expires_at.format("%Y-%m-%d %H:%M"),
            ),
        )?;
        Ok(Reply::created(
            format!(
                "/api/v1/cases/{}/erasure-requests/{}",
                case.id, pending.id
            ),
            as_body(&ErasureRequestView::of(&pending, &case.reference)),
        ))
    })
    .await
}

/// How a second person decides a pending request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Approve it: the erasure is executed at once.
    Approve,
    /// Refuse it.
    Refuse,
    /// Withdraw it (the requesting organisation).
    Cancel,
}

/// Approve (and so execute), refuse or cancel a pending erasure request. Approving needs a
/// second person: never the requester, and a supervisor only where the deployment allows it.
pub async fn decide(
    state: &AppState,
    caller: Caller,
    id: CaseId,
    request_id: ErasureRequestId,
    decision: Decision,
) -> Result<Reply, ApiError> {
    let (action, audited_as, to) = match decision {
        Decision::Approve => (
            Action::ApproveErasure,
            AuditAction::CaseErasureApprove,
            ErasureState::Executed,
        ),
        Decision::Refuse => (
            Action::ApproveErasure,
            AuditAction::CaseErasureRefuse,
            ErasureState::Refused,
        ),
        Decision::Cancel => (
            Action::RequestErasure,
            AuditAction::CaseErasureCancel,
            ErasureState::Cancelled,
        ),
    };
    let supervisors_approve = state.lifecycle.erasure_supervisor_approval;
    let public_url = state.public_url.clone();
    let user = caller.user.clone();
    let request = CaseRequest {
        id,
        action,
        audited_as,
        purpose: PURPOSE,
        // No stored answer: an approval destroys the key it would be sealed under, and a
        // decision taken twice finds the request decided (409).
        idempotency: None,
    };
    let engine = state.engine;
    let reply = service::act_on_case(state, &caller, request, move |conn, access| {
        let case = &access.case;
        let pending = match ErasureRequest::find(conn, &request_id) {
            Ok(found) if found.case_id == case.id => found,
            Ok(_) | Err(DbError::NotFound) => return Err(ApiError::bare(ProblemType::NotFound)),
            Err(other) => return Err(other.into()),
        };
        let now = now_utc();
        if pending.state != ErasureState::Pending {
            return Err(conflict("this erasure request was already decided"));
        }
        if pending.expires_at <= now {
            return Err(conflict(
                "this erasure request expired unapproved: ask for it again",
            ));
        }
        if decision != Decision::Cancel {
            if pending.requested_by.as_ref() == Some(&user.id) {
                return Err(ApiError::problem(
                    ProblemType::Forbidden,
                    "you asked for this erasure: a second person must decide it",
                ));
            }
            if user.role == Role::Supervisor && !supervisors_approve {
                return Err(ApiError::problem(
                    ProblemType::Forbidden,
                    "in this deployment a coordinator of the case's country decides erasures",
                ));
            }
        }
        if !ErasureRequest::decide(conn, &pending.id, to, &user.id, now)? {
            return Err(conflict(
                "this erasure request was decided at the same moment",
            ));
        }
        let mut touched = Vec::new();
        if decision == Decision::Approve {
            execute(conn, &access.vault, case, pending.scope, &public_url)?;
            touched = FieldGroup::ALL.to_vec();
        }
        let decided = ErasureRequest::find(conn, &pending.id)?;
        Ok(
            Reply::ok(as_body(&ErasureRequestView::of(&decided, &case.reference)))
                .touching(touched),
        )
    })
    .await?;
    if decision == Decision::Approve {
        compact(state, engine).await;
    }
    Ok(reply)
}

/// Carries out an erasure in the caller's transaction: marks the case erased (unless another
/// replica did), ends its open referrals and tells their receivers, destroys the case's data
/// key and deletes what could re-identify the person. `Ok(None)`: it was erased before. A
/// legal hold in force refuses (409) and the transaction must roll back.
pub fn execute(
    conn: &mut DbConn,
    vault: &Vault,
    case: &Case,
    scope: ErasureScope,
    public_url: &str,
) -> Result<Option<Purged>, ApiError> {
    let now = now_utc();
    match store::claim_for_erasure(conn, &case.id, scope, now)? {
        Claim::Claimed => {}
        Claim::AlreadyErased => return Ok(None),
        Claim::Held => return Err(held()),
    }
    for referral in Referral::of_case(conn, &case.id)? {
        if !matches!(
            referral.state,
            ReferralState::Sent | ReferralState::Accepted | ReferralState::InService
        ) {
            continue;
        }
        if Referral::transition(
            conn,
            &referral.id,
            referral.state,
            ReferralState::Withdrawn,
            now,
            None,
            None,
        )? {
            let ended = Referral::find(conn, &referral.id)?;
            tell_receiver(
                conn,
                &ended,
                "A referral to your organisation ended: the case was erased",
                public_url,
            )?;
        }
    }
    vault.shred_in(conn, &case.id).map_err(vault_error)?;
    let purged = store::purge_case(conn, &case.id, &case.reference, scope)?;
    Ok(Some(purged))
}

/// After an erasure on SQLite: the write-ahead log is folded into the file and truncated, so
/// the pages that held the erased values (zeroed by `secure_delete`) leave no older copy in
/// the log. Best effort: a reader holding an old snapshot can delay it to the next erasure or
/// retention run.
pub async fn compact(state: &AppState, engine: tumaini_db::Engine) {
    if engine != tumaini_db::Engine::Sqlite {
        return;
    }
    if let Err(err) = with_conn(&state.pool, |conn| Ok(store::truncate_log(conn)?)).await {
        tracing::warn!(error = %err, "after an erasure: the write-ahead log was not truncated");
    }
}

/// The pending erasure requests the caller may decide (a coordinator: their country's; a
/// supervisor: their organisation's, where supervisors approve), never their own.
pub async fn pending_for(state: &AppState, caller: Caller) -> Result<ErasureRequestList, ApiError> {
    let authz = std::sync::Arc::clone(&state.authz);
    let context = service::access_context(&state.cases, PURPOSE);
    let principal = caller.principal();
    let supervisors_approve = state.lifecycle.erasure_supervisor_approval;
    let Caller {
        user,
        context: request,
        ..
    } = caller;
    with_conn(&state.pool, move |conn| {
        // Read without the write lock (the facts of every pending request); then one short
        // write for the audit event, as the referral mailboxes do.
        let items = conn.read_transaction(|conn| {
            let decidable = decidable_by(
                conn,
                &Decider {
                    authz: &authz,
                    principal: &principal,
                    context: &context,
                    user: &user,
                    supervisors_approve,
                },
            )?;
            Ok::<_, ApiError>(
                decidable
                    .iter()
                    .map(|(pending, case)| ErasureRequestView::of(pending, &case.reference))
                    .collect(),
            )
        })?;
        conn.write_transaction(|conn| {
            Entry::new(AuditAction::ErasureList, Outcome::Success)
                .in_request(&request)
                .by(Some(&user))
                .purpose(PURPOSE)
                .write(conn)
        })?;
        Ok(ErasureRequestList { items })
    })
    .await
}

/// Who asks which erasure requests they may decide, for [`decidable_by`].
#[derive(Debug)]
pub struct Decider<'a> {
    /// The policies.
    pub authz: &'a crate::authz::Authorizer,
    /// The caller as the policies see them.
    pub principal: &'a crate::authz::PrincipalFacts,
    /// The request's circumstances.
    pub context: &'a crate::authz::AccessContext,
    /// The caller.
    pub user: &'a tumaini_db::models::User,
    /// The deployment lets a second supervisor approve.
    pub supervisors_approve: bool,
}

/// The pending erasure requests `who` may decide now, with their cases, oldest first: never
/// their own, only those the policies let them approve (a coordinator: their country's; a
/// supervisor: their organisation's, where supervisors approve). The erasure list and "my
/// work" (`crate::work`) both list these.
pub fn decidable_by(
    conn: &mut DbConn,
    who: &Decider<'_>,
) -> Result<Vec<(ErasureRequest, Case)>, DbError> {
    let mut out = Vec::new();
    if who.user.role == Role::Supervisor && !who.supervisors_approve {
        return Ok(out); // nothing for them to decide
    }
    for pending in ErasureRequest::pending(conn, now_utc())? {
        if pending.requested_by.as_ref() == Some(&who.user.id) {
            continue;
        }
        let Some((case, facts, visible)) = service::with_summary_visibility(
            conn,
            who.authz,
            who.principal,
            who.context,
            &pending.case_id,
        )?
        else {
            continue;
        };
        if !visible {
            continue;
        }
        let allowed = who
            .authz
            .decide(
                who.principal,
                Action::ApproveErasure,
                &Resource::Case(&facts),
                who.context,
            )
            .allowed;
        if allowed {
            out.push((pending, case));
        }
    }
    Ok(out)
}
