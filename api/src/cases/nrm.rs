//! Consent, referral into the NRM, identification decisions and status changes on a case: each
//! run through the case service's guarded path (`super::act_on_case`), checked by the rules
//! (`crate::rules::consent`, `crate::rules::lifecycle`), audited.

use chrono::NaiveDateTime;
use serde::Deserialize;
use serde_json::json;
use tumaini_db::ids::{CaseId, ConsentId, RecordId};
use tumaini_db::models::case::{Case, CaseChanges};
use tumaini_db::models::case_record::Decision;
use tumaini_db::models::consent::{self, NewConsent};
use tumaini_db::time::now_utc;
use tumaini_db::vault::{RecordPlace, SecretBytes};
use tumaini_db::vocabulary::{
    ClosureReason, ConsentGiver, ConsentMethod, ConsentPurpose, ConsentRecipient, FieldGroup,
    IdentificationDecision,
};
use utoipa::ToSchema;

use crate::audit::AuditAction;
use crate::auth::Caller;
use crate::authz::Action;
use crate::cases::Idempotency;
use crate::cases::documents::{ConsentHistory, ConsentRecorded, ConsentView, as_body};
use crate::cases::vault_error;
use crate::cases::views::CaseSummaryView;
use crate::cases::{self as service, CaseRequest, Reply};
use crate::http::{ApiError, ProblemType};
use crate::rules::consent as rules;
use crate::rules::lifecycle::{self, Refusal, StatusChange, StatusState};
use crate::state::AppState;

fn refused(refusal: &Refusal) -> ApiError {
    ApiError::problem(ProblemType::TransitionRefused, refusal.to_string())
}

fn stale() -> ApiError {
    ApiError::problem(
        ProblemType::Conflict,
        "the case changed at the same moment; try again",
    )
}

fn view(conn: &mut tumaini_db::DbConn, case: &Case) -> Result<serde_json::Value, ApiError> {
    serde_json::to_value(CaseSummaryView::load(conn, case)?)
        .map_err(|e| ApiError::Internal(e.into()))
}

fn seal(
    access: &service::CaseAccess,
    conn: &mut tumaini_db::DbConn,
    place: RecordPlace<'_>,
    text: &serde_json::Value,
) -> Result<Vec<u8>, ApiError> {
    crate::cases::groups::check_text(text, place.column)?;
    access
        .vault
        .seal_record(
            conn,
            &access.case.id,
            place,
            &SecretBytes::new(text.to_string().into_bytes()),
        )
        .map_err(vault_error)
}

/// A consent given for the person.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"given_by": "person", "method": "written", "purposes": ["assistance", "referral", "identification"], "groups": ["identity", "health"], "recipients": ["shelter", "health", "competent_authority"]}))]
#[serde(deny_unknown_fields)]
pub struct ConsentInput {
    /// Who gave it: the person (adults), a guardian or a best-interest basis (children).
    pub given_by: ConsentGiver,
    /// How.
    pub method: ConsentMethod,
    /// What for.
    pub purposes: Vec<ConsentPurpose>,
    /// Which personal groups may be shared.
    pub groups: Vec<FieldGroup>,
    /// With whom (kinds of organisation; law enforcement and transfer abroad are separate).
    pub recipients: Vec<ConsentRecipient>,
    /// When it was given (default now).
    pub given_at: Option<NaiveDateTime>,
    /// Until when it holds.
    pub valid_until: Option<NaiveDateTime>,
    /// Who the guardian is, the best-interest basis, the interpreter...: encrypted.
    pub details: Option<String>,
}

/// A withdrawal of consent.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"given_by": "person", "method": "verbal"}))]
#[serde(deny_unknown_fields)]
pub struct WithdrawalInput {
    /// Who withdrew it.
    pub given_by: ConsentGiver,
    /// How.
    pub method: ConsentMethod,
}

/// An identification decision.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"decision": "reasonable_grounds_positive", "reasons": "Consistent account at interview on 20 November."}))]
#[serde(deny_unknown_fields)]
pub struct DecisionInput {
    /// The decision.
    pub decision: IdentificationDecision,
    /// The reasons (encrypted).
    pub reasons: String,
}

