//! Break-glass: emergency access to named personal groups of one case, for a limited time, with
//! a written justification, through `crate::cases::break_glass::open_break_glass`. Before and
//! after, the page says plainly how long the access lasts (the expiry in East Africa Time),
//! that opening it is a high-severity audit event, that the coordinators and the supervisors are
//! told, and that it is reviewed. Only those the policies let open break-glass on the case see
//! the form (`OpenBreakGlass`, asked first); a case they may not see is the console's 404.

use actix_web::http::StatusCode;
use actix_web::web;
use chrono::NaiveDateTime;
use maud::{Markup, html};
use serde::Deserialize;
use tumaini_db::ids::CaseId;
use tumaini_db::models::break_glass::BreakGlassGrant;
use tumaini_db::time::now_utc;

use super::case_path;
use crate::audit::AuditAction;
use crate::authz::Action;
use crate::cases::break_glass::{BreakGlassInput, open_break_glass};
use crate::cases::{self as service, CaseRequest};
use crate::console::PageResult;
use crate::console::i18n::{self, Arg, t, ta};
use crate::console::layout::{self, Field, Section, checkboxes, csrf_field, form_alert};
use crate::console::session::Staff;
use crate::http::{ApiError, ProblemType, with_conn};
use crate::state::AppState;

pub(super) fn register(scope: actix_web::Scope) -> actix_web::Scope {
    scope
        .route("/cases/{id}/break-glass", web::get().to(break_glass_page))
        .route(
            "/cases/{id}/break-glass",
            web::post().to(break_glass_submit),
        )
}

/// The personal groups break-glass may open, in the order the form lists them.
const GROUPS: [&str; 6] = [
    "identity",
    "contact",
    "exploitation",
    "health",
    "legal",
    "notes",
];

/// The durations offered, in minutes (those up to the configured maximum).
const DURATIONS: [u64; 8] = [15, 30, 60, 120, 240, 480, 720, 1440];

/// The shortest justification the service accepts (stated in the hint).
const MIN_JUSTIFICATION: i64 = 30;

#[derive(Debug, Deserialize)]
struct Opened {
    #[serde(default)]
    opened: Option<String>,
}

/// What the last attempt sent, to show again with its error.
#[derive(Debug, Default)]
struct Attempt {
    groups: Vec<String>,
    justification: String,
    minutes: String,
    error: Option<String>,
}

fn max_minutes(state: &AppState) -> u64 {
    (state.cases.break_glass_max.as_secs() / 60).max(1)
}

fn duration_options(locale: i18n::Locale, max: u64) -> Vec<(String, String)> {
    let mut minutes: Vec<u64> = DURATIONS.iter().copied().filter(|m| *m <= max).collect();
    if minutes.last() != Some(&max) && !DURATIONS.contains(&max) {
        minutes.push(max);
    }
    minutes
        .into_iter()
        .map(|m| (m.to_string(), duration_label(locale, m)))
        .collect()
}

fn duration_label(locale: i18n::Locale, minutes: u64) -> String {
    let n = i64::try_from(minutes).unwrap_or(i64::MAX);
    if minutes >= 60 && minutes.is_multiple_of(60) {
        ta(
            locale,
            "emergency-access-hours",
            &[("count", Arg::from(n / 60))],
        )
    } else {
        ta(
            locale,
            "emergency-access-minutes",
            &[("count", Arg::from(n))],
        )
    }
}

/// Asks the policies whether the caller may open break-glass on the case (a refusal is audited
/// and answered as the API answers it); nothing is written when they may.
async fn may_open(state: &AppState, staff: &Staff, id: &CaseId) -> Result<(), ApiError> {
    let request = CaseRequest {
        id: id.clone(),
        action: Action::OpenBreakGlass,
        audited_as: AuditAction::CaseBreakGlassOpen,
        purpose: "break_glass",
        idempotency: None,
    };
    service::check_case_action(state, &staff.caller, request, None).await
}

/// The caller's own openings of the case still in force: when each ends, and what it opens.
async fn open_now(
    state: &AppState,
    staff: &Staff,
    id: &CaseId,
) -> Result<Vec<(NaiveDateTime, Vec<String>)>, ApiError> {
    let (case, user) = (id.clone(), staff.caller.user.id.clone());
    let grants = with_conn(&state.pool, move |conn| {
        Ok(BreakGlassGrant::for_case(conn, &case)?)
    })
    .await?;
    let now = now_utc();
    Ok(grants
        .into_iter()
        .filter(|g| g.user_id == user && g.expires_at > now)
        .map(|g| {
            let groups = g.field_groups.split(',').map(str::to_owned).collect();
            (g.expires_at, groups)
        })
        .collect())
}

fn group_label(locale: i18n::Locale, code: &str) -> String {
    t(locale, &format!("emergency-access-group-{code}"))
}

/// What break-glass means, said before the form and after the opening.
fn rules(staff: &Staff, max: u64) -> Markup {
    let l = staff.locale;
    html! {
        div.caution #break-glass-rules {
            p { strong { (t(l, "emergency-access-emergency")) } }
            ul {
                li { (ta(l, "emergency-access-rule-time", &[("limit", Arg::from(duration_label(l, max)))])) }
                li { (t(l, "emergency-access-rule-audit")) }
                li { (t(l, "emergency-access-rule-told")) }
                li { (t(l, "emergency-access-rule-review")) }
            }
        }
    }
}

