//! Asking another organisation to take a case over.

use serde::Deserialize;
use tumaini_db::DbError;
use tumaini_db::ids::{CaseId, OrgId, TransferId};
use tumaini_db::models::Organisation;
use tumaini_db::models::transfer::{NewTransfer, Transfer};
use tumaini_db::time::now_utc;
use tumaini_db::vault::SecretBytes;
use tumaini_db::vocabulary::{
    FieldGroup, ReferralUrgency, SenderKeeps, TransferReason, TransferState,
};
use utoipa::ToSchema;

use super::{load, note_place, view};
use crate::audit::AuditAction;
use crate::auth::Caller;
use crate::authz::Action;
use crate::cases::groups::check_text;
use crate::cases::{self as service, CaseRequest, Idempotency, Reply, vault_error};
use crate::http::{ApiError, ProblemType};
use crate::notifications::transfers as notices;
use crate::rules::lifecycle;
use crate::rules::referral::{self as referral_rules, Sharing};
use crate::rules::transfer as rules;
use crate::state::AppState;

/// The longest note accepted.
const MAX_NOTE: usize = 2000;

/// A transfer to ask for.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({
    "to_organisation": "019a8f5e-6c1d-7b2a-9d3e-4f5a6b7c8d9e",
    "reason": "return_home",
    "groups": ["identity", "contact"],
    "sender_keeps": "summary",
    "note": "She travels home on Friday; her family knows."
}))]
#[serde(deny_unknown_fields)]
pub struct TransferInput {
    /// The organisation asked to take the case over (a shelter, NGO, health, legal-aid, child
    /// protection or other service organisation; active; not your own).
    pub to_organisation: OrgId,
    /// Why (vocabulary `transfer_reason`).
    pub reason: TransferReason,
    /// The personal field groups the new owner is to read. Default: every group the consent in
    /// force lets be shared with the receiver's kind of organisation. No more than your
    /// organisation holds, and each must be covered by the consent.
    #[serde(default)]
    pub groups: Option<Vec<FieldGroup>>,
    /// What your organisation keeps once the transfer is accepted: `summary` (read-only) or
    /// `nothing` (the default).
    #[serde(default)]
    pub sender_keeps: Option<SenderKeeps>,
    /// A note to the receiver (up to 2000 characters; encrypted under the case's key, shown to
    /// the two organisations only). Tied to no field group: write in it only what the person
    /// agreed the receiver should know.
    #[serde(default)]
    pub note: Option<String>,
}

/// The note checked: trimmed, none when blank, bounded, without control characters.
fn checked_note(note: Option<String>) -> Result<Option<String>, ApiError> {
    let Some(note) = note.map(|n| n.trim().to_owned()).filter(|n| !n.is_empty()) else {
        return Ok(None);
    };
    if note.chars().count() > MAX_NOTE {
        return Err(ApiError::problem(
            ProblemType::InvalidBody,
            format!("`note` must be at most {MAX_NOTE} characters"),
        ));
    }
    check_text(&serde_json::Value::String(note.clone()), "note")?;
    Ok(Some(note))
}

fn invalid(detail: impl Into<String>) -> ApiError {
    ApiError::problem(ProblemType::InvalidBody, detail)
}

