-- Statistics count a person once per form of exploitation. Joining the forms' table to a
-- million cases cost most of a national table's time; each case (and anonymous notification)
-- now also keeps its forms as one sorted, comma-separated list of codes, written with the
-- forms' rows by the same statement sequence, so a table is one scan of one relation. The
-- rows stay the source for everything else.
ALTER TABLE cases ADD COLUMN exploitation_forms TEXT NOT NULL DEFAULT '';
ALTER TABLE anonymous_notifications ADD COLUMN exploitation_forms TEXT NOT NULL DEFAULT '';

UPDATE cases c SET exploitation_forms = f.forms
FROM (SELECT case_id, string_agg(exploitation_type, ',' ORDER BY exploitation_type) AS forms
      FROM case_exploitation_types GROUP BY case_id) f
WHERE f.case_id = c.id;

UPDATE anonymous_notifications a SET exploitation_forms = f.forms
FROM (SELECT notification_id, string_agg(exploitation_type, ',' ORDER BY exploitation_type) AS forms
      FROM anonymous_notification_exploitation_types GROUP BY notification_id) f
WHERE f.notification_id = a.id;