/// A change of case status.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"change": "request_closure", "reason": "services_completed"}))]
#[serde(deny_unknown_fields, tag = "change", rename_all = "snake_case")]
pub enum StatusInput {
    /// Work begins.
    Activate,
    /// Reintegration begins.
    StartReintegration,
    /// The person withdrew from assistance.
    Withdraw,
    /// Ask a supervisor to close the case.
    RequestClosure {
        /// Why.
        reason: ClosureReason,
    },
    /// Approve the requested closure (a supervisor of the owning organisation).
    ApproveClosure,
    /// Send the closure request back.
    RejectClosure,
    /// Take a closed or withdrawn case up again.
    Reopen,
}

/// Record a new version of the person's consent. It replaces the one in force.
pub async fn record_consent(
    state: &AppState,
    caller: Caller,
    id: CaseId,
    idempotency: Option<Idempotency>,
    input: ConsentInput,
) -> Result<Reply, ApiError> {
    let given_at = input.given_at.unwrap_or_else(now_utc);
    rules::check_grant(&input.purposes, &input.groups, given_at, input.valid_until)
        .map_err(|r| ApiError::problem(ProblemType::InvalidBody, r.to_string()))?;
    let user_id = caller.user.id.clone();
    let request = CaseRequest {
        id,
        action: Action::RecordConsent,
        audited_as: AuditAction::CaseConsentRecord,
        purpose: "consent",
        idempotency,
    };
    service::act_on_case(state, &caller, request, move |conn, access| {
        rules::check_giver(access.case.is_child, input.given_by)
            .map_err(|r| ApiError::problem(ProblemType::InvalidBody, r.to_string()))?;
        let consent_id = ConsentId::generate();
        let details = input
            .details
            .as_ref()
            .map(|text| {
                seal(
                    access,
                    conn,
                    RecordPlace {
                        table: "consents",
                        column: "details",
                        row_id: consent_id.as_str(),
                    },
                    &json!(text),
                )
            })
            .transpose()?;
        let stored = consent::append(
            conn,
            &NewConsent {
                id: &consent_id,
                case_id: &access.case.id,
                withdrawal: false,
                given_by: input.given_by,
                method: input.method,
                purposes: &input.purposes,
                groups: &input.groups,
                recipients: &input.recipients,
                given_at,
                valid_until: input.valid_until,
                recorded_by: &user_id,
                details,
            },
        )?;
        Ok(Reply::created(
            format!("/api/v1/cases/{}/consents", access.case.id),
            as_body(&ConsentRecorded {
                id: stored.id,
                version: stored.version,
            }),
        ))
    })
    .await
}

/// Record that the person (or guardian) withdrew consent: all sharing stops on the next
/// request.
pub async fn withdraw_consent(
    state: &AppState,
    caller: Caller,
    id: CaseId,
    idempotency: Option<Idempotency>,
    input: WithdrawalInput,
) -> Result<Reply, ApiError> {
    let user_id = caller.user.id.clone();
    let request = CaseRequest {
        id,
        action: Action::RecordConsent,
        audited_as: AuditAction::CaseConsentWithdraw,
        purpose: "consent",
        idempotency,
    };
    service::act_on_case(state, &caller, request, move |conn, access| {
        if access.consent_in_force().is_none() {
            return Err(ApiError::problem(
                ProblemType::Conflict,
                rules::ConsentRefusal::NothingToWithdraw.to_string(),
            ));
        }
        let consent_id = ConsentId::generate();
        let stored = consent::append(
            conn,
            &NewConsent {
                id: &consent_id,
                case_id: &access.case.id,
                withdrawal: true,
                given_by: input.given_by,
                method: input.method,
                purposes: &[],
                groups: &[],
                recipients: &[],
                given_at: now_utc(),
                valid_until: None,
                recorded_by: &user_id,
                details: None,
            },
        )?;
        Ok(Reply::created(
            format!("/api/v1/cases/{}/consents", access.case.id),
            as_body(&ConsentRecorded {
                id: stored.id,
                version: stored.version,
            }),
        ))
    })
    .await
}

