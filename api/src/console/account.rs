//! Signing in and out, and the person's own account: sessions (and signing out everywhere),
//! password change and reset, enrolment of a second factor with a QR code drawn on the
//! server, and the language of the console. Each calls the same account services as the API.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use base64::Engine as _;
use maud::{Markup, html};
use serde::Deserialize;
use tumaini_db::ids::{SessionId, UserId};
use zeroize::Zeroizing;

use super::PageResult;
use super::i18n::{self, Locale, t};
use super::layout::{self, Field, Section, csrf_field, form_alert};
use super::session::{self, Staff, Visitor};
use crate::accounts::{passwords, second_factor, sessions, sign_in};
use crate::auth::RequestContext;
use crate::http::{ApiError, ProblemType};
use crate::state::AppState;

/// The label of the console's sessions in the session list.
pub const CLIENT_LABEL: &str = "Web console";

pub(super) fn register(scope: actix_web::Scope) -> actix_web::Scope {
    scope
        .route("/sign-in", web::get().to(sign_in_page))
        .route("/sign-in", web::post().to(sign_in_submit))
        .route("/sign-out", web::post().to(sign_out))
        .route("/sign-out-everywhere", web::post().to(sign_out_everywhere))
        .route("/account", web::get().to(account_page))
        .route("/account/sessions/{id}/end", web::post().to(end_session))
        .route("/password", web::get().to(password_page))
        .route("/password", web::post().to(password_submit))
        .route("/password/forgot", web::get().to(forgot_page))
        .route("/password/forgot", web::post().to(forgot_submit))
        .route("/password/reset", web::get().to(reset_page))
        .route("/password/reset", web::post().to(reset_submit))
        .route("/mfa", web::get().to(mfa_page))
        .route("/mfa/start", web::post().to(mfa_start))
        .route("/mfa/confirm", web::post().to(mfa_confirm))
        .route("/language", web::post().to(language))
}

fn context(state: &AppState, req: &HttpRequest) -> RequestContext {
    RequestContext::of(req, &state.auth.keys, &state.auth.settings.proxies)
}

// --- sign-in ---------------------------------------------------------------------------------

#[derive(Deserialize)]
struct SignInForm {
    #[serde(default)]
    form: String,
    /// The console page to go on to (a path of ids and words only).
    #[serde(default)]
    next: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    otp: String,
}

fn sign_in_form(visitor: &Visitor, email: &str, next: &str, error: Option<&str>) -> Markup {
    let l = visitor.locale;
    html! {
        (form_alert(error))
        form method="post" action="/console/sign-in" novalidate {
            input type="hidden" name="form" value=(visitor.form_token);
            @if super::is_console_path(next) {
                input type="hidden" name="next" value=(next);
            }
            (Field::new("email", &t(l, "field-email")).required().input_with("email", email, Some("username")))
            (Field::new("password", &t(l, "field-password")).required().input_with("password", "", Some("current-password")))
            (Field::new("otp", &t(l, "field-otp")).hint(&t(l, "field-otp-hint")).input_with("text", "", Some("one-time-code")))
            button type="submit" { (t(l, "sign-in")) }
        }
        p { a href="/console/password/forgot" { (t(l, "forgot-link")) } }
    }
}

#[derive(Deserialize)]
struct SignInQuery {
    #[serde(default)]
    next: String,
}

async fn sign_in_page(visitor: Visitor, query: web::Query<SignInQuery>) -> HttpResponse {
    let title = t(visitor.locale, "sign-in-title");
    let body = sign_in_form(&visitor, "", &query.next, None);
    layout::visitor_respond(
        &visitor,
        StatusCode::OK,
        layout::visitor_page(&visitor, &title, body),
    )
}

