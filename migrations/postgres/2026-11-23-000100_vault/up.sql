-- The vault: per-case data keys wrapped by the key-encryption key (KEK),
-- one ciphertext per personal field group, blind indexes for look-up without plaintext.
-- No column here ever holds personal data in clear.

-- One random data key per case, wrapped by a KEK version. Crypto-shredding keeps the row (so
-- the case is known to have been erased, and foreign keys hold) but replaces wrapped_key with
-- an empty value and sets shredded_at: the data key is gone, in every backup taken afterwards.
CREATE TABLE case_keys (
    case_id          TEXT      NOT NULL PRIMARY KEY CHECK (length(case_id) = 36),
    data_key_version INTEGER   NOT NULL CHECK (data_key_version > 0),
    kek_version      INTEGER   NOT NULL CHECK (kek_version > 0),
    wrapped_key      BYTEA     NOT NULL,
    created_at       TIMESTAMP NOT NULL,
    rotated_at       TIMESTAMP,
    shredded_at      TIMESTAMP,
    CHECK ((shredded_at IS NULL) = (length(wrapped_key) > 0))
);
-- Rotation walks the keys still under an older KEK version in case id order.
CREATE INDEX case_keys_kek_version_idx ON case_keys (kek_version, case_id);

-- One ciphertext per personal field group per case (the summary group is never here).
CREATE TABLE case_field_groups (
    case_id     TEXT      NOT NULL REFERENCES case_keys (case_id),
    field_group TEXT      NOT NULL,
    ciphertext  BYTEA     NOT NULL,
    updated_at  TIMESTAMP NOT NULL,
    PRIMARY KEY (case_id, field_group)
);

-- The values blind indexes are computed from (names, date of birth, document numbers),
-- encrypted under the case's data key, so that a blind-index key rotation can recompute them.
CREATE TABLE case_index_terms (
    case_id           TEXT      NOT NULL PRIMARY KEY REFERENCES case_keys (case_id),
    index_key_version INTEGER   NOT NULL CHECK (index_key_version > 0),
    ciphertext        BYTEA     NOT NULL,
    updated_at        TIMESTAMP NOT NULL
);
CREATE INDEX case_index_terms_version_idx ON case_index_terms (index_key_version, case_id);

-- Truncated HMACs of normalised values: a hit is a candidate, confirmed by decrypting.
CREATE TABLE blind_indexes (
    case_id           TEXT    NOT NULL REFERENCES case_keys (case_id),
    index_name        TEXT    NOT NULL,
    index_key_version INTEGER NOT NULL CHECK (index_key_version > 0),
    value             BYTEA   NOT NULL,
    PRIMARY KEY (case_id, index_name, index_key_version, value)
);
CREATE INDEX blind_indexes_lookup_idx ON blind_indexes (index_name, value);

-- Keys the vault keeps besides data keys (the blind-index root key, one row per version),
-- wrapped by the KEK like data keys. A retired version's wrapped key is emptied.
CREATE TABLE vault_keys (
    purpose     TEXT      NOT NULL,
    version     INTEGER   NOT NULL CHECK (version > 0),
    kek_version INTEGER   NOT NULL CHECK (kek_version > 0),
    wrapped_key BYTEA     NOT NULL,
    created_at  TIMESTAMP NOT NULL,
    retired_at  TIMESTAMP,
    PRIMARY KEY (purpose, version)
);
