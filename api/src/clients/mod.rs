//! Machine clients (OAuth 2.0 client credentials): registered, listed, rotated and revoked by
//! administrators for an organisation (the policies decide `ManageOrganisations` on the
//! client's organisation; every action is audited), and the token grant itself ([`token`]).
//!
//! A secret is shown once, when it is issued, and stored only as a keyed hash; a rotation adds
//! a second live secret, and both work until the old one is retired.

pub mod token;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tumaini_db::ids::{ClientId, ClientSecretId, OrgId, UserId};
use tumaini_db::models::{ApiClient, ClientSecret, NewApiClient, Organisation};
use tumaini_db::vocabulary::{ClientScope, LegalBasis};
use tumaini_db::{DbConn, DbError};
use utoipa::ToSchema;

use crate::accounts::administration::text;
use crate::audit::{self, AuditAction, Event, Outcome};
use crate::auth::Caller;
use crate::authz::{Action, Decision, OrganisationFacts};
use crate::guarded::authorize;
use crate::http::{ApiError, IpNetwork, ProblemType, with_conn};
use crate::state::AppState;

/// The longest a client may be registered for.
const MAX_LIFETIME_DAYS: i64 = 2 * 366;
/// The most networks a client may name.
const MAX_NETWORKS: usize = 32;

/// A machine client to register.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClientInput {
    /// The organisation it acts for (typically a coordination office).
    pub organisation_id: OrgId,
    /// What the organisation calls it.
    #[schema(example = "Nightly audit export")]
    pub name: String,
    /// Scopes, from the fixed list; none reaches a personal field group.
    pub scopes: Vec<ClientScope>,
    /// The declared legal basis of the processing.
    pub legal_basis: LegalBasis,
    /// Its reference, e.g. the data-sharing agreement's number.
    #[schema(example = "DSA-2026-014")]
    pub legal_reference: String,
    /// The networks it may call from, as CIDR blocks (an address alone is a /32 or /128).
    #[schema(example = json!(["196.43.128.0/24"]))]
    pub allowed_networks: Vec<String>,
    /// When it stops working (at most two years ahead), RFC 3339.
    pub expires_at: DateTime<Utc>,
}

/// One secret of a client (never the secret itself).
#[derive(Debug, Serialize, ToSchema)]
pub struct SecretView {
    /// Its lookup id (written into the secret after `tumaini_cs_`, without hyphens).
    pub id: ClientSecretId,
    /// When it was issued.
    pub created_at: DateTime<Utc>,
    /// When it was retired, if it was.
    pub retired_at: Option<DateTime<Utc>>,
}

/// A machine client as administrators see it (never a secret).
#[derive(Debug, Serialize, ToSchema)]
pub struct ClientView {
    /// Its id: the OAuth `client_id`.
    pub id: ClientId,
    /// The organisation it acts for.
    pub organisation_id: OrgId,
    /// Its name.
    pub name: String,
    /// Granted scopes.
    pub scopes: Vec<ClientScope>,
    /// The declared legal basis.
    pub legal_basis: LegalBasis,
    /// Its reference.
    pub legal_reference: String,
    /// The networks it may call from.
    pub allowed_networks: Vec<String>,
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
    /// When it was registered.
    pub created_at: DateTime<Utc>,
    /// Who registered it.
    pub created_by: UserId,
    /// When it was revoked, if it was.
    pub revoked_at: Option<DateTime<Utc>>,
    /// Its secrets, live and retired.
    pub secrets: Vec<SecretView>,
}

/// A secret just issued: shown this once, never again. (`Debug` leaves the secret out.)
#[derive(Serialize, ToSchema)]
pub struct IssuedSecret {
    /// The client.
    pub client: ClientView,
    /// The new secret's lookup id.
    pub secret_id: ClientSecretId,
    /// The secret: keep it in a secret store. Only its keyed hash is kept by the server.
    pub client_secret: String,
}

impl std::fmt::Debug for IssuedSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuedSecret")
            .field("client", &self.client)
            .field("secret_id", &self.secret_id)
            .field("client_secret", &"[redacted]")
            .finish()
    }
}

fn view(client: ApiClient, secrets: Vec<ClientSecret>) -> ClientView {
    ClientView {
        scopes: client.scope_list(),
        allowed_networks: client
            .network_list()
            .into_iter()
            .map(str::to_owned)
            .collect(),
        id: client.id,
        organisation_id: client.organisation_id,
        name: client.name,
        legal_basis: client.legal_basis,
        legal_reference: client.legal_reference,
        expires_at: client.expires_at.and_utc(),
        created_at: client.created_at.and_utc(),
        created_by: client.created_by,
        revoked_at: client.revoked_at.map(|t| t.and_utc()),
        secrets: secrets
            .into_iter()
            .map(|s| SecretView {
                id: s.id,
                created_at: s.created_at.and_utc(),
                retired_at: s.retired_at.map(|t| t.and_utc()),
            })
            .collect(),
    }
}