async fn sign_in_submit(
    state: web::Data<AppState>,
    req: HttpRequest,
    visitor: Visitor,
    form: web::Form<SignInForm>,
) -> PageResult {
    let form = form.into_inner();
    visitor.check(&form.form)?;
    let l = visitor.locale;
    let request = sign_in::LoginRequest {
        email: form.email.clone(),
        password: form.password,
        otp: Some(form.otp.trim().to_owned()).filter(|o| !o.is_empty()),
    };
    let refused = |message: String, status: StatusCode| {
        let title = t(l, "sign-in-title");
        let body = sign_in_form(&visitor, &form.email, &form.next, Some(&message));
        Ok(layout::visitor_respond(
            &visitor,
            status,
            layout::visitor_page(&visitor, &title, body),
        ))
    };
    let tokens = match sign_in::sign_in(
        &state,
        context(&state, &req),
        CLIENT_LABEL.to_owned(),
        request,
    )
    .await
    {
        Ok(tokens) => tokens,
        Err(ApiError::Problem {
            kind: ProblemType::TooManyRequests,
            ..
        }) => return refused(t(l, "sign-in-too-many"), StatusCode::TOO_MANY_REQUESTS),
        Err(ApiError::Problem { kind, .. }) if kind.status() == StatusCode::UNAUTHORIZED => {
            return refused(t(l, "sign-in-refused"), StatusCode::UNAUTHORIZED);
        }
        Err(other) => return Err(other.into()),
    };
    let claims = state
        .auth
        .keys
        .verify_access(&tokens.access_token)
        .map_err(|_| ApiError::Internal(anyhow::anyhow!("a token just issued does not verify")))?;
    let user: UserId = claims
        .sub
        .parse()
        .map_err(|_| ApiError::Internal(anyhow::anyhow!("a token names no user")))?;
    // A session just opened: its whole absolute lifetime is left.
    let lifetime = chrono::Duration::from_std(state.auth.settings.session_ttl).unwrap_or_default();
    let cookie = session::new_session_cookie(&state, &user, &tokens.session_id, lifetime)?;
    let user_for_language = user.clone();
    let stored = crate::http::with_conn(&state.pool, move |conn| {
        Ok(tumaini_db::models::User::language(
            conn,
            &user_for_language,
        )?)
    })
    .await?;
    let next = if tokens.password_must_change {
        "/console/password"
    } else if tokens.mfa_enrolment_required {
        "/console/mfa"
    } else if super::is_console_path(&form.next) {
        form.next.as_str()
    } else {
        "/console/work"
    };
    let mut response = HttpResponse::SeeOther();
    response
        .insert_header((actix_web::http::header::LOCATION, next))
        .cookie(cookie)
        .cookie(session::removal(&state, session::FORM_COOKIE));
    if let Some(locale) = stored.as_deref().and_then(Locale::from_code) {
        response.cookie(session::language_cookie(&state, locale));
    }
    Ok(response.finish())
}

// --- signing out -------------------------------------------------------------------------------

#[derive(Deserialize)]
struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

/// After signing out: the session cookie and the form cookie removed, and the browser told to
/// forget everything of this site it keeps (a shared computer).
fn signed_out(state: &AppState) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((actix_web::http::header::LOCATION, "/console/sign-in"))
        // The cache and storage go; the cookies that matter are removed one by one, so that the
        // language chosen on this computer stays for the next person to sign in.
        .insert_header(("Clear-Site-Data", "\"cache\", \"storage\""))
        .cookie(session::removal(state, session::SESSION_COOKIE))
        .cookie(session::removal(state, session::FORM_COOKIE))
        .finish()
}

async fn sign_out(
    state: web::Data<AppState>,
    staff: Staff,
    form: web::Form<CsrfForm>,
) -> PageResult {
    staff.check(&form.csrf)?;
    sessions::sign_out(&state, staff.caller).await?;
    Ok(signed_out(&state))
}

async fn sign_out_everywhere(
    state: web::Data<AppState>,
    staff: Staff,
    form: web::Form<CsrfForm>,
) -> PageResult {
    staff.check(&form.csrf)?;
    sessions::sign_out_everywhere(&state, staff.caller).await?;
    Ok(signed_out(&state))
}

// --- the account page ----------------------------------------------------------------------------

