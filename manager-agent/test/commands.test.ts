/** Commands.handle end to end over a fake pool and chat on real PostgreSQL: one describe per command (over 400 lines for that). */
import { Effect, Layer, ManagedRuntime } from "effect"
import { SqlClient } from "effect/sql"
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest"
import { TestDatabaseLayer } from "../../test/db/testDatabase.ts"
import { Commands, type Outcome } from "../src/commands/Commands.ts"
import { Ownership } from "../src/db/Ownership.ts"
import { IntentParser } from "../src/intent/IntentParser.ts"
import { TemplateCatalog } from "../src/intent/TemplateCatalog.ts"
import { templates as seedTemplates } from "../../pool/src/domain/templates.ts"
import { ManagerSettings } from "../src/ManagerSettings.ts"
import { defaultLimits, type Limits } from "../src/commands/policy.ts"

/** Limits for these tests: the per-conversation cap and one hourly budget for every sender, new or not. */
const testLimits = (agentsPerConversation: number, spawnsPerSenderPerHour: number): Limits => ({
  ...defaultLimits,
  agentsPerConversation,
  spawnsPerSenderPerHour,
  spawnsPerNewSenderPerHour: spawnsPerSenderPerHour,
})
import type { InboundMessage } from "../src/ports/Chat.ts"
import { generatePrivateKey } from "viem/accounts"
import { createInvite } from "../../convos/invite.ts"
import { makeFakeChat, makeFakePool } from "./support/fakes.ts"

const chat = makeFakeChat("manager-inbox")
const pool = makeFakePool()

const Database = TestDatabaseLayer({ maxConnections: 4 })
const commandsLayer = (limits: Limits = testLimits(2, 100)) =>
  Commands.layer.pipe(
    Layer.provide([
      chat.layer,
      pool.layer,
      Ownership.layer,
      IntentParser.layerRulesOnly.pipe(Layer.provide(TemplateCatalog.layerSeed)),
      TemplateCatalog.layerSeed,
      ManagerSettings.layerOf({ name: "Manager", limits }),
    ]),
  )

// One database for the file; the restart test builds a second manager over the same one.
const db = ManagedRuntime.make(Database)
let runtime: ManagedRuntime.ManagedRuntime<Commands | Ownership, unknown>
let dbLayer: Layer.Layer<SqlClient.SqlClient>
beforeAll(async () => {
  dbLayer = Layer.succeedContext(await db.context())
  runtime = ManagedRuntime.make(Layer.merge(commandsLayer(), Ownership.layer).pipe(Layer.provide(dbLayer)))
})
afterAll(async () => {
  await runtime.dispose()
  await db.dispose()
})

let seq = 0
const message = (conversationId: string, senderInboxId: string, text: string, extra: Partial<InboundMessage> = {}): InboundMessage => ({
  messageId: `msg-${++seq}`,
  conversationId,
  conversationKind: "group",
  senderInboxId,
  text,
  sentAt: new Date(),
  ...extra,
})

const send = (m: InboundMessage) => runtime.runPromise(Effect.gen(function* () {
  const commands = yield* Commands
  return yield* commands.handle(m)
}))
const lastReply = (conversationId: string) => chat.state.sent.filter((s) => s.conversationId === conversationId).at(-1)?.text

/** A second manager over the same database (other limits, or a restart): `body` gets its message handler. */
const withManager = async <A>(
  limits: Parameters<typeof commandsLayer>[0],
  body: (handle: (m: InboundMessage) => Promise<Outcome>) => Promise<A>,
): Promise<A> => {
  const manager = ManagedRuntime.make(commandsLayer(limits).pipe(Layer.provide(dbLayer)))
  try {
    return await body((m) => manager.runPromise(Effect.gen(function* () {
      return yield* (yield* Commands).handle(m)
    })))
  } finally {
    await manager.dispose()
  }
}

