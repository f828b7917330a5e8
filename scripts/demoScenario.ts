/**
 * The offline demo, as a function: a fake XMTP node, a fake model, the whole product (ProductLayer: pool, HTTP API,
 * reconciler, manager, real agent runtimes as local processes), and a scripted user who creates a group, adds the
 * manager, asks for a trip planner, talks with it, lists, renames and removes it. Used by `npm run demo` and by the e2e test.
 */
import { Client, type DecodedMessage, type Group } from "@xmtp/node-sdk"
import { ConfigProvider, Effect, Exit, Layer, Scope } from "effect"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { convosCodecs } from "../convos/contentTypes.ts"
import { ProductLayer } from "../app/App.ts"
import type { ManagerLobby } from "../manager-agent/src/bot/XmtpChat.ts"
import { killHostProcesses } from "../pool/test/support/poolHarness.ts"
import { type FakeModelRequest, startFakeModel } from "../test/fakes/fakeModel.ts"
import { freePort } from "../test/net/freePort.ts"
import { startFakeXmtpNode } from "../test/xmtp/fakeNode.ts"
import { randomSigner } from "../test/xmtp/randomSigner.ts"

export interface DemoStep {
  readonly name: string
  readonly ok: boolean
  readonly atMs: number
  readonly detail?: string
}

export interface DemoResult {
  readonly ok: boolean
  readonly steps: ReadonlyArray<DemoStep>
  readonly transcript: ReadonlyArray<string>
}

/**
 * The agents' model: OK to the runtime's warm-up turn, a plan when asked about Lisbon, a greeting when added.
 * OpenClaw sends the inbound text and its context as several user messages, so cues are searched across all of them
 * (the question turn also carries the greeting turn in its history: check the question first).
 */
const agentModel = (request: FakeModelRequest) => {
  if (request.userText.includes("start-up check")) return "OK"
  if (/what should we see/i.test(request.userText)) {
    return "Day 1: Alfama and the castle. Day 2: Belém and pastéis. Book a fado dinner early."
  }
  const added = /added to this group conversation as "([^"]+)"/.exec(request.userText)
  if (added) return `Hi everyone, I'm ${added[1]}! Tell me where and when, and I'll plan it.`
  return "Happy to help with the trip!"
}

const waitFor = async <T>(probe: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs: number): Promise<T | undefined> => {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await probe()
    if (value !== undefined && value !== false) return value
    if (Date.now() > deadline) return undefined
    await new Promise((r) => setTimeout(r, 25))
  }
}

