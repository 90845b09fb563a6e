//! The caller's cases (the list `GET /api/v1/cases` answers, with its search by reference) and
//! registering a person (`crate::cases::register`, as `POST /api/v1/cases`).

use actix_web::{HttpRequest, web};
use maud::{Markup, html};
use serde_json::json;
use tumaini_db::ids::CaseId;
use tumaini_db::models::case::CaseFilter;
use tumaini_db::vocabulary::{AgeBand, ExploitationType, MeansOfControl, Role, Sex};

use super::super::PageResult;
use super::super::i18n::{self, Locale, t};
use super::super::layout::{self, Field, Section, checkboxes, csrf_field, form_alert};
use super::super::session::Staff;
use super::{Problems, Submitted, refused};
use crate::auth::Principal;
use crate::cases::{self as service, NewCaseInput};
use crate::http::json_body;
use crate::rules::reference;
use crate::state::AppState;

/// Roles the policies let register a case.
fn may_register(role: Role) -> bool {
    matches!(
        role,
        Role::FirstResponder | Role::CaseWorker | Role::Supervisor
    )
}

/// `GET /console/cases`: the caller's cases, newest first; `?reference=` finds one.
pub(super) async fn list_page(
    state: web::Data<AppState>,
    staff: Staff,
    req: HttpRequest,
) -> PageResult {
    let l = staff.locale;
    let query = Submitted::query(&req);
    let searched = query.opt("reference");
    let parsed = searched.map(reference::parse);
    let title = t(l, "cases-title");
    let search_error = matches!(parsed, Some(None)).then(|| t(l, "cases-reference-invalid"));
    // The next page starts after the case named by `after` (an id, never a personal value).
    let after = query.opt("after").and_then(|a| a.parse::<CaseId>().ok());
    let (items, next) = match parsed {
        Some(None) => (Vec::new(), None),
        Some(Some(reference)) => list(&state, &staff, Some(reference), None).await?,
        None => list(&state, &staff, None, after).await?,
    };
    let body = html! {
        @if may_register(staff.caller.user.role) {
            p { a.button href="/console/cases/new" { (t(l, "cases-register-link")) } }
        }
        form.search method="get" action="/console/cases" role="search" {
            (Field::new("reference", &t(l, "cases-reference"))
                .hint(&t(l, "cases-reference-hint"))
                .error(search_error.as_deref())
                .input("search", searched.unwrap_or("")))
            button type="submit" { (t(l, "cases-search")) }
        }
        @if items.is_empty() {
            p { (t(l, "cases-empty")) }
        } @else {
            table {
                caption { (t(l, "cases-caption")) }
                thead { tr {
                    th scope="col" { (t(l, "cases-reference")) }
                    th scope="col" { (t(l, "cases-stage")) }
                    th scope="col" { (t(l, "cases-status")) }
                    th scope="col" { (t(l, "cases-registered")) }
                } }
                tbody {
                    @for case in &items {
                        tr {
                            td { a href=(format!("/console/cases/{}", case.id)) { (case.reference) } }
                            td { (i18n::vocab(l, case.identification_stage)) }
                            td {
                                (i18n::vocab(l, case.status))
                                @if case.closure_pending { " · " (t(l, "cases-closure-pending")) }
                            }
                            td { (i18n::date_time(l, case.created_at.naive_utc())) }
                        }
                    }
                }
            }
            @if let Some(next) = &next {
                p { a href=(format!("/console/cases?after={next}")) rel="next" { (t(l, "cases-next-page")) } }
            }
        }
    };
    Ok(layout::ok(&staff, Section::Cases, &title, body))
}

/// A page of the caller's cases (50, newest first), and the id the next page starts after.
async fn list(
    state: &AppState,
    staff: &Staff,
    reference: Option<String>,
    after: Option<CaseId>,
) -> Result<(Vec<service::views::CaseSummaryView>, Option<CaseId>), crate::http::ApiError> {
    let filter = CaseFilter {
        reference,
        ..CaseFilter::default()
    };
    let page = service::list(
        state,
        Principal::Person(staff.caller.clone()),
        filter,
        after,
        50,
    )
    .await?;
    Ok((page.items, page.next_cursor))
}

