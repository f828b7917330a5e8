/**
 * The host supervisor: keeps the host's slots (persisted under STATE_DIR), writes the gateway config from them (the
 * only writer, atomically), runs the gateway (restarting it on crashes with back-off, giving up after repeated quick
 * crashes), serves the host and slot routes, forwards each agent's email and SMS to the pool as its own slot, and
 * tells the pool, per slot, when a pending join completed or a conversation ended.
 * Over 400 lines: one class, because the slot map, the config writes and the gateway loop share one serial queue and
 * one view of the gateway; its decisions are pure and tested apart (restartPolicy.ts, gatewayConfig.ts, configNotApplied).
 */
import { randomBytes } from "node:crypto"
import type { Server } from "node:http"
import type { HostHealth, SlotHealth, SlotSpec } from "../../contract/index.ts"
import type { InstanceStatus } from "../extensions/convos/src/instance.ts"
import { type Answer, type ForwardedAction, type HostBackend, startHostServer } from "./contractServer.ts"
import { freePort } from "./freePort.ts"
import { buildGatewayConfig, type ConfigSlot } from "./gatewayConfig.ts"
import { buildGatewayEnv } from "./gatewayEnv.ts"
import { OPENCLAW_VERSION, type RunningGateway, startGateway, waitForOk } from "./gatewayProcess.ts"
import type { HostSettings } from "./hostEnv.ts"
import { bearerMatches } from "./jsonHttp.ts"
import { type HostPaths, hostPaths, loadSlotSpecs, prepareHost, prepareSlot, removeSlotDir, RUNTIME_DIR, saveSlotSpec, slotPaths, writeFileAtomically } from "./layout.ts"
import { decideRestart, defaultRestartPolicy, noCrashes, type RestartPolicy } from "./restartPolicy.ts"
import { startToolForwardingServer } from "./toolForwarding.ts"

export const RUNTIME_VERSION = `convos-agents-runtime/0.2.0 openclaw/${OPENCLAW_VERSION}`

export interface SupervisorLog {
  info(message: string): void
  error(message: string): void
}

/** What the plugin reports of all its accounts (`GET /convos/control/status`). */
export interface PluginStatus {
  readonly accounts: Readonly<Record<string, InstanceStatus>>
  readonly errors: Readonly<Record<string, string>>
  /** The enabled accounts of the config the gateway runs now (null before the plugin has its runtime). */
  readonly configured: ReadonlyArray<string> | null
}

/**
 * Pure: whether the gateway runs a config other than the one last written (its watcher can miss a write), given the
 * enabled accounts it reports, the slots that should be enabled, and how long ago the last write was.
 */
export const configNotApplied = (configured: ReadonlyArray<string> | null, expected: ReadonlyArray<string>, sinceWriteMs: number, graceMs = CONFIG_APPLY_GRACE_MS): boolean =>
  configured !== null && sinceWriteMs >= graceMs && (configured.length !== expected.length || expected.some((slotId) => !configured.includes(slotId)))

/** How long the gateway gets to apply a config write before the supervisor writes it again. */
const CONFIG_APPLY_GRACE_MS = 10_000

/** How long a slot waits before asking the pool again after a failed call. */
const POOL_RETRY_MS = 10_000

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))
const message = (error: unknown) => (error instanceof Error ? error.message : String(error))

export interface SupervisorOptions {
  readonly host: HostSettings
  readonly log: SupervisorLog
  readonly restartPolicy?: RestartPolicy
  /** How long a gateway may take to become ready before it counts as a failed start. */
  readonly startTimeoutMs?: number
  /** How long a deleted slot's agent may take to leave its conversation. */
  readonly leaveTimeoutMs?: number
}

interface Slot {
  spec: SlotSpec
  /** Being deleted: not ready, no calls to the pool for it. */
  removing: boolean
  /** The pool was told this slot's conversation ended (told once per supervisor run). */
  toldEnded: boolean
  /** Not before this time is the pool asked again (after a failed call). */
  retryPoolAt: number
  lastInboxId: string | null
  lastConversationId: string | null
}

const newSlot = (spec: SlotSpec): Slot => ({ spec, removing: false, toldEnded: false, retryPoolAt: 0, lastInboxId: null, lastConversationId: null })

