//! The forms of a case's daily work, each calling one service function and going back to the
//! case page: screening with the indicator list (`crate::rules::screening`, the list
//! `GET /api/v1/screening-indicators` gives), assistance, notes, risk assessment, the
//! assistance plan, and the status (closure requested, approved or rejected).

use actix_web::{HttpRequest, web};
use maud::{Markup, html};
use serde_json::json;
use tumaini_db::ids::CaseId;
use tumaini_db::vocabulary::{AssistanceStatus, RiskLevel, ServiceType};

use super::super::i18n::{self, Locale, t};
use super::super::layout::{self, Field, Section, csrf_field, form_alert};
use super::super::session::Staff;
use super::super::{ConsoleError, PageResult};
use super::{Problems, Submitted, after_form, case_href, case_id};
use crate::audit::AuditAction;
use crate::authz::Action;
use crate::cases::assessments::{PlanGoal, PlanInput, RiskInput, ScreeningInput};
use crate::cases::nrm::StatusInput;
use crate::cases::records::{AssistanceInput, NoteInput};
use crate::cases::views::AccessPurpose;
use crate::cases::{self as service, CaseRequest};
use crate::http::{ApiError, ProblemType, json_body};
use crate::rules::screening::{self, Dimension, IndicatorList};
use crate::state::AppState;

/// The hidden purpose field and the way back, shared by every form here.
fn purpose_field(purpose: Option<AccessPurpose>) -> Markup {
    html! { @if let Some(p) = purpose { input type="hidden" name="purpose" value=(p.code()); } }
}

fn back(l: Locale, id: &CaseId, purpose: Option<AccessPurpose>) -> Markup {
    html! { p { a href=(case_href(id, purpose)) { (t(l, "cases-back")) } } }
}

/// A form page after the policies allow the action (nothing written; a refusal is the page's
/// 404 or 403, audited as the service audits it).
async fn allowed(
    state: &AppState,
    staff: &Staff,
    id: &CaseId,
    action: Action,
    audited_as: AuditAction,
) -> Result<(), ConsoleError> {
    let request = CaseRequest {
        id: id.clone(),
        action,
        audited_as,
        purpose: "case_management",
        idempotency: None,
    };
    service::check_case_action(state, &staff.caller, request, None).await?;
    Ok(())
}

/// Parses `body` as `T` and calls `call` with it; the service's refusal as the outcome.
async fn submit<T, F, Fut>(body: serde_json::Value, call: F) -> Result<(), ApiError>
where
    T: serde::de::DeserializeOwned,
    F: FnOnce(T) -> Fut,
    Fut: std::future::Future<Output = Result<service::Reply, ApiError>>,
{
    let input = json_body::parse::<T>(&body)?;
    call(input).await.map(|_| ())
}

// Screening.

const SCREENING_FIELDS: [&str; 4] = ["indicators", "notes", "presumed", "reason"];

fn screening_form(
    staff: &Staff,
    id: &CaseId,
    list: IndicatorList,
    form: &Submitted,
    problems: &Problems,
) -> Markup {
    let l = staff.locale;
    let ticked = form.all("indicators");
    html! {
        (form_alert(problems.alert()))
        p { (t(l, if list == IndicatorList::Child { "cases-screening-child" } else { "cases-screening-adult" })) }
        form method="post" action=(format!("/console/cases/{id}/screening")) {
            (csrf_field(&staff.csrf))
            (purpose_field(form.purpose()))
            @if let Some(error) = problems.field("indicators") {
                p.error role="alert" id="indicators-error" { (error) }
            }
            @for dimension in Dimension::ALL {
                fieldset.field {
                    legend { (i18n::label(l, "dimension", dimension.code(), dimension.label())) }
                    @for (indicator, _) in screening::indicators(list).filter(|(i, _)| i.dimension == dimension) {
                        div.choice {
                            input type="checkbox" id=(format!("indicator-{}", indicator.code)) name="indicators"
                                value=(indicator.code) checked[ticked.iter().any(|c| c == indicator.code)];
                            label for=(format!("indicator-{}", indicator.code)) {
                                (i18n::label(l, "indicator", indicator.code, indicator.label))
                            }
                        }
                    }
                }
            }
            (Field::new("notes", &t(l, "cases-screening-notes")).error(problems.field("notes"))
                .textarea(form.one("notes")))
            fieldset.field {
                legend { (t(l, "cases-screening-judgement")) }
                p.hint { (t(l, "cases-screening-judgement-hint")) }
                (Field::new("judgement_presumed", &t(l, "cases-screening-presumed"))
                    .error(problems.field("presumed"))
                    .select(&[("true".to_owned(), t(l, "cases-yes")), ("false".to_owned(), t(l, "cases-no"))],
                        form.one("judgement_presumed")))
                (Field::new("judgement_reason", &t(l, "cases-screening-reason"))
                    .error(problems.field("reason")).textarea(form.one("judgement_reason")))
            }
            button type="submit" { (t(l, "cases-screening-submit")) }
        }
        (back(l, id, form.purpose()))
    }
}

