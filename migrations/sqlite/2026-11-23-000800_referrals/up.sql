-- Referrals between organisations: one organisation asks another for named
-- services for one case, sharing only the field groups named (the minimum the services need,
-- never more than consent allows). States: sent -> accepted | declined | expired ->
-- in_service -> completed, or withdrawn. Acceptance grants the receiving organisation access to
-- those groups while the referral is accepted or in service.

CREATE TABLE referrals (
    id                   TEXT      NOT NULL PRIMARY KEY CHECK (length(id) = 36),
    reference            TEXT      NOT NULL UNIQUE,
    case_id              TEXT      NOT NULL REFERENCES cases (id),
    from_organisation_id TEXT      NOT NULL REFERENCES organisations (id),
    to_organisation_id   TEXT      NOT NULL REFERENCES organisations (id),
    created_by           TEXT      NOT NULL REFERENCES users (id),
    -- Comma-separated service_type codes (at least one) and field_group codes (maybe none).
    services             TEXT      NOT NULL CHECK (services <> ''),
    field_groups         TEXT      NOT NULL,
    urgency              TEXT      NOT NULL,
    -- Why, in the referrer's words: sealed under the case's data key (it may describe the person).
    reason               BLOB     NOT NULL,
    -- The consent version the referral relied on.
    consent_id           TEXT      NOT NULL REFERENCES consents (id),
    cross_border         BOOLEAN   NOT NULL,
    state                TEXT      NOT NULL,
    decline_reason       TEXT,
    created_at           TIMESTAMP NOT NULL,
    respond_by           TIMESTAMP NOT NULL,
    answered_at          TIMESTAMP,
    answered_by          TEXT      REFERENCES users (id),
    started_at           TIMESTAMP,
    ended_at             TIMESTAMP,
    -- When coordinators were told the deadline passed unanswered (once).
    escalated_at         TIMESTAMP,
    CHECK (from_organisation_id <> to_organisation_id),
    CHECK (respond_by > created_at),
    CHECK ((state = 'declined') = (decline_reason IS NOT NULL))
);
CREATE INDEX referrals_case_idx ON referrals (case_id, created_at);
CREATE INDEX referrals_inbox_idx ON referrals (to_organisation_id, state, created_at);
CREATE INDEX referrals_outbox_idx ON referrals (from_organisation_id, state, created_at);
CREATE INDEX referrals_due_idx ON referrals (state, respond_by);

-- Each state a referral entered, by whom (none: the deadline scanner), for its timeline.
CREATE TABLE referral_events (
    id          TEXT      NOT NULL PRIMARY KEY CHECK (length(id) = 36),
    referral_id TEXT      NOT NULL REFERENCES referrals (id),
    state       TEXT      NOT NULL,
    at          TIMESTAMP NOT NULL,
    user_id     TEXT      REFERENCES users (id),
    organisation_id TEXT  REFERENCES organisations (id)
);
CREATE INDEX referral_events_referral_idx ON referral_events (referral_id, at);

-- Notifications a user chose not to receive (default: every kind is received).
CREATE TABLE notification_opt_outs (
    user_id TEXT NOT NULL REFERENCES users (id),
    kind    TEXT NOT NULL,
    PRIMARY KEY (user_id, kind)
);
