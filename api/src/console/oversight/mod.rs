//! Oversight: the pages of supervisors and national coordinators.
//!
//! - `/console/supervision` (supervisors): the closures, duplicates and erasures waiting for
//!   them, from the work list, with who holds each case; and the organisation's staff with the
//!   cases they hold that have something due.
//! - `/console/cases/{id}/assignments` (supervisors): who of the organisation works on a case,
//!   assign and unassign.
//! - `/console/cases/{id}/break-glass` (supervisors, coordinators): justified, time-limited
//!   emergency access, its time limit and its audit shown before and after.
//! - `/console/coordination` (coordinators): the NRM deadlines of the country's cases, the
//!   referrals overview, and statistics tables with every suppressed figure marked.
//!
//! Forms (action: field names; every POST also carries `csrf`):
//! - POST `/console/cases/{id}/assignments`: `user_id` (select), `lead` (checkbox, value `true`).
//! - POST `/console/cases/{id}/assignments/unassign`: `user_id` (hidden, one form per row).
//! - POST `/console/cases/{id}/break-glass`: `groups` (checkboxes, repeated: identity, contact,
//!   exploitation, health, legal, notes), `justification` (textarea), `minutes` (select).
//!   Afterwards: GET `/console/cases/{id}/break-glass?opened=1`.
//! - GET `/console/coordination`: `subject` (select: people, referrals), `rows` (select: a
//!   dimension code), `columns` (select: a dimension code, optional).
//!
//! Each field's `id` is its name, except the break-glass checkboxes (`groups-0` … `groups-5`,
//! in the order above) and the hidden `user_id` of the unassign forms (no id). Answers: a done
//! form is 303 to the page it came from; a refusal the person can act on is the same page again
//! with `role="alert"` (422; 409 for an unassignment of someone not assigned; 400 for a table
//! the statistics refuse); no CSRF token is 403; a case the caller may not see is 404; a page
//! of another role is 403.

mod assignments;
mod break_glass;
mod coordination;
mod statistics;
mod supervision;

use maud::{Markup, html};
use tumaini_db::vocabulary::Role;

use super::i18n::{self, Locale, t};
use crate::http::{ApiError, ProblemType};
use crate::work::{WorkItem, WorkItemKind};

/// Registers the pages of this module.
pub(super) fn register(scope: actix_web::Scope) -> actix_web::Scope {
    let scope = supervision::register(scope);
    let scope = assignments::register(scope);
    let scope = break_glass::register(scope);
    coordination::register(scope)
}

/// A page for one role only: anyone else is told they may not (403), as the API tells them for
/// the services the page calls.
fn only(role: Role, wanted: &[Role]) -> Result<(), ApiError> {
    if wanted.contains(&role) {
        Ok(())
    } else {
        Err(ApiError::bare(ProblemType::Forbidden))
    }
}

/// The snake_case code of a kind of work item (its message is `work-kind-<code>`, `_` as `-`).
fn kind_label(locale: Locale, kind: WorkItemKind) -> String {
    let code = serde_json::to_value(kind)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    t(locale, &format!("work-kind-{code}").replace('_', "-"))
}

/// The day an item is due, in East Africa Time, with its overdue mark.
fn due(locale: Locale, item: &WorkItem) -> Markup {
    html! {
        (i18n::date(locale, (item.due_at + chrono::Duration::hours(3)).date_naive()))
        @if item.overdue { " " strong.badge { (t(locale, "work-overdue")) } }
    }
}

/// Who holds an item's case (supervisors' lists), the lead marked.
fn holders(locale: Locale, item: &WorkItem) -> Markup {
    html! {
        @if let Some(holders) = &item.held_by {
            @if holders.is_empty() {
                (t(locale, "oversight-nobody"))
            }
            @for (i, h) in holders.iter().enumerate() {
                @if i > 0 { ", " }
                (h.display_name)
                @if h.lead { " (" (t(locale, "work-lead")) ")" }
            }
        }
    }
}

/// The case page.
fn case_path(id: &tumaini_db::ids::CaseId) -> String {
    format!("/console/cases/{id}")
}
