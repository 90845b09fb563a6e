//! Signed webhooks for an organisation's integrations.
//!
//! An administrator (any organisation) or a supervisor (their own) registers an HTTPS endpoint
//! for event types ([`WebhookEventType`]); the signing secret (`whsec_...`) is answered once and
//! stored wrapped under the vault's key-encryption key ([`signing`]). When an event happens,
//! the service that makes it happen calls one of the `emit` functions here in its own
//! transaction, which queues one delivery per subscribed endpoint of the organisation the event
//! concerns (`tumaini_db::models::webhook`, a sibling of the mail outbox). The delivery worker
//! (`crate::jobs::webhooks`) signs each attempt per the Standard Webhooks scheme and retries
//! with backoff; the event id is the `webhook-id` of every attempt, so a receiver can drop the
//! duplicates at-least-once delivery allows. An endpoint that has answered no attempt with a
//! 2xx for `TUMAINI_WEBHOOK_DISABLE_AFTER_SECS` is switched off and its organisation's
//! supervisors are told by e-mail ([`record_failure`]).
//!
//! A payload holds ids, references, types and times only: never a name, an address, free text
//! or anything from a case's personal groups. Destinations are checked against SSRF at
//! registration and at every attempt ([`destination`]).

pub mod destination;
pub mod signing;

use std::sync::Arc;

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};
use tumaini_db::ids::{CaseId, OrgId, ReferralId, UserId, WebhookEventId, WebhookId};
use tumaini_db::models::case::{Case, Deadline};
use tumaini_db::models::referral::Referral;
use tumaini_db::models::webhook::{self as store, NewEndpoint, WebhookDelivery, WebhookEndpoint};
use tumaini_db::models::{Organisation, User};
use tumaini_db::time::now_utc;
use tumaini_db::vocabulary::{OrganisationKind, Role, UserStatus, WebhookEventType};
use tumaini_db::{DbConn, DbError};
use utoipa::ToSchema;

use crate::audit::{self, AuditAction, Entry, Event, Outcome};
use crate::auth::Caller;
use crate::authz::{AccessContext, Action, Decision, OrganisationFacts, Resource};
use crate::guarded::authorize;
use crate::http::{ApiError, ProblemType, with_conn};
use crate::notifications::notify;
use crate::state::AppState;
use signing::SigningSecret;

/// The most endpoints one organisation may hold.
const MAX_ENDPOINTS: usize = 20;

// ---------------------------------------------------------------------------------------------
// Endpoints, as administrators manage them.

/// A webhook endpoint as its administrators see it (never its secret).
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookView {
    /// Identifier.
    pub id: WebhookId,
    /// The organisation whose events it receives.
    pub organisation_id: OrgId,
    /// Where deliveries go.
    pub url: String,
    /// The event types it receives.
    pub event_types: Vec<WebhookEventType>,
    /// `active`, or `disabled` after failing for too long.
    #[schema(example = "active")]
    pub status: String,
    /// When it was registered.
    pub created_at: DateTime<Utc>,
    /// Since when it has answered no attempt with success, if it is failing.
    pub failing_since: Option<DateTime<Utc>>,
    /// When it was switched off for failing too long.
    pub disabled_at: Option<DateTime<Utc>>,
}

impl From<&WebhookEndpoint> for WebhookView {
    fn from(endpoint: &WebhookEndpoint) -> Self {
        Self {
            id: endpoint.id.clone(),
            organisation_id: endpoint.organisation_id.clone(),
            url: endpoint.url.clone(),
            event_types: endpoint.event_types(),
            status: if endpoint.disabled_at.is_some() {
                "disabled".to_owned()
            } else {
                "active".to_owned()
            },
            created_at: endpoint.created_at.and_utc(),
            failing_since: endpoint.failing_since.map(|t| t.and_utc()),
            disabled_at: endpoint.disabled_at.map(|t| t.and_utc()),
        }
    }
}

