import { assert, describe, it } from "@effect/vitest"
import { PgClient } from "@effect/sql-pg"
import { Effect, Layer, Redacted } from "effect"
import { SqlClient } from "effect/sql"
import { spawn } from "node:child_process"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { Pool } from "../src/Pool.ts"
import { Reconciler } from "../src/Reconciler.ts"
import { MigrationsLayer } from "../src/db/Migrations.ts"
import { scopedDatabase } from "../../test/db/testDatabase.ts"
import { makeFakeTool } from "../../test/fakes/fakeTool.ts"
import { makeDataDir, poolLayer } from "./support/poolHarness.ts"

const killablePool = fileURLToPath(new URL("./support/killablePool.ts", import.meta.url))

/** Starts the killable pool process and resolves once it has claims and warm-ups in flight. */
const startKillablePool = (env: Record<string, string>) =>
  Effect.callback<ReturnType<typeof spawn>, Error>((resume) => {
    const child = spawn(process.execPath, ["--import", "tsx", killablePool], {
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    })
    let output = ""
    const timer = setTimeout(() => resume(Effect.fail(new Error(`pool process never got ready:\n${output}`))), 60_000)
    child.stdout!.on("data", (chunk) => {
      output += chunk
      if (output.includes("STATE-READY")) {
        clearTimeout(timer)
        resume(Effect.succeed(child))
      }
    })
    child.stderr!.on("data", (chunk) => (output += chunk))
    child.on("exit", (code) => {
      clearTimeout(timer)
      resume(Effect.fail(new Error(`pool process exited (${code}):\n${output}`)))
    })
  })

describe("crash recovery", () => {
  it.live("a pool killed with claims and warm-ups in flight leaves nothing stuck or orphaned after one reconcile", () =>
    Effect.gen(function*() {
      const { url } = yield* scopedDatabase
      const { dir, cleanup } = makeDataDir()
      yield* Effect.addFinalizer(() => Effect.sync(cleanup))
      const toolFile = join(dir, "llm-keys.json")
      const db = MigrationsLayer().pipe(Layer.provideMerge(PgClient.layer({ url: Redacted.make(url), maxConnections: 8 })))
      yield* Effect.scoped(Layer.build(db)) // migrate before the child starts

      const child = yield* startKillablePool({ DB_URL: url, DATA_DIR: dir, TOOL_FILE: toolFile })
      child.kill("SIGKILL")
      yield* Effect.sleep("300 millis")

      const llm = makeFakeTool("llm", "OPENROUTER_API_KEY", { file: toolFile })
      const mail = makeFakeTool("mail", "AGENTMAIL_INBOX_ID", { file: `${toolFile}.mail` })
      const layer = poolLayer({ dataDir: dir, tools: [llm.provider, mail.provider] }).pipe(Layer.provideMerge(db))
      yield* Effect.gen(function*() {
        const sql = yield* SqlClient.SqlClient
        const before = yield* (yield* Pool).counts
        assert.strictEqual(before.claiming, 2, "the dead pool left two claims in flight")
        assert.strictEqual(before.starting, 2, "and two warm-ups")

        yield* (yield* Reconciler).tick
        const after = yield* (yield* Pool).counts
        assert.strictEqual(after.claiming, 0, "no claim is stuck")
        assert.strictEqual(after.starting, 0, "no warm-up is stuck")
        // The hung provisions never bound a conversation, so the instances reset clean and went back to idle.
        assert.strictEqual(after.idle, 3)
        const orphans = yield* sql<{ n: number }>`SELECT count(*)::int AS n FROM instance_resources r
          LEFT JOIN instances i ON i.id = r.instance_id WHERE i.id IS NULL OR r.status <> 'active'`
        assert.strictEqual(orphans[0]!.n, 0, "no resource row is orphaned or half-created")
        llm.reload()
        mail.reload()
        const liveIds = new Set((yield* (yield* Pool).list).map((r) => r.id))
        for (const owner of [...llm.live.values(), ...mail.live.values()]) {
          assert.isTrue(liveIds.has(owner), `provider resource of ${owner} belongs to a live instance`)
        }
      }).pipe(Effect.provide(layer), Effect.scoped)
    }).pipe(Effect.scoped), 120_000)
})