fn load_view(conn: &mut DbConn, id: &ClientId) -> Result<ClientView, DbError> {
    let client = ApiClient::find(conn, id)?;
    let secrets = ApiClient::secrets(conn, id)?;
    Ok(view(client, secrets))
}

fn invalid(detail: impl Into<String>) -> ApiError {
    ApiError::problem(ProblemType::InvalidBody, detail)
}

/// The networks in canonical text, each checked.
fn networks(given: &[String]) -> Result<Vec<String>, ApiError> {
    if given.is_empty() || given.len() > MAX_NETWORKS {
        return Err(invalid(format!(
            "`allowed_networks` must list 1 to {MAX_NETWORKS} CIDR blocks"
        )));
    }
    given
        .iter()
        .map(|text| {
            let text = text.trim();
            text.parse::<IpNetwork>()
                .map(|_| text.to_owned())
                .map_err(|_| invalid("`allowed_networks` holds a value that is not a CIDR block"))
        })
        .collect()
}

/// The registration, checked.
fn checked(input: ClientInput, created_by: UserId) -> Result<NewApiClient, ApiError> {
    let mut scopes = input.scopes;
    scopes.sort();
    scopes.dedup();
    if scopes.is_empty() {
        return Err(invalid("`scopes` must name at least one scope"));
    }
    let now = Utc::now();
    if input.expires_at <= now || input.expires_at > now + chrono::Duration::days(MAX_LIFETIME_DAYS)
    {
        return Err(invalid(
            "`expires_at` must be in the future and at most two years ahead",
        ));
    }
    Ok(NewApiClient {
        organisation_id: input.organisation_id,
        name: text("name", &input.name, 100)?,
        scopes,
        legal_basis: input.legal_basis,
        legal_reference: text("legal_reference", &input.legal_reference, 200)?,
        allowed_networks: networks(&input.allowed_networks)?,
        expires_at: input.expires_at.naive_utc(),
        created_by,
    })
}

fn forbidden() -> ApiError {
    ApiError::problem(ProblemType::Forbidden, "your role may not do this")
}

fn not_found() -> ApiError {
    ApiError::bare(ProblemType::NotFound)
}