/// A new endpoint, or its secret replaced: the secret is shown this once. (`Debug` leaves the
/// secret out.)
#[derive(Serialize, ToSchema)]
pub struct WebhookWithSecret {
    /// The endpoint.
    pub endpoint: WebhookView,
    /// The signing secret (`whsec_` and the base64 of 32 random bytes). Shown only in this
    /// answer: keep it in the receiver's secret store.
    #[schema(example = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSwMfKQ9r8GKYo=")]
    pub secret: String,
}

impl std::fmt::Debug for WebhookWithSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookWithSecret")
            .field("endpoint", &self.endpoint)
            .field("secret", &"[redacted]")
            .finish()
    }
}

/// An endpoint to register.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookInput {
    /// The organisation (supervisors: their own, which is the default; administrators must
    /// name one).
    pub organisation_id: Option<OrgId>,
    /// An absolute `https` URL whose host is, or resolves to, public addresses only (at most
    /// 2048 characters, no credentials).
    pub url: String,
    /// The events to receive (at least one). `audit.misuse_alert` only for a national
    /// coordination office.
    pub event_types: Vec<WebhookEventType>,
}

/// The organisation whose endpoints the caller manages, as the policies say: `ManageWebhooks`
/// on their own organisation (else 403, audited); a caller also allowed on any other
/// organisation manages every organisation's (`None`).
async fn managed_scope(
    state: &AppState,
    caller: &Caller,
    audited_as: AuditAction,
) -> Result<(Option<OrgId>, Decision), ApiError> {
    let own = OrganisationFacts::from(&caller.organisation);
    let decision = authorize(
        state,
        caller,
        Action::ManageWebhooks,
        &own,
        audited_as,
        || ApiError::problem(ProblemType::Forbidden, "your role may not do this"),
    )
    .await?;
    let elsewhere = OrganisationFacts {
        id: "(any other organisation)".to_owned(),
        kind: OrganisationKind::Other,
        country: own.country.clone(),
        active: true,
        need_to_know: false,
    };
    let everywhere = state
        .authz
        .decide(
            &caller.principal(),
            Action::ManageWebhooks,
            &Resource::Organisation(&elsewhere),
            &AccessContext::now("administration"),
        )
        .allowed;
    Ok((
        (!everywhere).then(|| caller.user.organisation_id.clone()),
        decision,
    ))
}

/// The organisation an endpoint is for: the caller's own when they manage only theirs (404
/// for another), else the one named, which is then required.
fn target_organisation(scope: Option<OrgId>, asked: Option<OrgId>) -> Result<OrgId, ApiError> {
    match (scope, asked) {
        (Some(own), Some(asked)) if own != asked => Err(ApiError::bare(ProblemType::NotFound)),
        (Some(own), _) => Ok(own),
        (None, Some(asked)) => Ok(asked),
        (None, None) => Err(ApiError::problem(
            ProblemType::InvalidBody,
            "`organisation_id` is required",
        )),
    }
}

/// The event types asked for, checked against the organisation: at least one, no repeats
/// kept, and the misuse alert only for a national coordination office.
fn checked_event_types(
    asked: &[WebhookEventType],
    organisation: &Organisation,
) -> Result<Vec<WebhookEventType>, ApiError> {
    let mut types = asked.to_vec();
    types.sort_unstable();
    types.dedup();
    if types.is_empty() {
        return Err(ApiError::problem(
            ProblemType::InvalidBody,
            "`event_types` must name at least one event type",
        ));
    }
    if types.contains(&WebhookEventType::AuditMisuseAlert)
        && organisation.kind != OrganisationKind::CoordinationOffice
    {
        return Err(ApiError::problem(
            ProblemType::InvalidBody,
            "`event_types`: `audit.misuse_alert` is for a national coordination office only",
        ));
    }
    Ok(types)
}

/// Audits a webhook action the policies allowed.
fn record_success(
    conn: &mut DbConn,
    caller: &Caller,
    action: AuditAction,
    endpoint: &WebhookId,
    decision: &Decision,
) -> Result<(), DbError> {
    audit::record_decided(
        conn,
        &caller.context,
        Some(&caller.user),
        Event {
            action,
            outcome: Outcome::Success,
            resource: Some(("webhook", endpoint.to_string())),
        },
        decision,
    )
}

