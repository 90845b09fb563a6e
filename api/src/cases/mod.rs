//! The one path every case endpoint takes: load the case and the
//! facts the policies need, decide, do the work and write the audit event in the same
//! transaction, and answer. A caller who may not see a case gets 404, exactly as for a case
//! that does not exist; a refusal is audited in a transaction of its own.

pub mod assessments;
pub mod assignments;
pub mod break_glass;
mod deadlines;
pub mod documents;
pub mod duplicates;
pub mod erasure;
pub mod follow_ups;
pub mod group_reads;
pub mod groups;
pub mod history;
pub mod legal_hold;
mod list;
pub mod nrm;
mod read;
pub mod records;
mod register;
mod reply;
pub mod restriction;
pub mod subject_access;
pub mod views;

use std::collections::HashMap;
use std::sync::Arc;

use actix_web::HttpRequest;
use tumaini_db::ids::CaseId;
use tumaini_db::models::break_glass::BreakGlassGrant;
use tumaini_db::models::case::{Case, SummaryLists};
use tumaini_db::models::case_facts;
use tumaini_db::models::consent::Consent;
use tumaini_db::models::referral::Referral;
use tumaini_db::models::{Organisation, User};
use tumaini_db::time::now_utc;
use tumaini_db::vault::Vault;
use tumaini_db::vocabulary::Role;
use tumaini_db::{DbConn, DbError};

use crate::audit::{AuditAction, Entry, Outcome};
use crate::auth::{Caller, RequestContext};
use crate::authz::{
    AccessContext, Action, Authorizer, CaseFacts, Decision, FieldGroup, OrganisationFacts,
    Prepared, PrincipalFacts, Resource,
};
use crate::config::CaseSettings;
use crate::guarded::{self, Failure};
use crate::http::{ApiError, ProblemType, with_conn};
use crate::rules::consent as consent_rules;
use crate::state::AppState;

pub use deadlines::mark_decision_overdue;
pub use list::{CasePage, list};
pub use read::read_case;
pub use register::{NewCaseInput, register};
pub use reply::{Idempotency, Reply, if_match};

/// A case loaded for a request, with what the policies decided.
#[derive(Debug)]
pub struct CaseAccess {
    /// The case.
    pub case: Case,
    /// Its summary's lists (exploitation types, means of control), as loaded with the facts.
    pub lists: SummaryLists,
    /// Its facts as the policies see them.
    pub facts: CaseFacts,
    /// The newest consent version.
    pub consent: Option<Consent>,
    /// The decision that let the action happen.
    pub decision: Decision,
    /// The caller.
    pub principal: PrincipalFacts,
    /// The request's circumstances.
    pub context: AccessContext,
    /// The vault.
    pub vault: Arc<Vault>,
    authz: Arc<Authorizer>,
    /// Personal groups the caller holds open by break-glass on this case now.
    break_glass: Vec<FieldGroup>,
    /// The policy entities of the caller and the case, built once per request.
    prepared: Prepared,
    /// Something in this request went through break-glass: a high-severity event.
    severe: std::cell::Cell<bool>,
}

impl CaseAccess {
    /// Asks the policies about another action on the same case (a field group, say). A group
    /// the caller holds open by break-glass is decided with break-glass in force; a decision
    /// that rests on it makes the request's audit event high-severity.
    pub fn decide(&self, action: Action) -> Decision {
        let context = with_break_glass(&self.context, action, &self.break_glass);
        let decision = self.authz.decide_prepared(
            &self.prepared,
            &self.principal,
            action,
            &Resource::Case(&self.facts),
            &context,
        );
        if decision.high_severity {
            self.severe.set(true);
        }
        decision
    }

    /// Marks the request's audit event high-severity.
    pub fn mark_severe(&self) {
        self.severe.set(true);
    }

    /// Asks the policies about an action on another case (a possible duplicate, say).
    pub fn decide_on(&self, action: Action, other: &CaseFacts) -> Decision {
        // Another case: its own entities.
        self.authz.decide(
            &self.principal,
            action,
            &Resource::Case(other),
            &self.context,
        )
    }

