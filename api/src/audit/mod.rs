//! Writing audit events from handlers. Every audited action calls [`record`] on the same
//! connection, inside the same transaction, as the change it records: if the event cannot be
//! written, the action does not happen.

pub mod misuse;

use tumaini_db::models::User;
use tumaini_db::models::audit::{self, AuditRecord};
use tumaini_db::{DbConn, DbError};

use crate::auth::RequestContext;

/// How an audited action ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Done.
    Success,
    /// Attempted and failed (wrong password, expired token).
    Failure,
    /// Refused by a rule (role, lock, rate).
    Denied,
    /// An idempotent retry, answered with the first answer once the policies allowed the
    /// action again (nothing was done twice).
    Replayed,
}

impl Outcome {
    const fn code(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Failure => "failure",
            Self::Denied => "denied",
            Self::Replayed => "replayed",
        }
    }
}

/// An audited action: what, on which resource, and how it ended.
#[derive(Debug, Clone)]
pub struct Event<'a> {
    /// Action code, e.g. `auth.login`.
    pub action: &'a str,
    /// Outcome.
    pub outcome: Outcome,
    /// Resource type and id, when the action has one.
    pub resource: Option<(&'a str, String)>,
}

/// Appends the event with the authorization decision that let it happen (or refused it).
pub fn record_decided(
    conn: &mut DbConn,
    context: &RequestContext,
    actor: Option<&User>,
    event: Event<'_>,
    decision: &crate::authz::Decision,
) -> Result<(), DbError> {
    write(conn, context, actor, event, Some(decision), false)
}

/// Like [`record_decided`], as a high-severity event: an action coordinators must notice
/// (a research export that lowers the disclosure control).
pub fn record_decided_high(
    conn: &mut DbConn,
    context: &RequestContext,
    actor: Option<&User>,
    event: Event<'_>,
    decision: &crate::authz::Decision,
) -> Result<(), DbError> {
    write(conn, context, actor, event, Some(decision), true)
}

/// Appends the event for `actor` (none for anonymous requests).
pub fn record(
    conn: &mut DbConn,
    context: &RequestContext,
    actor: Option<&User>,
    event: Event<'_>,
) -> Result<(), DbError> {
    write(conn, context, actor, event, None, false)
}

/// Appends the event, with the decision that made it when there was one, at the severity
/// given: the one function the others share.
pub fn write(
    conn: &mut DbConn,
    context: &RequestContext,
    actor: Option<&User>,
    event: Event<'_>,
    decision: Option<&crate::authz::Decision>,
    high_severity: bool,
) -> Result<(), DbError> {
    let (resource_type, resource_id) = match event.resource {
        Some((kind, id)) => (Some(kind.to_owned()), Some(id)),
        None => (None, None),
    };
    audit::record(
        conn,
        &AuditRecord {
            action: event.action.to_owned(),
            outcome: event.outcome.code().to_owned(),
            actor_user_id: actor.map(|u| u.id.to_string()),
            actor_organisation_id: actor.map(|u| u.organisation_id.to_string()),
            actor_role: actor.map(|u| u.role.code().to_owned()),
            resource_type,
            resource_id,
            decision: decision.map(|d| d.code().to_owned()),
            policy_ids: decision.map(|d| d.policy_ids.join(",")).unwrap_or_default(),
            request_id: Some(context.request_id.clone()).filter(|r| !r.is_empty()),
            client_hash: context.client_hash.clone(),
            high_severity,
            client_request_id: context.client_request_id.clone(),
            ..AuditRecord::default()
        },
    )?;
    Ok(())
}
