/**
 * The manager's front door as a new user meets it with the official reference client (`@xmtp/convos-cli`, run as a
 * process per command, each user with a home of their own) against the fake XMTP node on localhost:5556 (the CLI's
 * `--env local` has no other address; the `convos-cli` vitest project runs this file alone, after all others).
 * The pool is the fake XMTP pool of `xmtpWorld.ts`: its agents join and greet like the runtime; what an agent
 * answers is the runtime's part (see `e2e.runtime.test.ts`).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { ConvosClient } from "../../convos/client.ts"
import type { Outcome } from "../src/commands/Commands.ts"
import { replies } from "../src/commands/replies.ts"
import { defaultTrafficLimits } from "../src/commands/traffic.ts"
import type { InboundMessage } from "../src/ports/Chat.ts"
import { CLI_PORT, cliUser, type CliUser } from "./support/convosCli.ts"
import { startManagerWorld, type ManagerWorld } from "./support/managerWorld.ts"
import { openConvos, waitFor } from "./support/xmtpWorld.ts"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"

interface CliMessage {
  readonly id: string
  readonly senderInboxId: string
  readonly contentType: { readonly typeId: string }
  readonly content: unknown
}

let world: ManagerWorld
const outcomes: Array<{ message: InboundMessage; outcome: Outcome }> = []
let alice: CliUser
let bob: CliUser
let alicePrivate: string

const texts = async (user: CliUser, conversationId: string) => {
  const messages = await user.json<Array<CliMessage>>("conversation", "messages", conversationId, "--sync", "--direction", "ascending")
  return messages.filter((m) => m.contentType.typeId === "text" && typeof m.content === "string")
}
const fromManager = async (user: CliUser, conversationId: string) =>
  (await texts(user, conversationId)).filter((m) => m.senderInboxId === world.lobby.inboxId).map((m) => m.content as string)
interface CliProfiles {
  readonly profiles: ReadonlyArray<{ readonly inboxId: string; readonly name: string | null }>
}
/** The group's members and their profile names, after a sync (what `convos conversation profiles` shows). */
const profiles = (user: CliUser, conversationId: string) => user.json<CliProfiles>("conversation", "profiles", conversationId)
const members = async (user: CliUser, conversationId: string) => (await profiles(user, conversationId)).profiles.map((p) => p.inboxId).sort()
/** Conversation ids of the user's groups (and DMs with `includeDms`). */
const conversationsOf = async (user: CliUser, includeDms = false) => {
  const listed = await user.json<Array<{ conversationId: string; kind: "group" | "dm" }> | { count: 0 }>(
    "conversations", "list", "--sync", ...(includeDms ? ["--include-dms"] : []),
  )
  return Array.isArray(listed) ? listed : []
}
/** Polls what the manager said in a conversation, as the user's client reads it, until `done` holds. */
const managerSays = (user: CliUser, conversationId: string, done: (said: ReadonlyArray<string>) => boolean, what: string) =>
  waitFor(async () => {
    const said = await fromManager(user, conversationId)
    return done(said) ? said : undefined
  }, what, 40_000)

const joinLobby = async (user: CliUser) => {
  const joined = await user.json<{ status: string; conversationId: string; inboxId: string }>(
    "conversations", "join", world.lobby.inviteUrl, "--timeout", "40",
  )
  expect(joined.status).toBe("joined")
  return joined
}

/** Each CLI command is a process start (1-3 s, more on a loaded machine); a step runs several. */
const STEP = 120_000

/** Internal things that must never reach a chat: long hex ids, stack frames, error names, tokens. */
const INTERNAL = /[0-9a-f]{16,}|\bat \S+:\d+|Error\b|token|secret|stack/i

beforeAll(async () => {
  world = await startManagerWorld({ port: CLI_PORT, warm: 2, hooks: { onOutcome: (message, outcome) => void outcomes.push({ message, outcome }) } })
  alice = cliUser("alice")
  bob = cliUser("bob")
}, 90_000)

afterAll(async () => {
  await world?.close()
  for (const user of [alice, bob]) if (user) rmSync(user.home, { recursive: true, force: true })
})

