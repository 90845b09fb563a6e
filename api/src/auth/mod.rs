//! Authentication: who is calling, proven by a short-lived access token whose session is still
//! live. Passwords, tokens, TOTP and throttling live in the submodules; the HTTP endpoints in
//! `routes::auth`, the account workflows in `accounts`.

pub mod clients;
pub mod password;
pub mod tokens;
pub mod totp;

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpMessage, HttpRequest, web};
use futures_util::future::LocalBoxFuture;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use tumaini_db::audit_chain::EventKey;
use tumaini_db::ids::SessionId;
use tumaini_db::models::{Organisation, Session, User};
use tumaini_db::time::now_utc;
use tumaini_db::vocabulary::Role;

use crate::config::Config;
use crate::http::{ApiError, ClientKey, ClientRequestId, ProblemType, RequestId, client_address};
use crate::state::AppState;
use password::PasswordHasher;
use tokens::Keys;

pub use crate::config::AuthSettings;
pub use clients::{ClientCaller, Principal};

/// Everything sign-in needs, built once at start and shared by the workers.
#[derive(Debug)]
pub struct AuthService {
    /// Lifetimes, costs and thresholds.
    pub settings: AuthSettings,
    /// Per-purpose keys derived from the server secret.
    pub keys: Keys,
    /// Argon2id, bounded.
    pub hasher: PasswordHasher,
    /// Sign-in attempts per client address (an IPv6 client: per /64).
    pub login_limiter: DefaultKeyedRateLimiter<ClientKey>,
    /// Base of links in e-mails.
    pub public_url: String,
    /// Where refused sign-ins and account locks are counted.
    pub metrics: crate::metrics::Metrics,
    /// Whether the web console's cookies are marked `Secure` (outside development, or
    /// whenever the public address is HTTPS).
    pub secure_cookies: bool,
}

impl AuthService {
    /// Builds the service from configuration, reading (or in development creating) the
    /// server secret.
    pub fn from_config(
        config: &Config,
        metrics: crate::metrics::Metrics,
        audit_events: EventKey,
    ) -> anyhow::Result<Self> {
        let settings = config.auth.clone();
        let secret = settings.load_secret()?;
        let per_minute = NonZeroU32::new(settings.login_rate_per_minute).unwrap_or(NonZeroU32::MIN);
        Ok(Self {
            keys: Keys::derive(&secret).with_audit_events(audit_events),
            hasher: PasswordHasher::new(settings.argon2, settings.max_concurrent_hashes)?,
            login_limiter: RateLimiter::keyed(Quota::per_minute(per_minute)),
            public_url: config.public_url.clone(),
            metrics,
            secure_cookies: config.env == crate::config::Environment::Production
                || config.public_url.starts_with("https://"),
            settings,
        })
    }
}

impl AuthService {
    /// Whether the client may make another sign-in attempt this minute (its bucket: the
    /// address, or an IPv6 client's /64).
    pub fn client_may_try(&self, context: &RequestContext) -> bool {
        context
            .client_ip
            .is_none_or(|ip| self.login_limiter.check_key(&ClientKey::of(ip)).is_ok())
    }
}

/// Roles that must use a second factor: until enrolled they can only enrol. Supervisors too:
/// they open break-glass on their organisation's cases and manage its accounts.
pub const fn requires_mfa(role: Role) -> bool {
    matches!(
        role,
        Role::Coordinator | Role::CompetentAuthority | Role::Admin | Role::Supervisor
    )
}

/// The context of a request for its audit event.
#[derive(Debug, Clone, Default)]
pub struct RequestContext {
    /// The request id (the server's own).
    pub request_id: String,
    /// The client address under a keyed hash.
    pub client_hash: Option<String>,
    /// The client address itself, for rate limits only (never stored): the peer, or the
    /// client a trusted proxy names.
    pub client_ip: Option<IpAddr>,
    /// The request id the client sent, if well-formed.
    pub client_request_id: Option<String>,
    /// The key its audit events are authenticated with.
    pub audit_events: Option<EventKey>,
}

impl RequestContext {
    /// Reads the context of a request, believing a forwarding header only from trusted
    /// proxies.
    pub fn of(req: &HttpRequest, keys: &Keys, proxies: &crate::http::ProxySettings) -> Self {
        let client_ip = client_address::client_address(req, proxies);
        let extensions = req.extensions();
        Self {
            request_id: extensions
                .get::<RequestId>()
                .map(|r| r.0.clone())
                .unwrap_or_default(),
            client_hash: client_ip.map(|ip| keys.client_hash(&ip.to_string())),
            client_ip,
            client_request_id: extensions.get::<ClientRequestId>().map(|c| c.0.clone()),
            audit_events: keys.audit_events().cloned(),
        }
    }

