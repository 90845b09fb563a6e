//! The service directory: which organisation offers which service, where, for whom, and whether
//! it has room now. Every member of staff may search it (a first responder at a border post
//! looks for a shelter that takes children tonight: `crate::referrals::directory`, which the
//! web console calls too); an organisation's supervisor keeps its own listings up to date.
//! Listings hold no personal data; searches and changes are audited.

use actix_web::{HttpResponse, delete, get, put, web};
use serde::Deserialize;
use tumaini_db::DbError;
use tumaini_db::country::CountryCode;
use tumaini_db::ids::OrgId;
use tumaini_db::models::{DirectorySearch, ListingTerms, Organisation, ServiceListing};
use tumaini_db::vocabulary::{Capacity, ServesSex, ServiceType};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;

use crate::audit::AuditAction;
use crate::audit::{self, Event, Outcome};
use crate::auth::{Caller, Principal};
use crate::authz::{Action, OrganisationFacts};
use crate::guarded::{authorize, authorize_principal};
use crate::http::{ApiError, Problem, ProblemType, with_conn};
use crate::referrals::directory::{self, ListingView, MAX_RESULTS, region, view};
use crate::state::AppState;

/// Registers the routes of this module.
pub fn register(cfg: &mut ServiceConfig) {
    cfg.service(search_directory)
        .service(organisation_listings)
        .service(publish_listing)
        .service(withdraw_listing);
}

/// Who a search is for.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ServedGroup {
    /// An adult.
    Adult,
    /// A child (under 18, or possibly under 18).
    Child,
}

/// Criteria of a directory search; every one given must match.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct DirectoryQuery {
    /// A service, e.g. `shelter`.
    pub service: Option<ServiceType>,
    /// A country (ISO 3166-1 alpha-2), e.g. `UG`.
    pub country: Option<CountryCode>,
    /// A region or district; listings for the whole country match too.
    pub region: Option<String>,
    /// Serving adults or children.
    #[serde(rename = "for")]
    #[param(rename = "for", inline)]
    pub for_whom: Option<ServedGroup>,
    /// Serving this sex; listings for anyone match too.
    pub sex: Option<ServesSex>,
    /// `true`: only listings that are not full.
    pub with_room: Option<bool>,
    /// At most this many (default and maximum 500).
    pub limit: Option<i64>,
}

fn not_yours() -> ApiError {
    ApiError::problem(
        ProblemType::Forbidden,
        "only the organisation's supervisor or an administrator may change its listings",
    )
}

/// Search the service directory (every member of staff).
#[utoipa::path(
    tag = "directory",
    security(("bearer" = [])),
    params(DirectoryQuery),
    responses(
        (
            status = 200,
            description = "Matching listings of active organisations",
            body = Vec<ListingView>,
        ),
        (
            status = 400,
            description = "A criterion is not valid",
            body = Problem,
            content_type = "application/problem+json",
        ),
    ),
)]
#[get("/api/v1/directory/services")]
pub async fn search_directory(
    state: web::Data<AppState>,
    caller: Principal,
    query: web::Query<DirectoryQuery>,
) -> Result<web::Json<Vec<ListingView>>, ApiError> {
    let query = query.into_inner();
    let search = DirectorySearch {
        service: query.service,
        country: query.country,
        region: query.region,
        for_child: query.for_whom.map(|g| matches!(g, ServedGroup::Child)),
        sex: query.sex,
        with_room: query.with_room.unwrap_or(false),
        limit: query.limit.unwrap_or(MAX_RESULTS),
    };
    Ok(web::Json(directory::search(&state, caller, search).await?))
}

/// The organisation named in a path, or 404.
async fn organisation(state: &AppState, id: OrgId) -> Result<Organisation, ApiError> {
    with_conn(&state.pool, move |conn| Ok(Organisation::find(conn, &id)?)).await
}

/// One organisation's listings (every member of staff; an inactive organisation has none to
/// show).
#[utoipa::path(
    tag = "directory",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    responses(
        (status = 200, description = "Its listings", body = Vec<ListingView>),
        (
            status = 404,
            description = "No such organisation",
            body = Problem,
            content_type = "application/problem+json",
        ),
    ),
)]
#[get("/api/v1/organisations/{id}/services")]
pub async fn organisation_listings(
    state: web::Data<AppState>,
    caller: Principal,
    id: web::Path<OrgId>,
) -> Result<web::Json<Vec<ListingView>>, ApiError> {
    let org = organisation(&state, id.into_inner()).await?;
    let decision = authorize_principal(
        &state,
        &caller,
        Action::ReadDirectory,
        &OrganisationFacts::from(&org),
        AuditAction::DirectoryRead,
        || ApiError::bare(ProblemType::NotFound),
    )
    .await?;
    let (actor, context) = (caller.owned_actor(), caller.context().clone());
    let views = with_conn(&state.pool, move |conn| {
        // One statement, read outside the audit event's write transaction.
        let listings = if org.active {
            ServiceListing::of_organisation(conn, &org.id)?
        } else {
            Vec::new()
        };
        conn.write_transaction(|conn| {
            audit::record_decided_by(
                conn,
                &context,
                actor.as_actor(),
                Event {
                    action: AuditAction::DirectoryRead,
                    outcome: Outcome::Success,
                    resource: Some(("organisation", org.id.to_string())),
                },
                &decision,
            )
        })?;
        Ok::<_, ApiError>(
            listings
                .into_iter()
                .map(|listing| view(listing, &org))
                .collect::<Vec<_>>(),
        )
    })
    .await?;
    Ok(web::Json(views))
}

