//! Cases: the coarse plaintext summary, the identification stage with its deadlines, and the
//! case status. Every change bumps `version`, which the API hands out as the `ETag`, so two
//! case workers editing one record cannot overwrite each other.

use std::collections::HashMap;

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use crate::country::CountryCode;
use crate::ids::{CaseId, OrgId, UserId};
use crate::schema::{case_exploitation_types, case_means_of_control, cases};
use crate::time::now_utc;
use crate::vocabulary::{
    AgeBand, CaseStatus, ClosureReason, ErasureScope, ExploitationType, IdentificationStage,
    MeansOfControl, RestrictionReason, Sex,
};
use crate::{DbConn, DbError};

/// A case as stored (its summary group and workflow state).
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Identifiable)]
#[diesel(table_name = cases)]
pub struct Case {
    /// Identifier.
    pub id: CaseId,
    /// Short, unguessable reference safe to read over a phone.
    pub reference: String,
    /// The organisation that owns the case.
    pub owner_organisation_id: OrgId,
    /// Who registered it.
    pub created_by: UserId,
    /// When it was registered.
    pub created_at: NaiveDateTime,
    /// When it last changed.
    pub updated_at: NaiveDateTime,
    /// Bumped by every change (the `ETag`).
    pub version: i32,
    /// Sex or gender.
    pub sex: Sex,
    /// Age band at registration.
    pub age_band: AgeBand,
    /// The age is uncertain and the person may be under 18.
    pub may_be_child: bool,
    /// Treated as a child (under 18, or possibly under 18).
    pub is_child: bool,
    /// Citizenship.
    pub citizenship: Option<CountryCode>,
    /// Country of recruitment.
    pub recruitment_country: Option<CountryCode>,
    /// Country of exploitation.
    pub exploitation_country: Option<CountryCode>,
    /// Region or district of the encounter.
    pub region: String,
    /// Date of the encounter.
    pub encountered_on: NaiveDate,
    /// Identification stage.
    pub identification_stage: IdentificationStage,
    /// When it was referred into the NRM.
    pub referred_into_nrm_at: Option<NaiveDateTime>,
    /// When the reasonable-grounds decision is due.
    pub reasonable_grounds_due_at: Option<NaiveDateTime>,
    /// When it was made.
    pub reasonable_grounds_decided_at: Option<NaiveDateTime>,
    /// When the recovery and reflection period ends (the conclusive decision is due).
    pub recovery_period_ends_at: Option<NaiveDateTime>,
    /// When the conclusive decision was made.
    pub conclusive_grounds_decided_at: Option<NaiveDateTime>,
    /// When the deadline scanner found the reasonable-grounds decision overdue.
    pub reasonable_grounds_overdue_at: Option<NaiveDateTime>,
    /// When it found the conclusive decision overdue.
    pub conclusive_grounds_overdue_at: Option<NaiveDateTime>,
    /// Case status.
    pub status: CaseStatus,
    /// Why it was (or is to be) closed.
    pub closure_reason: Option<ClosureReason>,
    /// When closure was requested.
    pub closure_requested_at: Option<NaiveDateTime>,
    /// Who requested it.
    pub closure_requested_by: Option<UserId>,
    /// When it was closed.
    pub closed_at: Option<NaiveDateTime>,
    /// The supervisor who approved the closure.
    pub closure_approved_by: Option<UserId>,
    /// When child protection was notified (children only).
    pub child_protection_notified_at: Option<NaiveDateTime>,
    /// When its personal data was erased.
    pub erased_at: Option<NaiveDateTime>,
    /// What the erasure removed.
    pub erasure_scope: Option<ErasureScope>,
    /// Since when processing is restricted.
    pub restricted_at: Option<NaiveDateTime>,
    /// Who restricted it.
    pub restricted_by: Option<UserId>,
    /// Why.
    pub restriction_reason: Option<RestrictionReason>,
    /// When the person withdrew.
    pub withdrawn_at: Option<NaiveDateTime>,
}

