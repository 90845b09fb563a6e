-- Signed webhooks: the HTTPS endpoints an organisation registers for event types, and the
-- deliveries queued to them in the transaction of the event that causes them. A payload holds
-- ids, references, types and times only, never a personal value. The signing secret is stored
-- wrapped under the vault's key-encryption key (bound to the endpoint's id), never in clear.

CREATE TABLE webhook_endpoints (
    id                 TEXT      NOT NULL PRIMARY KEY CHECK (length(id) = 36),
    organisation_id    TEXT      NOT NULL REFERENCES organisations (id),
    url                TEXT      NOT NULL,
    -- Comma-separated event type codes.
    event_types        TEXT      NOT NULL,
    secret_kek_version INTEGER   NOT NULL,
    secret_wrapped     BYTEA     NOT NULL,
    created_by         TEXT      NOT NULL REFERENCES users (id),
    created_at         TIMESTAMP NOT NULL,
    -- The first failed attempt since the last delivered one; cleared by a delivery.
    failing_since      TIMESTAMP,
    disabled_at        TIMESTAMP,
    deleted_at         TIMESTAMP
);
CREATE INDEX webhook_endpoints_organisation_idx ON webhook_endpoints (organisation_id);

CREATE TABLE webhook_deliveries (
    id              TEXT      NOT NULL PRIMARY KEY CHECK (length(id) = 36),
    endpoint_id     TEXT      NOT NULL REFERENCES webhook_endpoints (id),
    -- The event's id: the `webhook-id` header, the same for every attempt and every endpoint.
    event_id        TEXT      NOT NULL CHECK (length(event_id) = 36),
    event_type      TEXT      NOT NULL,
    payload         TEXT      NOT NULL,
    created_at      TIMESTAMP NOT NULL,
    attempts        INTEGER   NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMP NOT NULL,
    claimed_until   TIMESTAMP,
    delivered_at    TIMESTAMP,
    last_status     INTEGER,
    last_error      TEXT,
    UNIQUE (endpoint_id, event_id)
);
CREATE INDEX webhook_deliveries_pending_idx ON webhook_deliveries (delivered_at, next_attempt_at);
