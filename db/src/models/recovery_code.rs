//! MFA recovery codes: issued at enrolment, stored as hashes, each good once.

use diesel::prelude::*;

use crate::ids::UserId;
use crate::schema::recovery_codes;
use crate::time::now_utc;
use crate::{DbConn, DbError};

/// Replaces a user's recovery codes with these hashes.
pub fn replace(conn: &mut DbConn, user_id: &UserId, code_hashes: &[String]) -> Result<(), DbError> {
    diesel::delete(recovery_codes::table.filter(recovery_codes::user_id.eq(user_id)))
        .execute(conn)?;
    let now = now_utc();
    for hash in code_hashes {
        diesel::insert_into(recovery_codes::table)
            .values((
                recovery_codes::code_hash.eq(hash),
                recovery_codes::user_id.eq(user_id),
                recovery_codes::created_at.eq(now),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// Spends a recovery code of this user. True when it existed and was unused.
pub fn consume(conn: &mut DbConn, user_id: &UserId, code_hash: &str) -> Result<bool, DbError> {
    let spent = diesel::update(
        recovery_codes::table
            .find(code_hash)
            .filter(recovery_codes::user_id.eq(user_id))
            .filter(recovery_codes::used_at.is_null()),
    )
    .set(recovery_codes::used_at.eq(now_utc()))
    .execute(conn)?;
    Ok(spent == 1)
}