/// The summary fields a caller provides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SummaryFields {
    /// Sex or gender.
    pub sex: Sex,
    /// Age band.
    pub age_band: AgeBand,
    /// Age uncertain and possibly under 18.
    pub may_be_child: bool,
    /// Citizenship.
    pub citizenship: Option<CountryCode>,
    /// Country of recruitment.
    pub recruitment_country: Option<CountryCode>,
    /// Country of exploitation.
    pub exploitation_country: Option<CountryCode>,
    /// Region or district.
    pub region: String,
    /// Date of the encounter.
    pub encountered_on: NaiveDate,
    /// Forms of exploitation.
    pub exploitation_types: Vec<ExploitationType>,
    /// Means of control.
    pub means_of_control: Vec<MeansOfControl>,
}

impl SummaryFields {
    /// Under 18, or possibly under 18: the person is treated as a child.
    pub fn is_child(&self) -> bool {
        self.age_band.is_under_18() || self.may_be_child
    }

    /// The forms of exploitation and means of control as they are stored: each value once, in
    /// order.
    pub fn stored_lists(&self) -> SummaryLists {
        let mut kinds = self.exploitation_types.clone();
        kinds.sort();
        kinds.dedup();
        let mut means = self.means_of_control.clone();
        means.sort();
        means.dedup();
        (kinds, means)
    }
}

/// A case's forms of exploitation and means of control.
pub type SummaryLists = (Vec<ExploitationType>, Vec<MeansOfControl>);

/// A case to register.
#[derive(Debug, Clone)]
pub struct NewCase {
    /// Identifier (made by the caller, so the vault key can be created first).
    pub id: CaseId,
    /// Reference.
    pub reference: String,
    /// Owning organisation.
    pub owner: OrgId,
    /// Registering user.
    pub created_by: UserId,
    /// Summary.
    pub summary: SummaryFields,
}

/// Workflow changes to a case; `None` leaves a column alone, `Some(None)` clears it.
#[derive(Debug, Clone, Default, AsChangeset)]
#[diesel(table_name = cases)]
pub struct CaseChanges {
    pub sex: Option<Sex>,
    pub age_band: Option<AgeBand>,
    pub may_be_child: Option<bool>,
    pub is_child: Option<bool>,
    pub citizenship: Option<Option<CountryCode>>,
    pub recruitment_country: Option<Option<CountryCode>>,
    pub exploitation_country: Option<Option<CountryCode>>,
    pub region: Option<String>,
    pub encountered_on: Option<NaiveDate>,
    pub identification_stage: Option<IdentificationStage>,
    pub referred_into_nrm_at: Option<Option<NaiveDateTime>>,
    pub reasonable_grounds_due_at: Option<Option<NaiveDateTime>>,
    pub reasonable_grounds_decided_at: Option<Option<NaiveDateTime>>,
    pub recovery_period_ends_at: Option<Option<NaiveDateTime>>,
    pub conclusive_grounds_decided_at: Option<Option<NaiveDateTime>>,
    pub status: Option<CaseStatus>,
    pub closure_reason: Option<Option<ClosureReason>>,
    pub closure_requested_at: Option<Option<NaiveDateTime>>,
    pub closure_requested_by: Option<Option<UserId>>,
    pub closed_at: Option<Option<NaiveDateTime>>,
    pub closure_approved_by: Option<Option<UserId>>,
    pub child_protection_notified_at: Option<Option<NaiveDateTime>>,
    pub withdrawn_at: Option<Option<NaiveDateTime>>,
}

impl CaseChanges {
    /// The changes that set a case's summary to `summary`.
    pub fn summary(summary: &SummaryFields) -> Self {
        Self {
            sex: Some(summary.sex),
            age_band: Some(summary.age_band),
            may_be_child: Some(summary.may_be_child),
            is_child: Some(summary.is_child()),
            citizenship: Some(summary.citizenship),
            recruitment_country: Some(summary.recruitment_country),
            exploitation_country: Some(summary.exploitation_country),
            region: Some(summary.region.clone()),
            encountered_on: Some(summary.encountered_on),
            ..Self::default()
        }
    }
}

