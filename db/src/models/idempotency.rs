//! First answers to POSTs that carried an `Idempotency-Key`. The answer is stored in the same
//! transaction as the action, so a retry (from a border post on a poor connection, or after a
//! server restart) finds either nothing (the action never happened) or the first answer.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::ids::UserId;
use crate::schema::idempotency_keys;
use crate::time::now_utc;
use crate::{DbConn, DbError};

/// A stored first answer.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = idempotency_keys)]
pub struct StoredResponse {
    /// SHA-256 of the method, path and body of the first request.
    pub request_hash: Vec<u8>,
    /// Its status code.
    pub status_code: i32,
    /// Its `Location` header.
    pub location: Option<String>,
    /// Its `ETag` header.
    pub etag: Option<String>,
    /// Its JSON body (never personal data).
    pub body: String,
}

/// The first answer stored under this user's key.
pub fn find(
    conn: &mut DbConn,
    user: &UserId,
    key: &str,
) -> Result<Option<StoredResponse>, DbError> {
    Ok(idempotency_keys::table
        .find((user, key))
        .select(StoredResponse::as_select())
        .first(conn)
        .optional()?)
}

/// Stores the first answer (inside the action's transaction). A concurrent request with the
/// same key meets the primary key: `DbError::Conflict`, and its transaction rolls back.
pub fn store(
    conn: &mut DbConn,
    user: &UserId,
    key: &str,
    response: &StoredResponse,
) -> Result<(), DbError> {
    diesel::insert_into(idempotency_keys::table)
        .values((
            idempotency_keys::user_id.eq(user),
            idempotency_keys::idempotency_key.eq(key),
            idempotency_keys::request_hash.eq(&response.request_hash),
            idempotency_keys::status_code.eq(response.status_code),
            idempotency_keys::location.eq(&response.location),
            idempotency_keys::etag.eq(&response.etag),
            idempotency_keys::body.eq(&response.body),
            idempotency_keys::created_at.eq(now_utc()),
        ))
        .execute(conn)?;
    Ok(())
}

/// Forgets answers stored before `before`; returns how many.
pub fn prune(conn: &mut DbConn, before: NaiveDateTime) -> Result<usize, DbError> {
    Ok(
        diesel::delete(idempotency_keys::table.filter(idempotency_keys::created_at.lt(before)))
            .execute(conn)?,
    )
}
