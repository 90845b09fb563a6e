-- Daily case work: need-to-know inside an organisation, assignment of staff to cases,
-- follow-ups with reminders, and transfer of a case between organisations.

-- Who inside an organisation reads the personal groups of its cases: only the staff assigned to
-- a case and the organisation's supervisors (`need_to_know`, the default for organisations
-- registered from now on), or every case worker and supervisor (`all_staff`, the behaviour
-- before this migration, kept for the organisations that exist when it runs).
ALTER TABLE organisations ADD COLUMN case_access TEXT NOT NULL DEFAULT 'need_to_know'
    CHECK (case_access IN ('need_to_know', 'all_staff'));
UPDATE organisations SET case_access = 'all_staff';

-- The staff assigned to a case, per organisation (the owner's, and a referral holder's for
-- what the referral shares): at most one lead per organisation.
CREATE TABLE case_assignments (
    case_id         TEXT      NOT NULL REFERENCES cases (id),
    user_id         TEXT      NOT NULL REFERENCES users (id),
    organisation_id TEXT      NOT NULL REFERENCES organisations (id),
    lead            BOOLEAN   NOT NULL DEFAULT FALSE,
    -- NULL when the system assigned (the registering worker, the one who accepted a referral).
    assigned_by     TEXT      REFERENCES users (id),
    assigned_at     TIMESTAMP NOT NULL,
    PRIMARY KEY (case_id, user_id)
);
CREATE UNIQUE INDEX case_assignments_one_lead ON case_assignments (case_id, organisation_id)
    WHERE lead;
CREATE INDEX case_assignments_user_idx ON case_assignments (user_id);

-- The case workers already working on a case keep it: its registrant becomes its lead.
INSERT INTO case_assignments (case_id, user_id, organisation_id, lead, assigned_by, assigned_at)
    SELECT c.id, c.created_by, c.owner_organisation_id, TRUE, NULL, c.created_at
    FROM cases c JOIN users u ON u.id = c.created_by
    WHERE u.organisation_id = c.owner_organisation_id AND u.role IN ('case_worker', 'supervisor');

-- A follow-up scheduled on a case: a visit, a call, a court date, an appointment, a review.
-- Its note is sealed under the case's data key (notes group); the reminder e-mail carries the
-- case reference and a link only.
CREATE TABLE follow_ups (
    id              TEXT      NOT NULL PRIMARY KEY CHECK (length(id) = 36),
    case_id         TEXT      NOT NULL REFERENCES cases (id),
    organisation_id TEXT      NOT NULL REFERENCES organisations (id),
    assigned_to     TEXT      NOT NULL REFERENCES users (id),
    created_by      TEXT      NOT NULL REFERENCES users (id),
    created_at      TIMESTAMP NOT NULL,
    due_on          DATE      NOT NULL,
    -- visit, call, court_date, medical_appointment, review
    kind            TEXT      NOT NULL,
    note            BYTEA,
    -- scheduled, done, cancelled
    status          TEXT      NOT NULL DEFAULT 'scheduled',
    closed_at       TIMESTAMP,
    closed_by       TEXT      REFERENCES users (id),
    -- When the reminder is due (NULL: none asked for), and when it went out (once).
    remind_at       TIMESTAMP,
    reminded_at     TIMESTAMP,
    version         INTEGER   NOT NULL DEFAULT 1
);
CREATE INDEX follow_ups_case_idx ON follow_ups (case_id);
CREATE INDEX follow_ups_assignee_idx ON follow_ups (assigned_to, status);
CREATE INDEX follow_ups_remind_idx ON follow_ups (remind_at) WHERE reminded_at IS NULL;

-- A transfer of a case to another organisation (another shelter, or reintegration in the
-- person's home country): distinct from a referral for a service, it moves ownership.
CREATE TABLE case_transfers (
    id                   TEXT      NOT NULL PRIMARY KEY CHECK (length(id) = 36),
    case_id              TEXT      NOT NULL REFERENCES cases (id),
    from_organisation_id TEXT      NOT NULL REFERENCES organisations (id),
    to_organisation_id   TEXT      NOT NULL REFERENCES organisations (id),
    -- person_moved, return_home, specialised_care, capacity, other
    reason               TEXT      NOT NULL,
    -- The field groups the new owner receives (comma-separated codes).
    groups               TEXT      NOT NULL,
    -- What the sender keeps once accepted: summary or nothing.
    sender_keeps         TEXT      NOT NULL,
    -- The consent version the transfer rests on.
    consent_version      INTEGER,
    -- requested, accepted, declined, withdrawn
    state                TEXT      NOT NULL,
    requested_by         TEXT      NOT NULL REFERENCES users (id),
    requested_at         TIMESTAMP NOT NULL,
    respond_by           TIMESTAMP NOT NULL,
    decided_by           TEXT      REFERENCES users (id),
    decided_at           TIMESTAMP,
    -- no_capacity, not_our_service, person_not_here, other
    decline_reason       TEXT,
    -- The sender's note to the receiver, sealed under the case's data key.
    note                 BYTEA,
    version              INTEGER   NOT NULL DEFAULT 1,
    CHECK (from_organisation_id <> to_organisation_id)
);
CREATE UNIQUE INDEX case_transfers_one_open ON case_transfers (case_id) WHERE state = 'requested';
CREATE INDEX case_transfers_case_idx ON case_transfers (case_id, requested_at);
CREATE INDEX case_transfers_to_idx ON case_transfers (to_organisation_id, state);
CREATE INDEX case_transfers_from_idx ON case_transfers (from_organisation_id, state);
