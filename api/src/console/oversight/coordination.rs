//! The national coordinator's page: the NRM deadlines of the country's cases (from the work
//! list, `GET /api/v1/work`), the referrals overview (`crate::referrals::overview`), and a
//! statistics table chosen in a GET form (the service of `GET /api/v1/statistics/tables`),
//! every suppressed figure marked with a symbol, a legend and words for screen readers.

use actix_web::http::StatusCode;
use actix_web::web;
use maud::{Markup, html};
use serde::Deserialize;
use tumaini_db::models::statistics::{Dimension, Subject};
use tumaini_db::vocabulary::Role;

use super::statistics::{dimension_label, table_view};
use super::{case_path, due, kind_label, only};
use crate::audit::AuditAction;
use crate::auth::Principal;
use crate::console::PageResult;
use crate::console::i18n::{self, Arg, Locale, t, ta};
use crate::console::layout::{self, Field, Section, form_alert};
use crate::console::session::Staff;
use crate::http::ApiError;
use crate::referrals::{self, ReferralOverview};
use crate::state::AppState;
use crate::statistics::TableRequest;
use crate::statistics::service::{self as statistics, Figures};
use crate::work::{self, MAX_ITEMS, WorkFilter, WorkItem, WorkItemKind};

pub(super) fn register(scope: actix_web::Scope) -> actix_web::Scope {
    scope.route("/coordination", web::get().to(coordination_page))
}

/// The deadlines of the National Referral Mechanism.
const NRM_DEADLINES: [WorkItemKind; 3] = [
    WorkItemKind::ReasonableGroundsDecision,
    WorkItemKind::ConclusiveGroundsDecision,
    WorkItemKind::RecoveryPeriodEnd,
];

/// The table asked for in the form.
#[derive(Debug, Default, Deserialize)]
struct TableForm {
    #[serde(default)]
    subject: Option<String>,
    #[serde(default)]
    rows: Option<String>,
    #[serde(default)]
    columns: Option<String>,
}

/// The table the form asks for, computed and audited as the API's; `Ok(None)` when none was
/// asked for; a request the service refuses is a message for the form.
async fn table_asked(
    state: &AppState,
    staff: &Staff,
    form: &TableForm,
) -> Result<Result<Option<crate::statistics::Table>, String>, ApiError> {
    let l = staff.locale;
    let chosen: Vec<&str> = [form.rows.as_deref(), form.columns.as_deref()]
        .into_iter()
        .flatten()
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .collect();
    if chosen.is_empty() {
        return Ok(Ok(None));
    }
    let subject = match form.subject.as_deref().map(str::trim) {
        None | Some("") => Subject::People,
        Some(code) => match Subject::from_code(code) {
            Some(subject) => subject,
            None => return Ok(Err(t(l, "statistics-refused"))),
        },
    };
    let mut dimensions = Vec::new();
    for code in chosen {
        match statistics::dimension(code) {
            Ok(d) => dimensions.push(d),
            Err(_) => return Ok(Err(t(l, "statistics-refused"))),
        }
    }
    let request = TableRequest {
        subject,
        dimensions,
        filters: Vec::new(),
        threshold: state.cases.statistics_threshold,
    };
    if request.check().is_err() {
        return Ok(Err(t(l, "statistics-refused")));
    }
    let answered = statistics::answer(
        state,
        Principal::Person(staff.caller.clone()),
        None,
        AuditAction::StatisticsTable,
        move |conn, scope| statistics::count_table(conn, request, scope),
    )
    .await;
    match answered {
        Ok(Figures::Table(table)) => Ok(Ok(Some(table))),
        Ok(Figures::ResponseTimes(_)) => Ok(Ok(None)),
        Err(ApiError::Problem { kind, .. }) if kind.status() == StatusCode::BAD_REQUEST => {
            Ok(Err(t(l, "statistics-refused")))
        }
        Err(other) => Err(other),
    }
}

