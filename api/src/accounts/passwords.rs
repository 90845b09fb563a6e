//! Passwords: changing one's own (the current password checked, and guessing it through a
//! session throttled like sign-in), asking for a reset link by e-mail, and setting a password
//! with an e-mailed token (a reset, or the first password of an invitation). Whenever a password
//! is set, every session of the account ends.

use std::time::Duration;

use serde::Deserialize;
use tumaini_db::DbConn;
use tumaini_db::ids::{SessionId, UserId};
use tumaini_db::models::account_token::{self, TokenPurpose};
use tumaini_db::models::{EmailAddress, Session, User, outbox};
use tumaini_db::time::now_utc;
use tumaini_db::vocabulary::UserStatus;
use utoipa::ToSchema;
use zeroize::Zeroizing;

use super::failures::{count_failure, invalid_credentials};
use crate::audit::{self, AuditAction, Entry, Event, Outcome};
use crate::auth::password::{MIN_CHARS, PasswordRejected, Verified, check_new_password};
use crate::auth::{AuthService, Caller, RequestContext};
use crate::http::{ApiError, ProblemType, with_conn};
use crate::state::AppState;

/// How long an e-mailed password-reset link works.
const RESET_TOKEN_TTL: Duration = Duration::from_secs(3600);

/// A password change.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    /// The current password.
    pub current_password: String,
    /// The new password: at least 12 characters, not a common or breached one.
    pub new_password: String,
}

impl std::fmt::Debug for PasswordChange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PasswordChange([redacted])")
    }
}

/// The answer to a new password that breaks a rule.
fn weak(reason: impl std::fmt::Display) -> ApiError {
    ApiError::problem(ProblemType::InvalidBody, reason.to_string())
}

/// The answer while wrong current passwords hold the account back.
fn too_many_wrong_passwords() -> ApiError {
    ApiError::problem(
        ProblemType::TooManyRequests,
        "too many wrong passwords: wait before trying again",
    )
}

/// Sets a new password and ends every session of the account, `reason` recorded on each, with
/// the audit event `action`.
fn replace_password(
    conn: &mut DbConn,
    context: &RequestContext,
    user: &User,
    hash: &str,
    action: AuditAction,
    reason: &str,
) -> Result<(), ApiError> {
    User::set_password(conn, &user.id, hash, false)?;
    User::clear_failed_logins(conn, &user.id)?;
    Session::revoke_all(conn, &user.id, reason, None)?;
    audit::record(
        conn,
        context,
        Some(user),
        Event {
            action,
            outcome: Outcome::Success,
            resource: Some(("user", user.id.to_string())),
        },
    )?;
    Ok(())
}

/// Changes the caller's password; every session of the account ends, this one included.
///
/// A wrong current password counts against the account like a failed sign-in (the same window,
/// delay and lock), and against the session it was given on: while the account's delay or lock
/// is in force the attempt is refused unchecked (429), and at the lockout threshold of wrong or
/// refused attempts the session ends. A stolen session is not a way to guess the password.
pub async fn change(
    state: &AppState,
    caller: Caller,
    change: PasswordChange,
) -> Result<(), ApiError> {
    let Caller {
        user,
        session,
        context,
        ..
    } = caller;
    let PasswordChange {
        current_password,
        new_password,
    } = change;
    let (current_password, new_password) = (
        Zeroizing::new(current_password),
        Zeroizing::new(new_password),
    );
    check_new_password(&new_password, &[user.email.as_str(), &user.display_name]).map_err(weak)?;
    let checked = check_current(state, &user.id, current_password).await?;
    if !checked.matched {
        return refuse_wrong_current(state, user, session.id, context, checked.throttled).await;
    }
    let hash = state.auth.hasher.hash(new_password).await?;
    let changed = apply_change(state, user, session.id, context, checked.hash, hash).await?;
    if !changed {
        return Err(too_many_wrong_passwords());
    }
    Ok(())
}

/// What checking the current password found.
struct CurrentCheck {
    /// The account's delay or lock was in force: the password was not looked at.
    throttled: bool,
    /// It was looked at, and matched.
    matched: bool,
    /// The stored hash it was checked against.
    hash: Option<String>,
}

