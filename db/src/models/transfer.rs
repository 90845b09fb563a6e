//! Transfers of a case's ownership between organisations: the request, its answer, the move
//! of the case to its new owner, and what the accepted transfers mean for access now.
//!
//! An answer is a conditional UPDATE (`... WHERE state = 'requested'`), so of two concurrent
//! answers (an acceptance and a withdrawal) exactly one changes the row; one open transfer per
//! case is a unique partial index.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::ids::{CaseId, OrgId, TransferId, UserId};
use crate::schema::{case_transfers, cases};
use crate::vocabulary::{
    FieldGroup, SenderKeeps, TransferDeclineReason, TransferReason, TransferState,
};
use crate::{DbConn, DbError};

/// What the transfers of a case mean for access to it now.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OwnershipFacts {
    /// The field group codes the current owner received with the last accepted transfer;
    /// `None` when the case was never transferred (its owner registered it and reads every group).
    pub owner_groups: Option<Vec<String>>,
    /// The organisations that transferred the case away keeping its summary.
    pub former_owners_with_summary: Vec<OrgId>,
}

/// The access facts of `case`'s accepted transfers; `owner` is its owner now (an organisation
/// that transferred the case away and later got it back is its owner, not a former owner).
pub fn ownership_facts(
    conn: &mut DbConn,
    case: &CaseId,
    owner: &OrgId,
) -> Result<OwnershipFacts, DbError> {
    let accepted: Vec<(OrgId, String, SenderKeeps)> = case_transfers::table
        .filter(case_transfers::case_id.eq(case))
        .filter(case_transfers::state.eq(TransferState::Accepted))
        .order((case_transfers::decided_at, case_transfers::id))
        .select((
            case_transfers::from_organisation_id,
            case_transfers::groups,
            case_transfers::sender_keeps,
        ))
        .load(conn)?;
    Ok(ownership_of(&accepted, owner))
}

/// [`OwnershipFacts`] from a case's accepted transfers, oldest first (`from`, `groups`,
/// `sender_keeps`); `owner` is the case's owner now.
pub fn ownership_of(accepted: &[(OrgId, String, SenderKeeps)], owner: &OrgId) -> OwnershipFacts {
    let mut facts = OwnershipFacts::default();
    for (from, groups, keeps) in accepted {
        if *keeps == SenderKeeps::Summary {
            if !facts.former_owners_with_summary.contains(from) {
                facts.former_owners_with_summary.push(from.clone());
            }
        } else {
            facts.former_owners_with_summary.retain(|o| o != from);
        }
        facts.owner_groups = Some(
            groups
                .split(',')
                .map(str::trim)
                .filter(|g| !g.is_empty())
                .map(str::to_owned)
                .collect(),
        );
    }
    // An organisation that got the case back owns it: it is no former owner.
    facts.former_owners_with_summary.retain(|o| o != owner);
    facts
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = case_transfers)]
struct TransferRow {
    id: TransferId,
    case_id: CaseId,
    from_organisation_id: OrgId,
    to_organisation_id: OrgId,
    reason: TransferReason,
    groups: String,
    sender_keeps: SenderKeeps,
    consent_version: Option<i32>,
    state: TransferState,
    requested_by: UserId,
    requested_at: NaiveDateTime,
    respond_by: NaiveDateTime,
    decided_by: Option<UserId>,
    decided_at: Option<NaiveDateTime>,
    decline_reason: Option<TransferDeclineReason>,
    note: Option<Vec<u8>>,
    version: i32,
}

