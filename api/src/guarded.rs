//! The one path every policy-decided, state-changing request takes, whatever it acts on (a
//! case, a referral, a registration, an organisation's accounts):
//!
//! 1. inside one write transaction, the service loads what the request is about, asks the
//!    policies, and either refuses ([`Failure::Refused`]) or does the work and writes its
//!    audit event (and, for an idempotent POST, stores the answer);
//! 2. a refusal is audited as `denied` in a transaction of its own (nothing else happened),
//!    and answered as the service decided: 404 when the caller may not see the object, exactly
//!    as for one that does not exist, else the refusal they may hear;
//! 3. a refusal the work itself raised (403) is audited as a denial too;
//! 4. when the work failed because a concurrent twin with the same `Idempotency-Key` won the
//!    race, the twin's answer is given instead (the service's replay audits it as a replay).
//!
//! [`authorize`] is the same rule for a request decided before any database work (an action on
//! an organisation): the refusal is audited in a transaction of its own and answered.

use tumaini_db::{DbConn, DbError};

use crate::audit::{self, AuditAction, Event, Outcome, OwnedActor};
use crate::auth::{Caller, Principal, RequestContext};
use crate::authz::{AccessContext, Action, Decision, OrganisationFacts, Resource, Subject};
use crate::http::{ApiError, ProblemType, with_conn};
use crate::state::AppState;

/// Why a guarded action did not happen.
#[derive(Debug)]
pub enum Failure {
    /// The policies refused: the decision to audit, and the answer the caller gets.
    Refused {
        /// The refusing decision (a default deny when there was nothing to decide on).
        decision: Decision,
        /// 404 when the caller may not see the object, else what they may hear.
        answer: ApiError,
    },
    /// Anything else: invalid in this state, a conflict, a database failure.
    Api(ApiError),
}

impl Failure {
    /// A refusal: answered as "not found" unless the caller may see the object, in which case
    /// `seen` says why not.
    pub fn refused(decision: Decision, visible: bool, seen: impl FnOnce() -> ApiError) -> Self {
        Self::Refused {
            decision,
            answer: if visible {
                seen()
            } else {
                ApiError::bare(ProblemType::NotFound)
            },
        }
    }

    /// No such object: refused, and audited, exactly like one the caller may not see, so that
    /// neither the answer nor the audit trail tells the two apart.
    pub fn missing() -> Self {
        Self::refused(Decision::default_deny(), false, || {
            ApiError::bare(ProblemType::NotFound)
        })
    }
}

impl From<ApiError> for Failure {
    fn from(err: ApiError) -> Self {
        Self::Api(err)
    }
}

impl From<DbError> for Failure {
    fn from(err: DbError) -> Self {
        Self::Api(err.into())
    }
}

/// Runs a guarded action on `conn` (see the module documentation).
///
/// - `work` decides and acts in one write transaction, writing its own success event;
/// - `audit` writes the action's event with an outcome and the decision, for refusals;
/// - `replay` answers with a concurrent twin's stored answer, if there is one (and audits
///   that); it is asked only after the work failed.
pub fn run<T>(
    conn: &mut DbConn,
    audit: impl Fn(&mut DbConn, Outcome, Option<&Decision>) -> Result<(), DbError>,
    replay: impl FnOnce(&mut DbConn) -> Result<Option<T>, ApiError>,
    work: impl FnOnce(&mut DbConn) -> Result<T, Failure>,
) -> Result<T, ApiError> {
    match conn.write_transaction(work) {
        Ok(done) => Ok(done),
        Err(Failure::Refused { decision, answer }) => {
            conn.write_transaction(|conn| audit(conn, Outcome::Denied, Some(&decision)))?;
            Err(answer)
        }
        Err(Failure::Api(err)) => {
            if let Some(first) = replay(conn)? {
                return Ok(first);
            }
            if matches!(
                err,
                ApiError::Problem {
                    kind: ProblemType::Forbidden,
                    ..
                }
            ) {
                conn.write_transaction(|conn| audit(conn, Outcome::Denied, None))?;
            }
            Err(err)
        }
    }
}

/// No concurrent twin to answer with (an action without an `Idempotency-Key`).
pub fn no_replay<T>(_: &mut DbConn) -> Result<Option<T>, ApiError> {
    Ok(None)
}

/// Asks the policies whether the caller may do `action` to the organisation `target`. A refusal
/// is audited (in a transaction of its own: nothing else happens) and answered with `refusal`.
pub async fn authorize(
    state: &AppState,
    caller: &Caller,
    action: Action,
    target: &OrganisationFacts,
    audited_as: AuditAction,
    refusal: impl FnOnce() -> ApiError,
) -> Result<Decision, ApiError> {
    let principal = caller.principal();
    let asked = Asked {
        subject: Subject::User(&principal),
        context: &caller.context,
        actor: || OwnedActor::User(caller.user.clone()),
    };
    authorize_subject(state, asked, action, target, audited_as, refusal).await
}

/// [`authorize`] for an endpoint open to machine clients: a person or a client.
pub async fn authorize_principal(
    state: &AppState,
    principal: &Principal,
    action: Action,
    target: &OrganisationFacts,
    audited_as: AuditAction,
    refusal: impl FnOnce() -> ApiError,
) -> Result<Decision, ApiError> {
    let facts = principal.facts();
    let asked = Asked {
        subject: facts.subject(),
        context: principal.context(),
        actor: || principal.owned_actor(),
    };
    authorize_subject(state, asked, action, target, audited_as, refusal).await
}

/// Who asks, for [`authorize_subject`].
struct Asked<'a, F: FnOnce() -> OwnedActor> {
    subject: Subject<'a>,
    context: &'a RequestContext,
    actor: F,
}

async fn authorize_subject<F: FnOnce() -> OwnedActor>(
    state: &AppState,
    asked: Asked<'_, F>,
    action: Action,
    target: &OrganisationFacts,
    audited_as: AuditAction,
    refusal: impl FnOnce() -> ApiError,
) -> Result<Decision, ApiError> {
    let decision = state.authz.decide(
        asked.subject,
        action,
        &Resource::Organisation(target),
        &AccessContext::now("administration"),
    );
    if decision.allowed {
        return Ok(decision);
    }
    let (actor, context, refused) = ((asked.actor)(), asked.context.clone(), decision.clone());
    let resource = Some(("organisation", target.id.clone()));
    with_conn(&state.pool, move |conn| {
        conn.write_transaction(|conn| {
            audit::record_decided_by(
                conn,
                &context,
                actor.as_actor(),
                Event {
                    action: audited_as,
                    outcome: Outcome::Denied,
                    resource,
                },
                &refused,
            )
        })?;
        Ok(())
    })
    .await?;
    Err(refusal())
}
