//! What the case sub-endpoints answer, as typed documents: the same shapes the OpenAPI
//! document describes, so that a generated client reads them as they are sent. Times are UTC
//! with an explicit offset; dates are calendar dates.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use serde::Serialize;
use tumaini_db::ids::{CaseId, ConsentId, NotificationId, OrgId, RecordId, UserId};
use tumaini_db::models::anonymous::AnonymousNotification;
use tumaini_db::models::case_record::{Assistance, Note, Plan, RiskAssessment};
use tumaini_db::models::consent::Consent;
use tumaini_db::models::duplicate::PossibleDuplicate;
use tumaini_db::vocabulary::{
    AgeBand, AssistanceStatus, ConsentGiver, ConsentMethod, ConsentPurpose, ConsentRecipient,
    DuplicateStatus, ExploitationType, FieldGroup, IdentificationStage, RiskLevel, ServiceType,
    Sex,
};
use utoipa::ToSchema;

use super::assessments::ScreeningOutcome;

/// A stored time as UTC with its offset.
fn utc(at: NaiveDateTime) -> DateTime<Utc> {
    at.and_utc()
}

/// The body of a `Reply`: the document as JSON.
pub fn as_body<T: Serialize>(document: &T) -> serde_json::Value {
    serde_json::json!(document)
}

/// A record just written.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RecordCreated {
    /// Its id.
    pub id: RecordId,
}

/// One assistance record.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AssistanceView {
    /// Its id.
    pub id: RecordId,
    /// The service.
    pub service_type: ServiceType,
    /// Planned, in progress, completed, ...
    pub status: AssistanceStatus,
    /// When it was given (or is planned).
    pub provided_on: NaiveDate,
    /// The organisation that gives it.
    pub provider_organisation_id: OrgId,
    /// When it was recorded.
    pub recorded_at: DateTime<Utc>,
    /// Free-text details (the `notes` group), when you may read them.
    pub details: Option<String>,
}

impl AssistanceView {
    /// The view of `record`, with `details` when readable.
    pub fn of(record: &Assistance, details: Option<String>) -> Self {
        Self {
            id: record.id.clone(),
            service_type: record.service_type,
            status: record.status,
            provided_on: record.provided_on,
            provider_organisation_id: record.provider_organisation_id.clone(),
            recorded_at: utc(record.recorded_at),
            details,
        }
    }
}

/// A case's assistance records.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AssistanceList {
    /// The records, oldest first.
    pub items: Vec<AssistanceView>,
    /// Whether the details were withheld (you may not read the `notes` group).
    pub details_withheld: bool,
}

/// One case note.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct NoteView {
    /// Its id.
    pub id: RecordId,
    /// Its author.
    pub written_by: UserId,
    /// When it was written.
    pub written_at: DateTime<Utc>,
    /// The text, or null when the case's keys were erased.
    pub text: Option<String>,
}

impl NoteView {
    /// The view of `note`, whose opened text is `text`.
    pub fn of(note: &Note, text: Option<String>) -> Self {
        Self {
            id: note.id.clone(),
            written_by: note.written_by.clone(),
            written_at: utc(note.written_at),
            text,
        }
    }
}

/// A case's notes.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct NoteList {
    /// The notes, oldest first.
    pub items: Vec<NoteView>,
}

/// A consent version just recorded.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ConsentRecorded {
    /// Its id.
    pub id: ConsentId,
    /// Its version (1 for the first).
    pub version: i32,
}

/// One version of a case's consent.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ConsentView {
    /// Its id.
    pub id: ConsentId,
    /// Its version.
    pub version: i32,
    /// Whether this version withdraws consent.
    pub withdrawal: bool,
    /// Who gave it: the person, a parent or guardian, ...
    pub given_by: ConsentGiver,
    /// How: written, oral with a witness, ...
    pub method: ConsentMethod,
    /// What for.
    pub purposes: Vec<ConsentPurpose>,
    /// The field groups it covers.
    pub groups: Vec<FieldGroup>,
    /// To whom they may go.
    pub recipients: Vec<ConsentRecipient>,
    /// When it was given.
    pub given_at: DateTime<Utc>,
    /// Until when it holds, if limited.
    pub valid_until: Option<DateTime<Utc>>,
    /// When it was recorded.
    pub recorded_at: DateTime<Utc>,
}

impl From<&Consent> for ConsentView {
    fn from(c: &Consent) -> Self {
        Self {
            id: c.id.clone(),
            version: c.version,
            withdrawal: c.withdrawal,
            given_by: c.given_by,
            method: c.method,
            purposes: c.purposes.clone(),
            groups: c.groups.clone(),
            recipients: c.recipients.clone(),
            given_at: utc(c.given_at),
            valid_until: c.valid_until.map(utc),
            recorded_at: utc(c.recorded_at),
        }
    }
}

/// A case's consent history.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ConsentHistory {
    /// Every version, oldest first.
    pub items: Vec<ConsentView>,
    /// The version in force now, if any.
    pub in_force_version: Option<i32>,
}

/// A screening just recorded, and the case's identification stage after it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ScreeningRecorded {
    /// The screening's outcome.
    #[serde(flatten)]
    pub outcome: ScreeningOutcome,
    /// The case's identification stage now.
    pub identification_stage: IdentificationStage,
}

/// One screening, with its answers when you may read them.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ScreeningView {
    /// The screening's outcome.
    #[serde(flatten)]
    pub outcome: ScreeningOutcome,
    /// The indicators found, notes and any override reason (the `notes` group), when you may
    /// read them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub answers: Option<serde_json::Value>,
}

/// A case's screenings.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ScreeningList {
    /// The screenings, oldest first.
    pub items: Vec<ScreeningView>,
    /// Whether the answers were withheld (you may not read the `notes` group).
    pub answers_withheld: bool,
}

