//! Sessions and their refresh tokens.
//!
//! A session is one sign-in. Its access tokens are short-lived JWTs naming it (`sid`); every
//! request checks the session is still live, so revoking it cuts access at once. Its refresh
//! tokens are opaque, stored as hashes and used once: each use issues the next, and presenting
//! a used one again (a stolen token replayed) revokes the whole session.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::ids::{SessionId, UserId};
use crate::models::{Organisation, User};
use crate::schema::{organisations, refresh_tokens, sessions, users};
use crate::time::now_utc;
use crate::vocabulary::UserStatus;
use crate::{DbConn, DbError};

/// A session as stored.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Identifiable)]
#[diesel(table_name = sessions)]
pub struct Session {
    /// Identifier (`sid`).
    pub id: SessionId,
    /// Whose session.
    pub user_id: UserId,
    /// When it began.
    pub created_at: NaiveDateTime,
    /// When a token was last refreshed.
    pub last_used_at: NaiveDateTime,
    /// Absolute end; no refresh goes past it.
    pub expires_at: NaiveDateTime,
    /// Whether the sign-in passed a second factor.
    pub mfa_verified: bool,
    /// A short description of the client (its user agent, cut short).
    pub client_label: String,
    /// When it was ended, if it was.
    pub revoked_at: Option<NaiveDateTime>,
    /// Why it was ended.
    pub revoked_reason: Option<String>,
}

/// The outcome of presenting a refresh token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefreshOutcome {
    /// Valid and unused: it is now used, and the caller issues the next one.
    Fresh(Session),
    /// Already used once: the session (named, with its holder) is revoked.
    Reused {
        /// The session ended.
        session: SessionId,
        /// Whose it was (none if the session row is gone).
        user: Option<UserId>,
        /// This reuse revoked it (it was live until now); a later one finds it revoked already.
        revoked_now: bool,
    },
    /// Unknown, expired, or its session is over.
    Invalid,
}

impl Session {
    /// Whose session this is, live or not (none if there is no such session).
    fn holder(conn: &mut DbConn, id: &SessionId) -> Result<Option<UserId>, DbError> {
        Ok(sessions::table
            .find(id)
            .select(sessions::user_id)
            .first(conn)
            .optional()?)
    }

    /// Opens a session for a user.
    pub fn open(
        conn: &mut DbConn,
        user_id: &UserId,
        mfa_verified: bool,
        client_label: &str,
        expires_at: NaiveDateTime,
    ) -> Result<Session, DbError> {
        let now = now_utc();
        let session = Session {
            id: SessionId::generate(),
            user_id: user_id.clone(),
            created_at: now,
            last_used_at: now,
            expires_at,
            mfa_verified,
            client_label: client_label.chars().take(120).collect(),
            revoked_at: None,
            revoked_reason: None,
        };
        diesel::insert_into(sessions::table)
            .values((
                sessions::id.eq(&session.id),
                sessions::user_id.eq(&session.user_id),
                sessions::created_at.eq(session.created_at),
                sessions::last_used_at.eq(session.last_used_at),
                sessions::expires_at.eq(session.expires_at),
                sessions::mfa_verified.eq(session.mfa_verified),
                sessions::client_label.eq(&session.client_label),
            ))
            .execute(conn)?;
        Ok(session)
    }

    /// The session and its user, if the session is live (not revoked, not expired), the user
    /// not disabled (an invited user signed in with a one-time password may act, to change
    /// it) and the user's organisation active. One query: it runs on every authenticated
    /// request, so a revocation takes effect on the next one.
    pub fn find_live(
        conn: &mut DbConn,
        id: &SessionId,
        now: NaiveDateTime,
    ) -> Result<Option<(Session, User, Organisation)>, DbError> {
        Ok(sessions::table
            .inner_join(users::table.inner_join(organisations::table))
            .filter(sessions::id.eq(id))
            .filter(organisations::active.eq(true))
            .filter(sessions::revoked_at.is_null())
            .filter(sessions::expires_at.gt(now))
            .filter(users::status.eq_any([UserStatus::Active, UserStatus::Invited]))
            .select((
                Session::as_select(),
                User::as_select(),
                Organisation::as_select(),
            ))
            .first(conn)
            .optional()?)
    }

    /// A user's sessions that are still live, newest first.
    pub fn list_live(conn: &mut DbConn, user_id: &UserId) -> Result<Vec<Session>, DbError> {
        Ok(sessions::table
            .filter(sessions::user_id.eq(user_id))
            .filter(sessions::revoked_at.is_null())
            .filter(sessions::expires_at.gt(now_utc()))
            .order(sessions::created_at.desc())
            .select(Session::as_select())
            .load(conn)?)
    }

    /// Ends one session of a user. Returns false when there was no such live session.
    pub fn revoke(
        conn: &mut DbConn,
        user_id: &UserId,
        id: &SessionId,
        reason: &str,
    ) -> Result<bool, DbError> {
        let ended = diesel::update(
            sessions::table
                .filter(sessions::id.eq(id))
                .filter(sessions::user_id.eq(user_id))
                .filter(sessions::revoked_at.is_null()),
        )
        .set((
            sessions::revoked_at.eq(now_utc()),
            sessions::revoked_reason.eq(reason),
        ))
        .execute(conn)?;
        Ok(ended == 1)
    }

