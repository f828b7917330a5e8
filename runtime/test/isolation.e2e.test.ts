/**
 * End to end with the real OpenClaw gateway: co-tenants of one host are isolated. Slot B's model is scripted to try,
 * by calling every session, message and file tool by name (the session and file tools are not even offered now), to
 * list, read, search or message slot A's sessions, send as A's account, read A's files, and use email; none of it
 * reveals or touches anything of A. A's email and phone are
 * offered to A only, and no token (host or slot) is in the gateway's environment, its config or any model call.
 * One host (one gateway) for the file.
 */
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type { ConvosClient, ConvosMessageEvent } from "../../convos/index.ts"
import type { FakeModel, FakeModelRequest, FakeModelScript, FakeToolCall } from "../../test/fakes/fakeModel.ts"
import { agentScript } from "./agentScript.ts"
import { addAgentToNewGroup, modelKeyOf, RUNTIME_READY_TIMEOUT, type RuntimeHost, type RuntimeWorld, startRuntimeWorld, textsFrom, waitFor } from "./harness.ts"

/** Slot A's own resources: the other agent must never see them. */
const aResources = { AGENTMAIL_INBOX_ID: "chef-secret-inbox@mail.example", TELNYX_PHONE_NUMBER: "+15550001234" }

/** What the attacker's tool calls got back, by step. */
const spied = new Map<string, string>()
/** "SPY-<step>" → the attacker's model calls the step's tool; once it has the result, it answers "DONE-<step>". */
const spyCalls = new Map<string, () => FakeToolCall>()

/** The tool results that came after the last user message naming `cue`. */
const toolResultsAfter = (request: FakeModelRequest, cue: string): Array<string> => {
  const messages = request.body.messages ?? []
  let from = -1
  messages.forEach((m, i) => {
    if (m.role === "user" && JSON.stringify(m.content).includes(cue)) from = i
  })
  if (from < 0) return []
  return messages.slice(from + 1).filter((m) => m.role === "tool").map((m) => (typeof m.content === "string" ? m.content : JSON.stringify(m.content)))
}

const script: FakeModelScript = (request) => {
  const step = [...request.userText.matchAll(/SPY-(\w+)/g)].at(-1)?.[1]
  const call = step === undefined ? undefined : spyCalls.get(step)
  if (step === undefined || call === undefined) return agentScript(request)
  const results = toolResultsAfter(request, `SPY-${step}`)
  if (results.length > 0) {
    spied.set(step, results.join("\n"))
    return `DONE-${step}`
  }
  return { toolCalls: [call()] }
}

const toolNames = (request: FakeModelRequest) =>
  (Array.isArray(request.body.tools) ? request.body.tools : []).map((tool: { function?: { name?: string } }) => tool.function?.name ?? "")

let world: RuntimeWorld
let model: FakeModel
let host: RuntimeHost
let user: ConvosClient
let received: Array<ConvosMessageEvent>
let slotA: string
let slotB: string
const groupOf = new Map<string, string>()

beforeAll(async () => {
  world = await startRuntimeWorld("isolation", { slots: 2, capacity: 2, script, toolsOf: (index) => (index === 0 ? aResources : {}) })
  ;({ model, host, user, received } = world)
  ;[slotA = "", slotB = ""] = world.slotIds
}, RUNTIME_READY_TIMEOUT + 60_000)

afterAll(() => world?.stop(), 90_000)

const fromAgent = (slotId: string) => textsFrom(received, groupOf.get(slotId) ?? "", world.inboxOf.get(slotId) ?? "")

// Both may use email and SMS; only A's slot has the resources, so only A gets the tools.
const addToGroup = async (slotId: string, name: string) =>
  groupOf.set(slotId, await addAgentToNewGroup(world, { slotId, inboxId: world.inboxOf.get(slotId) ?? "", name, skills: ["email", "sms"] }))

