//! Machine clients (OAuth 2.0 client credentials) and their secrets.
//!
//! A client belongs to an organisation, holds scopes from a fixed list, a declared legal basis,
//! the networks it may call from and an expiry. Its secrets are stored only as keyed hashes,
//! found by the lookup id written into each secret; two may be live while one is rotated.
//! Every request a client makes checks the row again (not revoked, not expired, organisation
//! active), so revocation stops it at the next request.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::ids::{ClientId, ClientSecretId, OrgId, UserId};
use crate::models::Organisation;
use crate::schema::{api_client_secrets, api_clients, organisations};
use crate::time::now_utc;
use crate::vocabulary::{ClientScope, LegalBasis};
use crate::{DbConn, DbError};

/// A machine client as stored.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Identifiable)]
#[diesel(table_name = api_clients)]
pub struct ApiClient {
    /// Identifier (`client_id`).
    pub id: ClientId,
    /// The organisation it acts for.
    pub organisation_id: OrgId,
    /// What the organisation calls it ("nightly audit export").
    pub name: String,
    /// Granted scopes, comma-separated codes.
    pub scopes: String,
    /// The declared legal basis.
    pub legal_basis: LegalBasis,
    /// The reference of that basis (a data-sharing agreement's number, a statute).
    pub legal_reference: String,
    /// The networks it may call from, comma-separated CIDR blocks.
    pub allowed_networks: String,
    /// After this it can do nothing.
    pub expires_at: NaiveDateTime,
    /// When it was registered.
    pub created_at: NaiveDateTime,
    /// The administrator who registered it.
    pub created_by: UserId,
    /// When it was revoked, if it was.
    pub revoked_at: Option<NaiveDateTime>,
}

impl ApiClient {
    /// The granted scopes (a stored code this build does not know grants nothing).
    pub fn scope_list(&self) -> Vec<ClientScope> {
        self.scopes
            .split(',')
            .filter_map(|code| code.parse().ok())
            .collect()
    }

    /// The allowed networks as written (CIDR blocks).
    pub fn network_list(&self) -> Vec<&str> {
        self.allowed_networks
            .split(',')
            .filter(|n| !n.is_empty())
            .collect()
    }

    /// Whether it may act at `now`: not revoked, not expired.
    pub fn live_at(&self, now: NaiveDateTime) -> bool {
        self.revoked_at.is_none() && self.expires_at > now
    }
}

/// One secret of a client, as stored (the hash only).
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Identifiable)]
#[diesel(table_name = api_client_secrets)]
pub struct ClientSecret {
    /// The lookup id written into the secret.
    pub id: ClientSecretId,
    /// Whose.
    pub client_id: ClientId,
    /// The keyed hash of the whole secret.
    pub secret_hash: String,
    /// When it was issued.
    pub created_at: NaiveDateTime,
    /// When it was retired, if it was.
    pub retired_at: Option<NaiveDateTime>,
}

/// What it takes to register a client.
#[derive(Debug, Clone)]
pub struct NewApiClient {
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
    /// Allowed networks, CIDR blocks in canonical form.
    pub allowed_networks: Vec<String>,
    /// Expiry.
    pub expires_at: NaiveDateTime,
    /// The registering administrator.
    pub created_by: UserId,
}

/// A secret's lookup id and keyed hash, to store.
#[derive(Debug, Clone)]
pub struct SecretToStore {
    /// The lookup id.
    pub id: ClientSecretId,
    /// The keyed hash.
    pub hash: String,
}

fn insert_secret(
    conn: &mut DbConn,
    client: &ClientId,
    secret: &SecretToStore,
) -> Result<ClientSecret, DbError> {
    let row = ClientSecret {
        id: secret.id.clone(),
        client_id: client.clone(),
        secret_hash: secret.hash.clone(),
        created_at: now_utc(),
        retired_at: None,
    };
    diesel::insert_into(api_client_secrets::table)
        .values((
            api_client_secrets::id.eq(&row.id),
            api_client_secrets::client_id.eq(&row.client_id),
            api_client_secrets::secret_hash.eq(&row.secret_hash),
            api_client_secrets::created_at.eq(row.created_at),
        ))
        .execute(conn)?;
    Ok(row)
}

impl ApiClient {
    /// Registers a client with its first secret.
    pub fn create(
        conn: &mut DbConn,
        new: &NewApiClient,
        secret: &SecretToStore,
    ) -> Result<ApiClient, DbError> {
        let client = ApiClient {
            id: ClientId::generate(),
            organisation_id: new.organisation_id.clone(),
            name: new.name.clone(),
            scopes: new
                .scopes
                .iter()
                .map(|s| s.code())
                .collect::<Vec<_>>()
                .join(","),
            legal_basis: new.legal_basis,
            legal_reference: new.legal_reference.clone(),
            allowed_networks: new.allowed_networks.join(","),
            expires_at: new.expires_at,
            created_at: now_utc(),
            created_by: new.created_by.clone(),
            revoked_at: None,
        };
        diesel::insert_into(api_clients::table)
            .values((
                api_clients::id.eq(&client.id),
                api_clients::organisation_id.eq(&client.organisation_id),
                api_clients::name.eq(&client.name),
                api_clients::scopes.eq(&client.scopes),
                api_clients::legal_basis.eq(client.legal_basis),
                api_clients::legal_reference.eq(&client.legal_reference),
                api_clients::allowed_networks.eq(&client.allowed_networks),
                api_clients::expires_at.eq(client.expires_at),
                api_clients::created_at.eq(client.created_at),
                api_clients::created_by.eq(&client.created_by),
            ))
            .execute(conn)?;
        insert_secret(conn, &client.id, secret)?;
        Ok(client)
    }

