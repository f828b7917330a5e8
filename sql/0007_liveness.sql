-- Liveness under faults (issue 14). Written for PostgreSQL 15 and PGlite.

-- A pool process declared dead: its liveness lock was free for longer than the re-take grace, and the process that
-- found it so took that lock and wrote this row before recovering its work. A process that comes back (its session
-- had only dropped) reads this row when it re-takes its lock and goes on under a new identity, never as the owner
-- of work that was already recovered.
CREATE TABLE pool_process_ends (
  id        TEXT PRIMARY KEY,
  ended_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- The pool process running the first claim of an Idempotency-Key: a retry whose owner is dead (a crash left the row
-- without a result) frees the key instead of waiting for an answer that never comes.
ALTER TABLE claims ADD COLUMN owner TEXT;
