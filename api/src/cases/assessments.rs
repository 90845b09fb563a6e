//! Screening with trafficking indicators, risk assessments and the individual assistance plan,
//! each run through the case service's guarded path (`super::act_on_case`). What statistics
//! and deadlines need (counts, dimensions, levels, dates) is kept in clear; the answers, details
//! and the plan itself are sealed in the `notes` group.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::json;
use tumaini_db::ids::{CaseId, OrgId, RecordId};
use tumaini_db::models::case::{Case, CaseChanges};
use tumaini_db::models::case_record::{Plan, RiskAssessment, Screening};
use tumaini_db::time::now_utc;
use tumaini_db::vault::{GroupRead, RecordPlace, SecretBytes};
use tumaini_db::vocabulary::{RiskLevel, ServiceType};
use utoipa::ToSchema;

use crate::audit::AuditAction;
use crate::auth::Caller;
use crate::authz::{Action, FieldGroup};
use crate::cases::Idempotency;
use crate::cases::documents::{
    PlanSaved, PlanView, RiskList, RiskRecorded, RiskView, ScreeningList, ScreeningRecorded,
    ScreeningView, as_body,
};
use crate::cases::vault_error;
use crate::cases::{self as service, CaseAccess, CaseRequest, Reply};
use crate::http::{ApiError, ProblemType};
use crate::rules::lifecycle;
use crate::rules::screening::{self, Dimension, IndicatorList, Strength};
use crate::state::AppState;

fn seal_json(
    access: &CaseAccess,
    conn: &mut tumaini_db::DbConn,
    place: RecordPlace<'_>,
    value: &serde_json::Value,
) -> Result<Vec<u8>, ApiError> {
    crate::cases::groups::check_text(value, place.column)?;
    access
        .vault
        .seal_record(
            conn,
            &access.case.id,
            place,
            &SecretBytes::new(value.to_string().into_bytes()),
        )
        .map_err(vault_error)
}

fn open_json(
    access: &CaseAccess,
    conn: &mut tumaini_db::DbConn,
    place: RecordPlace<'_>,
    sealed: &[u8],
) -> Result<Option<serde_json::Value>, ApiError> {
    match access
        .vault
        .open_record(conn, &access.case.id, place, sealed)
        .map_err(vault_error)?
    {
        GroupRead::Plain(plain) => Ok(serde_json::from_slice(plain.expose()).ok()),
        GroupRead::Erased | GroupRead::Absent => Ok(None),
    }
}

fn non_empty(text: Option<&str>, field: &str) -> Result<(), ApiError> {
    if text.is_some_and(|t| t.trim().is_empty()) {
        return Err(ApiError::problem(
            ProblemType::InvalidBody,
            format!("`{field}` is empty; leave it out instead"),
        ));
    }
    Ok(())
}

/// One indicator of a list.
#[derive(Debug, Serialize, ToSchema)]
pub struct IndicatorView {
    /// Stable code.
    pub code: &'static str,
    /// Its dimension.
    pub dimension: Dimension,
    /// Its weight on this list.
    pub strength: Strength,
    /// English label.
    pub label: &'static str,
}

/// The indicators of one dimension.
#[derive(Debug, Serialize, ToSchema)]
pub struct DimensionView {
    /// Stable code.
    pub code: &'static str,
    /// English label.
    pub label: &'static str,
    /// Its indicators on the list.
    pub indicators: Vec<IndicatorView>,
}

/// A list of indicators, by dimension, with the rule that decides a presumption.
#[derive(Debug, Serialize, ToSchema)]
pub struct IndicatorCatalogue {
    /// `adult` or `child`.
    pub list: IndicatorList,
    /// The dimensions and their indicators.
    pub dimensions: Vec<DimensionView>,
    /// When a person is presumed a victim.
    pub rule: &'static str,
    /// When a dimension is met.
    pub dimension_rule: &'static str,
    /// Where the indicators come from.
    pub source: &'static str,
}

