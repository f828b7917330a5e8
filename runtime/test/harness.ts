/**
 * Test and bench harness for the real runtime host: spawns `runtime/src/main.ts` (supervisor + real OpenClaw gateway)
 * exactly as the pool's local compute provider does, and speaks the host contract to it. Everything on 127.0.0.1.
 *
 *   const host = await startRuntimeHost({ stateDir, logFile, capacity: 8, env: fakeNetworkEnv(node) })
 *   await host.putSlot("slotaaaa", slotSpecFor(model, "slotaaaa"))   // hot-adds a slot
 *   await host.waitSlotsReady(["slotaaaa"], RUNTIME_READY_TIMEOUT)   // ms until every one is ready
 *   await host.slot("slotaaaa").provision({ mode: "create", agentName: "Chef", instructions: "…" })
 *
 * `npm run bench:instance` and the density bench drive hosts through these same helpers.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { randomBytes } from "node:crypto"
import { createWriteStream, readFileSync } from "node:fs"
import { mkdtemp, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import { createServer, type Server } from "node:http"
import { join, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { type HostHealth, hostLaunch, paths, type SkillTag, type SlotHealth, type SlotSpec } from "../../contract/index.ts"
import { ConvosClient, type ConvosMessageEvent } from "../../convos/index.ts"
import { type FakeModel, type FakeModelScript, startFakeModel } from "../../test/fakes/fakeModel.ts"
import { type FakeXmtpNode, startFakeXmtpNode } from "../../test/xmtp/fakeNode.ts"
import { freePort } from "../src/freePort.ts"
import { killTree, processTree, treeRssBytes } from "../src/processTree.ts"
import { agentScript } from "./agentScript.ts"

export const REPO_ROOT = resolve(fileURLToPath(import.meta.url), "../../..")

export interface Answer<A = Record<string, unknown>> {
  readonly status: number
  readonly body: A
}

/** One slot as its owner (the pool) talks to it: with that slot's own token. */
export interface SlotClient {
  readonly slotId: string
  readonly token: string
  health(): Promise<Answer<SlotHealth & Record<string, unknown>>>
  provision(body: unknown): Promise<Answer>
  configure(body: unknown): Promise<Answer>
  reset(): Promise<Answer>
}

export interface RuntimeHost {
  readonly port: number
  readonly url: string
  readonly hostId: string
  readonly hostToken: string
  readonly stateDir: string
  readonly process: ChildProcess
  readonly exited: Promise<number | null>
  health(): Promise<HostHealth>
  /** `PUT /host/slots/:slotId`; remembers the token for `slot()`. */
  putSlot(slotId: string, spec: SlotSpec): Promise<Answer>
  deleteSlot(slotId: string): Promise<Answer>
  /** A client for a slot this harness put (or one with an explicit token). */
  slot(slotId: string, token?: string): SlotClient
  /** Polls the host health until every one of `slotIds` is ready. Returns the ms it took. */
  waitSlotsReady(slotIds: ReadonlyArray<string>, timeoutMs: number): Promise<number>
  /** The pid of the `openclaw-gateway` process under the supervisor. */
  gatewayPid(): number | undefined
  rssBytes(): number
  /** "pid name rssMB" for every process of the host. */
  describeTree(): string
  stop(): Promise<void>
}

const json = async <A>(response: Response): Promise<Answer<A>> => ({ status: response.status, body: (await response.json()) as A })

