/** The `openclaw gateway run` child: spawn on loopback, wait for /readyz, stop with a bounded grace period. */
import { type ChildProcess, spawn } from "node:child_process"
import { createWriteStream, existsSync, readFileSync, type WriteStream } from "node:fs"
import { createRequire } from "node:module"
import { dirname, join } from "node:path"
import { killTree } from "./processTree.ts"

/** The installed openclaw package directory (its package.json is not in its exports, so walk up from the main entry). */
const findOpenclawDir = (): string => {
  let dir = dirname(createRequire(import.meta.url).resolve("openclaw"))
  while (!existsSync(join(dir, "openclaw.mjs"))) {
    const parent = dirname(dir)
    if (parent === dir) throw new Error("cannot find the openclaw package (npm ci?)")
    dir = parent
  }
  return dir
}

export const OPENCLAW_DIR = findOpenclawDir()
export const OPENCLAW_ENTRY = join(OPENCLAW_DIR, "openclaw.mjs")
export const OPENCLAW_VERSION = (JSON.parse(readFileSync(join(OPENCLAW_DIR, "package.json"), "utf8")) as { version: string }).version

export interface GatewayStartOptions {
  readonly port: number
  readonly env: Record<string, string>
  readonly cwd: string
  /** The gateway's stdout/stderr are appended here (they never go to the supervisor's own output). */
  readonly consoleLogFile: string
}

export interface RunningGateway {
  readonly pid: number
  readonly startedAt: number
  readonly exited: Promise<{ readonly code: number | null; readonly signal: NodeJS.Signals | null }>
  /** SIGTERM, then SIGKILL of the whole tree after `graceMs`. */
  stop(graceMs?: number): Promise<void>
  /** SIGKILL of the whole tree at once. */
  kill(): void
}

export const startGateway = (options: GatewayStartOptions): RunningGateway => {
  const log: WriteStream = createWriteStream(options.consoleLogFile, { flags: "a", mode: 0o600 })
  const child: ChildProcess = spawn(
    process.execPath,
    [OPENCLAW_ENTRY, "gateway", "run", "--port", String(options.port), "--bind", "loopback", "--auth", "token"],
    { cwd: options.cwd, env: options.env, stdio: ["ignore", "pipe", "pipe"] },
  )
  child.stdout?.pipe(log, { end: false })
  child.stderr?.pipe(log, { end: false })
  const pid = child.pid
  if (pid === undefined) throw new Error("could not spawn the openclaw gateway")
  let done = false
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once("exit", (code, signal) => {
      done = true
      // Workers must not outlive the gateway.
      killTree(pid, "SIGKILL")
      log.end()
      resolve({ code, signal })
    })
  })
  return {
    pid,
    startedAt: Date.now(),
    exited,
    kill: () => killTree(pid, "SIGKILL"),
    async stop(graceMs = 5_000) {
      if (done) return
      killTree(pid, "SIGTERM")
      // SIGTERM can stall "draining active work"; never wait longer than the grace period.
      const timer = setTimeout(() => killTree(pid, "SIGKILL"), graceMs)
      await exited
      clearTimeout(timer)
    },
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/** Polls `url` until it answers 200, the gateway exits, or the deadline passes. */
export const waitForOk = async (
  url: string,
  options: { readonly timeoutMs: number; readonly intervalMs?: number; readonly headers?: Record<string, string>; readonly until?: (body: unknown) => boolean; readonly aborted?: () => boolean },
): Promise<boolean> => {
  const deadline = Date.now() + options.timeoutMs
  while (Date.now() < deadline) {
    if (options.aborted?.()) return false
    try {
      const response = await fetch(url, { headers: options.headers ?? {}, signal: AbortSignal.timeout(2_000) })
      if (response.ok) {
        const body: unknown = await response.json().catch(() => null)
        if (!options.until || options.until(body)) return true
      } else {
        await response.body?.cancel()
      }
    } catch {
      // Not listening yet.
    }
    await sleep(options.intervalMs ?? 100)
  }
  return false
}
