DROP TABLE audit_checkpoints;
DROP TABLE audit_chain;
DROP FUNCTION audit_seal_refuse_change();
DROP INDEX audit_events_time_idx;
