//! National statistics with disclosure control (DESIGN.md section 10), for national
//! coordinators (every organisation) and supervisors (their own organisation). Figures come
//! from summary columns only and are protected by the server before they leave it: the caller
//! cannot switch suppression off. Every query is audited.

use actix_web::http::header;
use actix_web::{HttpResponse, get, web};
use serde::Deserialize;
use tumaini_db::ids::OrgId;
use tumaini_db::models::Organisation;
use tumaini_db::models::statistics::Dimension;
use tumaini_db::vocabulary::{OrganisationKind, Role};
use utoipa::IntoParams;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::audit::{self, Event, Outcome};
use crate::auth::Caller;
use crate::authz::{Action, OrganisationFacts};
use crate::http::{ApiError, Problem, ProblemType, with_conn};
use crate::routes::admin::authorize;
use crate::server::AppState;
use crate::statistics::{self, Table, TableRequest};

/// Registers the routes of this module.
pub fn register(cfg: &mut ServiceConfig) {
    cfg.service(statistics_table)
        .service(named_report)
        .service(export);
}

/// The named reports and their breakdowns.
const REPORTS: &[(&str, &[Dimension])] = &[
    // SDG indicator 16.2.2 numerators: detected victims by sex, age and form of exploitation.
    (
        "sdg-16-2-2",
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
        &[Dimension::Year, Dimension::Sex, Dimension::AgeGroup],
    ),
    (
        "glotip-exploitation",
        &[Dimension::Year, Dimension::ExploitationType],
    ),
    ("glotip-flows", &[Dimension::Year, Dimension::Flow]),
    // The NRM decision table: where identification stands, by year.
    (
        "nrm-decisions",
        &[Dimension::Year, Dimension::IdentificationStage],
    ),
    // Cases and anonymous notifications, by year and region.
    (
        "notifications-by-region",
        &[Dimension::Year, Dimension::Region, Dimension::RecordKind],
    ),
];

/// A table to compute.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct TableQuery {
    /// The breakdown, comma-separated: year, quarter, month, sex, age_band, age_group,
    /// citizenship, exploitation_type, exploitation_country, region, identification_stage,
    /// case_status, organisation_kind, flow, record_kind.
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
        // The organisation is chosen with `organisation`, never listed or broken down by.
        Some(Dimension::Organisation) | None => Err(bad(format!(
            "`{}` is not a dimension of the statistics",
            code.trim().chars().take(40).collect::<String>()
        ))),
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

async fn answer(
    state: &AppState,
    caller: Caller,
    mut request: TableRequest,
    organisation: Option<OrgId>,
    csv: bool,
    name: &'static str,
) -> Result<HttpResponse, ApiError> {
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
    if let Some(id) = &scope {
        request
            .filters
            .push((Dimension::Organisation, id.to_string()));
    }
    let Caller { user, context, .. } = caller;
    let table: Table = with_conn(&state.pool, move |conn| {
        conn.write_transaction(|conn| {
            let table =
                statistics::table(conn, &request)?.map_err(|refusal| bad(refusal.to_string()))?;
            audit::record_decided(
                conn,
                &context,
                Some(&user),
                Event {
                    action: name,
                    outcome: Outcome::Success,
                    resource: scope.map(|id| ("organisation", id.to_string())),
                },
                &decision,
            )?;
            Ok::<_, ApiError>(table)
        })
    })
    .await?;
    Ok(if csv {
        HttpResponse::Ok()
            .insert_header((header::CONTENT_TYPE, "text/csv; charset=utf-8"))
            .insert_header((
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"tumaini-statistics.csv\"",
            ))
            .body(statistics::csv::table(&table))
    } else {
        HttpResponse::Ok().json(table)
    })
}

/// A table of people (cases and anonymous notifications) broken down by up to five
/// dimensions, with disclosure control: every figure of fewer people than the threshold is
/// suppressed, and enough others with it that none can be recovered from a total or from
/// another query. `format=csv` answers in CSV.
#[utoipa::path(
    tag = "statistics",
    security(("bearer" = [])),
    params(TableQuery),
    responses(
        (status = 200, description = "The protected table (or CSV with `format=csv`)", body = Table),
        (status = 400, description = "An unknown dimension or a malformed filter", body = Problem, content_type = "application/problem+json"),
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
    let request = TableRequest {
        dimensions,
        filters: parse_filters(query.filters.as_deref())?,
        threshold: state.cases.statistics_threshold,
    };
    let csv = csv_wanted(query.format.as_deref())?;
    answer(
        &state,
        caller,
        request,
        query.organisation,
        csv,
        "statistics.table",
    )
    .await
}

/// A named report: `sdg-16-2-2` (SDG 16.2.2 numerators: year, sex, age group, form of
/// exploitation), `glotip-sex-age`, `glotip-exploitation`, `glotip-flows` (UNODC GLOTIP
/// breakdowns), `nrm-decisions` (identification stages by year), `notifications-by-region`
/// (cases and anonymous notifications by year and region). Same protection as any table.
#[utoipa::path(
    tag = "statistics",
    security(("bearer" = [])),
    params(("name" = String, Path), ReportQuery),
    responses(
        (status = 200, description = "The protected report (or CSV with `format=csv`)", body = Table),
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
    let Some((_, dimensions)) = REPORTS.iter().find(|(n, _)| *n == name.as_str()) else {
        return Err(ApiError::bare(ProblemType::NotFound));
    };
    let request = TableRequest {
        dimensions: dimensions.to_vec(),
        filters: parse_filters(query.filters.as_deref())?,
        threshold: state.cases.statistics_threshold,
    };
    let csv = csv_wanted(query.format.as_deref())?;
    answer(
        &state,
        caller,
        request,
        query.organisation,
        csv,
        "statistics.report",
    )
    .await
}

/// The export's format.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ExportQuery {
    /// `json` (default) or `csv`.
    pub format: Option<String>,
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
    let facts = national(caller.organisation.country.as_str());
    let decision = authorize(
        &state,
        &caller,
        Action::ReadStatistics,
        &facts,
        "statistics.export",
        || ApiError::problem(ProblemType::Forbidden, "only national coordinators export"),
    )
    .await?;
    let k = state.cases.export_k;
    let Caller { user, context, .. } = caller;
    let export = with_conn(&state.pool, move |conn| {
        conn.write_transaction(|conn| {
            let rows = tumaini_db::models::statistics::consenting_cases(
                conn,
                tumaini_db::time::now_utc(),
            )?;
            let export = crate::statistics::export::anonymise(&rows, k);
            audit::record_decided(
                conn,
                &context,
                Some(&user),
                Event {
                    action: "statistics.export",
                    outcome: Outcome::Success,
                    resource: None,
                },
                &decision,
            )?;
            Ok::<_, ApiError>(export)
        })
    })
    .await?;
    Ok(if csv {
        HttpResponse::Ok()
            .insert_header((header::CONTENT_TYPE, "text/csv; charset=utf-8"))
            .insert_header((
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"tumaini-export.csv\"",
            ))
            .body(crate::statistics::export::csv(&export))
    } else {
        HttpResponse::Ok().json(export)
    })
}
