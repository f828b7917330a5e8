/**
 * End to end with the real OpenClaw gateway: the agents' web, memory and reminder tools, per slot. One host runs two
 * slots provisioned with the web, memory and reminders skills (their claim's, kept with the binding): "Scout" has its own OpenRouter key (sk-or-…),
 * "Local" only a shared local model key. Each is in its own group with Alice. Through the fake model's captured
 * requests: the exact tool list each is offered (no shell, files, sessions, agents, gateway or environment); the
 * persona, manners and tool list in the prompt, changed by a re-instruction; a NO_REPLY turn posting nothing; search
 * through Sonar with Scout's own key, its answer's source link in the chat, and Local saying it cannot search; web_read
 * of a fake public server the test allows, and refusals of every other loopback port, directly and by redirect; a fact
 * remembered across a gateway SIGKILL, then forgotten, never seen by the other slot; a reminder 2 s ahead posted on
 * time, once, not again after the restart, and only in its own group; and a third slot, "Echo", added to Scout's group
 * at the end, in a back-and-forth with Scout that the group manners stop.
 */
import { readFileSync } from "node:fs"
import { join as joinPath } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type { ConvosMessageEvent } from "../../convos/index.ts"
import { type FakeModelRequest, type FakeModelScript, messageText } from "../../test/fakes/fakeModel.ts"
import { agentScript } from "./agentScript.ts"
import { startFakeWeb, TIMETABLE_TEXT } from "./fakeWeb.ts"
import { modelKeyOf, RUNTIME_READY_TIMEOUT, type RuntimeWorld, startRuntimeWorld, textsFrom, waitFor } from "./harness.ts"

const FERRY_SOURCE = "https://ferries.example/lisbon-timetable"
const searchKeyOf = (slotId: string) => `sk-or-v1-key-of-${slotId}`

const offeredTools = (request: FakeModelRequest): Array<string> =>
  Array.isArray(request.body.tools) ? request.body.tools.map((tool: { function?: { name?: string } }) => tool.function?.name ?? "").sort() : []

/** The newest cue of the conversation's messages: `CUE-<action>` (this file's) or `PING-<x>` (agentScript's). */
const newestCue = (request: FakeModelRequest) => [...request.userText.matchAll(/\b(CUE|PING)-([\w-]+)/g)].at(-1)

let web: Awaited<ReturnType<typeof startFakeWeb>>
/** When the scripted reminder is due (set when the script asks for it). */
let reminderDue = 0

/**
 * Sonar answers with a source; a turn answering a tool result answers "DONE <tool result>"; the newest
 * cue picks the tool call; anything else is agentScript's.
 */
const capabilityScript: FakeModelScript = (request) => {
  if (process.env.E2E_TRACE) process.stderr.write(`[model] ${request.model} ${request.authorization} cue=${newestCue(request)?.[2]} roles=${(request.body.messages ?? []).map((m) => m.role[0]).join("")} tools=${offeredTools(request).length}\n`)
  if (request.model === "perplexity/sonar") return { text: "The first ferry to Lisbon leaves at 09:00 [1].", citations: [FERRY_SOURCE] }
  // After a tool call OpenClaw sends the tool results and then its internal-context user message again: a turn is
  // answering its tool results when tool messages follow the last assistant message.
  const messages = request.body.messages ?? []
  const lastTool = messages.findLastIndex((m) => m.role === "tool")
  if (lastTool > messages.findLastIndex((m) => m.role === "assistant")) {
    const result = messageText(messages[lastTool]?.content).replace(/\s+/g, " ")
    // A refusal comes wrapped in OpenClaw's long untrusted-content notice: quote the refusal itself.
    return `DONE ${/\w+ refused: [^"\\]*/.exec(result)?.[0] ?? result.slice(0, 600)}`
  }
  const cue = newestCue(request)
  if (cue?.[1] !== "CUE") return agentScript(request)
  const action = cue[2] ?? ""
  const call = (name: string, args: Record<string, unknown>) => ({ toolCalls: [{ name, arguments: args }] })
  if (action.startsWith("chatter")) return "NO_REPLY"
  // "loop-to-<name>": the agent of that name hands the loop on to the other one; any other agent stays quiet.
  const loopTo = /^loop-to-(\w+)$/.exec(action)?.[1]
  if (loopTo !== undefined) {
    const me = /Your name in this conversation is "([^"]+)"/.exec(request.systemText)?.[1]
    const other = me === "Scout" ? "Echo" : "Scout"
    return me === loopTo ? `${other}, CUE-loop-to-${other}` : "NO_REPLY"
  }
  if (action.startsWith("search")) return offeredTools(request).includes("search_web") ? call("search_web", { query: "first ferry to Lisbon" }) : "I can't search the web from here."
  if (action.startsWith("read-public")) return call("web_read", { url: `${web.origin}/timetable` })
  if (action.startsWith("read-internal")) return call("web_read", { url: web.internalUrl })
  if (action.startsWith("read-redirect")) return call("web_read", { url: `${web.origin}/to-internal` })
  if (action.startsWith("read-metadata")) return call("web_read", { url: "http://169.254.169.254/latest/meta-data/" })
  if (action.startsWith("remember")) return call("memory_save", { fact: "Bob is vegetarian" })
  if (action.startsWith("forget")) return call("memory_forget", { what: "vegetarian" })
  if (action.startsWith("remind")) {
    reminderDue = Date.now() + 2_000
    return call("reminder_set", { text: "Book the ferry!", at: new Date(reminderDue).toISOString() })
  }
  if (action.startsWith("list-reminders")) return call("reminder_list", {})
  return `unknown cue ${action}`
}

