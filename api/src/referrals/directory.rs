//! Searching the service directory: which organisation offers which service, where, for whom,
//! and whether it has room now. Every member of staff may search it (a first responder at a
//! border post looks for a shelter that takes children tonight) before referring a case; the
//! JSON API (`GET /api/v1/directory/services`) and the web console's referral page both call
//! [`search`]. Listings hold no personal data; each search is audited.

use serde::Serialize;
use tumaini_db::country::CountryCode;
use tumaini_db::ids::OrgId;
use tumaini_db::models::{DirectorySearch, Organisation, ServiceListing};
use tumaini_db::vocabulary::{Capacity, OrganisationKind, ServesSex, ServiceType};
use utoipa::ToSchema;

use crate::audit::{self, AuditAction, Event, Outcome};
use crate::auth::Principal;
use crate::authz::{Action, OrganisationFacts};
use crate::guarded::authorize_principal;
use crate::http::{ApiError, ProblemType, with_conn};
use crate::state::AppState;

/// The most listings one search returns.
pub const MAX_RESULTS: i64 = 500;

/// One listing in the directory.
#[derive(Debug, Serialize, ToSchema)]
pub struct ListingView {
    /// The organisation offering the service.
    pub organisation_id: OrgId,
    /// Its name.
    pub organisation_name: String,
    /// Its kind.
    pub organisation_kind: OrganisationKind,
    /// The service.
    pub service: ServiceType,
    /// Where: the country.
    pub country: CountryCode,
    /// Where: the region or district (empty: the whole country).
    pub region: String,
    /// Whether adults are served.
    pub serves_adults: bool,
    /// Whether children are served.
    pub serves_children: bool,
    /// Whom it serves by sex.
    pub serves_sex: ServesSex,
    /// Whether it can take someone now.
    pub capacity: Capacity,
    /// When the listing last changed (UTC).
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

/// The view of `organisation`'s `listing`.
pub fn view(listing: ServiceListing, organisation: &Organisation) -> ListingView {
    ListingView {
        organisation_id: listing.organisation_id,
        organisation_name: organisation.name.clone(),
        organisation_kind: organisation.kind,
        service: listing.service,
        country: listing.country,
        region: listing.region,
        serves_adults: listing.serves_adults,
        serves_children: listing.serves_children,
        serves_sex: listing.serves_sex,
        capacity: listing.capacity,
        updated_at: listing.updated_at.and_utc(),
    }
}

/// The text of a region: trimmed, at most 100 characters, no control characters (empty: the
/// whole country).
pub fn region(value: &str) -> Result<String, ApiError> {
    let value = value.trim();
    if value.chars().count() > 100 || value.chars().any(char::is_control) {
        return Err(ApiError::problem(
            ProblemType::InvalidBody,
            "`region` must be at most 100 characters without control characters",
        ));
    }
    Ok(value.to_owned())
}

/// Searches the directory (every member of staff): the listings of active organisations that
/// match every criterion given, the search audited. `limit` must be 1 to [`MAX_RESULTS`]; an
/// empty region means any. Two statements whatever the number of listings: the search (each
/// listing with its organisation, joined) outside any write transaction, then the audit event
/// in its own, the answer given only once that is committed.
pub async fn search(
    state: &AppState,
    caller: Principal,
    criteria: DirectorySearch,
) -> Result<Vec<ListingView>, ApiError> {
    if !(1..=MAX_RESULTS).contains(&criteria.limit) {
        return Err(ApiError::problem(
            ProblemType::BadRequest,
            format!("`limit` must be 1 to {MAX_RESULTS}"),
        ));
    }
    let search = DirectorySearch {
        region: match criteria.region.as_deref().map(region).transpose()? {
            Some(r) if r.is_empty() => None,
            other => other,
        },
        ..criteria
    };
    let own = OrganisationFacts::from(caller.organisation());
    let decision = authorize_principal(
        state,
        &caller,
        Action::ReadDirectory,
        &own,
        AuditAction::DirectorySearch,
        || ApiError::problem(ProblemType::Forbidden, "your role may not do this"),
    )
    .await?;
    let (actor, context) = (caller.owned_actor(), caller.context().clone());
    with_conn(&state.pool, move |conn| {
        // One statement (the listings with their organisations): its own snapshot, without a
        // transaction's three more round trips, and no writer waits on it.
        let found = ServiceListing::search(conn, &search)?;
        conn.write_transaction(|conn| {
            audit::record_decided_by(
                conn,
                &context,
                actor.as_actor(),
                Event {
                    action: AuditAction::DirectorySearch,
                    outcome: Outcome::Success,
                    resource: None,
                },
                &decision,
            )
        })?;
        Ok::<_, ApiError>(
            found
                .into_iter()
                .map(|(listing, org)| view(listing, &org))
                .collect::<Vec<_>>(),
        )
    })
    .await
}
