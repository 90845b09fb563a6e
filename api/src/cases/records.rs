//! Assistance records and case notes, run through the case service's guarded path
//! (`super::act_on_case`). Assistance is never blocked by the identification stage; an open
//! case becomes active with its first assistance record.

use chrono::NaiveDate;
use serde::Deserialize;
use serde_json::json;
use tumaini_db::ids::{CaseId, OrgId, RecordId};
use tumaini_db::models::case::{Case, CaseChanges};
use tumaini_db::models::case_record::{Assistance, Note};
use tumaini_db::time::now_utc;
use tumaini_db::vault::{GroupRead, RecordPlace, SecretBytes};
use tumaini_db::vocabulary::{AssistanceStatus, CaseStatus, ServiceType};
use utoipa::ToSchema;

use crate::audit::AuditAction;
use crate::auth::Caller;
use crate::authz::{Action, FieldGroup};
use crate::cases::Idempotency;
use crate::cases::documents::{
    AssistanceList, AssistanceView, NoteList, NoteView, RecordCreated, as_body,
};
use crate::cases::vault_error;
use crate::cases::{self as service, CaseRequest, Reply};
use crate::http::{ApiError, ProblemType};
use crate::rules::lifecycle;
use crate::state::AppState;

/// Assistance given or planned.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"service_type": "shelter", "status": "in_progress", "provided_on": "2026-11-21", "details": "a bed at the shelter"}))]
#[serde(deny_unknown_fields)]
pub struct AssistanceInput {
    /// The service.
    pub service_type: ServiceType,
    /// Its state.
    pub status: AssistanceStatus,
    /// The date.
    pub provided_on: NaiveDate,
    /// The provider (default: your organisation).
    pub provider_organisation_id: Option<OrgId>,
    /// Details (encrypted, `notes` group).
    pub details: Option<String>,
}

fn open_text(
    access: &service::CaseAccess,
    conn: &mut tumaini_db::DbConn,
    place: RecordPlace<'_>,
    sealed: &[u8],
) -> Result<Option<String>, ApiError> {
    match access
        .vault
        .open_record(conn, &access.case.id, place, sealed)
        .map_err(vault_error)?
    {
        GroupRead::Plain(plain) => Ok(Some(String::from_utf8_lossy(plain.expose()).into_owned())),
        GroupRead::Erased | GroupRead::Absent => Ok(None),
    }
}

/// A case note.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"text": "Settled in well; asked to call her sister."}))]
#[serde(deny_unknown_fields)]
pub struct NoteInput {
    /// The text (encrypted, `notes` group).
    pub text: String,
}

/// Record assistance for a case.
pub async fn record_assistance(
    state: &AppState,
    caller: Caller,
    id: CaseId,
    idempotency: Option<Idempotency>,
    input: AssistanceInput,
) -> Result<Reply, ApiError> {
    let (user_id, own_org) = (caller.user.id.clone(), caller.organisation.id.clone());
    let request = CaseRequest {
        id,
        action: Action::RecordAssistance,
        audited_as: AuditAction::CaseAssistanceRecord,
        purpose: "assistance",
        idempotency,
    };
    service::act_on_case(state, &caller, request, move |conn, access| {
        lifecycle::accepts_records(access.case.status)
            .map_err(|r| ApiError::problem(ProblemType::TransitionRefused, r.to_string()))?;
        let record_id = RecordId::generate();
        let details = input
            .details
            .as_ref()
            .map(|text| {
                crate::cases::groups::check_text(&json!(text), "details")?;
                access
                    .vault
                    .seal_record(
                        conn,
                        &access.case.id,
                        RecordPlace {
                            table: "assistance_records",
                            column: "details",
                            row_id: record_id.as_str(),
                        },
                        &SecretBytes::new(text.clone().into_bytes()),
                    )
                    .map_err(vault_error)
            })
            .transpose()?;
        Assistance {
            id: record_id.clone(),
            case_id: access.case.id.clone(),
            service_type: input.service_type,
            provider_organisation_id: input.provider_organisation_id.unwrap_or(own_org),
            status: input.status,
            provided_on: input.provided_on,
            recorded_by: user_id,
            recorded_at: now_utc(),
            details,
        }
        .insert(conn)?;
        if access.case.status == CaseStatus::Open {
            Case::apply(
                conn,
                &access.case.id,
                access.case.version,
                &CaseChanges {
                    status: Some(CaseStatus::Active),
                    ..CaseChanges::default()
                },
            )?;
        }
        let touched = if input.details.is_some() {
            vec![FieldGroup::Notes]
        } else {
            Vec::new()
        };
        Ok(Reply::created(
            format!("/api/v1/cases/{}/assistance", access.case.id),
            as_body(&RecordCreated { id: record_id }),
        )
        .touching(touched))
    })
    .await
}

