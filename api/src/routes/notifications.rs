//! Which notifications a member of staff receives. Every kind is on until switched off; the
//! choice is the account holder's own. Security messages (break-glass, misuse alerts, account
//! e-mail) and child-protection notices are not optional and not listed.

use std::collections::BTreeMap;

use actix_web::{get, put, web};
use serde::{Deserialize, Serialize};
use tumaini_db::models::referral as store;
use tumaini_db::vocabulary::NotificationKind;
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::audit::AuditAction;
use crate::audit::{self, Event, Outcome};
use crate::auth::Caller;
use crate::http::{ApiError, Problem, with_conn};
use crate::routes::cases::parse;
use crate::state::AppState;

/// Registers the routes of this module.
pub fn register(cfg: &mut ServiceConfig) {
    cfg.service(read_notifications).service(set_notifications);
}

/// One kind of notification and whether you receive it.
#[derive(Debug, Serialize, ToSchema)]
pub struct NotificationSetting {
    /// The kind.
    pub kind: NotificationKind,
    /// What it is about.
    pub label: &'static str,
    /// Whether you receive it.
    pub on: bool,
}

/// Your notification settings.
#[derive(Debug, Serialize, ToSchema)]
pub struct NotificationSettings {
    /// Every kind you may switch, in a fixed order.
    pub items: Vec<NotificationSetting>,
}

fn settings(off: &[NotificationKind]) -> NotificationSettings {
    NotificationSettings {
        items: NotificationKind::ALL
            .iter()
            .map(|&kind| NotificationSetting {
                kind,
                label: kind.label(),
                on: !off.contains(&kind),
            })
            .collect(),
    }
}

/// The notifications you receive.
#[utoipa::path(
    tag = "auth",
    security(("bearer" = [])),
    responses((status = 200, description = "Your settings", body = NotificationSettings)),
)]
#[get("/api/v1/auth/notifications")]
pub async fn read_notifications(
    state: web::Data<AppState>,
    caller: Caller,
) -> Result<web::Json<NotificationSettings>, ApiError> {
    let id = caller.user.id.clone();
    let off = with_conn(&state.pool, move |conn| Ok(store::opted_out(conn, &id)?)).await?;
    Ok(web::Json(settings(&off)))
}

/// Notifications to switch: kind to `true` (receive) or `false`; kinds not named keep their
/// setting.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"referral_answered": false, "referral_received": true}))]
#[serde(transparent)]
pub struct NotificationChanges(pub BTreeMap<NotificationKind, bool>);

/// Switch notifications on or off.
#[utoipa::path(
    tag = "auth",
    security(("bearer" = [])),
    request_body = NotificationChanges,
    responses(
        (status = 200, description = "Your settings now", body = NotificationSettings),
        (
            status = 422,
            description = "An unknown kind, or a value that is not true or false",
            body = Problem,
            content_type = "application/problem+json",
        ),
    ),
)]
#[put("/api/v1/auth/notifications")]
pub async fn set_notifications(
    state: web::Data<AppState>,
    caller: Caller,
    body: web::Json<serde_json::Value>,
) -> Result<web::Json<NotificationSettings>, ApiError> {
    let NotificationChanges(changes) = parse(&body.into_inner())?;
    let Caller { user, context, .. } = caller;
    let off = with_conn(&state.pool, move |conn| {
        conn.write_transaction(|conn| {
            for (kind, on) in changes {
                store::set_notification(conn, &user.id, kind, on)?;
            }
            audit::record(
                conn,
                &context,
                Some(&user),
                Event {
                    action: AuditAction::AccountNotificationsUpdate,
                    outcome: Outcome::Success,
                    resource: Some(("user", user.id.to_string())),
                },
            )?;
            Ok::<_, ApiError>(store::opted_out(conn, &user.id)?)
        })
    })
    .await?;
    Ok(web::Json(settings(&off)))
}
