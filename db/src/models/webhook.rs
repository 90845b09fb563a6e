//! Signed webhooks: the endpoints an organisation registers, and the transactional outbox of
//! their deliveries. A delivery is written in the same transaction as the event that causes
//! it, so it is sent if and only if the event happened; a worker claims due deliveries under a
//! lease (several replicas never send one at once, a crashed worker's claim expires), and
//! reschedules failures with backoff. Payloads hold ids, references, types and times only.
//! The signing secret is stored wrapped under the vault's key-encryption key, never in clear.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

use crate::ids::{OrgId, UserId, WebhookDeliveryId, WebhookEventId, WebhookId};
use crate::schema::{webhook_deliveries, webhook_endpoints};
use crate::time::now_utc;
use crate::vocabulary::WebhookEventType;
use crate::{DbConn, DbError};

/// A registered endpoint.
#[derive(Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = webhook_endpoints)]
pub struct WebhookEndpoint {
    /// Identifier.
    pub id: WebhookId,
    /// The organisation whose events it receives.
    pub organisation_id: OrgId,
    /// Where deliveries are sent (`https://...`).
    pub url: String,
    /// The event type codes it subscribed to, comma-separated (see [`Self::event_types`]).
    pub event_types: String,
    /// The key-encryption key version that wrapped the secret.
    pub secret_kek_version: i32,
    /// The signing secret, wrapped (empty once the endpoint is deleted).
    pub secret_wrapped: Vec<u8>,
    /// Who registered it.
    pub created_by: UserId,
    /// When.
    pub created_at: NaiveDateTime,
    /// The first failed attempt since the last delivery, if the endpoint is failing.
    pub failing_since: Option<NaiveDateTime>,
    /// When it was switched off for failing too long.
    pub disabled_at: Option<NaiveDateTime>,
    /// When it was deleted.
    pub deleted_at: Option<NaiveDateTime>,
}

impl std::fmt::Debug for WebhookEndpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL may carry an integration's own token; the wrapped secret is not for logs.
        f.debug_struct("WebhookEndpoint")
            .field("id", &self.id)
            .field("organisation_id", &self.organisation_id)
            .field("event_types", &self.event_types)
            .field("disabled_at", &self.disabled_at)
            .field("deleted_at", &self.deleted_at)
            .finish_non_exhaustive()
    }
}

/// A new endpoint.
#[derive(Debug)]
pub struct NewEndpoint<'a> {
    /// Identifier (chosen first: the secret's wrap is bound to it).
    pub id: &'a WebhookId,
    /// The organisation.
    pub organisation_id: &'a OrgId,
    /// The destination URL, already checked.
    pub url: &'a str,
    /// The event types.
    pub event_types: &'a [WebhookEventType],
    /// The key-encryption key version of the wrap.
    pub secret_kek_version: i32,
    /// The wrapped secret.
    pub secret_wrapped: &'a [u8],
    /// Who registers it.
    pub created_by: &'a UserId,
}

impl WebhookEndpoint {
    /// The event types it subscribed to (unknown codes are skipped).
    pub fn event_types(&self) -> Vec<WebhookEventType> {
        self.event_types
            .split(',')
            .filter_map(|code| code.parse().ok())
            .collect()
    }

    /// Whether deliveries are sent to it.
    pub fn is_active(&self) -> bool {
        self.disabled_at.is_none() && self.deleted_at.is_none()
    }

    /// Stores a new endpoint.
    pub fn insert(conn: &mut DbConn, new: &NewEndpoint<'_>) -> Result<Self, DbError> {
        let codes: Vec<&str> = new.event_types.iter().map(|t| t.code()).collect();
        diesel::insert_into(webhook_endpoints::table)
            .values((
                webhook_endpoints::id.eq(new.id),
                webhook_endpoints::organisation_id.eq(new.organisation_id),
                webhook_endpoints::url.eq(new.url),
                webhook_endpoints::event_types.eq(codes.join(",")),
                webhook_endpoints::secret_kek_version.eq(new.secret_kek_version),
                webhook_endpoints::secret_wrapped.eq(new.secret_wrapped),
                webhook_endpoints::created_by.eq(new.created_by),
                webhook_endpoints::created_at.eq(now_utc()),
            ))
            .execute(conn)?;
        Self::find(conn, new.id)
    }

