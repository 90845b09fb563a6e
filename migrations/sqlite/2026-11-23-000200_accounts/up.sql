-- Accounts: throttling and MFA state on users, sessions with rotating refresh tokens, MFA
-- recovery codes, single-use e-mailed tokens, the mail outbox, and the append-only audit table
-- (the audit-trail work adds sealing to it).

ALTER TABLE users ADD COLUMN failed_logins INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN locked_until TIMESTAMP;
ALTER TABLE users ADD COLUMN password_changed_at TIMESTAMP;
ALTER TABLE users ADD COLUMN mfa_enabled BOOLEAN NOT NULL DEFAULT 0 CHECK (mfa_enabled IN (0, 1));
ALTER TABLE users ADD COLUMN totp_secret BLOB;
ALTER TABLE users ADD COLUMN totp_last_step BIGINT;

CREATE TABLE sessions (
    id             TEXT      NOT NULL PRIMARY KEY CHECK (length(id) = 36),
    user_id        TEXT      NOT NULL REFERENCES users (id),
    created_at     TIMESTAMP NOT NULL,
    last_used_at   TIMESTAMP NOT NULL,
    expires_at     TIMESTAMP NOT NULL,
    mfa_verified   BOOLEAN   NOT NULL CHECK (mfa_verified IN (0, 1)),
    client_label   TEXT      NOT NULL,
    revoked_at     TIMESTAMP,
    revoked_reason TEXT
);
CREATE INDEX sessions_user_idx ON sessions (user_id);

CREATE TABLE refresh_tokens (
    token_hash TEXT      NOT NULL PRIMARY KEY,
    session_id TEXT      NOT NULL REFERENCES sessions (id),
    issued_at  TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    used_at    TIMESTAMP
);
CREATE INDEX refresh_tokens_session_idx ON refresh_tokens (session_id);

CREATE TABLE recovery_codes (
    code_hash TEXT      NOT NULL PRIMARY KEY,
    user_id   TEXT      NOT NULL REFERENCES users (id),
    created_at TIMESTAMP NOT NULL,
    used_at   TIMESTAMP
);
CREATE INDEX recovery_codes_user_idx ON recovery_codes (user_id);

CREATE TABLE account_tokens (
    token_hash TEXT      NOT NULL PRIMARY KEY,
    user_id    TEXT      NOT NULL REFERENCES users (id),
    purpose    TEXT      NOT NULL,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    used_at    TIMESTAMP
);
CREATE INDEX account_tokens_user_idx ON account_tokens (user_id);

CREATE TABLE outbox (
    id              TEXT      NOT NULL PRIMARY KEY CHECK (length(id) = 36),
    recipient       TEXT      NOT NULL,
    subject         TEXT      NOT NULL,
    body            TEXT      NOT NULL,
    created_at      TIMESTAMP NOT NULL,
    attempts        INTEGER   NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMP NOT NULL,
    claimed_until   TIMESTAMP,
    sent_at         TIMESTAMP,
    last_error      TEXT
);
CREATE INDEX outbox_pending_idx ON outbox (sent_at, next_attempt_at);

CREATE TABLE audit_events (
    id                    TEXT      NOT NULL PRIMARY KEY CHECK (length(id) = 36),
    occurred_at           TIMESTAMP NOT NULL,
    action                TEXT      NOT NULL,
    outcome               TEXT      NOT NULL,
    actor_user_id         TEXT,
    actor_organisation_id TEXT,
    actor_role            TEXT,
    resource_type         TEXT,
    resource_id           TEXT,
    field_groups          TEXT      NOT NULL DEFAULT '',
    purpose               TEXT,
    decision              TEXT,
    policy_ids            TEXT      NOT NULL DEFAULT '',
    request_id            TEXT,
    client_hash           TEXT
);
CREATE INDEX audit_events_actor_idx ON audit_events (actor_user_id, occurred_at);
CREATE INDEX audit_events_resource_idx ON audit_events (resource_type, resource_id, occurred_at);

CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'audit_events is append-only');
END;
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'audit_events is append-only');
END;