describe("a CLI user at the manager's front door", () => {
  it("(a) joins the published link, gets a conversation of its own, is greeted, and 'help' and 'templates' are answered", async () => {
    const joined = await joinLobby(alice)
    alicePrivate = joined.conversationId
    expect(alicePrivate).not.toBe(world.lobby.conversationId)
    expect(await members(alice, alicePrivate)).toEqual([world.lobby.inboxId, joined.inboxId].sort())
    await alice.run("conversation", "send-text", alicePrivate, "help")
    await alice.run("conversation", "send-text", alicePrivate, "templates")
    const said = await managerSays(alice, alicePrivate, (s) => s.length >= 3, "the welcome and two answers")
    expect(said[0]).toMatch(/^Hi, this is your own conversation with me, Manager/)
    expect(said.filter((t) => t.startsWith("I'm Manager: I add AI agents"))).toHaveLength(1)
    expect(said.some((t) => t.startsWith("Ready-made agents"))).toBe(true)
    // The CLI declares every user an agent (memberKind 1): answered all the same.
    expect(outcomes.filter((o) => o.message.conversationId === alicePrivate).map((o) => o.outcome._tag)).toEqual(["Replied", "Replied"])
  }, STEP)

  it("(b) a second CLI user joining the same link gets another conversation and never sees the first one's", async () => {
    const { conversationId: bobPrivate, inboxId: bobInbox } = await joinLobby(bob)
    expect(bobPrivate).not.toBe(alicePrivate)
    const bobsConversations = (await conversationsOf(bob)).map((c) => c.conversationId)
    expect(bobsConversations).toContain(bobPrivate)
    expect(bobsConversations).not.toContain(alicePrivate)
    expect(await members(alice, alicePrivate)).not.toContain(bobInbox)
    await bob.run("conversation", "send-text", bobPrivate, "help")
    await managerSays(bob, bobPrivate, (s) => s.some((t) => t.startsWith("I'm Manager: I add AI agents")), "bob's answer")
  }, STEP)
})

describe("(c) the manager joins a CLI user's group when asked", () => {
  const joinAndProcess = async (user: CliUser, groupId: string) => {
    // The creator's client accepts join requests only while it runs: like a user, run it until the manager is in.
    await waitFor(async () => {
      await user.run("conversations", "process-join-requests", "--conversation", groupId)
      return (await members(user, groupId)).includes(world.lobby.inboxId) || undefined
    }, "the manager in the group", 40_000)
  }
  const expectNamedAndIntroducedOnce = async (user: CliUser, groupId: string) => {
    await managerSays(user, groupId, (s) => s.some((t) => t.startsWith("Hi, I'm Manager.")), "the introduction")
    const seen = await profiles(user, groupId)
    expect(seen.profiles.find((p) => p.inboxId === world.lobby.inboxId)?.name).toBe("Manager")
    expect((await fromManager(user, groupId)).filter((t) => t.startsWith("Hi, I'm Manager."))).toHaveLength(1)
  }

  it('"join this <link>" in its private conversation', async () => {
    const group = await alice.json<{ conversationId: string; invite: { url: string } }>("conversations", "create", "--name", "Alice's trip")
    await alice.run("conversation", "send-text", alicePrivate, `join this ${group.invite.url}`)
    await joinAndProcess(alice, group.conversationId)
    await expectNamedAndIntroducedOnce(alice, group.conversationId)
    aliceGroup = group.conversationId
  }, STEP)

  it("a bare link pasted into a DM with the manager, and the DM keeps being answered", async () => {
    const group = await bob.json<{ conversationId: string; invite: { url: string } }>("conversations", "create", "--name", "Bob's band")
    // Bob's only DM is the one his join request went through: with the manager.
    const dm = (await conversationsOf(bob, true)).find((c) => c.kind === "dm")?.conversationId
    expect(dm).toBeDefined()
    await bob.run("conversation", "send-text", dm!, group.invite.url)
    await joinAndProcess(bob, group.conversationId)
    await expectNamedAndIntroducedOnce(bob, group.conversationId)
    await bob.run("conversation", "send-text", dm!, "help")
    // The CLI cannot read a DM's messages: what the manager did there is read from its outcomes.
    await waitFor(
      () => outcomes.some((o) => o.message.conversationId === dm && o.outcome._tag === "Replied" && o.outcome.intent === "help"),
      "the answer in the DM",
      40_000,
    )
    expect(outcomes.filter((o) => o.message.conversationId === dm).map((o) => o.outcome)).toEqual([
      // The plain-text twin of bob's join request for the manager's own link: left to the join-request path.
      { _tag: "Ignored", why: "own-invite" },
      { _tag: "Replied", intent: "join" },
      { _tag: "Replied", intent: "help" },
    ])
  }, STEP)
})

let aliceGroup: string

