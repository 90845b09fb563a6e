//! How a request decides which personal groups it may read: each group asked for by its own
//! `ReadPersonalGroup` action (`ReadIdentity`, `ReadNotes`...) on the case, under the request's
//! purpose and any break-glass the caller holds open. The groups refused are one denial event
//! of their own (`case.read_group`), written in the request's transaction. The case read and
//! the history read both decide through here, so a rule about groups (consent, restriction of
//! processing, break-glass) holds for both alike.

use tumaini_db::DbConn;
use tumaini_db::vocabulary as vocab;

use crate::audit::{AuditAction, Outcome};
use crate::auth::Caller;
use crate::authz::{Decision, FieldGroup};
use crate::cases::{CaseAccess, record_case_event};
use crate::http::ApiError;

/// What the policies decided about the groups a request asked for.
#[derive(Debug, Default)]
pub struct GroupDecisions {
    /// The groups the caller may read, in the order asked.
    pub allowed: Vec<FieldGroup>,
    /// The codes of the groups refused (audited).
    pub withheld: Vec<&'static str>,
}

/// Decides each group of `wanted` for the caller on the case of `access`, and audits the
/// refused ones as one `case.read_group` denial with `purpose`.
pub fn decide_groups(
    conn: &mut DbConn,
    caller: &Caller,
    access: &CaseAccess,
    wanted: &[FieldGroup],
    purpose: &str,
) -> Result<GroupDecisions, ApiError> {
    let mut decided = GroupDecisions::default();
    for group in wanted {
        if access.decide(group.read_action()).allowed {
            decided.allowed.push(*group);
        } else {
            decided.withheld.push(group.code());
        }
    }
    if !decided.withheld.is_empty() {
        // The refused groups are a denial of their own.
        record_case_event(
            conn,
            &caller.context,
            &caller.user,
            AuditAction::CaseReadGroup,
            Outcome::Denied,
            &access.case.id,
            Some(&Decision::default_deny()),
            &decided.withheld,
            purpose,
            false,
        )?;
    }
    Ok(decided)
}

/// The vault's name for a personal group.
pub fn stored(group: FieldGroup) -> Result<vocab::FieldGroup, ApiError> {
    vocab::FieldGroup::ALL
        .iter()
        .copied()
        .find(|g| g.code() == group.code())
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("unknown group")))
}
