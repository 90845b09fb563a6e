-- The web console: the language each person chose for it (a BCP 47 code the console speaks;
-- NULL until they choose, when the browser's language is used).
ALTER TABLE users ADD COLUMN language TEXT
    CHECK (language IS NULL OR language IN ('en', 'sw', 'fr', 'ar'));
