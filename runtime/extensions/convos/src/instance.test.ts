/** ConvosInstance over a recording transport and turn runner: one describe per behaviour (over 400 lines for that). */
import { describe, expect, it } from "vitest"
import { memoryBindingStore } from "./bindingStore.ts"
import { ConvosInstance, NO_MODEL_REPLY, type TurnRequest } from "./instance.ts"
import { BACKLOG_HEADING } from "./events.ts"
import * as contract from "../../../../contract/index.ts"
import { testDecoders as decode } from "./testing/decoders.ts"
import { memoryTransport, SELF_INBOX } from "./testing/memoryTransport.ts"
import type { TransportMessage } from "./transport.ts"

const conv = "0123456789abcdef0123456789abcdef"
const manager = "f".repeat(64)
const alice = "1".repeat(64)
const silentLog = { info: () => {}, warn: () => {}, error: () => {} }

const setup = (options: { modelConfigured?: boolean; reply?: (req: TurnRequest) => string; store?: ReturnType<typeof memoryBindingStore> } = {}) => {
  const transport = memoryTransport()
  const store = options.store ?? memoryBindingStore()
  const turns: Array<TurnRequest> = []
  const instance = new ConvosInstance({
    transport,
    store,
    decode,
    modelConfigured: options.modelConfigured ?? true,
    log: silentLog,
    runTurn: async (req) => {
      turns.push(req)
      await req.deliver(options.reply ? options.reply(req) : `reply to: ${req.text}`)
    },
  })
  return { transport, store, turns, instance }
}

const text = (id: string, body: string, extra: Partial<TransportMessage> = {}): TransportMessage => ({
  id, conversationId: conv, senderInboxId: alice, senderName: "Alice", sentAt: new Date(), content: { kind: "text", text: body }, ...extra,
})

