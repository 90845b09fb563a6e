//! Break-glass: a coordinator, or a supervisor for a case their organisation owns or serves,
//! opens named personal groups of one case outside the normal rules, with a written
//! justification, for a limited time. The opening and every read under it are high-severity
//! audit events; the coordinators of the case's country and the owning organisation's
//! supervisors are e-mailed (the case's reference and a link, nothing personal).

use chrono::Duration;
use serde::Deserialize;
use serde_json::json;
use tumaini_db::ids::{CaseId, RecordId};
use tumaini_db::models::break_glass::BreakGlassGrant;
use tumaini_db::models::{Organisation, User};
use tumaini_db::time::now_utc;
use tumaini_db::vault::{RecordPlace, SecretBytes};
use tumaini_db::vocabulary::Role;
use utoipa::ToSchema;

use crate::audit::AuditAction;
use crate::auth::Caller;
use crate::authz::{Action, FieldGroup};
use crate::cases::Idempotency;
use crate::cases::documents::{BreakGlassGranted, as_body};
use crate::cases::vault_error;
use crate::cases::{self as service, CaseRequest, Reply};
use crate::http::{ApiError, ProblemType};
use crate::notifications::notify;
use crate::state::AppState;

/// A break-glass opening.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"groups": ["contact"], "justification": "The person did not arrive at the shelter after the hearing; police ask where she was placed. Reachable contacts are needed tonight.", "minutes": 60}))]
#[serde(deny_unknown_fields)]
pub struct BreakGlassInput {
    /// The personal groups to open (`identity`, `contact`, `exploitation`, `health`, `legal`,
    /// `notes`).
    pub groups: Vec<String>,
    /// Why this cannot wait for the normal rules: at least 30 characters (sealed under the
    /// case's key; it is read in the audit review, never logged).
    pub justification: String,
    /// For how long, in minutes (default 60; at most the configured maximum).
    pub minutes: Option<u32>,
}

const MIN_JUSTIFICATION: usize = 30;

/// Open personal groups of a case by break-glass, for a limited time.
pub async fn open_break_glass(
    state: &AppState,
    caller: Caller,
    id: CaseId,
    idempotency: Option<Idempotency>,
    input: BreakGlassInput,
) -> Result<Reply, ApiError> {
    let invalid = |detail: String| ApiError::problem(ProblemType::InvalidBody, detail);
    let mut groups = Vec::new();
    for code in &input.groups {
        let group = FieldGroup::from_code(code).ok_or_else(|| {
            invalid(
                "`groups` names identity, contact, exploitation, health, legal or notes".to_owned(),
            )
        })?;
        if !groups.contains(&group) {
            groups.push(group);
        }
    }
    if groups.is_empty() {
        return Err(invalid("name the `groups` to open".to_owned()));
    }
    if input.justification.trim().chars().count() < MIN_JUSTIFICATION {
        return Err(invalid(format!(
            "a `justification` of at least {MIN_JUSTIFICATION} characters is required"
        )));
    }
    crate::cases::groups::check_text(&json!(input.justification), "justification")?;
    let max_minutes = state.cases.break_glass_max.as_secs() / 60;
    let minutes = u64::from(input.minutes.unwrap_or(60));
    if minutes == 0 || minutes > max_minutes {
        return Err(invalid(format!("`minutes` is between 1 and {max_minutes}")));
    }
    let public_url = state.public_url.clone();
    let (user_id, role, org_name) = (
        caller.user.id.clone(),
        caller.user.role,
        caller.organisation.name.clone(),
    );
    let request = CaseRequest {
        id,
        action: Action::OpenBreakGlass,
        audited_as: AuditAction::CaseBreakGlassOpen,
        purpose: "break_glass",
        idempotency,
    };
    service::act_on_case(state, &caller, request, move |conn, access| {
        access.mark_severe();
        let now = now_utc();
        let expires_at = now + Duration::minutes(i64::try_from(minutes).unwrap_or(60));
        let grant_id = RecordId::generate();
        let justification = access
            .vault
            .seal_record(
                conn,
                &access.case.id,
                RecordPlace {
                    table: "break_glass_grants",
                    column: "justification",
                    row_id: grant_id.as_str(),
                },
                &SecretBytes::new(input.justification.into_bytes()),
            )
            .map_err(vault_error)?;
        BreakGlassGrant {
            id: grant_id.clone(),
            case_id: access.case.id.clone(),
            user_id,
            field_groups: groups
                .iter()
                .map(|g| g.code())
                .collect::<Vec<_>>()
                .join(","),
            opened_at: now,
            expires_at,
            justification,
        }
        .insert(conn)?;
        let owner = Organisation::find(conn, &access.case.owner_organisation_id)?;
        let mut recipients =
            User::notification_recipients(conn, &[Role::Coordinator], None, Some(&owner.country))?;
        recipients.extend(
            User::notification_recipients(conn, &[Role::Supervisor], None, None)?
                .into_iter()
                .filter(|u| u.organisation_id == owner.id),
        );
        recipients.sort_by(|a, b| a.id.as_str().cmp(b.id.as_str()));
        recipients.dedup_by(|a, b| a.id == b.id);
        notify(
            conn,
            &recipients,
            "Break-glass access was opened in Tumaini",
            &format!(
                "A {role} of {org_name} opened break-glass access to case {} until {} UTC.\n\nReview it in the audit trail: {public_url}/cases/{}\n",
                access.case.reference,
                expires_at.format("%Y-%m-%d %H:%M"),
                access.case.id
            ),
        )?;
        Ok(Reply::created(
            format!("/api/v1/cases/{}/break-glass", access.case.id),
            as_body(&BreakGlassGranted {
                id: grant_id.to_string(),
                case_id: access.case.id.clone(),
                groups: groups.iter().map(|g| g.code().to_owned()).collect(),
                expires_at: expires_at.and_utc(),
            }),
        ))
    })
    .await
}
