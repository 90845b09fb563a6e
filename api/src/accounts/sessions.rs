//! A signed-in user's sessions: refreshing a session's tokens (each refresh token works once;
//! presenting a used one again ends the whole session), signing out, the profile, listing one's
//! live sessions and ending one of them. Every change is audited in its own transaction.

use serde::{Deserialize, Serialize};
use tumaini_db::DbConn;
use tumaini_db::ids::{OrgId, SessionId, UserId};
use tumaini_db::models::{EmailAddress, RefreshOutcome, Session, User};
use tumaini_db::vocabulary::Role;
use utoipa::ToSchema;

use super::sign_in::{TokenResponse, issue_tokens};
use crate::audit::{self, AuditAction, Event, Outcome};
use crate::auth::{AuthService, Caller, RequestContext};
use crate::http::{ApiError, ProblemType, with_conn};
use crate::state::AppState;

/// A refresh request.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    /// The refresh token from the last sign-in or refresh.
    pub refresh_token: String,
}

impl std::fmt::Debug for RefreshRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RefreshRequest([redacted])")
    }
}

/// Exchanges a refresh token for a new token pair; 401 for an unknown, expired or reused one
/// (a reuse ends the whole session, and is audited).
pub async fn refresh(
    state: &AppState,
    context: RequestContext,
    request: RefreshRequest,
) -> Result<TokenResponse, ApiError> {
    let auth = state.auth.clone();
    let hash = auth.keys.hash_opaque_token(&request.refresh_token);
    let tokens = with_conn(&state.pool, move |conn| {
        conn.write_transaction(|conn| -> Result<Option<TokenResponse>, ApiError> {
            match Session::use_refresh_token(conn, &hash)? {
                RefreshOutcome::Fresh(session) => renew(conn, &auth, &context, &session).map(Some),
                RefreshOutcome::Reused {
                    session,
                    user,
                    revoked_now,
                } => {
                    // Someone else may hold the session's tokens: an event by the session's
                    // holder, which their supervisors and coordinators can see, high-severity
                    // when this reuse is what ended the session (a stale token presented again
                    // later adds an ordinary event). Naming the holder never undoes the
                    // revocation: an account that cannot be read is left unnamed.
                    let holder = user.and_then(|id| User::find(conn, &id).ok());
                    audit::Entry::new(AuditAction::AuthRefreshReuse, Outcome::Denied)
                        .in_request(&context)
                        .by(holder.as_ref())
                        .on("session", &session)
                        .high_severity(revoked_now)
                        .write(conn)?;
                    Ok(None)
                }
                RefreshOutcome::Invalid => Ok(None),
            }
        })
    })
    .await?;
    tokens.ok_or_else(|| ApiError::bare(ProblemType::Unauthenticated))
}

/// Issues a refreshed session's new tokens and audits the refresh.
fn renew(
    conn: &mut DbConn,
    auth: &AuthService,
    context: &RequestContext,
    session: &Session,
) -> Result<TokenResponse, ApiError> {
    let user = User::find(conn, &session.user_id)?;
    let tokens = issue_tokens(conn, auth, &user, session)?;
    audit::record(
        conn,
        context,
        Some(&user),
        Event {
            action: AuditAction::AuthRefresh,
            outcome: Outcome::Success,
            resource: Some(("session", session.id.to_string())),
        },
    )?;
    Ok(tokens)
}

/// Ends the caller's session: its access and refresh tokens stop working at once.
pub async fn sign_out(state: &AppState, caller: Caller) -> Result<(), ApiError> {
    let Caller {
        user,
        session,
        context,
        ..
    } = caller;
    with_conn(&state.pool, move |conn| {
        conn.write_transaction(|conn| {
            Session::revoke(conn, &user.id, &session.id, "logout")?;
            audit::record(
                conn,
                &context,
                Some(&user),
                Event {
                    action: AuditAction::AuthLogout,
                    outcome: Outcome::Success,
                    resource: Some(("session", session.id.to_string())),
                },
            )?;
            Ok::<_, ApiError>(())
        })
    })
    .await
}

