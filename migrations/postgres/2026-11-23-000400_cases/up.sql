-- Cases, consent and the NRM workflow. Summary columns are coarse
-- plaintext (statistics read them); everything personal is a ciphertext from the vault, bound
-- to its table, column and row. Multi-valued summary fields (forms of exploitation, means of
-- control) are rows of their own so statistics can group by them in SQL.

CREATE TABLE cases (
    id                            TEXT      NOT NULL PRIMARY KEY CHECK (length(id) = 36),
    reference                     TEXT      NOT NULL UNIQUE,
    owner_organisation_id         TEXT      NOT NULL REFERENCES organisations (id),
    created_by                    TEXT      NOT NULL REFERENCES users (id),
    created_at                    TIMESTAMP NOT NULL,
    updated_at                    TIMESTAMP NOT NULL,
    version                       INTEGER   NOT NULL CHECK (version > 0),
    sex                           TEXT      NOT NULL,
    age_band                      TEXT      NOT NULL,
    may_be_child                  BOOLEAN   NOT NULL,
    is_child                      BOOLEAN   NOT NULL,
    citizenship                   TEXT      CHECK (citizenship IS NULL OR length(citizenship) = 2),
    recruitment_country           TEXT      CHECK (recruitment_country IS NULL OR length(recruitment_country) = 2),
    exploitation_country          TEXT      CHECK (exploitation_country IS NULL OR length(exploitation_country) = 2),
    region                        TEXT      NOT NULL,
    encountered_on                DATE      NOT NULL,
    identification_stage          TEXT      NOT NULL,
    referred_into_nrm_at          TIMESTAMP,
    reasonable_grounds_due_at     TIMESTAMP,
    reasonable_grounds_decided_at TIMESTAMP,
    recovery_period_ends_at       TIMESTAMP,
    conclusive_grounds_decided_at TIMESTAMP,
    reasonable_grounds_overdue_at TIMESTAMP,
    conclusive_grounds_overdue_at TIMESTAMP,
    status                        TEXT      NOT NULL,
    closure_reason                TEXT,
    closure_requested_at          TIMESTAMP,
    closure_requested_by          TEXT      REFERENCES users (id),
    closed_at                     TIMESTAMP,
    closure_approved_by           TEXT      REFERENCES users (id),
    child_protection_notified_at  TIMESTAMP
);
CREATE INDEX cases_owner_idx ON cases (owner_organisation_id, id);
CREATE INDEX cases_created_by_idx ON cases (created_by, id);
CREATE INDEX cases_stage_idx ON cases (identification_stage, id);
CREATE INDEX cases_rg_due_idx ON cases (reasonable_grounds_due_at);
CREATE INDEX cases_cg_due_idx ON cases (recovery_period_ends_at);

CREATE TABLE case_exploitation_types (
    case_id           TEXT NOT NULL REFERENCES cases (id),
    exploitation_type TEXT NOT NULL,
    PRIMARY KEY (case_id, exploitation_type)
);
CREATE INDEX case_exploitation_types_type_idx ON case_exploitation_types (exploitation_type);

CREATE TABLE case_means_of_control (
    case_id          TEXT NOT NULL REFERENCES cases (id),
    means_of_control TEXT NOT NULL,
    PRIMARY KEY (case_id, means_of_control)
);

-- Consent is append-only: each record is a new version; a withdrawal is a version of its own
-- that grants nothing. The newest version is the case's current consent.
CREATE TABLE consents (
    id           TEXT      NOT NULL PRIMARY KEY CHECK (length(id) = 36),
    case_id      TEXT      NOT NULL REFERENCES cases (id),
    version      INTEGER   NOT NULL CHECK (version > 0),
    kind         TEXT      NOT NULL CHECK (kind IN ('grant', 'withdrawal')),
    given_by     TEXT      NOT NULL,
    method       TEXT      NOT NULL,
    purposes     TEXT      NOT NULL,
    field_groups TEXT      NOT NULL,
    recipients   TEXT      NOT NULL,
    given_at     TIMESTAMP NOT NULL,
    valid_until  TIMESTAMP,
    recorded_by  TEXT      NOT NULL REFERENCES users (id),
    recorded_at  TIMESTAMP NOT NULL,
    details      BYTEA,
    UNIQUE (case_id, version)
);

CREATE TABLE screenings (
    id                TEXT      NOT NULL PRIMARY KEY CHECK (length(id) = 36),
    case_id           TEXT      NOT NULL REFERENCES cases (id),
    indicator_list    TEXT      NOT NULL,
    strong            INTEGER   NOT NULL,
    medium            INTEGER   NOT NULL,
    weak              INTEGER   NOT NULL,
    dimensions_met    TEXT      NOT NULL,
    computed_presumed BOOLEAN   NOT NULL,
    overridden        BOOLEAN   NOT NULL,
    presumed          BOOLEAN   NOT NULL,
    screened_by       TEXT      NOT NULL REFERENCES users (id),
    screened_at       TIMESTAMP NOT NULL,
    answers           BYTEA     NOT NULL
);
CREATE INDEX screenings_case_idx ON screenings (case_id, screened_at);

