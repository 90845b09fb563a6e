//! What waits for a supervisor: closures to approve, possible duplicates to resolve and
//! erasures to approve, from the same work list as `GET /api/v1/work`, each with who holds the
//! case and a link to the case page; then the organisation's staff with the cases they hold
//! that have something due.

use std::collections::BTreeMap;

use actix_web::web;
use maud::html;
use tumaini_db::vocabulary::{Role, UserStatus};

use super::{case_path, due, holders, kind_label, only};
use crate::accounts::administration;
use crate::console::PageResult;
use crate::console::i18n::{self, Arg, t, ta};
use crate::console::layout::{self, Section};
use crate::console::session::Staff;
use crate::state::AppState;
use crate::work::{self, CaseRef, MAX_ITEMS, WorkFilter, WorkItemKind};

pub(super) fn register(scope: actix_web::Scope) -> actix_web::Scope {
    scope.route("/supervision", web::get().to(supervision_page))
}

/// The kinds of work only a supervisor does.
const APPROVALS: [WorkItemKind; 3] = [
    WorkItemKind::ClosureApproval,
    WorkItemKind::DuplicateToResolve,
    WorkItemKind::ErasureApproval,
];

async fn supervision_page(state: web::Data<AppState>, staff: Staff) -> PageResult {
    only(staff.caller.user.role, &[Role::Supervisor])?;
    let l = staff.locale;
    let filter = WorkFilter {
        limit: Some(MAX_ITEMS),
        ..WorkFilter::default()
    };
    let list = work::for_caller(&state, staff.caller.clone(), filter).await?;
    let members = administration::list(&state, staff.caller.clone(), None).await?;
    let approvals: Vec<_> = list
        .items
        .iter()
        .filter(|i| APPROVALS.contains(&i.kind))
        .collect();
    // The cases each member of staff holds that have something due, once each.
    let mut held: BTreeMap<String, Vec<CaseRef>> = BTreeMap::new();
    for item in &list.items {
        for holder in item.held_by.iter().flatten() {
            let cases = held.entry(holder.user_id.to_string()).or_default();
            if !cases.iter().any(|c| c.id == item.case.id) {
                cases.push(item.case.clone());
            }
        }
    }
    let staff_rows: Vec<_> = members
        .iter()
        .filter(|m| matches!(m.role, Role::CaseWorker | Role::Supervisor))
        .filter(|m| matches!(m.status, UserStatus::Active | UserStatus::Invited))
        .collect();
    let title = t(l, "supervision-title");
    let body = html! {
        h2 #approvals { (t(l, "supervision-waiting")) }
        @if approvals.is_empty() {
            p { (t(l, "supervision-nothing")) }
        } @else {
            p { (ta(l, "supervision-count", &[("count", Arg::from(approvals.len()))])) }
            table aria-labelledby="approvals" {
                thead { tr {
                    th scope="col" { (t(l, "work-due")) }
                    th scope="col" { (t(l, "work-what")) }
                    th scope="col" { (t(l, "work-case")) }
                    th scope="col" { (t(l, "work-held-by")) }
                } }
                tbody {
                    @for item in &approvals {
                        tr.overdue[item.overdue] {
                            td { (due(l, item)) }
                            td { a href=(case_path(&item.case.id)) { (kind_label(l, item.kind)) } }
                            td { a href=(case_path(&item.case.id)) { (item.case.reference) } }
                            td { (holders(l, item)) }
                        }
                    }
                }
            }
        }
        h2 #staff { (t(l, "supervision-staff")) }
        p.hint { (t(l, "supervision-staff-hint")) }
        table aria-labelledby="staff" {
            thead { tr {
                th scope="col" { (t(l, "supervision-member")) }
                th scope="col" { (t(l, "account-role")) }
                th scope="col" { (t(l, "supervision-cases-due")) }
            } }
            tbody {
                @for member in &staff_rows {
                    tr {
                        th scope="row" { (member.display_name) }
                        td { (i18n::vocab(l, member.role)) }
                        td {
                            @match held.get(&member.id.to_string()) {
                                Some(cases) if !cases.is_empty() => {
                                    ul.plain {
                                        @for case in cases {
                                            li {
                                                a href=(case_path(&case.id)) { (case.reference) }
                                                " · "
                                                a href=(format!("{}/assignments", case_path(&case.id))) { (t(l, "staff-assignments-title")) }
                                            }
                                        }
                                    }
                                }
                                _ => { (t(l, "supervision-none-due")) }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(layout::ok(&staff, Section::Supervision, &title, body))
}
