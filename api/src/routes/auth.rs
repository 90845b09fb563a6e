//! Sign-in, sessions, the second factor, password changes, resets and invitations.

use std::time::Duration;

use actix_web::{HttpRequest, HttpResponse, delete, get, post, web};
use serde::{Deserialize, Serialize};
use tumaini_db::DbConn;
use tumaini_db::ids::{OrgId, SessionId, UserId};
use tumaini_db::models::account_token::{self, TokenPurpose};
use tumaini_db::models::{EmailAddress, RefreshOutcome, Session, User, outbox, recovery_code};
use tumaini_db::time::now_utc;
use tumaini_db::vocabulary::{Role, UserStatus};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;
use zeroize::Zeroizing;

use crate::audit::AuditAction;
use crate::audit::{self, Event, Outcome};
use crate::auth::password::{Verified, check_new_password};
use crate::auth::{AuthService, Caller, EnrollingCaller, RequestContext, requires_mfa, totp};
use crate::http::{ApiError, Problem, ProblemType, with_conn};
use crate::state::AppState;

/// Registers the routes of this module.
pub fn register(cfg: &mut ServiceConfig) {
    cfg.service(login)
        .service(refresh)
        .service(logout)
        .service(me)
        .service(list_sessions)
        .service(revoke_session)
        .service(change_password)
        .service(enrol_totp)
        .service(confirm_totp)
        .service(request_password_reset)
        .service(confirm_password_reset)
        .service(accept_invitation);
}

/// How long an e-mailed password-reset link works.
const RESET_TOKEN_TTL: Duration = Duration::from_secs(3600);
/// How long an invitation works.
pub(crate) const INVITATION_TTL: Duration = Duration::from_secs(72 * 3600);

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

fn invalid_credentials() -> ApiError {
    ApiError::problem(
        ProblemType::InvalidCredentials,
        "the e-mail address or password is not correct",
    )
}

/// Counts a failure (a wrong password, a wrong code, a wrong current password) against an
/// account. The failure that locks it is a high-severity audit event, and the account holder is
/// told by e-mail (nothing but that it happened and what to do). Returns the attempt's outcome
/// for its audit event: a failure, or a refusal when a lock was already in force (a guess
/// checked at the same moment as the one that locked the account).
fn count_failure(
    conn: &mut DbConn,
    auth: &AuthService,
    user: &UserId,
    context: &RequestContext,
) -> Result<Outcome, ApiError> {
    let counted = User::record_failed_login(conn, user, &auth.settings.throttle(), now_utc())?;
    if !counted.counted {
        return Ok(Outcome::Denied);
    }
    if !counted.locked {
        return Ok(Outcome::Failure);
    }
    let holder = User::find(conn, user)?;
    audit::Entry::new(AuditAction::AuthAccountLocked, Outcome::Success)
        .in_request(context)
        .by(Some(&holder))
        .on("user", &holder.id)
        .high_severity(true)
        .write(conn)?;
    outbox::enqueue(
        conn,
        &holder.email,
        "Your Tumaini account was locked for a while",
        &format!(
            "Your Tumaini account was locked for {} minutes after {} failed attempts to sign in or \
             to confirm your password.\n\nIf this was you, wait and try again. If it was not, \
             tell your administrator; you may also choose a new password: {}/reset-password\n",
            auth.settings.lockout.as_secs() / 60,
            counted.failures,
            auth.public_url
        ),
    )?;
    Ok(Outcome::Failure)
}

