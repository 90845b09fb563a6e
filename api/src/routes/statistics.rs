//! National statistics with disclosure control, for national
//! coordinators (every organisation) and supervisors (their own organisation). Figures come
//! from summary columns only and are protected by the server before they leave it: the caller
//! cannot switch suppression off. Every query is audited.

use actix_web::http::header;
use actix_web::{HttpResponse, get, web};
use serde::Deserialize;
use tumaini_db::ids::OrgId;
use tumaini_db::models::statistics::{Dimension, Subject};
use utoipa::IntoParams;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::audit::AuditAction;
use crate::auth::{Caller, Principal};
use crate::http::{ApiError, Problem, ProblemType};
use crate::state::AppState;
use crate::statistics::export::Export;
use crate::statistics::response_times::{self, ResponseTimes};
use crate::statistics::service::{
    self, Figures, Research, answer, bad, count_table, dimension, organisation_names,
};
use crate::statistics::{self, Table, TableRequest};

/// Registers the routes of this module.
pub fn register(cfg: &mut ServiceConfig) {
    // The answer times first: its path would otherwise match `reports/{name}`.
    cfg.service(statistics_table)
        .service(referral_response_times)
        .service(named_report)
        .service(export)
        .service(research_export);
}

/// The named reports: what each counts and its breakdown.
const REPORTS: &[(&str, Subject, &[Dimension])] = &[
    // SDG indicator 16.2.2 numerators: detected victims by sex, age and form of exploitation.
    (
        "sdg-16-2-2",
        Subject::People,
        &[
            Dimension::Year,
            Dimension::Sex,
            Dimension::AgeGroup,
            Dimension::ExploitationType,
        ],
    ),
    // UNODC GLOTIP: victims by sex and age group; by form of exploitation; by flow.
    (
        "glotip-sex-age",
        Subject::People,
        &[Dimension::Year, Dimension::Sex, Dimension::AgeGroup],
    ),
    (
        "glotip-exploitation",
        Subject::People,
        &[Dimension::Year, Dimension::ExploitationType],
    ),
    (
        "glotip-flows",
        Subject::People,
        &[Dimension::Year, Dimension::Flow],
    ),
    // The NRM decision table: where identification stands, by year.
    (
        "nrm-decisions",
        Subject::People,
        &[Dimension::Year, Dimension::IdentificationStage],
    ),
    // Cases and anonymous notifications, by year and region.
    (
        "notifications-by-region",
        Subject::People,
        &[Dimension::Year, Dimension::Region, Dimension::RecordKind],
    ),
    // Referral outcomes by year and urgency, at home and across borders.
    (
        "referral-outcomes",
        Subject::Referrals,
        &[
            Dimension::Year,
            Dimension::ReferralFlow,
            Dimension::Urgency,
            Dimension::ReferralState,
        ],
    ),
    // Referral performance per receiving organisation: what became of the referrals it received.
    (
        "referral-performance",
        Subject::Referrals,
        &[Dimension::Organisation, Dimension::ReferralState],
    ),
];

/// A table to compute.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct TableQuery {
    /// What is counted: `people` (default: cases and anonymous notifications) or `referrals`
    /// (for which the period is the month sent, `organisation_kind` the receiving
    /// organisation's, and the person's dimensions those of the case referred).
    pub subject: Option<String>,
    /// The breakdown, comma-separated: year, quarter, month, sex, age_band, age_group,
    /// citizenship, exploitation_type, exploitation_country, region, identification_stage,
    /// case_status, organisation_kind, flow; for people also record_kind; for referrals also
    /// urgency, referral_state and referral_flow.
    pub dimensions: Option<String>,
    /// Fixed values, comma-separated `dimension:value`, e.g. `year:2026,sex:female`.
    pub filters: Option<String>,
    /// One organisation's figures (a supervisor's own organisation is the default and the only
    /// one allowed; coordinators may name any, or none for the national figures).
    pub organisation: Option<OrgId>,
    /// `json` (default) or `csv`.
    pub format: Option<String>,
}

