//! The case list: the cases the caller may see, newest first, with filters and cursor
//! pagination. The rows come from the caller's scope (their organisation's cases, the cases it
//! serves through a referral, a first responder's own, a coordinator's country); each is then
//! decided by the policies like a read of its summary. The list is read without the write
//! lock; its audit event is written after.

use serde::Serialize;
use tumaini_db::DbConn;
use tumaini_db::ids::CaseId;
use tumaini_db::models::case::{Case, CaseFilter, CaseScope};
use tumaini_db::models::referral::Referral;
use tumaini_db::vocabulary::Role;
use utoipa::ToSchema;

use super::views::CaseSummaryView;
use super::{access_context, facts_and_lists_of_cases};
use crate::audit::{AuditAction, Entry, Outcome};
use crate::auth::Principal;
use crate::authz::{AccessContext, Action, Authorizer, CaseFacts, Resource, Subject};
use crate::http::{ApiError, with_conn};
use crate::state::AppState;

/// How many batches of rows one page reads at most while the policies hide some.
const BATCHES: usize = 5;

/// A page of cases.
#[derive(Debug, Serialize, ToSchema)]
pub struct CasePage {
    /// The cases you may see, newest first.
    pub items: Vec<CaseSummaryView>,
    /// Pass as `cursor` for the next page; absent on the last.
    pub next_cursor: Option<CaseId>,
}

/// A page of the cases the caller may see, audited.
pub async fn list(
    state: &AppState,
    caller: Principal,
    filter: CaseFilter,
    cursor: Option<CaseId>,
    limit: i64,
) -> Result<CasePage, ApiError> {
    let authz = std::sync::Arc::clone(&state.authz);
    let context = access_context(&state.cases, "case_management");
    let mut scope = scope_of(&caller);
    let holds_referrals = match &caller {
        Principal::Person(person) => {
            matches!(person.user.role, Role::CaseWorker | Role::Supervisor)
        }
        Principal::Client(_) => false,
    };
    with_conn(&state.pool, move |conn| {
        let facts = caller.facts();
        let page = conn.read_transaction(|conn| {
            if holds_referrals {
                // Cases the organisation serves through an accepted referral.
                scope.also = Referral::held_cases(conn, &caller.organisation().id)?;
            }
            let seen = Seen {
                authz: &authz,
                principal: facts.subject(),
                context: &context,
            };
            page(conn, &seen, &scope, &filter, cursor, limit)
        })?;
        conn.write_transaction(|conn| {
            Entry::new(AuditAction::CaseList, Outcome::Success)
                .in_request(caller.context())
                .by_actor(caller.actor())
                .write(conn)
        })?;
        Ok(page)
    })
    .await
}

/// The rows a caller's role lists before the policies decide each: a coordinator's and a
/// competent authority's country, an organisation's own cases, a first responder's own; a
/// machine client's like a coordinator's (a coordination office's) or its organisation's.
fn scope_of(caller: &Principal) -> CaseScope {
    let jurisdiction = Some(caller.organisation().country);
    let own = || CaseScope {
        owner: Some(caller.organisation().id.clone()),
        ..CaseScope::default()
    };
    let national = || CaseScope {
        all: true,
        country: jurisdiction,
        ..CaseScope::default()
    };
    let Principal::Person(person) = caller else {
        return if caller.national() { national() } else { own() };
    };
    match person.user.role {
        Role::Coordinator => national(),
        Role::CompetentAuthority => CaseScope {
            referred_into_nrm: true,
            country: jurisdiction,
            ..CaseScope::default()
        },
        Role::CaseWorker | Role::Supervisor => own(),
        Role::FirstResponder => CaseScope {
            created_by: Some(person.user.id.clone()),
            ..CaseScope::default()
        },
        Role::Admin => CaseScope::default(),
    }
}

/// Who asks, for the policies.
struct Seen<'a> {
    authz: &'a Authorizer,
    principal: Subject<'a>,
    context: &'a AccessContext,
}

impl Seen<'_> {
    /// Whether the caller may see the summary of a case with these facts.
    fn sees(&self, facts: &CaseFacts) -> bool {
        self.authz
            .decide(
                self.principal,
                Action::ReadSummary,
                &Resource::Case(facts),
                self.context,
            )
            .allowed
    }
}

/// One page: rows the policies hide are skipped, and more read until the page is full.
fn page(
    conn: &mut DbConn,
    seen: &Seen<'_>,
    scope: &CaseScope,
    filter: &CaseFilter,
    mut cursor: Option<CaseId>,
    limit: i64,
) -> Result<CasePage, ApiError> {
    let full = usize::try_from(limit).unwrap_or(0);
    let mut items = Vec::new();
    let mut last_seen = None;
    'batches: for _ in 0..BATCHES {
        let rows = Case::list(conn, scope, filter, cursor.as_ref(), limit + 1)?;
        let exhausted = rows.len() <= full;
        // The batch's policy facts and summary lists in a fixed number of queries, not a
        // round trip per row.
        for (case, facts, _, (kinds, means)) in facts_and_lists_of_cases(conn, rows)? {
            if items.len() == full {
                break 'batches;
            }
            cursor = Some(case.id.clone());
            last_seen = Some(case.id.clone());
            if !seen.sees(&facts) {
                continue;
            }
            items.push(CaseSummaryView::of(&case, kinds, means));
        }
        if exhausted {
            last_seen = None;
            break;
        }
    }
    Ok(CasePage {
        next_cursor: if items.len() == full {
            items.last().map(|c| c.id.clone())
        } else {
            last_seen
        },
        items,
    })
}
