//! A case's ownership history: the organisation that registered it, then each organisation an
//! accepted transfer moved it to.

use std::collections::HashMap;

use serde::Serialize;
use tumaini_db::ids::{CaseId, OrgId, TransferId};
use tumaini_db::models::Organisation;
use tumaini_db::models::transfer::Transfer;
use tumaini_db::vocabulary::{SenderKeeps, TransferReason};
use tumaini_db::{DbConn, DbError};
use utoipa::ToSchema;

use crate::audit::AuditAction;
use crate::auth::Caller;
use crate::authz::Action;
use crate::cases::{self as service, CaseRequest, Reply};
use crate::http::ApiError;
use crate::referrals::PartyView;
use crate::state::AppState;

/// One owner of a case, and how it came to own it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OwnerView {
    /// The owning organisation.
    pub organisation: PartyView,
    /// Owner since (UTC): the registration, or the acceptance of the transfer.
    pub since: chrono::DateTime<chrono::Utc>,
    /// The transfer that made it the owner (absent: it registered the case).
    pub transfer_id: Option<TransferId>,
    /// The previous owner (absent for the first).
    pub from: Option<PartyView>,
    /// Why the case was transferred (absent for the first).
    pub reason: Option<TransferReason>,
    /// What the previous owner kept (absent for the first).
    pub sender_keeps: Option<SenderKeeps>,
}

/// Who owned a case, oldest first; the last is its owner now.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OwnershipHistory {
    /// The case.
    pub case_id: CaseId,
    /// Its owners, oldest first.
    pub owners: Vec<OwnerView>,
}

/// The organisations named by id, each looked up once.
struct Parties(HashMap<OrgId, PartyView>);

impl Parties {
    fn get(&mut self, conn: &mut DbConn, id: &OrgId) -> Result<PartyView, DbError> {
        if let Some(party) = self.0.get(id) {
            return Ok(party.clone());
        }
        let party = PartyView::from(&Organisation::find(conn, id)?);
        self.0.insert(id.clone(), party.clone());
        Ok(party)
    }
}

/// A case's ownership history, for whoever may read its summary (its owner, a holder of an
/// accepted referral, a former owner that kept the summary, the country's coordinators).
/// Audited.
pub async fn history(state: &AppState, caller: Caller, case: CaseId) -> Result<Reply, ApiError> {
    let request = CaseRequest {
        id: case,
        action: Action::ReadSummary,
        audited_as: AuditAction::CaseOwnershipRead,
        purpose: "case_management",
        idempotency: None,
    };
    service::act_on_case(state, &caller, request, move |conn, access| {
        let case = &access.case;
        let accepted = Transfer::accepted_of_case(conn, &case.id)?;
        let mut parties = Parties(HashMap::new());
        let first = accepted
            .first()
            .map_or(&case.owner_organisation_id, |t| &t.from_organisation_id);
        let mut owners = vec![OwnerView {
            organisation: parties.get(conn, first)?,
            since: case.created_at.and_utc(),
            transfer_id: None,
            from: None,
            reason: None,
            sender_keeps: None,
        }];
        for transfer in &accepted {
            owners.push(OwnerView {
                organisation: parties.get(conn, &transfer.to_organisation_id)?,
                since: transfer
                    .decided_at
                    .unwrap_or(transfer.requested_at)
                    .and_utc(),
                transfer_id: Some(transfer.id.clone()),
                from: Some(parties.get(conn, &transfer.from_organisation_id)?),
                reason: Some(transfer.reason),
                sender_keeps: Some(transfer.sender_keeps),
            });
        }
        let body = OwnershipHistory {
            case_id: case.id.clone(),
            owners,
        };
        Ok(Reply::ok(
            serde_json::to_value(body).map_err(|e| ApiError::Internal(e.into()))?,
        ))
    })
    .await
}
