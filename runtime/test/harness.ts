/**
 * Test harness for the real runtime: spawns `runtime/src/main.ts` (supervisor + real OpenClaw gateway) exactly as the
 * pool's LocalProcess provider does, and talks the instance contract to it. Everything on 127.0.0.1.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { randomBytes } from "node:crypto"
import { createWriteStream, readFileSync } from "node:fs"
import { mkdtemp, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import { createServer, type Server } from "node:http"
import { join, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { ConvosClient, type ConvosMessageEvent } from "../../convos/index.ts"
import { type FakeModel, startFakeModel } from "../../test/fakes/fakeModel.ts"
import { type FakeXmtpNode, startFakeXmtpNode } from "../../test/xmtp/fakeNode.ts"
import { killTree, processTree, treeRssBytes } from "../src/processTree.ts"
import { freePort } from "../src/supervisor.ts"
import { agentScript } from "./agentScript.ts"

export const REPO_ROOT = resolve(fileURLToPath(import.meta.url), "../../..")

export interface RuntimeInstance {
  readonly port: number
  readonly instanceId: string
  readonly token: string
  readonly stateDir: string
  readonly process: ChildProcess
  readonly exited: Promise<number | null>
  health(): Promise<{ ready: boolean; inboxId: string | null; version: string; conversationId: string | null }>
  provision(body: unknown): Promise<{ status: number; body: Record<string, unknown> }>
  /** Polls /pool/health until ready. Returns the ms it took. */
  waitReady(timeoutMs: number): Promise<number>
  /** The pid of the `openclaw-gateway` process under the supervisor. */
  gatewayPid(): number | undefined
  rssBytes(): number
  /** "pid name rssMB" for every process of the instance. */
  describeTree(): string
  stop(): Promise<void>
}

export const startRuntimeInstance = async (options: {
  readonly stateDir: string
  readonly env: Record<string, string>
  readonly logFile: string
  /** The instance's id and token, when a real pool issued them; made up otherwise. */
  readonly identity?: { readonly instanceId: string; readonly token: string }
}): Promise<RuntimeInstance> => {
  const port = await freePort()
  const instanceId = options.identity?.instanceId ?? `test-${port}`
  const token = options.identity?.token ?? randomBytes(24).toString("hex")
  const log = createWriteStream(options.logFile, { flags: "a" })
  const child = spawn(process.execPath, ["runtime/src/main.ts"], {
    cwd: REPO_ROOT,
    env: {
      PATH: process.env.PATH ?? "",
      HOME: process.env.HOME ?? "/tmp",
      INSTANCE_ID: instanceId,
      INSTANCE_TOKEN: token,
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
  const base = `http://127.0.0.1:${port}`
  const headers = { authorization: `Bearer ${token}`, "content-type": "application/json" }
  const instance: RuntimeInstance = {
    port,
    instanceId,
    token,
    stateDir: options.stateDir,
    process: child,
    exited,
    async health() {
      const response = await fetch(`${base}/pool/health`, { headers, signal: AbortSignal.timeout(5_000) })
      return (await response.json()) as Awaited<ReturnType<RuntimeInstance["health"]>>
    },
    async provision(body) {
      const response = await fetch(`${base}/pool/provision`, { method: "POST", headers, body: JSON.stringify(body), signal: AbortSignal.timeout(60_000) })
      return { status: response.status, body: (await response.json()) as Record<string, unknown> }
    },
    async waitReady(timeoutMs) {
      const started = Date.now()
      while (Date.now() - started < timeoutMs) {
        if (child.exitCode !== null) throw new Error(`runtime exited with ${child.exitCode}; see ${options.logFile}`)
        try {
          if ((await instance.health()).ready) return Date.now() - started
        } catch {
          // not listening yet
        }
        await new Promise((r) => setTimeout(r, 100))
      }
      throw new Error(`runtime not ready after ${timeoutMs} ms; see ${options.logFile}`)
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
            return `${member} ${name} ${(treeRssBytes(member) / 1048576 - 0).toFixed(0)}MB(tree)`
          } catch {
            return `${member} ?`
          }
        })
        .join(" | "),
    async stop() {
      if (child.exitCode === null) {
        const members = processTree(pid)
        child.kill("SIGTERM")
        const timer = setTimeout(() => killTree(pid, "SIGKILL"), 10_000)
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
  return instance
}

/** A stand-in for the pool's instance callbacks (`/api/pool/self-destruct`, `/api/pool/joined`). */
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

/** The environment of an instance on the fake XMTP node with the fake model (start timeout generous for busy CI). */
export const fakeNetworkEnv = (node: { readonly apiUrl: string }, model: { readonly baseUrl: string }): Record<string, string> => ({
  XMTP_ENV: "local",
  XMTP_API_URL: node.apiUrl,
  OPENAI_BASE_URL: model.baseUrl,
  OPENAI_API_KEY: "sk-local",
  MODEL: "fake-model",
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

/** Generous: a gateway start takes seconds alone and much longer on a busy 2-core CI machine. */
export const RUNTIME_READY_TIMEOUT = 240_000

/** One runtime e2e file's world: the fake network, one ready instance, one recording user; `stop` undoes it all. */
export interface RuntimeWorld {
  readonly root: string
  readonly node: FakeXmtpNode
  readonly model: FakeModel
  /** The stand-in for the pool's instance callbacks, when asked for. */
  readonly pool: Awaited<ReturnType<typeof startFakePool>> | undefined
  readonly instance: RuntimeInstance
  readonly agentInbox: string
  readonly user: ConvosClient
  readonly received: Array<ConvosMessageEvent>
  stop(): Promise<void>
}

export const startRuntimeWorld = async (name: string, options: { readonly fakePool?: boolean } = {}): Promise<RuntimeWorld> => {
  const root = await mkdtemp(join(tmpdir(), `runtime-${name}-e2e-`))
  const node = await startFakeXmtpNode()
  const model = await startFakeModel(agentScript)
  const pool = options.fakePool ? await startFakePool() : undefined
  const instance = await startRuntimeInstance({
    stateDir: join(root, "instance"),
    logFile: logPath(root, "runtime"),
    env: { ...fakeNetworkEnv(node, model), ...(pool ? { POOL_URL: pool.url } : {}) },
  })
  await instance.waitReady(RUNTIME_READY_TIMEOUT)
  const agentInbox = (await instance.health()).inboxId ?? ""
  const { user, received } = await openRecordingUser(join(root, "user"), node.apiUrl)
  return {
    root, node, model, pool, instance, agentInbox, user, received,
    async stop() {
      await user.close()
      await instance.stop()
      await pool?.stop()
      await model.stop()
      await node.stop()
      if (process.env.KEEP_E2E_LOGS === undefined) await rm(root, { recursive: true, force: true })
      else process.stderr.write(`e2e logs kept in ${root}\n`)
    },
  }
}