async fn coordination_page(
    state: web::Data<AppState>,
    staff: Staff,
    query: web::Query<TableForm>,
) -> PageResult {
    only(staff.caller.user.role, &[Role::Coordinator])?;
    let l = staff.locale;
    let form = query.into_inner();
    let filter = WorkFilter {
        limit: Some(MAX_ITEMS),
        ..WorkFilter::default()
    };
    let list = work::for_caller(&state, staff.caller.clone(), filter).await?;
    let deadlines: Vec<&WorkItem> = list
        .items
        .iter()
        .filter(|i| NRM_DEADLINES.contains(&i.kind))
        .collect();
    let overview = referrals::overview(&state, Principal::Person(staff.caller.clone())).await?;
    let table = table_asked(&state, &staff, &form).await?;
    let status = if table.is_err() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    let title = t(l, "coordination-title");
    let body = html! {
        (deadlines_section(l, &deadlines))
        (referrals_section(l, &overview))
        h2 #statistics { (t(l, "statistics-title")) }
        (statistics_form(l, &form, table.as_ref().err().map(String::as_str)))
        @if let Ok(Some(table)) = &table {
            (table_view(l, table))
        }
    };
    Ok(layout::respond(
        Some(&staff),
        status,
        layout::page(&staff, Section::Coordination, &title, body),
    ))
}

fn deadlines_section(l: Locale, deadlines: &[&WorkItem]) -> Markup {
    let overdue = deadlines.iter().filter(|i| i.overdue).count();
    html! {
        h2 #deadlines { (t(l, "coordination-deadlines")) }
        @if deadlines.is_empty() {
            p { (t(l, "coordination-no-deadlines")) }
        } @else {
            p { (ta(l, "coordination-deadline-count", &[("count", Arg::from(deadlines.len())), ("overdue", Arg::from(overdue))])) }
            table aria-labelledby="deadlines" {
                thead { tr {
                    th scope="col" { (t(l, "work-due")) }
                    th scope="col" { (t(l, "work-what")) }
                    th scope="col" { (t(l, "work-case")) }
                } }
                tbody {
                    @for item in deadlines {
                        tr.overdue[item.overdue] {
                            td { (due(l, item)) }
                            td { (kind_label(l, item.kind)) }
                            td { a href=(case_path(&item.case.id)) { (item.case.reference) } }
                        }
                    }
                }
            }
        }
    }
}

fn referrals_section(l: Locale, overview: &ReferralOverview) -> Markup {
    let n = |v: i64| i18n::number(l, v);
    html! {
        h2 #referrals { (t(l, "coordination-referrals")) }
        p.hint { (ta(l, "coordination-referrals-at", &[("at", Arg::from(i18n::date_time(l, overview.at.naive_utc())))])) }
        @if overview.organisations.is_empty() {
            p { (t(l, "coordination-no-referrals")) }
        } @else {
            table aria-labelledby="referrals" {
                thead { tr {
                    th scope="col" { (t(l, "coordination-organisation")) }
                    th scope="col" { (t(l, "coordination-received")) }
                    th scope="col" { (t(l, "coordination-open")) }
                    th scope="col" { (t(l, "coordination-overdue")) }
                    th scope="col" { (t(l, "coordination-accepted")) }
                    th scope="col" { (t(l, "coordination-declined")) }
                    th scope="col" { (t(l, "coordination-expired")) }
                    th scope="col" { (t(l, "coordination-completed")) }
                    th scope="col" { (t(l, "coordination-mean-hours")) }
                } }
                tbody {
                    @for row in &overview.organisations {
                        tr {
                            th scope="row" { (row.organisation.name) }
                            td { (n(row.received)) }
                            td { (n(row.open)) }
                            td { (n(row.overdue)) }
                            td { (n(row.accepted)) }
                            td { (n(row.declined)) }
                            td { (n(row.expired)) }
                            td { (n(row.completed)) }
                            td {
                                @match row.mean_hours_to_answer {
                                    Some(hours) => { (format!("{hours:.1}")) }
                                    None => { "—" }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn statistics_form(l: Locale, form: &TableForm, error: Option<&str>) -> Markup {
    let subjects = vec![
        ("people".to_owned(), t(l, "statistics-subject-people")),
        ("referrals".to_owned(), t(l, "statistics-subject-referrals")),
    ];
    let dimensions: Vec<(String, String)> = Dimension::ALL
        .iter()
        .filter(|d| statistics::dimension(d.code()).is_ok())
        .map(|d| (d.code().to_owned(), dimension_label(l, *d)))
        .collect();
    html! {
        (form_alert(error))
        form method="get" action="/console/coordination" aria-labelledby="statistics" {
            (Field::new("subject", &t(l, "statistics-subject")).required().select(&subjects, form.subject.as_deref().unwrap_or("people")))
            (Field::new("rows", &t(l, "statistics-rows")).required().select(&dimensions, form.rows.as_deref().unwrap_or("")))
            (Field::new("columns", &t(l, "statistics-columns")).hint(&t(l, "statistics-columns-hint")).select(&dimensions, form.columns.as_deref().unwrap_or("")))
            button type="submit" { (t(l, "statistics-show")) }
        }
    }
}
