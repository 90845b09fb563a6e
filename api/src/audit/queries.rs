//! Queries of the audit trail for coordinators (national) and supervisors (their
//! organisation): events by case, user, organisation, action and time, cursor-paginated; "who
//! accessed this case" as a disclosure report; and the verification of the chain. Reading the
//! audit trail is itself audited, and what lies outside the caller's scope is redacted.

use std::collections::BTreeMap;

use chrono::NaiveDateTime;
use serde::Deserialize;
use tumaini_db::audit_chain;
use tumaini_db::ids::CaseId;
use tumaini_db::models::audit::{self as store, AuditEvent, AuditFilter};
use tumaini_db::models::audit_lists as lists;
use tumaini_db::{DbConn, DbError};
use utoipa::IntoParams;

use super::views::{
    Accessor, AuditEventView, CheckpointPage, CheckpointView, DisclosureReport, EventPage,
    PublicKey, VerifyReport,
};
use super::{AuditAction, Event, Outcome};
use crate::auth::Principal;
use crate::auth::tokens::Keys;
use crate::authz::{Action, Decision, OrganisationFacts, Resource};
use crate::http::{ApiError, ProblemType, with_conn};
use crate::state::AppState;

/// Filters of an audit query.
#[derive(Debug, Deserialize, IntoParams)]
pub struct EventQuery {
    /// Events about this case.
    pub case_id: Option<CaseId>,
    /// Events by this user.
    pub user_id: Option<String>,
    /// Events by this machine client.
    pub client_id: Option<String>,
    /// Events by users of this organisation.
    pub organisation_id: Option<String>,
    /// Events with this action code, e.g. `case.read`.
    pub action: Option<String>,
    /// From this time (RFC 3339, e.g. `2026-12-01T00:00:00Z`; without an offset, UTC).
    #[serde(default, deserialize_with = "instant::optional")]
    #[param(value_type = Option<String>, format = DateTime)]
    pub from: Option<NaiveDateTime>,
    /// Until this time (exclusive; as `from`).
    #[serde(default, deserialize_with = "instant::optional")]
    #[param(value_type = Option<String>, format = DateTime)]
    pub to: Option<NaiveDateTime>,
    /// The `next_cursor` of the previous page (time-ordered pages).
    pub cursor: Option<String>,
    /// A chain position: answers the sealed events after it, in chain order, the same on
    /// every replica; `0` starts from the beginning. Pull again with the answer's
    /// `next_after`. Not with `cursor`.
    #[param(minimum = 0)]
    pub after: Option<i64>,
    /// Page size: default 100 and at most 500 for JSON; default 1,000 and at most 10,000 for
    /// NDJSON.
    #[param(minimum = 1)]
    pub limit: Option<i64>,
    /// `json` (the default), or `ndjson` for one event per line (`application/x-ndjson`),
    /// for large pulls.
    pub format: Option<String>,
}

/// The format of an audit events answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// One JSON document, `EventPage`.
    Json,
    /// One event per line.
    Ndjson,
}

impl EventQuery {
    /// The asked format.
    pub fn format(&self) -> Result<Format, ApiError> {
        match self.format.as_deref() {
            None | Some("json") => Ok(Format::Json),
            Some("ndjson") => Ok(Format::Ndjson),
            Some(_) => Err(ApiError::problem(
                ProblemType::BadRequest,
                "`format` is `json` or `ndjson`",
            )),
        }
    }
}

/// Times in query parameters: RFC 3339 with an offset (converted to UTC), or without one
/// (taken as UTC).
mod instant {
    use chrono::{DateTime, NaiveDateTime};
    use serde::{Deserialize, Deserializer};

    pub fn optional<'de, D: Deserializer<'de>>(d: D) -> Result<Option<NaiveDateTime>, D::Error> {
        let Some(text) = Option::<String>::deserialize(d)? else {
            return Ok(None);
        };
        if let Ok(at) = DateTime::parse_from_rfc3339(&text) {
            return Ok(Some(at.naive_utc()));
        }
        NaiveDateTime::parse_from_str(&text, "%Y-%m-%dT%H:%M:%S%.f")
            .map(Some)
            .map_err(|_| serde::de::Error::custom("not an RFC 3339 time"))
    }
}

