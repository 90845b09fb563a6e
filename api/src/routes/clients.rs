//! Machine clients: the administrators' endpoints (register, list, read, rotate a secret,
//! retire a secret, revoke) and the OAuth 2.0 token endpoint (client credentials). Each
//! handler parses and calls one function of `crate::clients`.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use tumaini_db::ids::{ClientId, ClientSecretId};
use utoipa_actix_web::service_config::ServiceConfig;

use crate::auth::{Caller, RequestContext};
use crate::clients::token::{self, ClientTokenForm, ClientTokenResponse};
use crate::clients::{self, ClientInput, ClientView, IssuedSecret};
use crate::http::{ApiError, Problem, ProblemType, is_form};
use crate::state::AppState;

/// Registers the routes of this module.
pub fn register(cfg: &mut ServiceConfig) {
    cfg.service(client_token)
        .service(create_client)
        .service(list_clients)
        .service(read_client)
        .service(rotate_secret)
        .service(retire_secret)
        .service(revoke_client);
}

/// An access token for a machine client: the OAuth 2.0 client credentials grant (RFC 6749
/// §4.4). Send `grant_type=client_credentials` (and optionally `scope`, a space-separated
/// subset of the scopes granted) as `application/x-www-form-urlencoded`, authenticating with
/// HTTP Basic (`client_id:client_secret`) or the form fields `client_id` and `client_secret`.
/// The token lives ten minutes; every request with it checks the client again (revoked,
/// expired, organisation switched off, source network). Refusals are problem documents whose
/// `error` member carries the RFC 6749 §5.2 code. Attempts count against the per-address
/// sign-in limit.
#[utoipa::path(
    tag = "auth",
    request_body(
        content = ClientTokenForm,
        content_type = "application/x-www-form-urlencoded",
    ),
    responses(
        (status = 200, description = "A token", body = ClientTokenResponse),
        (
            status = 400,
            description = "`invalid_request`, `invalid_scope` or `unsupported_grant_type`",
            body = Problem,
            content_type = "application/problem+json",
        ),
        (
            status = 401,
            description = "`invalid_client`: unknown, wrong, revoked, expired or off-network",
            body = Problem,
            content_type = "application/problem+json",
        ),
        (
            status = 415,
            description = "The body is not a form",
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
#[post("/api/v1/auth/token")]
pub async fn client_token(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    if !is_form(req.headers().get(header::CONTENT_TYPE)) {
        return Err(ApiError::problem(
            ProblemType::UnsupportedMediaType,
            "send the token request as application/x-www-form-urlencoded",
        ));
    }
    let form: ClientTokenForm = serde_urlencoded::from_bytes(&body).map_err(|_| {
        ApiError::problem(
            ProblemType::OAuthInvalidRequest,
            "the form is not one the token endpoint takes",
        )
    })?;
    let basic = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Basic ")
                .or_else(|| v.strip_prefix("basic "))
        })
        .map(str::to_owned);
    let context = RequestContext::of(&req, &state.auth.keys, &state.auth.settings.proxies);
    let issued = token::grant(&state, context, basic, form).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::PRAGMA, "no-cache"))
        .json(issued))
}

/// Register a machine client for an organisation (administrators). The answer holds the
/// client's first secret: it is shown this once and stored only as a keyed hash.
#[utoipa::path(
    tag = "administration",
    security(("bearer" = [])),
    request_body = ClientInput,
    responses(
        (status = 201, description = "Registered; the secret is shown once", body = IssuedSecret),
        (
            status = 403,
            description = "Your role may not do this",
            body = Problem,
            content_type = "application/problem+json",
        ),
        (
            status = 404,
            description = "No such organisation",
            body = Problem,
            content_type = "application/problem+json",
        ),
        (
            status = 409,
            description = "The organisation is switched off",
            body = Problem,
            content_type = "application/problem+json",
        ),
        (
            status = 422,
            description = "A field is missing or not valid (the field is named)",
            body = Problem,
            content_type = "application/problem+json",
        ),
    ),
)]
#[post("/api/v1/admin/clients")]
pub async fn create_client(
    state: web::Data<AppState>,
    caller: Caller,
    body: web::Json<ClientInput>,
) -> Result<HttpResponse, ApiError> {
    let issued = clients::create(&state, caller, body.into_inner()).await?;
    Ok(HttpResponse::Created().json(issued))
}