    /// Asks the policies about an action on a referral of this case.
    pub fn decide_referral(
        &self,
        action: Action,
        referral: &crate::authz::ReferralFacts,
    ) -> Decision {
        self.authz.decide(
            &self.principal,
            action,
            &Resource::Referral(referral),
            &self.context,
        )
    }

    /// The consent in force now.
    pub fn consent_in_force(&self) -> Option<&Consent> {
        consent_rules::in_force(self.consent.as_ref(), now_utc())
    }
}

fn with_break_glass(context: &AccessContext, action: Action, open: &[FieldGroup]) -> AccessContext {
    let mut context = context.clone();
    context.break_glass = action.group().is_some_and(|g| open.contains(&g));
    context
}

/// The personal groups `user` holds open by break-glass on `case` now (only coordinators and
/// supervisors can hold any: nobody else's is looked up).
fn open_break_glass(
    conn: &mut DbConn,
    case: &CaseId,
    user: &User,
) -> Result<Vec<FieldGroup>, DbError> {
    if !matches!(user.role, Role::Coordinator | Role::Supervisor) {
        return Ok(Vec::new());
    }
    Ok(
        BreakGlassGrant::open_groups(conn, case, &user.id, now_utc())?
            .into_iter()
            .filter_map(|g| FieldGroup::from_code(g.code()))
            .collect(),
    )
}

/// The access context of a case request.
pub fn access_context(settings: &CaseSettings, purpose: &str) -> AccessContext {
    AccessContext {
        first_responder_window: i64::try_from(settings.first_responder_window.as_secs())
            .unwrap_or(i64::MAX),
        ..AccessContext::now(purpose)
    }
}

/// A case with its policy facts and its newest consent.
pub type LoadedCase = (Case, CaseFacts, Option<Consent>);

/// A [`LoadedCase`] with its summary's lists.
pub(crate) type LoadedWithLists = (Case, CaseFacts, Option<Consent>, SummaryLists);

/// Loads a case and its policy facts; `NotFound` when there is no such case.
pub fn load_facts(
    conn: &mut DbConn,
    id: &CaseId,
) -> Result<(Case, CaseFacts, Option<Consent>), DbError> {
    let case = Case::find(conn, id)?;
    load_facts_of(conn, case)
}

/// [`load_facts`] (or, with `lock`, [`load_facts_for_update`]) with the summary's lists, which
/// come in the same statement as the facts: a read shows the summary without asking again.
fn load_facts_and_lists(
    conn: &mut DbConn,
    id: &CaseId,
    lock: bool,
) -> Result<(Case, CaseFacts, Option<Consent>, SummaryLists), DbError> {
    // A read finds the case with its owner in one statement; a change locks the case's row
    // alone (locking the join would lock the owner's row for every case it owns).
    let loaded = if lock {
        (Case::find_for_update(conn, id)?, None)
    } else {
        let (case, owner) = case_facts::case_with_owner(conn, id)?;
        (case, Some(owner))
    };
    facts_and_lists(case_facts::load_with_owners(conn, vec![loaded])?)
        .pop()
        .ok_or(DbError::NotFound)
}

/// [`load_facts`] with the case's row locked until the transaction ends (PostgreSQL), for an
/// action that changes the case or its records: it cannot commit on facts an erasure (or any
/// other change of the case's row) made stale meanwhile.
pub fn load_facts_for_update(
    conn: &mut DbConn,
    id: &CaseId,
) -> Result<(Case, CaseFacts, Option<Consent>), DbError> {
    let case = Case::find_for_update(conn, id)?;
    load_facts_of(conn, case)
}

fn load_facts_of(
    conn: &mut DbConn,
    case: Case,
) -> Result<(Case, CaseFacts, Option<Consent>), DbError> {
    facts_of_cases(conn, vec![case])?
        .pop()
        .ok_or(DbError::NotFound)
}

/// The cases `ids` that exist, with their policy facts, in a fixed number of queries whatever
/// the number of ids (a list page's, a mailbox page's); ids of no case are absent.
pub fn load_facts_many(
    conn: &mut DbConn,
    ids: &[CaseId],
) -> Result<HashMap<CaseId, LoadedCase>, DbError> {
    let cases = case_facts::cases(conn, ids)?;
    Ok(facts_of_cases(conn, cases)?
        .into_iter()
        .map(|loaded| (loaded.0.id.clone(), loaded))
        .collect())
}