/// The case's assistance records; details only for callers who may read the `notes` group.
pub async fn list_assistance(
    state: &AppState,
    caller: Caller,
    id: CaseId,
) -> Result<Reply, ApiError> {
    let request = CaseRequest {
        id,
        action: Action::ReadSummary,
        audited_as: AuditAction::CaseAssistanceRead,
        purpose: "assistance",
        idempotency: None,
    };
    service::act_on_case(state, &caller, request, move |conn, access| {
        let with_details = access.decide(Action::ReadNotes).allowed;
        let mut items = Vec::new();
        for record in Assistance::for_case(conn, &access.case.id)? {
            let details = match (&record.details, with_details) {
                (Some(sealed), true) => open_text(
                    access,
                    conn,
                    RecordPlace {
                        table: "assistance_records",
                        column: "details",
                        row_id: record.id.as_str(),
                    },
                    sealed,
                )?,
                _ => None,
            };
            items.push(AssistanceView::of(&record, details));
        }
        let touched = if with_details {
            vec![FieldGroup::Notes]
        } else {
            Vec::new()
        };
        let list = AssistanceList {
            items,
            details_withheld: !with_details,
        };
        Ok(Reply::ok(as_body(&list)).touching(touched))
    })
    .await
}

/// Write a case note.
pub async fn write_note(
    state: &AppState,
    caller: Caller,
    id: CaseId,
    idempotency: Option<Idempotency>,
    input: NoteInput,
) -> Result<Reply, ApiError> {
    crate::cases::groups::check_text(&json!(input.text), "text")?;
    if input.text.trim().is_empty() {
        return Err(ApiError::problem(
            ProblemType::InvalidBody,
            "`text` is empty",
        ));
    }
    let user_id = caller.user.id.clone();
    let request = CaseRequest {
        id,
        action: Action::RecordAssistance,
        audited_as: AuditAction::CaseNoteWrite,
        purpose: "case_management",
        idempotency,
    };
    service::act_on_case(state, &caller, request, move |conn, access| {
        lifecycle::accepts_records(access.case.status)
            .map_err(|r| ApiError::problem(ProblemType::TransitionRefused, r.to_string()))?;
        let record_id = RecordId::generate();
        let body = access
            .vault
            .seal_record(
                conn,
                &access.case.id,
                RecordPlace {
                    table: "case_notes",
                    column: "body",
                    row_id: record_id.as_str(),
                },
                &SecretBytes::new(input.text.into_bytes()),
            )
            .map_err(vault_error)?;
        Note {
            id: record_id.clone(),
            case_id: access.case.id.clone(),
            written_by: user_id,
            written_at: now_utc(),
            body,
        }
        .insert(conn)?;
        Ok(Reply::created(
            format!("/api/v1/cases/{}/notes", access.case.id),
            as_body(&RecordCreated { id: record_id }),
        )
        .touching(vec![FieldGroup::Notes]))
    })
    .await
}

/// The case's notes (the `notes` group).
pub async fn list_notes(state: &AppState, caller: Caller, id: CaseId) -> Result<Reply, ApiError> {
    let request = CaseRequest {
        id,
        action: Action::ReadNotes,
        audited_as: AuditAction::CaseNoteRead,
        purpose: "case_management",
        idempotency: None,
    };
    service::act_on_case(state, &caller, request, move |conn, access| {
        let mut items = Vec::new();
        for note in Note::for_case(conn, &access.case.id)? {
            let text = open_text(
                access,
                conn,
                RecordPlace {
                    table: "case_notes",
                    column: "body",
                    row_id: note.id.as_str(),
                },
                &note.body,
            )?;
            items.push(NoteView::of(&note, text));
        }
        Ok(Reply::ok(as_body(&NoteList { items })).touching(vec![FieldGroup::Notes]))
    })
    .await
}
