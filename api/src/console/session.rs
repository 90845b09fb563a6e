//! The console's session: a cookie holding a short access token of the caller's session (the
//! same sessions the API's tokens name, listed and revoked the same way), renewed on every
//! page so that it lapses after `TUMAINI_CONSOLE_IDLE_MINUTES` without use and never outlives
//! the session's absolute lifetime. Every form carries a CSRF token bound to the session (or,
//! before sign-in, to a random cookie); the cookies are `HttpOnly`, `SameSite=Strict`, and
//! `Secure` outside development.

use actix_web::cookie::{Cookie, SameSite, time::Duration as CookieDuration};
use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpMessage as _, HttpRequest, web};
use futures_util::future::LocalBoxFuture;
use subtle::ConstantTimeEq as _;

use super::i18n::Locale;
use super::{ConsoleError, PATH};
use crate::auth::{Caller, requires_mfa};
use crate::http::ApiError;
use crate::state::AppState;

/// The session cookie: a signed access token naming the session.
pub const SESSION_COOKIE: &str = "tumaini_session";
/// Before sign-in: a random value the sign-in and reset forms repeat (login CSRF).
pub const FORM_COOKIE: &str = "tumaini_form";
/// The language of a visitor who has not signed in, or the last one chosen on this browser.
pub const LANGUAGE_COOKIE: &str = "tumaini_lang";

fn cookie<'c>(state: &AppState, name: &'c str, value: String, max_age: Option<i64>) -> Cookie<'c> {
    let mut cookie = Cookie::build(name, value)
        .path(PATH)
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(state.auth.secure_cookies)
        .finish();
    if let Some(seconds) = max_age {
        cookie.set_max_age(CookieDuration::seconds(seconds));
    }
    cookie
}

/// A cookie that removes `name` from the browser.
pub fn removal<'c>(state: &AppState, name: &'c str) -> Cookie<'c> {
    cookie(state, name, String::new(), Some(0))
}

/// The session cookie for `caller`'s session, renewed on every page.
pub fn session_cookie(state: &AppState, caller: &Caller) -> Result<Cookie<'static>, ApiError> {
    let left = caller.session.expires_at - tumaini_db::time::now_utc();
    new_session_cookie(state, &caller.user.id, &caller.session.id, left)
}

/// The session cookie of `session`: good for the idle timeout, or for what is `left` of the
/// session's absolute lifetime if that is less.
pub fn new_session_cookie(
    state: &AppState,
    user: &tumaini_db::ids::UserId,
    session: &tumaini_db::ids::SessionId,
    left: chrono::Duration,
) -> Result<Cookie<'static>, ApiError> {
    let idle = i64::try_from(state.auth.settings.console_idle.as_secs()).unwrap_or(900);
    let ttl = idle.min(left.num_seconds()).max(1);
    let (token, _) = state.auth.keys.issue_access(user, session, ttl)?;
    Ok(cookie(state, SESSION_COOKIE, token, Some(ttl)))
}

/// The language cookie (a year; it holds only a language code).
pub fn language_cookie(state: &AppState, locale: Locale) -> Cookie<'static> {
    let mut cookie = cookie(
        state,
        LANGUAGE_COOKIE,
        locale.code().to_owned(),
        Some(31_536_000),
    );
    cookie.set_http_only(false);
    cookie.set_same_site(SameSite::Lax);
    cookie
}

fn cookie_value(req: &HttpRequest, name: &str) -> Option<String> {
    req.cookie(name)
        .map(|c| c.value().to_owned())
        .filter(|v| !v.is_empty())
}

/// The language for a request: the cookie's, else the browser's first spoken language.
pub fn request_locale(req: &HttpRequest) -> Locale {
    cookie_value(req, LANGUAGE_COOKIE)
        .and_then(|code| Locale::from_code(&code))
        .or_else(|| {
            req.headers()
                .get(header::ACCEPT_LANGUAGE)
                .and_then(|v| v.to_str().ok())
                .and_then(Locale::from_accept_language)
        })
        .unwrap_or_default()
}

fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// A visitor who has not signed in (sign-in, password reset): the language, and the form token
/// the page's forms must repeat.
#[derive(Debug, Clone)]
pub struct Visitor {
    /// The page's language.
    pub locale: Locale,
    /// The form token: the cookie's value, or a new one (then `new_cookie` sets it).
    pub form_token: String,
    /// A new form cookie to set with the response.
    pub new_cookie: Option<Cookie<'static>>,
    /// Whether the request came with a session cookie (sign-in then offers to continue).
    pub has_session: bool,
}

impl Visitor {
    /// Refuses a form whose token is not the cookie's (403).
    pub fn check(&self, token: &str) -> Result<(), ConsoleError> {
        if self.new_cookie.is_none() && same(token, &self.form_token) {
            Ok(())
        } else {
            Err(ConsoleError::Forgery)
        }
    }
}

