//! Writing audit events. Every audited action builds its event with [`Entry`], on the same
//! connection and inside the same transaction as the change it records: if the event cannot be
//! written, the action does not happen. An event names its action with an [`AuditAction`] and
//! holds references, codes and hashes, never a personal value.
//!
//! The insider-misuse watch, which reads the events the sealer seals, is in [`misuse`].

pub mod misuse;
pub mod queries;
pub mod views;
pub mod witness;

use tumaini_db::audit_chain::EventKey;
use tumaini_db::models::audit::{self, AuditRecord};
use tumaini_db::models::{ApiClient, User};
pub use tumaini_db::vocabulary::AuditAction;
use tumaini_db::{DbConn, DbError};

use crate::auth::RequestContext;
use crate::authz::Decision;

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
    /// Raised by the system about someone (the misuse watch).
    Flagged,
}

impl Outcome {
    /// The code stored in the event.
    pub const fn code(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Failure => "failure",
            Self::Denied => "denied",
            Self::Replayed => "replayed",
            Self::Flagged => "flagged",
        }
    }
}

/// One audit event, built up and then written: the one builder every audited path uses.
#[derive(Debug, Clone)]
#[must_use = "an audit entry does nothing until it is written"]
pub struct Entry {
    record: AuditRecord,
    key: Option<EventKey>,
}

impl Entry {
    /// An event of `action` that ended with `outcome`, by nobody yet, about nothing yet.
    pub fn new(action: AuditAction, outcome: Outcome) -> Self {
        Self {
            record: AuditRecord::new(action, outcome.code()),
            key: None,
        }
    }

    /// The key the event is authenticated with, for an event raised outside any request (a
    /// request's context carries it: [`Entry::in_request`]).
    pub fn keyed(mut self, key: &EventKey) -> Self {
        self.key = Some(key.clone());
        self
    }

    /// The request it happened in: its id, the client's hashed address, the client's own id
    /// (and the key its events are authenticated with).
    pub fn in_request(mut self, context: &RequestContext) -> Self {
        if let Some(key) = &context.audit_events {
            self.key = Some(key.clone());
        }
        self.record.request_id = Some(context.request_id.clone()).filter(|r| !r.is_empty());
        self.record.client_hash.clone_from(&context.client_hash);
        self.record
            .client_request_id
            .clone_from(&context.client_request_id);
        self
    }

    /// Who acted: the user, their organisation and role (none for anonymous requests).
    pub fn by(mut self, actor: Option<&User>) -> Self {
        if let Some(user) = actor {
            self.record.actor_user_id = Some(user.id.to_string());
            self.record.actor_organisation_id = Some(user.organisation_id.to_string());
            self.record.actor_role = Some(user.role.code().to_owned());
        }
        self
    }

    /// Who acted, a person or a machine client (the client's organisation is the actor's
    /// organisation; a client has no role).
    pub fn by_actor(mut self, actor: Actor<'_>) -> Self {
        match actor {
            Actor::User(user) => self.by(Some(user)),
            Actor::Client(client) => {
                self.record.actor_client_id = Some(client.id.to_string());
                self.record.actor_organisation_id = Some(client.organisation_id.to_string());
                self
            }
        }
    }

    /// The organisation an event raised by the system concerns (no user acted).
    pub fn for_organisation(mut self, organisation: &impl ToString) -> Self {
        self.record.actor_organisation_id = Some(organisation.to_string());
        self
    }

    /// What it was done to: a resource type (`case`, `referral`, `user`...) and its id.
    pub fn on(mut self, kind: &str, id: &impl ToString) -> Self {
        self.record.resource_type = Some(kind.to_owned());
        self.record.resource_id = Some(id.to_string());
        self
    }

    /// The authorization decision that let it happen or refused it, when one was made.
    pub fn decided(mut self, decision: Option<&Decision>) -> Self {
        if let Some(decision) = decision {
            self.record.decision = Some(decision.code().to_owned());
            self.record.policy_ids = decision.policy_ids.join(",");
        }
        self
    }

    /// The field groups touched, as codes (and `referral_reason` for a referral's reason).
    pub fn groups(mut self, codes: &[&str]) -> Self {
        self.record.field_groups = codes.join(",");
        self
    }

    /// The stated purpose of access, or a system explanation (never a personal value).
    pub fn purpose(mut self, purpose: impl Into<String>) -> Self {
        self.record.purpose = Some(purpose.into());
        self
    }

    /// A high-severity event: watched, and alerted on (break-glass, a research export).
    pub fn high_severity(mut self, high: bool) -> Self {
        self.record.high_severity = high;
        self
    }

