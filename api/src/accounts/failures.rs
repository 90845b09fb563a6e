//! Failed attempts counted against an account (a wrong password at sign-in, a wrong second
//! factor, a wrong current password): the same window, growing delay and lock for each. The
//! failure that locks an account is a high-severity audit event, and the account holder is told
//! by e-mail. Every failure answers the same `invalid-credentials` problem.

use tumaini_db::DbConn;
use tumaini_db::ids::UserId;
use tumaini_db::models::{User, outbox};
use tumaini_db::time::now_utc;

use crate::audit::{AuditAction, Entry, Outcome};
use crate::auth::{AuthService, RequestContext};
use crate::http::{ApiError, ProblemType};

/// The answer to every failed attempt, whatever failed.
pub(super) fn invalid_credentials() -> ApiError {
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
pub(super) fn count_failure(
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
    auth.metrics.account_locked();
    let holder = User::find(conn, user)?;
    Entry::new(AuditAction::AuthAccountLocked, Outcome::Success)
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
