//! Case endpoints: register, read (explicit field groups and a purpose), update with
//! `If-Match`, list; consent, screening and the NRM workflow in the submodules. Every endpoint
//! passes the policies and writes its audit event in the action's transaction.

mod assessments;
mod assignments;
mod break_glass;
mod documents;
mod duplicates;
mod follow_ups;
mod history;
mod lifecycle;
mod nrm;
mod records;
mod subject_access;
mod uploads;

use actix_web::{HttpRequest, HttpResponse, get, patch, post, web};
use serde::Deserialize;
use tumaini_db::DbError;
use tumaini_db::ids::CaseId;
use tumaini_db::models::case::{Case, CaseChanges, CaseFilter};
use tumaini_db::time::now_utc;
use tumaini_db::vault::GroupChange;
use tumaini_db::vocabulary::{CaseStatus, IdentificationStage, RectificationReason};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;

use crate::audit::AuditAction;
use crate::auth::{Caller, Principal};
use crate::authz::{Action, FieldGroup};
use crate::cases::groups::{self, PersonalGroups};
use crate::cases::vault_error;
use crate::cases::views::{self, AccessPurpose, CaseSummaryView, SummaryInput};
use crate::cases::{self as service, CasePage, CaseRequest, NewCaseInput, Reply};
use crate::http::{ApiError, Problem, ProblemType};
use crate::notifications::notify_child_protection;
use crate::rules::reference;
use crate::state::AppState;

/// Registers the routes of this module.
pub fn register(cfg: &mut ServiceConfig) {
    cfg.service(create_case)
        .service(list_cases)
        .service(read_case)
        .service(update_case);
    nrm::register(cfg);
    records::register(cfg);
    assessments::register(cfg);
    duplicates::register(cfg);
    break_glass::register(cfg);
    lifecycle::register(cfg);
    history::register(cfg);
    subject_access::register(cfg);
    documents::register(cfg);
    uploads::register(cfg);
    assignments::register(cfg);
    follow_ups::register(cfg);
}

/// Parses a JSON body into its typed input: 422 naming the field, never the value given.
pub(crate) fn parse<T: serde::de::DeserializeOwned>(
    body: &serde_json::Value,
) -> Result<T, ApiError> {
    crate::http::json_body::parse(body)
}

/// Register a case for the caller's organisation.
#[utoipa::path(
    tag = "cases",
    security(("bearer" = [])),
    params(crate::routes::contract::IdempotencyKey),
    request_body = NewCaseInput,
    responses(
        (
            status = 201,
            description = "Registered; possible duplicates you may see are listed by reference (of others you learn nothing: their holders are told)",
            body = CaseSummaryView,
            headers(("ETag" = String, description = "The record's version, to send as `If-Match`")),
        ),
        (
            status = 403,
            description = "Your role may not register cases",
            body = Problem,
            content_type = "application/problem+json",
        ),
        (
            status = 422,
            description = "Invalid input",
            body = Problem,
            content_type = "application/problem+json",
        ),
    ),
)]
#[post("/api/v1/cases")]
pub async fn create_case(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    body: web::Json<serde_json::Value>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let idempotency = service::idempotency(&state, &req, &body)?;
    let input: NewCaseInput = parse(&body)?;
    let reply = crate::cases::register(&state, caller, input, idempotency).await?;
    Ok(reply.into_response())
}

/// What to read.
#[derive(Debug, Deserialize, IntoParams)]
pub struct ReadQuery {
    /// Personal groups wanted, comma-separated (`identity,contact`); the summary always comes.
    pub groups: Option<String>,
    /// Why (required with `groups`): assistance, case_management, referral, identification,
    /// safeguarding, supervision or restriction_dispute (the one purpose a restricted case's
    /// groups are read for, by a supervisor of the owning organisation).
    #[param(value_type = Option<String>)]
    pub purpose: Option<AccessPurpose>,
}