export class Supervisor {
  private readonly gatewayToken = randomBytes(32).toString("hex")
  private readonly paths: HostPaths
  private readonly slots = new Map<string, Slot>()
  /** Deleted slots whose convos account stays a disabled stub until the next gateway start (gatewayConfig.ts). */
  private readonly retired = new Set<string>()
  /** Slots being deleted whose account is stopped (disabled) while their agent entry stays until it has stopped. */
  private readonly accountStopped = new Set<string>()
  /** Deletions in progress: a second DELETE of the same slot waits for the first. */
  private readonly deletions = new Map<string, Promise<Answer>>()
  /** When the config was last written, and the slots it enables. */
  private lastWrite = { at: 0, enabled: [] as ReadonlyArray<string>, text: "" }
  private gatewayPort = 0
  private gateway: RunningGateway | undefined
  private ready = false
  private stopping = false
  private server: Server | undefined
  private toolServer: Server | undefined
  private toolsUrl = ""
  /** Slot changes and config writes, one at a time. */
  private serial: Promise<unknown> = Promise.resolve()
  private finished: (code: number) => void = () => {}
  /** Settles with the process exit code. */
  readonly done = new Promise<number>((resolve) => (this.finished = resolve))
  private readonly options: SupervisorOptions

  // No parameter properties here: this file also runs under Node's own type stripping (see main.ts).
  constructor(options: SupervisorOptions) {
    this.options = options
    this.paths = hostPaths(options.host.stateDir)
  }

  /** The gateway's pid (tests kill it to prove restarts). */
  get gatewayPid(): number | undefined {
    return this.gateway?.pid
  }

  async start(): Promise<void> {
    prepareHost(this.paths)
    const { slots, problems } = loadSlotSpecs(this.paths)
    for (const problem of problems) this.options.log.error(`slot not loaded: ${problem}`)
    for (const [slotId, spec] of slots) {
      prepareSlot(slotPaths(this.paths, slotId))
      this.slots.set(slotId, newSlot(spec))
    }
    this.gatewayPort = await freePort()
    const tools = await startToolForwardingServer({
      gatewayToken: this.gatewayToken,
      poolUrl: this.options.host.poolUrl,
      slotToken: (slotId) => this.liveSlot(slotId)?.spec.token,
    })
    this.toolServer = tools.server
    this.toolsUrl = tools.url
    this.server = await startHostServer(this.options.host.port, this.options.host.bindHost, this.backend())
    this.options.log.info(`host ${this.options.host.hostId} (${this.slots.size}/${this.options.host.capacity} slots) serving on ${this.options.host.bindHost}:${this.options.host.port}`)
    void this.runGatewayLoop()
    void this.watchLoop()
  }

