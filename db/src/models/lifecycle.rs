//! The data's lifetime: erasure requests (one person asks, a second approves), legal holds,
//! and the deletions that carry an erasure out beyond the vault (which destroys the case's data
//! key, its groups and its blind indexes: `crate::vault::Vault::shred_in`).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::ids::{CaseId, ErasureRequestId, LegalHoldId, UserId};
use crate::schema::{
    assistance_plans, assistance_records, break_glass_grants, case_duplicates,
    case_exploitation_types, case_means_of_control, case_notes, case_transfers, cases, consents,
    duplicate_checks, erasure_requests, follow_ups, idempotency_keys, identification_decisions,
    legal_holds, outbox, referral_events, referrals, risk_assessments, screenings,
};
use crate::vocabulary::{
    AgeBand, ErasureReason, ErasureScope, ErasureState, IdentificationStage, LegalHoldReason, Sex,
};
use crate::{DbConn, DbError};

/// A request to erase a case.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = erasure_requests)]
pub struct ErasureRequest {
    /// Identifier.
    pub id: ErasureRequestId,
    /// The case.
    pub case_id: CaseId,
    /// What it removes.
    pub scope: ErasureScope,
    /// Why.
    pub reason: ErasureReason,
    /// Where it stands.
    pub state: ErasureState,
    /// Who asked (`None`: the retention job, which needs no second person).
    pub requested_by: Option<UserId>,
    /// When.
    pub requested_at: NaiveDateTime,
    /// Unapproved by then, it expires.
    pub expires_at: NaiveDateTime,
    /// Who approved, refused or cancelled it.
    pub decided_by: Option<UserId>,
    /// When.
    pub decided_at: Option<NaiveDateTime>,
    /// When it was carried out.
    pub executed_at: Option<NaiveDateTime>,
}

impl ErasureRequest {
    /// Stores a new request. A second pending request for the same case is a `Conflict`.
    pub fn insert(&self, conn: &mut DbConn) -> Result<(), DbError> {
        diesel::insert_into(erasure_requests::table)
            .values(self)
            .execute(conn)?;
        Ok(())
    }

    /// One request.
    pub fn find(conn: &mut DbConn, id: &ErasureRequestId) -> Result<Self, DbError> {
        Ok(erasure_requests::table
            .find(id)
            .select(Self::as_select())
            .first(conn)?)
    }

    /// A case's requests, oldest first.
    pub fn of_case(conn: &mut DbConn, case: &CaseId) -> Result<Vec<Self>, DbError> {
        Ok(erasure_requests::table
            .filter(erasure_requests::case_id.eq(case))
            .order((erasure_requests::requested_at, erasure_requests::id))
            .select(Self::as_select())
            .load(conn)?)
    }

    /// Requests waiting for a second person and not yet expired at `now`, oldest first.
    pub fn pending(conn: &mut DbConn, now: NaiveDateTime) -> Result<Vec<Self>, DbError> {
        Ok(erasure_requests::table
            .filter(erasure_requests::state.eq(ErasureState::Pending))
            .filter(erasure_requests::expires_at.gt(now))
            .order((erasure_requests::requested_at, erasure_requests::id))
            .select(Self::as_select())
            .load(conn)?)
    }

    /// Moves a pending, unexpired request to `to` (approved requests are recorded as
    /// `Executed`, in the transaction that executes them). `Ok(false)`: it was no longer
    /// pending, or it had expired; nothing changed.
    pub fn decide(
        conn: &mut DbConn,
        id: &ErasureRequestId,
        to: ErasureState,
        by: &UserId,
        at: NaiveDateTime,
    ) -> Result<bool, DbError> {
        let executed_at = (to == ErasureState::Executed).then_some(at);
        let changed = diesel::update(
            erasure_requests::table
                .filter(erasure_requests::id.eq(id))
                .filter(erasure_requests::state.eq(ErasureState::Pending))
                .filter(erasure_requests::expires_at.gt(at)),
        )
        .set((
            erasure_requests::state.eq(to),
            erasure_requests::decided_by.eq(by),
            erasure_requests::decided_at.eq(at),
            erasure_requests::executed_at.eq(executed_at),
        ))
        .execute(conn)?;
        Ok(changed == 1)
    }