let world: RuntimeWorld
let scout: string
let local: string
let echo: string
let scoutGroup: string
let localGroup: string
const arrivals: Array<{ readonly event: ConvosMessageEvent; readonly at: number }> = []

beforeAll(async () => {
  web = await startFakeWeb()
  world = await startRuntimeWorld("capabilities", {
    slots: 3,
    script: capabilityScript,
    keyOf: (index, slotId) => (index === 0 ? searchKeyOf(slotId) : modelKeyOf(slotId)),
    env: { CONVOS_WEB_ALLOW_ORIGINS: web.origin },
  })
  ;[scout = "", local = "", echo = ""] = world.slotIds
  world.user.onMessage((event) => void arrivals.push({ event, at: Date.now() }))
  scoutGroup = await join(scout, "Scout")
  localGroup = await join(local, "Local")
}, RUNTIME_READY_TIMEOUT + 300_000)

afterAll(async () => {
  await world?.stop()
  await web?.stop()
}, 90_000)

/** Provisions a slot into a group (a new one unless given) and waits for its greeting there. */
const join = async (slotId: string, name: string, existing?: string) => {
  const conversationId = existing ?? (await world.user.createConversation({ name: `${name}'s group`, permissions: "all_members", profile: { name: "Alice", isAgent: false } })).conversationId
  const provisioned = await world.host.slot(slotId).provision({
    agentName: name,
    instructions: "Plan trips.",
    mode: "add",
    conversationId,
    addedBy: world.user.inboxId,
    skills: ["web", "memory", "reminders"],
  })
  if (provisioned.status !== 200) throw new Error(`provision ${slotId}: ${JSON.stringify(provisioned.body)}`)
  await world.user.addMembers(conversationId, [world.inboxOf.get(slotId) ?? ""])
  await waitFor(`${name}'s greeting`, () => fromAgent(slotId, conversationId).find((e) => e.text?.includes(`I'm ${name}`)), 120_000)
  return conversationId
}

const fromAgent = (slotId: string, conversationId: string) => textsFrom(world.received, conversationId, world.inboxOf.get(slotId) ?? "")
const gatewayLog = () => {
  try {
    return readFileSync(joinPath(world.host.stateDir, "logs", "gateway-console.log"), "utf8")
  } catch {
    return ""
  }
}
const groupOf = (slotId: string) => (slotId === scout ? scoutGroup : localGroup)

/** Alice sends a cue to one slot's group; resolves with the agent's first message after it matching `expected`. */
const ask = async (slotId: string, cue: string, expected: (text: string) => boolean) => {
  const before = fromAgent(slotId, groupOf(slotId)).length
  await world.user.sendText(groupOf(slotId), `please CUE-${cue}`)
  const reply = await waitFor(`the answer to ${cue}`, () => fromAgent(slotId, groupOf(slotId)).slice(before).find((e) => expected(e.text ?? "")), 120_000)
  return reply.text ?? ""
}

/** The model request that first answered this cue (its inbound turn, before any tool result). */
const requestFor = (cue: string) => {
  const found = world.model.requests.find((r) => newestCue(r)?.[2] === cue && r.model !== "perplexity/sonar")
  if (!found) throw new Error(`no model request for ${cue}`)
  return found
}

