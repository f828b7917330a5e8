/**
 * The production transport over real MLS (@xmtp/node-sdk clients against the in-process fake XMTP node): what one of
 * our agents learns about another agent's kind when it is added to the group after that agent wrote its profile.
 */
import { mkdtemp, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Client, type Group } from "@xmtp/node-sdk"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as convos from "../../../../convos/index.ts"
import { startFakeXmtpNode, type FakeXmtpNode } from "../../../../test/xmtp/fakeNode.ts"
import { randomSigner } from "../../../../test/xmtp/randomSigner.ts"
import { waitFor } from "../../../test/harness.ts"
import { memoryBindingStore } from "./bindingStore.ts"
import { ConvosInstance } from "./instance.ts"
import { testDecoders } from "./testing/decoders.ts"
import type { ConvosTransport, TransportMessage } from "./transport.ts"
import { createConvosTransport } from "./transportConvos.ts"

let node: FakeXmtpNode
let root: string
const closers: Array<() => Promise<void>> = []

beforeAll(async () => {
  node = await startFakeXmtpNode()
  root = await mkdtemp(join(tmpdir(), "convos-transport-"))
})
afterAll(async () => {
  for (const close of closers.reverse()) await close()
  await node.stop()
  await rm(root, { recursive: true, force: true })
})

/** Resolves with the first item matching, among those seen so far or to come. */
const waitable = <T>() => {
  const items: Array<T> = []
  const waiters: Array<{ match: (item: T) => boolean; resolve: (item: T) => void }> = []
  return {
    push(item: T) {
      items.push(item)
      for (const waiter of [...waiters]) if (waiter.match(item)) (waiters.splice(waiters.indexOf(waiter), 1), waiter.resolve(item))
    },
    // Past convos/'s 15 s catch-up sweep, which finds what the live stream lost.
    next(what: string, match: (item: T) => boolean, timeoutMs = 20_000): Promise<T> {
      const found = items.find(match)
      if (found) return Promise.resolve(found)
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`never arrived: ${what}`)), timeoutMs)
        waiters.push({ match, resolve: (item) => (clearTimeout(timer), resolve(item)) })
      })
    },
  }
}

let counter = 0
const openTransport = () =>
  createConvosTransport(
    { convosModulePath: "convos/index.ts", stateDir: join(root, `agent-${++counter}`), xmtpEnv: "local", xmtpApiUrl: node.apiUrl },
    async () => convos,
  )

const openUser = async () => {
  const user = await convos.ConvosClient.open({ stateDir: join(root, `user-${++counter}`), env: "local", apiUrl: node.apiUrl, encryptionKey: "", dbPath: null })
  closers.push(() => user.close())
  return user
}

const openAgent = async () => {
  const transport = await openTransport()
  const messages = waitable<TransportMessage>()
  const welcomes = waitable<string>()
  await transport.start({
    onMessage: (message) => messages.push(message),
    onWelcome: (welcome) => welcomes.push(welcome.conversationId),
    onConversationEnded: () => {},
    onMembersJoined: () => {},
  })
  closers.push(() => transport.stop())
  return { transport, messages, welcomes }
}

/** A plain XMTP client: an app that adds members without following up with a profile snapshot. */
const openPlainUser = async () => {
  const client = await Client.create(randomSigner(), { env: "local", apiUrl: node.apiUrl, dbPath: null, disableDeviceSync: true })
  closers.push(async () => client.close())
  return {
    inboxId: client.inboxId,
    createGroup: async () => (await client.conversations.createGroup([])).id,
    addMembers: async (conversationId: string, inboxIds: Array<string>) => {
      const group = (await client.conversations.getConversationById(conversationId)) as Group
      await group.addMembers(inboxIds)
    },
  }
}

/** A person's client adds the agent, as the manager or a member does; the agent expects it, as after a provision. */
const addAgent = async (
  user: Pick<convos.ConvosClient, "inboxId" | "addMembers">,
  conversationId: string,
  agent: Awaited<ReturnType<typeof openAgent>>,
) => {
  agent.transport.expectAdd(conversationId, user.inboxId)
  await user.addMembers(conversationId, [agent.transport.inboxId])
  await agent.welcomes.next("the welcome", (id) => id === conversationId)
}

const sendAndReceive = async (from: ConvosTransport, to: Awaited<ReturnType<typeof openAgent>>, conversationId: string, text: string) => {
  const { messageId } = await from.sendText(conversationId, text)
  return to.messages.next(text, (message) => message.id === messageId)
}

