-- Machine clients (OAuth 2.0 client credentials): registered by an administrator for an
-- organisation, with scopes from a fixed list, a declared legal basis, the networks it may
-- call from and an expiry. Its secrets are stored only as keyed hashes.
CREATE TABLE api_clients (
    id                TEXT      PRIMARY KEY NOT NULL,
    organisation_id   TEXT      NOT NULL REFERENCES organisations (id),
    name              TEXT      NOT NULL,
    scopes            TEXT      NOT NULL,
    legal_basis       TEXT      NOT NULL,
    legal_reference   TEXT      NOT NULL,
    allowed_networks  TEXT      NOT NULL,
    expires_at        TIMESTAMP NOT NULL,
    created_at        TIMESTAMP NOT NULL,
    created_by        TEXT      NOT NULL REFERENCES users (id),
    revoked_at        TIMESTAMP
);
CREATE INDEX api_clients_organisation_idx ON api_clients (organisation_id);

-- A client's secrets: the id is the lookup id written into the secret; the hash is
-- HMAC-SHA256 under a key derived from the server secret. Two may be live during a rotation.
CREATE TABLE api_client_secrets (
    id           TEXT      PRIMARY KEY NOT NULL,
    client_id    TEXT      NOT NULL REFERENCES api_clients (id),
    secret_hash  TEXT      NOT NULL,
    created_at   TIMESTAMP NOT NULL,
    retired_at   TIMESTAMP
);
CREATE INDEX api_client_secrets_client_idx ON api_client_secrets (client_id);

-- The machine client that acted, beside (never instead of) the acting user.
ALTER TABLE audit_events ADD COLUMN actor_client_id TEXT;
