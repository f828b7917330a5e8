/**
 * End to end with everything real but the network and the model: the pool core (Postgres, LocalProcess compute)
 * warms one real agent runtime (OpenClaw gateway + convos plugin) against the fake XMTP node and the fake model;
 * the manager claims it in `add` mode from a chat message, adds it, the agent greets on its own, a rename and new
 * instructions reach the running agent, and "remove" destroys its instance. Slow (a gateway start): one instance for the file.
 */
import type { Group } from "@xmtp/node-sdk"
import { Effect } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { Pool } from "../../pool/src/Pool.ts"
import type { ManagerLobby } from "../src/bot/XmtpChat.ts"
import { READY_TIMEOUT, startRuntimeProduct, type RuntimeProduct } from "./support/runtimeProduct.ts"
import { makeUser, waitFor, type User } from "./support/xmtpWorld.ts"

let product: RuntimeProduct
let runtime: RuntimeProduct["runtime"]
let model: RuntimeProduct["model"]
let lobby: ManagerLobby["Service"]
let alice: User
let bob: User

beforeAll(async () => {
  product = await startRuntimeProduct()
  ;({ runtime, model, lobby } = product)
  ;[alice, bob] = await Promise.all([makeUser(product.node.apiUrl), makeUser(product.node.apiUrl)])
}, READY_TIMEOUT + 60_000)

afterAll(async () => {
  await Promise.allSettled([alice?.close(), bob?.close()])
  await product?.close()
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
