//! The case page: the summary, a purpose form, and (once a purpose is given) the personal
//! groups the caller may read, read once per view through `crate::cases::read_case` (the
//! service `GET /api/v1/cases/{id}` calls, audited with its purpose); then the case's work:
//! consent, screening, assistance, notes, risk, plan, status, referral, and for supervisors
//! assignments and break-glass.

use actix_web::{HttpRequest, web};
use maud::{Markup, html};
use serde_json::Value;
use tumaini_db::vocabulary::ClosureReason;

use super::super::PageResult;
use super::super::i18n::{self, Locale, t};
use super::super::layout::{self, Field, Section, csrf_field};
use super::super::session::Staff;
use super::{Submitted, action_href, case_id, purpose_options};
use crate::authz::{Action, FieldGroup};
use crate::cases::views::AccessPurpose;
use crate::state::AppState;

/// Every personal group, in the order the page shows them.
const GROUPS: [FieldGroup; 6] = [
    FieldGroup::Identity,
    FieldGroup::Contact,
    FieldGroup::Exploitation,
    FieldGroup::Health,
    FieldGroup::Legal,
    FieldGroup::Notes,
];

/// The label of a vocabulary code found in a JSON view.
fn coded<V: tumaini_db::vocabulary::Coded>(l: Locale, value: &Value) -> String {
    let code = value.as_str().unwrap_or_default();
    V::all()
        .iter()
        .find(|v| v.code() == code)
        .map_or_else(|| code.to_owned(), |v| i18n::vocab(l, *v))
}

