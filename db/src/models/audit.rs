//! The audit table: one row per audited action, appended in the same transaction as the
//! action. The database refuses updates and deletes (triggers). Rows hold who, what, on which
//! resource, the decision and the request id; never a personal value.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::audit_chain::EventKey;
use crate::ids::AuditEventId;
use crate::schema::audit_events;
use crate::time::now_utc;
use crate::vocabulary::AuditAction;
use crate::{DbConn, DbError};

/// An event to record. Fields that do not apply stay `None`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRecord {
    /// What happened: one of the closed list of audited actions.
    pub action: AuditAction,
    /// `success`, `failure` or `denied`.
    pub outcome: String,
    /// Who acted (none for an anonymous or failed sign-in).
    pub actor_user_id: Option<String>,
    /// The actor's organisation.
    pub actor_organisation_id: Option<String>,
    /// The actor's role.
    pub actor_role: Option<String>,
    /// What was acted on: `user`, `session`, `organisation`, `case`...
    pub resource_type: Option<String>,
    /// Its id.
    pub resource_id: Option<String>,
    /// Field groups touched, comma-separated codes.
    pub field_groups: String,
    /// Purpose of access, when one was given.
    pub purpose: Option<String>,
    /// The authorization decision, when one was made.
    pub decision: Option<String>,
    /// The ids of the deciding policies, comma-separated.
    pub policy_ids: String,
    /// The HTTP request id (the server's own).
    pub request_id: Option<String>,
    /// The client address under a keyed hash.
    pub client_hash: Option<String>,
    /// A high-severity event (break-glass), watched and alerted on.
    pub high_severity: bool,
    /// The request id the client sent, if it sent a well-formed one: kept apart from the
    /// server's, never mistaken for it.
    pub client_request_id: Option<String>,
    /// The machine client that acted (its organisation is the actor's organisation).
    pub actor_client_id: Option<String>,
}

impl AuditRecord {
    /// An event of `action` with `outcome`, by nobody, about nothing, touching nothing: the
    /// other fields are set by who records it.
    pub fn new(action: AuditAction, outcome: &str) -> Self {
        Self {
            action,
            outcome: outcome.to_owned(),
            actor_user_id: None,
            actor_organisation_id: None,
            actor_role: None,
            resource_type: None,
            resource_id: None,
            field_groups: String::new(),
            purpose: None,
            decision: None,
            policy_ids: String::new(),
            request_id: None,
            client_hash: None,
            high_severity: false,
            client_request_id: None,
            actor_client_id: None,
        }
    }
}

/// A stored event. An absent value is inserted as NULL, not as DEFAULT: the INSERT then has
/// one shape, which diesel prepares once per connection and reuses (with DEFAULT it is parsed
/// and planned on every request).
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = audit_events, treat_none_as_default_value = false)]
pub struct AuditEvent {
    /// Identifier.
    pub id: AuditEventId,
    /// When (UTC).
    pub occurred_at: NaiveDateTime,
    /// What happened.
    pub action: String,
    /// How it ended.
    pub outcome: String,
    /// Who acted.
    pub actor_user_id: Option<String>,
    /// The actor's organisation.
    pub actor_organisation_id: Option<String>,
    /// The actor's role.
    pub actor_role: Option<String>,
    /// Acted on what kind of resource.
    pub resource_type: Option<String>,
    /// Acted on which resource.
    pub resource_id: Option<String>,
    /// Field groups touched, comma-separated codes.
    pub field_groups: String,
    /// Purpose of access.
    pub purpose: Option<String>,
    /// The authorization decision, when one was made.
    pub decision: Option<String>,
    /// The deciding policies' ids, comma-separated.
    pub policy_ids: String,
    /// Request id.
    pub request_id: Option<String>,
    /// Keyed hash of the client address.
    pub client_hash: Option<String>,
    /// `normal` or `high`.
    pub severity: String,
    /// The request id the client sent.
    pub client_request_id: Option<String>,
    /// The machine client that acted.
    pub actor_client_id: Option<String>,
    /// HMAC-SHA256 of every other column under the servers' event key, base64 (none on events
    /// recorded before events carried one).
    pub mac: Option<String>,
}

/// Appends an event, with its MAC under `key` (the servers' event key; `None` writes an event
/// `tumaini audit verify` reports as forged, which only tests playing an attacker want). Call
/// it inside the transaction of the action it records.
pub fn record(
    conn: &mut DbConn,
    event: &AuditRecord,
    key: Option<&EventKey>,
) -> Result<AuditEventId, DbError> {
    let stored = stored(event, key);
    diesel::insert_into(audit_events::table)
        .values(&stored)
        .execute(conn)?;
    Ok(stored.id)
}

