//! Gathers the items of a caller's work list from the records, by role, each one allowed by
//! the policies (see the parent module).

use std::collections::HashMap;

use chrono::{NaiveDate, NaiveDateTime};
use tumaini_db::ids::{CaseId, UserId};
use tumaini_db::models::case::{Awaited, Case, Deadline};
use tumaini_db::models::follow_up::FollowUp;
use tumaini_db::models::referral::{Mailbox, Referral};
use tumaini_db::models::{Organisation, User, assignment, work};
use tumaini_db::vocabulary::Role;
use tumaini_db::{DbConn, DbError};

use super::{CaseRef, DEFAULT_ITEMS, Holder, MAX_ITEMS, WorkFilter, WorkItem, WorkItemKind};
use crate::authz::{
    AccessContext, Action, Authorizer, CaseFacts, OrganisationFacts, PrincipalFacts, Resource,
    TransferFacts,
};
use crate::cases::erasure::{self, Decider};
use crate::cases::{self as service};
use crate::rules::deadlines::end_of_day;
use crate::rules::lifecycle;

/// The items found so far, each with who holds it.
#[derive(Debug, Default)]
pub(super) struct Found {
    items: Vec<(WorkItem, Vec<Holder>)>,
}

impl Found {
    /// The items `filter` keeps, soonest due first, at most its limit; who holds each is shown
    /// to supervisors only.
    pub(super) fn finish(self, filter: &WorkFilter, role: Role) -> Vec<WorkItem> {
        let mut kept: Vec<(WorkItem, Vec<Holder>)> = self
            .items
            .into_iter()
            .filter(|(item, holders)| filter.keeps(item, holders))
            .collect();
        kept.sort_by(|(a, _), (b, _)| {
            (a.due_at, a.kind, &a.case.id, object_id(a)).cmp(&(
                b.due_at,
                b.kind,
                &b.case.id,
                object_id(b),
            ))
        });
        let limit = filter.limit.unwrap_or(DEFAULT_ITEMS).clamp(1, MAX_ITEMS);
        kept.truncate(limit);
        kept.into_iter()
            .map(|(mut item, holders)| {
                item.held_by = (role == Role::Supervisor).then_some(holders);
                item
            })
            .collect()
    }
}

/// The id of the object an item is about, beside its case (for a stable order).
fn object_id(item: &WorkItem) -> String {
    [
        item.referral_id.as_ref().map(ToString::to_string),
        item.follow_up_id.as_ref().map(ToString::to_string),
        item.transfer_id.as_ref().map(ToString::to_string),
        item.erasure_request_id.as_ref().map(ToString::to_string),
    ]
    .into_iter()
    .flatten()
    .next()
    .unwrap_or_default()
}

/// A case the caller may see, loaded once per request.
type Seen = Option<(Case, CaseFacts)>;

/// Who gathers, and what.
#[derive(Debug)]
pub(super) struct Gatherer<'a> {
    pub(super) authz: &'a Authorizer,
    pub(super) principal: &'a PrincipalFacts,
    pub(super) context: &'a AccessContext,
    pub(super) user: &'a User,
    pub(super) organisation: &'a Organisation,
    pub(super) now: NaiveDateTime,
    pub(super) supervisors_approve: bool,
    pub(super) found: Found,
}

/// A new item, before it is stored with its holders.
#[derive(Debug)]
struct Draft {
    kind: WorkItemKind,
    due: NaiveDateTime,
    overdue: bool,
    link: String,
}

