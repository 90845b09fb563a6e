//! The person's right of access (Uganda Data Protection and Privacy Act 2019 s.24, GDPR art.
//! 15): everything held about the person of one case, collected into one typed document
//! ([`SubjectAccessExport`]) for a supervisor of the organisation that owns the case to hand to
//! the person, as portable JSON or as a printable page ([`html::render`]).
//!
//! The export goes through the case service's guarded path (`super::act_on_case`): the policies
//! decide `ExportSubjectAccess` (a high-severity action) and its audit event, listing the groups
//! read and the purpose, is written in the same transaction as the reads. Each personal group,
//! and each record's sealed text, is read only where the policies let the caller read its
//! group, as for any read; what they refuse is marked withheld, never a failure. Nothing of
//! another person is included: possible duplicates show only the reference and status of the
//! other cases the caller may see, and nothing of the others.

pub mod html;

use std::collections::HashMap;
use std::sync::mpsc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tumaini_db::DbConn;
use tumaini_db::ids::{CaseId, OrgId, RecordId, UserId};
use tumaini_db::models::break_glass::BreakGlassGrant;
use tumaini_db::models::case_record::{
    Assistance, Decision, Note, Plan, RiskAssessment, Screening,
};
use tumaini_db::models::consent;
use tumaini_db::models::duplicate;
use tumaini_db::models::{Organisation, User};
use tumaini_db::time::now_utc;
use tumaini_db::vault::{GroupRead, RecordPlace, SecretBytes};
use tumaini_db::vocabulary::{self as vocab, DuplicateStatus, IdentificationDecision, Role};
use utoipa::ToSchema;

use super::assessments::ScreeningOutcome;
use super::documents::{AssistanceView, ConsentView, NoteView, PlanView, RiskView, ScreeningView};
use super::groups::{
    ContactGroup, ExploitationGroup, HealthGroup, IdentityGroup, LegalGroup, NotesGroup,
};
use super::views::CaseSummaryView;
use super::{CaseAccess, CaseRequest, Reply, record_case_event, vault_error};
use crate::audit::views::Accessor;
use crate::audit::{AuditAction, Outcome, queries};
use crate::auth::Caller;
use crate::authz::{Action, FieldGroup};
use crate::http::{ApiError, ProblemType};
use crate::referrals::{self, ReferralView};
use crate::rules::consent as consent_rules;
use crate::state::AppState;

/// The purpose recorded on the export's audit event.
pub const PURPOSE: &str = "subject_access";

/// The law the export answers.
pub const LEGAL_BASIS: &str = "The right of access of the person the data is about: Uganda \
Data Protection and Privacy Act 2019, section 24; EU General Data Protection Regulation, \
article 15.";

/// Why the export is made: it is made for one purpose only, the person's right of access.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SubjectAccessPurpose {
    /// The person asked for everything held about them.
    SubjectAccess,
}

impl SubjectAccessPurpose {
    /// The code recorded on the audit event.
    pub const fn code(self) -> &'static str {
        match self {
            Self::SubjectAccess => PURPOSE,
        }
    }
}

/// The form of the export.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ExportFormat {
    /// The portable JSON document ([`SubjectAccessExport`]).
    Json,
    /// A self-contained, printable HTML page of the same content.
    Html,
}

/// Who made the export, and when.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ExportMade {
    /// `tumaini.subject_access`.
    pub kind: String,
    /// The version of this document's shape.
    pub format_version: u32,
    /// The law it answers.
    pub legal_basis: String,
    /// When it was made (UTC).
    pub generated_at: DateTime<Utc>,
    /// The account that made it.
    pub generated_by: UserId,
    /// Its organisation (the organisation that owns the case).
    pub organisation_id: OrgId,
    /// The organisation's name.
    pub organisation_name: String,
}

