-- Statistics count a person once per form of exploitation. Joining the forms' table to a
-- million cases cost most of a national table's time; each case (and anonymous notification)
-- now also keeps its forms as one sorted, comma-separated list of codes, written with the
-- forms' rows by the same statement sequence, so a table is one scan of one relation. The
-- rows stay the source for everything else.
ALTER TABLE cases ADD COLUMN exploitation_forms TEXT NOT NULL DEFAULT '';
ALTER TABLE anonymous_notifications ADD COLUMN exploitation_forms TEXT NOT NULL DEFAULT '';

UPDATE cases SET exploitation_forms = COALESCE(
    (SELECT group_concat(exploitation_type, ',' ORDER BY exploitation_type)
     FROM case_exploitation_types t WHERE t.case_id = cases.id), '');

UPDATE anonymous_notifications SET exploitation_forms = COALESCE(
    (SELECT group_concat(exploitation_type, ',' ORDER BY exploitation_type)
     FROM anonymous_notification_exploitation_types t WHERE t.notification_id = anonymous_notifications.id), '');
