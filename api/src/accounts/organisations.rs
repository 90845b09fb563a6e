//! Organisations: registered and switched off by administrators, listed for administrators and
//! national coordinators. The policies decide each action before any database work (a refusal
//! is audited: `crate::guarded::authorize`), and every change is audited in its transaction.

use serde::{Deserialize, Serialize};
use tumaini_db::country::CountryCode;
use tumaini_db::ids::OrgId;
use tumaini_db::models::{NewOrganisation, Organisation};
use tumaini_db::vocabulary::{CaseAccessMode, OrganisationKind, ServiceType};
use tumaini_db::{DbConn, DbError};
use utoipa::ToSchema;

use super::administration::text;
use super::forbidden;
use crate::audit::{self, AuditAction, Event, Outcome};
use crate::auth::Caller;
use crate::authz::{Action, OrganisationFacts};
use crate::guarded::authorize;
use crate::http::{ApiError, ProblemType, with_conn};
use crate::state::AppState;

/// Loads an organisation's facts; 404 when there is none.
async fn organisation_facts(state: &AppState, id: OrgId) -> Result<OrganisationFacts, ApiError> {
    with_conn(&state.pool, move |conn| {
        Ok(OrganisationFacts::from(&Organisation::find(conn, &id)?))
    })
    .await
}

/// An organisation.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrganisationView {
    /// Identifier.
    pub id: OrgId,
    /// Name.
    pub name: String,
    /// Kind.
    pub kind: OrganisationKind,
    /// Country.
    pub country: CountryCode,
    /// Region or district.
    pub region: String,
    /// Whether its users can act.
    pub active: bool,
    /// Who inside it reads the personal groups of its cases: the assigned staff and its
    /// supervisors (`need_to_know`), or every case worker and supervisor (`all_staff`).
    pub case_access: CaseAccessMode,
    /// Services offered.
    pub services: Vec<ServiceType>,
}

fn organisation_view(conn: &mut DbConn, org: Organisation) -> Result<OrganisationView, DbError> {
    let services = org.services(conn)?;
    Ok(OrganisationView {
        id: org.id,
        name: org.name,
        kind: org.kind,
        country: org.country,
        region: org.region,
        active: org.active,
        case_access: org.case_access,
        services,
    })
}

/// A new organisation.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrganisationInput {
    /// Public name.
    #[schema(example = "Kampala Women's Shelter")]
    pub name: String,
    /// Kind.
    pub kind: OrganisationKind,
    /// ISO 3166-1 alpha-2 country code.
    pub country: CountryCode,
    /// Region or district.
    #[schema(example = "Central")]
    pub region: String,
    /// Services offered.
    #[serde(default)]
    pub services: Vec<ServiceType>,
}

/// Registers an organisation (administrators); the input is checked once the policies allowed.
pub async fn create(
    state: &AppState,
    caller: Caller,
    input: OrganisationInput,
) -> Result<OrganisationView, ApiError> {
    let target = OrganisationFacts {
        id: "(new)".to_owned(),
        kind: input.kind,
        country: input.country.to_string(),
        active: true,
        need_to_know: false,
    };
    let decision = authorize(
        state,
        &caller,
        Action::ManageOrganisations,
        &target,
        AuditAction::OrganisationCreate,
        forbidden,
    )
    .await?;
    let new = NewOrganisation {
        name: text("name", &input.name, 200)?,
        kind: input.kind,
        country: input.country,
        region: text("region", &input.region, 100)?,
        services: input.services,
    };
    let Caller { user, context, .. } = caller;
    with_conn(&state.pool, move |conn| {
        conn.write_transaction(|conn| {
            let org = Organisation::create(conn, &new)?;
            audit::record_decided(
                conn,
                &context,
                Some(&user),
                Event {
                    action: AuditAction::OrganisationCreate,
                    outcome: Outcome::Success,
                    resource: Some(("organisation", org.id.to_string())),
                },
                &decision,
            )?;
            Ok::<_, ApiError>(organisation_view(conn, org)?)
        })
    })
    .await
}

/// Every organisation (administrators and national coordinators).
pub async fn list(state: &AppState, caller: Caller) -> Result<Vec<OrganisationView>, ApiError> {
    let own = OrganisationFacts::from(&caller.organisation);
    let decision = authorize(
        state,
        &caller,
        Action::ReadOrganisations,
        &own,
        AuditAction::OrganisationList,
        forbidden,
    )
    .await?;
    with_conn(&state.pool, move |conn| {
        let listed = Organisation::list(conn)?
            .into_iter()
            .map(|org| organisation_view(conn, org).map_err(ApiError::from))
            .collect::<Result<Vec<_>, _>>()?;
        audit::record_read(
            conn,
            &caller,
            AuditAction::OrganisationList,
            None,
            &decision,
        )?;
        Ok(listed)
    })
    .await
}

/// Switches an organisation off (administrators; never their own): its users' sessions stop
/// working at once.
pub async fn deactivate(state: &AppState, caller: Caller, id: OrgId) -> Result<(), ApiError> {
    let target = organisation_facts(state, id.clone()).await?;
    let decision = authorize(
        state,
        &caller,
        Action::ManageOrganisations,
        &target,
        AuditAction::OrganisationDeactivate,
        forbidden,
    )
    .await?;
    if id == caller.user.organisation_id {
        return Err(ApiError::problem(
            ProblemType::Conflict,
            "you cannot deactivate your own organisation",
        ));
    }
    let Caller { user, context, .. } = caller;
    with_conn(&state.pool, move |conn| {
        conn.write_transaction(|conn| {
            Organisation::set_active(conn, &id, false)?;
            audit::record_decided(
                conn,
                &context,
                Some(&user),
                Event {
                    action: AuditAction::OrganisationDeactivate,
                    outcome: Outcome::Success,
                    resource: Some(("organisation", id.to_string())),
                },
                &decision,
            )?;
            Ok::<_, ApiError>(())
        })
    })
    .await
}

/// Who inside an organisation reads the personal groups of its cases.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"case_access": "need_to_know"}))]
#[serde(deny_unknown_fields)]
pub struct CaseAccessInput {
    /// `need_to_know`: the staff assigned to a case and the organisation's supervisors;
    /// `all_staff`: every case worker and supervisor of the organisation.
    pub case_access: CaseAccessMode,
}

/// Sets who inside an organisation reads the personal groups of its cases (its supervisors; not
/// an administrator, who never touches case content). Takes effect on the next request of each
/// member of staff.
pub async fn set_case_access(
    state: &AppState,
    caller: Caller,
    id: OrgId,
    input: CaseAccessInput,
) -> Result<OrganisationView, ApiError> {
    let target = organisation_facts(state, id.clone()).await?;
    let decision = authorize(
        state,
        &caller,
        Action::SetCaseAccess,
        &target,
        AuditAction::OrganisationCaseAccess,
        forbidden,
    )
    .await?;
    let Caller { user, context, .. } = caller;
    with_conn(&state.pool, move |conn| {
        conn.write_transaction(|conn| {
            Organisation::set_case_access(conn, &id, input.case_access)?;
            audit::record_decided(
                conn,
                &context,
                Some(&user),
                Event {
                    action: AuditAction::OrganisationCaseAccess,
                    outcome: Outcome::Success,
                    resource: Some(("organisation", id.to_string())),
                },
                &decision,
            )?;
            let org = Organisation::find(conn, &id)?;
            Ok::<_, ApiError>(organisation_view(conn, org)?)
        })
    })
    .await
}