/// Read a case: its summary, and the personal groups asked for that the caller may read.
/// Groups the caller may not read are listed in `withheld_groups`; an erased case's groups are
/// listed in `erased_groups`.
#[utoipa::path(
    tag = "cases",
    security(("bearer" = [])),
    params(("id" = String, Path), ReadQuery),
    responses(
        (status = 200, description = "The case as you may see it", body = CaseSummaryView, headers(("ETag" = String, description = "The record's version, to send as `If-Match`"))),
        (
            status = 404,
            description = "No such case, or none you may see",
            body = Problem,
            content_type = "application/problem+json",
        ),
    ),
)]
#[get("/api/v1/cases/{id}")]
pub async fn read_case(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<CaseId>,
    query: web::Query<ReadQuery>,
) -> Result<HttpResponse, ApiError> {
    let query = query.into_inner();
    let wanted = parse_groups(query.groups.as_deref())?;
    let reply = service::read_case(&state, &caller, id.into_inner(), wanted, query.purpose).await?;
    Ok(reply.into_response())
}

fn parse_groups(text: Option<&str>) -> Result<Vec<FieldGroup>, ApiError> {
    let Some(text) = text.filter(|t| !t.trim().is_empty()) else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for code in text.split(',').map(str::trim) {
        let group = FieldGroup::from_code(code).ok_or_else(|| {
            ApiError::problem(
                ProblemType::BadRequest,
                "`groups` names identity, contact, exploitation, health, legal or notes",
            )
        })?;
        if !out.contains(&group) {
            out.push(group);
        }
    }
    Ok(out)
}

/// Changes to a case.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"groups": {"health": {"pregnant": false}}, "rectification_reason": "correction"}))]
#[serde(deny_unknown_fields)]
pub struct CaseUpdateInput {
    /// A new summary (replaces the old one whole).
    pub summary: Option<SummaryInput>,
    /// Personal groups to replace (each replaces the stored group whole; the value replaced is
    /// kept in the case's history, `GET /api/v1/cases/{id}/history`).
    #[serde(default)]
    pub groups: PersonalGroups,
    /// Why the groups are changed (rectification): `correction`, `completion`,
    /// `person_request` or `update` (vocabulary `rectification_reason`). Optional; kept with
    /// each new group version. Only with `groups`.
    pub rectification_reason: Option<RectificationReason>,
}