    /// The context of work no request asked for (a background job), whose audit events are
    /// authenticated with `audit_events`.
    pub fn system(audit_events: &EventKey) -> Self {
        Self {
            audit_events: Some(audit_events.clone()),
            ..Self::default()
        }
    }

    /// The context of a command-line action: no client, a request id marking the CLI.
    pub fn command_line(audit_events: &EventKey) -> Self {
        Self {
            request_id: format!("cli-{}", uuid::Uuid::now_v7()),
            audit_events: Some(audit_events.clone()),
            ..Self::default()
        }
    }
}

/// A signed-in caller whose session is live, whose account and organisation are active, and
/// who has a second factor when the role needs one.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The account, as stored now (role and organisation are never taken from the token).
    pub user: User,
    /// The account's organisation, as stored now.
    pub organisation: Organisation,
    /// The session.
    pub session: Session,
    /// Request id and client hash, for audit events.
    pub context: RequestContext,
}

impl Caller {
    /// The caller as the policies see it.
    pub fn principal(&self) -> crate::authz::PrincipalFacts {
        crate::authz::PrincipalFacts {
            user_id: self.user.id.to_string(),
            role: self.user.role,
            organisation: crate::authz::OrganisationFacts::from(&self.organisation),
            mfa: self.session.mfa_verified,
        }
    }
}

/// A signed-in caller who may still lack a required second factor: only the enrolment,
/// profile and sign-out endpoints accept one.
#[derive(Debug, Clone)]
pub struct EnrollingCaller(pub Caller);

fn unauthenticated() -> ApiError {
    ApiError::bare(ProblemType::Unauthenticated)
}

/// The bearer token of the `Authorization` header, if there is one.
fn bearer_token(req: &HttpRequest) -> Option<String> {
    req.headers()
        .get(actix_web::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim)
        .map(str::to_owned)
}

fn authenticate(req: &HttpRequest) -> LocalBoxFuture<'static, Result<Caller, ApiError>> {
    authenticate_token(req, bearer_token(req))
}

/// The caller whose access `token` is (a bearer token, or the web console's session cookie):
/// the same checks for both, on the session as stored now.
pub(crate) fn authenticate_token(
    req: &HttpRequest,
    token: Option<String>,
) -> LocalBoxFuture<'static, Result<Caller, ApiError>> {
    let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
        return Box::pin(async {
            Err(ApiError::Internal(anyhow::anyhow!("no application state")))
        });
    };
    let context = RequestContext::of(req, &state.auth.keys, &state.auth.settings.proxies);
    Box::pin(async move {
        let token = token.ok_or_else(unauthenticated)?;
        let claims = state.auth.keys.verify_access(&token).map_err(|refusal| {
            tracing::debug!(reason = %refusal, "access token refused");
            unauthenticated()
        })?;
        // A machine client's token never passes for a person's.
        if claims.cid.is_some() {
            return Err(unauthenticated());
        }
        let session_id: SessionId = claims.sid.parse().map_err(|_| unauthenticated())?;
        let found = crate::http::with_conn(&state.pool, move |conn| {
            Session::find_live(conn, &session_id, now_utc()).map_err(|e| {
                // A stored value that is not a known code (a role someone wrote into the
                // database by hand, say) is no identity at all.
                if let Some(cause) = e.undecodable() {
                    tracing::error!(error = %cause, "an account holds an unknown code; access refused");
                    return unauthenticated();
                }
                ApiError::from(e)
            })
        })
        .await?;
        let Some((session, user, organisation)) = found else {
            return Err(unauthenticated());
        };
        if user.id.as_str() != claims.sub {
            return Err(unauthenticated());
        }
        Ok(Caller {
            user,
            organisation,
            session,
            context,
        })
    })
}

impl FromRequest for EnrollingCaller {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let caller = authenticate(req);
        Box::pin(async move { Ok(EnrollingCaller(caller.await?)) })
    }
}

impl FromRequest for Caller {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let caller = authenticate(req);
        Box::pin(async move {
            let caller = caller.await?;
            if caller.user.password_must_change {
                return Err(ApiError::problem(
                    ProblemType::Forbidden,
                    "the password was issued by someone else: change it first at POST /api/v1/auth/password",
                ));
            }
            if requires_mfa(caller.user.role)
                && !(caller.user.mfa_enabled && caller.session.mfa_verified)
            {
                return Err(ApiError::problem(
                    ProblemType::MfaEnrolmentRequired,
                    "this role requires a second factor: enrol at POST /api/v1/auth/mfa/totp",
                ));
            }
            Ok(caller)
        })
    }
}

/// Shared handle type for the service inside the application state.
pub type SharedAuth = Arc<AuthService>;