/// Writes a client action's audit event for `caller`.
fn record(
    conn: &mut DbConn,
    caller: &Caller,
    action: AuditAction,
    resource: Option<(&'static str, String)>,
    decision: &Decision,
) -> Result<(), DbError> {
    audit::record_decided(
        conn,
        &caller.context,
        Some(&caller.user),
        Event {
            action,
            outcome: Outcome::Success,
            resource,
        },
        decision,
    )
}

/// Registers a client (administrators) and issues its first secret, shown once.
pub async fn create(
    state: &AppState,
    caller: Caller,
    input: ClientInput,
) -> Result<IssuedSecret, ApiError> {
    let org_id = input.organisation_id.clone();
    let organisation = with_conn(&state.pool, move |conn| {
        Ok(Organisation::find(conn, &org_id)?)
    })
    .await?;
    let decision = authorize(
        state,
        &caller,
        Action::ManageOrganisations,
        &OrganisationFacts::from(&organisation),
        AuditAction::ClientCreate,
        forbidden,
    )
    .await?;
    if !organisation.active {
        return Err(ApiError::problem(
            ProblemType::Conflict,
            "the organisation is switched off",
        ));
    }
    let new = checked(input, caller.user.id.clone())?;
    let (secret, stored) = state.auth.keys.new_client_secret();
    with_conn(&state.pool, move |conn| {
        conn.write_transaction(|conn| {
            let client = ApiClient::create(conn, &new, &stored)?;
            record(
                conn,
                &caller,
                AuditAction::ClientCreate,
                Some(("client", client.id.to_string())),
                &decision,
            )?;
            Ok::<_, ApiError>(IssuedSecret {
                client: load_view(conn, &client.id)?,
                secret_id: stored.id.clone(),
                client_secret: secret.to_string(),
            })
        })
    })
    .await
}

/// Every client (administrators).
pub async fn list(state: &AppState, caller: Caller) -> Result<Vec<ClientView>, ApiError> {
    let own = OrganisationFacts::from(&caller.organisation);
    let decision = authorize(
        state,
        &caller,
        Action::ManageOrganisations,
        &own,
        AuditAction::ClientList,
        forbidden,
    )
    .await?;
    with_conn(&state.pool, move |conn| {
        let listed = conn.read_transaction(|conn| {
            ApiClient::list(conn, None)?
                .into_iter()
                .map(|client| {
                    let secrets = ApiClient::secrets(conn, &client.id)?;
                    Ok(view(client, secrets))
                })
                .collect::<Result<Vec<_>, DbError>>()
        })?;
        conn.write_transaction(|conn| {
            record(conn, &caller, AuditAction::ClientList, None, &decision)
        })?;
        Ok(listed)
    })
    .await
}

/// The client's organisation, and the policies' decision on managing it: 404 when there is
/// no such client or the caller may not manage it (audited as `audited_as`).
async fn decide_on(
    state: &AppState,
    caller: &Caller,
    id: &ClientId,
    audited_as: AuditAction,
) -> Result<Decision, ApiError> {
    let lookup = id.clone();
    let found = with_conn(&state.pool, move |conn| {
        Ok(ApiClient::with_organisation(conn, &lookup)?)
    })
    .await?;
    let target = match &found {
        Some((_, organisation)) => OrganisationFacts::from(organisation),
        // No such client: refused and audited like one the caller may not see.
        None => OrganisationFacts {
            id: "(none)".to_owned(),
            kind: tumaini_db::vocabulary::OrganisationKind::Ngo,
            country: String::new(),
            active: false,
            need_to_know: false,
        },
    };
    let decision = authorize(
        state,
        caller,
        Action::ManageOrganisations,
        &target,
        audited_as,
        not_found,
    )
    .await?;
    if found.is_none() {
        return Err(not_found());
    }
    Ok(decision)
}

/// One client (administrators); 404 for none.
pub async fn get(state: &AppState, caller: Caller, id: ClientId) -> Result<ClientView, ApiError> {
    let decision = decide_on(state, &caller, &id, AuditAction::ClientRead).await?;
    with_conn(&state.pool, move |conn| {
        conn.write_transaction(|conn| {
            record(
                conn,
                &caller,
                AuditAction::ClientRead,
                Some(("client", id.to_string())),
                &decision,
            )?;
            Ok::<_, ApiError>(load_view(conn, &id)?)
        })
    })
    .await
}

/// Issues a second secret (administrators), shown once; the old one keeps working until it is
/// retired. A revoked or expired client gets none (409).
pub async fn rotate(
    state: &AppState,
    caller: Caller,
    id: ClientId,
) -> Result<IssuedSecret, ApiError> {
    let decision = decide_on(state, &caller, &id, AuditAction::ClientSecretRotate).await?;
    let (secret, stored) = state.auth.keys.new_client_secret();
    with_conn(&state.pool, move |conn| {
        conn.write_transaction(|conn| {
            let client = ApiClient::find(conn, &id)?;
            if !client.live_at(tumaini_db::time::now_utc()) {
                return Err(ApiError::problem(
                    ProblemType::Conflict,
                    "the client is revoked or expired",
                ));
            }
            ApiClient::add_secret(conn, &id, &stored)?;
            record(
                conn,
                &caller,
                AuditAction::ClientSecretRotate,
                Some(("client", id.to_string())),
                &decision,
            )?;
            Ok(IssuedSecret {
                client: load_view(conn, &id)?,
                secret_id: stored.id.clone(),
                client_secret: secret.to_string(),
            })
        })
    })
    .await
}

/// Retires one live secret (administrators): it stops working at once. The last live secret
/// is not retired (409): revoke the client instead.
pub async fn retire(
    state: &AppState,
    caller: Caller,
    id: ClientId,
    secret: ClientSecretId,
) -> Result<ClientView, ApiError> {
    let decision = decide_on(state, &caller, &id, AuditAction::ClientSecretRetire).await?;
    with_conn(&state.pool, move |conn| {
        conn.write_transaction(|conn| {
            let live: Vec<ClientSecret> = ApiClient::secrets(conn, &id)?
                .into_iter()
                .filter(|s| s.retired_at.is_none())
                .collect();
            if !live.iter().any(|s| s.id == secret) {
                return Err(not_found());
            }
            if live.len() == 1 {
                return Err(ApiError::problem(
                    ProblemType::Conflict,
                    "this is the client's last live secret: revoke the client instead",
                ));
            }
            ApiClient::retire_secret(conn, &id, &secret)?;
            record(
                conn,
                &caller,
                AuditAction::ClientSecretRetire,
                Some(("client", id.to_string())),
                &decision,
            )?;
            Ok(load_view(conn, &id)?)
        })
    })
    .await
}

/// Revokes a client (administrators): its secrets are retired and its tokens stop at the next
/// request. Revoking a revoked client changes nothing.
pub async fn revoke(
    state: &AppState,
    caller: Caller,
    id: ClientId,
) -> Result<ClientView, ApiError> {
    let decision = decide_on(state, &caller, &id, AuditAction::ClientRevoke).await?;
    with_conn(&state.pool, move |conn| {
        conn.write_transaction(|conn| {
            if ApiClient::revoke(conn, &id)? {
                record(
                    conn,
                    &caller,
                    AuditAction::ClientRevoke,
                    Some(("client", id.to_string())),
                    &decision,
                )?;
            }
            Ok::<_, ApiError>(load_view(conn, &id)?)
        })
    })
    .await
}
