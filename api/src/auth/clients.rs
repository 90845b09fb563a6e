//! Machine clients as callers: an access token issued to a client (OAuth 2.0 client
//! credentials) and the client checked again in the database on every request, and the
//! [`Principal`] extractor of the few endpoints that accept either a person or a client.
//!
//! A client's token names the client and the scopes granted; on each request the client must
//! be unrevoked and unexpired, its organisation active and the request's source address within
//! its allowed networks, else 401: revocation, expiry or a switched-off organisation stop it at
//! the next request. The scopes in force are those of the token that the client still holds.

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};
use futures_util::future::LocalBoxFuture;
use tumaini_db::ids::ClientId;
use tumaini_db::models::{ApiClient, Organisation};
use tumaini_db::time::now_utc;
use tumaini_db::vocabulary::{ClientScope, OrganisationKind};

use super::tokens::AccessClaims;
use super::{Caller, RequestContext};
use crate::audit::{Actor, OwnedActor};
use crate::authz::{ClientFacts, OrganisationFacts, Subject};
use crate::http::{ApiError, IpNetwork, ProblemType};
use crate::state::AppState;

/// A machine client whose token is valid and which the database still holds live.
#[derive(Debug, Clone)]
pub struct ClientCaller {
    /// The client, as stored now.
    pub client: ApiClient,
    /// Its organisation, as stored now (active).
    pub organisation: Organisation,
    /// The scopes in force: named by the token and still granted.
    pub scopes: Vec<ClientScope>,
    /// Request id and client hash, for audit events.
    pub context: RequestContext,
}

impl ClientCaller {
    /// The client as the policies see it.
    pub fn facts(&self) -> ClientFacts {
        ClientFacts {
            client_id: self.client.id.to_string(),
            organisation: OrganisationFacts::from(&self.organisation),
            scopes: self.scopes.clone(),
        }
    }
}

/// The caller of an endpoint open to machine clients: a signed-in person (with every check of
/// [`Caller`]) or a machine client. Every other endpoint takes [`Caller`], which refuses a
/// client's token.
#[derive(Debug, Clone)]
pub enum Principal {
    /// A person.
    Person(Caller),
    /// A machine client.
    Client(ClientCaller),
}

/// The principal's facts for the policies, owned (see [`Principal::facts`]).
#[derive(Debug, Clone)]
pub enum PrincipalFactsOwned {
    /// A person's.
    Person(crate::authz::PrincipalFacts),
    /// A client's.
    Client(ClientFacts),
}

impl PrincipalFactsOwned {
    /// As the authorizer takes them.
    pub fn subject(&self) -> Subject<'_> {
        match self {
            Self::Person(facts) => Subject::User(facts),
            Self::Client(facts) => Subject::Client(facts),
        }
    }
}

impl Principal {
    /// The facts the policies decide on.
    pub fn facts(&self) -> PrincipalFactsOwned {
        match self {
            Self::Person(caller) => PrincipalFactsOwned::Person(caller.principal()),
            Self::Client(client) => PrincipalFactsOwned::Client(client.facts()),
        }
    }

    /// The request's context, for audit events and rate limits.
    pub fn context(&self) -> &RequestContext {
        match self {
            Self::Person(caller) => &caller.context,
            Self::Client(client) => &client.context,
        }
    }

    /// The organisation the principal acts for.
    pub fn organisation(&self) -> &Organisation {
        match self {
            Self::Person(caller) => &caller.organisation,
            Self::Client(client) => &client.organisation,
        }
    }

    /// Whether the principal oversees its whole country: a national coordinator, or a
    /// coordination office's client. Everyone else oversees their own organisation at most.
    pub fn national(&self) -> bool {
        match self {
            Self::Person(caller) => caller.user.role == tumaini_db::vocabulary::Role::Coordinator,
            Self::Client(client) => {
                client.organisation.kind == OrganisationKind::CoordinationOffice
            }
        }
    }

