-- The trust boundaries (sign-in throttling, second-person approval of case-reading roles,
-- client request ids in the audit trail, sealed idempotency answers, controlled regions).

-- Sign-in throttling: failures count together until a whole window passes without one (a short
-- delay does not reset them); the growing delay between failures is kept apart from the lock at
-- the threshold.
ALTER TABLE users ADD COLUMN login_delay_until TIMESTAMP;
ALTER TABLE users ADD COLUMN last_failed_login_at TIMESTAMP;
-- A role that reads cases, granted by someone who may not read them (an administrator), waits
-- for a second person's approval: the role asked for, by whom, since when.
ALTER TABLE users ADD COLUMN requested_role TEXT;
ALTER TABLE users ADD COLUMN requested_by TEXT;
ALTER TABLE users ADD COLUMN requested_at TIMESTAMP;

-- Wrong current passwords given on this session's password changes: at the threshold the
-- session ends.
ALTER TABLE sessions ADD COLUMN password_failures INTEGER NOT NULL DEFAULT 0;

-- The request id a client sent (bounded, checked), kept apart from the server's own.
ALTER TABLE audit_events ADD COLUMN client_request_id TEXT;

-- First answers to idempotent POSTs about a case are sealed under the case's data key (so
-- shredding the case shreds them); answers that concern no case hold only ids. All expire. The stored answers of before held decrypted values in clear:
-- they are dropped, not converted.
DROP TABLE idempotency_keys;
CREATE TABLE idempotency_keys (
    user_id         TEXT      NOT NULL REFERENCES users (id),
    idempotency_key TEXT      NOT NULL,
    request_hash    BYTEA     NOT NULL,
    case_id         TEXT,
    status_code     INTEGER   NOT NULL,
    location        TEXT,
    etag            TEXT,
    body            BYTEA     NOT NULL,
    created_at      TIMESTAMP NOT NULL,
    PRIMARY KEY (user_id, idempotency_key)
);
CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at);
CREATE INDEX idempotency_keys_case_idx ON idempotency_keys (case_id);

-- Possible duplicates the registering organisation may not see, waiting to be confirmed (on the
-- decrypted index terms) and told to the holders by a background job, after the registration was
-- answered: so that how long it takes does not tell the registrar whether the person is held
-- elsewhere, and so that no flag is lost if the server stops.
CREATE TABLE duplicate_checks (
    case_id      TEXT      NOT NULL,
    candidate_id TEXT      NOT NULL,
    queued_at    TIMESTAMP NOT NULL,
    PRIMARY KEY (case_id, candidate_id)
);

-- Regions an administrator added to the shipped list (ISO 3166-2 subdivisions): a district
-- created after the list was made, say.
CREATE TABLE regions (
    code     TEXT      NOT NULL PRIMARY KEY,
    country  TEXT      NOT NULL CHECK (length(country) = 2),
    name     TEXT      NOT NULL,
    level    TEXT      NOT NULL,
    added_by TEXT      REFERENCES users (id),
    added_at TIMESTAMP NOT NULL
);
CREATE INDEX regions_country_idx ON regions (country);
