import { describe, expect, it } from "vitest"
import {
  type BindingState,
  decideConfigure,
  decideProvision,
  decideReset,
  decideWelcome,
  idle,
  warmsUpOnStart,
} from "./binding.ts"
import { testDecoders as decode } from "./testing/decoders.ts"

const conv = "0123456789abcdef0123456789abcdef"
const manager = "f".repeat(64)
const persona = { agentName: "Chef", instructions: "cook" }

describe("provision bodies, decoded with the contract", () => {
  it("accepts the three modes with their required fields", () => {
    expect(decode.provision({ agentName: "Chef", instructions: "Cook.", mode: "create" }).ok).toBe(true)
    expect(decode.provision({ agentName: "Chef", instructions: "Cook.", mode: "join", joinUrl: "https://popup.convos.org/v2?i=x" }).ok).toBe(true)
    const add = decode.provision({ agentName: "Chef", instructions: "x", mode: "add", conversationId: conv, addedBy: manager, managerInboxId: manager })
    expect(add).toEqual({ ok: true, value: { agentName: "Chef", instructions: "x", mode: "add", conversationId: conv, addedBy: manager, managerInboxId: manager } })
  })
  it("names the field to fix on bad input", () => {
    expect(decode.provision(null)).toEqual({ ok: false, error: "body must be a JSON object" })
    expect(decode.provision({ instructions: "x", mode: "create" })).toMatchObject({ error: expect.stringContaining("agentName") })
    expect(decode.provision({ agentName: "a", mode: "create" })).toMatchObject({ error: expect.stringContaining("instructions") })
    expect(decode.provision({ agentName: "a", instructions: "", mode: "create" })).toMatchObject({ error: expect.stringContaining("instructions must not be empty") })
    expect(decode.provision({ agentName: " a", instructions: "x", mode: "create" })).toMatchObject({ error: expect.stringContaining("agentName must not start or end with spaces") })
    expect(decode.provision({ agentName: "a", instructions: "x", mode: "join" })).toMatchObject({ error: expect.stringContaining("joinUrl") })
    expect(decode.provision({ agentName: "a", instructions: "x", mode: "add", conversationId: "x", addedBy: manager })).toMatchObject({ error: expect.stringContaining("conversationId") })
    expect(decode.provision({ agentName: "a", instructions: "x", mode: "add", conversationId: conv })).toMatchObject({ error: expect.stringContaining("addedBy") })
    expect(decode.provision({ agentName: "a", instructions: "x", mode: "dance" })).toMatchObject({ error: expect.stringContaining("mode") })
    expect(decode.provision({ agentName: "a", instructions: "x", mode: "create", managerInboxId: "nope" })).toMatchObject({ error: expect.stringContaining("managerInboxId") })
    expect(decode.provision({ agentName: "a", instructions: "x", mode: "create", nmae: "typo" })).toMatchObject({ ok: false })
  })
})

describe("configure bodies, decoded with the contract", () => {
  it("takes a name, instructions or both, as strictly as a provision", () => {
    expect(decode.configure({ agentName: "Tour Guide" })).toEqual({ ok: true, value: { agentName: "Tour Guide" } })
    expect(decode.configure({ instructions: "Be brief." })).toEqual({ ok: true, value: { instructions: "Be brief." } })
    expect(decode.configure({})).toMatchObject({ ok: false, error: expect.stringContaining("give agentName, instructions or both") })
    expect(decode.configure([])).toEqual({ ok: false, error: "body must be a JSON object" })
    expect(decode.configure({ agentName: "  " })).toMatchObject({ error: expect.stringContaining("agentName") })
    expect(decode.configure({ agentName: "x".repeat(65) })).toMatchObject({ error: expect.stringContaining("64") })
    expect(decode.configure({ instructions: 3 })).toMatchObject({ error: expect.stringContaining("instructions") })
  })
})