/// A risk assessment just recorded.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RiskRecorded {
    /// Its id.
    pub id: RecordId,
    /// When it is to be reviewed.
    pub review_on: NaiveDate,
}

/// One risk assessment.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RiskView {
    /// Its id.
    pub id: RecordId,
    /// Risk to the person.
    pub individual: RiskLevel,
    /// Risk to their household.
    pub household: RiskLevel,
    /// Risk in their community.
    pub community: RiskLevel,
    /// When it is to be reviewed.
    pub review_on: NaiveDate,
    /// Who assessed it.
    pub assessed_by: UserId,
    /// When.
    pub assessed_at: DateTime<Utc>,
    /// The details (the `notes` group), when you may read them.
    pub details: Option<serde_json::Value>,
}

impl RiskView {
    /// The view of `row`, with `details` when readable.
    pub fn of(row: &RiskAssessment, details: Option<serde_json::Value>) -> Self {
        Self {
            id: row.id.clone(),
            individual: row.individual,
            household: row.household,
            community: row.community,
            review_on: row.review_on,
            assessed_by: row.assessed_by.clone(),
            assessed_at: utc(row.assessed_at),
            details,
        }
    }
}

/// A case's risk assessments.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RiskList {
    /// The assessments, oldest first.
    pub items: Vec<RiskView>,
    /// Whether the details were withheld (you may not read the `notes` group).
    pub details_withheld: bool,
}

/// A case's individual assistance plan.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PlanView {
    /// Its version (send it as `If-Match` to change the plan).
    pub version: i32,
    /// When it is to be reviewed.
    pub review_on: NaiveDate,
    /// Who last changed it.
    pub updated_by: UserId,
    /// When.
    pub updated_at: DateTime<Utc>,
    /// The goals and whether they were agreed with the person; null when erased.
    pub plan: Option<serde_json::Value>,
    /// Whether the case's keys were erased.
    pub erased: bool,
}

impl PlanView {
    /// The view of `plan`, whose opened content is `content`.
    pub fn of(plan: &Plan, content: Option<serde_json::Value>) -> Self {
        Self {
            version: plan.version,
            review_on: plan.review_on,
            updated_by: plan.updated_by.clone(),
            updated_at: utc(plan.updated_at),
            erased: content.is_none(),
            plan: content,
        }
    }
}

/// A plan just saved.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PlanSaved {
    /// Its new version.
    pub version: i32,
    /// When it is to be reviewed.
    pub review_on: NaiveDate,
}

/// A break-glass opening just granted.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BreakGlassGranted {
    /// The grant's id.
    pub id: String,
    /// The case.
    pub case_id: CaseId,
    /// The field groups it opens.
    pub groups: Vec<String>,
    /// When it closes by itself.
    pub expires_at: DateTime<Utc>,
}

/// A possible duplicate of a case, that you may see.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DuplicateView {
    /// The other case.
    pub case_id: CaseId,
    /// Its reference.
    pub reference: String,
    /// Open, linked or dismissed.
    pub status: DuplicateStatus,
    /// When the match was found.
    pub found_at: DateTime<Utc>,
    /// When it was resolved.
    pub resolved_at: Option<DateTime<Utc>>,
}

impl DuplicateView {
    /// The view of `pair`, seen from the other case `other` (whose reference is `reference`).
    pub fn of(pair: &PossibleDuplicate, other: CaseId, reference: String) -> Self {
        Self {
            case_id: other,
            reference,
            status: pair.status,
            found_at: utc(pair.found_at),
            resolved_at: pair.resolved_at.map(utc),
        }
    }
}

/// A case's possible duplicates.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DuplicateList {
    /// The pairs, as you may see them.
    pub items: Vec<DuplicateView>,
}

/// A possible duplicate just resolved.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DuplicateResolved {
    /// The case.
    pub case_id: CaseId,
    /// The other case.
    pub other_case_id: CaseId,
    /// Linked (the same person) or dismissed.
    pub status: DuplicateStatus,
}

/// An anonymous notification just recorded.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct NotificationCreated {
    /// Its id.
    pub id: NotificationId,
    /// Its reference.
    pub reference: String,
}

/// One anonymous notification: no personal data.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct NotificationView {
    /// Its id.
    pub id: NotificationId,
    /// Its reference.
    pub reference: String,
    /// The organisation that recorded it.
    pub organisation_id: OrgId,
    /// When.
    pub reported_at: DateTime<Utc>,
    /// The person's sex.
    pub sex: Sex,
    /// Their age band.
    pub age_band: AgeBand,
    /// Their citizenship (ISO 3166-1 alpha-2).
    pub citizenship: Option<tumaini_db::country::CountryCode>,
    /// Where they were exploited.
    pub exploitation_country: Option<tumaini_db::country::CountryCode>,
    /// The region code, if given.
    pub region: Option<String>,
    /// When they were encountered.
    pub encountered_on: NaiveDate,
    /// The forms of exploitation.
    pub exploitation_types: Vec<ExploitationType>,
}

impl NotificationView {
    /// The view of `n`, with its forms of exploitation.
    pub fn of(n: AnonymousNotification, kinds: Vec<ExploitationType>) -> Self {
        Self {
            id: n.id,
            reference: n.reference,
            organisation_id: n.organisation_id,
            reported_at: utc(n.reported_at),
            sex: n.sex,
            age_band: n.age_band,
            citizenship: n.citizenship,
            exploitation_country: n.exploitation_country,
            region: Some(n.region).filter(|r| !r.is_empty()),
            encountered_on: n.encountered_on,
            exploitation_types: kinds,
        }
    }
}

/// Anonymous notifications.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct NotificationList {
    /// The newest first.
    pub items: Vec<NotificationView>,
}
