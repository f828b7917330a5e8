/**
 * Every agent of the host keeps its database execution open between turns.
 *
 * OpenClaw (2026.9.6, `dist/openclaw-agent-execution-*.mjs`) keeps at most one agent's database execution open while
 * idle: the `idle` field of the process-wide registry under `EXECUTION_OWNERS`. A turn of another agent first closes
 * it, and the next turn of the closed agent opens it again (a SQLite worker actor, the database, an integrity gate and
 * a queued quick check). On a host whose agents take turns, that is about 1 s added to every turn that follows another
 * agent's, against 0.3 s for a turn of the agent that ran last (measured with 8 agents in rotation: p50 1.32 s → 0.41 s).
 *
 * Reading `idle` as always empty lifts that limit: an agent's execution is no longer closed for another agent, nor
 * after a minute idle. It is still closed when the agent is deleted and when the gateway stops. The cost is one open
 * execution per slot, at most `POOL_AGENTS_PER_HOST` (measured: about 13 MB each). The registry is created here with
 * OpenClaw's own initial shape when the plugin loads first; `agentExecutions.test.ts` checks that the installed
 * OpenClaw still has this registry, so an upgrade that changes it fails the tests instead of silently undoing this.
 */
export const EXECUTION_OWNERS = Symbol.for("openclaw.agentDatabaseExecutionOwners")

export type KeepOpenResult = "applied" | "unexpected_registry"

export const keepAgentExecutionsOpen = (scope: Record<PropertyKey, unknown> = globalThis as unknown as Record<PropertyKey, unknown>): KeepOpenResult => {
  // OpenClaw's resolveGlobalSingleton uses an existing value under the key as is, and creates `{ owners: new Map() }`.
  if (!Object.hasOwn(scope, EXECUTION_OWNERS)) scope[EXECUTION_OWNERS] = { owners: new Map() }
  const registry = scope[EXECUTION_OWNERS]
  if (typeof registry !== "object" || registry === null || !((registry as { owners?: unknown }).owners instanceof Map)) return "unexpected_registry"
  Object.defineProperty(registry, "idle", { get: () => undefined, set: () => {}, configurable: true, enumerable: true })
  return "applied"
}