/// The indicator list for the case (an audited read of its summary).
async fn indicator_list(
    state: &AppState,
    staff: &Staff,
    id: &CaseId,
) -> Result<IndicatorList, ConsoleError> {
    let reply = service::read_case(state, &staff.caller, id.clone(), Vec::new(), None).await?;
    Ok(IndicatorList::for_case(
        reply.body["child"].as_bool().unwrap_or(false),
    ))
}

/// `GET /console/cases/{id}/screening`.
pub(super) async fn screening_page(
    state: web::Data<AppState>,
    staff: Staff,
    path: web::Path<String>,
    req: HttpRequest,
) -> PageResult {
    let id = case_id(&path)?;
    let list = indicator_list(&state, &staff, &id).await?;
    let title = t(staff.locale, "cases-screening-title");
    let body = screening_form(
        &staff,
        &id,
        list,
        &Submitted::query(&req),
        &Problems::default(),
    );
    Ok(layout::ok(&staff, Section::Cases, &title, body))
}

/// `POST /console/cases/{id}/screening`.
pub(super) async fn record_screening(
    state: web::Data<AppState>,
    staff: Staff,
    path: web::Path<String>,
    body: web::Bytes,
) -> PageResult {
    let form = Submitted::parse(&body)?;
    staff.check(form.one("csrf"))?;
    let id = case_id(&path)?;
    let judgement = match form.opt("judgement_presumed") {
        Some(presumed) => {
            json!({"presumed": presumed == "true", "reason": form.one("judgement_reason")})
        }
        None => serde_json::Value::Null,
    };
    let body = json!({"indicators": form.all("indicators"), "judgement": judgement, "notes": form.text("notes")});
    let outcome = submit(body, |input: ScreeningInput| {
        service::assessments::record_screening(
            &state,
            staff.caller.clone(),
            id.clone(),
            None,
            input,
        )
    })
    .await;
    let list = if outcome.is_err() {
        indicator_list(&state, &staff, &id).await?
    } else {
        IndicatorList::Adult
    };
    after_form(
        &staff,
        &id,
        form.purpose(),
        outcome,
        &SCREENING_FIELDS,
        |problems| {
            (
                t(staff.locale, "cases-screening-title"),
                screening_form(&staff, &id, list, &form, problems),
            )
        },
    )
}

// Assistance.

const ASSISTANCE_FIELDS: [&str; 4] = ["service_type", "status", "provided_on", "details"];

