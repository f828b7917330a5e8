/**
 * `npm run bench:instance`: a bare `openclaw gateway run` (same version, minimal config) next to our host with one
 * slot (supervisor + gateway + convos plugin, HOST_CAPACITY=1), on this machine, all on loopback with the fake model
 * and fake XMTP node.
 *
 *   cold start → ready (p50 of BENCH_RUNS, default 5): bare = spawn → /readyz 200; ours = spawn → the slot ready in
 *     `GET /host/health` (its PUT sent as soon as the host listens; includes XMTP registration and the warm-up turn);
 *   idle RSS (p50): every process of the host, summed, a few seconds after ready;
 *   add → greeting (ours, p50): provision `add`, the user adds the agent, until the greeting reaches the user.
 *
 * The same figures again with the agents' tools on (the provision's skills and an OpenRouter-shaped key, so search
 * is on too; a slot has its tools only once provisioned, so the ready time and idle RSS differ by the key alone): all of them, then each skill alone (BENCH_TOOLS=all for only the first, none for neither), each against
 * the tool-less host of the same run, so the table says what each capability costs in start time and memory.
 *
 * Runs one gateway at a time. Prints a table and the targets (cold ≤ 1.25×, RSS ≤ 1.15×, greeting p50 ≤ 1.5 s).
 */
import { spawn } from "node:child_process"
import { randomBytes } from "node:crypto"
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { ConvosClient } from "../../convos/index.ts"
import { startFakeModel } from "../../test/fakes/fakeModel.ts"
import { startFakeXmtpNode } from "../../test/xmtp/fakeNode.ts"
import { freePort } from "../src/freePort.ts"
import { OPENCLAW_ENTRY, OPENCLAW_VERSION, waitForOk } from "../src/gatewayProcess.ts"
import { killTree, treeRssBytes } from "../src/processTree.ts"
import { agentScript } from "../test/agentScript.ts"
import { fakeNetworkEnv, newSlotId, slotSpecFor, startRuntimeHost, waitFor } from "../test/harness.ts"

const RUNS = Number(process.env.BENCH_RUNS ?? "5")
const SETTLE_MS = Number(process.env.BENCH_SETTLE_MS ?? "5000")
const READY_TIMEOUT_MS = 400_000

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))
const p50 = (values: Array<number>) => {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? (sorted[mid] ?? NaN) : ((sorted[mid - 1] ?? NaN) + (sorted[mid] ?? NaN)) / 2
}
const mb = (bytes: number) => bytes / 1024 / 1024
const log = (message: string) => console.error(`[bench] ${message}`)

const root = mkdtempSync(join(tmpdir(), "bench-instance-"))
const model = await startFakeModel(agentScript)
const node = await startFakeXmtpNode()

/** The research's minimal verified config, pointed at the same fake model. */
const bareConfig = (stateDir: string, port: number, token: string) => ({
  gateway: { mode: "local", port, bind: "loopback", auth: { mode: "token", token } },
  agents: { defaults: { workspace: join(stateDir, "workspace"), skipBootstrap: true, model: { primary: "fake/fake-model" } } },
  models: {
    mode: "merge",
    providers: {
      fake: {
        baseUrl: model.baseUrl,
        apiKey: "sk-local",
        api: "openai-completions",
        models: [{ id: "fake-model", name: "Fake", reasoning: false, input: ["text"], cost: { input: 0, output: 0, cacheRead: 0, cacheWrite: 0 }, contextWindow: 128000, maxTokens: 4096 }],
      },
    },
  },
})

const benchBare = async (run: number) => {
  const stateDir = join(root, `bare-${run}`)
  mkdirSync(join(stateDir, "tmp"), { recursive: true })
  const port = await freePort()
  const token = randomBytes(16).toString("hex")
  writeFileSync(join(stateDir, "openclaw.json"), JSON.stringify(bareConfig(stateDir, port, token)))
  const started = Date.now()
  const child = spawn(process.execPath, [OPENCLAW_ENTRY, "gateway", "run", "--port", String(port)], {
    env: {
      PATH: process.env.PATH ?? "",
      HOME: process.env.HOME ?? "/tmp",
      OPENCLAW_STATE_DIR: stateDir,
      OPENCLAW_OFFLINE: "1",
      OPENCLAW_NO_AUTO_UPDATE: "1",
      OPENCLAW_DISABLE_BONJOUR: "1",
      TMPDIR: join(stateDir, "tmp"),
    },
    stdio: "ignore",
  })
  const pid = child.pid ?? 0
  try {
    const ok = await waitForOk(`http://127.0.0.1:${port}/readyz`, { timeoutMs: READY_TIMEOUT_MS, intervalMs: 50 })
    if (!ok) throw new Error("bare gateway never became ready")
    const readyMs = Date.now() - started
    await sleep(SETTLE_MS)
    const rss = treeRssBytes(pid)
    return { readyMs, rss }
  } finally {
    killTree(pid, "SIGKILL")
    await sleep(500)
  }
}

