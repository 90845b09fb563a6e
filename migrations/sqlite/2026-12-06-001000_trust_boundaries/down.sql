DROP TABLE regions;
DROP TABLE duplicate_checks;
DROP TABLE idempotency_keys;
CREATE TABLE idempotency_keys (
    user_id         TEXT      NOT NULL REFERENCES users (id),
    idempotency_key TEXT      NOT NULL,
    request_hash    BLOB     NOT NULL,
    status_code     INTEGER   NOT NULL,
    location        TEXT,
    etag            TEXT,
    body            TEXT      NOT NULL,
    created_at      TIMESTAMP NOT NULL,
    PRIMARY KEY (user_id, idempotency_key)
);
CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at);
ALTER TABLE audit_events DROP COLUMN client_request_id;
ALTER TABLE sessions DROP COLUMN password_failures;
ALTER TABLE users DROP COLUMN requested_at;
ALTER TABLE users DROP COLUMN requested_by;
ALTER TABLE users DROP COLUMN requested_role;
ALTER TABLE users DROP COLUMN last_failed_login_at;
ALTER TABLE users DROP COLUMN login_delay_until;
