//! What case endpoints take and give: the summary as typed values, and the case as the caller
//! may see it.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use tumaini_db::country::CountryCode;
use tumaini_db::ids::{CaseId, OrgId, UserId};
use tumaini_db::models::case::{Case, SummaryFields};
use tumaini_db::vocabulary::{
    AgeBand, CaseStatus, ClosureReason, ErasureScope, ExploitationType, IdentificationStage,
    MeansOfControl, RestrictionReason, Sex,
};
use utoipa::ToSchema;

use tumaini_db::DbConn;
use tumaini_db::vocabulary::region::{self, RegionCode};

use crate::http::{ApiError, ProblemType};

/// The summary group: coarse facts, no personal data.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SummaryInput {
    /// Sex or gender.
    pub sex: Sex,
    /// Age band.
    pub age_band: AgeBand,
    /// The age is uncertain and the person may be under 18: treated as a child.
    #[serde(default)]
    pub may_be_child: bool,
    /// Citizenship (ISO 3166-1 alpha-2).
    pub citizenship: Option<CountryCode>,
    /// Country of recruitment.
    pub recruitment_country: Option<CountryCode>,
    /// Country of exploitation.
    pub exploitation_country: Option<CountryCode>,
    /// Region or district of the encounter: a code from `GET /api/v1/regions` (ISO 3166-2,
    /// such as `UG-202` for Busia), never a place name typed in.
    #[schema(example = "UG-202")]
    pub region: String,
    /// Date of the encounter.
    pub encountered_on: NaiveDate,
    /// Forms of exploitation.
    #[serde(default)]
    pub exploitation_types: Vec<ExploitationType>,
    /// Means of control.
    #[serde(default)]
    pub means_of_control: Vec<MeansOfControl>,
}

impl SummaryInput {
    /// Validates into the stored form.
    /// The region's code is checked in form here; whether it is on the list, by
    /// [`known_region`] inside the action's transaction.
    pub fn into_fields(self) -> Result<SummaryFields, ApiError> {
        let region = region_code(&self.region, "summary.region")?.to_string();
        // The calendar of the people recording it: East Africa Time, as every date rule uses.
        let today = crate::rules::deadlines::local_date(tumaini_db::time::now_utc());
        if self.encountered_on > today {
            return Err(ApiError::problem(
                ProblemType::InvalidBody,
                "`summary.encountered_on` is in the future",
            ));
        }
        Ok(SummaryFields {
            sex: self.sex,
            age_band: self.age_band,
            may_be_child: self.may_be_child,
            citizenship: self.citizenship,
            recruitment_country: self.recruitment_country,
            exploitation_country: self.exploitation_country,
            region,
            encountered_on: self.encountered_on,
            exploitation_types: self.exploitation_types,
            means_of_control: self.means_of_control,
        })
    }
}

/// A region code in the form of ISO 3166-2, or 422 naming the field (never the value).
pub fn region_code(text: &str, field: &str) -> Result<RegionCode, ApiError> {
    text.parse::<RegionCode>()
        .map_err(|_| unknown_region(field))
}

fn unknown_region(field: &str) -> ApiError {
    ApiError::problem(
        ProblemType::InvalidBody,
        format!(
            "`{field}` is a region code from GET /api/v1/regions (ISO 3166-2, such as UG-202), \
             not a place typed in"
        ),
    )
}

/// Refuses (422) a region code on neither the shipped list nor the administrators' additions.
pub fn known_region(conn: &mut DbConn, code: &str, field: &str) -> Result<(), ApiError> {
    let parsed = region_code(code, field)?;
    match region::find(conn, &parsed)? {
        Some(_) => Ok(()),
        None => Err(unknown_region(field)),
    }
}

/// NRM decision deadlines.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Deadlines {
    /// Referred into the NRM at.
    pub referred_into_nrm_at: Option<chrono::DateTime<chrono::Utc>>,
    /// Reasonable-grounds decision due.
    pub reasonable_grounds_due_at: Option<chrono::DateTime<chrono::Utc>>,
    /// Recovery and reflection period ends; the conclusive decision is due.
    pub recovery_period_ends_at: Option<chrono::DateTime<chrono::Utc>>,
    /// A decision is overdue.
    pub overdue: bool,
}

/// A case's restriction of processing.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RestrictionView {
    /// Restricted since.
    pub since: chrono::DateTime<chrono::Utc>,
    /// The supervisor or coordinator who restricted it.
    pub restricted_by: Option<UserId>,
    /// Why.
    pub reason: Option<RestrictionReason>,
}

