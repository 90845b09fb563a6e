//! The webhook endpoints of an organisation: register (the signing secret is answered once),
//! list, switch back on, replace the secret, delete. Administrators manage every
//! organisation's, a supervisor their own. Each handler calls one function of the webhook
//! service (`crate::webhooks`) and shapes the answer.

use actix_web::{HttpResponse, delete, get, post, web};
use serde::Deserialize;
use tumaini_db::ids::{OrgId, WebhookId};
use utoipa::IntoParams;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::auth::Caller;
use crate::http::{ApiError, Problem};
use crate::state::AppState;
use crate::webhooks::{self, WebhookInput, WebhookView, WebhookWithSecret};

/// Registers the routes of this module.
pub fn register(cfg: &mut ServiceConfig) {
    cfg.service(create_webhook)
        .service(list_webhooks)
        .service(delete_webhook)
        .service(enable_webhook)
        .service(rotate_webhook_secret);
}

/// Filters for the endpoint list.
#[derive(Debug, Deserialize, IntoParams)]
pub struct WebhookFilter {
    /// Only this organisation's endpoints (administrators; supervisors always see their own).
    pub organisation_id: Option<OrgId>,
}

/// Register an HTTPS endpoint for event types. Every delivery is signed per the Standard
/// Webhooks scheme (`webhook-id`, `webhook-timestamp`, `webhook-signature`) with the secret
/// answered here, once; it carries ids, references, types and times only. The URL must be
/// `https` and resolve to public addresses only (422 naming `url` otherwise).
#[utoipa::path(
    tag = "webhooks",
    security(("bearer" = [])),
    request_body = WebhookInput,
    responses(
        (status = 201, description = "Registered; the secret is shown this once", body = WebhookWithSecret),
        (
            status = 401,
            description = "Not signed in, or the session ended",
            body = Problem,
            content_type = "application/problem+json",
        ),
        (
            status = 403,
            description = "Your role may not do this",
            body = Problem,
            content_type = "application/problem+json",
        ),
        (
            status = 404,
            description = "No such organisation, or none you manage",
            body = Problem,
            content_type = "application/problem+json",
        ),
        (
            status = 409,
            description = "The organisation holds the most endpoints allowed",
            body = Problem,
            content_type = "application/problem+json",
        ),
        (
            status = 422,
            description = "A field is invalid: the problem names it",
            body = Problem,
            content_type = "application/problem+json",
        ),
    ),
)]
#[post("/api/v1/webhooks")]
pub async fn create_webhook(
    state: web::Data<AppState>,
    caller: Caller,
    body: web::Json<WebhookInput>,
) -> Result<HttpResponse, ApiError> {
    let created = webhooks::create(&state, caller, body.into_inner()).await?;
    Ok(HttpResponse::Created().json(created))
}

/// The webhook endpoints: every organisation's (administrators; or one organisation's) or the
/// caller's organisation's (supervisors). Secrets are never shown again.
#[utoipa::path(
    tag = "webhooks",
    security(("bearer" = [])),
    params(WebhookFilter),
    responses(
        (status = 200, description = "Success", body = Vec<WebhookView>),
        (
            status = 401,
            description = "Not signed in, or the session ended",
            body = Problem,
            content_type = "application/problem+json",
        ),
        (
            status = 403,
            description = "Your role may not do this",
            body = Problem,
            content_type = "application/problem+json",
        ),
    ),
)]
#[get("/api/v1/webhooks")]
pub async fn list_webhooks(
    state: web::Data<AppState>,
    caller: Caller,
    filter: web::Query<WebhookFilter>,
) -> Result<HttpResponse, ApiError> {
    let organisation = filter.into_inner().organisation_id;
    let endpoints = webhooks::list(&state, caller, organisation).await?;
    Ok(HttpResponse::Ok().json(endpoints))
}

/// Delete an endpoint: nothing more is sent to it, its secret is destroyed and its undelivered
/// events are dropped.
#[utoipa::path(
    tag = "webhooks",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    responses(
        (status = 204, description = "Deleted"),
        (
            status = 401,
            description = "Not signed in, or the session ended",
            body = Problem,
            content_type = "application/problem+json",
        ),
        (
            status = 403,
            description = "Your role may not do this",
            body = Problem,
            content_type = "application/problem+json",
        ),
        (
            status = 404,
            description = "No such endpoint, or none you may see",
            body = Problem,
            content_type = "application/problem+json",
        ),
    ),
)]
#[delete("/api/v1/webhooks/{id}")]
pub async fn delete_webhook(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<WebhookId>,
) -> Result<HttpResponse, ApiError> {
    webhooks::delete(&state, caller, id.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Switch back on an endpoint that was switched off for failing too long: its undelivered
/// events are sent again from now.
#[utoipa::path(
    tag = "webhooks",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    responses(
        (status = 200, description = "Switched on", body = WebhookView),
        (
            status = 401,
            description = "Not signed in, or the session ended",
            body = Problem,
            content_type = "application/problem+json",
        ),
        (
            status = 403,
            description = "Your role may not do this",
            body = Problem,
            content_type = "application/problem+json",
        ),
        (
            status = 404,
            description = "No such endpoint, or none you may see",
            body = Problem,
            content_type = "application/problem+json",
        ),
        (
            status = 409,
            description = "The endpoint is not switched off",
            body = Problem,
            content_type = "application/problem+json",
        ),
    ),
)]
#[post("/api/v1/webhooks/{id}/enable")]
pub async fn enable_webhook(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<WebhookId>,
) -> Result<HttpResponse, ApiError> {
    let endpoint = webhooks::enable(&state, caller, id.into_inner()).await?;
    Ok(HttpResponse::Ok().json(endpoint))
}

/// Replace an endpoint's signing secret: the old one stops signing at once, the new one is
/// answered this once.
#[utoipa::path(
    tag = "webhooks",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    responses(
        (status = 200, description = "Replaced; the secret is shown this once", body = WebhookWithSecret),
        (
            status = 401,
            description = "Not signed in, or the session ended",
            body = Problem,
            content_type = "application/problem+json",
        ),
        (
            status = 403,
            description = "Your role may not do this",
            body = Problem,
            content_type = "application/problem+json",
        ),
        (
            status = 404,
            description = "No such endpoint, or none you may see",
            body = Problem,
            content_type = "application/problem+json",
        ),
    ),
)]
#[post("/api/v1/webhooks/{id}/rotate-secret")]
pub async fn rotate_webhook_secret(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<WebhookId>,
) -> Result<HttpResponse, ApiError> {
    let rotated = webhooks::rotate_secret(&state, caller, id.into_inner()).await?;
    Ok(HttpResponse::Ok().json(rotated))
}