/// A request that another organisation take a case over, and its answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transfer {
    /// Identifier.
    pub id: TransferId,
    /// The case.
    pub case_id: CaseId,
    /// The organisation that owned the case when the transfer was asked for.
    pub from_organisation_id: OrgId,
    /// The organisation asked to take it over.
    pub to_organisation_id: OrgId,
    /// Why.
    pub reason: TransferReason,
    /// The personal groups the new owner reads once it accepts.
    pub groups: Vec<FieldGroup>,
    /// What the sender keeps once it is accepted.
    pub sender_keeps: SenderKeeps,
    /// The consent version it rests on.
    pub consent_version: Option<i32>,
    /// Where it stands.
    pub state: TransferState,
    /// Who asked.
    pub requested_by: UserId,
    /// When.
    pub requested_at: NaiveDateTime,
    /// The answer is due by then.
    pub respond_by: NaiveDateTime,
    /// Who answered or withdrew it.
    pub decided_by: Option<UserId>,
    /// When.
    pub decided_at: Option<NaiveDateTime>,
    /// Why it was declined.
    pub decline_reason: Option<TransferDeclineReason>,
    /// The sender's note to the receiver, sealed under the case's data key.
    pub note: Option<Vec<u8>>,
    /// Its version (bumped by each change).
    pub version: i32,
}

