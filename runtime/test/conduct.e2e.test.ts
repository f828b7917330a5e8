/**
 * End to end with the real OpenClaw gateway: how the agent behaves in a group with a person (Alice), a person on the
 * Convos CLI (Carol, whose client marks her profile memberKind 1, Agent) and another agent (Bot, memberKind 1, which
 * answers every message of ours): Carol is answered when she names the agent or asks an unnamed question while it is
 * the only agent; the two agents' back-and-forth stops at the chain limit; and nothing internal (OpenClaw's
 * "⚠️ Gateway is restarting" and the like) reaches the group while the gateway crashes (SIGTERM, SIGKILL) or the
 * slot is deleted (the pool's remove) with a turn in flight. One host with one slot for the file.
 */
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type { ConvosClient, ConvosMessageEvent } from "../../convos/index.ts"
import type { FakeModelScript } from "../../test/fakes/fakeModel.ts"
import { BACKLOG_HEADING } from "../extensions/convos/src/events.ts"
import { classifyOutbound } from "../extensions/convos/src/notices.ts"
import { agentScript } from "./agentScript.ts"
import { openRecordingUser, RUNTIME_READY_TIMEOUT, type RuntimeWorld, type SlotClient, startRuntimeWorld, textsFrom, waitFor } from "./harness.ts"

/** As agentScript, but a turn whose newest cue is PING-slow… takes long: the turn is in flight when the gateway goes. */
const SLOW_MS = 10_000
const conductScript: FakeModelScript = (request) => {
  const reply = agentScript(request)
  const newest = [...request.userText.matchAll(/PING-([\w-]+)/g)].at(-1)?.[1]
  return newest?.startsWith("slow") ? { text: typeof reply === "string" ? reply : "", delayMs: SLOW_MS } : reply
}

let world: RuntimeWorld
let slotId: string
let instance: SlotClient
let alice: ConvosClient
let received: Array<ConvosMessageEvent>
let carol: ConvosClient
let bot: ConvosClient
let agentInbox: string
let conversationId: string
let loopRound = 0
let looping = false

beforeAll(async () => {
  world = await startRuntimeWorld("conduct")
  world.model.setScript(conductScript)
  slotId = world.slotIds[0]!
  instance = world.host.slot(slotId)
  agentInbox = world.inboxOf.get(slotId)!
  received = world.received
  alice = world.user
  carol = (await openRecordingUser(join(world.root, "carol"), world.node.apiUrl)).user
  bot = (await openRecordingUser(join(world.root, "bot"), world.node.apiUrl)).user
  // The other agent answers each of our agent's messages with a reply that names it, while the loop is on.
  bot.onMessage(async (event) => {
    if (!looping || event.conversationId !== conversationId || event.senderInboxId !== agentInbox) return
    if (event.kind !== "text" && event.kind !== "reply") return
    loopRound += 1
    await bot.sendText(conversationId, `Trip Planner, PING-loop${loopRound}?`, { replyTo: event.id })
  })
}, RUNTIME_READY_TIMEOUT + 30_000)

afterAll(async () => {
  looping = false
  await carol?.close()
  await bot?.close()
  await world?.stop()
}, 60_000)

const fromAgent = () => textsFrom(received, conversationId, agentInbox)
const gatewayLog = () => {
  try {
    return readFileSync(join(world.host.stateDir, "logs", "gateway-console.log"), "utf8")
  } catch {
    return ""
  }
}
/** Every message the agent wrote is one a person should read: no OpenClaw notice, stack, key or id. */
const expectNothingInternal = () => {
  const texts = fromAgent().map((e) => e.text ?? "")
  expect(texts.filter((t) => /^\s*(⚠|❌)|gateway is restarting|try again/i.test(t) || !classifyOutbound(t).send)).toEqual([])
}
/** Alice sends a cue and waits for the agent's answer to it. */
const ping = async (cue: string, from: ConvosClient = alice, text = `PING-${cue}`, timeoutMs = 90_000) => {
  await from.sendText(conversationId, text)
  return waitFor(`the answer to ${cue}`, () => fromAgent().find((e) => e.text === `PONG-${cue}`), timeoutMs)
}
/** The agent put its working reaction on a message: its turn is being dispatched to OpenClaw. */
const working = (messageId: string) =>
  waitFor("the working reaction", () => received.find((e) => e.senderInboxId === agentInbox && e.kind === "reaction" && e.referenceMessageId === messageId), 90_000)
