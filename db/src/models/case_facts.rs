//! What the policies decide a case request on, read for one case or for a page of cases in a
//! fixed number of queries whatever the number of cases: the owner, the newest consent, the
//! referrals in force, the assigned staff and the accepted transfers. A list page does not pay
//! a round trip per row, and a single read pays the same few.

use std::collections::{HashMap, HashSet};

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::ids::{CaseId, OrgId, UserId};
use crate::models::case::Case;
use crate::models::consent::{Consent, ConsentRow};
use crate::models::referral::split;
use crate::models::transfer::{OwnershipFacts, ownership_of};
use crate::models::Organisation;
use crate::schema::{case_assignments, case_transfers, consents, organisations, referrals};
use crate::vocabulary::{FieldGroup, ReferralState, SenderKeeps, TransferState};
use crate::{DbConn, DbError};

/// A case with what the policies need to know about it, as stored.
#[derive(Debug, Clone)]
pub struct CaseFactRows {
    /// The case.
    pub case: Case,
    /// Its owner.
    pub owner: Organisation,
    /// Its newest consent record (possibly a withdrawal), if any.
    pub newest_consent: Option<Consent>,
    /// The organisations holding it through an accepted or in-service referral, with the
    /// groups each was sent.
    pub referral_access: Vec<(Organisation, Vec<FieldGroup>)>,
    /// The staff assigned to it.
    pub assigned: Vec<UserId>,
    /// What its accepted transfers mean for access now.
    pub ownership: OwnershipFacts,
    /// The former owners that kept its summary (those of `ownership`), as stored.
    pub former_owners: Vec<Organisation>,
}

/// The cases `ids` that exist, in one query (in no particular order).
pub fn cases(conn: &mut DbConn, ids: &[CaseId]) -> Result<Vec<Case>, DbError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(crate::schema::cases::table
        .filter(crate::schema::cases::id.eq_any(ids))
        .select(Case::as_select())
        .load(conn)?)
}

/// The facts of `cases`, in their order, in five queries whatever their number (none for no
/// cases).
pub fn load(conn: &mut DbConn, cases: Vec<Case>) -> Result<Vec<CaseFactRows>, DbError> {
    if cases.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<CaseId> = cases.iter().map(|c| c.id.clone()).collect();

    let mut newest: HashMap<CaseId, ConsentRow> = HashMap::new();
    for row in consents::table
        .filter(consents::case_id.eq_any(&ids))
        .select(ConsentRow::as_select())
        .load::<ConsentRow>(conn)?
    {
        match newest.get(&row.case_id) {
            Some(kept) if kept.version >= row.version => {}
            _ => {
                newest.insert(row.case_id.clone(), row);
            }
        }
    }

    let held: Vec<(CaseId, OrgId, String)> = referrals::table
        .filter(referrals::case_id.eq_any(&ids))
        .filter(referrals::state.eq_any([ReferralState::Accepted, ReferralState::InService]))
        .order((referrals::case_id, referrals::id))
        .select((
            referrals::case_id,
            referrals::to_organisation_id,
            referrals::field_groups,
        ))
        .load(conn)?;

    let mut assigned: HashMap<CaseId, Vec<UserId>> = HashMap::new();
    for (case, user) in case_assignments::table
        .filter(case_assignments::case_id.eq_any(&ids))
        .order((case_assignments::case_id, case_assignments::user_id))
        .select((case_assignments::case_id, case_assignments::user_id))
        .load::<(CaseId, UserId)>(conn)?
    {
        assigned.entry(case).or_default().push(user);
    }

    let mut transfers: HashMap<CaseId, Vec<(OrgId, String, SenderKeeps)>> = HashMap::new();
    for (case, from, groups, keeps, _, _) in case_transfers::table
        .filter(case_transfers::case_id.eq_any(&ids))
        .filter(case_transfers::state.eq(TransferState::Accepted))
        .order((
            case_transfers::case_id,
            case_transfers::decided_at,
            case_transfers::id,
        ))
        .select((
            case_transfers::case_id,
            case_transfers::from_organisation_id,
            case_transfers::groups,
            case_transfers::sender_keeps,
            case_transfers::decided_at,
            case_transfers::id,
        ))
        .load::<(CaseId, OrgId, String, SenderKeeps, Option<NaiveDateTime>, String)>(conn)?
    {
        transfers.entry(case).or_default().push((from, groups, keeps));
    }
    let ownership: HashMap<CaseId, OwnershipFacts> = cases
        .iter()
        .map(|c| {
            let accepted = transfers.remove(&c.id).unwrap_or_default();
            (c.id.clone(), ownership_of(&accepted, &c.owner_organisation_id))
        })
        .collect();

    // Every organisation the page names (owners, referral holders, former owners), in one query.
    let mut wanted: HashSet<OrgId> = cases
        .iter()
        .map(|c| c.owner_organisation_id.clone())
        .collect();
    wanted.extend(held.iter().map(|(_, org, _)| org.clone()));
    wanted.extend(
        ownership
            .values()
            .flat_map(|o| o.former_owners_with_summary.iter().cloned()),
    );
    let wanted: Vec<OrgId> = wanted.into_iter().collect();
    let organisations: HashMap<OrgId, Organisation> = organisations::table
        .filter(organisations::id.eq_any(&wanted))
        .select(Organisation::as_select())
        .load::<Organisation>(conn)?
        .into_iter()
        .map(|o| (o.id.clone(), o))
        .collect();
    let organisation = |id: &OrgId| {
        organisations
            .get(id)
            .cloned()
            .ok_or(DbError::NotFound)
    };

    let mut access: HashMap<CaseId, Vec<(Organisation, Vec<FieldGroup>)>> = HashMap::new();
    for (case, org, groups) in &held {
        access
            .entry(case.clone())
            .or_default()
            .push((organisation(org)?, split(groups)?));
    }

    let mut ownership = ownership;
    cases
        .into_iter()
        .map(|case| {
            let owned = ownership.remove(&case.id).unwrap_or_default();
            Ok(CaseFactRows {
                owner: organisation(&case.owner_organisation_id)?,
                newest_consent: newest
                    .remove(&case.id)
                    .map(Consent::try_from)
                    .transpose()?,
                referral_access: access.remove(&case.id).unwrap_or_default(),
                assigned: assigned.remove(&case.id).unwrap_or_default(),
                former_owners: owned
                    .former_owners_with_summary
                    .iter()
                    .map(organisation)
                    .collect::<Result<_, _>>()?,
                ownership: owned,
                case,
            })
        })
        .collect()
}