/// Registers an endpoint. The URL is refused (422 naming `url`) unless it is `https` and its
/// host resolves to public addresses only; the answer carries the signing secret, once.
pub async fn create(
    state: &AppState,
    caller: Caller,
    input: WebhookInput,
) -> Result<WebhookWithSecret, ApiError> {
    let (scope, decision) = managed_scope(state, &caller, AuditAction::WebhookCreate).await?;
    let organisation_id = target_organisation(scope, input.organisation_id)?;
    let allow_loopback = state.webhooks.allow_loopback;
    let url = destination::check_url(&input.url, allow_loopback)
        .map_err(|refused| ApiError::problem(ProblemType::InvalidBody, refused.to_string()))?;
    destination::check_resolves(&url, allow_loopback)
        .await
        .map_err(|refused| ApiError::problem(ProblemType::InvalidBody, refused.to_string()))?;
    let keys = Arc::clone(state.vault()?.provider());
    let secret = SigningSecret::generate();
    let id = WebhookId::generate();
    let wrapped = secret
        .wrap(&keys, &id)
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("wrapping a webhook secret: {e}")))?;
    let endpoint = with_conn(&state.pool, move |conn| {
        conn.write_transaction(|conn| {
            let organisation = match Organisation::find(conn, &organisation_id) {
                Ok(org) if org.active => org,
                Ok(_) | Err(DbError::NotFound) => {
                    return Err(ApiError::problem(
                        ProblemType::InvalidBody,
                        "`organisation_id` names no active organisation",
                    ));
                }
                Err(other) => return Err(other.into()),
            };
            let event_types = checked_event_types(&input.event_types, &organisation)?;
            if WebhookEndpoint::list(conn, Some(&organisation.id))?.len() >= MAX_ENDPOINTS {
                return Err(ApiError::problem(
                    ProblemType::Conflict,
                    "this organisation holds the most webhook endpoints allowed; delete one first",
                ));
            }
            let endpoint = WebhookEndpoint::insert(
                conn,
                &NewEndpoint {
                    id: &id,
                    organisation_id: &organisation.id,
                    url: url.as_str(),
                    event_types: &event_types,
                    secret_kek_version: wrapped.kek_version.as_i32(),
                    secret_wrapped: &wrapped.bytes,
                    created_by: &caller.user.id,
                },
            )?;
            record_success(conn, &caller, AuditAction::WebhookCreate, &id, &decision)?;
            Ok(endpoint)
        })
    })
    .await?;
    Ok(WebhookWithSecret {
        endpoint: WebhookView::from(&endpoint),
        secret: secret.reveal().to_string(),
    })
}

/// The endpoints the caller manages: every organisation's (administrators; or one
/// `organisation`'s), or their own organisation's (supervisors, whatever `organisation` says).
pub async fn list(
    state: &AppState,
    caller: Caller,
    organisation: Option<OrgId>,
) -> Result<Vec<WebhookView>, ApiError> {
    let (scope, decision) = managed_scope(state, &caller, AuditAction::WebhookList).await?;
    let scope = scope.or(organisation);
    let endpoints = with_conn(&state.pool, move |conn| {
        let endpoints = WebhookEndpoint::list(conn, scope.as_ref())?;
        let resource = scope.map(|id| ("organisation", id.to_string()));
        audit::record_read(conn, &caller, AuditAction::WebhookList, resource, &decision)?;
        Ok(endpoints)
    })
    .await?;
    Ok(endpoints.iter().map(WebhookView::from).collect())
}

/// An endpoint the caller manages; a deleted one, or another organisation's for a caller who
/// manages only their own, answers 404.
fn managed_endpoint(
    conn: &mut DbConn,
    scope: Option<&OrgId>,
    id: &WebhookId,
) -> Result<WebhookEndpoint, ApiError> {
    let endpoint = WebhookEndpoint::find(conn, id)?;
    let outside = scope.is_some_and(|own| *own != endpoint.organisation_id);
    if outside || endpoint.deleted_at.is_some() {
        return Err(ApiError::bare(ProblemType::NotFound));
    }
    Ok(endpoint)
}

