//! The referral service: one organisation asks another for named services for a case,
//! sharing only the field groups named, and only as far as the person's consent allows. Each
//! step (accept, decline, start, complete, withdraw) is decided by the policies in
//! `policies/referrals.cedar` and audited in the same transaction as the change, through the
//! guarded path (`crate::guarded`). Acceptance lets the receiving organisation see the groups
//! shared; the policies see the end of a referral (or a withdrawal of consent) on the very
//! next request. Every decryption of a referral's reason is audited against its case.
//!
//! E-mail about a referral carries its reference and a link, nothing else
//! (`crate::notifications`).

pub mod directory;

use std::collections::HashMap;

use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};
use serde_json::json;
use tumaini_db::ids::{CaseId, DocumentId, OrgId, ReferralId, UserId};
use tumaini_db::models::case::Case;
use tumaini_db::models::document::Document;
use tumaini_db::models::referral::{
    self as store, Actor, Mailbox, NewReferral, Referral, ReferralEvent,
};
use tumaini_db::models::{Organisation, User};
use tumaini_db::time::now_utc;
use tumaini_db::vault::{GroupRead, RecordPlace, SecretBytes};
use tumaini_db::vocabulary::{
    AgeBand, DeclineReason, DocumentKind, FieldGroup, NotificationKind, OrganisationKind,
    ReferralState, ReferralUrgency, Role, ServiceType, Sex,
};
use tumaini_db::{DbConn, DbError};
use utoipa::ToSchema;

use crate::audit::{self, AuditAction, Entry, Event, Outcome};
use crate::auth::{Caller, Principal, RequestContext};
use crate::authz::{Action, Decision, OrganisationFacts, ReferralFacts, Resource};
use crate::cases::{self as service, CaseRequest, Idempotency, Reply, vault_error};
use crate::guarded::{self, Failure, authorize_principal};
use crate::http::{ApiError, ProblemType, with_conn};
use crate::notifications::{notify, tell_receiver, tell_sender};
use crate::rules::lifecycle;
use crate::rules::reference;
use crate::rules::referral::{self as rules, Sharing, Step};
use crate::state::AppState;
use crate::webhooks;

/// The longest reason accepted.
const MAX_REASON: usize = 2000;
/// The most referrals one page lists.
pub const MAX_PAGE: i64 = 100;

/// An organisation taking part in a referral.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PartyView {
    /// Identifier.
    pub id: OrgId,
    /// Name.
    pub name: String,
    /// Kind.
    pub kind: OrganisationKind,
    /// Country (ISO 3166-1 alpha-2).
    pub country: String,
}

impl From<&Organisation> for PartyView {
    fn from(org: &Organisation) -> Self {
        Self {
            id: org.id.clone(),
            name: org.name.clone(),
            kind: org.kind,
            country: org.country.to_string(),
        }
    }
}

/// The coarse facts about the person a receiving organisation needs to answer (from the
/// summary; nothing identifying).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PersonView {
    /// Treated as a child (under 18, or possibly).
    pub child: bool,
    /// Sex.
    pub sex: Sex,
    /// Age band.
    pub age_band: AgeBand,
}

/// One step of a referral's timeline.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StepView {
    /// The state entered.
    pub state: ReferralState,
    /// When (UTC).
    pub at: chrono::DateTime<chrono::Utc>,
    /// The organisation that moved it (absent: the deadline passed).
    pub organisation_id: Option<OrgId>,
    /// The member of staff who moved it.
    pub user_id: Option<UserId>,
}

impl From<ReferralEvent> for StepView {
    fn from(step: ReferralEvent) -> Self {
        Self {
            state: step.state,
            at: step.at.and_utc(),
            organisation_id: step.organisation_id,
            user_id: step.user_id,
        }
    }
}

/// A referral as its parties and coordinators see it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReferralView {
    /// Identifier.
    pub id: ReferralId,
    /// Reference for e-mail and the telephone.
    pub reference: String,
    /// The case.
    pub case_id: CaseId,
    /// The case's reference.
    pub case_reference: String,
    /// The referring organisation.
    pub from: PartyView,
    /// The receiving organisation.
    pub to: PartyView,
    /// The person, coarsely.
    pub person: PersonView,
    /// Services asked for.
    pub services: Vec<ServiceType>,
    /// Field groups shared once accepted.
    pub groups: Vec<FieldGroup>,
    /// Urgency.
    pub urgency: ReferralUrgency,
    /// Why, in the referrer's words (the two organisations only; never coordinators). Not in
    /// the answer to the POST that creates the referral.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The receiving organisation is in another country than the one that owns the case.
    pub cross_border: bool,
    /// The consent form it carries: a document of the case in one of the groups shared, so the
    /// receiving organisation reads it (`GET /api/v1/cases/{case}/documents/{id}/content`)
    /// while the referral is accepted or in service. Shown to those who read the reason.
    pub consent_form_id: Option<DocumentId>,
    /// Where it stands.
    pub state: ReferralState,
    /// Why it was declined.
    pub decline_reason: Option<DeclineReason>,
    /// Sent (UTC).
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// The answer is due by (UTC).
    pub respond_by: chrono::DateTime<chrono::Utc>,
    /// Waiting for an answer past its deadline.
    pub overdue: bool,
    /// Accepted or declined (UTC).
    pub answered_at: Option<chrono::DateTime<chrono::Utc>>,
    /// The service started (UTC).
    pub started_at: Option<chrono::DateTime<chrono::Utc>>,
    /// It ended (UTC).
    pub ended_at: Option<chrono::DateTime<chrono::Utc>>,
    /// Its timeline, oldest step first.
    pub timeline: Vec<StepView>,
}