async fn account_page(state: web::Data<AppState>, staff: Staff) -> PageResult {
    let l = staff.locale;
    let list = sessions::list(&state, staff.caller.clone()).await?;
    let title = t(l, "account-title");
    let user = &staff.caller.user;
    let body = html! {
        dl.facts {
            dt { (t(l, "account-name")) } dd { (user.display_name) }
            dt { (t(l, "account-role")) } dd { (i18n::vocab(l, user.role)) }
            dt { (t(l, "account-organisation")) } dd { (staff.caller.organisation.name) }
            dt { (t(l, "account-second-factor")) }
            dd { (if user.mfa_enabled { t(l, "yes") } else { t(l, "no") }) }
        }
        p {
            a href="/console/password" { (t(l, "password-change-link")) }
            @if !user.mfa_enabled {
                " · " a href="/console/mfa" { (t(l, "mfa-enrol-link")) }
            }
        }
        h2 #sessions { (t(l, "sessions-title")) }
        table aria-labelledby="sessions" {
            thead { tr {
                th scope="col" { (t(l, "sessions-client")) }
                th scope="col" { (t(l, "sessions-started")) }
                th scope="col" { (t(l, "sessions-last-used")) }
                th scope="col" { span.visually-hidden { (t(l, "sessions-action")) } }
            } }
            tbody {
                @for s in &list {
                    tr {
                        td { (s.client) @if s.current { " " strong { (t(l, "sessions-this-one")) } } }
                        td { (i18n::date_time(l, s.created_at.naive_utc())) }
                        td { (i18n::date_time(l, s.last_used_at.naive_utc())) }
                        td {
                            @if !s.current {
                                form method="post" action=(format!("/console/account/sessions/{}/end", s.id)) {
                                    (csrf_field(&staff.csrf))
                                    button type="submit" { (t(l, "sessions-end")) }
                                }
                            }
                        }
                    }
                }
            }
        }
        form method="post" action="/console/sign-out-everywhere" {
            (csrf_field(&staff.csrf))
            button.warning type="submit" { (t(l, "sign-out-everywhere")) }
        }
    };
    Ok(layout::ok(&staff, Section::Account, &title, body))
}

async fn end_session(
    state: web::Data<AppState>,
    staff: Staff,
    id: web::Path<SessionId>,
    form: web::Form<CsrfForm>,
) -> PageResult {
    staff.check(&form.csrf)?;
    sessions::revoke(&state, staff.caller.clone(), id.into_inner()).await?;
    Ok(layout::see_other(&staff, "/console/account"))
}

// --- password ------------------------------------------------------------------------------------

#[derive(Deserialize)]
struct PasswordForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    current_password: String,
    #[serde(default)]
    new_password: String,
}

fn password_body(staff: &Staff, error: Option<&str>, field_error: Option<&str>) -> Markup {
    let l = staff.locale;
    html! {
        @if staff.caller.user.password_must_change {
            p { (t(l, "password-must-change")) }
        }
        (form_alert(error))
        form method="post" action="/console/password" novalidate {
            (csrf_field(&staff.csrf))
            (Field::new("current_password", &t(l, "field-current-password")).required().input_with("password", "", Some("current-password")))
            (Field::new("new_password", &t(l, "field-new-password")).hint(&t(l, "field-new-password-hint")).required().error(field_error).input_with("password", "", Some("new-password")))
            button type="submit" { (t(l, "password-change")) }
        }
    }
}

async fn password_page(staff: Staff) -> HttpResponse {
    let title = t(staff.locale, "password-title");
    let body = password_body(&staff, None, None);
    layout::ok(&staff, Section::Account, &title, body)
}