/// The policy facts of loaded cases, in their order, in a fixed number of queries.
pub fn facts_of_cases(
    conn: &mut DbConn,
    cases: Vec<Case>,
) -> Result<Vec<(Case, CaseFacts, Option<Consent>)>, DbError> {
    Ok(facts_and_lists_of_cases(conn, cases)?
        .into_iter()
        .map(|(case, facts, consent, _)| (case, facts, consent))
        .collect())
}

/// [`facts_of_cases`] with each summary's lists.
pub(crate) fn facts_and_lists_of_cases(
    conn: &mut DbConn,
    cases: Vec<Case>,
) -> Result<Vec<LoadedWithLists>, DbError> {
    Ok(facts_and_lists(case_facts::load(conn, cases)?))
}

/// The policy facts of stored rows, with each summary's lists.
fn facts_and_lists(rows: Vec<case_facts::CaseFactRows>) -> Vec<LoadedWithLists> {
    rows.into_iter()
        .map(|rows| {
            let access = rows
                .referral_access
                .iter()
                .map(|(org, groups)| {
                    (
                        OrganisationFacts::from(org),
                        groups
                            .iter()
                            .filter_map(|g| FieldGroup::from_code(g.code()))
                            .collect(),
                    )
                })
                .collect();
            let people = CasePeople {
                assigned: rows.assigned.iter().map(ToString::to_string).collect(),
                owner_groups: match &rows.ownership.owner_groups {
                    None => FieldGroup::ALL.to_vec(),
                    Some(codes) => codes
                        .iter()
                        .filter_map(|c| FieldGroup::from_code(c))
                        .collect(),
                },
                former_owners: rows
                    .former_owners
                    .iter()
                    .map(OrganisationFacts::from)
                    .collect(),
            };
            let facts = facts_of(
                &rows.case,
                &rows.owner,
                rows.newest_consent.as_ref(),
                access,
                people,
            );
            (rows.case, facts, rows.newest_consent, rows.lists)
        })
        .collect()
}

/// Who works on a case, for the policies: the staff assigned to it, the groups its owner reads
/// (all, or what the last transfer handed over) and the former owners that kept its summary.
#[derive(Debug, Clone)]
pub struct CasePeople {
    /// The assigned staff's user ids.
    pub assigned: Vec<String>,
    /// The groups the owner reads.
    pub owner_groups: Vec<FieldGroup>,
    /// Former owners that kept the summary.
    pub former_owners: Vec<OrganisationFacts>,
}

/// A case and whether `principal` may read its summary (see that it exists); `None` when there
/// is no such case.
pub fn with_summary_visibility(
    conn: &mut DbConn,
    authz: &Authorizer,
    principal: &PrincipalFacts,
    context: &AccessContext,
    id: &CaseId,
) -> Result<Option<(Case, CaseFacts, bool)>, DbError> {
    let (case, facts, _) = match load_facts(conn, id) {
        Ok(loaded) => loaded,
        Err(DbError::NotFound) => return Ok(None),
        Err(other) => return Err(other),
    };
    let visible = authz
        .decide(
            principal,
            Action::ReadSummary,
            &Resource::Case(&facts),
            context,
        )
        .allowed;
    Ok(Some((case, facts, visible)))
}

/// Who holds access to a case through an accepted or in-service referral, and to which groups.
pub fn referral_access(
    conn: &mut DbConn,
    id: &CaseId,
) -> Result<Vec<(OrganisationFacts, Vec<FieldGroup>)>, DbError> {
    Ok(Referral::access_to_case(conn, id)?
        .into_iter()
        .map(|(org, groups)| {
            (
                OrganisationFacts::from(&org),
                groups
                    .into_iter()
                    .filter_map(|g| FieldGroup::from_code(g.code()))
                    .collect(),
            )
        })
        .collect())
}

