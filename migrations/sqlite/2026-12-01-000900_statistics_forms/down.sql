ALTER TABLE anonymous_notifications DROP COLUMN exploitation_forms;
ALTER TABLE cases DROP COLUMN exploitation_forms;
