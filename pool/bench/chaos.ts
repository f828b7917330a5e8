/**
 * bench:chaos — two pool processes (`pool/src/main.ts`) share one real PostgreSQL database and one data dir of test
 * hosts (test/instance-server/server.mjs). Each of N rounds (default 50, `npm run bench:chaos -- 20`) sends six
 * concurrent claims over HTTP (two with one Idempotency-Key, two for one joinUrl, two plain), injects one fault at a
 * random moment, lets a survivor run one reconcile, then checks the invariants. Faults, in turn: `kill -9` of a pool
 * process (restarted after the round), termination of every database session, every provision hanging past the
 * provision timeout, `kill -9` of a host process mid-provision. Provider faults are not injected here: this pool runs
 * without tool providers (see the report in docs/operations.md).
 *
 * Prints: claims attempted/succeeded, double claims, instances stuck past one reconcile, orphaned resource rows,
 * idempotency keys that did not resolve within 10 s, answers that were not a clean JSON status, pool RSS growth.
 */
import { PgClient } from "@effect/sql-pg"
import { Effect, Layer, ManagedRuntime, Redacted } from "effect"
import { SqlClient } from "effect/sql"
import { type ChildProcess, spawn } from "node:child_process"
import { randomBytes } from "node:crypto"
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { MigrationsLayer } from "../src/db/Migrations.ts"
import { lockClass, lockObject } from "../src/PoolProcess.ts"
import { adminUrl, withDatabaseName } from "../../test/db/testDatabase.ts"
import { killHostProcesses } from "../test/support/poolHarness.ts"

const rounds = Number(process.argv[2] ?? process.env.CHAOS_ROUNDS ?? 50)
const root = fileURLToPath(new URL("../../", import.meta.url))
const apiKey = "chaos-api-key-0123456789"
const provisionTimeoutMs = 4_000
const faults = ["kill -9 pool", "db sessions terminated", "provision hangs", "kill -9 host"] as const

// ------------------------------------------------------------------------------------------------ database

const dbName = `convos_chaos_${randomBytes(4).toString("hex")}`
const admin = ManagedRuntime.make(PgClient.layer({ url: Redacted.make(adminUrl), maxConnections: 2 }))
const unsafe = (text: string, params: ReadonlyArray<unknown>) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) => sql.unsafe<Record<string, unknown>>(text, params))
const adminSql = (text: string, params: ReadonlyArray<unknown> = []) => admin.runPromise(unsafe(text, params))
const dbUrl = withDatabaseName(adminUrl, dbName)
let db: ManagedRuntime.ManagedRuntime<SqlClient.SqlClient, unknown>
const q = (text: string, params: ReadonlyArray<unknown> = []) => db.runPromise(unsafe(text, params))

// ------------------------------------------------------------------------------------------------ pool processes

const dataDir = mkdtempSync(join(tmpdir(), "convos-chaos-"))
const ports = [4731, 4732]
const procs: Array<ChildProcess | null> = [null, null]
const base = (i: number) => `http://127.0.0.1:${ports[i]}`

const startPool = async (i: number) => {
  const child = spawn(process.execPath, ["--import", "tsx", join(root, "pool/src/main.ts")], {
    cwd: root,
    env: {
      ...process.env,
      PORT: String(ports[i]),
      DATABASE_URL: dbUrl,
      DATA_DIR: dataDir,
      POOL_API_KEY: apiKey,
      HOST_COMMAND: JSON.stringify([process.execPath, join(root, "test/instance-server/server.mjs")]),
      LOCAL_STOP_HOSTS_ON_EXIT: "false",
      POOL_TARGET_IDLE: "6",
      POOL_MAX_TOTAL: "24",
      POOL_CREATE_CONCURRENCY: "6",
      POOL_RECONCILE_INTERVAL: "1 hour", // the bench runs the one reconcile itself
      POOL_START_TIMEOUT: "20 seconds",
      POOL_PROVISION_TIMEOUT: `${provisionTimeoutMs} millis`,
      POOL_LOCK_RETAKE_GRACE: "2 seconds",
      POOL_SHUTDOWN_GRACE: "2 seconds",
      XMTP_ENV: "dev",
    },
    stdio: ["ignore", "ignore", "pipe"],
  })
  let stderr = ""
  child.stderr!.on("data", (c) => (stderr = (stderr + c).slice(-4000)))
  procs[i] = child
  const deadline = Date.now() + 60_000
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`pool ${i} exited: ${stderr}`)
    const up = await fetch(`${base(i)}/healthz`).then((r) => r.ok, () => false)
    if (up) return
    await sleep(100)
  }
  throw new Error(`pool ${i} did not start: ${stderr}`)
}