impl Gatherer<'_> {
    /// Gathers the caller's items by role.
    pub(super) fn gather(&mut self, conn: &mut DbConn) -> Result<(), DbError> {
        let mut seen = HashMap::new();
        let (me, org) = (self.user.id.clone(), self.organisation.id.clone());
        match self.user.role {
            Role::CaseWorker => {
                let cases = assignment::cases_of_user(conn, &me)?;
                self.case_items(conn, &mut seen, &cases, false)?;
                let mine = FollowUp::scheduled_for(conn, &me)?;
                self.follow_ups(conn, &mut seen, mine)?;
                self.referrals(conn, Mailbox::Inbox, None)?;
                self.referrals(conn, Mailbox::Outbox, Some(&me))?;
                self.transfers(conn)?;
            }
            Role::Supervisor => {
                let mut cases = work::owned_cases(conn, &org)?;
                cases.extend(Referral::held_cases(conn, &org)?);
                cases.sort();
                cases.dedup();
                self.case_items(conn, &mut seen, &cases, true)?;
                let theirs = FollowUp::scheduled_in(conn, &org)?;
                self.follow_ups(conn, &mut seen, theirs)?;
                self.referrals(conn, Mailbox::Inbox, None)?;
                self.referrals(conn, Mailbox::Outbox, None)?;
                self.transfers(conn)?;
                self.erasures(conn)?;
            }
            Role::Coordinator | Role::CompetentAuthority => {
                self.nrm_decisions(conn, &mut seen)?;
                if self.user.role == Role::Coordinator {
                    self.erasures(conn)?;
                }
            }
            Role::FirstResponder => {
                let mine = FollowUp::scheduled_for(conn, &me)?;
                self.follow_ups(conn, &mut seen, mine)?;
                self.referrals(conn, Mailbox::Outbox, Some(&me))?;
            }
            Role::Admin => {} // never case work
        }
        Ok(())
    }

    /// The case, if it exists, is not erased and the caller may read its summary.
    fn visible<'s>(
        &self,
        conn: &mut DbConn,
        seen: &'s mut HashMap<CaseId, Seen>,
        id: &CaseId,
    ) -> Result<&'s Seen, DbError> {
        if !seen.contains_key(id) {
            let loaded = match service::load_facts(conn, id) {
                Ok((case, facts, _)) => Some((case, facts)),
                Err(DbError::NotFound) => None,
                Err(other) => return Err(other),
            };
            let kept = loaded.filter(|(case, facts)| {
                case.erased_at.is_none() && self.allowed(Action::ReadSummary, facts)
            });
            seen.insert(id.clone(), kept);
        }
        Ok(seen.get(id).unwrap_or(&None))
    }

    fn allowed(&self, action: Action, facts: &CaseFacts) -> bool {
        self.authz
            .decide(self.principal, action, &Resource::Case(facts), self.context)
            .allowed
    }

    /// The staff of the caller's organisation assigned to `case`, the lead first.
    fn holders(&self, conn: &mut DbConn, case: &CaseId) -> Result<Vec<Holder>, DbError> {
        Ok(assignment::of_case(conn, case, &self.organisation.id)?
            .into_iter()
            .map(|named| Holder {
                user_id: named.assignment.user_id,
                display_name: named.display_name,
                lead: named.assignment.lead,
            })
            .collect())
    }

    fn push(&mut self, draft: Draft, case: &Case, holders: Vec<Holder>) -> &mut WorkItem {
        self.found.items.push((
            WorkItem {
                kind: draft.kind,
                due_at: draft.due.and_utc(),
                overdue: draft.overdue,
                case: CaseRef {
                    id: case.id.clone(),
                    reference: case.reference.clone(),
                },
                link: draft.link,
                referral_id: None,
                follow_up_id: None,
                transfer_id: None,
                erasure_request_id: None,
                held_by: None,
            },
            holders,
        ));
        let last = self.found.items.len() - 1;
        &mut self.found.items[last].0
    }

    /// A date-only item of `case` (a review) and whether it is overdue: at the end of the day
    /// in East Africa Time, overdue strictly after, as the NRM deadlines.
    fn dated(&self, kind: WorkItemKind, day: NaiveDate, link: String) -> Draft {
        let due = end_of_day(day);
        Draft {
            kind,
            due,
            overdue: Deadline::is_overdue(due, self.now),
            link,
        }
    }

    /// Reviews and NRM deadlines of the cases the caller works on; with `owner_work`, also
    /// closures to approve and duplicates to resolve (a supervisor's).
    fn case_items(
        &mut self,
        conn: &mut DbConn,
        seen: &mut HashMap<CaseId, Seen>,
        cases: &[CaseId],
        owner_work: bool,
    ) -> Result<(), DbError> {
        let mut visible = Vec::new();
        for id in cases {
            if self.visible(conn, seen, id)?.is_some() {
                visible.push(id.clone());
            }
        }
        let risk = work::risk_reviews(conn, &visible)?;
        let plans = work::plan_reviews(conn, &visible)?;
        let duplicates = if owner_work {
            work::open_duplicates(conn, &visible)?
        } else {
            HashMap::new()
        };
        for id in &visible {
            let Some((case, facts)) = seen.get(id).cloned().flatten() else {
                continue;
            };
            let holders = self.holders(conn, id)?;
            let path = format!("/api/v1/cases/{id}");
            if lifecycle::accepts_records(case.status).is_ok() {
                if let Some(day) = risk.get(id) {
                    let draft = self.dated(
                        WorkItemKind::RiskAssessmentReview,
                        *day,
                        format!("{path}/risk-assessments"),
                    );
                    self.push(draft, &case, holders.clone());
                }
                if let Some(day) = plans.get(id) {
                    let draft = self.dated(WorkItemKind::PlanReview, *day, format!("{path}/plan"));
                    self.push(draft, &case, holders.clone());
                }
            }
            if owner_work {
                if let Some(asked) = case.closure_requested_at
                    && self.allowed(Action::ApproveClosure, &facts)
                {
                    let draft = Draft {
                        kind: WorkItemKind::ClosureApproval,
                        due: asked,
                        overdue: false,
                        link: format!("{path}/status"),
                    };
                    self.push(draft, &case, holders.clone());
                }
                if let Some(found) = duplicates.get(id)
                    && self.allowed(Action::ResolveDuplicate, &facts)
                {
                    let draft = Draft {
                        kind: WorkItemKind::DuplicateToResolve,
                        due: *found,
                        overdue: false,
                        link: format!("{path}/duplicates"),
                    };
                    self.push(draft, &case, holders.clone());
                }
            }
        }
        for (deadline, kind) in [
            (
                Deadline::ReasonableGrounds,
                WorkItemKind::ReasonableGroundsDecision,
            ),
            (Deadline::ConclusiveGrounds, WorkItemKind::RecoveryPeriodEnd),
        ] {
            for case in deadline.awaited(conn, Awaited::Cases(&visible))? {
                let holders = self.holders(conn, &case.id)?;
                self.deadline_item(deadline, kind, &case, holders);
            }
        }
        Ok(())
    }

    fn deadline_item(
        &mut self,
        deadline: Deadline,
        kind: WorkItemKind,
        case: &Case,
        holders: Vec<Holder>,
    ) {
        let Some(due) = deadline.due_at(case) else {
            return;
        };
        let draft = Draft {
            kind,
            due,
            overdue: Deadline::is_overdue(due, self.now),
            link: format!("/api/v1/cases/{}", case.id),
        };
        self.push(draft, case, holders);
    }

    /// The NRM decisions awaited in the caller's country.
    fn nrm_decisions(
        &mut self,
        conn: &mut DbConn,
        seen: &mut HashMap<CaseId, Seen>,
    ) -> Result<(), DbError> {
        for (deadline, kind) in [
            (
                Deadline::ReasonableGrounds,
                WorkItemKind::ReasonableGroundsDecision,
            ),
            (
                Deadline::ConclusiveGrounds,
                WorkItemKind::ConclusiveGroundsDecision,
            ),
        ] {
            let awaited = deadline.awaited(conn, Awaited::Country(self.organisation.country))?;
            for case in awaited {
                if self.visible(conn, seen, &case.id)?.is_some() {
                    self.deadline_item(deadline, kind, &case, Vec::new());
                }
            }
        }
        Ok(())
    }

    /// Scheduled follow-ups of cases the caller may see.
    fn follow_ups(
        &mut self,
        conn: &mut DbConn,
        seen: &mut HashMap<CaseId, Seen>,
        rows: Vec<FollowUp>,
    ) -> Result<(), DbError> {
        let mut names: HashMap<UserId, String> = HashMap::new();
        for row in rows {
            let Some((case, _)) = self.visible(conn, seen, &row.case_id)?.clone() else {
                continue;
            };
            let name = match names.get(&row.assigned_to) {
                Some(name) => name.clone(),
                None => {
                    let name = User::find(conn, &row.assigned_to)?.display_name;
                    names.insert(row.assigned_to.clone(), name.clone());
                    name
                }
            };
            let holder = Holder {
                user_id: row.assigned_to.clone(),
                display_name: name,
                lead: false,
            };
            let draft = self.dated(
                WorkItemKind::FollowUp,
                row.due_on,
                format!("/api/v1/cases/{}/follow-ups", case.id),
            );
            self.push(draft, &case, vec![holder]).follow_up_id = Some(row.id);
        }
        Ok(())
    }

    /// Referrals waiting for an answer: received by the caller's organisation, or sent by it
    /// (by `sent_by` only, when given); each only if the caller may read it.
    fn referrals(
        &mut self,
        conn: &mut DbConn,
        side: Mailbox,
        sent_by: Option<&UserId>,
    ) -> Result<(), DbError> {
        let kind = match side {
            Mailbox::Inbox => WorkItemKind::ReferralToAnswer,
            Mailbox::Outbox => WorkItemKind::ReferralUnanswered,
        };
        let waiting = Referral::awaiting_answer_in(conn, &self.organisation.id, side, sent_by)?;
        for referral in waiting {
            let (facts, case) = crate::referrals::policy_facts(conn, &referral.id)?;
            let readable = self
                .authz
                .decide(
                    self.principal,
                    Action::ReadReferral,
                    &Resource::Referral(&facts),
                    self.context,
                )
                .allowed;
            if !readable || case.erased_at.is_some() {
                continue;
            }
            let holders = self.holders(conn, &case.id)?;
            let draft = Draft {
                kind,
                due: referral.respond_by,
                overdue: Referral::is_overdue(referral.respond_by, self.now),
                link: format!("/api/v1/referrals/{}", referral.id),
            };
            self.push(draft, &case, holders).referral_id = Some(referral.id);
        }
        Ok(())
    }

    /// Transfers to the caller's organisation waiting for its answer, each only if the caller
    /// may read it. Overdue once the answer's deadline has come, as for a referral.
    fn transfers(&mut self, conn: &mut DbConn) -> Result<(), DbError> {
        for transfer in work::transfers_to_answer(conn, &self.organisation.id)? {
            let (case, case_facts, _) = service::load_facts(conn, &transfer.case_id)?;
            if case.erased_at.is_some() {
                continue;
            }
            let from = Organisation::find(conn, &transfer.from_organisation_id)?;
            let facts = TransferFacts {
                id: transfer.id.to_string(),
                case: case_facts,
                from: OrganisationFacts::from(&from),
                to: OrganisationFacts::from(self.organisation),
                state: "requested".to_owned(),
            };
            let readable = self
                .authz
                .decide(
                    self.principal,
                    Action::ReadTransfer,
                    &Resource::Transfer(&facts),
                    self.context,
                )
                .allowed;
            if !readable {
                continue;
            }
            let holders = self.holders(conn, &case.id)?;
            let draft = Draft {
                kind: WorkItemKind::TransferToAnswer,
                due: transfer.respond_by,
                overdue: Referral::is_overdue(transfer.respond_by, self.now),
                link: format!("/api/v1/transfers/{}", transfer.id),
            };
            self.push(draft, &case, holders).transfer_id = Some(transfer.id);
        }
        Ok(())
    }

    /// Erasure requests waiting for the caller as the second person.
    fn erasures(&mut self, conn: &mut DbConn) -> Result<(), DbError> {
        let decidable = erasure::decidable_by(
            conn,
            &Decider {
                authz: self.authz,
                principal: self.principal,
                context: self.context,
                user: self.user,
                supervisors_approve: self.supervisors_approve,
            },
        )?;
        for (pending, case) in decidable {
            let holders = self.holders(conn, &case.id)?;
            let draft = Draft {
                kind: WorkItemKind::ErasureApproval,
                due: pending.expires_at,
                overdue: false,
                link: format!(
                    "/api/v1/cases/{}/erasure-requests/{}/approve",
                    case.id, pending.id
                ),
            };
            self.push(draft, &case, holders).erasure_request_id = Some(pending.id);
        }
        Ok(())
    }
}