/// What a report or table asks for, with the scope.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ReportQuery {
    /// Fixed values, comma-separated `dimension:value`, e.g. `year:2026`.
    pub filters: Option<String>,
    /// One organisation's figures (see the tables endpoint).
    pub organisation: Option<OrgId>,
    /// `json` (default) or `csv`.
    pub format: Option<String>,
}

fn parse_filters(text: Option<&str>) -> Result<Vec<(Dimension, String)>, ApiError> {
    let Some(text) = text.filter(|t| !t.trim().is_empty()) else {
        return Ok(Vec::new());
    };
    text.split(',')
        .map(|part| {
            let (d, value) = part
                .split_once(':')
                .ok_or_else(|| bad("a filter is `dimension:value`".to_owned()))?;
            let value = value.trim();
            if value.is_empty()
                || value.chars().count() > 100
                || value.chars().any(char::is_control)
            {
                return Err(bad("a filter's value is 1 to 100 characters".to_owned()));
            }
            Ok((dimension(d)?, value.to_owned()))
        })
        .collect()
}

fn csv_wanted(format: Option<&str>) -> Result<bool, ApiError> {
    match format {
        None | Some("json") => Ok(false),
        Some("csv") => Ok(true),
        Some(_) => Err(bad("`format` is `json` or `csv`".to_owned())),
    }
}

/// A CSV body, to be saved as `filename`.
fn csv_attachment(body: String, filename: &str) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/csv; charset=utf-8"))
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{filename}\""),
        ))
        .body(body)
}

/// The export: JSON, or CSV with `format=csv`.
fn export_response(made: Export, csv: bool) -> HttpResponse {
    if csv {
        csv_attachment(statistics::export::csv(&made), "tumaini-export.csv")
    } else {
        HttpResponse::Ok().json(made)
    }
}

/// The answer: JSON, or CSV with `format=csv`.
fn respond(figures: Figures, csv: bool) -> HttpResponse {
    if csv {
        let body = match &figures {
            Figures::Table(table) => statistics::csv::table(table),
            Figures::ResponseTimes(times) => response_times::csv(times),
        };
        return csv_attachment(body, "tumaini-statistics.csv");
    }
    match figures {
        Figures::Table(table) => HttpResponse::Ok().json(table),
        Figures::ResponseTimes(times) => HttpResponse::Ok().json(times),
    }
}

/// Checks a request at the edge, before anything is counted or audited.
fn checked(request: TableRequest) -> Result<TableRequest, ApiError> {
    request
        .check()
        .map_err(|refusal| bad(refusal.to_string()))?;
    Ok(request)
}

fn subject(code: Option<&str>) -> Result<Subject, ApiError> {
    match code {
        None => Ok(Subject::People),
        Some(code) => Subject::from_code(code.trim())
            .ok_or_else(|| bad("`subject` is `people` or `referrals`".to_owned())),
    }
}

/// A table of people (cases and anonymous notifications), or of referrals, broken down by up
/// to five dimensions, with disclosure control: every figure below the threshold is
/// suppressed, and enough others with it that none can be recovered from a total or from
/// another query. `format=csv` answers in CSV.
#[utoipa::path(
    tag = "statistics",
    security(("bearer" = [])),
    params(TableQuery),
    responses(
        (
            status = 200,
            description = "The protected table (or CSV with `format=csv`)",
            content((Table = "application/json"), (String = "text/csv")),
        ),
        (
            status = 400,
            description = "An unknown subject or dimension, a malformed filter, or too fine a breakdown",
            body = Problem,
            content_type = "application/problem+json",
        ),
        (
            status = 403,
            description = "Your role may not read these statistics",
            body = Problem,
            content_type = "application/problem+json",
        ),
        (
            status = 404,
            description = "No such organisation",
            body = Problem,
            content_type = "application/problem+json",
        ),
    ),
)]
#[get("/api/v1/statistics/tables")]
pub async fn statistics_table(
    state: web::Data<AppState>,
    caller: Principal,
    query: web::Query<TableQuery>,
) -> Result<HttpResponse, ApiError> {
    let query = query.into_inner();
    let dimensions = match query.dimensions.as_deref().filter(|d| !d.trim().is_empty()) {
        Some(text) => text
            .split(',')
            .map(dimension)
            .collect::<Result<Vec<_>, _>>()?,
        None => Vec::new(),
    };
    let request = checked(TableRequest {
        subject: subject(query.subject.as_deref())?,
        dimensions,
        filters: parse_filters(query.filters.as_deref())?,
        threshold: state.cases.statistics_threshold,
    })?;
    let csv = csv_wanted(query.format.as_deref())?;
    let figures = answer(
        &state,
        caller,
        query.organisation,
        AuditAction::StatisticsTable,
        move |conn, scope| count_table(conn, request, scope),
    )
    .await?;
    Ok(respond(figures, csv))
}