/// The cursor after an event: its time and id, signed by the server (a cursor is a position in
/// the caller's scope, not a query anyone may write).
fn cursor_of(keys: &Keys, e: &AuditEvent) -> String {
    keys.sign_cursor(
        format!(
            "audit|{}|{}",
            e.occurred_at.format("%Y-%m-%dT%H:%M:%S%.6f"),
            e.id
        )
        .as_bytes(),
    )
}

fn parse_cursor(keys: &Keys, text: &str) -> Result<(NaiveDateTime, String), ApiError> {
    let bad = || ApiError::problem(ProblemType::BadRequest, "`cursor` is not one we issued");
    let payload = keys.open_cursor(text).ok_or_else(bad)?;
    let payload = String::from_utf8(payload).map_err(|_| bad())?;
    let rest = payload.strip_prefix("audit|").ok_or_else(bad)?;
    let (at, id) = rest.split_once('|').ok_or_else(bad)?;
    let at = NaiveDateTime::parse_from_str(at, "%Y-%m-%dT%H:%M:%S%.f").map_err(|_| bad())?;
    Ok((at, id.to_owned()))
}

/// Whose events a caller may read: a coordinator those of their country (by people of its
/// organisations, or about the cases owned there and their referrals), a supervisor those of
/// their organisation (by its people, or about its cases).
#[derive(Debug, Clone)]
struct Scope {
    organisation: Option<String>,
    country: Option<String>,
}

/// The caller's right to the audit trail, and its scope: national for a coordinator (or a
/// coordination office's client), else the caller's organisation.
fn scope(state: &AppState, caller: &Principal) -> (Decision, Scope) {
    let own = OrganisationFacts::from(caller.organisation());
    let decision = state.authz.decide(
        caller.facts().subject(),
        Action::QueryAudit,
        &Resource::Organisation(&own),
        &crate::authz::AccessContext::now("oversight"),
    );
    let scope = if caller.national() {
        Scope {
            organisation: None,
            country: Some(caller.organisation().country.to_string()),
        }
    } else {
        Scope {
            organisation: Some(caller.organisation().id.to_string()),
            country: None,
        }
    };
    (decision, scope)
}

/// Whether a case is in the caller's scope (owned by the supervisor's organisation, or in the
/// coordinator's country).
fn case_in_scope(conn: &mut DbConn, scope: &Scope, case: &str) -> Result<bool, DbError> {
    Ok(!store::cases_in_scope(
        conn,
        &[case.to_owned()],
        scope.organisation.as_deref(),
        scope.country.as_deref(),
    )?
    .is_empty())
}

/// The events as the caller may see them. An event about a case or referral outside the
/// caller's scope shows without that object's id, and without the decision's policies and the
/// groups (which could tell whether, and why, it exists): for a supervisor, the refusals of
/// their own people (what their people may do with another organisation's objects they hold
/// through a referral is theirs to see); for a coordinator, every event about another
/// country's objects (a case crosses a border only through a referral, and its country's
/// coordinators follow it). An id that names nothing is outside every scope, so that a shown
/// id is no oracle either.
fn redact_foreign(
    conn: &mut DbConn,
    scope: &Scope,
    events: &mut [AuditEvent],
) -> Result<(), DbError> {
    let national = scope.country.is_some();
    let considered = |e: &AuditEvent, kind: &str| {
        e.resource_type.as_deref() == Some(kind)
            && e.resource_id.is_some()
            && (national || e.outcome == "denied")
    };
    let ids = |kind: &str| -> Vec<String> {
        events
            .iter()
            .filter(|e| considered(e, kind))
            .filter_map(|e| e.resource_id.clone())
            .collect()
    };
    // The cases and referrals the page names, looked up at once.
    let lists::InScope { cases, referrals } = lists::in_scope(
        conn,
        &ids("case"),
        &ids("referral"),
        scope.organisation.as_deref(),
        scope.country.as_deref(),
    )?;
    for event in events.iter_mut() {
        let inside = match event.resource_type.as_deref() {
            Some("case") if considered(event, "case") => event
                .resource_id
                .as_ref()
                .is_some_and(|id| cases.contains(id)),
            Some("referral") if considered(event, "referral") => event
                .resource_id
                .as_ref()
                .is_some_and(|id| referrals.contains(id)),
            _ => true,
        };
        if !inside {
            event.resource_id = None;
            event.policy_ids = String::new();
            event.field_groups = String::new();
            if event.outcome == "denied" {
                event.decision = Some("deny".to_owned());
            }
        }
    }
    Ok(())
}