/// A referral with everything its view and its policy facts need.
struct Loaded {
    referral: Referral,
    facts: ReferralFacts,
    from: Organisation,
    to: Organisation,
    case: tumaini_db::models::case::Case,
}

fn load(conn: &mut DbConn, id: &ReferralId) -> Result<Loaded, DbError> {
    let referral = Referral::find(conn, id)?;
    let (case, case_facts, _) = service::load_facts(conn, &referral.case_id)?;
    let from = Organisation::find(conn, &referral.from_organisation_id)?;
    let to = Organisation::find(conn, &referral.to_organisation_id)?;
    let facts = ReferralFacts {
        id: referral.id.to_string(),
        case: case_facts,
        from: OrganisationFacts::from(&from),
        to: OrganisationFacts::from(&to),
        state: referral.state.code().to_owned(),
        groups: policy_groups(&referral.groups),
    };
    Ok(Loaded {
        referral,
        facts,
        from,
        to,
        case,
    })
}

/// [`load`] for a page of referrals already read, in a fixed number of queries whatever the
/// page's length: their cases' policy facts together, their parties together. In the order
/// of `referrals`; a referral whose case or party is missing fails the page as [`load`]
/// fails (`NotFound`).
fn load_page(conn: &mut DbConn, referrals: Vec<Referral>) -> Result<Vec<Loaded>, DbError> {
    let mut case_ids: Vec<CaseId> = referrals.iter().map(|r| r.case_id.clone()).collect();
    case_ids.sort();
    case_ids.dedup();
    let cases = service::load_facts_many(conn, &case_ids)?;
    let parties = Referral::parties(conn, &referrals)?;
    referrals
        .into_iter()
        .map(|referral| {
            let (case, case_facts, _) = cases.get(&referral.case_id).ok_or(DbError::NotFound)?;
            let from = parties
                .get(&referral.from_organisation_id)
                .ok_or(DbError::NotFound)?;
            let to = parties
                .get(&referral.to_organisation_id)
                .ok_or(DbError::NotFound)?;
            let facts = ReferralFacts {
                id: referral.id.to_string(),
                case: case_facts.clone(),
                from: OrganisationFacts::from(from),
                to: OrganisationFacts::from(to),
                state: referral.state.code().to_owned(),
                groups: policy_groups(&referral.groups),
            };
            Ok(Loaded {
                facts,
                from: from.clone(),
                to: to.clone(),
                case: case.clone(),
                referral,
            })
        })
        .collect()
}

/// The referral `id` with its case, as the policies see them (for lists outside this module:
/// "my work").
pub fn policy_facts(
    conn: &mut DbConn,
    id: &ReferralId,
) -> Result<(ReferralFacts, tumaini_db::models::case::Case), DbError> {
    let loaded = load(conn, id)?;
    Ok((loaded.facts, loaded.case))
}

fn policy_groups(groups: &[FieldGroup]) -> Vec<crate::authz::FieldGroup> {
    groups
        .iter()
        .filter_map(|g| crate::authz::FieldGroup::from_code(g.code()))
        .collect()
}

fn reason_place(id: &ReferralId) -> RecordPlace<'_> {
    RecordPlace {
        table: "referrals",
        column: "reason",
        row_id: id.as_str(),
    }
}

/// The view of a loaded referral; the reason is opened only `with_reason` (the policies let
/// the caller read it: [`Action::ReadReferralReason`]), and the caller audits that it was.
fn view(
    conn: &mut DbConn,
    state: &AppState,
    loaded: &Loaded,
    with_reason: bool,
    timeline: Vec<ReferralEvent>,
) -> Result<ReferralView, ApiError> {
    let r = &loaded.referral;
    let reason = if with_reason {
        reason_text(
            state
                .vault()?
                .open_record(conn, &r.case_id, reason_place(&r.id), &r.reason)
                .map_err(vault_error)?,
        )
    } else {
        None
    };
    Ok(view_of(loaded, with_reason, reason, timeline))
}

/// The reason as the view shows it: none once the case was erased.
fn reason_text(read: GroupRead) -> Option<String> {
    match read {
        GroupRead::Plain(plain) => Some(String::from_utf8_lossy(plain.expose()).into_owned()),
        GroupRead::Erased | GroupRead::Absent => None,
    }
}