describe("co-tenants of one host", () => {
  it("another agent cannot list, read, search, message or send as a slot, nor see its files or resources", async () => {
    await Promise.all([addToGroup(slotA, "Chef"), addToGroup(slotB, "Trip Planner")])
    await user.sendText(groupOf.get(slotA) ?? "", "PING-victim")
    await waitFor("the victim's answer", () => fromAgent(slotA).find((e) => e.text === "PONG-victim"), 90_000)

    const victimSession = `agent:${slotA}:convos:group:${groupOf.get(slotA)}`
    const victimSlotFile = join(world.root, "host", "slots", slotA, "slot.json")
    // Called by name, as a model would try even when the tool is not offered.
    const via = (name: string, args: Record<string, unknown>): FakeToolCall => ({ name, arguments: args })
    spyCalls.set("list", () => via("sessions_list", {}))
    spyCalls.set("history", () => via("sessions_history", { sessionKey: victimSession }))
    spyCalls.set("search", () => via("sessions_search", { query: "PONG" }))
    spyCalls.set("status", () => via("session_status", { sessionKey: victimSession }))
    spyCalls.set("send", () => via("sessions_send", { sessionKey: victimSession, message: "PING-injected" }))
    spyCalls.set("message", () => via("message", { action: "send", channel: "convos", accountId: slotA, target: groupOf.get(slotA), message: "HIJACK as Chef" }))
    spyCalls.set("file", () => via("read", { path: victimSlotFile }))
    spyCalls.set("email", () => ({ name: "email_inbox", arguments: {} }))
    for (const step of spyCalls.keys()) {
      await user.sendText(groupOf.get(slotB) ?? "", `Trip Planner, SPY-${step}`)
      try {
        await waitFor(`DONE-${step}`, () => fromAgent(slotB).find((e) => e.text === `DONE-${step}`), 120_000)
      } catch (error) {
        const asked = model.requests.filter((r) => r.userText.includes(`SPY-${step}`))
        process.stderr.write(`[isolation] ${step}: ${asked.length} requests; offered ${JSON.stringify(asked.map(toolNames))}; roles ${JSON.stringify(asked.map((r) => (r.body.messages ?? []).map((m) => m.role).join(",")))}\n`)
        throw error
      }
    }
    for (const [step, result] of spied) process.stderr.write(`[isolation] ${step}: ${result.replace(/\s+/g, " ").slice(0, 600)}\n`)

    const victimToken = host.slot(slotA).token
    // The steps that name the victim's session, account or file may see their own arguments echoed, nothing more.
    const echoed = (text: string) => text.split(victimSession).join("").split(victimSlotFile).join("").split(`accountId: ${slotA}`).join("")
    for (const [step, result] of spied) {
      // Nothing of the victim: not its session, conversation, transcript, token or resources.
      const leaked = [slotA, groupOf.get(slotA) ?? "", "PONG-victim", "I'm Chef", victimToken, aResources.AGENTMAIL_INBOX_ID, aResources.TELNYX_PHONE_NUMBER].filter((x) => echoed(result).includes(x))
      expect({ step, leaked }).toEqual({ step, leaked: [] })
    }
    // The session tools do not exist for an agent at all (denied in the gateway config): never offered, and a call by
    // name is refused.
    for (const request of model.requests.filter((r) => r.authorization === `Bearer ${modelKeyOf(slotB)}`)) {
      expect(toolNames(request).filter((name) => name.startsWith("session") || name === "read")).toEqual([])
    }
    expect(spied.get("list")).not.toContain(`agent:${slotB}:convos:group:`)
    // The injected message never reached the victim's agent, and nothing was sent as the victim.
    expect(model.requests.some((r) => r.userText.includes("PING-injected") && r.authorization === `Bearer ${modelKeyOf(slotA)}`)).toBe(false)
    expect(received.some((e) => e.text?.includes("HIJACK"))).toBe(false)
    expect(fromAgent(slotA).map((e) => e.text)).toEqual(["Hello everyone, I'm Chef! Ask me anything.", "PONG-victim"])

    // A's email and phone are offered to A only, and never appear in B's calls.
    const requestsOf = (slotId: string) => model.requests.filter((r) => r.authorization === `Bearer ${modelKeyOf(slotId)}`)
    expect(toolNames(requestsOf(slotA).at(-1)!)).toEqual(expect.arrayContaining(["email_send", "email_inbox", "email_read", "sms_send"]))
    const attacker = requestsOf(slotB)
    expect(attacker.length).toBeGreaterThan(0)
    for (const request of attacker) {
      expect(toolNames(request).filter((name) => name.startsWith("email_") || name === "sms_send")).toEqual([])
      expect(JSON.stringify(request.body)).not.toContain(aResources.AGENTMAIL_INBOX_ID)
      expect(JSON.stringify(request.body)).not.toContain(aResources.TELNYX_PHONE_NUMBER)
    }
  }, 900_000)

  it("no token (host or slot) is in the gateway's environment, its config or any model call; no model key is in its environment", () => {
    const gatewayPid = host.gatewayPid()
    expect(gatewayPid).toBeDefined()
    const environ = readFileSync(`/proc/${gatewayPid}/environ`, "utf8")
    const config = readFileSync(join(world.root, "host", "openclaw", "openclaw.json"), "utf8")
    const allRequests = JSON.stringify(model.requests.map((r) => r.body))
    for (const secret of [host.hostToken, host.slot(slotA).token, host.slot(slotB).token]) {
      expect([environ, config, allRequests].some((text) => text.includes(secret))).toBe(false)
    }
    for (const slotId of [slotA, slotB]) expect(environ).not.toContain(modelKeyOf(slotId))
  })
})
