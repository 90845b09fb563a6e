//! The retention schedule applied: what has been kept as long as its period allows is erased
//! (a case: crypto-shredded, its personal data only, so it is still counted) or deleted (the
//! records that are not cases). Cases under a legal hold are skipped. [`plan`] counts what a run
//! would erase, by kind, and nothing else; [`run`] does it, each case in a transaction of its
//! own with its audit event, so a run stopped half-way loses nothing and a second replica
//! running at the same moment erases each case once (`claim_for_erasure`).

use std::collections::BTreeMap;

use chrono::NaiveDateTime;
use tumaini_db::DbConn;
use tumaini_db::ids::{CaseId, ErasureRequestId};
use tumaini_db::models::case::Case;
use tumaini_db::models::lifecycle::ErasureRequest;
use tumaini_db::models::retention::{self as store, CaseCandidate, NOT_IDENTIFIED, Sweep};
use tumaini_db::vault::Vault;
use tumaini_db::vocabulary::{CaseStatus, ErasureReason, ErasureScope, ErasureState};

use crate::audit::{AuditAction, Entry, Outcome};
use crate::auth::RequestContext;
use crate::cases::erasure;
use crate::config::{RecordKind, RetentionSchedule};
use crate::http::{ApiError, ProblemType};

/// What a retention run erases (or erased), counted by kind; never an identifier.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tally {
    /// Records due (or erased), by kind; every kind is listed, with zero where none.
    pub by_kind: BTreeMap<RecordKind, u64>,
    /// Cases whose period ended but which a legal hold keeps.
    pub held: u64,
    /// Cases that could not be erased in this run (each rolled back; the next run tries
    /// again). Never counted in `by_kind`.
    pub failed: u64,
}

impl Tally {
    fn empty() -> Self {
        Self {
            by_kind: RecordKind::ALL.iter().map(|k| (*k, 0)).collect(),
            held: 0,
            failed: 0,
        }
    }

    /// The total of every kind.
    pub fn total(&self) -> u64 {
        self.by_kind.values().sum()
    }

    fn add(&mut self, kind: RecordKind, n: u64) {
        *self.by_kind.entry(kind).or_default() += n;
    }
}

fn days_before(now: NaiveDateTime, days: u32) -> NaiveDateTime {
    now - chrono::Duration::days(i64::from(days))
}

/// The kind a case falls under, and whether its period has ended at `now`.
fn case_due(
    case: &CaseCandidate,
    schedule: &RetentionSchedule,
    now: NaiveDateTime,
) -> Option<RecordKind> {
    match case.status {
        CaseStatus::Closed => {
            let closed = case.closed_at.unwrap_or(case.updated_at);
            let days = schedule.closed_case_days(case.closure_reason);
            (closed < days_before(now, days)).then_some(RecordKind::ClosedCase)
        }
        CaseStatus::Withdrawn => {
            let withdrawn = case.withdrawn_at.unwrap_or(case.updated_at);
            (withdrawn < days_before(now, schedule.withdrawn_case_days))
                .then_some(RecordKind::WithdrawnCase)
        }
        // Not identified, and never assisted (an assistance record makes a case `active`).
        CaseStatus::Open if NOT_IDENTIFIED.contains(&case.identification_stage) => {
            (case.updated_at < days_before(now, schedule.not_identified_days))
                .then_some(RecordKind::NotIdentified)
        }
        _ => None,
    }
}

