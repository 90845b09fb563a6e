//! Screening with trafficking indicators (`crate::cases::assessments::record_screening`): the
//! indicators of the case's list (adult or child) as checkboxes grouped by dimension, as
//! `crate::rules::screening` holds them and `GET /api/v1/screening-indicators` gives them.

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
use crate::cases::assessments::ScreeningInput;
use crate::cases::{self as service};
use crate::rules::screening::{self, Dimension, IndicatorList};
use crate::state::AppState;

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
        &Submitted::query_only(&req, &["purpose"]),
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
    let raw = body.clone();
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
            super::once(
                &state,
                &format!("/console/cases/{id}/screening"),
                form.one("once"),
                &raw,
            ),
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