/** OpenClaw's runs that resumed a turn a crash interrupted, ended so far. */
const resumedRuns = () => gatewayLog().match(/main-session restart recovery terminal/g)?.length ?? 0
const keptOut = () => gatewayLog().match(/kept out of the chat: [^\n]*/g) ?? []

describe("runtime instance (conduct)", () => {
  it("joins a group with a person, a CLI user and another agent, and greets it", async () => {
    const group = await alice.createConversation({ name: "Trip", permissions: "all_members", profile: { name: "Alice", isAgent: false } })
    conversationId = group.conversationId
    // Their clients take only groups they expect (the default policy), like the agent's.
    const accepted = [carol, bot].map((member) => member.expectAdd({ conversationId, addedBy: alice.inboxId, timeoutMs: 60_000 }))
    await alice.addMembers(conversationId, [carol.inboxId, bot.inboxId])
    await Promise.all(accepted)
    expect(await instance.provision({ agentName: "Trip Planner", instructions: "Plan trips.", mode: "add", conversationId, addedBy: alice.inboxId })).toEqual({
      status: 200,
      body: { status: "added", conversationId, inviteUrl: null },
    })
    await alice.addMembers(conversationId, [agentInbox])
    await waitFor("the greeting", () => fromAgent().find((e) => e.text?.includes("I'm Trip Planner")), 90_000)
  }, 120_000)

  it("answers a CLI user (profile memberKind Agent) who names it, and her unnamed question while it is the only agent", async () => {
    // Written after the agent joined, as the CLI does on every profile it writes: the agent sees it.
    await carol.setProfile(conversationId, { name: "Carol", isAgent: true })
    await ping("cli1", carol, "Trip Planner, PING-cli1")
    await ping("cli2", carol, "which beach would you pick, PING-cli2?")
    // Once another agent is in the conversation, an unnamed question may be for it: not answered.
    await bot.setProfile(conversationId, { name: "Bot", isAgent: true })
    const unnamed = await carol.sendText(conversationId, "and which hotel, PING-cli3?")
    await waitFor("the agent to pass on the unnamed question", () => (gatewayLog().includes(`not answering agent message ${unnamed}: agent_not_addressing_us`) ? true : undefined), 60_000)
    expect(fromAgent().some((e) => e.text === "PONG-cli3")).toBe(false)
  }, 240_000)

  it("stops a back-and-forth with another agent at the chain limit (4 answers after a person's message)", async () => {
    looping = true
    const before = fromAgent().length
    await alice.sendText(conversationId, "Bot, ask Trip Planner about Lisbon")
    // Bot's 5th message in the chain is not answered: the agent logs why, and the loop is over.
    await waitFor("the chain limit", () => (/not answering agent message \S+: bot_chain_too_deep/.test(gatewayLog()) ? true : undefined), 180_000)
    looping = false
    await waitFor("the 4th answer", () => fromAgent().find((e) => e.text === "PONG-loop4"), 60_000)
    // Counted: the answer to Alice, then one answer to each of Bot's first 4 messages; Bot wrote 5.
    expect(fromAgent().slice(before).map((e) => e.text)).toEqual([expect.any(String), "PONG-loop1", "PONG-loop2", "PONG-loop3", "PONG-loop4"])
    expect(loopRound).toBe(5)
  }, 240_000)

  const isGone = (pid: number) => {
    try {
      process.kill(pid, 0)
      return false
    } catch {
      return true
    }
  }
  const warmUps = () => world.model.requests.filter((r) => r.userText.includes("start-up check")).length
  const crash = async (signal: "SIGTERM" | "SIGKILL", cue: string) => {
    // The gateway goes while this turn is being dispatched: OpenClaw answers such a turn with its restart notice when
    // the drain catches it past admission, and after a SIGKILL resumes it and announces that in the chat.
    const slow = await alice.sendText(conversationId, `Trip Planner, PING-slow${cue}`)
    await working(slow)
    // Killed while the model call is in flight: the turn OpenClaw resumes after the restart.
    await waitFor("the slow turn's model call", () => (world.model.requests.some((r) => r.userText.includes(`PING-slow${cue}`)) ? true : undefined), 60_000)
    const resumedBefore = resumedRuns()
    const warmUpsBefore = warmUps()
    const gatewayPid = world.host.gatewayPid()
    expect(gatewayPid).toBeDefined()
    process.kill(gatewayPid ?? 0, signal)
    await waitFor("the gateway to go down", async () => ((await instance.health().catch(() => ({ body: { ready: false } }))).body.ready ? undefined : true), 60_000)
    // A message sent while no gateway runs is read back and answered once the agent is up again. (Not after a
    // SIGKILL: it would be steered into the run OpenClaw resumes, and this script answers the newest cue only.)
    if (signal === "SIGTERM") {
      await waitFor("the old gateway to exit", () => (isGone(gatewayPid ?? 0) ? true : undefined), 120_000)
      await alice.sendText(conversationId, `Trip Planner, PING-down${cue}`)
    }
    await world.host.waitSlotsReady([slotId], RUNTIME_READY_TIMEOUT)
    if (signal === "SIGTERM") {
      await waitFor("the answer to what was sent while down", () => fromAgent().find((e) => e.text === `PONG-down${cue}`), 120_000)
      // The turn the drain caught is answered too: before the gateway went, or read back after (it was not handled)
      // with what was sent while it was down, in one turn that answers the newest.
      const readBackWithTheRest = () =>
        world.model.requests.some((r) => r.userText.includes(BACKLOG_HEADING) && r.userText.includes(`PING-slow${cue}`) && r.userText.includes(`PING-down${cue}`))
      await waitFor("the interrupted turn's answer", () => (fromAgent().some((e) => e.text === `PONG-slow${cue}`) || readBackWithTheRest() ? true : undefined), 120_000)
    }
    // After a SIGKILL, OpenClaw resumes the interrupted turn in a run of its own; its answer goes out through the
    // channel's outbound, addressed to the turn's route target, which the plugin maps back to its conversation. A
    // message sent while that run is active is steered into it and gets no answer of its own (a known limit), so the
    // next cue waits for it.
    if (signal === "SIGKILL") {
      await waitFor("OpenClaw's resumed run to end", () => (resumedRuns() > resumedBefore ? true : undefined), 120_000)
      await waitFor("the resumed turn's answer", () => fromAgent().find((e) => e.text === `PONG-slow${cue}`), 60_000)
    }
    // Under load the resumed turns come first; the answer can take a while.
    await ping(`after${cue}`, alice, `PING-after${cue}`, 240_000)
    // A claimed slot starting again runs no scratch warm-up turn: the turns waiting for it pay the first-turn cost.
    expect(warmUps()).toBe(warmUpsBefore)
    expectNothingInternal()
    process.stderr.write(`${signal}: kept out of the chat so far: ${JSON.stringify(keptOut())}\n`)
  }

  it("a gateway SIGTERM with a turn in flight: nothing internal reaches the group, it answers that turn and what was sent while it was down, and again after the restart", async () => {
    await crash("SIGTERM", "term")
  }, RUNTIME_READY_TIMEOUT + 360_000)

  it("a gateway SIGKILL with a turn in flight: nothing internal reaches the group, it answers again after the restart, and the interrupted turn is answered too", async () => {
    await crash("SIGKILL", "kill")
  }, RUNTIME_READY_TIMEOUT + 360_000)

  it("deleted (as the pool does to remove it) while a \"remove\" message is being dispatched: nothing internal reaches the group", async () => {
    const remove = await alice.sendText(conversationId, "remove the trip planner PING-slowremove")
    await working(remove)
    expect((await world.host.deleteSlot(slotId)).status).toBe(200)
    // Everything the agent sent before it stopped precedes this marker in the group.
    await carol.sendText(conversationId, "MARKER-removed")
    await waitFor("the marker", () => received.find((e) => e.conversationId === conversationId && e.text === "MARKER-removed"), 60_000)
    expectNothingInternal()
    process.stderr.write(`notices kept out of the chat in this run: ${JSON.stringify(keptOut())}\n`)
  }, 120_000)
})
