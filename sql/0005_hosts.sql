-- Hosts and slots (issue 12): a host is one supervisor + one OpenClaw gateway holding up to `capacity` agent slots;
-- an instance is one slot on one host (the instance id is the slot id). Written for PostgreSQL 15 and PGlite.

CREATE TABLE hosts (
  -- Time-ordered ids (see pool/src/domain/placement.ts: newHostId), so "oldest host first" is an index order.
  id               TEXT PRIMARY KEY,
  -- starting: compute being created / not answered yet; ready: gateway up; down: unreachable, restarting or
  -- failed (its slots stay, none is handed out); retiring: empty and being destroyed (the intent row).
  status           TEXT NOT NULL DEFAULT 'starting' CHECK (status IN ('starting', 'ready', 'down', 'retiring')),
  -- Draining: gets no new slots; its idle slots go, claimed ones stay until removed; destroyed once empty.
  draining         BOOLEAN NOT NULL DEFAULT false,
  compute_kind     TEXT NOT NULL,
  compute_ref      JSONB NOT NULL DEFAULT '{}'::jsonb,
  url              TEXT,
  token_hash       TEXT NOT NULL,
  capacity         INTEGER NOT NULL CHECK (capacity BETWEEN 1 AND 32),
  version          TEXT,
  health_failures  INTEGER NOT NULL DEFAULT 0,
  last_health_at   TIMESTAMPTZ,
  -- Measured readiness (moving averages), for the ETA a waiting claim reports: host start, and slot warm-up.
  start_ms         INTEGER,
  slot_ready_ms    INTEGER,
  -- The pool process creating the host's compute (see PoolProcess).
  owner            TEXT,
  created_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
  updated_at       TIMESTAMPTZ NOT NULL DEFAULT now()
);

ALTER TABLE instances ADD COLUMN host_id TEXT;
-- The pool process whose waiting claim this slot is being warmed for: only that claim takes it
-- (see Instances.claimReserved); freed when that process is gone.
ALTER TABLE instances ADD COLUMN reserved_by TEXT;

CREATE INDEX instances_host_idx ON instances (host_id);

-- The claim walks idle, unreserved slots oldest host first (packing), then oldest slot.
DROP INDEX instances_idle_idx;
CREATE INDEX instances_idle_idx ON instances (host_id, created_at) WHERE status = 'idle' AND reserved_by IS NULL;

-- The reconciler frees reservations of dead pool processes: only the few reserved rows are read.
CREATE INDEX instances_reserved_idx ON instances (reserved_by) WHERE reserved_by IS NOT NULL;