/// Issues the token pair for a session that has just been opened or refreshed, storing the
/// refresh token's hash.
fn issue_tokens(
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

/// The second factor, when the account has one. `Ok(true)` when it passed.
fn check_second_factor(
    conn: &mut DbConn,
    auth: &AuthService,
    user: &UserId,
    sealed_secret: Option<&[u8]>,
    otp: &str,
) -> Result<bool, ApiError> {
    let Some(sealed) = sealed_secret else {
        return Ok(false);
    };
    let secret = auth.keys.open_totp_secret(user, sealed)?;
    let unix_now = u64::try_from(chrono::Utc::now().timestamp()).unwrap_or_default();
    if let Some(step) = totp::matching_step(&secret, otp, unix_now) {
        return Ok(User::accept_totp_step(conn, user, step)?);
    }
    let hash = auth
        .keys
        .hash_opaque_token(&totp::normalise_recovery_code(otp));
    Ok(recovery_code::consume(conn, user, &hash)?)
}

/// Sign in with e-mail and password (and a second factor where the account has one).
///
/// Every failure answers the same `invalid-credentials` problem, whether the account exists or
/// not, the password is wrong, or the account is locked or disabled; all cost one argon2id
/// hash. Repeated failures delay and then lock the account; each client address is limited to
/// a number of attempts per minute (429).
#[utoipa::path(
    tag = "auth",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Signed in", body = TokenResponse),
        (status = 401, description = "Wrong credentials, or a second factor is needed (`mfa-required`)", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many attempts from this address", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/api/v1/auth/login")]