/// The facts of a loaded case, with its referral access from [`referral_access`].
pub fn facts_of(
    case: &Case,
    owner: &Organisation,
    newest: Option<&Consent>,
    referral_access: Vec<(OrganisationFacts, Vec<FieldGroup>)>,
    people: CasePeople,
) -> CaseFacts {
    CaseFacts {
        id: case.id.to_string(),
        owner: OrganisationFacts::from(owner),
        created_by: case.created_by.to_string(),
        created_at: case.created_at.and_utc().timestamp(),
        child: case.is_child,
        identification_stage: case.identification_stage.code().to_owned(),
        status: case.status.code().to_owned(),
        referred_into_nrm: case.referred_into_nrm_at.is_some(),
        referral_access,
        consent: consent_rules::policy_grants(consent_rules::in_force(newest, now_utc())),
        erased: case.erased_at.is_some(),
        restricted: case.restricted_at.is_some(),
        assigned: people.assigned,
        owner_groups: people.owner_groups,
        former_owners: people.former_owners,
    }
}

/// Which of `actions` the caller may take on case `id` now, as the policies decide (break-glass
/// in force included): what a page offers. Writes nothing, and decides nothing for good: the
/// action itself is decided again when asked for. 404 for a case the caller may not see.
pub async fn allowed_actions(
    state: &AppState,
    caller: &Caller,
    id: CaseId,
    actions: Vec<Action>,
) -> Result<Vec<Action>, ApiError> {
    let authz = Arc::clone(&state.authz);
    let context = access_context(&state.cases, "case_management");
    let principal = caller.principal();
    let user = caller.user.clone();
    with_conn(&state.pool, move |conn| {
        let (_, facts, _) = match load_facts(conn, &id) {
            Ok(loaded) => loaded,
            Err(DbError::NotFound) => return Err(ApiError::bare(ProblemType::NotFound)),
            Err(other) => return Err(other.into()),
        };
        let break_glass = open_break_glass(conn, &id, &user)?;
        let resource = Resource::Case(&facts);
        let prepared = authz.prepare(&principal, &resource);
        let may = |action: Action| {
            authz
                .decide_prepared(
                    &prepared,
                    &principal,
                    action,
                    &resource,
                    &with_break_glass(&context, action, &break_glass),
                )
                .allowed
        };
        if !may(Action::ReadSummary) {
            return Err(ApiError::bare(ProblemType::NotFound));
        }
        Ok(actions.into_iter().filter(|a| may(*a)).collect())
    })
    .await
}

/// What a case request asks for.
#[derive(Debug)]
pub struct CaseRequest {
    /// The case.
    pub id: CaseId,
    /// The action the policies decide.
    pub action: Action,
    /// The audit action code, e.g. `case.update`.
    pub audited_as: AuditAction,
    /// The stated purpose of access.
    pub purpose: &'static str,
    /// The `Idempotency-Key` of a POST.
    pub idempotency: Option<Idempotency>,
}

/// Runs `work` on a case after the policies allow the request's action, in one write
/// transaction with its audit event (and the stored answer of an idempotent POST), through the
/// guarded path (`crate::guarded`).
pub async fn act_on_case<W>(
    state: &AppState,
    caller: &Caller,
    request: CaseRequest,
    work: W,
) -> Result<Reply, ApiError>
where
    W: FnOnce(&mut DbConn, &CaseAccess) -> Result<Reply, ApiError> + Send + 'static,
{
    let act = CaseAct::new(state, caller, request)?;
    with_conn(&state.pool, move |conn| {
        let act = &act;
        guarded::run(
            conn,
            |conn, outcome, decision| act.audit(conn, outcome, decision, &[], false),
            |conn| act.replay_after_race(conn),
            |conn| {
                let access = match act.decide(conn)? {
                    Decided::Replay(first) => return Ok(first),
                    Decided::Allowed(access) => access,
                };
                let reply = work(conn, &access)?;
                let mut touched = codes(&reply.touched);
                if reply.reasons_read {
                    touched.push(REFERRAL_REASON);
                }
                act.audit(
                    conn,
                    Outcome::Success,
                    Some(&access.decision),
                    &touched,
                    access.severe.get(),
                )?;
                if let Some(idem) = &act.request.idempotency {
                    idem.store(conn, &act.user.id, &act.request.id, &act.vault, &reply)?;
                }
                Ok(reply)
            },
        )
    })
    .await
}