    /// Appends the event, with its MAC. An event without the key would read as forged to
    /// `tumaini audit verify`: a path that forgot it is a bug, loud in debug builds, logged in
    /// release builds (the action still happens and is still recorded).
    pub fn write(self, conn: &mut DbConn) -> Result<(), DbError> {
        debug_assert!(
            self.key.is_some(),
            "audit event {} written without the event key",
            self.record.action.code()
        );
        if self.key.is_none() {
            tracing::error!(
                action = self.record.action.code(),
                "audit event written without the event key: it will not verify"
            );
        }
        audit::record(conn, &self.record, self.key.as_ref())?;
        Ok(())
    }

    /// Appends several events, each as [`Entry::write`] would, in one statement: what a
    /// request that read many cases (a page of referrals) audits.
    pub fn write_all(entries: Vec<Entry>, conn: &mut DbConn) -> Result<(), DbError> {
        let events: Vec<_> = entries
            .into_iter()
            .map(|entry| {
                debug_assert!(
                    entry.key.is_some(),
                    "audit event {} written without the event key",
                    entry.record.action.code()
                );
                if entry.key.is_none() {
                    tracing::error!(
                        action = entry.record.action.code(),
                        "audit event written without the event key: it will not verify"
                    );
                }
                (entry.record, entry.key)
            })
            .collect();
        audit::record_all(conn, &events)
    }
}

/// Who acted: a signed-in person or a machine client.
#[derive(Debug, Clone, Copy)]
pub enum Actor<'a> {
    /// A person.
    User(&'a User),
    /// A machine client.
    Client(&'a ApiClient),
}

/// Who acted, owned (to move into a database closure).
#[derive(Debug, Clone)]
pub enum OwnedActor {
    /// A person.
    User(User),
    /// A machine client.
    Client(ApiClient),
}

impl OwnedActor {
    /// Borrowed, for an entry.
    pub fn as_actor(&self) -> Actor<'_> {
        match self {
            Self::User(user) => Actor::User(user),
            Self::Client(client) => Actor::Client(client),
        }
    }
}

/// Appends the event by a person or a machine client, with the authorization decision that
/// let it happen (or refused it).
pub fn record_decided_by(
    conn: &mut DbConn,
    context: &RequestContext,
    actor: Actor<'_>,
    event: Event<'_>,
    decision: &Decision,
) -> Result<(), DbError> {
    let entry = Entry::new(event.action, event.outcome)
        .in_request(context)
        .by_actor(actor)
        .decided(Some(decision));
    match event.resource {
        Some((kind, id)) => entry.on(kind, &id),
        None => entry,
    }
    .write(conn)
}

/// An audited action: what, on which resource, and how it ended.
#[derive(Debug, Clone)]
pub struct Event<'a> {
    /// The action.
    pub action: AuditAction,
    /// Outcome.
    pub outcome: Outcome,
    /// Resource type and id, when the action has one.
    pub resource: Option<(&'a str, String)>,
}

impl Event<'_> {
    fn entry(self, context: &RequestContext, actor: Option<&User>) -> Entry {
        let entry = Entry::new(self.action, self.outcome)
            .in_request(context)
            .by(actor);
        match self.resource {
            Some((kind, id)) => entry.on(kind, &id),
            None => entry,
        }
    }
}

/// Appends the event with the authorization decision that let it happen (or refused it).
pub fn record_decided(
    conn: &mut DbConn,
    context: &RequestContext,
    actor: Option<&User>,
    event: Event<'_>,
    decision: &Decision,
) -> Result<(), DbError> {
    event
        .entry(context, actor)
        .decided(Some(decision))
        .write(conn)
}

/// Like [`record_decided`], as a high-severity event: an action coordinators must notice
/// (a research export that lowers the disclosure control).
pub fn record_decided_high(
    conn: &mut DbConn,
    context: &RequestContext,
    actor: Option<&User>,
    event: Event<'_>,
    decision: &Decision,
) -> Result<(), DbError> {
    event
        .entry(context, actor)
        .decided(Some(decision))
        .high_severity(true)
        .write(conn)
}

/// Appends the success of a read the policies allowed (a list, say), in a transaction of its
/// own after the reading.
pub fn record_read(
    conn: &mut DbConn,
    caller: &crate::auth::Caller,
    action: AuditAction,
    resource: Option<(&str, String)>,
    decision: &Decision,
) -> Result<(), DbError> {
    conn.write_transaction(|conn| {
        record_decided(
            conn,
            &caller.context,
            Some(&caller.user),
            Event {
                action,
                outcome: Outcome::Success,
                resource,
            },
            decision,
        )
    })
}

/// Appends the event for `actor` (none for anonymous requests).
pub fn record(
    conn: &mut DbConn,
    context: &RequestContext,
    actor: Option<&User>,
    event: Event<'_>,
) -> Result<(), DbError> {
    event.entry(context, actor).write(conn)
}
