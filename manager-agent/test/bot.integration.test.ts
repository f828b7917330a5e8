/**
 * The manager on the fake XMTP node: real XMTP clients for the manager, the users and the agents (a fake pool of
 * pre-warmed XMTP agents), real Postgres for ownership.
 */
import { Dm, Group } from "@xmtp/node-sdk"
import { Layer, ManagedRuntime } from "effect"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { TestDatabaseLayer } from "../../test/db/testDatabase.ts"
import { startFakeXmtpNode, type FakeXmtpNode } from "../../test/xmtp/fakeNode.ts"
import type { ManagerLobby } from "../src/bot/XmtpChat.ts"
import { ConvosClient } from "../../convos/client.ts"
import { startManager as startManagerOn } from "./support/managerWorld.ts"
import { makeUser, makeXmtpPool, openConvos, waitFor, type User } from "./support/xmtpWorld.ts"

let node: FakeXmtpNode
let pool: Awaited<ReturnType<typeof makeXmtpPool>>
let runtime: ManagedRuntime.ManagedRuntime<ManagerLobby, unknown>
let lobby: ManagerLobby["Service"]
let alice: User
let bob: User
const stateDir = mkdtempSync(join(tmpdir(), "manager-state-"))
// One database for the file, so a restarted manager finds what the first one recorded.
const database = ManagedRuntime.make(TestDatabaseLayer({ maxConnections: 4 }))

/** A manager process: its XMTP client on `stateDir`, the fake pool, ownership in the shared database. */
const startManager = async () =>
  startManagerOn({ stateDir, apiUrl: node.apiUrl, pool: pool.layer, sql: Layer.succeedContext(await database.context()) })

beforeAll(async () => {
  node = await startFakeXmtpNode()
  pool = await makeXmtpPool({ apiUrl: node.apiUrl, warm: 4 })
  ;({ runtime, lobby } = await startManager())
  ;[alice, bob] = await Promise.all([makeUser(node.apiUrl), makeUser(node.apiUrl)])
}, 60_000)

afterAll(async () => {
  await Promise.allSettled([alice?.close(), bob?.close()])
  await runtime?.dispose()
  await database.dispose()
  await pool?.close()
  await node?.stop()
  rmSync(stateDir, { recursive: true, force: true })
})

const memberIds = async (group: Group) => {
  await group.sync()
  return (await group.members()).map((m) => m.inboxId)
}
const fromManager = (user: User, conversationId: string) => user.texts(conversationId).filter((m) => m.sender === lobby.inboxId)

/**
 * Waits for the manager's `expected` reply among the messages after the first `before`. Another user's stream may
 * still be delivering the previous reply, so "the newest message" is not necessarily the answer to this request.
 */
const replyAfter = (user: User, conversationId: string, before: number, expected: string) =>
  waitFor(
    () => fromManager(user, conversationId).slice(before).find((m) => m.text === expected),
    `the manager's reply "${expected}"`,
  )