    /// Marks the pending requests whose time passed as expired; returns them.
    pub fn expire_due(conn: &mut DbConn, now: NaiveDateTime) -> Result<Vec<Self>, DbError> {
        Self::expire(conn, None, now)
    }

    /// Marks the pending requests of one case whose time passed as expired (before a new
    /// request for the case, which would otherwise find one still pending); returns them.
    pub fn expire_for_case(
        conn: &mut DbConn,
        case: &CaseId,
        now: NaiveDateTime,
    ) -> Result<Vec<Self>, DbError> {
        Self::expire(conn, Some(case), now)
    }

    fn expire(
        conn: &mut DbConn,
        case: Option<&CaseId>,
        now: NaiveDateTime,
    ) -> Result<Vec<Self>, DbError> {
        let mut query = erasure_requests::table
            .filter(erasure_requests::state.eq(ErasureState::Pending))
            .filter(erasure_requests::expires_at.le(now))
            .select(Self::as_select())
            .into_boxed();
        if let Some(case) = case {
            query = query.filter(erasure_requests::case_id.eq(case));
        }
        let due: Vec<Self> = query.load(conn)?;
        let mut expired = Vec::new();
        for request in due {
            let changed = diesel::update(
                erasure_requests::table
                    .filter(erasure_requests::id.eq(&request.id))
                    .filter(erasure_requests::state.eq(ErasureState::Pending)),
            )
            .set(erasure_requests::state.eq(ErasureState::Expired))
            .execute(conn)?;
            if changed == 1 {
                expired.push(request);
            }
        }
        Ok(expired)
    }
}

/// A legal hold on a case.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = legal_holds)]
pub struct LegalHold {
    /// Identifier.
    pub id: LegalHoldId,
    /// The case.
    pub case_id: CaseId,
    /// Why.
    pub reason: LegalHoldReason,
    /// Who placed it.
    pub placed_by: UserId,
    /// When.
    pub placed_at: NaiveDateTime,
    /// Who lifted it.
    pub lifted_by: Option<UserId>,
    /// When.
    pub lifted_at: Option<NaiveDateTime>,
}

impl LegalHold {
    /// Places a hold. A second hold in force on the same case is a `Conflict`. The case's
    /// row is written too (its version bumped), so that an erasure running at the same moment
    /// either sees the hold or makes this wait (see [`claim_for_erasure`]).
    /// A case erased meanwhile (its row written first by the erasure) is `NotFound`.
    pub fn insert(&self, conn: &mut DbConn) -> Result<(), DbError> {
        let touched = diesel::update(
            cases::table
                .filter(cases::id.eq(&self.case_id))
                .filter(cases::erased_at.is_null()),
        )
        .set((
            cases::version.eq(cases::version + 1),
            cases::updated_at.eq(self.placed_at),
        ))
        .execute(conn)?;
        if touched == 0 {
            return Err(DbError::NotFound);
        }
        diesel::insert_into(legal_holds::table)
            .values(self)
            .execute(conn)?;
        Ok(())
    }

    /// The hold in force on a case, if any.
    pub fn in_force(conn: &mut DbConn, case: &CaseId) -> Result<Option<Self>, DbError> {
        Ok(legal_holds::table
            .filter(legal_holds::case_id.eq(case))
            .filter(legal_holds::lifted_at.is_null())
            .select(Self::as_select())
            .first(conn)
            .optional()?)
    }

