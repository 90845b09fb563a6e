//! "My work", the page a person lands on: the same list as `GET /api/v1/work`, soonest due
//! first, each item linking to the console page where the work is done.

use actix_web::web;
use maud::html;

use super::PageResult;
use super::i18n::{self, Arg, t, ta};
use super::layout::{self, Section};
use super::session::Staff;
use crate::state::AppState;
use crate::work::{self, WorkFilter, WorkItem, WorkItemKind};

pub(super) fn register(scope: actix_web::Scope) -> actix_web::Scope {
    scope.route("/work", web::get().to(work_page))
}

/// The snake_case code of a kind of item (its message is `work-kind-<code>`).
fn kind_code(kind: WorkItemKind) -> String {
    serde_json::to_value(kind)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// Where in the console an item's work is done.
fn console_link(item: &WorkItem) -> String {
    match (item.kind, &item.referral_id) {
        (WorkItemKind::ReferralToAnswer | WorkItemKind::ReferralUnanswered, Some(referral)) => {
            format!("/console/referrals/{referral}")
        }
        _ => format!("/console/cases/{}", item.case.id),
    }
}

async fn work_page(state: web::Data<AppState>, staff: Staff) -> PageResult {
    let l = staff.locale;
    let list = work::for_caller(&state, staff.caller.clone(), WorkFilter::default()).await?;
    let supervisor = list.items.iter().any(|i| i.held_by.is_some());
    let title = t(l, "work-title");
    let body = html! {
        @if list.items.is_empty() {
            p { (t(l, "work-empty")) }
        } @else {
            p { (ta(l, "work-count", &[("count", Arg::from(list.items.len()))])) }
            table {
                caption.visually-hidden { (title) }
                thead { tr {
                    th scope="col" { (t(l, "work-due")) }
                    th scope="col" { (t(l, "work-what")) }
                    th scope="col" { (t(l, "work-case")) }
                    @if supervisor { th scope="col" { (t(l, "work-held-by")) } }
                } }
                tbody {
                    @for item in &list.items {
                        tr.overdue[item.overdue] {
                            td {
                                (i18n::date(l, (item.due_at + chrono::Duration::hours(3)).date_naive()))
                                @if item.overdue { " " strong.badge { (t(l, "work-overdue")) } }
                            }
                            td { a href=(console_link(item)) { (t(l, &format!("work-kind-{}", kind_code(item.kind)).replace('_', "-"))) } }
                            td { a href=(format!("/console/cases/{}", item.case.id)) { (item.case.reference) } }
                            @if supervisor {
                                td {
                                    @if let Some(holders) = &item.held_by {
                                        @for (i, h) in holders.iter().enumerate() {
                                            @if i > 0 { ", " }
                                            (h.display_name)
                                            @if h.lead { " (" (t(l, "work-lead")) ")" }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(layout::ok(&staff, Section::Work, &title, body))
}
