//! National statistics with disclosure control, for national
//! coordinators (every organisation) and supervisors (their own organisation). Figures come
//! from summary columns only and are protected by the server before they leave it: the caller
//! cannot switch suppression off. Every query is audited.

use std::collections::BTreeMap;

use actix_web::http::header;
use actix_web::{HttpResponse, get, web};
use serde::Deserialize;
use tumaini_db::DbConn;
use tumaini_db::country::CountryCode;
use tumaini_db::ids::OrgId;
use tumaini_db::models::Organisation;
use tumaini_db::models::statistics::{Dimension, Subject};
use tumaini_db::vocabulary::region;
use tumaini_db::vocabulary::{OrganisationKind, Role};
use utoipa::IntoParams;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::audit::AuditAction;
use crate::audit::{self, Event, Outcome};
use crate::auth::Caller;
use crate::authz::{Action, OrganisationFacts};
use crate::guarded::authorize;
use crate::http::{ApiError, Problem, ProblemType, with_conn};
use crate::state::AppState;
use crate::statistics::response_times::{self, ResponseTimes};
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

fn bad(detail: String) -> ApiError {
    ApiError::problem(ProblemType::BadRequest, detail)
}

fn dimension(code: &str) -> Result<Dimension, ApiError> {
    match Dimension::from_code(code.trim()) {
        // The organisation is chosen with `organisation`, never listed or broken down by. What
        // was given is not repeated: a query string may hold anything.
        Some(Dimension::Organisation) | None => Err(bad(
            "a dimension named is not one of the statistics (see the `dimensions` parameter)"
                .to_owned(),
        )),
        Some(d) => Ok(d),
    }
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

/// The national figures are decided on the coordination office as a whole, which no
/// organisation's supervisor holds.
fn national(country: &str) -> OrganisationFacts {
    OrganisationFacts {
        id: "national".to_owned(),
        kind: OrganisationKind::CoordinationOffice,
        country: country.to_owned(),
        active: true,
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

/// What an answer holds.
enum Figures {
    /// A count table.
    Table(Table),
    /// Referral answer times.
    ResponseTimes(ResponseTimes),
}

impl Figures {
    fn respond(self, csv: bool) -> HttpResponse {
        if csv {
            let body = match &self {
                Self::Table(table) => statistics::csv::table(table),
                Self::ResponseTimes(times) => response_times::csv(times),
            };
            return csv_attachment(body, "tumaini-statistics.csv");
        }
        match self {
            Self::Table(table) => HttpResponse::Ok().json(table),
            Self::ResponseTimes(times) => HttpResponse::Ok().json(times),
        }
    }
}

/// The names of organisations by id, for reports broken down by organisation.
fn organisation_names(conn: &mut DbConn) -> Result<BTreeMap<String, String>, ApiError> {
    Ok(Organisation::list(conn)?
        .into_iter()
        .map(|org| (org.id.to_string(), org.name))
        .collect())
}

/// What computing the figures gave: the figures, or a refusal to say in a 400 (audited as
/// denied).
type Computed = Result<Figures, String>;

/// Whose figures: one organisation's (a supervisor's own, or one a coordinator named), and
/// within a coordinator's jurisdiction (the records held in their country).
#[derive(Debug, Clone, Copy)]
struct Scope<'a> {
    organisation: Option<&'a OrgId>,
    country: Option<&'a CountryCode>,
}

/// Decides whether the caller may read statistics of `organisation` (none: the national ones;
/// a supervisor's own organisation is the default), computes the figures with `compute` (given
/// the organisation in scope), and audits the query. The counting only reads; the audit event
/// is written once it is done, in its own short write transaction, and nothing is answered
/// unless it was written (so an SQLite database is not locked for writers while a large table
/// is counted).
async fn answer<F>(
    state: &AppState,
    caller: Caller,
    organisation: Option<OrgId>,
    name: AuditAction,
    compute: F,
) -> Result<Figures, ApiError>
where
    F: FnOnce(&mut DbConn, Scope<'_>) -> Result<Computed, ApiError> + Send + 'static,
{
    let jurisdiction =
        (caller.user.role == Role::Coordinator).then_some(caller.organisation.country);
    let scope = match organisation {
        Some(id) => Some(id),
        None if caller.user.role == Role::Coordinator => None,
        None => Some(caller.organisation.id.clone()),
    };
    let facts = match &scope {
        None => national(caller.organisation.country.as_str()),
        Some(id) => {
            let id = id.clone();
            match with_conn(&state.pool, move |conn| Ok(Organisation::find(conn, &id)?)).await {
                Ok(org) => OrganisationFacts::from(&org),
                Err(_) => return Err(ApiError::bare(ProblemType::NotFound)),
            }
        }
    };
    let decision = authorize(state, &caller, Action::ReadStatistics, &facts, name, || {
        ApiError::problem(
            ProblemType::Forbidden,
            "your role may not read these statistics",
        )
    })
    .await?;
    let Caller { user, context, .. } = caller;
    let computed = with_conn(&state.pool, move |conn| {
        let computed = compute(
            conn,
            Scope {
                organisation: scope.as_ref(),
                country: jurisdiction.as_ref(),
            },
        )?;
        conn.write_transaction(|conn| {
            audit::record_decided(
                conn,
                &context,
                Some(&user),
                Event {
                    action: name,
                    outcome: if computed.is_ok() {
                        Outcome::Success
                    } else {
                        Outcome::Denied
                    },
                    resource: scope.map(|id| ("organisation", id.to_string())),
                },
                &decision,
            )
        })?;
        Ok::<_, ApiError>(computed)
    })
    .await?;
    computed.map_err(bad)
}

/// Computes the protected table of `request`, within `scope`; organisations and regions named
/// by the table are labelled with their names.
fn count_table(
    conn: &mut DbConn,
    mut request: TableRequest,
    scope: Scope<'_>,
) -> Result<Computed, ApiError> {
    if let Some(id) = scope.organisation {
        request
            .filters
            .push((Dimension::Organisation, id.to_string()));
    }
    let mut table = match statistics::table(conn, &request, scope.country)? {
        Ok(table) => table,
        Err(refusal) => return Ok(Err(refusal.to_string())),
    };
    for (at, dimension) in request.dimensions.iter().enumerate() {
        let named = table.values.get(at).cloned().unwrap_or_default();
        let names: BTreeMap<String, String> = match dimension {
            Dimension::Organisation => organisation_names(conn)?,
            Dimension::Region => region::names(conn, &named)?.into_iter().collect(),
            _ => continue,
        };
        table.labels.extend(
            named
                .iter()
                .filter_map(|id| names.get(id).map(|name| (id.clone(), name.clone()))),
        );
    }
    Ok(Ok(Figures::Table(table)))
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
        (status = 200, description = "The protected table (or CSV with `format=csv`)", body = Table),
        (status = 400, description = "An unknown subject or dimension, a malformed filter, or too fine a breakdown", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Your role may not read these statistics", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such organisation", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/api/v1/statistics/tables")]
pub async fn statistics_table(
    state: web::Data<AppState>,
    caller: Caller,
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
    Ok(figures.respond(csv))
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
        (status = 200, description = "The answer times (or CSV with `format=csv`)", body = ResponseTimes),
        (status = 403, description = "Your role may not read these statistics", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such organisation", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/api/v1/statistics/reports/referral-response-times")]
pub async fn referral_response_times(
    state: web::Data<AppState>,
    caller: Caller,
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
    Ok(figures.respond(csv))
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
        (status = 200, description = "The protected report (or CSV with `format=csv`)", body = Table),
        (status = 400, description = "A malformed filter", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Your role may not read these statistics", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such report or organisation", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/api/v1/statistics/reports/{name}")]
pub async fn named_report(
    state: web::Data<AppState>,
    caller: Caller,
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
    Ok(figures.respond(csv))
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
struct Research {
    agreement: String,
    k: Option<usize>,
    approved: bool,
}

/// Makes the de-identified export with `k`, audited as `action`. A research export is decided
/// like any export, then refused (404) where none is configured and (403) under an agreement
/// not approved in the configuration; made or refused, it is a high-severity event naming the
/// agreement.
async fn run_export(
    state: &AppState,
    caller: Caller,
    csv: bool,
    k: usize,
    action: AuditAction,
    research: Option<Research>,
) -> Result<HttpResponse, ApiError> {
    let facts = national(caller.organisation.country.as_str());
    let decision = authorize(
        state,
        &caller,
        Action::ReadStatistics,
        &facts,
        action,
        || ApiError::problem(ProblemType::Forbidden, "only national coordinators export"),
    )
    .await?;
    let Caller { user, context, .. } = caller;
    let refusal = research.as_ref().and_then(|r| match (r.k, r.approved) {
        (None, _) => Some(ApiError::problem(
            ProblemType::NotFound,
            "no research export is configured on this server (TUMAINI_RESEARCH_EXPORT_K)",
        )),
        (Some(_), false) => Some(ApiError::problem(
            ProblemType::Forbidden,
            "this agreement is not one the research export may be made under \
             (TUMAINI_RESEARCH_AGREEMENTS)",
        )),
        (Some(_), true) => None,
    });
    let k = research.as_ref().and_then(|r| r.k).unwrap_or(k);
    let agreement = research.map(|r| r.agreement);
    let refused = refusal.is_some();
    // The export holds the cases owned in the coordinator's own country only.
    let jurisdiction = caller.organisation.country;
    let made = with_conn(&state.pool, move |conn| {
        let made = if refused {
            None
        } else {
            let rows = tumaini_db::models::statistics::consenting_cases(
                conn,
                tumaini_db::time::now_utc(),
                Some(&jurisdiction),
            )?;
            Some(crate::statistics::export::anonymise(&rows, k))
        };
        conn.write_transaction(|conn| {
            let research = agreement.is_some();
            let event = Event {
                action,
                outcome: if refused {
                    Outcome::Denied
                } else {
                    Outcome::Success
                },
                resource: agreement.map(|a| ("research_agreement", a)),
            };
            if research {
                audit::record_decided_high(conn, &context, Some(&user), event, &decision)
            } else {
                audit::record_decided(conn, &context, Some(&user), event, &decision)
            }
        })?;
        Ok::<_, ApiError>(made)
    })
    .await?;
    if let Some(refusal) = refusal {
        return Err(refusal);
    }
    let Some(made) = made else {
        return Err(ApiError::bare(ProblemType::NotFound));
    };
    Ok(if csv {
        csv_attachment(crate::statistics::export::csv(&made), "tumaini-export.csv")
    } else {
        HttpResponse::Ok().json(made)
    })
}

/// The de-identified case-level export in CTDC field names, k-anonymous over year, gender,
/// age, citizenship and country of exploitation (generalised, then suppressed, by the server),
/// of the cases whose consent covers statistical use (national coordinators).
#[utoipa::path(
    tag = "statistics",
    security(("bearer" = [])),
    params(ExportQuery),
    responses(
        (status = 200, description = "The export (or CSV with `format=csv`)", body = crate::statistics::export::Export),
        (status = 403, description = "Only national coordinators export", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/api/v1/statistics/export")]
pub async fn export(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<ExportQuery>,
) -> Result<HttpResponse, ApiError> {
    let csv = csv_wanted(query.format.as_deref())?;
    let k = state.cases.export_k;
    run_export(&state, caller, csv, k, AuditAction::StatisticsExport, None).await
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
        (status = 200, description = "The export (or CSV with `format=csv`)", body = crate::statistics::export::Export),
        (status = 400, description = "A malformed agreement reference", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Only national coordinators export, under an approved agreement", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No research export is configured", body = Problem, content_type = "application/problem+json"),
    )
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
    run_export(
        &state,
        caller,
        csv,
        k,
        AuditAction::StatisticsResearchExport,
        Some(research),
    )
    .await
}