/// [`record`] for several events, in one statement: a request that read many cases (a page of
/// referrals, each reason read) audits each read without a round trip each. Stored in the
/// order given.
pub fn record_all(
    conn: &mut DbConn,
    events: &[(AuditRecord, Option<EventKey>)],
) -> Result<(), DbError> {
    if events.is_empty() {
        return Ok(());
    }
    let stored: Vec<AuditEvent> = events
        .iter()
        .map(|(event, key)| stored(event, key.as_ref()))
        .collect();
    // Several rows in one statement is not in the engines' common subset (diesel's
    // MultiConnection backend offers no batch insert): each engine's own insert.
    match conn {
        DbConn::Postgresql(pg) => diesel::insert_into(audit_events::table)
            .values(&stored)
            .execute(pg)?,
        // In the process: a statement per row, and no round trip.
        DbConn::Sqlite(sqlite) => diesel::insert_into(audit_events::table)
            .values(&stored)
            .execute(sqlite)?,
    };
    Ok(())
}

/// The row of an event, with its MAC under `key`.
fn stored(event: &AuditRecord, key: Option<&EventKey>) -> AuditEvent {
    let mut stored = AuditEvent {
        id: AuditEventId::generate(),
        occurred_at: now_utc(),
        action: event.action.code().to_owned(),
        outcome: event.outcome.clone(),
        actor_user_id: event.actor_user_id.clone(),
        actor_organisation_id: event.actor_organisation_id.clone(),
        actor_role: event.actor_role.clone(),
        resource_type: event.resource_type.clone(),
        resource_id: event.resource_id.clone(),
        field_groups: event.field_groups.clone(),
        purpose: event.purpose.clone(),
        decision: event.decision.clone(),
        policy_ids: event.policy_ids.clone(),
        request_id: event.request_id.clone(),
        client_hash: event.client_hash.clone(),
        severity: if event.high_severity {
            "high"
        } else {
            "normal"
        }
        .to_owned(),
        client_request_id: event.client_request_id.clone(),
        actor_client_id: event.actor_client_id.clone(),
        mac: None,
    };
    stored.mac = key.map(|key| key.mac(&stored));
    stored
}

/// Events with this action, oldest first (for tests and the audit work's queries).
pub fn with_action(conn: &mut DbConn, action: &str) -> Result<Vec<AuditEvent>, DbError> {
    Ok(audit_events::table
        .filter(audit_events::action.eq(action))
        .order((audit_events::occurred_at, audit_events::id))
        .select(AuditEvent::as_select())
        .load(conn)?)
}

/// Events carrying this request id.
pub fn for_request(conn: &mut DbConn, request_id: &str) -> Result<Vec<AuditEvent>, DbError> {
    Ok(audit_events::table
        .filter(audit_events::request_id.eq(request_id))
        .order((audit_events::occurred_at, audit_events::id))
        .select(AuditEvent::as_select())
        .load(conn)?)
}

/// How many different cases `actor` read personal groups of since `since` (successful reads
/// that touched at least one group). A range of `audit_events_actor_idx` (`actor_user_id`,
/// `occurred_at`): it reads that reader's events of the window, whatever the trail holds.
pub fn cases_read_with_groups(
    conn: &mut DbConn,
    actor: &str,
    since: NaiveDateTime,
) -> Result<i64, DbError> {
    Ok(audit_events::table
        .filter(audit_events::actor_user_id.eq(actor))
        .filter(audit_events::occurred_at.ge(since))
        .filter(audit_events::outcome.eq("success"))
        .filter(audit_events::resource_type.eq("case"))
        .filter(
            audit_events::action.eq_any(
                AuditAction::ALL
                    .iter()
                    .filter(|a| a.reads_case())
                    .map(|a| a.code()),
            ),
        )
        .filter(audit_events::field_groups.ne(""))
        .select(diesel::dsl::count(audit_events::resource_id).aggregate_distinct())
        .first(conn)?)
}

/// How many different cases the machine client `client` read about since `since` (successful
/// events of its about a case: who accessed it, its audit events). A range of
/// `audit_events_actor_client_idx` (`actor_client_id`, `occurred_at`; partial, clients' events
/// only): that client's events of the window.
pub fn cases_read_by_client(
    conn: &mut DbConn,
    client: &str,
    since: NaiveDateTime,
) -> Result<i64, DbError> {
    Ok(audit_events::table
        .filter(audit_events::actor_client_id.eq(client))
        .filter(audit_events::occurred_at.ge(since))
        .filter(audit_events::outcome.eq("success"))
        .filter(audit_events::resource_type.eq("case"))
        .select(diesel::dsl::count(audit_events::resource_id).aggregate_distinct())
        .first(conn)?)
}