async fn password_submit(
    state: web::Data<AppState>,
    staff: Staff,
    form: web::Form<PasswordForm>,
) -> PageResult {
    let form = form.into_inner();
    staff.check(&form.csrf)?;
    let l = staff.locale;
    let change = passwords::PasswordChange {
        current_password: form.current_password,
        new_password: form.new_password,
    };
    match passwords::change(&state, staff.caller.clone(), change).await {
        Ok(()) => Ok(layout::see_other(&staff, "/console/work")),
        Err(ApiError::Problem {
            kind: ProblemType::InvalidBody,
            ..
        }) => {
            let message = t(l, "password-weak");
            let body = password_body(&staff, Some(&message), Some(&message));
            Ok(layout::respond(
                Some(&staff),
                StatusCode::UNPROCESSABLE_ENTITY,
                layout::page(&staff, Section::Account, &t(l, "password-title"), body),
            ))
        }
        Err(ApiError::Problem { kind, .. })
            if matches!(kind.status().as_u16(), 401 | 403 | 429) =>
        {
            let message = t(l, "password-wrong-current");
            let body = password_body(&staff, Some(&message), None);
            Ok(layout::respond(
                Some(&staff),
                kind.status(),
                layout::page(&staff, Section::Account, &t(l, "password-title"), body),
            ))
        }
        Err(other) => Err(other.into()),
    }
}

#[derive(Deserialize)]
struct ForgotForm {
    #[serde(default)]
    form: String,
    #[serde(default)]
    email: String,
}

async fn forgot_page(visitor: Visitor) -> HttpResponse {
    let l = visitor.locale;
    let body = html! {
        p { (t(l, "forgot-text")) }
        form method="post" action="/console/password/forgot" novalidate {
            input type="hidden" name="form" value=(visitor.form_token);
            (Field::new("email", &t(l, "field-email")).required().input_with("email", "", Some("username")))
            button type="submit" { (t(l, "forgot-send")) }
        }
    };
    let title = t(l, "forgot-title");
    layout::visitor_respond(
        &visitor,
        StatusCode::OK,
        layout::visitor_page(&visitor, &title, body),
    )
}

async fn forgot_submit(
    state: web::Data<AppState>,
    req: HttpRequest,
    visitor: Visitor,
    form: web::Form<ForgotForm>,
) -> PageResult {
    let form = form.into_inner();
    visitor.check(&form.form)?;
    let l = visitor.locale;
    let request = passwords::PasswordResetRequest { email: form.email };
    let message = match passwords::request_reset(&state, context(&state, &req), request) {
        Ok(()) => t(l, "forgot-sent"),
        Err(ApiError::Problem {
            kind: ProblemType::TooManyRequests,
            ..
        }) => t(l, "sign-in-too-many"),
        Err(other) => return Err(other.into()),
    };
    let body = html! {
        p role="status" { (message) }
        p { a href="/console/password/reset" { (t(l, "reset-link")) } }
    };
    let title = t(l, "forgot-title");
    Ok(layout::visitor_respond(
        &visitor,
        StatusCode::OK,
        layout::visitor_page(&visitor, &title, body),
    ))
}

/// A page that sets a password with an e-mailed token: the reset's, or an invitation's.
pub(super) struct TokenPage {
    /// Where its form is sent.
    pub action: &'static str,
    /// Message ids: the title, the text above the form, the button, and the text once done.
    pub title: &'static str,
    /// The text above the form.
    pub text: &'static str,
    /// The button.
    pub submit: &'static str,
    /// What the page says once the password is set.
    pub done: &'static str,
}

const RESET: TokenPage = TokenPage {
    action: "/console/password/reset",
    title: "reset-title",
    text: "reset-text",
    submit: "reset-submit",
    done: "reset-done",
};

/// The form of a token page.
#[derive(Deserialize)]
pub(super) struct TokenForm {
    #[serde(default)]
    form: String,
    #[serde(default)]
    token: String,
    #[serde(default)]
    password: String,
}

fn token_body(visitor: &Visitor, page: &TokenPage, error: Option<&str>) -> Markup {
    let l = visitor.locale;
    html! {
        p { (t(l, page.text)) }
        (form_alert(error))
        form method="post" action=(page.action) novalidate {
            input type="hidden" name="form" value=(visitor.form_token);
            (Field::new("token", &t(l, "field-reset-token")).hint(&t(l, "field-reset-token-hint")).required().input_with("text", "", Some("off")))
            (Field::new("password", &t(l, "field-new-password")).hint(&t(l, "field-new-password-hint")).required().input_with("password", "", Some("new-password")))
            button type="submit" { (t(l, page.submit)) }
        }
    }
}