/// Deletes an endpoint: nothing more is sent to it, its secret is destroyed and its
/// undelivered deliveries are dropped.
pub async fn delete(state: &AppState, caller: Caller, id: WebhookId) -> Result<(), ApiError> {
    let (scope, decision) = managed_scope(state, &caller, AuditAction::WebhookDelete).await?;
    with_conn(&state.pool, move |conn| {
        conn.write_transaction(|conn| {
            let endpoint = managed_endpoint(conn, scope.as_ref(), &id)?;
            if !WebhookEndpoint::delete(conn, &endpoint.id)? {
                return Err(ApiError::bare(ProblemType::NotFound));
            }
            record_success(conn, &caller, AuditAction::WebhookDelete, &id, &decision)?;
            Ok(())
        })
    })
    .await
}

/// Switches an endpoint that was switched off for failing back on: its undelivered events are
/// sent again from now. 409 when it is not switched off.
pub async fn enable(
    state: &AppState,
    caller: Caller,
    id: WebhookId,
) -> Result<WebhookView, ApiError> {
    let (scope, decision) = managed_scope(state, &caller, AuditAction::WebhookEnable).await?;
    let endpoint = with_conn(&state.pool, move |conn| {
        conn.write_transaction(|conn| {
            let endpoint = managed_endpoint(conn, scope.as_ref(), &id)?;
            if !WebhookEndpoint::enable(conn, &endpoint.id)? {
                return Err(ApiError::problem(
                    ProblemType::Conflict,
                    "this endpoint is not switched off",
                ));
            }
            record_success(conn, &caller, AuditAction::WebhookEnable, &id, &decision)?;
            Ok(WebhookEndpoint::find(conn, &id)?)
        })
    })
    .await?;
    Ok(WebhookView::from(&endpoint))
}

/// Replaces an endpoint's signing secret (the old one stops at once) and answers the new one,
/// once.
pub async fn rotate_secret(
    state: &AppState,
    caller: Caller,
    id: WebhookId,
) -> Result<WebhookWithSecret, ApiError> {
    let (scope, decision) = managed_scope(state, &caller, AuditAction::WebhookRotateSecret).await?;
    let keys = Arc::clone(state.vault()?.provider());
    let secret = SigningSecret::generate();
    let wrapped = secret
        .wrap(&keys, &id)
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("wrapping a webhook secret: {e}")))?;
    let endpoint = with_conn(&state.pool, move |conn| {
        conn.write_transaction(|conn| {
            let endpoint = managed_endpoint(conn, scope.as_ref(), &id)?;
            let version = wrapped.kek_version.as_i32();
            if !WebhookEndpoint::replace_secret(conn, &endpoint.id, version, &wrapped.bytes)? {
                return Err(ApiError::bare(ProblemType::NotFound));
            }
            let action = AuditAction::WebhookRotateSecret;
            record_success(conn, &caller, action, &id, &decision)?;
            Ok(endpoint)
        })
    })
    .await?;
    Ok(WebhookWithSecret {
        endpoint: WebhookView::from(&endpoint),
        secret: secret.reveal().to_string(),
    })
}

// ---------------------------------------------------------------------------------------------
// Events: queued in the transaction of what causes them.

/// What a referral event tells: ids, the referral's reference, its state (codes only).
#[derive(Debug, Serialize)]
struct ReferralData<'a> {
    referral_id: &'a ReferralId,
    referral_reference: &'a str,
    from_organisation_id: &'a OrgId,
    to_organisation_id: &'a OrgId,
    state: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    decline_reason: Option<&'a str>,
}

/// What an overdue NRM decision tells: the case's id and reference (eight random characters,
/// nothing about the person), which decision, since when.
#[derive(Debug, Serialize)]
struct DecisionData<'a> {
    case_id: &'a CaseId,
    case_reference: &'a str,
    organisation_id: &'a OrgId,
    decision: &'a str,
    overdue_since: DateTime<Utc>,
}