describe("createConvosTransport: agents' kinds in a group", () => {
  it("a later agent added by a Convos client knows the first agent is one at once, from the adder's profile snapshot", async () => {
    const user = await openUser()
    const { conversationId } = await user.createConversation({ name: "Trips", permissions: "all_members", profile: { name: "Alice", isAgent: false } })
    const scout = await openAgent()
    await addAgent(user, conversationId, scout)
    await scout.transport.setProfileName(conversationId, "Scout")
    // The adder has Scout's profile before it adds Echo, as in a conversation going on for a while.
    await waitFor(
      "Scout's profile at the adder's",
      async () => ((await user.declaredMemberKind(conversationId, scout.transport.inboxId)) === convos.MemberKind.Agent ? true : undefined),
      20_000,
    )
    const echo = await openAgent()
    await addAgent(user, conversationId, echo)
    // MLS: Echo cannot decrypt Scout's profile update from before its add; the snapshot that follows the add names it.
    const first = await sendAndReceive(scout.transport, echo, conversationId, "hello from Scout")
    expect(first).toMatchObject({ senderName: "Scout", senderIsAgent: true })
  }, 120_000)

  it("a later agent added by a client that sends no snapshot learns the first agent's kind from a profile re-sent after the add, and the first agent sees the add", async () => {
    const user = await openPlainUser()
    const conversationId = await user.createGroup()
    const scout = await openAgent()
    await addAgent(user, conversationId, scout)
    // What the plugin does once bound by an add: its agent profile (memberKind Agent), read by everyone in the group.
    await scout.transport.setProfileName(conversationId, "Scout")

    const echo = await openAgent()
    await addAgent(user, conversationId, echo)
    // MLS: Echo cannot decrypt anything sent before its add, so Scout's profile update never reached it (nor its
    // name: a member who is not an admin cannot write its name into the group's appData either).
    const before = await sendAndReceive(scout.transport, echo, conversationId, "hello from Scout")
    expect(before.senderIsAgent).toBeUndefined()

    // Scout is told of Echo's add (a group update message): its cue to write its profile again (instance.ts).
    const added = await scout.messages.next("Echo's add", (message) => message.content.kind === "group_updated")
    expect(added.content).toMatchObject({ kind: "group_updated", addedInboxIds: [echo.transport.inboxId] })
    await scout.transport.setProfileName(conversationId, "Scout")
    const after = await sendAndReceive(scout.transport, echo, conversationId, "hello again from Scout")
    expect(after).toMatchObject({ senderName: "Scout", senderIsAgent: true })
    // And Scout learns Echo is an agent from Echo's own profile, sent after Scout was already there.
    await echo.transport.setProfileName(conversationId, "Echo")
    const fromEcho = await sendAndReceive(echo.transport, scout, conversationId, "hello from Echo")
    expect(fromEcho).toMatchObject({ senderName: "Echo", senderIsAgent: true })
    expect(fromEcho.otherAgentInboxIds).toEqual([])
  }, 120_000)

  it("our agent, bound by an add, writes its profile again when another agent is added after it, so that agent knows it is one", async () => {
    const user = await openUser()
    const { conversationId } = await user.createConversation({ name: "Trips", permissions: "all_members", profile: { name: "Alice", isAgent: false } })
    const transport = await openTransport()
    // Each profile the instance writes, once written.
    const written = waitable<number>()
    let writes = 0
    const scoutTransport: ConvosTransport = {
      ...transport,
      setProfileName: async (id, name) => {
        await transport.setProfileName(id, name)
        written.push(++writes)
      },
    }
    const silent = { info: () => {}, warn: () => {}, error: () => {} }
    const scout = new ConvosInstance({
      transport: scoutTransport,
      store: memoryBindingStore(),
      decode: testDecoders,
      modelConfigured: true,
      log: silent,
      runTurn: async (request) => request.deliver("I'm Scout"),
    })
    closers.push(() => scout.stop())
    await scout.start()
    expect(await scout.provision({ agentName: "Scout", instructions: "Plan trips.", mode: "add", conversationId, addedBy: user.inboxId })).toMatchObject({ status: 200 })
    await user.addMembers(conversationId, [transport.inboxId])
    await written.next("Scout's profile after its add", (n) => n === 1)

    const echo = await openAgent()
    await addAgent(user, conversationId, echo)
    await written.next("Scout's profile again after Echo's add", (n) => n === 2)
    const fromScout = await sendAndReceive(transport, echo, conversationId, "Echo, over to you")
    expect(fromScout).toMatchObject({ senderName: "Scout", senderIsAgent: true })
  }, 120_000)
})
