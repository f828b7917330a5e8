import { Duration, Layer, Redacted } from "effect"
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { LocalProcessLayer } from "../../src/compute/LocalProcess.ts"
import { Claims } from "../../src/db/Claims.ts"
import { Hosts } from "../../src/db/Hosts.ts"
import { Instances } from "../../src/db/Instances.ts"
import { HostClient } from "../../src/HostClient.ts"
import { InstanceClient } from "../../src/InstanceClient.ts"
import { InstanceTokens } from "../../src/InstanceTokens.ts"
import { Pool } from "../../src/Pool.ts"
import { PoolConfig, type PoolSettings } from "../../src/PoolConfig.ts"
import { PoolProcess } from "../../src/PoolProcess.ts"
import { Reconciler } from "../../src/Reconciler.ts"
import { AgentMail } from "../../src/resources/AgentMail.ts"
import { type ToolProvider, ToolProviders } from "../../src/resources/ToolProvider.ts"
import { ToolProxy } from "../../src/resources/ToolProxy.ts"
import { Templates } from "../../src/web/Templates.ts"

/** The test host: a real process serving the host and slot routes of the contract. */
export const hostServerCommand = [process.execPath, fileURLToPath(new URL("../../../test/instance-server/server.mjs", import.meta.url))]

/** Host processes are detached (they outlive a pool restart), so a test must stop the ones it left. */
export const killHostProcesses = (dataDir: string) => {
  const root = join(dataDir, "hosts")
  if (!existsSync(root)) return
  for (const id of readdirSync(root)) {
    try {
      process.kill(-Number(readFileSync(join(root, id, "pid"), "utf8")), "SIGKILL")
    } catch {
      // no pid file, or already gone
    }
  }
}

export const makeDataDir = () => {
  const dir = mkdtempSync(join(tmpdir(), "convos-pool-test-"))
  return {
    dir,
    cleanup: () => {
      killHostProcesses(dir)
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

/** The state dir of a slot on whichever host holds it (test/instance-server/server.mjs). */
export const slotDir = (dataDir: string, slotId: string): string | undefined => {
  const root = join(dataDir, "hosts")
  if (!existsSync(root)) return undefined
  for (const hostId of readdirSync(root)) {
    const dir = join(root, hostId, "state", "slots", slotId)
    if (existsSync(dir)) return dir
  }
  return undefined
}

/** Writes a slot's fault-injection file (see test/instance-server/server.mjs). */
export const controlInstance = (dataDir: string, slotId: string, control: Record<string, unknown>) => {
  const dir = slotDir(dataDir, slotId)
  if (dir === undefined) throw new Error(`slot ${slotId} is on no host`)
  writeFileSync(join(dir, "control.json"), JSON.stringify(control))
}

/** Writes a host's fault-injection file. */
export const controlHost = (dataDir: string, hostId: string, control: Record<string, unknown>) =>
  writeFileSync(join(dataDir, "hosts", hostId, "control.json"), JSON.stringify(control))

/** The pid of a host's process group (LocalProcess records it). */
export const hostPid = (dataDir: string, hostId: string) => Number(readFileSync(join(dataDir, "hosts", hostId, "pid"), "utf8"))

export const defaultControl = (dataDir: string, control: Record<string, unknown>) =>
  writeFileSync(join(dataDir, "default-control.json"), JSON.stringify(control))

/**
 * The pool's services over a given SqlClient, with real local processes running the test host.
 * Each layer build is one "pool process" (its own PoolProcess identity and advisory lock).
 */
export const poolLayer = (options: {
  readonly dataDir: string
  readonly settings?: Partial<PoolSettings>
  readonly tools?: ReadonlyArray<ToolProvider>
  /** Services the tool routes use (e.g. AgentMail against its fake); none by default. */
  readonly toolServices?: Layer.Layer<never>
  /** How long another process's free liveness lock must stay free before it is declared dead. */
  readonly retakeGrace?: Duration.Input
}) => {
  const processLayer = PoolProcess.layerAdvisoryWith({ retakeGrace: options.retakeGrace ?? Duration.millis(500) })
  const base = Layer.mergeAll(
    Instances.layer,
    Hosts.layer,
    Claims.layer.pipe(Layer.provide(processLayer)),
    LocalProcessLayer({
      dataDir: options.dataDir,
      command: hostServerCommand,
      maxRestarts: 3,
      crashWindow: Duration.minutes(1),
    }),
    InstanceClient.layer,
    HostClient.layer,
    InstanceTokens.layerSecret("test-secret"),
    Templates.layer,
    PoolConfig.layerWith({
      targetIdle: 0,
      maxTotal: 100,
      createConcurrency: 8,
      reconcileInterval: Duration.hours(1),
      ...options.settings,
    }),
    processLayer,
    Layer.succeed(ToolProviders, ToolProviders.of(options.tools ?? [])),
    ToolProxy.layerWith({ emailsPerHour: 3, smsPerHour: 3 }).pipe(Layer.provide(options.toolServices ?? Layer.empty)),
  )
  const pool = Pool.layer.pipe(Layer.provideMerge(base))
  return Reconciler.layer.pipe(Layer.provideMerge(pool))
}

/** The pool's AgentMail against a fake (test/fakes/agentmail.ts), with short timeouts and retries. */
export const fakeAgentMailLayer = (apiUrl: string, apiKey: string) =>
  AgentMail.layerWith({
    apiUrl,
    apiKey: Redacted.make(apiKey),
    domain: "mail.convos.test",
    displayName: "Convos Agent",
    namePrefix: "convos-agent-",
    requestTimeout: Duration.seconds(5),
    retryBase: Duration.millis(5),
  })
