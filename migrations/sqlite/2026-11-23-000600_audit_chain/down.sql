DROP TABLE audit_checkpoints;
DROP TABLE audit_chain;
DROP INDEX audit_events_time_idx;