/// The views of a page of loaded referrals, each `with_reason` as decided for it: the reasons
/// shown are opened together ([`tumaini_db::vault::Vault::open_records`], one query for their
/// cases' keys), and no other.
fn page_views(
    conn: &mut DbConn,
    state: &AppState,
    page: &[(Loaded, bool)],
    timelines: &mut HashMap<ReferralId, Vec<ReferralEvent>>,
) -> Result<Vec<ReferralView>, ApiError> {
    let sealed: Vec<(&CaseId, RecordPlace<'_>, &[u8])> = page
        .iter()
        .filter(|(_, with_reason)| *with_reason)
        .map(|(loaded, _)| {
            let r = &loaded.referral;
            (&r.case_id, reason_place(&r.id), r.reason.as_slice())
        })
        .collect();
    let mut reasons = if sealed.is_empty() {
        Vec::new()
    } else {
        state
            .vault()?
            .open_records(conn, &sealed)
            .map_err(vault_error)?
    }
    .into_iter();
    Ok(page
        .iter()
        .map(|(loaded, with_reason)| {
            let reason = if *with_reason {
                reasons.next().and_then(reason_text)
            } else {
                None
            };
            let timeline = timelines.remove(&loaded.referral.id).unwrap_or_default();
            view_of(loaded, *with_reason, reason, timeline)
        })
        .collect())
}

/// The view of a loaded referral whose reason, when the caller may read it, is already open.
fn view_of(
    loaded: &Loaded,
    with_reason: bool,
    reason: Option<String>,
    timeline: Vec<ReferralEvent>,
) -> ReferralView {
    let r = &loaded.referral;
    ReferralView {
        id: r.id.clone(),
        reference: r.reference.clone(),
        case_id: r.case_id.clone(),
        case_reference: loaded.case.reference.clone(),
        from: PartyView::from(&loaded.from),
        to: PartyView::from(&loaded.to),
        person: PersonView {
            child: loaded.case.is_child,
            sex: loaded.case.sex,
            age_band: loaded.case.age_band,
        },
        services: r.services.clone(),
        groups: r.groups.clone(),
        urgency: r.urgency,
        reason,
        cross_border: r.cross_border,
        // Shown with the reason, to the two organisations' readers of it only: to anyone else
        // the id of a document would tell that it exists.
        consent_form_id: r.consent_form_id.clone().filter(|_| with_reason),
        state: r.state,
        decline_reason: r.decline_reason,
        created_at: r.created_at.and_utc(),
        respond_by: r.respond_by.and_utc(),
        overdue: r.state == ReferralState::Sent && r.respond_by <= now_utc(),
        answered_at: r.answered_at.map(|t| t.and_utc()),
        started_at: r.started_at.map(|t| t.and_utc()),
        ended_at: r.ended_at.map(|t| t.and_utc()),
        timeline: timeline.into_iter().map(StepView::from).collect(),
    }
}

/// Records that the reason given for a referral of `case` was decrypted for the caller: an
/// event about the case (so it shows in "who accessed this case"), which the misuse alert
/// counts like any read of personal data.
fn record_reason_read(
    conn: &mut DbConn,
    context: &RequestContext,
    user: &User,
    case: &CaseId,
) -> Result<(), DbError> {
    service::record_case_event(
        conn,
        context,
        user,
        AuditAction::ReferralReasonRead,
        Outcome::Success,
        case,
        None,
        &[service::REFERRAL_REASON],
        "referral",
        false,
    )
}

/// The event [`record_reason_read`] appends, to write with others ([`Entry::write_all`]).
fn reason_read_entry(context: &RequestContext, user: &User, case: &CaseId) -> Entry {
    Entry::new(AuditAction::ReferralReasonRead, Outcome::Success)
        .in_request(context)
        .by(Some(user))
        .on("case", case)
        .groups(&[service::REFERRAL_REASON])
        .purpose("referral")
}

/// Appends a referral event: who, which step, which referral, the decision, the groups the
/// referral shares. Never a personal value.
#[expect(clippy::too_many_arguments, reason = "one audit event's fields")]
fn record_referral_event(
    conn: &mut DbConn,
    context: &RequestContext,
    user: &User,
    action: AuditAction,
    outcome: Outcome,
    referral: &ReferralId,
    decision: Option<&Decision>,
    groups: &[FieldGroup],
) -> Result<(), DbError> {
    let codes: Vec<&str> = groups.iter().map(|g| g.code()).collect();
    Entry::new(action, outcome)
        .in_request(context)
        .by(Some(user))
        .on("referral", referral)
        .decided(decision)
        .groups(&codes)
        .purpose("referral")
        .write(conn)
}

/// The consent form a referral carries, checked: a consent form of this case, in a group the
/// referral shares, that the sender may read. Any other document is "no such consent form"
/// alike, so that the answer tells nothing of documents the sender may not see.
fn attached_consent_form(
    conn: &mut tumaini_db::DbConn,
    access: &service::CaseAccess,
    input: &ReferralInput,
    relied_on: &tumaini_db::ids::ConsentId,
) -> Result<Option<DocumentId>, ApiError> {
    let Some(id) = &input.consent_form else {
        return Ok(None);
    };
    let none = || {
        ApiError::problem(
            ProblemType::InvalidBody,
            "`consent_form` names no consent form of this case that you may read",
        )
    };
    let document = match Document::find_in_case(conn, &access.case.id, id) {
        Ok(document) => document,
        Err(DbError::NotFound) => return Err(none()),
        Err(other) => return Err(other.into()),
    };
    let readable = crate::authz::FieldGroup::from_code(document.field_group.code())
        .is_some_and(|group| access.decide(group.read_action()).allowed);
    if document.kind != DocumentKind::ConsentForm || !readable {
        return Err(none());
    }
    if document.consent_id.as_ref() != Some(relied_on) {
        return Err(ApiError::problem(
            ProblemType::InvalidBody,
            "`consent_form` records another consent version than the one in force",
        ));
    }
    if !input.groups.contains(&document.field_group) {
        return Err(ApiError::problem(
            ProblemType::InvalidBody,
            format!(
                "`consent_form` is in the `{}` group, which the referral does not share",
                document.field_group.code()
            ),
        ));
    }
    Ok(Some(document.id))
}

/// A referral to send.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({
    "to_organisation_id": "019a8f5e-6c1d-7b2a-9d3e-4f5a6b7c8d9e",
    "services": ["shelter", "health"],
    "groups": ["identity", "health"],
    "urgency": "high",
    "reason": "Needs a safe place tonight and a medical check."
}))]
#[serde(deny_unknown_fields)]
pub struct ReferralInput {
    /// The receiving organisation (see the service directory).
    pub to_organisation_id: OrgId,
    /// The services asked for (at least one).
    pub services: Vec<ServiceType>,
    /// The personal field groups to share once accepted: no more than the services need and
    /// the consent in force allows. May be empty (the summary alone).
    #[serde(default)]
    pub groups: Vec<FieldGroup>,
    /// How soon an answer is needed; sets the response deadline.
    pub urgency: ReferralUrgency,
    /// Why (1 to 2000 characters; encrypted, shown only to the two organisations, and abroad
    /// only while the consent allows transfer abroad). Tied to no field group: write in it only
    /// what the person agreed to share with the receiver.
    pub reason: String,
    /// The consent form that records the person's agreement (a document of the case of kind
    /// `consent_form`, recording the consent version in force, in one of the `groups` shared,
    /// which the sender may read).
    #[serde(default)]
    pub consent_form: Option<DocumentId>,
}