/// Asks another organisation to take a case over. The consent in force must cover the
/// receiver's kind and every group handed over (for a child, a guardian's consent or a
/// best-interest basis; across a border, transfer abroad); one transfer of a case waits at a
/// time. The receiver's staff are told by e-mail.
pub async fn request(
    state: &AppState,
    caller: Caller,
    case: CaseId,
    input: TransferInput,
    idempotency: Option<Idempotency>,
) -> Result<Reply, ApiError> {
    let note = checked_note(input.note)?;
    let settings = std::sync::Arc::clone(&state.cases);
    let public_url = state.public_url.clone();
    let app = state.clone();
    let requester = caller.user.id.clone();
    let request = CaseRequest {
        id: case,
        action: Action::RequestTransfer,
        audited_as: AuditAction::TransferRequest,
        purpose: "transfer",
        idempotency,
    };
    service::act_on_case(state, &caller, request, move |conn, access| {
        let from = access.case.owner_organisation_id.clone();
        if input.to_organisation == from {
            return Err(invalid("a transfer goes to another organisation"));
        }
        let to = match Organisation::find(conn, &input.to_organisation) {
            Ok(org) if org.active => org,
            Ok(_) | Err(DbError::NotFound) => {
                return Err(invalid("`to_organisation` names no active organisation"));
            }
            Err(other) => return Err(other.into()),
        };
        if !rules::can_own_cases(to.kind) {
            return Err(invalid(format!(
                "`to_organisation` is of the kind `{}`, which does not take cases over; transfer to an organisation that assists people, or refer the case instead",
                to.kind.code()
            )));
        }
        lifecycle::accepts_records(access.case.status)
            .map_err(|r| ApiError::problem(ProblemType::TransitionRefused, r.to_string()))?;
        let consent = access.consent_in_force();
        let groups = rules::groups_to_hand_over(input.groups, consent, to.kind)
            .map_err(|r| invalid(r.to_string()))?;
        let beyond: Vec<String> = groups
            .iter()
            .filter(|g| {
                !crate::authz::FieldGroup::from_code(g.code())
                    .is_some_and(|g| access.facts.owner_groups.contains(&g))
            })
            .map(|g| format!("`{}`", g.code()))
            .collect();
        if !beyond.is_empty() {
            return Err(invalid(format!(
                "your organisation does not hold the field groups {} of this case; a transfer hands over no more than the owner holds",
                beyond.join(", ")
            )));
        }
        // Abroad is measured from the country of the case's owner.
        let abroad =
            (to.country.as_str() != access.facts.owner.country).then(|| to.country.to_string());
        let consent = referral_rules::check_consent(
            consent,
            &Sharing {
                child: access.case.is_child,
                to_kind: to.kind,
                abroad: abroad.as_deref(),
                groups: &groups,
            },
        )
        .map_err(|gap| ApiError::problem(ProblemType::ConsentRequired, gap.to_string()))?;
        let open = || {
            ApiError::problem(
                ProblemType::Conflict,
                "a transfer of this case is already waiting for an answer; withdraw it first",
            )
        };
        if Transfer::of_case(conn, &access.case.id)?
            .iter()
            .any(|t| t.state == TransferState::Requested)
        {
            return Err(open());
        }
        let id = TransferId::generate();
        let sealed = note
            .map(|note| {
                access.vault.seal_record(
                    conn,
                    &access.case.id,
                    note_place(&id),
                    &SecretBytes::new(note.into_bytes()),
                )
            })
            .transpose()
            .map_err(vault_error)?;
        let now = now_utc();
        let respond_by = now
            + chrono::Duration::from_std(settings.referral_response(ReferralUrgency::Normal))
                .unwrap_or(chrono::Duration::hours(72));
        let transfer = match Transfer::insert(
            conn,
            &NewTransfer {
                id: &id,
                case_id: &access.case.id,
                from: &from,
                to: &to.id,
                reason: input.reason,
                groups: &groups,
                sender_keeps: input.sender_keeps.unwrap_or(SenderKeeps::Nothing),
                consent_version: consent.version,
                requested_by: &requester,
                requested_at: now,
                respond_by,
                note: sealed.as_deref(),
            },
        ) {
            Ok(transfer) => transfer,
            Err(DbError::Conflict { .. }) => return Err(open()),
            Err(other) => return Err(other.into()),
        };
        notices::tell_receiver(
            conn,
            &transfer,
            "A case transfer was asked of your organisation",
            &public_url,
        )?;
        // The answer leaves the note out: the sender has it, and an answer kept for a retry
        // then holds nothing a later decision could have withheld.
        let loaded = load(conn, &transfer.id, false)?;
        let (body, _) = view(conn, &app, &loaded, false)?;
        Ok(Reply::created(
            format!("/api/v1/transfers/{}", transfer.id),
            serde_json::to_value(body).map_err(|e| ApiError::Internal(e.into()))?,
        ))
    })
    .await
}
