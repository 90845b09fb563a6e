//! The audit table: one row per audited action, appended in the same transaction as the
//! action. The database refuses updates and deletes (triggers). Rows hold who, what, on which
//! resource, the decision and the request id; never a personal value.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::ids::AuditEventId;
use crate::schema::audit_events;
use crate::time::now_utc;
use crate::{DbConn, DbError};

/// An event to record. Fields that do not apply stay `None`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditRecord {
    /// What happened, e.g. `auth.login`, `user.disable`.
    pub action: String,
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
    /// The HTTP request id.
    pub request_id: Option<String>,
    /// The client address under a keyed hash.
    pub client_hash: Option<String>,
}

/// A stored event.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = audit_events)]
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
    /// Acted on what kind of resource.
    pub resource_type: Option<String>,
    /// Acted on which resource.
    pub resource_id: Option<String>,
    /// The authorization decision, when one was made.
    pub decision: Option<String>,
    /// The deciding policies' ids, comma-separated.
    pub policy_ids: String,
    /// Request id.
    pub request_id: Option<String>,
    /// Keyed hash of the client address.
    pub client_hash: Option<String>,
}

/// Appends an event. Call it inside the transaction of the action it records.
pub fn record(conn: &mut DbConn, event: &AuditRecord) -> Result<AuditEventId, DbError> {
    let id = AuditEventId::generate();
    diesel::insert_into(audit_events::table)
        .values((
            audit_events::id.eq(&id),
            audit_events::occurred_at.eq(now_utc()),
            audit_events::action.eq(&event.action),
            audit_events::outcome.eq(&event.outcome),
            audit_events::actor_user_id.eq(&event.actor_user_id),
            audit_events::actor_organisation_id.eq(&event.actor_organisation_id),
            audit_events::actor_role.eq(&event.actor_role),
            audit_events::resource_type.eq(&event.resource_type),
            audit_events::resource_id.eq(&event.resource_id),
            audit_events::field_groups.eq(&event.field_groups),
            audit_events::purpose.eq(&event.purpose),
            audit_events::decision.eq(&event.decision),
            audit_events::policy_ids.eq(&event.policy_ids),
            audit_events::request_id.eq(&event.request_id),
            audit_events::client_hash.eq(&event.client_hash),
        ))
        .execute(conn)?;
    Ok(id)
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
