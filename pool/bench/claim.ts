/**
 * bench:claim — prints
 *  1. database claims per second with 32 concurrent clients (the one-statement SKIP LOCKED claim), and double claims;
 *  2. HTTP claim latency p50/p99 through the real API and pool, with slots that provision instantly (so the
 *     figure excludes provision time), and double claims.
 * Slots sit 8 per ready host, as the pool places them.
 * Uses the local PostgreSQL (TEST_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/postgres) in a scratch
 * database it drops afterwards.
 */
import { PgClient } from "@effect/sql-pg"
import { Effect, Layer, Redacted, References } from "effect"
import { SqlClient } from "effect/sql"
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import { Instances } from "../src/db/Instances.ts"
import { MigrationsLayer } from "../src/db/Migrations.ts"
import { scopedDatabase } from "../../test/db/testDatabase.ts"
import { api, baseUrl, serveApi } from "../test/support/httpHarness.ts"
import { makeDataDir, poolLayer } from "../test/support/poolHarness.ts"

const percentile = (sorted: ReadonlyArray<number>, p: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!

let seeded = 0
/** `n` idle slots, 8 per host, on ready hosts at `url` (a claim takes the oldest host's first). */
const seedIdle = (n: number, url: string | null) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const from = seeded + 1
    seeded += n
    yield* sql`INSERT INTO hosts (id, status, compute_kind, url, token_hash, capacity)
      SELECT DISTINCT 'hbench' || lpad((g / 8)::text, 6, '0'), 'ready', 'local', ${url}, 'x', 8
      FROM generate_series(${from}::int, ${seeded}::int) g ON CONFLICT (id) DO NOTHING`
    yield* sql`INSERT INTO instances (id, host_id, status, compute_kind, token_hash, url, inbox_id, created_at)
      SELECT 'bench' || g, 'hbench' || lpad((g / 8)::text, 6, '0'), 'idle', 'local', 'x', ${url}, 'inbox-' || g,
        now() - (g || ' seconds')::interval
      FROM generate_series(${from}::int, ${seeded}::int) g`
  })

/** One HTTP server standing in for every host: a slot's provision answers at once. */
const instantInstance = () =>
  new Promise<{ url: string; close: () => void }>((resolve) => {
    const server = createServer((req, res) => {
      req.resume()
      req.on("end", () => {
        res.writeHead(200, { "content-type": "application/json" })
        res.end(JSON.stringify({ status: "created", conversationId: "c".repeat(32), inviteUrl: "https://dev.convos.org/v2?i=bench" }))
      })
    })
    server.listen(0, "127.0.0.1", () =>
      resolve({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => server.close() }))
  })

const databaseBench = (url: string) =>
  Effect.gen(function*() {
    const total = 20_000
    const clients = 32
    yield* seedIdle(total, "http://127.0.0.1:1")
    const instances = yield* Instances
    const claimed: Array<string> = []
    const started = performance.now()
    yield* Effect.forEach(Array.from({ length: clients }), () =>
      Effect.gen(function*() {
        while (true) {
          const row = yield* instances.claimIdle({ agentName: "Bench", instructions: "x", mode: "create" }, "bench")
          if (row === "JoinUrlTaken" || row._tag === "None") return
          claimed.push(row.value.id)
        }
      }), { concurrency: clients, discard: true })
    const seconds = (performance.now() - started) / 1000
    const doubles = claimed.length - new Set(claimed).size
    console.log(`database claims: ${claimed.length} in ${seconds.toFixed(2)} s with ${clients} concurrent clients = ` +
      `${Math.round(claimed.length / seconds)} claims/s (target ≥ 2,000); double claims: ${doubles}`)
  }).pipe(
    Effect.provide(Instances.layer.pipe(
      Layer.provideMerge(MigrationsLayer()),
      Layer.provideMerge(PgClient.layer({ url: Redacted.make(url), maxConnections: 32 })),
    )),
  )

const httpBench = (url: string) =>
  Effect.gen(function*() {
    const instance = yield* Effect.promise(instantInstance)
    yield* Effect.addFinalizer(() => Effect.sync(instance.close))
    const { dir, cleanup } = makeDataDir()
    yield* Effect.addFinalizer(() => Effect.sync(cleanup))
    const db = MigrationsLayer().pipe(Layer.provideMerge(PgClient.layer({ url: Redacted.make(url), maxConnections: 16 })))
    const layer = serveApi(poolLayer({ dataDir: dir }).pipe(Layer.provideMerge(db)))
    yield* Effect.gen(function*() {
      const call = api(yield* baseUrl)
      // Latency of one claim at a time (what a user waits for), then the same under 16 concurrent clients.
      for (const [requests, concurrency] of [[500, 1], [2_000, 16]] as const) {
        yield* seedIdle(requests, instance.url)
        const latencies: Array<number> = []
        const ids: Array<string> = []
        let next = 0
        const started = performance.now()
        yield* Effect.promise(() =>
          Promise.all(Array.from({ length: concurrency }, async () => {
            while (next < requests) {
              next++
              const t0 = performance.now()
              const r = await call("POST", "/api/pool/claim", { body: { agentName: "Bench" } })
              latencies.push(performance.now() - t0)
              if (r.status === 200) ids.push(r.json.instanceId)
            }
          }))
        )
        const seconds = (performance.now() - started) / 1000
        latencies.sort((a, b) => a - b)
        console.log(`HTTP claims, ${concurrency} client(s): ${ids.length}/${requests} ok, ` +
          `${Math.round(ids.length / seconds)} claims/s; latency p50 ${percentile(latencies, 0.5).toFixed(1)} ms, ` +
          `p99 ${percentile(latencies, 0.99).toFixed(1)} ms (target p50 ≤ 20 ms; instances provision instantly); ` +
          `double claims: ${ids.length - new Set(ids).size}`)
        yield* SqlClient.SqlClient.pipe(Effect.flatMap((sql) => Effect.andThen(sql`DELETE FROM instances`, sql`DELETE FROM hosts`)))
      }
    }).pipe(Effect.provide(layer))
  }).pipe(Effect.scoped)

const program = Effect.gen(function*() {
  const first = yield* scopedDatabase
  yield* databaseBench(first.url)
  const second = yield* scopedDatabase
  yield* httpBench(second.url)
  // The pool logs every claim; thousands of lines would drown the figures (and cost time of their own).
}).pipe(Effect.scoped, Effect.provideService(References.MinimumLogLevel, "Warn"))

Effect.runPromise(program).then(() => process.exit(0), (e) => {
  console.error(e)
  process.exit(1)
})