    /// One client.
    pub fn find(conn: &mut DbConn, id: &ClientId) -> Result<ApiClient, DbError> {
        Ok(api_clients::table
            .find(id)
            .select(ApiClient::as_select())
            .first(conn)?)
    }

    /// Every client, or one organisation's, oldest first.
    pub fn list(
        conn: &mut DbConn,
        organisation: Option<&OrgId>,
    ) -> Result<Vec<ApiClient>, DbError> {
        let mut query = api_clients::table
            .order((api_clients::created_at, api_clients::id))
            .select(ApiClient::as_select())
            .into_boxed();
        if let Some(org) = organisation {
            query = query.filter(api_clients::organisation_id.eq(org));
        }
        Ok(query.load(conn)?)
    }

    /// A client with its organisation, whatever their state (the caller checks it).
    pub fn with_organisation(
        conn: &mut DbConn,
        id: &ClientId,
    ) -> Result<Option<(ApiClient, Organisation)>, DbError> {
        Ok(api_clients::table
            .inner_join(organisations::table)
            .filter(api_clients::id.eq(id))
            .select((ApiClient::as_select(), Organisation::as_select()))
            .first(conn)
            .optional()?)
    }

    /// The unretired secret with this lookup id, with its client and the client's
    /// organisation (whatever their state: the caller checks it).
    pub fn by_secret(
        conn: &mut DbConn,
        secret: &ClientSecretId,
    ) -> Result<Option<(ClientSecret, ApiClient, Organisation)>, DbError> {
        Ok(api_client_secrets::table
            .inner_join(api_clients::table.inner_join(organisations::table))
            .filter(api_client_secrets::id.eq(secret))
            .filter(api_client_secrets::retired_at.is_null())
            .select((
                ClientSecret::as_select(),
                ApiClient::as_select(),
                Organisation::as_select(),
            ))
            .first(conn)
            .optional()?)
    }

    /// The client's secrets (hashes included: never shown), oldest first.
    pub fn secrets(conn: &mut DbConn, id: &ClientId) -> Result<Vec<ClientSecret>, DbError> {
        Ok(api_client_secrets::table
            .filter(api_client_secrets::client_id.eq(id))
            .order((api_client_secrets::created_at, api_client_secrets::id))
            .select(ClientSecret::as_select())
            .load(conn)?)
    }

    /// Adds a secret beside the live ones (a rotation).
    pub fn add_secret(
        conn: &mut DbConn,
        id: &ClientId,
        secret: &SecretToStore,
    ) -> Result<ClientSecret, DbError> {
        insert_secret(conn, id, secret)
    }

    /// Retires one live secret of the client; `false` when it has no such live secret.
    pub fn retire_secret(
        conn: &mut DbConn,
        id: &ClientId,
        secret: &ClientSecretId,
    ) -> Result<bool, DbError> {
        let changed = diesel::update(
            api_client_secrets::table
                .filter(api_client_secrets::id.eq(secret))
                .filter(api_client_secrets::client_id.eq(id))
                .filter(api_client_secrets::retired_at.is_null()),
        )
        .set(api_client_secrets::retired_at.eq(now_utc()))
        .execute(conn)?;
        Ok(changed == 1)
    }

    /// Revokes the client and retires its secrets; `false` when it was revoked already.
    pub fn revoke(conn: &mut DbConn, id: &ClientId) -> Result<bool, DbError> {
        let now = now_utc();
        let changed = diesel::update(
            api_clients::table
                .filter(api_clients::id.eq(id))
                .filter(api_clients::revoked_at.is_null()),
        )
        .set(api_clients::revoked_at.eq(now))
        .execute(conn)?;
        diesel::update(
            api_client_secrets::table
                .filter(api_client_secrets::client_id.eq(id))
                .filter(api_client_secrets::retired_at.is_null()),
        )
        .set(api_client_secrets::retired_at.eq(now))
        .execute(conn)?;
        Ok(changed == 1)
    }

    /// Sets the expiry (tests and operators use it to end a client at a given time).
    pub fn set_expiry(
        conn: &mut DbConn,
        id: &ClientId,
        expires_at: NaiveDateTime,
    ) -> Result<(), DbError> {
        diesel::update(api_clients::table.find(id))
            .set(api_clients::expires_at.eq(expires_at))
            .execute(conn)?;
        Ok(())
    }
}
