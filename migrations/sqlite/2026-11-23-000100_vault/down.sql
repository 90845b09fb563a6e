DROP TABLE vault_keys;
DROP TABLE blind_indexes;
DROP TABLE case_index_terms;
DROP TABLE case_field_groups;
DROP TABLE case_keys;
