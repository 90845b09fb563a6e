//! The anonymous notification: an adult who does not consent to entering
//! the NRM is recorded with coarse facts and the reporting organisation only. No person, no
//! personal group, no data key; it counts in statistics, apart and in totals.

use actix_web::{HttpRequest, HttpResponse, get, post, web};
use chrono::NaiveDate;
use serde::Deserialize;
use tumaini_db::country::CountryCode;
use tumaini_db::ids::NotificationId;
use tumaini_db::models::anonymous::AnonymousNotification;
use tumaini_db::time::now_utc;
use tumaini_db::vocabulary::{AgeBand, ExploitationType, Role, Sex};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;

use crate::audit::AuditAction;
use crate::audit::{self, Event, Outcome};
use crate::auth::Caller;
use crate::authz::{Action, OrganisationFacts, Resource};
use crate::cases::documents::{NotificationCreated, NotificationList, NotificationView, as_body};
use crate::cases::{Idempotency, Reply};
use crate::http::{ApiError, Problem, ProblemType, with_conn};
use crate::routes::cases::parse;
use crate::rules::reference;
use crate::state::AppState;

/// Registers the routes of this module.
pub fn register(cfg: &mut ServiceConfig) {
    cfg.service(notify_anonymously).service(list_notifications);
}

/// What an anonymous notification keeps: coarse facts, never a person.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"sex": "male", "age_band": "30_38", "citizenship": "KE", "exploitation_country": "UG", "region": "UG-202", "encountered_on": "2026-11-19", "exploitation_types": ["forced_labour"]}))]
#[serde(deny_unknown_fields)]
pub struct AnonymousInput {
    /// Sex or gender.
    pub sex: Sex,
    /// Age band: an adult's (18 and over). A child is never notified anonymously: register a
    /// case, with a best-interest basis instead of consent.
    pub age_band: AgeBand,
    /// Citizenship (ISO 3166-1 alpha-2).
    pub citizenship: Option<CountryCode>,
    /// Country of exploitation.
    pub exploitation_country: Option<CountryCode>,
    /// Region or district of the encounter: a code from `GET /api/v1/regions`.
    #[schema(example = "UG-202")]
    pub region: String,
    /// Date of the encounter.
    pub encountered_on: NaiveDate,
    /// Forms of exploitation.
    #[serde(default)]
    pub exploitation_types: Vec<ExploitationType>,
}

fn check(input: &AnonymousInput) -> Result<String, ApiError> {
    if input.age_band.is_under_18() || input.age_band == AgeBand::Unknown {
        return Err(ApiError::problem(
            ProblemType::InvalidBody,
            "an anonymous notification is for an adult who does not consent; a child (or a person who may be one) is registered as a case",
        ));
    }
    let region = crate::cases::views::region_code(&input.region, "region")?.to_string();
    if input.encountered_on > crate::rules::deadlines::local_date(now_utc()) {
        return Err(ApiError::problem(
            ProblemType::InvalidBody,
            "`encountered_on` is in the future",
        ));
    }
    Ok(region)
}