  /** Host shutdown: every channel account stops first (no agent can post anything, not even a gateway notice), then the gateway. */
  async stop(code = 0): Promise<void> {
    if (this.stopping) return
    this.stopping = true
    const started = Date.now()
    if (this.ready) await this.control("POST", "stop-all", {}, 10_000).catch(() => undefined)
    this.ready = false
    const channelsStopped = Date.now()
    await this.gateway?.stop().catch(() => undefined)
    const gatewayStopped = Date.now()
    for (const server of [this.server, this.toolServer]) {
      await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()))
    }
    this.options.log.info(`stopped: channels in ${channelsStopped - started} ms, gateway in ${gatewayStopped - channelsStopped} ms`)
    this.finished(code)
  }

  private liveSlot(slotId: string): Slot | undefined {
    const slot = this.slots.get(slotId)
    return slot && !slot.removing ? slot : undefined
  }

  private backend(): HostBackend {
    return {
      hostToken: this.options.host.hostToken,
      gatewayReady: () => this.ready,
      slotToken: (slotId) => this.liveSlot(slotId)?.spec.token,
      hostHealth: () => this.hostHealth(),
      slotHealth: async (slotId) => this.slotHealthOf(slotId, await this.fetchStatus()),
      putSlot: (slotId, spec) => this.exclusive(() => this.putSlot(slotId, spec)),
      // Not one exclusive section: a delete waits for its agent to leave and stop, and must not hold up a PUT.
      deleteSlot: (slotId) => this.deleteSlot(slotId),
      forward: (slotId, action, body) => this.forward(slotId, action, body),
    }
  }

  private exclusive<A>(work: () => Promise<A>): Promise<A> {
    const run = this.serial.then(work, work)
    this.serial = run.catch(() => undefined)
    return run
  }

  private async hostHealth(): Promise<HostHealth> {
    const status = await this.fetchStatus()
    return {
      hostId: this.options.host.hostId,
      version: RUNTIME_VERSION,
      gatewayReady: this.ready,
      capacity: this.options.host.capacity,
      slots: [...this.slots.keys()].map((slotId) => this.slotHealthOf(slotId, status)),
    }
  }

  private slotHealthOf(slotId: string, status: PluginStatus | undefined): SlotHealth {
    const slot = this.slots.get(slotId)
    const account = status?.accounts[slotId]
    if (slot && account) {
      slot.lastInboxId = account.inboxId
      slot.lastConversationId = account.conversationId
    }
    return {
      slotId,
      ready: this.ready && slot !== undefined && !slot.removing && account?.ready === true,
      // The inbox and conversation survive gateway restarts: reported from memory while the gateway is down.
      inboxId: account?.inboxId ?? slot?.lastInboxId ?? null,
      conversationId: account?.conversationId ?? slot?.lastConversationId ?? null,
    }
  }

  private async putSlot(slotId: string, spec: SlotSpec): Promise<Answer> {
    const existing = this.slots.get(slotId)
    if (existing) {
      if (existing.removing) return { status: 409, body: { error: `slot ${slotId} is being deleted` } }
      if (!bearerMatches(`Bearer ${spec.token}`, existing.spec.token)) return { status: 409, body: { error: `slot ${slotId} exists with another token` } }
    } else if ([...this.slots.values()].filter((slot) => !slot.removing).length >= this.options.host.capacity) {
      // A slot being deleted no longer counts: the pool already gave its place to the next claim.
      return { status: 409, body: { error: `host is full (${this.options.host.capacity} slots)` } }
    }
    const paths = slotPaths(this.paths, slotId)
    saveSlotSpec(paths, spec)
    if (existing) existing.spec = spec
    else this.slots.set(slotId, newSlot(spec))
    // A slot id used again after a delete is a new account, not the disabled stub.
    this.retired.delete(slotId)
    this.writeConfig()
    this.options.log.info(`slot ${slotId} ${existing ? "updated" : "added"} (${this.slots.size}/${this.options.host.capacity})`)
    return { status: 200, body: { slotId } }
  }

  /**
   * The agent leaves its conversation (bounded), then its account stops (nothing of it can post any more, gateway
   * notices included), then it leaves the config and its state dir goes. Other slots keep running.
   */
  private deleteSlot(slotId: string): Promise<Answer> {
    const inFlight = this.deletions.get(slotId)
    if (inFlight) return inFlight
    const slot = this.slots.get(slotId)
    if (!slot) return Promise.resolve({ status: 200, body: { removed: true } })
    slot.removing = true
    const deletion = this.removeSlot(slotId).finally(() => this.deletions.delete(slotId))
    this.deletions.set(slotId, deletion)
    return deletion
  }

  /** Only the config writes are exclusive; the waits for the agent to leave and its account to stop are not. */
  private async removeSlot(slotId: string): Promise<Answer> {
    const started = Date.now()
    if (this.ready) {
      const left = await this.control("POST", `${slotId}/leave`, {}, this.options.leaveTimeoutMs ?? 20_000).catch((error: unknown) => ({ status: 503, body: { error: message(error) } }))
      if (left.status !== 200) this.options.log.error(`slot ${slotId}: leaving its conversation failed (${JSON.stringify(left.body)}); removing it anyway`)
    }
    // First only the account is disabled: the plugin's account sync stops that one account.
    await this.exclusive(async () => {
      this.retired.add(slotId)
      this.accountStopped.add(slotId)
      this.writeConfig()
    })
    if (this.ready) {
      const stopped = await waitForOk(this.controlUrl("status"), {
        timeoutMs: 20_000,
        headers: this.controlHeaders,
        until: (body) => (body as PluginStatus | null)?.accounts[slotId] === undefined,
        aborted: () => !this.ready,
      })
      if (!stopped) this.options.log.error(`slot ${slotId}: its account did not stop within 20 s; removing it anyway`)
    }
    await this.exclusive(async () => {
      this.slots.delete(slotId)
      this.accountStopped.delete(slotId)
      this.writeConfig()
      removeSlotDir(slotPaths(this.paths, slotId))
    })
    this.options.log.info(`slot ${slotId} deleted in ${Date.now() - started} ms (${this.slots.size}/${this.options.host.capacity})`)
    return { status: 200, body: { removed: true } }
  }

  private configSlot(slotId: string, spec: SlotSpec): ConfigSlot {
    return { slotId, paths: slotPaths(this.paths, slotId), model: spec.model, tools: spec.tools, ...(spec.warmUp === undefined ? {} : { warmUp: spec.warmUp }) }
  }

  /** Writes the whole config from the slots; a slot whose account is being stopped keeps only its agent entry. */
  private writeConfig(): void {
    const live = [...this.slots].filter(([slotId]) => !this.accountStopped.has(slotId)).map(([slotId, slot]) => this.configSlot(slotId, slot.spec))
    const retired = [...this.retired].map((slotId) => ({ slotId, paths: slotPaths(this.paths, slotId), model: { kind: "none" as const }, tools: {} }))
    const config = buildGatewayConfig(this.paths, live, retired)
    const stopping = [...this.slots].filter(([slotId]) => this.accountStopped.has(slotId))
    if (stopping.length > 0) {
      // The agent entry (and its binding, provider) outlive its account until it stopped, so nothing of it is orphaned mid-turn.
      const kept = buildGatewayConfig(this.paths, stopping.map(([slotId, slot]) => this.configSlot(slotId, slot.spec)))
      Object.assign(config.agents.entries, kept.agents.entries)
      Object.assign(config.models.providers, kept.models.providers)
      config.bindings.push(...kept.bindings)
    }
    const text = `${JSON.stringify(config, null, 2)}\n`
    writeFileAtomically(this.paths.configPath, text)
    this.lastWrite = { at: Date.now(), enabled: live.map((slot) => slot.slotId), text }
  }

  private controlUrl(path: string) {
    return `http://127.0.0.1:${this.gatewayPort}/convos/control/${path}`
  }

  private get controlHeaders() {
    return { authorization: `Bearer ${this.gatewayToken}`, "content-type": "application/json" }
  }

  private async control(method: "GET" | "POST", path: string, body: unknown, timeoutMs: number): Promise<Answer> {
    const response = await fetch(this.controlUrl(path), {
      method,
      headers: this.controlHeaders,
      ...(method === "POST" ? { body: JSON.stringify(body) } : {}),
      signal: AbortSignal.timeout(timeoutMs),
    })
    return { status: response.status, body: await response.json() }
  }

  private async fetchStatus(): Promise<PluginStatus | undefined> {
    if (!this.ready) return undefined
    try {
      const answer = await this.control("GET", "status", undefined, 3_000)
      return answer.status === 200 ? (answer.body as PluginStatus) : undefined
    } catch {
      return undefined
    }
  }

  private async forward(slotId: string, action: ForwardedAction, body: unknown): Promise<Answer> {
    try {
      // A join waits (bounded) for acceptance inside the plugin.
      return await this.control("POST", `${slotId}/${action}`, body, 60_000)
    } catch (error) {
      return { status: 503, body: { error: `the agent runtime did not answer: ${message(error)}` } }
    }
  }

  private async runGatewayLoop(): Promise<void> {
    let history = noCrashes
    const policy = this.options.restartPolicy ?? defaultRestartPolicy
    while (!this.stopping) {
      // Every start gets a config of the live slots only (deleted slots' stubs go here, restart-free).
      await this.exclusive(async () => {
        this.retired.clear()
        this.writeConfig()
      })
      const gateway = startGateway({
        port: this.gatewayPort,
        env: buildGatewayEnv(this.options.host, this.paths, { gatewayToken: this.gatewayToken, toolsUrl: this.toolsUrl }, process.env),
        cwd: RUNTIME_DIR,
        consoleLogFile: this.paths.consoleLogFile,
      })
      this.gateway = gateway
      this.options.log.info(`gateway started (pid ${gateway.pid}, port ${this.gatewayPort})`)
      let exited = false
      void gateway.exited.then(() => (exited = true))
      const up = await waitForOk(`http://127.0.0.1:${this.gatewayPort}/readyz`, {
        timeoutMs: this.options.startTimeoutMs ?? 180_000,
        aborted: () => exited || this.stopping,
      })
      if (up && !this.stopping) {
        this.ready = true
        this.options.log.info(`gateway ready after ${Date.now() - gateway.startedAt} ms`)
      } else if (!exited && !this.stopping) {
        this.options.log.error("gateway did not become ready in time; killing it")
        await gateway.stop(2_000)
      }
      const exit = await gateway.exited
      this.ready = false
      if (this.stopping) return
      const uptime = Date.now() - gateway.startedAt
      const decision = decideRestart(history, up ? uptime : 0, policy)
      history = decision.history
      if (!decision.restart) {
        this.options.log.error(`giving up: ${decision.reason}`)
        await this.stop(1)
        return
      }
      this.options.log.error(`gateway exited (code ${exit.code ?? "-"}, signal ${exit.signal ?? "-"}) after ${uptime} ms; restarting in ${decision.delayMs} ms`)
      await sleep(decision.delayMs)
    }
  }

  /** Reacts to each slot's state: a completed pending join, or its conversation ending (the host keeps running). */
  private async watchLoop(): Promise<void> {
    while (!this.stopping) {
      await sleep(1_000)
      const status = await this.fetchStatus()
      if (!status) continue
      if (configNotApplied(status.configured, this.lastWrite.enabled, Date.now() - this.lastWrite.at)) {
        // OpenClaw's file watcher can miss a rename; the same config written again is a new event.
        this.options.log.error(`the gateway runs accounts [${status.configured?.join(", ")}], not [${this.lastWrite.enabled.join(", ")}]: writing the config again`)
        // The same text again (synchronous, so it cannot interleave with a newer write).
        writeFileAtomically(this.paths.configPath, this.lastWrite.text)
        this.lastWrite = { ...this.lastWrite, at: Date.now() }
      }
      for (const [slotId, account] of Object.entries(status.accounts)) {
        const slot = this.liveSlot(slotId)
        if (!slot || Date.now() < slot.retryPoolAt) continue
        if (account.joinedNotificationPending && account.conversationId) {
          const told = await this.tellPool(slotId, slot, "joined", { conversationId: account.conversationId })
          if (told) await this.control("POST", `${slotId}/ack-joined`, {}, 3_000).catch(() => undefined)
        }
        if (account.ended && !slot.toldEnded) {
          this.options.log.info(`slot ${slotId}: its conversation ended (${account.ended}); asking the pool to destroy it`)
          slot.toldEnded = await this.tellPool(slotId, slot, "self-destruct", {})
        }
      }
    }
  }

  /** One call to the pool for a slot; after a failure that slot's calls wait POOL_RETRY_MS. */
  private async tellPool(slotId: string, slot: Slot, what: "joined" | "self-destruct", extra: Record<string, unknown>): Promise<boolean> {
    const told = await this.callPool(slotId, slot, what, extra)
    if (!told) slot.retryPoolAt = Date.now() + POOL_RETRY_MS
    return told
  }

  private async callPool(slotId: string, slot: Slot, what: "joined" | "self-destruct", extra: Record<string, unknown>): Promise<boolean> {
    const { poolUrl } = this.options.host
    if (!poolUrl) {
      this.options.log.error(`POOL_URL is not set; cannot tell the pool "${what}" for slot ${slotId}`)
      return false
    }
    try {
      const response = await fetch(`${poolUrl}/api/pool/${what}`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ instanceId: slotId, token: slot.spec.token, ...extra }),
        signal: AbortSignal.timeout(10_000),
      })
      await response.body?.cancel()
      if (response.ok) return true
      this.options.log.error(`pool answered ${response.status} to ${what} for slot ${slotId}`)
    } catch (error) {
      this.options.log.error(`could not reach the pool for ${what} (slot ${slotId}): ${message(error)}`)
    }
    return false
  }
}
