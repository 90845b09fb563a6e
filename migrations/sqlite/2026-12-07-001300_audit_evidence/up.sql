-- Evidence that database access alone cannot forge or quietly shorten.
--
-- Each audit event carries a MAC (HMAC-SHA256, base64) under a key the servers derive from the
-- audit key and the database never holds: a row inserted by anyone with only database access
-- has none, or a wrong one, and `tumaini audit verify` names it. Events recorded before this
-- migration have none; the first event with a MAC marks where every later one must have one.
--
-- Checkpoints form their own signed sequence: each new one names its sequence number and the
-- SHA-256 of its predecessor's signed note, so a deleted or rolled-back checkpoint breaks the
-- sequence. Checkpoints signed before this migration have neither (NULL).
--
-- Each chain row the sealer writes names the newest checkpoint there was when it was sealed
-- (by sequence number) and carries a MAC, under the same servers' key, over its position, its
-- chain hash and that checkpoint's note: deleting or replacing the newest checkpoint while
-- events sealed after it remain, or rewriting a chain row, no longer verifies.
ALTER TABLE audit_events ADD COLUMN mac TEXT;
ALTER TABLE audit_checkpoints ADD COLUMN sequence BIGINT CHECK (sequence > 0);
ALTER TABLE audit_checkpoints ADD COLUMN previous_hash BLOB
    CHECK (previous_hash IS NULL OR length(previous_hash) = 32);
CREATE UNIQUE INDEX audit_checkpoints_sequence_idx ON audit_checkpoints (sequence);
ALTER TABLE audit_chain ADD COLUMN checkpoint_sequence BIGINT;
ALTER TABLE audit_chain ADD COLUMN mac TEXT;
