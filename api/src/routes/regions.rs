//! Regions: the controlled list a case's and an anonymous notification's `region` comes from
//! (ISO 3166-2 subdivisions shipped with the code), and the administrator's additions to it (a
//! district created after the list was made). A region is never typed in: a name typed as a
//! region was a leak, since regions are listed and counted in the open.

use actix_web::{HttpResponse, get, post, web};
use serde::{Deserialize, Serialize};
use tumaini_db::DbError;
use tumaini_db::country::CountryCode;
use tumaini_db::vocabulary::OrganisationKind;
use tumaini_db::vocabulary::region::{self, NewRegion, Region, RegionCode};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;

use crate::audit::AuditAction;
use crate::audit::{self, Event, Outcome};
use crate::auth::Caller;
use crate::authz::{Action, OrganisationFacts};
use crate::guarded::authorize;
use crate::http::{ApiError, Problem, ProblemType, with_conn};
use crate::state::AppState;

/// Registers the routes of this module.
pub fn register(cfg: &mut ServiceConfig) {
    cfg.service(list_regions).service(add_region);
}

/// Which regions to list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct RegionQuery {
    /// Only this country's (ISO 3166-1 alpha-2); every country's when absent.
    #[param(value_type = Option<String>, example = "UG")]
    pub country: Option<CountryCode>,
}

/// A region of the list.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RegionView {
    /// Its code, the value a case's `region` takes (`UG-202`).
    pub code: String,
    /// Its name.
    pub name: String,
    /// Its country.
    pub country: String,
    /// What kind of subdivision it is (`district`, `county`, `region`, `city` ...).
    pub level: String,
}

impl From<Region> for RegionView {
    fn from(region: Region) -> Self {
        Self {
            code: region.code,
            name: region.name,
            country: region.country.to_string(),
            level: region.level,
        }
    }
}

/// The regions a case's `region` may name: the ISO 3166-2 subdivisions shipped with Tumaini and
/// those an administrator added, sorted by code.
#[utoipa::path(
    tag = "cases",
    security(("bearer" = [])),
    params(RegionQuery),
    responses((status = 200, description = "The regions", body = Vec<RegionView>)),
)]
#[get("/api/v1/regions")]
pub async fn list_regions(
    state: web::Data<AppState>,
    _caller: Caller,
    query: web::Query<RegionQuery>,
) -> Result<web::Json<Vec<RegionView>>, ApiError> {
    let country = query.into_inner().country;
    let regions = with_conn(&state.pool, move |conn| {
        Ok(region::list(conn, country.as_ref())?)
    })
    .await?;
    Ok(web::Json(
        regions.into_iter().map(RegionView::from).collect(),
    ))
}

/// A region to add.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegionInput {
    /// Its code: the country, a hyphen and 1 to 6 capital letters or digits (`UG-Z01`). A code
    /// ISO assigns later should be used once it exists.
    #[schema(example = "UG-Z01")]
    pub code: String,
    /// Its name (1 to 100 characters).
    #[schema(example = "Kassanda")]
    pub name: String,
    /// What kind of subdivision it is: lower-case letters and `_` (`district`).
    #[schema(example = "district")]
    pub level: String,
}

fn invalid(detail: &str) -> ApiError {
    ApiError::problem(ProblemType::InvalidBody, detail)
}

/// Add a region to the list (system administrators): a district created after the shipped
/// list was made, say. Audited.
#[utoipa::path(
    tag = "administration",
    security(("bearer" = [])),
    request_body = RegionInput,
    responses(
        (status = 201, description = "Added", body = RegionView),
        (
            status = 403,
            description = "Your role may not do this",
            body = Problem,
            content_type = "application/problem+json",
        ),
        (
            status = 409,
            description = "The code is on the list already",
            body = Problem,
            content_type = "application/problem+json",
        ),
        (
            status = 422,
            description = "A code, name or level of the wrong form",
            body = Problem,
            content_type = "application/problem+json",
        ),
    ),
)]
#[post("/api/v1/regions")]
pub async fn add_region(
    state: web::Data<AppState>,
    caller: Caller,
    body: web::Json<RegionInput>,
) -> Result<HttpResponse, ApiError> {
    let input = body.into_inner();
    let code: RegionCode = input.code.parse().map_err(|_| {
        invalid("`code` is a country code, a hyphen and 1 to 6 capital letters or digits")
    })?;
    let name = crate::accounts::administration::text("name", &input.name, 100)?;
    let level = input.level.trim().to_owned();
    if level.is_empty()
        || level.len() > 40
        || !level.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
    {
        return Err(invalid(
            "`level` is lower-case letters and `_`, such as `district`",
        ));
    }
    let target = OrganisationFacts {
        id: "(regions)".to_owned(),
        kind: OrganisationKind::Other,
        country: code.country().to_string(),
        active: true,
        need_to_know: false,
    };
    let decision = authorize(
        &state,
        &caller,
        Action::ManageOrganisations,
        &target,
        AuditAction::RegionAdd,
        || ApiError::problem(ProblemType::Forbidden, "your role may not do this"),
    )
    .await?;
    let Caller { user, context, .. } = caller;
    let added = with_conn(&state.pool, move |conn| {
        conn.write_transaction(|conn| {
            let added = region::add(conn, &NewRegion { code, name, level }, &user.id).map_err(
                |e| match e {
                    DbError::Conflict { .. } => {
                        ApiError::problem(ProblemType::Conflict, "that code is on the list already")
                    }
                    other => other.into(),
                },
            )?;
            audit::record_decided(
                conn,
                &context,
                Some(&user),
                Event {
                    action: AuditAction::RegionAdd,
                    outcome: Outcome::Success,
                    resource: Some(("region", added.code.clone())),
                },
                &decision,
            )?;
            Ok::<_, ApiError>(added)
        })
    })
    .await?;
    Ok(HttpResponse::Created().json(RegionView::from(added)))
}
