//! Records attached to a case: screenings, identification decisions, assistance, notes, risk
//! assessments and the assistance plan. Each keeps what statistics and deadlines need in clear
//! and everything personal in a vault ciphertext bound to its own row.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use crate::ids::{CaseId, OrgId, RecordId, UserId};
use crate::schema::{
    assistance_plans, assistance_records, case_notes, identification_decisions, risk_assessments,
    screenings,
};
use crate::vocabulary::{AssistanceStatus, IdentificationDecision, RiskLevel, ServiceType};
use crate::{DbConn, DbError};

/// A screening with trafficking indicators.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = screenings)]
pub struct Screening {
    /// Identifier.
    pub id: RecordId,
    /// The case.
    pub case_id: CaseId,
    /// `adult` or `child`.
    pub indicator_list: String,
    /// Strong indicators present.
    pub strong: i32,
    /// Medium indicators present.
    pub medium: i32,
    /// Weak indicators present.
    pub weak: i32,
    /// Dimensions met, comma-separated codes.
    pub dimensions_met: String,
    /// The presumption the indicators give.
    pub computed_presumed: bool,
    /// The screener's professional judgement replaced it.
    pub overridden: bool,
    /// The presumption that stands.
    pub presumed: bool,
    /// Who screened.
    pub screened_by: UserId,
    /// When.
    pub screened_at: NaiveDateTime,
    /// The answers and any override reason, encrypted (`notes` group).
    pub answers: Vec<u8>,
}

/// A decision of the competent authority.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = identification_decisions)]
pub struct Decision {
    /// Identifier.
    pub id: RecordId,
    /// The case.
    pub case_id: CaseId,
    /// The decision.
    pub decision: IdentificationDecision,
    /// The officer.
    pub decided_by: UserId,
    /// The officer's organisation.
    pub decided_by_organisation: OrgId,
    /// When.
    pub decided_at: NaiveDateTime,
    /// The reasons, encrypted.
    pub reasons: Vec<u8>,
}

/// Assistance given or planned.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = assistance_records)]
pub struct Assistance {
    /// Identifier.
    pub id: RecordId,
    /// The case.
    pub case_id: CaseId,
    /// The service (HTCDS service types).
    pub service_type: ServiceType,
    /// Who provides it.
    pub provider_organisation_id: OrgId,
    /// Its state.
    pub status: AssistanceStatus,
    /// The date.
    pub provided_on: NaiveDate,
    /// Who recorded it.
    pub recorded_by: UserId,
    /// When.
    pub recorded_at: NaiveDateTime,
    /// Details, encrypted.
    pub details: Option<Vec<u8>>,
}

/// A case note.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = case_notes)]
pub struct Note {
    /// Identifier.
    pub id: RecordId,
    /// The case.
    pub case_id: CaseId,
    /// The author.
    pub written_by: UserId,
    /// When.
    pub written_at: NaiveDateTime,
    /// The text, encrypted.
    pub body: Vec<u8>,
}

/// A risk assessment: individual, household and community levels, a review date.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = risk_assessments)]
pub struct RiskAssessment {
    /// Identifier.
    pub id: RecordId,
    /// The case.
    pub case_id: CaseId,
    /// Risk to the person.
    pub individual: RiskLevel,
    /// Risk within the household.
    pub household: RiskLevel,
    /// Risk in the community.
    pub community: RiskLevel,
    /// When to assess again.
    pub review_on: NaiveDate,
    /// Who assessed.
    pub assessed_by: UserId,
    /// When.
    pub assessed_at: NaiveDateTime,
    /// Details, encrypted.
    pub details: Option<Vec<u8>>,
}

/// The individual assistance plan.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = assistance_plans)]
pub struct Plan {
    /// The case.
    pub case_id: CaseId,
    /// Bumped on every replacement (its `ETag`).
    pub version: i32,
    /// When to review it.
    pub review_on: NaiveDate,
    /// Who last changed it.
    pub updated_by: UserId,
    /// When.
    pub updated_at: NaiveDateTime,
    /// The plan, encrypted.
    pub content: Vec<u8>,
}

macro_rules! record_queries {
    ($ty:ty, $table:ident, $order:ident) => {
        impl $ty {
            /// Stores the record (inside the action's transaction).
            pub fn insert(&self, conn: &mut DbConn) -> Result<(), DbError> {
                diesel::insert_into($table::table)
                    .values(self)
                    .execute(conn)?;
                Ok(())
            }

            /// The case's records, oldest first.
            pub fn for_case(conn: &mut DbConn, case: &CaseId) -> Result<Vec<Self>, DbError> {
                Ok($table::table
                    .filter($table::case_id.eq(case))
                    .order(($table::$order, $table::id))
                    .select(<$ty>::as_select())
                    .load(conn)?)
            }
        }
    };
}

record_queries!(Screening, screenings, screened_at);
record_queries!(Decision, identification_decisions, decided_at);
record_queries!(Assistance, assistance_records, provided_on);
record_queries!(Note, case_notes, written_at);
record_queries!(RiskAssessment, risk_assessments, assessed_at);

impl Plan {
    /// The case's plan, if one was written.
    pub fn find(conn: &mut DbConn, case: &CaseId) -> Result<Option<Plan>, DbError> {
        Ok(assistance_plans::table
            .find(case)
            .select(Plan::as_select())
            .first(conn)
            .optional()?)
    }

    /// Writes the plan if it is still at `expected_version` (0: none yet). `Ok(false)`:
    /// someone else changed it first.
    pub fn put(&self, conn: &mut DbConn, expected_version: i32) -> Result<bool, DbError> {
        if expected_version == 0 {
            return match diesel::insert_into(assistance_plans::table)
                .values(self)
                .execute(conn)
            {
                Ok(_) => Ok(true),
                Err(diesel::result::Error::DatabaseError(
                    diesel::result::DatabaseErrorKind::UniqueViolation,
                    _,
                )) => Ok(false),
                Err(other) => Err(other.into()),
            };
        }
        let updated = diesel::update(
            assistance_plans::table
                .filter(assistance_plans::case_id.eq(&self.case_id))
                .filter(assistance_plans::version.eq(expected_version)),
        )
        .set((
            assistance_plans::version.eq(self.version),
            assistance_plans::review_on.eq(self.review_on),
            assistance_plans::updated_by.eq(&self.updated_by),
            assistance_plans::updated_at.eq(self.updated_at),
            assistance_plans::content.eq(&self.content),
        ))
        .execute(conn)?;
        Ok(updated == 1)
    }
}

/// The newest screening of a case.
pub fn latest_screening(conn: &mut DbConn, case: &CaseId) -> Result<Option<Screening>, DbError> {
    Ok(screenings::table
        .filter(screenings::case_id.eq(case))
        .order((screenings::screened_at.desc(), screenings::id.desc()))
        .select(Screening::as_select())
        .first(conn)
        .optional()?)
}