fn assistance_form(staff: &Staff, id: &CaseId, form: &Submitted, problems: &Problems) -> Markup {
    let l = staff.locale;
    html! {
        (form_alert(problems.alert()))
        form method="post" action=(format!("/console/cases/{id}/assistance")) {
            (csrf_field(&staff.csrf))
            (purpose_field(form.purpose()))
            (Field::new("service_type", &t(l, "cases-assistance-service")).required().error(problems.field("service_type"))
                .select(&layout::vocabulary_options::<ServiceType>(l), form.one("service_type")))
            (Field::new("status", &t(l, "cases-assistance-status")).required().error(problems.field("status"))
                .select(&layout::vocabulary_options::<AssistanceStatus>(l), form.one("status")))
            (Field::new("provided_on", &t(l, "cases-assistance-date")).required().error(problems.field("provided_on"))
                .input("date", form.one("provided_on")))
            (Field::new("details", &t(l, "cases-details")).error(problems.field("details"))
                .textarea(form.one("details")))
            button type="submit" { (t(l, "cases-save")) }
        }
        (back(l, id, form.purpose()))
    }
}

/// `GET /console/cases/{id}/assistance`.
pub(super) async fn assistance_page(
    state: web::Data<AppState>,
    staff: Staff,
    path: web::Path<String>,
    req: HttpRequest,
) -> PageResult {
    let id = case_id(&path)?;
    allowed(
        &state,
        &staff,
        &id,
        Action::RecordAssistance,
        AuditAction::CaseAssistanceRecord,
    )
    .await?;
    let title = t(staff.locale, "cases-assistance-title");
    Ok(layout::ok(
        &staff,
        Section::Cases,
        &title,
        assistance_form(&staff, &id, &Submitted::query(&req), &Problems::default()),
    ))
}

/// `POST /console/cases/{id}/assistance`.
pub(super) async fn record_assistance(
    state: web::Data<AppState>,
    staff: Staff,
    path: web::Path<String>,
    body: web::Bytes,
) -> PageResult {
    let form = Submitted::parse(&body)?;
    staff.check(form.one("csrf"))?;
    let id = case_id(&path)?;
    let body = json!({
        "service_type": form.text("service_type"),
        "status": form.text("status"),
        "provided_on": form.text("provided_on"),
        "details": form.text("details"),
    });
    let outcome = submit(body, |input: AssistanceInput| {
        service::records::record_assistance(&state, staff.caller.clone(), id.clone(), None, input)
    })
    .await;
    after_form(
        &staff,
        &id,
        form.purpose(),
        outcome,
        &ASSISTANCE_FIELDS,
        |problems| {
            (
                t(staff.locale, "cases-assistance-title"),
                assistance_form(&staff, &id, &form, problems),
            )
        },
    )
}

// Notes.

fn note_form(staff: &Staff, id: &CaseId, form: &Submitted, problems: &Problems) -> Markup {
    let l = staff.locale;
    html! {
        (form_alert(problems.alert()))
        form method="post" action=(format!("/console/cases/{id}/notes")) {
            (csrf_field(&staff.csrf))
            (purpose_field(form.purpose()))
            (Field::new("text", &t(l, "cases-note-text")).required().error(problems.field("text"))
                .textarea(form.one("text")))
            button type="submit" { (t(l, "cases-save")) }
        }
        (back(l, id, form.purpose()))
    }
}

/// `GET /console/cases/{id}/notes`.
pub(super) async fn note_page(
    state: web::Data<AppState>,
    staff: Staff,
    path: web::Path<String>,
    req: HttpRequest,
) -> PageResult {
    let id = case_id(&path)?;
    allowed(
        &state,
        &staff,
        &id,
        Action::RecordAssistance,
        AuditAction::CaseNoteWrite,
    )
    .await?;
    let title = t(staff.locale, "cases-note-title");
    Ok(layout::ok(
        &staff,
        Section::Cases,
        &title,
        note_form(&staff, &id, &Submitted::query(&req), &Problems::default()),
    ))
}

/// `POST /console/cases/{id}/notes`.
pub(super) async fn write_note(
    state: web::Data<AppState>,
    staff: Staff,
    path: web::Path<String>,
    body: web::Bytes,
) -> PageResult {
    let form = Submitted::parse(&body)?;
    staff.check(form.one("csrf"))?;
    let id = case_id(&path)?;
    let body = json!({"text": form.one("text")});
    let outcome = submit(body, |input: NoteInput| {
        service::records::write_note(&state, staff.caller.clone(), id.clone(), None, input)
    })
    .await;
    after_form(
        &staff,
        &id,
        form.purpose(),
        outcome,
        &["text"],
        |problems| {
            (
                t(staff.locale, "cases-note-title"),
                note_form(&staff, &id, &form, problems),
            )
        },
    )
}