/// Which cases a caller may find at all (the policies then decide each one).
#[derive(Debug, Clone, Default)]
pub struct CaseScope {
    /// Every case (national coordinators).
    pub all: bool,
    /// Cases owned by this organisation.
    pub owner: Option<OrgId>,
    /// Cases registered by this user.
    pub created_by: Option<UserId>,
    /// Cases referred into the NRM (the competent authority).
    pub referred_into_nrm: bool,
    /// Cases with these ids (held through referrals).
    pub also: Vec<CaseId>,
    /// And, whatever the above, only cases owned by an organisation of this country (the
    /// jurisdiction of coordinators and competent authorities).
    pub country: Option<crate::country::CountryCode>,
}

/// Filters of the case list.
#[derive(Debug, Clone, Default)]
pub struct CaseFilter {
    /// Only this status.
    pub status: Option<CaseStatus>,
    /// Only this identification stage.
    pub stage: Option<IdentificationStage>,
    /// Only children (true) or adults (false).
    pub child: Option<bool>,
    /// Only this owning organisation.
    pub owner: Option<OrgId>,
    /// Only cases with an overdue identification decision.
    pub overdue: Option<bool>,
    /// Only the case with this reference.
    pub reference: Option<String>,
}

impl Case {
    /// Registers a case with its multi-valued summary fields. Call inside a transaction.
    pub fn insert(conn: &mut DbConn, new: &NewCase) -> Result<Case, DbError> {
        super::bulk::insert_registered(conn, new, now_utc())
    }

    /// The case with this id.
    pub fn find(conn: &mut DbConn, id: &CaseId) -> Result<Case, DbError> {
        Ok(cases::table
            .find(id)
            .select(Case::as_select())
            .first(conn)?)
    }

    /// The case, read inside a write transaction and, on PostgreSQL, locked until it ends
    /// (SQLite's write transaction already excludes other writers): a change decided on the
    /// case's facts cannot commit after an erasure that changed them.
    pub fn find_for_update(conn: &mut DbConn, id: &CaseId) -> Result<Case, DbError> {
        match conn {
            DbConn::Postgresql(pg) => Ok(cases::table
                .find(id)
                .select(Case::as_select())
                .for_update()
                .first(pg)?),
            DbConn::Sqlite(_) => Self::find(conn, id),
        }
    }

    /// Applies `changes` if the case is still at `expected_version`, bumping the version.
    /// `Ok(None)`: someone else changed it first (or it is gone).
    pub fn apply(
        conn: &mut DbConn,
        id: &CaseId,
        expected_version: i32,
        changes: &CaseChanges,
    ) -> Result<Option<Case>, DbError> {
        let updated = diesel::update(
            cases::table
                .filter(cases::id.eq(id))
                .filter(cases::version.eq(expected_version)),
        )
        .set((
            changes,
            cases::version.eq(expected_version + 1),
            cases::updated_at.eq(now_utc()),
        ))
        .execute(conn)?;
        if updated == 0 {
            return Ok(None);
        }
        Self::find(conn, id).map(Some)
    }

    /// Replaces the case's summary (and its lists) if still at `expected_version`.
    pub fn update_summary(
        conn: &mut DbConn,
        id: &CaseId,
        expected_version: i32,
        summary: &SummaryFields,
    ) -> Result<Option<Case>, DbError> {
        let Some(case) = Self::apply(conn, id, expected_version, &CaseChanges::summary(summary))?
        else {
            return Ok(None);
        };
        diesel::update(cases::table.find(id))
            .set(cases::exploitation_forms.eq(forms_list(&summary.exploitation_types)))
            .execute(conn)?;
        replace_lists(conn, id, summary)?;
        Ok(Some(case))
    }