/// What an organisation publishes about one service.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "country": "UG", "region": "Kampala", "serves_adults": true, "serves_children": true,
    "serves_sex": "female", "capacity": "limited"
}))]
pub struct ListingInput {
    /// Country (ISO 3166-1 alpha-2).
    pub country: CountryCode,
    /// Region or district; empty or absent: the whole country.
    #[serde(default)]
    pub region: String,
    /// Whether adults are served.
    pub serves_adults: bool,
    /// Whether children are served.
    pub serves_children: bool,
    /// Whom it serves by sex (default: anyone).
    #[serde(default = "anyone")]
    pub serves_sex: ServesSex,
    /// Whether it can take someone now.
    pub capacity: Capacity,
}

const fn anyone() -> ServesSex {
    ServesSex::Any
}

/// Publish or replace a listing (the organisation's supervisor, or an administrator).
#[utoipa::path(
    tag = "directory",
    security(("bearer" = [])),
    params(("id" = String, Path), ("service" = ServiceType, Path)),
    request_body = ListingInput,
    responses(
        (status = 200, description = "The listing as published", body = ListingView),
        (
            status = 403,
            description = "Not your organisation, or your role may not do this",
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
            status = 422,
            description = "The listing is not valid",
            body = Problem,
            content_type = "application/problem+json",
        ),
    ),
)]
#[put("/api/v1/organisations/{id}/services/{service}")]
pub async fn publish_listing(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(OrgId, ServiceType)>,
    body: web::Json<ListingInput>,
) -> Result<web::Json<ListingView>, ApiError> {
    let (id, service) = path.into_inner();
    let input = body.into_inner();
    let org = organisation(&state, id).await?;
    let decision = authorize(
        &state,
        &caller,
        Action::ManageServices,
        &OrganisationFacts::from(&org),
        AuditAction::DirectoryPublish,
        not_yours,
    )
    .await?;
    if !(input.serves_adults || input.serves_children) {
        return Err(ApiError::problem(
            ProblemType::InvalidBody,
            "a listing serves adults, children or both",
        ));
    }
    let terms = ListingTerms {
        country: input.country,
        region: region(&input.region)?,
        serves_adults: input.serves_adults,
        serves_children: input.serves_children,
        serves_sex: input.serves_sex,
        capacity: input.capacity,
    };
    let Caller { user, context, .. } = caller;
    let listing = with_conn(&state.pool, move |conn| {
        conn.write_transaction(|conn| {
            let listing = ServiceListing::publish(conn, &org.id, service, &terms)?;
            audit::record_decided(
                conn,
                &context,
                Some(&user),
                Event {
                    action: AuditAction::DirectoryPublish,
                    outcome: Outcome::Success,
                    resource: Some(("organisation", org.id.to_string())),
                },
                &decision,
            )?;
            Ok::<_, ApiError>(view(listing, &org))
        })
    })
    .await?;
    Ok(web::Json(listing))
}

/// Withdraw a listing (the organisation's supervisor, or an administrator).
#[utoipa::path(
    tag = "directory",
    security(("bearer" = [])),
    params(("id" = String, Path), ("service" = ServiceType, Path)),
    responses(
        (status = 204, description = "Withdrawn"),
        (
            status = 403,
            description = "Not your organisation, or your role may not do this",
            body = Problem,
            content_type = "application/problem+json",
        ),
        (
            status = 404,
            description = "No such organisation, or it does not list that service",
            body = Problem,
            content_type = "application/problem+json",
        ),
    ),
)]
#[delete("/api/v1/organisations/{id}/services/{service}")]
pub async fn withdraw_listing(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(OrgId, ServiceType)>,
) -> Result<HttpResponse, ApiError> {
    let (id, service) = path.into_inner();
    let org = organisation(&state, id).await?;
    let decision = authorize(
        &state,
        &caller,
        Action::ManageServices,
        &OrganisationFacts::from(&org),
        AuditAction::DirectoryWithdraw,
        not_yours,
    )
    .await?;
    let Caller { user, context, .. } = caller;
    with_conn(&state.pool, move |conn| {
        conn.write_transaction(|conn| {
            match ServiceListing::withdraw(conn, &org.id, service) {
                Ok(()) => {}
                Err(DbError::NotFound) => return Err(ApiError::bare(ProblemType::NotFound)),
                Err(other) => return Err(other.into()),
            }
            audit::record_decided(
                conn,
                &context,
                Some(&user),
                Event {
                    action: AuditAction::DirectoryWithdraw,
                    outcome: Outcome::Success,
                    resource: Some(("organisation", org.id.to_string())),
                },
                &decision,
            )?;
            Ok(())
        })
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
