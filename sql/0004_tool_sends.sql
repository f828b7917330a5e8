-- Emails and texts instances sent through the pool's tool routes, for the per-instance hourly quota. In the database
-- (not in a pool process's memory) so every pool process, and a restarted one, counts the same sends.
-- Rows older than the quota window are deleted as sends arrive, and with their instance.
-- Written for PostgreSQL 15 (production) and PGlite.

CREATE TABLE tool_sends (
  id          BIGSERIAL PRIMARY KEY,
  instance_id TEXT NOT NULL,
  kind        TEXT NOT NULL CHECK (kind IN ('email', 'sms')),
  sent_at     TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE INDEX tool_sends_instance_idx ON tool_sends (instance_id, kind, sent_at);