/** The tool variants measured besides the tool-less host: name → the slot's skill tags. */
const TOOL_VARIANTS: Array<{ readonly name: string; readonly skills: string }> = (() => {
  const all = { name: "+ all tools", skills: "web,memory,reminders" }
  const each = ["web", "memory", "reminders"].map((skill) => ({ name: `+ ${skill} only`, skills: skill }))
  const which = process.env.BENCH_TOOLS ?? "each"
  return which === "none" ? [] : which === "all" ? [all] : [all, ...each]
})()

const benchOurs = async (run: number, skills?: string) => {
  // Each host its own state dir: a host restarts with the slots its dir holds.
  const label = `ours-${run}${skills === undefined ? "" : `-${skills.replace(/\W+/g, "-")}`}`
  const started = Date.now()
  const host = await startRuntimeHost({
    stateDir: join(root, label, "state"),
    logFile: join(root, `${label}.log`),
    capacity: 1,
    env: { ...fakeNetworkEnv(node), RUNTIME_GATEWAY_START_TIMEOUT_MS: String(READY_TIMEOUT_MS) },
  })
  const user = await ConvosClient.open({ stateDir: join(root, `user-${label}`), env: "local", apiUrl: node.apiUrl, encryptionKey: "", dbPath: null })
  const slotId = newSlotId()
  try {
    await waitFor("the host to listen", () => host.health().then(() => true, () => undefined), READY_TIMEOUT_MS)
    const plain = slotSpecFor(model, slotId, {})
    // An OpenRouter-shaped key turns search on (served by the fake model, never called while idle).
    const spec = skills === undefined || plain.model.kind !== "openai-compatible" ? plain : { ...plain, model: { ...plain.model, apiKey: `sk-or-bench-${slotId}` } }
    const put = await host.putSlot(slotId, spec)
    if (put.status !== 200) throw new Error(`PUT failed: ${JSON.stringify(put.body)}`)
    await host.waitSlotsReady([slotId], READY_TIMEOUT_MS)
    const readyMs = Date.now() - started
    await sleep(SETTLE_MS)
    const rss = host.rssBytes()
    if (process.env.BENCH_VERBOSE) log(`process tree: ${host.describeTree()}`)
    const agentInbox = (await host.health()).slots[0]?.inboxId ?? ""
    const group = await user.createConversation({ name: `bench ${run}`, permissions: "all_members" })
    let greeted: (() => void) | undefined
    const greeting = new Promise<void>((resolve) => (greeted = resolve))
    user.onMessage((event) => {
      if (event.conversationId === group.conversationId && event.senderInboxId === agentInbox && event.kind === "text") greeted?.()
    })
    const claimStarted = Date.now()
    const provisioned = await host.slot(slotId).provision({
      agentName: "Bench Agent",
      instructions: "Be brief.",
      mode: "add",
      conversationId: group.conversationId,
      addedBy: user.inboxId,
      // The tool-less host: no skills at all (a provision naming none would get the free-form default).
      skills: skills === undefined ? [] : skills.split(","),
    })
    if (provisioned.status !== 200) throw new Error(`provision failed: ${JSON.stringify(provisioned.body)}`)
    await user.addMembers(group.conversationId, [agentInbox])
    const addedAt = Date.now()
    await Promise.race([greeting, sleep(60_000).then(() => Promise.reject(new Error("no greeting within 60 s")))])
    const now = Date.now()
    return { readyMs, rss, addToGreetingMs: now - addedAt, claimToGreetingMs: now - claimStarted }
  } finally {
    await user.close()
    await host.stop()
  }
}

