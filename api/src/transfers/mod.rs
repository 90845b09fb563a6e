//! The transfer service: the organisation that owns a case asks another to take it over (the
//! person moves to another shelter, or goes home for reintegration); the receiver accepts or
//! declines, or the sender withdraws the request. Unlike a referral, which asks for services and
//! lends access for their time, an accepted transfer moves the case: the receiver becomes its
//! owner, reading only the field groups the transfer handed over, and the sender keeps what the
//! transfer says (its summary, read-only, or nothing). Consent is checked as for a referral to
//! the same organisation, when the transfer is asked for and again when it is accepted.
//!
//! Each step is decided by the policies in `policies/transfers.cedar` and audited in the same
//! transaction as the change, through the guarded path (`crate::guarded`); every decryption of
//! the sender's note is audited against the case. E-mail about a transfer carries its reference
//! and a link, nothing else (`crate::notifications::transfers`).

mod ownership;
mod request;
mod steps;

use serde::Serialize;
use tumaini_db::ids::{CaseId, TransferId, UserId};
use tumaini_db::models::case::Case;
use tumaini_db::models::consent::Consent;
use tumaini_db::models::transfer::Transfer;
use tumaini_db::models::{Organisation, User};
use tumaini_db::time::now_utc;
use tumaini_db::vault::{GroupRead, RecordPlace};
use tumaini_db::vocabulary::{
    FieldGroup, SenderKeeps, TransferDeclineReason, TransferReason, TransferState,
};
use tumaini_db::{DbConn, DbError};
use utoipa::ToSchema;

use crate::audit::{AuditAction, Entry, Outcome};
use crate::auth::RequestContext;
use crate::authz::{Decision, OrganisationFacts, TransferFacts};
use crate::cases::{self as service, vault_error};
use crate::http::ApiError;
use crate::referrals::{PartyView, PersonView};
use crate::rules::consent as consent_rules;
use crate::rules::referral::{self as referral_rules, ConsentGap, Sharing};
use crate::rules::transfer as rules;
use crate::state::AppState;

pub use ownership::{OwnerView, OwnershipHistory, history};
pub use request::{TransferInput, request};
pub use steps::{DeclineInput, MAX_PAGE, Side, TransferPage, TransferQuery, act, list};

/// What an audit event lists, beside the field groups, when a request decrypted the sender's
/// note on a transfer of the case.
pub const TRANSFER_NOTE: &str = "transfer_note";

/// A transfer as its two organisations and their country's coordinators see it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TransferView {
    /// Identifier.
    pub id: TransferId,
    /// Reference for e-mail and the telephone (`T-XXXX-XXXX`).
    pub reference: String,
    /// The case.
    pub case_id: CaseId,
    /// The case's reference.
    pub case_reference: String,
    /// The organisation that owned the case and asked.
    pub from: PartyView,
    /// The organisation asked to take it over.
    pub to: PartyView,
    /// The person, coarsely.
    pub person: PersonView,
    /// Why.
    pub reason: TransferReason,
    /// The personal field groups the new owner reads once it accepts.
    pub groups: Vec<FieldGroup>,
    /// What the sender keeps once it is accepted: the summary (read-only) or nothing.
    pub sender_keeps: SenderKeeps,
    /// The receiver is in another country than the one that owns the case.
    pub cross_border: bool,
    /// Where it stands.
    pub state: TransferState,
    /// Why it was declined.
    pub decline_reason: Option<TransferDeclineReason>,
    /// Who asked.
    pub requested_by: UserId,
    /// Asked (UTC).
    pub requested_at: chrono::DateTime<chrono::Utc>,
    /// The answer is due by (UTC).
    pub respond_by: chrono::DateTime<chrono::Utc>,
    /// Waiting for an answer past its due time.
    pub overdue: bool,
    /// Answered or withdrawn (UTC).
    pub decided_at: Option<chrono::DateTime<chrono::Utc>>,
    /// The sender's note, in their words: shown to the sender's staff until the case leaves
    /// them, to the receiver's staff while the request waits (and consent still covers it) and
    /// once they own the case; never to coordinators, never in a list. Reading it is audited.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// A transfer with everything its view and its policy facts need.
struct Loaded {
    transfer: Transfer,
    facts: TransferFacts,
    from: Organisation,
    to: Organisation,
    case: Case,
    consent: Option<Consent>,
}

/// Loads a transfer and the facts of its case; `lock` locks the case's row until the
/// transaction ends (an acceptance, which moves the case).
fn load(conn: &mut DbConn, id: &TransferId, lock: bool) -> Result<Loaded, DbError> {
    let transfer = Transfer::find(conn, id)?;
    let (case, case_facts, consent) = if lock {
        service::load_facts_for_update(conn, &transfer.case_id)?
    } else {
        service::load_facts(conn, &transfer.case_id)?
    };
    let from = Organisation::find(conn, &transfer.from_organisation_id)?;
    let to = Organisation::find(conn, &transfer.to_organisation_id)?;
    let facts = TransferFacts {
        id: transfer.id.to_string(),
        case: case_facts,
        from: OrganisationFacts::from(&from),
        to: OrganisationFacts::from(&to),
        state: transfer.state.code().to_owned(),
    };
    Ok(Loaded {
        transfer,
        facts,
        from,
        to,
        case,
        consent,
    })
}

