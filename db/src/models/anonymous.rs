//! Anonymous notifications: an adult who does not consent to entering the NRM is recorded with
//! coarse facts and the reporting organisation only. No person, no personal group, no data key;
//! they count in statistics.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use crate::country::CountryCode;
use crate::ids::{NotificationId, OrgId, UserId};
use crate::schema::{anonymous_notification_exploitation_types as types, anonymous_notifications};
use crate::vocabulary::{AgeBand, ExploitationType, Sex};
use crate::{DbConn, DbError};

/// A stored notification.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = anonymous_notifications)]
pub struct AnonymousNotification {
    /// Identifier.
    pub id: NotificationId,
    /// Reference (same alphabet as case references).
    pub reference: String,
    /// The reporting organisation.
    pub organisation_id: OrgId,
    /// Who reported.
    pub reported_by: UserId,
    /// When.
    pub reported_at: NaiveDateTime,
    /// Sex or gender.
    pub sex: Sex,
    /// Age band (an adult's).
    pub age_band: AgeBand,
    /// Citizenship.
    pub citizenship: Option<CountryCode>,
    /// Country of exploitation.
    pub exploitation_country: Option<CountryCode>,
    /// Region.
    pub region: String,
    /// Date of the encounter.
    pub encountered_on: NaiveDate,
}

impl AnonymousNotification {
    /// Stores the notification and its forms of exploitation (inside a transaction).
    pub fn insert(
        &self,
        conn: &mut DbConn,
        exploitation_types: &[ExploitationType],
    ) -> Result<(), DbError> {
        diesel::insert_into(anonymous_notifications::table)
            .values(self)
            .execute(conn)?;
        let mut kinds = exploitation_types.to_vec();
        kinds.sort();
        kinds.dedup();
        diesel::update(anonymous_notifications::table.find(&self.id))
            .set(anonymous_notifications::exploitation_forms.eq(super::case::forms_list(&kinds)))
            .execute(conn)?;
        for kind in kinds {
            diesel::insert_into(types::table)
                .values((
                    types::notification_id.eq(&self.id),
                    types::exploitation_type.eq(kind),
                ))
                .execute(conn)?;
        }
        Ok(())
    }

    /// Notifications newest first (one organisation's, one country's organisations', or all),
    /// at most `limit`, with their forms of exploitation.
    pub fn newest(
        conn: &mut DbConn,
        organisation: Option<&OrgId>,
        country: Option<&crate::country::CountryCode>,
        limit: i64,
    ) -> Result<Vec<(AnonymousNotification, Vec<ExploitationType>)>, DbError> {
        let mut query = anonymous_notifications::table
            .order((
                anonymous_notifications::reported_at.desc(),
                anonymous_notifications::id.desc(),
            ))
            .limit(limit)
            .select(AnonymousNotification::as_select())
            .into_boxed();
        if let Some(organisation) = organisation {
            query = query.filter(anonymous_notifications::organisation_id.eq(organisation));
        }
        if let Some(country) = country {
            use crate::schema::organisations;
            let there = organisations::table
                .filter(organisations::country.eq(*country))
                .select(organisations::id);
            query = query.filter(anonymous_notifications::organisation_id.eq_any(there));
        }
        let rows: Vec<AnonymousNotification> = query.load(conn)?;
        let ids: Vec<NotificationId> = rows.iter().map(|n| n.id.clone()).collect();
        let kinds: Vec<(NotificationId, ExploitationType)> = types::table
            .filter(types::notification_id.eq_any(&ids))
            .select((types::notification_id, types::exploitation_type))
            .load(conn)?;
        Ok(rows
            .into_iter()
            .map(|n| {
                let mine = kinds
                    .iter()
                    .filter(|(id, _)| *id == n.id)
                    .map(|(_, k)| *k)
                    .collect();
                (n, mine)
            })
            .collect())
    }

    /// How many notifications there are (statistics count them apart and in totals).
    pub fn count(conn: &mut DbConn) -> Result<i64, DbError> {
        Ok(anonymous_notifications::table.count().get_result(conn)?)
    }
}