pub async fn login(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<LoginRequest>,
) -> Result<web::Json<TokenResponse>, ApiError> {
    let auth = state.auth.clone();
    let context = RequestContext::of(&req, &auth.keys, &auth.settings.proxies);
    if !auth.client_may_try(&context) {
        return Err(ApiError::problem(
            ProblemType::TooManyRequests,
            "too many sign-in attempts from this address; wait a minute",
        ));
    }
    let LoginRequest {
        email,
        password,
        otp,
    } = body.into_inner();
    let password = Zeroizing::new(password);
    let email: Option<EmailAddress> = email.parse().ok();
    let credentials = match email.clone() {
        Some(email) => {
            with_conn(&state.pool, move |conn| {
                Ok(User::credentials_by_email(conn, &email)?)
            })
            .await?
        }
        None => None,
    };
    let now = now_utc();
    // A lock, the delay after a failure, or an account that cannot sign in: refused without
    // looking at the password (but at the cost of a hash, like any other attempt).
    let refused = credentials.as_ref().is_some_and(|c| {
        c.throttled(now) || !matches!(c.status, UserStatus::Active | UserStatus::Invited)
    });
    // Exactly one argon2id computation whatever the case: a refused or unknown account is
    // checked against the decoy hash.
    let stored = credentials
        .as_ref()
        .filter(|_| !refused)
        .and_then(|c| c.password_hash.clone());
    let verified = auth.hasher.verify(password, stored).await?;

    let Some(credentials) = credentials else {
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
        return Err(invalid_credentials());
    };
    let rehash = match verified {
        Verified::Match { rehash } if !refused => rehash,
        _ => {
            let user_id = credentials.id.clone();
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
            return Err(invalid_credentials());
        }
    };

    let client_label: String = req
        .headers()
        .get(actix_web::http::header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("unknown client")
        .chars()
        .take(120)
        .collect();
    let auth = state.auth.clone();
    let tokens = with_conn(&state.pool, move |conn| {
        conn.write_transaction(|conn| -> Result<Result<TokenResponse, ApiError>, ApiError> {
            // The account may have changed while the password was hashed (a reset, a lock, a
            // disabling): sign in only if it is still the account that was checked.
            let fresh = User::credentials_for_update(conn, &credentials.id)?;
            let now = now_utc();
            let unchanged = fresh.password_hash == credentials.password_hash
                && matches!(fresh.status, UserStatus::Active | UserStatus::Invited)
                && !fresh.throttled(now);
            if !unchanged {
                return Ok(Err(invalid_credentials()));
            }
            let user = User::find(conn, &credentials.id)?;
            if credentials.mfa_enabled {
                let Some(otp) = otp.as_deref().filter(|o| !o.trim().is_empty()) else {
                    return Ok(Err(ApiError::problem(
                        ProblemType::MfaRequired,
                        "send a 6-digit code from the authenticator app (or a recovery code) as `otp`",
                    )));
                };
                if !check_second_factor(conn, &auth, &user.id, credentials.totp_secret.as_deref(), otp)? {
                    // A wrong second factor counts like a wrong password: the same window,
                    // delay and lock, so a code cannot be guessed at a few tries a second.
                    let outcome = count_failure(conn, &auth, &user.id, &context)?;
                    audit::record(conn, &context, Some(&user), Event { action: AuditAction::AuthLogin, outcome, resource: None })?;
                    return Ok(Err(invalid_credentials()));
                }
            }
            User::clear_failed_logins(conn, &user.id)?;
            if let (Some(new_hash), Some(previous)) = (&rehash, &fresh.password_hash) {
                User::rehash_password(conn, &user.id, previous, new_hash)?;
            }
            let expires_at = now_utc() + chrono::Duration::from_std(auth.settings.session_ttl).unwrap_or_default();
            let session = Session::open(conn, &user.id, credentials.mfa_enabled, &client_label, expires_at)?;
            audit::record(
                conn,
                &context,
                Some(&user),
                Event { action: AuditAction::AuthLogin, outcome: Outcome::Success, resource: Some(("session", session.id.to_string())) },
            )?;
            Ok(Ok(issue_tokens(conn, &auth, &user, &session)?))
        })
    })
    .await??;
    Ok(web::Json(tokens))
}

/// Exchange a refresh token for a new token pair. Each refresh token works once; presenting a
/// used one again ends the whole session (someone else may hold it).
#[utoipa::path(
    tag = "auth",
    request_body = RefreshRequest,
    responses(
        (status = 200, description = "New tokens", body = TokenResponse),
        (status = 401, description = "Unknown, expired or reused refresh token", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/api/v1/auth/refresh")]
pub async fn refresh(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<RefreshRequest>,
) -> Result<web::Json<TokenResponse>, ApiError> {
    let auth = state.auth.clone();
    let context = RequestContext::of(&req, &auth.keys, &auth.settings.proxies);
    let hash = auth.keys.hash_opaque_token(&body.refresh_token);
    let tokens = with_conn(&state.pool, move |conn| {
        conn.write_transaction(|conn| -> Result<Option<TokenResponse>, ApiError> {
            match Session::use_refresh_token(conn, &hash)? {
                RefreshOutcome::Fresh(session) => {
                    let user = User::find(conn, &session.user_id)?;
                    let tokens = issue_tokens(conn, &auth, &user, &session)?;
                    audit::record(
                        conn,
                        &context,
                        Some(&user),
                        Event {
                            action: AuditAction::AuthRefresh,
                            outcome: Outcome::Success,
                            resource: Some(("session", session.id.to_string())),
                        },
                    )?;
                    Ok(Some(tokens))
                }
                RefreshOutcome::Reused => {
                    audit::record(
                        conn,
                        &context,
                        None,
                        Event {
                            action: AuditAction::AuthRefreshReuse,
                            outcome: Outcome::Denied,
                            resource: None,
                        },
                    )?;
                    Ok(None)
                }
                RefreshOutcome::Invalid => Ok(None),
            }
        })
    })
    .await?;
    tokens
        .map(web::Json)
        .ok_or_else(|| ApiError::bare(ProblemType::Unauthenticated))
}

/// End the current session: its access and refresh tokens stop working at once.
#[utoipa::path(tag = "auth", security(("bearer" = [])), responses((status = 204, description = "Signed out")))]
#[post("/api/v1/auth/logout")]
pub async fn logout(
    state: web::Data<AppState>,
    caller: EnrollingCaller,
) -> Result<HttpResponse, ApiError> {
    let Caller {
        user,
        session,
        context,
        ..
    } = caller.0;
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
    .await?;
    Ok(HttpResponse::NoContent().finish())
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

/// Who am I?
#[utoipa::path(tag = "auth", security(("bearer" = [])), responses((status = 200, description = "Success", body = Profile)))]
#[get("/api/v1/auth/me")]
pub async fn me(caller: EnrollingCaller) -> web::Json<Profile> {
    web::Json(caller.0.user.into())
}

/// A live session of the signed-in user.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionView {
    /// Session id.
    pub id: SessionId,
    /// Started (UTC).
    pub created_at: chrono::NaiveDateTime,
    /// Last refreshed (UTC).
    pub last_used_at: chrono::NaiveDateTime,
    /// Ends at the latest (UTC).
    pub expires_at: chrono::NaiveDateTime,
    /// The client's user agent, shortened.
    pub client: String,
    /// Whether it is the session making this request.
    pub current: bool,
}

/// The signed-in user's live sessions.
#[utoipa::path(tag = "auth", security(("bearer" = [])), responses((status = 200, description = "Success", body = Vec<SessionView>)))]
#[get("/api/v1/auth/sessions")]
pub async fn list_sessions(
    state: web::Data<AppState>,
    caller: Caller,
) -> Result<web::Json<Vec<SessionView>>, ApiError> {
    let current = caller.session.id.clone();
    let user = caller.user.id.clone();
    let sessions = with_conn(&state.pool, move |conn| {
        Ok(Session::list_live(conn, &user)?)
    })
    .await?;
    Ok(web::Json(
        sessions
            .into_iter()
            .map(|s| SessionView {
                current: s.id == current,
                id: s.id,
                created_at: s.created_at,
                last_used_at: s.last_used_at,
                expires_at: s.expires_at,
                client: s.client_label,
            })
            .collect(),
    ))
}

/// End one of the signed-in user's sessions (a lost phone, a shared computer).
#[utoipa::path(
    tag = "auth",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Session id")),
    responses((status = 204, description = "Ended"), (status = 404, description = "No such live session of yours", body = Problem, content_type = "application/problem+json"))
)]
#[delete("/api/v1/auth/sessions/{id}")]
pub async fn revoke_session(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<SessionId>,
) -> Result<HttpResponse, ApiError> {
    let Caller { user, context, .. } = caller;
    let id = id.into_inner();
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
        Ok(HttpResponse::NoContent().finish())
    } else {
        Err(ApiError::bare(ProblemType::NotFound))
    }
}

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