async fn render(
    state: &AppState,
    staff: &Staff,
    id: CaseId,
    status: StatusCode,
    opened: bool,
    attempt: Attempt,
) -> PageResult {
    let l = staff.locale;
    may_open(state, staff, &id).await?;
    let open = open_now(state, staff, &id).await?;
    let max = max_minutes(state);
    let group_options: Vec<(String, String)> = GROUPS
        .iter()
        .map(|g| ((*g).to_owned(), group_label(l, g)))
        .collect();
    let minutes = if attempt.minutes.is_empty() {
        duration_options(l, max)
            .iter()
            .rev()
            .find(|(m, _)| m.parse::<u64>().is_ok_and(|m| m <= 60))
            .map(|(m, _)| m.clone())
            .unwrap_or_default()
    } else {
        attempt.minutes.clone()
    };
    let title = t(l, "emergency-access-title");
    let body = html! {
        p { a href=(case_path(&id)) { (t(l, "oversight-back-to-case")) } }
        // The notice only while an opening is in force: the address alone proves nothing.
        @if opened && !open.is_empty() {
            div.notice role="status" {
                p { strong { (t(l, "emergency-access-opened")) } }
            }
        }
        @if !open.is_empty() {
            h2 #open-now { (t(l, "emergency-access-open-now")) }
            table aria-labelledby="open-now" {
                thead { tr {
                    th scope="col" { (t(l, "emergency-access-groups")) }
                    th scope="col" { (t(l, "emergency-access-until")) }
                } }
                tbody {
                    @for (until, groups) in &open {
                        tr {
                            td { (groups.iter().map(|g| group_label(l, g)).collect::<Vec<_>>().join(", ")) }
                            td { strong.expiry { (i18n::date_time(l, *until)) " " (t(l, "emergency-access-eat")) } }
                        }
                    }
                }
            }
            p { (t(l, "emergency-access-closes-itself")) }
        }
        (rules(staff, max))
        h2 #open-form { (t(l, "emergency-access-form")) }
        (form_alert(attempt.error.as_deref()))
        form method="post" action=(format!("{}/break-glass", case_path(&id))) aria-labelledby="open-form" {
            (csrf_field(&staff.csrf))
            (checkboxes("groups", &t(l, "emergency-access-groups-legend"), &group_options, &attempt.groups, None))
            (Field::new("justification", &t(l, "emergency-access-justification"))
                .hint(&ta(l, "emergency-access-justification-hint", &[("min", Arg::from(MIN_JUSTIFICATION))]))
                .required()
                .textarea(&attempt.justification))
            (Field::new("minutes", &t(l, "emergency-access-duration"))
                .hint(&ta(l, "emergency-access-duration-hint", &[("limit", Arg::from(duration_label(l, max)))]))
                .required()
                .select(&duration_options(l, max), &minutes))
            button.warning type="submit" aria-describedby="break-glass-rules" { (t(l, "emergency-access-submit")) }
        }
    };
    Ok(layout::respond(
        Some(staff),
        status,
        layout::page(staff, Section::Cases, &title, body),
    ))
}

async fn break_glass_page(
    state: web::Data<AppState>,
    staff: Staff,
    id: web::Path<CaseId>,
    query: web::Query<Opened>,
) -> PageResult {
    let opened = query.opened.is_some();
    render(
        &state,
        &staff,
        id.into_inner(),
        StatusCode::OK,
        opened,
        Attempt::default(),
    )
    .await
}

async fn break_glass_submit(
    state: web::Data<AppState>,
    staff: Staff,
    id: web::Path<CaseId>,
    form: web::Form<Vec<(String, String)>>,
) -> PageResult {
    let fields = form.into_inner();
    let value = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    staff.check(&value("csrf"))?;
    let id = id.into_inner();
    let l = staff.locale;
    let groups: Vec<String> = fields
        .iter()
        .filter(|(k, _)| k == "groups")
        .map(|(_, v)| v.clone())
        .collect();
    let justification = value("justification");
    let minutes_text = value("minutes");
    let max = max_minutes(&state);
    let refused = |attempt_error: String| Attempt {
        groups: groups.clone(),
        justification: justification.clone(),
        minutes: minutes_text.clone(),
        error: Some(attempt_error),
    };
    let invalid = ta(
        l,
        "emergency-access-invalid",
        &[
            ("min", Arg::from(MIN_JUSTIFICATION)),
            ("limit", Arg::from(duration_label(l, max))),
        ],
    );
    let minutes = match minutes_text.trim() {
        "" => None,
        text => match text.parse::<u32>() {
            Ok(m) => Some(m),
            Err(_) => {
                let attempt = refused(invalid);
                return render(
                    &state,
                    &staff,
                    id,
                    StatusCode::UNPROCESSABLE_ENTITY,
                    false,
                    attempt,
                )
                .await;
            }
        },
    };
    let input = BreakGlassInput {
        groups: groups.clone(),
        justification: justification.clone(),
        minutes,
    };
    // The form's key: sent twice, the access is opened (and the alert sent) once.
    let once = crate::cases::Idempotency::for_console_form(
        &state.auth.keys,
        &format!("/console/cases/{id}/break-glass"),
        &value("once"),
        serde_urlencoded::to_string(&fields)
            .unwrap_or_default()
            .as_bytes(),
    );
    match open_break_glass(&state, staff.caller.clone(), id.clone(), once, input).await {
        Ok(_) => Ok(layout::see_other(
            &staff,
            &format!("{}/break-glass?opened=1", case_path(&id)),
        )),
        Err(ApiError::Problem {
            kind: ProblemType::InvalidBody,
            ..
        }) => {
            let attempt = refused(invalid);
            render(
                &state,
                &staff,
                id,
                StatusCode::UNPROCESSABLE_ENTITY,
                false,
                attempt,
            )
            .await
        }
        Err(other) => Err(other.into()),
    }
}