/// What a misuse alert tells: who read (an account id, never a name), their organisation, how
/// many cases within how many minutes.
#[derive(Debug, Serialize)]
struct MisuseData<'a> {
    user_id: &'a UserId,
    organisation_id: &'a OrgId,
    cases: i64,
    window_minutes: i64,
}

/// Queues `event` to every active endpoint of `organisation` subscribed to its type, in the
/// caller's transaction; one event id for all, one body for all (Standard Webhooks' shape:
/// `type`, `id`, `timestamp`, `data`). Returns how many deliveries were queued.
fn emit(
    conn: &mut DbConn,
    organisation: &OrgId,
    event: WebhookEventType,
    data: impl Serialize,
) -> Result<usize, DbError> {
    let endpoints = WebhookEndpoint::subscribed(conn, organisation, event)?;
    if endpoints.is_empty() {
        return Ok(0);
    }
    let id = WebhookEventId::generate();
    // The data are plain structs of ids, codes and times: they always serialise.
    let data = serde_json::to_value(data).unwrap_or(serde_json::Value::Null);
    let payload = serde_json::json!({
        "type": event.code(),
        "id": id,
        "timestamp": now_utc().and_utc(),
        "data": data,
    })
    .to_string();
    for endpoint in &endpoints {
        store::enqueue(conn, &endpoint.id, &id, event, &payload)?;
    }
    Ok(endpoints.len())
}

/// A referral arrived (to the receiving organisation), or was accepted, declined or expired
/// (to the referring organisation). Other states tell nothing.
pub fn referral_event(conn: &mut DbConn, referral: &Referral) -> Result<usize, DbError> {
    use tumaini_db::vocabulary::ReferralState;
    let (event, organisation) = match referral.state {
        ReferralState::Sent => (
            WebhookEventType::ReferralReceived,
            &referral.to_organisation_id,
        ),
        ReferralState::Accepted => (
            WebhookEventType::ReferralAccepted,
            &referral.from_organisation_id,
        ),
        ReferralState::Declined => (
            WebhookEventType::ReferralDeclined,
            &referral.from_organisation_id,
        ),
        ReferralState::Expired => (
            WebhookEventType::ReferralExpired,
            &referral.from_organisation_id,
        ),
        _ => return Ok(0),
    };
    emit(
        conn,
        organisation,
        event,
        ReferralData {
            referral_id: &referral.id,
            referral_reference: &referral.reference,
            from_organisation_id: &referral.from_organisation_id,
            to_organisation_id: &referral.to_organisation_id,
            state: referral.state.code(),
            decline_reason: referral.decline_reason.map(|r| r.code()),
        },
    )
}

/// An NRM decision on `case` became overdue at `now` (to the case's owning organisation).
pub fn decision_overdue(
    conn: &mut DbConn,
    case: &Case,
    deadline: Deadline,
    now: NaiveDateTime,
) -> Result<usize, DbError> {
    emit(
        conn,
        &case.owner_organisation_id,
        WebhookEventType::NrmDecisionOverdue,
        DecisionData {
            case_id: &case.id,
            case_reference: &case.reference,
            organisation_id: &case.owner_organisation_id,
            decision: match deadline {
                Deadline::ReasonableGrounds => "reasonable_grounds",
                Deadline::ConclusiveGrounds => "conclusive_grounds",
            },
            overdue_since: now.and_utc(),
        },
    )
}

/// `user` of `organisation` was flagged for reading too many cases (to every national
/// coordination office of the organisation's country).
pub fn misuse_alert(
    conn: &mut DbConn,
    user: &User,
    organisation: &Organisation,
    cases: i64,
    window_minutes: i64,
) -> Result<usize, DbError> {
    let offices: Vec<Organisation> = Organisation::list(conn)?
        .into_iter()
        .filter(|o| {
            o.active
                && o.kind == OrganisationKind::CoordinationOffice
                && o.country == organisation.country
        })
        .collect();
    let mut queued = 0;
    for office in offices {
        queued += emit(
            conn,
            &office.id,
            WebhookEventType::AuditMisuseAlert,
            MisuseData {
                user_id: &user.id,
                organisation_id: &organisation.id,
                cases,
                window_minutes,
            },
        )?;
    }
    Ok(queued)
}