    /// Lifts the hold in force on a case; `Ok(false)`: there was none.
    pub fn lift(
        conn: &mut DbConn,
        case: &CaseId,
        by: &UserId,
        at: NaiveDateTime,
    ) -> Result<bool, DbError> {
        let changed = diesel::update(
            legal_holds::table
                .filter(legal_holds::case_id.eq(case))
                .filter(legal_holds::lifted_at.is_null()),
        )
        .set((legal_holds::lifted_by.eq(by), legal_holds::lifted_at.eq(at)))
        .execute(conn)?;
        Ok(changed == 1)
    }
}

/// What an erasure deleted or blanked beyond the vault, row counts by kind (never a value).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Purged {
    /// Stored answers of idempotent requests about the case.
    pub idempotency_responses: usize,
    /// Possible-duplicate links and queued duplicate checks involving the case.
    pub duplicate_links: usize,
    /// E-mails about the case still waiting in the outbox.
    pub queued_emails: usize,
    /// Encrypted values in the case's records (consent details, screening answers, decision
    /// reasons, assistance details, notes, risk details, the plan, break-glass
    /// justifications, referral reasons), deleted or blanked.
    pub sealed_values: usize,
    /// Summary rows and records deleted by a whole-record erasure.
    pub records: usize,
    /// The case's documents (their content is unreadable once the key is destroyed; this
    /// removes it: database chunks at once, object-store content by housekeeping).
    pub documents: super::document::DocumentsPurged,
}

/// What [`claim_for_erasure`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// The case is marked erased in this transaction: go on, and commit, or roll back.
    Claimed,
    /// It was erased before (by another replica, say): nothing to do.
    AlreadyErased,
    /// A legal hold is in force: roll back.
    Held,
}

/// Marks a case erased, unless it already is, and then checks for a legal hold. The
/// conditional update comes first so that it holds the case's row: of two replicas erasing
/// one case, the second finds it erased; a hold placed concurrently (which also writes the
/// case's row) is either seen by the check or waits for this transaction.
pub fn claim_for_erasure(
    conn: &mut DbConn,
    case: &CaseId,
    scope: ErasureScope,
    now: NaiveDateTime,
) -> Result<Claim, DbError> {
    let marked = diesel::update(
        cases::table
            .filter(cases::id.eq(case))
            .filter(cases::erased_at.is_null()),
    )
    .set((
        cases::erased_at.eq(now),
        cases::erasure_scope.eq(scope),
        cases::restricted_at.eq(None::<NaiveDateTime>),
        cases::restricted_by.eq(None::<String>),
        cases::restriction_reason.eq(None::<String>),
        cases::updated_at.eq(now),
        cases::version.eq(cases::version + 1),
    ))
    .execute(conn)?;
    if marked == 0 {
        return Ok(Claim::AlreadyErased);
    }
    if LegalHold::in_force(conn, case)?.is_some() {
        return Ok(Claim::Held);
    }
    Ok(Claim::Claimed)
}

