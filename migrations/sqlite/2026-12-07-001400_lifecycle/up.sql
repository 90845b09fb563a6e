-- The data's lifetime and the person's rights.
--
-- Erasure is asked for by one person and approved by a second; approving executes it: the
-- case's data key is destroyed (crypto-shredding) and everything that could re-identify the
-- person is deleted. `erased_at` and `erasure_scope` mark the case: `personal_data` keeps the
-- coarse summary for statistics; `whole_record` also blanks the summary and takes the case
-- out of every figure, leaving only a tombstone (its id, reference and owner) so the audit
-- trail's events about it keep their meaning.
--
-- Restriction of processing marks a case while a dispute is resolved (`restricted_at`).
-- Legal holds keep a case from erasure by retention while they last.
ALTER TABLE cases ADD COLUMN erased_at TIMESTAMP;
ALTER TABLE cases ADD COLUMN erasure_scope TEXT;
ALTER TABLE cases ADD COLUMN restricted_at TIMESTAMP;
ALTER TABLE cases ADD COLUMN restricted_by TEXT;
ALTER TABLE cases ADD COLUMN restriction_reason TEXT;
-- When a case was withdrawn by the person (the retention of withdrawn cases counts from it).
ALTER TABLE cases ADD COLUMN withdrawn_at TIMESTAMP;
UPDATE cases SET withdrawn_at = updated_at WHERE status = 'withdrawn';

CREATE TABLE erasure_requests (
    id           TEXT      NOT NULL PRIMARY KEY CHECK (length(id) = 36),
    case_id      TEXT      NOT NULL REFERENCES cases (id),
    scope        TEXT      NOT NULL,
    reason       TEXT      NOT NULL,
    -- pending, executed, refused, cancelled, expired
    state        TEXT      NOT NULL,
    -- NULL: asked for by the retention job, which needs no second person.
    requested_by TEXT      REFERENCES users (id),
    requested_at TIMESTAMP NOT NULL,
    expires_at   TIMESTAMP NOT NULL,
    decided_by   TEXT      REFERENCES users (id),
    decided_at   TIMESTAMP,
    executed_at  TIMESTAMP,
    CHECK (expires_at >= requested_at)
);
-- One pending request per case.
CREATE UNIQUE INDEX erasure_requests_pending_idx ON erasure_requests (case_id)
    WHERE state = 'pending';
CREATE INDEX erasure_requests_case_idx ON erasure_requests (case_id, requested_at);

CREATE TABLE legal_holds (
    id         TEXT      NOT NULL PRIMARY KEY CHECK (length(id) = 36),
    case_id    TEXT      NOT NULL REFERENCES cases (id),
    reason     TEXT      NOT NULL,
    placed_by  TEXT      NOT NULL REFERENCES users (id),
    placed_at  TIMESTAMP NOT NULL,
    lifted_by  TEXT      REFERENCES users (id),
    lifted_at  TIMESTAMP
);
-- One hold in force per case.
CREATE UNIQUE INDEX legal_holds_active_idx ON legal_holds (case_id) WHERE lifted_at IS NULL;
