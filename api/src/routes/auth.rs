//! The sign-in and own-account endpoints: sign-in, sessions, the second factor, password
//! changes, resets and invitations. Each extracts what is HTTP (the request context, the
//! client's User-Agent, the caller, the body), calls one function of the account service
//! (`crate::accounts`) and shapes the answer.

use actix_web::{HttpRequest, HttpResponse, delete, get, post, web};
use tumaini_db::ids::SessionId;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::accounts::invitations;
use crate::accounts::passwords::{self, PasswordChange, PasswordResetRequest, TokenPassword};
use crate::accounts::second_factor::{self, RecoveryCodes, TotpConfirmation, TotpEnrolment};
use crate::accounts::sessions::{self, Profile, RefreshRequest, SessionView};
use crate::accounts::sign_in::{self, LoginRequest, TokenResponse};
use crate::auth::{Caller, EnrollingCaller, RequestContext};
use crate::http::{ApiError, Problem};
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

/// The request's context: its id and the client's address as the proxies in front tell it.
fn context_of(state: &AppState, req: &HttpRequest) -> RequestContext {
    RequestContext::of(req, &state.auth.keys, &state.auth.settings.proxies)
}

/// The client's User-Agent, shortened, naming a new session in the session list.
fn client_label(req: &HttpRequest) -> String {
    req.headers()
        .get(actix_web::http::header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("unknown client")
        .chars()
        .take(120)
        .collect()
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
        (
            status = 401,
            description = "Wrong credentials, or a second factor is needed (`mfa-required`)",
            body = Problem,
            content_type = "application/problem+json",
        ),
        (
            status = 429,
            description = "Too many attempts from this address",
            body = Problem,
            content_type = "application/problem+json",
        ),
    ),
)]
#[post("/api/v1/auth/login")]
pub async fn login(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<LoginRequest>,
) -> Result<web::Json<TokenResponse>, ApiError> {
    let context = context_of(&state, &req);
    let tokens = sign_in::sign_in(&state, context, client_label(&req), body.into_inner()).await?;
    Ok(web::Json(tokens))
}

/// Exchange a refresh token for a new token pair. Each refresh token works once; presenting a
/// used one again ends the whole session (someone else may hold it).
#[utoipa::path(
    tag = "auth",
    request_body = RefreshRequest,
    responses(
        (status = 200, description = "New tokens", body = TokenResponse),
        (
            status = 401,
            description = "Unknown, expired or reused refresh token",
            body = Problem,
            content_type = "application/problem+json",
        ),
    ),
)]
#[post("/api/v1/auth/refresh")]
pub async fn refresh(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<RefreshRequest>,
) -> Result<web::Json<TokenResponse>, ApiError> {
    let context = context_of(&state, &req);
    let tokens = sessions::refresh(&state, context, body.into_inner()).await?;
    Ok(web::Json(tokens))
}

/// End the current session: its access and refresh tokens stop working at once.
#[utoipa::path(
    tag = "auth",
    security(("bearer" = [])),
    responses((status = 204, description = "Signed out")),
)]
#[post("/api/v1/auth/logout")]
pub async fn logout(
    state: web::Data<AppState>,
    caller: EnrollingCaller,
) -> Result<HttpResponse, ApiError> {
    sessions::sign_out(&state, caller.0).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Who am I?
#[utoipa::path(
    tag = "auth",
    security(("bearer" = [])),
    responses((status = 200, description = "Success", body = Profile)),
)]
#[get("/api/v1/auth/me")]
pub async fn me(caller: EnrollingCaller) -> web::Json<Profile> {
    web::Json(caller.0.user.into())
}

/// The signed-in user's live sessions.
#[utoipa::path(
    tag = "auth",
    security(("bearer" = [])),
    responses((status = 200, description = "Success", body = Vec<SessionView>)),
)]
#[get("/api/v1/auth/sessions")]
pub async fn list_sessions(
    state: web::Data<AppState>,
    caller: Caller,
) -> Result<web::Json<Vec<SessionView>>, ApiError> {
    Ok(web::Json(sessions::list(&state, caller).await?))
}

