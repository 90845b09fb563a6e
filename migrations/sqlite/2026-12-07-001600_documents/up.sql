-- Documents of a case: signed consent forms, identity papers, medical and legal records, photos.
--
-- A document belongs to a case and to one personal field group, which decides who may read it
-- exactly as it decides the group's fields. Its content is encrypted under the case's data key in
-- fixed-size chunks (each bound to its version, its index and whether it is the last), so that
-- crypto-shredding the case makes every document unreadable. Its file name, media type and caption
-- are encrypted too (`sealed_meta`); nothing here names the person or the file.
CREATE TABLE documents (
    id            TEXT      NOT NULL PRIMARY KEY CHECK (length(id) = 36),
    case_id       TEXT      NOT NULL REFERENCES cases (id),
    -- identity, contact, exploitation, health, legal or notes
    field_group   TEXT      NOT NULL,
    -- consent_form, identity_document, medical_report, police_statement, court_document, ...
    kind          TEXT      NOT NULL,
    -- A consent form belongs to the consent version it records.
    consent_id    TEXT      REFERENCES consents (id),
    -- The version a download gets unless it names another.
    current_version INTEGER NOT NULL CHECK (current_version > 0),
    created_by    TEXT      NOT NULL REFERENCES users (id),
    created_at    TIMESTAMP NOT NULL,
    updated_at    TIMESTAMP NOT NULL,
    -- Deleted documents are hidden at once and their content erased by retention.
    deleted_at    TIMESTAMP,
    deleted_by    TEXT      REFERENCES users (id),
    CHECK (kind <> 'consent_form' OR consent_id IS NOT NULL)
);
CREATE INDEX documents_case_idx ON documents (case_id, created_at);
-- Retention looks for documents deleted long enough ago.
CREATE INDEX documents_deleted_idx ON documents (deleted_at) WHERE deleted_at IS NOT NULL;

-- Each version of a document's content (a replacement adds one; earlier ones are kept).
CREATE TABLE document_versions (
    id           TEXT      NOT NULL PRIMARY KEY CHECK (length(id) = 36),
    document_id  TEXT      NOT NULL REFERENCES documents (id),
    version      INTEGER   NOT NULL CHECK (version > 0),
    -- database or object_store: where the chunks are.
    storage      TEXT      NOT NULL,
    -- The case data key version and the random nonce prefix of the chunks' STREAM construction.
    key_version  INTEGER   NOT NULL,
    nonce_prefix BLOB      NOT NULL,
    chunk_size   INTEGER   NOT NULL CHECK (chunk_size > 0),
    chunk_count  INTEGER   NOT NULL CHECK (chunk_count > 0),
    -- The plaintext's size in bytes (after metadata was stripped), for limits and downloads.
    byte_size    BIGINT    NOT NULL CHECK (byte_size >= 0),
    -- File name, media type, caption, size and chunk count, encrypted and bound to this row.
    sealed_meta  BLOB      NOT NULL,
    created_by   TEXT      NOT NULL REFERENCES users (id),
    created_at   TIMESTAMP NOT NULL,
    UNIQUE (document_id, version)
);

-- The encrypted chunks of versions stored in the database (the default). No foreign key: an
-- upload writes its chunks before its version row exists (see `document_orphans`).
CREATE TABLE document_chunks (
    version_id  TEXT      NOT NULL,
    idx         INTEGER   NOT NULL CHECK (idx >= 0),
    sealed      BLOB      NOT NULL,
    PRIMARY KEY (version_id, idx)
);

-- Content to be removed from storage: an upload under way (removed unless it completes), or the
-- content of an erased case or a deleted document in an object store (removed by housekeeping).
CREATE TABLE document_orphans (
    version_id  TEXT      NOT NULL PRIMARY KEY CHECK (length(version_id) = 36),
    storage     TEXT      NOT NULL,
    -- upload or discarded
    reason      TEXT      NOT NULL,
    since       TIMESTAMP NOT NULL
);
CREATE INDEX document_orphans_due_idx ON document_orphans (reason, since);

-- Resumable uploads (the tus protocol) for poor connections: the bytes received so far are
-- staged as sealed pieces (in `document_chunks` or the object store, under the session's id)
-- until the last one arrives; then they go through the same checks and encryption as any upload.
CREATE TABLE document_uploads (
    id            TEXT      NOT NULL PRIMARY KEY CHECK (length(id) = 36),
    case_id       TEXT      NOT NULL REFERENCES cases (id),
    created_by    TEXT      NOT NULL REFERENCES users (id),
    -- A new version of this document, or (NULL) a new document of `kind` in `field_group`.
    document_id   TEXT      REFERENCES documents (id),
    kind          TEXT,
    field_group   TEXT      NOT NULL,
    consent_id    TEXT      REFERENCES consents (id),
    -- The declared media type (a vocabulary code, not personal).
    declared      TEXT      NOT NULL,
    -- File name and caption, sealed under the case's data key and bound to this row.
    sealed_names  BLOB      NOT NULL,
    key_version   INTEGER   NOT NULL,
    nonce_prefix  BLOB      NOT NULL,
    length        BIGINT    NOT NULL CHECK (length > 0),
    received      BIGINT    NOT NULL CHECK (received >= 0 AND received <= length),
    pieces        INTEGER   NOT NULL CHECK (pieces >= 0),
    created_at    TIMESTAMP NOT NULL,
    updated_at    TIMESTAMP NOT NULL
);

-- A referral may carry the consent form that records the person's agreement to it (checked by
-- the server: SQLite cannot drop a column that holds a foreign key, so a down migration could
-- not remove it).
ALTER TABLE referrals ADD COLUMN consent_form_id TEXT;
CREATE INDEX referrals_consent_form_idx ON referrals (consent_form_id) WHERE consent_form_id IS NOT NULL;