/// The input checked: services and groups sorted and deduplicated, a reason of the right
/// length, no more groups than the services need.
pub fn checked(mut input: ReferralInput) -> Result<ReferralInput, ApiError> {
    input.services.sort();
    input.services.dedup();
    input.groups.sort();
    input.groups.dedup();
    if input.services.is_empty() {
        return Err(ApiError::problem(
            ProblemType::InvalidBody,
            "`services` names at least one service",
        ));
    }
    let reason = input.reason.trim();
    if reason.is_empty() || reason.chars().count() > MAX_REASON {
        return Err(ApiError::problem(
            ProblemType::InvalidBody,
            format!("`reason` must be 1 to {MAX_REASON} characters"),
        ));
    }
    input.reason = reason.to_owned();
    rules::check_groups(&input.services, &input.groups)
        .map_err(|r| ApiError::problem(ProblemType::InvalidBody, r.to_string()))?;
    Ok(input)
}

/// Refers a case to another organisation for named services. The consent in force must cover
/// referral to the receiving organisation's kind and every group shared (for a child, a
/// guardian's consent or a best-interest basis; abroad, consent to transfer abroad).
pub async fn create(
    state: &AppState,
    caller: Caller,
    case: CaseId,
    input: ReferralInput,
    idempotency: Option<Idempotency>,
) -> Result<Reply, ApiError> {
    let input = checked(input)?;
    let settings = std::sync::Arc::clone(&state.cases);
    let public_url = state.public_url.clone();
    let app = state.clone();
    let from = caller.organisation.clone();
    let sender = caller.user.id.clone();
    let request = CaseRequest {
        id: case,
        action: Action::CreateReferral,
        audited_as: AuditAction::ReferralCreate,
        purpose: "referral",
        idempotency,
    };
    service::act_on_case(state, &caller, request, move |conn, access| {
        if input.to_organisation_id == from.id {
            return Err(ApiError::problem(
                ProblemType::InvalidBody,
                "a referral goes to another organisation",
            ));
        }
        let to = match Organisation::find(conn, &input.to_organisation_id) {
            Ok(org) if org.active => org,
            Ok(_) | Err(DbError::NotFound) => {
                return Err(ApiError::problem(
                    ProblemType::InvalidBody,
                    "`to_organisation_id` names no active organisation",
                ));
            }
            Err(other) => return Err(other.into()),
        };
        lifecycle::accepts_records(access.case.status)
            .map_err(|r| ApiError::problem(ProblemType::TransitionRefused, r.to_string()))?;
        // Abroad is measured from the country that owns the case, not the referring
        // organisation's: a receiving organisation abroad, referring the person on within its
        // own country, is still taking the case out of its country.
        let abroad =
            (to.country.as_str() != access.facts.owner.country).then(|| to.country.to_string());
        let consent = rules::check_consent(
            access.consent_in_force(),
            &Sharing {
                child: access.case.is_child,
                to_kind: to.kind,
                abroad: abroad.as_deref(),
                groups: &input.groups,
            },
        )
        .map_err(|gap| ApiError::problem(ProblemType::ConsentRequired, gap.to_string()))?;
        let consent_form = attached_consent_form(conn, access, &input, &consent.id)?;
        if Referral::of_case(conn, &access.case.id)?
            .iter()
            .any(|r| r.to_organisation_id == to.id && r.state.is_open())
        {
            return Err(ApiError::problem(
                ProblemType::Conflict,
                "this case already has an open referral to that organisation",
            ));
        }
        let referral_id = ReferralId::generate();
        let reason = access
            .vault
            .seal_record(
                conn,
                &access.case.id,
                reason_place(&referral_id),
                &SecretBytes::new(input.reason.into_bytes()),
            )
            .map_err(vault_error)?;
        let now = now_utc();
        let respond_by = now
            + chrono::Duration::from_std(settings.referral_response(input.urgency))
                .unwrap_or(chrono::Duration::hours(72));
        let reference = reference::generate('R');
        let referral = Referral::insert(
            conn,
            &NewReferral {
                id: &referral_id,
                reference: &reference,
                case_id: &access.case.id,
                from: &from.id,
                to: &to.id,
                created_by: &sender,
                services: &input.services,
                groups: &input.groups,
                urgency: input.urgency,
                reason: &reason,
                consent_id: &consent.id,
                cross_border: abroad.is_some(),
                created_at: now,
                respond_by,
                consent_form: consent_form.as_ref(),
            },
        )?;
        tell_receiver(
            conn,
            &referral,
            "A referral arrived for your organisation",
            &public_url,
        )?;
        webhooks::referral_event(conn, &referral)?;
        let loaded = load(conn, &referral.id)?;
        let timeline = Referral::events(conn, std::slice::from_ref(&referral.id))?
            .remove(&referral.id)
            .unwrap_or_default();
        // The answer leaves the reason out: the sender has it, and an answer kept for a retry
        // (Idempotency-Key) then holds nothing a later decision (consent to transfer abroad
        // withdrawn, say) could have withheld; `GET /api/v1/referrals/{id}` reads it, audited.
        let body = view(conn, &app, &loaded, false, timeline)?;
        Ok(Reply::created(
            format!("/api/v1/referrals/{}", referral.id),
            serde_json::to_value(body).map_err(|e| ApiError::Internal(e.into()))?,
        ))
    })
    .await
}

