DROP INDEX organisation_services_search_idx;
ALTER TABLE organisation_services DROP COLUMN updated_at;
ALTER TABLE organisation_services DROP COLUMN capacity;
ALTER TABLE organisation_services DROP COLUMN serves_sex;
ALTER TABLE organisation_services DROP COLUMN serves_children;
ALTER TABLE organisation_services DROP COLUMN serves_adults;
ALTER TABLE organisation_services DROP COLUMN region;
ALTER TABLE organisation_services DROP COLUMN country;