    /// One endpoint (deleted ones too: the caller decides).
    pub fn find(conn: &mut DbConn, id: &WebhookId) -> Result<Self, DbError> {
        Ok(webhook_endpoints::table
            .find(id)
            .select(Self::as_select())
            .first(conn)?)
    }

    /// Endpoints by id (for the delivery worker).
    pub fn find_many(conn: &mut DbConn, ids: &[WebhookId]) -> Result<Vec<Self>, DbError> {
        Ok(webhook_endpoints::table
            .filter(webhook_endpoints::id.eq_any(ids.to_vec()))
            .select(Self::as_select())
            .load(conn)?)
    }

    /// The endpoints not deleted: every organisation's, or one organisation's; oldest first.
    pub fn list(conn: &mut DbConn, organisation: Option<&OrgId>) -> Result<Vec<Self>, DbError> {
        let mut query = webhook_endpoints::table
            .filter(webhook_endpoints::deleted_at.is_null())
            .select(Self::as_select())
            .into_boxed();
        if let Some(organisation) = organisation {
            query = query.filter(webhook_endpoints::organisation_id.eq(organisation.clone()));
        }
        Ok(query
            .order((webhook_endpoints::created_at, webhook_endpoints::id))
            .load(conn)?)
    }

    /// The active endpoints of `organisation` that subscribed to `event_type`.
    pub fn subscribed(
        conn: &mut DbConn,
        organisation: &OrgId,
        event_type: WebhookEventType,
    ) -> Result<Vec<Self>, DbError> {
        // A switched-off organisation's endpoints are told nothing: as for its people and its
        // machine clients, switching it off stops everything at once.
        let active: bool = crate::schema::organisations::table
            .find(organisation)
            .select(crate::schema::organisations::active)
            .first(conn)
            .optional()?
            .unwrap_or(false);
        if !active {
            return Ok(Vec::new());
        }
        Ok(Self::list(conn, Some(organisation))?
            .into_iter()
            .filter(|e| e.is_active() && e.event_types().contains(&event_type))
            .collect())
    }

    /// Deletes an endpoint: its wrapped secret is destroyed and its undelivered deliveries
    /// dropped (the row stays, for the audit trail's references). Whether this call deleted it.
    pub fn delete(conn: &mut DbConn, id: &WebhookId) -> Result<bool, DbError> {
        let changed = diesel::update(
            webhook_endpoints::table
                .find(id)
                .filter(webhook_endpoints::deleted_at.is_null()),
        )
        .set((
            webhook_endpoints::deleted_at.eq(now_utc()),
            webhook_endpoints::secret_wrapped.eq(Vec::<u8>::new()),
        ))
        .execute(conn)?;
        diesel::delete(
            webhook_deliveries::table
                .filter(webhook_deliveries::endpoint_id.eq(id))
                .filter(webhook_deliveries::delivered_at.is_null()),
        )
        .execute(conn)?;
        Ok(changed == 1)
    }

    /// Replaces the wrapped secret of an endpoint not deleted. Whether it was replaced.
    pub fn replace_secret(
        conn: &mut DbConn,
        id: &WebhookId,
        kek_version: i32,
        wrapped: &[u8],
    ) -> Result<bool, DbError> {
        Ok(diesel::update(
            webhook_endpoints::table
                .find(id)
                .filter(webhook_endpoints::deleted_at.is_null()),
        )
        .set((
            webhook_endpoints::secret_kek_version.eq(kek_version),
            webhook_endpoints::secret_wrapped.eq(wrapped),
        ))
        .execute(conn)?
            == 1)
    }

