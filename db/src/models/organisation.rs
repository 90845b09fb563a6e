//! Organisations and the services they offer.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::country::CountryCode;
use crate::ids::OrgId;
use crate::schema::{organisation_services, organisations};
use crate::time::now_utc;
use crate::vocabulary::{Capacity, CaseAccessMode, OrganisationKind, ServesSex, ServiceType};
use crate::{DbConn, DbError};

/// An organisation as stored.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Identifiable)]
#[diesel(table_name = organisations)]
pub struct Organisation {
    /// Identifier.
    pub id: OrgId,
    /// Public name, e.g. "Kampala Women's Shelter".
    pub name: String,
    /// What kind of body it is; policies and consent name recipients by kind.
    pub kind: OrganisationKind,
    /// Country it operates in.
    pub country: CountryCode,
    /// Region or district within the country.
    pub region: String,
    /// An inactive organisation's users cannot act.
    pub active: bool,
    /// When it was registered (UTC).
    pub created_at: NaiveDateTime,
    /// When it last changed (UTC).
    pub updated_at: NaiveDateTime,
    /// Who inside it reads the personal groups of its cases.
    pub case_access: CaseAccessMode,
}

/// What it takes to register an organisation; validated by the caller's typed fields.
#[derive(Debug, Clone)]
pub struct NewOrganisation {
    /// Public name.
    pub name: String,
    /// Kind of body.
    pub kind: OrganisationKind,
    /// Country.
    pub country: CountryCode,
    /// Region or district.
    pub region: String,
    /// Services offered (the service directory).
    pub services: Vec<ServiceType>,
}

#[derive(Insertable)]
#[diesel(table_name = organisations)]
struct OrganisationRow<'a> {
    id: &'a OrgId,
    name: &'a str,
    kind: OrganisationKind,
    country: CountryCode,
    region: &'a str,
    active: bool,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

#[derive(Insertable)]
#[diesel(table_name = organisation_services)]
struct ServiceRow<'a> {
    organisation_id: &'a OrgId,
    service: ServiceType,
    country: CountryCode,
    region: &'a str,
    updated_at: NaiveDateTime,
}

impl Organisation {
    /// Registers an organisation with its services, in one transaction.
    pub fn create(conn: &mut DbConn, new: &NewOrganisation) -> Result<Organisation, DbError> {
        let id = OrgId::generate();
        let now = now_utc();
        conn.write_transaction(|conn| {
            diesel::insert_into(organisations::table)
                .values(OrganisationRow {
                    id: &id,
                    name: &new.name,
                    kind: new.kind,
                    country: new.country,
                    region: &new.region,
                    active: true,
                    created_at: now,
                    updated_at: now,
                })
                .execute(conn)?;
            let mut services = new.services.clone();
            services.sort();
            services.dedup();
            // One statement per service: the multi-engine backend has no batch insert, and an
            // organisation offers a handful of services at most.
            for service in services {
                diesel::insert_into(organisation_services::table)
                    .values(ServiceRow {
                        organisation_id: &id,
                        service,
                        country: new.country,
                        region: &new.region,
                        updated_at: now,
                    })
                    .execute(conn)?;
            }
            Self::find(conn, &id)
        })
    }

    /// The organisation with this id.
    pub fn find(conn: &mut DbConn, id: &OrgId) -> Result<Organisation, DbError> {
        Ok(organisations::table
            .find(id)
            .select(Organisation::as_select())
            .first(conn)?)
    }

    /// Every organisation, by name.
    pub fn list(conn: &mut DbConn) -> Result<Vec<Organisation>, DbError> {
        Ok(organisations::table
            .order((organisations::name, organisations::id))
            .select(Organisation::as_select())
            .load(conn)?)
    }

    /// Switches an organisation on or off; its users cannot act while it is off.
    pub fn set_active(conn: &mut DbConn, id: &OrgId, active: bool) -> Result<(), DbError> {
        diesel::update(organisations::table.find(id))
            .set((
                organisations::active.eq(active),
                organisations::updated_at.eq(now_utc()),
            ))
            .execute(conn)?;
        Ok(())
    }

    /// Sets who inside the organisation reads the personal groups of its cases.
    pub fn set_case_access(
        conn: &mut DbConn,
        id: &OrgId,
        mode: CaseAccessMode,
    ) -> Result<(), DbError> {
        diesel::update(organisations::table.find(id))
            .set((
                organisations::case_access.eq(mode),
                organisations::updated_at.eq(now_utc()),
            ))
            .execute(conn)?;
        Ok(())
    }

    /// The services this organisation offers, in vocabulary order.
    pub fn services(&self, conn: &mut DbConn) -> Result<Vec<ServiceType>, DbError> {
        let mut services: Vec<ServiceType> = organisation_services::table
            .filter(organisation_services::organisation_id.eq(&self.id))
            .select(organisation_services::service)
            .load(conn)?;
        services.sort();
        Ok(services)
    }
}