/// The personal field groups, decrypted. A group is null when it was never recorded, withheld,
/// or erased: the lists below say which.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct PersonalData {
    /// Names, aliases, date of birth, documents, the guardian of a child.
    #[schema(value_type = Option<IdentityGroup>)]
    pub identity: Option<serde_json::Value>,
    /// Phones, addresses, current location, emergency contact.
    #[schema(value_type = Option<ContactGroup>)]
    pub contact: Option<serde_json::Value>,
    /// The person's account of exploitation.
    #[schema(value_type = Option<ExploitationGroup>)]
    pub exploitation: Option<serde_json::Value>,
    /// Health.
    #[schema(value_type = Option<HealthGroup>)]
    pub health: Option<serde_json::Value>,
    /// Immigration status, proceedings, witness status, compensation.
    #[schema(value_type = Option<LegalGroup>)]
    pub legal: Option<serde_json::Value>,
    /// The running summary note.
    #[schema(value_type = Option<NotesGroup>)]
    pub notes: Option<serde_json::Value>,
    /// Groups never recorded for this person.
    pub absent_groups: Vec<vocab::FieldGroup>,
    /// Groups the policies did not let the exporter read: withheld, not lost.
    pub withheld_groups: Vec<vocab::FieldGroup>,
    /// Groups erased: the case's keys were destroyed and the values are gone for good.
    pub erased_groups: Vec<vocab::FieldGroup>,
}

/// One version of the person's consent, with its sealed details.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ConsentExport {
    /// What was agreed: for what, which groups, with whom, given by whom and how, when;
    /// `withdrawal` marks a withdrawal.
    #[serde(flatten)]
    pub version: ConsentView,
    /// The member of staff who recorded it.
    pub recorded_by: UserId,
    /// Who the guardian is, the best-interest basis, the interpreter... (the `notes` group),
    /// when recorded and readable.
    pub details: Option<String>,
}

/// One screening for trafficking indicators.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ScreeningExport {
    /// The indicator results, with the answers (the `notes` group) when readable.
    #[serde(flatten)]
    pub screening: ScreeningView,
    /// Who screened.
    pub screened_by: UserId,
}

/// One identification decision of the competent authority.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DecisionExport {
    /// Its id.
    pub id: RecordId,
    /// The decision.
    pub decision: IdentificationDecision,
    /// The officer.
    pub decided_by: UserId,
    /// The officer's organisation.
    pub decided_by_organisation: OrgId,
    /// When.
    pub decided_at: DateTime<Utc>,
    /// The reasons (the `legal` group), when readable.
    pub reasons: Option<String>,
}

/// One break-glass opening: someone opened personal groups outside the normal rules.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BreakGlassExport {
    /// Its id.
    pub id: RecordId,
    /// Who opened them.
    pub user_id: UserId,
    /// Their organisation.
    pub organisation_id: Option<OrgId>,
    /// Their role.
    pub role: Option<Role>,
    /// The groups opened.
    pub groups: Vec<String>,
    /// When.
    pub opened_at: DateTime<Utc>,
    /// Until when.
    pub expires_at: DateTime<Utc>,
    /// Why, in the opener's words (the `notes` group), when readable.
    pub justification: Option<String>,
}

/// A possible duplicate: another case that may be the same person. Only cases the exporter may
/// see are listed, by reference and status; nothing of what they hold.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DuplicateLink {
    /// The other case's reference.
    pub reference: String,
    /// Open, linked (the same person) or dismissed.
    pub status: DuplicateStatus,
    /// When the match was found.
    pub found_at: DateTime<Utc>,
    /// When it was resolved.
    pub resolved_at: Option<DateTime<Utc>>,
}

/// One event of the audit trail about the case or one of its referrals: who acted on the
/// person's data, when, how, for which purpose. Never a value.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DisclosureEvent {
    /// The event's id in the audit trail.
    pub id: String,
    /// When (UTC).
    pub occurred_at: DateTime<Utc>,
    /// The action code, e.g. `case.read`.
    pub action: String,
    /// The action in words.
    pub action_label: Option<String>,
    /// `success`, `denied`, `failure`...
    pub outcome: String,
    /// The account that acted, when a person acted.
    pub actor_user_id: Option<String>,
    /// The machine client that acted, when one did.
    pub actor_client_id: Option<String>,
    /// The actor's organisation.
    pub actor_organisation_id: Option<String>,
    /// Its name.
    pub actor_organisation_name: Option<String>,
    /// The actor's role at the time.
    pub actor_role: Option<String>,
    /// `case`, or `referral` for a step of one of its referrals.
    pub resource_type: Option<String>,
    /// The case's or the referral's id.
    pub resource_id: Option<String>,
    /// The field groups read or written (`referral_reason`: the reason given for a referral).
    pub field_groups: Vec<String>,
    /// The purpose stated.
    pub purpose: Option<String>,
    /// `normal`, or `high` (break-glass, an export like this one).
    pub severity: String,
}