/// The fields of the registration form, by the names the service's messages use.
const FIELDS: [&str; 16] = [
    "sex",
    "age_band",
    "may_be_child",
    "citizenship",
    "recruitment_country",
    "exploitation_country",
    "region",
    "encountered_on",
    "exploitation_types",
    "means_of_control",
    "given_names",
    "family_name",
    "date_of_birth",
    "phones",
    "current_location",
    "narrative",
];

/// The registration form, with what was typed and the problems of the last attempt.
fn register_form(staff: &Staff, values: &Submitted, problems: &Problems) -> Markup {
    let l: Locale = staff.locale;
    let label = |name: &str| t(l, &format!("cases-field-{}", name.replace('_', "-")));
    let country_hint = t(l, "cases-country-hint");
    html! {
        (form_alert(problems.alert()))
        form method="post" action="/console/cases/new" novalidate {
            (csrf_field(&staff.csrf))
            fieldset {
                legend { (t(l, "cases-summary")) }
                p.hint { (t(l, "cases-summary-hint")) }
                (Field::new("sex", &label("sex")).required().error(problems.field("sex"))
                    .select(&layout::vocabulary_options::<Sex>(l), values.one("sex")))
                (Field::new("age_band", &label("age_band")).required().error(problems.field("age_band"))
                    .select(&layout::vocabulary_options::<AgeBand>(l), values.one("age_band")))
                div.choice {
                    input type="checkbox" id="may_be_child" name="may_be_child" value="true"
                        checked[values.one("may_be_child") == "true"];
                    label for="may_be_child" { (label("may_be_child")) }
                }
                (Field::new("citizenship", &label("citizenship")).hint(&country_hint)
                    .error(problems.field("citizenship")).input("text", values.one("citizenship")))
                (Field::new("recruitment_country", &label("recruitment_country")).hint(&country_hint)
                    .error(problems.field("recruitment_country")).input("text", values.one("recruitment_country")))
                (Field::new("exploitation_country", &label("exploitation_country")).hint(&country_hint)
                    .error(problems.field("exploitation_country")).input("text", values.one("exploitation_country")))
                (Field::new("region", &label("region")).hint(&t(l, "cases-region-hint")).required()
                    .error(problems.field("region")).input("text", values.one("region")))
                (Field::new("encountered_on", &label("encountered_on")).required()
                    .error(problems.field("encountered_on")).input("date", values.one("encountered_on")))
                (checkboxes("exploitation_types", &label("exploitation_types"),
                    &layout::vocabulary_options::<ExploitationType>(l),
                    &values.all("exploitation_types"), problems.field("exploitation_types")))
                (checkboxes("means_of_control", &label("means_of_control"),
                    &layout::vocabulary_options::<MeansOfControl>(l),
                    &values.all("means_of_control"), problems.field("means_of_control")))
            }
            fieldset {
                legend { (t(l, "cases-group-identity")) }
                (Field::new("given_names", &label("given_names")).error(problems.field("given_names"))
                    .input_with("text", values.one("given_names"), Some("off")))
                (Field::new("family_name", &label("family_name")).error(problems.field("family_name"))
                    .input_with("text", values.one("family_name"), Some("off")))
                (Field::new("date_of_birth", &label("date_of_birth")).error(problems.field("date_of_birth"))
                    .input_with("date", values.one("date_of_birth"), Some("off")))
            }
            fieldset {
                legend { (t(l, "cases-group-contact")) }
                (Field::new("phones", &label("phones")).hint(&t(l, "cases-phones-hint"))
                    .error(problems.field("phones")).textarea(values.one("phones")))
                (Field::new("current_location", &label("current_location"))
                    .error(problems.field("current_location"))
                    .input_with("text", values.one("current_location"), Some("off")))
            }
            fieldset {
                legend { (t(l, "cases-group-exploitation")) }
                (Field::new("narrative", &label("narrative")).error(problems.field("narrative"))
                    .textarea(values.one("narrative")))
            }
            button type="submit" { (t(l, "cases-register-submit")) }
        }
    }
}

