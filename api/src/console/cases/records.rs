//! The forms of a case's daily work, each calling one service function and going back to the
//! case page: assistance, notes, risk assessment and the status (closure requested, approved
//! or rejected); the pieces every such form shares (screening and the plan, in modules of
//! their own, use them too).

use actix_web::{HttpRequest, web};
use maud::{Markup, html};
use serde_json::json;
use tumaini_db::ids::CaseId;
use tumaini_db::vocabulary::{AssistanceStatus, RiskLevel, ServiceType};

use super::super::i18n::{Locale, t};
use super::super::layout::{self, Field, Section, csrf_field, form_alert};
use super::super::session::Staff;
use super::super::{ConsoleError, PageResult};
use super::{Problems, Submitted, after_form, case_href, case_id};
use crate::audit::AuditAction;
use crate::authz::Action;
use crate::cases::assessments::RiskInput;
use crate::cases::nrm::StatusInput;
use crate::cases::records::{AssistanceInput, NoteInput};
use crate::cases::views::AccessPurpose;
use crate::cases::{self as service, CaseRequest};
use crate::http::{ApiError, json_body};
use crate::state::AppState;

/// The hidden purpose field and the way back, shared by every form here.
pub(super) fn purpose_field(purpose: Option<AccessPurpose>) -> Markup {
    html! { @if let Some(p) = purpose { input type="hidden" name="purpose" value=(p.code()); } }
}

pub(super) fn back(l: Locale, id: &CaseId, purpose: Option<AccessPurpose>) -> Markup {
    html! { p { a href=(case_href(id, purpose)) { (t(l, "cases-back")) } } }
}

/// A form page after the policies allow the action (nothing written; a refusal is the page's
/// 404 or 403, audited as the service audits it).
pub(super) async fn allowed(
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
pub(super) async fn submit<T, F, Fut>(body: serde_json::Value, call: F) -> Result<(), ApiError>
where
    T: serde::de::DeserializeOwned,
    F: FnOnce(T) -> Fut,
    Fut: std::future::Future<Output = Result<service::Reply, ApiError>>,
{
    let input = json_body::parse::<T>(&body)?;
    call(input).await.map(|_| ())
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
        assistance_form(
            &staff,
            &id,
            &Submitted::query_only(&req, &["purpose"]),
            &Problems::default(),
        ),
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
    let raw = body.clone();
    staff.check(form.one("csrf"))?;
    let id = case_id(&path)?;
    let body = json!({
        "service_type": form.text("service_type"),
        "status": form.text("status"),
        "provided_on": form.text("provided_on"),
        "details": form.text("details"),
    });
    let outcome = submit(body, |input: AssistanceInput| {
        service::records::record_assistance(
            &state,
            staff.caller.clone(),
            id.clone(),
            super::once(
                &state,
                &format!("/console/cases/{id}/assistance"),
                form.one("once"),
                &raw,
            ),
            input,
        )
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
        note_form(
            &staff,
            &id,
            &Submitted::query_only(&req, &["purpose"]),
            &Problems::default(),
        ),
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
    let raw = body.clone();
    staff.check(form.one("csrf"))?;
    let id = case_id(&path)?;
    let body = json!({"text": form.one("text")});
    let outcome = submit(body, |input: NoteInput| {
        service::records::write_note(
            &state,
            staff.caller.clone(),
            id.clone(),
            super::once(
                &state,
                &format!("/console/cases/{id}/notes"),
                form.one("once"),
                &raw,
            ),
            input,
        )
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
        risk_form(
            &staff,
            &id,
            &Submitted::query_only(&req, &["purpose"]),
            &Problems::default(),
        ),
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
    let raw = body.clone();
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
        service::assessments::record_risk(
            &state,
            staff.caller.clone(),
            id.clone(),
            super::once(
                &state,
                &format!("/console/cases/{id}/risk"),
                form.one("once"),
                &raw,
            ),
            input,
        )
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
    let raw = body.clone();
    staff.check(form.one("csrf"))?;
    let id = case_id(&path)?;
    let mut body = json!({"change": form.text("change")});
    if form.one("change") == "request_closure" {
        body["reason"] = form.text("reason");
    }
    let input: StatusInput = json_body::parse(&body)?;
    let key = super::once(
        &state,
        &format!("/console/cases/{id}/status"),
        form.one("once"),
        &raw,
    );
    service::nrm::change_status(&state, staff.caller.clone(), id.clone(), key, input).await?;
    Ok(layout::see_other(&staff, &case_href(&id, form.purpose())))
}
