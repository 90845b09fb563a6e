-- The history of a case's personal field groups (rectification, Uganda DPPA 2019 s.16,
-- GDPR art. 16): one row per version of a group. The current version's value stays in
-- `case_field_groups` (its row here has no ciphertext); an earlier version's value is here,
-- encrypted under the same case data key and bound to this table, its group and
-- `case_id/version`, so a ciphertext moved to another row or table fails to decrypt.
-- Crypto-shredding deletes these rows with the case's other ciphertexts.
CREATE TABLE case_group_versions (
    case_id                    TEXT      NOT NULL REFERENCES case_keys (case_id),
    field_group                TEXT      NOT NULL,
    version                    INTEGER   NOT NULL CHECK (version > 0),
    -- NULL for the current version.
    ciphertext                 BLOB,
    -- Who wrote this version, with their role and organisation then (as the audit trail
    -- records them); NULL for versions written before history was kept.
    changed_by                 TEXT      REFERENCES users (id),
    changed_by_role            TEXT,
    changed_by_organisation_id TEXT      REFERENCES organisations (id),
    changed_at                 TIMESTAMP NOT NULL,
    -- A rectification reason (correction, completion, person_request, update), if one was given.
    reason                     TEXT,
    PRIMARY KEY (case_id, field_group, version)
);

-- The groups written before history was kept are their version 1, by nobody known.
INSERT INTO case_group_versions (case_id, field_group, version, changed_at)
    SELECT case_id, field_group, 1, updated_at FROM case_field_groups;