impl TryFrom<TransferRow> for Transfer {
    type Error = DbError;
    fn try_from(row: TransferRow) -> Result<Self, DbError> {
        let groups = row
            .groups
            .split(',')
            .filter(|part| !part.is_empty())
            .map(|part| {
                part.parse().map_err(|_| {
                    DbError::Query(diesel::result::Error::DeserializationError(
                        "unknown field group in a transfer".into(),
                    ))
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(Self {
            id: row.id,
            case_id: row.case_id,
            from_organisation_id: row.from_organisation_id,
            to_organisation_id: row.to_organisation_id,
            reason: row.reason,
            groups,
            sender_keeps: row.sender_keeps,
            consent_version: row.consent_version,
            state: row.state,
            requested_by: row.requested_by,
            requested_at: row.requested_at,
            respond_by: row.respond_by,
            decided_by: row.decided_by,
            decided_at: row.decided_at,
            decline_reason: row.decline_reason,
            note: row.note,
            version: row.version,
        })
    }
}

fn parse_all(rows: Vec<TransferRow>) -> Result<Vec<Transfer>, DbError> {
    rows.into_iter().map(Transfer::try_from).collect()
}

/// A transfer to record.
#[derive(Debug, Clone)]
pub struct NewTransfer<'a> {
    /// Identifier (made first: the note is sealed bound to it).
    pub id: &'a TransferId,
    /// The case.
    pub case_id: &'a CaseId,
    /// The owner asking.
    pub from: &'a OrgId,
    /// The organisation asked.
    pub to: &'a OrgId,
    /// Why.
    pub reason: TransferReason,
    /// The groups handed over.
    pub groups: &'a [FieldGroup],
    /// What the sender keeps.
    pub sender_keeps: SenderKeeps,
    /// The consent version relied on.
    pub consent_version: i32,
    /// Who asks.
    pub requested_by: &'a UserId,
    /// When.
    pub requested_at: NaiveDateTime,
    /// Answer due by.
    pub respond_by: NaiveDateTime,
    /// The sealed note.
    pub note: Option<&'a [u8]>,
}

/// Which side of an organisation's transfers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Transfers to the organisation.
    Incoming,
    /// Transfers from the organisation.
    Outgoing,
}

impl Transfer {
    /// Records a requested transfer. Call inside the case's write transaction. A second open
    /// transfer of the case is a [`DbError::Conflict`] (one open transfer per case).
    pub fn insert(conn: &mut DbConn, new: &NewTransfer<'_>) -> Result<Transfer, DbError> {
        let groups = new
            .groups
            .iter()
            .map(|g| g.code())
            .collect::<Vec<_>>()
            .join(",");
        diesel::insert_into(case_transfers::table)
            .values((
                case_transfers::id.eq(new.id),
                case_transfers::case_id.eq(new.case_id),
                case_transfers::from_organisation_id.eq(new.from),
                case_transfers::to_organisation_id.eq(new.to),
                case_transfers::reason.eq(new.reason),
                case_transfers::groups.eq(groups),
                case_transfers::sender_keeps.eq(new.sender_keeps),
                case_transfers::consent_version.eq(new.consent_version),
                case_transfers::state.eq(TransferState::Requested),
                case_transfers::requested_by.eq(new.requested_by),
                case_transfers::requested_at.eq(new.requested_at),
                case_transfers::respond_by.eq(new.respond_by),
                case_transfers::note.eq(new.note),
                case_transfers::version.eq(1),
            ))
            .execute(conn)?;
        Self::find(conn, new.id)
    }

    /// The transfer with this id.
    pub fn find(conn: &mut DbConn, id: &TransferId) -> Result<Transfer, DbError> {
        case_transfers::table
            .find(id)
            .select(TransferRow::as_select())
            .first(conn)?
            .try_into()
    }

    /// The transfers of a case, oldest first.
    pub fn of_case(conn: &mut DbConn, case: &CaseId) -> Result<Vec<Transfer>, DbError> {
        parse_all(
            case_transfers::table
                .filter(case_transfers::case_id.eq(case))
                .order((case_transfers::requested_at, case_transfers::id))
                .select(TransferRow::as_select())
                .load(conn)?,
        )
    }

    /// The accepted transfers of a case in the order they were accepted: its ownership
    /// history after its registration.
    pub fn accepted_of_case(conn: &mut DbConn, case: &CaseId) -> Result<Vec<Transfer>, DbError> {
        parse_all(
            case_transfers::table
                .filter(case_transfers::case_id.eq(case))
                .filter(case_transfers::state.eq(TransferState::Accepted))
                .order((case_transfers::decided_at, case_transfers::id))
                .select(TransferRow::as_select())
                .load(conn)?,
        )
    }

    /// An organisation's incoming or outgoing transfers, newest first, optionally in one state,
    /// after the cursor `before`.
    pub fn of_organisation(
        conn: &mut DbConn,
        organisation: &OrgId,
        direction: Direction,
        state: Option<TransferState>,
        before: Option<&TransferId>,
        limit: i64,
    ) -> Result<Vec<Transfer>, DbError> {
        let mut query = case_transfers::table
            .select(TransferRow::as_select())
            .into_boxed();
        query = match direction {
            Direction::Incoming => {
                query.filter(case_transfers::to_organisation_id.eq(organisation.clone()))
            }
            Direction::Outgoing => {
                query.filter(case_transfers::from_organisation_id.eq(organisation.clone()))
            }
        };
        if let Some(state) = state {
            query = query.filter(case_transfers::state.eq(state));
        }
        if let Some(before) = before {
            query = query.filter(case_transfers::id.lt(before.clone()));
        }
        parse_all(
            query
                .order(case_transfers::id.desc())
                .limit(limit)
                .load(conn)?,
        )
    }

    /// Answers or withdraws a waiting transfer (`to`: accepted, declined or withdrawn) at `at`
    /// by `by`. `Ok(false)`: it was no longer waiting (a concurrent answer won); nothing changed.
    pub fn answer(
        conn: &mut DbConn,
        id: &TransferId,
        to: TransferState,
        by: &UserId,
        at: NaiveDateTime,
        decline_reason: Option<TransferDeclineReason>,
    ) -> Result<bool, DbError> {
        let changed = diesel::update(
            case_transfers::table
                .filter(case_transfers::id.eq(id))
                .filter(case_transfers::state.eq(TransferState::Requested)),
        )
        .set((
            case_transfers::state.eq(to),
            case_transfers::decided_by.eq(by),
            case_transfers::decided_at.eq(at),
            case_transfers::decline_reason.eq(decline_reason),
            case_transfers::version.eq(case_transfers::version + 1),
        ))
        .execute(conn)?;
        Ok(changed == 1)
    }

    /// Makes `to` the owner of `case` if the case is still at `expected_version`, bumping its
    /// version. `Ok(false)`: the case changed meanwhile; nothing changed.
    pub fn move_case(
        conn: &mut DbConn,
        case: &CaseId,
        expected_version: i32,
        to: &OrgId,
        at: NaiveDateTime,
    ) -> Result<bool, DbError> {
        let changed = diesel::update(
            cases::table
                .filter(cases::id.eq(case))
                .filter(cases::version.eq(expected_version)),
        )
        .set((
            cases::owner_organisation_id.eq(to),
            cases::version.eq(expected_version + 1),
            cases::updated_at.eq(at),
        ))
        .execute(conn)?;
        Ok(changed == 1)
    }
}
