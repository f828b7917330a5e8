/**
 * The demo as a test: fake XMTP node, fake model, real PostgreSQL, the real product graph (pool, HTTP API,
 * reconciler, manager) and a real agent runtime (OpenClaw gateway + convos plugin) as a local process. A user asks
 * the manager for a trip planner in a group, talks with it, lists, renames and removes it. Slow: one gateway start.
 */
import { Effect } from "effect"
import { describe, expect, it } from "vitest"
import { runDemo } from "../../scripts/demoScenario.ts"
import { scopedDatabase } from "../db/testDatabase.ts"

describe("the demo, end to end", () => {
  it("spawn, greet, talk, list, rename and remove an agent from a group chat, on real PostgreSQL", async () => {
    const result = await Effect.runPromise(
      Effect.scoped(Effect.flatMap(scopedDatabase, ({ url }) => Effect.promise(() => runDemo({ databaseUrl: url })))),
    )
    const failed = result.steps.filter((s) => !s.ok).map((s) => `${s.name}${s.detail ? `: ${s.detail}` : ""}`)
    expect(failed, result.transcript.join("\n")).toEqual([])
    expect(result.steps.map((s) => s.name)).toContain("Trip Planner greeted the group on its own")
    expect(result.ok).toBe(true)
  }, 600_000)
})