/// How quickly each receiving organisation answers referrals: the mean and median hours from
/// sending to accepting or declining, published for an organisation that answered at least the
/// threshold's number (and never for one alone beside the national figure). How many each
/// answered is not published: with the outcome tables it would undo their suppression.
/// Coordinators see every organisation and the nation, a supervisor their own organisation.
#[utoipa::path(
    tag = "statistics",
    security(("bearer" = [])),
    params(ResponseTimesQuery),
    responses(
        (
            status = 200,
            description = "The answer times (or CSV with `format=csv`)",
            content((ResponseTimes = "application/json"), (String = "text/csv")),
        ),
        (
            status = 403,
            description = "Your role may not read these statistics",
            body = Problem,
            content_type = "application/problem+json",
        ),
        (
            status = 404,
            description = "No such organisation",
            body = Problem,
            content_type = "application/problem+json",
        ),
    ),
)]
#[get("/api/v1/statistics/reports/referral-response-times")]
pub async fn referral_response_times(
    state: web::Data<AppState>,
    caller: Principal,
    query: web::Query<ResponseTimesQuery>,
) -> Result<HttpResponse, ApiError> {
    let query = query.into_inner();
    let csv = csv_wanted(query.format.as_deref())?;
    let threshold = state.cases.statistics_threshold;
    let figures = answer(
        &state,
        caller,
        query.organisation,
        AuditAction::StatisticsReport,
        move |conn, scope| {
            let answers =
                tumaini_db::models::statistics::referral_answer_seconds(conn, scope.country)?;
            let names = organisation_names(conn)?;
            let scope = scope.organisation.map(ToString::to_string);
            Ok(Ok(Figures::ResponseTimes(response_times::build(
                &answers,
                &names,
                scope.as_deref(),
                threshold,
            ))))
        },
    )
    .await?;
    Ok(respond(figures, csv))
}

/// The scope and format of the answer-times report.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ResponseTimesQuery {
    /// One organisation's figures (see the tables endpoint).
    pub organisation: Option<OrgId>,
    /// `json` (default) or `csv`.
    pub format: Option<String>,
}

/// A named report: `sdg-16-2-2` (SDG 16.2.2 numerators: year, sex, age group, form of
/// exploitation), `glotip-sex-age`, `glotip-exploitation`, `glotip-flows` (UNODC GLOTIP
/// breakdowns), `nrm-decisions` (identification stages by year), `notifications-by-region`
/// (cases and anonymous notifications by year and region), `referral-outcomes` (referrals by
/// year, domestic or cross-border, urgency and state) and `referral-performance` (per receiving
/// organisation, what became of its referrals). Same protection as any table. (How quickly
/// organisations answer is `reports/referral-response-times`.)
#[utoipa::path(
    tag = "statistics",
    security(("bearer" = [])),
    params(("name" = String, Path), ReportQuery),
    responses(
        (
            status = 200,
            description = "The protected report (or CSV with `format=csv`)",
            content((Table = "application/json"), (String = "text/csv")),
        ),
        (
            status = 400,
            description = "A malformed filter",
            body = Problem,
            content_type = "application/problem+json",
        ),
        (
            status = 403,
            description = "Your role may not read these statistics",
            body = Problem,
            content_type = "application/problem+json",
        ),
        (
            status = 404,
            description = "No such report or organisation",
            body = Problem,
            content_type = "application/problem+json",
        ),
    ),
)]
#[get("/api/v1/statistics/reports/{name}")]
pub async fn named_report(
    state: web::Data<AppState>,
    caller: Principal,
    name: web::Path<String>,
    query: web::Query<ReportQuery>,
) -> Result<HttpResponse, ApiError> {
    let query = query.into_inner();
    let csv = csv_wanted(query.format.as_deref())?;
    let threshold = state.cases.statistics_threshold;
    let Some((_, subject, dimensions)) = REPORTS.iter().find(|(n, ..)| *n == name.as_str()) else {
        return Err(ApiError::bare(ProblemType::NotFound));
    };
    let request = checked(TableRequest {
        subject: *subject,
        dimensions: dimensions.to_vec(),
        filters: parse_filters(query.filters.as_deref())?,
        threshold,
    })?;
    let figures = answer(
        &state,
        caller,
        query.organisation,
        AuditAction::StatisticsReport,
        move |conn, scope| count_table(conn, request, scope),
    )
    .await?;
    Ok(respond(figures, csv))
}

