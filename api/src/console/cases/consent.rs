//! Recording the person's consent (`crate::cases::nrm::record_consent`): the choices first
//! (who consents, how, for what, which groups, with whom), then the words a member of staff
//! reads aloud to the person, built from those choices, then the record. For a child the
//! service takes a guardian's consent or a best-interest basis, never the child's own.

use actix_web::{HttpRequest, web};
use maud::{Markup, html};
use serde_json::json;
use tumaini_db::ids::CaseId;
use tumaini_db::vocabulary::{
    ConsentGiver, ConsentMethod, ConsentPurpose, ConsentRecipient, FieldGroup,
};

use super::super::PageResult;
use super::super::i18n::{self, Arg, Locale, t, ta};
use super::super::layout::{self, Field, Section, checkboxes, csrf_field, form_alert};
use super::super::session::Staff;
use super::{Problems, Submitted, after_form, case_href, case_id};
use crate::cases::nrm::ConsentInput;
use crate::cases::views::AccessPurpose;
use crate::http::json_body;
use crate::state::AppState;

const FIELDS: [&str; 7] = [
    "given_by",
    "method",
    "purposes",
    "groups",
    "recipients",
    "valid_until",
    "details",
];

/// The personal groups a consent may name (the summary is not personal).
fn group_options(l: Locale) -> Vec<(String, String)> {
    layout::vocabulary_options::<FieldGroup>(l)
        .into_iter()
        .filter(|(code, _)| code != "summary")
        .collect()
}

/// Who may consent: for a child a guardian or a best-interest basis, for an adult the person.
fn giver_options(l: Locale, child: bool) -> Vec<(String, String)> {
    layout::vocabulary_options::<ConsentGiver>(l)
        .into_iter()
        .filter(|(code, _)| (code == "person") != child)
        .collect()
}