/// A token page's form, empty.
pub(super) fn token_page(visitor: &Visitor, page: &TokenPage) -> HttpResponse {
    let title = t(visitor.locale, page.title);
    let body = token_body(visitor, page, None);
    layout::visitor_respond(
        visitor,
        StatusCode::OK,
        layout::visitor_page(visitor, &title, body),
    )
}

/// Sets the password of a token page's form with `set` (the reset's service or the
/// invitation's), and says what happened: done, or refused in plain words (a weak password, a
/// link invalid, used or expired), the form again.
pub(super) async fn token_submit<F, Fut>(
    state: &AppState,
    req: &HttpRequest,
    visitor: &Visitor,
    form: TokenForm,
    page: &TokenPage,
    set: F,
) -> PageResult
where
    F: FnOnce(AppState, RequestContext, passwords::TokenPassword) -> Fut,
    Fut: std::future::Future<Output = Result<(), ApiError>>,
{
    visitor.check(&form.form)?;
    let l = visitor.locale;
    let input = passwords::TokenPassword {
        token: form.token.trim().trim_start_matches("token=").to_owned(),
        password: form.password,
    };
    let title = t(l, page.title);
    let error = match set(state.clone(), context(state, req), input).await {
        Ok(()) => {
            let body = html! {
                p role="status" { (t(l, page.done)) }
                p { a href="/console/sign-in" { (t(l, "sign-in")) } }
            };
            return Ok(layout::visitor_respond(
                visitor,
                StatusCode::OK,
                layout::visitor_page(visitor, &title, body),
            ));
        }
        Err(ApiError::Problem {
            kind: ProblemType::InvalidBody,
            ..
        }) => t(l, "password-weak"),
        Err(ApiError::Problem { kind, .. }) if kind.status().is_client_error() => {
            t(l, "reset-refused")
        }
        Err(other) => return Err(other.into()),
    };
    let body = token_body(visitor, page, Some(&error));
    Ok(layout::visitor_respond(
        visitor,
        StatusCode::UNPROCESSABLE_ENTITY,
        layout::visitor_page(visitor, &title, body),
    ))
}

async fn reset_page(visitor: Visitor) -> HttpResponse {
    token_page(&visitor, &RESET)
}

async fn reset_submit(
    state: web::Data<AppState>,
    req: HttpRequest,
    visitor: Visitor,
    form: web::Form<TokenForm>,
) -> PageResult {
    token_submit(
        &state,
        &req,
        &visitor,
        form.into_inner(),
        &RESET,
        |state, context, input| async move { passwords::reset(&state, context, input).await },
    )
    .await
}

// --- second factor -------------------------------------------------------------------------------

async fn mfa_page(staff: Staff) -> HttpResponse {
    let l = staff.locale;
    let title = t(l, "mfa-title");
    let body = if staff.caller.user.mfa_enabled {
        html! { p { (t(l, "mfa-already")) } }
    } else {
        html! {
            @if crate::auth::requires_mfa(staff.caller.user.role) {
                p { (t(l, "mfa-required")) }
            }
            p { (t(l, "mfa-intro")) }
            form method="post" action="/console/mfa/start" {
                (csrf_field(&staff.csrf))
                button type="submit" { (t(l, "mfa-begin")) }
            }
        }
    };
    layout::ok(&staff, Section::Account, &title, body)
}

#[derive(Deserialize)]
struct MfaForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    code: String,
    /// The enrolment being confirmed, redrawn when a code is wrong (it was on the page already).
    #[serde(default)]
    uri: String,
    #[serde(default)]
    secret: String,
}

fn qr_image(uri: &str) -> Option<String> {
    let code = qrcode::QrCode::new(uri.as_bytes()).ok()?;
    let svg = code
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(220, 220)
        .quiet_zone(true)
        .build();
    Some(format!(
        "data:image/svg+xml;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(svg)
    ))
}