describe("spawning in a group", () => {
  it("claims in add mode for this conversation, adds the agent, confirms in one line, and records ownership", async () => {
    const outcome = await send(message("g-spawn", "alice", "spawn a trip planner here"))
    expect(outcome).toMatchObject({ _tag: "Spawned", mode: "add", agent: { agentName: "Trip Planner", spawnedBy: "alice" } })
    expect(pool.state.claims.at(-1)).toMatchObject({
      mode: "add",
      conversationId: "g-spawn",
      addedBy: "manager-inbox",
      managerInboxId: "manager-inbox",
      agentName: "Trip Planner",
      claimedBy: "alice",
    })
    expect(pool.state.claims.at(-1)?.instructions).toContain("Trip Planner")
    // The matched template decides the agent's tools.
    expect(pool.state.claims.at(-1)?.skills).toEqual(seedTemplates.find((t) => t.slug === "trip-planner")?.skills)
    const inboxId = outcome._tag === "Spawned" ? outcome.agent.inboxId : ""
    expect(chat.state.members.get("g-spawn")?.has(inboxId)).toBe(true)
    expect(lastReply("g-spawn")).toBe("Trip Planner is joining…")
    const live = await runtime.runPromise(Effect.gen(function* () {
      return yield* (yield* Ownership).liveAgents("g-spawn")
    }))
    expect(live.map((a) => a.agentName)).toEqual(["Trip Planner"])
  })

  it("lists only the agents spawned in this conversation", async () => {
    await send(message("g-list-a", "alice", "add a chef here"))
    await send(message("g-list-b", "alice", "add a fitness coach here"))
    await send(message("g-list-a", "bob", "who's here"))
    expect(lastReply("g-list-a")).toBe("Agents here: Chef.")
  })

  it("gives a second agent of the same name a distinct name", async () => {
    await send(message("g-dup", "alice", "add a chef here"))
    await send(message("g-dup", "alice", "add a chef here"))
    expect(lastReply("g-dup")).toBe("Chef 2 is joining…")
  })

  it("enforces agents per conversation", async () => {
    await send(message("g-full", "carol", "add a chef here"))
    await send(message("g-full", "dave", "add a tutor here"))
    const claimsBefore = pool.state.claims.length
    await send(message("g-full", "erin", "add a poet here"))
    expect(pool.state.claims.length).toBe(claimsBefore)
    expect(lastReply("g-full")).toBe("This chat already has 2 agents, the most I can add. Remove one first.")
  })

  it("enforces spawns per sender per hour across conversations", async () => {
    await withManager(testLimits(2, 4), async (handle) => {
      for (const conversation of ["g-rate-1", "g-rate-2"]) {
        expect((await handle(message(conversation, "frank", "add a chef here")))._tag).toBe("Spawned")
        expect((await handle(message(conversation, "frank", "add a tutor here")))._tag).toBe("Spawned")
      }
      const claimsBefore = pool.state.claims.length
      await handle(message("g-rate-3", "frank", "add a poet here"))
      expect(pool.state.claims.length).toBe(claimsBefore)
      expect(lastReply("g-rate-3")).toMatch(/^You've asked for 4 agents in the last hour, the limit\. Try again in about \d+ min\.$/)
      // Someone else is not affected by frank's quota.
      expect((await handle(message("g-rate-3", "grace", "add a poet here")))._tag).toBe("Spawned")
    })
  })

  // issue 14 #3: inbox ids are free, so the bounds that matter hold across senders and in 1:1s.
  it("gives new inbox ids a small budget and stops them at the manager's hourly total, saying so honestly", async () => {
    // The file's database holds the earlier tests' spawns: the total leaves room for exactly three more.
    const earlier = await db.runPromise(Effect.flatMap(SqlClient.SqlClient, (sql) =>
      sql<{ n: number }>`SELECT count(*)::int AS n FROM manager_agents WHERE spawned_at > now() - interval '1 hour'`))
    const limits = { ...testLimits(2, 10), spawnsPerNewSenderPerHour: 1, spawnsPerHour: earlier[0]!.n + 3 }
    await withManager(limits, async (handle) => {
      expect((await handle(message("g-sybil-1", "sybil-1", "add a chef here")))._tag).toBe("Spawned")
      // A fresh inbox gets one spawn an hour, not ten.
      const claimsBefore = pool.state.claims.length
      await handle(message("g-sybil-1", "sybil-1", "add a tutor here"))
      expect(pool.state.claims.length).toBe(claimsBefore)
      expect(lastReply("g-sybil-1")).toMatch(/^You've asked for 1 agents in the last hour/)
      expect((await handle(message("g-sybil-2", "sybil-2", "add a chef here")))._tag).toBe("Spawned")
      expect((await handle(message("g-sybil-3", "sybil-3", "add a chef here")))._tag).toBe("Spawned")
      // The fourth new inbox meets the total of every sender together (counted in Postgres).
      await handle(message("g-sybil-4", "sybil-4", "add a chef here"))
      expect(pool.state.claims.length).toBe(claimsBefore + 2)
      expect(lastReply("g-sybil-4")).toMatch(/^I've started as many agents as I may this hour, for everyone together\. Try again in about \d+ min\.$/)
    })
  })

  it("counts spawns asked for at the same instant in several conversations against one quota", async () => {
    await withManager(testLimits(5, 2), async (handle) => {
      const outcomes = await Promise.all(
        ["g-burst-1", "g-burst-2", "g-burst-3", "g-burst-4", "g-burst-5"].map((c) => handle(message(c, "heidi", "add a chef here"))),
      )
      expect(outcomes.filter((o) => o._tag === "Spawned")).toHaveLength(2)
    })
  })

  it("gives a spawn's quota back when the spawn fails before it could claim", async () => {
    await withManager(testLimits(5, 1), async (handle) => {
      chat.state.unreadable.add("g-unreadable")
      await expect(handle(message("g-unreadable", "judy", "add a chef here"))).rejects.toThrow()
      expect((await handle(message("g-readable", "judy", "add a chef here")))._tag).toBe("Spawned")
    })
  })

  it("runs one sender's spawns in several conversations at once: only the quota check waits its turn", async () => {
    await withManager(testLimits(5, 10), async (handle) => {
      let release = () => {}
      pool.state.hold = new Promise<void>((resolve) => (release = resolve))
      const before = pool.state.claims.length
      try {
        const outcomes = Promise.all(["g-par-1", "g-par-2"].map((c) => handle(message(c, "ivan", "add a chef here"))))
        // Both claims are with the pool before either answered.
        await vi.waitFor(() => expect(pool.state.claims.length).toBe(before + 2), { timeout: 10_000 })
        release()
        expect((await outcomes).map((o) => o._tag)).toEqual(["Spawned", "Spawned"])
      } finally {
        release()
        pool.state.hold = undefined
      }
    })
  })

  it("tells the user what to do when it may not add members, without claiming", async () => {
    chat.state.addLocked.add("g-locked")
    const claimsBefore = pool.state.claims.length
    await send(message("g-locked", "alice", "spawn a trip planner here"))
    expect(pool.state.claims.length).toBe(claimsBefore)
    expect(lastReply("g-locked")).toContain("A group admin can let me add members")
  })

  it("answers an empty pool honestly and leaks nothing from the error", async () => {
    pool.state.failClaimsWith = "no_idle"
    try {
      await send(message("g-empty", "alice", "spawn a trip planner here"))
    } finally {
      pool.state.failClaimsWith = undefined
    }
    expect(lastReply("g-empty")).toBe("I have no room for another agent right now. Please ask again later.")
    expect(chat.state.sent.map((s) => s.text).join("\n")).not.toContain("secret-token-123")
  })

  it("when the pool makes an agent ready for this claim, says so once with its estimate, then the agent joins", async () => {
    pool.state.waitingEta = 11.6
    try {
      expect(await send(message("g-wait", "alice", "spawn a trip planner here"))).toMatchObject({ _tag: "Spawned" })
    } finally {
      pool.state.waitingEta = undefined
    }
    // The notice runs on its own fiber: wait for it, never for a fixed time.
    await expect.poll(() => chat.state.sent.filter((m) => m.conversationId === "g-wait").map((m) => m.text)).toContain(
      "Trip Planner is getting ready, about 12 s.",
    )
    const said = chat.state.sent.filter((m) => m.conversationId === "g-wait").map((m) => m.text)
    expect(said.filter((t) => t.includes("getting ready"))).toHaveLength(1)
    expect(said).toContain("Trip Planner is joining…")
  })

  it("uses the message id as the idempotency key", async () => {
    const m = message("g-idem", "alice", "add a chef here")
    await send(m)
    expect(pool.state.claims.at(-1)?.idempotencyKey).toBe(`manager:${m.messageId}`)
  })
})

describe("spawning in a DM", () => {
  it("claims in create mode and replies with the new conversation's invite link", async () => {
    const outcome = await send(message("dm-1", "alice", "make me a chef", { conversationKind: "dm" }))
    expect(pool.state.claims.at(-1)).toMatchObject({ mode: "create", agentName: "Chef", skills: ["web", "memory"] })
    expect(pool.state.claims.at(-1)?.conversationId).toBeUndefined()
    expect(outcome).toMatchObject({ _tag: "Spawned", mode: "create" })
    expect(lastReply("dm-1")).toMatch(/^Chef is ready in its own conversation\. Join it here: https:\/\/dev\.convos\.org\/v2\?i=invite\d+$/)
  })

  it("names a second agent of the same kind apart, so its conversation's name is not ambiguous", async () => {
    await send(message("dm-twice", "alice", "make me a chef", { conversationKind: "dm" }))
    await send(message("dm-twice", "alice", "make me a chef", { conversationKind: "dm" }))
    expect(pool.state.claims.slice(-2).map((c) => c.agentName)).toEqual(["Chef", "Chef 2"])
    expect(lastReply("dm-twice")).toMatch(/^Chef 2 is ready in its own conversation/)
  })

  it("lists and removes the agents spawned from this DM", async () => {
    const spawned = await send(message("dm-2", "alice", "make me a poet", { conversationKind: "dm" }))
    if (spawned._tag !== "Spawned") throw new Error("spawn failed")
    await send(message("dm-2", "alice", "who's here", { conversationKind: "dm" }))
    expect(lastReply("dm-2")).toBe("Agents here: Poet.")
    expect((await send(message("dm-2", "alice", "remove the poet", { conversationKind: "dm" })))._tag).toBe("Removed")
    expect(pool.state.killed).toContain(spawned.agent.instanceId)
    // It lives in a conversation of its own: the reply claims no departure it cannot see.
    expect(lastReply("dm-2")).toBe("Poet is shut down and won't answer anymore.")
  })
})

describe("removing, renaming and re-instructing", () => {
  it("lets the spawner remove: the agent leaves the group, its instance is destroyed, the list is empty", async () => {
    const spawned = await send(message("g-rm", "alice", "spawn a trip planner here"))
    if (spawned._tag !== "Spawned") throw new Error("spawn failed")
    const outcome = await send(message("g-rm", "alice", "remove the trip planner"))
    expect(outcome._tag).toBe("Removed")
    expect(chat.state.members.get("g-rm")?.has(spawned.agent.inboxId)).toBe(false)
    expect(pool.state.killed).toContain(spawned.agent.instanceId)
    expect(lastReply("g-rm")).toBe("Trip Planner has left and been shut down.")
    await send(message("g-rm", "alice", "who's here"))
    expect(lastReply("g-rm")).toMatch(/^No agents of mine here yet/)
  })

  it("still shuts the agent down when the manager may not remove members, and says what is left to do", async () => {
    const spawned = await send(message("g-rm-locked", "alice", "add a chef here"))
    if (spawned._tag !== "Spawned") throw new Error("spawn failed")
    chat.state.removeLocked.add("g-rm-locked")
    expect((await send(message("g-rm-locked", "alice", "remove the chef")))._tag).toBe("Removed")
    expect(pool.state.killed).toContain(spawned.agent.instanceId)
    expect(lastReply("g-rm-locked")).toBe(
      "Chef is shut down but still listed here: I'm not allowed to remove members, so a group admin can remove it.",
    )
  })

  it("says the agent is leaving when it is still listed but asked the admins to remove it as it shut down", async () => {
    const spawned = await send(message("g-rm-leaving", "alice", "add a chef here"))
    if (spawned._tag !== "Spawned") throw new Error("spawn failed")
    chat.state.removeLocked.add("g-rm-leaving")
    chat.state.leaveRequests.add(`g-rm-leaving ${spawned.agent.inboxId}`)
    expect((await send(message("g-rm-leaving", "alice", "remove the chef")))._tag).toBe("Removed")
    expect(lastReply("g-rm-leaving")).toBe(
      "Chef is shut down and has asked to leave; a group admin's app takes it off the member list when it next syncs.",
    )
  })

  it("never says 'has left' while the member list still has the agent", async () => {
    const spawned = await send(message("g-rm-sticky", "alice", "add a chef here"))
    if (spawned._tag !== "Spawned") throw new Error("spawn failed")
    chat.state.ineffectiveRemovals.add("g-rm-sticky")
    expect((await send(message("g-rm-sticky", "alice", "remove the chef")))._tag).toBe("Removed")
    expect(chat.state.members.get("g-rm-sticky")?.has(spawned.agent.inboxId)).toBe(true)
    expect(lastReply("g-rm-sticky")).toBe("Chef is shut down but still listed here; a group admin can remove it from the member list.")
  })

  it("politely refuses a member who did not spawn the agent and is not an admin", async () => {
    const spawned = await send(message("g-deny", "alice", "spawn a trip planner here"))
    if (spawned._tag !== "Spawned") throw new Error("spawn failed")
    const outcome = await send(message("g-deny", "bob", "remove the trip planner"))
    expect(outcome).toEqual({ _tag: "Replied", intent: "remove" })
    expect(pool.state.killed).not.toContain(spawned.agent.instanceId)
    expect(lastReply("g-deny")).toBe("Sorry, only whoever added Trip Planner, or a group admin, can do that.")
    await send(message("g-deny", "bob", "rename the trip planner to Marco"))
    expect(lastReply("g-deny")).toBe("Sorry, only whoever added Trip Planner, or a group admin, can do that.")
  })

  it("lets a group admin remove an agent someone else spawned", async () => {
    const spawned = await send(message("g-admin", "alice", "add a chef here"))
    if (spawned._tag !== "Spawned") throw new Error("spawn failed")
    chat.state.admins.set("g-admin", new Set(["boss"]))
    expect((await send(message("g-admin", "boss", "kick the chef")))._tag).toBe("Removed")
  })

  it("renames and re-instructs through the pool and remembers the new name", async () => {
    const spawned = await send(message("g-rename", "alice", "add a chef here"))
    if (spawned._tag !== "Spawned") throw new Error("spawn failed")
    await send(message("g-rename", "alice", "rename the chef to Remy"))
    expect(pool.state.reconfigured.at(-1)).toEqual({ instanceId: spawned.agent.instanceId, agentName: "Remy" })
    expect(lastReply("g-rename")).toBe("Chef is now called Remy.")
    await send(message("g-rename", "alice", "tell Remy to cook only vegan food"))
    expect(pool.state.reconfigured.at(-1)).toEqual({ instanceId: spawned.agent.instanceId, instructions: "Cook only vegan food." })
    await send(message("g-rename", "alice", "who's here"))
    expect(lastReply("g-rename")).toBe("Agents here: Remy.")
  })

  it("refuses a rename to the agent's own name or to another agent's name here, without calling the pool", async () => {
    await send(message("g-rename-taken", "alice", "add a chef here"))
    await send(message("g-rename-taken", "alice", "add a poet here"))
    const calls = pool.state.reconfigured.length
    await send(message("g-rename-taken", "alice", "rename the chef to Poet"))
    expect(lastReply("g-rename-taken")).toBe("Another agent here is already called Poet; pick a different name.")
    await send(message("g-rename-taken", "alice", "rename the chef to chef"))
    expect(lastReply("g-rename-taken")).toBe("Chef is already called that.")
    expect(pool.state.reconfigured.length).toBe(calls)
  })

  it("keeps the old name in the pool and in the manager's copy when the pool cannot apply a rename", async () => {
    const spawned = await send(message("g-rename-fail", "alice", "add a chef here"))
    if (spawned._tag !== "Spawned") throw new Error("spawn failed")
    const applied = pool.state.reconfigured.length
    pool.state.failReconfigure = "unavailable"
    try {
      await send(message("g-rename-fail", "alice", "rename the chef to Remy"))
      expect(lastReply("g-rename-fail")).toBe("I couldn't update Chef right now; please try again in a moment.")
      pool.state.failReconfigure = "not_found"
      await send(message("g-rename-fail", "alice", "tell the chef to cook vegan"))
      expect(lastReply("g-rename-fail")).toBe("I couldn't update Chef right now; please try again in a moment.")
    } finally {
      pool.state.failReconfigure = false
    }
    expect(pool.state.reconfigured.length).toBe(applied)
    const rows = await runtime.runPromise(Effect.flatMap(Ownership, (o) => o.liveAgents("g-rename-fail")))
    expect(rows.map((r) => [r.instanceId, r.agentName])).toEqual([[spawned.agent.instanceId, "Chef"]])
    await send(message("g-rename-fail", "alice", "who's here"))
    expect(lastReply("g-rename-fail")).toBe("Agents here: Chef.")
  })

  it("keeps no copy of an agent's instructions: the pool (instances row, instance config) owns them", async () => {
    const columns = await db.runPromise(Effect.flatMap(SqlClient.SqlClient, (sql) =>
      sql<{ readonly column_name: string }>`SELECT column_name FROM information_schema.columns
        WHERE table_name = 'manager_agents'`))
    expect(columns.map((c) => c.column_name)).toContain("agent_name")
    expect(columns.map((c) => c.column_name)).not.toContain("instructions")
  })

  it("says so when the agent is unknown here", async () => {
    await send(message("g-unknown", "alice", "@Manager remove the sommelier"))
    expect(lastReply("g-unknown")).toMatch(/^I don't see an agent called "sommelier"/)
  })
})

describe("what the manager ignores", () => {
  it("never reacts to its own messages or to agents it spawned", async () => {
    const spawned = await send(message("g-loop", "alice", "add a chef here"))
    if (spawned._tag !== "Spawned") throw new Error("spawn failed")
    const sentBefore = chat.state.sent.length
    expect(await send(message("g-loop", "manager-inbox", "spawn a chef here"))).toEqual({ _tag: "Ignored", why: "self" })
    expect(await send(message("g-loop", spawned.agent.inboxId, "@Manager spawn a chef here"))).toEqual({ _tag: "Ignored", why: "spawned-agent" })
    expect(chat.state.sent.length).toBe(sentBefore)
  })

  it("stays silent on group chatter but answers an unclear message addressed to it", async () => {
    expect(await send(message("g-chat", "alice", "see you at 8"))).toEqual({ _tag: "Ignored", why: "not-addressed" })
    expect(lastReply("g-chat")).toBeUndefined()
    await send(message("g-chat", "alice", "@Manager what's the weather"))
    expect(lastReply("g-chat")).toMatch(/^Sorry, I didn't get that/)
  })
})

describe("agents are users too", () => {
  it("answers a declared agent (memberKind Agent, as the Convos CLI marks everyone) that asks in a 1:1", async () => {
    expect(await send(message("dm-agent", "cli-user", "help", { senderMemberKind: "agent", conversationKind: "dm" }))).toEqual({
      _tag: "Replied",
      intent: "help",
    })
    expect(lastReply("dm-agent")).toMatch(/^I'm Manager/)
  })

  it("spawns a helper another agent asks for in a group", async () => {
    const outcome = await send(message("g-agent-asks", "other-bot", "spawn a translator here", { senderMemberKind: "agent" }))
    expect(outcome).toMatchObject({ _tag: "Spawned", agent: { agentName: "Translator", spawnedBy: "other-bot" } })
  })

  it("stops answering two agents that keep asking it, within the depth limit, and answers again after a person speaks", async () => {
    const replies: Array<Outcome> = []
    for (let i = 0; i < 12; i++) {
      replies.push(await send(message("g-agents", i % 2 === 0 ? "bot-a" : "bot-b", "@Manager who's here", { senderMemberKind: "agent" })))
    }
    const answered = replies.filter((o) => o._tag === "Replied").length
    expect(answered).toBeGreaterThan(0)
    expect(answered).toBeLessThanOrEqual(3)
    expect(replies.at(-1)).toEqual({ _tag: "Ignored", why: "agent-depth" })
    // The first message past the depth was told why, once; the rest got silence.
    expect(replies.filter((o) => o._tag === "Paused")).toHaveLength(1)
    expect(chat.state.sent.filter((m) => m.conversationId === "g-agents" && m.text.startsWith("I'm pausing my replies to agents"))).toHaveLength(1)
    expect((await send(message("g-agents", "alice", "see you at 8")))._tag).toBe("Ignored")
    expect(await send(message("g-agents", "bot-a", "@Manager who's here", { senderMemberKind: "agent" }))).toMatchObject({ _tag: "Replied" })
  })

  it("answers a CLI user (a declared agent) who has been talking to the agents, not to it", async () => {
    for (let i = 0; i < 12; i++) await send(message("g-cli-chat", "cli-user", `Trip Planner, what about day ${i}?`, { senderMemberKind: "agent" }))
    expect(await send(message("g-cli-chat", "cli-user", "who's here?", { senderMemberKind: "agent" }))).toEqual({ _tag: "Replied", intent: "list" })
  })

  it("does not loop with a chatty bot that never declared itself: two 'didn't get that', then silence", async () => {
    const before = chat.state.sent.filter((m) => m.conversationId === "dm-chatty").length
    for (let i = 0; i < 8; i++) await send(message("dm-chatty", "echo-bot", `Sorry, I didn't get that (${i})`, { conversationKind: "dm" }))
    const said = chat.state.sent.filter((m) => m.conversationId === "dm-chatty").slice(before)
    expect(said).toHaveLength(2)
    // A clear request from it is still answered.
    await send(message("dm-chatty", "echo-bot", "templates", { conversationKind: "dm" }))
    expect(lastReply("dm-chatty")).toContain("Trip Planner")
  })
})

describe("pasted links", () => {
  const otherInvite = () =>
    createInvite({ conversationId: "someone-elses-group", creatorInboxId: "b".repeat(64), walletKey: generatePrivateKey(), tag: "T1" }, "dev")

  it("a link for someone else's conversation, pasted alone into a DM, means 'join this'", async () => {
    chat.state.joinOutcome = { status: "joined", conversationId: "joined-conv" }
    const invite = await otherInvite()
    expect(await send(message("dm-paste", "alice", invite.url, { conversationKind: "dm" }))).toEqual({ _tag: "Replied", intent: "join" })
    expect(chat.state.joins.at(-1)).toBe(invite.url)
    expect(lastReply("dm-paste")).toBe("I'm in that conversation now.")
    // A bare slug (what a CLI user copies) works the same, and the DM keeps being answered.
    await send(message("dm-paste", "alice", invite.slug, { conversationKind: "dm" }))
    expect(chat.state.joins.at(-1)).toBe(invite.slug)
    await send(message("dm-paste", "alice", "help", { conversationKind: "dm" }))
    expect(lastReply("dm-paste")).toMatch(/^I'm Manager/)
  })

  it("the manager's own invite (the plain-text twin of a join request) is left to the join-request path, silently", async () => {
    const selfInboxId = "a".repeat(64)
    const ownChat = makeFakeChat(selfInboxId)
    const manager = ManagedRuntime.make(
      Commands.layer.pipe(
        Layer.provide([
          ownChat.layer,
          pool.layer,
          Ownership.layer,
          IntentParser.layerRulesOnly.pipe(Layer.provide(TemplateCatalog.layerSeed)),
          TemplateCatalog.layerSeed,
          ManagerSettings.layerOf({ name: "Manager", limits: testLimits(2, 100) }),
        ]),
        Layer.provide(dbLayer),
      ),
    )
    try {
      const own = await createInvite({ conversationId: "lobby", creatorInboxId: selfInboxId, walletKey: generatePrivateKey(), tag: "T2" }, "dev")
      const outcome = await manager.runPromise(Effect.gen(function* () {
        return yield* (yield* Commands).handle(message("dm-own", "alice", own.slug, { conversationKind: "dm" }))
      }))
      expect(outcome).toEqual({ _tag: "Ignored", why: "own-invite" })
      expect(ownChat.state.joins).toEqual([])
      expect(ownChat.state.sent).toEqual([])
      // Asked in so many words to join its own link, in a group, it says what that link is for.
      await manager.runPromise(Effect.gen(function* () {
        return yield* (yield* Commands).handle(message("g-own", "alice", `@Manager join this ${own.url}`))
      }))
      expect(ownChat.state.joins).toEqual([])
      expect(ownChat.state.sent.at(-1)?.text).toMatch(/^That's my own invite link/)
    } finally {
      await manager.dispose()
    }
  })
})

describe("other commands", () => {
  it("joins by invite link from a DM and says when it is still waiting", async () => {
    chat.state.joinOutcome = { status: "pending", conversationId: null }
    await send(message("dm-join", "alice", "join this https://dev.convos.org/v2?i=abc", { conversationKind: "dm" }))
    expect(chat.state.joins.at(-1)).toBe("https://dev.convos.org/v2?i=abc")
    expect(lastReply("dm-join")).toBe("I've asked to join; I'll be in as soon as the conversation's creator accepts.")
    chat.state.joinOutcome = "invalid"
    await send(message("dm-join", "alice", "https://dev.convos.org/v2?i=zzz", { conversationKind: "dm" }))
    expect(lastReply("dm-join")).toMatch(/^That invite link didn't work/)
  })

  it("answers a help command in a group of several people, from a person or a declared agent", async () => {
    expect(await send(message("g-help", "alice", "/help"))).toEqual({ _tag: "Replied", intent: "help" })
    expect(await send(message("g-help", "cli-user", "/help", { senderMemberKind: "agent" }))).toEqual({ _tag: "Replied", intent: "help" })
  })

  it("lists templates and explains itself", async () => {
    await send(message("dm-t", "alice", "templates", { conversationKind: "dm" }))
    expect(lastReply("dm-t")).toContain("Trip Planner")
    await send(message("dm-t", "alice", "help", { conversationKind: "dm" }))
    expect(lastReply("dm-t")).toMatch(/^I'm Manager/)
  })
})

describe("ownership records", () => {
  it("closes the rows of agents that left one conversation, and only those", async () => {
    const a = await send(message("g-left", "alice", "add a chef here"))
    const b = await send(message("g-left-other", "alice", "add a chef here"))
    if (a._tag !== "Spawned" || b._tag !== "Spawned") throw new Error("spawn failed")
    const left = await runtime.runPromise(
      Effect.gen(function* () {
        return yield* (yield* Ownership).markLeft("g-left", [a.agent.inboxId.toUpperCase(), b.agent.inboxId])
      }),
    )
    expect(left.map((r) => r.instanceId)).toEqual([a.agent.instanceId])
    await send(message("g-left", "alice", "who's here"))
    expect(lastReply("g-left")).toMatch(/^No agents of mine here yet/)
    await send(message("g-left-other", "alice", "who's here"))
    expect(lastReply("g-left-other")).toBe("Agents here: Chef.")
  })
})

describe("ownership survives a manager restart", () => {
  it("a second manager over the same database knows the agents and who spawned them", async () => {
    await send(message("g-restart", "alice", "add a chef here"))
    await withManager(undefined, async (handle) => {
      await handle(message("g-restart", "bob", "remove the chef"))
      expect(lastReply("g-restart")).toBe("Sorry, only whoever added Chef, or a group admin, can do that.")
      expect((await handle(message("g-restart", "alice", "remove the chef")))._tag).toBe("Removed")
    })
  })
})
