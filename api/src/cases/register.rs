//! Registration of a case: the summary and any personal groups known, sealed under a new data
//! key for the case; possible duplicates the caller may see confirmed and listed, the others
//! queued for their holders (`super::duplicates`); child protection told of a child. Decided
//! by the policies and audited through the guarded path, with `Idempotency-Key` replays that
//! are decided again.

use std::sync::Arc;

use serde::Deserialize;
use serde_json::json;
use tumaini_db::ids::CaseId;
use tumaini_db::models::case::{Case, CaseChanges, NewCase, SummaryFields};
use tumaini_db::models::duplicate;
use tumaini_db::time::now_utc;
use tumaini_db::vault::{IndexTerms, SecretBytes, Vault, VaultBatch};
use tumaini_db::{DbConn, DbError};
use utoipa::ToSchema;

use super::duplicates as dup_service;
use super::groups::{self, PersonalGroups};
use super::views::{self, CaseSummaryView, SummaryInput};
use super::{Idempotency, Reply, codes, record_case_event, vault_error, with_summary_visibility};
use crate::audit::{AuditAction, Entry, Outcome};
use crate::auth::Caller;
use crate::authz::{
    AccessContext, Action, Authorizer, Decision, FieldGroup, OrganisationFacts, Resource,
};
use crate::guarded::{self, Failure};
use crate::http::{ApiError, ProblemType, with_conn};
use crate::notifications::notify_child_protection;
use crate::rules::reference;
use crate::state::AppState;

/// A case to register: the summary, and any personal groups already known.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"summary": {"sex": "female", "age_band": "21_23", "citizenship": "UG", "exploitation_country": "KE", "region": "UG-202", "encountered_on": "2026-11-20", "exploitation_types": ["forced_labour"], "means_of_control": ["debt_bondage"]}, "groups": {"identity": {"given_names": "Example", "family_name": "Person", "date_of_birth": "2004-03-01"}, "contact": {"phones": ["+256 700 000 000"]}}}))]
#[serde(deny_unknown_fields)]
pub struct NewCaseInput {
    /// The summary group.
    pub summary: SummaryInput,
    /// Personal groups.
    #[serde(default)]
    pub groups: PersonalGroups,
}

/// Registers a case for the caller's organisation.
pub async fn register(
    state: &AppState,
    caller: Caller,
    input: NewCaseInput,
    idempotency: Option<Idempotency>,
) -> Result<Reply, ApiError> {
    let summary = input.summary.into_fields()?;
    // The summary's lists as they are stored, for the answer.
    let (kinds, means) = summary.stored_lists();
    let plaintexts = input.groups.plaintexts()?;
    let terms = input
        .groups
        .identity
        .as_ref()
        .map(groups::IdentityGroup::index_terms);
    let own = OrganisationFacts::from(&caller.organisation);
    let context = super::access_context(&state.cases, "registration");
    let decision = state.authz.decide(
        &caller.principal(),
        Action::CreateCase,
        &Resource::Organisation(&own),
        &context,
    );
    let registration = Registration {
        vault: state.vault()?,
        authz: Arc::clone(&state.authz),
        public_url: state.public_url.clone(),
        caller,
        context,
        decision,
        idempotency,
    };
    with_conn(&state.pool, move |conn| {
        let r = &registration;
        if r.decision.allowed
            && let Some(first) = r.replay(conn)?
        {
            return Ok(first);
        }
        // After a failure, a concurrent twin with the same key may have won the race: its
        // answer, checked alike.
        guarded::run(
            conn,
            |conn, outcome, decided| r.audit(conn, outcome, decided),
            |conn| r.replay(conn),
            |conn| {
                if !r.decision.allowed {
                    return Err(Failure::refused(r.decision.clone(), true, || {
                        ApiError::problem(
                            ProblemType::Forbidden,
                            "your role may not register cases",
                        )
                    }));
                }
                let (case, touched) = r.store(conn, summary, &plaintexts, terms.as_ref())?;
                let duplicates = match &terms {
                    Some(terms) => r.possible_duplicates(conn, &case.id, terms)?,
                    None => Vec::new(),
                };
                let case = r.tell_child_protection(conn, case)?;
                record_case_event(
                    conn,
                    &r.caller.context,
                    &r.caller.user,
                    AuditAction::CaseCreate,
                    Outcome::Success,
                    &case.id,
                    Some(&r.decision),
                    &codes(&touched),
                    "registration",
                    false,
                )?;
                let mut view = serde_json::to_value(CaseSummaryView::of(&case, kinds, means))
                    .map_err(|e| ApiError::Internal(e.into()))?;
                view["possible_duplicates"] = json!(duplicates);
                let reply = Reply::created(format!("/api/v1/cases/{}", case.id), view)
                    .with_version(case.version);
                if let Some(idem) = &r.idempotency {
                    idem.store(conn, &r.caller.user.id, &case.id, &r.vault, &reply)?;
                }
                Ok(reply)
            },
        )
    })
    .await
}