fn record(
    conn: &mut DbConn,
    caller: &Principal,
    action: AuditAction,
    outcome: Outcome,
    resource: Option<(&'static str, String)>,
    decision: &Decision,
) -> Result<(), DbError> {
    super::record_decided_by(
        conn,
        caller.context(),
        caller.actor(),
        Event {
            action,
            outcome,
            resource,
        },
        decision,
    )
}

fn refused(
    conn: &mut DbConn,
    caller: &Principal,
    action: AuditAction,
    decision: &Decision,
) -> ApiError {
    match conn
        .write_transaction(|conn| record(conn, caller, action, Outcome::Denied, None, decision))
    {
        Ok(()) => ApiError::problem(
            ProblemType::Forbidden,
            "your role may not read the audit trail",
        ),
        Err(err) => err.into(),
    }
}

/// Audit events: oldest first and cursor-paginated (the cursor is signed), or, with `after`,
/// the sealed events after a chain position in chain order (an incremental feed). Coordinators
/// see the events of their country (by people of its organisations, about the cases owned there
/// and their referrals); supervisors those of their organisation's people and about its cases.
/// A refusal by someone in scope about a case or referral outside it shows without the id:
/// whether it exists is not the caller's to learn. A page costs the same statements whatever
/// its size (the events in one, the cases and the referrals it names in one more, in one read
/// transaction; the reading audited after in its own write transaction, the page answered
/// only once that is committed): nothing is looked up per event.
pub async fn events(
    state: &AppState,
    caller: Principal,
    query: EventQuery,
) -> Result<EventPage, ApiError> {
    let (default, most) = match query.format()? {
        Format::Json => (100, 500),
        Format::Ndjson => (1_000, 10_000),
    };
    let limit = query.limit.unwrap_or(default).clamp(1, most);
    let keys = std::sync::Arc::clone(&state.auth);
    let after = query
        .cursor
        .as_deref()
        .map(|c| parse_cursor(&keys.keys, c))
        .transpose()?;
    let position = match (query.after, &after) {
        (Some(_), Some(_)) => {
            return Err(ApiError::problem(
                ProblemType::BadRequest,
                "`after` and `cursor` cannot be combined",
            ));
        }
        (Some(p), None) if p < 0 => {
            return Err(ApiError::problem(
                ProblemType::BadRequest,
                "`after` is a chain position, 0 or more",
            ));
        }
        (position, _) => position,
    };
    let (decision, scope) = scope(state, &caller);
    let filter = AuditFilter {
        case_id: query.case_id.map(|c| c.to_string()),
        user_id: query.user_id,
        client_id: query.client_id,
        organisation_id: query.organisation_id,
        action: query.action,
        from: query.from,
        to: query.to,
        after,
        scope_organisation: scope.organisation.clone(),
        scope_country: scope.country.clone(),
    };
    with_conn(&state.pool, move |conn| {
        if !decision.allowed {
            return Err(refused(conn, &caller, AuditAction::AuditQuery, &decision));
        }
        let page = conn.read_transaction(|conn| {
            // Events about one case: only a case of the caller's scope (of any other, nothing:
            // not even the refusals of the caller's own people, which would tell that it
            // exists).
            if let Some(case) = &filter.case_id
                && !case_in_scope(conn, &scope, case)?
            {
                return Ok::<_, ApiError>(EventPage {
                    items: Vec::new(),
                    next_cursor: None,
                    next_after: position,
                });
            }
            match position {
                Some(position) => feed_page(conn, &scope, &filter, position, limit),
                None => {
                    let mut events = store::query(conn, &filter, limit)?;
                    redact_foreign(conn, &scope, &mut events)?;
                    let next_cursor = (i64::try_from(events.len()).unwrap_or(0) == limit)
                        .then(|| events.last().map(|e| cursor_of(&keys.keys, e)))
                        .flatten();
                    Ok(EventPage {
                        items: events.iter().map(AuditEventView::of).collect(),
                        next_cursor,
                        next_after: None,
                    })
                }
            }
        })?;
        conn.write_transaction(|conn| {
            record(
                conn,
                &caller,
                AuditAction::AuditQuery,
                Outcome::Success,
                filter.case_id.clone().map(|c| ("case", c)),
                &decision,
            )
        })?;
        Ok::<_, ApiError>(page)
    })
    .await
}

/// The sealed events in scope after chain position `after`, in chain order.
fn feed_page(
    conn: &mut DbConn,
    scope: &Scope,
    filter: &AuditFilter,
    after: i64,
    limit: i64,
) -> Result<EventPage, ApiError> {
    // The events are redacted in place; their positions and chain hashes are kept aside
    // (no copy of up to 10,000 events per pull).
    let (mut events, places): (Vec<AuditEvent>, Vec<(i64, Vec<u8>)>) =
        store::feed(conn, filter, after, limit)?
            .into_iter()
            .map(|c| (c.event, (c.position, c.chain_hash)))
            .unzip();
    redact_foreign(conn, scope, &mut events)?;
    let next_after = places.last().map_or(after, |(position, _)| *position);
    Ok(EventPage {
        items: events
            .iter()
            .zip(&places)
            .map(|(e, (position, hash))| AuditEventView::chained(e, *position, hash))
            .collect(),
        next_cursor: None,
        next_after: Some(next_after),
    })
}

/// Who accessed a case: every person who read or changed it or was refused, with when, which
/// field groups, for which purposes. Coordinators for any case of their country; supervisors
/// for the cases their organisation owns; 404 for any other, as for none. The case and its
/// trail are read in one read transaction (the case in scope and its reference in one
/// statement, the trail in pages of 5,000), the reading audited after in its own short write
/// transaction, and the report answered only once that is committed.
pub async fn disclosures(
    state: &AppState,
    caller: Principal,
    id: CaseId,
) -> Result<DisclosureReport, ApiError> {
    let (decision, scope) = scope(state, &caller);
    with_conn(&state.pool, move |conn| {
        if !decision.allowed {
            return Err(refused(
                conn,
                &caller,
                AuditAction::AuditDisclosures,
                &decision,
            ));
        }
        let found = conn.read_transaction(|conn| {
            let Some(reference) = lists::case_reference_in_scope(
                conn,
                id.as_str(),
                scope.organisation.as_deref(),
                scope.country.as_deref(),
            )?
            else {
                return Ok::<_, DbError>(None);
            };
            Ok(Some((reference, accessors(&case_trail(conn, &id, &[])?))))
        })?;
        conn.write_transaction(|conn| {
            record(
                conn,
                &caller,
                AuditAction::AuditDisclosures,
                if found.is_some() {
                    Outcome::Success
                } else {
                    Outcome::Denied
                },
                Some(("case", id.to_string())),
                &decision,
            )
        })?;
        let Some((reference, accessed_by)) = found else {
            return Err(ApiError::bare(ProblemType::NotFound));
        };
        Ok::<_, ApiError>(DisclosureReport {
            case_id: id.to_string(),
            reference: Some(reference),
            accessed_by,
        })
    })
    .await
}

/// Every event about a case, and about the referrals of it named in `referrals`, oldest first,
/// read in pages: what "who accessed this case" and the person's subject access export are
/// built from. Nothing is redacted: only callers who may see the whole trail of the case get
/// here.
pub fn case_trail(
    conn: &mut DbConn,
    case: &CaseId,
    referrals: &[String],
) -> Result<Vec<AuditEvent>, DbError> {
    const PAGE: i64 = 5_000;
    let mut events = Vec::new();
    let mut after: Option<(NaiveDateTime, String)> = None;
    loop {
        let page = store::about_case(conn, case.as_str(), referrals, after.as_ref(), PAGE)?;
        let full = i64::try_from(page.len()).unwrap_or(i64::MAX) == PAGE;
        after = page.last().map(|e| (e.occurred_at, e.id.to_string()));
        events.extend(page);
        if !full {
            return Ok(events);
        }
    }
}

/// The events of a trail summarised per actor (an account, a machine client, or the system),
/// in the order of their keys.
pub fn accessors(events: &[AuditEvent]) -> Vec<Accessor> {
    let mut by_actor: BTreeMap<String, Accessor> = BTreeMap::new();
    for e in events {
        let actor = e
            .actor_user_id
            .clone()
            .or_else(|| e.actor_client_id.as_ref().map(|c| format!("client:{c}")))
            .unwrap_or_else(|| "system".to_owned());
        by_actor
            .entry(actor)
            .or_insert_with(|| Accessor::first(e))
            .add(e);
    }
    by_actor.into_values().collect()
}

/// Recomputes the chain and checks every signed checkpoint (coordinators), reporting the
/// first broken position, not only "broken".
pub async fn verify(state: &AppState, caller: Principal) -> Result<VerifyReport, ApiError> {
    let (mut decision, _) = scope(state, &caller);
    if !caller.national() {
        decision.allowed = false;
    }
    let key = state.audit_signer.verifying_key();
    let event_key = state.audit_signer.event_key().clone();
    with_conn(&state.pool, move |conn| {
        if !decision.allowed {
            return Err(refused(conn, &caller, AuditAction::AuditVerify, &decision));
        }
        let keys = audit_chain::Keys {
            checkpoints: &[key],
            events: Some(&event_key),
        };
        let report = audit_chain::verify(conn, keys, &audit_chain::Witness::default(), |_, _| {})?;
        conn.write_transaction(|conn| {
            record(
                conn,
                &caller,
                AuditAction::AuditVerify,
                if report.intact() {
                    Outcome::Success
                } else {
                    Outcome::Failure
                },
                None,
                &decision,
            )
        })?;
        Ok::<_, ApiError>(VerifyReport::of(&report, audit_chain::key_id(&key)))
    })
    .await
}

/// The signed checkpoints after chain position `after`, oldest first (coordinators): what an
/// outside witness keeps, to prove later that the trail it was shown was never rewritten.
pub async fn checkpoints(
    state: &AppState,
    caller: Principal,
    after: i64,
    limit: i64,
) -> Result<CheckpointPage, ApiError> {
    let (mut decision, _) = scope(state, &caller);
    if !caller.national() {
        decision.allowed = false;
    }
    let (after, limit) = (after.max(0), limit.clamp(1, 1_000));
    with_conn(&state.pool, move |conn| {
        if !decision.allowed {
            return Err(refused(
                conn,
                &caller,
                AuditAction::AuditCheckpoints,
                &decision,
            ));
        }
        let items = audit_chain::Checkpoint::after(conn, after, limit)?;
        conn.write_transaction(|conn| {
            record(
                conn,
                &caller,
                AuditAction::AuditCheckpoints,
                Outcome::Success,
                None,
                &decision,
            )
        })?;
        Ok::<_, ApiError>(CheckpointPage {
            next_after: items.last().map_or(after, |c| c.position),
            items: items.iter().map(CheckpointView::from).collect(),
        })
    })
    .await
}

/// The key that signs the checkpoints. Public: anyone may verify what they were handed.
pub fn public_key(state: &AppState) -> PublicKey {
    PublicKey::of(&state.audit_signer.verifying_key())
}
