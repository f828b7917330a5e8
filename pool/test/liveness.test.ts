import { assert, describe, it } from "@effect/vitest"
import { PgClient } from "@effect/sql-pg"
import { Context, Duration, Effect, Fiber, Layer, Redacted } from "effect"
import { SqlClient } from "effect/sql"
import { Instances } from "../src/db/Instances.ts"
import { Pool } from "../src/Pool.ts"
import { livenessApplication, lockClass, lockObject, PoolProcess } from "../src/PoolProcess.ts"
import { Reconciler } from "../src/Reconciler.ts"
import { scopedDatabase, sharedDatabase } from "../../test/db/testDatabase.ts"
import { defaultControl, makeDataDir, poolLayer } from "./support/poolHarness.ts"
import { waitFor } from "../../test/waitFor.ts"

const database = sharedDatabase

/** Ends a process's liveness session the way an operator or a failover does. */
const terminateLiveness = (processId: string) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const rows = yield* sql<{ done: boolean }>`SELECT pg_terminate_backend(pid) AS done FROM pg_stat_activity
      WHERE datname = current_database() AND application_name = ${`${livenessApplication} ${processId}`}`
    assert.strictEqual(rows.length, 1, "the process's liveness session was found")
  })

const lockHeld = (processId: string) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const rows = yield* sql`SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted
      AND classid = ${lockClass}::oid AND objid = ${lockObject(processId)}::oid
      AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`
    return rows.length > 0 ? true : undefined
  })

describe("pool process liveness (issue 14 #1)", () => {
  it.live("a claim in flight survives its process's dropped database session: the other process's reconcile keeps it", () =>
    Effect.gen(function*() {
      const { client } = yield* database
      const { dir, cleanup } = makeDataDir()
      yield* Effect.addFinalizer(() => Effect.sync(cleanup))
      const a = yield* Layer.build(poolLayer({ dataDir: dir, retakeGrace: "3 seconds" }).pipe(Layer.provideMerge(client())))
      const b = yield* Layer.build(poolLayer({ dataDir: dir, retakeGrace: "3 seconds" }).pipe(Layer.provideMerge(client())))
      const poolA = Context.get(a, Pool)
      yield* poolA.replenish(1)
      yield* waitFor("an idle instance", Effect.map(poolA.counts, (c) => (c.idle === 1 ? c : undefined)))
      // The provision outlasts the other process's reconcile (grace included), so the claim is in flight throughout.
      defaultControl(dir, { provisionDelayMs: 6_000 })
      const claim = yield* Effect.forkChild(poolA.claim({ agentName: "A", instructions: "a", mode: "create" }))
      yield* waitFor("the claim in flight", Effect.map(poolA.counts, (c) => (c.claiming === 1 ? c : undefined)))

      const idA = Context.get(a, PoolProcess).id
      yield* terminateLiveness(idA).pipe(Effect.provideContext(a))
      yield* Context.get(b, Reconciler).tick
      const during = yield* Context.get(a, Instances).list()
      assert.strictEqual(during[0]?.status, "claiming", "the other process did not recover a live process's claim")

      const result = yield* Fiber.join(claim)
      assert.strictEqual(result.status, "claimed")
      assert.strictEqual(Context.get(a, PoolProcess).id, idA, "the process kept its identity")
      assert.isTrue(yield* lockHeld(idA).pipe(Effect.provideContext(b)), "its lock is held again")
    }).pipe(Effect.scoped), 60_000)

  it.live("only locks of the pool's own database count, and a process that holds none is declared dead for good", () =>
    Effect.gen(function*() {
      const { client } = yield* database
      const other = yield* scopedDatabase
      const otherClient = yield* Layer.build(PgClient.layer({ url: Redacted.make(other.url), maxConnections: 1 }))
      const ghost = "p-0123456789ab"
      // Another database on the same server holds a lock with the same key: a different deployment's process.
      const session = yield* Context.get(otherClient, SqlClient.SqlClient).reserve
      yield* session.execute("SELECT pg_advisory_lock($1, $2)", [lockClass, lockObject(ghost)], undefined)

      const ctx = yield* Layer.build(PoolProcess.layerAdvisoryWith({ retakeGrace: Duration.millis(200) }).pipe(
        Layer.provideMerge(client()),
      ))
      const alive = yield* Context.get(ctx, PoolProcess).aliveAmong([ghost])
      assert.isFalse(alive.has(ghost), "a lock in another database says nothing about this pool's processes")
      const ended = yield* Context.get(ctx, SqlClient.SqlClient)<{ id: string }>`SELECT id FROM pool_process_ends`
      assert.deepStrictEqual(ended.map((r) => r.id), [ghost], "the dead process is recorded before its work is recovered")
    }).pipe(Effect.scoped), 30_000)

  it.live("a process declared dead while its session was gone comes back under a new identity, never as the old owner", () =>
    Effect.gen(function*() {
      const { client } = yield* database
      const a = yield* Layer.build(PoolProcess.layerAdvisoryWith({ retakeGrace: Duration.millis(200) }).pipe(
        Layer.provideMerge(client()),
      ))
      const processA = Context.get(a, PoolProcess)
      const old = processA.id
      const sql = Context.get(a, SqlClient.SqlClient)
      // What another process writes when it finds the lock free past the grace (here written directly).
      yield* sql`INSERT INTO pool_process_ends (id) VALUES (${old})`
      yield* terminateLiveness(old).pipe(Effect.provideContext(a))
      const next = yield* waitFor("a new identity", Effect.sync(() => (processA.id !== old ? processA.id : undefined)))
      yield* processA.live
      assert.isTrue(yield* lockHeld(next).pipe(Effect.provideContext(a)))
      assert.isUndefined(yield* lockHeld(old).pipe(Effect.provideContext(a)), "the old identity's lock is not taken again")
    }).pipe(Effect.scoped), 30_000)

  it.live("a row of this process left `claiming` with no claim running here is released by its own reconcile", () =>
    Effect.gen(function*() {
      const { client } = yield* database
      const { dir, cleanup } = makeDataDir()
      yield* Effect.addFinalizer(() => Effect.sync(cleanup))
      const a = yield* Layer.build(poolLayer({ dataDir: dir }).pipe(Layer.provideMerge(client())))
      const poolA = Context.get(a, Pool)
      yield* poolA.replenish(1)
      yield* waitFor("an idle instance", Effect.map(poolA.counts, (c) => (c.idle === 1 ? c : undefined)))
      // What a claim whose claiming statement committed but whose answer was lost leaves: its process is alive.
      const sql = Context.get(a, SqlClient.SqlClient)
      yield* sql`UPDATE instances SET status = 'claiming', owner = ${Context.get(a, PoolProcess).id}, agent_name = 'A',
        instructions = 'a', claimed_at = now()`
      yield* Context.get(a, Reconciler).tick
      const counts = yield* poolA.counts
      assert.deepStrictEqual([counts.claiming, counts.idle], [0, 1], "released: the slot never heard of a claim")
    }).pipe(Effect.scoped), 60_000)
})
