/**
 * bench:reconcile — one reconcile tick over 1,000 instances (700 idle, 300 claimed) on Railway compute (a loopback
 * fake of its GraphQL API) with every instance answering its health check. Prints the tick's database time (summed
 * from the SQL client's spans; target ≤ 100 ms), its wall time, the number of SQL statements, and the Railway calls
 * (target: one per status page, not one per instance).
 */
import { PgClient } from "@effect/sql-pg"
import { Duration, Effect, Layer, Redacted, Tracer } from "effect"
import { SqlClient } from "effect/sql"
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import * as Railway from "../src/compute/Railway.ts"
import { Claims } from "../src/db/Claims.ts"
import { Instances } from "../src/db/Instances.ts"
import { MigrationsLayer } from "../src/db/Migrations.ts"
import { InstanceClient } from "../src/InstanceClient.ts"
import { InstanceTokens } from "../src/InstanceTokens.ts"
import { Pool } from "../src/Pool.ts"
import { PoolConfig } from "../src/PoolConfig.ts"
import { PoolProcess } from "../src/PoolProcess.ts"
import { Reconciler } from "../src/Reconciler.ts"
import { NoToolProviders } from "../src/resources/none.ts"
import { scopedDatabase } from "../../test/db/testDatabase.ts"
import { startFakeRailway } from "../../test/fakes/railway.ts"

const instancesTotal = 1_000
const claimedTotal = 300

/** Every instance's health endpoint, answering at once. */
const healthServer = () =>
  new Promise<{ url: string; close: () => void }>((resolve) => {
    const server = createServer((req, res) => {
      const claimed = (req.headers.host ?? "").length > 0 && /claimed/.test(req.url ?? "")
      res.writeHead(200, { "content-type": "application/json" })
      res.end(JSON.stringify({ ready: true, inboxId: "inbox", version: "bench", conversationId: claimed ? "c" : null }))
    })
    server.keepAliveTimeout = 60_000
    server.listen(0, "127.0.0.1", () =>
      resolve({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => server.close() }))
  })

const sqlTime = { nanos: 0n, statements: 0, counting: false }
const tracer = Tracer.make({
  span(options) {
    const span = new Tracer.NativeSpan(options)
    const end = span.end.bind(span)
    span.end = (endTime, exit) => {
      end(endTime, exit)
      if (sqlTime.counting && options.kind === "client" && span.attributes.has("db.system.name")) {
        sqlTime.nanos += endTime - options.startTime
        sqlTime.statements++
      }
    }
    return span
  },
})

const program = Effect.gen(function*() {
  const { url } = yield* scopedDatabase
  const railway = yield* Effect.acquireRelease(
    Effect.promise(() => startFakeRailway({ token: "rw-bench", workspaceId: "ws_bench" })),
    (r) => Effect.promise(() => r.close()),
  )
  const health = yield* Effect.acquireRelease(Effect.promise(healthServer), (h) => Effect.sync(h.close))
  const ids = Array.from({ length: instancesTotal }, (_, i) => `bench${String(i).padStart(4, "0")}`)
  const projectIds = railway.seed(ids.map((id) => `convos-agent-${id}`))

  const db = MigrationsLayer().pipe(Layer.provideMerge(PgClient.layer({ url: Redacted.make(url), maxConnections: 10 })))
  const compute = Railway.layerWith({
    apiUrl: railway.apiUrl,
    token: Redacted.make("rw-bench"),
    workspaceId: "ws_bench",
    image: "ghcr.io/convos/runtime:bench",
    startCommand: "node runtime/src/main.ts",
    cpu: 2,
    memoryGb: 4,
    projectPrefix: "convos-agent-",
    volumeMountPath: "/data",
    requestTimeout: Duration.seconds(10),
    retryBase: Duration.millis(100),
    pageSize: 100,
  })
  const base = Layer.mergeAll(
    Instances.layer,
    Claims.layer,
    InstanceClient.layer,
    InstanceTokens.layerSecret("bench-secret"),
    PoolConfig.layerWith({ targetIdle: instancesTotal - claimedTotal, maxTotal: 2_000 }),
    PoolProcess.layerAdvisory,
    NoToolProviders,
    compute,
  )
  const layer = Reconciler.layer.pipe(Layer.provideMerge(Pool.layer), Layer.provideMerge(base), Layer.provideMerge(db))

  yield* Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const rows = ids.map((id, i) => ({
      id,
      status: i < claimedTotal ? "claimed" : "idle",
      ref: JSON.stringify({ projectId: projectIds[i] }),
      url: `${health.url}/${i < claimedTotal ? "claimed" : "idle"}/${id}`,
    }))
    yield* sql`INSERT INTO instances (id, status, compute_kind, compute_ref, url, token_hash, inbox_id, agent_name)
      SELECT v.id, v.status, 'railway', v.ref::jsonb, v.url, 'x', 'inbox', CASE WHEN v.status = 'claimed' THEN 'Agent' END
      FROM jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) AS v(id text, status text, ref text, url text)`
    const reconciler = yield* Reconciler
    yield* reconciler.tick // warm-up: connections, prepared statements, HTTP keep-alive
    const runs: Array<{ db: number; wall: number; statements: number; calls: number; report: unknown }> = []
    for (let run = 0; run < 5; run++) {
      railway.reset()
      sqlTime.nanos = 0n
      sqlTime.statements = 0
      sqlTime.counting = true
      const started = performance.now()
      const report = yield* reconciler.tick
      const wall = performance.now() - started
      sqlTime.counting = false
      runs.push({ db: Number(sqlTime.nanos) / 1e6, wall, statements: sqlTime.statements, calls: railway.count("Projects"), report })
    }
    const median = <A>(xs: Array<A>, f: (a: A) => number) => xs.map(f).sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
    const last = runs.at(-1)!
    console.log(`reconcile tick over ${instancesTotal} instances (${claimedTotal} claimed), median of ${runs.length}:`)
    console.log(`  database time ${median(runs, (r) => r.db).toFixed(1)} ms in ${last.statements} statements (target ≤ 100 ms)`)
    console.log(`  wall time ${median(runs, (r) => r.wall).toFixed(0)} ms (includes ${instancesTotal} health checks over HTTP)`)
    console.log(`  Railway status calls: ${last.calls} (pages of 100; not one per instance)`)
    console.log(`  report: ${JSON.stringify(last.report)}`)
  }).pipe(Effect.provide(layer))
}).pipe(Effect.scoped, Effect.withTracer(tracer))

Effect.runPromise(program).then(() => process.exit(0), (e) => {
  console.error(e)
  process.exit(1)
})
