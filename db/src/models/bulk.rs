//! Writing many new cases at once: `tumaini seed` and the benchmarks fill a database with a
//! million demo cases, which one statement per row (each a round trip) cannot do in minutes.
//!
//! The rows of a batch of new cases are collected per table in a [`CaseBatch`] and written one
//! table after another, in the order their foreign keys need: on PostgreSQL with a binary
//! `COPY ... FROM STDIN` per table ([`copy_rows!`]), on SQLite with multi-row `INSERT`s of a
//! few hundred rows each ([`insert_rows!`], also used on PostgreSQL for the record types whose
//! `Insertable` leaves `None` to the column default, which `COPY` cannot express). The rows are
//! exactly those the request paths write for a case registered and then worked on
//! (`Case::insert` and `Case::apply`, `assignment::assign`, `consent::append`,
//! `duplicate::record`, the records' `insert`), so a seeded case reads like any other. The
//! multi-engine connection has no batch insert, so each statement matches on the engine and
//! runs on the concrete connection.

use std::collections::HashSet;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::anonymous::AnonymousNotification;
use super::case::{Case, CaseChanges, Deadline, NewCase, forms_list};
use super::case_record::{Assistance, Decision, Note, RiskAssessment, Screening};
use super::consent::NewConsent;
use super::follow_up::FollowUp;
use crate::country::CountryCode;
use crate::ids::{CaseId, ConsentId, NotificationId, OrgId, UserId};
use crate::schema::{
    anonymous_notification_exploitation_types, anonymous_notifications, case_assignments,
    case_duplicates, case_exploitation_types, case_means_of_control, cases, consents,
};
use crate::vocabulary::{
    AgeBand, CaseStatus, ClosureReason, ConsentGiver, ConsentMethod, DuplicateStatus,
    ExploitationType, IdentificationStage, MeansOfControl, Sex,
};
use crate::{DbConn, DbError};

/// Rows per `INSERT`: the widest row written in bulk (a case, 32 columns) times this stays
/// under SQLite's 32,766 bound parameters (PostgreSQL allows 65,535).
pub(crate) const ROWS_PER_STATEMENT: usize = 900;

/// Rows above which [`copy_rows!`] writes with `COPY` rather than `INSERT`.
pub(crate) const COPY_FROM_ROWS: usize = 16;

/// Inserts `$rows` (a slice or `Vec` of `Insertable` rows of `$table`) with multi-row
/// `INSERT`s of at most [`ROWS_PER_STATEMENT`] rows, on whichever engine `$conn` is. Evaluates
/// to `Result<(), DbError>`.
macro_rules! insert_rows {
    ($conn:expr, $table:expr, $rows:expr) => {{
        let mut result: Result<(), $crate::DbError> = Ok(());
        for part in $rows.chunks($crate::models::bulk::ROWS_PER_STATEMENT) {
            // One row (a registration's key, say) as the single-row `INSERT` diesel prepares
            // once per connection; several as one multi-row statement.
            let done = match (&mut *$conn, part) {
                ($crate::DbConn::Postgresql(pg), [row]) => {
                    diesel::insert_into($table).values(row).execute(pg)
                }
                ($crate::DbConn::Sqlite(lite), [row]) => {
                    diesel::insert_into($table).values(row).execute(lite)
                }
                ($crate::DbConn::Postgresql(pg), _) => {
                    diesel::insert_into($table).values(part).execute(pg)
                }
                ($crate::DbConn::Sqlite(lite), _) => {
                    diesel::insert_into($table).values(part).execute(lite)
                }
            };
            if let Err(err) = done {
                result = Err(err.into());
                break;
            }
        }
        result
    }};
}
pub(crate) use insert_rows;

/// Writes `$rows` as [`insert_rows!`] does, but on PostgreSQL with one binary
/// `COPY ... FROM STDIN` for them all (no statement to parse, no bound parameters): for rows
/// whose `Insertable` binds every column (`treat_none_as_default_value = false`, or no
/// `Option` field).
macro_rules! copy_rows {
    ($conn:expr, $table:expr, $rows:expr) => {{
        match &mut *$conn {
            // A few rows (one registration's) cost less as an `INSERT` than as a `COPY`; none
            // cost nothing.
            $crate::DbConn::Postgresql(pg)
                if $rows.len() > $crate::models::bulk::COPY_FROM_ROWS =>
            {
                diesel::copy_from($table)
                    .from_insertable(&$rows[..])
                    .execute(pg)
                    .map(drop)
                    .map_err($crate::DbError::from)
            }
            other => $crate::models::bulk::insert_rows!(other, $table, $rows),
        }
    }};
}
pub(crate) use copy_rows;