impl Loaded {
    /// Whether the consent in force now covers this transfer: the receiver's kind, every group
    /// it hands over, `abroad` when the receiver is in another country than the owner's, and
    /// for a child a guardian's consent or a best-interest basis.
    fn consent_gap(&self) -> Option<ConsentGap> {
        let abroad = self.abroad();
        referral_rules::check_consent(
            consent_rules::in_force(self.consent.as_ref(), now_utc()),
            &Sharing {
                child: self.case.is_child,
                to_kind: self.to.kind,
                abroad: abroad.as_deref(),
                groups: &self.transfer.groups,
            },
        )
        .err()
    }

    /// The receiver's country when it is not the country of the case's owner.
    fn abroad(&self) -> Option<String> {
        (self.to.country.as_str() != self.facts.case.owner.country)
            .then(|| self.to.country.to_string())
    }

    /// Whether a member of staff of `organisation` (whom the policies let read the transfer)
    /// reads the sender's note: the sender's staff until the case has left them; the
    /// receiver's while the request waits and consent still covers it, and once they own the
    /// case. Coordinators and anyone else never. Inside an organisation on a need-to-know basis,
    /// a case worker not assigned to the case reads it only while the receiver decides, as the
    /// reason given for a referral.
    fn note_readable_by(
        &self,
        organisation: &Organisation,
        user: &tumaini_db::models::User,
    ) -> bool {
        let t = &self.transfer;
        if t.note.is_none() {
            return false;
        }
        let unassigned = user.role == tumaini_db::vocabulary::Role::CaseWorker
            && organisation.case_access == tumaini_db::vocabulary::CaseAccessMode::NeedToKnow
            && !self.facts.case.assigned.contains(&user.id.to_string());
        if unassigned
            && (organisation.id == t.from_organisation_id || t.state != TransferState::Requested)
        {
            return false;
        }
        if organisation.id == t.from_organisation_id {
            return t.state != TransferState::Accepted;
        }
        if organisation.id == t.to_organisation_id {
            return match t.state {
                TransferState::Requested => self.consent_gap().is_none(),
                TransferState::Accepted => self.case.owner_organisation_id == organisation.id,
                TransferState::Declined | TransferState::Withdrawn => false,
            };
        }
        false
    }
}

pub(crate) fn note_place(id: &TransferId) -> RecordPlace<'_> {
    RecordPlace {
        table: "case_transfers",
        column: "note",
        row_id: id.as_str(),
    }
}

/// The view of a loaded transfer; the note is opened only `with_note`. Returns whether it was
/// decrypted (the caller audits that).
fn view(
    conn: &mut DbConn,
    state: &AppState,
    loaded: &Loaded,
    with_note: bool,
) -> Result<(TransferView, bool), ApiError> {
    let t = &loaded.transfer;
    let note = match (&t.note, with_note) {
        (Some(sealed), true) => {
            match state
                .vault()?
                .open_record(conn, &t.case_id, note_place(&t.id), sealed)
                .map_err(vault_error)?
            {
                GroupRead::Plain(plain) => {
                    Some(String::from_utf8_lossy(plain.expose()).into_owned())
                }
                GroupRead::Erased | GroupRead::Absent => None,
            }
        }
        _ => None,
    };
    let opened = note.is_some();
    Ok((
        TransferView {
            id: t.id.clone(),
            reference: rules::reference(&t.id),
            case_id: t.case_id.clone(),
            case_reference: loaded.case.reference.clone(),
            from: PartyView::from(&loaded.from),
            to: PartyView::from(&loaded.to),
            person: PersonView {
                child: loaded.case.is_child,
                sex: loaded.case.sex,
                age_band: loaded.case.age_band,
            },
            reason: t.reason,
            groups: t.groups.clone(),
            sender_keeps: t.sender_keeps,
            cross_border: loaded.from.country != loaded.to.country,
            state: t.state,
            decline_reason: t.decline_reason,
            requested_by: t.requested_by.clone(),
            requested_at: t.requested_at.and_utc(),
            respond_by: t.respond_by.and_utc(),
            overdue: t.state == TransferState::Requested && t.respond_by <= now_utc(),
            decided_at: t.decided_at.map(|at| at.and_utc()),
            note,
        },
        opened,
    ))
}

/// Records that the sender's note on a transfer of `case` was decrypted for the caller: an
/// event about the case (so it shows in "who accessed this case"), which the misuse watch
/// counts like any read of personal data.
fn record_note_read(
    conn: &mut DbConn,
    context: &RequestContext,
    user: &User,
    case: &CaseId,
) -> Result<(), DbError> {
    service::record_case_event(
        conn,
        context,
        user,
        AuditAction::TransferNoteRead,
        Outcome::Success,
        case,
        None,
        &[TRANSFER_NOTE],
        "transfer",
        false,
    )
}

/// Appends a transfer event: who, which step, which transfer, the decision, the groups it hands
/// over. Never a personal value.
#[expect(clippy::too_many_arguments, reason = "one audit event's fields")]
fn record_transfer_event(
    conn: &mut DbConn,
    context: &RequestContext,
    user: &User,
    action: AuditAction,
    outcome: Outcome,
    transfer: &TransferId,
    decision: Option<&Decision>,
    groups: &[FieldGroup],
) -> Result<(), DbError> {
    let codes: Vec<&str> = groups.iter().map(|g| g.code()).collect();
    Entry::new(action, outcome)
        .in_request(context)
        .by(Some(user))
        .on("transfer", transfer)
        .decided(decision)
        .groups(&codes)
        .purpose("transfer")
        .write(conn)
}