    /// Switches a disabled endpoint back on; its waiting deliveries are sent again from now.
    /// Whether this call switched it on.
    pub fn enable(conn: &mut DbConn, id: &WebhookId) -> Result<bool, DbError> {
        let changed = diesel::update(
            webhook_endpoints::table
                .find(id)
                .filter(webhook_endpoints::disabled_at.is_not_null())
                .filter(webhook_endpoints::deleted_at.is_null()),
        )
        .set((
            webhook_endpoints::disabled_at.eq(None::<NaiveDateTime>),
            webhook_endpoints::failing_since.eq(None::<NaiveDateTime>),
        ))
        .execute(conn)?;
        diesel::update(
            webhook_deliveries::table
                .filter(webhook_deliveries::endpoint_id.eq(id))
                .filter(webhook_deliveries::delivered_at.is_null()),
        )
        .set(webhook_deliveries::next_attempt_at.eq(now_utc()))
        .execute(conn)?;
        Ok(changed == 1)
    }

    /// Records a delivery: the endpoint is no longer failing.
    pub fn mark_healthy(conn: &mut DbConn, id: &WebhookId) -> Result<(), DbError> {
        diesel::update(webhook_endpoints::table.find(id))
            .set(webhook_endpoints::failing_since.eq(None::<NaiveDateTime>))
            .execute(conn)?;
        Ok(())
    }

    /// Records a failed attempt at `now`: the endpoint fails since now unless it already
    /// failed before. Returns since when it has been failing.
    pub fn mark_failing(
        conn: &mut DbConn,
        id: &WebhookId,
        now: NaiveDateTime,
    ) -> Result<NaiveDateTime, DbError> {
        diesel::update(
            webhook_endpoints::table
                .find(id)
                .filter(webhook_endpoints::failing_since.is_null()),
        )
        .set(webhook_endpoints::failing_since.eq(now))
        .execute(conn)?;
        Ok(webhook_endpoints::table
            .find(id)
            .select(webhook_endpoints::failing_since)
            .first::<Option<NaiveDateTime>>(conn)?
            .unwrap_or(now))
    }

    /// Switches an active endpoint off (a conditional update: only one replica does it).
    /// Whether this call switched it off.
    pub fn disable(conn: &mut DbConn, id: &WebhookId, now: NaiveDateTime) -> Result<bool, DbError> {
        Ok(diesel::update(
            webhook_endpoints::table
                .find(id)
                .filter(webhook_endpoints::disabled_at.is_null())
                .filter(webhook_endpoints::deleted_at.is_null()),
        )
        .set(webhook_endpoints::disabled_at.eq(now))
        .execute(conn)?
            == 1)
    }

    /// The key-encryption key versions that wrap live secrets (a key set must keep them).
    pub fn kek_versions_in_use(conn: &mut DbConn) -> Result<Vec<i32>, DbError> {
        Ok(webhook_endpoints::table
            .filter(webhook_endpoints::deleted_at.is_null())
            .select(webhook_endpoints::secret_kek_version)
            .distinct()
            .load(conn)?)
    }
}

/// A delivery due to be sent.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = webhook_deliveries)]
pub struct WebhookDelivery {
    /// Identifier.
    pub id: WebhookDeliveryId,
    /// The endpoint.
    pub endpoint_id: WebhookId,
    /// The event: the `webhook-id` of every attempt.
    pub event_id: WebhookEventId,
    /// The event's type code.
    pub event_type: String,
    /// The JSON body (ids, references, types and times only).
    pub payload: String,
    /// Attempts so far.
    pub attempts: i32,
}

/// Queues the delivery of one event to one endpoint (call inside the transaction of the event
/// that causes it). The same event is queued once per endpoint.
pub fn enqueue(
    conn: &mut DbConn,
    endpoint: &WebhookId,
    event_id: &WebhookEventId,
    event_type: WebhookEventType,
    payload: &str,
) -> Result<WebhookDeliveryId, DbError> {
    let id = WebhookDeliveryId::generate();
    let now = now_utc();
    diesel::insert_into(webhook_deliveries::table)
        .values((
            webhook_deliveries::id.eq(&id),
            webhook_deliveries::endpoint_id.eq(endpoint),
            webhook_deliveries::event_id.eq(event_id),
            webhook_deliveries::event_type.eq(event_type.code()),
            webhook_deliveries::payload.eq(payload),
            webhook_deliveries::created_at.eq(now),
            webhook_deliveries::attempts.eq(0),
            webhook_deliveries::next_attempt_at.eq(now),
        ))
        .execute(conn)?;
    Ok(id)
}

