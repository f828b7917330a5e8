/**
 * End to end with the real OpenClaw gateway: provision `add` → the user's group gets the agent and its greeting;
 * an unexpected add is ignored; killing the gateway → the supervisor restarts it and the agent answers again in
 * the same conversation with the same inbox; removing the agent → it tells the pool and stops.
 * One runtime instance (one gateway at a time) for the file.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type { ConvosClient, ConvosMessageEvent } from "../../convos/index.ts"
import type { FakeModel } from "../../test/fakes/fakeModel.ts"
import { type RuntimeInstance, RUNTIME_READY_TIMEOUT, type RuntimeWorld, startRuntimeWorld, textsFrom, waitFor } from "./harness.ts"

let world: RuntimeWorld
let model: FakeModel
let pool: NonNullable<RuntimeWorld["pool"]>
let instance: RuntimeInstance
let user: ConvosClient
let agentInbox: string
let received: Array<ConvosMessageEvent>

beforeAll(async () => {
  world = await startRuntimeWorld("add", { fakePool: true })
  ;({ model, instance, user, agentInbox, received } = world)
  pool = world.pool!
}, RUNTIME_READY_TIMEOUT + 30_000)

afterAll(() => world?.stop(), 60_000)

const fromAgent = (conversationId: string) => textsFrom(received, conversationId, agentInbox)

describe("runtime instance (add)", () => {
  let conversationId: string

  it("ignores an add it was not told to expect, then joins the expected group and greets it", async () => {
    const unexpected = await user.createConversation({ name: "Someone else's group", permissions: "all_members" })
    const group = await user.createConversation({ name: "Trip", permissions: "all_members", profile: { name: "Alice", isAgent: false } })
    conversationId = group.conversationId

    const provisioned = await instance.provision({ agentName: "Trip Planner", instructions: "Plan trips.", mode: "add", conversationId, addedBy: user.inboxId })
    expect(provisioned).toEqual({ status: 200, body: { status: "added", conversationId } })
    // Added first to a group nobody told it about: it must not bind there or speak.
    await user.addMembers(unexpected.conversationId, [agentInbox])
    await user.addMembers(conversationId, [agentInbox])

    const greeting = await waitFor("the greeting", () => fromAgent(conversationId).find((e) => e.text?.includes("Trip Planner")), 60_000)
    expect(greeting.text).toBe("Hello everyone, I'm Trip Planner! Ask me anything.")
    expect((await instance.health()).conversationId).toBe(conversationId)
    await new Promise((r) => setTimeout(r, 1_000))
    expect(fromAgent(unexpected.conversationId)).toEqual([])
    expect(model.requests.some((r) => r.userText.includes(unexpected.conversationId))).toBe(false)
  }, 120_000)

  it("answers in the group, and after its gateway is killed the supervisor restarts it and it answers again with the same inbox", async () => {
    await user.sendText(conversationId, "PING-before")
    await waitFor("the first reply", () => fromAgent(conversationId).find((e) => e.text === "PONG-before"), 60_000)

    const before = await instance.health()
    const gatewayPid = instance.gatewayPid()
    expect(gatewayPid).toBeDefined()
    process.kill(gatewayPid ?? 0, "SIGKILL")
    await waitFor("the gateway to go down", async () => ((await instance.health()).ready ? undefined : true), 30_000)
    await instance.waitReady(RUNTIME_READY_TIMEOUT)
    expect(instance.gatewayPid()).not.toBe(gatewayPid)
    const after = await instance.health()
    expect(after).toMatchObject({ ready: true, inboxId: before.inboxId, conversationId })

    await user.sendText(conversationId, "PING-after")
    await waitFor("the reply after the restart", () => fromAgent(conversationId).find((e) => e.text === "PONG-after"), 60_000)
    // Greeted once only, restart or not.
    expect(fromAgent(conversationId).filter((e) => e.text?.includes("Hello everyone"))).toHaveLength(1)
  }, RUNTIME_READY_TIMEOUT + 120_000)

  it("when removed from the group it tells the pool with its token and stops", async () => {
    await user.removeMembers(conversationId, [agentInbox])
    const call = await waitFor("the self-destruct call", () => pool.calls.find((c) => c.path === "/api/pool/self-destruct"), 60_000)
    expect(call.body).toEqual({ instanceId: instance.instanceId, token: instance.token })
    expect(await instance.exited).toBe(0)
  }, 120_000)
})
