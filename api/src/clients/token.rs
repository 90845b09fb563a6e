//! The OAuth 2.0 client credentials grant (RFC 6749 §4.4): a machine client authenticates
//! with its id and secret (HTTP Basic or form fields, never both) and gets a short-lived
//! access token naming it and the scopes granted.
//!
//! Every attempt counts against the per-address sign-in limit. A refusal answers with the
//! RFC 6749 §5.2 code in the problem's `error` member (`invalid_client` as 401 with
//! `WWW-Authenticate`); it never says which part of the credentials was wrong. Attempts are
//! audited (`auth.client_token`), naming the client when one was identified.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};
use tumaini_db::models::{ApiClient, Organisation};
use tumaini_db::time::now_utc;
use tumaini_db::vocabulary::ClientScope;
use utoipa::ToSchema;
use zeroize::Zeroizing;

use crate::audit::{AuditAction, Entry, Outcome};
use crate::auth::RequestContext;
use crate::auth::clients::from_allowed_network;
use crate::auth::tokens::client_secret_lookup;
use crate::http::{ApiError, ProblemType, with_conn};
use crate::state::AppState;

/// How long a client's access token lives (seconds): short, since every request checks the
/// client again anyway.
pub const CLIENT_TOKEN_TTL_SECS: i64 = 600;

/// The form of a token request (`application/x-www-form-urlencoded`).
#[derive(Deserialize, ToSchema)]
pub struct ClientTokenForm {
    /// `client_credentials`.
    pub grant_type: Option<String>,
    /// Scopes asked for, space-separated; a subset of those granted (all of them if absent).
    pub scope: Option<String>,
    /// The client's id, when not sent by HTTP Basic.
    pub client_id: Option<String>,
    /// The client's secret, when not sent by HTTP Basic.
    pub client_secret: Option<String>,
}

impl std::fmt::Debug for ClientTokenForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientTokenForm")
            .field("grant_type", &self.grant_type)
            .finish_non_exhaustive()
    }
}

/// An access token for a machine client (RFC 6749 §5.1).
#[derive(Debug, Serialize, ToSchema)]
pub struct ClientTokenResponse {
    /// The access token: send it as `Authorization: Bearer ...`.
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Seconds until it expires.
    pub expires_in: i64,
    /// The scopes it carries, space-separated.
    pub scope: String,
}

fn oauth(kind: ProblemType, detail: &str) -> ApiError {
    ApiError::problem(kind, detail)
}

fn invalid_client() -> ApiError {
    oauth(
        ProblemType::OAuthInvalidClient,
        "client authentication failed",
    )
}

/// The id and secret presented, from HTTP Basic or the form (never both).
struct Presented {
    client_id: String,
    secret: Zeroizing<String>,
}

/// Reads the credentials: `Authorization: Basic` or the form's `client_id` and
/// `client_secret`. Both at once is refused (RFC 6749 §2.3.1); neither is `invalid_client`.
fn presented(basic: Option<&str>, form: &ClientTokenForm) -> Result<Presented, ApiError> {
    let in_form = form.client_id.is_some() || form.client_secret.is_some();
    match (basic, in_form) {
        (Some(_), true) => Err(oauth(
            ProblemType::OAuthInvalidRequest,
            "authenticate with HTTP Basic or with form fields, not both",
        )),
        (Some(header), false) => {
            let decoded = STANDARD
                .decode(header.trim())
                .ok()
                .and_then(|bytes| String::from_utf8(bytes).ok())
                .map(Zeroizing::new)
                .ok_or_else(invalid_client)?;
            let (id, secret) = decoded.split_once(':').ok_or_else(invalid_client)?;
            Ok(Presented {
                client_id: id.to_owned(),
                secret: Zeroizing::new(secret.to_owned()),
            })
        }
        (None, true) => match (&form.client_id, &form.client_secret) {
            (Some(id), Some(secret)) => Ok(Presented {
                client_id: id.clone(),
                secret: Zeroizing::new(secret.clone()),
            }),
            _ => Err(invalid_client()),
        },
        (None, false) => Err(invalid_client()),
    }
}