/// The referrals of a case, as a timeline.
#[derive(Debug, Serialize, ToSchema)]
pub struct CaseReferrals {
    /// Oldest first, each with its own steps.
    pub items: Vec<ReferralView>,
}

/// A case's referrals and their timelines (whoever may see the case: the owning organisation
/// sees all of them, anyone else those their organisation is party to).
pub async fn of_case(state: &AppState, caller: Caller, case: CaseId) -> Result<Reply, ApiError> {
    let app = state.clone();
    let caller_org = caller.organisation.id.clone();
    let request = CaseRequest {
        id: case,
        action: Action::ReadSummary,
        audited_as: AuditAction::CaseReferralsRead,
        purpose: "case_management",
        idempotency: None,
    };
    service::act_on_case(state, &caller, request, move |conn, access| {
        let referrals = Referral::of_case(conn, &access.case.id)?;
        let ids: Vec<ReferralId> = referrals.iter().map(|r| r.id.clone()).collect();
        let mut timelines = Referral::events(conn, &ids)?;
        let owner = access.case.owner_organisation_id == caller_org;
        let mut shown = Vec::new();
        let mut reasons_read = false;
        for loaded in load_page(conn, referrals)? {
            let readable = access
                .decide_referral(Action::ReadReferral, &loaded.facts)
                .allowed;
            if !(owner || readable) {
                continue;
            }
            let with_reason = access
                .decide_referral(Action::ReadReferralReason, &loaded.facts)
                .allowed;
            reasons_read |= with_reason;
            shown.push((loaded, with_reason));
        }
        let items = page_views(conn, &app, &shown, &mut timelines)?;
        Ok(Reply::ok(json!({ "items": items })).reading_reasons(reasons_read))
    })
    .await
}

/// Every referral of the case of `access`, oldest first, with its timeline, for the person's
/// subject access export (its caller is a supervisor of the owning organisation, who sees all
/// of them): what each receiving organisation was sent, which groups and services, and when
/// each step happened. The reason is opened where the policies let the caller read it
/// ([`Action::ReadReferralReason`]); the second value says whether any was, for the audit event.
pub fn for_subject_access(
    conn: &mut DbConn,
    state: &AppState,
    access: &service::CaseAccess,
) -> Result<(Vec<ReferralView>, bool), ApiError> {
    let referrals = Referral::of_case(conn, &access.case.id)?;
    let ids: Vec<ReferralId> = referrals.iter().map(|r| r.id.clone()).collect();
    let mut timelines = Referral::events(conn, &ids)?;
    let mut shown = Vec::new();
    let mut reasons_read = false;
    for loaded in load_page(conn, referrals)? {
        let with_reason = access
            .decide_referral(Action::ReadReferralReason, &loaded.facts)
            .allowed;
        reasons_read |= with_reason;
        shown.push((loaded, with_reason));
    }
    Ok((
        page_views(conn, state, &shown, &mut timelines)?,
        reasons_read,
    ))
}

/// A side of an organisation's referrals.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    /// Referrals to your organisation.
    Inbox,
    /// Referrals from your organisation.
    Outbox,
}

/// A page of referrals.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReferralPage {
    /// Newest first.
    pub items: Vec<ReferralView>,
    /// Pass as `cursor` for the next page; absent on the last.
    pub next_cursor: Option<ReferralId>,
}

/// Which referrals to list, checked.
#[derive(Debug, Clone)]
pub struct MailboxPage {
    /// Inbox or outbox.
    pub side: Side,
    /// Only this state.
    pub state: Option<ReferralState>,
    /// After this referral.
    pub cursor: Option<ReferralId>,
    /// Page size (1 to [`MAX_PAGE`]).
    pub limit: i64,
}

