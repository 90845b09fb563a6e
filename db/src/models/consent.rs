//! Consent versions. Append-only: recording consent adds a version; withdrawing it adds a
//! version that grants nothing. The newest version is the case's current consent, so a
//! withdrawal takes effect on the very next request.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::ids::{CaseId, ConsentId, UserId};
use crate::schema::consents;
use crate::time::now_utc;
use crate::vocabulary::{
    ConsentGiver, ConsentMethod, ConsentPurpose, ConsentRecipient, FieldGroup,
};
use crate::{DbConn, DbError};

/// A stored consent version.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = consents)]
pub struct ConsentRow {
    /// Identifier.
    pub id: ConsentId,
    /// The case.
    pub case_id: CaseId,
    /// 1, 2, 3... per case.
    pub version: i32,
    /// `grant` or `withdrawal`.
    pub kind: String,
    /// Who gave (or withdrew) it.
    pub given_by: ConsentGiver,
    /// How.
    pub method: ConsentMethod,
    /// Purposes, comma-separated codes.
    pub purposes: String,
    /// Field groups, comma-separated codes.
    pub field_groups: String,
    /// Recipients, comma-separated codes.
    pub recipients: String,
    /// When it was given.
    pub given_at: NaiveDateTime,
    /// Until when it holds.
    pub valid_until: Option<NaiveDateTime>,
    /// Who recorded it.
    pub recorded_by: UserId,
    /// When.
    pub recorded_at: NaiveDateTime,
    /// Encrypted details (guardian, notes).
    pub details: Option<Vec<u8>>,
}

/// A consent version, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Consent {
    /// Identifier.
    pub id: ConsentId,
    /// Version number.
    pub version: i32,
    /// A withdrawal grants nothing.
    pub withdrawal: bool,
    /// Who gave it.
    pub given_by: ConsentGiver,
    /// How.
    pub method: ConsentMethod,
    /// Purposes.
    pub purposes: Vec<ConsentPurpose>,
    /// Field groups.
    pub groups: Vec<FieldGroup>,
    /// Recipients.
    pub recipients: Vec<ConsentRecipient>,
    /// Given at.
    pub given_at: NaiveDateTime,
    /// Valid until.
    pub valid_until: Option<NaiveDateTime>,
    /// Recorded by.
    pub recorded_by: UserId,
    /// Recorded at.
    pub recorded_at: NaiveDateTime,
    /// Encrypted details.
    pub details: Option<Vec<u8>>,
}

/// A consent version to record.
#[derive(Debug, Clone)]
pub struct NewConsent<'a> {
    /// Identifier (made first: the details are encrypted bound to it).
    pub id: &'a ConsentId,
    /// The case.
    pub case_id: &'a CaseId,
    /// A withdrawal grants nothing.
    pub withdrawal: bool,
    /// Who gave it.
    pub given_by: ConsentGiver,
    /// How.
    pub method: ConsentMethod,
    /// Purposes.
    pub purposes: &'a [ConsentPurpose],
    /// Groups.
    pub groups: &'a [FieldGroup],
    /// Recipients.
    pub recipients: &'a [ConsentRecipient],
    /// Given at.
    pub given_at: NaiveDateTime,
    /// Valid until.
    pub valid_until: Option<NaiveDateTime>,
    /// Recorded by.
    pub recorded_by: &'a UserId,
    /// Encrypted details.
    pub details: Option<Vec<u8>>,
}

pub(crate) fn join<T: std::fmt::Display>(values: &[T]) -> String {
    values
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

fn split<T: std::str::FromStr>(text: &str) -> Result<Vec<T>, DbError> {
    text.split(',')
        .filter(|part| !part.is_empty())
        .map(|part| {
            part.parse().map_err(|_| {
                DbError::Query(diesel::result::Error::DeserializationError(
                    "unknown code in a consent record".into(),
                ))
            })
        })
        .collect()
}

impl TryFrom<ConsentRow> for Consent {
    type Error = DbError;
    fn try_from(row: ConsentRow) -> Result<Self, DbError> {
        Ok(Self {
            id: row.id,
            version: row.version,
            withdrawal: row.kind == "withdrawal",
            given_by: row.given_by,
            method: row.method,
            purposes: split(&row.purposes)?,
            groups: split(&row.field_groups)?,
            recipients: split(&row.recipients)?,
            given_at: row.given_at,
            valid_until: row.valid_until,
            recorded_by: row.recorded_by,
            recorded_at: row.recorded_at,
            details: row.details,
        })
    }
}

/// Appends a version (numbered one past the newest). Call inside the case's write transaction;
/// two concurrent recorders meet the `(case_id, version)` key and one is refused.
pub fn append(conn: &mut DbConn, new: &NewConsent<'_>) -> Result<Consent, DbError> {
    let newest: Option<i32> = consents::table
        .filter(consents::case_id.eq(new.case_id))
        .select(diesel::dsl::max(consents::version))
        .first(conn)?;
    diesel::insert_into(consents::table)
        .values((
            consents::id.eq(new.id),
            consents::case_id.eq(new.case_id),
            consents::version.eq(newest.unwrap_or(0) + 1),
            consents::kind.eq(if new.withdrawal {
                "withdrawal"
            } else {
                "grant"
            }),
            consents::given_by.eq(new.given_by),
            consents::method.eq(new.method),
            consents::purposes.eq(join(new.purposes)),
            consents::field_groups.eq(join(new.groups)),
            consents::recipients.eq(join(new.recipients)),
            consents::given_at.eq(new.given_at),
            consents::valid_until.eq(new.valid_until),
            consents::recorded_by.eq(new.recorded_by),
            consents::recorded_at.eq(now_utc()),
            consents::details.eq(&new.details),
        ))
        .execute(conn)?;
    consents::table
        .find(new.id)
        .select(ConsentRow::as_select())
        .first(conn)?
        .try_into()
}

/// Every version of a case's consent, oldest first.
pub fn history(conn: &mut DbConn, case: &CaseId) -> Result<Vec<Consent>, DbError> {
    consents::table
        .filter(consents::case_id.eq(case))
        .order(consents::version)
        .select(ConsentRow::as_select())
        .load(conn)?
        .into_iter()
        .map(Consent::try_from)
        .collect()
}

/// The newest version of a case's consent, if any was recorded.
pub fn newest(conn: &mut DbConn, case: &CaseId) -> Result<Option<Consent>, DbError> {
    consents::table
        .filter(consents::case_id.eq(case))
        .order(consents::version.desc())
        .select(ConsentRow::as_select())
        .first(conn)
        .optional()?
        .map(Consent::try_from)
        .transpose()
}