/// Deletes or blanks everything about a case that could re-identify the person outside the
/// vault, in the caller's transaction, after [`claim_for_erasure`] and after the vault has
/// destroyed the key (`Vault::shred_in`). The summary stays for a `PersonalData` erasure; a
/// `WholeRecord` erasure blanks it too and deletes the case's records, leaving a tombstone row
/// (id, reference, owner, dates) so the audit trail's events keep their meaning.
pub fn purge_case(
    conn: &mut DbConn,
    case: &CaseId,
    reference: &str,
    scope: ErasureScope,
) -> Result<Purged, DbError> {
    let mut purged = Purged {
        idempotency_responses: diesel::delete(
            idempotency_keys::table.filter(idempotency_keys::case_id.eq(case)),
        )
        .execute(conn)?,
        ..Purged::default()
    };
    purged.duplicate_links = diesel::delete(
        case_duplicates::table.filter(
            case_duplicates::case_id
                .eq(case)
                .or(case_duplicates::other_case_id.eq(case)),
        ),
    )
    .execute(conn)?
        + diesel::delete(
            duplicate_checks::table.filter(
                duplicate_checks::case_id
                    .eq(case)
                    .or(duplicate_checks::candidate_id.eq(case)),
            ),
        )
        .execute(conn)?;
    // E-mails name a case by its reference or by its id in a link; unsent ones are dropped.
    let by_reference = format!("%{reference}%");
    let by_id = format!("%{case}%");
    purged.queued_emails = diesel::delete(
        outbox::table.filter(outbox::sent_at.is_null()).filter(
            outbox::subject
                .like(&by_reference)
                .or(outbox::body.like(&by_reference))
                .or(outbox::body.like(&by_id)),
        ),
    )
    .execute(conn)?;
    let empty: Vec<u8> = Vec::new();
    let none: Option<Vec<u8>> = None;
    let sealed = &mut purged.sealed_values;
    *sealed +=
        diesel::delete(case_notes::table.filter(case_notes::case_id.eq(case))).execute(conn)?;
    *sealed += diesel::delete(assistance_plans::table.filter(assistance_plans::case_id.eq(case)))
        .execute(conn)?;
    *sealed += diesel::update(consents::table.filter(consents::case_id.eq(case)))
        .set(consents::details.eq(&none))
        .execute(conn)?;
    *sealed += diesel::update(screenings::table.filter(screenings::case_id.eq(case)))
        .set(screenings::answers.eq(&empty))
        .execute(conn)?;
    *sealed += diesel::update(
        identification_decisions::table.filter(identification_decisions::case_id.eq(case)),
    )
    .set(identification_decisions::reasons.eq(&empty))
    .execute(conn)?;
    *sealed +=
        diesel::update(assistance_records::table.filter(assistance_records::case_id.eq(case)))
            .set(assistance_records::details.eq(&none))
            .execute(conn)?;
    *sealed += diesel::update(risk_assessments::table.filter(risk_assessments::case_id.eq(case)))
        .set(risk_assessments::details.eq(&none))
        .execute(conn)?;
    *sealed +=
        diesel::update(break_glass_grants::table.filter(break_glass_grants::case_id.eq(case)))
            .set(break_glass_grants::justification.eq(&empty))
            .execute(conn)?;
    *sealed += diesel::update(referrals::table.filter(referrals::case_id.eq(case)))
        .set(referrals::reason.eq(&empty))
        .execute(conn)?;
    *sealed += diesel::update(follow_ups::table.filter(follow_ups::case_id.eq(case)))
        .set(follow_ups::note.eq(&none))
        .execute(conn)?;
    *sealed += diesel::update(case_transfers::table.filter(case_transfers::case_id.eq(case)))
        .set(case_transfers::note.eq(&none))
        .execute(conn)?;
    // Reminders not yet sent would name the case: none goes out any more.
    diesel::update(
        follow_ups::table
            .filter(follow_ups::case_id.eq(case))
            .filter(follow_ups::reminded_at.is_null()),
    )
    .set(follow_ups::remind_at.eq(None::<NaiveDateTime>))
    .execute(conn)?;
    purged.documents = super::document::purge_case(conn, case, crate::time::now_utc())?;
    if scope == ErasureScope::WholeRecord {
        purged.records = delete_records(conn, case)?;
    }
    if scope == ErasureScope::WholeRecord {
        // The tombstone: nothing of the summary is left to count or to describe anyone.
        let registered = cases::table
            .find(case)
            .select(cases::created_at)
            .first::<NaiveDateTime>(conn)?;
        diesel::update(cases::table.find(case))
            .set((
                cases::sex.eq(Sex::Unknown),
                cases::age_band.eq(AgeBand::Unknown),
                cases::may_be_child.eq(false),
                cases::is_child.eq(false),
                cases::citizenship.eq(None::<String>),
                cases::recruitment_country.eq(None::<String>),
                cases::exploitation_country.eq(None::<String>),
                cases::region.eq(""),
                cases::encountered_on.eq(registered.date()),
                cases::exploitation_forms.eq(""),
                cases::identification_stage.eq(IdentificationStage::NotScreened),
                cases::child_protection_notified_at.eq(None::<NaiveDateTime>),
                cases::closure_reason.eq(None::<String>),
                cases::closure_requested_at.eq(None::<NaiveDateTime>),
                cases::closure_requested_by.eq(None::<String>),
                cases::referred_into_nrm_at.eq(None::<NaiveDateTime>),
                cases::reasonable_grounds_due_at.eq(None::<NaiveDateTime>),
                cases::reasonable_grounds_decided_at.eq(None::<NaiveDateTime>),
                cases::recovery_period_ends_at.eq(None::<NaiveDateTime>),
                cases::conclusive_grounds_decided_at.eq(None::<NaiveDateTime>),
                cases::reasonable_grounds_overdue_at.eq(None::<NaiveDateTime>),
                cases::conclusive_grounds_overdue_at.eq(None::<NaiveDateTime>),
            ))
            .execute(conn)?;
    }
    Ok(purged)
}

