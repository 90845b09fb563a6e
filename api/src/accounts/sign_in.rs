//! Sign-in with e-mail and password, and a second factor where the account has one.
//!
//! Every failure answers the same `invalid-credentials` problem, whether the account exists or
//! not, the password is wrong, or the account is locked or disabled; every attempt costs exactly
//! one argon2id computation. Repeated failures delay and then lock the account (`failures`);
//! each client address is limited to a number of attempts per minute (429). The steps, in order:
//! the per-address limit, the account looked up, the password checked (`check_password`), a
//! failure audited and counted, and then, in one write transaction, the account checked again,
//! the second factor, and the session opened with its tokens (`open_session`).

use serde::{Deserialize, Serialize};
use tumaini_db::DbConn;
use tumaini_db::ids::{SessionId, UserId};
use tumaini_db::models::{Credentials, EmailAddress, Session, User};
use tumaini_db::time::now_utc;
use tumaini_db::vocabulary::UserStatus;
use utoipa::ToSchema;
use zeroize::Zeroizing;

use super::failures::{count_failure, invalid_credentials};
use super::second_factor::check_second_factor;
use crate::audit::{self, AuditAction, Event, Outcome};
use crate::auth::password::Verified;
use crate::auth::{AuthService, RequestContext, requires_mfa};
use crate::http::{ApiError, ProblemType, with_conn};
use crate::metrics::SignInFailure;
use crate::state::AppState;

/// Credentials for sign-in. Never logged: `Debug` shows only the address's domain.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    /// The account's e-mail address.
    #[schema(example = "amina@shelter.example")]
    pub email: String,
    /// The password.
    #[schema(example = "correct horse battery staple")]
    pub password: String,
    /// A 6-digit TOTP code or a recovery code, for accounts with a second factor.
    #[serde(default)]
    pub otp: Option<String>,
}

impl std::fmt::Debug for LoginRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LoginRequest([redacted])")
    }
}

/// Tokens for a new or refreshed session.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenResponse {
    /// A JWT to send as `Authorization: Bearer ...`.
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    pub expires_in: i64,
    /// An opaque token for `POST /api/v1/auth/refresh`; good once.
    pub refresh_token: String,
    /// The session these tokens belong to.
    pub session_id: SessionId,
    /// The password was issued by someone else and must be changed now.
    pub password_must_change: bool,
    /// The role requires a second factor that is not enrolled yet: until it is, only
    /// enrolment, profile, password change and sign-out work.
    pub mfa_enrolment_required: bool,
}

/// Issues the token pair for a session that has just been opened or refreshed, storing the
/// refresh token's hash.
pub(super) fn issue_tokens(
    conn: &mut DbConn,
    auth: &AuthService,
    user: &User,
    session: &Session,
) -> Result<TokenResponse, ApiError> {
    let (refresh_token, refresh_hash) = auth.keys.new_opaque_token();
    Session::add_refresh_token(conn, &session.id, &refresh_hash, session.expires_at)?;
    let ttl = i64::try_from(auth.settings.access_token_ttl.as_secs()).unwrap_or(600);
    let (access_token, _) = auth.keys.issue_access(&user.id, &session.id, ttl)?;
    Ok(TokenResponse {
        access_token,
        token_type: "Bearer",
        expires_in: ttl,
        refresh_token: refresh_token.to_string(),
        session_id: session.id.clone(),
        password_must_change: user.password_must_change,
        mfa_enrolment_required: requires_mfa(user.role) && !user.mfa_enabled,
    })
}

/// Signs in from the client of `context` (`client_label` names it in the session list): see the
/// module documentation for the steps. A refusal is counted in the metrics by its reason.
pub async fn sign_in(
    state: &AppState,
    context: RequestContext,
    client_label: String,
    request: LoginRequest,
) -> Result<TokenResponse, ApiError> {
    let result = attempt_sign_in(state, context, client_label, request).await;
    if let Err(ApiError::Problem { kind, .. }) = &result {
        let reason = match kind {
            ProblemType::InvalidCredentials => Some(SignInFailure::InvalidCredentials),
            ProblemType::TooManyRequests => Some(SignInFailure::RateLimited),
            _ => None,
        };
        if let Some(reason) = reason {
            state.metrics.sign_in_failed(reason);
        }
    }
    result
}