describe("the manager in a group", () => {
  let group: Group
  let agentInbox: string

  it("introduces itself once when added to a group", async () => {
    group = (await alice.client.conversations.createGroup([lobby.inboxId, bob.client.inboxId])) as Group
    // Removing members takes an admin in XMTP's default policy: the creator makes the manager one.
    await group.addAdmin(lobby.inboxId)
    await waitFor(() => fromManager(alice, group.id).length > 0, "the manager's introduction", 15_000)
    expect(fromManager(alice, group.id)[0]!.text).toMatch(/^Hi, I'm Manager\./)
  })

  it('"spawn a trip planner here": a new member joins, the manager confirms, and the agent greets', async () => {
    await group.sendText("spawn a trip planner here")
    const claim = await waitFor(() => pool.state.claims.at(-1), "a claim")
    expect(claim).toMatchObject({ mode: "add", conversationId: group.id, addedBy: lobby.inboxId, agentName: "Trip Planner" })
    await waitFor(() => fromManager(alice, group.id).some((m) => m.text === "Trip Planner is joining…"), "the confirmation")
    const members = await memberIds(group)
    agentInbox = members.find((id) => ![alice.client.inboxId, bob.client.inboxId, lobby.inboxId].includes(id))!
    expect(agentInbox).toBeDefined()
    const greeting = await waitFor(
      () => alice.texts(group.id).find((m) => m.sender === agentInbox),
      "the agent's greeting",
    )
    expect(greeting.text).toBe("Hi everyone, I'm Trip Planner!")
    // The manager never answers the agent's greeting, and introduced itself only once.
    await new Promise((resolve) => setTimeout(resolve, 300))
    expect(fromManager(alice, group.id).filter((m) => m.text.startsWith("Hi, I'm Manager")).length).toBe(1)
  })

  it('"who\'s here" lists it', async () => {
    const before = fromManager(alice, group.id).length
    await group.sendText("who's here")
    await replyAfter(alice, group.id, before, "Agents here: Trip Planner.")
  })

  it("a second user who did not spawn it cannot remove it", async () => {
    await bob.client.conversations.sync()
    const bobsGroup = (await bob.client.conversations.getConversationById(group.id)) as Group
    const before = fromManager(bob, group.id).length
    await bobsGroup.sendText("remove the trip planner")
    await replyAfter(bob, group.id, before, "Sorry, only whoever added Trip Planner, or a group admin, can do that.")
    expect(await memberIds(group)).toContain(agentInbox)
    expect(pool.state.killed).toEqual([])
  })

  it('"remove the trip planner" removes it from the group and destroys its instance', async () => {
    const before = fromManager(alice, group.id).length
    await group.sendText("remove the trip planner")
    await replyAfter(alice, group.id, before, "Trip Planner has left and been shut down.")
    expect(await memberIds(group)).not.toContain(agentInbox)
    expect(pool.state.killed).toHaveLength(1)
  })
})

describe("an agent removed by a member directly", () => {
  it("is no longer listed", async () => {
    const group = (await alice.client.conversations.createGroup([lobby.inboxId, bob.client.inboxId])) as Group
    await waitFor(() => fromManager(alice, group.id).length > 0, "the manager's introduction", 15_000)
    await group.sendText("add a chef here")
    await waitFor(() => fromManager(alice, group.id).some((m) => m.text === "Chef is joining…"), "the confirmation")
    const chef = pool.state.claimedInboxes.at(-1)!
    await waitFor(async () => (await memberIds(group)).includes(chef), "the chef in the group")
    await group.removeMembers([chef])
    // The departure reaches the manager as a membership change, before Alice's next message (MLS orders the commit
    // first) or, should its stream miss it, with the next catch-up sweep (15 s): ask, and ask again a few seconds
    // apart, within the manager's reply budget (8 per sender a minute).
    await waitFor(
      async () => {
        const before = fromManager(alice, group.id).length
        await group.sendText("who's here")
        const answer = await waitFor(() => fromManager(alice, group.id)[before], "the list", 20_000)
        if (answer.text.startsWith("No agents of mine here yet")) return true
        await new Promise((resolve) => setTimeout(resolve, 3_000))
        return undefined
      },
      "the chef to leave the list",
      25_000,
    )
  }, 60_000)
})

describe("the manager in a DM", () => {
  it('"make me a chef" returns an invite link that another client can join', async () => {
    const dm = (await alice.client.conversations.createDm(lobby.inboxId)) as Dm
    await dm.sendText("make me a chef")
    const reply = await waitFor(() => fromManager(alice, dm.id).find((m) => m.text.includes("Join it here:")), "the invite link")
    const inviteUrl = /https:\/\/\S+/.exec(reply.text)![0]
    expect(pool.state.claims.at(-1)).toMatchObject({ mode: "create", agentName: "Chef" })
    const carol = await openConvos(stateDir, "carol", node.apiUrl)
    try {
      expect(await carol.joinByInvite(inviteUrl, { timeoutMs: 10_000 })).toMatchObject({ status: "joined" })
    } finally {
      await carol.close()
    }
  })

  it("gives each joiner of its lobby link a conversation of its own, never the shared lobby, and greets there once", async () => {
    const dave = await openConvos(stateDir, "dave", node.apiUrl)
    const frank = await openConvos(stateDir, "frank", node.apiUrl)
    try {
      const [daves, franks] = await Promise.all([
        dave.joinByInvite(lobby.inviteUrl, { timeoutMs: 10_000 }),
        frank.joinByInvite(lobby.inviteUrl, { timeoutMs: 10_000 }),
      ])
      if (daves.status !== "joined" || franks.status !== "joined") throw new Error("a join did not complete")
      expect(new Set([daves.conversationId, franks.conversationId, lobby.conversationId]).size).toBe(3)
      const members = async (client: ConvosClient, id: string) => (await client.groupInfo(id)).members.map((m) => m.inboxId).sort()
      expect(await members(dave, daves.conversationId)).toEqual([dave.inboxId, lobby.inboxId].sort())
      expect(await members(frank, franks.conversationId)).toEqual([frank.inboxId, lobby.inboxId].sort())
      const greetings: Array<string> = []
      dave.onMessage((m) => {
        if (m.conversationId === daves.conversationId && m.senderInboxId === lobby.inboxId && m.text) greetings.push(m.text)
      })
      await dave.sendText(daves.conversationId, "help")
      await waitFor(() => greetings.some((t) => t.startsWith("I'm Manager: I add AI agents")), "the answer to help")
      // The welcome may have arrived before the listener: read the conversation as it stands.
      const info = await dave.groupInfo(daves.conversationId)
      expect(info.profiles.find((p) => p.inboxId === lobby.inboxId.toLowerCase())?.name).toBe("Manager")
    } finally {
      await Promise.allSettled([dave.close(), frank.close()])
    }
  })

  it('joins a conversation from "join this <link>", says so, and introduces itself there once', async () => {
    const erin = await openConvos(stateDir, "erin", node.apiUrl)
    try {
      const erinsGroup = await erin.createConversation({ name: "Erin's trip", permissions: "all_members" })
      const introductions: Array<string> = []
      erin.onMessage((m) => {
        if (m.conversationId === erinsGroup.conversationId && m.senderInboxId === lobby.inboxId && m.text) introductions.push(m.text)
      })
      const dm = (await alice.client.conversations.createDm(lobby.inboxId)) as Dm
      const before = fromManager(alice, dm.id).length
      await dm.sendText(`join this ${erinsGroup.inviteUrl}`)
      await waitFor(() => fromManager(alice, dm.id).length > before, "the join reply", 15_000)
      expect(fromManager(alice, dm.id).at(-1)!.text).toBe("I'm in that conversation now.")
      const info = await erin.groupInfo(erinsGroup.conversationId)
      expect(info.members.map((m) => m.inboxId)).toContain(lobby.inboxId)
      await waitFor(() => introductions.length > 0, "the introduction in the joined group")
      expect(introductions[0]).toMatch(/^Hi, I'm Manager\./)
    } finally {
      await erin.close()
    }
  })
})

describe("the slow join path", () => {
  it("a join accepted only after the manager stopped waiting still gets its name and one introduction", async () => {
    const erinDir = join(stateDir, "erin-slow")
    // Erin's client is offline for join requests at first: the manager's request waits in its DM.
    let erin = await ConvosClient.open({ stateDir: erinDir, env: "local", apiUrl: node.apiUrl, processJoinRequests: false, onError: () => {} })
    try {
      const group = await erin.createConversation({ name: "Erin's slow trip", permissions: "all_members" })
      const dm = (await alice.client.conversations.createDm(lobby.inboxId)) as Dm
      const before = fromManager(alice, dm.id).length
      await dm.sendText(`join this ${group.inviteUrl}`)
      await waitFor(() => fromManager(alice, dm.id).slice(before).find((m) => m.text.startsWith("I've asked to join")), "the pending reply", 20_000)
      await erin.close()
      // Back online: the request that waited is accepted now, long after the manager's own wait ended.
      erin = await ConvosClient.open({ stateDir: erinDir, env: "local", apiUrl: node.apiUrl, onError: () => {} })
      const said: Array<{ kind: string; text?: string; name?: string }> = []
      erin.onMessage((m) => {
        if (m.conversationId === group.conversationId && m.senderInboxId === lobby.inboxId)
          said.push({ kind: m.kind, ...(m.text ? { text: m.text } : {}), ...(m.profile?.name ? { name: m.profile.name } : {}) })
      })
      await waitFor(() => said.some((m) => m.text?.startsWith("Hi, I'm Manager.")), "the introduction", 20_000)
      const info = await erin.groupInfo(group.conversationId)
      expect(info.members.map((m) => m.inboxId)).toContain(lobby.inboxId)
      await waitFor(() => said.some((m) => m.kind === "profile_update" && m.name === "Manager"), "the manager's profile name", 20_000)
      expect(said.filter((m) => m.text?.startsWith("Hi, I'm Manager."))).toHaveLength(1)
    } finally {
      await erin.close()
    }
  }, 60_000)
})

describe("a manager restart", () => {
  it("keeps its identity, its lobby and what it knows about the agents it spawned", async () => {
    const group = (await alice.client.conversations.createGroup([lobby.inboxId, bob.client.inboxId])) as Group
    await waitFor(() => fromManager(alice, group.id).length > 0, "the manager's introduction", 15_000)
    await group.sendText("add a tutor here")
    await waitFor(() => fromManager(alice, group.id).some((m) => m.text === "Tutor is joining…"), "the confirmation")

    const before = lobby
    await runtime.dispose()
    ;({ runtime, lobby } = await startManager())
    // Same inbox and lobby conversation (the invite link is re-signed with a fresh nonce at each start).
    expect({ inboxId: lobby.inboxId, conversationId: lobby.conversationId }).toEqual({
      inboxId: before.inboxId,
      conversationId: before.conversationId,
    })

    await bob.client.conversations.sync()
    const bobsGroup = (await bob.client.conversations.getConversationById(group.id)) as Group
    const bobCount = fromManager(bob, group.id).length
    await bobsGroup.sendText("remove the tutor")
    await replyAfter(bob, group.id, bobCount, "Sorry, only whoever added Tutor, or a group admin, can do that.")
    // Counted after Alice's stream has the refusal too, so the next new message is the answer to her question.
    await waitFor(() => fromManager(alice, group.id).some((m) => m.text.startsWith("Sorry, only whoever added Tutor")), "the refusal at Alice's")
    const aliceCount = fromManager(alice, group.id).length
    await group.sendText("who's here")
    await waitFor(() => fromManager(alice, group.id).length > aliceCount, "the list after the restart")
    expect(fromManager(alice, group.id).slice(aliceCount).map((m) => m.text)).toEqual(["Agents here: Tutor."])
  })
})
