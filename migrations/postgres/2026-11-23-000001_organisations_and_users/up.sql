-- Organisations and the people who sign in for them. Ids are UUID v7 text made by the
-- application; times are UTC `timestamp` (the session time zone is pinned to UTC), truncated to
-- microseconds; vocabularies are text codes.

CREATE TABLE organisations (
    id          TEXT      NOT NULL PRIMARY KEY CHECK (length(id) = 36),
    name        TEXT      NOT NULL CHECK (length(trim(name)) > 0),
    kind        TEXT      NOT NULL,
    country     TEXT      NOT NULL CHECK (length(country) = 2 AND country = upper(country)),
    region      TEXT      NOT NULL,
    active      BOOLEAN   NOT NULL DEFAULT TRUE,
    created_at  TIMESTAMP NOT NULL,
    updated_at  TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX organisations_country_name_key ON organisations (country, lower(name));

CREATE TABLE organisation_services (
    organisation_id TEXT NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    service         TEXT NOT NULL,
    PRIMARY KEY (organisation_id, service)
);
CREATE INDEX organisation_services_service_idx ON organisation_services (service);

CREATE TABLE users (
    id                   TEXT      NOT NULL PRIMARY KEY CHECK (length(id) = 36),
    organisation_id      TEXT      NOT NULL REFERENCES organisations (id),
    role                 TEXT      NOT NULL,
    email                TEXT      NOT NULL UNIQUE CHECK (email = lower(email)),
    display_name         TEXT      NOT NULL,
    status               TEXT      NOT NULL,
    password_hash        TEXT,
    password_must_change BOOLEAN   NOT NULL DEFAULT FALSE,
    created_at           TIMESTAMP NOT NULL,
    updated_at           TIMESTAMP NOT NULL
);
CREATE INDEX users_organisation_idx ON users (organisation_id);
