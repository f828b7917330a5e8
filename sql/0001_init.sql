-- Pool core: instances, their provider resources, claims and settings.
-- Written for PostgreSQL 15 (production) and PGlite (embedded default).

CREATE TABLE instances (
  id              TEXT PRIMARY KEY,
  status          TEXT NOT NULL DEFAULT 'starting'
                  CHECK (status IN ('starting', 'idle', 'claiming', 'pending_acceptance', 'claimed', 'crashed', 'dead')),
  compute_kind    TEXT NOT NULL,
  compute_ref     JSONB NOT NULL DEFAULT '{}'::jsonb,
  url             TEXT,
  token_hash      TEXT NOT NULL,
  inbox_id        TEXT,
  agent_name      TEXT,
  instructions    TEXT,
  conversation_id TEXT,
  invite_url      TEXT,
  join_url        TEXT,
  claimed_by      TEXT,
  claimed_at      TIMESTAMPTZ,
  status_reason   TEXT,
  -- The pool process doing the current warm-up or claim (see pool/src/PoolProcess.ts).
  owner           TEXT,
  health_failures INTEGER NOT NULL DEFAULT 0,
  last_health_at  TIMESTAMPTZ,
  created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
  updated_at      TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- The claim's inner SELECT walks idle rows oldest first.
CREATE INDEX instances_idle_idx ON instances (created_at) WHERE status = 'idle';

CREATE INDEX instances_status_idx ON instances (status);

-- One live instance per joinUrl: a double-tapped "Launch" gets the first instance, never a second.
CREATE UNIQUE INDEX instances_live_join_url_idx ON instances (join_url)
  WHERE join_url IS NOT NULL AND status IN ('claiming', 'pending_acceptance', 'claimed');

CREATE TABLE instance_resources (
  id          BIGSERIAL PRIMARY KEY,
  instance_id TEXT NOT NULL,
  tool        TEXT NOT NULL,
  resource_id TEXT,
  env_keys    JSONB NOT NULL DEFAULT '[]'::jsonb,
  meta        JSONB NOT NULL DEFAULT '{}'::jsonb,
  status      TEXT NOT NULL DEFAULT 'creating' CHECK (status IN ('creating', 'active', 'releasing')),
  created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
  updated_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
  UNIQUE (instance_id, tool)
);

CREATE TABLE claims (
  idempotency_key TEXT PRIMARY KEY,
  request         JSONB NOT NULL,
  instance_id     TEXT,
  result          JSONB,
  error           JSONB,
  created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
  completed_at    TIMESTAMPTZ
);

CREATE TABLE pool_settings (
  id          BOOLEAN PRIMARY KEY DEFAULT true CHECK (id),
  target_idle INTEGER NOT NULL CHECK (target_idle >= 0),
  max_total   INTEGER NOT NULL CHECK (max_total >= 0),
  updated_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);