/// `GET /console/cases/new`: the registration form.
pub(super) async fn new_page(staff: Staff) -> PageResult {
    let title = t(staff.locale, "cases-new-title");
    let body = register_form(&staff, &Submitted::default(), &Problems::default());
    Ok(layout::ok(&staff, Section::Cases, &title, body))
}

/// The registration's JSON body, as the API takes it, from the form.
fn registration_body(form: &Submitted) -> serde_json::Value {
    let mut summary = json!({
        "may_be_child": form.one("may_be_child") == "true",
        "citizenship": form.text("citizenship"),
        "recruitment_country": form.text("recruitment_country"),
        "exploitation_country": form.text("exploitation_country"),
        "exploitation_types": form.all("exploitation_types"),
        "means_of_control": form.all("means_of_control"),
    });
    // Left out when empty, so that the service names them as missing.
    for name in ["sex", "age_band", "region", "encountered_on"] {
        if let Some(value) = form.opt(name) {
            summary[name] = json!(value);
        }
    }
    let mut groups = serde_json::Map::new();
    if ["given_names", "family_name", "date_of_birth"]
        .iter()
        .any(|f| form.opt(f).is_some())
    {
        groups.insert(
            "identity".to_owned(),
            json!({
                "given_names": form.text("given_names"),
                "family_name": form.text("family_name"),
                "date_of_birth": form.text("date_of_birth"),
            }),
        );
    }
    let phones: Vec<&str> = form
        .one("phones")
        .lines()
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect();
    if !phones.is_empty() || form.opt("current_location").is_some() {
        groups.insert(
            "contact".to_owned(),
            json!({"phones": phones, "current_location": form.text("current_location")}),
        );
    }
    if form.opt("narrative").is_some() {
        groups.insert(
            "exploitation".to_owned(),
            json!({"narrative": form.text("narrative")}),
        );
    }
    json!({"summary": summary, "groups": groups})
}

/// `POST /console/cases/new`: registers the person; on to the case page, or (when the service
/// found possible duplicates the caller may see) a page listing them by reference first.
pub(super) async fn register_case(
    state: web::Data<AppState>,
    staff: Staff,
    body: web::Bytes,
) -> PageResult {
    let form = Submitted::parse(&body)?;
    let raw = body.clone();
    staff.check(form.one("csrf"))?;
    let l = staff.locale;
    let outcome = match json_body::parse::<NewCaseInput>(&registration_body(&form)) {
        Ok(input) => {
            let key = super::once(&state, "/console/cases/new", form.one("once"), &raw);
            service::register(&state, staff.caller.clone(), input, key).await
        }
        Err(error) => Err(error),
    };
    let reply = match outcome {
        Ok(reply) => reply,
        Err(error) => {
            let problems = Problems::of(l, error, &FIELDS)?;
            let title = t(l, "cases-new-title");
            return Ok(refused(
                &staff,
                &title,
                register_form(&staff, &form, &problems),
            ));
        }
    };
    let id = reply.body["id"].as_str().unwrap_or_default().to_owned();
    let duplicates = reply.body["possible_duplicates"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    if duplicates.is_empty() {
        return Ok(layout::see_other(&staff, &format!("/console/cases/{id}")));
    }
    let title = t(l, "cases-registered-title");
    let body = html! {
        p role="status" { (t(l, "cases-registered-text")) " " strong { (reply.body["reference"].as_str().unwrap_or_default()) } }
        h2 { (t(l, "cases-duplicates")) }
        p { (t(l, "cases-duplicates-text")) }
        ul {
            @for item in &duplicates {
                li { a href=(format!("/console/cases/{}", item["case_id"].as_str().unwrap_or_default())) {
                    (item["reference"].as_str().unwrap_or_default())
                } }
            }
        }
        p { a.button href=(format!("/console/cases/{id}")) { (t(l, "cases-continue")) } }
    };
    Ok(layout::ok(&staff, Section::Cases, &title, body))
}
