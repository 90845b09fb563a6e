//! Who of the organisation works on a case: the staff assigned (the lead marked), a form to
//! assign a case worker or supervisor of the organisation (leading or not) and one to end each
//! assignment, through `crate::cases::assignments`. Only those who may assign staff to the case
//! see the page (`AssignStaff`, asked of the policies first); a case they may not see is the
//! console's 404.

use actix_web::http::StatusCode;
use actix_web::web;
use chrono::{DateTime, Utc};
use maud::{Markup, html};
use serde::Deserialize;
use tumaini_db::ids::{CaseId, UserId};
use tumaini_db::vocabulary::{Role, UserStatus};

use super::case_path;
use crate::accounts::administration;
use crate::audit::AuditAction;
use crate::authz::Action;
use crate::cases::assignments::{self, AssignmentInput};
use crate::cases::{self as service, CaseRequest};
use crate::console::PageResult;
use crate::console::i18n::{self, t};
use crate::console::layout::{self, Field, Section, csrf_field, form_alert};
use crate::console::session::Staff;
use crate::http::{ApiError, ProblemType};
use crate::state::AppState;

pub(super) fn register(scope: actix_web::Scope) -> actix_web::Scope {
    scope
        .route("/cases/{id}/assignments", web::get().to(assignments_page))
        .route("/cases/{id}/assignments", web::post().to(assign))
        .route("/cases/{id}/assignments/unassign", web::post().to(unassign))
}

/// One assigned member of staff, as the service answers.
#[derive(Debug, Deserialize)]
struct Assigned {
    user_id: UserId,
    display_name: String,
    lead: bool,
    assigned_at: DateTime<Utc>,
}

#[derive(Debug, Deserialize)]
struct Assignments {
    items: Vec<Assigned>,
}

#[derive(Debug, Deserialize)]
struct AssignForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    user_id: String,
    #[serde(default)]
    lead: Option<String>,
}

#[derive(Debug, Deserialize)]
struct UnassignForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    user_id: String,
}

/// Asks the policies whether the caller may assign staff to the case (a refusal is audited and
/// answered as the API answers it); nothing is written when they may.
async fn may_assign(state: &AppState, staff: &Staff, id: &CaseId) -> Result<(), ApiError> {
    let request = CaseRequest {
        id: id.clone(),
        action: Action::AssignStaff,
        audited_as: AuditAction::CaseAssign,
        purpose: "case_management",
        idempotency: None,
    };
    service::check_case_action(state, &staff.caller, request, None).await
}

/// The page: who is assigned, and the forms; `error` is the last attempt's, shown with
/// `status`.
async fn render(
    state: &AppState,
    staff: &Staff,
    id: CaseId,
    status: StatusCode,
    error: Option<String>,
) -> PageResult {
    let l = staff.locale;
    may_assign(state, staff, &id).await?;
    let reply = assignments::list(state, staff.caller.clone(), id.clone()).await?;
    let assigned: Assignments = serde_json::from_value(reply.body)
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("assignment list: {e}")))?;
    let members = administration::list(state, staff.caller.clone(), None).await?;
    let options: Vec<(String, String)> = members
        .iter()
        .filter(|m| matches!(m.role, Role::CaseWorker | Role::Supervisor))
        .filter(|m| matches!(m.status, UserStatus::Active | UserStatus::Invited))
        .map(|m| {
            (
                m.id.to_string(),
                format!("{} ({})", m.display_name, i18n::vocab(l, m.role)),
            )
        })
        .collect();
    let action = format!("{}/assignments", case_path(&id));
    let title = t(l, "staff-assignments-title");
    let body = html! {
        p { a href=(case_path(&id)) { (t(l, "oversight-back-to-case")) } }
        (form_alert(error.as_deref()))
        h2 #assigned { (t(l, "staff-assignments-assigned")) }
        @if assigned.items.is_empty() {
            p { (t(l, "staff-assignments-none")) }
        } @else {
            table aria-labelledby="assigned" {
                thead { tr {
                    th scope="col" { (t(l, "supervision-member")) }
                    th scope="col" { (t(l, "staff-assignments-lead")) }
                    th scope="col" { (t(l, "staff-assignments-since")) }
                    th scope="col" { (t(l, "staff-assignments-action")) }
                } }
                tbody {
                    @for a in &assigned.items {
                        tr {
                            th scope="row" { (a.display_name) }
                            td { @if a.lead { strong { (t(l, "staff-assignments-is-lead")) } } @else { (t(l, "no")) } }
                            td { (i18n::date_time(l, a.assigned_at.naive_utc())) }
                            td { (unassign_form(staff, &action, a)) }
                        }
                    }
                }
            }
        }
        h2 #assign { (t(l, "staff-assignments-assign")) }
        form method="post" action=(action) aria-labelledby="assign" {
            (csrf_field(&staff.csrf))
            (Field::new("user_id", &t(l, "staff-assignments-member")).required().select(&options, ""))
            div.choice.field {
                input type="checkbox" id="lead" name="lead" value="true";
                label for="lead" { (t(l, "staff-assignments-make-lead")) }
            }
            p.hint { (t(l, "staff-assignments-effect")) }
            button type="submit" { (t(l, "staff-assignments-assign-button")) }
        }
    };
    Ok(layout::respond(
        Some(staff),
        status,
        layout::page(staff, Section::Supervision, &title, body),
    ))
}