/// A case's summary as any caller allowed to see the case sees it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CaseSummaryView {
    /// Identifier.
    pub id: CaseId,
    /// Reference, safe to read over a phone.
    #[schema(example = "C-K7QM-4XHD-R")]
    pub reference: String,
    /// The owning organisation.
    pub owner_organisation_id: OrgId,
    /// Version (the ETag is `"v<version>"`).
    pub version: i32,
    /// Sex or gender.
    pub sex: Sex,
    /// Age band.
    pub age_band: AgeBand,
    /// Age uncertain, possibly under 18.
    pub may_be_child: bool,
    /// Treated as a child.
    pub child: bool,
    /// Citizenship.
    pub citizenship: Option<CountryCode>,
    /// Country of recruitment.
    pub recruitment_country: Option<CountryCode>,
    /// Country of exploitation.
    pub exploitation_country: Option<CountryCode>,
    /// Region (a code of `GET /api/v1/regions`); absent when a region recorded before the
    /// list existed named no region on it.
    pub region: Option<String>,
    /// Date of the encounter.
    pub encountered_on: NaiveDate,
    /// Forms of exploitation.
    pub exploitation_types: Vec<ExploitationType>,
    /// Means of control.
    pub means_of_control: Vec<MeansOfControl>,
    /// Identification stage.
    pub identification_stage: IdentificationStage,
    /// Case status.
    pub status: CaseStatus,
    /// A closure request awaits a supervisor.
    pub closure_pending: bool,
    /// Why it was closed or is to be closed.
    pub closure_reason: Option<ClosureReason>,
    /// Deadlines.
    pub deadlines: Deadlines,
    /// Processing is restricted (Uganda DPPA 2019 s.17-18, GDPR art. 18): no new referrals, no
    /// acceptance of a pending one, and its personal groups are read only by a supervisor of
    /// the owning organisation with purpose `restriction_dispute`. Assistance under way goes on.
    pub restricted: bool,
    /// Since when, by whom and why, while restricted.
    pub restriction: Option<RestrictionView>,
    /// Registered at.
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// Last changed at.
    pub updated_at: chrono::DateTime<chrono::Utc>,
    /// When the case's personal data was erased (absent unless it was): its groups and records
    /// read as erased from then on.
    pub erased_at: Option<chrono::DateTime<chrono::Utc>>,
    /// What the erasure removed: `personal_data` (the summary above stays) or `whole_record`
    /// (the summary above is blank).
    pub erasure_scope: Option<ErasureScope>,
}

impl CaseSummaryView {
    /// The view of a case with its lists.
    pub fn of(case: &Case, kinds: Vec<ExploitationType>, means: Vec<MeansOfControl>) -> Self {
        let now = tumaini_db::time::now_utc();
        let overdue = (case.reasonable_grounds_decided_at.is_none()
            && case.reasonable_grounds_due_at.is_some_and(|due| due < now))
            || (case.identification_stage == IdentificationStage::ReasonableGroundsPositive
                && case.recovery_period_ends_at.is_some_and(|due| due < now));
        Self {
            id: case.id.clone(),
            reference: case.reference.clone(),
            owner_organisation_id: case.owner_organisation_id.clone(),
            version: case.version,
            sex: case.sex,
            age_band: case.age_band,
            may_be_child: case.may_be_child,
            child: case.is_child,
            citizenship: case.citizenship,
            recruitment_country: case.recruitment_country,
            exploitation_country: case.exploitation_country,
            region: Some(case.region.clone()).filter(|r| !r.is_empty()),
            encountered_on: case.encountered_on,
            exploitation_types: kinds,
            means_of_control: means,
            identification_stage: case.identification_stage,
            status: case.status,
            closure_pending: case.closure_requested_at.is_some(),
            closure_reason: case.closure_reason,
            deadlines: Deadlines {
                referred_into_nrm_at: case.referred_into_nrm_at.map(|t| t.and_utc()),
                reasonable_grounds_due_at: case.reasonable_grounds_due_at.map(|t| t.and_utc()),
                recovery_period_ends_at: case.recovery_period_ends_at.map(|t| t.and_utc()),
                overdue,
            },
            restricted: case.restricted_at.is_some(),
            restriction: case.restricted_at.map(|since| RestrictionView {
                since: since.and_utc(),
                restricted_by: case.restricted_by.clone(),
                reason: case.restriction_reason,
            }),
            created_at: case.created_at.and_utc(),
            updated_at: case.updated_at.and_utc(),
            erased_at: case.erased_at.map(|t| t.and_utc()),
            erasure_scope: case.erasure_scope,
        }
    }

    /// Loads the lists and builds the view.
    pub fn load(conn: &mut tumaini_db::DbConn, case: &Case) -> Result<Self, ApiError> {
        let mut lists = Case::lists(conn, std::slice::from_ref(&case.id))?;
        let (kinds, means) = lists.remove(&case.id).unwrap_or_default();
        Ok(Self::of(case, kinds, means))
    }
}

/// Why the caller is reading personal data; recorded in the audit event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AccessPurpose {
    /// Giving assistance.
    Assistance,
    /// Managing or reviewing the case.
    CaseManagement,
    /// Preparing or answering a referral.
    Referral,
    /// Deciding identification.
    Identification,
    /// Keeping the person safe.
    Safeguarding,
    /// Supervising the case work.
    Supervision,
    /// Resolving the dispute a restriction of processing was placed for: the one purpose for
    /// which a restricted case's personal groups are read (by a supervisor of the owning
    /// organisation).
    RestrictionDispute,
}

impl AccessPurpose {
    /// The code recorded.
    pub const fn code(self) -> &'static str {
        match self {
            Self::Assistance => "assistance",
            Self::CaseManagement => "case_management",
            Self::Referral => "referral",
            Self::Identification => "identification",
            Self::Safeguarding => "safeguarding",
            Self::Supervision => "supervision",
            Self::RestrictionDispute => "restriction_dispute",
        }
    }
}