CREATE TABLE identification_decisions (
    id                      TEXT      NOT NULL PRIMARY KEY CHECK (length(id) = 36),
    case_id                 TEXT      NOT NULL REFERENCES cases (id),
    decision                TEXT      NOT NULL,
    decided_by              TEXT      NOT NULL REFERENCES users (id),
    decided_by_organisation TEXT      NOT NULL REFERENCES organisations (id),
    decided_at              TIMESTAMP NOT NULL,
    reasons                 BYTEA     NOT NULL
);
CREATE INDEX identification_decisions_case_idx ON identification_decisions (case_id, decided_at);

CREATE TABLE assistance_records (
    id                       TEXT      NOT NULL PRIMARY KEY CHECK (length(id) = 36),
    case_id                  TEXT      NOT NULL REFERENCES cases (id),
    service_type             TEXT      NOT NULL,
    provider_organisation_id TEXT      NOT NULL REFERENCES organisations (id),
    status                   TEXT      NOT NULL,
    provided_on              DATE      NOT NULL,
    recorded_by              TEXT      NOT NULL REFERENCES users (id),
    recorded_at              TIMESTAMP NOT NULL,
    details                  BYTEA
);
CREATE INDEX assistance_records_case_idx ON assistance_records (case_id, provided_on);

CREATE TABLE case_notes (
    id         TEXT      NOT NULL PRIMARY KEY CHECK (length(id) = 36),
    case_id    TEXT      NOT NULL REFERENCES cases (id),
    written_by TEXT      NOT NULL REFERENCES users (id),
    written_at TIMESTAMP NOT NULL,
    body       BYTEA     NOT NULL
);
CREATE INDEX case_notes_case_idx ON case_notes (case_id, written_at);

CREATE TABLE risk_assessments (
    id          TEXT      NOT NULL PRIMARY KEY CHECK (length(id) = 36),
    case_id     TEXT      NOT NULL REFERENCES cases (id),
    individual  TEXT      NOT NULL,
    household   TEXT      NOT NULL,
    community   TEXT      NOT NULL,
    review_on   DATE      NOT NULL,
    assessed_by TEXT      NOT NULL REFERENCES users (id),
    assessed_at TIMESTAMP NOT NULL,
    details     BYTEA
);
CREATE INDEX risk_assessments_case_idx ON risk_assessments (case_id, assessed_at);

-- One individual assistance plan per case, replaced as a whole (If-Match on its version).
CREATE TABLE assistance_plans (
    case_id    TEXT      NOT NULL PRIMARY KEY REFERENCES cases (id),
    version    INTEGER   NOT NULL CHECK (version > 0),
    review_on  DATE      NOT NULL,
    updated_by TEXT      NOT NULL REFERENCES users (id),
    updated_at TIMESTAMP NOT NULL,
    content    BYTEA     NOT NULL
);

-- Possible duplicates found through the blind indexes at registration; never merged silently.
CREATE TABLE case_duplicates (
    case_id       TEXT      NOT NULL REFERENCES cases (id),
    other_case_id TEXT      NOT NULL REFERENCES cases (id),
    status        TEXT      NOT NULL,
    found_at      TIMESTAMP NOT NULL,
    resolved_by   TEXT      REFERENCES users (id),
    resolved_at   TIMESTAMP,
    PRIMARY KEY (case_id, other_case_id),
    CHECK (case_id <> other_case_id)
);
CREATE INDEX case_duplicates_other_idx ON case_duplicates (other_case_id);

-- An adult who does not consent to entering the NRM: coarse facts and the reporting
-- organisation only. No person, no personal group, no key.
CREATE TABLE anonymous_notifications (
    id                      TEXT      NOT NULL PRIMARY KEY CHECK (length(id) = 36),
    reference               TEXT      NOT NULL UNIQUE,
    organisation_id         TEXT      NOT NULL REFERENCES organisations (id),
    reported_by             TEXT      NOT NULL REFERENCES users (id),
    reported_at             TIMESTAMP NOT NULL,
    sex                     TEXT      NOT NULL,
    age_band                TEXT      NOT NULL,
    citizenship             TEXT      CHECK (citizenship IS NULL OR length(citizenship) = 2),
    exploitation_country    TEXT      CHECK (exploitation_country IS NULL OR length(exploitation_country) = 2),
    region                  TEXT      NOT NULL,
    encountered_on          DATE      NOT NULL
);
CREATE INDEX anonymous_notifications_org_idx ON anonymous_notifications (organisation_id, id);

CREATE TABLE anonymous_notification_exploitation_types (
    notification_id   TEXT NOT NULL REFERENCES anonymous_notifications (id),
    exploitation_type TEXT NOT NULL,
    PRIMARY KEY (notification_id, exploitation_type)
);

-- Responses to POSTs carrying an Idempotency-Key, so a retry (from a border post on a poor
-- connection, or after a server restart) returns the first answer instead of acting twice.
-- Responses stored here never hold personal data (POST answers carry ids and summaries).
CREATE TABLE idempotency_keys (
    user_id         TEXT      NOT NULL REFERENCES users (id),
    idempotency_key TEXT      NOT NULL,
    request_hash    BYTEA     NOT NULL,
    status_code     INTEGER   NOT NULL,
    location        TEXT,
    etag            TEXT,
    body            TEXT      NOT NULL,
    created_at      TIMESTAMP NOT NULL,
    PRIMARY KEY (user_id, idempotency_key)
);
CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at);