/// An organisation's inbox or outbox of referrals, newest first: those the caller may read,
/// each reason decided on its own and its decryption audited against its case. A fixed number
/// of statements whatever the page's length (Discourse's and crates.io's one query per list
/// page): the page, its cases' facts, its parties, its timelines and the keys of the reasons
/// shown in one read transaction, then the events in one short write.
pub async fn mailbox(
    state: &AppState,
    caller: Caller,
    query: MailboxPage,
) -> Result<ReferralPage, ApiError> {
    let limit = query.limit;
    let side = match query.side {
        Side::Inbox => Mailbox::Inbox,
        Side::Outbox => Mailbox::Outbox,
    };
    let app = state.clone();
    let authz = std::sync::Arc::clone(&state.authz);
    let context = service::access_context(&state.cases, "referral");
    let principal = caller.principal();
    let Caller {
        user,
        organisation,
        context: request,
        ..
    } = caller;
    with_conn(&state.pool, move |conn| {
        // Read without the write lock; then one short write for the audit events.
        let (page, reasons_of) = conn.read_transaction(|conn| {
            let rows = Referral::mailbox(
                conn,
                &organisation.id,
                side,
                query.state,
                query.cursor.as_ref(),
                limit,
            )?;
            let full = rows.len() == usize::try_from(limit).unwrap_or(0);
            let next_cursor = if full {
                rows.last().map(|r| r.id.clone())
            } else {
                None
            };
            // The page's facts in a fixed number of queries, decided in memory.
            let mut shown = Vec::new();
            let mut reasons_of: Vec<CaseId> = Vec::new();
            for loaded in load_page(conn, rows)? {
                let resource = Resource::Referral(&loaded.facts);
                if !authz
                    .decide(&principal, Action::ReadReferral, &resource, &context)
                    .allowed
                {
                    continue;
                }
                // Each reason is decided on its own (a first responder's window, consent to
                // transfer abroad) and audited against its case below.
                let with_reason = authz
                    .decide(&principal, Action::ReadReferralReason, &resource, &context)
                    .allowed;
                if with_reason && !reasons_of.contains(&loaded.referral.case_id) {
                    reasons_of.push(loaded.referral.case_id.clone());
                }
                shown.push((loaded, with_reason));
            }
            let ids: Vec<ReferralId> = shown.iter().map(|(l, _)| l.referral.id.clone()).collect();
            let mut timelines = if ids.is_empty() {
                HashMap::new()
            } else {
                Referral::events(conn, &ids)?
            };
            let items = page_views(conn, &app, &shown, &mut timelines)?;
            Ok::<_, ApiError>((ReferralPage { items, next_cursor }, reasons_of))
        })?;
        // The page's event and one per case whose reason it opened, in one statement.
        let listed = match side {
            Mailbox::Inbox => AuditAction::ReferralInbox,
            Mailbox::Outbox => AuditAction::ReferralOutbox,
        };
        let mut events = vec![
            Entry::new(listed, Outcome::Success)
                .in_request(&request)
                .by(Some(&user))
                .on("organisation", &organisation.id),
        ];
        events.extend(
            reasons_of
                .iter()
                .map(|case| reason_read_entry(&request, &user, case)),
        );
        conn.write_transaction(|conn| Entry::write_all(events, conn))?;
        Ok(page)
    })
    .await
}

/// One receiving organisation's referral figures (no personal data).
#[derive(Debug, Serialize, ToSchema)]
pub struct OrganisationReferralFigures {
    /// The receiving organisation.
    pub organisation: PartyView,
    /// Referrals received.
    pub received: i64,
    /// Open now: waiting, accepted or in service.
    pub open: i64,
    /// Waiting for an answer past the deadline.
    pub overdue: i64,
    /// Accepted (ever, including those since started, completed or withdrawn).
    pub accepted: i64,
    /// Declined.
    pub declined: i64,
    /// Expired unanswered.
    pub expired: i64,
    /// Completed.
    pub completed: i64,
    /// Mean hours from sending to the answer (absent: none answered).
    pub mean_hours_to_answer: Option<f64>,
}

/// The national picture of referrals.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReferralOverview {
    /// When it was computed (UTC).
    pub at: chrono::DateTime<chrono::Utc>,
    /// One row per receiving organisation you may see (coordinators: all; a supervisor: their
    /// own), by name.
    pub organisations: Vec<OrganisationReferralFigures>,
}

/// Referral performance per receiving organisation: open, overdue, outcomes and the mean time
/// to answer. Coordinators see the referrals of their country's cases; a supervisor those their
/// organisation received.
pub async fn overview(state: &AppState, caller: Principal) -> Result<ReferralOverview, ApiError> {
    let own = OrganisationFacts::from(caller.organisation());
    let decision = authorize_principal(
        state,
        &caller,
        Action::ReadReferralOverview,
        &own,
        AuditAction::ReferralOverview,
        || ApiError::problem(ProblemType::Forbidden, "your role may not read statistics"),
    )
    .await?;
    // A coordinator (or a coordination office's client) sees the referrals of the cases owned
    // in their country, whichever organisation received them (at home or abroad); a supervisor
    // those their own organisation received.
    let jurisdiction = caller.national().then(|| caller.organisation().country);
    let own_organisation = caller.organisation().id.clone();
    let (actor, request) = (caller.owned_actor(), caller.context().clone());
    with_conn(&state.pool, move |conn| {
        let overview = conn.read_transaction(|conn| {
            let now = now_utc();
            let figures = Referral::figures(conn, now, jurisdiction.as_ref())?;
            let mut organisations = Vec::new();
            let mut names: HashMap<OrgId, Organisation> = HashMap::new();
            for org in Organisation::list(conn)? {
                names.insert(org.id.clone(), org);
            }
            for (org_id, f) in figures {
                let Some(org) = names.get(&org_id) else {
                    continue;
                };
                if jurisdiction.is_none() && org.id != own_organisation {
                    continue;
                }
                let count = |s: ReferralState| f.by_state.get(&s).copied().unwrap_or(0);
                use ReferralState as S;
                organisations.push(OrganisationReferralFigures {
                    organisation: PartyView::from(org),
                    received: f.by_state.values().sum(),
                    open: count(S::Sent) + count(S::Accepted) + count(S::InService),
                    overdue: f.overdue,
                    accepted: f.accepted,
                    declined: count(S::Declined),
                    expired: count(S::Expired),
                    completed: count(S::Completed),
                    mean_hours_to_answer: f.mean_answer_seconds.map(|s| (s / 36.0).round() / 100.0),
                });
            }
            organisations.sort_by(|a, b| a.organisation.name.cmp(&b.organisation.name));
            Ok::<_, ApiError>(ReferralOverview {
                at: now.and_utc(),
                organisations,
            })
        })?;
        conn.write_transaction(|conn| {
            crate::audit::record_decided_by(
                conn,
                &request,
                actor.as_actor(),
                crate::audit::Event {
                    action: AuditAction::ReferralOverview,
                    outcome: crate::audit::Outcome::Success,
                    resource: None,
                },
                &decision,
            )
        })?;
        Ok(overview)
    })
    .await
}

