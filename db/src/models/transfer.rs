//! Transfers of a case's ownership between organisations.

use diesel::prelude::*;

use crate::ids::{CaseId, OrgId};
use crate::schema::case_transfers;
use crate::vocabulary::{SenderKeeps, TransferState};
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
    let mut facts = OwnershipFacts::default();
    for (from, groups, keeps) in &accepted {
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
    Ok(facts)
}
