/**
 * `npm run bench:density`: eight agents per gateway against today's one-agent shape, in one run, on this machine (fake
 * XMTP node, fake model, real OpenClaw gateways, PostgreSQL on 127.0.0.1 as in the tests).
 *
 * 1. Hosts alone (runtime/bench/host.ts): one host with 8 slots and, in the same run, 2 one-agent hosts: cold start to
 *    every slot ready, idle RSS of each host's process tree per agent, and hot-add (DELETE a slot, PUT a fresh one → ready).
 * 2. The product from chat (pool + manager + one 8-slot host): message → agent member from a warm slot, one spawn at
 *    a time (as bench:spawn measures today's shape); 8 "spawn a trip planner here" in a row in 8 groups (every one
 *    must succeed, none may answer "ask again"): message → agent member and → greeting; a turn
 *    in rotation across the 8 agents; a spawn from a hot-added slot (no warm slot free, the host has room); `kill -9`
 *    of the host's gateway → time until all 8 agents answer again in their groups.
 *
 * Prints the figures and the targets. BENCH_SETTLE_MS (default 10000) is the idle wait before RSS is read.
 * BENCH_ONLY=chat skips part 1 (the kill target then compares with this run's pool start); BENCH_TRACE=1 prints where
 * the 8 warm spawns spent their time, per product span; KEEP_E2E_LOGS keeps the hosts' logs.
 */
import type { Group } from "@xmtp/node-sdk"
import { ConfigProvider, Duration, Effect, Layer, ManagedRuntime } from "effect"
import { SqlClient } from "effect/sql"
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { LocalProcessLayer, runtimeCommand } from "../../pool/src/compute/LocalProcess.ts"
import { Claims } from "../../pool/src/db/Claims.ts"
import { Hosts } from "../../pool/src/db/Hosts.ts"
import { Instances } from "../../pool/src/db/Instances.ts"
import { HostClient } from "../../pool/src/HostClient.ts"
import { InstanceClient } from "../../pool/src/InstanceClient.ts"
import { InstanceTokens } from "../../pool/src/InstanceTokens.ts"
import { Templates } from "../../pool/src/web/Templates.ts"
import { Pool } from "../../pool/src/Pool.ts"
import { PoolConfig } from "../../pool/src/PoolConfig.ts"
import { PoolProcess } from "../../pool/src/PoolProcess.ts"
import { Reconciler } from "../../pool/src/Reconciler.ts"
import { ToolProviders } from "../../pool/src/resources/ToolProvider.ts"
import { runHostBench } from "../../runtime/bench/host.ts"
import { processTree } from "../../runtime/src/processTree.ts"
import { agentScript } from "../../runtime/test/agentScript.ts"
import { TestDatabaseLayer } from "../../test/db/testDatabase.ts"
import { startFakeModel } from "../../test/fakes/fakeModel.ts"
import { killHostProcesses } from "../../pool/test/support/poolHarness.ts"
import { startFakeXmtpNode } from "../../test/xmtp/fakeNode.ts"
import { ManagerLobby } from "../src/bot/XmtpChat.ts"
import { ManagerAgentLayer } from "../src/ManagerAgent.ts"
import { makeUser, waitFor, type User } from "../test/support/xmtpWorld.ts"
import { makeSpanTimes } from "./spanTimes.ts"

const SLOTS = 8
const SETTLE_MS = Number(process.env.BENCH_SETTLE_MS ?? "10000")
const READY_TIMEOUT = 600_000
const ROTATION_ROUNDS = 3
const WARM_ONE_AT_A_TIME = 5
const HOSTS_ALONE = process.env.BENCH_ONLY !== "chat"
const spans = process.env.BENCH_TRACE === "1" ? makeSpanTimes() : undefined

const log = (message: string) => process.stderr.write(`[bench:density] ${message}\n`)
const percentile = (values: ReadonlyArray<number>, p: number) => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.max(0, Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1))] ?? NaN
}
const ms = (values: ReadonlyArray<number>) =>
  `p50 ${String(Math.round(percentile(values, 50))).padStart(6)} ms   p99 ${String(Math.round(percentile(values, 99))).padStart(6)} ms   (n=${values.length})`

const root = mkdtempSync(join(tmpdir(), "bench-density-"))
const node = await startFakeXmtpNode()
const model = await startFakeModel(agentScript)
const lines: Array<string> = []
const out = (line: string) => {
  lines.push(line)
  log(line)
}

