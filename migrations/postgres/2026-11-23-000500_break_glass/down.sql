DROP TABLE break_glass_grants;
ALTER TABLE audit_events DROP COLUMN severity;