    /// Forms of exploitation and means of control of each case.
    pub fn lists(
        conn: &mut DbConn,
        ids: &[CaseId],
    ) -> Result<HashMap<CaseId, SummaryLists>, DbError> {
        let mut out: HashMap<CaseId, (Vec<_>, Vec<_>)> = HashMap::new();
        for (case, kind) in case_exploitation_types::table
            .filter(case_exploitation_types::case_id.eq_any(ids))
            .select((
                case_exploitation_types::case_id,
                case_exploitation_types::exploitation_type,
            ))
            .load::<(CaseId, ExploitationType)>(conn)?
        {
            out.entry(case).or_default().0.push(kind);
        }
        for (case, means) in case_means_of_control::table
            .filter(case_means_of_control::case_id.eq_any(ids))
            .select((
                case_means_of_control::case_id,
                case_means_of_control::means_of_control,
            ))
            .load::<(CaseId, MeansOfControl)>(conn)?
        {
            out.entry(case).or_default().1.push(means);
        }
        for (kinds, means) in out.values_mut() {
            kinds.sort();
            means.sort();
        }
        Ok(out)
    }

    /// A page of the cases in `scope` matching `filter`, newest first, after the cursor.
    pub fn list(
        conn: &mut DbConn,
        scope: &CaseScope,
        filter: &CaseFilter,
        before: Option<&CaseId>,
        limit: i64,
    ) -> Result<Vec<Case>, DbError> {
        let mut query = cases::table.select(Case::as_select()).into_boxed();
        if !scope.all {
            // An impossible id keeps the OR chain well-formed when a part is absent.
            let none = "-";
            let mut visible: Box<
                dyn BoxableExpression<cases::table, _, SqlType = diesel::sql_types::Bool>,
            > = Box::new(cases::id.eq(none));
            if let Some(owner) = &scope.owner {
                visible = Box::new(visible.or(cases::owner_organisation_id.eq(owner.clone())));
            }
            if let Some(user) = &scope.created_by {
                visible = Box::new(visible.or(cases::created_by.eq(user.clone())));
            }
            if scope.referred_into_nrm {
                visible = Box::new(visible.or(cases::referred_into_nrm_at.is_not_null()));
            }
            if !scope.also.is_empty() {
                visible = Box::new(visible.or(cases::id.eq_any(scope.also.clone())));
            }
            query = query.filter(visible);
        }
        if let Some(country) = scope.country {
            use crate::schema::organisations;
            let there = organisations::table
                .filter(organisations::country.eq(country))
                .select(organisations::id);
            query = query.filter(cases::owner_organisation_id.eq_any(there));
        }
        if let Some(reference) = &filter.reference {
            query = query.filter(cases::reference.eq(reference.clone()));
        }
        if let Some(status) = filter.status {
            query = query.filter(cases::status.eq(status));
        }
        if let Some(stage) = filter.stage {
            query = query.filter(cases::identification_stage.eq(stage));
        }
        if let Some(child) = filter.child {
            query = query.filter(cases::is_child.eq(child));
        }
        if let Some(owner) = &filter.owner {
            query = query.filter(cases::owner_organisation_id.eq(owner.clone()));
        }
        if filter.overdue == Some(true) {
            query = query.filter(
                cases::reasonable_grounds_overdue_at
                    .is_not_null()
                    .and(cases::reasonable_grounds_decided_at.is_null())
                    .or(cases::conclusive_grounds_overdue_at
                        .is_not_null()
                        .and(cases::conclusive_grounds_decided_at.is_null())),
            );
        }
        if let Some(before) = before {
            query = query.filter(cases::id.lt(before.clone()));
        }
        Ok(query.order(cases::id.desc()).limit(limit).load(conn)?)
    }

    /// Whether a reference is taken (by a case or an anonymous notification).
    pub fn reference_taken(conn: &mut DbConn, reference: &str) -> Result<bool, DbError> {
        use crate::schema::anonymous_notifications;
        // One statement for both tables.
        Ok(diesel::select(
            diesel::dsl::exists(cases::table.filter(cases::reference.eq(reference))).or(
                diesel::dsl::exists(
                    anonymous_notifications::table
                        .filter(anonymous_notifications::reference.eq(reference)),
                ),
            ),
        )
        .get_result::<bool>(conn)?)
    }
}

