/**
 * Who spawned which agent into which conversation, in Postgres (`sql/0002_manager.sql`), so a manager restart
 * loses nothing. An agent's instructions are the pool's alone (its instances row and the instance's config).
 */
import { Context, Effect, Layer, Schema } from "effect"
import { SqlClient, type SqlError } from "effect/sql"
import type { AgentRecord, GlobalSpawnFacts } from "../commands/policy.ts"

export class OwnershipError extends Schema.TaggedError<OwnershipError>()("OwnershipError", {
  operation: Schema.String,
  cause: Schema.Defect(),
}) {}

interface AgentRow {
  readonly instance_id: string
  readonly conversation_id: string
  readonly agent_name: string
  readonly inbox_id: string
  readonly spawned_by: string
  readonly spawned_at: Date
}

const toRecord = (row: AgentRow): AgentRecord => ({
  instanceId: row.instance_id,
  conversationId: row.conversation_id,
  agentName: row.agent_name,
  inboxId: row.inbox_id,
  spawnedBy: row.spawned_by,
  spawnedAt: row.spawned_at,
})

export class Ownership extends Context.Service<
  Ownership,
  {
    record(agent: AgentRecord): Effect.Effect<void, OwnershipError>
    liveAgents(conversationId: string): Effect.Effect<ReadonlyArray<AgentRecord>, OwnershipError>
    /** Spawn times of this sender since `since` (removed agents included). */
    spawnsSince(senderInboxId: string, since: Date): Effect.Effect<ReadonlyArray<Date>, OwnershipError>
    /** The global quota facts: every sender's spawns since `since`, live agents, whether `sender` spawned before. */
    globalSpawnFacts(senderInboxId: string, since: Date): Effect.Effect<GlobalSpawnFacts, OwnershipError>
    /** Whether this inbox belongs to an agent the manager ever spawned. */
    isSpawnedAgent(inboxId: string): Effect.Effect<boolean, OwnershipError>
    markRemoved(instanceId: string): Effect.Effect<void, OwnershipError>
    /** Closes the rows of these inboxes in this conversation (they left or were removed); returns the closed ones. */
    markLeft(conversationId: string, inboxIds: ReadonlyArray<string>): Effect.Effect<ReadonlyArray<AgentRecord>, OwnershipError>
    /** After the pool took the new name: `agent_name` is the manager's copy of the name the pool owns, kept for
     *  matching "the chef" and listing "who's here" without a pool call per message. */
    rename(instanceId: string, agentName: string): Effect.Effect<void, OwnershipError>
    /** Records the manager's introduction in a conversation; true only the first time. */
    markIntroduced(conversationId: string): Effect.Effect<boolean, OwnershipError>
  }
