/**
 * End to end with the real OpenClaw gateway, on a host of capacity 1 (HOST_CAPACITY=1: today's one agent per gateway,
 * same code): provision `create`, a user joins by the invite, gets the greeting and the model's reply; the pool's
 * DELETE frees the slot and a fresh one is hot-added, which ignores an add it was not told about and joins the expected
 * group; removed from that group, the slot asks the pool to destroy it (the host keeps running).
 */
import { existsSync } from "node:fs"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type { ConvosClient, ConvosMessageEvent } from "../../convos/index.ts"
import type { FakeModel } from "../../test/fakes/fakeModel.ts"
import { newSlotId, RUNTIME_READY_TIMEOUT, type RuntimeHost, type RuntimeWorld, slotSpecFor, startRuntimeWorld, textsFrom, waitFor } from "./harness.ts"

let world: RuntimeWorld
let model: FakeModel
let host: RuntimeHost
let user: ConvosClient
let received: Array<ConvosMessageEvent>
let pool: NonNullable<RuntimeWorld["pool"]>
let slotId: string
let agentInbox: string
let fresh: string
let freshInbox: string
let tripGroup: string

beforeAll(async () => {
  world = await startRuntimeWorld("single", { fakePool: true, slots: 1, capacity: 1 })
  ;({ model, host, user, received } = world)
  pool = world.pool!
  slotId = world.slotIds[0] ?? ""
  agentInbox = world.inboxOf.get(slotId) ?? ""
}, RUNTIME_READY_TIMEOUT + 60_000)

afterAll(() => world?.stop(), 90_000)

const fromAgent = (conversationId: string, inbox = agentInbox) => textsFrom(received, conversationId, inbox)

describe("a host of capacity 1", () => {
  let conversationId: string

  it("is ready only after the warm-up turn, reports its inbox and no conversation, and refuses a bad body with the contract's reason", async () => {
    const health = await host.slot(slotId).health()
    expect(health).toMatchObject({ status: 200, body: { slotId, ready: true, conversationId: null } })
    expect(health.body.inboxId).toMatch(/^[0-9a-f]{64}$/)
    expect(model.requests.some((r) => r.userText.includes("start-up check"))).toBe(true)
    const bad = await host.slot(slotId).provision({ agentName: "Chef", mode: "create" })
    expect(bad).toMatchObject({ status: 400, body: { error: expect.stringContaining("instructions") } })
    expect(await host.putSlot(newSlotId(), slotSpecFor(model, "x"))).toMatchObject({ status: 409 })
  })

  it("create: a user joins by the invite, gets the greeting, says hi and gets the model's reply as a reply", async () => {
    const provisioned = await host.slot(slotId).provision({ agentName: "Chef", instructions: "You help with recipes.", mode: "create" })
    expect(provisioned).toMatchObject({ status: 200, body: { status: "created", conversationId: expect.stringMatching(/^[0-9a-f]{32}$/) } })
    conversationId = provisioned.body.conversationId as string
    const joined = await user.joinByInvite(provisioned.body.inviteUrl as string, { timeoutMs: 60_000, profile: { name: "Alice", isAgent: false } })
    expect(joined).toEqual({ status: "joined", conversationId })

    const greeting = await waitFor("the greeting", () => fromAgent(conversationId).find((e) => e.text?.includes("I'm Chef")), 60_000)
    expect(greeting.text).toBe("Hello everyone, I'm Chef! Ask me anything.")
    expect(model.requests.some((r) => JSON.stringify(r.body.messages).includes("You help with recipes."))).toBe(true)

    const sentId = await user.sendText(conversationId, "hi there PING-create1")
    const reply = await waitFor("the reply", () => fromAgent(conversationId).find((e) => e.text === "PONG-create1"), 60_000)
    expect(reply.referenceMessageId).toBe(sentId)
    expect(model.requests.at(-1)?.userText).toContain("Alice")
    expect((await host.slot(slotId).health()).body.conversationId).toBe(conversationId)
    // One slot serves one conversation.
    expect((await host.slot(slotId).provision({ agentName: "Other", instructions: "Other.", mode: "create" })).status).toBe(409)
  }, 180_000)

  it("the pool's DELETE frees the slot; a fresh one is hot-added and joins only the group it was told about", async () => {
    expect(await host.deleteSlot(slotId)).toEqual({ status: 200, body: { removed: true } })
    expect(existsSync(join(world.root, "host", "slots", slotId))).toBe(false)
    fresh = newSlotId()
    const started = Date.now()
    expect(await host.putSlot(fresh, slotSpecFor(model, fresh))).toEqual({ status: 200, body: { slotId: fresh } })
    await host.waitSlotsReady([fresh], 120_000)
    process.stderr.write(`[measure] hot-add after delete, PUT → ready: ${Date.now() - started} ms\n`)
    freshInbox = (await host.health()).slots.find((s) => s.slotId === fresh)?.inboxId ?? ""
    expect(freshInbox).not.toBe(agentInbox)

    const unexpected = await user.createConversation({ name: "Someone else's group", permissions: "all_members" })
    const group = await user.createConversation({ name: "Trip", permissions: "all_members", profile: { name: "Alice", isAgent: false } })
    tripGroup = group.conversationId
    const provisioned = await host.slot(fresh).provision({ agentName: "Trip Planner", instructions: "Plan trips.", mode: "add", conversationId: group.conversationId, addedBy: user.inboxId })
    expect(provisioned).toEqual({ status: 200, body: { status: "added", conversationId: group.conversationId, inviteUrl: null } })
    await user.addMembers(unexpected.conversationId, [freshInbox])
    await user.addMembers(group.conversationId, [freshInbox])
    const greeting = await waitFor("the greeting", () => fromAgent(group.conversationId, freshInbox).find((e) => e.text?.includes("Trip Planner")), 90_000)
    expect(greeting.text).toBe("Hello everyone, I'm Trip Planner! Ask me anything.")
    await user.sendText(group.conversationId, "PING-fresh")
    await waitFor("the reply", () => fromAgent(group.conversationId, freshInbox).find((e) => e.text === "PONG-fresh"), 60_000)
    // It never spoke in, nor thought about, the group it was not sent to.
    expect(fromAgent(unexpected.conversationId, freshInbox)).toEqual([])
    expect(model.requests.some((r) => r.userText.includes(unexpected.conversationId))).toBe(false)
  }, 300_000)

  it("removed from its group, the slot asks the pool to destroy it with its own token, and the host keeps running", async () => {
    await user.removeMembers(tripGroup, [freshInbox])
    const call = await waitFor("the self-destruct call", () => pool.calls.find((c) => c.path === "/api/pool/self-destruct"), 60_000)
    expect(call.body).toEqual({ instanceId: fresh, token: host.slot(fresh).token })
    expect((await host.health()).slots).toEqual([expect.objectContaining({ slotId: fresh, ready: false, conversationId: tripGroup })])
  }, 120_000)
})
