//! Invitations: the e-mail that carries a single-use link (valid for 72 hours) to a new
//! account's first password, and its acceptance, which sets that password. Who may invite whom
//! is in [`super::administration`]; an invitation to a role that reads cases, asked for by an
//! administrator, is sent only once a second person approves ([`super::approvals`]).

use std::time::Duration;

use tumaini_db::DbConn;
use tumaini_db::models::account_token::{self, TokenPurpose};
use tumaini_db::models::{Organisation, User, outbox};
use tumaini_db::time::now_utc;

use super::passwords::{TokenPassword, set_with_token};
use crate::audit::AuditAction;
use crate::auth::{AuthService, RequestContext};
use crate::http::ApiError;
use crate::state::AppState;

/// How long an invitation works.
pub const INVITATION_TTL: Duration = Duration::from_secs(72 * 3600);

/// Issues an invitation (a single-use link, valid for 72 hours) and e-mails it.
pub fn send_invitation(
    conn: &mut DbConn,
    auth: &AuthService,
    org: &Organisation,
    user: &User,
) -> Result<(), ApiError> {
    let (token, hash) = auth.keys.new_opaque_token();
    let expires = now_utc() + chrono::Duration::from_std(INVITATION_TTL).unwrap_or_default();
    account_token::issue(conn, &user.id, TokenPurpose::Invitation, &hash, expires)?;
    outbox::enqueue(
        conn,
        &user.email,
        "Your Tumaini account",
        &format!(
            "An account has been created for you in Tumaini, for {}.\n\n\
             To choose your password, open this link within 72 hours:\n\n\
             {}/accept-invitation#token={}\n\n\
             If you did not expect this, ignore this message.\n",
            org.name,
            auth.public_url,
            token.as_str()
        ),
    )?;
    Ok(())
}

/// Accepts an invitation: sets the first password with the token from the invitation e-mail.
pub async fn accept(
    state: &AppState,
    context: RequestContext,
    input: TokenPassword,
) -> Result<(), ApiError> {
    set_with_token(
        state,
        context,
        input,
        TokenPurpose::Invitation,
        AuditAction::AuthInvitationAccept,
    )
    .await
}
