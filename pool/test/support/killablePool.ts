/**
 * A pool process for the crash-recovery test: it warms instances, starts claims whose provision hangs and warm-ups
 * whose provider calls are slow, prints STATE-READY, and waits to be killed with SIGKILL.
 * Env: DB_URL, DATA_DIR, TOOL_FILE.
 */
import { PgClient } from "@effect/sql-pg"
import { Effect, Layer, Redacted } from "effect"
import { writeFileSync } from "node:fs"
import { join } from "node:path"
import { Pool } from "../../src/Pool.ts"
import { makeFakeTool } from "../../../test/fakes/fakeTool.ts"
import { poolLayer } from "./poolHarness.ts"

const dataDir = process.env.DATA_DIR!
const tool = makeFakeTool("llm", "OPENROUTER_API_KEY", { file: process.env.TOOL_FILE! })
const slowTool = makeFakeTool("mail", "AGENTMAIL_INBOX_ID", { file: `${process.env.TOOL_FILE!}.mail` })

const program = Effect.gen(function*() {
  const pool = yield* Pool
  yield* pool.replenish(3)
  while ((yield* pool.counts).idle < 3) yield* Effect.sleep("50 millis")
  // Provisions now hang: two claims stay `claiming`.
  writeFileSync(join(dataDir, "default-control.json"), JSON.stringify({ provision: "hang" }))
  yield* Effect.forkDetach(pool.claim({ agentName: "A", instructions: "a", mode: "create" }))
  yield* Effect.forkDetach(pool.claim({ agentName: "B", instructions: "b", mode: "create" }))
  // And new warm-ups stall inside a provider call: their resource rows stay `creating`.
  slowTool.faults.hangCreate = true
  yield* Effect.forkDetach(pool.replenish(2))
  while (true) {
    const counts = yield* pool.counts
    if (counts.claiming === 2 && counts.starting === 2) break
    yield* Effect.sleep("50 millis")
  }
  yield* Effect.sleep("300 millis")
  console.log("STATE-READY")
  yield* Effect.never
})

const db = PgClient.layer({ url: Redacted.make(process.env.DB_URL!), maxConnections: 8 })
Effect.runPromise(
  program.pipe(
    Effect.provide(poolLayer({ dataDir, tools: [tool.provider, slowTool.provider] }).pipe(Layer.provide(db))),
    Effect.scoped,
  ),
).catch((e) => {
  console.error(e)
  process.exit(1)
})