fn coded_list<V: tumaini_db::vocabulary::Coded>(l: Locale, value: &Value) -> String {
    value
        .as_array()
        .map(|items| {
            items
                .iter()
                .map(|v| coded::<V>(l, v))
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default()
}

/// A date or time of the view (RFC 3339 or YYYY-MM-DD) as the language writes it.
fn when(l: Locale, value: &Value) -> String {
    let text = value.as_str().unwrap_or_default();
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(text) {
        return i18n::date_time(l, t.naive_utc());
    }
    if let Ok(d) = text.parse::<chrono::NaiveDate>() {
        return i18n::date(l, d);
    }
    text.to_owned()
}

/// A stored value of a personal group in words: text, lists joined, records as `key: value`.
fn plain(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Bool(b) => if *b { "✓" } else { "✗" }.to_owned(),
        Value::Number(n) => n.to_string(),
        Value::Array(items) => items.iter().map(plain).collect::<Vec<_>>().join("; "),
        Value::Object(fields) => fields
            .iter()
            .filter(|(_, v)| !v.is_null())
            .map(|(k, v)| format!("{k}: {}", plain(v)))
            .collect::<Vec<_>>()
            .join(", "),
    }
}

/// A field of a group by its label (its name where the console has no label for it).
fn field_label(l: Locale, name: &str) -> String {
    let id = format!("cases-field-{}", name.replace('_', "-"));
    if i18n::has(Locale::En, &id) {
        t(l, &id)
    } else {
        name.replace('_', " ")
    }
}

fn summary(l: Locale, view: &Value) -> Markup {
    use tumaini_db::vocabulary::{
        AgeBand, CaseStatus, ExploitationType, IdentificationStage, MeansOfControl, Sex,
    };
    let row = |label: &str, value: String| {
        html! { div { dt { (t(l, label)) } dd { @if value.is_empty() { "—" } @else { (value) } } } }
    };
    let yes_no = |b: bool| t(l, if b { "cases-yes" } else { "cases-no" });
    html! {
        h2 #summary { (t(l, "cases-summary")) }
        dl.summary {
            (row("cases-reference", view["reference"].as_str().unwrap_or_default().to_owned()))
            (row("cases-status", coded::<CaseStatus>(l, &view["status"])))
            (row("cases-stage", coded::<IdentificationStage>(l, &view["identification_stage"])))
            (row("cases-field-sex", coded::<Sex>(l, &view["sex"])))
            (row("cases-field-age-band", coded::<AgeBand>(l, &view["age_band"])))
            (row("cases-child", yes_no(view["child"].as_bool().unwrap_or(false))))
            (row("cases-field-citizenship", view["citizenship"].as_str().unwrap_or_default().to_owned()))
            (row("cases-field-exploitation-country", view["exploitation_country"].as_str().unwrap_or_default().to_owned()))
            (row("cases-field-region", view["region"].as_str().unwrap_or_default().to_owned()))
            (row("cases-field-encountered-on", when(l, &view["encountered_on"])))
            (row("cases-field-exploitation-types", coded_list::<ExploitationType>(l, &view["exploitation_types"])))
            (row("cases-field-means-of-control", coded_list::<MeansOfControl>(l, &view["means_of_control"])))
            (row("cases-registered", when(l, &view["created_at"])))
            @if !view["deadlines"]["reasonable_grounds_due_at"].is_null() {
                (row("cases-rg-due", when(l, &view["deadlines"]["reasonable_grounds_due_at"])))
            }
            @if view["deadlines"]["overdue"].as_bool().unwrap_or(false) {
                (row("cases-overdue", yes_no(true)))
            }
            @if view["restricted"].as_bool().unwrap_or(false) {
                (row("cases-restricted", yes_no(true)))
            }
        }
    }
}

fn purpose_form(l: Locale, id: &str, purpose: Option<AccessPurpose>) -> Markup {
    html! {
        form.purpose method="get" action=(format!("/console/cases/{id}")) {
            (Field::new("purpose", &t(l, "cases-purpose"))
                .hint(&t(l, "cases-purpose-hint"))
                .required()
                .select(&purpose_options(l), purpose.map_or("", AccessPurpose::code)))
            button type="submit" { (t(l, "cases-purpose-submit")) }
        }
    }
}

fn personal_groups(l: Locale, view: &Value) -> Markup {
    let listed = |key: &str, code: &str| {
        view[key]
            .as_array()
            .is_some_and(|items| items.iter().any(|v| v.as_str() == Some(code)))
    };
    html! {
        h2 #groups { (t(l, "cases-groups")) }
        @for group in GROUPS {
            @let code = group.code();
            section aria-labelledby=(format!("group-{code}")) {
                h3 id=(format!("group-{code}")) { (t(l, &format!("cases-group-{code}"))) }
                @if listed("withheld_groups", code) {
                    p.withheld { (t(l, "cases-group-withheld")) }
                } @else if listed("erased_groups", code) {
                    p.erased { (t(l, "cases-group-erased")) }
                } @else {
                    @match view["groups"].get(code) {
                        Some(Value::Object(fields)) if fields.values().any(|v| !v.is_null() && v != &Value::Array(Vec::new())) => {
                            dl {
                                @for (name, value) in fields {
                                    @if !value.is_null() && value != &Value::Array(Vec::new()) {
                                        div { dt { (field_label(l, name)) } dd { (plain(value)) } }
                                    }
                                }
                            }
                        }
                        _ => { p { (t(l, "cases-group-empty")) } }
                    }
                }
            }
        }
    }
}

/// What the case page offers, and the action the policies decide for each.
const OFFERS: [(&str, &str, Action); 6] = [
    ("consent", "cases-consent-title", Action::RecordConsent),
    (
        "screening",
        "cases-screening-title",
        Action::RecordScreening,
    ),
    (
        "assistance",
        "cases-assistance-title",
        Action::RecordAssistance,
    ),
    ("notes", "cases-note-title", Action::RecordAssistance),
    ("risk", "cases-risk-title", Action::RecordAssistance),
    ("plan", "cases-plan-title", Action::RecordAssistance),
];

fn work(staff: &Staff, view: &Value, purpose: Option<AccessPurpose>, allowed: &[Action]) -> Markup {
    let l = staff.locale;
    let id_text = view["id"].as_str().unwrap_or_default();
    let Ok(id) = id_text.parse::<tumaini_db::ids::CaseId>() else {
        return html! {};
    };
    let may = |action: Action| allowed.contains(&action);
    let pending = view["closure_pending"].as_bool().unwrap_or(false);
    let status = view["status"].as_str().unwrap_or_default();
    let purpose_field = html! {
        @if let Some(p) = purpose { input type="hidden" name="purpose" value=(p.code()); }
    };
    html! {
        h2 #work { (t(l, "cases-work")) }
        ul.actions aria-labelledby="work" {
            @for (action, label, decided) in OFFERS {
                @if may(decided) {
                    li { a href=(action_href(&id, action, purpose)) { (t(l, label)) } }
                }
            }
            @if may(Action::CreateReferral) {
                li { a href=(format!("/console/cases/{id}/refer")) { (t(l, "cases-refer")) } }
            }
            @if may(Action::AssignStaff) {
                li { a href=(format!("/console/cases/{id}/assignments")) { (t(l, "cases-assignments")) } }
            }
            @if may(Action::OpenBreakGlass) {
                li { a href=(format!("/console/cases/{id}/break-glass")) { (t(l, "cases-break-glass")) } }
            }
        }
        h2 #status { (t(l, "cases-status-title")) }
        @if pending {
            p { (t(l, "cases-closure-pending")) ": " (coded::<ClosureReason>(l, &view["closure_reason"])) }
            @if may(Action::ApproveClosure) {
                form method="post" action=(format!("/console/cases/{id}/status")) {
                    (csrf_field(&staff.csrf))
                    (purpose_field)
                    button type="submit" name="change" value="approve_closure" { (t(l, "cases-closure-approve")) }
                    " "
                    button type="submit" name="change" value="reject_closure" { (t(l, "cases-closure-reject")) }
                }
            }
        } @else if status != "closed" && status != "withdrawn" && may(Action::ChangeCaseStatus) {
            form method="post" action=(format!("/console/cases/{id}/status")) {
                (csrf_field(&staff.csrf))
                (purpose_field)
                input type="hidden" name="change" value="request_closure";
                (Field::new("reason", &t(l, "cases-closure-reason")).required()
                    .select(&layout::vocabulary_options::<ClosureReason>(l), ""))
                button type="submit" { (t(l, "cases-closure-request")) }
            }
        }
    }
}

/// `GET /console/cases/{id}`: the case; with `?purpose=`, its personal groups too.
pub(super) async fn case_page(
    state: web::Data<AppState>,
    staff: Staff,
    path: web::Path<String>,
    req: HttpRequest,
) -> PageResult {
    let l = staff.locale;
    let id = case_id(&path)?;
    let purpose = Submitted::query(&req).purpose();
    let wanted = if purpose.is_some() {
        GROUPS.to_vec()
    } else {
        Vec::new()
    };
    let reply = crate::cases::read_case(&state, &staff.caller, id.clone(), wanted, purpose).await?;
    let view = reply.body;
    // What the page offers is what the policies allow this person now.
    let offered = OFFERS
        .iter()
        .map(|(_, _, action)| *action)
        .chain([
            Action::CreateReferral,
            Action::AssignStaff,
            Action::OpenBreakGlass,
            Action::ApproveClosure,
            Action::ChangeCaseStatus,
        ])
        .collect();
    let allowed = crate::cases::allowed_actions(&state, &staff.caller, id.clone(), offered).await?;
    let reference = view["reference"].as_str().unwrap_or_default();
    let title = format!("{} {reference}", t(l, "cases-case"));
    let body = html! {
        (summary(l, &view))
        (purpose_form(l, id.as_str(), purpose))
        @if purpose.is_some() {
            (personal_groups(l, &view))
        }
        (work(&staff, &view, purpose, &allowed))
    };
    Ok(layout::ok(&staff, Section::Cases, &title, body))
}