describe("decideConfigure", () => {
  const bound: BindingState = { phase: "bound", conversationId: conv, persona, mode: "add", greeted: true }
  it("renames a bound agent in its conversation and keeps what was not changed", () => {
    expect(decideConfigure(bound, { agentName: "Sous Chef" })).toEqual({
      accept: true,
      next: { ...bound, persona: { agentName: "Sous Chef", instructions: "cook" } },
      persona: { agentName: "Sous Chef", instructions: "cook" },
      renameIn: conv,
    })
    expect(decideConfigure(bound, { instructions: "bake" })).toEqual({
      accept: true,
      next: { ...bound, persona: { agentName: "Chef", instructions: "bake" } },
      persona: { agentName: "Chef", instructions: "bake" },
      renameIn: null,
    })
    expect(decideConfigure(bound, { agentName: "Chef", instructions: "bake" })).toMatchObject({ renameIn: null })
  })
  it("updates the persona of a provision still waiting for its conversation, with no profile to write yet", () => {
    const expecting: BindingState = { phase: "expecting_add", conversationId: conv, addedBy: manager, persona }
    expect(decideConfigure(expecting, { agentName: "Sous Chef" })).toEqual({
      accept: true,
      next: { ...expecting, persona: { agentName: "Sous Chef", instructions: "cook" } },
      persona: { agentName: "Sous Chef", instructions: "cook" },
      renameIn: null,
    })
  })
  it("refuses with 409 when there is nothing to configure", () => {
    expect(decideConfigure(idle, { agentName: "x" })).toMatchObject({ accept: false, status: 409 })
    expect(decideConfigure({ phase: "provisioning", mode: "create", persona }, { agentName: "x" })).toMatchObject({ accept: false, status: 409 })
    expect(decideConfigure({ phase: "ended", conversationId: conv, reason: "removed" }, { agentName: "x" })).toMatchObject({ accept: false, status: 409 })
  })
})

describe("decideProvision", () => {
  it("refuses a second provision with 409 once bound or provisioning", () => {
    const bound: BindingState = { phase: "bound", conversationId: conv, persona, mode: "create", greeted: true }
    expect(decideProvision(bound, { ...persona, mode: "create" })).toMatchObject({ accept: false, status: 409 })
    const expecting: BindingState = { phase: "expecting_add", conversationId: conv, addedBy: manager, persona }
    expect(decideProvision(expecting, { ...persona, mode: "create" })).toMatchObject({ accept: false, status: 409 })
  })
  it("records the expected conversation and adder for add", () => {
    expect(decideProvision(idle, { ...persona, mode: "add", conversationId: conv, addedBy: manager })).toEqual({
      accept: true,
      next: { phase: "expecting_add", conversationId: conv, addedBy: manager, persona },
    })
  })
})

describe("decideWelcome", () => {
  const expecting: BindingState = { phase: "expecting_add", conversationId: conv, addedBy: manager, persona }
  it("binds to exactly the expected conversation from the expected adder", () => {
    expect(decideWelcome(expecting, { conversationId: conv, addedBy: manager })).toEqual({
      bind: true,
      next: { phase: "bound", conversationId: conv, persona, mode: "add", greeted: false },
    })
  })
  it("ignores an add to another conversation, by another adder, or when not expecting one", () => {
    expect(decideWelcome(expecting, { conversationId: "9".repeat(32), addedBy: manager }).bind).toBe(false)
    expect(decideWelcome(expecting, { conversationId: conv, addedBy: "e".repeat(64) }).bind).toBe(false)
    expect(decideWelcome(idle, { conversationId: conv, addedBy: manager }).bind).toBe(false)
    const bound: BindingState = { phase: "bound", conversationId: conv, persona, mode: "add", greeted: true }
    expect(decideWelcome(bound, { conversationId: "9".repeat(32), addedBy: manager }).bind).toBe(false)
  })
})

describe("decideReset", () => {
  it("is clean only when nothing is bound and nothing is in flight", () => {
    expect(decideReset(idle).clean).toBe(true)
    expect(decideReset({ phase: "expecting_add", conversationId: conv, addedBy: manager, persona })).toEqual({ next: idle, clean: true })
    expect(decideReset({ phase: "joining", inviteUrl: "https://x", persona })).toEqual({ next: idle, clean: false })
    expect(decideReset({ phase: "provisioning", mode: "create", persona }).clean).toBe(false)
    expect(decideReset({ phase: "bound", conversationId: conv, persona, mode: "add", greeted: true }).clean).toBe(false)
  })
})

describe("warmsUpOnStart", () => {
  const on = { modelConfigured: true, warmUp: true }
  it("warms up an unclaimed slot only", () => {
    expect(warmsUpOnStart(on, idle)).toBe(true)
    expect(warmsUpOnStart(on, { phase: "bound", conversationId: conv, persona, mode: "add", greeted: true })).toBe(false)
    expect(warmsUpOnStart(on, { phase: "expecting_add", conversationId: conv, addedBy: manager, persona })).toBe(false)
    expect(warmsUpOnStart(on, { phase: "provisioning", mode: "join", persona })).toBe(false)
    expect(warmsUpOnStart(on, { phase: "ended", conversationId: conv, reason: "removed" })).toBe(false)
  })
  it("never without a model, or when the slot was put without one (a claim waits for it)", () => {
    expect(warmsUpOnStart({ modelConfigured: false, warmUp: true }, idle)).toBe(false)
    expect(warmsUpOnStart({ modelConfigured: true, warmUp: false }, idle)).toBe(false)
  })
})