/// The screening catalogue for `list` (`adult` or `child`).
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct CatalogueQuery {
    /// `adult` (default) or `child`.
    pub list: Option<String>,
}

/// The screener's professional judgement, which overrides the computed presumption.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Judgement {
    /// Whether the person is presumed a victim.
    pub presumed: bool,
    /// Why (encrypted, `notes` group).
    pub reason: String,
}

/// A screening: the indicators present. The list (adult or child) follows the case.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"indicators": ["dr_nature_of_job", "dr_wages", "ex_excessive_hours", "ex_low_or_no_salary", "cd_confiscation_of_documents", "cd_isolation"], "notes": "met at the bus park"}))]
#[serde(deny_unknown_fields)]
pub struct ScreeningInput {
    /// Codes of the indicators present (see `GET /api/v1/screening-indicators`).
    pub indicators: Vec<String>,
    /// A professional judgement overriding the computed presumption.
    pub judgement: Option<Judgement>,
    /// Notes (encrypted, `notes` group).
    pub notes: Option<String>,
}

/// The outcome of a screening (no answers: those stay sealed).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ScreeningOutcome {
    /// The screening.
    pub id: RecordId,
    /// `adult` or `child`.
    pub indicator_list: String,
    /// Dimensions met.
    pub dimensions_met: Vec<String>,
    /// Strong indicators present.
    pub strong: i32,
    /// Medium indicators present.
    pub medium: i32,
    /// Weak indicators present.
    pub weak: i32,
    /// What the indicators give.
    pub computed_presumed: bool,
    /// Whether the screener's judgement replaced it.
    pub overridden: bool,
    /// The presumption that stands.
    pub presumed: bool,
    /// When.
    pub screened_at: chrono::DateTime<chrono::Utc>,
}

impl From<&Screening> for ScreeningOutcome {
    fn from(s: &Screening) -> Self {
        Self {
            id: s.id.clone(),
            indicator_list: s.indicator_list.clone(),
            dimensions_met: s
                .dimensions_met
                .split(',')
                .filter(|d| !d.is_empty())
                .map(str::to_owned)
                .collect(),
            strong: s.strong,
            medium: s.medium,
            weak: s.weak,
            computed_presumed: s.computed_presumed,
            overridden: s.overridden,
            presumed: s.presumed,
            screened_at: s.screened_at.and_utc(),
        }
    }
}

fn count(n: u32) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

/// A risk assessment.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"individual": "high", "household": "medium", "community": "low", "review_on": "2026-12-20", "details": "the recruiter lives nearby"}))]
#[serde(deny_unknown_fields)]
pub struct RiskInput {
    /// Risk to the person.
    pub individual: RiskLevel,
    /// Risk within the household.
    pub household: RiskLevel,
    /// Risk in the community.
    pub community: RiskLevel,
    /// When to assess again (not in the past).
    pub review_on: NaiveDate,
    /// Details (encrypted, `notes` group).
    pub details: Option<String>,
}

/// One goal of the individual assistance plan.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanGoal {
    /// The service that meets the need.
    pub service_type: ServiceType,
    /// The need and the agreed action, in the person's words where possible.
    pub action: String,
    /// Who is responsible (default: the case's organisation).
    pub responsible_organisation_id: Option<OrgId>,
    /// By when.
    pub target_on: Option<NaiveDate>,
    /// Done.
    #[serde(default)]
    pub achieved: bool,
}

/// The individual assistance plan, replaced as a whole.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"goals": [{"service_type": "shelter", "action": "a safe bed until the hearing", "target_on": "2027-01-31"}, {"service_type": "livelihood", "action": "tailoring course"}], "review_on": "2026-12-20", "agreed_with_person": true}))]
#[serde(deny_unknown_fields)]
pub struct PlanInput {
    /// The goals.
    pub goals: Vec<PlanGoal>,
    /// When to review the plan with the person.
    pub review_on: NaiveDate,
    /// The person took part in drawing it up.
    pub agreed_with_person: bool,
}

