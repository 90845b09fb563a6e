//! The statistics service: who may read which figures, counting them, protecting them and
//! auditing the query; and the de-identified export. Figures come from summary columns only
//! and are protected (`super::disclosure`) before they leave it: the caller cannot switch
//! suppression off. Counting only reads; the audit event is written when it is done.

use std::collections::BTreeMap;

use tumaini_db::DbConn;
use tumaini_db::country::CountryCode;
use tumaini_db::ids::OrgId;
use tumaini_db::models::Organisation;
use tumaini_db::models::statistics::Dimension;
use tumaini_db::vocabulary::OrganisationKind;
use tumaini_db::vocabulary::region;

use super::export::Export;
use super::response_times::ResponseTimes;
use super::{Table, TableRequest};
use crate::audit::{self, AuditAction, Event, Outcome};
use crate::auth::{Caller, Principal};
use crate::authz::{Action, OrganisationFacts};
use crate::guarded::{authorize, authorize_principal};
use crate::http::{ApiError, ProblemType, with_conn};
use crate::state::AppState;

/// A 400 naming what is wrong with the request (never a value given).
pub fn bad(detail: String) -> ApiError {
    ApiError::problem(ProblemType::BadRequest, detail)
}

/// A dimension a table may be broken down by or filtered on, by its code. The organisation is
/// chosen with `organisation`, never listed or broken down by. What was given is not repeated:
/// a query string may hold anything.
pub fn dimension(code: &str) -> Result<Dimension, ApiError> {
    match Dimension::from_code(code.trim()) {
        Some(Dimension::Organisation) | None => Err(bad(
            "a dimension named is not one of the statistics (see the `dimensions` parameter)"
                .to_owned(),
        )),
        Some(d) => Ok(d),
    }
}

/// The national figures are decided on the coordination office as a whole, which no
/// organisation's supervisor holds.
pub fn national(country: &str) -> OrganisationFacts {
    OrganisationFacts {
        id: "national".to_owned(),
        kind: OrganisationKind::CoordinationOffice,
        country: country.to_owned(),
        active: true,
        need_to_know: false,
    }
}

/// What an answer holds.
#[derive(Debug)]
pub enum Figures {
    /// A count table.
    Table(Table),
    /// Referral answer times.
    ResponseTimes(ResponseTimes),
}

/// The names of organisations by id, for reports broken down by organisation.
pub fn organisation_names(conn: &mut DbConn) -> Result<BTreeMap<String, String>, ApiError> {
    Ok(Organisation::list(conn)?
        .into_iter()
        .map(|org| (org.id.to_string(), org.name))
        .collect())
}

/// What computing the figures gave: the figures, or a refusal to say in a 400 (audited as
/// denied).
pub type Computed = Result<Figures, String>;

/// Whose figures: one organisation's (a supervisor's own, or one a coordinator named), and
/// within a coordinator's jurisdiction (the records held in their country).
#[derive(Debug, Clone, Copy)]
pub struct Scope<'a> {
    /// One organisation's figures.
    pub organisation: Option<&'a OrgId>,
    /// Within this country.
    pub country: Option<&'a CountryCode>,
}

