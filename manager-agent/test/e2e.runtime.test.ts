/**
 * End to end with everything real but the network and the model: the pool core (Postgres, LocalProcess compute)
 * warms one real agent runtime (OpenClaw gateway + convos plugin) against the fake XMTP node and the fake model;
 * the manager claims it in `add` mode from a chat message, adds it, the agent greets on its own, a rename and new
 * instructions reach the running agent, and "remove" destroys its instance. Slow (a gateway start): one instance for the file.
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
import { Hosts } from "../../pool/src/db/Hosts.ts"
import { HostClient } from "../../pool/src/HostClient.ts"
import { InstanceClient } from "../../pool/src/InstanceClient.ts"
import { InstanceTokens } from "../../pool/src/InstanceTokens.ts"
import { Pool } from "../../pool/src/Pool.ts"
import { PoolConfig } from "../../pool/src/PoolConfig.ts"
import { PoolProcess } from "../../pool/src/PoolProcess.ts"
import { Reconciler } from "../../pool/src/Reconciler.ts"
import { ToolProviders } from "../../pool/src/resources/ToolProvider.ts"
import { TestDatabaseLayer } from "../../test/db/testDatabase.ts"
import { killHostProcesses } from "../../test/pool/poolHarness.ts"
import { startFakeModel, type FakeModel } from "../../test/fakes/fakeModel.ts"
import { startFakeXmtpNode, type FakeXmtpNode } from "../../test/xmtp/fakeNode.ts"
import { ManagerLobby } from "../src/bot/XmtpChat.ts"
import { ManagerAgentLayer } from "../src/ManagerAgent.ts"
import { makeUser, waitFor, type User } from "./support/xmtpWorld.ts"

const READY_TIMEOUT = 240_000

/**
 * The agent's model: OK to the runtime's start-up check, a hello when it is added somewhere, "Answer to CUE-X" to a
 * message carrying a cue. The history is in every request, so the cue is checked first and the newest one wins.
 */
const agentModel = (request: { readonly userText: string }) => {
  const cue = [...request.userText.matchAll(/CUE-[A-Z]+/g)].at(-1)?.[0]
  if (cue) return `Answer to ${cue}`
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
        Hosts.layer,
        Claims.layer,
        LocalProcessLayer({ dataDir: join(root, "pool"), command: runtimeCommand, maxRestarts: 1, crashWindow: Duration.minutes(5) }),
        InstanceClient.layer,
        HostClient.layer,
        InstanceTokens.layerSecret("e2e-secret"),
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
  // The reconcile loop warms the instance up to `targetIdle`, as in the product.
  const poolWithLoop = Reconciler.loop.pipe(Layer.provideMerge(poolLayer))
  // The manager exactly as the product wires it, with an empty environment (rules, default quotas).
  const manager = ManagerAgentLayer({
    // A sweep every 2 s: a message the live stream loses (libxmtp#2351) must not fail a wait.
    chat: { stateDir: join(root, "manager"), env: "local", apiUrl: node.apiUrl, name: "Manager", catchUpEvery: Duration.seconds(2) },
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
  if (root) killHostProcesses(join(root, "pool"))
  await model?.stop()
  await node?.stop()
  if (process.env.KEEP_E2E_LOGS === undefined) rmSync(root, { recursive: true, force: true })
  else process.stderr.write(`e2e logs kept in ${root}\n`)
}, 120_000)

describe("spawning a real runtime agent from chat", () => {
  it('"spawn a trip planner here": the runtime agent joins and greets; rename and re-instruct reach it; it never answers the manager; "remove" destroys it', async () => {
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

    // Rename and re-instruct reach the running agent: its profile name in the group, and its next turn's prompt.
    const managerSays = async (request: string, expected: string) => {
      const before = fromManager().length
      await group.sendText(request)
      await waitFor(() => fromManager().length > before, `the reply to "${request}"`, 60_000)
      expect(fromManager().at(-1)!.text).toBe(expected)
    }
    await managerSays("rename the trip planner to Tour Guide", "Trip Planner is now called Tour Guide.")
    await waitFor(() => alice.profileName(group.id, agentInbox) === "Tour Guide" || undefined, "the agent's new profile name", 30_000)
    await managerSays("tell Tour Guide to only talk about Japan", "Got it: Tour Guide has its new instructions.")
    await group.sendText("Tour Guide, any tips? CUE-JAPAN")
    const turn = await waitFor(() => model.requests.find((r) => r.userText.includes("CUE-JAPAN")), "the agent's next turn", 60_000)
    expect(turn.systemText).toContain('Your name in this conversation is "Tour Guide"')
    expect(turn.systemText).toMatch(/only talk about Japan/i)
    expect(turn.systemText).not.toContain("Trip Planner")
    const [row] = await runtime.runPromise(Effect.gen(function* () {
      return (yield* (yield* Pool).list).filter((r) => r.id === instance!.id)
    }))
    expect(row?.agent_name).toBe("Tour Guide")

    // The manager's messages name the agent ("Trip Planner is joining…", "… is now called Tour Guide.") but the agent
    // answers people only: each of its replies quotes a message of Alice's.
    const cueAnswer = await waitFor(
      () => alice.said(group.id).find((m) => m.sender === agentInbox && m.inReplyTo !== undefined && m.text.includes("CUE-JAPAN")),
      "the agent's answer to the cue",
      60_000,
    )
    await group.sync()
    const aliceIds = new Set((await group.messages()).filter((m) => m.senderInboxId === alice.client.inboxId).map((m) => m.id))
    const agentReplies = alice.said(group.id).filter((m) => m.sender === agentInbox && m.inReplyTo !== undefined)
    expect(agentReplies.length).toBeGreaterThan(0)
    for (const reply of agentReplies) expect(aliceIds.has(reply.inReplyTo!), `"${reply.text}" answers a message of Alice's`).toBe(true)
    expect(cueAnswer.text).toBe("Answer to CUE-JAPAN")

    await managerSays("remove Tour Guide", "Tour Guide has left and been shut down.")
    await group.sync()
    expect((await group.members()).map((m) => m.inboxId)).not.toContain(agentInbox)
    const rows = await runtime.runPromise(Effect.gen(function* () {
      return yield* (yield* Pool).list
    }))
    expect(rows.find((row) => row.id === instance!.id)).toBeUndefined()
  }, 240_000)
})