// Risk.

const RISK_FIELDS: [&str; 5] = [
    "individual",
    "household",
    "community",
    "review_on",
    "details",
];

fn risk_form(staff: &Staff, id: &CaseId, form: &Submitted, problems: &Problems) -> Markup {
    let l = staff.locale;
    let levels = layout::vocabulary_options::<RiskLevel>(l);
    html! {
        (form_alert(problems.alert()))
        form method="post" action=(format!("/console/cases/{id}/risk")) {
            (csrf_field(&staff.csrf))
            (purpose_field(form.purpose()))
            @for name in ["individual", "household", "community"] {
                (Field::new(name, &t(l, &format!("cases-risk-{name}"))).required().error(problems.field(name))
                    .select(&levels, form.one(name)))
            }
            (Field::new("review_on", &t(l, "cases-review-on")).required().error(problems.field("review_on"))
                .input("date", form.one("review_on")))
            (Field::new("details", &t(l, "cases-details")).error(problems.field("details"))
                .textarea(form.one("details")))
            button type="submit" { (t(l, "cases-save")) }
        }
        (back(l, id, form.purpose()))
    }
}

/// `GET /console/cases/{id}/risk`.
pub(super) async fn risk_page(
    state: web::Data<AppState>,
    staff: Staff,
    path: web::Path<String>,
    req: HttpRequest,
) -> PageResult {
    let id = case_id(&path)?;
    allowed(
        &state,
        &staff,
        &id,
        Action::RecordAssistance,
        AuditAction::CaseRiskRecord,
    )
    .await?;
    let title = t(staff.locale, "cases-risk-title");
    Ok(layout::ok(
        &staff,
        Section::Cases,
        &title,
        risk_form(&staff, &id, &Submitted::query(&req), &Problems::default()),
    ))
}

/// `POST /console/cases/{id}/risk`.
pub(super) async fn record_risk(
    state: web::Data<AppState>,
    staff: Staff,
    path: web::Path<String>,
    body: web::Bytes,
) -> PageResult {
    let form = Submitted::parse(&body)?;
    staff.check(form.one("csrf"))?;
    let id = case_id(&path)?;
    let body = json!({
        "individual": form.text("individual"),
        "household": form.text("household"),
        "community": form.text("community"),
        "review_on": form.text("review_on"),
        "details": form.text("details"),
    });
    let outcome = submit(body, |input: RiskInput| {
        service::assessments::record_risk(&state, staff.caller.clone(), id.clone(), None, input)
    })
    .await;
    after_form(
        &staff,
        &id,
        form.purpose(),
        outcome,
        &RISK_FIELDS,
        |problems| {
            (
                t(staff.locale, "cases-risk-title"),
                risk_form(&staff, &id, &form, problems),
            )
        },
    )
}

// Plan.

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
            &Submitted::query(&req),
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

// Status.

/// `POST /console/cases/{id}/status`: request closure (with a reason), or for a supervisor
/// approve or reject the pending request. A refusal of the lifecycle is the page's 409.
pub(super) async fn change_status(
    state: web::Data<AppState>,
    staff: Staff,
    path: web::Path<String>,
    body: web::Bytes,
) -> PageResult {
    let form = Submitted::parse(&body)?;
    staff.check(form.one("csrf"))?;
    let id = case_id(&path)?;
    let mut body = json!({"change": form.text("change")});
    if form.one("change") == "request_closure" {
        body["reason"] = form.text("reason");
    }
    let input: StatusInput = json_body::parse(&body)?;
    service::nrm::change_status(&state, staff.caller.clone(), id.clone(), None, input).await?;
    Ok(layout::see_other(&staff, &case_href(&id, form.purpose())))
}