const bare: Array<{ readyMs: number; rss: number }> = []
type OursRun = { readyMs: number; rss: number; addToGreetingMs: number; claimToGreetingMs: number }
const ours: Array<OursRun> = []
const withTools = new Map<string, Array<OursRun>>(TOOL_VARIANTS.map((v) => [v.name, []]))
try {
  log(`openclaw ${OPENCLAW_VERSION}, ${RUNS} runs each, alternating bare / ours, one gateway at a time`)
  for (let run = 1; run <= RUNS; run++) {
    if (process.env.BENCH_ONLY !== "ours") {
      const b = await benchBare(run)
      bare.push(b)
      log(`bare #${run}: ready ${b.readyMs} ms, idle RSS ${mb(b.rss).toFixed(0)} MB`)
    }
    const o = await benchOurs(run)
    ours.push(o)
    log(`ours #${run}: ready ${o.readyMs} ms, idle RSS ${mb(o.rss).toFixed(0)} MB, add→greeting ${o.addToGreetingMs} ms (provision→greeting ${o.claimToGreetingMs} ms)`)
    for (const variant of TOOL_VARIANTS) {
      const t = await benchOurs(run, variant.skills)
      withTools.get(variant.name)?.push(t)
      log(`ours ${variant.name} #${run}: ready ${t.readyMs} ms, idle RSS ${mb(t.rss).toFixed(0)} MB, add→greeting ${t.addToGreetingMs} ms`)
    }
  }
} finally {
  await model.stop()
  await node.stop()
  rmSync(root, { recursive: true, force: true })
}

const bareReady = p50(bare.map((r) => r.readyMs))
const oursReady = p50(ours.map((r) => r.readyMs))
const bareRss = p50(bare.map((r) => r.rss))
const oursRss = p50(ours.map((r) => r.rss))
const greeting = p50(ours.map((r) => r.addToGreetingMs))
const row = (name: string, bareValue: string, oursValue: string, ratio: string, target: string) =>
  `${name.padEnd(28)}${bareValue.padStart(14)}${oursValue.padStart(14)}${ratio.padStart(10)}   ${target}`
console.log(`\nopenclaw ${OPENCLAW_VERSION} · ${RUNS} runs · p50\n`)
console.log(row("", "bare gateway", "1-slot host", "ratio", "target"))
console.log(row("cold start → ready", `${(bareReady / 1000).toFixed(2)} s`, `${(oursReady / 1000).toFixed(2)} s`, `${(oursReady / bareReady).toFixed(2)}×`, `≤ 1.25× ${oursReady <= 1.25 * bareReady ? "✓" : "✗"}`))
console.log(row("idle RSS (all processes)", `${mb(bareRss).toFixed(0)} MB`, `${mb(oursRss).toFixed(0)} MB`, `${(oursRss / bareRss).toFixed(2)}×`, `≤ 1.15× ${oursRss <= 1.15 * bareRss ? "✓" : "✗"}`))
console.log(row("add → greeting", "n/a", `${(greeting / 1000).toFixed(2)} s`, "", `≤ 1.5 s ${greeting <= 1_500 ? "✓" : "✗"}`))
if (TOOL_VARIANTS.length > 0) {
  const signed = (value: number, unit: string, digits: number) => `${value >= 0 ? "+" : ""}${value.toFixed(digits)} ${unit}`
  console.log(`
with the agents' tools (p50; cost = against the tool-less host above, same runs)
`)
  console.log(`${"".padEnd(22)}${"ready".padStart(10)}${"vs bare".padStart(10)}${"cost".padStart(11)}${"idle RSS".padStart(11)}${"vs bare".padStart(10)}${"cost".padStart(10)}${"greeting".padStart(11)}`)
  for (const [name, runs] of withTools) {
    const ready = p50(runs.map((r) => r.readyMs))
    const rss = p50(runs.map((r) => r.rss))
    console.log(
      `${name.padEnd(22)}${`${(ready / 1000).toFixed(2)} s`.padStart(10)}${`${(ready / bareReady).toFixed(2)}×`.padStart(10)}${signed((ready - oursReady) / 1000, "s", 2).padStart(11)}` +
        `${`${mb(rss).toFixed(0)} MB`.padStart(11)}${`${(rss / bareRss).toFixed(2)}×`.padStart(10)}${signed(mb(rss - oursRss), "MB", 0).padStart(10)}${`${(p50(runs.map((r) => r.addToGreetingMs)) / 1000).toFixed(2)} s`.padStart(11)}`,
    )
  }
}
process.exit(0)