const rssOf = (pid: number | undefined) => {
  if (pid === undefined) return 0
  const line = readFileSync(`/proc/${pid}/status`, "utf8").split("\n").find((l) => l.startsWith("VmRSS:"))
  return Number(line?.replace(/\D/g, "") ?? 0) / 1024
}

// ------------------------------------------------------------------------------------------------ HTTP

interface Answer {
  readonly status: number | "no answer"
  readonly json: any
  readonly clean: boolean
  readonly ms: number
}

const call = async (
  i: number,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
  timeoutMs = 30_000,
): Promise<Answer> => {
  const started = Date.now()
  try {
    const response = await fetch(`${base(i)}${path}`, {
      method,
      headers: { authorization: `Bearer ${apiKey}`, "content-type": "application/json", ...headers },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(timeoutMs),
    })
    const text = await response.text()
    let json: any = undefined
    try {
      json = JSON.parse(text)
    } catch {
      // not JSON
    }
    const clean = response.ok
      ? typeof json === "object" && json !== null
      : typeof json?.error === "string" && json.error.length > 0
    return { status: response.status, json, clean, ms: Date.now() - started }
  } catch {
    return { status: "no answer", json: undefined, clean: false, ms: Date.now() - started }
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const setDefaultControl = (control: Record<string, unknown>) =>
  writeFileSync(join(dataDir, "default-control.json"), JSON.stringify(control))

const hostPids = () => {
  const dir = join(dataDir, "hosts")
  if (!existsSync(dir)) return []
  return readdirSync(dir).flatMap((id) => {
    try {
      return [Number(readFileSync(join(dir, id, "pid"), "utf8"))]
    } catch {
      return []
    }
  })
}

// ------------------------------------------------------------------------------------------------ invariants

/** Live instances that share a joinUrl: one invite, two agents. */
const doubleJoins = async () =>
  (await q(`SELECT join_url FROM instances WHERE join_url IS NOT NULL
    AND status IN ('claiming', 'claimed', 'pending_acceptance') GROUP BY join_url HAVING count(*) > 1`)).length

/**
 * After one reconcile: claims whose process is gone (or was declared dead), and warm-ups past their start timeout.
 * A claim row written after the reconcile began is reported apart (a killed process's statement still finishing at
 * the server) and must be gone after a second reconcile.
 */
const stuck = async (reconcileStartedAt: string) => {
  const claiming = await q(`SELECT id, owner, updated_at, updated_at > $1::timestamptz AS late FROM instances
    WHERE status = 'claiming'`, [reconcileStartedAt])
  const held = new Set((await q(`SELECT objid::text::bigint::int AS objid FROM pg_locks WHERE locktype = 'advisory'
    AND granted AND classid = ${lockClass}::oid
    AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`)).map((r) => Number(r.objid)))
  const ended = new Set((await q(`SELECT id FROM pool_process_ends`)).map((r) => String(r.id)))
  const dead = claiming.filter((r) => {
    const owner = r.owner as string | null
    return owner === null || ended.has(owner) || !held.has(lockObject(owner))
  })
  const deadClaims = dead.filter((r) => r.late !== true)
  const late = dead.filter((r) => r.late === true)
  for (const r of late) console.log(`  claim written after the reconcile began: ${JSON.stringify(r)}`)
  const oldStarts = await q(`SELECT id, host_id FROM instances WHERE status = 'starting'
    AND created_at < now() - interval '25 seconds'`)
  for (const r of [...deadClaims, ...oldStarts]) console.log(`  stuck: ${JSON.stringify(r)}`)
  return { stuck: deadClaims.length + oldStarts.length, late: late.length }
}

const orphanResources = async () =>
  Number((await q(`SELECT count(*)::int AS n FROM instance_resources r LEFT JOIN instances i ON i.id = r.instance_id
    WHERE i.id IS NULL`))[0]!.n)

// ------------------------------------------------------------------------------------------------ main

const main = async () => {
  await adminSql(`CREATE DATABASE ${dbName}`)
  db = ManagedRuntime.make(
    MigrationsLayer().pipe(Layer.provideMerge(PgClient.layer({ url: Redacted.make(dbUrl), maxConnections: 2 }))),
  )
  await q("SELECT 1")
  await Promise.all([startPool(0), startPool(1)])
  await call(1, "POST", "/api/pool/replenish", {})
  while (((await call(1, "GET", "/api/pool/counts")).json?.idle ?? 0) < 6) await sleep(200)
  const rssStart = rssOf(procs[1]!.pid)
  let rssPeak = rssStart

  const totals = {
    attempted: 0,
    succeeded: 0,
    doubleClaims: 0,
    stuck: 0,
    orphans: 0,
    unresolvedKeys: 0,
    unclean: 0,
    noAnswerFromKilled: 0,
    slowestKeyMs: 0,
    lateClaims: 0,
    stuckAfterSecond: 0,
  }
  const perFault = Object.fromEntries(faults.map((f) => [f, { rounds: 0, succeeded: 0, attempted: 0 }]))

  for (let round = 0; round < rounds; round++) {
    const fault = faults[round % faults.length]!
    const key = `chaos-${round}-${randomBytes(3).toString("hex")}`
    const joinUrl = `https://dev.convos.org/v2?i=chaos${round}x${randomBytes(3).toString("hex")}`
    const persona = { agentName: `Chaos ${round}`, instructions: "Stay calm." }
    const requests: Array<{ to: number; body: unknown; headers?: Record<string, string>; group: string }> = [
      { to: 0, body: persona, headers: { "idempotency-key": key }, group: "key" },
      { to: 1, body: persona, headers: { "idempotency-key": key }, group: "key" },
      { to: 0, body: { ...persona, joinUrl }, group: "join" },
      { to: 1, body: { ...persona, joinUrl }, group: "join" },
      { to: 0, body: persona, group: "plain" },
      { to: 1, body: persona, group: "plain" },
    ]
    // Each provision takes 600 ms, so the fault (within 0–600 ms) lands while claims are in flight; in a
    // "provision hangs" round every instance stops answering its provision (the pool's provision timeout ends it).
    setDefaultControl(fault === "provision hangs" ? { provision: "hang" } : { provisionDelayMs: 600 })
    const inFlight = requests.map((r) => call(r.to, "POST", "/api/pool/claim", r.body, r.headers ?? {}))
    await sleep(Math.floor(Math.random() * 600))
    let killed: number | null = null
    if (fault === "kill -9 pool") {
      killed = 0
      procs[0]!.kill("SIGKILL")
    } else if (fault === "db sessions terminated") {
      await adminSql(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1`, [dbName])
    } else if (fault === "kill -9 host") {
      const pids = hostPids()
      const victim = pids[Math.floor(Math.random() * pids.length)]
      if (victim !== undefined) {
        try {
          process.kill(-victim, "SIGKILL")
        } catch {
          // already gone
        }
      }
    }
    const answers = await Promise.all(inFlight)
    setDefaultControl({})
    if (killed !== null) await startPool(killed)

    // One reconcile by a survivor, then the invariants.
    const reconcileStartedAt = String((await q(`SELECT now()::text AS t`))[0]!.t)
    await call(1, "POST", "/api/pool/reconcile", {})
    totals.attempted += answers.length
    perFault[fault]!.rounds++
    perFault[fault]!.attempted += answers.length
    const byGroup = (g: string) => answers.filter((_, i) => requests[i]!.group === g && answers[i]!.status === 200)
    for (const [i, a] of answers.entries()) {
      if (a.status === 200) {
        totals.succeeded++
        perFault[fault]!.succeeded++
      }
      if (a.status === "no answer" && requests[i]!.to === killed) totals.noAnswerFromKilled++
      else if (!a.clean) {
        totals.unclean++
        console.log(`  not clean: ${a.status} ${JSON.stringify(a.json)?.slice(0, 200)}`)
      }
    }
    for (const g of ["key", "join"]) {
      const ids = new Set(byGroup(g).map((a) => a.json.instanceId))
      if (ids.size > 1) totals.doubleClaims++
    }
    const allIds = answers.filter((a) => a.status === 200).map((a) => a.json.instanceId as string)
    const shared = new Set([...byGroup("key"), ...byGroup("join")].map((a) => a.json.instanceId))
    const plainIds = byGroup("plain").map((a) => a.json.instanceId)
    if (new Set(plainIds).size < plainIds.length || plainIds.some((id) => shared.has(id))) totals.doubleClaims++
    totals.doubleClaims += await doubleJoins()
    const after = await stuck(reconcileStartedAt)
    totals.stuck += after.stuck
    totals.lateClaims += after.late
    if (after.stuck + after.late > 0) {
      await call(1, "POST", "/api/pool/reconcile", {})
      const again = await stuck("infinity")
      totals.stuckAfterSecond += again.stuck + again.late
    }
    totals.orphans += await orphanResources()

    // The key resolves: a retry answers within 10 s, with the first agent if one was handed out.
    const retry = await call(1, "POST", "/api/pool/claim", persona, { "idempotency-key": key }, 10_000)
    totals.slowestKeyMs = Math.max(totals.slowestKeyMs, retry.ms)
    const firstKeyed = byGroup("key")[0]?.json.instanceId
    if (retry.status === "no answer" || !retry.clean) totals.unresolvedKeys++
    else if (firstKeyed !== undefined && retry.status === 200 && retry.json.instanceId !== firstKeyed) totals.doubleClaims++
    if (retry.status === 200) allIds.push(retry.json.instanceId)

    // The round's agents go, so the pool keeps its size.
    await Promise.all([...new Set(allIds)].map((id) => call(1, "DELETE", `/api/pool/instances/${id}`)))
    rssPeak = Math.max(rssPeak, rssOf(procs[1]!.pid))
    process.stdout.write(
      `round ${round + 1}/${rounds} ${fault.padEnd(22)} ok ${answers.filter((a) => a.status === 200).length}/6 ` +
        `statuses ${answers.map((a) => a.status).join(",")}\n`,
    )
  }
  const rssEnd = rssOf(procs[1]!.pid)

  console.log("\nbench:chaos —", rounds, "rounds, 2 pool processes on one PostgreSQL database")
  console.log(`claims attempted ${totals.attempted}, succeeded ${totals.succeeded}`)
  for (const f of faults) {
    const p = perFault[f]!
    console.log(`  ${f.padEnd(24)} rounds ${p.rounds}, claims ${p.succeeded}/${p.attempted} succeeded`)
  }
  console.log(`double claims                          ${totals.doubleClaims} (must be 0)`)
  console.log(`instances stuck past one reconcile     ${totals.stuck} (must be 0)`)
  console.log(`  claims written after that reconcile began: ${totals.lateClaims}`)
  console.log(`  stuck after a second reconcile:     ${totals.stuckAfterSecond} (must be 0)`)
  console.log(`orphaned resource rows                 ${totals.orphans} (must be 0; no providers configured)`)
  console.log(`idempotency keys not resolved in 10 s  ${totals.unresolvedKeys} (must be 0; slowest ${totals.slowestKeyMs} ms)`)
  console.log(`answers not a clean JSON status        ${totals.unclean} (must be 0)`)
  console.log(`  connections cut by kill -9 of their own pool process: ${totals.noAnswerFromKilled} (not counted above)`)
  console.log(`pool RSS (process never killed)        ${rssStart.toFixed(0)} MB → ${rssEnd.toFixed(0)} MB (peak ${rssPeak.toFixed(0)} MB)`)
  const failed = totals.doubleClaims + totals.stuck + totals.stuckAfterSecond + totals.orphans + totals.unresolvedKeys +
    totals.unclean
  return failed === 0 ? 0 : 1
}

const cleanup = async () => {
  for (const p of procs) p?.kill("SIGKILL")
  killHostProcesses(dataDir)
  rmSync(dataDir, { recursive: true, force: true })
  await db?.dispose().catch(() => {})
  await adminSql(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`).catch(() => {})
  await admin.dispose()
}

main().then(
  async (code) => {
    await cleanup()
    process.exit(code)
  },
  async (error) => {
    console.error(error)
    await cleanup()
    process.exit(1)
  },
)
