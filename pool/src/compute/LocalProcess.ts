import { Config, Duration, Effect, Layer } from "effect"
import { spawn } from "node:child_process"
import { chmodSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync, closeSync } from "node:fs"
import { createServer } from "node:net"
import { join, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { hostLaunch } from "../../../contract/index.ts"
import { DataDir } from "../DataDir.ts"
import { ComputeError, type ComputeHost, ComputeProvider, type ComputeSpec, type ComputeState } from "./ComputeProvider.ts"

/**
 * The embedded default: one detached child process per host (a supervisor with its gateway and slots) on its own
 * loopback port, with its own state dir under `DATA_DIR/hosts/<hostId>`. Children outlive a pool restart; the
 * restarted pool re-adopts them from the database, restarts any whose process died (its state dir keeps every slot's
 * identity and conversation), and reaps the dirs no host row names.
 */
export interface LocalProcessOptions {
  readonly dataDir: string
  /** argv of the host program; the default is the runtime's supervisor. */
  readonly command: ReadonlyArray<string>
  /** A process that dies this many times within `crashWindow` is reported `failed` instead of restarted. */
  readonly maxRestarts: number
  readonly crashWindow: Duration.Duration
  /** Stop the host processes when the pool stops (they are restarted from their state dirs on the next start). */
  readonly stopOnExit?: boolean
  /** Where host ports are allocated (inclusive); default `defaultPortRange`. */
  readonly portRange?: PortRange
}

export interface PortRange {
  readonly from: number
  readonly to: number
}

/**
 * A host keeps its port for life (the pool stores its URL, and a restart reuses it), so ports come from below
 * Linux's ephemeral range (32768-60999): a port the kernel hands out for `listen(0)` or an outgoing connection, as
 * the runtime's own gateway does, can then never land on a host's port, now or after a restart.
 */
export const defaultPortRange: PortRange = { from: 20_000, to: 29_999 }

const repoRoot = fileURLToPath(new URL("../../../", import.meta.url))
/**
 * The supervisor uses only Node built-ins and erasable TypeScript, so Node 24 runs it as is: no tsx loader, which
 * would cost every host ~40 MB and a slower start.
 */
export const runtimeCommand: ReadonlyArray<string> = [process.execPath, ...hostLaunch.nodeFlags, join(repoRoot, hostLaunch.entry)]

const canBind = (port: number) =>
  new Promise<boolean>((resolveBind) => {
    const server = createServer()
    server.once("error", () => resolveBind(false))
    server.listen(port, "127.0.0.1", () => server.close(() => resolveBind(true)))
  })

/** True if `pid` is alive and is the process of this host (guards against pid reuse). */
const isHostProcess = (pid: number, hostId: string) => {
  try {
    process.kill(pid, 0)
  } catch {
    return false
  }
  try {
    return readFileSync(`/proc/${pid}/environ`, "utf8").split("\0").includes(`HOST_ID=${hostId}`)
  } catch {
    return true // no /proc: trust the signal check
  }
}

const waitForExit = async (pid: number, hostId: string, ms: number) => {
  const deadline = Date.now() + ms
  while (Date.now() < deadline) {
    if (!isHostProcess(pid, hostId)) return true
    await new Promise((r) => setTimeout(r, 50))
  }
  return !isHostProcess(pid, hostId)
}

export const makeLocalProcess = (
  options: LocalProcessOptions,
): ComputeProvider["Service"] & { readonly stopAll: () => Promise<void> } => {
  const root = resolve(options.dataDir, "hosts")
  const dirOf = (id: string) => join(root, id)
  const restarts = new Map<string, Array<number>>()
  const range = options.portRange ?? defaultPortRange

  /** Ports of the hosts on disk, plus those being created right now (claimed before anything is awaited). */
  const reservedPorts = new Set<number>()
  const portsOnDisk = () => {
    if (!existsSync(root)) return []
    return readdirSync(root).flatMap((id) => {
      try {
        return [Number(readEnv(id).PORT)]
      } catch {
        return []
      }
    })
  }
  const allocatePort = async (): Promise<number> => {
    const taken = new Set([...portsOnDisk(), ...reservedPorts])
    const size = range.to - range.from + 1
    const start = Math.floor(Math.random() * size)
    for (let i = 0; i < size; i++) {
      const port = range.from + ((start + i) % size)
      if (taken.has(port)) continue
      reservedPorts.add(port)
      if (await canBind(port)) return port
      reservedPorts.delete(port)
    }
    throw new Error(`no free port left in ${range.from}-${range.to} for a new host`)
  }

  const launch = (id: string, env: Record<string, string>) => {
    const dir = dirOf(id)
    const log = openSync(join(dir, "host.log"), "a")
    const [program, ...args] = options.command
    // Its own home and working directory, readable only by this user: nothing points it at the pool's HOME, the
    // repository or the data dir that holds pool-api-key and instance-token-secret.
    const home = join(dir, "home")
    mkdirSync(home, { recursive: true, mode: 0o700 })
    chmodSync(home, 0o700)
    const child = spawn(program!, args, {
      cwd: home,
      env: { PATH: process.env.PATH ?? "", HOME: home, TMPDIR: join(dir, "tmp"), ...env },
      detached: true,
      stdio: ["ignore", log, log],
    })
    closeSync(log)
    child.unref()
    if (child.pid === undefined) throw new Error("the host process did not start")
    writeFileSync(join(dir, "pid"), String(child.pid))
    return child.pid
  }

  const readEnv = (id: string): Record<string, string> => JSON.parse(readFileSync(join(dirOf(id), "env.json"), "utf8"))
  const readPid = (id: string) => {
    try {
      return Number(readFileSync(join(dirOf(id), "pid"), "utf8"))
    } catch {
      return undefined
    }
  }

  const fail = (operation: string) => (cause: unknown) =>
    new ComputeError({ provider: "local", operation, message: cause instanceof Error ? cause.message : String(cause) })

  const create = Effect.fn("LocalProcess.create")(function*(spec: ComputeSpec) {
    return yield* Effect.tryPromise({
      try: async () => {
        const dir = dirOf(spec.hostId)
        mkdirSync(join(dir, "tmp"), { recursive: true, mode: 0o700 })
        chmodSync(dir, 0o700)
        const port = await allocatePort()
        try {
          const env = { ...spec.env, PORT: String(port), STATE_DIR: join(dir, "state") }
          // The environment holds the host's token; keep it readable by this user only.
          writeFileSync(join(dir, "env.json"), JSON.stringify(env), { mode: 0o600 })
          const pid = launch(spec.hostId, env)
          return { ref: { pid: String(pid), port: String(port), dir }, url: `http://127.0.0.1:${port}` }
        } finally {
          // From here on env.json names the port (or the create failed and it is free again).
          reservedPorts.delete(port)
        }
      },
      catch: fail("create"),
    })
  })

  const stop = async (id: string) => {
    const pid = readPid(id)
    if (pid === undefined || !isHostProcess(pid, id)) return
    try {
      process.kill(-pid, "SIGTERM") // the whole process group: the supervisor has children of its own
    } catch {
      // already gone
    }
    if (!(await waitForExit(pid, id, 5_000))) {
      try {
        process.kill(-pid, "SIGKILL")
      } catch {
        // already gone
      }
      await waitForExit(pid, id, 2_000)
    }
  }

  const destroy = Effect.fn("LocalProcess.destroy")(function*(host: ComputeHost) {
    yield* Effect.tryPromise({
      try: async () => {
        await stop(host.hostId)
        rmSync(dirOf(host.hostId), { recursive: true, force: true })
        restarts.delete(host.hostId)
      },
      catch: fail("destroy"),
    })
  })

  /** A dead process with its state dir is restarted (like a container restart policy) unless it keeps crashing. */
  const stateOf = (id: string): ComputeState => {
    if (!existsSync(join(dirOf(id), "env.json"))) return "gone"
    const pid = readPid(id)
    if (pid !== undefined && isHostProcess(pid, id)) return "running"
    const now = Date.now()
    const recent = (restarts.get(id) ?? []).filter((t) => now - t < Duration.toMillis(options.crashWindow))
    if (recent.length >= options.maxRestarts) return "failed"
    restarts.set(id, [...recent, now])
    launch(id, readEnv(id))
    return "deploying"
  }

  const status = Effect.fn("LocalProcess.status")(function*(list: ReadonlyArray<ComputeHost>) {
    return yield* Effect.try({
      try: () => new Map(list.map((h) => [h.hostId, stateOf(h.hostId)] as const)),
      catch: fail("status"),
    })
  })

  const listHosts = Effect.try({
    try: () =>
      existsSync(root)
        ? readdirSync(root).map((id) => ({ hostId: id, ref: { dir: dirOf(id) } }))
        : [],
    catch: fail("list"),
  })

  const survey = Effect.fn("LocalProcess.survey")(function*(known: ReadonlyArray<ComputeHost>) {
    const states = yield* status(known)
    const knownIds = new Set(known.map((k) => k.hostId))
    const listed = yield* listHosts
    return { states, unknown: listed.filter((l) => !knownIds.has(l.hostId)) }
  })

  const stopAll = async () => {
    if (!existsSync(root)) return
    await Promise.all(readdirSync(root).map(stop))
  }

  return { kind: "local", create, destroy, status, listHosts, survey, stopAll }
}

export const LocalProcessLayer = (options: LocalProcessOptions) =>
  Layer.effect(
    ComputeProvider,
    Effect.gen(function*() {
      const provider = makeLocalProcess(options)
      if (options.stopOnExit) {
        // Stopped, not destroyed: the state dirs stay, and the next start restarts every host that has a row.
        yield* Effect.addFinalizer(() =>
          Effect.promise(() => provider.stopAll()).pipe(
            Effect.andThen(Effect.logInfo("stopped the local host processes (they restart with the pool)")),
          )
        )
      }
      return ComputeProvider.of(provider)
    }),
  )

/**
 * Takes the `DataDir`; reads `HOST_COMMAND` (a JSON argv; default: the runtime's supervisor) and `LOCAL_STOP_HOSTS_ON_EXIT`
 * (default true: Ctrl-C frees the machine; the hosts come back on the next start).
 */
export const LocalProcess = Layer.unwrap(
  Effect.gen(function*() {
    const dataDir = yield* DataDir
    const command = yield* Config.String("HOST_COMMAND").pipe(Config.withDefault(""))
    const stopOnExit = yield* Config.Boolean("LOCAL_STOP_HOSTS_ON_EXIT").pipe(Config.withDefault(true))
    return LocalProcessLayer({
      stopOnExit,
      dataDir,
      command: command === "" ? runtimeCommand : (JSON.parse(command) as Array<string>),
      maxRestarts: 5,
      crashWindow: Duration.minutes(2),
    })
  }),
).pipe(Layer.provide(DataDir.layer))