const MAX_GOALS: usize = 50;

/// Screen a case with trafficking indicators. The presumption is computed and stored; a
/// professional judgement may override it, with a reason. The case's identification stage
/// follows (`presumed` or `screened_not_presumed`) until it enters the NRM.
pub async fn record_screening(
    state: &AppState,
    caller: Caller,
    id: CaseId,
    idempotency: Option<Idempotency>,
    input: ScreeningInput,
) -> Result<Reply, ApiError> {
    non_empty(input.notes.as_deref(), "notes")?;
    if input
        .judgement
        .as_ref()
        .is_some_and(|j| j.reason.trim().is_empty())
    {
        return Err(ApiError::problem(
            ProblemType::InvalidBody,
            "a professional judgement needs a `reason`",
        ));
    }
    let user_id = caller.user.id.clone();
    let request = CaseRequest {
        id,
        action: Action::RecordScreening,
        audited_as: AuditAction::CaseScreeningRecord,
        purpose: "identification",
        idempotency,
    };
    service::act_on_case(state, &caller, request, move |conn, access| {
        let list = IndicatorList::for_case(access.case.is_child);
        let present = screening::validate(list, &input.indicators)
            .map_err(|e| ApiError::problem(ProblemType::InvalidBody, e.to_string()))?;
        let assessment = screening::assess(list, &present);
        let presumed = input
            .judgement
            .as_ref()
            .map_or(assessment.presumed, |j| j.presumed);
        let stage = lifecycle::after_screening(access.case.identification_stage, presumed)
            .map_err(|r| ApiError::problem(ProblemType::TransitionRefused, r.to_string()))?;
        let record_id = RecordId::generate();
        let codes: Vec<&str> = present.iter().map(|i| i.code).collect();
        let answers = seal_json(
            access,
            conn,
            RecordPlace {
                table: "screenings",
                column: "answers",
                row_id: record_id.as_str(),
            },
            &json!({
                "indicators": codes,
                "notes": input.notes,
                "override_reason": input.judgement.as_ref().map(|j| &j.reason),
            }),
        )?;
        let row = Screening {
            id: record_id.clone(),
            case_id: access.case.id.clone(),
            indicator_list: list.code().to_owned(),
            strong: count(assessment.strong),
            medium: count(assessment.medium),
            weak: count(assessment.weak),
            dimensions_met: assessment
                .dimensions_met
                .iter()
                .map(|d| d.code())
                .collect::<Vec<_>>()
                .join(","),
            computed_presumed: assessment.presumed,
            overridden: input
                .judgement
                .as_ref()
                .is_some_and(|j| j.presumed != assessment.presumed),
            presumed,
            screened_by: user_id,
            screened_at: now_utc(),
            answers,
        };
        row.insert(conn)?;
        let case = if stage == access.case.identification_stage {
            access.case.clone()
        } else {
            Case::apply(
                conn,
                &access.case.id,
                access.case.version,
                &CaseChanges {
                    identification_stage: Some(stage),
                    ..CaseChanges::default()
                },
            )?
            .ok_or_else(|| {
                ApiError::problem(
                    ProblemType::Conflict,
                    "the case changed at the same moment; try again",
                )
            })?
        };
        let outcome = as_body(&ScreeningRecorded {
            outcome: ScreeningOutcome::from(&row),
            identification_stage: case.identification_stage,
        });
        Ok(
            Reply::created(format!("/api/v1/cases/{}/screenings", case.id), outcome)
                .with_version(case.version)
                .touching(vec![FieldGroup::Notes]),
        )
    })
    .await
}