export const startRuntimeHost = async (options: {
  readonly stateDir: string
  readonly env: Record<string, string>
  readonly logFile: string
  readonly capacity?: number
  /** Reuse an earlier host's port and token (a restart on the same state dir). */
  readonly port?: number
  readonly hostToken?: string
  readonly hostId?: string
}): Promise<RuntimeHost> => {
  const port = options.port ?? (await freePort())
  const hostId = options.hostId ?? `host${port}`
  const hostToken = options.hostToken ?? randomBytes(24).toString("hex")
  const log = createWriteStream(options.logFile, { flags: "a" })
  const child = spawn(process.execPath, [...hostLaunch.nodeFlags, hostLaunch.entry], {
    cwd: REPO_ROOT,
    env: {
      PATH: process.env.PATH ?? "",
      HOME: process.env.HOME ?? "/tmp",
      HOST_ID: hostId,
      HOST_TOKEN: hostToken,
      HOST_CAPACITY: String(options.capacity ?? 8),
      PORT: String(port),
      STATE_DIR: options.stateDir,
      ...options.env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  })
  child.stdout?.pipe(log, { end: false })
  child.stderr?.pipe(log, { end: false })
  const pid = child.pid
  if (pid === undefined) throw new Error("could not spawn the runtime")
  const exited = new Promise<number | null>((resolvePromise) => child.once("exit", (code) => resolvePromise(code)))
  const url = `http://127.0.0.1:${port}`
  const hostHeaders = { authorization: `Bearer ${hostToken}`, "content-type": "application/json" }
  const tokens = new Map<string, string>()
  const host: RuntimeHost = {
    port,
    url,
    hostId,
    hostToken,
    stateDir: options.stateDir,
    process: child,
    exited,
    async health() {
      const response = await fetch(`${url}${paths.hostHealth}`, { headers: hostHeaders, signal: AbortSignal.timeout(5_000) })
      if (!response.ok) throw new Error(`host health answered ${response.status}`)
      return (await response.json()) as HostHealth
    },
    async putSlot(slotId, spec) {
      const answer = await json<Record<string, unknown>>(await fetch(`${url}${paths.hostSlot(slotId)}`, { method: "PUT", headers: hostHeaders, body: JSON.stringify(spec), signal: AbortSignal.timeout(30_000) }))
      if (answer.status === 200) tokens.set(slotId, spec.token)
      return answer
    },
    async deleteSlot(slotId) {
      return json<Record<string, unknown>>(await fetch(`${url}${paths.hostSlot(slotId)}`, { method: "DELETE", headers: hostHeaders, signal: AbortSignal.timeout(90_000) }))
    },
    slot(slotId, token) {
      const slotToken = token ?? tokens.get(slotId) ?? ""
      const headers = { authorization: `Bearer ${slotToken}`, "content-type": "application/json" }
      const post = async (path: string, body: unknown) =>
        json<Record<string, unknown>>(await fetch(`${url}${path}`, { method: "POST", headers, body: JSON.stringify(body), signal: AbortSignal.timeout(60_000) }))
      return {
        slotId,
        token: slotToken,
        health: async () => json<SlotHealth & Record<string, unknown>>(await fetch(`${url}${paths.slotHealth(slotId)}`, { headers, signal: AbortSignal.timeout(5_000) })),
        provision: (body) => post(paths.slotProvision(slotId), body),
        configure: (body) => post(paths.slotConfigure(slotId), body),
        reset: () => post(paths.slotReset(slotId), {}),
      }
    },
    async waitSlotsReady(slotIds, timeoutMs) {
      const started = Date.now()
      while (Date.now() - started < timeoutMs) {
        if (child.exitCode !== null) throw new Error(`runtime exited with ${child.exitCode}; see ${options.logFile}`)
        try {
          const health = await host.health()
          if (slotIds.every((slotId) => health.slots.find((s) => s.slotId === slotId)?.ready === true)) return Date.now() - started
        } catch {
          // not listening yet
        }
        await new Promise((r) => setTimeout(r, 100))
      }
      throw new Error(`slots ${slotIds.join(", ")} not ready after ${timeoutMs} ms; see ${options.logFile}`)
    },
    gatewayPid() {
      return processTree(pid).find((member) => {
        try {
          return readFileSync(`/proc/${member}/cmdline`, "utf8").startsWith("openclaw-gateway")
        } catch {
          return false
        }
      })
    },
    rssBytes: () => treeRssBytes(pid),
    describeTree: () =>
      processTree(pid)
        .map((member) => {
          try {
            const name = readFileSync(`/proc/${member}/cmdline`, "utf8").split("\0").slice(0, 2).join(" ").slice(0, 60)
            return `${member} ${name} ${(treeRssBytes(member) / 1048576).toFixed(0)}MB(tree)`
          } catch {
            return `${member} ?`
          }
        })
        .join(" | "),
    async stop() {
      if (child.exitCode === null) {
        const members = processTree(pid)
        child.kill("SIGTERM")
        const timer = setTimeout(() => killTree(pid, "SIGKILL"), 20_000)
        await exited
        clearTimeout(timer)
        // Anything left behind (it should not be) dies too.
        for (const member of members) {
          try {
            process.kill(member, "SIGKILL")
          } catch {
            // gone
          }
        }
      }
      log.end()
    },
  }
  return host
}

/** A fresh slot id (the pool's instance ids have the same shape). */
export const newSlotId = () => `s${randomBytes(8).toString("hex").slice(0, 11)}`

/** The model key a test gives a slot: recognisable per slot, so the fake model shows whose key a call carried. */
export const modelKeyOf = (slotId: string) => `sk-key-of-${slotId}`

/** A slot on the fake model with its own key, its own token, and the given tool variables. */
export const slotSpecFor = (model: { readonly baseUrl: string }, slotId: string, tools: Record<string, string> = {}): SlotSpec => ({
  token: randomBytes(24).toString("hex"),
  model: { kind: "openai-compatible", baseUrl: model.baseUrl, apiKey: modelKeyOf(slotId), model: "fake-model" },
  tools,
})

/** A stand-in for the pool's slot callbacks (`/api/pool/self-destruct`, `/api/pool/joined`). */
export const startFakePool = async () => {
  const calls: Array<{ path: string; body: Record<string, unknown> }> = []
  const server: Server = createServer((req, res) => {
    const parts: Array<Buffer> = []
    req.on("data", (part: Buffer) => parts.push(part))
    req.on("end", () => {
      calls.push({ path: req.url ?? "", body: JSON.parse(Buffer.concat(parts).toString("utf8") || "{}") as Record<string, unknown> })
      res.writeHead(200, { "content-type": "application/json" })
      res.end('{"ok":true}')
    })
  })
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()))
  const address = server.address()
  const port = typeof address === "object" && address ? address.port : 0
  return {
    url: `http://127.0.0.1:${port}`,
    calls,
    stop: () => new Promise<void>((r) => server.close(() => r())),
  }
}