/// Who accessed the person's data: the audit trail of the case up to this export.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DisclosureLog {
    /// Each account (or machine client, or the system) that acted, summarised: the same
    /// summary as "who accessed this case" (`GET /api/v1/audit/cases/{id}/disclosures`).
    pub accessed_by: Vec<Accessor>,
    /// Every event about the case and its referrals, oldest first.
    pub events: Vec<DisclosureEvent>,
}

/// Everything held about the person of a case.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SubjectAccessExport {
    /// Who made the export, when, under which law.
    pub export: ExportMade,
    /// The case: coarse facts, its stage, status and deadlines.
    pub case: CaseSummaryView,
    /// When the case's personal data was erased, if it was (then every value is gone and shows
    /// as erased).
    pub erased_at: Option<DateTime<Utc>>,
    /// Processing of the case is restricted.
    pub restricted: bool,
    /// The personal field groups.
    pub personal_data: PersonalData,
    /// Every version of the person's consent, oldest first.
    pub consents: Vec<ConsentExport>,
    /// The consent version in force now, if any.
    pub consent_in_force_version: Option<i32>,
    /// Screenings for trafficking indicators, oldest first.
    pub screenings: Vec<ScreeningExport>,
    /// Identification decisions, oldest first.
    pub identification_decisions: Vec<DecisionExport>,
    /// Assistance given or planned.
    pub assistance: Vec<AssistanceView>,
    /// Case notes, oldest first.
    pub notes: Vec<NoteView>,
    /// Risk assessments, oldest first.
    pub risk_assessments: Vec<RiskView>,
    /// The individual assistance plan, if one was written.
    pub plan: Option<PlanView>,
    /// Break-glass openings, newest first.
    pub break_glass: Vec<BreakGlassExport>,
    /// Possible duplicates the exporter may see.
    pub possible_duplicates: Vec<DuplicateLink>,
    /// Referrals to other organisations: what each was sent (groups, services, reason) and
    /// when (sent, answered, started, ended, and the timeline of every step).
    pub referrals: Vec<ReferralView>,
    /// Documents of the groups the exporter may read: every version of each (name, type,
    /// caption, size, when); each version's content is downloaded from its `content` link.
    pub documents: Vec<crate::documents::DocumentView>,
    /// Who accessed the data, when and for which purpose.
    pub disclosures: DisclosureLog,
}

/// A sealed value opened: its plaintext, or why there is none.
enum Opened {
    Plain(SecretBytes),
    Erased,
    Absent,
}

impl Opened {
    fn text(self) -> Option<String> {
        match self {
            Self::Plain(plain) => Some(String::from_utf8_lossy(plain.expose()).into_owned()),
            Self::Erased | Self::Absent => None,
        }
    }

    fn json(self) -> Option<serde_json::Value> {
        match self {
            Self::Plain(plain) => serde_json::from_slice(plain.expose()).ok(),
            Self::Erased | Self::Absent => None,
        }
    }

    /// A JSON string sealed as JSON (consent details, decision reasons), as text.
    fn json_text(self) -> Option<String> {
        self.json().map(|value| match value {
            serde_json::Value::String(text) => text,
            other => other.to_string(),
        })
    }
}

/// What the export reads, with the groups the policies let the caller read.
struct Reader<'a> {
    access: &'a CaseAccess,
    readable: Vec<FieldGroup>,
}

impl Reader<'_> {
    fn may_read(&self, group: FieldGroup) -> bool {
        self.readable.contains(&group)
    }

    /// Opens a record's sealed value when the caller may read `group`.
    fn open(
        &self,
        conn: &mut DbConn,
        group: FieldGroup,
        place: RecordPlace<'_>,
        sealed: Option<&[u8]>,
    ) -> Result<Opened, ApiError> {
        let Some(sealed) = sealed.filter(|_| self.may_read(group)) else {
            return Ok(Opened::Absent);
        };
        Ok(
            match self
                .access
                .vault
                .open_record(conn, &self.access.case.id, place, sealed)
                .map_err(vault_error)?
            {
                GroupRead::Plain(plain) => Opened::Plain(plain),
                GroupRead::Erased => Opened::Erased,
                GroupRead::Absent => Opened::Absent,
            },
        )
    }
}

