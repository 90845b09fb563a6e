//! First answers to POSTs that carried an `Idempotency-Key`. The answer is stored in the same
//! transaction as the action, so a retry (from a border post on a poor connection, or after a
//! server restart) finds either nothing (the action never happened) or the first answer.
//!
//! An answer about a case may hold what the action decrypted (a referral's reason, say), so its
//! body is stored sealed under the data key of the case: crypto-shredding the case shreds its
//! stored answers too. An answer that concerns no case (an anonymous notification's id and
//! reference) holds ids only. The request is kept only as a keyed hash. Answers expire: the
//! server prunes those older than its configured lifetime.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::ids::{CaseId, UserId};
use crate::schema::idempotency_keys;
use crate::time::now_utc;
use crate::{DbConn, DbError};

/// A stored first answer.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = idempotency_keys)]
pub struct StoredResponse {
    /// A keyed hash (HMAC-SHA-256) of the method, path and body of the first request.
    pub request_hash: Vec<u8>,
    /// The case whose data key seals the body; none for an answer that concerns no case and
    /// holds ids only.
    pub case_id: Option<CaseId>,
    /// Its status code.
    pub status_code: i32,
    /// Its `Location` header (a path of ids).
    pub location: Option<String>,
    /// Its `ETag` header.
    pub etag: Option<String>,
    /// Its JSON body: sealed by the vault under the case's data key when there is a case.
    pub body: Vec<u8>,
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
            idempotency_keys::case_id.eq(&response.case_id),
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

/// How many answers are stored.
pub fn count(conn: &mut DbConn) -> Result<i64, DbError> {
    Ok(idempotency_keys::table.count().get_result(conn)?)
}
