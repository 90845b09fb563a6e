//! The named queries behind "my work" (`GET /api/v1/work`) that no other model owns: the
//! review dates of risk assessments and plans, the cases an organisation works on, open
//! possible duplicates, and transfers waiting for an answer. The NRM deadlines and referral
//! deadlines come from `super::case::Deadline` and `super::referral::Referral`, the same
//! definitions the deadline scanner uses.

use std::collections::HashMap;

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use crate::ids::{CaseId, OrgId, TransferId, UserId};
use crate::schema::{assistance_plans, case_duplicates, case_transfers, cases, risk_assessments};
use crate::vocabulary::{DuplicateStatus, TransferState};
use crate::{DbConn, DbError};

/// The review date of the newest risk assessment of each of `cases` that has one.
pub fn risk_reviews(
    conn: &mut DbConn,
    cases: &[CaseId],
) -> Result<HashMap<CaseId, NaiveDate>, DbError> {
    let rows: Vec<(CaseId, NaiveDate)> = risk_assessments::table
        .filter(risk_assessments::case_id.eq_any(cases))
        .order((risk_assessments::assessed_at, risk_assessments::id))
        .select((risk_assessments::case_id, risk_assessments::review_on))
        .load(conn)?;
    // Oldest first: the newest of each case is the last one inserted into the map.
    Ok(rows.into_iter().collect())
}

/// The review date of the assistance plan of each of `cases` that has one.
pub fn plan_reviews(
    conn: &mut DbConn,
    cases: &[CaseId],
) -> Result<HashMap<CaseId, NaiveDate>, DbError> {
    let rows: Vec<(CaseId, NaiveDate)> = assistance_plans::table
        .filter(assistance_plans::case_id.eq_any(cases))
        .select((assistance_plans::case_id, assistance_plans::review_on))
        .load(conn)?;
    Ok(rows.into_iter().collect())
}

/// The cases `organisation` owns that are not erased.
pub fn owned_cases(conn: &mut DbConn, organisation: &OrgId) -> Result<Vec<CaseId>, DbError> {
    Ok(cases::table
        .filter(cases::owner_organisation_id.eq(organisation))
        .filter(cases::erased_at.is_null())
        .order(cases::id)
        .select(cases::id)
        .load(conn)?)
}

/// For each of `cases` with an open possible duplicate (on either side of the pair), when the
/// earliest open one was found.
pub fn open_duplicates(
    conn: &mut DbConn,
    cases: &[CaseId],
) -> Result<HashMap<CaseId, NaiveDateTime>, DbError> {
    let rows: Vec<(CaseId, CaseId, NaiveDateTime)> = case_duplicates::table
        .filter(case_duplicates::status.eq(DuplicateStatus::Open))
        .filter(
            case_duplicates::case_id
                .eq_any(cases)
                .or(case_duplicates::other_case_id.eq_any(cases)),
        )
        .select((
            case_duplicates::case_id,
            case_duplicates::other_case_id,
            case_duplicates::found_at,
        ))
        .load(conn)?;
    let mut out: HashMap<CaseId, NaiveDateTime> = HashMap::new();
    for (a, b, found) in rows {
        for side in [a, b] {
            if cases.contains(&side) {
                let earliest = out.entry(side).or_insert(found);
                if found < *earliest {
                    *earliest = found;
                }
            }
        }
    }
    Ok(out)
}

/// A transfer waiting for the receiving organisation's answer.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = case_transfers)]
pub struct WaitingTransfer {
    /// Identifier.
    pub id: TransferId,
    /// The case.
    pub case_id: CaseId,
    /// The sending organisation.
    pub from_organisation_id: OrgId,
    /// The receiving organisation.
    pub to_organisation_id: OrgId,
    /// Who asked.
    pub requested_by: UserId,
    /// The answer is due by then.
    pub respond_by: NaiveDateTime,
}

/// The transfers to `organisation` waiting for its answer, soonest due first.
pub fn transfers_to_answer(
    conn: &mut DbConn,
    organisation: &OrgId,
) -> Result<Vec<WaitingTransfer>, DbError> {
    Ok(case_transfers::table
        .filter(case_transfers::to_organisation_id.eq(organisation))
        .filter(case_transfers::state.eq(TransferState::Requested))
        .order((case_transfers::respond_by, case_transfers::id))
        .select(WaitingTransfer::as_select())
        .load(conn)?)
}
