/**
 * End to end with everything real but the network and the model: the pool core (Postgres, LocalProcess compute)
 * warms one real agent runtime (OpenClaw gateway + convos plugin) against the fake XMTP node and the fake model;
 * the manager claims it in `add` mode from a chat message, adds it, the agent greets on its own, and "remove"
 * destroys its instance. Slow (a gateway start): one instance for the file.
 */
import type { Group } from "@xmtp/node-sdk"
import { ConfigProvider, Duration, Effect, Layer, ManagedRuntime } from "effect"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { LocalProcessLayer, runtimeCommand } from "../../pool/src/compute/LocalProcess.ts"
import { Claims } from "../../pool/src/db/Claims.ts"
import { Instances } from "../../pool/src/db/Instances.ts"
import { InstanceClient } from "../../pool/src/InstanceClient.ts"
import { InstanceTokens } from "../../pool/src/InstanceTokens.ts"
import { Pool } from "../../pool/src/Pool.ts"
import { PoolConfig } from "../../pool/src/PoolConfig.ts"
import { PoolProcess } from "../../pool/src/PoolProcess.ts"
import { Reconciler } from "../../pool/src/Reconciler.ts"
import { ToolProviders } from "../../pool/src/resources/ToolProvider.ts"
import { TestDatabaseLayer } from "../../test/db/testDatabase.ts"
import { killInstanceProcesses } from "../../test/pool/poolHarness.ts"
import { startFakeModel, type FakeModel } from "../../test/fakes/fakeModel.ts"
import { startFakeXmtpNode, type FakeXmtpNode } from "../../test/xmtp/fakeNode.ts"
import { ManagerLobby } from "../src/bot/XmtpChat.ts"
import { ManagerAgentLayer } from "../src/ManagerAgent.ts"
import { makeUser, waitFor, type User } from "./support/xmtpWorld.ts"

const READY_TIMEOUT = 240_000

/** The agent's model: OK to the runtime's start-up check, a hello when it is added somewhere. */
const agentModel = (request: { readonly userText: string }) => {
  if (request.userText.includes("start-up check")) return "OK"
  const added = /added to this group conversation as "([^"]+)"/.exec(request.userText)
  if (added) return `Hello everyone, I'm ${added[1]}! Ask me anything.`
  return "fake model reply"
}

let root: string
let node: FakeXmtpNode
let model: FakeModel
let runtime: ManagedRuntime.ManagedRuntime<ManagerLobby | Pool, unknown>
let lobby: ManagerLobby["Service"]
let alice: User
let bob: User

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), "manager-e2e-"))
  node = await startFakeXmtpNode()
  model = await startFakeModel(agentModel)
  const poolLayer = Reconciler.layer.pipe(
    Layer.provideMerge(Pool.layer),
    Layer.provideMerge(
      Layer.mergeAll(
        Instances.layer,
        Claims.layer,
        LocalProcessLayer({ dataDir: join(root, "pool"), command: runtimeCommand, maxRestarts: 1, crashWindow: Duration.minutes(5) }),
        InstanceClient.layer,
        InstanceTokens.layerSecret("e2e-secret"),
        PoolConfig.layerWith({
          targetIdle: 1,
          maxTotal: 1,
          createConcurrency: 1,
          xmtpEnv: "local",
          reconcileInterval: Duration.seconds(1),
          startTimeout: Duration.millis(READY_TIMEOUT),
          instanceEnv: { XMTP_API_URL: node.apiUrl, OPENAI_BASE_URL: model.baseUrl, OPENAI_API_KEY: "sk-local", MODEL: "fake-model" },
        }),
        PoolProcess.layerAdvisory,
        Layer.succeed(ToolProviders, ToolProviders.of([])),
      ),
    ),
  )
  // The reconcile loop warms the instance up to `targetIdle`, as in the product.
  const poolWithLoop = Reconciler.loop.pipe(Layer.provideMerge(poolLayer))
  // The manager exactly as the product wires it, with an empty environment (rules, default quotas).
  const manager = ManagerAgentLayer({
    chat: { stateDir: join(root, "manager"), env: "local", apiUrl: node.apiUrl, name: "Manager" },
  }).pipe(Layer.provide(ConfigProvider.layer(ConfigProvider.fromUnknown({}))))
  runtime = ManagedRuntime.make(
    manager.pipe(Layer.provideMerge(poolWithLoop), Layer.provide(TestDatabaseLayer({ maxConnections: 6 }))),
  )
  lobby = await runtime.runPromise(Effect.gen(function* () {
    return yield* ManagerLobby
  }))
  ;[alice, bob] = await Promise.all([makeUser(node.apiUrl), makeUser(node.apiUrl)])
  // A warm pool: the one instance is idle (its gateway up, first model turn paid) before anyone asks.
  await waitFor(
    () => runtime.runPromise(Effect.gen(function* () {
      return (yield* (yield* Pool).counts).idle >= 1 || undefined
    })),
    "an idle runtime instance",
    READY_TIMEOUT,
  )
}, READY_TIMEOUT + 60_000)

afterAll(async () => {
  await Promise.allSettled([alice?.close(), bob?.close()])
  await runtime?.dispose()
  // Instance processes are detached (they outlive a pool restart): stop the ones this file started.
  if (root) killInstanceProcesses(join(root, "pool"))
  await model?.stop()
  await node?.stop()
  if (process.env.KEEP_E2E_LOGS === undefined) rmSync(root, { recursive: true, force: true })
  else process.stderr.write(`e2e logs kept in ${root}\n`)
}, 120_000)

describe("spawning a real runtime agent from chat", () => {
  it('"spawn a trip planner here": the runtime agent joins the group and greets through the model; "remove" destroys it', async () => {
    const group = (await alice.client.conversations.createGroup([lobby.inboxId, bob.client.inboxId])) as Group
    await group.addAdmin(lobby.inboxId)
    const fromManager = () => alice.texts(group.id).filter((m) => m.sender === lobby.inboxId)
    await waitFor(() => fromManager().length > 0, "the manager's introduction")

    const sentAt = Date.now()
    await group.sendText("spawn a trip planner here")
    await waitFor(() => fromManager().some((m) => m.text === "Trip Planner is joining…"), "the confirmation", 60_000)
    const [instance] = await runtime.runPromise(Effect.gen(function* () {
      return (yield* (yield* Pool).list).filter((row) => row.status === "claimed")
    }))
    expect(instance?.agent_name).toBe("Trip Planner")
    const agentInbox = instance!.inbox_id!
    const greeting = await waitFor(() => alice.texts(group.id).find((m) => m.sender === agentInbox), "the agent's greeting", 90_000)
    expect(greeting.text).toBe("Hello everyone, I'm Trip Planner! Ask me anything.")
    const memberAt = alice.addedAt(group.id, agentInbox)
    process.stderr.write(
      `real runtime: message sent → member ${memberAt === undefined ? "?" : memberAt - sentAt} ms, → first message ${greeting.at - sentAt} ms\n`,
    )

    const before = fromManager().length
    await group.sendText("remove the trip planner")
    await waitFor(() => fromManager().length > before, "the removal reply", 60_000)
    expect(fromManager().at(-1)!.text).toBe("Trip Planner has left and been shut down.")
    await group.sync()
    expect((await group.members()).map((m) => m.inboxId)).not.toContain(agentInbox)
    const rows = await runtime.runPromise(Effect.gen(function* () {
      return yield* (yield* Pool).list
    }))
    expect(rows.find((row) => row.id === instance!.id)).toBeUndefined()
  }, 240_000)
})