/// One registration: who registers, with what the steps need.
struct Registration {
    caller: Caller,
    vault: Arc<Vault>,
    authz: Arc<Authorizer>,
    context: AccessContext,
    decision: Decision,
    public_url: Arc<str>,
    idempotency: Option<Idempotency>,
}

impl Registration {
    /// The registration's audit event (refusals are about the caller's organisation).
    fn audit(
        &self,
        conn: &mut DbConn,
        outcome: Outcome,
        decided: Option<&Decision>,
    ) -> Result<(), DbError> {
        Entry::new(AuditAction::CaseCreate, outcome)
            .in_request(&self.caller.context)
            .by(Some(&self.caller.user))
            .on("organisation", &self.caller.organisation.id)
            .decided(decided)
            .write(conn)
    }

    /// Whether the caller may see the summary of the case whose id `id` holds.
    fn sees(&self, conn: &mut DbConn, id: &serde_json::Value) -> Result<bool, DbError> {
        let Some(id) = id.as_str().and_then(|id| id.parse::<CaseId>().ok()) else {
            return Ok(false);
        };
        let principal = self.caller.principal();
        Ok(
            with_summary_visibility(conn, &self.authz, &principal, &self.context, &id)?
                .is_some_and(|(_, _, visible)| visible),
        )
    }

    /// The first answer to a retry, while the caller may still register and see the case (and
    /// it is not erased), listing only the possible duplicates they may still see; audited.
    fn replay(&self, conn: &mut DbConn) -> Result<Option<Reply>, ApiError> {
        let Some(idem) = &self.idempotency else {
            return Ok(None);
        };
        let Some(mut replay) = idem.replay(conn, &self.caller.user.id, &self.vault)? else {
            return Ok(None);
        };
        if !self.sees(conn, &replay.body["id"])? {
            return Err(ApiError::bare(ProblemType::NotFound));
        }
        if let Some(listed) = replay.body["possible_duplicates"].as_array().cloned() {
            let mut still = Vec::new();
            for item in listed {
                if self.sees(conn, &item["case_id"])? {
                    still.push(item);
                }
            }
            replay.body["possible_duplicates"] = json!(still);
        }
        conn.write_transaction(|conn| {
            Entry::new(AuditAction::CaseCreate, Outcome::Replayed)
                .in_request(&self.caller.context)
                .by(Some(&self.caller.user))
                .on("case", &replay.body["id"].as_str().unwrap_or_default())
                .decided(Some(&self.decision))
                .write(conn)
        })?;
        Ok(Some(replay))
    }