/// Whether an event with `action` about the `resource_type` `resource_id` was recorded since
/// `since`. A range of `audit_events_resource_idx` (type, id, time): the events of the window
/// about that one resource (without the type, PostgreSQL scanned the whole trail).
pub fn recorded_since(
    conn: &mut DbConn,
    action: AuditAction,
    resource_type: &str,
    resource_id: &str,
    since: NaiveDateTime,
) -> Result<bool, DbError> {
    Ok(diesel::select(diesel::dsl::exists(
        audit_events::table
            .filter(audit_events::resource_type.eq(resource_type))
            .filter(audit_events::resource_id.eq(resource_id))
            .filter(audit_events::occurred_at.ge(since))
            .filter(audit_events::action.eq(action.code())),
    ))
    .get_result(conn)?)
}

/// Events about a case, and about the referrals of it named in `referrals`, oldest first
/// (by time, then id), after `after` (`(occurred_at, id)` of the last event of the previous
/// page), at most `limit`: the trail a disclosure report and a subject access export are built
/// from.
pub fn about_case(
    conn: &mut DbConn,
    case: &str,
    referrals: &[String],
    after: Option<&(NaiveDateTime, String)>,
    limit: i64,
) -> Result<Vec<AuditEvent>, DbError> {
    let mut query = audit_events::table
        .select(AuditEvent::as_select())
        .order((audit_events::occurred_at, audit_events::id))
        .limit(limit)
        .into_boxed();
    let the_case = audit_events::resource_type
        .eq("case")
        .and(audit_events::resource_id.eq(case));
    if referrals.is_empty() {
        query = query.filter(the_case);
    } else {
        query = query.filter(
            the_case.or(audit_events::resource_type
                .eq("referral")
                .and(audit_events::resource_id.eq_any(referrals))),
        );
    }
    if let Some((at, id)) = after {
        query = query.filter(
            audit_events::occurred_at
                .gt(*at)
                .or(audit_events::occurred_at
                    .eq(*at)
                    .and(audit_events::id.gt(id))),
        );
    }
    Ok(query.load(conn)?)
}

/// What an audit query asks for.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// Events about this case.
    pub case_id: Option<String>,
    /// Events by this user.
    pub user_id: Option<String>,
    /// Events by this machine client.
    pub client_id: Option<String>,
    /// Events by users of this organisation.
    pub organisation_id: Option<String>,
    /// Events with this action code.
    pub action: Option<String>,
    /// From this time (inclusive).
    pub from: Option<NaiveDateTime>,
    /// Until this time (exclusive).
    pub to: Option<NaiveDateTime>,
    /// After this `(occurred_at, id)` (the cursor).
    pub after: Option<(NaiveDateTime, String)>,
    /// Only events a supervisor of this organisation may see: by its people, or about the
    /// cases it owns.
    pub scope_organisation: Option<String>,
    /// Only events a coordinator of this country may see: by people of its organisations, or
    /// about the cases owned there (and their referrals).
    pub scope_country: Option<String>,
}

/// Applies an [`AuditFilter`] to a boxed query over `audit_events` (alone or joined): one
/// definition of what each filter and each scope admits, for time-ordered pages and for the
/// chain-ordered feed alike.
macro_rules! filtered {
    ($query:ident, $filter:expr) => {{
        let filter: &AuditFilter = $filter;
        let mut query = $query;
        if let Some(case) = &filter.case_id {
            query = query
                .filter(audit_events::resource_type.eq("case"))
                .filter(audit_events::resource_id.eq(case));
        }
        if let Some(user) = &filter.user_id {
            query = query.filter(audit_events::actor_user_id.eq(user));
        }
        if let Some(client) = &filter.client_id {
            query = query.filter(audit_events::actor_client_id.eq(client));
        }
        if let Some(org) = &filter.organisation_id {
            query = query.filter(audit_events::actor_organisation_id.eq(org));
        }
        if let Some(action) = &filter.action {
            query = query.filter(audit_events::action.eq(action));
        }
        if let Some(from) = filter.from {
            query = query.filter(audit_events::occurred_at.ge(from));
        }
        if let Some(to) = filter.to {
            query = query.filter(audit_events::occurred_at.lt(to));
        }
        if let Some((at, id)) = &filter.after {
            query = query.filter(
                audit_events::occurred_at
                    .gt(*at)
                    .or(audit_events::occurred_at
                        .eq(*at)
                        .and(audit_events::id.gt(id))),
            );
        }
        if let Some(org) = &filter.scope_organisation {
            let owned = cases::table
                .filter(cases::owner_organisation_id.eq(org))
                .select(cases::id.nullable());
            query = query.filter(
                audit_events::actor_organisation_id
                    .eq(org)
                    .or(audit_events::resource_type
                        .eq("case")
                        .and(audit_events::resource_id.eq_any(owned))),
            );
        }
        if let Some(country) = &filter.scope_country {
            use crate::schema::{organisations, referrals};
            let organisations_there = organisations::table
                .filter(organisations::country.eq(country))
                .select(organisations::id.nullable());
            let cases_there = cases::table
                .inner_join(organisations::table)
                .filter(organisations::country.eq(country))
                .select(cases::id.nullable());
            let referrals_there = referrals::table
                .inner_join(cases::table.inner_join(organisations::table))
                .filter(organisations::country.eq(country))
                .select(referrals::id.nullable());
            query = query.filter(
                audit_events::actor_organisation_id
                    .eq_any(organisations_there)
                    .or(audit_events::resource_type
                        .eq("case")
                        .and(audit_events::resource_id.eq_any(cases_there)))
                    .or(audit_events::resource_type
                        .eq("referral")
                        .and(audit_events::resource_id.eq_any(referrals_there))),
            );
        }
        query
    }};
}

