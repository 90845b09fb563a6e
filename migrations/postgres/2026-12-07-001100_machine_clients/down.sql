ALTER TABLE audit_events DROP COLUMN actor_client_id;
DROP TABLE api_client_secrets;
DROP TABLE api_clients;