    /// Stores the case: a fresh reference, the summary, a data key, the personal groups and the
    /// identity's index terms sealed under it, with the blind indexes. A new case has no
    /// earlier values to keep and its key was made a moment ago, so the vault's rows are
    /// sealed in memory ([`tumaini_db::vault::BulkSealer`]) and written table by table, one
    /// statement each, rather than group by group. Returns the case, its summary's lists and
    /// the groups written.
    fn store(
        &self,
        conn: &mut DbConn,
        summary: SummaryFields,
        plaintexts: &[(tumaini_db::vocabulary::FieldGroup, SecretBytes)],
        terms: Option<&IndexTerms>,
    ) -> Result<(Case, Vec<FieldGroup>), ApiError> {
        views::known_region(conn, &summary.region, "summary.region")?;
        let reference = loop {
            let candidate = reference::generate('C');
            if !Case::reference_taken(conn, &candidate)? {
                break candidate;
            }
        };
        let id = CaseId::generate();
        let case = Case::insert(
            conn,
            &NewCase {
                id: id.clone(),
                reference,
                owner: self.caller.organisation.id.clone(),
                created_by: self.caller.user.id.clone(),
                summary,
            },
        )?;
        // A case worker or supervisor who registers a case leads it for their organisation (a
        // first responder's access is their window, not an assignment).
        if matches!(
            self.caller.user.role,
            tumaini_db::vocabulary::Role::CaseWorker | tumaini_db::vocabulary::Role::Supervisor
        ) {
            tumaini_db::models::assignment::lead_of_new_case(
                conn,
                &id,
                &self.caller.user.id,
                &self.caller.organisation.id,
            )?;
        }
        let sealer = self.vault.bulk_sealer(conn).map_err(vault_error)?;
        let mut rows = VaultBatch::default();
        let key = sealer
            .new_case(&id, now_utc(), &mut rows)
            .map_err(vault_error)?;
        let mut touched = Vec::new();
        // Version 1 of each group, written by the registering user.
        let change = tumaini_db::vault::GroupChange::by(&self.caller.user, None);
        for (group, plain) in plaintexts {
            key.write_group(*group, plain, &change, &mut rows)
                .map_err(vault_error)?;
            touched.extend(FieldGroup::from_code(group.code()));
        }
        if let Some(terms) = terms {
            key.set_index_terms(terms, &mut rows).map_err(vault_error)?;
        }
        drop(key);
        rows.insert(conn)?;
        Ok((case, touched))
    }

    /// Possible duplicates (`super::duplicates`), within the caller's country: those the
    /// caller may see are confirmed now and listed (by reference); the others are queued for
    /// the background job, which confirms them and tells their holders after this answer.
    fn possible_duplicates(
        &self,
        conn: &mut DbConn,
        id: &CaseId,
        terms: &IndexTerms,
    ) -> Result<Vec<serde_json::Value>, ApiError> {
        let principal = self.caller.principal();
        let mut listed = Vec::new();
        for other in dup_service::candidates(conn, &self.vault, id, terms)? {
            let (other_case, facts, visible) =
                with_summary_visibility(conn, &self.authz, &principal, &self.context, &other)?
                    .ok_or(DbError::NotFound)?;
            if facts.owner.country != principal.organisation.country {
                continue;
            }
            if !visible {
                duplicate::queue_check(conn, id, &other)?;
            } else if dup_service::confirmed(conn, &self.vault, terms, &other)? {
                duplicate::record(conn, id, &other)?;
                listed.push(json!({"case_id": other_case.id, "reference": other_case.reference}));
            }
        }
        Ok(listed)
    }

    /// Tells child protection in the case's country that a child was registered, and records
    /// that it was told.
    fn tell_child_protection(&self, conn: &mut DbConn, case: Case) -> Result<Case, ApiError> {
        if !case.is_child || !notify_child_protection(conn, &case, &self.public_url)? {
            return Ok(case);
        }
        Ok(Case::apply(
            conn,
            &case.id,
            case.version,
            &CaseChanges {
                child_protection_notified_at: Some(Some(now_utc())),
                ..CaseChanges::default()
            },
        )?
        .ok_or(DbError::NotFound)?)
    }
}
