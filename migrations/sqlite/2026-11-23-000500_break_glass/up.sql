-- Break-glass: a coordinator, or a supervisor for a case their
-- organisation owns or serves, opens named personal groups of one case outside the normal rules,
-- with a written justification, for a limited time. Every opening and every read under it is a
-- high-severity audit event.

ALTER TABLE audit_events ADD COLUMN severity TEXT NOT NULL DEFAULT 'normal';

CREATE TABLE break_glass_grants (
    id            TEXT      NOT NULL PRIMARY KEY CHECK (length(id) = 36),
    case_id       TEXT      NOT NULL REFERENCES cases (id),
    user_id       TEXT      NOT NULL REFERENCES users (id),
    field_groups  TEXT      NOT NULL,
    opened_at     TIMESTAMP NOT NULL,
    expires_at    TIMESTAMP NOT NULL,
    -- The justification, sealed under the case's data key (it may name the person).
    justification BLOB      NOT NULL,
    CHECK (expires_at > opened_at)
);
CREATE INDEX break_glass_grants_lookup_idx ON break_glass_grants (case_id, user_id, expires_at);