describe("agents' tools, per slot", () => {
  it("offers each agent exactly its own tools: none that runs commands, touches files, sessions or other agents, or reads the environment", async () => {
    await ask(scout, "toolsscout", (t) => t.startsWith("DONE") || t.startsWith("unknown cue"))
    await ask(local, "toolslocal", (t) => t.startsWith("DONE") || t.startsWith("unknown cue"))
    const scoutTools = offeredTools(requestFor("toolsscout"))
    const localTools = offeredTools(requestFor("toolslocal"))
    process.stderr.write(`tools offered: scout ${JSON.stringify(scoutTools)} local ${JSON.stringify(localTools)}\n`)
    const common = ["memory_forget", "memory_list", "memory_save", "message", "reminder_cancel", "reminder_list", "reminder_set", "web_read"]
    expect(scoutTools).toEqual([...common, "search_web"].sort())
    expect(localTools).toEqual(common)
    // Each turn's model call carried its own slot's key.
    expect(requestFor("toolsscout").authorization).toBe(`Bearer ${searchKeyOf(scout)}`)
    expect(requestFor("toolslocal").authorization).toBe(`Bearer ${modelKeyOf(local)}`)
  }, 300_000)

  it("puts the persona, instructions, name, group manners and tool list in every turn's prompt; a re-instruction changes the next turn's", async () => {
    const first = requestFor("toolsscout")
    for (const part of ['"Scout"', "Plan trips.", "## When to speak", "NO_REPLY", ...offeredTools(first)]) expect(first.systemText).toContain(part)
    expect((await world.host.slot(scout).configure({ instructions: "Plan only beach trips." })).status).toBe(200)
    await ask(scout, "reinstructed", (t) => t.startsWith("unknown cue"))
    const next = requestFor("reinstructed").systemText
    expect(next).toContain("Plan only beach trips.")
    expect(next).not.toContain("Plan trips.")
  }, 300_000)

  it("posts nothing when the model answers NO_REPLY to a message that is not for it", async () => {
    const before = fromAgent(scout, scoutGroup).length
    await world.user.sendText(scoutGroup, "Carol, did you pack the tent? CUE-chatter")
    // Turns run one at a time: once the next message is answered, the chatter's turn is over.
    await ask(scout, "afterchatter", (t) => t.startsWith("unknown cue"))
    expect(world.model.requests.some((r) => newestCue(r)?.[2] === "chatter")).toBe(true)
    expect(fromAgent(scout, scoutGroup).slice(before).map((e) => e.text)).toEqual(["unknown cue afterchatter"])
  }, 300_000)

  it("searches through Sonar with the agent's own OpenRouter key and gives the source link; without one it says it cannot search", async () => {
    const reply = await ask(scout, "search1", (t) => t.startsWith("DONE"))
    expect(reply).toContain(FERRY_SOURCE)
    expect(reply).toContain("09:00")
    const sonar = world.model.requests.filter((r) => r.model === "perplexity/sonar")
    expect(sonar.map((r) => [r.authorization, r.userText])).toEqual([[`Bearer ${searchKeyOf(scout)}`, "first ferry to Lisbon"]])
    expect(await ask(local, "search2", (t) => t.length > 0)).toBe("I can't search the web from here.")
    expect(requestFor("search2").systemText).toContain("You cannot search the web")
  }, 300_000)

  it("reads the allowed public page, and refuses any other loopback port, directly or by redirect, and the metadata address", async () => {
    expect(await ask(scout, "read-public", (t) => t.startsWith("DONE"))).toContain(TIMETABLE_TEXT)
    for (const cue of ["read-internal", "read-redirect", "read-metadata"]) expect(await ask(local, cue, (t) => t.startsWith("DONE"))).toMatch(/web_read refused/)
    expect(web.internalHits).toEqual([])
  }, 300_000)

  it("remembers a fact across a gateway SIGKILL and forgets it when asked; posts a reminder on time, once, in its own group only", async () => {
    expect(await ask(scout, "remember", (t) => t.startsWith("DONE"))).toContain("Remembered")
    // A reminder due 2 s from now, set before the crash: posted on time, once, in Scout's group only.
    expect(await ask(scout, "remind", (t) => t.startsWith("DONE"))).toContain("Scheduled")
    const posted = await waitFor("the reminder", () => arrivals.find((a) => a.event.text === "⏰ Book the ferry!"), 60_000)
    expect(posted.event.conversationId).toBe(scoutGroup)
    // Sent on time (its XMTP send time; the fake network's delivery to Alice under CI load is not the agent's part).
    process.stderr.write(`reminder due ${reminderDue}, sent ${posted.event.sentAt.getTime()}, received ${posted.at}\n`)
    expect(Math.abs(posted.event.sentAt.getTime() - reminderDue)).toBeLessThanOrEqual(1_000)

    const gatewayPid = world.host.gatewayPid()
    expect(gatewayPid).toBeDefined()
    process.kill(gatewayPid ?? 0, "SIGKILL")
    await waitFor("the gateway to go down", async () => ((await world.host.slot(scout).health().catch(() => ({ body: { ready: false } }))).body.ready ? undefined : true), 60_000)
    await world.host.waitSlotsReady([scout, local], RUNTIME_READY_TIMEOUT)

    expect(await ask(scout, "list-reminders", (t) => t.startsWith("DONE"))).toContain("No reminders are scheduled")
    expect(requestFor("list-reminders").systemText).toContain("Bob is vegetarian")
    expect(await ask(local, "list-reminders-local", (t) => t.startsWith("DONE") || t.startsWith("unknown"))).toBeDefined()
    expect(requestFor("list-reminders-local").systemText).not.toContain("Bob is vegetarian")
    expect(await ask(scout, "forget", (t) => t.startsWith("DONE"))).toContain("Forgot: Bob is vegetarian")
    await ask(scout, "toolsafter", (t) => t.startsWith("unknown cue"))
    expect(requestFor("toolsafter").systemText).not.toContain("Bob is vegetarian")
    // Posted once, in its own group, and not again after the restart.
    expect(arrivals.filter((a) => a.event.text?.startsWith("⏰")).map((a) => a.event.conversationId)).toEqual([scoutGroup])
  }, RUNTIME_READY_TIMEOUT + 300_000)

  it("two of our agents told to answer each other stop at the manners' chain limit: at most 5 messages from the one that keeps its limit", async () => {
    // The third slot joins Scout's group only now, so it heard none of the tests above, nor Scout's profile. Alice's
    // add is followed by her client's profile snapshot (convos addMembers), which names Scout an agent: Echo reads it
    // before her next message, so each knows the other is an agent from the start. (Without it, Echo took Scout for a
    // person until Scout's profile, written again when it sees Echo added, arrived; only Scout's limit ended the chain.)
    await join(echo, "Echo", scoutGroup)
    const scoutBefore = fromAgent(scout, scoutGroup).length
    const echoBefore = fromAgent(echo, scoutGroup).length
    await world.user.sendText(scoutGroup, "Scout, start with Echo: CUE-loop-to-Scout")
    // The chain ends when one of them declines the other's 5th message since Alice's (depth 5 > 4).
    const decliner = await waitFor("the chain limit", () => /\[convos ([^\]]+)\] not answering agent message \S+: bot_chain_too_deep/.exec(gatewayLog())?.[1], 240_000)
    process.stderr.write(`the chain was stopped by ${decliner === echo ? "Echo" : "Scout"}\n`)
    expect([scout, echo]).toContain(decliner)
    // Each agent works through the messages queued for it one turn at a time, so the chain is over once both have been
    // quiet a while. (A person's message sooner starts a new chain for an agent still working through its queue: Alice
    // asking Scout something right after the first refusal let Echo answer 2 more of Scout's queued messages.)
    let posted = -1
    let quietSince = Date.now()
    await waitFor("both agents to go quiet", () => {
      const count = fromAgent(scout, scoutGroup).length + fromAgent(echo, scoutGroup).length
      if (count !== posted) [posted, quietSince] = [count, Date.now()]
      return Date.now() - quietSince >= 8_000 ? true : undefined
    }, 240_000)
    const scoutChain = fromAgent(scout, scoutGroup).slice(scoutBefore).map((e) => e.text)
    const echoChain = fromAgent(echo, scoutGroup).slice(echoBefore).map((e) => e.text)
    process.stderr.write(`chain: Scout ${scoutChain.length}, Echo ${echoChain.length}\n`)
    // Scout: its answer to Alice and at most 4 answers to an agent (the manners' depth), all handing on the loop.
    expect(scoutChain.length).toBeGreaterThanOrEqual(1)
    expect(scoutChain.length).toBeLessThanOrEqual(5)
    expect(new Set(scoutChain)).toEqual(new Set(["Echo, CUE-loop-to-Echo"]))
    expect(new Set(echoChain)).toEqual(new Set(["Scout, CUE-loop-to-Scout"]))
    // Echo knows Scout is an agent: its own limit holds too (at most 4 answers to an agent), not only Scout's.
    expect(echoChain.length).toBeLessThanOrEqual(4)
  }, 400_000)
})