/// Asks the policies whether the caller may do the request's action to the case and, with
/// `group`, read that personal group, without doing anything: a refusal is audited and answered
/// exactly as [`act_on_case`] would (404 for a case the caller may not see; a refused group is
/// a 403 naming it); an allowance writes nothing. For work that cannot run inside one
/// transaction (a document's upload streams for minutes): it checks before the work starts,
/// and the [`act_on_case`] that completes the work decides again and writes the event.
pub async fn check_case_action(
    state: &AppState,
    caller: &Caller,
    request: CaseRequest,
    group: Option<FieldGroup>,
) -> Result<(), ApiError> {
    let act = CaseAct::new(state, caller, request)?;
    with_conn(&state.pool, move |conn| {
        let act = &act;
        guarded::run(
            conn,
            |conn, outcome, decision| act.audit(conn, outcome, decision, &[], false),
            guarded::no_replay,
            |conn| {
                let access = match act.decide(conn)? {
                    Decided::Replay(_) => return Ok(()),
                    Decided::Allowed(access) => access,
                };
                if let Some(group) = group
                    && !access.decide(group.read_action()).allowed
                {
                    return Err(ApiError::problem(
                        ProblemType::Forbidden,
                        format!("you may not read the `{}` group of this case", group.code()),
                    )
                    .into());
                }
                Ok(())
            },
        )
    })
    .await
}

/// One request on a case, with what its steps need.
struct CaseAct {
    request: CaseRequest,
    vault: Arc<Vault>,
    authz: Arc<Authorizer>,
    access_context: AccessContext,
    user: User,
    context: RequestContext,
    principal: PrincipalFacts,
}

/// What the policies decided about a case request.
enum Decided {
    /// A retry, allowed again: the first answer.
    Replay(Reply),
    /// Allowed: the work may go ahead.
    Allowed(Box<CaseAccess>),
}

impl CaseAct {
    /// The request of `caller` as the policies will see it.
    fn new(state: &AppState, caller: &Caller, request: CaseRequest) -> Result<Self, ApiError> {
        Ok(Self {
            vault: state.vault()?,
            authz: Arc::clone(&state.authz),
            access_context: access_context(&state.cases, request.purpose),
            user: caller.user.clone(),
            context: caller.context.clone(),
            principal: caller.principal(),
            request,
        })
    }

    /// The request's audit event: the groups touched, and whether it is high-severity.
    fn audit(
        &self,
        conn: &mut DbConn,
        outcome: Outcome,
        decision: Option<&Decision>,
        touched: &[&str],
        severe: bool,
    ) -> Result<(), DbError> {
        record_case_event(
            conn,
            &self.context,
            &self.user,
            self.request.audited_as,
            outcome,
            &self.request.id,
            decision,
            touched,
            self.request.purpose,
            severe,
        )
    }