/// The sweeps of the records that are not cases, with their kind and cut-off.
fn sweeps(
    schedule: &RetentionSchedule,
    now: NaiveDateTime,
) -> [(RecordKind, Sweep, NaiveDateTime); 6] {
    let idempotency =
        chrono::Duration::from_std(schedule.idempotency).unwrap_or(chrono::Duration::hours(72));
    [
        (
            RecordKind::AnonymousNotification,
            Sweep::AnonymousNotifications,
            days_before(now, schedule.anonymous_notification_days),
        ),
        (
            RecordKind::Outbox,
            Sweep::Outbox,
            days_before(now, schedule.outbox_days),
        ),
        (
            RecordKind::Session,
            Sweep::Sessions,
            days_before(now, schedule.session_days),
        ),
        (
            RecordKind::IdempotencyResponse,
            Sweep::IdempotencyResponses,
            now - idempotency,
        ),
        (
            RecordKind::SignInRecord,
            Sweep::SignInRecords,
            days_before(now, schedule.sign_in_days),
        ),
        (
            RecordKind::DeletedDocument,
            Sweep::DeletedDocuments,
            days_before(now, schedule.deleted_document_days),
        ),
    ]
}

/// The cases due at `now`, with their kind, and the count of those a hold keeps.
fn due_cases(
    conn: &mut DbConn,
    schedule: &RetentionSchedule,
    now: NaiveDateTime,
) -> Result<(Vec<(CaseId, RecordKind)>, u64), ApiError> {
    let mut due = Vec::new();
    let mut held = 0;
    for (case, is_held) in store::case_candidates(conn)? {
        if let Some(kind) = case_due(&case, schedule, now) {
            if is_held {
                held += 1;
            } else {
                due.push((case.id, kind));
            }
        }
    }
    Ok((due, held))
}

/// What a run at `now` would erase, by kind (counts only), and how many cases a hold keeps.
/// Audited (`retention.plan`) in the same transaction.
pub fn plan(
    conn: &mut DbConn,
    schedule: &RetentionSchedule,
    now: NaiveDateTime,
    context: &RequestContext,
) -> Result<Tally, ApiError> {
    conn.write_transaction(|conn| {
        let mut tally = Tally::empty();
        let (due, held) = due_cases(conn, schedule, now)?;
        tally.held = held;
        for (_, kind) in due {
            tally.add(kind, 1);
        }
        for (kind, sweep, cutoff) in sweeps(schedule, now) {
            let n = store::count_due(conn, sweep, cutoff, now)?;
            tally.add(kind, u64::try_from(n).unwrap_or(0));
        }
        Entry::new(AuditAction::RetentionPlan, Outcome::Success)
            .in_request(context)
            .purpose("retention")
            .write(conn)?;
        Ok(tally)
    })
}

