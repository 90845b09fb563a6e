//! The individual assistance plan (`crate::cases::assessments::put_plan`): its goals, and a
//! form adding one, which replaces the plan whole with the version read (optimistic
//! concurrency, as `If-Match` gives it in the API).

use actix_web::{HttpRequest, web};
use maud::{Markup, html};
use serde_json::json;
use tumaini_db::ids::CaseId;

use super::super::i18n::{self, t};
use super::super::layout::{self, Field, Section, csrf_field, form_alert};
use super::super::session::Staff;
use super::super::{ConsoleError, PageResult};
use super::records::{back, purpose_field, submit};
use super::{Problems, Submitted, after_form, case_id};
use crate::cases::assessments::{PlanGoal, PlanInput};
use crate::cases::{self as service};
use crate::http::{ApiError, ProblemType};
use crate::state::AppState;
use tumaini_db::vocabulary::ServiceType;

const PLAN_FIELDS: [&str; 5] = [
    "service_type",
    "action",
    "target_on",
    "review_on",
    "agreed_with_person",
];

/// The plan as stored (its goals and version), or none yet.
async fn current_plan(
    state: &AppState,
    staff: &Staff,
    id: &CaseId,
) -> Result<Option<(Vec<PlanGoal>, i32)>, ConsoleError> {
    match service::assessments::read_plan(state, staff.caller.clone(), id.clone()).await {
        Ok(reply) => {
            let version = reply.body["version"]
                .as_i64()
                .and_then(|v| i32::try_from(v).ok())
                .unwrap_or(0);
            let goals =
                serde_json::from_value(reply.body["plan"]["goals"].clone()).unwrap_or_default();
            Ok(Some((goals, version)))
        }
        Err(ApiError::Problem {
            kind: ProblemType::NotFound,
            detail: Some(_),
        }) => Ok(None),
        Err(error) => Err(error.into()),
    }
}

fn plan_form(
    staff: &Staff,
    id: &CaseId,
    plan: Option<&(Vec<PlanGoal>, i32)>,
    form: &Submitted,
    problems: &Problems,
) -> Markup {
    let l = staff.locale;
    html! {
        (form_alert(problems.alert()))
        h2 { (t(l, "cases-plan-goals")) }
        @match plan {
            Some((goals, _)) if !goals.is_empty() => {
                ul {
                    @for goal in goals {
                        li {
                            (i18n::vocab(l, goal.service_type)) ": " (goal.action)
                            @if let Some(on) = goal.target_on { " · " (i18n::date(l, on)) }
                            @if goal.achieved { " · " (t(l, "cases-plan-achieved")) }
                        }
                    }
                }
            }
            _ => { p { (t(l, "cases-plan-none")) } }
        }
        h2 { (t(l, "cases-plan-add")) }
        form method="post" action=(format!("/console/cases/{id}/plan")) {
            (csrf_field(&staff.csrf))
            (purpose_field(form.purpose()))
            @if let Some((_, version)) = plan { input type="hidden" name="version" value=(version); }
            (Field::new("service_type", &t(l, "cases-assistance-service")).required().error(problems.field("service_type"))
                .select(&layout::vocabulary_options::<ServiceType>(l), form.one("service_type")))
            (Field::new("action", &t(l, "cases-plan-action")).required().error(problems.field("action"))
                .textarea(form.one("action")))
            (Field::new("target_on", &t(l, "cases-plan-target")).error(problems.field("target_on"))
                .input("date", form.one("target_on")))
            (Field::new("review_on", &t(l, "cases-review-on")).required().error(problems.field("review_on"))
                .input("date", form.one("review_on")))
            div.choice {
                input type="checkbox" id="agreed_with_person" name="agreed_with_person" value="true"
                    checked[form.one("agreed_with_person") == "true"];
                label for="agreed_with_person" { (t(l, "cases-plan-agreed")) }
            }
            button type="submit" { (t(l, "cases-save")) }
        }
        (back(l, id, form.purpose()))
    }
}

/// `GET /console/cases/{id}/plan`: the plan's goals and a form adding one.
pub(super) async fn plan_page(
    state: web::Data<AppState>,
    staff: Staff,
    path: web::Path<String>,
    req: HttpRequest,
) -> PageResult {
    let id = case_id(&path)?;
    let plan = current_plan(&state, &staff, &id).await?;
    let title = t(staff.locale, "cases-plan-title");
    Ok(layout::ok(
        &staff,
        Section::Cases,
        &title,
        plan_form(
            &staff,
            &id,
            plan.as_ref(),
            &Submitted::query_only(&req, &["purpose"]),
            &Problems::default(),
        ),
    ))
}

/// `POST /console/cases/{id}/plan`: the plan with one goal more, replacing the version read.
pub(super) async fn save_plan(
    state: web::Data<AppState>,
    staff: Staff,
    path: web::Path<String>,
    body: web::Bytes,
) -> PageResult {
    let form = Submitted::parse(&body)?;
    staff.check(form.one("csrf"))?;
    let id = case_id(&path)?;
    let plan = current_plan(&state, &staff, &id).await?;
    let expected = form.opt("version").and_then(|v| v.parse::<i32>().ok());
    let mut goals: Vec<serde_json::Value> = plan
        .as_ref()
        .map(|(goals, _)| {
            goals
                .iter()
                .filter_map(|g| serde_json::to_value(g).ok())
                .collect()
        })
        .unwrap_or_default();
    goals.push(json!({
        "service_type": form.text("service_type"),
        "action": form.one("action"),
        "target_on": form.text("target_on"),
    }));
    let body = json!({
        "goals": goals,
        "review_on": form.text("review_on"),
        "agreed_with_person": form.one("agreed_with_person") == "true",
    });
    let outcome = submit(body, |input: PlanInput| {
        service::assessments::put_plan(&state, staff.caller.clone(), id.clone(), input, expected)
    })
    .await;
    after_form(
        &staff,
        &id,
        form.purpose(),
        outcome,
        &PLAN_FIELDS,
        |problems| {
            (
                t(staff.locale, "cases-plan-title"),
                plan_form(&staff, &id, plan.as_ref(), &form, problems),
            )
        },
    )
}