/// The consent history and the consent in force (details stay encrypted: they are personal).
pub async fn consent_history(
    state: &AppState,
    caller: Caller,
    id: CaseId,
) -> Result<Reply, ApiError> {
    let request = CaseRequest {
        id,
        action: Action::ReadSummary,
        audited_as: AuditAction::CaseConsentRead,
        purpose: "consent",
        idempotency: None,
    };
    service::act_on_case(state, &caller, request, move |conn, access| {
        let history = consent::history(conn, &access.case.id)?;
        let now = now_utc();
        let in_force = rules::in_force(history.last(), now).map(|c| c.version);
        let items = history.iter().map(ConsentView::from).collect();
        Ok(Reply::ok(as_body(&ConsentHistory {
            items,
            in_force_version: in_force,
        })))
    })
    .await
}

/// Refer a presumed victim into the NRM for an identification decision. An adult needs consent
/// for identification; a child's guardian or best-interest basis gives it.
pub async fn refer_to_nrm(
    state: &AppState,
    caller: Caller,
    id: CaseId,
    idempotency: Option<Idempotency>,
) -> Result<Reply, ApiError> {
    let rules_of_deadlines = state.deadlines.clone();
    let request = CaseRequest {
        id,
        action: Action::CreateReferral,
        audited_as: AuditAction::CaseNrmReferral,
        purpose: "identification",
        idempotency,
    };
    service::act_on_case(state, &caller, request, move |conn, access| {
        let stage = lifecycle::refer_to_nrm(access.case.identification_stage).map_err(|r| refused(&r))?;
        if !rules::covers_purpose(access.consent_in_force(), ConsentPurpose::Identification) {
            return Err(ApiError::problem(
                ProblemType::ConsentRequired,
                "consent for `identification` is needed (from the person, or for a child from a guardian or a best-interest basis); an adult who does not consent is recorded as an anonymous notification",
            ));
        }
        let now = now_utc();
        let case = Case::apply(
            conn,
            &access.case.id,
            access.case.version,
            &CaseChanges {
                identification_stage: Some(stage),
                referred_into_nrm_at: Some(Some(now)),
                reasonable_grounds_due_at: Some(Some(rules_of_deadlines.reasonable_grounds_due(now))),
                ..CaseChanges::default()
            },
        )?
        .ok_or_else(stale)?;
        Ok(Reply::ok(view(conn, &case)?).with_version(case.version))
    })
    .await
}

/// Record an identification decision (the competent authority only).
pub async fn decide_identification(
    state: &AppState,
    caller: Caller,
    id: CaseId,
    idempotency: Option<Idempotency>,
    input: DecisionInput,
) -> Result<Reply, ApiError> {
    if input.reasons.trim().is_empty() {
        return Err(ApiError::problem(
            ProblemType::InvalidBody,
            "`reasons` are required",
        ));
    }
    let deadlines = state.deadlines.clone();
    let (user_id, org_id) = (caller.user.id.clone(), caller.organisation.id.clone());
    let request = CaseRequest {
        id,
        action: Action::DecideIdentification,
        audited_as: AuditAction::CaseIdentificationDecision,
        purpose: "identification",
        idempotency,
    };
    service::act_on_case(state, &caller, request, move |conn, access| {
        let now = now_utc();
        let stage = lifecycle::decide(
            access.case.identification_stage,
            input.decision,
            now,
            access.case.recovery_period_ends_at,
        )
        .map_err(|r| refused(&r))?;
        let record_id = RecordId::generate();
        let reasons = seal(
            access,
            conn,
            RecordPlace {
                table: "identification_decisions",
                column: "reasons",
                row_id: record_id.as_str(),
            },
            &json!(input.reasons),
        )?;
        Decision {
            id: record_id,
            case_id: access.case.id.clone(),
            decision: input.decision,
            decided_by: user_id,
            decided_by_organisation: org_id,
            decided_at: now,
            reasons,
        }
        .insert(conn)?;
        let mut changes = CaseChanges {
            identification_stage: Some(stage),
            ..CaseChanges::default()
        };
        match input.decision {
            IdentificationDecision::ReasonableGroundsPositive => {
                changes.reasonable_grounds_decided_at = Some(Some(now));
                changes.recovery_period_ends_at = Some(Some(deadlines.recovery_period_end(now)));
            }
            IdentificationDecision::ReasonableGroundsNegative
            | IdentificationDecision::NotAVictim => {
                changes.reasonable_grounds_decided_at = Some(Some(now));
            }
            IdentificationDecision::ConclusiveGroundsPositive
            | IdentificationDecision::ConclusiveGroundsNegative => {
                changes.conclusive_grounds_decided_at = Some(Some(now));
            }
        }
        let case =
            Case::apply(conn, &access.case.id, access.case.version, &changes)?.ok_or_else(stale)?;
        Ok(Reply::ok(view(conn, &case)?)
            .with_version(case.version)
            .touching(vec![crate::authz::FieldGroup::Legal]))
    })
    .await
}