/// The case's screenings, oldest first; the answers only for callers who may read `notes`.
pub async fn list_screenings(
    state: &AppState,
    caller: Caller,
    id: CaseId,
) -> Result<Reply, ApiError> {
    let request = CaseRequest {
        id,
        action: Action::ReadSummary,
        audited_as: AuditAction::CaseScreeningRead,
        purpose: "identification",
        idempotency: None,
    };
    service::act_on_case(state, &caller, request, move |conn, access| {
        let with_answers = access.decide(Action::ReadNotes).allowed;
        let mut items = Vec::new();
        for row in Screening::for_case(conn, &access.case.id)? {
            let answers = if with_answers {
                Some(
                    open_json(
                        access,
                        conn,
                        RecordPlace {
                            table: "screenings",
                            column: "answers",
                            row_id: row.id.as_str(),
                        },
                        &row.answers,
                    )?
                    .unwrap_or(serde_json::Value::Null),
                )
            } else {
                None
            };
            items.push(ScreeningView {
                outcome: ScreeningOutcome::from(&row),
                answers,
            });
        }
        let touched = if with_answers {
            vec![FieldGroup::Notes]
        } else {
            Vec::new()
        };
        let list = ScreeningList {
            items,
            answers_withheld: !with_answers,
        };
        Ok(Reply::ok(as_body(&list)).touching(touched))
    })
    .await
}

/// Record a risk assessment (individual, household, community) with its review date.
pub async fn record_risk(
    state: &AppState,
    caller: Caller,
    id: CaseId,
    idempotency: Option<Idempotency>,
    input: RiskInput,
) -> Result<Reply, ApiError> {
    non_empty(input.details.as_deref(), "details")?;
    if input.review_on < crate::rules::deadlines::local_date(now_utc()) {
        return Err(ApiError::problem(
            ProblemType::InvalidBody,
            "`review_on` is in the past",
        ));
    }
    let user_id = caller.user.id.clone();
    let request = CaseRequest {
        id,
        action: Action::RecordAssistance,
        audited_as: AuditAction::CaseRiskRecord,
        purpose: "protection",
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
                seal_json(
                    access,
                    conn,
                    RecordPlace {
                        table: "risk_assessments",
                        column: "details",
                        row_id: record_id.as_str(),
                    },
                    &json!(text),
                )
            })
            .transpose()?;
        RiskAssessment {
            id: record_id.clone(),
            case_id: access.case.id.clone(),
            individual: input.individual,
            household: input.household,
            community: input.community,
            review_on: input.review_on,
            assessed_by: user_id,
            assessed_at: now_utc(),
            details,
        }
        .insert(conn)?;
        let touched = if input.details.is_some() {
            vec![FieldGroup::Notes]
        } else {
            Vec::new()
        };
        Ok(Reply::created(
            format!("/api/v1/cases/{}/risk-assessments", access.case.id),
            as_body(&RiskRecorded {
                id: record_id,
                review_on: input.review_on,
            }),
        )
        .touching(touched))
    })
    .await
}

/// The case's risk assessments, oldest first (the levels and review dates are shown to anyone
/// who sees the case's summary; details only with the `notes` group).
pub async fn list_risk(state: &AppState, caller: Caller, id: CaseId) -> Result<Reply, ApiError> {
    let request = CaseRequest {
        id,
        action: Action::ReadSummary,
        audited_as: AuditAction::CaseRiskRead,
        purpose: "protection",
        idempotency: None,
    };
    service::act_on_case(state, &caller, request, move |conn, access| {
        let with_details = access.decide(Action::ReadNotes).allowed;
        let mut items = Vec::new();
        for row in RiskAssessment::for_case(conn, &access.case.id)? {
            let details = match (&row.details, with_details) {
                (Some(sealed), true) => open_json(
                    access,
                    conn,
                    RecordPlace {
                        table: "risk_assessments",
                        column: "details",
                        row_id: row.id.as_str(),
                    },
                    sealed,
                )?,
                _ => None,
            };
            items.push(RiskView::of(&row, details));
        }
        let touched = if with_details {
            vec![FieldGroup::Notes]
        } else {
            Vec::new()
        };
        let list = RiskList {
            items,
            details_withheld: !with_details,
        };
        Ok(Reply::ok(as_body(&list)).touching(touched))
    })
    .await
}