fn place<'a>(table: &'static str, column: &'static str, row_id: &'a str) -> RecordPlace<'a> {
    RecordPlace {
        table,
        column,
        row_id,
    }
}

/// Collects everything held about the person of case `id` for the caller: a supervisor of the
/// organisation that owns it. Anyone else is answered 404, as for a case that does not exist
/// (their refusal is audited).
pub async fn export(
    state: &AppState,
    caller: Caller,
    id: CaseId,
    purpose: SubjectAccessPurpose,
) -> Result<SubjectAccessExport, ApiError> {
    let app = state.clone();
    let made_by = (caller.user.id.clone(), caller.organisation.clone());
    let refused = (caller.context.clone(), caller.user.clone());
    let request = CaseRequest {
        id,
        action: Action::ExportSubjectAccess,
        audited_as: AuditAction::CaseSubjectAccess,
        purpose: purpose.code(),
        idempotency: None,
    };
    // The typed document leaves the transaction through this channel, sent once the work is
    // done; the reply only carries what the audit event lists. A document whose transaction
    // then fails to commit is never read.
    let (sender, receiver) = mpsc::channel();
    let answer = super::act_on_case(state, &caller, request, move |conn, access| {
        let readable: Vec<FieldGroup> = FieldGroup::ALL
            .into_iter()
            .filter(|g| access.decide(g.read_action()).allowed)
            .collect();
        let withheld: Vec<&str> = FieldGroup::ALL
            .into_iter()
            .filter(|g| !readable.contains(g))
            .map(FieldGroup::code)
            .collect();
        if !withheld.is_empty() {
            // The refused groups are a denial of their own, as in any read.
            let (context, user) = &refused;
            record_case_event(
                conn,
                context,
                user,
                AuditAction::CaseReadGroup,
                Outcome::Denied,
                &access.case.id,
                Some(&crate::authz::Decision::default_deny()),
                &withheld,
                purpose.code(),
                false,
            )?;
        }
        let reader = Reader { access, readable };
        let (referrals, reasons_read) = referrals::for_subject_access(conn, &app, access)?;
        let document = collect(conn, &reader, &made_by, referrals)?;
        // Nothing waits on the other end only if the request was abandoned.
        let _ = sender.send(document);
        Ok(Reply::ok(serde_json::Value::Null)
            .touching(reader.readable.clone())
            .reading_reasons(reasons_read))
    })
    .await;
    match answer {
        Ok(_) => receiver.try_iter().last().ok_or_else(|| {
            ApiError::Internal(anyhow::anyhow!(
                "the subject access export was not collected"
            ))
        }),
        // Only a supervisor of the owning organisation learns that there is an export to make:
        // staff who may see the case are answered as anyone else.
        Err(ApiError::Problem {
            kind: ProblemType::Forbidden,
            ..
        }) => Err(ApiError::bare(ProblemType::NotFound)),
        Err(other) => Err(other),
    }
}