/// Change the case status. Closing needs a request and then a supervisor's approval.
pub async fn change_status(
    state: &AppState,
    caller: Caller,
    id: CaseId,
    idempotency: Option<Idempotency>,
    input: StatusInput,
) -> Result<Reply, ApiError> {
    let (change, reason) = match input {
        StatusInput::Activate => (StatusChange::Activate, None),
        StatusInput::StartReintegration => (StatusChange::StartReintegration, None),
        StatusInput::Withdraw => (StatusChange::Withdraw, None),
        StatusInput::RequestClosure { reason } => (StatusChange::RequestClosure, Some(reason)),
        StatusInput::ApproveClosure => (StatusChange::ApproveClosure, None),
        StatusInput::RejectClosure => (StatusChange::RejectClosure, None),
        StatusInput::Reopen => (StatusChange::Reopen, None),
    };
    let (action, audited_as) = match change {
        StatusChange::ApproveClosure => (Action::ApproveClosure, AuditAction::CaseClosureApprove),
        StatusChange::RejectClosure => (Action::ApproveClosure, AuditAction::CaseClosureReject),
        StatusChange::Reopen => (Action::ApproveClosure, AuditAction::CaseReopen),
        StatusChange::RequestClosure => (Action::ChangeCaseStatus, AuditAction::CaseClosureRequest),
        _ => (Action::ChangeCaseStatus, AuditAction::CaseStatus),
    };
    let user_id = caller.user.id.clone();
    let request = CaseRequest {
        id,
        action,
        audited_as,
        purpose: "case_management",
        idempotency,
    };
    service::act_on_case(state, &caller, request, move |conn, access| {
        let case = &access.case;
        let before = StatusState {
            status: case.status,
            closure_pending: case.closure_requested_at.is_some(),
        };
        let after = lifecycle::change_status(before, change).map_err(|r| refused(&r))?;
        let now = now_utc();
        let mut changes = CaseChanges {
            status: Some(after.status),
            ..CaseChanges::default()
        };
        match change {
            StatusChange::RequestClosure => {
                changes.closure_reason = Some(reason);
                changes.closure_requested_at = Some(Some(now));
                changes.closure_requested_by = Some(Some(user_id));
            }
            StatusChange::ApproveClosure => {
                changes.closed_at = Some(Some(now));
                changes.closure_approved_by = Some(Some(user_id));
                changes.closure_requested_at = Some(None);
            }
            StatusChange::RejectClosure | StatusChange::Withdraw | StatusChange::Reopen => {
                changes.closure_requested_at = Some(None);
                changes.closure_requested_by = Some(None);
                if change != StatusChange::Withdraw {
                    changes.closure_reason = Some(None);
                }
                if change == StatusChange::Reopen {
                    changes.closed_at = Some(None);
                    changes.closure_approved_by = Some(None);
                    changes.withdrawn_at = Some(None);
                } else if change == StatusChange::Withdraw {
                    changes.withdrawn_at = Some(Some(now));
                }
            }
            StatusChange::Activate | StatusChange::StartReintegration => {
                // The stored request follows the machine: activating an open case that had a
                // closure request pending withdraws that request.
                if before.closure_pending && !after.closure_pending {
                    changes.closure_requested_at = Some(None);
                    changes.closure_requested_by = Some(None);
                    changes.closure_reason = Some(None);
                }
            }
        }
        let case = Case::apply(conn, &case.id, case.version, &changes)?.ok_or_else(stale)?;
        Ok(Reply::ok(view(conn, &case)?).with_version(case.version))
    })
    .await
}
