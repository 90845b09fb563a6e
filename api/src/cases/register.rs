//! Registration of a case: the summary and any personal groups known, sealed under a new data
//! key for the case; possible duplicates the caller may see confirmed and listed, the others
//! queued for their holders (`super::duplicates`); child protection told of a child. Decided
//! by the policies and audited through the guarded path, with `Idempotency-Key` replays that
//! are decided again.

use serde::Deserialize;
use serde_json::json;
use tumaini_db::ids::CaseId;
use tumaini_db::models::case::{Case, CaseChanges, NewCase};
use tumaini_db::time::now_utc;
use tumaini_db::{DbConn, DbError};
use utoipa::ToSchema;

use super::duplicates as dup_service;
use super::groups::{self, PersonalGroups};
use super::views::{self, CaseSummaryView, SummaryInput};
use super::{Idempotency, Reply, codes, record_case_event, vault_error, with_summary_visibility};
use crate::audit::{AuditAction, Entry, Outcome};
use crate::auth::Caller;
use crate::authz::{Action, Decision, FieldGroup, OrganisationFacts, Resource};
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
    let vault = state.vault()?;
    let public_url = state.public_url.clone();
    let authz = std::sync::Arc::clone(&state.authz);
    with_conn(&state.pool, move |conn| {
        // A retry gets the first answer while the caller may still register and see the case
        // (and it is not erased), listing only the possible duplicates they may still see; the
        // retry is audited.
        let replay = |conn: &mut DbConn| -> Result<Option<Reply>, ApiError> {
            let Some(idem) = &idempotency else {
                return Ok(None);
            };
            let Some(mut replay) = idem.replay(conn, &caller.user.id, &vault)? else {
                return Ok(None);
            };
            let principal = caller.principal();
            let visible = |conn: &mut DbConn, id: &serde_json::Value| -> Result<bool, DbError> {
                let Some(id) = id.as_str().and_then(|id| id.parse::<CaseId>().ok()) else {
                    return Ok(false);
                };
                Ok(
                    with_summary_visibility(conn, &authz, &principal, &context, &id)?
                        .is_some_and(|(_, _, visible)| visible),
                )
            };
            if !visible(conn, &replay.body["id"])? {
                return Err(ApiError::bare(ProblemType::NotFound));
            }
            if let Some(listed) = replay.body["possible_duplicates"].as_array().cloned() {
                let mut still = Vec::new();
                for item in listed {
                    if visible(conn, &item["case_id"])? {
                        still.push(item);
                    }
                }
                replay.body["possible_duplicates"] = json!(still);
            }
            conn.write_transaction(|conn| {
                crate::audit::record_decided(
                    conn,
                    &caller.context,
                    Some(&caller.user),
                    crate::audit::Event {
                        action: AuditAction::CaseCreate,
                        outcome: crate::audit::Outcome::Replayed,
                        resource: replay.body["id"].as_str().map(|id| ("case", id.to_owned())),
                    },
                    &decision,
                )
            })?;
            Ok(Some(replay))
        };
        if decision.allowed
            && let Some(first) = replay(conn)?
        {
            return Ok(first);
        }
        let audit = |conn: &mut DbConn, outcome: Outcome, decided: Option<&Decision>| {
            Entry::new(AuditAction::CaseCreate, outcome)
                .in_request(&caller.context)
                .by(Some(&caller.user))
                .on("organisation", &caller.organisation.id)
                .decided(decided)
                .write(conn)
        };
        let id = CaseId::generate();
        // A concurrent twin with the same key won the race: its answer, checked alike.
        guarded::run(
            conn,
            audit,
            |conn| replay(conn),
            |conn| {
                if !decision.allowed {
                    return Err(Failure::refused(decision.clone(), true, || {
                        ApiError::problem(
                            ProblemType::Forbidden,
                            "your role may not register cases",
                        )
                    }));
                }
                views::known_region(conn, &summary.region, "summary.region")?;
                let reference = loop {
                    let candidate = reference::generate('C');
                    if !Case::reference_taken(conn, &candidate)? {
                        break candidate;
                    }
                };
                let mut case = Case::insert(
                    conn,
                    &NewCase {
                        id: id.clone(),
                        reference,
                        owner: caller.organisation.id.clone(),
                        created_by: caller.user.id.clone(),
                        summary: summary.clone(),
                    },
                )?;
                vault.create_case_key(conn, &id).map_err(vault_error)?;
                let mut touched = Vec::new();
                for (group, plain) in &plaintexts {
                    vault
                        .write_group(conn, &id, *group, plain)
                        .map_err(vault_error)?;
                    touched.extend(FieldGroup::from_code(group.code()));
                }
                // Possible duplicates (crate::cases::duplicates): those the caller may see are
                // confirmed now and listed; the others are queued for the background job, which
                // confirms them and tells their holders after this answer. Only within the
                // caller's country.
                let mut mine = Vec::new();
                if let Some(terms) = &terms {
                    vault
                        .set_index_terms(conn, &id, terms)
                        .map_err(vault_error)?;
                    let principal = caller.principal();
                    for other in dup_service::candidates(conn, &vault, &id, terms)? {
                        let (other_case, facts, visible) =
                            with_summary_visibility(conn, &authz, &principal, &context, &other)?
                                .ok_or(DbError::NotFound)?;
                        if facts.owner.country != principal.organisation.country {
                            continue;
                        }
                        if !visible {
                            tumaini_db::models::duplicate::queue_check(conn, &id, &other)?;
                        } else if dup_service::confirmed(conn, &vault, terms, &other)? {
                            tumaini_db::models::duplicate::record(conn, &id, &other)?;
                            mine.push(
                            json!({"case_id": other_case.id, "reference": other_case.reference}),
                        );
                        }
                    }
                }
                if case.is_child && notify_child_protection(conn, &case, &public_url)? {
                    case = Case::apply(
                        conn,
                        &id,
                        case.version,
                        &CaseChanges {
                            child_protection_notified_at: Some(Some(now_utc())),
                            ..CaseChanges::default()
                        },
                    )?
                    .ok_or(DbError::NotFound)?;
                }
                record_case_event(
                    conn,
                    &caller.context,
                    &caller.user,
                    AuditAction::CaseCreate,
                    Outcome::Success,
                    &id,
                    Some(&decision),
                    &codes(&touched),
                    "registration",
                    false,
                )?;
                let mut view = serde_json::to_value(CaseSummaryView::load(conn, &case)?)
                    .map_err(|e| ApiError::Internal(e.into()))?;
                view["possible_duplicates"] = json!(mine);
                let reply =
                    Reply::created(format!("/api/v1/cases/{id}"), view).with_version(case.version);
                if let Some(idem) = &idempotency {
                    idem.store(conn, &caller.user.id, &id, &vault, &reply)?;
                }
                Ok(reply)
            },
        )
    })
    .await
}
