/**
 * The instance supervisor: prepares the state dir, runs the gateway (restarting it on crashes with back-off, giving up
 * after repeated quick crashes), serves the instance contract, forwards the agent's email and SMS to the pool, and
 * tells the pool when a pending join completed or the conversation ended (then stops).
 */
import { randomBytes } from "node:crypto"
import type { Server } from "node:http"
import { createServer } from "node:net"
import { join } from "node:path"
import type { ContractBackend, ForwardedAction, PluginStatus } from "./contractServer.ts"
import { startContractServer } from "./contractServer.ts"
import { buildGatewayEnv } from "./gatewayEnv.ts"
import { OPENCLAW_VERSION, type RunningGateway, startGateway, waitForOk } from "./gatewayProcess.ts"
import type { InstanceEnv } from "./instanceEnv.ts"
import { gatewayPaths, prepareState, RUNTIME_DIR } from "./prepareState.ts"
import { decideRestart, defaultRestartPolicy, noCrashes, type RestartPolicy } from "./restartPolicy.ts"
import { startToolForwardingServer } from "./toolForwarding.ts"

export const RUNTIME_VERSION = `convos-agents-runtime/0.1.0 openclaw/${OPENCLAW_VERSION}`

export interface SupervisorLog {
  info(message: string): void
  error(message: string): void
}

export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      server.close(() => (typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port"))))
    })
  })

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

export interface SupervisorOptions {
  readonly instance: InstanceEnv
  readonly log: SupervisorLog
  readonly restartPolicy?: RestartPolicy
  /** How long a gateway may take to become ready before it counts as a failed start. */
  readonly startTimeoutMs?: number
}

export class Supervisor {
  private readonly gatewayToken = randomBytes(32).toString("hex")
  private readonly paths
  private gatewayPort = 0
  private gateway: RunningGateway | undefined
  private ready = false
  private stopping = false
  private lastStatus: PluginStatus | undefined
  private server: Server | undefined
  private toolServer: Server | undefined
  private toolsUrl = ""
  private finished: (code: number) => void = () => {}
  /** Settles with the process exit code. */
  readonly done = new Promise<number>((resolve) => (this.finished = resolve))
  private readonly options: SupervisorOptions

  // No parameter properties here: this file also runs under Node's own type stripping (see main.ts).
  constructor(options: SupervisorOptions) {
    this.options = options
    this.paths = gatewayPaths(options.instance.stateDir)
  }

  /** The gateway's pid (tests kill it to prove restarts). */
  get gatewayPid(): number | undefined {
    return this.gateway?.pid
  }

  async start(): Promise<void> {
    prepareState(this.paths)
    this.gatewayPort = await freePort()
    const { instanceId, instanceToken, poolUrl } = this.options.instance
    const tools = await startToolForwardingServer({ gatewayToken: this.gatewayToken, pool: { poolUrl, instanceId, instanceToken } })
    this.toolServer = tools.server
    this.toolsUrl = tools.url
    this.server = await startContractServer(this.options.instance.port, this.options.instance.bindHost, this.options.instance.instanceToken, this.backend())
    this.options.log.info(`instance ${this.options.instance.instanceId} serving the contract on ${this.options.instance.bindHost}:${this.options.instance.port}`)
    void this.runGatewayLoop()
    void this.watchLoop()
  }

  async stop(code = 0): Promise<void> {
    if (this.stopping) return
    this.stopping = true
    this.ready = false
    const started = Date.now()
    await this.gateway?.stop().catch(() => undefined)
    const gatewayStopped = Date.now()
    for (const server of [this.server, this.toolServer]) {
      await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()))
    }
    this.options.log.info(`stopped: gateway in ${gatewayStopped - started} ms, servers in ${Date.now() - gatewayStopped} ms`)
    this.finished(code)
  }

  private backend(): ContractBackend {
    return {
      version: RUNTIME_VERSION,
      gatewayReady: () => this.ready,
      pluginStatus: () => this.fetchStatus(),
      lastKnownInboxId: () => this.lastStatus?.inboxId ?? null,
      forward: (action, body) => this.forward(action, body),
    }
  }

  private controlUrl(action: string) {
    return `http://127.0.0.1:${this.gatewayPort}/convos/control/${action}`
  }

  private get controlHeaders() {
    return { authorization: `Bearer ${this.gatewayToken}`, "content-type": "application/json" }
  }

  private async fetchStatus(): Promise<PluginStatus | undefined> {
    try {
      const response = await fetch(this.controlUrl("status"), { headers: this.controlHeaders, signal: AbortSignal.timeout(3_000) })
      if (!response.ok) {
        await response.body?.cancel()
        return undefined
      }
      this.lastStatus = (await response.json()) as PluginStatus
      return this.lastStatus
    } catch {
      return undefined
    }
  }

  private async forward(action: ForwardedAction, body: unknown): Promise<{ status: number; body: unknown }> {
    try {
      const response = await fetch(this.controlUrl(action), {
        method: "POST",
        headers: this.controlHeaders,
        body: JSON.stringify(body),
        // A join waits (bounded) for acceptance inside the plugin.
        signal: AbortSignal.timeout(60_000),
      })
      return { status: response.status, body: await response.json() }
    } catch (error) {
      return { status: 503, body: { error: `the agent runtime did not answer: ${error instanceof Error ? error.message : String(error)}` } }
    }
  }

  private async runGatewayLoop(): Promise<void> {
    let history = noCrashes
    const policy = this.options.restartPolicy ?? defaultRestartPolicy
    while (!this.stopping) {
      const gateway = startGateway({
        port: this.gatewayPort,
        env: buildGatewayEnv(this.options.instance, this.paths, { gatewayToken: this.gatewayToken, toolsUrl: this.toolsUrl }, process.env),
        cwd: RUNTIME_DIR,
        consoleLogFile: join(this.options.instance.stateDir, "logs", "gateway-console.log"),
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

  /** Reacts to the plugin's state: a completed pending join, or the conversation ending for us. */
  private async watchLoop(): Promise<void> {
    while (!this.stopping) {
      await sleep(1_000)
      if (!this.ready) continue
      const status = await this.fetchStatus()
      if (!status) continue
      if (status.joinedNotificationPending && status.conversationId) {
        const told = await this.tellPool("joined", { conversationId: status.conversationId })
        if (told) await fetch(this.controlUrl("ack-joined"), { method: "POST", headers: this.controlHeaders, body: "{}" }).catch(() => undefined)
      }
      if (status.ended) {
        this.options.log.info(`conversation ended for this agent (${status.ended}); self-destructing`)
        await this.tellPool("self-destruct", {})
        await this.stop(0)
      }
    }
  }

  private async tellPool(what: "joined" | "self-destruct", extra: Record<string, unknown>): Promise<boolean> {
    const { poolUrl, instanceId, instanceToken } = this.options.instance
    if (!poolUrl) {
      this.options.log.error(`POOL_URL is not set; cannot tell the pool "${what}"`)
      return false
    }
    for (let attempt = 1; attempt <= 3; attempt++) {
      try {
        const response = await fetch(`${poolUrl}/api/pool/${what}`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ instanceId, token: instanceToken, ...extra }),
          signal: AbortSignal.timeout(10_000),
        })
        await response.body?.cancel()
        if (response.ok) return true
        this.options.log.error(`pool answered ${response.status} to ${what}`)
      } catch (error) {
        this.options.log.error(`could not reach the pool for ${what}: ${error instanceof Error ? error.message : String(error)}`)
      }
      await sleep(1_000 * attempt)
    }
    return false
  }
}