// ---------------------------------------------------------------------------------------------
// Attempts, as the delivery worker records them.

/// Records a delivered attempt: the endpoint is healthy again.
pub fn record_delivery(
    conn: &mut DbConn,
    delivery: &WebhookDelivery,
    status: u16,
) -> Result<(), DbError> {
    conn.write_transaction(|conn| {
        store::mark_delivered(
            conn,
            &delivery.id,
            delivery.attempts.saturating_add(1),
            i32::from(status),
        )?;
        WebhookEndpoint::mark_healthy(conn, &delivery.endpoint_id)
    })
}

/// A failed attempt, as the worker saw it.
#[derive(Debug, Clone)]
pub struct Failure {
    /// The status the endpoint answered, if it answered.
    pub status: Option<u16>,
    /// A short reason naming no URL and quoting nothing the endpoint said.
    pub reason: String,
    /// When to try again.
    pub retry_at: NaiveDateTime,
}

/// Records a failed attempt at `now`. An endpoint failing for `disable_after` or longer is
/// switched off (once, whoever records it), audited, and its organisation's supervisors and
/// the account that registered it are told (no URL, no payload in the message). Returns
/// whether this call switched it off.
pub fn record_failure(
    conn: &mut DbConn,
    delivery: &WebhookDelivery,
    failure: &Failure,
    now: NaiveDateTime,
    disable_after: chrono::Duration,
    public_url: &str,
    audit_events: &tumaini_db::audit_chain::EventKey,
) -> Result<bool, DbError> {
    conn.write_transaction(|conn| {
        store::mark_failed(
            conn,
            &delivery.id,
            delivery.attempts.saturating_add(1),
            failure.retry_at,
            failure.status.map(i32::from),
            &failure.reason,
        )?;
        let since = WebhookEndpoint::mark_failing(conn, &delivery.endpoint_id, now)?;
        if now - since < disable_after
            || !WebhookEndpoint::disable(conn, &delivery.endpoint_id, now)?
        {
            return Ok(false);
        }
        let endpoint = WebhookEndpoint::find(conn, &delivery.endpoint_id)?;
        tell_of_disabled(conn, &endpoint, since, public_url)?;
        Entry::new(AuditAction::WebhookDisable, Outcome::Success)
            .keyed(audit_events)
            .for_organisation(&endpoint.organisation_id)
            .on("webhook", &endpoint.id)
            .purpose(format!(
                "no delivery succeeded for {} hours",
                (now - since).num_hours()
            ))
            .write(conn)?;
        Ok(true)
    })
}

/// Tells the supervisors of the endpoint's organisation, and whoever registered it, that it
/// was switched off.
fn tell_of_disabled(
    conn: &mut DbConn,
    endpoint: &WebhookEndpoint,
    since: NaiveDateTime,
    public_url: &str,
) -> Result<usize, DbError> {
    let mut recipients: Vec<User> = User::list(conn, Some(&endpoint.organisation_id))?
        .into_iter()
        .filter(|u| u.status == UserStatus::Active && u.role == Role::Supervisor)
        .collect();
    if let Ok(registrar) = User::find(conn, &endpoint.created_by)
        && registrar.status == UserStatus::Active
        && !recipients.iter().any(|u| u.id == registrar.id)
    {
        recipients.push(registrar);
    }
    notify(
        conn,
        &recipients,
        "A webhook endpoint was switched off",
        &format!(
            "Webhook endpoint {} of your organisation answered no delivery with success since {} UTC, and was switched off. Its undelivered events are kept: once it answers again, an administrator or supervisor switches it back on.\n\nSign in to Tumaini to review your organisation's webhooks: {public_url}/webhooks\n",
            endpoint.id,
            since.format("%Y-%m-%d %H:%M"),
        ),
    )
}
