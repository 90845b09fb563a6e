ALTER TABLE referrals DROP COLUMN consent_form_id;
DROP TABLE document_uploads;
DROP TABLE document_orphans;
DROP TABLE document_chunks;
DROP TABLE document_versions;
DROP INDEX documents_case_idx;
DROP TABLE documents;
