//! Reading a transfer, its steps (accept, decline, withdraw), and an organisation's lists.

use serde::{Deserialize, Serialize};
use tumaini_db::DbConn;
use tumaini_db::DbError;
use tumaini_db::ids::TransferId;
use tumaini_db::models::User;
use tumaini_db::models::assignment;
use tumaini_db::models::transfer::{Direction, Transfer};
use tumaini_db::time::now_utc;
use tumaini_db::vocabulary::{TransferDeclineReason, TransferState};
use utoipa::ToSchema;

use super::{Loaded, TransferView, load, record_note_read, record_transfer_event, view};
use crate::audit::{AuditAction, Outcome};
use crate::auth::Caller;
use crate::authz::{Action, Decision, Resource};
use crate::cases as service;
use crate::guarded::{self, Failure};
use crate::http::{ApiError, ProblemType, with_conn};
use crate::notifications::transfers as notices;
use crate::rules::lifecycle;
use crate::rules::transfer::{self as rules, Step};
use crate::state::AppState;

/// The most transfers one page lists.
pub const MAX_PAGE: i64 = 100;

/// Why a transfer is declined.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"reason": "no_capacity"}))]
#[serde(deny_unknown_fields)]
pub struct DeclineInput {
    /// The reason, from the `transfer_decline_reason` vocabulary.
    pub reason: TransferDeclineReason,
}

const fn step_action(step: Option<Step>) -> Action {
    match step {
        None => Action::ReadTransfer,
        Some(Step::Accept) => Action::AcceptTransfer,
        Some(Step::Decline) => Action::DeclineTransfer,
        Some(Step::Withdraw) => Action::WithdrawTransfer,
    }
}

const fn audited_as(step: Option<Step>) -> AuditAction {
    match step {
        None => AuditAction::TransferRead,
        Some(Step::Accept) => AuditAction::TransferAccept,
        Some(Step::Decline) => AuditAction::TransferDecline,
        Some(Step::Withdraw) => AuditAction::TransferWithdraw,
    }
}

/// Reads a transfer (`step` none) or takes a step, after the policies allow it, in one write
/// transaction with its audit event and its notifications. A transfer the caller may not read
/// answers 404, like one that does not exist.
pub async fn act(
    state: &AppState,
    caller: Caller,
    id: TransferId,
    step: Option<Step>,
    decline_reason: Option<TransferDeclineReason>,
) -> Result<TransferView, ApiError> {
    let app = state.clone();
    let authz = std::sync::Arc::clone(&state.authz);
    let context = service::access_context(&state.cases, "transfer");
    let principal = caller.principal();
    let public_url = state.public_url.clone();
    let Caller {
        user,
        organisation,
        context: request,
        ..
    } = caller;
    let action = step_action(step);
    let audited = audited_as(step);
    with_conn(&state.pool, move |conn| {
        let audit = |conn: &mut DbConn, outcome: Outcome, decision: Option<&Decision>| {
            record_transfer_event(conn, &request, &user, audited, outcome, &id, decision, &[])
        };
        guarded::run(conn, audit, guarded::no_replay, |conn| {
            // An acceptance moves the case: its row is locked until the transaction ends.
            let loaded = match load(conn, &id, step == Some(Step::Accept)) {
                Ok(loaded) => loaded,
                Err(DbError::NotFound) => return Err(Failure::missing()),
                Err(other) => return Err(other.into()),
            };
            let resource = Resource::Transfer(&loaded.facts);
            let decision = authz.decide(&principal, action, &resource, &context);
            if !decision.allowed {
                let visible = step.is_some()
                    && authz
                        .decide(&principal, Action::ReadTransfer, &resource, &context)
                        .allowed;
                let from = loaded.transfer.state;
                // A party whose step does not follow from the state hears why; anyone else
                // who may see the transfer hears that their role may not.
                return Err(Failure::refused(decision, visible, || {
                    match step.map(|s| rules::next(from, s)) {
                        Some(Err(out_of_order)) => ApiError::problem(
                            ProblemType::TransitionRefused,
                            out_of_order.to_string(),
                        ),
                        _ => ApiError::problem(
                            ProblemType::Forbidden,
                            "your organisation or role may not take this step on this transfer",
                        ),
                    }
                }));
            }
            let loaded = match step {
                None => loaded,
                Some(step) => take_step(conn, loaded, step, &user, decline_reason, &public_url)?,
            };
            record_transfer_event(
                conn,
                &request,
                &user,
                audited,
                Outcome::Success,
                &id,
                Some(&decision),
                &loaded.transfer.groups,
            )?;
            let with_note = loaded.note_readable_by(&organisation, &user);
            let (body, opened) = view(conn, &app, &loaded, with_note)?;
            if opened {
                record_note_read(conn, &request, &user, &loaded.transfer.case_id)?;
            }
            Ok(body)
        })
    })
    .await
}

