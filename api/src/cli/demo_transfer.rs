//! The demo's transfer in flight: Mirembe Shelter in Uganda asks Kisumu Safe House in Kenya to
//! take over the case of a person who moved across the border, with her consent to transfer
//! abroad recorded; Kisumu has not answered yet. Written as the transfer service writes it (the
//! note sealed under the case's key), so a newcomer can sign in as `kisumu.worker` and accept.

use anyhow::Context as _;
use chrono::Duration;
use tumaini_db::DbConn;
use tumaini_db::ids::{ConsentId, TransferId, UserId};
use tumaini_db::models::case::{CaseFilter, CaseScope};
use tumaini_db::models::consent::{self, NewConsent};
use tumaini_db::models::transfer::{NewTransfer, Transfer};
use tumaini_db::models::{Organisation, case::Case};
use tumaini_db::time::now_utc;
use tumaini_db::vault::{SecretBytes, Vault};
use tumaini_db::vocabulary::{
    ConsentGiver, ConsentMethod, ConsentPurpose, ConsentRecipient, FieldGroup, SenderKeeps,
    TransferReason,
};

use crate::rules::lifecycle;
use crate::transfers::note_place;

/// The organisation that asks, and the one asked.
const FROM: &str = "Mirembe Shelter (demo)";
const TO: &str = "Kisumu Safe House (demo)";

/// Writes the transfer in flight, on the newest adult case in progress that Mirembe Shelter
/// owns; `requester` is its case worker. Returns whether there was such a case.
pub(super) fn seed(
    conn: &mut DbConn,
    vault: &Vault,
    orgs: &[Organisation],
    requester: &UserId,
) -> anyhow::Result<bool> {
    let find = |name: &str| {
        orgs.iter()
            .find(|o| o.name == name)
            .with_context(|| format!("the demo organisation {name}"))
    };
    let (from, to) = (find(FROM)?, find(TO)?);
    let owned = Case::list(
        conn,
        &CaseScope {
            owner: Some(from.id.clone()),
            ..CaseScope::default()
        },
        &CaseFilter {
            child: Some(false),
            ..CaseFilter::default()
        },
        None,
        500,
    )?;
    let Some(case) = owned
        .into_iter()
        .find(|c| c.erased_at.is_none() && lifecycle::accepts_records(c.status).is_ok())
    else {
        return Ok(false);
    };
    let now = now_utc();
    let groups = [
        FieldGroup::Identity,
        FieldGroup::Contact,
        FieldGroup::Health,
    ];
    let consent = consent::append(
        conn,
        &NewConsent {
            id: &ConsentId::generate(),
            case_id: &case.id,
            withdrawal: false,
            given_by: ConsentGiver::Person,
            method: ConsentMethod::Written,
            purposes: &[ConsentPurpose::Assistance, ConsentPurpose::Referral],
            groups: &groups,
            recipients: &[ConsentRecipient::Shelter, ConsentRecipient::Abroad],
            given_at: now - Duration::hours(2),
            valid_until: None,
            recorded_by: requester,
            details: None,
        },
    )?;
    let id = TransferId::generate();
    let note = vault
        .seal_record(
            conn,
            &case.id,
            note_place(&id),
            &SecretBytes::new(
                b"She has moved to Kisumu to be near her family and asked that her case follow her."
                    .to_vec(),
            ),
        )
        .map_err(|e| anyhow::anyhow!("vault: {e}"))?;
    Transfer::insert(
        conn,
        &NewTransfer {
            id: &id,
            case_id: &case.id,
            from: &from.id,
            to: &to.id,
            reason: TransferReason::PersonMoved,
            groups: &groups[..2],
            sender_keeps: SenderKeeps::Summary,
            consent_version: consent.version,
            requested_by: requester,
            requested_at: now - Duration::hours(1),
            respond_by: now + Duration::hours(71),
            note: Some(&note),
        },
    )?;
    Ok(true)
}
