//! The transactional mail outbox. A message is written in the same transaction as the event
//! that causes it, so it is sent if and only if the event happened; a worker delivers it with
//! retries. Claims are leases, so several server replicas never send one message twice at
//! once, and a crashed worker's claim expires. Messages carry references and links, never
//! personal data of a victim.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

use crate::ids::MessageId;
use crate::models::EmailAddress;
use crate::schema::outbox;
use crate::time::now_utc;
use crate::{DbConn, DbError};

/// A message due for delivery.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = outbox)]
pub struct OutboxMessage {
    /// Identifier.
    pub id: MessageId,
    /// Recipient address.
    pub recipient: String,
    /// Subject line.
    pub subject: String,
    /// Plain-text body.
    pub body: String,
    /// Delivery attempts so far.
    pub attempts: i32,
}

/// Queues a message (call inside the transaction of the event that causes it).
pub fn enqueue(
    conn: &mut DbConn,
    recipient: &EmailAddress,
    subject: &str,
    body: &str,
) -> Result<MessageId, DbError> {
    let id = MessageId::generate();
    let now = now_utc();
    diesel::insert_into(outbox::table)
        .values((
            outbox::id.eq(&id),
            outbox::recipient.eq(recipient.as_str()),
            outbox::subject.eq(subject),
            outbox::body.eq(body),
            outbox::created_at.eq(now),
            outbox::attempts.eq(0),
            outbox::next_attempt_at.eq(now),
        ))
        .execute(conn)?;
    Ok(id)
}

/// Claims up to `limit` due messages for `lease`. On PostgreSQL rows locked by another
/// replica's claim are skipped (`FOR UPDATE SKIP LOCKED`); SQLite has one writer at a time.
pub fn claim_due(
    conn: &mut DbConn,
    limit: i64,
    lease: Duration,
) -> Result<Vec<OutboxMessage>, DbError> {
    let now = now_utc();
    let until = now + lease;
    // A macro, not a value: the selection's backend differs between the two arms.
    macro_rules! due {
        () => {
            outbox::table
                .filter(outbox::sent_at.is_null())
                .filter(outbox::next_attempt_at.le(now))
                .filter(
                    outbox::claimed_until
                        .is_null()
                        .or(outbox::claimed_until.lt(now)),
                )
                .order(outbox::next_attempt_at)
                .limit(limit)
                .select(OutboxMessage::as_select())
        };
    }
    macro_rules! claim {
        ($messages:expr) => {
            diesel::update(
                outbox::table.filter(outbox::id.eq_any($messages.iter().map(|m| m.id.clone()))),
            )
            .set(outbox::claimed_until.eq(until))
        };
    }
    match conn {
        DbConn::Postgresql(pg) => pg.transaction(|pg| {
            let messages: Vec<OutboxMessage> = due!().for_update().skip_locked().load(pg)?;
            claim!(messages).execute(pg)?;
            Ok(messages)
        }),
        DbConn::Sqlite(_) => conn.write_transaction(|conn| {
            let messages: Vec<OutboxMessage> = due!().load(conn)?;
            claim!(messages).execute(conn)?;
            Ok(messages)
        }),
    }
}

/// Records a delivery and forgets the body.
pub fn mark_sent(conn: &mut DbConn, id: &MessageId) -> Result<(), DbError> {
    diesel::update(outbox::table.find(id))
        .set((
            outbox::sent_at.eq(now_utc()),
            outbox::claimed_until.eq(None::<NaiveDateTime>),
            outbox::last_error.eq(None::<String>),
            // The body may hold a single-use link; once delivered, it is not kept.
            outbox::body.eq(""),
        ))
        .execute(conn)?;
    Ok(())
}

/// Records a failed attempt and when to try again. `error` is a short, non-personal reason.
pub fn mark_failed(
    conn: &mut DbConn,
    id: &MessageId,
    attempts: i32,
    retry_at: NaiveDateTime,
    error: &str,
) -> Result<(), DbError> {
    diesel::update(outbox::table.find(id))
        .set((
            outbox::attempts.eq(attempts),
            outbox::next_attempt_at.eq(retry_at),
            outbox::claimed_until.eq(None::<NaiveDateTime>),
            outbox::last_error.eq(error.chars().take(200).collect::<String>()),
        ))
        .execute(conn)?;
    Ok(())
}

/// How many messages are not yet delivered.
pub fn pending_count(conn: &mut DbConn) -> Result<i64, DbError> {
    Ok(outbox::table
        .filter(outbox::sent_at.is_null())
        .count()
        .get_result(conn)?)
}

/// When the oldest message not yet delivered was queued, if one waits (for readiness: a mail
/// relay down for long shows as an old message).
pub fn oldest_unsent_queued_at(conn: &mut DbConn) -> Result<Option<NaiveDateTime>, DbError> {
    Ok(outbox::table
        .filter(outbox::sent_at.is_null())
        .select(diesel::dsl::min(outbox::created_at))
        .get_result(conn)?)
}