/// A new case's row as `Case::insert` writes it and `Case::apply` then changes it.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = cases, treat_none_as_default_value = false)]
struct CaseRow {
    id: CaseId,
    reference: String,
    owner_organisation_id: OrgId,
    created_by: UserId,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
    version: i32,
    sex: Sex,
    age_band: AgeBand,
    may_be_child: bool,
    is_child: bool,
    citizenship: Option<CountryCode>,
    recruitment_country: Option<CountryCode>,
    exploitation_country: Option<CountryCode>,
    region: String,
    encountered_on: chrono::NaiveDate,
    identification_stage: IdentificationStage,
    referred_into_nrm_at: Option<NaiveDateTime>,
    reasonable_grounds_due_at: Option<NaiveDateTime>,
    reasonable_grounds_decided_at: Option<NaiveDateTime>,
    recovery_period_ends_at: Option<NaiveDateTime>,
    conclusive_grounds_decided_at: Option<NaiveDateTime>,
    reasonable_grounds_overdue_at: Option<NaiveDateTime>,
    conclusive_grounds_overdue_at: Option<NaiveDateTime>,
    status: CaseStatus,
    closure_reason: Option<ClosureReason>,
    closure_requested_at: Option<NaiveDateTime>,
    closure_requested_by: Option<UserId>,
    closed_at: Option<NaiveDateTime>,
    closure_approved_by: Option<UserId>,
    child_protection_notified_at: Option<NaiveDateTime>,
    exploitation_forms: String,
}

impl CaseRow {
    /// The row `Case::insert` writes for `new` (version 1, not screened, open).
    fn registered(new: &NewCase, now: NaiveDateTime) -> Self {
        let s = &new.summary;
        Self {
            id: new.id.clone(),
            reference: new.reference.clone(),
            owner_organisation_id: new.owner.clone(),
            created_by: new.created_by.clone(),
            created_at: now,
            updated_at: now,
            version: 1,
            sex: s.sex,
            age_band: s.age_band,
            may_be_child: s.may_be_child,
            is_child: s.is_child(),
            citizenship: s.citizenship,
            recruitment_country: s.recruitment_country,
            exploitation_country: s.exploitation_country,
            region: s.region.clone(),
            encountered_on: s.encountered_on,
            identification_stage: IdentificationStage::NotScreened,
            referred_into_nrm_at: None,
            reasonable_grounds_due_at: None,
            reasonable_grounds_decided_at: None,
            recovery_period_ends_at: None,
            conclusive_grounds_decided_at: None,
            reasonable_grounds_overdue_at: None,
            conclusive_grounds_overdue_at: None,
            status: CaseStatus::Open,
            closure_reason: None,
            closure_requested_at: None,
            closure_requested_by: None,
            closed_at: None,
            closure_approved_by: None,
            child_protection_notified_at: None,
            exploitation_forms: forms_list(&s.exploitation_types),
        }
    }

