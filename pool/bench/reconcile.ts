/**
 * bench:reconcile — one reconcile tick over 1,000 agent slots (700 idle, 300 claimed) on 125 hosts of 8, on Railway
 * compute (a loopback fake of its GraphQL API), every host answering its one health call with its 8 slots. Prints
 * the tick's database time (summed from the SQL client's spans; target ≤ 100 ms), its wall time, the number of SQL
 * statements, and the Railway calls (target: one per status page, not one per host).
 */
import { PgClient } from "@effect/sql-pg"
import { Duration, Effect, Layer, Redacted, Tracer } from "effect"
import { SqlClient } from "effect/sql"
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import * as Railway from "../src/compute/Railway.ts"
import { Claims } from "../src/db/Claims.ts"
import { Hosts } from "../src/db/Hosts.ts"
import { Instances } from "../src/db/Instances.ts"
import { MigrationsLayer } from "../src/db/Migrations.ts"
import { HostClient } from "../src/HostClient.ts"
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
const perHost = 8
const hostOf = (i: number) => `hbench${String(Math.floor(i / perHost)).padStart(5, "0")}`
const slotIdOf = (i: number) => `bench${String(i).padStart(4, "0")}`
const inbox = "a".repeat(64)

/** Every host's health route (`/<hostId>/host/health`), answering at once with its slots. */
const healthServer = () =>
  new Promise<{ url: string; close: () => void }>((resolve) => {
    const server = createServer((req, res) => {
      const hostId = (req.url ?? "").split("/")[1] ?? ""
      const slots = Array.from({ length: instancesTotal }, (_, i) => i).filter((i) => hostOf(i) === hostId).map((i) => ({
        slotId: slotIdOf(i),
        ready: true,
        inboxId: inbox,
        conversationId: i < claimedTotal ? "c".repeat(32) : null,
      }))
      res.writeHead(200, { "content-type": "application/json" })
      res.end(JSON.stringify({ hostId, version: "bench", gatewayReady: true, capacity: perHost, slots }))
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
  const ids = Array.from({ length: instancesTotal }, (_, i) => slotIdOf(i))
  const hostIds = [...new Set(ids.map((_, i) => hostOf(i)))]
  const projectIds = railway.seed(hostIds.map((id) => `convos-agent-${id}`))

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
    Hosts.layer,
    Claims.layer.pipe(Layer.provide(PoolProcess.layerAdvisory)),
    InstanceClient.layer,
    HostClient.layer,
    InstanceTokens.layerSecret("bench-secret"),
    PoolConfig.layerWith({ targetIdle: instancesTotal - claimedTotal, maxTotal: 2_000, agentsPerHost: perHost }),
    PoolProcess.layerAdvisory,
    NoToolProviders,
    compute,
  )
  const layer = Reconciler.layer.pipe(Layer.provideMerge(Pool.layer), Layer.provideMerge(base), Layer.provideMerge(db))

  yield* Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const hosts = hostIds.map((id, i) => ({ id, ref: JSON.stringify({ projectId: projectIds[i] }), url: `${health.url}/${id}` }))
    yield* sql`INSERT INTO hosts (id, status, compute_kind, compute_ref, url, token_hash, capacity)
      SELECT v.id, 'ready', 'railway', v.ref::jsonb, v.url, 'x', ${perHost}
      FROM jsonb_to_recordset(${JSON.stringify(hosts)}::jsonb) AS v(id text, ref text, url text)`
    const rows = ids.map((id, i) => ({
      id,
      host: hostOf(i),
      status: i < claimedTotal ? "claimed" : "idle",
      ref: JSON.stringify({ hostId: hostOf(i) }),
      url: `${health.url}/${hostOf(i)}`,
    }))
    yield* sql`INSERT INTO instances (id, host_id, status, compute_kind, compute_ref, url, token_hash, inbox_id, agent_name,
        conversation_id)
      SELECT v.id, v.host, v.status, 'railway', v.ref::jsonb, v.url, 'x', ${inbox},
        CASE WHEN v.status = 'claimed' THEN 'Agent' END, CASE WHEN v.status = 'claimed' THEN ${"c".repeat(32)} END
      FROM jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) AS v(id text, host text, status text, ref text, url text)`
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
    console.log(`reconcile tick over ${instancesTotal} slots (${claimedTotal} claimed) on ${hostIds.length} hosts, median of ${runs.length}:`)
    console.log(`  database time ${median(runs, (r) => r.db).toFixed(1)} ms in ${last.statements} statements (target ≤ 100 ms)`)
    console.log(`  wall time ${median(runs, (r) => r.wall).toFixed(0)} ms (includes ${hostIds.length} host health calls over HTTP)`)
    console.log(`  Railway status calls: ${last.calls} (pages of 100; not one per host)`)
    console.log(`  report: ${JSON.stringify(last.report)}`)
  }).pipe(Effect.provide(layer))
}).pipe(Effect.scoped, Effect.withTracer(tracer))

Effect.runPromise(program).then(() => process.exit(0), (e) => {
  console.error(e)
  process.exit(1)
})
