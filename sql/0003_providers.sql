-- Provider resources that outlive an instance: Telnyx phone numbers are bought once and reused.
-- A number is either available, or assigned to exactly one instance (and an instance holds at most one number).
-- Written for PostgreSQL 15 (production) and PGlite.

CREATE TABLE phone_number_pool (
  phone_number         TEXT PRIMARY KEY CHECK (phone_number ~ '^\+[1-9][0-9]{6,14}$'),
  messaging_profile_id TEXT NOT NULL,
  status               TEXT NOT NULL DEFAULT 'available' CHECK (status IN ('available', 'assigned')),
  instance_id          TEXT,
  created_at           TIMESTAMPTZ NOT NULL DEFAULT now(),
  updated_at           TIMESTAMPTZ NOT NULL DEFAULT now(),
  CHECK ((status = 'assigned') = (instance_id IS NOT NULL))
);

-- The claim walks available numbers, least recently released first.
CREATE INDEX phone_number_pool_available_idx ON phone_number_pool (updated_at) WHERE status = 'available';

CREATE UNIQUE INDEX phone_number_pool_instance_idx ON phone_number_pool (instance_id) WHERE instance_id IS NOT NULL;
