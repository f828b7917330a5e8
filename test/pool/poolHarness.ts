import { Duration, Layer, Redacted } from "effect"
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { LocalProcessLayer } from "../../pool/src/compute/LocalProcess.ts"
import { Claims } from "../../pool/src/db/Claims.ts"
import { Instances } from "../../pool/src/db/Instances.ts"
import { InstanceClient } from "../../pool/src/InstanceClient.ts"
import { InstanceTokens } from "../../pool/src/InstanceTokens.ts"
import { Pool } from "../../pool/src/Pool.ts"
import { PoolConfig, type PoolSettings } from "../../pool/src/PoolConfig.ts"
import { PoolProcess } from "../../pool/src/PoolProcess.ts"
import { Reconciler } from "../../pool/src/Reconciler.ts"
import { AgentMail } from "../../pool/src/resources/AgentMail.ts"
import { type ToolProvider, ToolProviders } from "../../pool/src/resources/ToolProvider.ts"
import { ToolProxy } from "../../pool/src/resources/ToolProxy.ts"

/** The test instance server: a real process speaking the instance contract. */
export const instanceServerCommand = [process.execPath, fileURLToPath(new URL("../instance-server/server.mjs", import.meta.url))]

/** Instance processes are detached (they outlive a pool restart), so a test must stop the ones it left. */
export const killInstanceProcesses = (dataDir: string) => {
  const root = join(dataDir, "instances")
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
      killInstanceProcesses(dir)
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

/** Writes an instance's fault-injection file (see test/instance-server/server.mjs). */
export const controlInstance = (dataDir: string, instanceId: string, control: Record<string, unknown>) =>
  writeFileSync(join(dataDir, "instances", instanceId, "control.json"), JSON.stringify(control))

export const defaultControl = (dataDir: string, control: Record<string, unknown>) =>
  writeFileSync(join(dataDir, "default-control.json"), JSON.stringify(control))

/**
 * The pool's services over a given SqlClient, with real local processes running the test instance server.
 * Each layer build is one "pool process" (its own PoolProcess identity and advisory lock).
 */
export const poolLayer = (options: {
  readonly dataDir: string
  readonly settings?: Partial<PoolSettings>
  readonly tools?: ReadonlyArray<ToolProvider>
  /** Services the tool routes use (e.g. AgentMail against its fake); none by default. */
  readonly toolServices?: Layer.Layer<never>
}) => {
  const base = Layer.mergeAll(
    Instances.layer,
    Claims.layer,
    LocalProcessLayer({
      dataDir: options.dataDir,
      command: instanceServerCommand,
      maxRestarts: 3,
      crashWindow: Duration.minutes(1),
    }),
    InstanceClient.layer,
    InstanceTokens.layerSecret("test-secret"),
    PoolConfig.layerWith({
      targetIdle: 0,
      maxTotal: 100,
      createConcurrency: 8,
      reconcileInterval: Duration.hours(1),
      ...options.settings,
    }),
    PoolProcess.layerAdvisory,
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
