//! Single-use, expiring tokens sent by e-mail: invitations and password resets. Only their
//! SHA-256 hashes are stored; the token itself exists in the e-mail and nowhere else.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::ids::UserId;
use crate::schema::account_tokens;
use crate::time::now_utc;
use crate::{DbConn, DbError};

/// What an e-mailed token lets its holder do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenPurpose {
    /// Accept an invitation: set the first password.
    Invitation,
    /// Reset a forgotten password.
    PasswordReset,
}

impl TokenPurpose {
    const fn code(self) -> &'static str {
        match self {
            Self::Invitation => "invitation",
            Self::PasswordReset => "password_reset",
        }
    }
}

/// Stores a token's hash.
pub fn issue(
    conn: &mut DbConn,
    user_id: &UserId,
    purpose: TokenPurpose,
    token_hash: &str,
    expires_at: NaiveDateTime,
) -> Result<(), DbError> {
    diesel::insert_into(account_tokens::table)
        .values((
            account_tokens::token_hash.eq(token_hash),
            account_tokens::user_id.eq(user_id),
            account_tokens::purpose.eq(purpose.code()),
            account_tokens::created_at.eq(now_utc()),
            account_tokens::expires_at.eq(expires_at),
        ))
        .execute(conn)?;
    Ok(())
}

/// Spends a token: returns its user when it exists, has this purpose, is unexpired and
/// unused; it can never be spent again. Atomic against a concurrent second use.
pub fn consume(
    conn: &mut DbConn,
    purpose: TokenPurpose,
    token_hash: &str,
) -> Result<Option<UserId>, DbError> {
    let now = now_utc();
    conn.write_transaction(|conn| {
        let user: Option<UserId> = account_tokens::table
            .find(token_hash)
            .filter(account_tokens::purpose.eq(purpose.code()))
            .filter(account_tokens::used_at.is_null())
            .filter(account_tokens::expires_at.gt(now))
            .select(account_tokens::user_id)
            .first(conn)
            .optional()?;
        let Some(user) = user else { return Ok(None) };
        let spent = diesel::update(
            account_tokens::table
                .find(token_hash)
                .filter(account_tokens::used_at.is_null()),
        )
        .set(account_tokens::used_at.eq(now))
        .execute(conn)?;
        Ok((spent == 1).then_some(user))
    })
}

/// Voids a user's unused tokens of one purpose (a new reset link replaces the old).
pub fn void_unused(
    conn: &mut DbConn,
    user_id: &UserId,
    purpose: TokenPurpose,
) -> Result<(), DbError> {
    diesel::update(
        account_tokens::table
            .filter(account_tokens::user_id.eq(user_id))
            .filter(account_tokens::purpose.eq(purpose.code()))
            .filter(account_tokens::used_at.is_null()),
    )
    .set(account_tokens::used_at.eq(now_utc()))
    .execute(conn)?;
    Ok(())
}
