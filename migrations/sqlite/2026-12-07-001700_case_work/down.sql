DROP TABLE case_transfers;
DROP TABLE follow_ups;
DROP TABLE case_assignments;
ALTER TABLE organisations DROP COLUMN case_access;