/// Everything but the referrals (collected by the referral service), in the export's
/// transaction.
fn collect(
    conn: &mut DbConn,
    reader: &Reader<'_>,
    made_by: &(UserId, Organisation),
    referrals: Vec<ReferralView>,
) -> Result<SubjectAccessExport, ApiError> {
    let access = reader.access;
    let case = &access.case;
    let notes = FieldGroup::Notes;

    let history = consent::history(conn, &case.id)?;
    let consent_in_force_version =
        consent_rules::in_force(history.last(), now_utc()).map(|c| c.version);
    let mut consents = Vec::new();
    for version in &history {
        let details = reader
            .open(
                conn,
                notes,
                place("consents", "details", version.id.as_str()),
                version.details.as_deref(),
            )?
            .json_text();
        consents.push(ConsentExport {
            version: ConsentView::from(version),
            recorded_by: version.recorded_by.clone(),
            details,
        });
    }

    let mut screenings = Vec::new();
    for row in Screening::for_case(conn, &case.id)? {
        let answers = reader
            .open(
                conn,
                notes,
                place("screenings", "answers", row.id.as_str()),
                Some(&row.answers),
            )?
            .json();
        screenings.push(ScreeningExport {
            screening: ScreeningView {
                outcome: ScreeningOutcome::from(&row),
                answers,
            },
            screened_by: row.screened_by.clone(),
        });
    }

    let mut identification_decisions = Vec::new();
    for row in Decision::for_case(conn, &case.id)? {
        let reasons = reader
            .open(
                conn,
                FieldGroup::Legal,
                place("identification_decisions", "reasons", row.id.as_str()),
                Some(&row.reasons),
            )?
            .json_text();
        identification_decisions.push(DecisionExport {
            id: row.id,
            decision: row.decision,
            decided_by: row.decided_by,
            decided_by_organisation: row.decided_by_organisation,
            decided_at: row.decided_at.and_utc(),
            reasons,
        });
    }

    let mut assistance = Vec::new();
    for row in Assistance::for_case(conn, &case.id)? {
        let details = reader
            .open(
                conn,
                notes,
                place("assistance_records", "details", row.id.as_str()),
                row.details.as_deref(),
            )?
            .text();
        assistance.push(AssistanceView::of(&row, details));
    }

    let mut case_notes = Vec::new();
    for row in Note::for_case(conn, &case.id)? {
        let text = reader
            .open(
                conn,
                notes,
                place("case_notes", "body", row.id.as_str()),
                Some(&row.body),
            )?
            .text();
        case_notes.push(NoteView::of(&row, text));
    }

    let mut risk_assessments = Vec::new();
    for row in RiskAssessment::for_case(conn, &case.id)? {
        let details = reader
            .open(
                conn,
                notes,
                place("risk_assessments", "details", row.id.as_str()),
                row.details.as_deref(),
            )?
            .json();
        risk_assessments.push(RiskView::of(&row, details));
    }

    let plan = match Plan::find(conn, &case.id)? {
        Some(row) => {
            let content = reader
                .open(
                    conn,
                    notes,
                    place("assistance_plans", "content", case.id.as_str()),
                    Some(&row.content),
                )?
                .json();
            Some(PlanView::of(&row, content))
        }
        None => None,
    };

    let mut break_glass = Vec::new();
    for grant in BreakGlassGrant::for_case(conn, &case.id)? {
        let opener = match User::find(conn, &grant.user_id) {
            Ok(user) => Some(user),
            Err(tumaini_db::DbError::NotFound) => None,
            Err(other) => return Err(other.into()),
        };
        let justification = reader
            .open(
                conn,
                notes,
                place("break_glass_grants", "justification", grant.id.as_str()),
                Some(&grant.justification),
            )?
            .text();
        break_glass.push(BreakGlassExport {
            id: grant.id.clone(),
            user_id: grant.user_id.clone(),
            organisation_id: opener.as_ref().map(|u| u.organisation_id.clone()),
            role: opener.as_ref().map(|u| u.role),
            groups: grant
                .field_groups
                .split(',')
                .filter(|g| !g.is_empty())
                .map(str::to_owned)
                .collect(),
            opened_at: grant.opened_at.and_utc(),
            expires_at: grant.expires_at.and_utc(),
            justification,
        });
    }

    let mut possible_duplicates = Vec::new();
    for pair in duplicate::involving(conn, &case.id)? {
        let other = if pair.case_id == case.id {
            &pair.other_case_id
        } else {
            &pair.case_id
        };
        let (other_case, facts, _) = super::load_facts(conn, other)?;
        if access.decide_on(Action::ReadSummary, &facts).allowed {
            possible_duplicates.push(DuplicateLink {
                reference: other_case.reference,
                status: pair.status,
                found_at: pair.found_at.and_utc(),
                resolved_at: pair.resolved_at.map(|t| t.and_utc()),
            });
        }
    }

    let personal_data = personal_data(conn, reader)?;
    let referral_ids: Vec<String> = referrals.iter().map(|r| r.id.to_string()).collect();
    let disclosures = disclosure_log(conn, &case.id, &referral_ids)?;
    let (user_id, organisation) = made_by;
    Ok(SubjectAccessExport {
        export: ExportMade {
            kind: "tumaini.subject_access".to_owned(),
            format_version: 1,
            legal_basis: LEGAL_BASIS.to_owned(),
            generated_at: now_utc().and_utc(),
            generated_by: user_id.clone(),
            organisation_id: organisation.id.clone(),
            organisation_name: organisation.name.clone(),
        },
        case: CaseSummaryView::load(conn, case)?,
        erased_at: case.erased_at.map(|t| t.and_utc()),
        restricted: case.restricted_at.is_some(),
        personal_data,
        consents,
        consent_in_force_version,
        screenings,
        identification_decisions,
        assistance,
        notes: case_notes,
        risk_assessments,
        plan,
        break_glass,
        possible_duplicates,
        referrals,
        documents: crate::documents::for_subject_access(conn, access, &reader.readable)?,
        disclosures,
    })
}