/// Moves a transfer on by `step` (the policies allowed it) and tells the other side. An
/// acceptance checks the consent again, moves the case to the receiver, ends the sender's
/// assignments and makes the accepter the case's lead for its new owner.
fn take_step(
    conn: &mut DbConn,
    loaded: Loaded,
    step: Step,
    user: &User,
    decline_reason: Option<TransferDeclineReason>,
    public_url: &str,
) -> Result<Loaded, ApiError> {
    let transfer = &loaded.transfer;
    let to = rules::next(transfer.state, step)
        .map_err(|r| ApiError::problem(ProblemType::TransitionRefused, r.to_string()))?;
    let now = now_utc();
    let raced = || {
        ApiError::problem(
            ProblemType::Conflict,
            "the transfer or its case changed at the same moment; read it again",
        )
    };
    if step == Step::Accept {
        if let Some(gap) = loaded.consent_gap() {
            return Err(ApiError::problem(
                ProblemType::ConsentRequired,
                format!("the consent in force no longer covers this transfer: {gap}"),
            ));
        }
        lifecycle::accepts_records(loaded.case.status)
            .map_err(|r| ApiError::problem(ProblemType::TransitionRefused, r.to_string()))?;
        if loaded.case.owner_organisation_id != transfer.from_organisation_id {
            return Err(raced());
        }
    }
    if !Transfer::answer(conn, &transfer.id, to, &user.id, now, decline_reason)? {
        return Err(raced());
    }
    match step {
        Step::Accept => {
            let case = &loaded.case;
            if !Transfer::move_case(
                conn,
                &case.id,
                case.version,
                &transfer.to_organisation_id,
                now,
            )? {
                return Err(raced());
            }
            assignment::end_for_organisation(conn, &case.id, &transfer.from_organisation_id)?;
            assignment::assign(
                conn,
                &case.id,
                &user.id,
                &transfer.to_organisation_id,
                true,
                Some(&user.id),
            )?;
        }
        Step::Decline | Step::Withdraw => {}
    }
    let moved = load(conn, &transfer.id, false)?;
    match step {
        Step::Withdraw => notices::tell_receiver(
            conn,
            &moved.transfer,
            "A case transfer to your organisation was withdrawn",
            public_url,
        )?,
        Step::Accept | Step::Decline => notices::tell_sender(conn, &moved.transfer, public_url)?,
    }
    Ok(moved)
}

/// Which transfers of the caller's organisation to list.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    /// Transfers asked of your organisation.
    Incoming,
    /// Transfers your organisation asked for.
    Outgoing,
}

/// Which transfers to list, checked.
#[derive(Debug, Clone)]
pub struct TransferQuery {
    /// Incoming or outgoing.
    pub direction: Side,
    /// Only this state.
    pub state: Option<TransferState>,
    /// After this transfer.
    pub cursor: Option<TransferId>,
    /// Page size (1 to [`MAX_PAGE`]).
    pub limit: i64,
}

/// A page of transfers.
#[derive(Debug, Serialize, ToSchema)]
pub struct TransferPage {
    /// Newest first (without notes: `GET /api/v1/transfers/{id}` reads one, audited).
    pub items: Vec<TransferView>,
    /// Pass as `cursor` for the next page; absent on the last.
    pub next_cursor: Option<TransferId>,
}

/// The caller's organisation's incoming or outgoing transfers, newest first: those the policies
/// let the caller read. The listing is audited.
pub async fn list(
    state: &AppState,
    caller: Caller,
    query: TransferQuery,
) -> Result<TransferPage, ApiError> {
    let app = state.clone();
    let authz = std::sync::Arc::clone(&state.authz);
    let context = service::access_context(&state.cases, "transfer");
    let principal = caller.principal();
    let Caller {
        user,
        organisation,
        context: request,
        ..
    } = caller;
    let direction = match query.direction {
        Side::Incoming => Direction::Incoming,
        Side::Outgoing => Direction::Outgoing,
    };
    with_conn(&state.pool, move |conn| {
        let page = conn.read_transaction(|conn| {
            let rows = Transfer::of_organisation(
                conn,
                &organisation.id,
                direction,
                query.state,
                query.cursor.as_ref(),
                query.limit,
            )?;
            let full = rows.len() == usize::try_from(query.limit).unwrap_or(0);
            let next_cursor = if full {
                rows.last().map(|t| t.id.clone())
            } else {
                None
            };
            let mut items = Vec::new();
            for row in rows {
                let loaded = load(conn, &row.id, false)?;
                if !authz
                    .decide(
                        &principal,
                        Action::ReadTransfer,
                        &Resource::Transfer(&loaded.facts),
                        &context,
                    )
                    .allowed
                {
                    continue;
                }
                items.push(view(conn, &app, &loaded, false)?.0);
            }
            Ok::<_, ApiError>(TransferPage { items, next_cursor })
        })?;
        conn.write_transaction(|conn| {
            crate::audit::Entry::new(AuditAction::TransferRead, Outcome::Success)
                .in_request(&request)
                .by(Some(&user))
                .on("organisation", &organisation.id)
                .purpose("transfer")
                .write(conn)
        })?;
        Ok(page)
    })
    .await
}