/// Why a referral is declined.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"reason": "no_capacity"}))]
#[serde(deny_unknown_fields)]
pub struct DeclineInput {
    /// The reason, from the `decline_reason` vocabulary.
    pub reason: DeclineReason,
}

const fn step_action(step: Option<Step>) -> Action {
    match step {
        None => Action::ReadReferral,
        Some(Step::Accept) => Action::AcceptReferral,
        Some(Step::Decline) => Action::DeclineReferral,
        Some(Step::Start) => Action::StartService,
        Some(Step::Complete) => Action::CompleteReferral,
        Some(Step::Withdraw) => Action::WithdrawReferral,
    }
}

const fn audited_as(step: Option<Step>) -> AuditAction {
    match step {
        None => AuditAction::ReferralRead,
        Some(Step::Accept) => AuditAction::ReferralAccept,
        Some(Step::Decline) => AuditAction::ReferralDecline,
        Some(Step::Start) => AuditAction::ReferralStart,
        Some(Step::Complete) => AuditAction::ReferralComplete,
        Some(Step::Withdraw) => AuditAction::ReferralWithdraw,
    }
}

/// Reads a referral (`step` none) or takes a step, after the policies allow it, in one write
/// transaction with its audit event and its notifications.
pub async fn act(
    state: &AppState,
    caller: Caller,
    id: ReferralId,
    step: Option<Step>,
    decline_reason: Option<DeclineReason>,
) -> Result<ReferralView, ApiError> {
    let app = state.clone();
    let authz = std::sync::Arc::clone(&state.authz);
    let context = service::access_context(&state.cases, "referral");
    let principal = caller.principal();
    let public_url = state.public_url.clone();
    let Caller {
        user,
        organisation,
        context: request,
        ..
    } = caller;
    let action = step_action(step);
    let audited = audited_as(step);
    with_conn(&state.pool, move |conn| {
        let audit = |conn: &mut DbConn, outcome: Outcome, decision: Option<&Decision>| {
            record_referral_event(conn, &request, &user, audited, outcome, &id, decision, &[])
        };
        guarded::run(conn, audit, guarded::no_replay, |conn| {
            let loaded = match load(conn, &id) {
                Ok(loaded) => loaded,
                Err(DbError::NotFound) => return Err(Failure::missing()),
                Err(other) => return Err(other.into()),
            };
            let resource = Resource::Referral(&loaded.facts);
            let decision = authz.decide(&principal, action, &resource, &context);
            if !decision.allowed {
                let visible = step.is_some()
                    && authz
                        .decide(&principal, Action::ReadReferral, &resource, &context)
                        .allowed;
                let from = loaded.referral.state;
                // A party whose step does not follow from the state hears why; anyone else
                // who may see the referral hears that their role may not.
                return Err(Failure::refused(decision, visible, || {
                    match step.map(|s| rules::next(from, s)) {
                        Some(Err(out_of_order)) => ApiError::problem(
                            ProblemType::TransitionRefused,
                            out_of_order.to_string(),
                        ),
                        _ => ApiError::problem(
                            ProblemType::Forbidden,
                            "your organisation or role may not take this step on this referral",
                        ),
                    }
                }));
            }
            let loaded = match step {
                None => loaded,
                Some(step) => take_step(
                    conn,
                    &loaded,
                    step,
                    Actor {
                        user: &user.id,
                        organisation: &organisation.id,
                    },
                    decline_reason,
                    &public_url,
                )?,
            };
            record_referral_event(
                conn,
                &request,
                &user,
                audited,
                Outcome::Success,
                &id,
                Some(&decision),
                &loaded.referral.groups,
            )?;
            let with_reason = authz
                .decide(
                    &principal,
                    Action::ReadReferralReason,
                    &Resource::Referral(&loaded.facts),
                    &context,
                )
                .allowed;
            if with_reason {
                record_reason_read(conn, &request, &user, &loaded.referral.case_id)?;
            }
            let timeline = Referral::events(conn, std::slice::from_ref(&id))?
                .remove(&id)
                .unwrap_or_default();
            Ok(view(conn, &app, &loaded, with_reason, timeline)?)
        })
    })
    .await
}

