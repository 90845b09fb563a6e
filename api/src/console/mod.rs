//! The web console: server-rendered pages under `/console/` for shelter staff, first
//! responders, supervisors and coordinators, on a poor connection and a shared computer.
//!
//! - A client of the same services the JSON API calls: a page parses its form, calls one
//!   service function, and renders; no rule is written twice.
//! - No script at all: every page is plain HTML and one stylesheet, so the Content-Security-
//!   Policy allows no script, inline or not.
//! - Signed in by a cookie holding a short token of an ordinary session ([`session`]); every
//!   form carries a CSRF token; pages with anything personal are `no-store`.
//! - In English and Swahili, with French and Arabic prepared ([`i18n`]).
//! - Errors are pages in the reader's language, never the API's problem documents.

pub mod i18n;
pub mod layout;
pub mod session;

mod account;
mod cases;
pub mod links;
mod oversight;
mod referrals;
mod work;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{StatusCode, header};
use actix_web::middleware::{Next, from_fn};
use actix_web::{HttpMessage as _, HttpRequest, HttpResponse, ResponseError, web};

use crate::http::{ApiError, ProblemType};
use i18n::Locale;

/// Where the console lives.
pub const PATH: &str = "/console";

/// The stylesheet's address, named by a hash of its content: cached for a year and fetched
/// once, and fetched anew the day an upgrade changes it.
pub static STYLESHEET: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    use sha2::Digest as _;
    let digest = sha2::Sha256::digest(STYLESHEET_BODY.as_bytes());
    format!("/console/static/console-{}.css", hex::encode(&digest[..6]))
});

const STYLESHEET_BODY: &str = include_str!("static/console.css");

/// The Content-Security-Policy of every console page: nothing but this origin's stylesheet and
/// images, forms posted only here, no script of any kind, no framing.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'self'; img-src 'self' data:; \
form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// Why a page was not served.
#[derive(Debug)]
pub enum ConsoleError {
    /// Not signed in: to the sign-in page, and back to `next` (a console path) afterwards; a
    /// session cookie that no longer opens anything is removed (`stale`). A request without the
    /// cookie removes nothing: a link followed from another site comes without the
    /// `SameSite=Strict` cookie of a person who is signed in.
    SignIn {
        /// The console path to return to.
        next: Option<String>,
        /// The request carried a session cookie that is no longer good.
        stale: bool,
    },
    /// Somewhere else first (a password to change, a second factor to enrol).
    Redirect(String),
    /// A form without this session's CSRF token.
    Forgery,
    /// What the service answered.
    Api(ApiError),
}

impl From<ApiError> for ConsoleError {
    fn from(error: ApiError) -> Self {
        Self::Api(error)
    }
}

impl From<tumaini_db::DbError> for ConsoleError {
    fn from(error: tumaini_db::DbError) -> Self {
        Self::Api(ApiError::from(error))
    }
}

impl std::fmt::Display for ConsoleError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::SignIn { .. } => f.write_str("not signed in"),
            Self::Redirect(_) => f.write_str("redirected"),
            Self::Forgery => f.write_str("form token missing or wrong"),
            Self::Api(e) => write!(f, "{e}"),
        }
    }
}

impl ResponseError for ConsoleError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::SignIn { .. } | Self::Redirect(_) => StatusCode::SEE_OTHER,
            Self::Forgery => StatusCode::FORBIDDEN,
            Self::Api(e) => e.status_code(),
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            Self::SignIn { next, stale } => {
                let location = match next.as_deref().filter(|n| is_console_path(n)) {
                    Some(next) => format!("/console/sign-in?next={next}"),
                    None => "/console/sign-in".to_owned(),
                };
                let mut response = HttpResponse::SeeOther();
                response.insert_header((header::LOCATION, location));
                if *stale {
                    let mut removal = actix_web::cookie::Cookie::new(session::SESSION_COOKIE, "");
                    removal.set_path(PATH);
                    removal.make_removal();
                    response.cookie(removal);
                }
                response.finish()
            }
            Self::Redirect(to) => HttpResponse::SeeOther()
                .insert_header((header::LOCATION, to.as_str()))
                .finish(),
            Self::Forgery => {
                ApiError::problem(ProblemType::Forbidden, "form token missing or wrong")
                    .error_response()
            }
            Self::Api(e) => e.error_response(),
        }
    }
}

/// Whether `path` is a console page's path made of ids and words only (no query, no other
/// site, no `//` or `..`): what a sign-in may return to.
pub fn is_console_path(path: &str) -> bool {
    path.starts_with("/console/")
        && path.len() <= 200
        && !path.contains("//")
        && !path.contains("..")
        && path
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '-' | '_'))
}

/// A page's result.
pub type PageResult = Result<HttpResponse, ConsoleError>;

/// The console's routes, under [`PATH`].
pub fn scope() -> actix_web::Scope<
    impl actix_web::dev::ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<BoxBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    let scope = web::scope(PATH)
        .app_data(
            web::FormConfig::default()
                .limit(64 * 1024)
                .error_handler(|_, _| {
                    ApiError::problem(ProblemType::InvalidBody, "the form could not be read").into()
                }),
        )
        .route("", web::get().to(home))
        .route("/", web::get().to(home))
        .route("/static/{name}", web::get().to(stylesheet));
    let scope = account::register(scope);
    let scope = links::register_pages(scope);
    let scope = work::register(scope);
    let scope = cases::register(scope);
    let scope = referrals::register(scope);
    let scope = oversight::register(scope);
    scope
        .default_service(web::to(|| async {
            Err::<HttpResponse, _>(ApiError::bare(ProblemType::NotFound))
        }))
        .wrap(from_fn(pages_for_errors))
}

async fn home(req: HttpRequest) -> HttpResponse {
    let to = if req.cookie(session::SESSION_COOKIE).is_some() {
        "/console/work"
    } else {
        "/console/sign-in"
    };
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, to))
        .finish()
}

async fn stylesheet(name: web::Path<String>) -> Result<HttpResponse, ApiError> {
    if STYLESHEET.strip_prefix("/console/static/") != Some(name.as_str()) {
        return Err(ApiError::bare(ProblemType::NotFound));
    }
    Ok(HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "public, max-age=31536000, immutable"))
        .body(STYLESHEET_BODY))
}

/// Turns every error the console's handlers and extractors answer (problem documents) into a
/// page in the reader's language, with the status kept; a 401 goes to sign-in.
async fn pages_for_errors(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let response = next.call(req).await?;
    let is_problem = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/problem+json"));
    if !is_problem {
        return Ok(response.map_into_boxed_body());
    }
    let status = response.status();
    let request = response.request().clone();
    let stored = request.extensions().get::<Locale>().copied();
    let locale = stored.unwrap_or_else(|| session::request_locale(&request));
    if status == StatusCode::UNAUTHORIZED {
        let refusal = ConsoleError::SignIn {
            next: None,
            stale: false,
        };
        return Ok(ServiceResponse::new(request, refusal.error_response()));
    }
    let csrf = request
        .extensions()
        .get::<session::CsrfToken>()
        .map(|c| c.0.clone());
    let retry_after = response.headers().get(header::RETRY_AFTER).cloned();
    let mut page = layout::error_page(locale, status, csrf.as_deref());
    if let Some(retry_after) = retry_after {
        page.headers_mut().insert(header::RETRY_AFTER, retry_after);
    }
    Ok(ServiceResponse::new(request, page))
}