/// Events matching `filter`, oldest first, at most `limit`.
pub fn query(
    conn: &mut DbConn,
    filter: &AuditFilter,
    limit: i64,
) -> Result<Vec<AuditEvent>, DbError> {
    use crate::schema::cases;
    let base = audit_events::table
        .select(AuditEvent::as_select())
        .order((audit_events::occurred_at, audit_events::id))
        .limit(limit)
        .into_boxed();
    let query = filtered!(base, filter);
    Ok(query.load(conn)?)
}

/// One event of the feed: its position in the hash chain, the chain hash there, and the event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chained {
    /// The event's position in the chain (1 for the first event ever sealed).
    pub position: i64,
    /// The chain hash at that position (what a checkpoint at that position signs).
    pub chain_hash: Vec<u8>,
    /// The event.
    pub event: AuditEvent,
}

/// Sealed events matching `filter` after chain position `after`, in chain order, at most
/// `limit`: the feed a client pulls incrementally. The order is the chain's, the same on every
/// replica; an event not yet sealed appears once the sealer gives it a position (always after
/// every position already handed out).
pub fn feed(
    conn: &mut DbConn,
    filter: &AuditFilter,
    after: i64,
    limit: i64,
) -> Result<Vec<Chained>, DbError> {
    use crate::schema::{audit_chain, cases};
    let base = audit_chain::table
        .inner_join(audit_events::table)
        .filter(audit_chain::position.gt(after))
        .order(audit_chain::position)
        .limit(limit)
        .select((
            audit_chain::position,
            audit_chain::chain_hash,
            AuditEvent::as_select(),
        ))
        .into_boxed();
    let query = filtered!(base, filter);
    let rows: Vec<(i64, Vec<u8>, AuditEvent)> = query.load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(position, chain_hash, event)| Chained {
            position,
            chain_hash,
            event,
        })
        .collect())
}

/// Of these cases, those owned by `organisation` (when given) and in `country` (when given).
pub fn cases_in_scope(
    conn: &mut DbConn,
    ids: &[String],
    organisation: Option<&str>,
    country: Option<&str>,
) -> Result<std::collections::BTreeSet<String>, DbError> {
    use crate::schema::{cases, organisations};
    if ids.is_empty() {
        return Ok(std::collections::BTreeSet::new());
    }
    let mut query = cases::table
        .inner_join(organisations::table)
        .filter(cases::id.eq_any(ids))
        .select(cases::id)
        .into_boxed();
    if let Some(org) = organisation {
        query = query.filter(cases::owner_organisation_id.eq(org));
    }
    if let Some(country) = country {
        query = query.filter(organisations::country.eq(country));
    }
    Ok(query.load::<String>(conn)?.into_iter().collect())
}

/// Of these referrals, those whose case is owned by `organisation` (when given) and in
/// `country` (when given).
pub fn referrals_in_scope(
    conn: &mut DbConn,
    ids: &[String],
    organisation: Option<&str>,
    country: Option<&str>,
) -> Result<std::collections::BTreeSet<String>, DbError> {
    use crate::schema::{cases, organisations, referrals};
    if ids.is_empty() {
        return Ok(std::collections::BTreeSet::new());
    }
    let mut query = referrals::table
        .inner_join(cases::table.inner_join(organisations::table))
        .filter(referrals::id.eq_any(ids))
        .select(referrals::id)
        .into_boxed();
    if let Some(org) = organisation {
        query = query.filter(cases::owner_organisation_id.eq(org));
    }
    if let Some(country) = country {
        query = query.filter(organisations::country.eq(country));
    }
    Ok(query.load::<String>(conn)?.into_iter().collect())
}