    /// Ends every session of a user (password change, role change, disabling), except
    /// `keep` when given. Returns how many were ended.
    pub fn revoke_all(
        conn: &mut DbConn,
        user_id: &UserId,
        reason: &str,
        keep: Option<&SessionId>,
    ) -> Result<usize, DbError> {
        let mut target = sessions::table
            .filter(sessions::user_id.eq(user_id))
            .filter(sessions::revoked_at.is_null())
            .into_boxed();
        if let Some(keep) = keep {
            target = target.filter(sessions::id.ne(keep));
        }
        let ids: Vec<SessionId> = target.select(sessions::id).load(conn)?;
        if ids.is_empty() {
            return Ok(0);
        }
        Ok(
            diesel::update(sessions::table.filter(sessions::id.eq_any(&ids)))
                .set((
                    sessions::revoked_at.eq(now_utc()),
                    sessions::revoked_reason.eq(reason),
                ))
                .execute(conn)?,
        )
    }

    /// Counts a wrong current password given on this session (a password change) and returns
    /// how many it has given: a stolen session must not become a way to guess the password.
    pub fn record_password_failure(conn: &mut DbConn, id: &SessionId) -> Result<i32, DbError> {
        conn.write_transaction(|conn| {
            diesel::update(sessions::table.find(id))
                .set(sessions::password_failures.eq(sessions::password_failures + 1))
                .execute(conn)?;
            Ok(sessions::table
                .find(id)
                .select(sessions::password_failures)
                .first(conn)?)
        })
    }

    /// How many wrong current passwords a live session has given, read (on PostgreSQL, locked
    /// until the transaction ends) to decide a password change; `None` when the session is over.
    pub fn password_attempts_for_update(
        conn: &mut DbConn,
        id: &SessionId,
        now: NaiveDateTime,
    ) -> Result<Option<i32>, DbError> {
        let live = sessions::table
            .find(id)
            .filter(sessions::revoked_at.is_null())
            .filter(sessions::expires_at.gt(now))
            .select(sessions::password_failures);
        Ok(match conn {
            DbConn::Postgresql(pg) => live.for_update().first(pg).optional()?,
            DbConn::Sqlite(_) => live.first(conn).optional()?,
        })
    }

    /// Marks the session as having passed a second factor (after TOTP enrolment).
    pub fn mark_mfa_verified(conn: &mut DbConn, id: &SessionId) -> Result<(), DbError> {
        diesel::update(sessions::table.find(id))
            .set(sessions::mfa_verified.eq(true))
            .execute(conn)?;
        Ok(())
    }

    /// Stores a refresh token's hash for this session.
    pub fn add_refresh_token(
        conn: &mut DbConn,
        id: &SessionId,
        token_hash: &str,
        expires_at: NaiveDateTime,
    ) -> Result<(), DbError> {
        diesel::insert_into(refresh_tokens::table)
            .values((
                refresh_tokens::token_hash.eq(token_hash),
                refresh_tokens::session_id.eq(id),
                refresh_tokens::issued_at.eq(now_utc()),
                refresh_tokens::expires_at.eq(expires_at),
            ))
            .execute(conn)?;
        Ok(())
    }

    /// Spends a refresh token. A second use of the same token revokes its session (the token
    /// family): whoever holds the newer token has to sign in again, and so has the thief.
    pub fn use_refresh_token(
        conn: &mut DbConn,
        token_hash: &str,
    ) -> Result<RefreshOutcome, DbError> {
        let now = now_utc();
        conn.write_transaction(|conn| {
            let found: Option<(Option<NaiveDateTime>, NaiveDateTime, SessionId)> =
                refresh_tokens::table
                    .find(token_hash)
                    .select((
                        refresh_tokens::used_at,
                        refresh_tokens::expires_at,
                        refresh_tokens::session_id,
                    ))
                    .first(conn)
                    .optional()?;
            let Some((used_at, expires_at, session_id)) = found else {
                return Ok(RefreshOutcome::Invalid);
            };
            if used_at.is_some() {
                let revoked = diesel::update(
                    sessions::table
                        .filter(sessions::id.eq(&session_id))
                        .filter(sessions::revoked_at.is_null()),
                )
                .set((
                    sessions::revoked_at.eq(now),
                    sessions::revoked_reason.eq("refresh_token_reused"),
                ))
                .execute(conn)?;
                return Ok(RefreshOutcome::Reused {
                    user: Self::holder(conn, &session_id)?,
                    revoked_now: revoked == 1,
                    session: session_id,
                });
            }
            if expires_at <= now {
                return Ok(RefreshOutcome::Invalid);
            }
            let spent = diesel::update(
                refresh_tokens::table
                    .find(token_hash)
                    .filter(refresh_tokens::used_at.is_null()),
            )
            .set(refresh_tokens::used_at.eq(now))
            .execute(conn)?;
            if spent != 1 {
                // Another request spent it between our read and our update: a reuse, too.
                let revoked = diesel::update(
                    sessions::table
                        .filter(sessions::id.eq(&session_id))
                        .filter(sessions::revoked_at.is_null()),
                )
                .set((
                    sessions::revoked_at.eq(now),
                    sessions::revoked_reason.eq("refresh_token_reused"),
                ))
                .execute(conn)?;
                return Ok(RefreshOutcome::Reused {
                    user: Self::holder(conn, &session_id)?,
                    revoked_now: revoked == 1,
                    session: session_id,
                });
            }
            let Some((session, _, _)) = Session::find_live(conn, &session_id, now)? else {
                return Ok(RefreshOutcome::Invalid);
            };
            diesel::update(sessions::table.find(&session.id))
                .set(sessions::last_used_at.eq(now))
                .execute(conn)?;
            Ok(RefreshOutcome::Fresh(session))
        })
    }
}