/// Every machine client, with its secrets' ids and dates, never a secret (administrators).
#[utoipa::path(
    tag = "administration",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The clients", body = Vec<ClientView>),
        (
            status = 403,
            description = "Your role may not do this",
            body = Problem,
            content_type = "application/problem+json",
        ),
    ),
)]
#[get("/api/v1/admin/clients")]
pub async fn list_clients(
    state: web::Data<AppState>,
    caller: Caller,
) -> Result<web::Json<Vec<ClientView>>, ApiError> {
    Ok(web::Json(clients::list(&state, caller).await?))
}

/// One machine client, never its secret (administrators).
#[utoipa::path(
    tag = "administration",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    responses(
        (status = 200, description = "The client", body = ClientView),
        (
            status = 404,
            description = "No such client, or none you may see",
            body = Problem,
            content_type = "application/problem+json",
        ),
    ),
)]
#[get("/api/v1/admin/clients/{id}")]
pub async fn read_client(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<ClientId>,
) -> Result<web::Json<ClientView>, ApiError> {
    Ok(web::Json(
        clients::get(&state, caller, id.into_inner()).await?,
    ))
}

/// Rotate: issue a second secret (administrators), shown once. Both secrets work until the
/// old one is retired.
#[utoipa::path(
    tag = "administration",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    responses(
        (status = 201, description = "The new secret, shown once", body = IssuedSecret),
        (
            status = 404,
            description = "No such client, or none you may see",
            body = Problem,
            content_type = "application/problem+json",
        ),
        (
            status = 409,
            description = "The client is revoked or expired",
            body = Problem,
            content_type = "application/problem+json",
        ),
    ),
)]
#[post("/api/v1/admin/clients/{id}/secrets")]
pub async fn rotate_secret(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<ClientId>,
) -> Result<HttpResponse, ApiError> {
    let issued = clients::rotate(&state, caller, id.into_inner()).await?;
    Ok(HttpResponse::Created().json(issued))
}

/// Retire one secret (administrators): it stops working at once. The last live secret cannot
/// be retired: revoke the client instead.
#[utoipa::path(
    tag = "administration",
    security(("bearer" = [])),
    params(("id" = String, Path), ("secret_id" = String, Path)),
    responses(
        (status = 200, description = "The client", body = ClientView),
        (
            status = 404,
            description = "No such client or live secret, or none you may see",
            body = Problem,
            content_type = "application/problem+json",
        ),
        (
            status = 409,
            description = "It is the client's last live secret",
            body = Problem,
            content_type = "application/problem+json",
        ),
    ),
)]
#[post("/api/v1/admin/clients/{id}/secrets/{secret_id}/retire")]
pub async fn retire_secret(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(ClientId, ClientSecretId)>,
) -> Result<web::Json<ClientView>, ApiError> {
    let (id, secret) = path.into_inner();
    Ok(web::Json(
        clients::retire(&state, caller, id, secret).await?,
    ))
}

/// Revoke a machine client (administrators): its secrets are retired and its tokens stop at
/// the next request.
#[utoipa::path(
    tag = "administration",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    responses(
        (status = 200, description = "The client, revoked", body = ClientView),
        (
            status = 404,
            description = "No such client, or none you may see",
            body = Problem,
            content_type = "application/problem+json",
        ),
    ),
)]
#[post("/api/v1/admin/clients/{id}/revoke")]
pub async fn revoke_client(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<ClientId>,
) -> Result<web::Json<ClientView>, ApiError> {
    Ok(web::Json(
        clients::revoke(&state, caller, id.into_inner()).await?,
    ))
}
