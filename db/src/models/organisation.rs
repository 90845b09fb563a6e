//! Organisations and the services they offer.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::country::CountryCode;
use crate::ids::OrgId;
use crate::schema::{organisation_services, organisations};
use crate::time::now_utc;
use crate::vocabulary::{OrganisationKind, ServiceType};
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