>()("manager-agent/Ownership") {
  static readonly layer = Layer.effect(
    Ownership,
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const fail = (operation: string) => (cause: SqlError.SqlError) => new OwnershipError({ operation, cause })

      const record = Effect.fn("Ownership.record")(function* (agent: AgentRecord) {
        yield* sql`INSERT INTO manager_agents ${sql.insert({
          instance_id: agent.instanceId,
          conversation_id: agent.conversationId,
          agent_name: agent.agentName,
          inbox_id: agent.inboxId,
          spawned_by: agent.spawnedBy,
          spawned_at: agent.spawnedAt,
        })}
          ON CONFLICT (instance_id) DO UPDATE SET conversation_id = EXCLUDED.conversation_id,
            agent_name = EXCLUDED.agent_name, inbox_id = EXCLUDED.inbox_id, removed_at = NULL`.pipe(
          Effect.mapError(fail("record")),
        )
      })

      const liveAgents = Effect.fn("Ownership.liveAgents")(function* (conversationId: string) {
        const rows = yield* sql<AgentRow>`SELECT instance_id, conversation_id, agent_name, inbox_id, spawned_by, spawned_at
          FROM manager_agents WHERE conversation_id = ${conversationId} AND removed_at IS NULL
          ORDER BY spawned_at, instance_id`.pipe(Effect.mapError(fail("liveAgents")))
        return rows.map(toRecord)
      })

      const spawnsSince = Effect.fn("Ownership.spawnsSince")(function* (senderInboxId: string, since: Date) {
        const rows = yield* sql<{ readonly spawned_at: Date }>`SELECT spawned_at FROM manager_agents
          WHERE spawned_by = ${senderInboxId} AND spawned_at > ${since} ORDER BY spawned_at`.pipe(
          Effect.mapError(fail("spawnsSince")),
        )
        return rows.map((row) => row.spawned_at)
      })

      const globalSpawnFacts = Effect.fn("Ownership.globalSpawnFacts")(function* (senderInboxId: string, since: Date) {
        const [recent, totals] = yield* Effect.all([
          sql<{ readonly spawned_at: Date }>`SELECT spawned_at FROM manager_agents WHERE spawned_at > ${since}`,
          sql<{ readonly live: number; readonly known: boolean }>`SELECT
              (SELECT count(*)::int FROM manager_agents WHERE removed_at IS NULL) AS live,
              EXISTS (SELECT 1 FROM manager_agents WHERE spawned_by = ${senderInboxId} AND spawned_at <= ${since}) AS known`,
        ]).pipe(Effect.mapError(fail("globalSpawnFacts")))
        return {
          recentSpawns: recent.map((row) => row.spawned_at),
          liveAgents: totals[0]?.live ?? 0,
          senderKnown: totals[0]?.known === true,
        } satisfies GlobalSpawnFacts
      })

      const isSpawnedAgent = Effect.fn("Ownership.isSpawnedAgent")(function* (inboxId: string) {
        const rows = yield* sql<{ readonly found: number }>`SELECT 1::int AS found FROM manager_agents
          WHERE lower(inbox_id) = ${inboxId.toLowerCase()} LIMIT 1`.pipe(Effect.mapError(fail("isSpawnedAgent")))
        return rows.length > 0
      })

      const markRemoved = Effect.fn("Ownership.markRemoved")(function* (instanceId: string) {
        yield* sql`UPDATE manager_agents SET removed_at = now() WHERE instance_id = ${instanceId} AND removed_at IS NULL`.pipe(
          Effect.mapError(fail("markRemoved")),
        )
      })

      const markLeft = Effect.fn("Ownership.markLeft")(function* (conversationId: string, inboxIds: ReadonlyArray<string>) {
        if (inboxIds.length === 0) return []
        const rows = yield* sql<AgentRow>`UPDATE manager_agents SET removed_at = now()
          WHERE conversation_id = ${conversationId} AND removed_at IS NULL
            AND lower(inbox_id) IN ${sql.in(inboxIds.map((id) => id.toLowerCase()))}
          RETURNING instance_id, conversation_id, agent_name, inbox_id, spawned_by, spawned_at`.pipe(Effect.mapError(fail("markLeft")))
        return rows.map(toRecord)
      })

      const rename = Effect.fn("Ownership.rename")(function* (instanceId: string, agentName: string) {
        yield* sql`UPDATE manager_agents SET agent_name = ${agentName} WHERE instance_id = ${instanceId}`.pipe(
          Effect.mapError(fail("rename")),
        )
      })

      const markIntroduced = Effect.fn("Ownership.markIntroduced")(function* (conversationId: string) {
        const rows = yield* sql<{ readonly conversation_id: string }>`INSERT INTO manager_conversations (conversation_id)
          VALUES (${conversationId}) ON CONFLICT DO NOTHING RETURNING conversation_id`.pipe(
          Effect.mapError(fail("markIntroduced")),
        )
        return rows.length > 0
      })

      return Ownership.of({ record, liveAgents, spawnsSince, globalSpawnFacts, isSpawnedAgent, markRemoved, markLeft, rename, markIntroduced })
    }),
  )
}