/// Checks the current password, unless the account's delay or lock is in force.
async fn check_current(
    state: &AppState,
    user: &UserId,
    password: Zeroizing<String>,
) -> Result<CurrentCheck, ApiError> {
    let user_id = user.clone();
    let credentials = with_conn(&state.pool, move |conn| {
        Ok(User::credentials(conn, &user_id)?)
    })
    .await?;
    let throttled = credentials.throttled(now_utc());
    let hash = credentials.password_hash.clone();
    let matched = !throttled
        && matches!(
            state
                .auth
                .hasher
                .verify(password, credentials.password_hash)
                .await?,
            Verified::Match { .. }
        );
    Ok(CurrentCheck {
        throttled,
        matched,
        hash,
    })
}

/// Refuses a wrong (or, while `throttled`, unchecked) current password: counted against the
/// account unless throttled, counted against the session (which ends at the lockout
/// threshold), and audited, in one transaction.
async fn refuse_wrong_current(
    state: &AppState,
    user: User,
    session: SessionId,
    context: RequestContext,
    throttled: bool,
) -> Result<(), ApiError> {
    let auth = state.auth.clone();
    with_conn(&state.pool, move |conn| {
        conn.write_transaction(|conn| {
            let outcome = if throttled {
                Outcome::Denied
            } else {
                count_failure(conn, &auth, &user.id, &context)?
            };
            let attempts = Session::record_password_failure(conn, &session)?;
            let ended = attempts >= auth.settings.lockout_threshold;
            if ended {
                Session::revoke(conn, &user.id, &session, "password_guessing")?;
            }
            Entry::new(AuditAction::AuthPasswordChange, outcome)
                .in_request(&context)
                .by(Some(&user))
                .on("session", &session)
                .high_severity(ended)
                .write(conn)?;
            Ok::<_, ApiError>(())
        })
    })
    .await?;
    Err(if throttled {
        too_many_wrong_passwords()
    } else {
        invalid_credentials()
    })
}

/// Sets the new password, unless the account or the session changed since the current password
/// was checked against `checked_hash`; `false` then.
async fn apply_change(
    state: &AppState,
    user: User,
    session: SessionId,
    context: RequestContext,
    checked_hash: Option<String>,
    hash: String,
) -> Result<bool, ApiError> {
    let threshold = state.auth.settings.lockout_threshold;
    with_conn(&state.pool, move |conn| {
        conn.write_transaction(|conn| {
            // Many guesses sent at once are each checked before any is counted: the one that
            // guessed right changes nothing if, by the time it is done, the others have
            // throttled the account or used up the session's attempts (or the password or the
            // session changed meanwhile).
            let now = now_utc();
            let fresh = User::credentials_for_update(conn, &user.id)?;
            let attempts = Session::password_attempts_for_update(conn, &session, now)?;
            let still = fresh.password_hash == checked_hash
                && !fresh.throttled(now)
                && attempts.is_some_and(|n| n < threshold);
            if !still {
                return Ok::<_, ApiError>(false);
            }
            replace_password(
                conn,
                &context,
                &user,
                &hash,
                AuditAction::AuthPasswordChange,
                "password_changed",
            )?;
            Ok(true)
        })
    })
    .await
}

/// A request to reset a forgotten password.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordResetRequest {
    /// The account's e-mail address.
    pub email: String,
}

impl std::fmt::Debug for PasswordResetRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PasswordResetRequest([redacted])")
    }
}

/// Asks for a password-reset e-mail. It returns before any account is looked up (the answer is
/// the same, and as quick, whether or not the address has an account); the work is spawned.
/// 429 when the client address has made too many attempts.
pub fn request_reset(
    state: &AppState,
    context: RequestContext,
    request: PasswordResetRequest,
) -> Result<(), ApiError> {
    let auth = state.auth.clone();
    if !auth.client_may_try(&context) {
        return Err(ApiError::problem(
            ProblemType::TooManyRequests,
            "too many requests from this address; wait a minute",
        ));
    }
    if let Ok(email) = request.email.parse::<EmailAddress>() {
        let pool = state.pool.clone();
        actix_web::rt::spawn(async move {
            let done = with_conn(&pool, move |conn| {
                issue_password_reset(conn, &auth, &context, &email)
            })
            .await;
            if let Err(err) = done {
                tracing::warn!(error = %err, "a password reset request could not be completed");
            }
        });
    }
    Ok(())
}