/// One organisation's listing of one service in the directory.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = organisation_services)]
pub struct ServiceListing {
    /// The organisation offering it.
    pub organisation_id: OrgId,
    /// The service.
    pub service: ServiceType,
    /// Where it is offered: the country.
    pub country: CountryCode,
    /// And the region or district (empty: the whole country).
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
    pub updated_at: NaiveDateTime,
}

/// What an organisation publishes about one service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListingTerms {
    /// Country.
    pub country: CountryCode,
    /// Region or district (empty: the whole country).
    pub region: String,
    /// Adults served.
    pub serves_adults: bool,
    /// Children served.
    pub serves_children: bool,
    /// Whom, by sex.
    pub serves_sex: ServesSex,
    /// Room now.
    pub capacity: Capacity,
}

/// A directory search: every criterion given must match.
#[derive(Debug, Clone, Default)]
pub struct DirectorySearch {
    /// This service.
    pub service: Option<ServiceType>,
    /// In this country.
    pub country: Option<CountryCode>,
    /// In this region (listings for the whole country match too).
    pub region: Option<String>,
    /// Serving children (`Some(true)`) or adults (`Some(false)`).
    pub for_child: Option<bool>,
    /// Serving this sex (listings for anyone match too).
    pub sex: Option<ServesSex>,
    /// Only listings that are not full.
    pub with_room: bool,
    /// At most this many.
    pub limit: i64,
}

impl ServiceListing {
    /// Publishes a listing, or replaces the organisation's listing of that service.
    pub fn publish(
        conn: &mut DbConn,
        organisation: &OrgId,
        service: ServiceType,
        terms: &ListingTerms,
    ) -> Result<ServiceListing, DbError> {
        let now = now_utc();
        conn.write_transaction(|conn| {
            let key = organisation_services::table.find((organisation, service));
            let changes = || {
                (
                    organisation_services::country.eq(terms.country),
                    organisation_services::region.eq(&terms.region),
                    organisation_services::serves_adults.eq(terms.serves_adults),
                    organisation_services::serves_children.eq(terms.serves_children),
                    organisation_services::serves_sex.eq(terms.serves_sex),
                    organisation_services::capacity.eq(terms.capacity),
                    organisation_services::updated_at.eq(now),
                )
            };
            if diesel::update(key).set(changes()).execute(conn)? == 0 {
                diesel::insert_into(organisation_services::table)
                    .values((
                        organisation_services::organisation_id.eq(organisation),
                        organisation_services::service.eq(service),
                        changes(),
                    ))
                    .execute(conn)?;
            }
            Ok(key.select(ServiceListing::as_select()).first(conn)?)
        })
    }

    /// Withdraws a listing; `NotFound` when there was none.
    pub fn withdraw(
        conn: &mut DbConn,
        organisation: &OrgId,
        service: ServiceType,
    ) -> Result<(), DbError> {
        let removed = diesel::delete(organisation_services::table.find((organisation, service)))
            .execute(conn)?;
        if removed == 0 {
            return Err(DbError::NotFound);
        }
        Ok(())
    }

    /// The listings of active organisations that match, with their organisations, ordered by
    /// country, region, service and organisation name.
    pub fn search(
        conn: &mut DbConn,
        search: &DirectorySearch,
    ) -> Result<Vec<(ServiceListing, Organisation)>, DbError> {
        let mut query = organisation_services::table
            .inner_join(organisations::table)
            .filter(organisations::active.eq(true))
            .select((ServiceListing::as_select(), Organisation::as_select()))
            .order((
                organisation_services::country,
                organisation_services::region,
                organisation_services::service,
                organisations::name,
                organisations::id,
            ))
            .limit(search.limit)
            .into_boxed();
        if let Some(service) = search.service {
            query = query.filter(organisation_services::service.eq(service));
        }
        if let Some(country) = search.country {
            query = query.filter(organisation_services::country.eq(country));
        }
        if let Some(region) = &search.region {
            query = query.filter(
                organisation_services::region
                    .eq(region.clone())
                    .or(organisation_services::region.eq("")),
            );
        }
        match search.for_child {
            Some(true) => query = query.filter(organisation_services::serves_children.eq(true)),
            Some(false) => query = query.filter(organisation_services::serves_adults.eq(true)),
            None => {}
        }
        if let Some(sex) = search.sex {
            query = query.filter(
                organisation_services::serves_sex
                    .eq(sex)
                    .or(organisation_services::serves_sex.eq(ServesSex::Any)),
            );
        }
        if search.with_room {
            query = query.filter(organisation_services::capacity.ne(Capacity::Full));
        }
        Ok(query.load(conn)?)
    }

    /// One organisation's listings, in vocabulary order.
    pub fn of_organisation(
        conn: &mut DbConn,
        organisation: &OrgId,
    ) -> Result<Vec<ServiceListing>, DbError> {
        let mut listings: Vec<ServiceListing> = organisation_services::table
            .filter(organisation_services::organisation_id.eq(organisation))
            .select(ServiceListing::as_select())
            .load(conn)?;
        listings.sort_by_key(|l| l.service);
        Ok(listings)
    }
}