/// The signed-in account.
#[derive(Debug, Serialize, ToSchema)]
pub struct Profile {
    /// Account id.
    pub id: UserId,
    /// Organisation id.
    pub organisation_id: OrgId,
    /// Role.
    pub role: Role,
    /// E-mail address.
    #[schema(value_type = String)]
    pub email: EmailAddress,
    /// Display name.
    pub display_name: String,
    /// Whether a second factor is enrolled.
    pub mfa_enabled: bool,
    /// Whether the password must be changed now.
    pub password_must_change: bool,
}

impl From<User> for Profile {
    fn from(user: User) -> Self {
        Self {
            id: user.id,
            organisation_id: user.organisation_id,
            role: user.role,
            email: user.email,
            display_name: user.display_name,
            mfa_enabled: user.mfa_enabled,
            password_must_change: user.password_must_change,
        }
    }
}

/// A live session of the signed-in user.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionView {
    /// Session id.
    pub id: SessionId,
    /// Started (UTC).
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// Last refreshed (UTC).
    pub last_used_at: chrono::DateTime<chrono::Utc>,
    /// Ends at the latest (UTC).
    pub expires_at: chrono::DateTime<chrono::Utc>,
    /// The client's user agent, shortened.
    pub client: String,
    /// Whether it is the session making this request.
    pub current: bool,
}

/// The caller's live sessions, the current one marked.
pub async fn list(state: &AppState, caller: Caller) -> Result<Vec<SessionView>, ApiError> {
    let current = caller.session.id.clone();
    let user = caller.user.id.clone();
    let sessions = with_conn(&state.pool, move |conn| {
        Ok(Session::list_live(conn, &user)?)
    })
    .await?;
    Ok(sessions
        .into_iter()
        .map(|s| SessionView {
            current: s.id == current,
            id: s.id,
            created_at: s.created_at.and_utc(),
            last_used_at: s.last_used_at.and_utc(),
            expires_at: s.expires_at.and_utc(),
            client: s.client_label,
        })
        .collect())
}

/// Ends every live session of the caller's account, this one included ("sign out everywhere",
/// on a computer left signed in somewhere): one event per session ended.
pub async fn sign_out_everywhere(state: &AppState, caller: Caller) -> Result<(), ApiError> {
    let Caller {
        user,
        session,
        context,
        ..
    } = caller;
    with_conn(&state.pool, move |conn| {
        conn.write_transaction(|conn| {
            for live in Session::list_live(conn, &user.id)? {
                let current = live.id == session.id;
                let reason = if current {
                    "logout"
                } else {
                    "signed_out_everywhere"
                };
                if Session::revoke(conn, &user.id, &live.id, reason)? {
                    audit::record(
                        conn,
                        &context,
                        Some(&user),
                        Event {
                            action: if current {
                                AuditAction::AuthLogout
                            } else {
                                AuditAction::AuthSessionRevoke
                            },
                            outcome: Outcome::Success,
                            resource: Some(("session", live.id.to_string())),
                        },
                    )?;
                }
            }
            Ok::<_, ApiError>(())
        })
    })
    .await
}

/// Ends one of the caller's live sessions (a lost phone, a shared computer); 404 when it is not
/// one of theirs, or not live.
pub async fn revoke(state: &AppState, caller: Caller, id: SessionId) -> Result<(), ApiError> {
    let Caller { user, context, .. } = caller;
    let ended = with_conn(&state.pool, move |conn| {
        conn.write_transaction(|conn| {
            let ended = Session::revoke(conn, &user.id, &id, "revoked_by_user")?;
            if ended {
                audit::record(
                    conn,
                    &context,
                    Some(&user),
                    Event {
                        action: AuditAction::AuthSessionRevoke,
                        outcome: Outcome::Success,
                        resource: Some(("session", id.to_string())),
                    },
                )?;
            }
            Ok::<_, ApiError>(ended)
        })
    })
    .await?;
    if ended {
        Ok(())
    } else {
        Err(ApiError::bare(ProblemType::NotFound))
    }
}