/// Notify the NRM anonymously of an adult who does not consent to being referred.
#[utoipa::path(
    tag = "cases",
    security(("bearer" = [])),
    params(crate::routes::contract::IdempotencyKey),
    request_body = AnonymousInput,
    responses(
        (status = 201, description = "Recorded: its reference", body = NotificationCreated),
        (
            status = 403,
            description = "Your role may not report",
            body = Problem,
            content_type = "application/problem+json",
        ),
        (
            status = 422,
            description = "Invalid input, or a child",
            body = Problem,
            content_type = "application/problem+json",
        ),
    ),
)]
#[post("/api/v1/anonymous-notifications")]
pub async fn notify_anonymously(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    body: web::Json<serde_json::Value>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let idempotency = Idempotency::of(&req, &body, &state.auth.keys)?;
    let vault = state.vault()?;
    let input: AnonymousInput = parse(&body)?;
    let region = check(&input)?;
    let own = OrganisationFacts::from(&caller.organisation);
    let context = crate::cases::access_context(&state.cases, "registration");
    // Reporting is registering, without a person: the same rule decides it.
    let decision = state.authz.decide(
        &caller.principal(),
        Action::CreateCase,
        &Resource::Organisation(&own),
        &context,
    );
    let caller = caller.clone();
    let reply = with_conn(&state.pool, move |conn| {
        let event = |outcome, id: String| Event {
            action: AuditAction::AnonymousNotificationCreate,
            outcome,
            resource: Some(("anonymous_notification", id)),
        };
        if !decision.allowed {
            conn.write_transaction(|conn| {
                audit::record_decided(
                    conn,
                    &caller.context,
                    Some(&caller.user),
                    event(Outcome::Denied, caller.organisation.id.to_string()),
                    &decision,
                )
            })?;
            return Err(ApiError::problem(
                ProblemType::Forbidden,
                "your role may not report",
            ));
        }
        // A retry gets the first answer while the caller may still report; it is audited.
        let replay = |conn: &mut tumaini_db::DbConn| -> Result<Option<Reply>, ApiError> {
            let Some(idem) = &idempotency else {
                return Ok(None);
            };
            let Some(replay) = idem.replay(conn, &caller.user.id, &vault)? else {
                return Ok(None);
            };
            let id = replay.body["id"].as_str().unwrap_or_default().to_owned();
            conn.write_transaction(|conn| {
                audit::record_decided(
                    conn,
                    &caller.context,
                    Some(&caller.user),
                    event(Outcome::Replayed, id),
                    &decision,
                )
            })?;
            Ok(Some(replay))
        };
        if let Some(first) = replay(conn)? {
            return Ok(first);
        }
        let outcome = conn.write_transaction(|conn| {
            crate::cases::views::known_region(conn, &region, "region")?;
            let id = NotificationId::generate();
            let reference = reference::generate('N');
            AnonymousNotification {
                id: id.clone(),
                reference: reference.clone(),
                organisation_id: caller.organisation.id.clone(),
                reported_by: caller.user.id.clone(),
                reported_at: now_utc(),
                sex: input.sex,
                age_band: input.age_band,
                citizenship: input.citizenship,
                exploitation_country: input.exploitation_country,
                region,
                encountered_on: input.encountered_on,
            }
            .insert(conn, &input.exploitation_types)?;
            audit::record_decided(
                conn,
                &caller.context,
                Some(&caller.user),
                event(Outcome::Success, id.to_string()),
                &decision,
            )?;
            let reply = Reply::created(
                "/api/v1/anonymous-notifications".to_owned(),
                as_body(&NotificationCreated { id, reference }),
            );
            if let Some(idem) = &idempotency {
                idem.store_ids_only(conn, &caller.user.id, &reply)?;
            }
            Ok::<_, ApiError>(reply)
        });
        match outcome {
            // A concurrent twin with the same key won the race: its answer, audited alike.
            Err(err) => replay(conn)?.ok_or(err),
            ok => ok,
        }
    })
    .await?;
    Ok(reply.into_response())
}

/// How many to list.
#[derive(Debug, Deserialize, IntoParams)]
pub struct ListQuery {
    /// At most this many, newest first (default 100, at most 500).
    pub limit: Option<i64>,
}

/// Anonymous notifications, newest first: your organisation's, or, for a coordinator, every one
/// made by an organisation of their country.
#[utoipa::path(
    tag = "cases",
    security(("bearer" = [])),
    params(ListQuery),
    responses(
        (status = 200, description = "Notifications", body = NotificationList),
        (
            status = 403,
            description = "Your role may not see them",
            body = Problem,
            content_type = "application/problem+json",
        ),
    ),
)]
#[get("/api/v1/anonymous-notifications")]
pub async fn list_notifications(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let limit = query.limit.unwrap_or(100).clamp(1, 500);
    let own = OrganisationFacts::from(&caller.organisation);
    let context = crate::cases::access_context(&state.cases, "oversight");
    let principal = caller.principal();
    // Staff who may report see their organisation's; coordinators (statistics) see all.
    let mut decision = state.authz.decide(
        &principal,
        Action::CreateCase,
        &Resource::Organisation(&own),
        &context,
    );
    if !decision.allowed {
        decision = state.authz.decide(
            &principal,
            Action::ReadStatistics,
            &Resource::Organisation(&own),
            &context,
        );
    }
    let jurisdiction =
        (caller.user.role == Role::Coordinator).then_some(caller.organisation.country);
    let caller = caller.clone();
    let body = with_conn(&state.pool, move |conn| {
        let event = |outcome| Event {
            action: AuditAction::AnonymousNotificationList,
            outcome,
            resource: Some(("organisation", caller.organisation.id.to_string())),
        };
        conn.write_transaction(|conn| {
            if !decision.allowed {
                audit::record_decided(
                    conn,
                    &caller.context,
                    Some(&caller.user),
                    event(Outcome::Denied),
                    &decision,
                )?;
                return Ok(None);
            }
            let scope = jurisdiction.is_none().then_some(&caller.organisation.id);
            let rows = AnonymousNotification::newest(conn, scope, jurisdiction.as_ref(), limit)?;
            audit::record_decided(
                conn,
                &caller.context,
                Some(&caller.user),
                event(Outcome::Success),
                &decision,
            )?;
            let items = rows
                .into_iter()
                .map(|(n, kinds)| NotificationView::of(n, kinds))
                .collect();
            Ok::<_, ApiError>(Some(NotificationList { items }))
        })
    })
    .await?;
    match body {
        Some(body) => Ok(HttpResponse::Ok().json(body)),
        None => Err(ApiError::problem(
            ProblemType::Forbidden,
            "your role may not see anonymous notifications",
        )),
    }
}