/// The export's format.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ExportQuery {
    /// `json` (default) or `csv`.
    pub format: Option<String>,
}

/// What a research export names: the research agreement it is made under.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ResearchExportQuery {
    /// The reference of the data-sharing agreement the export is made under (3 to 64 letters,
    /// digits and `-_./`; never a person's name), recorded in the audit trail.
    pub agreement: String,
    /// `json` (default) or `csv`.
    pub format: Option<String>,
}

/// A research export asked for: its agreement, and the k configured (none: not configured).
#[utoipa::path(
    tag = "statistics",
    security(("bearer" = [])),
    params(ExportQuery),
    responses(
        (
            status = 200,
            description = "The export (or CSV with `format=csv`)",
            content((crate::statistics::export::Export = "application/json"), (String = "text/csv")),
        ),
        (
            status = 403,
            description = "Only national coordinators export",
            body = Problem,
            content_type = "application/problem+json",
        ),
    ),
)]
#[get("/api/v1/statistics/export")]
pub async fn export(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<ExportQuery>,
) -> Result<HttpResponse, ApiError> {
    let csv = csv_wanted(query.format.as_deref())?;
    let k = state.cases.export_k;
    let made = service::export(&state, caller, k, AuditAction::StatisticsExport, None).await?;
    Ok(export_response(made, csv))
}

/// The research export: the same de-identified export with the lower k the deployment
/// configured for research (`TUMAINI_RESEARCH_EXPORT_K`), under one of the data-sharing
/// agreements it approved (`TUMAINI_RESEARCH_AGREEMENTS`). Only national coordinators; each
/// one, made or refused, is a high-severity audit event naming the agreement. Where no research
/// k is configured there is no research export (404): the disclosure control of statistics and
/// exports is otherwise fixed by the server, for every caller.
#[utoipa::path(
    tag = "statistics",
    security(("bearer" = [])),
    params(ResearchExportQuery),
    responses(
        (
            status = 200,
            description = "The export (or CSV with `format=csv`)",
            content((crate::statistics::export::Export = "application/json"), (String = "text/csv")),
        ),
        (
            status = 400,
            description = "A malformed agreement reference",
            body = Problem,
            content_type = "application/problem+json",
        ),
        (
            status = 403,
            description = "Only national coordinators export, under an approved agreement",
            body = Problem,
            content_type = "application/problem+json",
        ),
        (
            status = 404,
            description = "No research export is configured",
            body = Problem,
            content_type = "application/problem+json",
        ),
    ),
)]
#[get("/api/v1/statistics/research-export")]
pub async fn research_export(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<ResearchExportQuery>,
) -> Result<HttpResponse, ApiError> {
    let query = query.into_inner();
    let csv = csv_wanted(query.format.as_deref())?;
    let agreement = query.agreement.trim();
    if !crate::config::is_agreement_reference(agreement) {
        return Err(bad(
            "`agreement` is the agreement's reference: 3 to 64 letters, digits and `-_./`"
                .to_owned(),
        ));
    }
    let research = Research {
        agreement: agreement.to_owned(),
        k: state.cases.research_export_k,
        approved: state
            .cases
            .research_agreements
            .iter()
            .any(|a| a == agreement),
    };
    let k = state.cases.export_k;
    let made = service::export(
        &state,
        caller,
        k,
        AuditAction::StatisticsResearchExport,
        Some(research),
    )
    .await?;
    Ok(export_response(made, csv))
}