fn weak(reason: impl std::fmt::Display) -> ApiError {
    ApiError::problem(ProblemType::InvalidBody, reason.to_string())
}

/// Change the password. Every session of the account ends, this one included: sign in again.
///
/// A wrong current password counts against the account like a failed sign-in (the same window,
/// delay and lock), and against the session it was given on: while the account's delay or lock
/// is in force the attempt is refused unchecked (429), and at the lockout threshold of wrong or
/// refused attempts the session ends. A stolen session is not a way to guess the password.
#[utoipa::path(
    tag = "auth",
    security(("bearer" = [])),
    request_body = PasswordChange,
    responses(
        (status = 204, description = "Changed; all sessions ended"),
        (status = 401, description = "The current password is wrong (at the threshold, the session has ended too)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The new password breaks a rule", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many wrong passwords: wait before trying again", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/api/v1/auth/password")]
pub async fn change_password(
    state: web::Data<AppState>,
    caller: EnrollingCaller,
    body: web::Json<PasswordChange>,
) -> Result<HttpResponse, ApiError> {
    let Caller {
        user,
        session,
        context,
        ..
    } = caller.0;
    let PasswordChange {
        current_password,
        new_password,
    } = body.into_inner();
    let (current_password, new_password) = (
        Zeroizing::new(current_password),
        Zeroizing::new(new_password),
    );
    check_new_password(&new_password, &[user.email.as_str(), &user.display_name]).map_err(weak)?;
    let user_id = user.id.clone();
    let credentials = with_conn(&state.pool, move |conn| {
        Ok(User::credentials(conn, &user_id)?)
    })
    .await?;
    let throttled = credentials.throttled(now_utc());
    let checked_hash = credentials.password_hash.clone();
    let matched = !throttled
        && matches!(
            state
                .auth
                .hasher
                .verify(current_password, credentials.password_hash)
                .await?,
            Verified::Match { .. }
        );
    if !matched {
        let auth = state.auth.clone();
        let (failed_user, session_id) = (user.clone(), session.id.clone());
        let failed_context = context.clone();
        with_conn(&state.pool, move |conn| {
            conn.write_transaction(|conn| {
                let outcome = if throttled {
                    Outcome::Denied
                } else {
                    count_failure(conn, &auth, &failed_user.id, &failed_context)?
                };
                let attempts = Session::record_password_failure(conn, &session_id)?;
                let ended = attempts >= auth.settings.lockout_threshold;
                if ended {
                    Session::revoke(conn, &failed_user.id, &session_id, "password_guessing")?;
                }
                audit::Entry::new(AuditAction::AuthPasswordChange, outcome)
                    .in_request(&failed_context)
                    .by(Some(&failed_user))
                    .on("session", &session_id)
                    .high_severity(ended)
                    .write(conn)?;
                Ok::<_, ApiError>(())
            })
        })
        .await?;
        return Err(if throttled {
            ApiError::problem(
                ProblemType::TooManyRequests,
                "too many wrong passwords: wait before trying again",
            )
        } else {
            invalid_credentials()
        });
    }
    let hash = state.auth.hasher.hash(new_password).await?;
    let threshold = state.auth.settings.lockout_threshold;
    let changed = with_conn(&state.pool, move |conn| {
        conn.write_transaction(|conn| {
            // Many guesses sent at once are each checked before any is counted: the one that
            // guessed right changes nothing if, by the time it is done, the others have
            // throttled the account or used up the session's attempts (or the password or the
            // session changed meanwhile).
            let now = now_utc();
            let fresh = User::credentials_for_update(conn, &user.id)?;
            let attempts = Session::password_attempts_for_update(conn, &session.id, now)?;
            let still = fresh.password_hash == checked_hash
                && !fresh.throttled(now)
                && attempts.is_some_and(|n| n < threshold);
            if !still {
                return Ok::<_, ApiError>(false);
            }
            User::set_password(conn, &user.id, &hash, false)?;
            User::clear_failed_logins(conn, &user.id)?;
            Session::revoke_all(conn, &user.id, "password_changed", None)?;
            audit::record(
                conn,
                &context,
                Some(&user),
                Event {
                    action: AuditAction::AuthPasswordChange,
                    outcome: Outcome::Success,
                    resource: Some(("user", user.id.to_string())),
                },
            )?;
            Ok(true)
        })
    })
    .await?;
    if !changed {
        return Err(ApiError::problem(
            ProblemType::TooManyRequests,
            "too many wrong passwords: wait before trying again",
        ));
    }
    Ok(HttpResponse::NoContent().finish())
}