/// A whole-record erasure's deletions: the case's records, its referrals with their
/// timelines, and its summary lists.
fn delete_records(conn: &mut DbConn, case: &CaseId) -> Result<usize, DbError> {
    let referral_ids = referrals::table
        .filter(referrals::case_id.eq(case))
        .select(referrals::id);
    let mut deleted = diesel::delete(
        referral_events::table.filter(referral_events::referral_id.eq_any(referral_ids)),
    )
    .execute(conn)?;
    deleted +=
        diesel::delete(referrals::table.filter(referrals::case_id.eq(case))).execute(conn)?;
    deleted += diesel::delete(consents::table.filter(consents::case_id.eq(case))).execute(conn)?;
    deleted +=
        diesel::delete(screenings::table.filter(screenings::case_id.eq(case))).execute(conn)?;
    deleted += diesel::delete(
        identification_decisions::table.filter(identification_decisions::case_id.eq(case)),
    )
    .execute(conn)?;
    deleted +=
        diesel::delete(assistance_records::table.filter(assistance_records::case_id.eq(case)))
            .execute(conn)?;
    deleted += diesel::delete(risk_assessments::table.filter(risk_assessments::case_id.eq(case)))
        .execute(conn)?;
    deleted +=
        diesel::delete(break_glass_grants::table.filter(break_glass_grants::case_id.eq(case)))
            .execute(conn)?;
    deleted += diesel::delete(
        case_exploitation_types::table.filter(case_exploitation_types::case_id.eq(case)),
    )
    .execute(conn)?;
    deleted += diesel::delete(
        case_means_of_control::table.filter(case_means_of_control::case_id.eq(case)),
    )
    .execute(conn)?;
    deleted +=
        diesel::delete(follow_ups::table.filter(follow_ups::case_id.eq(case))).execute(conn)?;
    deleted += diesel::delete(case_transfers::table.filter(case_transfers::case_id.eq(case)))
        .execute(conn)?;
    Ok(deleted)
}

/// On SQLite, folds the write-ahead log into the database file and truncates it, so no older
/// copy of a page whose values were deleted stays in the log (`secure_delete` zeroes them in the
/// file). Returns whether the log was emptied (a reader still on an older snapshot keeps it).
/// Nothing to do on PostgreSQL, whose dumps hold only live rows and whose dead rows are
/// reclaimed by (auto)vacuum.
pub fn truncate_log(conn: &mut DbConn) -> Result<bool, DbError> {
    #[derive(QueryableByName)]
    struct Checkpoint {
        #[diesel(sql_type = diesel::sql_types::Integer)]
        busy: i32,
    }
    match conn {
        DbConn::Sqlite(sqlite) => {
            let rows: Vec<Checkpoint> =
                diesel::sql_query("PRAGMA wal_checkpoint(TRUNCATE)").load(sqlite)?;
            Ok(rows.first().is_some_and(|r| r.busy == 0))
        }
        DbConn::Postgresql(_) => Ok(true),
    }
}