fn enrolment_body(staff: &Staff, uri: &str, secret: &str, error: Option<&str>) -> Markup {
    let l = staff.locale;
    html! {
        ol.steps {
            li { (t(l, "mfa-step-scan")) }
            li { (t(l, "mfa-step-type")) }
        }
        @if let Some(src) = qr_image(uri) {
            img.qr src=(src) width="220" height="220" alt=(t(l, "mfa-qr-alt"));
        }
        p { (t(l, "mfa-secret")) " " code #secret { (secret) } }
        (form_alert(error))
        form method="post" action="/console/mfa/confirm" novalidate {
            (csrf_field(&staff.csrf))
            input type="hidden" name="uri" value=(uri);
            input type="hidden" name="secret" value=(secret);
            (Field::new("code", &t(l, "field-code")).required().error(error).input_with("text", "", Some("one-time-code")))
            button type="submit" { (t(l, "mfa-confirm")) }
        }
    }
}

async fn mfa_start(
    state: web::Data<AppState>,
    staff: Staff,
    form: web::Form<CsrfForm>,
) -> PageResult {
    staff.check(&form.csrf)?;
    let enrolment = second_factor::enrol(&state, staff.caller.clone()).await?;
    let title = t(staff.locale, "mfa-title");
    let body = enrolment_body(&staff, &enrolment.provisioning_uri, &enrolment.secret, None);
    Ok(layout::ok(&staff, Section::Account, &title, body))
}

async fn mfa_confirm(
    state: web::Data<AppState>,
    staff: Staff,
    form: web::Form<MfaForm>,
) -> PageResult {
    let form = form.into_inner();
    staff.check(&form.csrf)?;
    let l = staff.locale;
    let title = t(l, "mfa-title");
    let confirmation = second_factor::TotpConfirmation {
        code: form.code.trim().to_owned(),
    };
    match second_factor::confirm(&state, staff.caller.clone(), confirmation).await {
        Ok(codes) => {
            let codes = Zeroizing::new(codes.recovery_codes);
            let body = html! {
                p role="status" { (t(l, "mfa-done")) }
                p { (t(l, "mfa-recovery-intro")) }
                ul.codes { @for code in codes.iter() { li { code { (code) } } } }
                p { a href="/console/work" { (t(l, "continue")) } }
            };
            Ok(layout::ok(&staff, Section::Account, &title, body))
        }
        Err(ApiError::Problem { kind, .. }) if kind.status().is_client_error() => {
            let message = t(l, "mfa-wrong-code");
            let body = enrolment_body(&staff, &form.uri, &form.secret, Some(&message));
            Ok(layout::respond(
                Some(&staff),
                StatusCode::UNPROCESSABLE_ENTITY,
                layout::page(&staff, Section::Account, &title, body),
            ))
        }
        Err(other) => Err(other.into()),
    }
}

// --- language ------------------------------------------------------------------------------------

#[derive(Deserialize)]
struct LanguageForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    lang: String,
}

async fn language(
    state: web::Data<AppState>,
    staff: Option<Staff>,
    form: web::Form<LanguageForm>,
) -> PageResult {
    let form = form.into_inner();
    let Some(locale) = Locale::from_code(&form.lang) else {
        return Err(ApiError::problem(ProblemType::InvalidBody, "`lang`: unknown language").into());
    };
    let cookie = session::language_cookie(&state, locale);
    let Some(staff) = staff else {
        return Ok(HttpResponse::SeeOther()
            .insert_header((actix_web::http::header::LOCATION, "/console/sign-in"))
            .cookie(cookie)
            .finish());
    };
    staff.check(&form.csrf)?;
    let user = staff.caller.user.id.clone();
    crate::http::with_conn(&state.pool, move |conn| {
        Ok(tumaini_db::models::User::set_language(
            conn,
            &user,
            locale.code(),
        )?)
    })
    .await?;
    let mut response = layout::see_other(&staff, "/console/work");
    let _ = response.add_cookie(&cookie);
    Ok(response)
}