    /// What `Case::apply` does to the row: each change given, the version bumped.
    fn apply(&mut self, c: &CaseChanges, now: NaiveDateTime) {
        fn set<T: Clone>(column: &mut T, change: Option<&T>) {
            if let Some(value) = change {
                *column = value.clone();
            }
        }
        set(&mut self.sex, c.sex.as_ref());
        set(&mut self.age_band, c.age_band.as_ref());
        set(&mut self.may_be_child, c.may_be_child.as_ref());
        set(&mut self.is_child, c.is_child.as_ref());
        set(&mut self.citizenship, c.citizenship.as_ref());
        set(
            &mut self.recruitment_country,
            c.recruitment_country.as_ref(),
        );
        set(
            &mut self.exploitation_country,
            c.exploitation_country.as_ref(),
        );
        set(&mut self.region, c.region.as_ref());
        set(&mut self.encountered_on, c.encountered_on.as_ref());
        set(
            &mut self.identification_stage,
            c.identification_stage.as_ref(),
        );
        set(
            &mut self.referred_into_nrm_at,
            c.referred_into_nrm_at.as_ref(),
        );
        set(
            &mut self.reasonable_grounds_due_at,
            c.reasonable_grounds_due_at.as_ref(),
        );
        set(
            &mut self.reasonable_grounds_decided_at,
            c.reasonable_grounds_decided_at.as_ref(),
        );
        set(
            &mut self.recovery_period_ends_at,
            c.recovery_period_ends_at.as_ref(),
        );
        set(
            &mut self.conclusive_grounds_decided_at,
            c.conclusive_grounds_decided_at.as_ref(),
        );
        set(&mut self.status, c.status.as_ref());
        set(&mut self.closure_reason, c.closure_reason.as_ref());
        set(
            &mut self.closure_requested_at,
            c.closure_requested_at.as_ref(),
        );
        set(
            &mut self.closure_requested_by,
            c.closure_requested_by.as_ref(),
        );
        set(&mut self.closed_at, c.closed_at.as_ref());
        set(
            &mut self.closure_approved_by,
            c.closure_approved_by.as_ref(),
        );
        set(
            &mut self.child_protection_notified_at,
            c.child_protection_notified_at.as_ref(),
        );
        self.version += 1;
        self.updated_at = now;
    }

    /// What `Deadline::mark_overdue` does to a decision still awaited.
    fn mark_overdue(&mut self, deadline: Deadline, now: NaiveDateTime) {
        match deadline {
            Deadline::ReasonableGrounds
                if self.reasonable_grounds_decided_at.is_none()
                    && self.reasonable_grounds_overdue_at.is_none() =>
            {
                self.reasonable_grounds_overdue_at = Some(now);
            }
            Deadline::ConclusiveGrounds
                if self.conclusive_grounds_decided_at.is_none()
                    && self.conclusive_grounds_overdue_at.is_none() =>
            {
                self.conclusive_grounds_overdue_at = Some(now);
            }
            _ => {}
        }
    }
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = case_exploitation_types, treat_none_as_default_value = false)]
struct ExploitationTypeRow {
    case_id: CaseId,
    exploitation_type: ExploitationType,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = case_means_of_control, treat_none_as_default_value = false)]
struct MeansOfControlRow {
    case_id: CaseId,
    means_of_control: MeansOfControl,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = case_assignments, treat_none_as_default_value = false)]
struct AssignmentRow {
    case_id: CaseId,
    user_id: UserId,
    organisation_id: OrgId,
    lead: bool,
    assigned_by: Option<UserId>,
    assigned_at: NaiveDateTime,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = case_duplicates, treat_none_as_default_value = false)]
struct DuplicateRow {
    case_id: CaseId,
    other_case_id: CaseId,
    status: DuplicateStatus,
    found_at: NaiveDateTime,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = consents, treat_none_as_default_value = false)]
struct ConsentRow {
    id: ConsentId,
    case_id: CaseId,
    version: i32,
    kind: String,
    given_by: ConsentGiver,
    method: ConsentMethod,
    purposes: String,
    field_groups: String,
    recipients: String,
    given_at: NaiveDateTime,
    valid_until: Option<NaiveDateTime>,
    recorded_by: UserId,
    recorded_at: NaiveDateTime,
    details: Option<Vec<u8>>,
}

/// `Case::insert`: the case's row, read back with `RETURNING`, and its summary's lists in
/// one `INSERT` per list (three statements, where a row, two deletions, an insert per value
/// and a read back were nine for a usual case).
pub(crate) fn insert_registered(
    conn: &mut DbConn,
    new: &NewCase,
    now: NaiveDateTime,
) -> Result<Case, DbError> {
    let row = CaseRow::registered(new, now);
    let case = match &mut *conn {
        DbConn::Postgresql(pg) => diesel::insert_into(cases::table)
            .values(&row)
            .returning(Case::as_returning())
            .get_result(pg)?,
        DbConn::Sqlite(lite) => diesel::insert_into(cases::table)
            .values(&row)
            .returning(Case::as_returning())
            .get_result(lite)?,
    };
    let mut lists = CaseBatch::default();
    lists.push_lists(new);
    insert_rows!(
        conn,
        case_exploitation_types::table,
        lists.exploitation_types
    )?;
    insert_rows!(conn, case_means_of_control::table, lists.means_of_control)?;
    Ok(case)
}

