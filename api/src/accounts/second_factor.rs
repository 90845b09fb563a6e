//! The second factor: TOTP enrolment (a new secret, sealed, that takes effect once a current
//! code confirms it, with ten single-use recovery codes) and checking a code or a recovery code
//! at sign-in. A TOTP step is accepted once only.

use serde::{Deserialize, Serialize};
use tumaini_db::ids::UserId;
use tumaini_db::models::{Session, User, recovery_code};
use tumaini_db::{DbConn, DbError};
use utoipa::ToSchema;
use zeroize::Zeroizing;

use crate::audit::{self, AuditAction, Event, Outcome};
use crate::auth::{AuthService, Caller, RequestContext, totp};
use crate::http::{ApiError, ProblemType, with_conn};
use crate::state::AppState;

/// The current time as the TOTP code counts it.
fn unix_now() -> u64 {
    u64::try_from(chrono::Utc::now().timestamp()).unwrap_or_default()
}

/// The second factor, when the account has one. `Ok(true)` when it passed.
pub(super) fn check_second_factor(
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
    if let Some(step) = totp::matching_step(&secret, otp, unix_now()) {
        return Ok(User::accept_totp_step(conn, user, step)?);
    }
    let hash = auth
        .keys
        .hash_opaque_token(&totp::normalise_recovery_code(otp));
    Ok(recovery_code::consume(conn, user, &hash)?)
}

/// A pending TOTP enrolment.
#[derive(Debug, Serialize, ToSchema)]
pub struct TotpEnrolment {
    /// The `otpauth://` URI for an authenticator app (as a QR code).
    pub provisioning_uri: String,
    /// The same secret in base32, for typing in.
    pub secret: String,
}

/// Starts TOTP enrolment: a new secret, shown once, kept sealed until a code confirms it; 409
/// when a second factor is already enrolled.
pub async fn enrol(state: &AppState, caller: Caller) -> Result<TotpEnrolment, ApiError> {
    let Caller { user, context, .. } = caller;
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
            record(conn, &context, &user, AuditAction::AuthMfaEnrolStart)?;
            Ok::<_, ApiError>(())
        })
    })
    .await?;
    Ok(TotpEnrolment {
        provisioning_uri: uri.to_string(),
        secret: base32.to_string(),
    })
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

/// Confirms TOTP enrolment with a current code: the second factor is on, the current session
/// counts as verified, and new recovery codes replace any old ones (returned, shown once). 401
/// for a wrong code, 409 when no enrolment was started.
pub async fn confirm(
    state: &AppState,
    caller: Caller,
    confirmation: TotpConfirmation,
) -> Result<RecoveryCodes, ApiError> {
    let Caller {
        user,
        session,
        context,
        ..
    } = caller;
    let auth = state.auth.clone();
    let code = Zeroizing::new(confirmation.code);
    let codes = totp::new_recovery_codes();
    let hashes = recovery_hashes(&auth, &codes);
    let confirmed = with_conn(&state.pool, move |conn| {
        conn.write_transaction(|conn| {
            let Some(step) = pending_step(conn, &auth, &user.id, &code)? else {
                return Ok(false);
            };
            if !User::accept_totp_step(conn, &user.id, step)? {
                return Ok(false);
            }
            User::enable_mfa(conn, &user.id)?;
            recovery_code::replace(conn, &user.id, &hashes)?;
            Session::mark_mfa_verified(conn, &session.id)?;
            record(conn, &context, &user, AuditAction::AuthMfaEnrol)?;
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
    Ok(RecoveryCodes {
        recovery_codes: codes.iter().map(|c| c.to_string()).collect(),
    })
}

/// The hashes stored for recovery codes (normalised, so they are checked however typed).
fn recovery_hashes(auth: &AuthService, codes: &[Zeroizing<String>]) -> Vec<String> {
    codes
        .iter()
        .map(|c| {
            auth.keys
                .hash_opaque_token(&totp::normalise_recovery_code(c))
        })
        .collect()
}

/// Audits a step of the user's enrolment.
fn record(
    conn: &mut DbConn,
    context: &RequestContext,
    user: &User,
    action: AuditAction,
) -> Result<(), DbError> {
    audit::record(
        conn,
        context,
        Some(user),
        Event {
            action,
            outcome: Outcome::Success,
            resource: Some(("user", user.id.to_string())),
        },
    )
}

/// The TOTP step `code` matches under the secret of the enrolment in progress (none when it
/// matches no step); 409 when no enrolment was started.
fn pending_step(
    conn: &mut DbConn,
    auth: &AuthService,
    user: &UserId,
    code: &str,
) -> Result<Option<i64>, ApiError> {
    let credentials = User::credentials(conn, user)?;
    let Some(sealed) = credentials.totp_secret.filter(|_| !credentials.mfa_enabled) else {
        return Err(ApiError::problem(
            ProblemType::Conflict,
            "start enrolment first (POST /api/v1/auth/mfa/totp)",
        ));
    };
    let secret = auth.keys.open_totp_secret(user, &sealed)?;
    Ok(totp::matching_step(&secret, code, unix_now()))
}
