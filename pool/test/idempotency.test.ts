import { assert, describe, it } from "@effect/vitest"
import { Context, Effect, Exit, Fiber, Layer } from "effect"
import { SqlClient } from "effect/sql"
import { DEFAULT_SKILLS } from "../../contract/index.ts"
import type { ClaimRequest } from "../src/domain/Claim.ts"
import { Pool } from "../src/Pool.ts"
import { sharedDatabase } from "../../test/db/testDatabase.ts"
import { api, baseUrl, serveApi } from "./support/httpHarness.ts"
import { defaultControl, makeDataDir, poolLayer } from "./support/poolHarness.ts"
import { waitFor } from "../../test/waitFor.ts"

const database = sharedDatabase

const request: ClaimRequest = { agentName: "A", instructions: "a", mode: "create", idempotencyKey: "retry-7" }

const warm = (pool: Context.Service.Shape<typeof Pool>, n: number) =>
  pool.replenish(n).pipe(
    Effect.andThen(waitFor(`${n} idle`, Effect.map(pool.counts, (c) => (c.idle === n ? c : undefined)))),
  )

describe("Idempotency-Key under faults (issue 14 #2)", () => {
  it.live("over HTTP, a retry whose key's first claim died with its process gets an agent at once, not a wait", () =>
    Effect.gen(function*() {
      const { client } = yield* database
      const { dir, cleanup } = makeDataDir()
      yield* Effect.addFinalizer(() => Effect.sync(cleanup))
      const ctx = yield* Layer.build(serveApi(poolLayer({ dataDir: dir }).pipe(Layer.provideMerge(client()))))
      yield* warm(Context.get(ctx, Pool), 1)
      // What a crash leaves: the key's row, stamped with a process that no longer holds its lock, and no result.
      const sql = Context.get(ctx, SqlClient.SqlClient)
      yield* sql`INSERT INTO claims (idempotency_key, request, owner)
        VALUES ('retry-7', ${JSON.stringify(["A", "a", "create", null, null, null, [...DEFAULT_SKILLS].sort()])}::jsonb, 'p-deaddeaddead')`

      const call = api(yield* Effect.provideContext(baseUrl, ctx))
      const started = Date.now()
      const reply = yield* Effect.promise(() =>
        call("POST", "/api/pool/claim", {
          body: { agentName: "A", instructions: "a" },
          headers: { "idempotency-key": "retry-7" },
        })
      )
      assert.strictEqual(reply.status, 200, reply.text)
      assert.isBelow(Date.now() - started, 10_000, "resolved well within 10 s")
      const again = yield* Effect.promise(() =>
        call("POST", "/api/pool/claim", {
          body: { agentName: "A", instructions: "a" },
          headers: { "idempotency-key": "retry-7" },
        })
      )
      assert.strictEqual(again.json?.instanceId, reply.json?.instanceId, "the key now answers with that agent")
    }).pipe(Effect.scoped), 60_000)

  it.live("a retry waiting on another process's claim gets its result when it finishes, and stops at once when interrupted", () =>
    Effect.gen(function*() {
      const { client } = yield* database
      const { dir, cleanup } = makeDataDir()
      yield* Effect.addFinalizer(() => Effect.sync(cleanup))
      const a = yield* Layer.build(poolLayer({ dataDir: dir }).pipe(Layer.provideMerge(client())))
      const b = yield* Layer.build(poolLayer({ dataDir: dir }).pipe(Layer.provideMerge(client())))
      const poolA = Context.get(a, Pool)
      const poolB = Context.get(b, Pool)
      yield* warm(poolA, 1)
      defaultControl(dir, { provisionDelayMs: 1_500 })
      const first = yield* Effect.forkChild(poolA.claim(request))
      yield* waitFor("the first claim in flight", Effect.map(poolA.counts, (c) => (c.claiming === 1 ? c : undefined)))

      // A client that gives up: its wait ends now, long before the first claim does.
      const gaveUp = yield* Effect.forkChild(poolB.claim(request))
      const sql = Context.get(a, SqlClient.SqlClient)
      const ownerWatch = sql<{ n: number }>`SELECT count(*)::int AS n FROM pg_stat_activity
        WHERE datname = current_database() AND state = 'active' AND pid <> pg_backend_pid()
          AND query LIKE '%pg_advisory_xact_lock_shared%'`
      yield* waitFor("the retry waiting on the owner", Effect.map(ownerWatch, (r) => (r[0]!.n === 1 ? true : undefined)))
      const interruptedAt = Date.now()
      yield* Fiber.interrupt(gaveUp)
      assert.isBelow(Date.now() - interruptedAt, 1_000)
      yield* waitFor("its database wait ended too", Effect.map(ownerWatch, (r) => (r[0]!.n === 0 ? true : undefined)))

      const retry = yield* Effect.forkChild(poolB.claim(request))
      const [one, two] = [yield* Fiber.join(first), yield* Fiber.await(retry)]
      assert.isTrue(Exit.isSuccess(two))
      if (Exit.isSuccess(two)) assert.strictEqual(two.value.instanceId, one.instanceId, "the same agent, announced across processes")
      assert.strictEqual((yield* poolA.counts).claimed, 1, "one agent was handed out")
    }).pipe(Effect.scoped), 60_000)
})
