-- The tamper-evident audit trail. Writers insert audit_events freely in
-- their own transactions; one sealer at a time (a transaction-level advisory lock, so several
-- replicas are safe) assigns each event a position in a SHA-256 hash chain (audit_chain) and
-- signs periodic checkpoints with the Ed25519 audit key (audit_checkpoints). All three tables
-- are append-only: triggers here, and grants (README: "Database roles") for the server's role.

CREATE INDEX audit_events_time_idx ON audit_events (occurred_at, id);

CREATE TABLE audit_chain (
    position   BIGINT    NOT NULL PRIMARY KEY CHECK (position > 0),
    event_id   TEXT      NOT NULL UNIQUE REFERENCES audit_events (id),
    leaf_hash  BYTEA     NOT NULL CHECK (length(leaf_hash) = 32),
    chain_hash BYTEA     NOT NULL CHECK (length(chain_hash) = 32),
    sealed_at  TIMESTAMP NOT NULL
);

CREATE TABLE audit_checkpoints (
    position   BIGINT    NOT NULL PRIMARY KEY CHECK (position > 0),
    chain_hash BYTEA     NOT NULL CHECK (length(chain_hash) = 32),
    signed_at  TIMESTAMP NOT NULL,
    key_id     TEXT      NOT NULL,
    signature  BYTEA     NOT NULL CHECK (length(signature) = 64)
);

CREATE FUNCTION audit_seal_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
END;
$$;
CREATE TRIGGER audit_chain_no_update_delete BEFORE UPDATE OR DELETE ON audit_chain
    FOR EACH ROW EXECUTE FUNCTION audit_seal_refuse_change();
CREATE TRIGGER audit_chain_no_truncate BEFORE TRUNCATE ON audit_chain
    FOR EACH STATEMENT EXECUTE FUNCTION audit_seal_refuse_change();
CREATE TRIGGER audit_checkpoints_no_update_delete BEFORE UPDATE OR DELETE ON audit_checkpoints
    FOR EACH ROW EXECUTE FUNCTION audit_seal_refuse_change();
CREATE TRIGGER audit_checkpoints_no_truncate BEFORE TRUNCATE ON audit_checkpoints
    FOR EACH STATEMENT EXECUTE FUNCTION audit_seal_refuse_change();