    /// Who acted, owned (to move into a database closure).
    pub fn owned_actor(&self) -> OwnedActor {
        match self {
            Self::Person(caller) => OwnedActor::User(caller.user.clone()),
            Self::Client(client) => OwnedActor::Client(client.client.clone()),
        }
    }

    /// Who acted, for audit events.
    pub fn actor(&self) -> Actor<'_> {
        match self {
            Self::Person(caller) => Actor::User(&caller.user),
            Self::Client(client) => Actor::Client(&client.client),
        }
    }
}

fn unauthenticated() -> ApiError {
    ApiError::bare(ProblemType::Unauthenticated)
}

/// The verified claims of the bearer token, if it is a machine client's; `None` for a person's
/// token, for no token, and for one that does not verify (the person's path refuses those).
fn client_claims(req: &HttpRequest, state: &AppState) -> Option<AccessClaims> {
    let token = super::bearer_token(req)?;
    let claims = state.auth.keys.verify_access(&token).ok()?;
    claims.cid.is_some().then_some(claims)
}

/// The scopes a token names (space-separated codes; an unknown code names nothing).
pub fn parse_scopes(text: &str) -> Vec<ClientScope> {
    let mut scopes: Vec<ClientScope> = text
        .split(' ')
        .filter_map(|code| code.parse().ok())
        .collect();
    scopes.sort();
    scopes.dedup();
    scopes
}

/// Whether the source address is within one of the client's networks (no address: no).
pub fn from_allowed_network(client: &ApiClient, context: &RequestContext) -> bool {
    let Some(address) = context.client_ip else {
        return false;
    };
    client
        .network_list()
        .iter()
        .filter_map(|n| n.parse::<IpNetwork>().ok())
        .any(|network| network.contains(address))
}

/// Checks a client's token against the database: the client live, its organisation active,
/// the source address allowed, and some scope of the token still granted.
async fn authenticate_client(
    state: web::Data<AppState>,
    claims: AccessClaims,
    context: RequestContext,
) -> Result<ClientCaller, ApiError> {
    let id: ClientId = claims
        .cid
        .as_deref()
        .filter(|cid| *cid == claims.sub)
        .and_then(|cid| cid.parse().ok())
        .ok_or_else(unauthenticated)?;
    let found = crate::http::with_conn(&state.pool, move |conn| {
        ApiClient::with_organisation(conn, &id).map_err(|e| {
            if e.undecodable().is_some() {
                tracing::error!("a machine client holds an unknown code; access refused");
                return unauthenticated();
            }
            ApiError::from(e)
        })
    })
    .await?;
    let Some((client, organisation)) = found else {
        return Err(unauthenticated());
    };
    if !client.live_at(now_utc())
        || !organisation.active
        || !from_allowed_network(&client, &context)
    {
        tracing::debug!("machine client refused: revoked, expired, switched off or off-network");
        return Err(unauthenticated());
    }
    let granted = client.scope_list();
    let scopes: Vec<ClientScope> = parse_scopes(claims.scope.as_deref().unwrap_or_default())
        .into_iter()
        .filter(|s| granted.contains(s))
        .collect();
    if scopes.is_empty() {
        return Err(unauthenticated());
    }
    Ok(ClientCaller {
        client,
        organisation,
        scopes,
        context,
    })
}

impl FromRequest for Principal {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
            return Box::pin(async {
                Err(ApiError::Internal(anyhow::anyhow!("no application state")))
            });
        };
        match client_claims(req, &state) {
            Some(claims) => {
                let context =
                    RequestContext::of(req, &state.auth.keys, &state.auth.settings.proxies);
                Box::pin(async move {
                    Ok(Principal::Client(
                        authenticate_client(state, claims, context).await?,
                    ))
                })
            }
            None => {
                let person = Caller::from_request(req, payload);
                Box::pin(async move { Ok(Principal::Person(person.await?)) })
            }
        }
    }
}