/// The rows of a batch of new cases, per table, to be written with [`CaseBatch::insert`]
/// (inside the caller's write transaction). The vault's rows of the same cases go in a
/// [`crate::vault::VaultBatch`], written after this one (their keys refer to the cases).
#[derive(Debug, Default)]
pub struct CaseBatch {
    cases: Vec<CaseRow>,
    exploitation_types: Vec<ExploitationTypeRow>,
    means_of_control: Vec<MeansOfControlRow>,
    assignments: Vec<AssignmentRow>,
    duplicates: Vec<DuplicateRow>,
    consents: Vec<ConsentRow>,
    /// Screenings, their answers already sealed.
    pub screenings: Vec<Screening>,
    /// Identification decisions, their reasons already sealed.
    pub decisions: Vec<Decision>,
    /// Assistance records.
    pub assistance: Vec<Assistance>,
    /// Case notes.
    pub notes: Vec<Note>,
    /// Risk assessments.
    pub risk_assessments: Vec<RiskAssessment>,
    /// Follow-ups.
    pub follow_ups: Vec<FollowUp>,
}

impl CaseBatch {
    /// A case registered as `new` at `now`, then changed by `changes` (its version bumped
    /// once, as `Case::apply` does), its decision `overdue` marked so, if given.
    pub fn push_case(
        &mut self,
        new: &NewCase,
        changes: &CaseChanges,
        overdue: Option<Deadline>,
        now: NaiveDateTime,
    ) {
        let mut row = CaseRow::registered(new, now);
        row.apply(changes, now);
        if let Some(deadline) = overdue {
            row.mark_overdue(deadline, now);
        }
        self.cases.push(row);
        self.push_lists(new);
    }

    /// The summary's lists of a new case, each value once.
    fn push_lists(&mut self, new: &NewCase) {
        let (kinds, means) = new.summary.stored_lists();
        self.exploitation_types
            .extend(
                kinds
                    .into_iter()
                    .map(|exploitation_type| ExploitationTypeRow {
                        case_id: new.id.clone(),
                        exploitation_type,
                    }),
            );
        self.means_of_control
            .extend(means.into_iter().map(|means_of_control| MeansOfControlRow {
                case_id: new.id.clone(),
                means_of_control,
            }));
    }

    /// `user` of `organisation` assigned to a new case (by nobody: at registration). A case
    /// has one lead per organisation: the caller assigns the lead once.
    pub fn push_assignment(
        &mut self,
        case: &CaseId,
        user: &UserId,
        organisation: &OrgId,
        lead: bool,
        now: NaiveDateTime,
    ) {
        self.assignments.push(AssignmentRow {
            case_id: case.clone(),
            user_id: user.clone(),
            organisation_id: organisation.clone(),
            lead,
            assigned_by: None,
            assigned_at: now,
        });
    }

    /// A possible duplicate found at registration: `case` may be `other`'s person.
    pub fn push_duplicate(&mut self, case: &CaseId, other: &CaseId, now: NaiveDateTime) {
        self.duplicates.push(DuplicateRow {
            case_id: case.clone(),
            other_case_id: other.clone(),
            status: DuplicateStatus::Open,
            found_at: now,
        });
    }

    /// The first version of a new case's consent.
    pub fn push_consent(&mut self, new: &NewConsent<'_>, now: NaiveDateTime) {
        self.consents.push(ConsentRow {
            id: new.id.clone(),
            case_id: new.case_id.clone(),
            version: 1,
            kind: if new.withdrawal {
                "withdrawal"
            } else {
                "grant"
            }
            .to_owned(),
            given_by: new.given_by,
            method: new.method,
            purposes: super::consent::join(new.purposes),
            field_groups: super::consent::join(new.groups),
            recipients: super::consent::join(new.recipients),
            given_at: new.given_at,
            valid_until: new.valid_until,
            recorded_by: new.recorded_by.clone(),
            recorded_at: now,
            details: new.details.clone(),
        });
    }

    /// Adds `other`'s rows after this batch's.
    pub fn append(&mut self, mut other: CaseBatch) {
        self.cases.append(&mut other.cases);
        self.exploitation_types
            .append(&mut other.exploitation_types);
        self.means_of_control.append(&mut other.means_of_control);
        self.assignments.append(&mut other.assignments);
        self.duplicates.append(&mut other.duplicates);
        self.consents.append(&mut other.consents);
        self.screenings.append(&mut other.screenings);
        self.decisions.append(&mut other.decisions);
        self.assistance.append(&mut other.assistance);
        self.notes.append(&mut other.notes);
        self.risk_assessments.append(&mut other.risk_assessments);
        self.follow_ups.append(&mut other.follow_ups);
    }