    /// Loads the case and its facts and asks the policies. A retry gets the first answer only
    /// while the policies still allow the action: access withdrawn since (a role, a referral,
    /// a consent) withdraws the answer too. The retry is audited; nothing is done twice.
    fn decide(&self, conn: &mut DbConn) -> Result<Decided, Failure> {
        let (authz, principal, request) = (&self.authz, &self.principal, &self.request);
        // What only reads (and a refusal) needs no lock; a change locks the case's row.
        let reads = matches!(
            request.action,
            Action::ReadSummary | Action::ReadHistory | Action::ExportSubjectAccess
        ) || request.action.group().is_some();
        let (case, facts, newest, lists) = match load_facts_and_lists(conn, &request.id, !reads) {
            Ok(loaded) => loaded,
            Err(DbError::NotFound) => return Err(Failure::missing()),
            Err(other) => return Err(other.into()),
        };
        let break_glass = open_break_glass(conn, &request.id, &self.user)?;
        let prepared = authz.prepare(principal, &Resource::Case(&facts));
        let decision = authz.decide_prepared(
            &prepared,
            principal,
            request.action,
            &Resource::Case(&facts),
            &with_break_glass(&self.access_context, request.action, &break_glass),
        );
        if !decision.allowed {
            // Seeing that the case exists is itself reading its summary. To a colleague not
            // assigned to it (need-to-know), its personal records answer as if absent.
            let visible = request.action != Action::ReadSummary
                && !decision.policy_ids.iter().any(|id| id == NEED_TO_KNOW)
                && authz
                    .decide_prepared(
                        &prepared,
                        principal,
                        Action::ReadSummary,
                        &Resource::Case(&facts),
                        &self.access_context,
                    )
                    .allowed;
            return Err(Failure::refused(decision, visible, || {
                ApiError::problem(
                    ProblemType::Forbidden,
                    "your role may not do this to this case",
                )
            }));
        }
        let severe = decision.high_severity;
        if let Some(idem) = &request.idempotency
            && let Some(replay) = idem.replay(conn, &self.user.id, &self.vault)?
        {
            self.audit(conn, Outcome::Replayed, Some(&decision), &[], severe)?;
            return Ok(Decided::Replay(replay));
        }
        Ok(Decided::Allowed(Box::new(CaseAccess {
            case,
            lists,
            facts,
            consent: newest,
            decision,
            principal: principal.clone(),
            context: self.access_context.clone(),
            vault: Arc::clone(&self.vault),
            authz: Arc::clone(authz),
            severe: std::cell::Cell::new(severe),
            break_glass,
            prepared,
        })))
    }

    /// After a failure: a concurrent twin with the same key may have won the race (the
    /// policies allowed the action in this very attempt): its answer, audited as a replay.
    fn replay_after_race(&self, conn: &mut DbConn) -> Result<Option<Reply>, ApiError> {
        let Some(idem) = &self.request.idempotency else {
            return Ok(None);
        };
        let Some(replay) = idem.replay(conn, &self.user.id, &self.vault)? else {
            return Ok(None);
        };
        conn.write_transaction(|conn| self.audit(conn, Outcome::Replayed, None, &[], false))?;
        Ok(Some(replay))
    }
}

/// The policy that keeps a case's personal groups from the colleagues not assigned to it.
const NEED_TO_KNOW: &str = "guard.need-to-know";

/// What an audit event lists, beside the field groups, when a request decrypted the reason
/// given for a referral of the case.
pub const REFERRAL_REASON: &str = "referral_reason";

/// The codes of field groups, as an audit event lists them.
pub fn codes(groups: &[FieldGroup]) -> Vec<&'static str> {
    groups.iter().map(|g| g.code()).collect()
}

/// Appends a case event: who, what, which case, the decision, what was touched (field group
/// codes, and [`REFERRAL_REASON`]) and the purpose. Never a personal value.
#[expect(clippy::too_many_arguments, reason = "one audit event's fields")]
pub fn record_case_event(
    conn: &mut DbConn,
    context: &RequestContext,
    user: &User,
    action: AuditAction,
    outcome: Outcome,
    case: &CaseId,
    decision: Option<&Decision>,
    groups: &[&str],
    purpose: &str,
    high_severity: bool,
) -> Result<(), DbError> {
    Entry::new(action, outcome)
        .in_request(context)
        .by(Some(user))
        .on("case", case)
        .decided(decision)
        .groups(groups)
        .purpose(purpose)
        .high_severity(high_severity)
        .write(conn)
}

/// Maps a vault failure to an internal error: its cause is logged, never sent. (An erased
/// case is not a failure: reads see it as `GroupRead::Erased`.)
pub fn vault_error(err: tumaini_db::vault::VaultError) -> ApiError {
    ApiError::Internal(anyhow::anyhow!("vault: {err}"))
}

/// The `Idempotency-Key` of a request, if it carries one, with a keyed hash of what it asks.
pub fn idempotency(
    state: &AppState,
    req: &HttpRequest,
    body: &serde_json::Value,
) -> Result<Option<Idempotency>, ApiError> {
    Idempotency::of(req, body, &state.auth.keys)
}
