-- The service directory: what each organisation offers, where (country,
-- region), for whom (adults, children, sex), and whether it has room now. One listing per
-- organisation and service; a listing holds no personal data and is readable by all staff.
-- SQLite cannot add a table constraint to an existing table: the checks sit on the columns.

ALTER TABLE organisation_services ADD COLUMN country TEXT NOT NULL DEFAULT 'UG'
    CHECK (length(country) = 2 AND country = upper(country));
ALTER TABLE organisation_services ADD COLUMN region TEXT NOT NULL DEFAULT '';
ALTER TABLE organisation_services ADD COLUMN serves_adults BOOLEAN NOT NULL DEFAULT 1
    CHECK (serves_adults IN (0, 1));
ALTER TABLE organisation_services ADD COLUMN serves_children BOOLEAN NOT NULL DEFAULT 0
    CHECK (serves_children IN (0, 1));
ALTER TABLE organisation_services ADD COLUMN serves_sex TEXT NOT NULL DEFAULT 'any';
ALTER TABLE organisation_services ADD COLUMN capacity TEXT NOT NULL DEFAULT 'available';
ALTER TABLE organisation_services ADD COLUMN updated_at TIMESTAMP NOT NULL
    DEFAULT '1970-01-01 00:00:00';

-- Listings registered before the directory take their organisation's place and time.
UPDATE organisation_services SET
    country = (SELECT o.country FROM organisations o WHERE o.id = organisation_id),
    region = (SELECT o.region FROM organisations o WHERE o.id = organisation_id),
    updated_at = (SELECT o.updated_at FROM organisations o WHERE o.id = organisation_id);

CREATE INDEX organisation_services_search_idx ON organisation_services (country, service);