/// The labels of the chosen codes of a vocabulary, joined as a list is read.
fn chosen<V: tumaini_db::vocabulary::Coded>(l: Locale, codes: &[String]) -> String {
    V::all()
        .iter()
        .filter(|v| codes.iter().any(|c| c == v.code()))
        .map(|v| i18n::vocab(l, *v))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The words read aloud to the person, from the choices made.
fn read_aloud(l: Locale, choices: &Submitted, child: bool) -> Markup {
    let purposes: Vec<String> = ConsentPurpose::ALL
        .iter()
        .filter(|p| choices.all("purposes").iter().any(|c| c == p.code()))
        .map(|p| t(l, &format!("cases-aloud-purpose-{}", p.code())))
        .collect();
    let recipients = chosen::<ConsentRecipient>(l, &choices.all("recipients"));
    let groups = chosen::<FieldGroup>(l, &choices.all("groups"));
    let none = t(l, "cases-aloud-nothing");
    html! {
        section.read-aloud aria-labelledby="read-aloud" {
            h2 #read-aloud { (t(l, "cases-aloud-title")) }
            @if child { p { (t(l, "cases-aloud-child")) } }
            p { (ta(l, "cases-aloud-share", &[
                ("recipients", Arg::from(if recipients.is_empty() { none.clone() } else { recipients })),
                ("groups", Arg::from(if groups.is_empty() { none.clone() } else { groups })),
            ])) }
            p { (t(l, "cases-aloud-purposes")) }
            ul { @for p in &purposes { li { (p) } } }
            @if choices.all("recipients").iter().any(|r| r == "law_enforcement") {
                p { (t(l, "cases-aloud-police")) }
            }
            @if choices.all("recipients").iter().any(|r| r == "abroad") {
                p { (t(l, "cases-aloud-abroad")) }
            }
            p { (t(l, "cases-aloud-rights")) }
            p { (t(l, "cases-aloud-question")) }
        }
    }
}

/// The choices as hidden fields of the recording form.
fn carried(choices: &Submitted) -> Markup {
    html! {
        @for name in ["given_by", "method"] {
            input type="hidden" name=(name) value=(choices.one(name));
        }
        @for name in ["purposes", "groups", "recipients"] {
            @for value in choices.all(name) {
                input type="hidden" name=(name) value=(value);
            }
        }
    }
}

fn consent_body(
    staff: &Staff,
    id: &CaseId,
    child: bool,
    choices: &Submitted,
    problems: &Problems,
) -> Markup {
    let l = staff.locale;
    let purpose = choices.purpose();
    let chosen_any = !choices.all("purposes").is_empty();
    html! {
        (form_alert(problems.alert()))
        @if child { p.notice { (t(l, "cases-consent-child")) } }
        form method="get" action=(format!("/console/cases/{id}/consent")) {
            @if let Some(p) = purpose { input type="hidden" name="purpose" value=(p.code()); }
            (Field::new("given_by", &t(l, "cases-consent-given-by")).required()
                .error(problems.field("given_by"))
                .select(&giver_options(l, child), choices.one("given_by")))
            (Field::new("method", &t(l, "cases-consent-method")).required()
                .error(problems.field("method"))
                .select(&layout::vocabulary_options::<ConsentMethod>(l), choices.one("method")))
            (checkboxes("purposes", &t(l, "cases-consent-purposes"),
                &layout::vocabulary_options::<ConsentPurpose>(l), &choices.all("purposes"), problems.field("purposes")))
            (checkboxes("groups", &t(l, "cases-consent-groups"),
                &group_options(l), &choices.all("groups"), problems.field("groups")))
            (checkboxes("recipients", &t(l, "cases-consent-recipients"),
                &layout::vocabulary_options::<ConsentRecipient>(l), &choices.all("recipients"), problems.field("recipients")))
            button type="submit" { (t(l, "cases-consent-preview")) }
        }
        @if chosen_any {
            (read_aloud(l, choices, child))
            form method="post" action=(format!("/console/cases/{id}/consent")) {
                (csrf_field(&staff.csrf))
                @if let Some(p) = purpose { input type="hidden" name="purpose" value=(p.code()); }
                (carried(choices))
                (Field::new("valid_until", &t(l, "cases-consent-valid-until"))
                    .error(problems.field("valid_until")).input("date", choices.one("valid_until")))
                (Field::new("details", &t(l, "cases-consent-details"))
                    .hint(&t(l, if child { "cases-consent-details-child" } else { "cases-consent-details-hint" }))
                    .error(problems.field("details")).textarea(choices.one("details")))
                p.hint #record-hint { (t(l, "cases-consent-record-hint")) }
                button type="submit" aria-describedby="record-hint" { (t(l, "cases-consent-record")) }
            }
        }
        p { a href=(case_href(id, purpose)) { (t(l, "cases-back")) } }
    }
}

/// Whether the case is treated as a child (one audited read of its summary).
async fn is_child(
    state: &AppState,
    staff: &Staff,
    id: &CaseId,
) -> Result<bool, super::ConsoleError> {
    let reply = crate::cases::read_case(state, &staff.caller, id.clone(), Vec::new(), None).await?;
    Ok(reply.body["child"].as_bool().unwrap_or(false))
}

/// `GET /console/cases/{id}/consent`: the choices, and with them the words to read aloud.
pub(super) async fn consent_page(
    state: web::Data<AppState>,
    staff: Staff,
    path: web::Path<String>,
    req: HttpRequest,
) -> PageResult {
    let id = case_id(&path)?;
    let child = is_child(&state, &staff, &id).await?;
    let choices = Submitted::query_only(
        &req,
        &[
            "purpose",
            "given_by",
            "method",
            "purposes",
            "groups",
            "recipients",
        ],
    );
    let title = t(staff.locale, "cases-consent-title");
    let body = consent_body(&staff, &id, child, &choices, &Problems::default());
    Ok(layout::ok(&staff, Section::Cases, &title, body))
}

/// `POST /console/cases/{id}/consent`: records the consent; back to the case page.
pub(super) async fn record_consent(
    state: web::Data<AppState>,
    staff: Staff,
    path: web::Path<String>,
    body: web::Bytes,
) -> PageResult {
    let form = Submitted::parse(&body)?;
    let raw = body.clone();
    staff.check(form.one("csrf"))?;
    let id = case_id(&path)?;
    let valid_until = form
        .opt("valid_until")
        // The end of the chosen day in East Africa Time (UTC+3), stored in UTC.
        .map_or(serde_json::Value::Null, |d| json!(format!("{d}T20:59:59")));
    let body = json!({
        "given_by": form.text("given_by"),
        "method": form.text("method"),
        "purposes": form.all("purposes"),
        "groups": form.all("groups"),
        "recipients": form.all("recipients"),
        "valid_until": valid_until,
        "details": form.text("details"),
    });
    let outcome = match json_body::parse::<ConsentInput>(&body) {
        Ok(input) => {
            let key = super::once(
                &state,
                &format!("/console/cases/{id}/consent"),
                form.one("once"),
                &raw,
            );
            crate::cases::nrm::record_consent(&state, staff.caller.clone(), id.clone(), key, input)
                .await
                .map(|_| ())
        }
        Err(error) => Err(error),
    };
    let purpose: Option<AccessPurpose> = form.purpose();
    let child = if outcome.is_err() {
        is_child(&state, &staff, &id).await?
    } else {
        false
    };
    after_form(&staff, &id, purpose, outcome, &FIELDS, |problems| {
        (
            t(staff.locale, "cases-consent-title"),
            consent_body(&staff, &id, child, &form, problems),
        )
    })
}