/// Claims up to `limit` due deliveries to active endpoints for `lease`. On PostgreSQL rows
/// locked by another replica's claim are skipped (`FOR UPDATE SKIP LOCKED`); SQLite has one
/// writer at a time.
pub fn claim_due(
    conn: &mut DbConn,
    limit: i64,
    lease: Duration,
) -> Result<Vec<WebhookDelivery>, DbError> {
    let now = now_utc();
    let until = now + lease;
    // A macro, not a value: the selection's backend differs between the two arms.
    macro_rules! due {
        () => {
            webhook_deliveries::table
                .filter(webhook_deliveries::delivered_at.is_null())
                .filter(webhook_deliveries::next_attempt_at.le(now))
                .filter(
                    webhook_deliveries::claimed_until
                        .is_null()
                        .or(webhook_deliveries::claimed_until.lt(now)),
                )
                .filter(
                    webhook_deliveries::endpoint_id.eq_any(
                        webhook_endpoints::table
                            .filter(webhook_endpoints::disabled_at.is_null())
                            .filter(webhook_endpoints::deleted_at.is_null())
                            .filter(
                                webhook_endpoints::organisation_id.eq_any(
                                    crate::schema::organisations::table
                                        .filter(crate::schema::organisations::active.eq(true))
                                        .select(crate::schema::organisations::id),
                                ),
                            )
                            .select(webhook_endpoints::id),
                    ),
                )
                .order(webhook_deliveries::next_attempt_at)
                .limit(limit)
                .select(WebhookDelivery::as_select())
        };
    }
    macro_rules! claim {
        ($due:expr) => {
            diesel::update(
                webhook_deliveries::table
                    .filter(webhook_deliveries::id.eq_any($due.iter().map(|d| d.id.clone()))),
            )
            .set(webhook_deliveries::claimed_until.eq(until))
        };
    }
    match conn {
        DbConn::Postgresql(pg) => pg.transaction(|pg| {
            let due: Vec<WebhookDelivery> = due!().for_update().skip_locked().load(pg)?;
            claim!(due).execute(pg)?;
            Ok(due)
        }),
        DbConn::Sqlite(_) => conn.write_transaction(|conn| {
            let due: Vec<WebhookDelivery> = due!().load(conn)?;
            claim!(due).execute(conn)?;
            Ok(due)
        }),
    }
}

/// Records a delivery (the endpoint answered `status`, a 2xx).
pub fn mark_delivered(
    conn: &mut DbConn,
    id: &WebhookDeliveryId,
    attempts: i32,
    status: i32,
) -> Result<(), DbError> {
    diesel::update(webhook_deliveries::table.find(id))
        .set((
            webhook_deliveries::delivered_at.eq(now_utc()),
            webhook_deliveries::attempts.eq(attempts),
            webhook_deliveries::claimed_until.eq(None::<NaiveDateTime>),
            webhook_deliveries::last_status.eq(Some(status)),
            webhook_deliveries::last_error.eq(None::<String>),
        ))
        .execute(conn)?;
    Ok(())
}

/// Records a failed attempt and when to try again. `error` is a short reason naming no URL
/// and quoting nothing the endpoint answered.
pub fn mark_failed(
    conn: &mut DbConn,
    id: &WebhookDeliveryId,
    attempts: i32,
    retry_at: NaiveDateTime,
    status: Option<i32>,
    error: &str,
) -> Result<(), DbError> {
    diesel::update(webhook_deliveries::table.find(id))
        .set((
            webhook_deliveries::attempts.eq(attempts),
            webhook_deliveries::next_attempt_at.eq(retry_at),
            webhook_deliveries::claimed_until.eq(None::<NaiveDateTime>),
            webhook_deliveries::last_status.eq(status),
            webhook_deliveries::last_error.eq(error.chars().take(200).collect::<String>()),
        ))
        .execute(conn)?;
    Ok(())
}

/// How many deliveries are not yet delivered (to endpoints still active).
pub fn pending_count(conn: &mut DbConn) -> Result<i64, DbError> {
    Ok(webhook_deliveries::table
        .filter(webhook_deliveries::delivered_at.is_null())
        .count()
        .get_result(conn)?)
}