/// Erases and deletes what is due at `now`. `progress` is told `(done, total)` after each case
/// and each sweep. Each case is erased in its own transaction with its audit event
/// (`case.erasure.retention`, on the case); the run as a whole is recorded as `retention.run`.
/// Erasure requests whose approval time passed are marked expired first. A run that found
/// nothing to do is recorded only when `record_empty` (a person ran it; the job's empty rounds
/// leave no event).
#[expect(clippy::too_many_arguments, reason = "one run's inputs")]
pub fn run(
    conn: &mut DbConn,
    vault: &Vault,
    schedule: &RetentionSchedule,
    now: NaiveDateTime,
    public_url: &str,
    context: &RequestContext,
    record_empty: bool,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<Tally, ApiError> {
    expire_requests(conn, now, context)?;
    let (due, held) = conn.read_transaction(|conn| due_cases(conn, schedule, now))?;
    let total = u64::try_from(due.len())
        .unwrap_or(u64::MAX)
        .saturating_add(6);
    let mut tally = Tally::empty();
    tally.held = held;
    let mut done = 0;
    for (case_id, kind) in due {
        let erase = |conn: &mut DbConn| {
            erase_one(conn, vault, &case_id, schedule, now, public_url, context)
        };
        match conn.write_transaction(erase) {
            Ok(true) => tally.add(kind, 1),
            Ok(false) => {}
            // A hold placed since the plan: the claim rolled back, the case stays.
            Err(ApiError::Problem {
                kind: ProblemType::Conflict,
                ..
            }) => tally.held += 1,
            // One case that cannot be erased now (its transaction rolled back) does not keep
            // the others, or the records that are not cases, past their period.
            Err(err) => {
                tracing::warn!(case = %case_id, error = %err, "retention: a case was not erased");
                tally.failed += 1;
            }
        }
        done += 1;
        progress(done, total);
    }
    for (kind, sweep, cutoff) in sweeps(schedule, now) {
        let mut n = conn.write_transaction(|conn| store::delete_due(conn, sweep, cutoff, now))?;
        tally.add(kind, u64::try_from(n).unwrap_or(0));
        // Deleted documents go in bounded batches, each its own transaction.
        while sweep == Sweep::DeletedDocuments
            && i64::try_from(n).unwrap_or(0) == store::DELETED_DOCUMENTS_BATCH
        {
            n = conn.write_transaction(|conn| store::delete_due(conn, sweep, cutoff, now))?;
            tally.add(kind, u64::try_from(n).unwrap_or(0));
        }
        done += 1;
        progress(done, total);
    }
    if record_empty || tally.total() > 0 {
        conn.write_transaction(|conn| {
            Entry::new(AuditAction::RetentionRun, Outcome::Success)
                .in_request(context)
                .purpose("retention")
                .write(conn)
        })?;
    }
    if tally.total() > 0 {
        let _ = tumaini_db::models::lifecycle::truncate_log(conn);
    }
    Ok(tally)
}

/// Erases one case whose period ended, unless meanwhile it was erased, held (the hold is
/// checked again in the transaction), or changed so that it is no longer due (reopened, say).
/// Returns whether it was erased now.
fn erase_one(
    conn: &mut DbConn,
    vault: &Vault,
    id: &CaseId,
    schedule: &RetentionSchedule,
    now: NaiveDateTime,
    public_url: &str,
    context: &RequestContext,
) -> Result<bool, ApiError> {
    let case = Case::find(conn, id)?;
    let still = CaseCandidate {
        id: case.id.clone(),
        status: case.status,
        closure_reason: case.closure_reason,
        closed_at: case.closed_at,
        withdrawn_at: case.withdrawn_at,
        identification_stage: case.identification_stage,
        updated_at: case.updated_at,
    };
    if case.erased_at.is_some() || case_due(&still, schedule, now).is_none() {
        return Ok(false);
    }
    let scope = ErasureScope::PersonalData;
    // A hold found in the transaction is a conflict: it rolls back, and the run goes on.
    if erasure::execute(conn, vault, &case, scope, public_url)?.is_none() {
        return Ok(false);
    }
    let now = tumaini_db::time::now_utc();
    ErasureRequest {
        id: ErasureRequestId::generate(),
        case_id: case.id.clone(),
        scope,
        reason: ErasureReason::EndOfRetention,
        state: ErasureState::Executed,
        requested_by: None,
        requested_at: now,
        expires_at: now,
        decided_by: None,
        decided_at: Some(now),
        executed_at: Some(now),
    }
    .insert(conn)?;
    Entry::new(AuditAction::CaseErasureRetention, Outcome::Success)
        .in_request(context)
        .for_organisation(&case.owner_organisation_id)
        .on("case", &case.id)
        .groups(&crate::cases::codes(&crate::authz::FieldGroup::ALL))
        .purpose("retention")
        .high_severity(true)
        .write(conn)?;
    Ok(true)
}

/// Marks the erasure requests nobody approved in time as expired, each with its audit event.
pub fn expire_requests(
    conn: &mut DbConn,
    now: NaiveDateTime,
    context: &RequestContext,
) -> Result<usize, ApiError> {
    conn.write_transaction(|conn| {
        let expired = ErasureRequest::expire_due(conn, now)?;
        for request in &expired {
            Entry::new(AuditAction::CaseErasureExpired, Outcome::Success)
                .in_request(context)
                .on("case", &request.case_id)
                .purpose("erasure")
                .write(conn)?;
        }
        Ok(expired.len())
    })
}