/// Forms of exploitation as the sorted comma-separated list of codes, without repeats, that
/// statistics group by (migration 000900; the rows of `case_exploitation_types` stay the
/// source for everything else).
pub(crate) fn forms_list(kinds: &[ExploitationType]) -> String {
    let mut codes: Vec<&str> = kinds.iter().map(|k| k.code()).collect();
    codes.sort_unstable();
    codes.dedup();
    codes.join(",")
}

fn replace_lists(conn: &mut DbConn, id: &CaseId, summary: &SummaryFields) -> Result<(), DbError> {
    diesel::delete(case_exploitation_types::table.filter(case_exploitation_types::case_id.eq(id)))
        .execute(conn)?;
    diesel::delete(case_means_of_control::table.filter(case_means_of_control::case_id.eq(id)))
        .execute(conn)?;
    let (kinds, means) = summary.stored_lists();
    // One statement per value: the multi-engine backend has no batch insert, and a case has a
    // handful of each.
    for kind in kinds {
        diesel::insert_into(case_exploitation_types::table)
            .values((
                case_exploitation_types::case_id.eq(id),
                case_exploitation_types::exploitation_type.eq(kind),
            ))
            .execute(conn)?;
    }
    for m in means {
        diesel::insert_into(case_means_of_control::table)
            .values((
                case_means_of_control::case_id.eq(id),
                case_means_of_control::means_of_control.eq(m),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// The backend of [`DbConn`], for boxed predicates.
type Backend = <DbConn as diesel::Connection>::Backend;

/// A condition on a case row (one definition shared by several queries).
pub type CasePredicate =
    Box<dyn BoxableExpression<cases::table, Backend, SqlType = diesel::sql_types::Bool>>;

/// A condition on a case row over nullable columns.
type NullableCasePredicate = Box<
    dyn BoxableExpression<
            cases::table,
            Backend,
            SqlType = diesel::sql_types::Nullable<diesel::sql_types::Bool>,
        >,
>;

/// Where [`Deadline::awaited`] looks.
#[derive(Debug, Clone, Copy)]
pub enum Awaited<'a> {
    /// Among these cases.
    Cases(&'a [CaseId]),
    /// Among the cases owned by organisations of this country.
    Country(CountryCode),
}

/// An NRM decision with a deadline the scanner watches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deadline {
    /// The reasonable-grounds decision, due some working days after referral into the NRM.
    ReasonableGrounds,
    /// The conclusive decision, due when the recovery and reflection period ends.
    ConclusiveGrounds,
}

impl Deadline {
    /// Both deadlines.
    pub const ALL: [Self; 2] = [Self::ReasonableGrounds, Self::ConclusiveGrounds];

    /// Stable code.
    pub const fn code(self) -> &'static str {
        match self {
            Self::ReasonableGrounds => "reasonable_grounds",
            Self::ConclusiveGrounds => "conclusive_grounds",
        }
    }

    /// The cases awaiting this decision: at the stage that calls for it, undecided, with a
    /// deadline, and not erased (an erased case awaits no decision: nobody may take one on it
    /// any more). The one definition the deadline scanner and the work lists build on.
    pub fn awaiting(self) -> CasePredicate {
        match self {
            Self::ReasonableGrounds => Box::new(
                cases::erased_at
                    .is_null()
                    .and(cases::identification_stage.eq(IdentificationStage::ReferredToNrm))
                    .and(cases::reasonable_grounds_decided_at.is_null())
                    .and(cases::reasonable_grounds_due_at.is_not_null()),
            ),
            Self::ConclusiveGrounds => Box::new(
                cases::erased_at
                    .is_null()
                    .and(
                        cases::identification_stage
                            .eq(IdentificationStage::ReasonableGroundsPositive),
                    )
                    .and(cases::conclusive_grounds_decided_at.is_null())
                    .and(cases::recovery_period_ends_at.is_not_null()),
            ),
        }
    }

    /// The SQL form of [`Deadline::is_overdue`]: the decision's deadline is before `now`.
    fn past_due(self, now: NaiveDateTime) -> NullableCasePredicate {
        match self {
            Self::ReasonableGrounds => Box::new(cases::reasonable_grounds_due_at.lt(now)),
            Self::ConclusiveGrounds => Box::new(cases::recovery_period_ends_at.lt(now)),
        }
    }

    /// When the decision on `case` is due (the deadline stored when the case reached the stage
    /// that calls for it, computed from the configured rules).
    pub fn due_at(self, case: &Case) -> Option<NaiveDateTime> {
        match self {
            Self::ReasonableGrounds => case.reasonable_grounds_due_at,
            Self::ConclusiveGrounds => case.recovery_period_ends_at,
        }
    }

    /// Whether a decision due at `due` is overdue at `now`: strictly after its deadline. The
    /// scanner's query ([`Deadline::newly_overdue`]) asks the same in SQL.
    pub fn is_overdue(due: NaiveDateTime, now: NaiveDateTime) -> bool {
        due < now
    }

    /// Cases whose decision is past due at `now`, undecided, and not yet marked overdue;
    /// oldest deadline first, at most `limit`.
    pub fn newly_overdue(
        self,
        conn: &mut DbConn,
        now: NaiveDateTime,
        limit: i64,
    ) -> Result<Vec<Case>, DbError> {
        let query = cases::table
            .filter(self.awaiting())
            .filter(self.past_due(now))
            .select(Case::as_select())
            .limit(limit);
        Ok(match self {
            Self::ReasonableGrounds => query
                .filter(cases::reasonable_grounds_overdue_at.is_null())
                .order((cases::reasonable_grounds_due_at, cases::id))
                .load(conn)?,
            Self::ConclusiveGrounds => query
                .filter(cases::conclusive_grounds_overdue_at.is_null())
                .order((cases::recovery_period_ends_at, cases::id))
                .load(conn)?,
        })
    }

    /// The cases awaiting this decision ([`Deadline::awaiting`]) among `cases`, or, without a
    /// list, among the cases owned in `country`.
    pub fn awaited(self, conn: &mut DbConn, within: Awaited<'_>) -> Result<Vec<Case>, DbError> {
        let mut query = cases::table
            .filter(self.awaiting())
            .select(Case::as_select())
            .into_boxed();
        match within {
            Awaited::Cases(ids) => {
                query = query.filter(cases::id.eq_any(ids.to_vec()));
            }
            Awaited::Country(country) => {
                use crate::schema::organisations;
                let there = organisations::table
                    .filter(organisations::country.eq(country))
                    .select(organisations::id);
                query = query.filter(cases::owner_organisation_id.eq_any(there));
            }
        }
        Ok(query.order(cases::id).load(conn)?)
    }

    /// Marks the decision of `case` overdue unless someone (another replica) already did.
    /// `Ok(true)`: this call marked it, so this caller sends the one notification. The case's
    /// version is not bumped: the mark is the scanner's, not an edit of the case.
    pub fn mark_overdue(
        self,
        conn: &mut DbConn,
        case: &CaseId,
        now: NaiveDateTime,
    ) -> Result<bool, DbError> {
        let updated = match self {
            Self::ReasonableGrounds => diesel::update(
                cases::table
                    .filter(cases::id.eq(case))
                    .filter(cases::reasonable_grounds_overdue_at.is_null())
                    .filter(cases::reasonable_grounds_decided_at.is_null()),
            )
            .set(cases::reasonable_grounds_overdue_at.eq(now))
            .execute(conn)?,
            Self::ConclusiveGrounds => diesel::update(
                cases::table
                    .filter(cases::id.eq(case))
                    .filter(cases::conclusive_grounds_overdue_at.is_null())
                    .filter(cases::conclusive_grounds_decided_at.is_null()),
            )
            .set(cases::conclusive_grounds_overdue_at.eq(now))
            .execute(conn)?,
        };
        Ok(updated == 1)
    }
}