/// A pending TOTP enrolment.
#[derive(Debug, Serialize, ToSchema)]
pub struct TotpEnrolment {
    /// The `otpauth://` URI for an authenticator app (as a QR code).
    pub provisioning_uri: String,
    /// The same secret in base32, for typing in.
    pub secret: String,
}

/// Start TOTP enrolment: a new secret, shown once. It takes effect after `confirm`.
#[utoipa::path(tag = "auth", security(("bearer" = [])), responses((status = 200, description = "Success", body = TotpEnrolment)))]
#[post("/api/v1/auth/mfa/totp")]
pub async fn enrol_totp(
    state: web::Data<AppState>,
    caller: EnrollingCaller,
) -> Result<web::Json<TotpEnrolment>, ApiError> {
    let Caller { user, context, .. } = caller.0;
    if user.mfa_enabled {
        return Err(ApiError::problem(
            ProblemType::Conflict,
            "a second factor is already enrolled",
        ));
    }
    let secret = totp::new_secret();
    let (uri, base32) = totp::provisioning(&secret, user.email.as_str())?;
    let sealed = state.auth.keys.seal_totp_secret(&user.id, &secret)?;
    with_conn(&state.pool, move |conn| {
        conn.write_transaction(|conn| {
            User::set_pending_totp(conn, &user.id, &sealed)?;
            audit::record(
                conn,
                &context,
                Some(&user),
                Event {
                    action: AuditAction::AuthMfaEnrolStart,
                    outcome: Outcome::Success,
                    resource: Some(("user", user.id.to_string())),
                },
            )?;
            Ok::<_, ApiError>(())
        })
    })
    .await?;
    Ok(web::Json(TotpEnrolment {
        provisioning_uri: uri.to_string(),
        secret: base32.to_string(),
    }))
}