async fn attempt_sign_in(
    state: &AppState,
    context: RequestContext,
    client_label: String,
    request: LoginRequest,
) -> Result<TokenResponse, ApiError> {
    if !state.auth.client_may_try(&context) {
        return Err(ApiError::problem(
            ProblemType::TooManyRequests,
            "too many sign-in attempts from this address; wait a minute",
        ));
    }
    let LoginRequest {
        email,
        password,
        otp,
    } = request;
    let password = Zeroizing::new(password);
    let credentials = look_up(state, &email).await?;
    let (refused, verified) = check_password(&state.auth, credentials.as_ref(), password).await?;
    let Some(credentials) = credentials else {
        return refuse_unknown(state, context).await;
    };
    let rehash = match verified {
        Verified::Match { rehash } if !refused => rehash,
        _ => return refuse_known(state, credentials.id, refused, context).await,
    };
    let attempt = Attempt {
        context,
        client_label,
        credentials,
        otp,
        rehash,
    };
    open_session(state, attempt).await
}

/// Whether an account in this state may sign in at all.
const fn may_sign_in(status: UserStatus) -> bool {
    matches!(status, UserStatus::Active | UserStatus::Invited)
}

/// The account with this address, if it is an address and has an account.
async fn look_up(state: &AppState, email: &str) -> Result<Option<Credentials>, ApiError> {
    let Some(email) = email.parse::<EmailAddress>().ok() else {
        return Ok(None);
    };
    with_conn(&state.pool, move |conn| {
        Ok(User::credentials_by_email(conn, &email)?)
    })
    .await
}

/// Checks the password: whether the account is refused without looking at the password (a lock,
/// the delay after a failure, an account that cannot sign in), and the verification. Exactly
/// one argon2id computation whatever the case: a refused or unknown account is checked against
/// the decoy hash.
async fn check_password(
    auth: &AuthService,
    credentials: Option<&Credentials>,
    password: Zeroizing<String>,
) -> Result<(bool, Verified), ApiError> {
    let now = now_utc();
    let refused = credentials.is_some_and(|c| c.throttled(now) || !may_sign_in(c.status));
    let stored = credentials
        .filter(|_| !refused)
        .and_then(|c| c.password_hash.clone());
    let verified = auth.hasher.verify(password, stored).await?;
    Ok((refused, verified))
}

/// Audits an attempt on an address with no account, and refuses it like any other.
async fn refuse_unknown(
    state: &AppState,
    context: RequestContext,
) -> Result<TokenResponse, ApiError> {
    with_conn(&state.pool, move |conn| {
        audit::record(
            conn,
            &context,
            None,
            Event {
                action: AuditAction::AuthLogin,
                outcome: Outcome::Failure,
                resource: None,
            },
        )?;
        Ok(())
    })
    .await?;
    Err(invalid_credentials())
}

/// Refuses an attempt on an existing account, in one transaction with its audit event: a wrong
/// password counts against the account; an attempt `refused` unchecked does not, and is audited
/// as a denial.
async fn refuse_known(
    state: &AppState,
    user_id: UserId,
    refused: bool,
    context: RequestContext,
) -> Result<TokenResponse, ApiError> {
    let auth = state.auth.clone();
    with_conn(&state.pool, move |conn| {
        conn.write_transaction(|conn| {
            let outcome = if refused {
                Outcome::Denied
            } else {
                count_failure(conn, &auth, &user_id, &context)?
            };
            let actor = User::find(conn, &user_id)?;
            audit::record(
                conn,
                &context,
                Some(&actor),
                Event {
                    action: AuditAction::AuthLogin,
                    outcome,
                    resource: None,
                },
            )?;
            Ok::<_, ApiError>(())
        })?;
        Ok(())
    })
    .await?;
    Err(invalid_credentials())
}

/// An attempt whose password matched, on the way to a session.
struct Attempt {
    context: RequestContext,
    client_label: String,
    /// The account as it was when the password was checked.
    credentials: Credentials,
    otp: Option<String>,
    /// A new hash of the password, when the stored one used older parameters.
    rehash: Option<String>,
}

/// Opens the session in one write transaction: the account checked again, the second factor,
/// the session and its tokens. A refusal here still commits (a wrong second factor is counted).
async fn open_session(state: &AppState, attempt: Attempt) -> Result<TokenResponse, ApiError> {
    let auth = state.auth.clone();
    with_conn(&state.pool, move |conn| {
        conn.write_transaction(
            |conn| -> Result<Result<TokenResponse, ApiError>, ApiError> {
                let checked = &attempt.credentials;
                // The account may have changed while the password was hashed (a reset, a lock, a
                // disabling): sign in only if it is still the account that was checked.
                let fresh = User::credentials_for_update(conn, &checked.id)?;
                if !unchanged(&fresh, checked) {
                    return Ok(Err(invalid_credentials()));
                }
                let user = User::find(conn, &checked.id)?;
                if let Some(refusal) = second_factor_refusal(conn, &auth, &attempt, &user)? {
                    return Ok(Err(refusal));
                }
                User::clear_failed_logins(conn, &user.id)?;
                if let (Some(new_hash), Some(previous)) = (&attempt.rehash, &fresh.password_hash) {
                    User::rehash_password(conn, &user.id, previous, new_hash)?;
                }
                Ok(Ok(start_session(conn, &auth, &attempt, &user)?))
            },
        )
    })
    .await?
}