export const runDemo = async (options: {
  /** PostgreSQL URL; without it the product uses embedded PGlite, as `npm start` does. */
  readonly databaseUrl?: string
  /** Each transcript line as it happens. */
  readonly print?: (line: string) => void
  /** How long the first agent may take to warm up (a gateway start on a busy machine). */
  readonly warmupTimeoutMs?: number
}): Promise<DemoResult> => {
  const print = options.print ?? (() => {})
  const started = Date.now()
  const at = () => Date.now() - started
  const stamp = () => `[+${(at() / 1000).toFixed(2)}s]`
  const steps: Array<DemoStep> = []
  const transcript: Array<string> = []
  const say = (line: string) => {
    const text = `${stamp()} ${line}`
    transcript.push(text)
    print(text)
  }
  const step = (name: string, ok: boolean, detail?: string) => {
    steps.push({ name, ok, atMs: at(), ...(detail === undefined ? {} : { detail }) })
    say(`${ok ? "✓" : "✗"} ${name}${detail ? ` (${detail})` : ""}`)
    return ok
  }

  const root = mkdtempSync(join(tmpdir(), "convos-demo-"))
  const node = await startFakeXmtpNode()
  const model = await startFakeModel(agentModel)
  const port = await freePort()
  const scope = Effect.runSync(Scope.make())
  let user: Client<unknown> | undefined
  let friend: Client<unknown> | undefined
  try {
    step("fake XMTP node and fake model running on loopback", true)
    let lobby: ManagerLobby["Service"] | undefined
    const config = ConfigProvider.fromUnknown({
      DATA_DIR: join(root, "data"),
      MANAGER_STATE_DIR: join(root, "manager"),
      PORT: String(port),
      XMTP_ENV: "local",
      XMTP_API_URL: node.apiUrl,
      AGENT_MODEL_BASE_URL: model.baseUrl,
      AGENT_MODEL_API_KEY: "sk-demo",
      AGENT_MODEL: "fake-model",
      POOL_TARGET_IDLE: "1",
      POOL_MAX_TOTAL: "2",
      POOL_RECONCILE_INTERVAL: "2 seconds",
      POOL_START_TIMEOUT: "5 minutes",
      MANAGER_NAME: "Manager",
      // One short scenario: a message the manager's live stream loses is picked up in seconds, not in a minute.
      MANAGER_CATCH_UP_EVERY: "5 seconds",
      ...(options.databaseUrl ? { DATABASE_URL: options.databaseUrl } : {}),
    })
    await Effect.runPromise(
      Layer.buildWithScope(
        ProductLayer({ onManagerReady: (l) => (lobby = l) }).pipe(Layer.provide(ConfigProvider.layer(config))),
        scope,
      ),
    )
    const api = `http://127.0.0.1:${port}`
    const ready = await waitFor(() => lobby, 60_000)
    if (!step("product started: pool, HTTP API and manager", ready !== undefined, `API ${api}`)) return { ok: false, steps, transcript }
    const managerInbox = ready!.inboxId

    const counts = async () => (await (await fetch(`${api}/api/pool/counts`)).json()) as Record<string, number>
    const warm = await waitFor(async () => ((await counts()).idle ?? 0) >= 1, options.warmupTimeoutMs ?? 300_000)
    if (!step("pool warm: an agent runtime is idle and ready", warm === true)) return { ok: false, steps, transcript }

    // The users: plain XMTP clients, as the Convos app is. Alice speaks; Bob makes it a group of friends.
    const newUser = async () =>
      (await Client.create(randomSigner(), {
        env: "local",
        apiUrl: node.apiUrl,
        dbPath: null,
        disableDeviceSync: true,
        codecs: convosCodecs() as never,
      })) as Client<unknown>
    user = await newUser()
    friend = await newUser()
    const received: Array<{ message: DecodedMessage<unknown>; at: number }> = []
    const stream = await user.conversations.streamAllMessages()
    void (async () => {
      for await (const message of stream) if (message) received.push({ message: message as DecodedMessage<unknown>, at: Date.now() })
    })()
    const names = new Map<string, string>([[managerInbox, "Manager"]])
    // Plain texts, and replies (an agent answers with a reply to the message it answers); not its 👀 reactions.
    const textOf = (content: unknown) =>
      typeof content === "string"
        ? content
        : typeof (content as { content?: unknown } | undefined)?.content === "string"
        ? (content as { content: string }).content
        : undefined
    const textsFrom = (sender: string, groupId: string) =>
      [...received].sort((a, b) => (a.message.sentAtNs < b.message.sentAtNs ? -1 : 1)).flatMap(({ message: m }) => {
        const kind = m.contentType?.typeId
        const text = m.conversationId === groupId && m.senderInboxId === sender && (kind === "text" || kind === "reply")
          ? textOf(m.content)
          : undefined
        return text === undefined ? [] : [text]
      })
    const show = (sender: string, text: string) => say(`${names.get(sender) ?? "?"}: ${text}`)
    // XMTP's live stream can lose a message (libxmtp#2351), as a real app's would: about once a second, read the
    // group itself and add what the stream missed.
    let lastSync = 0
    const syncMissed = async (groupId: string) => {
      if (Date.now() - lastSync < 1_000) return
      lastSync = Date.now()
      const conversation = await user!.conversations.getConversationById(groupId)
      if (!conversation) return
      await conversation.sync()
      const known = new Set(received.map(({ message }) => message.id))
      for (const message of await conversation.messages()) {
        if (!known.has(message.id)) received.push({ message: message as DecodedMessage<unknown>, at: Date.now() })
      }
    }
    const nextText = async (sender: string, groupId: string, after: number, timeoutMs: number) => {
      const text = await waitFor(async () => textsFrom(sender, groupId)[after] ?? (await syncMissed(groupId)), timeoutMs)
      if (text !== undefined) show(sender, text)
      return text
    }
    const send = async (group: Group, text: string) => {
      say(`Alice: ${text}`)
      await group.sendText(text)
    }

    const group = (await user.conversations.createGroup([friend.inboxId, managerInbox], { groupName: "Weekend in Lisbon" })) as Group
    await group.addAdmin(managerInbox) // lets the manager remove agents it added
    step("Alice created \"Weekend in Lisbon\" with Bob and the manager", true)
    const intro = await nextText(managerInbox, group.id, 0, 30_000)
    if (!step("the manager introduced itself", intro !== undefined)) return { ok: false, steps, transcript }

    let managerSeen = textsFrom(managerInbox, group.id).length
    const spawnAt = Date.now()
    await send(group, "spawn a trip planner here")
    const confirm = await nextText(managerInbox, group.id, managerSeen++, 60_000)
    if (!step("the manager confirmed the spawn", confirm !== undefined && /trip planner/i.test(confirm))) return { ok: false, steps, transcript }
    const agentInbox = await waitFor(async () => {
      await group.sync()
      return (await group.members()).map((m) => m.inboxId).find((id) => ![managerInbox, user!.inboxId, friend!.inboxId].includes(id))
    }, 60_000)
    if (!step("Trip Planner is a member of the group", agentInbox !== undefined, `${Date.now() - spawnAt} ms after the request`)) {
      return { ok: false, steps, transcript }
    }
    names.set(agentInbox!, "Trip Planner")
    const greeting = await nextText(agentInbox!, group.id, 0, 120_000)
    if (!step("Trip Planner greeted the group on its own", greeting !== undefined, `${Date.now() - spawnAt} ms after the request`)) {
      return { ok: false, steps, transcript }
    }

    await send(group, "Trip Planner, what should we see in Lisbon?")
    // The agent may also chime in on the manager's messages (which name it): wait for the answer itself.
    const before = textsFrom(agentInbox!, group.id).length
    const answer = await waitFor(
      async () => textsFrom(agentInbox!, group.id).slice(before).find((t) => /alfama/i.test(t)) ?? (await syncMissed(group.id)),
      120_000,
    )
    if (answer !== undefined) show(agentInbox!, answer)
    if (!step("Trip Planner answered the question", answer !== undefined && /alfama/i.test(answer))) {
      if (process.env.DEMO_DEBUG) {
        for (const r of model.requests) print(`model request #${r.index}: ${JSON.stringify(r.body.messages ?? []).slice(-1500)}`)
      }
      return { ok: false, steps, transcript }
    }

    await send(group, "who's here?")
    const list = await nextText(managerInbox, group.id, managerSeen++, 60_000)
    if (!step("the manager listed the agents", list !== undefined && /trip planner/i.test(list))) return { ok: false, steps, transcript }

    await send(group, "rename the trip planner to Lisbon Guide")
    const renamed = await nextText(managerInbox, group.id, managerSeen++, 60_000)
    const profileName = await waitFor(
      async () =>
        received
          .filter(({ message: m }) => m.conversationId === group.id && m.senderInboxId === agentInbox && m.contentType?.typeId === "profile_update")
          .map(({ message: m }) => (m.content as { name?: string } | undefined)?.name)
          .includes("Lisbon Guide") || (await syncMissed(group.id)),
      60_000,
    )
    if (profileName) names.set(agentInbox!, "Lisbon Guide")
    if (!step("the manager renamed it, and the agent took the name in the group", renamed !== undefined && /Lisbon Guide/.test(renamed) && profileName === true)) {
      return { ok: false, steps, transcript }
    }

    await send(group, "remove Lisbon Guide")
    const removed = await nextText(managerInbox, group.id, managerSeen++, 60_000)
    const gone = await waitFor(async () => {
      await group.sync()
      return !(await group.members()).some((m) => m.inboxId === agentInbox)
    }, 60_000)
    step("the manager removed Lisbon Guide from the group", removed !== undefined && gone === true)
    const destroyed = await waitFor(async () => ((await counts()).claimed ?? 0) === 0, 60_000)
    step("its instance was destroyed in the pool", destroyed === true)
    await stream.end()
    return { ok: steps.every((s) => s.ok), steps, transcript }
  } catch (error) {
    step("the demo ran without an unexpected error", false, error instanceof Error ? error.message : String(error))
    return { ok: false, steps, transcript }
  } finally {
    await user?.close().catch(() => {})
    await friend?.close().catch(() => {})
    await Effect.runPromise(Scope.close(scope, Exit.void))
    killHostProcesses(join(root, "data"))
    await model.stop()
    await node.stop()
    rmSync(root, { recursive: true, force: true })
  }
}