/// The case's individual assistance plan (the `notes` group).
pub async fn read_plan(state: &AppState, caller: Caller, id: CaseId) -> Result<Reply, ApiError> {
    let request = CaseRequest {
        id,
        action: Action::ReadNotes,
        audited_as: AuditAction::CasePlanRead,
        purpose: "assistance",
        idempotency: None,
    };
    service::act_on_case(state, &caller, request, move |conn, access| {
        let Some(plan) = Plan::find(conn, &access.case.id)? else {
            return Err(ApiError::problem(
                ProblemType::NotFound,
                "this case has no assistance plan yet",
            ));
        };
        let content = open_json(
            access,
            conn,
            RecordPlace {
                table: "assistance_plans",
                column: "content",
                row_id: access.case.id.as_str(),
            },
            &plan.content,
        )?;
        Ok(Reply::ok(as_body(&PlanView::of(&plan, content)))
            .with_version(plan.version)
            .touching(vec![FieldGroup::Notes]))
    })
    .await
}

/// Writes or replaces the individual assistance plan: replacing needs the version the caller
/// read (`expected`, from `If-Match`); the first plan is written without one.
pub async fn put_plan(
    state: &AppState,
    caller: Caller,
    id: CaseId,
    input: PlanInput,
    expected: Option<i32>,
) -> Result<Reply, ApiError> {
    if input.goals.len() > MAX_GOALS {
        return Err(ApiError::problem(
            ProblemType::InvalidBody,
            format!("a plan has at most {MAX_GOALS} goals"),
        ));
    }
    if input.goals.iter().any(|g| g.action.trim().is_empty()) {
        return Err(ApiError::problem(
            ProblemType::InvalidBody,
            "every goal needs an `action`",
        ));
    }
    let (user_id, own_org) = (caller.user.id.clone(), caller.organisation.id.clone());
    let request = CaseRequest {
        id,
        action: Action::RecordAssistance,
        audited_as: AuditAction::CasePlanWrite,
        purpose: "assistance",
        idempotency: None,
    };
    service::act_on_case(state, &caller, request, move |conn, access| {
        lifecycle::accepts_records(access.case.status)
            .map_err(|r| ApiError::problem(ProblemType::TransitionRefused, r.to_string()))?;
        // Writing the plan replaces what is there: the writer must be able to read it.
        if !access.decide(Action::ReadNotes).allowed {
            return Err(ApiError::problem(
                ProblemType::Forbidden,
                "writing the plan needs the right to read the `notes` group",
            ));
        }
        let current = Plan::find(conn, &access.case.id)?.map_or(0, |p| p.version);
        match expected {
            None if current > 0 => {
                return Err(ApiError::problem(
                    ProblemType::PreconditionRequired,
                    "the case has a plan: send If-Match with its ETag to replace it",
                ));
            }
            Some(version) if version != current => {
                return Err(ApiError::problem(
                    ProblemType::PreconditionFailed,
                    "the plan changed since you read it; read it again",
                ));
            }
            _ => {}
        }
        let mut goals = input.goals;
        for goal in &mut goals {
            goal.responsible_organisation_id
                .get_or_insert_with(|| own_org.clone());
        }
        let content = seal_json(
            access,
            conn,
            RecordPlace {
                table: "assistance_plans",
                column: "content",
                row_id: access.case.id.as_str(),
            },
            &json!({"goals": goals, "agreed_with_person": input.agreed_with_person}),
        )?;
        let version = current + 1;
        let written = Plan {
            case_id: access.case.id.clone(),
            version,
            review_on: input.review_on,
            updated_by: user_id,
            updated_at: now_utc(),
            content,
        }
        .put(conn, current)?;
        if !written {
            return Err(ApiError::problem(
                ProblemType::PreconditionFailed,
                "the plan changed at the same moment; read it again",
            ));
        }
        Ok(Reply::ok(as_body(&PlanSaved {
            version,
            review_on: input.review_on,
        }))
        .with_version(version)
        .touching(vec![FieldGroup::Notes]))
    })
    .await
}