fn unassign_form(staff: &Staff, action: &str, a: &Assigned) -> Markup {
    let l = staff.locale;
    html! {
        form method="post" action=(format!("{action}/unassign")) {
            (csrf_field(&staff.csrf))
            input type="hidden" name="user_id" value=(a.user_id.to_string());
            button.secondary type="submit" {
                (t(l, "staff-assignments-unassign"))
                span.visually-hidden { ": " (a.display_name) }
            }
        }
    }
}

async fn assignments_page(
    state: web::Data<AppState>,
    staff: Staff,
    id: web::Path<CaseId>,
) -> PageResult {
    render(&state, &staff, id.into_inner(), StatusCode::OK, None).await
}

/// A refusal the person can act on is shown on the page; anything else is the error page.
async fn answer(
    state: &AppState,
    staff: &Staff,
    id: CaseId,
    done: Result<crate::cases::Reply, ApiError>,
) -> PageResult {
    let l = staff.locale;
    match done {
        Ok(_) => Ok(layout::see_other(
            staff,
            &format!("{}/assignments", case_path(&id)),
        )),
        Err(ApiError::Problem {
            kind: kind @ (ProblemType::InvalidBody | ProblemType::Conflict),
            ..
        }) => {
            let message = if matches!(kind, ProblemType::Conflict) {
                t(l, "staff-assignments-not-assigned")
            } else {
                t(l, "staff-assignments-not-staff")
            };
            render(state, staff, id, kind.status(), Some(message)).await
        }
        Err(other) => Err(other.into()),
    }
}

async fn assign(
    state: web::Data<AppState>,
    staff: Staff,
    id: web::Path<CaseId>,
    form: web::Form<AssignForm>,
) -> PageResult {
    let form = form.into_inner();
    staff.check(&form.csrf)?;
    let id = id.into_inner();
    let Ok(user) = form.user_id.trim().parse::<UserId>() else {
        let message = t(staff.locale, "staff-assignments-not-staff");
        return render(
            &state,
            &staff,
            id,
            StatusCode::UNPROCESSABLE_ENTITY,
            Some(message),
        )
        .await;
    };
    let input = AssignmentInput {
        // Ticked: they lead (the previous lead stays assigned); not ticked: a new assignment
        // does not lead, an existing one keeps what it was.
        lead: form.lead.is_some_and(|v| v == "true").then_some(true),
    };
    let done = assignments::assign(&state, staff.caller.clone(), id.clone(), user, input).await;
    answer(&state, &staff, id, done).await
}

async fn unassign(
    state: web::Data<AppState>,
    staff: Staff,
    id: web::Path<CaseId>,
    form: web::Form<UnassignForm>,
) -> PageResult {
    let form = form.into_inner();
    staff.check(&form.csrf)?;
    let id = id.into_inner();
    let Ok(user) = form.user_id.trim().parse::<UserId>() else {
        let message = t(staff.locale, "staff-assignments-not-assigned");
        return render(&state, &staff, id, StatusCode::CONFLICT, Some(message)).await;
    };
    let done = assignments::unassign(&state, staff.caller.clone(), id.clone(), user).await;
    answer(&state, &staff, id, done).await
}
