-- Manager agent: which agent it spawned into which conversation, for whom, and which conversations it has
-- introduced itself to. A manager restart reloads everything from here.

CREATE TABLE manager_agents (
  instance_id     TEXT PRIMARY KEY,
  conversation_id TEXT NOT NULL,
  agent_name      TEXT NOT NULL,
  inbox_id        TEXT NOT NULL,
  -- Inbox id of the member who asked for the agent: the only member (besides admins) who may change it.
  spawned_by      TEXT NOT NULL,
  instructions    TEXT NOT NULL,
  spawned_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
  removed_at      TIMESTAMPTZ
);

-- "who's here": live agents of one conversation.
CREATE INDEX manager_agents_live_idx ON manager_agents (conversation_id) WHERE removed_at IS NULL;

-- Spawns per sender per hour (removed agents still count).
CREATE INDEX manager_agents_sender_idx ON manager_agents (spawned_by, spawned_at);

-- Loop guard: is this sender an agent the manager spawned (live or not)?
CREATE INDEX manager_agents_inbox_idx ON manager_agents (lower(inbox_id));

CREATE TABLE manager_conversations (
  conversation_id TEXT PRIMARY KEY,
  introduced_at   TIMESTAMPTZ NOT NULL DEFAULT now()
);