describe("ConvosInstance", () => {
  it("is not ready before start and refuses provisions with 503", async () => {
    const { instance } = setup()
    expect(instance.status().ready).toBe(false)
    expect(await instance.provision({ agentName: "Chef", instructions: "Be helpful.", mode: "create" })).toMatchObject({ status: 503 })
  })

  it("create: binds to the new conversation, greets its first joiner through the agent, then answers messages with a reply reference", async () => {
    const { instance, transport, turns } = setup()
    await instance.start()
    const response = await instance.provision({ agentName: "Chef", instructions: "Talk about food.", mode: "create" })
    expect(response.status).toBe(200)
    const created = transport.created[0]
    expect(response.body).toEqual({ status: "created", conversationId: created, inviteUrl: `https://popup.convos.org/v2?i=invite-${created}` })
    await instance.idle()
    // Nobody is there yet: a greeting now would never be read.
    expect(turns).toHaveLength(0)
    transport.emitMembersJoined(created ?? "", [alice])
    // Someone else added by a member arrives as a message; still one greeting.
    transport.emitMessage({ ...text("j2", ""), conversationId: created ?? "", senderInboxId: alice, content: { kind: "group_updated", addedInboxIds: ["2".repeat(64)], removedInboxIds: [] } })
    await instance.idle()
    expect(turns).toHaveLength(1)
    expect(turns[0]?.text).toContain('added to this group conversation as "Chef"')
    expect(turns[0]?.systemPrompt).toContain("Talk about food.")
    expect(transport.sent[0]).toMatchObject({ conversationId: created, text: expect.stringContaining("reply to: [System") })
    expect(transport.sent[0]).not.toHaveProperty("replyTo")

    transport.emitMessage(text("m1", "hi", { conversationId: created ?? "" }))
    await instance.idle()
    expect(turns[1]).toMatchObject({ text: "hi", senderName: "Alice", senderInboxId: alice, conversationId: created })
    expect(transport.sent[1]).toMatchObject({ text: "reply to: hi", replyTo: "m1" })
    // The working reaction is shown on the message while the model runs, then removed.
    expect(transport.reactions).toEqual([
      { conversationId: created, messageId: "m1", emoji: "👀", action: "added" },
      { conversationId: created, messageId: "m1", emoji: "👀", action: "removed" },
    ])
    expect(await instance.provision({ agentName: "Other", instructions: "Be helpful.", mode: "create" })).toMatchObject({ status: 409 })
  })

  it("create: looks for its first member's join request itself until someone joins, then stops looking", async () => {
    const transport = memoryTransport()
    const instance = new ConvosInstance({
      transport,
      store: memoryBindingStore(),
      decode,
      modelConfigured: true,
      log: silentLog,
      runTurn: async (req) => req.deliver("hello"),
      joinWatch: { fastEveryMs: 5, fastForMs: 60_000, slowEveryMs: 5, giveUpAfterMs: 60_000 },
    })
    await instance.start()
    await instance.provision({ agentName: "Chef", instructions: "Be helpful.", mode: "create" })
    const created = transport.created[0] ?? ""
    const started = Date.now()
    while (transport.joinChecks < 3) {
      if (Date.now() - started > 5_000) throw new Error(`only ${transport.joinChecks} join checks in 5 s`)
      await new Promise((r) => setTimeout(r, 5))
    }
    transport.emitMembersJoined(created, [alice])
    await instance.idle()
    const checks = transport.joinChecks
    await new Promise((r) => setTimeout(r, 50))
    expect(transport.joinChecks).toBe(checks)
    expect(transport.sent.map((m) => m.text)).toEqual(["hello"])
    await instance.stop()
  })

  it("add: answers at once, ignores an unexpected add, binds on the expected welcome and greets", async () => {
    const { instance, transport, turns } = setup()
    await instance.start()
    expect(await instance.provision({ agentName: "Chef", instructions: "Be helpful.", mode: "add", conversationId: conv, addedBy: manager })).toEqual({
      status: 200,
      body: { status: "added", conversationId: conv, inviteUrl: null },
    })
    expect(transport.expectations).toEqual([{ conversationId: conv, addedBy: manager, withdrawn: false }])
    transport.emitWelcome({ conversationId: "9".repeat(32), addedBy: alice })
    transport.emitMessage(text("stray", "hello?", { conversationId: "9".repeat(32) }))
    await instance.idle()
    expect(instance.status()).toMatchObject({ conversationId: null, phase: "expecting_add" })
    expect(turns).toHaveLength(0)
    transport.emitWelcome({ conversationId: conv, addedBy: manager })
    await instance.idle()
    expect(instance.status()).toMatchObject({ conversationId: conv, phase: "bound" })
    expect(transport.profiles).toEqual([{ conversationId: conv, name: "Chef" }])
    expect(transport.sent).toHaveLength(1)
    expect(transport.sent[0]?.conversationId).toBe(conv)
  })

  it("writes its agent profile again whenever members are added to its conversation (they cannot read the earlier one), once per add, greeting only once", async () => {
    const { instance, transport, turns } = setup()
    await instance.start()
    await instance.provision({ agentName: "Chef", instructions: "Be helpful.", mode: "add", conversationId: conv, addedBy: manager })
    transport.emitWelcome({ conversationId: conv, addedBy: manager })
    await instance.idle()
    expect(transport.profiles).toEqual([{ conversationId: conv, name: "Chef" }])
    const echo = "2".repeat(64)
    const added = (id: string, inboxIds: Array<string>, conversationId = conv) =>
      ({ ...text(id, ""), conversationId, senderInboxId: alice, content: { kind: "group_updated", addedInboxIds: inboxIds, removedInboxIds: [] } }) as const
    transport.emitMessage(added("u1", [echo]))
    // The same update seen twice (stream and catch-up), our own add, and another conversation's add write nothing.
    transport.emitMessage(added("u1", [echo]))
    transport.emitMessage(added("u2", [SELF_INBOX]))
    transport.emitMessage(added("u3", ["3".repeat(64)], "9".repeat(32)))
    await instance.idle()
    expect(transport.profiles).toEqual([{ conversationId: conv, name: "Chef" }, { conversationId: conv, name: "Chef" }])
    // Under its current name after a rename.
    await instance.configure({ agentName: "Pastry Chef" })
    transport.emitMessage(added("u4", ["4".repeat(64)]))
    await instance.idle()
    expect(transport.profiles.at(-1)).toEqual({ conversationId: conv, name: "Pastry Chef" })
    expect(transport.profiles).toHaveLength(4)
    expect(turns.filter((turn) => turn.text.includes("added to this group conversation"))).toHaveLength(1)
  })

  it("handles each message once and never answers its own messages", async () => {
    const { instance, transport, turns } = setup()
    await instance.start()
    await instance.provision({ agentName: "Chef", instructions: "Be helpful.", mode: "add", conversationId: conv, addedBy: manager })
    transport.emitWelcome({ conversationId: conv, addedBy: manager })
    transport.emitMessage(text("m1", "hi"))
    transport.emitMessage(text("m1", "hi"))
    transport.emitMessage(text("m2", "echo", { senderInboxId: SELF_INBOX }))
    await instance.idle()
    expect(turns.map((t) => t.text)).toEqual([expect.stringContaining("[System"), "hi"])
  })

  it("answers another agent (the manager) only when it addresses the agent by name", async () => {
    const { instance, transport, turns } = setup()
    await instance.start()
    await instance.provision({ agentName: "Chef", instructions: "Be helpful.", mode: "add", conversationId: conv, addedBy: manager })
    transport.emitWelcome({ conversationId: conv, addedBy: manager })
    transport.emitMessage(text("b1", "Spawned an agent for you.", { senderInboxId: manager, senderIsAgent: true }))
    transport.emitMessage(text("b2", "Chef, please introduce yourself", { senderInboxId: manager, senderIsAgent: true }))
    await instance.idle()
    expect(turns.map((t) => t.messageId)).toEqual([`greeting-${conv}`, "b2"])
  })

  it("answers a CLI user (profile memberKind Agent) who names it, replies to it, or asks an unnamed question while it is the only agent", async () => {
    const { instance, transport, turns } = setup()
    await instance.start()
    await instance.provision({ agentName: "Trip Planner", instructions: "Be helpful.", mode: "add", conversationId: conv, addedBy: manager, managerInboxId: manager })
    transport.emitWelcome({ conversationId: conv, addedBy: manager })
    await instance.idle()
    const greetingId = transport.sent[0]?.messageId ?? ""
    const cli = { senderInboxId: "c".repeat(64), senderName: "Carol", senderIsAgent: true, otherAgentInboxIds: [manager] }
    transport.emitMessage(text("c1", "Trip Planner, which month is best for Lisbon?", cli))
    transport.emitMessage(text("c2", "what about the weather in May?", cli))
    transport.emitMessage({ ...text("c3", "", cli), content: { kind: "reply", text: "nice, thanks", inReplyTo: greetingId } })
    // Another agent joins: an unnamed question may now be for it.
    transport.emitMessage(text("c4", "and hotels?", { ...cli, otherAgentInboxIds: [manager, "e".repeat(64)] }))
    transport.emitMessage(text("c5", "booked it", cli))
    await instance.idle()
    expect(turns.map((t) => t.messageId)).toEqual([`greeting-${conv}`, "c1", "c2", "c3"])
  })

  it("two agents that each declare memberKind Agent and answer each other stop within the limits", async () => {
    const policy = { maxBotDepth: 3, maxBotAnswersPerWindow: 100, windowMs: 60_000, chainGapMs: 60_000 }
    const agents = (["Trip Planner", "Chef"] as const).map((name, i) => {
      const transport = memoryTransport()
      Object.assign(transport, { inboxId: String(i + 5).repeat(64) })
      const instance = new ConvosInstance({
        transport,
        store: memoryBindingStore(),
        decode,
        modelConfigured: true,
        log: silentLog,
        manners: policy,
        // Each always answers, naming the other: the worst case for a loop.
        runTurn: async (req) => req.deliver(`${name === "Chef" ? "Trip Planner" : "Chef"}, what do you think?`),
      })
      return { name, transport, instance }
    })
    for (const { name, instance, transport } of agents) {
      await instance.start()
      await instance.provision({ agentName: name, instructions: "Be helpful.", mode: "add", conversationId: conv, addedBy: manager })
      transport.emitWelcome({ conversationId: conv, addedBy: manager })
      await instance.idle()
    }
    // From now on what one sends, the other receives, as a reply from an agent-marked member.
    const chat: Array<{ from: string; text: string }> = []
    for (const [i, { name, transport }] of agents.entries()) {
      const other = agents[1 - i]!
      let counter = 0
      transport.sendText = async (conversationId, body, options) => {
        const messageId = `${name}-${++counter}`
        chat.push({ from: name, text: body })
        const content = options?.replyTo ? { kind: "reply" as const, text: body, inReplyTo: options.replyTo } : { kind: "text" as const, text: body }
        queueMicrotask(() =>
          other.transport.emitMessage({ id: messageId, conversationId, senderInboxId: transport.inboxId, senderName: name, senderIsAgent: true, otherAgentInboxIds: [], sentAt: new Date(), content }),
        )
        return { messageId }
      }
    }
    for (const { transport } of agents) transport.emitMessage(text("h1", "Trip Planner, ask Chef what we should cook"))
    const settle = async () => {
      // Quiet means: both turn queues drained and nothing new sent over a few event-loop turns.
      for (let quiet = 0, seen = -1; quiet < 5; quiet = seen === chat.length ? quiet + 1 : 0) {
        seen = chat.length
        await Promise.all(agents.map((a) => a.instance.idle()))
        await new Promise((r) => setTimeout(r, 0))
      }
    }
    await settle()
    // Both answer the person (people are always heard), then each answers the other's first 3 messages, then quiet.
    const count = (name: string) => chat.filter((m) => m.from === name).length
    expect([count("Trip Planner"), count("Chef")]).toEqual([1 + 3, 1 + 3])
    // A person speaking again starts a new chain.
    for (const { transport } of agents) transport.emitMessage(text("h2", "Chef, one more idea?"))
    await settle()
    expect([count("Trip Planner"), count("Chef")]).toEqual([8, 8])
  })

  it("never answers the manager that spawned it, even after a restart, while humans naming it are answered", async () => {
    const store = memoryBindingStore()
    const first = setup({ store })
    await first.instance.start()
    await first.instance.provision({ agentName: "Chef", instructions: "Be helpful.", mode: "add", conversationId: conv, addedBy: manager, managerInboxId: manager })
    first.transport.emitWelcome({ conversationId: conv, addedBy: manager })
    first.transport.emitMessage(text("b1", "Chef is joining…", { senderInboxId: manager }))
    first.transport.emitMessage(text("h1", "Chef, hello!"))
    await first.instance.idle()
    expect(first.turns.map((t) => t.messageId)).toEqual([`greeting-${conv}`, "h1"])
    await first.instance.stop()

    const second = setup({ store })
    await second.instance.start()
    second.transport.emitMessage(text("b2", "Agents here: Chef", { senderInboxId: manager }))
    await second.instance.idle()
    expect(second.turns).toHaveLength(0)
  })

  it("configure: renames the agent in its conversation and later turns use the new name and instructions", async () => {
    const { instance, transport, turns } = setup()
    await instance.start()
    await instance.provision({ agentName: "Chef", instructions: "Talk about food.", mode: "add", conversationId: conv, addedBy: manager })
    transport.emitWelcome({ conversationId: conv, addedBy: manager })
    await instance.idle()
    expect(await instance.configure({ agentName: "Pastry Chef", instructions: "Only desserts." })).toEqual({
      status: 200,
      body: { status: "configured", agentName: "Pastry Chef" },
    })
    expect(transport.profiles).toEqual([
      { conversationId: conv, name: "Chef" },
      { conversationId: conv, name: "Pastry Chef" },
    ])
    transport.emitMessage(text("m1", "what should I bake?"))
    await instance.idle()
    expect(turns.at(-1)?.systemPrompt).toContain('"Pastry Chef"')
    expect(turns.at(-1)?.systemPrompt).toContain("Only desserts.")
    expect(turns.at(-1)?.systemPrompt).not.toContain("Talk about food.")
    // New instructions alone write no profile.
    await instance.configure({ instructions: "Cakes." })
    expect(transport.profiles).toHaveLength(2)
  })

  it("configure: a profile that cannot be written changes nothing; bad bodies and an unprovisioned agent are refused", async () => {
    const { instance, transport, turns } = setup()
    await instance.start()
    expect(await instance.configure({ agentName: "X" })).toMatchObject({ status: 409 })
    await instance.provision({ agentName: "Chef", instructions: "Talk about food.", mode: "add", conversationId: conv, addedBy: manager })
    transport.emitWelcome({ conversationId: conv, addedBy: manager })
    await instance.idle()
    expect(await instance.configure({ agentName: "" })).toMatchObject({ status: 400, body: { error: expect.stringContaining("agentName") } })
    transport.setProfileName = async () => {
      throw new Error("network down")
    }
    expect(await instance.configure({ agentName: "Pastry Chef", instructions: "Only desserts." })).toEqual({
      status: 500,
      body: { error: "could not change the profile name: network down" },
    })
    transport.emitMessage(text("m1", "hi"))
    await instance.idle()
    expect(turns.at(-1)?.systemPrompt).toContain('"Chef"')
    expect(turns.at(-1)?.systemPrompt).toContain("Talk about food.")
  })

  it("create: after a restart, greets a conversation someone joined while it was down, and not an empty one", async () => {
    const store = memoryBindingStore()
    const first = setup({ store })
    await first.instance.start()
    await first.instance.provision({ agentName: "Chef", instructions: "Be helpful.", mode: "create" })
    const created = first.transport.created[0] ?? ""
    await first.instance.stop()

    const empty = setup({ store })
    await empty.instance.start()
    await empty.instance.idle()
    expect(empty.turns).toHaveLength(0)
    await empty.instance.stop()

    const joinedMeanwhile = setup({ store })
    joinedMeanwhile.transport.populated.add(created)
    await joinedMeanwhile.instance.start()
    await joinedMeanwhile.instance.idle()
    expect(joinedMeanwhile.turns.map((t) => t.messageId)).toEqual([`greeting-${created}`])
  })

  it("keeps OpenClaw's notices out of the chat (the remove path: a message arriving while the gateway drains), logs them at debug, and still sends real replies", async () => {
    const debug: Array<string> = []
    const transport = memoryTransport()
    const replies: Record<string, Array<[string, { isError?: boolean }?]>> = {
      m1: [["⚠️ Gateway is restarting. Please wait a few seconds and try again."]],
      m2: [["Something failed", { isError: true }], ["Here is the plan."]],
    }
    const instance = new ConvosInstance({
      transport,
      store: memoryBindingStore(),
      decode,
      modelConfigured: true,
      log: { ...silentLog, debug: (m) => void debug.push(m) },
      runTurn: async (req) => {
        for (const [body, flags] of replies[req.messageId] ?? [["Hello, I'm Chef."]]) await req.deliver(body, flags)
      },
    })
    await instance.start()
    await instance.provision({ agentName: "Chef", instructions: "Be helpful.", mode: "add", conversationId: conv, addedBy: manager })
    transport.emitWelcome({ conversationId: conv, addedBy: manager })
    transport.emitMessage(text("m1", "remove the chef"))
    transport.emitMessage(text("m2", "plan please"))
    await instance.idle()
    expect(transport.sent.map((m) => [m.text, m.replyTo])).toEqual([
      ["Hello, I'm Chef.", undefined],
      // The reply reference stays for the first message really sent.
      ["Here is the plan.", "m2"],
    ])
    expect(debug).toEqual([
      'kept out of the chat: gateway_notice: "⚠️ Gateway is restarting. Please wait a few seconds and try again."',
      'kept out of the chat: flagged_notice: "Something failed"',
    ])
    // Gateway-side sends (message tool, --deliver) pass the same edge; a notice counts as delivered so it is not retried.
    expect(await instance.sendToBound(conv, "⚠️ Previous run is still shutting down. Please try again in a moment.")).toBe("")
    await expect(instance.sendToBound(conv, "   ")).rejects.toThrow(/empty/)
    expect(transport.sent).toHaveLength(2)
    // OpenClaw's restart recovery names the conversation as the turn's route target; another conversation is refused.
    await instance.sendToBound(`convos:${conv.toUpperCase()}`, "Here is the plan you asked for before the restart.")
    expect(transport.sent.at(-1)?.text).toBe("Here is the plan you asked for before the restart.")
    await instance.sendToBound(`convos:group:${conv}`, "And the ferry times.")
    expect(transport.sent.at(-1)?.text).toBe("And the ferry times.")
    await expect(instance.sendToBound(`convos:${"f".repeat(32)}`, "hi")).rejects.toThrow(/only sends to its own conversation/)
    expect(transport.sent).toHaveLength(4)
  })

  it("greets again after a restart when the greeting turn produced only a notice", async () => {
    const store = memoryBindingStore()
    const first = setup({ store, reply: () => "⚠️ Gateway is restarting. Please wait a few seconds and try again." })
    await first.instance.start()
    await first.instance.provision({ agentName: "Chef", instructions: "Be helpful.", mode: "add", conversationId: conv, addedBy: manager })
    first.transport.emitWelcome({ conversationId: conv, addedBy: manager })
    await first.instance.idle()
    expect(first.transport.sent).toEqual([])
    await first.instance.stop()
    const second = setup({ store, reply: () => "Hello, I'm Chef." })
    await second.instance.start()
    await second.instance.idle()
    expect(second.transport.sent.map((m) => m.text)).toEqual(["Hello, I'm Chef."])
  })

  it("without a model answers one clear line instead of running the agent", async () => {
    const { instance, transport, turns } = setup({ modelConfigured: false })
    await instance.start()
    await instance.provision({ agentName: "Chef", instructions: "Be helpful.", mode: "add", conversationId: conv, addedBy: manager })
    transport.emitWelcome({ conversationId: conv, addedBy: manager })
    transport.emitMessage(text("m1", "hi"))
    await instance.idle()
    expect(turns).toHaveLength(0)
    expect(transport.sent.map((s) => s.text)).toEqual([NO_MODEL_REPLY, NO_MODEL_REPLY])
  })

  /** An instance bound by an add that handled "m1", stopped; the store it leaves. */
  const boundAndHandledM1 = async () => {
    const first = setup()
    await first.instance.start()
    await first.instance.provision({ agentName: "Chef", instructions: "Be helpful.", mode: "add", conversationId: conv, addedBy: manager })
    first.transport.emitWelcome({ conversationId: conv, addedBy: manager })
    first.transport.emitMessage(text("m1", "hi"))
    await first.instance.idle()
    await first.instance.stop()
    return first.store
  }

  it("after a restart keeps its binding, does not greet again and does not re-handle old messages", async () => {
    const second = setup({ store: await boundAndHandledM1() })
    await second.instance.start()
    second.transport.emitMessage(text("m1", "hi"))
    second.transport.emitMessage(text("m2", "still there?"))
    await new Promise((r) => setTimeout(r, 0))
    await second.instance.idle()
    expect(second.instance.status()).toMatchObject({ ready: true, conversationId: conv, phase: "bound" })
    expect(second.turns.map((t) => t.text)).toEqual(["still there?"])
  })

  it("after a restart answers what was sent while it was down, once; not what it handled before, nor anything older than 10 minutes", async () => {
    const second = setup({ store: await boundAndHandledM1() })
    const ago = (minutes: number) => new Date(Date.now() - minutes * 60_000)
    second.transport.history.push(
      text("old", "from last week", { sentAt: ago(60 * 24 * 7) }),
      text("m1", "hi", { sentAt: ago(2) }),
      text("m2", "anyone there?", { sentAt: ago(1) }),
    )
    await second.instance.start()
    await new Promise((r) => setTimeout(r, 0))
    await second.instance.idle()
    expect(second.transport.replays).toEqual([{ conversationId: conv, sinceMs: expect.any(Number) }])
    expect(second.turns.map((t) => t.text)).toEqual(["anyone there?"])
    // The live stream then brings the same message: handled already.
    second.transport.emitMessage(text("m2", "anyone there?"))
    await second.instance.idle()
    expect(second.turns).toHaveLength(1)
  })

  it("after a restart reads back a message whose turn failed or only produced a notice kept out of the chat, not one it answered", async () => {
    const first = setup({
      reply: (req) => {
        if (req.text === "cut off") return "⚠️ Gateway is restarting. Please wait a few seconds and try again."
        if (req.text === "failed") throw new Error("the gateway is draining")
        return `reply to: ${req.text}`
      },
    })
    await first.instance.start()
    await first.instance.provision({ agentName: "Chef", instructions: "Be helpful.", mode: "add", conversationId: conv, addedBy: manager })
    first.transport.emitWelcome({ conversationId: conv, addedBy: manager })
    for (const [id, body] of [["m1", "answered"], ["m2", "cut off"], ["m3", "failed"]] as const) first.transport.emitMessage(text(id, body))
    await first.instance.idle()
    expect(first.transport.sent.map((m) => m.text)).not.toContain("⚠️ Gateway is restarting. Please wait a few seconds and try again.")
    await first.instance.stop()

    const second = setup({ store: first.store })
    second.transport.history.push(text("m1", "answered"), text("m2", "cut off"), text("m3", "failed"))
    await second.instance.start()
    await new Promise((r) => setTimeout(r, 0))
    await second.instance.idle()
    expect(second.turns.map((t) => t.text)).toEqual([`${BACKLOG_HEADING}\nAlice: cut off\nAlice: failed`])
  })

  it("answers what was sent while it was down in one turn, as a reply to the newest message, and then each message again", async () => {
    const second = setup({ store: await boundAndHandledM1() })
    second.transport.history.push(text("m2", "anyone there?"), text("m3", "hello?"), text("m4", "ping"))
    await second.instance.start()
    await new Promise((r) => setTimeout(r, 0))
    await second.instance.idle()
    expect(second.turns.map((t) => [t.text, t.messageId])).toEqual([[`${BACKLOG_HEADING}\nAlice: anyone there?\nAlice: hello?\nAlice: ping`, "m4"]])
    expect(second.transport.sent.at(-1)).toMatchObject({ replyTo: "m4" })
    // All three count as handled; a live message afterwards gets a turn of its own.
    for (const id of ["m2", "m3", "m4"]) second.transport.emitMessage(text(id, "again"))
    second.transport.emitMessage(text("m5", "new"))
    await second.instance.idle()
    expect(second.turns.map((t) => t.text).slice(1)).toEqual(["new"])
  })

  it("a slot that is not in a conversation reads nothing back at start", async () => {
    const { instance, transport } = setup()
    await instance.start()
    expect(transport.replays).toEqual([])
  })

  it("marks the instance ended (not ready) when removed from its conversation", async () => {
    const { instance, transport } = setup()
    await instance.start()
    await instance.provision({ agentName: "Chef", instructions: "Be helpful.", mode: "add", conversationId: conv, addedBy: manager })
    transport.emitWelcome({ conversationId: conv, addedBy: manager })
    transport.emitMessage({ ...text("u1", ""), senderInboxId: manager, content: { kind: "group_updated", addedInboxIds: [], removedInboxIds: [SELF_INBOX] } })
    expect(instance.status()).toMatchObject({ ready: false, ended: "removed", conversationId: conv })
    expect(instance.reset().clean).toBe(false)
  })

  it("join pending: answers pending_acceptance, binds when accepted and flags the pool notification", async () => {
    let accept: (id: string) => void = () => {}
    const transport = memoryTransport({ joinOutcome: () => ({ status: "pending", accepted: new Promise<string>((r) => (accept = r)) }) })
    const store = memoryBindingStore()
    const instance = new ConvosInstance({ transport, store, decode, modelConfigured: true, log: silentLog, runTurn: async (req) => req.deliver("hello") })
    await instance.start()
    const response = await instance.provision({ agentName: "Chef", instructions: "Be helpful.", mode: "join", joinUrl: "https://popup.convos.org/v2?i=x" })
    expect(response.body).toEqual({ status: "pending_acceptance", conversationId: null, inviteUrl: null })
    expect(instance.status()).toMatchObject({ phase: "joining", conversationId: null })
    accept(conv)
    await new Promise((r) => setTimeout(r, 0))
    await instance.idle()
    expect(instance.status()).toMatchObject({ phase: "bound", conversationId: conv, joinedNotificationPending: true })
    instance.acknowledgeJoinedNotification()
    expect(instance.status().joinedNotificationPending).toBe(false)
  })

  it("reset withdraws an add expectation and reports clean; after a restart an expectation is registered again", async () => {
    const store = memoryBindingStore()
    const first = setup({ store })
    await first.instance.start()
    await first.instance.provision({ agentName: "Chef", instructions: "Be helpful.", mode: "add", conversationId: conv, addedBy: manager })
    await first.instance.stop()
    const second = setup({ store })
    await second.instance.start()
    expect(second.transport.expectations).toEqual([{ conversationId: conv, addedBy: manager, withdrawn: false }])
    expect(second.instance.reset()).toEqual({ clean: true })
    expect(second.transport.expectations[0]?.withdrawn).toBe(true)
    expect(second.instance.status().phase).toBe("idle")
  })

  it("a failed create leaves the instance idle and clean", async () => {
    const { instance, transport } = setup()
    transport.createConversation = async () => {
      throw new Error("network down")
    }
    await instance.start()
    expect(await instance.provision({ agentName: "Chef", instructions: "Be helpful.", mode: "create" })).toEqual({ status: 500, body: { error: "provision failed: network down" } })
    expect(instance.reset()).toEqual({ clean: true })
  })

  it("leave (slot deleted): stops answering, and leaves the bound conversation; an unbound slot has nothing to leave", async () => {
    const { instance, transport, turns } = setup()
    await instance.start()
    await instance.provision({ agentName: "Chef", instructions: "Be helpful.", mode: "add", conversationId: conv, addedBy: manager })
    transport.emitWelcome({ conversationId: conv, addedBy: manager })
    await instance.idle()
    expect(await instance.leave(1_000)).toEqual({ left: conv })
    expect(transport.left).toEqual([conv])
    expect(instance.status().ready).toBe(false)
    const before = turns.length
    transport.emitMessage(text("late", "anyone there?"))
    await instance.idle()
    expect(turns).toHaveLength(before)

    const unbound = setup()
    await unbound.instance.start()
    expect(await unbound.instance.leave(1_000)).toEqual({ left: null })
    expect(unbound.transport.left).toEqual([])
  })

  it("every provision reply is a contract ProvisionReply", async () => {
    const replies = []
    const created = setup()
    await created.instance.start()
    replies.push((await created.instance.provision({ agentName: "Chef", instructions: "Be helpful.", mode: "create" })).body)
    const added = setup()
    await added.instance.start()
    replies.push((await added.instance.provision({ agentName: "Chef", instructions: "Be helpful.", mode: "add", conversationId: conv, addedBy: manager })).body)
    const joined = setup()
    await joined.instance.start()
    replies.push((await joined.instance.provision({ agentName: "Chef", instructions: "Be helpful.", mode: "join", joinUrl: "https://popup.convos.org/v2?i=x" })).body)
    const pendingTransport = memoryTransport({ joinOutcome: () => ({ status: "pending", accepted: new Promise<string>(() => {}) }) })
    const pending = new ConvosInstance({ transport: pendingTransport, store: memoryBindingStore(), decode, modelConfigured: true, log: silentLog, runTurn: async () => {} })
    await pending.start()
    replies.push((await pending.provision({ agentName: "Chef", instructions: "Be helpful.", mode: "join", joinUrl: "https://popup.convos.org/v2?i=x" })).body)
    expect(replies.map((reply) => contract.decoderFor(contract.ProvisionReply)(reply).ok)).toEqual([true, true, true, true])
    expect(replies.map((reply) => ("status" in reply ? reply.status : reply.error))).toEqual(["created", "added", "joined", "pending_acceptance"])
  })
})
