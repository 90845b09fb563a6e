ALTER TABLE audit_chain DROP COLUMN mac;
ALTER TABLE audit_chain DROP COLUMN checkpoint_sequence;
DROP INDEX audit_checkpoints_sequence_idx;
ALTER TABLE audit_checkpoints DROP COLUMN previous_hash;
ALTER TABLE audit_checkpoints DROP COLUMN sequence;
ALTER TABLE audit_events DROP COLUMN mac;
