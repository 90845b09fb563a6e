-- The tamper-evident audit trail. Writers insert audit_events freely in
-- their own transactions; one sealer at a time assigns each event a position in a SHA-256 hash
-- chain (audit_chain) and signs periodic checkpoints with the Ed25519 audit key
-- (audit_checkpoints). All three tables are append-only.

CREATE INDEX audit_events_time_idx ON audit_events (occurred_at, id);

CREATE TABLE audit_chain (
    position   BIGINT    NOT NULL PRIMARY KEY CHECK (position > 0),
    event_id   TEXT      NOT NULL UNIQUE REFERENCES audit_events (id),
    leaf_hash  BLOB      NOT NULL CHECK (length(leaf_hash) = 32),
    chain_hash BLOB      NOT NULL CHECK (length(chain_hash) = 32),
    sealed_at  TIMESTAMP NOT NULL
);

CREATE TABLE audit_checkpoints (
    position   BIGINT    NOT NULL PRIMARY KEY CHECK (position > 0),
    chain_hash BLOB      NOT NULL CHECK (length(chain_hash) = 32),
    signed_at  TIMESTAMP NOT NULL,
    key_id     TEXT      NOT NULL,
    signature  BLOB      NOT NULL CHECK (length(signature) = 64)
);

CREATE TRIGGER audit_chain_no_update BEFORE UPDATE ON audit_chain
BEGIN
    SELECT RAISE(ABORT, 'audit_chain is append-only');
END;
CREATE TRIGGER audit_chain_no_delete BEFORE DELETE ON audit_chain
BEGIN
    SELECT RAISE(ABORT, 'audit_chain is append-only');
END;
CREATE TRIGGER audit_checkpoints_no_update BEFORE UPDATE ON audit_checkpoints
BEGIN
    SELECT RAISE(ABORT, 'audit_checkpoints is append-only');
END;
CREATE TRIGGER audit_checkpoints_no_delete BEFORE DELETE ON audit_checkpoints
BEGIN
    SELECT RAISE(ABORT, 'audit_checkpoints is append-only');
END;