describe("(d) agents in the CLI user's group", () => {
  it('"spawn a trip planner here": the agent joins and greets; "remove the trip planner": the reply matches the member list', async () => {
    await alice.run("conversation", "send-text", aliceGroup, "spawn a trip planner here")
    await managerSays(alice, aliceGroup, (s) => s.includes("Trip Planner is joining…"), "the confirmation")
    const agentInbox = world.pool.state.claimedInboxes.at(-1)!
    await waitFor(async () => (await texts(alice, aliceGroup)).some((m) => m.senderInboxId === agentInbox), "the agent's greeting", 40_000)
    expect(await members(alice, aliceGroup)).toContain(agentInbox)

    await alice.run("conversation", "send-text", aliceGroup, "remove the trip planner")
    const said = await managerSays(alice, aliceGroup, (s) => s.some((t) => t.startsWith("Trip Planner ") && /shut down/.test(t)), "the removal reply")
    const reply = said.find((t) => /shut down/.test(t))!
    const stillThere = (await members(alice, aliceGroup)).includes(agentInbox)
    expect({ reply, stillThere }).toEqual({ reply: stillThere ? expect.stringContaining("still listed") : "Trip Planner has left and been shut down.", stillThere })
    for (const text of said) expect(text).not.toMatch(INTERNAL)
  }, STEP)
})

describe("(e) two declared agents talking to the manager and to each other", () => {
  it("stop within the loop limits", async () => {
    const root = mkdtempSync(join(tmpdir(), "loop-agents-"))
    const [a, b] = await Promise.all([openConvos(root, "bot-a", world.node.apiUrl), openConvos(root, "bot-b", world.node.apiUrl)])
    try {
      const group = await a.createConversation({
        name: "Bots",
        permissions: "all_members",
        profile: { name: "Bot A", isAgent: true },
        memberInboxIds: [b.inboxId, world.lobby.inboxId],
      })
      const id = group.conversationId
      await b.expectAdd({ conversationId: id, timeoutMs: 20_000 })
      await b.setProfile(id, { name: "Bot B", isAgent: true })
      // Each bot answers every answer of the manager with another request to it (both bots, so two requests per
      // answer), and greets the other once. The manager's introduction is no answer: whether a bot is listening yet
      // when it arrives is a race, so the bots let it pass. What the bots say and hear is counted, to know when the
      // loop is over.
      const intro = replies.intro("Manager")
      let sent = 0
      const bots: Array<{ greeted: boolean; readonly answersHeard: Set<string> }> = []
      const say = (bot: ConvosClient, text: string) => {
        sent++
        // A send still in flight when the test closes the bots is of no interest.
        return bot.sendText(id, text).catch(() => undefined)
      }
      const botSays = (bot: ConvosClient, other: ConvosClient, request: string) => {
        const state = { greeted: false, answersHeard: new Set<string>() }
        bots.push(state)
        bot.onMessage((m) => {
          if (m.conversationId !== id || m.text === undefined) return
          if (m.senderInboxId === world.lobby.inboxId) {
            if (m.text === intro || state.answersHeard.has(m.id)) return
            state.answersHeard.add(m.id)
            void say(bot, request)
          } else if (m.senderInboxId === other.inboxId && !state.greeted) {
            state.greeted = true
            void say(bot, "Nice to meet you")
          }
        })
      }
      botSays(a, b, "Manager, who's here?")
      botSays(b, a, "@Manager help")
      await say(a, "Manager, who's here?")
      const here = () => outcomes.filter((o) => o.message.conversationId === id)
      const answeredNow = () => here().filter((o) => o.outcome._tag !== "Ignored").length
      // The loop is over when both bots have greeted and heard every answer, and the manager has handled every message
      // they sent: the bots speak only in answer to something, so nothing more can come. (Counting at the first
      // "agent-depth" instead catches a varying number of requests still on their way.)
      await waitFor(
        () => {
          const answered = answeredNow()
          return here().length === sent && bots.every((bot) => bot.greeted && bot.answersHeard.size === answered)
        },
        "the loop between the bots and the manager to end",
        40_000,
      )
      const answered = answeredNow()
      const heard = here()
      // The manager stopped because an agent asked past the depth limit, and not before answering.
      expect(heard.some((o) => o.outcome._tag === "Ignored" && o.outcome.why === "agent-depth")).toBe(true)
      expect(answered).toBeGreaterThan(0)
      // Each answer and the agent message it answers add one each to the depth: at most depth/2 answers, and the one
      // line that says the manager pauses its replies to agents here.
      expect(heard.filter((o) => o.outcome._tag === "Paused")).toHaveLength(1)
      expect(answered).toBeLessThanOrEqual(Math.ceil(defaultTrafficLimits.agentDepth / 2) + 1)
      // Every agent message the manager heard: the opener, one greeting each, and each bot's request per answer.
      expect(heard).toHaveLength(1 + 2 + 2 * answered)
    } finally {
      await Promise.allSettled([a.close(), b.close()])
      rmSync(root, { recursive: true, force: true })
    }
  }, STEP)
})
