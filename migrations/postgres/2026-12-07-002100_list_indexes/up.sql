-- The audit events list's filters, each an index in the list's own order (time, then id), so a
-- page is a range read whatever the size of the trail. (`user_id=` and `case_id=` read the
-- actor and resource indexes of 2026-11-23-000200_accounts.)
-- `organisation_id=`, and a supervisor's scope (the events of their organisation's people):
CREATE INDEX audit_events_actor_organisation_idx ON audit_events (actor_organisation_id, occurred_at, id);
-- `client_id=`, and the misuse recount of a machine client (audit::cases_read_by_client).
-- Partial: people's events, nearly all of them, add nothing to it and cost no write.
CREATE INDEX audit_events_actor_client_idx ON audit_events (actor_client_id, occurred_at, id) WHERE actor_client_id IS NOT NULL;
-- `action=`:
CREATE INDEX audit_events_action_idx ON audit_events (action, occurred_at, id);