/// Whether the account read again (`fresh`, locked for update) is still the one whose password
/// was checked: the same hash, able to sign in, not throttled.
fn unchanged(fresh: &Credentials, checked: &Credentials) -> bool {
    fresh.password_hash == checked.password_hash
        && may_sign_in(fresh.status)
        && !fresh.throttled(now_utc())
        // A second factor confirmed (or reset) while the password was hashed: the attempt was
        // checked against the account without it, so it must start again and meet it.
        && fresh.mfa_enabled == checked.mfa_enabled
        && fresh.totp_secret == checked.totp_secret
}

/// The second factor, for an account that has one: `None` when it passed (or there is none),
/// else the refusal to answer. A wrong second factor counts like a wrong password: the same
/// window, delay and lock, so a code cannot be guessed at a few tries a second.
fn second_factor_refusal(
    conn: &mut DbConn,
    auth: &AuthService,
    attempt: &Attempt,
    user: &User,
) -> Result<Option<ApiError>, ApiError> {
    let credentials = &attempt.credentials;
    if !credentials.mfa_enabled {
        return Ok(None);
    }
    let Some(otp) = attempt.otp.as_deref().filter(|o| !o.trim().is_empty()) else {
        return Ok(Some(ApiError::problem(
            ProblemType::MfaRequired,
            "send a 6-digit code from the authenticator app (or a recovery code) as `otp`",
        )));
    };
    let sealed = credentials.totp_secret.as_deref();
    if check_second_factor(conn, auth, &user.id, sealed, otp)? {
        return Ok(None);
    }
    let outcome = count_failure(conn, auth, &user.id, &attempt.context)?;
    audit::record(
        conn,
        &attempt.context,
        Some(user),
        Event {
            action: AuditAction::AuthLogin,
            outcome,
            resource: None,
        },
    )?;
    Ok(Some(invalid_credentials()))
}

/// Opens the session (second factor verified when the account has one), audits the sign-in and
/// issues the session's tokens.
fn start_session(
    conn: &mut DbConn,
    auth: &AuthService,
    attempt: &Attempt,
    user: &User,
) -> Result<TokenResponse, ApiError> {
    let expires_at =
        now_utc() + chrono::Duration::from_std(auth.settings.session_ttl).unwrap_or_default();
    let session = Session::open(
        conn,
        &user.id,
        attempt.credentials.mfa_enabled,
        &attempt.client_label,
        expires_at,
    )?;
    audit::record(
        conn,
        &attempt.context,
        Some(user),
        Event {
            action: AuditAction::AuthLogin,
            outcome: Outcome::Success,
            resource: Some(("session", session.id.to_string())),
        },
    )?;
    issue_tokens(conn, auth, user, &session)
}

#[cfg(test)]
mod tests {
    use tumaini_db::ids::UserId;
    use tumaini_db::models::Credentials;
    use tumaini_db::vocabulary::UserStatus;

    use super::unchanged;

    fn account() -> Credentials {
        Credentials {
            id: UserId::generate(),
            status: UserStatus::Active,
            password_hash: Some("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".to_owned()),
            failed_logins: 0,
            locked_until: None,
            login_delay_until: None,
            mfa_enabled: false,
            totp_secret: None,
        }
    }

    #[test]
    fn a_second_factor_confirmed_while_the_password_was_hashed_restarts_the_sign_in() {
        let checked = account();
        assert!(unchanged(&account_like(&checked), &checked));
        let mut enrolled = account_like(&checked);
        enrolled.mfa_enabled = true;
        enrolled.totp_secret = Some(vec![1, 2, 3]);
        assert!(!unchanged(&enrolled, &checked));
        let mut reset = account_like(&checked);
        reset.totp_secret = Some(vec![4]);
        assert!(!unchanged(&reset, &checked));
    }

    fn account_like(other: &Credentials) -> Credentials {
        Credentials {
            id: other.id.clone(),
            ..account()
        }
    }
}