/// The scopes asked for: all those granted when none are named; `invalid_scope` when any
/// named is unknown or not granted.
fn asked_scopes(
    asked: Option<&str>,
    granted: &[ClientScope],
) -> Result<Vec<ClientScope>, ApiError> {
    let Some(text) = asked.map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(granted.to_vec());
    };
    let mut scopes = Vec::new();
    for code in text.split(' ').filter(|s| !s.is_empty()) {
        match code.parse::<ClientScope>() {
            Ok(scope) if granted.contains(&scope) => scopes.push(scope),
            _ => {
                return Err(oauth(
                    ProblemType::OAuthInvalidScope,
                    "a scope asked for is unknown or not granted to this client",
                ));
            }
        }
    }
    scopes.sort();
    scopes.dedup();
    Ok(scopes)
}

/// Writes the attempt's audit event in a transaction of its own.
fn audit_attempt(
    conn: &mut tumaini_db::DbConn,
    context: &RequestContext,
    client: Option<&ApiClient>,
    outcome: Outcome,
) -> Result<(), ApiError> {
    conn.write_transaction(|conn| {
        let entry = Entry::new(AuditAction::AuthClientToken, outcome).in_request(context);
        match client {
            Some(client) => entry
                .by_actor(crate::audit::Actor::Client(client))
                .on("client", &client.id),
            None => entry,
        }
        .write(conn)
    })?;
    Ok(())
}

/// Why a client identified by its secret may not have a token now (none: it may).
fn refusal(client: &ApiClient, organisation: &Organisation, context: &RequestContext) -> bool {
    !client.live_at(now_utc()) || !organisation.active || !from_allowed_network(client, context)
}

/// The client credentials grant: checks the client and issues a token.
pub async fn grant(
    state: &AppState,
    context: RequestContext,
    basic: Option<String>,
    form: ClientTokenForm,
) -> Result<ClientTokenResponse, ApiError> {
    if !state.auth.client_may_try(&context) {
        return Err(ApiError::problem(
            ProblemType::TooManyRequests,
            "too many requests from this address; wait a minute",
        ));
    }
    let presented = presented(basic.as_deref(), &form)?;
    match form.grant_type.as_deref() {
        Some("client_credentials") => {}
        Some(_) => {
            return Err(oauth(
                ProblemType::OAuthUnsupportedGrantType,
                "only the client_credentials grant is served",
            ));
        }
        None => {
            return Err(oauth(
                ProblemType::OAuthInvalidRequest,
                "`grant_type` is required",
            ));
        }
    }
    let auth = std::sync::Arc::clone(&state.auth);
    let asked = form.scope;
    with_conn(&state.pool, move |conn| {
        let found = match client_secret_lookup(&presented.secret) {
            Some(lookup) => ApiClient::by_secret(conn, &lookup)?,
            None => None,
        };
        let Some((secret, client, organisation)) = found else {
            audit_attempt(conn, &context, None, Outcome::Failure)?;
            return Err(invalid_client());
        };
        let matches = auth
            .keys
            .client_secret_matches(&presented.secret, &secret.secret_hash);
        if !matches || presented.client_id != client.id.as_str() {
            audit_attempt(conn, &context, None, Outcome::Failure)?;
            return Err(invalid_client());
        }
        if refusal(&client, &organisation, &context) {
            audit_attempt(conn, &context, Some(&client), Outcome::Denied)?;
            return Err(invalid_client());
        }
        let scopes = match asked_scopes(asked.as_deref(), &client.scope_list()) {
            Ok(scopes) => scopes,
            Err(err) => {
                audit_attempt(conn, &context, Some(&client), Outcome::Denied)?;
                return Err(err);
            }
        };
        let scope = scopes
            .iter()
            .map(|s| s.code())
            .collect::<Vec<_>>()
            .join(" ");
        let (access_token, _) = auth
            .keys
            .issue_client_access(&client.id, &scope, CLIENT_TOKEN_TTL_SECS)
            .map_err(ApiError::Internal)?;
        audit_attempt(conn, &context, Some(&client), Outcome::Success)?;
        Ok(ClientTokenResponse {
            access_token,
            token_type: "Bearer",
            expires_in: CLIENT_TOKEN_TTL_SECS,
            scope,
        })
    })
    .await
}