/// Decides whether the caller may read statistics of `organisation` (none: the national ones;
/// a supervisor's own organisation is the default), computes the figures with `compute` (given
/// the organisation in scope), and audits the query. The counting only reads; the audit event
/// is written once it is done, in its own short write transaction, and nothing is answered
/// unless it was written (so an SQLite database is not locked for writers while a large table
/// is counted).
pub async fn answer<F>(
    state: &AppState,
    caller: Principal,
    organisation: Option<OrgId>,
    name: AuditAction,
    compute: F,
) -> Result<Figures, ApiError>
where
    F: FnOnce(&mut DbConn, Scope<'_>) -> Result<Computed, ApiError> + Send + 'static,
{
    let national_scope = caller.national();
    let jurisdiction = national_scope.then(|| caller.organisation().country);
    let scope = match organisation {
        Some(id) => Some(id),
        None if national_scope => None,
        None => Some(caller.organisation().id.clone()),
    };
    let facts = match &scope {
        None => national(caller.organisation().country.as_str()),
        Some(id) => {
            let id = id.clone();
            match with_conn(&state.pool, move |conn| Ok(Organisation::find(conn, &id)?)).await {
                Ok(org) => OrganisationFacts::from(&org),
                Err(_) => return Err(ApiError::bare(ProblemType::NotFound)),
            }
        }
    };
    let decision =
        authorize_principal(state, &caller, Action::ReadStatistics, &facts, name, || {
            ApiError::problem(
                ProblemType::Forbidden,
                "your role may not read these statistics",
            )
        })
        .await?;
    let (actor, context) = (caller.owned_actor(), caller.context().clone());
    let computed = with_conn(&state.pool, move |conn| {
        let computed = compute(
            conn,
            Scope {
                organisation: scope.as_ref(),
                country: jurisdiction.as_ref(),
            },
        )?;
        conn.write_transaction(|conn| {
            audit::record_decided_by(
                conn,
                &context,
                actor.as_actor(),
                Event {
                    action: name,
                    outcome: if computed.is_ok() {
                        Outcome::Success
                    } else {
                        Outcome::Denied
                    },
                    resource: scope.map(|id| ("organisation", id.to_string())),
                },
                &decision,
            )
        })?;
        Ok::<_, ApiError>(computed)
    })
    .await?;
    computed.map_err(bad)
}

/// Computes the protected table of `request`, within `scope`; organisations and regions named
/// by the table are labelled with their names.
pub fn count_table(
    conn: &mut DbConn,
    mut request: TableRequest,
    scope: Scope<'_>,
) -> Result<Computed, ApiError> {
    if let Some(id) = scope.organisation {
        request
            .filters
            .push((Dimension::Organisation, id.to_string()));
    }
    let mut table = match super::table(conn, &request, scope.country)? {
        Ok(table) => table,
        Err(refusal) => return Ok(Err(refusal.to_string())),
    };
    for (at, dimension) in request.dimensions.iter().enumerate() {
        let named = table.values.get(at).cloned().unwrap_or_default();
        let names: BTreeMap<String, String> = match dimension {
            Dimension::Organisation => organisation_names(conn)?,
            Dimension::Region => region::names(conn, &named)?.into_iter().collect(),
            _ => continue,
        };
        table.labels.extend(
            named
                .iter()
                .filter_map(|id| names.get(id).map(|name| (id.clone(), name.clone()))),
        );
    }
    Ok(Ok(Figures::Table(table)))
}

/// A research export: the agreement it is made under, the research k configured (if any) and
/// whether the agreement is one the configuration approved.
#[derive(Debug)]
pub struct Research {
    /// The agreement's reference.
    pub agreement: String,
    /// The research k, where the deployment configured one.
    pub k: Option<usize>,
    /// The agreement is approved.
    pub approved: bool,
}

/// Makes the de-identified export with `k`, audited as `action`. A research export is decided
/// like any export, then refused (404) where none is configured and (403) under an agreement
/// not approved in the configuration; made or refused, it is a high-severity event naming the
/// agreement.
pub async fn export(
    state: &AppState,
    caller: Caller,
    k: usize,
    action: AuditAction,
    research: Option<Research>,
) -> Result<Export, ApiError> {
    let facts = national(caller.organisation.country.as_str());
    let decision = authorize(
        state,
        &caller,
        Action::ReadStatistics,
        &facts,
        action,
        || ApiError::problem(ProblemType::Forbidden, "only national coordinators export"),
    )
    .await?;
    let Caller { user, context, .. } = caller;
    let refusal = research.as_ref().and_then(|r| match (r.k, r.approved) {
        (None, _) => Some(ApiError::problem(
            ProblemType::NotFound,
            "no research export is configured on this server (TUMAINI_RESEARCH_EXPORT_K)",
        )),
        (Some(_), false) => Some(ApiError::problem(
            ProblemType::Forbidden,
            "this agreement is not one the research export may be made under \
             (TUMAINI_RESEARCH_AGREEMENTS)",
        )),
        (Some(_), true) => None,
    });
    let k = research.as_ref().and_then(|r| r.k).unwrap_or(k);
    let agreement = research.map(|r| r.agreement);
    let refused = refusal.is_some();
    // The export holds the cases owned in the coordinator's own country only.
    let jurisdiction = caller.organisation.country;
    let made = with_conn(&state.pool, move |conn| {
        let made = if refused {
            None
        } else {
            let rows = tumaini_db::models::statistics::consenting_cases(
                conn,
                tumaini_db::time::now_utc(),
                Some(&jurisdiction),
            )?;
            Some(crate::statistics::export::anonymise(&rows, k))
        };
        conn.write_transaction(|conn| {
            let research = agreement.is_some();
            let event = Event {
                action,
                outcome: if refused {
                    Outcome::Denied
                } else {
                    Outcome::Success
                },
                resource: agreement.map(|a| ("research_agreement", a)),
            };
            if research {
                audit::record_decided_high(conn, &context, Some(&user), event, &decision)
            } else {
                audit::record_decided(conn, &context, Some(&user), event, &decision)
            }
        })?;
        Ok::<_, ApiError>(made)
    })
    .await?;
    if let Some(refusal) = refusal {
        return Err(refusal);
    }
    let Some(made) = made else {
        return Err(ApiError::bare(ProblemType::NotFound));
    };
    Ok(made)
}