impl FromRequest for Visitor {
    type Error = ConsoleError;
    type Future = std::future::Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let locale = request_locale(req);
        let has_session = cookie_value(req, SESSION_COOKIE).is_some();
        let result = match (
            cookie_value(req, FORM_COOKIE).filter(|v| v.len() == 43),
            req.app_data::<web::Data<AppState>>(),
        ) {
            (Some(form_token), _) => Ok(Self {
                locale,
                form_token,
                new_cookie: None,
                has_session,
            }),
            (None, Some(state)) => {
                let (token, _) = state.auth.keys.new_opaque_token();
                let value = token.as_str().to_owned();
                Ok(Self {
                    locale,
                    form_token: value.clone(),
                    new_cookie: Some(cookie(state, FORM_COOKIE, value, None)),
                    has_session,
                })
            }
            (None, None) => Err(ConsoleError::Api(ApiError::Internal(anyhow::anyhow!(
                "no application state"
            )))),
        };
        std::future::ready(result)
    }
}

/// A signed-in member of staff: who, in which language, the CSRF token of their forms, and the
/// renewed session cookie to send back.
#[derive(Debug, Clone)]
pub struct Staff {
    /// The caller, checked as the API checks a bearer token's.
    pub caller: Caller,
    /// The page's language: the person's own choice, else the browser's.
    pub locale: Locale,
    /// The token every form of this session repeats.
    pub csrf: String,
    /// The renewed session cookie.
    pub renewed: Cookie<'static>,
}

/// A signed-in person's CSRF token, kept with the request for the error pages' forms.
#[derive(Debug, Clone)]
pub struct CsrfToken(pub String);

/// The CSRF token of a session: a keyed hash of its id (nothing a page could not already
/// learn, and useless for any other session).
pub fn csrf_token(state: &AppState, caller: &Caller) -> String {
    let payload = format!("console-csrf|{}", caller.session.id);
    state.auth.keys.sign_cursor(payload.as_bytes())
}

impl Staff {
    /// Refuses a form whose CSRF token is missing or not this session's (403). Call it first
    /// in every handler of a form.
    pub fn check(&self, token: &str) -> Result<(), ConsoleError> {
        if same(token, &self.csrf) {
            Ok(())
        } else {
            Err(ConsoleError::Forgery)
        }
    }
}

/// Paths a person who must first change their password or enrol a second factor may still use.
fn allowed_before_setup(path: &str) -> bool {
    [
        "/console/password",
        "/console/mfa",
        "/console/sign-out",
        "/console/language",
    ]
    .iter()
    .any(|p| path.starts_with(p))
}

impl FromRequest for Staff {
    type Error = ConsoleError;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let token = cookie_value(req, SESSION_COOKIE);
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let path = req.path().to_owned();
        let method = req.method().clone();
        let browser_locale = request_locale(req);
        let request = req.clone();
        let authenticated = token
            .is_some()
            .then(|| crate::auth::authenticate_token(req, token));
        Box::pin(async move {
            let state = state.ok_or_else(|| {
                ConsoleError::Api(ApiError::Internal(anyhow::anyhow!("no application state")))
            })?;
            let next = (method == actix_web::http::Method::GET).then(|| path.clone());
            let Some(authenticated) = authenticated else {
                return Err(ConsoleError::SignIn { next, stale: false });
            };
            let caller = match authenticated.await {
                Ok(caller) => caller,
                Err(ApiError::Problem { .. }) => {
                    return Err(ConsoleError::SignIn { next, stale: true });
                }
                Err(other) => return Err(ConsoleError::Api(other)),
            };
            if !allowed_before_setup(&path) {
                if caller.user.password_must_change {
                    return Err(ConsoleError::Redirect("/console/password".to_owned()));
                }
                if requires_mfa(caller.user.role)
                    && !(caller.user.mfa_enabled && caller.session.mfa_verified)
                {
                    return Err(ConsoleError::Redirect("/console/mfa".to_owned()));
                }
            }
            let user_id = caller.user.id.clone();
            let stored = crate::http::with_conn(&state.pool, move |conn| {
                Ok(tumaini_db::models::User::language(conn, &user_id)?)
            })
            .await
            .map_err(ConsoleError::Api)?;
            let locale = stored
                .as_deref()
                .and_then(Locale::from_code)
                .unwrap_or(browser_locale);
            let csrf = csrf_token(&state, &caller);
            {
                let mut extensions = request.extensions_mut();
                extensions.insert(locale);
                extensions.insert(CsrfToken(csrf.clone()));
            }
            let renewed = session_cookie(&state, &caller).map_err(ConsoleError::Api)?;
            Ok(Self {
                csrf,
                caller,
                locale,
                renewed,
            })
        })
    }
}