export const waitFor = async <T>(what: string, probe: () => T | undefined | Promise<T | undefined>, timeoutMs: number): Promise<T> => {
  const started = Date.now()
  while (Date.now() - started < timeoutMs) {
    const value = await probe()
    if (value !== undefined) return value
    await new Promise((r) => setTimeout(r, 100))
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
}

export const logPath = (dir: string, name: string) => join(dir, `${name}.log`)

/** The host environment on the fake XMTP node (start timeout generous for busy CI). Models come per slot. */
export const fakeNetworkEnv = (node: { readonly apiUrl: string }): Record<string, string> => ({
  XMTP_ENV: "local",
  XMTP_API_URL: node.apiUrl,
  RUNTIME_GATEWAY_START_TIMEOUT_MS: "400000",
})

/** A person on the fake XMTP node; `received` holds every message they get, in order. */
export const openRecordingUser = async (stateDir: string, apiUrl: string) => {
  const received: Array<ConvosMessageEvent> = []
  const user = await ConvosClient.open({ stateDir, env: "local", apiUrl, encryptionKey: "", dbPath: null })
  user.onMessage((event) => void received.push(event))
  return { user, received }
}

/** The texts and replies `senderInboxId` wrote in one conversation. */
export const textsFrom = (received: ReadonlyArray<ConvosMessageEvent>, conversationId: string, senderInboxId: string) =>
  received.filter((e) => e.conversationId === conversationId && e.senderInboxId === senderInboxId && (e.kind === "text" || e.kind === "reply"))

/**
 * A new group of the user's with a slot's agent in it, as the pool does it (provision in `add` mode, then the add):
 * waits for the agent's greeting and returns the group's id.
 */
export const addAgentToNewGroup = async (
  world: Pick<RuntimeWorld, "host" | "user" | "received">,
  agent: { readonly slotId: string; readonly inboxId: string; readonly name: string; readonly skills?: ReadonlyArray<SkillTag> },
): Promise<string> => {
  const { host, user, received } = world
  const group = await user.createConversation({ name: `${agent.name}'s group`, permissions: "all_members", profile: { name: "Alice", isAgent: false } })
  const provisioned = await host.slot(agent.slotId).provision({
    agentName: agent.name,
    instructions: `You are ${agent.name}.`,
    mode: "add",
    conversationId: group.conversationId,
    addedBy: user.inboxId,
    ...(agent.skills ? { skills: agent.skills } : {}),
  })
  if (provisioned.status !== 200) throw new Error(`provision of ${agent.name}: ${JSON.stringify(provisioned)}`)
  await user.addMembers(group.conversationId, [agent.inboxId])
  await waitFor(`${agent.name}'s greeting`, () => textsFrom(received, group.conversationId, agent.inboxId).find((e) => e.text?.includes(`I'm ${agent.name}`)), 90_000)
  return group.conversationId
}

/** Generous: a gateway start takes seconds alone and much longer on a busy 2-core CI machine. */
export const RUNTIME_READY_TIMEOUT = 240_000

/** One runtime e2e file's world: the fake network, one host with ready slots, one recording user; `stop` undoes it all. */
export interface RuntimeWorld {
  readonly root: string
  readonly node: FakeXmtpNode
  readonly model: FakeModel
  /** The stand-in for the pool's slot callbacks, when asked for. */
  readonly pool: Awaited<ReturnType<typeof startFakePool>> | undefined
  readonly host: RuntimeHost
  /** The slots the host started with, ready. */
  readonly slotIds: ReadonlyArray<string>
  /** Each slot's XMTP inbox. */
  readonly inboxOf: ReadonlyMap<string, string>
  readonly user: ConvosClient
  readonly received: Array<ConvosMessageEvent>
  stop(): Promise<void>
}

export const startRuntimeWorld = async (
  name: string,
  options: {
    readonly fakePool?: boolean
    readonly slots?: number
    readonly capacity?: number
    /** The tool variables of the n-th slot. */
    readonly toolsOf?: (index: number) => Record<string, string>
    /** The model key of the n-th slot (default: modelKeyOf its id). */
    readonly keyOf?: (index: number, slotId: string) => string
    /** More host environment. */
    readonly env?: Record<string, string>
    readonly script?: FakeModelScript
  } = {},
): Promise<RuntimeWorld> => {
  const root = await mkdtemp(join(tmpdir(), `runtime-${name}-e2e-`))
  const node = await startFakeXmtpNode()
  const model = await startFakeModel(options.script ?? agentScript)
  const pool = options.fakePool ? await startFakePool() : undefined
  const host = await startRuntimeHost({
    stateDir: join(root, "host"),
    logFile: logPath(root, "runtime"),
    capacity: options.capacity ?? 8,
    env: { ...fakeNetworkEnv(node), ...(pool ? { POOL_URL: pool.url } : {}), ...options.env },
  })
  const slotIds = Array.from({ length: options.slots ?? 1 }, newSlotId)
  // Put as soon as the host listens (before its gateway is up): a host starts with its slots.
  await waitFor("the host to listen", () => host.health().then(() => true, () => undefined), 60_000)
  for (const [index, slotId] of slotIds.entries()) {
    const spec = slotSpecFor(model, slotId, options.toolsOf?.(index) ?? {})
    const key = options.keyOf?.(index, slotId)
    const put = await host.putSlot(slotId, key === undefined || spec.model.kind !== "openai-compatible" ? spec : { ...spec, model: { ...spec.model, apiKey: key } })
    if (put.status !== 200) throw new Error(`PUT ${slotId}: ${JSON.stringify(put.body)}`)
  }
  await host.waitSlotsReady(slotIds, RUNTIME_READY_TIMEOUT)
  const health = await host.health()
  const inboxOf = new Map(health.slots.map((s) => [s.slotId, s.inboxId ?? ""]))
  const { user, received } = await openRecordingUser(join(root, "user"), node.apiUrl)
  return {
    root, node, model, pool, host, slotIds, inboxOf, user, received,
    async stop() {
      await user.close()
      await host.stop()
      await pool?.stop()
      await model.stop()
      await node.stop()
      if (process.env.KEEP_E2E_LOGS === undefined) await rm(root, { recursive: true, force: true })
      else process.stderr.write(`e2e logs kept in ${root}\n`)
    },
  }
}