/// End one of the signed-in user's sessions (a lost phone, a shared computer).
#[utoipa::path(
    tag = "auth",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Session id")),
    responses(
        (status = 204, description = "Ended"),
        (
            status = 404,
            description = "No such live session of yours",
            body = Problem,
            content_type = "application/problem+json",
        ),
    ),
)]
#[delete("/api/v1/auth/sessions/{id}")]
pub async fn revoke_session(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<SessionId>,
) -> Result<HttpResponse, ApiError> {
    sessions::revoke(&state, caller, id.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
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
        (
            status = 401,
            description = "The current password is wrong (at the threshold, the session has ended too)",
            body = Problem,
            content_type = "application/problem+json",
        ),
        (
            status = 422,
            description = "The new password breaks a rule",
            body = Problem,
            content_type = "application/problem+json",
        ),
        (
            status = 429,
            description = "Too many wrong passwords: wait before trying again",
            body = Problem,
            content_type = "application/problem+json",
        ),
    ),
)]
#[post("/api/v1/auth/password")]
pub async fn change_password(
    state: web::Data<AppState>,
    caller: EnrollingCaller,
    body: web::Json<PasswordChange>,
) -> Result<HttpResponse, ApiError> {
    passwords::change(&state, caller.0, body.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Start TOTP enrolment: a new secret, shown once. It takes effect after `confirm`.
#[utoipa::path(
    tag = "auth",
    security(("bearer" = [])),
    responses((status = 200, description = "Success", body = TotpEnrolment)),
)]
#[post("/api/v1/auth/mfa/totp")]
pub async fn enrol_totp(
    state: web::Data<AppState>,
    caller: EnrollingCaller,
) -> Result<web::Json<TotpEnrolment>, ApiError> {
    Ok(web::Json(second_factor::enrol(&state, caller.0).await?))
}

/// Confirm TOTP enrolment with a current code; returns recovery codes, shown once.
#[utoipa::path(
    tag = "auth",
    security(("bearer" = [])),
    request_body = TotpConfirmation,
    responses(
        (status = 200, description = "Success", body = RecoveryCodes),
        (
            status = 401,
            description = "Wrong code",
            body = Problem,
            content_type = "application/problem+json",
        ),
    ),
)]
#[post("/api/v1/auth/mfa/totp/confirm")]
pub async fn confirm_totp(
    state: web::Data<AppState>,
    caller: EnrollingCaller,
    body: web::Json<TotpConfirmation>,
) -> Result<web::Json<RecoveryCodes>, ApiError> {
    let codes = second_factor::confirm(&state, caller.0, body.into_inner()).await?;
    Ok(web::Json(codes))
}

/// Ask for a password-reset e-mail. The answer is the same, and as quick, whether or not the
/// address has an account: it is given before any account is looked up, and the work (a
/// single-use link valid for an hour, e-mailed through the outbox) is done after it.
#[utoipa::path(
    tag = "auth",
    request_body = PasswordResetRequest,
    responses(
        (status = 202, description = "If the address has an account, an e-mail is on its way"),
        (
            status = 429,
            description = "Too many requests from this address",
            body = Problem,
            content_type = "application/problem+json",
        ),
    ),
)]
#[post("/api/v1/auth/password-reset")]
pub async fn request_password_reset(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<PasswordResetRequest>,
) -> Result<HttpResponse, ApiError> {
    let context = context_of(&state, &req);
    passwords::request_reset(&state, context, body.into_inner())?;
    Ok(HttpResponse::Accepted().finish())
}

/// Set a new password with the token from a reset e-mail. Every session of the account ends.
#[utoipa::path(
    tag = "auth",
    request_body = TokenPassword,
    responses(
        (status = 204, description = "Password set"),
        (
            status = 401,
            description = "Invalid, used or expired link",
            body = Problem,
            content_type = "application/problem+json",
        ),
        (
            status = 422,
            description = "The new password breaks a rule",
            body = Problem,
            content_type = "application/problem+json",
        ),
    ),
)]
#[post("/api/v1/auth/password-reset/confirm")]
pub async fn confirm_password_reset(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<TokenPassword>,
) -> Result<HttpResponse, ApiError> {
    let context = context_of(&state, &req);
    passwords::reset(&state, context, body.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Accept an invitation: set the first password with the token from the invitation e-mail.
#[utoipa::path(
    tag = "auth",
    request_body = TokenPassword,
    responses(
        (status = 204, description = "Account active; sign in"),
        (
            status = 401,
            description = "Invalid, used or expired invitation",
            body = Problem,
            content_type = "application/problem+json",
        ),
        (
            status = 422,
            description = "The password breaks a rule",
            body = Problem,
            content_type = "application/problem+json",
        ),
    ),
)]
#[post("/api/v1/auth/invitation/accept")]
pub async fn accept_invitation(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<TokenPassword>,
) -> Result<HttpResponse, ApiError> {
    let context = context_of(&state, &req);
    invitations::accept(&state, context, body.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}