/// Issues a reset link to the active account with this address, if there is one: the token,
/// the e-mail in the outbox and the audit event in one transaction.
fn issue_password_reset(
    conn: &mut DbConn,
    auth: &AuthService,
    context: &RequestContext,
    email: &EmailAddress,
) -> Result<(), ApiError> {
    conn.write_transaction(|conn| {
        let Some(credentials) = User::credentials_by_email(conn, email)? else {
            return Ok::<_, ApiError>(());
        };
        if credentials.status != UserStatus::Active {
            return Ok(());
        }
        let user = User::find(conn, &credentials.id)?;
        account_token::void_unused(conn, &user.id, TokenPurpose::PasswordReset)?;
        let (token, hash) = auth.keys.new_opaque_token();
        let expires = now_utc() + chrono::Duration::from_std(RESET_TOKEN_TTL).unwrap_or_default();
        account_token::issue(conn, &user.id, TokenPurpose::PasswordReset, &hash, expires)?;
        outbox::enqueue(
            conn,
            &user.email,
            "Reset your Tumaini password",
            &format!(
                "Someone asked to reset the password of your Tumaini account.\n\n\
                 To choose a new password, open this link within an hour:\n\n\
                 {}/reset-password#token={}\n\n\
                 If you did not ask for this, ignore this message and tell your administrator.\n",
                auth.public_url,
                token.as_str()
            ),
        )?;
        audit::record(
            conn,
            context,
            Some(&user),
            Event {
                action: AuditAction::AuthPasswordResetRequest,
                outcome: Outcome::Success,
                resource: Some(("user", user.id.to_string())),
            },
        )?;
        Ok(())
    })
}

/// A new password set with an e-mailed token (reset or invitation).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenPassword {
    /// The token from the e-mail.
    pub token: String,
    /// The new password: at least 12 characters, not a common or breached one.
    pub password: String,
}

impl std::fmt::Debug for TokenPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenPassword([redacted])")
    }
}

/// Sets a new password with the token from a reset e-mail; every session of the account ends.
pub async fn reset(
    state: &AppState,
    context: RequestContext,
    input: TokenPassword,
) -> Result<(), ApiError> {
    set_with_token(
        state,
        context,
        input,
        TokenPurpose::PasswordReset,
        AuditAction::AuthPasswordReset,
    )
    .await
}

/// The answer to a token that is unknown, used, expired, or for a disabled account.
fn link_refused() -> ApiError {
    ApiError::problem(
        ProblemType::InvalidCredentials,
        "the link is invalid, used or expired",
    )
}

/// Sets a password with an e-mailed token of `purpose`, audited as `action`: the token is
/// consumed, the password set and every session ended in one transaction. A password that
/// breaks a rule rolls it back, so the token stays usable for a better one.
pub(super) async fn set_with_token(
    state: &AppState,
    context: RequestContext,
    input: TokenPassword,
    purpose: TokenPurpose,
    action: AuditAction,
) -> Result<(), ApiError> {
    let auth = state.auth.clone();
    if !auth.client_may_try(&context) {
        return Err(ApiError::problem(
            ProblemType::TooManyRequests,
            "too many requests from this address; wait a minute",
        ));
    }
    let TokenPassword { token, password } = input;
    let password = Zeroizing::new(password);
    if password.chars().count() < MIN_CHARS {
        return Err(weak(PasswordRejected::TooShort));
    }
    let token_hash = auth.keys.hash_opaque_token(&token);
    let hash = auth.hasher.hash(password.clone()).await?;
    with_conn(&state.pool, move |conn| {
        conn.write_transaction(|conn| {
            let Some(user_id) = account_token::consume(conn, purpose, &token_hash)? else {
                return Ok(Err(link_refused()));
            };
            let user = User::find(conn, &user_id)?;
            if let Err(rejected) =
                check_new_password(&password, &[user.email.as_str(), &user.display_name])
            {
                // Roll back: the token stays usable for a better password.
                return Err(weak(rejected));
            }
            if user.status == UserStatus::Disabled {
                return Ok(Err(link_refused()));
            }
            replace_password(conn, &context, &user, &hash, action, "password_reset")?;
            Ok(Ok(()))
        })
    })
    .await?
}
