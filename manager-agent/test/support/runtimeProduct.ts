/**
 * The product as `npm start` wires it, for end-to-end tests: the pool core (Postgres, LocalProcess compute, the
 * reconcile loop) warming one real agent runtime (OpenClaw gateway + convos plugin) against the fake XMTP node and
 * the fake model, and the manager. Slow (a gateway start): one instance per file.
 */
import { ConfigProvider, Duration, Effect, Layer, ManagedRuntime } from "effect"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { LocalProcessLayer, runtimeCommand } from "../../../pool/src/compute/LocalProcess.ts"
import { Claims } from "../../../pool/src/db/Claims.ts"
import { Hosts } from "../../../pool/src/db/Hosts.ts"
import { Instances } from "../../../pool/src/db/Instances.ts"
import { HostClient } from "../../../pool/src/HostClient.ts"
import { InstanceClient } from "../../../pool/src/InstanceClient.ts"
import { InstanceTokens } from "../../../pool/src/InstanceTokens.ts"
import { Templates } from "../../../pool/src/web/Templates.ts"
import { Pool } from "../../../pool/src/Pool.ts"
import { PoolConfig } from "../../../pool/src/PoolConfig.ts"
import { PoolProcess } from "../../../pool/src/PoolProcess.ts"
import { Reconciler } from "../../../pool/src/Reconciler.ts"
import { ToolProviders } from "../../../pool/src/resources/ToolProvider.ts"
import { TestDatabaseLayer } from "../../../test/db/testDatabase.ts"
import { killHostProcesses } from "../../../pool/test/support/poolHarness.ts"
import { startFakeModel, type FakeModel } from "../../../test/fakes/fakeModel.ts"
import { startFakeXmtpNode, type FakeXmtpNode } from "../../../test/xmtp/fakeNode.ts"
import { ManagerLobby } from "../../src/bot/XmtpChat.ts"
import { ManagerAgentLayer } from "../../src/ManagerAgent.ts"
import type { ManagerBotHooks } from "../../src/bot/ManagerBot.ts"
import { waitFor } from "./xmtpWorld.ts"

export const READY_TIMEOUT = 240_000

/**
 * The agent's model: OK to the runtime's start-up check, a hello when it is added somewhere, "Answer to CUE-X" to a
 * message carrying a cue. The history is in every request, so the cue is checked first and the newest one wins.
 */
export const agentModel = (request: { readonly userText: string }) => {
  const cue = [...request.userText.matchAll(/CUE-[A-Z]+/g)].at(-1)?.[0]
  if (cue) return `Answer to ${cue}`
  if (request.userText.includes("start-up check")) return "OK"
  const added = /added to this group conversation as "([^"]+)"/.exec(request.userText)
  if (added) return `Hello everyone, I'm ${added[1]}! Ask me anything.`
  return "fake model reply"
}

export interface RuntimeProduct {
  readonly node: FakeXmtpNode
  readonly model: FakeModel
  readonly runtime: ManagedRuntime.ManagedRuntime<ManagerLobby | Pool, unknown>
  readonly lobby: ManagerLobby["Service"]
  close(): Promise<void>
}

/** Starts it all and waits until the one instance is idle (its gateway up, first model turn paid). */
export const startRuntimeProduct = async (options: { readonly port?: number; readonly hooks?: ManagerBotHooks } = {}): Promise<RuntimeProduct> => {
  const root = mkdtempSync(join(tmpdir(), "manager-e2e-"))
  const node = await startFakeXmtpNode(options.port === undefined ? {} : { port: options.port })
  const model = await startFakeModel(agentModel)
  try {
    return await startOn(root, node, model, options.hooks)
  } catch (error) {
    killHostProcesses(join(root, "pool"))
    await Promise.allSettled([model.stop(), node.stop()])
    throw error
  }
}

/**
 * The pool core warming a real agent runtime (at most one agent) against the fake XMTP node and the
 * fake model; host state under `root/pool`. Needs a SqlClient.
 */
export const runtimePoolLayer = (root: string, node: FakeXmtpNode, model: FakeModel) =>
  Reconciler.layer.pipe(
    Layer.provideMerge(Pool.layer),
    Layer.provideMerge(
      Layer.mergeAll(
        Instances.layer,
        Hosts.layer,
        Claims.layer.pipe(Layer.provide(PoolProcess.layerAdvisory)),
        LocalProcessLayer({ dataDir: join(root, "pool"), command: runtimeCommand, maxRestarts: 1, crashWindow: Duration.minutes(5) }),
        InstanceClient.layer,
        HostClient.layer,
        InstanceTokens.layerSecret("e2e-secret"),
        Templates.layer,
        PoolConfig.layerWith({
          targetIdle: 1,
          maxTotal: 1,
          createConcurrency: 1,
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

const startOn = async (root: string, node: FakeXmtpNode, model: FakeModel, hooks: ManagerBotHooks | undefined): Promise<RuntimeProduct> => {
  const poolLayer = runtimePoolLayer(root, node, model)
  // The reconcile loop warms the instance up to `targetIdle`, as in the product.
  const poolWithLoop = Reconciler.loop.pipe(Layer.provideMerge(poolLayer))
  // The manager exactly as the product wires it, with an empty environment (rules, default quotas).
  const manager = ManagerAgentLayer({
    ...(hooks ? { hooks } : {}),
    // A sweep every 2 s: a message the live stream loses (libxmtp#2351) must not fail a wait.
    chat: { stateDir: join(root, "manager"), env: "local", apiUrl: node.apiUrl, name: "Manager", catchUpEvery: Duration.seconds(2) },
  }).pipe(Layer.provide(ConfigProvider.layer(ConfigProvider.fromUnknown({}))))
  const runtime = ManagedRuntime.make(
    manager.pipe(Layer.provideMerge(poolWithLoop), Layer.provide(TestDatabaseLayer({ maxConnections: 6 }))),
  )
  const lobby = await runtime.runPromise(Effect.gen(function* () {
    return yield* ManagerLobby
  }))
  // A warm pool: the one instance is idle (its gateway up, first model turn paid) before anyone asks.
  await waitFor(
    () => runtime.runPromise(Effect.gen(function* () {
      return (yield* (yield* Pool).counts).idle >= 1 || undefined
    })),
    "an idle runtime instance",
    READY_TIMEOUT,
  )
  return {
    node,
    model,
    runtime,
    lobby,
    close: async () => {
      await runtime.dispose()
      // Host processes are detached (they outlive a pool restart): stop the ones this file started.
      killHostProcesses(join(root, "pool"))
      await model.stop()
      await node.stop()
      if (process.env.KEEP_E2E_LOGS === undefined) rmSync(root, { recursive: true, force: true })
      else process.stderr.write(`e2e logs kept in ${root}\n`)
    },
  }
}