/// A code proving the authenticator app holds the secret.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TotpConfirmation {
    /// The current 6-digit code.
    pub code: String,
}

impl std::fmt::Debug for TotpConfirmation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TotpConfirmation([redacted])")
    }
}

/// Recovery codes, shown once.
#[derive(Debug, Serialize, ToSchema)]
pub struct RecoveryCodes {
    /// Ten single-use codes for when the authenticator is lost. Store them offline.
    pub recovery_codes: Vec<String>,
}

/// Confirm TOTP enrolment with a current code; returns recovery codes, shown once.
#[utoipa::path(
    tag = "auth",
    security(("bearer" = [])),
    request_body = TotpConfirmation,
    responses((status = 200, description = "Success", body = RecoveryCodes), (status = 401, description = "Wrong code", body = Problem, content_type = "application/problem+json"))
)]
#[post("/api/v1/auth/mfa/totp/confirm")]
pub async fn confirm_totp(
    state: web::Data<AppState>,
    caller: EnrollingCaller,
    body: web::Json<TotpConfirmation>,
) -> Result<web::Json<RecoveryCodes>, ApiError> {
    let Caller {
        user,
        session,
        context,
        ..
    } = caller.0;
    let auth = state.auth.clone();
    let code = Zeroizing::new(body.into_inner().code);
    let codes = totp::new_recovery_codes();
    let hashes: Vec<String> = codes
        .iter()
        .map(|c| {
            auth.keys
                .hash_opaque_token(&totp::normalise_recovery_code(c))
        })
        .collect();
    let confirmed = with_conn(&state.pool, move |conn| {
        conn.write_transaction(|conn| {
            let credentials = User::credentials(conn, &user.id)?;
            let Some(sealed) = credentials.totp_secret.filter(|_| !credentials.mfa_enabled) else {
                return Err(ApiError::problem(
                    ProblemType::Conflict,
                    "start enrolment first (POST /api/v1/auth/mfa/totp)",
                ));
            };
            let secret = auth.keys.open_totp_secret(&user.id, &sealed)?;
            let unix_now = u64::try_from(chrono::Utc::now().timestamp()).unwrap_or_default();
            let Some(step) = totp::matching_step(&secret, &code, unix_now) else {
                return Ok(false);
            };
            if !User::accept_totp_step(conn, &user.id, step)? {
                return Ok(false);
            }
            User::enable_mfa(conn, &user.id)?;
            recovery_code::replace(conn, &user.id, &hashes)?;
            Session::mark_mfa_verified(conn, &session.id)?;
            audit::record(
                conn,
                &context,
                Some(&user),
                Event {
                    action: AuditAction::AuthMfaEnrol,
                    outcome: Outcome::Success,
                    resource: Some(("user", user.id.to_string())),
                },
            )?;
            Ok(true)
        })
    })
    .await?;
    if !confirmed {
        return Err(ApiError::problem(
            ProblemType::InvalidCredentials,
            "the code is not correct",
        ));
    }
    Ok(web::Json(RecoveryCodes {
        recovery_codes: codes.iter().map(|c| c.to_string()).collect(),
    }))
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

/// Ask for a password-reset e-mail. The answer is the same, and as quick, whether or not the
/// address has an account: it is given before any account is looked up, and the work (a
/// single-use link valid for an hour, e-mailed through the outbox) is done after it.
#[utoipa::path(tag = "auth", request_body = PasswordResetRequest, responses(
    (status = 202, description = "If the address has an account, an e-mail is on its way"),
    (status = 429, description = "Too many requests from this address", body = Problem, content_type = "application/problem+json"),
))]
#[post("/api/v1/auth/password-reset")]
pub async fn request_password_reset(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<PasswordResetRequest>,
) -> Result<HttpResponse, ApiError> {
    let auth = state.auth.clone();
    let context = RequestContext::of(&req, &auth.keys, &auth.settings.proxies);
    if !auth.client_may_try(&context) {
        return Err(ApiError::problem(
            ProblemType::TooManyRequests,
            "too many requests from this address; wait a minute",
        ));
    }
    if let Ok(email) = body.into_inner().email.parse::<EmailAddress>() {
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
    Ok(HttpResponse::Accepted().finish())
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

async fn set_password_with_token(
    state: &AppState,
    req: &HttpRequest,
    body: TokenPassword,
    purpose: TokenPurpose,
    action: AuditAction,
) -> Result<HttpResponse, ApiError> {
    let auth = state.auth.clone();
    let context = RequestContext::of(req, &auth.keys, &auth.settings.proxies);
    if !auth.client_may_try(&context) {
        return Err(ApiError::problem(
            ProblemType::TooManyRequests,
            "too many requests from this address; wait a minute",
        ));
    }
    let TokenPassword { token, password } = body;
    let password = Zeroizing::new(password);
    if password.chars().count() < crate::auth::password::MIN_CHARS {
        return Err(weak(crate::auth::password::PasswordRejected::TooShort));
    }
    let token_hash = auth.keys.hash_opaque_token(&token);
    let hash = auth.hasher.hash(password.clone()).await?;
    let outcome = with_conn(&state.pool, move |conn| {
        conn.write_transaction(|conn| {
            let Some(user_id) = account_token::consume(conn, purpose, &token_hash)? else {
                return Ok(Err(ApiError::problem(
                    ProblemType::InvalidCredentials,
                    "the link is invalid, used or expired",
                )));
            };
            let user = User::find(conn, &user_id)?;
            if let Err(rejected) =
                check_new_password(&password, &[user.email.as_str(), &user.display_name])
            {
                // Roll back: the token stays usable for a better password.
                return Err(weak(rejected));
            }
            if user.status == UserStatus::Disabled {
                return Ok(Err(ApiError::problem(
                    ProblemType::InvalidCredentials,
                    "the link is invalid, used or expired",
                )));
            }
            User::set_password(conn, &user.id, &hash, false)?;
            User::clear_failed_logins(conn, &user.id)?;
            Session::revoke_all(conn, &user.id, "password_reset", None)?;
            audit::record(
                conn,
                &context,
                Some(&user),
                Event {
                    action,
                    outcome: Outcome::Success,
                    resource: Some(("user", user.id.to_string())),
                },
            )?;
            Ok(Ok(()))
        })
    })
    .await?;
    outcome.map(|()| HttpResponse::NoContent().finish())
}

/// Set a new password with the token from a reset e-mail. Every session of the account ends.
#[utoipa::path(
    tag = "auth",
    request_body = TokenPassword,
    responses(
        (status = 204, description = "Password set"),
        (status = 401, description = "Invalid, used or expired link", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The new password breaks a rule", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/api/v1/auth/password-reset/confirm")]
pub async fn confirm_password_reset(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<TokenPassword>,
) -> Result<HttpResponse, ApiError> {
    set_password_with_token(
        &state,
        &req,
        body.into_inner(),
        TokenPurpose::PasswordReset,
        AuditAction::AuthPasswordReset,
    )
    .await
}

/// Accept an invitation: set the first password with the token from the invitation e-mail.
#[utoipa::path(
    tag = "auth",
    request_body = TokenPassword,
    responses(
        (status = 204, description = "Account active; sign in"),
        (status = 401, description = "Invalid, used or expired invitation", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The password breaks a rule", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/api/v1/auth/invitation/accept")]
pub async fn accept_invitation(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<TokenPassword>,
) -> Result<HttpResponse, ApiError> {
    set_password_with_token(
        &state,
        &req,
        body.into_inner(),
        TokenPurpose::Invitation,
        AuditAction::AuthInvitationAccept,
    )
    .await
}
