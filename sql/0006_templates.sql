-- The template catalog (issue 16): ready-made agents for the web page, the API and the manager's "templates" reply.
-- Rows are seeded from pool/src/web/catalog.json at start (missing slugs only, so an operator's edits are kept);
-- admins create, update and unpublish them over the API. Written for PostgreSQL 15 and PGlite.

CREATE TABLE templates (
  slug          TEXT PRIMARY KEY CHECK (slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$' AND length(slug) <= 60),
  name          TEXT NOT NULL,
  emoji         TEXT NOT NULL,
  category      TEXT NOT NULL,
  description   TEXT NOT NULL,
  instructions  TEXT NOT NULL,
  -- Tools the agent uses: web, memory, reminders, email, sms.
  skills        JSONB NOT NULL DEFAULT '[]'::jsonb,
  published     BOOLEAN NOT NULL DEFAULT true,
  featured      BOOLEAN NOT NULL DEFAULT false,
  -- Catalog order within featured / not featured (the data file's order for seeded rows).
  rank          INTEGER NOT NULL DEFAULT 1000,
  created_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
  updated_at    TIMESTAMPTZ NOT NULL DEFAULT now()
);
