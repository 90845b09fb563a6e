DROP TABLE case_group_versions;
