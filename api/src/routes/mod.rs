//! The HTTP routes, registered in one table ([`register`]) from which the OpenAPI document is
//! generated: a route cannot be served without being documented.

pub mod admin;
pub mod anonymous;
pub mod approvals;
pub mod audit;
pub mod auth;
pub mod cases;
pub mod clients;
pub mod contract;
pub mod directory;
pub mod docs;
pub mod health;
pub mod metrics;
pub mod notifications;
pub mod referrals;
pub mod regions;
pub mod statistics;
pub mod transfers;
pub mod vocabularies;
pub mod webhooks;
pub mod work;

use actix_web::App;
use utoipa::OpenApi;
use utoipa_actix_web::AppExt as _;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::http::Problem;

/// Document-level OpenAPI information; paths and schemas come from [`register`].
#[derive(Debug, OpenApi)]
#[openapi(
    info(
        title = "Tumaini API",
        description = "Case management for victims of trafficking in persons and the National \
Referral Mechanism. Every error is an RFC 9457 `application/problem+json` document with a stable \
`type` URN and the request id; every response carries `X-Request-Id`.",
        license(name = "MIT OR Apache-2.0", identifier = "MIT OR Apache-2.0"),
    ),
    components(schemas(Problem)),
    tags(
        (name = "operations", description = "Liveness, readiness and the API's own description."),
        (name = "auth", description = "Sign-in, sessions, second factor, password changes and resets."),
        (name = "cases", description = "Cases, consent, the NRM workflow, assistance and notes. Personal groups are requested explicitly with a purpose; objects you may not see answer 404."),
        (name = "documents", description = "Documents of a case (consent forms, identity papers, medical and legal records, photographs): each in one personal group, which decides who may read it as it decides the group's fields; the type checked from the content, image metadata stripped, encrypted under the case's key in chunks, streamed in and out."),
        (name = "audit", description = "The tamper-evident audit trail: events, who accessed a case, verification of the chain (coordinators; supervisors for their organisation). Reading it is itself audited."),
        (name = "directory", description = "The service directory: which organisation offers which service, where, for whom, and whether it has room now. Any member of staff searches it; an organisation's supervisor keeps its own listings."),
        (name = "referrals", description = "Referrals between organisations for named services: each step its own endpoint, consent checked by the server, access to the groups shared only while a referral is accepted or in service. Inbox and outbox per organisation, a timeline per case, and the national picture for coordinators."),
        (name = "transfers", description = "Transfers of a case between organisations, distinct from referrals: the owning organisation asks another to take the case over; on acceptance the case moves, with only the field groups the consent covers and the transfer names, and the sender keeps its summary (read-only) or nothing. Consent is checked as for referrals (abroad; a child's guardian or best-interest basis), when asked and when accepted. Incoming and outgoing lists, and each case's ownership history."),
        (name = "statistics", description = "National statistics with disclosure control: tables by up to five dimensions and the standard reports (SDG 16.2.2, UNODC GLOTIP, the NRM decision table), from summary columns only; figures of fewer people than the threshold are suppressed with complementary suppression, by the server. Coordinators see national figures, supervisors their organisation's. Audited."),
        (name = "administration", description = "Organisations and user accounts (administrators; supervisors within their organisation)."),
        (name = "webhooks", description = "Signed webhooks for an organisation's integrations (administrators; supervisors for their organisation): HTTPS endpoints receive referral, NRM-deadline and misuse-alert events signed per the Standard Webhooks scheme, retried with backoff, carrying ids, references, types and times only."),
    ),
    modifiers(&BearerAuth)
)]
pub struct ApiDoc;

/// Declares the bearer-token scheme that protected operations name.
#[derive(Debug)]
struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some("An access token from POST /api/v1/auth/login."))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "metrics_token",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "The scrape token of the metrics endpoint (TUMAINI_METRICS_TOKEN).",
                    ))
                    .build(),
            ),
        );
    }
}

/// Registers every route of the API.
pub fn register(cfg: &mut ServiceConfig) {
    cfg.service(health::healthz)
        .service(health::readyz)
        .service(docs::openapi_json)
        .service(docs::docs_page)
        .service(metrics::metrics);
    auth::register(cfg);
    clients::register(cfg);
    approvals::register(cfg);
    admin::register(cfg);
    cases::register(cfg);
    anonymous::register(cfg);
    audit::register(cfg);
    directory::register(cfg);
    referrals::register(cfg);
    transfers::register(cfg);
    notifications::register(cfg);
    statistics::register(cfg);
    regions::register(cfg);
    webhooks::register(cfg);
    work::register(cfg);
    cfg.service(vocabularies::vocabularies);
}

/// The OpenAPI document, generated from the same route table the application serves.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let mut doc = App::new()
        .into_utoipa_app()
        .openapi(ApiDoc::openapi())
        .configure(register)
        .split_for_parts()
        .1;
    contract::complete(&mut doc);
    doc
}