    /// How many cases the batch holds.
    pub fn len(&self) -> usize {
        self.cases.len()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.cases.is_empty()
    }

    /// Writes every row, table by table (cases first). Call inside a write transaction.
    pub fn insert(&self, conn: &mut DbConn) -> Result<(), DbError> {
        use crate::schema::{
            assistance_records, case_notes, follow_ups, identification_decisions, risk_assessments,
            screenings,
        };
        copy_rows!(conn, cases::table, self.cases)?;
        copy_rows!(
            conn,
            case_exploitation_types::table,
            self.exploitation_types
        )?;
        copy_rows!(conn, case_means_of_control::table, self.means_of_control)?;
        copy_rows!(conn, case_assignments::table, self.assignments)?;
        copy_rows!(conn, case_duplicates::table, self.duplicates)?;
        copy_rows!(conn, consents::table, self.consents)?;
        insert_rows!(conn, screenings::table, self.screenings)?;
        insert_rows!(conn, identification_decisions::table, self.decisions)?;
        insert_rows!(conn, assistance_records::table, self.assistance)?;
        insert_rows!(conn, case_notes::table, self.notes)?;
        insert_rows!(conn, risk_assessments::table, self.risk_assessments)?;
        insert_rows!(conn, follow_ups::table, self.follow_ups)?;
        Ok(())
    }
}

/// Which of `candidates` are already case references, in one query (the caller draws new
/// ones for those before a [`CaseBatch`] takes them).
pub fn taken_case_references(
    conn: &mut DbConn,
    candidates: &[String],
) -> Result<HashSet<String>, DbError> {
    let mut taken = HashSet::new();
    for part in candidates.chunks(ROWS_PER_STATEMENT) {
        let found: Vec<String> = cases::table
            .filter(cases::reference.eq_any(part))
            .select(cases::reference)
            .load(conn)?;
        taken.extend(found);
    }
    Ok(taken)
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = anonymous_notifications, treat_none_as_default_value = false)]
struct AnonymousRow {
    id: NotificationId,
    reference: String,
    organisation_id: OrgId,
    reported_by: UserId,
    reported_at: NaiveDateTime,
    sex: Sex,
    age_band: AgeBand,
    citizenship: Option<CountryCode>,
    exploitation_country: Option<CountryCode>,
    region: String,
    encountered_on: chrono::NaiveDate,
    exploitation_forms: String,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = anonymous_notification_exploitation_types, treat_none_as_default_value = false)]
struct AnonymousTypeRow {
    notification_id: NotificationId,
    exploitation_type: ExploitationType,
}

/// Stores many anonymous notifications, each with its forms of exploitation, in a few
/// statements: the rows `AnonymousNotification::insert` writes for each. Call inside a write
/// transaction.
pub fn insert_anonymous(
    conn: &mut DbConn,
    notifications: &[(AnonymousNotification, Vec<ExploitationType>)],
) -> Result<(), DbError> {
    let mut rows = Vec::with_capacity(notifications.len());
    let mut types = Vec::new();
    for (n, kinds) in notifications {
        let mut kinds = kinds.clone();
        kinds.sort();
        kinds.dedup();
        rows.push(AnonymousRow {
            id: n.id.clone(),
            reference: n.reference.clone(),
            organisation_id: n.organisation_id.clone(),
            reported_by: n.reported_by.clone(),
            reported_at: n.reported_at,
            sex: n.sex,
            age_band: n.age_band,
            citizenship: n.citizenship,
            exploitation_country: n.exploitation_country,
            region: n.region.clone(),
            encountered_on: n.encountered_on,
            exploitation_forms: forms_list(&kinds),
        });
        types.extend(kinds.into_iter().map(|exploitation_type| AnonymousTypeRow {
            notification_id: n.id.clone(),
            exploitation_type,
        }));
    }
    copy_rows!(conn, anonymous_notifications::table, rows)?;
    copy_rows!(
        conn,
        anonymous_notification_exploitation_types::table,
        types
    )?;
    Ok(())
}