try {
  // ------------------------------------------------------------------------------------------ 1. hosts alone
  let coldStartMs: number | undefined
  if (HOSTS_ALONE) {
    log(`hosts alone: one ${SLOTS}-slot host, then two one-agent hosts`)
    const big = await runHostBench({ root, node, model, slots: SLOTS, settleMs: SETTLE_MS, adds: 3 })
    const singles = []
    for (let i = 0; i < 2; i++) {
      const dir = join(root, `single-${i}`)
      mkdirSync(dir)
      singles.push(await runHostBench({ root: dir, node, model, slots: 1, settleMs: SETTLE_MS, adds: 0 }))
    }
    const perAgentBig = big.idleRssMb / SLOTS
    const perAgentSingle = singles.reduce((sum, s) => sum + s.idleRssMb, 0) / singles.length
    out(`cold start → all ready: ${SLOTS}-slot host ${(big.coldStartMs / 1000).toFixed(1)} s; one-agent hosts ${singles.map((s) => (s.coldStartMs / 1000).toFixed(1)).join(" s, ")} s`)
    out(`idle RSS of the host tree: ${SLOTS}-slot ${big.idleRssMb} MB (${perAgentBig.toFixed(1)} MB per agent); one-agent ${singles.map((s) => s.idleRssMb).join(" MB, ")} MB`)
    out(`idle RSS per agent, ${SLOTS}-slot / one-agent: ${(perAgentBig / perAgentSingle).toFixed(3)} (target ≤ ${(1 / 6).toFixed(3)}; ≤ 180 MB per agent)`)
    out(`hot-add on the host (PUT → ready): ${ms(big.hotAddMs)}`)
    coldStartMs = big.coldStartMs
  }

  // ------------------------------------------------------------------------------------------ 2. from chat
  log(`the product from chat: pool + manager + one ${SLOTS}-slot host`)
  const dataDir = join(root, "pool")
  const poolLayer = Reconciler.layer.pipe(
    Layer.provideMerge(Pool.layer),
    Layer.provideMerge(
      Layer.mergeAll(
        Instances.layer,
        Hosts.layer,
        Claims.layer.pipe(Layer.provide(PoolProcess.layerAdvisory)),
        LocalProcessLayer({ dataDir, command: runtimeCommand, maxRestarts: 5, crashWindow: Duration.minutes(5) }),
        InstanceClient.layer,
        HostClient.layer,
        InstanceTokens.layerSecret("bench-density"),
        Templates.layer,
        PoolConfig.layerWith({
          targetIdle: SLOTS,
          maxTotal: SLOTS,
          agentsPerHost: SLOTS,
          createConcurrency: SLOTS,
          xmtpEnv: "local",
          reconcileInterval: Duration.seconds(1),
          startTimeout: Duration.millis(READY_TIMEOUT),
          xmtpApiUrl: node.apiUrl,
          sharedModel: { kind: "openai-compatible", baseUrl: model.baseUrl, apiKey: "sk-local", model: "fake-model" },
        }),
        PoolProcess.layerAdvisory,
        Layer.succeed(ToolProviders, ToolProviders.of([])),
      ),
    ),
  )
  const manager = ManagerAgentLayer({
    chat: { stateDir: join(root, "manager"), env: "local", apiUrl: node.apiUrl, name: "Manager", catchUpEvery: Duration.seconds(5) },
  }).pipe(Layer.provide(ConfigProvider.layer(ConfigProvider.fromUnknown({
    MANAGER_MAX_SPAWNS_PER_HOUR: "1000",
    MANAGER_MAX_SPAWNS_PER_HOUR_NEW_SENDER: "1000",
    MANAGER_MAX_SPAWNS_PER_HOUR_TOTAL: "1000",
  }))))
  const runtime = ManagedRuntime.make(
    // provideMerge: the hot-add phase turns replenish off through the pool's settings row.
    manager.pipe(
      Layer.provideMerge(Reconciler.loop.pipe(Layer.provideMerge(poolLayer))),
      Layer.provideMerge(TestDatabaseLayer({ maxConnections: 8 })),
      Layer.provide(spans?.layer ?? Layer.empty),
    ),
  )
  const run = <A>(effect: Effect.Effect<A, unknown, Pool | ManagerLobby | SqlClient.SqlClient>) => runtime.runPromise(effect)
  const users: Array<User> = []
  try {
    const lobby = await run(Effect.gen(function* () {
      return yield* ManagerLobby
    }))
    const hostStart = Date.now()
    await waitFor(() => run(Effect.gen(function* () {
      return (yield* (yield* Pool).counts).idle >= SLOTS || undefined
    })), "8 warm slots", READY_TIMEOUT)
    out(`pool: ${SLOTS} warm slots on one host ${((Date.now() - hostStart) / 1000).toFixed(1)} s after start`)
    coldStartMs ??= Date.now() - hostStart

    const alice = await makeUser(node.apiUrl)
    const bob = await makeUser(node.apiUrl)
    users.push(alice, bob)
    const groups: Array<Group> = []
    for (let i = 0; i < SLOTS; i++) {
      const group = (await alice.client.conversations.createGroup([lobby.inboxId, bob.client.inboxId])) as Group
      await group.addAdmin(lobby.inboxId)
      groups.push(group)
    }
    const fromManager = (group: Group) => alice.texts(group.id).filter((m) => m.sender === lobby.inboxId)
    for (const group of groups) await waitFor(() => fromManager(group).length > 0, "the manager's introduction", 60_000)
    const claimedIn = (group: Group, except?: string) => waitFor(() => run(Effect.gen(function* () {
      return (yield* (yield* Pool).list).find((row) => row.conversation_id === group.id && row.inbox_id !== null && row.inbox_id !== except)?.inbox_id ?? undefined
    })), "the claim for a group", 120_000)

    const refilled = () => waitFor(() => run(Effect.gen(function* () {
      const counts = yield* (yield* Pool).counts
      return counts.idle >= SLOTS && counts.starting === 0 ? true : undefined
    })), "8 warm slots", READY_TIMEOUT)

    // One spawn at a time from a warm slot on a quiet host, as bench:spawn measures today's shape: each after the
    // previous agent's greeting, its removal and the pool's refill; the first is a warm-up.
    const single: Array<number> = []
    for (let i = 0; i <= WARM_ONE_AT_A_TIME; i++) {
      if (i === 1) spans?.reset()
      const group = (await alice.client.conversations.createGroup([lobby.inboxId, bob.client.inboxId])) as Group
      await group.addAdmin(lobby.inboxId)
      await waitFor(() => fromManager(group).length > 0, "the manager's introduction", 60_000)
      const sent = Date.now()
      await group.sendText("spawn a trip planner here")
      const inbox = await claimedIn(group)
      const added = await waitFor(() => alice.addedAt(group.id, inbox), "the agent joining", 60_000)
      await waitFor(() => alice.texts(group.id).find((m) => m.sender === inbox)?.at, "the agent's greeting", 120_000)
      if (i > 0) single.push(added - sent)
      const before = fromManager(group).length
      await group.sendText("remove the trip planner")
      await waitFor(() => fromManager(group).length > before || undefined, "the removal reply", 60_000)
      await refilled()
    }
    out(`chat → agent member (warm slot, one spawn at a time): ${ms(single)} (target p50 ≤ 250 ms, as bench:spawn measures today's shape)`)
    if (spans) log(`where the one-at-a-time spawns spent their time (spans, with removals and refills):\n${spans.table()}`)

    // 8 spawns in a row, one per group, sent back to back.
    spans?.reset()
    const sentAt = new Map<string, number>()
    for (const group of groups) {
      sentAt.set(group.id, Date.now())
      await group.sendText("spawn a trip planner here")
    }
    const agentOf = new Map<string, string>()
    const member: Array<number> = []
    const greeting: Array<number> = []
    for (const group of groups) {
      const inbox = await claimedIn(group)
      agentOf.set(group.id, inbox)
      const greeted = await waitFor(() => alice.texts(group.id).find((m) => m.sender === inbox)?.at, "the agent's greeting", 120_000)
      const added = alice.addedAt(group.id, inbox)
      if (added !== undefined) member.push(added - sentAt.get(group.id)!)
      greeting.push(greeted - sentAt.get(group.id)!)
    }
    const refusals = groups.flatMap((g) => fromManager(g).filter((m) => /ask again|no capacity|can't start/i.test(m.text)))
    out(`8 spawns in a row in 8 groups: ${agentOf.size}/${SLOTS} joined, ${refusals.length} refused ("ask again"/no capacity)`)
    out(`chat → agent member (warm slot, during the 8 in a row): ${ms(member)}; the first of the row, with no spawn queued before it: ${member[0] ?? NaN} ms`)
    out(`chat → greeting: ${ms(greeting)}`)
    if (spans) log(`where the 8 warm spawns spent their time (spans, until every greeting):\n${spans.table()}`)

    // A turn in rotation across the 8 agents.
    const answer = async (group: Group, cue: string, timeoutMs: number) => {
      const inbox = agentOf.get(group.id)!
      const sent = Date.now()
      await group.sendText(`Trip Planner, PING-${cue}`)
      // The agent answers with a reply to the message: `said` has replies, `texts` only plain texts.
      await waitFor(() => alice.said(group.id).some((m) => m.sender === inbox && m.text.includes(`PONG-${cue}`)) || undefined, `PONG-${cue}`, timeoutMs)
      return Date.now() - sent
    }
    const rotation: Array<number> = []
    for (let round = 0; round < ROTATION_ROUNDS; round++) {
      for (const [i, group] of groups.entries()) rotation.push(await answer(group, `r${round}g${i}`, 60_000))
    }
    out(`a turn in rotation across the 8 agents: ${ms(rotation)} (target p50 ≤ 1.5 s)`)

    // kill -9 of the host's gateway: every agent must answer again in its group.
    const hostsDir = join(dataDir, "hosts")
    const [hostId] = readdirSync(hostsDir)
    const supervisorPid = Number(readFileSync(join(hostsDir, hostId!, "pid"), "utf8"))
    const gatewayPid = processTree(supervisorPid).find((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, "utf8").startsWith("openclaw-gateway")
      } catch {
        return false
      }
    })
    if (gatewayPid === undefined) throw new Error("no gateway process under the host")
    const killedAt = Date.now()
    process.kill(gatewayPid, "SIGKILL")
    // Each group asks again every few seconds, as a person would, until its agent answers. After the restart every
    // agent also reads back what was sent while it was down (instance.ts) and answers those asks in one turn.
    const back = await Promise.all(groups.map(async (group, i) => {
      const inbox = agentOf.get(group.id)!
      const answered = () => alice.said(group.id).some((m) => m.sender === inbox && m.text.includes(`PONG-k${i}-`))
      for (let attempt = 0; !answered(); attempt++) {
        if (Date.now() - killedAt > READY_TIMEOUT) throw new Error(`agent ${i} never answered after the kill`)
        await group.sendText(`Trip Planner, PING-k${i}-${attempt}`)
        await waitFor(() => answered() || undefined, "an answer", 5_000).catch(() => undefined)
      }
      return Date.now() - killedAt
    }))
    out(`kill -9 of the gateway → all 8 agents answer again: ${(Math.max(...back) / 1000).toFixed(1)} s (target ≤ cold start + 10 s = ${((coldStartMs + 10_000) / 1000).toFixed(1)} s)`)

    // A spawn from a hot-added slot: no warm slot is kept, one agent is removed so the host has room.
    await run(Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      yield* sql`UPDATE pool_settings SET target_idle = 0`
    }))
    const hotAdd: Array<number> = []
    for (const [i, group] of groups.slice(0, 3).entries()) {
      const gone = agentOf.get(group.id)!
      const before = fromManager(group).length
      await group.sendText("remove the trip planner")
      await waitFor(() => fromManager(group).length > before || undefined, "the removal reply", 60_000)
      await waitFor(() => run(Effect.gen(function* () {
        const counts = yield* (yield* Pool).counts
        return counts.idle === 0 && counts.starting === 0 ? true : undefined
      })), "no warm slot", 60_000)
      const sent = Date.now()
      await group.sendText("spawn a trip planner here")
      const inbox = await claimedIn(group, gone)
      const added = await waitFor(() => alice.addedAt(group.id, inbox), "the hot-added agent joining", 120_000)
      hotAdd.push(added - sent)
      agentOf.set(group.id, inbox)
      log(`hot-added spawn ${i + 1}: ${added - sent} ms`)
    }
    out(`chat → agent member (hot-added slot): ${ms(hotAdd)} (target p50 ≤ 4 s)`)
  } finally {
    await Promise.allSettled(users.map((u) => u.close()))
    await runtime.dispose()
    killHostProcesses(dataDir)
  }
  process.stdout.write(["bench:density — fake XMTP node, fake model, real OpenClaw gateways", ...lines].join("\n") + "\n")
} finally {
  await model.stop()
  await node.stop()
  if (process.env.KEEP_E2E_LOGS === undefined) rmSync(root, { recursive: true, force: true })
  else log(`kept ${root} (KEEP_E2E_LOGS)`)
}
process.exit(0)