/// The steps the caller may take on referral `id` now, as the policies decide them (and, for an
/// answer, before the deadline): what a page offers, so that it never shows a button the
/// service would refuse. Asking takes no step and writes nothing; [`act`] decides again.
pub async fn allowed_steps(
    state: &AppState,
    caller: &Caller,
    id: ReferralId,
) -> Result<Vec<Step>, ApiError> {
    let authz = std::sync::Arc::clone(&state.authz);
    let context = service::access_context(&state.cases, "referral");
    let principal = caller.principal();
    with_conn(&state.pool, move |conn| {
        let loaded = load(conn, &id)?;
        let resource = Resource::Referral(&loaded.facts);
        let answerable = loaded.referral.respond_by > now_utc();
        Ok([
            Step::Accept,
            Step::Decline,
            Step::Start,
            Step::Complete,
            Step::Withdraw,
        ]
        .into_iter()
        .filter(|step| answerable || !matches!(step, Step::Accept | Step::Decline))
        .filter(|step| {
            authz
                .decide(&principal, step_action(Some(*step)), &resource, &context)
                .allowed
        })
        .collect())
    })
    .await
}

/// Moves a referral on by `step` (the policies allowed it), unless the step does not follow
/// from its state or its deadline passed, and tells the other party.
fn take_step(
    conn: &mut DbConn,
    loaded: &Loaded,
    step: Step,
    actor: Actor<'_>,
    decline_reason: Option<DeclineReason>,
    public_url: &str,
) -> Result<Loaded, ApiError> {
    let id = &loaded.referral.id;
    let from = loaded.referral.state;
    let to = rules::next(from, step)
        .map_err(|r| ApiError::problem(ProblemType::TransitionRefused, r.to_string()))?;
    let now = now_utc();
    if from == ReferralState::Sent
        && matches!(step, Step::Accept | Step::Decline)
        && loaded.referral.respond_by <= now
    {
        return Err(ApiError::problem(
            ProblemType::TransitionRefused,
            "the response deadline passed: the referral has expired; the referring organisation may send it again",
        ));
    }
    if step == Step::Accept {
        // The case's row first, as every change of the case takes it (an erasure, an
        // assignment), then the referral's: acceptance assigns the accepter.
        tumaini_db::models::case::Case::find_for_update(conn, &loaded.referral.case_id)?;
    }
    if !Referral::transition(conn, id, from, to, now, Some(actor), decline_reason)? {
        return Err(ApiError::problem(
            ProblemType::Conflict,
            "the referral changed at the same moment; read it again",
        ));
    }
    let moved = load(conn, id)?;
    if step == Step::Accept {
        // Whoever accepts works on the case for their organisation (its lead there if it has
        // none yet): inside an organisation on a need-to-know basis, they read what was shared.
        tumaini_db::models::assignment::ensure(
            conn,
            &moved.referral.case_id,
            actor.user,
            actor.organisation,
        )?;
    }
    if step == Step::Withdraw {
        tell_receiver(
            conn,
            &moved.referral,
            "A referral to your organisation was withdrawn",
            public_url,
        )?;
    } else {
        tell_sender(conn, &moved.referral, public_url)?;
    }
    // Accepted and declined are told to the referring organisation's endpoints.
    webhooks::referral_event(conn, &moved.referral)?;
    Ok(moved)
}

/// Expires an unanswered referral past its deadline and escalates it, unless another replica
/// did first (a conditional update): the coordinators of the country owning the case and the
/// referring organisation are told, once. Returns whether this call expired it.
pub fn expire_unanswered(
    conn: &mut DbConn,
    referral: &Referral,
    now: NaiveDateTime,
    public_url: &str,
    audit_events: &tumaini_db::audit_chain::EventKey,
) -> Result<bool, DbError> {
    conn.write_transaction(|conn| {
        if !Referral::transition(
            conn,
            &referral.id,
            ReferralState::Sent,
            ReferralState::Expired,
            now,
            None,
            None,
        )? {
            return Ok(false); // answered at the last moment, or another replica expired it
        }
        // The coordinators of the country that owns the case: theirs is the jurisdiction (a
        // coordinator abroad does not follow another country's cases, even one referred to an
        // organisation of theirs).
        let case = Case::find(conn, &referral.case_id)?;
        let owner = Organisation::find(conn, &case.owner_organisation_id)?;
        let coordinators =
            User::notification_recipients(conn, &[Role::Coordinator], None, Some(&owner.country))?;
        let coordinators = store::wanting(conn, coordinators, NotificationKind::ReferralOverdue)?;
        notify(
            conn,
            &coordinators,
            "A referral went unanswered",
            &format!(
                "Referral {} was not answered by its deadline and has expired.\n\nSign in to Tumaini to follow it up: {public_url}/referrals/{}\n",
                referral.reference, referral.id
            ),
        )?;
        let expired = Referral::find(conn, &referral.id)?;
        tell_sender(conn, &expired, public_url)?;
        webhooks::referral_event(conn, &expired)?;
        audit::record(
            conn,
            &RequestContext::system(audit_events),
            None,
            Event {
                action: AuditAction::ReferralExpired,
                outcome: Outcome::Success,
                resource: Some(("referral", referral.id.to_string())),
            },
        )?;
        Ok(true)
    })
}