/// The six personal groups, each decrypted where the policies let the caller read it.
fn personal_data(conn: &mut DbConn, reader: &Reader<'_>) -> Result<PersonalData, ApiError> {
    let access = reader.access;
    let mut data = PersonalData::default();
    for group in FieldGroup::ALL {
        let stored = vocab::FieldGroup::ALL
            .iter()
            .copied()
            .find(|g| g.code() == group.code())
            .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("unknown group")))?;
        if !reader.may_read(group) {
            data.withheld_groups.push(stored);
            continue;
        }
        let value = match access
            .vault
            .read_group(conn, &access.case.id, stored)
            .map_err(vault_error)?
        {
            GroupRead::Plain(plain) => super::groups::to_json(&plain)?,
            GroupRead::Absent => {
                data.absent_groups.push(stored);
                continue;
            }
            GroupRead::Erased => {
                data.erased_groups.push(stored);
                continue;
            }
        };
        let slot = match group {
            FieldGroup::Identity => &mut data.identity,
            FieldGroup::Contact => &mut data.contact,
            FieldGroup::Exploitation => &mut data.exploitation,
            FieldGroup::Health => &mut data.health,
            FieldGroup::Legal => &mut data.legal,
            FieldGroup::Notes => &mut data.notes,
        };
        *slot = Some(value);
    }
    Ok(data)
}

/// The audit trail of the case and its referrals, as "who accessed this case" builds it, with
/// every event listed.
fn disclosure_log(
    conn: &mut DbConn,
    case: &CaseId,
    referrals: &[String],
) -> Result<DisclosureLog, ApiError> {
    let trail = queries::case_trail(conn, case, referrals)?;
    let mut names: HashMap<String, Option<String>> = HashMap::new();
    let mut events = Vec::with_capacity(trail.len());
    for e in &trail {
        let organisation_name = match &e.actor_organisation_id {
            Some(id) => {
                if !names.contains_key(id) {
                    let name = match id.parse::<OrgId>().map(|id| Organisation::find(conn, &id)) {
                        Ok(Ok(org)) => Some(org.name),
                        Err(_) | Ok(Err(tumaini_db::DbError::NotFound)) => None,
                        Ok(Err(other)) => return Err(other.into()),
                    };
                    names.insert(id.clone(), name);
                }
                names.get(id).cloned().flatten()
            }
            None => None,
        };
        events.push(DisclosureEvent {
            id: e.id.to_string(),
            occurred_at: e.occurred_at.and_utc(),
            action: e.action.clone(),
            action_label: e
                .action
                .parse::<AuditAction>()
                .ok()
                .map(|a| a.label().to_owned()),
            outcome: e.outcome.clone(),
            actor_user_id: e.actor_user_id.clone(),
            actor_client_id: e.actor_client_id.clone(),
            actor_organisation_id: e.actor_organisation_id.clone(),
            actor_organisation_name: organisation_name,
            actor_role: e.actor_role.clone(),
            resource_type: e.resource_type.clone(),
            resource_id: e.resource_id.clone(),
            field_groups: e
                .field_groups
                .split(',')
                .filter(|g| !g.is_empty())
                .map(str::to_owned)
                .collect(),
            purpose: e.purpose.clone(),
            severity: e.severity.clone(),
        });
    }
    Ok(DisclosureLog {
        accessed_by: queries::accessors(&trail),
        events,
    })
}
