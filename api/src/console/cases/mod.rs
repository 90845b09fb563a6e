//! The case pages of the console: the caller's cases, registering a person, the case page with
//! its purpose-bound read of the personal groups, and the forms of daily case work (consent,
//! screening, assistance, notes, risk, plan, status). Every page calls the service function the
//! JSON API calls; a form's field names are the API's JSON names where it has one.
//!
//! Forms (action: fields; `[]` = repeated, one per ticked box; every POST also takes `csrf`;
//! `purpose` is the visit's purpose code, carried back to the case page):
//! - GET  `/console/cases`: `reference`.
//! - POST `/console/cases/new`: `sex`, `age_band`, `may_be_child` (`true`), `citizenship`,
//!   `recruitment_country`, `exploitation_country` (ISO 3166-1 alpha-2), `region` (ISO 3166-2),
//!   `encountered_on` (YYYY-MM-DD), `exploitation_types[]`, `means_of_control[]`,
//!   `given_names`, `family_name`, `date_of_birth`, `phones` (one per line), `current_location`,
//!   `narrative`.
//! - GET  `/console/cases/{id}`: `purpose` (assistance, case_management, referral,
//!   identification, safeguarding, supervision, restriction_dispute).
//! - GET  `/console/cases/{id}/consent`: `given_by`, `method`, `purposes[]`, `groups[]`,
//!   `recipients[]`, `purpose` (shows the words to read aloud);
//!   POST `/console/cases/{id}/consent`: the same, and `valid_until` (YYYY-MM-DD), `details`.
//! - POST `/console/cases/{id}/screening`: `indicators[]`, `notes`, `judgement_presumed`
//!   (`true`/`false`/empty), `judgement_reason`, `purpose`.
//! - POST `/console/cases/{id}/assistance`: `service_type`, `status`, `provided_on`, `details`,
//!   `purpose`.
//! - POST `/console/cases/{id}/notes`: `text`, `purpose`.
//! - POST `/console/cases/{id}/risk`: `individual`, `household`, `community`, `review_on`,
//!   `details`, `purpose`.
//! - POST `/console/cases/{id}/plan`: `service_type`, `action`, `target_on`, `review_on`,
//!   `agreed_with_person` (`true`), `version` (hidden), `purpose` (adds one goal to the plan).
//! - POST `/console/cases/{id}/status`: `change` (`request_closure`, `approve_closure`,
//!   `reject_closure`), `reason` (with `request_closure`), `purpose`.

mod consent;
mod list;
mod page;
mod plan;
mod records;
mod screening;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use maud::Markup;
use tumaini_db::ids::CaseId;

use super::i18n::{Locale, t};
use super::layout::{self, Section};
use super::session::Staff;
use super::{ConsoleError, PageResult};
use crate::cases::views::AccessPurpose;
use crate::http::{ApiError, ProblemType};

/// Registers the pages of this module.
pub(super) fn register(scope: actix_web::Scope) -> actix_web::Scope {
    scope
        .route("/cases", web::get().to(list::list_page))
        .route("/cases/new", web::get().to(list::new_page))
        .route("/cases/new", web::post().to(list::register_case))
        .route("/cases/{id}", web::get().to(page::case_page))
        .route("/cases/{id}/consent", web::get().to(consent::consent_page))
        .route(
            "/cases/{id}/consent",
            web::post().to(consent::record_consent),
        )
        .route(
            "/cases/{id}/screening",
            web::get().to(screening::screening_page),
        )
        .route(
            "/cases/{id}/screening",
            web::post().to(screening::record_screening),
        )
        .route(
            "/cases/{id}/assistance",
            web::get().to(records::assistance_page),
        )
        .route(
            "/cases/{id}/assistance",
            web::post().to(records::record_assistance),
        )
        .route("/cases/{id}/notes", web::get().to(records::note_page))
        .route("/cases/{id}/notes", web::post().to(records::write_note))
        .route("/cases/{id}/risk", web::get().to(records::risk_page))
        .route("/cases/{id}/risk", web::post().to(records::record_risk))
        .route("/cases/{id}/plan", web::get().to(plan::plan_page))
        .route("/cases/{id}/plan", web::post().to(plan::save_plan))
        .route("/cases/{id}/status", web::post().to(records::change_status))
}

/// A form or query as submitted: every `(name, value)` pair in order, so that a name repeated
/// by checkboxes keeps all its values.
#[derive(Debug, Default)]
pub(super) struct Submitted(Vec<(String, String)>);

impl Submitted {
    /// Reads an `application/x-www-form-urlencoded` body.
    fn parse(bytes: &[u8]) -> Result<Self, ConsoleError> {
        serde_urlencoded::from_bytes::<Vec<(String, String)>>(bytes)
            .map(Self)
            .map_err(|_| {
                ApiError::problem(ProblemType::BadRequest, "the form could not be read").into()
            })
    }

    /// Reads a request's query string (an unreadable one is empty).
    fn query(req: &HttpRequest) -> Self {
        Self::parse(req.query_string().as_bytes()).unwrap_or_default()
    }

    /// Reads only the fields `names` of a request's query string: a form's page takes codes
    /// from its address (the visit's purpose, consent's choices), never free text, so that no
    /// link can carry a note or a name into a form.
    fn query_only(req: &HttpRequest, names: &[&str]) -> Self {
        let mut read = Self::query(req);
        read.0.retain(|(k, _)| names.contains(&k.as_str()));
        read
    }

    /// The first value of `name`, trimmed; empty when absent.
    fn one(&self, name: &str) -> &str {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map_or("", |(_, v)| v.trim())
    }