/// Update a case's summary and personal groups. Needs `If-Match` with the case's `ETag`.
#[utoipa::path(
    tag = "cases",
    security(("bearer" = [])),
    params(
        ("id" = String, Path),
        ("If-Match" = String, Header, description = "The ETag of the version being changed"),
    ),
    request_body = CaseUpdateInput,
    responses(
        (status = 200, description = "Updated", body = CaseSummaryView, headers(("ETag" = String, description = "The record's version, to send as `If-Match`"))),
        (
            status = 404,
            description = "No such case, or none you may see",
            body = Problem,
            content_type = "application/problem+json",
        ),
        (
            status = 412,
            description = "Someone else changed the case first",
            body = Problem,
            content_type = "application/problem+json",
        ),
        (
            status = 428,
            description = "If-Match is missing",
            body = Problem,
            content_type = "application/problem+json",
        ),
    ),
)]
#[patch("/api/v1/cases/{id}")]
pub async fn update_case(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    id: web::Path<CaseId>,
    body: web::Json<serde_json::Value>,
) -> Result<HttpResponse, ApiError> {
    let expected = crate::cases::if_match(&req)?;
    let input: CaseUpdateInput = parse(&body)?;
    let summary = input.summary.map(SummaryInput::into_fields).transpose()?;
    let plaintexts = input.groups.plaintexts()?;
    if input.rectification_reason.is_some() && plaintexts.is_empty() {
        return Err(ApiError::problem(
            ProblemType::InvalidBody,
            "`rectification_reason` is given with the personal `groups` it explains",
        ));
    }
    let change = GroupChange::by(&caller.user, input.rectification_reason);
    let terms = input
        .groups
        .identity
        .as_ref()
        .map(groups::IdentityGroup::index_terms);
    let public_url = state.public_url.clone();
    let request = CaseRequest {
        id: id.into_inner(),
        action: Action::UpdateCase,
        audited_as: AuditAction::CaseUpdate,
        purpose: "case_management",
        idempotency: None,
    };
    let reply = service::act_on_case(&state, &caller, request, move |conn, access| {
        if access.case.version != expected {
            return Err(ApiError::problem(
                ProblemType::PreconditionFailed,
                "the case changed since you read it; read it again",
            ));
        }
        let mut touched = Vec::new();
        for (group, _) in &plaintexts {
            let group = FieldGroup::from_code(group.code())
                .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("unknown group")))?;
            if !access.decide(group.read_action()).allowed {
                return Err(ApiError::problem(
                    ProblemType::Forbidden,
                    format!(
                        "you may not change the `{}` group of this case",
                        group.code()
                    ),
                ));
            }
            touched.push(group);
        }
        if let Some(summary) = &summary {
            views::known_region(conn, &summary.region, "summary.region")?;
        }
        let was_child = access.case.is_child;
        let updated = match &summary {
            Some(summary) => Case::update_summary(conn, &access.case.id, expected, summary)?,
            None => Case::apply(conn, &access.case.id, expected, &CaseChanges::default())?,
        };
        let mut case = updated.ok_or_else(|| {
            ApiError::problem(
                ProblemType::PreconditionFailed,
                "the case changed since you read it",
            )
        })?;
        for (group, plain) in &plaintexts {
            access
                .vault
                .write_group_as(conn, &case.id, *group, plain, &change)
                .map_err(vault_error)?;
        }
        if let Some(terms) = &terms {
            access
                .vault
                .set_index_terms(conn, &case.id, terms)
                .map_err(vault_error)?;
        }
        if case.is_child
            && !was_child
            && case.child_protection_notified_at.is_none()
            && notify_child_protection(conn, &case, &public_url)?
        {
            case = Case::apply(
                conn,
                &case.id,
                case.version,
                &CaseChanges {
                    child_protection_notified_at: Some(Some(now_utc())),
                    ..CaseChanges::default()
                },
            )?
            .ok_or(DbError::NotFound)?;
        }
        let view = serde_json::to_value(CaseSummaryView::load(conn, &case)?)
            .map_err(|e| ApiError::Internal(e.into()))?;
        Ok(Reply::ok(view).with_version(case.version).touching(touched))
    })
    .await?;
    Ok(reply.into_response())
}

/// Filters and the cursor of the case list.
#[derive(Debug, Deserialize, IntoParams)]
pub struct ListQuery {
    /// Only this status.
    pub status: Option<CaseStatus>,
    /// Only this identification stage.
    pub stage: Option<IdentificationStage>,
    /// Only children (`true`) or adults (`false`).
    pub child: Option<bool>,
    /// Only this owning organisation.
    pub owner: Option<tumaini_db::ids::OrgId>,
    /// Only cases with an overdue decision.
    pub overdue: Option<bool>,
    /// The case with this reference.
    pub reference: Option<String>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<CaseId>,
    /// Page size (1 to 200, default 50).
    pub limit: Option<i64>,
}

/// List the cases you may see, newest first, with filters and cursor pagination.
/// Coordinators and competent-authority officers see the cases owned in their own country.
/// The list is read without taking the write lock; its audit event is written after.
#[utoipa::path(
    tag = "cases",
    security(("bearer" = [])),
    params(ListQuery),
    responses((status = 200, description = "A page", body = CasePage)),
)]
#[get("/api/v1/cases")]
pub async fn list_cases(
    state: web::Data<AppState>,
    caller: Principal,
    query: web::Query<ListQuery>,
) -> Result<web::Json<CasePage>, ApiError> {
    let query = query.into_inner();
    let reference = match query.reference.as_deref() {
        Some(text) => Some(reference::parse(text).ok_or_else(|| {
            ApiError::problem(
                ProblemType::BadRequest,
                "`reference` is not a valid case reference",
            )
        })?),
        None => None,
    };
    let filter = CaseFilter {
        status: query.status,
        stage: query.stage,
        child: query.child,
        owner: query.owner,
        overdue: query.overdue,
        reference,
    };
    let limit = query.limit.unwrap_or(50).clamp(1, 200);
    let page = crate::cases::list(&state, caller, filter, query.cursor, limit).await?;
    Ok(web::Json(page))
}
