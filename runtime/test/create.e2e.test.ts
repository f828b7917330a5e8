/**
 * End to end with the real OpenClaw gateway: provision `create`, a user joins by the invite, gets the greeting,
 * says hi and gets the model's reply. One runtime instance (one gateway) for the file.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type { ConvosClient, ConvosMessageEvent } from "../../convos/index.ts"
import type { FakeModel } from "../../test/fakes/fakeModel.ts"
import { type RuntimeInstance, RUNTIME_READY_TIMEOUT, type RuntimeWorld, startRuntimeWorld, waitFor } from "./harness.ts"

let world: RuntimeWorld
let model: FakeModel
let instance: RuntimeInstance
let user: ConvosClient
let received: Array<ConvosMessageEvent>

beforeAll(async () => {
  world = await startRuntimeWorld("create")
  ;({ model, instance, user, received } = world)
}, RUNTIME_READY_TIMEOUT + 30_000)

afterAll(() => world?.stop(), 60_000)

describe("runtime instance (create)", () => {
  it("is ready only after the warm-up turn, reports its inbox and no conversation, and refuses a wrong token", async () => {
    const health = await instance.health()
    expect(health).toMatchObject({ ready: true, conversationId: null, version: expect.stringContaining("openclaw/2026.9.6") })
    expect(health.inboxId).toMatch(/^[0-9a-f]{64}$/)
    expect(model.requests.some((r) => r.userText.includes("start-up check"))).toBe(true)
    const wrong = await fetch(`http://127.0.0.1:${instance.port}/pool/health`, { headers: { authorization: "Bearer nope" } })
    expect(wrong.status).toBe(401)
    const bad = await instance.provision({ agentName: "Chef", mode: "create" })
    expect(bad).toEqual({ status: 400, body: { error: "instructions must be a string" } })
  })

  it("create: a user joins by the invite, gets the greeting, says hi and gets the model's reply as a reply", async () => {
    const provisioned = await instance.provision({ agentName: "Chef", instructions: "You help with recipes.", mode: "create" })
    expect(provisioned.status).toBe(200)
    expect(provisioned.body).toMatchObject({ status: "created", conversationId: expect.stringMatching(/^[0-9a-f]{32}$/) })
    const conversationId = provisioned.body.conversationId as string
    const agentInbox = (await instance.health()).inboxId

    const joined = await user.joinByInvite(provisioned.body.inviteUrl as string, { timeoutMs: 60_000, profile: { name: "Alice", isAgent: false } })
    expect(joined).toEqual({ status: "joined", conversationId })

    const fromAgent = (kind: string) => received.filter((e) => e.conversationId === conversationId && e.senderInboxId === agentInbox && e.kind === kind)
    const greeting = await waitFor("the greeting", () => fromAgent("text").find((e) => e.text?.includes("I'm Chef")), 60_000)
    expect(greeting.text).toBe("Hello everyone, I'm Chef! Ask me anything.")
    // The per-conversation instructions reached the model.
    expect(model.requests.some((r) => JSON.stringify(r.body.messages).includes("You help with recipes."))).toBe(true)

    const sentId = await user.sendText(conversationId, "hi there PING-create1")
    const reply = await waitFor("the reply", () => fromAgent("reply").find((e) => e.text === "PONG-create1"), 60_000)
    expect(reply.referenceMessageId).toBe(sentId)
    // The model saw the sender's name.
    expect(model.requests.at(-1)?.userText).toContain("Alice")
    expect((await instance.health()).conversationId).toBe(conversationId)
  }, 180_000)

  it("refuses a second provision with 409: one instance serves one conversation", async () => {
    const second = await instance.provision({ agentName: "Other", instructions: "", mode: "create" })
    expect(second.status).toBe(409)
  })
})