    /// The first value of `name` unless empty.
    fn opt(&self, name: &str) -> Option<&str> {
        Some(self.one(name)).filter(|v| !v.is_empty())
    }

    /// Every non-empty value of `name`.
    fn all(&self, name: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, v)| k == name && !v.trim().is_empty())
            .map(|(_, v)| v.trim().to_owned())
            .collect()
    }

    /// The value of `name` as JSON: a string, or null when empty.
    fn text(&self, name: &str) -> serde_json::Value {
        self.opt(name)
            .map_or(serde_json::Value::Null, serde_json::Value::from)
    }

    /// The visit's purpose, if one was given and is known.
    fn purpose(&self) -> Option<AccessPurpose> {
        purpose_of(self.one("purpose"))
    }
}

/// A purpose by its code.
fn purpose_of(code: &str) -> Option<AccessPurpose> {
    serde_json::from_value(serde_json::Value::from(code)).ok()
}

/// Every purpose a case is read for, in the order the purpose menu lists them.
const PURPOSES: [AccessPurpose; 7] = [
    AccessPurpose::CaseManagement,
    AccessPurpose::Assistance,
    AccessPurpose::Referral,
    AccessPurpose::Identification,
    AccessPurpose::Safeguarding,
    AccessPurpose::Supervision,
    AccessPurpose::RestrictionDispute,
];

/// The purposes as `(code, label)` options.
fn purpose_options(l: Locale) -> Vec<(String, String)> {
    PURPOSES
        .iter()
        .map(|p| {
            (
                p.code().to_owned(),
                t(l, &format!("cases-purpose-{}", p.code().replace('_', "-"))),
            )
        })
        .collect()
}

/// The case id of a path, or the console's 404.
/// The idempotency key of a form sent to `path` (its `once` field): the same form sent twice
/// acts once, and the second answer is the first.
fn once(
    state: &crate::state::AppState,
    path: &str,
    key: &str,
    body: &[u8],
) -> Option<crate::cases::Idempotency> {
    crate::cases::Idempotency::for_console_form(&state.auth.keys, path, key, body)
}

fn case_id(text: &str) -> Result<CaseId, ConsoleError> {
    text.parse::<CaseId>()
        .map_err(|_| ApiError::bare(ProblemType::NotFound).into())
}

/// The case page's address, with the visit's purpose.
fn case_href(id: &CaseId, purpose: Option<AccessPurpose>) -> String {
    match purpose {
        Some(p) => format!("/console/cases/{id}?purpose={}", p.code()),
        None => format!("/console/cases/{id}"),
    }
}

/// The address of one of the case's forms, with the visit's purpose.
fn action_href(id: &CaseId, action: &str, purpose: Option<AccessPurpose>) -> String {
    match purpose {
        Some(p) => format!("/console/cases/{id}/{action}?purpose={}", p.code()),
        None => format!("/console/cases/{id}/{action}"),
    }
}

/// What was wrong with a form the service refused (422): the fields it named, each with its
/// message, or a message for the whole form. The service's messages name a field in
/// backticks and never quote a value; the page shows its own words.
#[derive(Debug, Default)]
pub(super) struct Problems {
    fields: Vec<(String, String)>,
    alert: Option<String>,
}

impl Problems {
    /// The problems of a refusal: a 422 is mapped to `fields` (by the last segment of the
    /// path the service named); anything else is the page's error.
    fn of(l: Locale, error: ApiError, fields: &[&str]) -> Result<Self, ConsoleError> {
        let ApiError::Problem { kind, detail } = &error else {
            return Err(error.into());
        };
        if kind.status() != StatusCode::UNPROCESSABLE_ENTITY {
            return Err(error.into());
        }
        let detail = detail.clone().unwrap_or_default();
        let named = detail
            .split('`')
            .nth(1)
            .and_then(|path| path.rsplit('.').next())
            .map(|last| last.split('[').next().unwrap_or(last).to_owned())
            .filter(|name| fields.contains(&name.as_str()));
        let message = if detail.contains("is missing") {
            t(l, "cases-error-missing")
        } else if detail.contains("in the future") {
            t(l, "cases-error-future")
        } else {
            t(l, "cases-error-invalid")
        };
        Ok(match named {
            Some(name) => Self {
                fields: vec![(name, message)],
                alert: Some(t(l, "cases-error-summary")),
            },
            None => Self {
                fields: Vec::new(),
                alert: Some(format!("{} {detail}", t(l, "cases-error-form"))),
            },
        })
    }

    /// The error of field `name`.
    fn field(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, m)| m.as_str())
    }

    /// The error for the whole form.
    fn alert(&self) -> Option<&str> {
        self.alert.as_deref()
    }
}

/// A form page re-shown after the service refused it (422), errors next to their fields.
fn refused(staff: &Staff, title: &str, body: Markup) -> HttpResponse {
    layout::respond(
        Some(staff),
        StatusCode::UNPROCESSABLE_ENTITY,
        layout::page(staff, Section::Cases, title, body),
    )
}

/// After a service call of a form: on to the case page, or the form again with its problems.
fn after_form(
    staff: &Staff,
    id: &CaseId,
    purpose: Option<AccessPurpose>,
    outcome: Result<(), ApiError>,
    fields: &[&str],
    form: impl FnOnce(&Problems) -> (String, Markup),
) -> PageResult {
    match outcome {
        Ok(()) => Ok(layout::see_other(staff, &case_href(id, purpose))),
        Err(error) => {
            let problems = Problems::of(staff.locale, error, fields)?;
            let (title, body) = form(&problems);
            Ok(refused(staff, &title, body))
        }
    }
}
